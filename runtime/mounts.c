/* Mount primitives that only ever mount onto an fd resolved inside the
 * container root. Bind mounts use the new mount API (open_tree, then
 * mount_setattr on the detached copy, then move_mount onto the fd) so the
 * copy never appears with the wrong flags; kernels before 5.12 get
 * mount(2) through /proc/self/fd/N followed by a bind remount. */
#include "runtime/mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/path.h"

#define PROC_FD_PATH_MAX 32
#define PER_MOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | \
                         MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_NOSYMFOLLOW)

static bool force_legacy;
static int new_api_state;   /* 0 unknown, 1 available, -1 missing */

void zmount_force_legacy(bool on) { force_legacy = on; }

bool zmount_have_new_api(void)
{
    if (force_legacy)
        return false;
    if (new_api_state == 0) {
        /* mount_setattr (5.12) is the newest call we need; an invalid call
         * tells ENOSYS apart from "present". */
        int r = mount_setattr(-1, "", 0, NULL, 0);
        new_api_state = (r < 0 && errno == ENOSYS) ? -1 : 1;
    }
    return new_api_state > 0;
}

static void proc_fd_path(char buf[PROC_FD_PATH_MAX], int fd)
{
    snprintf(buf, PROC_FD_PATH_MAX, "/proc/self/fd/%d", fd);
}

unsigned long zmount_fd_flags(int fd)
{
    static const struct { unsigned long st, ms; } map[] = {
        { ST_RDONLY, MS_RDONLY }, { ST_NOSUID, MS_NOSUID }, { ST_NODEV, MS_NODEV },
        { ST_NOEXEC, MS_NOEXEC }, { ST_NOATIME, MS_NOATIME },
        { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
    };
    struct statvfs sv;
    unsigned long flags = 0;
    if (fstatvfs(fd, &sv) < 0)
        return 0;
    for (size_t i = 0; i < ZARRAY_SIZE(map); i++)
        if (sv.f_flag & map[i].st)
            flags |= map[i].ms;
    return flags;
}

/* MS_* per-mount flags -> a mount_attr that makes the mount carry exactly
 * those flags, as a MS_REMOUNT|MS_BIND would (atime kept when unspecified). */
static void flags_to_attr(unsigned long ms, struct mount_attr *a)
{
    a->attr_set = 0;
    a->attr_clr = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                  MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW;
    if (ms & MS_RDONLY) a->attr_set |= MOUNT_ATTR_RDONLY;
    if (ms & MS_NOSUID) a->attr_set |= MOUNT_ATTR_NOSUID;
    if (ms & MS_NODEV) a->attr_set |= MOUNT_ATTR_NODEV;
    if (ms & MS_NOEXEC) a->attr_set |= MOUNT_ATTR_NOEXEC;
    if (ms & MS_NODIRATIME) a->attr_set |= MOUNT_ATTR_NODIRATIME;
    if (ms & MS_NOSYMFOLLOW) a->attr_set |= MOUNT_ATTR_NOSYMFOLLOW;
    if (ms & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)) {
        a->attr_clr |= MOUNT_ATTR__ATIME;
        if (ms & MS_NOATIME)
            a->attr_set |= MOUNT_ATTR_NOATIME;
        else if (ms & MS_STRICTATIME)
            a->attr_set |= MOUNT_ATTR_STRICTATIME;
        else
            a->attr_set |= MOUNT_ATTR_RELATIME;
    }
}

int zmount_set_propagation(int fd, const unsigned long *prop, size_t n,
                           const char *what, struct zerr *e)
{
    char p[PROC_FD_PATH_MAX];
    proc_fd_path(p, fd);
    for (size_t i = 0; i < n; i++)
        if (mount(NULL, p, NULL, prop[i], NULL) < 0)
            return zerr_sys(e, "set propagation of %s", what);
    return 0;
}

static int mount_id_of(int fd, unsigned long *id)
{
    char p[64];
    _cleanup_fclose_ FILE *f = NULL;
    char line[256];
    snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
    if (!(f = fopen(p, "re")))
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "mnt_id: %lu", id) == 1)
            return 0;
    errno = ENOENT;
    return -1;
}

int zmount_reopen_top(const struct zmount_target *t, struct zerr *e)
{
    _cleanup_close_ int fd = zpath_open_in_root(t->root_fd, t->path, O_PATH | O_NOFOLLOW, 0, e);
    unsigned long below, above;
    if (fd < 0)
        return zerr_prefix(e, "reopen new mount");
    if (mount_id_of(t->fd, &below) < 0 || mount_id_of(fd, &above) < 0)
        return zerr_sys(e, "reopen new mount %s: read mount id", t->path);
    if (below == above)
        return zerr_set(e, EBUSY, "reopen new mount %s: the path changed under the mount", t->path);
    return steal_fd(&fd);
}

