/* The guest's initramfs, built on the host: /init (zone-agent), the kernel
 * modules the guest needs for virtio-pci, the virtio console, 9p and vsock
 * (with their dependencies from modules.dep, decompressed), and their load
 * order (vm-sandbox/proto/bootargs.h: BOOT_MODULE_LIST). Written as an
 * uncompressed cpio "newc" archive: ~2 MB, and the kernel unpacks it with
 * no decompressor in the way of boot time.
 *
 * Archives are cached in a directory the caller gives, named
 * initramfs-<release>-<hash>.cpio, where the hash covers the agent binary
 * and each module's name, path, size and mtime: a new agent or a kernel
 * package update gives a new name, and an existing file is reused as is.
 * Written to a temporary file and renamed, so readers never see half of
 * one. */
#ifndef ZONE_VM_INITRAMFS_INITRAMFS_H
#define ZONE_VM_INITRAMFS_INITRAMFS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* virtio_pci, virtio_console, 9p, 9pnet_virtio, vsock,
 * vmw_vsock_virtio_transport; NULL-terminated */
extern const char *const initramfs_default_modules[];

#define INITRAMFS_MODULE_MAX (64u << 20)   /* largest module accepted, decompressed */

struct initramfs_config {
    const char *agent_path;            /* the static zone-agent binary */
    const char *cache_dir;             /* created when missing */
    const char *release;               /* NULL: initramfs_pick_release */
    const char *modules_dir;           /* NULL: /lib/modules */
    const char *boot_dir;              /* NULL: /boot */
    const char *const *modules;        /* NULL: initramfs_default_modules */
};

struct initramfs_result {
    char path[PATH_MAX];               /* the archive */
    char release[256];
    char kernel[PATH_MAX];             /* <boot_dir>/vmlinuz-<release> */
    unsigned nmodules;                 /* modules in the archive */
    bool reused;                       /* found in the cache */
};

/* The newest release (by version order) that has both <modules_dir>/<r>/
 * modules.dep and <boot_dir>/vmlinuz-<r>. */
int initramfs_pick_release(const char *modules_dir, const char *boot_dir, char *out, size_t cap,
                           struct zerr *e);

/* Builds (or finds in the cache) the archive for c. */
int initramfs_build(const struct initramfs_config *c, struct initramfs_result *r, struct zerr *e);

/* ---- module resolution (moddep.c), pure functions on file contents ---- */

struct moddep_module {
    char *name;        /* "virtio_pci" ('-' folded to '_') */
    char *path;        /* as in modules.dep, relative to the release's directory */
};

struct moddep_list {
    struct moddep_module *mods;   /* dependencies before dependents */
    unsigned n;
};

/* Resolves names (NULL-terminated) against modules.dep text (dep, dep_len)
 * into a load order. Names listed in modules.builtin text (may be NULL)
 * are built into the kernel and skipped. Unknown names, malformed lines,
 * missing dependencies and cycles are errors. */
int moddep_resolve(const char *dep, size_t dep_len, const char *builtin, size_t builtin_len,
                   const char *const *names, struct moddep_list *out, struct zerr *e);
void moddep_list_free(struct moddep_list *l);

/* "kernel/fs/9p/9p.ko.zst" -> "9p" in buf; -1 if the path is not a module. */
int moddep_name_of(const char *path, size_t path_len, char *buf, size_t cap);

/* ---- module files (modfile.c) ---- */

/* Reads a module, decompressing .ko.xz (liblzma) and .ko.zst (libzstd):
 * the Debian kernel has no in-kernel module decompression
 * (CONFIG_MODULE_DECOMPRESS is unset), so finit_module needs plain ELF. */
int modfile_read(const char *path, uint8_t **data, size_t *len, struct zerr *e);

/* Decompresses a buffer by its format (xz or zstd magic), at most max bytes
 * of output. */
int modfile_decompress(const uint8_t *in, size_t in_len, size_t max, uint8_t **out, size_t *out_len,
                       struct zerr *e);

#endif
