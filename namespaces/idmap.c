/* uid/gid maps of a new user namespace (direct write or the shadow-utils
 * setuid helpers newuidmap/newgidmap) and time namespace offsets. */
#include "namespaces/namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cleanup.h"

extern char **environ;

/* The kernel refuses uid_map writes of a page or more. */
#define MAP_WRITE_MAX 4095
/* How much of a helper's output goes into an error message. */
#define HELPER_OUTPUT_MAX 1024

static bool have_effective_cap(int cap)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &hdr, data) < 0)
        return false;
    return data[cap / 32].effective & (1u << (cap % 32));
}

/* "0 1000 1\n1 100000 65536\n" — what the kernel reads. */
static int format_map(const struct zspec_idmap *m, size_t n, char *buf,
                      size_t size, size_t *len)
{
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(buf + off, size - off, "%" PRIu32 " %" PRIu32 " %" PRIu32 "\n",
                         m[i].container_id, m[i].host_id, m[i].size);
        if (w < 0 || (size_t)w >= size - off)
            return -1;
        off += (size_t)w;
    }
    *len = off;
    return 0;
}

/* The map in one line for messages: "0 1000 1, 1 100000 65536". */
static void describe_map(const struct zspec_idmap *m, size_t n, char *buf,
                         size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && off < size; i++) {
        int w = snprintf(buf + off, size - off, "%s%" PRIu32 " %" PRIu32 " %" PRIu32,
                         i ? ", " : "", m[i].container_id, m[i].host_id,
                         m[i].size);
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

static int write_proc_file(const char *path, const char *data, size_t len,
                           const char *shown, struct zerr *e)
{
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return zerr_sys(e, "opening %s (to write \"%s\")", path, shown);
    ssize_t w = write(fd, data, len);
    if (w < 0)
        return zerr_sys(e, "writing %s (\"%s\")", path, shown);
    if ((size_t)w != len)
        return zerr_set(e, EIO, "writing %s (\"%s\"): short write", path, shown);
    return 0;
}

static int write_direct(pid_t pid, bool is_gid, const struct zspec_idmap *m,
                        size_t n, const char *shown, struct zerr *e)
{
    char buf[MAP_WRITE_MAX + 1], path[64];
    size_t len;
    if (format_map(m, n, buf, sizeof buf, &len) < 0)
        return zerr_set(e, E2BIG, "%s map \"%s\" is longer than the kernel accepts (%d bytes)",
                        is_gid ? "gid" : "uid", shown, MAP_WRITE_MAX);
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid,
             is_gid ? "gid_map" : "uid_map");
    return write_proc_file(path, buf, len, shown, e);
}

const char *zns_idmap_helper_path(bool is_gid)
{
    static char found[2][4096];
    const char *name = is_gid ? "newgidmap" : "newuidmap";
    static const char *const fallback[] = { "/usr/bin", "/bin", "/usr/sbin",
                                            "/sbin" };
    const char *path_env = getenv("PATH");
    char *out = found[is_gid];

    if (path_env) {
        const char *p = path_env;
        while (*p) {
            size_t dl = strcspn(p, ":");
            if (dl > 0 && p[0] == '/') {
                int w = snprintf(out, sizeof found[0], "%.*s/%s", (int)dl, p, name);
                if (w > 0 && (size_t)w < sizeof found[0] && access(out, X_OK) == 0)
                    return out;
            }
            p += dl;
            if (*p == ':')
                p++;
        }
    }
    for (size_t i = 0; i < ZARRAY_SIZE(fallback); i++) {
        snprintf(out, sizeof found[0], "%s/%s", fallback[i], name);
        if (access(out, X_OK) == 0)
            return out;
    }
    return NULL;
}

/* Reads what the helper prints, keeping the first HELPER_OUTPUT_MAX bytes. */
static void read_output(int fd, char *buf, size_t size)
{
    size_t off = 0;
    char scratch[512];
    for (;;) {
        char *dst = off < size - 1 ? buf + off : scratch;
        size_t room = off < size - 1 ? size - 1 - off : sizeof scratch;
        ssize_t r = read(fd, dst, room);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (dst != scratch)
            off += (size_t)r;
    }
    while (off > 0 && (buf[off - 1] == '\n' || buf[off - 1] == ' '))
        off--;
    buf[off] = '\0';
}

