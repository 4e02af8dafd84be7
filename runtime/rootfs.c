#include "runtime/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/path.h"
#include "runtime/devices.h"
#include "runtime/masked_paths.h"
#include "runtime/mounts.h"
#include "runtime/rootfs_overlay.h"

static const struct zspec_linux *spec_linux(const struct zrootfs_ctx *ctx)
{
    return ctx->spec ? ctx->spec->linux_ : NULL;
}

/* Decodes mountinfo's octal escapes (\040 for space) in place. */
static void unescape_mountinfo(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 3;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* pivot_root refuses a new root whose parent mount is shared: make the
 * mount holding the rootfs private when "/" was made (r)shared. */
static int make_rootfs_parent_private(const char *rootfs, struct zerr *e)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    _cleanup_free_ char *line = NULL, *best = NULL;
    size_t cap = 0, best_len = 0;

    if (!f)
        return zerr_sys(e, "open /proc/self/mountinfo");
    while (getline(&line, &cap, f) > 0) {
        char *save = NULL, *tok = strtok_r(line, " ", &save);
        for (int field = 1; tok && field < 5; field++)
            tok = strtok_r(NULL, " ", &save);
        if (!tok)
            continue;
        unescape_mountinfo(tok);
        size_t len = strlen(tok);
        if (zpath_has_prefix(rootfs, tok) && (len > best_len || !best)) {
            free(best);
            if (!(best = strdup(tok)))
                return zerr_set(e, ENOMEM, "out of memory");
            best_len = len;
        }
    }
    if (!best)
        return zerr_set(e, ENOENT, "no mount holds %s", rootfs);
    if (mount(NULL, best, NULL, MS_PRIVATE, NULL) < 0)
        return zerr_sys(e, "make %s private", best);
    return 0;
}

static bool is_dest(const struct zspec_mount *m, const char *dest)
{
    _cleanup_free_ char *d = m->destination ? zpath_join("/", m->destination) : NULL;
    return d && strcmp(d, dest) == 0;
}