/* ---------------------------------------------------------- bind */

static int set_top_attrs(int tree, unsigned long flags, const char *what,
                         struct zerr *e)
{
    struct mount_attr a = {0};
    flags_to_attr(flags, &a);
    if (mount_setattr(tree, "", AT_EMPTY_PATH, &a, sizeof a) == 0)
        return 0;
    if (errno == EPERM) {
        /* Flags locked by a less privileged userns stay as they were. */
        flags_to_attr(flags | zmount_fd_flags(tree), &a);
        if (mount_setattr(tree, "", AT_EMPTY_PATH, &a, sizeof a) == 0)
            return 0;
    }
    return zerr_sys(e, "set mount flags on %s", what);
}

static int bind_new_api(int src_dirfd, const char *src_path, const char *what,
                        const struct zmount_target *t, const struct zbind_req *r,
                        struct zerr *e)
{
    unsigned int flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC;
    _cleanup_close_ int tree = -1;

    if (r->recursive)
        flags |= AT_RECURSIVE;
    if (!*src_path)
        flags |= AT_EMPTY_PATH;
    tree = open_tree(src_dirfd, src_path, flags);
    if (tree < 0)
        return zerr_sys(e, "mount %s -> %s", what, t->path);

    if (r->userns_fd >= 0) {
        struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)r->userns_fd };
        if (mount_setattr(tree, "", AT_EMPTY_PATH | (r->idmap_recursive ? AT_RECURSIVE : 0),
                          &a, sizeof a) < 0)
            return zerr_sys(e, "mount %s -> %s: idmap", what, t->path);
    }
    if (r->set_top && set_top_attrs(tree, r->top_flags, what, e) < 0)
        return zerr_prefix(e, "mount %s -> %s", what, t->path);
    if (r->rec_set || r->rec_clr) {
        struct mount_attr a = { .attr_set = r->rec_set, .attr_clr = r->rec_clr };
        if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0)
            return zerr_sys(e, "mount %s -> %s: recursive attributes", what, t->path);
    }
    if (move_mount(tree, "", t->fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return zerr_sys(e, "mount %s -> %s", what, t->path);
    /* tree now names the attached mount */
    if (r->n_propagation &&
        zmount_set_propagation(tree, r->propagation, r->n_propagation, t->path, e) < 0)
        return -1;
    return 0;
}

static int bind_legacy(int src_dirfd, const char *src_path, const char *what,
                       const struct zmount_target *t, const struct zbind_req *r,
                       struct zerr *e)
{
    char src[PROC_FD_PATH_MAX], dst[PROC_FD_PATH_MAX], top[PROC_FD_PATH_MAX];
    _cleanup_close_ int src_fd = -1, top_fd = -1;

    if (r->userns_fd >= 0)
        return zerr_set(e, ENOSYS, "mount %s -> %s: idmapped mounts need Linux 5.12", what, t->path);
    if (r->rec_set || r->rec_clr)
        return zerr_set(e, ENOSYS, "mount %s -> %s: recursive mount attributes need Linux 5.12",
                        what, t->path);
    if (*src_path) {
        src_fd = openat(src_dirfd, src_path, O_PATH | O_CLOEXEC);
        if (src_fd < 0)
            return zerr_sys(e, "mount %s -> %s", what, t->path);
        proc_fd_path(src, src_fd);
    } else {
        proc_fd_path(src, src_dirfd);
    }
    proc_fd_path(dst, t->fd);
    if (mount(src, dst, NULL, MS_BIND | (r->recursive ? MS_REC : 0), NULL) < 0)
        return zerr_sys(e, "mount %s -> %s", what, t->path);
    if (!r->set_top && !r->n_propagation)
        return 0;
    top_fd = zmount_reopen_top(t, e);
    if (top_fd < 0)
        return -1;
    proc_fd_path(top, top_fd);
    if (r->set_top) {
        unsigned long flags = MS_BIND | MS_REMOUNT | r->top_flags;
        if (mount(NULL, top, NULL, flags, NULL) < 0 &&
            (errno != EPERM || mount(NULL, top, NULL, flags | zmount_fd_flags(top_fd), NULL) < 0))
            return zerr_sys(e, "mount %s -> %s: remount", what, t->path);
    }
    return zmount_set_propagation(top_fd, r->propagation, r->n_propagation, t->path, e);
}

int zmount_bind(int src_dirfd, const char *src_path, const char *what,
                const struct zmount_target *t, const struct zbind_req *r,
                struct zerr *e)
{
    if (zmount_have_new_api())
        return bind_new_api(src_dirfd, src_path, what, t, r, e);
    return bind_legacy(src_dirfd, src_path, what, t, r, e);
}

int zmount_fs(const char *source, const char *type, unsigned long flags,
              const char *data, const struct zmount_target *t, struct zerr *e)
{
    char dst[PROC_FD_PATH_MAX];
    proc_fd_path(dst, t->fd);
    if (mount(source, dst, type, flags, data) < 0)
        return zerr_sys(e, "mount %s (%s) -> %s", source, type ? type : "none", t->path);
    return 0;
}

/* ---------------------------------------------------------- tmpcopyup */

static int copy_file_contents(int src, int dst)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(src, buf, sizeof buf), off = 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return (int)n;
        while (off < n) {
            ssize_t w = write(dst, buf + off, (size_t)(n - off));
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return -1;
            }
            off += w;
        }
    }
}

