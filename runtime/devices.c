#include "runtime/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/path.h"
#include "runtime/mounts.h"

struct dev_node {
    const char *path;
    mode_t type;          /* S_IFCHR, S_IFBLK, S_IFIFO */
    uint32_t major, minor;
    mode_t mode;
    uid_t uid;
    gid_t gid;
};

static const struct dev_node default_devices[] = {
    { "/dev/null", S_IFCHR, 1, 3, 0666, 0, 0 },
    { "/dev/zero", S_IFCHR, 1, 5, 0666, 0, 0 },
    { "/dev/full", S_IFCHR, 1, 7, 0666, 0, 0 },
    { "/dev/random", S_IFCHR, 1, 8, 0666, 0, 0 },
    { "/dev/urandom", S_IFCHR, 1, 9, 0666, 0, 0 },
    { "/dev/tty", S_IFCHR, 5, 0, 0666, 0, 0 },
};

/* Splits a cleaned absolute path into its parent dir fd (created inside
 * the root) and the last name. */
static int open_parent(int root_fd, const char *path, const char **base,
                       struct zerr *e)
{
    const char *slash = strrchr(path, '/');
    _cleanup_free_ char *parent = NULL;
    if (!slash || !slash[1])
        return zerr_set(e, EINVAL, "%s: not a file path", path);
    parent = strndup(path, (size_t)(slash - path) + 1);
    if (!parent)
        return zerr_set(e, ENOMEM, "out of memory");
    *base = slash + 1;
    return zpath_mkdir_p_in_root(root_fd, parent, 0755, e);
}

/* d->path's node, named base in dir. The caller sets umask 0, so that the
 * mode is usually right at once. */