static int write_helper(pid_t pid, bool is_gid, const struct zspec_idmap *m,
                        size_t n, const char *shown, struct zerr *e)
{
    const char *helper = zns_idmap_helper_path(is_gid);
    const char *name = is_gid ? "newgidmap" : "newuidmap";
    if (!helper)
        return zerr_set(e, ENOENT,
                        "%s map \"%s\" needs %s, which is not installed (Debian package uidmap)",
                        is_gid ? "gid" : "uid", shown, name);

    /* argv: helper pid (cid hid size)*n NULL; built before fork. */
    size_t argc = 2 + 3 * n;
    _cleanup_free_ char **argv = calloc(argc + 1, sizeof *argv);
    _cleanup_free_ char *nums = calloc(argc, 12);
    if (!argv || !nums)
        return zerr_sys(e, "running %s", name);
    argv[0] = (char *)helper;
    snprintf(nums, 12, "%d", (int)pid);
    argv[1] = nums;
    for (size_t i = 0; i < n; i++) {
        uint32_t v[3] = { m[i].container_id, m[i].host_id, m[i].size };
        for (size_t k = 0; k < 3; k++) {
            char *slot = nums + 12 * (2 + 3 * i + k);
            snprintf(slot, 12, "%" PRIu32, v[k]);
            argv[2 + 3 * i + k] = slot;
        }
    }

    int out[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        return zerr_sys(e, "running %s", helper);
    _cleanup_close_ int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t child = fork();
    if (child < 0) {
        int saved = errno;
        close(out[0]);
        close(out[1]);
        errno = saved;
        return zerr_sys(e, "running %s: fork", helper);
    }
    if (child == 0) {
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(out[1], 1);
        dup2(out[1], 2);
        close_range(3, ~0u, 0);
        execve(helper, argv, environ);
        _exit(127);
    }
    close(out[1]);
    char output[HELPER_OUTPUT_MAX + 1];
    read_output(out[0], output, sizeof output);
    close(out[0]);

    int status;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR)
            return zerr_sys(e, "waiting for %s", helper);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    char how[64];
    if (WIFEXITED(status))
        snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(status));
    else
        snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(status));
    return zerr_set(e, EPERM, "%s %d (map \"%s\"): %s%s%s", helper, (int)pid,
                    shown, how, output[0] ? ": " : "", output);
}

int zns_write_id_map(pid_t pid, bool is_gid, const struct zspec_idmap *m,
                     size_t n, enum zns_idmap_method how, struct zerr *e)
{
    if (n == 0)
        return 0;
    char shown[256];
    describe_map(m, n, shown, sizeof shown);

    bool own_single = n == 1 && m[0].size == 1 &&
                      m[0].host_id == (is_gid ? (uint32_t)getegid()
                                              : (uint32_t)geteuid());
    bool privileged = have_effective_cap(is_gid ? CAP_SETGID : CAP_SETUID);
    if (how == ZNS_IDMAP_AUTO)
        how = (privileged || own_single) ? ZNS_IDMAP_DIRECT : ZNS_IDMAP_HELPER;

    if (how == ZNS_IDMAP_HELPER)
        return write_helper(pid, is_gid, m, n, shown, e);

    /* Without CAP_SETGID the kernel only takes a gid map once setgroups()
     * is disabled for the namespace (CVE-2014-8989). */
    if (is_gid && !privileged) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
        if (write_proc_file(path, "deny", 4, "deny", e) < 0 && e->code != ENOENT)
            return -1;
    }
    return write_direct(pid, is_gid, m, n, shown, e);
}

int zns_write_id_maps(pid_t pid, const struct zspec_idmap *uid, size_t n_uid,
                      const struct zspec_idmap *gid, size_t n_gid,
                      struct zerr *e)
{
    if (zns_write_id_map(pid, false, uid, n_uid, ZNS_IDMAP_AUTO, e) < 0)
        return zerr_prefix(e, "setting the uid map of process %d", (int)pid);
    if (zns_write_id_map(pid, true, gid, n_gid, ZNS_IDMAP_AUTO, e) < 0)
        return zerr_prefix(e, "setting the gid map of process %d", (int)pid);
    return 0;
}

int zns_write_time_offsets(pid_t pid, const struct zspec_linux *lx,
                           struct zerr *e)
{
    if (!lx || (!lx->time_monotonic.present && !lx->time_boottime.present))
        return 0;
    char buf[128], path[64];
    size_t off = 0;
    if (lx->time_monotonic.present)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "monotonic %" PRId64 " %" PRIu32 "\n",
                                lx->time_monotonic.secs,
                                lx->time_monotonic.nanosecs);
    if (lx->time_boottime.present)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "boottime %" PRId64 " %" PRIu32 "\n",
                                lx->time_boottime.secs,
                                lx->time_boottime.nanosecs);
    if (pid == 0)
        snprintf(path, sizeof path, "/proc/self/timens_offsets");
    else
        snprintf(path, sizeof path, "/proc/%d/timens_offsets", (int)pid);

    char shown[128];
    snprintf(shown, sizeof shown, "%.*s", (int)(off ? off - 1 : 0), buf);
    for (char *c = shown; *c; c++)
        if (*c == '\n')
            *c = ';';
    if (write_proc_file(path, buf, off, shown, e) < 0)
        return zerr_prefix(e, "setting linux.timeOffsets");
    return 0;
}
