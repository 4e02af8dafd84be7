#include "runtime/masked_paths.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/path.h"
#include "runtime/mounts.h"

/* Opens a path inside the root, or returns -1 with *missing set when it is
 * not there (ENOENT, or a parent that is not a directory). */
static int open_existing(int root_fd, const char *path, bool *missing, struct zerr *e)
{
    int fd = zpath_open_in_root(root_fd, path, O_PATH, 0, e);
    *missing = fd < 0 && (e->code == ENOENT || e->code == ENOTDIR);
    return fd;
}

/* The null device to mask with: opened from the runtime's view of /dev
 * and checked by fstat on the fd we will mount from, so a symlink, file or
 * other device placed there cannot become the mask. */
static int open_verified_null(struct zerr *e)
{
    struct stat st;
    _cleanup_close_ int fd = open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return zerr_sys(e, "maskedPaths: open /dev/null");
    if (fstat(fd, &st) < 0)
        return zerr_sys(e, "maskedPaths: stat /dev/null");
    if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3)
        return zerr_set(e, EPERM, "maskedPaths: /dev/null is not the null device (1:3)");
    return steal_fd(&fd);
}

int zrootfs_mask_paths(int root_fd, char *const *paths, size_t n, struct zerr *e)
{
    _cleanup_close_ int null_fd = -1;

    for (size_t i = 0; i < n; i++) {
        _cleanup_close_ int fd = -1;
        struct zmount_target t = { .root_fd = root_fd, .path = paths[i] };
        struct zbind_req r = { .userns_fd = -1 };
        struct stat st;
        bool missing;

        if (!paths[i] || !zpath_is_abs(paths[i]))
            return zerr_set(e, EINVAL, "linux.maskedPaths[%zu]: path must be absolute", i);
        fd = open_existing(root_fd, paths[i], &missing, e);
        if (fd < 0) {
            if (missing)
                continue;
            return zerr_prefix(e, "linux.maskedPaths[%zu]", i);
        }
        if (fstat(fd, &st) < 0)
            return zerr_sys(e, "linux.maskedPaths[%zu]: stat %s", i, paths[i]);
        t.fd = fd;
        if (S_ISDIR(st.st_mode)) {
            if (zmount_fs("tmpfs", "tmpfs", MS_RDONLY, NULL, &t, e) < 0)
                return zerr_prefix(e, "linux.maskedPaths[%zu]", i);
            continue;
        }
        if (null_fd < 0 && (null_fd = open_verified_null(e)) < 0)
            return -1;
        if (zmount_bind(null_fd, "", "/dev/null", &t, &r, e) < 0)
            return zerr_prefix(e, "linux.maskedPaths[%zu]", i);
    }
    return 0;
}

int zrootfs_readonly_paths(int root_fd, char *const *paths, size_t n, struct zerr *e)
{
    for (size_t i = 0; i < n; i++) {
        _cleanup_close_ int fd = -1;
        struct zmount_target t = { .root_fd = root_fd, .path = paths[i] };
        struct zbind_req r = { .recursive = true, .set_top = true, .userns_fd = -1 };
        bool missing;

        if (!paths[i] || !zpath_is_abs(paths[i]))
            return zerr_set(e, EINVAL, "linux.readonlyPaths[%zu]: path must be absolute", i);
        fd = open_existing(root_fd, paths[i], &missing, e);
        if (fd < 0) {
            if (missing)
                continue;
            return zerr_prefix(e, "linux.readonlyPaths[%zu]", i);
        }
        t.fd = fd;
        r.top_flags = zmount_fd_flags(fd) | MS_RDONLY;
        if (zmount_have_new_api())
            r.rec_set = MOUNT_ATTR_RDONLY;
        if (zmount_bind(fd, "", paths[i], &t, &r, e) < 0)
            return zerr_prefix(e, "linux.readonlyPaths[%zu]", i);
    }
    return 0;
}