int zrootfs_mount_all(const struct zrootfs_ctx *ctx, struct zerr *e)
{
    const struct zspec_linux *l = spec_linux(ctx);
    const struct zspec *s = ctx->spec;
    unsigned long root_prop = MS_SLAVE | MS_REC;
    _cleanup_close_ int root_fd = -1;
    bool dev_is_bind = false, proc_mounted = false;

    if (!ctx->rootfs || !zpath_is_abs(ctx->rootfs))
        return zerr_set(e, EINVAL, "rootfs path must be absolute");
    if (l && l->rootfs_propagation &&
        zmount_propagation_flags(l->rootfs_propagation, &root_prop, e) < 0)
        return zerr_prefix(e, "linux.rootfsPropagation");
    /* Keep our mounts from propagating to the host. */
    if (mount(NULL, "/", NULL, root_prop, NULL) < 0)
        return zerr_sys(e, "set propagation of /");
    if ((root_prop & (MS_SHARED | MS_UNBINDABLE)) &&
        make_rootfs_parent_private(ctx->rootfs, e) < 0)
        return -1;
    /* An image rootfs (run.zone.rootfs.* annotations) is mounted here,
     * inside our namespace only. */
    if (zoverlay_mount_rootfs(s, ctx->rootfs, e) < 0)
        return -1;
    if (mount(ctx->rootfs, ctx->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return zerr_sys(e, "bind rootfs %s onto itself", ctx->rootfs);
    root_fd = open(ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return zerr_sys(e, "open rootfs %s", ctx->rootfs);

    struct zmount_env env = {
        .root_fd = root_fd, .rootfs = ctx->rootfs, .bundle = ctx->bundle ? ctx->bundle : "/",
        .in_userns = ctx->in_userns, .host_pidns = ctx->host_pidns,
        .cgroup_entries = ctx->cgroup_entries,
        .n_cgroup_entries = ctx->n_cgroup_entries,
    };
    for (size_t i = 0; s && i < s->n_mounts; i++) {
        const struct zspec_mount *m = &s->mounts[i];
        if (zmount_spec_entry(&env, m, i, e) < 0)
            return -1;
        if (is_dest(m, "/dev")) {
            struct zmount_opts o;
            if (zmount_parse_options(m->options, m->n_options, &o, e) < 0)
                return -1;
            dev_is_bind = zmount_is_bind(m, &o);
            zmount_opts_free(&o);
        }
        if (is_dest(m, "/proc"))
            proc_mounted = true;
    }
    /* A bind-mounted /dev is the user's: leave it as it is. */
    if (!dev_is_bind) {
        if (zdev_create_devices(root_fd, s, ctx->in_userns, e) < 0 ||
            zdev_create_links(root_fd, proc_mounted, e) < 0)
            return -1;
    }
    if (ctx->console_slave_fd >= 0 && zdev_setup_console(root_fd, ctx->console_slave_fd, e) < 0)
        return -1;
    return 0;
}

static int pivot_into(const char *rootfs, struct zerr *e)
{
    _cleanup_close_ int old_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    _cleanup_close_ int new_root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);

    if (old_root < 0 || new_root < 0)
        return zerr_sys(e, "pivot_root: open %s", old_root < 0 ? "/" : rootfs);
    if (fchdir(new_root) < 0)
        return zerr_sys(e, "pivot_root: chdir %s", rootfs);
    /* Stack the old root under the new one, then detach it: no put_old
     * directory needed inside the image. */
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return zerr_sys(e, "pivot_root %s", rootfs);
    if (fchdir(old_root) < 0)
        return zerr_sys(e, "pivot_root: chdir to old root");
    /* so the unmount cannot propagate anywhere */
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return zerr_sys(e, "pivot_root: make old root rslave");
    if (umount2(".", MNT_DETACH) < 0)
        return zerr_sys(e, "pivot_root: detach old root");
    if (chdir("/") < 0)
        return zerr_sys(e, "chdir /");
    return 0;
}

static int move_root(const char *rootfs, struct zerr *e)
{
    if (chdir(rootfs) < 0)
        return zerr_sys(e, "chdir %s", rootfs);
    if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
        return zerr_sys(e, "move %s onto /", rootfs);
    if (chroot(".") < 0)
        return zerr_sys(e, "chroot %s", rootfs);
    if (chdir("/") < 0)
        return zerr_sys(e, "chdir /");
    return 0;
}

static int remount_root_readonly(struct zerr *e)
{
    _cleanup_close_ int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    unsigned long flags;
    if (fd < 0)
        return zerr_sys(e, "open /");
    /* keep nosuid/nodev/noexec/atime: they may be locked in a userns */
    flags = zmount_fd_flags(fd) | MS_RDONLY | MS_REMOUNT | MS_BIND;
    if (mount(NULL, "/", NULL, flags, NULL) < 0)
        return zerr_sys(e, "remount / read-only");
    return 0;
}

int zrootfs_pivot_and_finish(const struct zrootfs_ctx *ctx, struct zerr *e)
{
    const struct zspec_linux *l = spec_linux(ctx);
    const struct zspec *s = ctx->spec;
    _cleanup_close_ int root_fd = -1;

    if (!ctx->rootfs || !zpath_is_abs(ctx->rootfs))
        return zerr_set(e, EINVAL, "rootfs path must be absolute");
    root_fd = open(ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return zerr_sys(e, "open rootfs %s", ctx->rootfs);
    /* Done through root_fd before the pivot, while the runtime's own
     * /dev/null and /proc are still reachable. */
    if (l && zrootfs_readonly_paths(root_fd, l->readonly_paths, l->n_readonly_paths, e) < 0)
        return -1;
    if (l && zrootfs_mask_paths(root_fd, l->masked_paths, l->n_masked_paths, e) < 0)
        return -1;

    if ((ctx->no_pivot ? move_root(ctx->rootfs, e) : pivot_into(ctx->rootfs, e)) < 0)
        return -1;
    if (s && s->root && s->root->readonly && remount_root_readonly(e) < 0)
        return -1;
    if (l && l->rootfs_propagation) {
        unsigned long prop;
        if (zmount_propagation_flags(l->rootfs_propagation, &prop, e) < 0)
            return zerr_prefix(e, "linux.rootfsPropagation");
        if (mount(NULL, "/", NULL, prop, NULL) < 0)
            return zerr_sys(e, "set propagation of / to %s", l->rootfs_propagation);
    }
    return 0;
}
