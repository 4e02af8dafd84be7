/* Layer unpack: creating one entry (file, directory, symlink, hard link,
 * device node, fifo) inside its parent directory fd, then its owner, mode,
 * xattrs and times, in that order: chown clears setuid bits and file
 * capabilities, and writing the data would change the mtime. Directory
 * modes and times wait until the end (zu_finish_dirs).
 *
 * The final component is never followed: what is there is removed first
 * (a directory is kept when the entry is a directory), the new object is
 * created with O_EXCL / mknodat / symlinkat / linkat relative to the
 * parent fd, and metadata goes through that fd or through
 * /proc/self/fd/<parent>/<name> with the l*() calls. */
#include "images/unpack_private.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/cleanup.h"

/* ------------------------------------------------------------ owners */

static int map_id(const struct zid_range *map, size_t n, uint32_t id, uint32_t *out)
{
    if (n == 0) {
        *out = id;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (id >= map[i].container && (uint64_t)id < (uint64_t)map[i].container + map[i].size) {
            uint64_t host = (uint64_t)map[i].host + (id - map[i].container);
            if (host > UINT32_MAX - 1)
                return -1;
            *out = (uint32_t)host;
            return 0;
        }
    }
    return -1;
}

static int entry_owner(struct zu_ctx *c, struct archive_entry *ae, const char *raw,
                       uid_t *uid, gid_t *gid)
{
    la_int64_t u = archive_entry_uid(ae), g = archive_entry_gid(ae);
    uint32_t hu, hg;
    if (u < 0 || u >= UINT32_MAX || map_id(c->o->uid_map, c->o->n_uid_map, (uint32_t)u, &hu) < 0)
        return zerr_set(c->e, EINVAL, "entry \"%.200s\": owner uid %lld has no mapping",
                        raw, (long long)u);
    if (g < 0 || g >= UINT32_MAX || map_id(c->o->gid_map, c->o->n_gid_map, (uint32_t)g, &hg) < 0)
        return zerr_set(c->e, EINVAL, "entry \"%.200s\": owner gid %lld has no mapping",
                        raw, (long long)g);
    if (c->o->squash_ids) {
        /* one-id rootless store: every file is the user's (root inside) */
        if (hu || hg)
            c->st->squashed_owners++;
        hu = hg = 0;
    }
    *uid = hu;
    *gid = hg;
    return 0;
}

/* chown failed: EINVAL means the id is not mapped in the user namespace
 * zone unpacks in (rootless: beyond the user's subordinate ids). */
static int chown_error(struct zu_ctx *c, const char *raw, uid_t uid, gid_t gid)
{
    if (errno == EINVAL)
        return zerr_set(c->e, EINVAL, "entry \"%.200s\": owner %u:%u is not mapped in the user "
                        "namespace the layer is unpacked in (it is beyond the subordinate ids "
                        "/etc/subuid and /etc/subgid delegate to the user)", raw, uid, gid);
    return zerr_sys(c->e, "entry \"%.200s\": chown to %u:%u", raw, uid, gid);
}

/* ------------------------------------------------------------ xattrs */

static bool is_overlay_xattr(const char *name)
{
    return !strncmp(name, "trusted.overlay.", 16) || !strncmp(name, "user.overlay.", 13);
}

static bool xattr_namespace_ok(const char *name)
{
    return !strncmp(name, "user.", 5) || !strncmp(name, "trusted.", 8) ||
           !strncmp(name, "security.", 9);
}

