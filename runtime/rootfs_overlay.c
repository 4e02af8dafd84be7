#include "runtime/rootfs_overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/path.h"
#include "core/userns.h"

/* mount(2) takes at most one page of options; longer layer lists go
 * through fsconfig("lowerdir+") one layer at a time (Linux 6.8+). */
#define MOUNT_DATA_MAX 4095

#define ANN_FMT "config.json: annotations[\"%s\"]: "

static int check_dir(const char *key, const char *path, struct zerr *e)
{
    struct stat st;
    if (!zpath_is_abs(path))
        return zerr_set(e, EINVAL, ANN_FMT "\"%s\" is not an absolute path", key, path);
    /* ':' separates lowerdirs and ',' options in overlay's option string */
    if (strpbrk(path, ",:"))
        return zerr_set(e, EINVAL, ANN_FMT "\"%s\": a ',' or ':' in a path is not supported",
                        key, path);
    if (stat(path, &st) < 0)
        return zerr_sys(e, ANN_FMT "%s", key, path);
    if (!S_ISDIR(st.st_mode))
        return zerr_set(e, ENOTDIR, ANN_FMT "%s is not a directory", key, path);
    return 0;
}

void zoverlay_free(struct zoverlay *o)
{
    for (size_t i = 0; o->lower && i < o->n_lower; i++)
        free(o->lower[i]);
    free(o->lower);
    free(o->upper);
    free(o->work);
    memset(o, 0, sizeof *o);
}

static int split_lowers(const char *joined, struct zoverlay *o, struct zerr *e)
{
    size_t n = 1;
    for (const char *p = joined; *p; p++)
        n += *p == ':';
    if (n > ZOVERLAY_MAX_LOWER)
        return zerr_set(e, E2BIG, ANN_FMT "%zu layers, at most %d are supported",
                        ZANN_ROOTFS_LOWERDIRS, n, ZOVERLAY_MAX_LOWER);
    o->lower = calloc(n + 1, sizeof *o->lower);
    if (!o->lower)
        return zerr_set(e, ENOMEM, "out of memory");
    for (const char *p = joined;;) {
        const char *end = strchrnul(p, ':');
        if (end == p)
            return zerr_set(e, EINVAL, ANN_FMT "empty layer path", ZANN_ROOTFS_LOWERDIRS);
        if (!(o->lower[o->n_lower] = strndup(p, (size_t)(end - p))))
            return zerr_set(e, ENOMEM, "out of memory");
        o->n_lower++;
        if (!*end)
            break;
        p = end + 1;
    }
    return 0;
}

int zoverlay_from_spec(const struct zspec *s, struct zoverlay *out, struct zerr *e)
{
    const char *lower = spec_annotation(s, ZANN_ROOTFS_LOWERDIRS);
    const char *upper = spec_annotation(s, ZANN_ROOTFS_UPPERDIR);
    const char *work = spec_annotation(s, ZANN_ROOTFS_WORKDIR);
    const char *userxattr = spec_annotation(s, ZANN_ROOTFS_USERXATTR);

    memset(out, 0, sizeof *out);
    if (!lower) {
        if (upper || work)
            return zerr_set(e, EINVAL, ANN_FMT "required with \"%s\"", ZANN_ROOTFS_LOWERDIRS,
                            upper ? ZANN_ROOTFS_UPPERDIR : ZANN_ROOTFS_WORKDIR);
        return 0;
    }
    if (split_lowers(lower, out, e) < 0)
        goto fail;
    for (size_t i = 0; i < out->n_lower; i++)
        if (check_dir(ZANN_ROOTFS_LOWERDIRS, out->lower[i], e) < 0)
            goto fail;
    if (upper || work) {
        if (!upper || !work) {
            zerr_set(e, EINVAL, ANN_FMT "required with \"%s\"",
                     upper ? ZANN_ROOTFS_WORKDIR : ZANN_ROOTFS_UPPERDIR,
                     upper ? ZANN_ROOTFS_UPPERDIR : ZANN_ROOTFS_WORKDIR);
            goto fail;
        }
        if (check_dir(ZANN_ROOTFS_UPPERDIR, upper, e) < 0 ||
            check_dir(ZANN_ROOTFS_WORKDIR, work, e) < 0)
            goto fail;
        if (!(out->upper = strdup(upper)) || !(out->work = strdup(work))) {
            zerr_set(e, ENOMEM, "out of memory");
            goto fail;
        }
    }
    if (userxattr) {
        if (strcmp(userxattr, "true") != 0 && strcmp(userxattr, "false") != 0) {
            zerr_set(e, EINVAL, ANN_FMT "expected \"true\" or \"false\", got \"%s\"",
                     ZANN_ROOTFS_USERXATTR, userxattr);
            goto fail;
        }
        out->userxattr = strcmp(userxattr, "true") == 0;
    }
    return 0;
fail:
    zoverlay_free(out);
    return -1;
}

