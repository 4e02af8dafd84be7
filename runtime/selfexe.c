#include "runtime/selfexe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"

extern char **environ;

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

bool zselfexe_is_sealed(void)
{
    struct statvfs sv;
    int fd, seals;
    if (statvfs("/proc/self/exe", &sv) == 0 && (sv.f_flag & ST_RDONLY))
        return true;
    /* the memfd fallback */
    fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    seals = fcntl(fd, F_GET_SEALS);
    close(fd);
    return seals >= 0 && (seals & F_SEAL_WRITE);
}

/* Fallback for kernels without mount_setattr (< 5.12): a sealed memfd copy.
 * Costs a copy per command, which is why it is only the fallback. */
static int sealed_memfd_copy(struct zerr *e)
{
    _cleanup_close_ int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    _cleanup_close_ int mfd = -1;
    struct stat st;
    off_t off = 0;

    if (src < 0 || fstat(src, &st) < 0)
        return zerr_sys(e, "open /proc/self/exe");
    mfd = memfd_create("zone", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0)
        return zerr_sys(e, "memfd_create");
    while (off < st.st_size) {
        ssize_t n = sendfile(mfd, src, &off, (size_t)(st.st_size - off));
        if (n <= 0)
            return zerr_sys(e, "copy /proc/self/exe");
    }
    if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
        return zerr_sys(e, "seal memfd");
    return steal_fd(&mfd);
}

int zselfexe_seal(char **argv, struct zerr *e)
{
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
    bool sealed_copy = false;
    int fd;

    if (zselfexe_is_sealed()) {
        unsetenv("_ZONE_SEALED");
        return 0;
    }
    /* If we cannot write our binary, no container we create can. */
    if (faccessat(AT_FDCWD, "/proc/self/exe", W_OK, AT_EACCESS) < 0)
        return 0;
    /* Guard against an exec loop if the seal does not show after re-exec. */
    if (getenv("_ZONE_SEALED"))
        return zerr_set(e, EPERM, "could not seal /proc/self/exe (CVE-2019-5736 protection)");

    fd = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe",
                      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (fd >= 0 && syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
        close(fd);
        fd = -1;
    }
    if (fd < 0) {
        if (errno != ENOSYS && errno != EINVAL && errno != EPERM)
            return zerr_sys(e, "seal /proc/self/exe");
        fd = sealed_memfd_copy(e);
        if (fd < 0)
            return -1;
        sealed_copy = true;
    }
    /* As root, swap /proc/self/exe for the sealed view in place: the
     * re-exec costs 0.5-0.8 ms of `run` (docs/performance.md, round 5). It
     * needs CAP_SYS_ADMIN and the same inode, so not the memfd copy; any
     * failure leaves a working process and the re-exec follows. */
    if (geteuid() == 0 && !sealed_copy) {
        struct zerr remap_err;
        if (zselfexe_remap_onto(fd, &remap_err) == 0) {
            close(fd);
            return 0;
        }
        zdebug("sealing without re-exec: %s", remap_err.msg);
    }
    setenv("_ZONE_SEALED", "1", 1);
    syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
    zerr_sys(e, "re-exec through sealed binary");
    close(fd);
    return -1;
}