/* Checks every xattr of an entry before anything is created. */
static int check_xattrs(struct zu_ctx *c, struct archive_entry *ae, const char *raw)
{
    const char *name;
    const void *value;
    size_t size, count = 0, total = 0;

    archive_entry_xattr_reset(ae);
    while (archive_entry_xattr_next(ae, &name, &value, &size) == ARCHIVE_OK) {
        if (++count > ZU_XATTR_COUNT)
            return zerr_set(c->e, E2BIG, "entry \"%.200s\": more than %d xattrs", raw,
                            ZU_XATTR_COUNT);
        if (!name || !*name || strlen(name) > XATTR_NAME_MAX)
            return zerr_set(c->e, EINVAL, "entry \"%.200s\": invalid xattr name", raw);
        if (is_overlay_xattr(name))
            return zerr_set(c->e, EPERM, "entry \"%.200s\": sets the overlay xattr \"%.100s\", "
                            "which only the unpacker may set", raw, name);
        if (!xattr_namespace_ok(name))
            return zerr_set(c->e, EPERM, "entry \"%.200s\": xattr \"%.100s\" is not in the "
                            "user, trusted or security namespace", raw, name);
        if (size > ZU_XATTR_VALUE)
            return zerr_set(c->e, E2BIG, "entry \"%.200s\": xattr \"%.100s\" larger than %d bytes",
                            raw, name, ZU_XATTR_VALUE);
        total += size;
        if (total > ZU_XATTR_TOTAL)
            return zerr_set(c->e, E2BIG, "entry \"%.200s\": xattrs larger than %u bytes in all",
                            raw, ZU_XATTR_TOTAL);
    }
    return 0;
}

/* A failure the kernel makes for reasons of the host rather than of the
 * image, skipped: user.* on symlinks and devices (never allowed), trusted.*
 * and non-capability security.* without privilege or support. File
 * capabilities are part of what the image means and must be set. */
static bool xattr_failure_ok(const char *name, int err)
{
    if (!strcmp(name, "security.capability"))
        return false;
    return err == EPERM || err == EOPNOTSUPP || err == EACCES;
}

/* Through fd when it can carry xattrs, else through proc_path (lsetxattr). */
static int set_xattrs(struct zu_ctx *c, struct archive_entry *ae, int fd, const char *proc_path,
                      const char *raw)
{
    const char *name;
    const void *value;
    size_t size;

    archive_entry_xattr_reset(ae);
    while (archive_entry_xattr_next(ae, &name, &value, &size) == ARCHIVE_OK) {
        int r = fd >= 0 ? fsetxattr(fd, name, value, size, 0)
                        : lsetxattr(proc_path, name, value, size, 0);
        if (r < 0 && !xattr_failure_ok(name, errno))
            return zerr_sys(c->e, "entry \"%.200s\": setting xattr \"%.100s\"", raw, name);
    }
    return 0;
}

/* ------------------------------------------------------------ times */

static void entry_times(struct archive_entry *ae, struct timespec ts[2])
{
    long mns = archive_entry_mtime_nsec(ae), ans;
    ts[1].tv_sec = archive_entry_mtime(ae);
    ts[1].tv_nsec = mns >= 0 && mns < 1000000000 ? mns : 0;
    if (archive_entry_atime_is_set(ae)) {
        ans = archive_entry_atime_nsec(ae);
        ts[0].tv_sec = archive_entry_atime(ae);
        ts[0].tv_nsec = ans >= 0 && ans < 1000000000 ? ans : 0;
    } else {
        ts[0] = ts[1];
    }
}

/* ------------------------------------------------------------ kinds */

static int write_data(struct zu_ctx *c, int fd, struct archive_entry *ae, const char *raw)
{
    const void *buf;
    size_t size;
    la_int64_t offset, end = 0;
    int r;

    while ((r = archive_read_data_block(c->ar, &buf, &size, &offset)) != ARCHIVE_EOF) {
        if (r < ARCHIVE_WARN)
            return zerr_set(c->e, EIO, "entry \"%.200s\": reading data: %s", raw,
                            archive_error_string(c->ar) ? archive_error_string(c->ar)
                                                        : "unknown error");
        if (offset < 0)
            return zerr_set(c->e, EINVAL, "entry \"%.200s\": negative data offset", raw);
        for (size_t done = 0; done < size;) {
            ssize_t w = pwrite(fd, (const char *)buf + done, size - done,
                               (off_t)offset + (off_t)done);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return zerr_sys(c->e, "entry \"%.200s\": writing", raw);
            }
            done += (size_t)w;
        }
        c->st->bytes += size;
        if (offset + (la_int64_t)size > end)
            end = offset + (la_int64_t)size;
    }
    /* A sparse file may end in a hole. */
    if (archive_entry_size_is_set(ae) && archive_entry_size(ae) > end &&
        ftruncate(fd, (off_t)archive_entry_size(ae)) < 0)
        return zerr_sys(c->e, "entry \"%.200s\": setting size", raw);
    return 0;
}