int zoverlay_validate(const struct zspec *s, struct zerr *e)
{
    struct zoverlay o;
    if (zoverlay_from_spec(s, &o, e) < 0)
        return -1;
    zoverlay_free(&o);
    return 0;
}

/* "lowerdir=a:b,upperdir=u,workdir=w[,userxattr]"; NULL when too long. */
static char *option_string(const struct zoverlay *o)
{
    size_t len = sizeof "lowerdir=,upperdir=,workdir=,userxattr";
    for (size_t i = 0; i < o->n_lower; i++)
        len += strlen(o->lower[i]) + 1;
    len += (o->upper ? strlen(o->upper) : 0) + (o->work ? strlen(o->work) : 0);
    if (len > MOUNT_DATA_MAX)
        return NULL;
    char *s = malloc(len), *w = s;
    if (!s)
        return NULL;
    w += sprintf(w, "lowerdir=");
    for (size_t i = 0; i < o->n_lower; i++)
        w += sprintf(w, "%s%s", i ? ":" : "", o->lower[i]);
    if (o->upper)
        w += sprintf(w, ",upperdir=%s,workdir=%s", o->upper, o->work);
    if (o->userxattr)
        sprintf(w, ",userxattr");
    return s;
}

static int fs_set(int fs, const char *key, const char *value, struct zerr *e)
{
    if (fsconfig(fs, value ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG, key, value, 0) < 0)
        return zerr_sys(e, "overlay rootfs: fsconfig %s%s%s", key, value ? "=" : "",
                        value ? value : "");
    return 0;
}

/* For layer lists longer than a page: the new mount API, one layer per
 * "lowerdir+" (Linux 6.8+), then moved onto rootfs. */
