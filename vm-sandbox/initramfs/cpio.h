/* A writer of cpio "newc" archives (the format the kernel unpacks into its
 * initramfs; see the kernel's Documentation/driver-api/early-userspace/
 * buffer-format.rst): per entry a 110-byte ASCII header "070701" + 13
 * eight-digit hex fields, the NUL-terminated name, padding to 4 bytes, the
 * data, padding to 4 bytes; the archive ends with the entry "TRAILER!!!".
 * Written by hand: it is ~100 lines, and libarchive's writer would pull
 * its whole format machinery in for this. Timestamps and owners are zero,
 * so the same inputs always give the same bytes. */
#ifndef ZONE_VM_INITRAMFS_CPIO_H
#define ZONE_VM_INITRAMFS_CPIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"

#define CPIO_NEWC_MAGIC "070701"
#define CPIO_HEADER_SIZE 110
#define CPIO_TRAILER "TRAILER!!!"

struct cpio_writer {
    int fd;
    uint64_t offset;    /* bytes written so far */
    uint32_t next_ino;
};

void cpio_writer_init(struct cpio_writer *w, int fd);

/* Adds one entry. name is relative ("init", "lib/modules/x.ko"), without
 * "." or ".." components; mode includes the file type (S_IFREG, S_IFDIR,
 * S_IFCHR, S_IFLNK: a symlink's data is its target). rdev is for devices. */
int cpio_add(struct cpio_writer *w, const char *name, mode_t mode, unsigned rdev_major, unsigned rdev_minor,
             const void *data, size_t size, struct zerr *e);

/* Writes the trailer. */
int cpio_finish(struct cpio_writer *w, struct zerr *e);

#endif