static int make_regular(struct zu_ctx *c, struct archive_entry *ae, int parent,
                        const char *base, const char *raw)
{
    _cleanup_close_ int fd = -1;
    struct timespec ts[2];
    uid_t uid;
    gid_t gid;
    bool kept;

    if (entry_owner(c, ae, raw, &uid, &gid) < 0 ||
        zu_prepare_slot(c, parent, base, false, &kept, raw) < 0)
        return -1;
    fd = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return zerr_sys(c->e, "entry \"%.200s\": creating file", raw);
    if (write_data(c, fd, ae, raw) < 0)
        return -1;
    if (fchown(fd, uid, gid) < 0)
        return chown_error(c, raw, uid, gid);
    if (fchmod(fd, archive_entry_mode(ae) & 07777) < 0)
        return zerr_sys(c->e, "entry \"%.200s\": chmod", raw);
    if (set_xattrs(c, ae, fd, NULL, raw) < 0)
        return -1;
    entry_times(ae, ts);
    if (futimens(fd, ts) < 0)
        return zerr_sys(c->e, "entry \"%.200s\": setting times", raw);
    return 0;
}

static int defer_dir(struct zu_ctx *c, struct archive_entry *ae, int dirfd, const char *path,
                     const char *raw)
{
    struct zu_dirmeta *d;
    struct stat st;

    if (fstat(dirfd, &st) < 0)
        return zerr_sys(c->e, "entry \"%.200s\"", raw);
    if (c->n_dirs == c->cap_dirs) {
        size_t ncap = c->cap_dirs ? c->cap_dirs * 2 : 64;
        struct zu_dirmeta *v = realloc(c->dirs, ncap * sizeof *v);
        if (!v)
            return zerr_set(c->e, ENOMEM, "entry \"%.200s\": out of memory", raw);
        c->dirs = v;
        c->cap_dirs = ncap;
    }
    d = &c->dirs[c->n_dirs];
    if (!(d->path = strdup(path)))
        return zerr_set(c->e, ENOMEM, "entry \"%.200s\": out of memory", raw);
    d->dev = st.st_dev;
    d->ino = st.st_ino;
    d->mode = archive_entry_mode(ae) & 07777;
    entry_times(ae, d->times);
    c->n_dirs++;
    return 0;
}