static int mknod_at(int dir, const char *base, const struct dev_node *d, struct zerr *e)
{
    _cleanup_close_ int node = -1;
    dev_t rdev = d->type == S_IFIFO ? 0 : makedev(d->major, d->minor);
    struct stat st;
    char proc[32];

    if (mknodat(dir, base, d->type | (d->mode & 0777), rdev) < 0) {
        if (errno != EEXIST)
            return zerr_sys(e, "device %s: mknod", d->path);
        /* Whatever the image put there (file, symlink, stale node) goes. */
        if (unlinkat(dir, base, 0) < 0 || mknodat(dir, base, d->type | (d->mode & 0777), rdev) < 0)
            return zerr_sys(e, "device %s: mknod", d->path);
    }
    node = openat(dir, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (node < 0 || fstat(node, &st) < 0)
        return zerr_sys(e, "device %s: open", d->path);
    if ((st.st_mode & S_IFMT) != d->type || st.st_rdev != rdev)
        return zerr_set(e, EEXIST, "device %s: replaced while being created", d->path);
    if ((st.st_uid != d->uid || st.st_gid != d->gid) &&
        fchownat(node, "", d->uid, d->gid, AT_EMPTY_PATH) < 0)
        return zerr_sys(e, "device %s: chown", d->path);
    /* set-id bits, or a chown that cleared them: the exact mode through the
     * verified fd */
    if ((st.st_mode & 07777) != (d->mode & 07777) || (d->mode & 07000)) {
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", node);
        if (chmod(proc, d->mode & 07777) < 0)
            return zerr_sys(e, "device %s: chmod", d->path);
    }
    return 0;
}

static int mknod_in_root(int root_fd, const struct dev_node *d, struct zerr *e)
{
    const char *base = NULL;
    _cleanup_close_ int dir = open_parent(root_fd, d->path, &base, e);
    if (dir < 0)
        return zerr_prefix(e, "device %s", d->path);
    return mknod_at(dir, base, d, e);
}

static char dev_type_char(mode_t type)
{
    return type == S_IFBLK ? 'b' : type == S_IFCHR ? 'c' : '?';
}

/* Without CAP_MKNOD on the host the node is the host's own, bind-mounted:
 * only when the host has that very device at the same path. */
static int bind_host_device(int root_fd, const struct dev_node *d, struct zerr *e)
{
    _cleanup_close_ int target = -1;
    _cleanup_close_ int host = open(d->path, O_PATH | O_CLOEXEC);
    struct zmount_target t = { .root_fd = root_fd, .path = d->path };
    struct zbind_req r = { .userns_fd = -1 };
    dev_t want = makedev(d->major, d->minor);
    struct stat st;

    /* checked and bound through one fd: what was checked is what is bound */
    if (host < 0 || fstat(host, &st) < 0)
        return zerr_sys(e, "device %s: in a user namespace devices cannot be created, only "
                        "bind-mounted from the host, and the host's %s cannot be used",
                        d->path, d->path);
    if ((st.st_mode & S_IFMT) != d->type || st.st_rdev != want)
        return zerr_set(e, EINVAL, "device %s: in a user namespace devices cannot be "
                        "created, only bind-mounted from the host, and the host's %s is "
                        "%c %u:%u, not %c %u:%u", d->path, d->path,
                        dev_type_char(st.st_mode & S_IFMT), major(st.st_rdev),
                        minor(st.st_rdev), dev_type_char(d->type), d->major, d->minor);
    target = zpath_mkfile_in_root(root_fd, d->path, 0644, e);
    t.fd = target;
    if (target < 0)
        return zerr_prefix(e, "device %s", d->path);
    if (zmount_bind(host, "", d->path, &t, &r, e) < 0)
        return zerr_prefix(e, "device %s", d->path);
    return 0;
}

static int spec_device_node(const struct zspec_device *s, size_t i,
                            struct dev_node *d, char **path, struct zerr *e)
{
    memset(d, 0, sizeof *d);
    if (!s->path || !zpath_is_abs(s->path))
        return zerr_set(e, EINVAL, "linux.devices[%zu]: path must be absolute", i);
    if (!s->type || !s->type[0] || s->type[1])
        return zerr_set(e, EINVAL, "linux.devices[%zu]: bad type", i);
    switch (s->type[0]) {
    case 'c': case 'u': d->type = S_IFCHR; break;
    case 'b': d->type = S_IFBLK; break;
    case 'p': d->type = S_IFIFO; break;
    default:
        return zerr_set(e, EINVAL, "linux.devices[%zu]: unknown type \"%s\"", i, s->type);
    }
    if (d->type != S_IFIFO) {
        if (!s->has_major || !s->has_minor || s->major < 0 || s->minor < 0 ||
            s->major > 0xfff || s->minor > 0xfffff)
            return zerr_set(e, EINVAL, "linux.devices[%zu]: bad major/minor", i);
        d->major = (uint32_t)s->major;
        d->minor = (uint32_t)s->minor;
    }
    d->mode = s->has_file_mode ? (mode_t)(s->file_mode & 07777) : 0666;
    d->uid = s->has_uid ? s->uid : 0;
    d->gid = s->has_gid ? s->gid : 0;
    if (!(*path = zpath_join("/", s->path)))
        return zerr_set(e, ENOMEM, "out of memory");
    if (strcmp(*path, "/") == 0 || strcmp(*path, "/dev") == 0) {
        free(*path);
        *path = NULL;
        return zerr_set(e, EINVAL, "linux.devices[%zu]: bad path \"%s\"", i, s->path);
    }
    d->path = *path;
    return 0;
}

/* parent_fd: the node's directory when the caller has it open, else -1 */
static int create_device(int root_fd, int parent_fd, const struct dev_node *d,
                         bool in_userns, struct zerr *e)
{
    /* a FIFO needs no privilege */
    if (in_userns && d->type != S_IFIFO)
        return bind_host_device(root_fd, d, e);
    if (parent_fd >= 0)
        return mknod_at(parent_fd, strrchr(d->path, '/') + 1, d, e);
    return mknod_in_root(root_fd, d, e);
}

static int create_devices(int root_fd, const struct zspec *spec, bool in_userns,
                          struct zerr *e)
{
    const struct zspec_linux *l = spec ? spec->linux_ : NULL;
    size_t n = l ? l->n_devices : 0;
    _cleanup_close_ int dev = -1;

    for (size_t i = 0; i < ZARRAY_SIZE(default_devices); i++) {
        const struct dev_node *d = &default_devices[i];
        bool overridden = false;
        for (size_t j = 0; j < n && !overridden; j++) {
            _cleanup_free_ char *p = l->devices[j].path ? zpath_join("/", l->devices[j].path) : NULL;
            overridden = p && strcmp(p, d->path) == 0;
        }
        if (overridden)
            continue;
        /* all in /dev: one walk to it */
        if (!in_userns && dev < 0 && (dev = zpath_mkdir_p_in_root(root_fd, "/dev", 0755, e)) < 0)
            return zerr_prefix(e, "device %s", d->path);
        if (create_device(root_fd, dev, d, in_userns, e) < 0)
            return -1;
    }
    for (size_t j = 0; j < n; j++) {
        struct dev_node d;
        _cleanup_free_ char *path = NULL;
        if (spec_device_node(&l->devices[j], j, &d, &path, e) < 0)
            return -1;
        if (create_device(root_fd, -1, &d, in_userns, e) < 0)
            return zerr_prefix(e, "linux.devices[%zu]", j);
    }
    return 0;
}

int zdev_create_devices(int root_fd, const struct zspec *spec, bool in_userns,
                        struct zerr *e)
{
    /* the process's own umask is set later (process_identity.c) */
    mode_t old = umask(0);
    int rc = create_devices(root_fd, spec, in_userns, e);
    umask(old);
    return rc;
}

int zdev_create_links(int root_fd, bool proc_mounted, struct zerr *e)
{
    static const struct { const char *name, *target; } links[] = {
        { "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
        { "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
    };
    _cleanup_close_ int dev = zpath_mkdir_p_in_root(root_fd, "/dev", 0755, e);
    if (dev < 0)
        return zerr_prefix(e, "create /dev");
    for (size_t i = 0; i < ZARRAY_SIZE(links); i++)
        if (symlinkat(links[i].target, dev, links[i].name) < 0 && errno != EEXIST)
            return zerr_sys(e, "symlink /dev/%s", links[i].name);
    if (proc_mounted && symlinkat("/proc/kcore", dev, "core") < 0 && errno != EEXIST)
        return zerr_sys(e, "symlink /dev/core");
    /* ptmx must lead to the container's devpts instance */
    if (unlinkat(dev, "ptmx", 0) < 0 && errno != ENOENT)
        return zerr_sys(e, "remove /dev/ptmx");
    if (symlinkat("pts/ptmx", dev, "ptmx") < 0)
        return zerr_sys(e, "symlink /dev/ptmx");
    return 0;
}

int zdev_setup_console(int root_fd, int slave_fd, struct zerr *e)
{
    struct stat st;
    _cleanup_close_ int target = -1;
    struct zmount_target t = { .root_fd = root_fd, .path = "/dev/console" };
    struct zbind_req r = { .userns_fd = -1 };

    if (fstat(slave_fd, &st) < 0)
        return zerr_sys(e, "console: stat terminal");
    if (!S_ISCHR(st.st_mode))
        return zerr_set(e, EINVAL, "console: fd %d is not a terminal", slave_fd);
    target = zpath_mkfile_in_root(root_fd, "/dev/console", 0666, e);
    if (target < 0)
        return zerr_prefix(e, "console");
    t.fd = target;
    return zmount_bind(slave_fd, "", "terminal", &t, &r, e) < 0 ? zerr_prefix(e, "console") : 0;
}
