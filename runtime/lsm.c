/* AppArmor and SELinux exec labels, written straight to procfs. */
#include "runtime/lsm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "core/cleanup.h"

#define APPARMOR_ENABLED_PATH "/sys/module/apparmor/parameters/enabled"
#define SELINUX_ENFORCE_PATH "/sys/fs/selinux/enforce"

static bool is_set(const char *label) { return label && *label; }

static bool apparmor_enabled_at(const char *path)
{
    char c = 0;
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd >= 0 && read(fd, &c, 1) == 1 && c == 'Y';
}

static bool selinux_enabled_at(const char *path)
{
    return access(path, F_OK) == 0;
}

bool zlsm_apparmor_enabled(void) { return apparmor_enabled_at(APPARMOR_ENABLED_PATH); }
bool zlsm_selinux_enabled(void) { return selinux_enabled_at(SELINUX_ENFORCE_PATH); }

/* The kernel reads one label per write; a newline or NUL would end it early
 * and silently apply a different label. */
static int check_label(const char *field, const char *label, struct zerr *e)
{
    if (strchr(label, '\n'))
        return zerr_set(e, EINVAL, "%s: label \"%s\" contains a newline", field, label);
    if (strlen(label) > 4000)
        return zerr_set(e, EINVAL, "%s: label is too long (%zu bytes)", field,
                        strlen(label));
    return 0;
}

int zlsm_validate_with(const struct zspec_process *p, const char *apparmor_enabled_path,
                       const char *selinux_enforce_path, struct zerr *e)
{
    if (is_set(p->apparmor_profile)) {
        if (check_label("process.apparmorProfile", p->apparmor_profile, e) < 0)
            return -1;
        if (!apparmor_enabled_at(apparmor_enabled_path))
            return zerr_set(e, EINVAL, "process.apparmorProfile: apparmor profile \"%s\" "
                            "requested but AppArmor is not enabled on this host",
                            p->apparmor_profile);
    }
    if (is_set(p->selinux_label)) {
        if (check_label("process.selinuxLabel", p->selinux_label, e) < 0)
            return -1;
        if (!selinux_enabled_at(selinux_enforce_path))
            return zerr_set(e, EINVAL, "process.selinuxLabel: SELinux label \"%s\" "
                            "requested but SELinux is not enabled on this host",
                            p->selinux_label);
    }
    return 0;
}

int zlsm_validate(const struct zspec_process *p, struct zerr *e)
{
    return zlsm_validate_with(p, APPARMOR_ENABLED_PATH, SELINUX_ENFORCE_PATH, e);
}

static int write_attr(int dirfd, const char *name, const char *value, struct zerr *e)
{
    size_t len = strlen(value);
    _cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return zerr_sys(e, "opening /proc/self/attr/%s", name);
    ssize_t n = write(fd, value, len);
    if (n < 0)
        return zerr_sys(e, "writing \"%s\" to /proc/self/attr/%s", value, name);
    if ((size_t)n != len)
        return zerr_set(e, EIO, "writing \"%s\" to /proc/self/attr/%s: short write",
                        value, name);
    return 0;
}

int zlsm_set_exec_labels_at(int attr_dirfd, const struct zspec_process *p,
                            struct zerr *e)
{
    if (is_set(p->apparmor_profile)) {
        /* "exec <profile>" plus NUL fits: labels are capped at 4000 bytes. */
        char cmd[4096];
        if (check_label("process.apparmorProfile", p->apparmor_profile, e) < 0)
            return -1;
        snprintf(cmd, sizeof cmd, "exec %s", p->apparmor_profile);
        const char *file = "apparmor/exec";
        if (faccessat(attr_dirfd, file, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
            file = "exec";
        if (write_attr(attr_dirfd, file, cmd, e) < 0)
            return zerr_prefix(e, "process.apparmorProfile");
    }
    if (is_set(p->selinux_label)) {
        if (check_label("process.selinuxLabel", p->selinux_label, e) < 0)
            return -1;
        if (write_attr(attr_dirfd, "exec", p->selinux_label, e) < 0)
            return zerr_prefix(e, "process.selinuxLabel");
    }
    return 0;
}

int zlsm_set_exec_labels(const struct zspec_process *p, struct zerr *e)
{
    struct statfs sfs;
    if (!is_set(p->apparmor_profile) && !is_set(p->selinux_label))
        return 0;
    _cleanup_close_ int dirfd = open("/proc/self/attr", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return zerr_sys(e, "opening /proc/self/attr");
    if (fstatfs(dirfd, &sfs) < 0)
        return zerr_sys(e, "fstatfs(/proc/self/attr)");
    if (sfs.f_type != PROC_SUPER_MAGIC)
        return zerr_set(e, EPERM, "/proc/self/attr is not on procfs, refusing to write "
                        "LSM labels there");
    return zlsm_set_exec_labels_at(dirfd, p, e);
}