/* `path` is the whole cleaned name ("" for the root itself). */
static int make_dir(struct zu_ctx *c, struct archive_entry *ae, int parent, const char *base,
                    const char *path, const char *raw)
{
    _cleanup_close_ int fd = -1;
    uid_t uid;
    gid_t gid;
    bool kept;

    if (entry_owner(c, ae, raw, &uid, &gid) < 0)
        return -1;
    if (parent < 0) {
        fd = openat(c->root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } else {
        if (zu_prepare_slot(c, parent, base, true, &kept, raw) < 0)
            return -1;
        if (!kept && mkdirat(parent, base, 0700) < 0)
            return zerr_sys(c->e, "entry \"%.200s\": creating directory", raw);
        fd = openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0)
        return zerr_sys(c->e, "entry \"%.200s\": opening directory", raw);
    if (fchown(fd, uid, gid) < 0)
        return chown_error(c, raw, uid, gid);
    if (set_xattrs(c, ae, fd, NULL, raw) < 0)
        return -1;
    if (c->o->mode == ZUNPACK_FLAT && zu_mark_dir_chain(c, fd) < 0)
        return -1;
    return defer_dir(c, ae, fd, path, raw);
}

/* Owner, mode, xattrs, times of something without a usable fd (symlink,
 * device, fifo), by parent fd + name, never following a symlink. */
static int meta_by_name(struct zu_ctx *c, struct archive_entry *ae, int parent,
                        const char *base, bool is_symlink, const char *raw)
{
    char proc[64 + NAME_MAX];
    struct timespec ts[2];
    uid_t uid;
    gid_t gid;

    if (entry_owner(c, ae, raw, &uid, &gid) < 0)
        return -1;
    if (fchownat(parent, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        return chown_error(c, raw, uid, gid);
    /* fchmodat follows a symlink at base, but base was just made by us and
     * is not one. */
    if (!is_symlink && fchmodat(parent, base, archive_entry_mode(ae) & 07777, 0) < 0)
        return zerr_sys(c->e, "entry \"%.200s\": chmod", raw);
    zu_proc_path(proc, sizeof proc, parent, base);
    if (set_xattrs(c, ae, -1, proc, raw) < 0)
        return -1;
    entry_times(ae, ts);
    if (utimensat(parent, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return zerr_sys(c->e, "entry \"%.200s\": setting times", raw);
    return 0;
}

static int make_symlink(struct zu_ctx *c, struct archive_entry *ae, int parent,
                        const char *base, const char *raw)
{
    const char *target = archive_entry_symlink(ae);
    bool kept;

    if (!target)
        target = archive_entry_symlink_utf8(ae);
    if (!target || !*target)
        return zerr_set(c->e, EINVAL, "entry \"%.200s\": symlink without a target", raw);
    if (strlen(target) > ZU_LINK_MAX)
        return zerr_set(c->e, ENAMETOOLONG, "entry \"%.200s\": symlink target longer than %d "
                        "bytes", raw, ZU_LINK_MAX);
    if (zu_prepare_slot(c, parent, base, false, &kept, raw) < 0)
        return -1;
    /* The target is stored as given: it is only ever resolved inside the
     * target (here) or inside the container's root (at run time). */
    if (symlinkat(target, parent, base) < 0)
        return zerr_sys(c->e, "entry \"%.200s\": creating symlink", raw);
    return meta_by_name(c, ae, parent, base, true, raw);
}

static int make_node(struct zu_ctx *c, struct archive_entry *ae, int parent, const char *base,
                     mode_t type, const char *raw)
{
    dev_t dev = type == S_IFIFO ? 0 : makedev(archive_entry_rdevmajor(ae),
                                              archive_entry_rdevminor(ae));
    bool kept;

    if (type != S_IFIFO && c->mknod_denied) {
        c->st->skipped_devices++;
        return 0;
    }
    if (zu_prepare_slot(c, parent, base, false, &kept, raw) < 0)
        return -1;
    if (mknodat(parent, base, type | 0600, dev) < 0) {
        if (type != S_IFIFO && errno == EPERM) {
            /* Rootless: device nodes cannot be made; skip and count. */
            c->mknod_denied = true;
            c->st->skipped_devices++;
            return 0;
        }
        return zerr_sys(c->e, "entry \"%.200s\": mknod", raw);
    }
    return meta_by_name(c, ae, parent, base, false, raw);
}

/* ------------------------------------------------------------ hard links */

static int lower_root(struct zu_ctx *c, size_t i)
{
    if (!c->lower_fds) {
        c->lower_fds = malloc(c->o->n_lower_dirs * sizeof *c->lower_fds);
        if (!c->lower_fds)
            return -1;
        for (size_t k = 0; k < c->o->n_lower_dirs; k++)
            c->lower_fds[k] = -1;
    }
    if (c->lower_fds[i] < 0)
        c->lower_fds[i] = open(c->o->lower_dirs[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
    return c->lower_fds[i];
}

static int copy_xattrs(int src, int dst, const char *raw, struct zerr *e)
{
    char names[65536];
    ssize_t len = flistxattr(src, names, sizeof names);
    if (len < 0)
        return errno == EOPNOTSUPP ? 0 : zerr_sys(e, "entry \"%.200s\": listing xattrs", raw);
    for (ssize_t off = 0; off < len; off += (ssize_t)strlen(names + off) + 1) {
        const char *name = names + off;
        _cleanup_free_ char *value = malloc(ZU_XATTR_VALUE);
        ssize_t vlen;
        if (is_overlay_xattr(name))
            continue;
        if (!value)
            return zerr_set(e, ENOMEM, "entry \"%.200s\": out of memory", raw);
        vlen = fgetxattr(src, name, value, ZU_XATTR_VALUE);
        if (vlen < 0)
            return zerr_sys(e, "entry \"%.200s\": reading xattr \"%s\"", raw, name);
        if (fsetxattr(dst, name, value, (size_t)vlen, 0) < 0 && !xattr_failure_ok(name, errno))
            return zerr_sys(e, "entry \"%.200s\": copying xattr \"%s\"", raw, name);
    }
    return 0;
}

/* Copies lower-layer object src (O_PATH, found at cleaned `target`) up
 * into this layer at the same path; returns an O_PATH fd of the copy. */
static int copy_up(struct zu_ctx *c, int src, const struct stat *sst, const char *target,
                   const char *raw)
{
    _cleanup_free_ char *dup = strdup(target);
    _cleanup_close_ int parent = -1, in = -1, out = -1;
    const char *pdir, *base;
    char proc[64];
    bool kept;

    if (!dup)
        return zerr_set(c->e, ENOMEM, "out of memory");
    zu_split(dup, &pdir, &base);
    if ((parent = zu_open_dir(c, pdir, true, c->e)) < 0 ||
        zu_prepare_slot(c, parent, base, false, &kept, raw) < 0)
        return -1;
    if (S_ISLNK(sst->st_mode)) {
        char link[PATH_MAX];
        ssize_t n = readlinkat(src, "", link, sizeof link - 1);
        if (n < 0)
            return zerr_sys(c->e, "entry \"%.200s\": reading lower symlink", raw);
        link[n] = '\0';
        if (symlinkat(link, parent, base) < 0 ||
            fchownat(parent, base, sst->st_uid, sst->st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
            utimensat(parent, base, (struct timespec[2]){ sst->st_atim, sst->st_mtim },
                      AT_SYMLINK_NOFOLLOW) < 0)
            return zerr_sys(c->e, "entry \"%.200s\": copying up symlink", raw);
    } else if (S_ISREG(sst->st_mode)) {
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", src);
        in = open(proc, O_RDONLY | O_CLOEXEC);
        out = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (in < 0 || out < 0)
            return zerr_sys(c->e, "entry \"%.200s\": copying up \"%.200s\"", raw, target);
        for (;;) {
            char buf[65536];
            ssize_t n = read(in, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return zerr_sys(c->e, "entry \"%.200s\": reading lower file", raw);
            if (n == 0)
                break;
            for (ssize_t done = 0; done < n;) {
                ssize_t w = write(out, buf + done, (size_t)(n - done));
                if (w < 0 && errno != EINTR)
                    return zerr_sys(c->e, "entry \"%.200s\": writing copy", raw);
                done += w > 0 ? w : 0;
            }
        }
        if (fchown(out, sst->st_uid, sst->st_gid) < 0 || fchmod(out, sst->st_mode & 07777) < 0)
            return zerr_sys(c->e, "entry \"%.200s\": copying up owner and mode", raw);
        if (copy_xattrs(in, out, raw, c->e) < 0)
            return -1;
        if (futimens(out, (struct timespec[2]){ sst->st_atim, sst->st_mtim }) < 0)
            return zerr_sys(c->e, "entry \"%.200s\": copying up times", raw);
    } else {
        return zerr_set(c->e, EPERM, "entry \"%.200s\": hard link target \"%.200s\" in a lower "
                        "layer is not a regular file or symlink", raw, target);
    }
    int fd = openat(parent, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        zerr_sys(c->e, "entry \"%.200s\": opening copied-up file", raw);
    return fd;
}

/* Finds the hard link target in the lower layers (topmost first). */
static int link_from_lower(struct zu_ctx *c, const char *target, const char *raw)
{
    for (size_t i = 0; i < c->o->n_lower_dirs; i++) {
        _cleanup_close_ int src = -1;
        struct stat sst;
        int lroot = lower_root(c, i);
        if (lroot < 0)
            return zerr_sys(c->e, "lower layer \"%.200s\"", c->o->lower_dirs[i]);
        src = zu_openat2_in_root(lroot, target, O_PATH | O_NOFOLLOW);
        if (src < 0) {
            if (errno == ENOENT || errno == ENOTDIR)
                continue;
            return zerr_sys(c->e, "entry \"%.200s\": hard link target \"%.200s\" in \"%.200s\"",
                            raw, target, c->o->lower_dirs[i]);
        }
        if (fstat(src, &sst) < 0)
            return zerr_sys(c->e, "entry \"%.200s\"", raw);
        if (S_ISCHR(sst.st_mode) && sst.st_rdev == makedev(0, 0))
            break;              /* a whiteout: deleted in that layer */
        return copy_up(c, src, &sst, target, raw);
    }
    return zerr_set(c->e, ENOENT, "entry \"%.200s\": hard link target \"%.200s\" not found in "
                    "this layer%s", raw, target, c->o->n_lower_dirs ? " or a lower one" : "");
}

static int make_hardlink(struct zu_ctx *c, const char *link_raw, int parent, const char *base,
                         const char *raw)
{
    _cleanup_free_ char *target = NULL;
    _cleanup_close_ int src = -1;
    struct stat sst, cur;
    char proc[64];
    bool kept;

    if (strlen(link_raw) > ZU_LINK_MAX)
        return zerr_set(c->e, ENAMETOOLONG, "entry \"%.200s\": hard link target longer than %d "
                        "bytes", raw, ZU_LINK_MAX);
    if (!(target = zu_clean_name(link_raw, "hard link target", c->e)))
        return zerr_prefix(c->e, "entry \"%.200s\"", raw);
    if (!*target)
        return zerr_set(c->e, EPERM, "entry \"%.200s\": hard link to the root", raw);
    /* Resolved inside the target: ".." and symlinked parents stay in it. */
    src = zu_openat2_in_root(c->root, target, O_PATH | O_NOFOLLOW);
    if (src < 0 && (errno == ENOENT || errno == ENOTDIR) && c->o->mode == ZUNPACK_OVERLAY)
        src = link_from_lower(c, target, raw);
    else if (src < 0)
        return zerr_sys(c->e, "entry \"%.200s\": hard link target \"%.200s\"", raw, target);
    if (src < 0)
        return -1;
    if (fstat(src, &sst) < 0)
        return zerr_sys(c->e, "entry \"%.200s\"", raw);
    if (S_ISDIR(sst.st_mode))
        return zerr_set(c->e, EPERM, "entry \"%.200s\": hard link to directory \"%.200s\"", raw,
                        target);
    if (c->o->mode == ZUNPACK_OVERLAY && S_ISCHR(sst.st_mode) && sst.st_rdev == makedev(0, 0))
        return zerr_set(c->e, ENOENT, "entry \"%.200s\": hard link target \"%.200s\" is "
                        "deleted (a whiteout) in this layer", raw, target);
    if (fstatat(parent, base, &cur, AT_SYMLINK_NOFOLLOW) == 0 && cur.st_dev == sst.st_dev &&
        cur.st_ino == sst.st_ino)
        return zu_mark_entry(c, parent, base);      /* already that file */
    if (zu_prepare_slot(c, parent, base, false, &kept, raw) < 0)
        return -1;
    /* Through /proc/self/fd: works without CAP_DAC_READ_SEARCH (which
     * AT_EMPTY_PATH needs), and the magic link names exactly the resolved
     * object, even a symlink. */
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", src);
    if (linkat(AT_FDCWD, proc, parent, base, AT_SYMLINK_FOLLOW) < 0)
        return zerr_sys(c->e, "entry \"%.200s\": hard link to \"%.200s\"", raw, target);
    return zu_mark_entry(c, parent, base);
}

/* ------------------------------------------------------------ dispatch */

int zu_entry(struct zu_ctx *c, struct archive_entry *ae, char *name, const char *raw)
{
    _cleanup_free_ char *path = strdup(name);
    _cleanup_close_ int parent = -1;
    const char *link = archive_entry_hardlink(ae);
    mode_t type = archive_entry_filetype(ae);
    const char *pdir, *base;
    int r;

    if (!path)
        return zerr_set(c->e, ENOMEM, "out of memory");
    if (check_xattrs(c, ae, raw) < 0)
        return -1;
    if (!*name) {
        if (link || type != AE_IFDIR)
            return zerr_set(c->e, EPERM, "entry \"%.200s\": the root must be a directory", raw);
        return make_dir(c, ae, -1, NULL, "", raw);
    }
    zu_split(name, &pdir, &base);
    if ((parent = zu_open_dir(c, pdir, true, c->e)) < 0)
        return zerr_prefix(c->e, "entry \"%.200s\"", raw);
    if (link)
        return make_hardlink(c, link, parent, base, raw);
    switch (type) {
    case AE_IFREG: r = make_regular(c, ae, parent, base, raw); break;
    case AE_IFDIR: return make_dir(c, ae, parent, base, path, raw);
    case AE_IFLNK: r = make_symlink(c, ae, parent, base, raw); break;
    case AE_IFCHR: r = make_node(c, ae, parent, base, S_IFCHR, raw); break;
    case AE_IFBLK: r = make_node(c, ae, parent, base, S_IFBLK, raw); break;
    case AE_IFIFO: r = make_node(c, ae, parent, base, S_IFIFO, raw); break;
    case AE_IFSOCK: return 0;   /* sockets are recreated by whoever listens */
    default:
        return zerr_set(c->e, EINVAL, "entry \"%.200s\": unknown file type 0%o", raw,
                        (unsigned)type);
    }
    if (r < 0 || c->o->mode != ZUNPACK_FLAT)
        return r;
    if (fstatat(parent, base, &(struct stat){0}, AT_SYMLINK_NOFOLLOW) < 0)
        return 0;               /* a skipped device */
    return zu_mark_entry(c, parent, base);
}

int zu_finish_dirs(struct zu_ctx *c)
{
    for (size_t i = 0; i < c->n_dirs; i++) {
        struct zu_dirmeta *d = &c->dirs[i];
        _cleanup_close_ int fd = zu_openat2_in_root(c->root, d->path,
                                                   O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        struct stat st;
        /* Gone, or replaced by another object since: nothing to apply. */
        if (fd < 0 || fstat(fd, &st) < 0 || st.st_dev != d->dev || st.st_ino != d->ino)
            continue;
        if (fchmod(fd, d->mode) < 0)
            return zerr_sys(c->e, "entry \"%.200s\": chmod", d->path);
        if (futimens(fd, d->times) < 0)
            return zerr_sys(c->e, "entry \"%.200s\": setting times", d->path);
    }
    return 0;
}

void zu_dirs_free(struct zu_ctx *c)
{
    for (size_t i = 0; i < c->n_dirs; i++)
        free(c->dirs[i].path);
    free(c->dirs);
    c->dirs = NULL;
    c->n_dirs = c->cap_dirs = 0;
}
