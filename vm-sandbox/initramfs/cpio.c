#include "vm-sandbox/initramfs/cpio.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cpio_writer_init(struct cpio_writer *w, int fd)
{
    w->fd = fd;
    w->offset = 0;
    w->next_ino = 1;
}

static int put(struct cpio_writer *w, const void *buf, size_t len, struct zerr *e)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(w->fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return zerr_sys(e, "writing the cpio archive");
        }
        p += n;
        len -= (size_t)n;
        w->offset += (uint64_t)n;
    }
    return 0;
}

static int pad4(struct cpio_writer *w, struct zerr *e)
{
    static const char zeros[4];
    size_t n = (4 - (w->offset & 3)) & 3;
    return n ? put(w, zeros, n, e) : 0;
}

static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || name[0] == '/' || n >= 4096)
        return false;
    for (const char *c = name; *c;) {
        const char *end = strchrnul(c, '/');
        size_t len = (size_t)(end - c);
        if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        c = *end ? end + 1 : end;
    }
    return true;
}

static int header(struct cpio_writer *w, const char *name, mode_t mode, uint32_t nlink, unsigned rmaj,
                  unsigned rmin, size_t size, struct zerr *e)
{
    char h[CPIO_HEADER_SIZE + 1];
    size_t namesize = strlen(name) + 1;
    snprintf(h, sizeof h, "%s%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", CPIO_NEWC_MAGIC,
             w->next_ino++, (unsigned)mode, 0u, 0u, nlink, 0u, (unsigned)size, 0u, 0u, rmaj, rmin,
             (unsigned)namesize, 0u);
    if (put(w, h, CPIO_HEADER_SIZE, e) < 0 || put(w, name, namesize, e) < 0)
        return -1;
    return pad4(w, e);
}

int cpio_add(struct cpio_writer *w, const char *name, mode_t mode, unsigned rdev_major, unsigned rdev_minor,
             const void *data, size_t size, struct zerr *e)
{
    if (!name_ok(name))
        return zerr_set(e, EINVAL, "cpio: bad entry name \"%.200s\"", name);
    if (size > 0xffffffffu)
        return zerr_set(e, EFBIG, "cpio: %s: %zu bytes is too large for newc", name, size);
    if (!S_ISREG(mode) && !S_ISDIR(mode) && !S_ISCHR(mode) && !S_ISBLK(mode) && !S_ISLNK(mode))
        return zerr_set(e, EINVAL, "cpio: %s: unsupported file type 0%o", name, (unsigned)(mode & S_IFMT));
    if (!S_ISREG(mode) && !S_ISLNK(mode) && size)
        return zerr_set(e, EINVAL, "cpio: %s: only files and symlinks carry data", name);
    if (header(w, name, mode, S_ISDIR(mode) ? 2 : 1, rdev_major, rdev_minor, size, e) < 0)
        return zerr_prefix(e, "%s", name);
    if (size && (put(w, data, size, e) < 0 || pad4(w, e) < 0))
        return zerr_prefix(e, "%s", name);
    return 0;
}

int cpio_finish(struct cpio_writer *w, struct zerr *e)
{
    return header(w, CPIO_TRAILER, 0, 1, 0, 0, 0, e);
}