/* Applies owner and mode to dir_fd/name without following a symlink. */
static int copy_owner_mode(int dir_fd, const char *name, const struct stat *st)
{
    if (fchownat(dir_fd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        return -1;
    if (S_ISLNK(st->st_mode))
        return 0;
    return fchmodat(dir_fd, name, st->st_mode & 07777, 0);
}

#define COPY_MAX_DEPTH 128

static int copy_dir(int from, int to, int depth, const char *what, struct zerr *e)
{
    _cleanup_closedir_ DIR *d = NULL;
    int rfd = openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct dirent *de;

    if (depth > COPY_MAX_DEPTH)
        return zerr_set(e, ELOOP, "tmpcopyup %s: deeper than %d levels", what, COPY_MAX_DEPTH);
    if (rfd < 0 || !(d = fdopendir(rfd))) {
        if (rfd >= 0)
            close(rfd);
        return zerr_sys(e, "tmpcopyup %s: read directory", what);
    }
    while ((errno = 0, de = readdir(d))) {
        struct stat st;
        const char *n = de->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
            continue;
        if (fstatat(from, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return zerr_sys(e, "tmpcopyup %s: stat %s", what, n);
        if (S_ISDIR(st.st_mode)) {
            _cleanup_close_ int sub_from = -1, sub_to = -1;
            if (mkdirat(to, n, 0700) < 0)
                return zerr_sys(e, "tmpcopyup %s: mkdir %s", what, n);
            sub_from = openat(from, n, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            sub_to = openat(to, n, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub_from < 0 || sub_to < 0)
                return zerr_sys(e, "tmpcopyup %s: open %s", what, n);
            if (copy_dir(sub_from, sub_to, depth + 1, what, e) < 0)
                return -1;
        } else if (S_ISREG(st.st_mode)) {
            _cleanup_close_ int in = openat(from, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            _cleanup_close_ int out = -1;
            if (in < 0)
                return zerr_sys(e, "tmpcopyup %s: open %s", what, n);
            out = openat(to, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (out < 0 || copy_file_contents(in, out) < 0)
                return zerr_sys(e, "tmpcopyup %s: copy %s", what, n);
        } else if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t len = readlinkat(from, n, target, sizeof target - 1);
            if (len < 0)
                return zerr_sys(e, "tmpcopyup %s: readlink %s", what, n);
            target[len] = '\0';
            if (symlinkat(target, to, n) < 0)
                return zerr_sys(e, "tmpcopyup %s: symlink %s", what, n);
        } else if (mknodat(to, n, st.st_mode, st.st_rdev) < 0) {
            return zerr_sys(e, "tmpcopyup %s: mknod %s", what, n);
        }
        if (copy_owner_mode(to, n, &st) < 0)
            return zerr_sys(e, "tmpcopyup %s: chown/chmod %s", what, n);
    }
    if (errno)
        return zerr_sys(e, "tmpcopyup %s: read directory", what);
    return 0;
}

int zmount_copy_tree(int under_fd, int top_fd, const char *what, struct zerr *e)
{
    struct stat st;
    char top[PROC_FD_PATH_MAX];
    if (copy_dir(under_fd, top_fd, 0, what, e) < 0)
        return -1;
    /* the new tmpfs root takes the covered directory's owner and mode */
    proc_fd_path(top, top_fd);
    if (fstat(under_fd, &st) < 0 || chown(top, st.st_uid, st.st_gid) < 0 ||
        chmod(top, st.st_mode & 07777) < 0)
        return zerr_sys(e, "tmpcopyup %s: chown/chmod", what);
    return 0;
}
