/* What the host tells zone-agent on the kernel command line, and where the
 * initramfs builder puts things for it: the boot half of the contract
 * between vm-sandbox/initramfs, the runtime and vm-sandbox/guest.
 *
 *   zone.root=TAG          virtio-9p tag of the container's root (required)
 *   zone.root_ro=1         remount the root read-only once set up
 *   zone.msize=BYTES       9p msize (default 262144; 4096..1048576)
 *   zone.cache=MODE        9p cache mode: none, loose, fscache, mmap (default mmap)
 *   zone.mount=TAG:/PATH[:ro]   an extra 9p share at PATH in the container (repeatable)
 *   zone.debug=1           the agent logs each step to the kernel log
 *
 * Other words of the command line are the kernel's and are ignored; an
 * unknown zone.* key is an error, so a typo cannot go unnoticed. */
#ifndef ZONE_VM_PROTO_BOOTARGS_H
#define ZONE_VM_PROTO_BOOTARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Inside the initramfs: the modules, and their load order (one absolute
 * path per line, dependencies first). */
#define BOOT_MODULE_DIR "/lib/modules"
#define BOOT_MODULE_LIST "/lib/modules/load.list"

#define BOOT_TAG_MAX 31
#define BOOT_TARGET_MAX 255
#define BOOT_MOUNTS_MAX 16
#define BOOT_MSIZE_DEFAULT 262144u

struct boot_mount {
    char tag[BOOT_TAG_MAX + 1];
    char target[BOOT_TARGET_MAX + 1];
    bool read_only;
};

struct boot_args {
    char root_tag[BOOT_TAG_MAX + 1];
    bool root_read_only;
    uint32_t msize;
    char cache[16];
    struct boot_mount mounts[BOOT_MOUNTS_MAX];
    unsigned nmounts;
    bool debug;
};

/* Defaults: no root, msize 262144, cache mmap. */
void bootargs_init(struct boot_args *a);

/* Parses a kernel command line (as in /proc/cmdline). */
int bootargs_parse(const char *cmdline, struct boot_args *a, struct zerr *e);

/* Writes the zone.* words for a (space separated, no leading or trailing
 * space) into buf; the host appends them to the kernel's own words. */
int bootargs_format(const struct boot_args *a, char *buf, size_t cap, struct zerr *e);

#endif