static int mount_with_fsconfig(const struct zoverlay *o, const char *rootfs, struct zerr *e)
{
    _cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC);
    _cleanup_close_ int mnt = -1;

    if (fs < 0)
        return zerr_sys(e, "overlay rootfs: fsopen");
    for (size_t i = 0; i < o->n_lower; i++)
        if (fs_set(fs, "lowerdir+", o->lower[i], e) < 0)
            return zerr_prefix(e, "%zu layers need Linux 6.8 or newer", o->n_lower);
    if (o->upper && (fs_set(fs, "upperdir", o->upper, e) < 0 ||
                     fs_set(fs, "workdir", o->work, e) < 0))
        return -1;
    if (o->userxattr && fs_set(fs, "userxattr", NULL, e) < 0)
        return -1;
    if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return zerr_sys(e, "overlay rootfs: create");
    mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
    if (mnt < 0)
        return zerr_sys(e, "overlay rootfs: fsmount");
    if (move_mount(mnt, "", AT_FDCWD, rootfs, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return zerr_sys(e, "overlay rootfs: move onto %s", rootfs);
    return 0;
}

static int bind_single_lower(const char *lower, const char *rootfs, struct zerr *e)
{
    if (mount(lower, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return zerr_sys(e, "overlay rootfs: bind %s onto %s", lower, rootfs);
    if (mount(NULL, rootfs, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
        return zerr_sys(e, "overlay rootfs: make %s read-only", rootfs);
    return 0;
}

/* ---------------------------------------------------- fuse-overlayfs */

/* True when the kernel overlay failed in a way fuse-overlayfs may not:
 * zone is in a user namespace (rootless) and the kernel refused (older
 * kernels, or a lower filesystem overlayfs cannot stack on in a userns). */
static bool fuse_fallback_wanted(int err)
{
    const char *force = getenv("ZONE_OVERLAY");
    if (force && !strcmp(force, "kernel"))
        return false;
    if (zuserns_is_initial())
        return false;
    return err == EPERM || err == EINVAL || err == ENODEV || err == EACCES ||
           err == EOPNOTSUPP;
}

/* fuse-overlayfs -o lowerdir=..,upperdir=..,workdir=.. rootfs: it mounts,
 * then leaves a daemon serving the mount (in the container's namespaces;
 * it ends with them). It reads the same whiteouts and user.overlay.opaque
 * xattrs the kernel's overlay does with userxattr. */
static int mount_with_fuse(const char *opts, const char *rootfs, struct zerr *e)
{
    int errpipe[2], status;
    char msg[512] = "";
    ssize_t n, got = 0;
    pid_t pid;

    if (!opts)
        return zerr_set(e, E2BIG, "overlay rootfs: fuse-overlayfs: the layer list is longer "
                        "than a mount option string allows");
    if (pipe2(errpipe, O_CLOEXEC) < 0)
        return zerr_sys(e, "overlay rootfs: fuse-overlayfs: pipe");
    pid = fork();
    if (pid < 0) {
        close(errpipe[0]);
        close(errpipe[1]);
        return zerr_sys(e, "overlay rootfs: fuse-overlayfs: fork");
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 ||
            dup2(errpipe[1], 2) < 0)
            _exit(127);
        execlp("fuse-overlayfs", "fuse-overlayfs", "-o", opts, rootfs, (char *)NULL);
        dprintf(2, "exec fuse-overlayfs: %s (Debian package fuse-overlayfs)", strerror(errno));
        _exit(127);
    }
    close(errpipe[1]);
    /* the daemon keeps stderr open: read until the mounting process exits */
    while (waitpid(pid, &status, WNOHANG) == 0) {
        struct pollfd pf = { .fd = errpipe[0], .events = POLLIN };
        if (poll(&pf, 1, 50) > 0 && (size_t)got < sizeof msg - 1) {
            n = read(errpipe[0], msg + got, sizeof msg - 1 - (size_t)got);
            if (n > 0)
                got += n;
        }
    }
    close(errpipe[0]);
    msg[got] = '\0';
    for (char *c = msg; *c; c++)
        if (*c == '\n')
            *c = ' ';
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return zerr_set(e, EIO, "overlay rootfs: fuse-overlayfs %s onto %s failed (%s %d)%s%s",
                        opts, rootfs, WIFEXITED(status) ? "exit" : "signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                        msg[0] ? ": " : "", msg);
    return 0;
}

int zoverlay_mount_rootfs(const struct zspec *s, const char *rootfs, struct zerr *e)
{
    struct zoverlay o;
    int rc = 0;

    if (zoverlay_from_spec(s, &o, e) < 0)
        return -1;
    if (o.n_lower == 0)
        return 0;
    if (o.n_lower == 1 && !o.upper) {
        rc = bind_single_lower(o.lower[0], rootfs, e);
    } else {
        _cleanup_free_ char *opts = option_string(&o);
        const char *force = getenv("ZONE_OVERLAY");
        bool fuse_only = force && !strcmp(force, "fuse") && !zuserns_is_initial();
        if (fuse_only)
            rc = -1;
        else if (!opts)
            rc = mount_with_fsconfig(&o, rootfs, e);
        else if (mount("overlay", rootfs, "overlay", 0, opts) < 0)
            rc = zerr_sys(e, "overlay rootfs: mount onto %s (%s)", rootfs, opts);
        if (rc < 0 && (fuse_only || fuse_fallback_wanted(e->code))) {
            /* rootless: fuse-overlayfs where the kernel's overlay refuses
             * (its options: the kernel's without "userxattr") */
            struct zerr kernel = *e;
            struct zoverlay plain = { .lower = o.lower, .n_lower = o.n_lower,
                                      .upper = o.upper, .work = o.work };
            _cleanup_free_ char *fopts = option_string(&plain);
            rc = mount_with_fuse(fopts, rootfs, e);
            if (rc < 0 && !fuse_only)
                zerr_prefix(e, "%s; and with", kernel.msg);
        }
    }
    zoverlay_free(&o);
    return rc;
}
