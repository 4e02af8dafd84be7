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

/* ------------------------------------------------------------ unprivileged */

/* "/proc/self/uid_map" as ranges of ids of our own namespace (first column). */
static int own_ns_ranges(bool is_gid, struct zns_id_range *out, size_t max, size_t *n,
                         struct zerr *e)
{
    const char *path = is_gid ? "/proc/self/gid_map" : "/proc/self/uid_map";
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    unsigned long inside, outside, count;

    *n = 0;
    if (!f) {
        if (errno != ENOENT)
            return zerr_sys(e, "open %s", path);
        out[(*n)++] = (struct zns_id_range){ 0, UINT32_MAX };
        return 0;
    }
    while (*n < max && fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3) {
        if (count == 0 || inside > UINT32_MAX || count > UINT32_MAX ||
            inside + count > (unsigned long)UINT32_MAX + 1)
            continue;
        out[(*n)++] = (struct zns_id_range){ (uint32_t)inside,
                                             count > UINT32_MAX - inside
                                                 ? UINT32_MAX - (uint32_t)inside
                                                 : (uint32_t)count };
    }
    return 0;
}

/* Whether [start, start+count) is covered by the union of the ranges. */
static bool ranges_cover(const struct zns_id_range *r, size_t n, uint32_t start,
                         uint32_t count)
{
    uint64_t cur = start, end = (uint64_t)start + count;
    while (cur < end) {
        uint64_t reach = cur;
        for (size_t i = 0; i < n; i++) {
            uint64_t rs = r[i].start, re = rs + r[i].count;
            if (cur >= rs && cur < re && re > reach)
                reach = re;
        }
        if (reach == cur)
            return false;
        cur = reach;
    }
    return true;
}

/* "200000-265535, 300000" for messages. */
static void describe_ranges(const struct zns_id_range *r, size_t n, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && off < size; i++) {
        int w = r[i].count == 1
                    ? snprintf(buf + off, size - off, "%s%" PRIu32, i ? ", " : "", r[i].start)
                    : snprintf(buf + off, size - off, "%s%" PRIu32 "-%" PRIu64, i ? ", " : "",
                               r[i].start, (uint64_t)r[i].start + r[i].count - 1);
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

static bool map_holds(const struct zspec_idmap *m, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (id >= m[i].container_id && (uint64_t)id < (uint64_t)m[i].container_id + m[i].size)
            return true;
    return false;
}

/* "host uid 0 is" / "host uids 100000-165535 are" */
static void describe_host_ids(const struct zspec_idmap *m, const char *kind, char *buf,
                              size_t size)
{
    if (m->size == 1)
        snprintf(buf, size, "host %s %" PRIu32 " is", kind, m->host_id);
    else
        snprintf(buf, size, "host %ss %" PRIu32 "-%" PRIu64 " are", kind, m->host_id,
                 (uint64_t)m->host_id + m->size - 1);
}

/* The host ids of one map are ids zone may map. */
static int check_map_allowed(bool is_gid, const struct zspec_idmap *m, size_t n,
                             struct zerr *e)
{
    const char *field = is_gid ? "linux.gidMappings" : "linux.uidMappings";
    const char *kind = is_gid ? "gid" : "uid";
    struct zns_id_range allowed[ZNS_SUBID_RANGES_MAX];
    size_t n_allowed = 0;
    uint32_t own = is_gid ? (uint32_t)getegid() : (uint32_t)geteuid();
    char have[512], namebuf[256], ids[64];
    bool helper_needed = false;

    if (n == 0)
        return 0;
    if (have_effective_cap(is_gid ? CAP_SETGID : CAP_SETUID)) {
        /* privileged: any id of our own namespace */
        if (own_ns_ranges(is_gid, allowed, ZARRAY_SIZE(allowed), &n_allowed, e) < 0)
            return zerr_prefix(e, "%s", field);
        for (size_t i = 0; i < n; i++) {
            if (ranges_cover(allowed, n_allowed, m[i].host_id, m[i].size))
                continue;
            describe_ranges(allowed, n_allowed, have, sizeof have);
            describe_host_ids(&m[i], kind, ids, sizeof ids);
            return zerr_set(e, EPERM, "%s[%zu]: %s not mapped in the user namespace zone "
                            "runs in (it has %s)", field, i, ids, have);
        }
        return 0;
    }

    if (n == 1 && m[0].size == 1 && m[0].host_id == own)
        return 0; /* the own id: written directly */
    if (zns_subid_ranges(is_gid, geteuid(), allowed, ZARRAY_SIZE(allowed), &n_allowed, e) < 0)
        return zerr_prefix(e, "%s", field);
    const char *name = zns_user_name(geteuid(), namebuf, sizeof namebuf);
    for (size_t i = 0; i < n; i++) {
        if (m[i].size == 1 && m[i].host_id == own)
            continue;
        helper_needed = true;
        if (ranges_cover(allowed, n_allowed, m[i].host_id, m[i].size))
            continue;
        if (n_allowed)
            describe_ranges(allowed, n_allowed, have, sizeof have);
        describe_host_ids(&m[i], kind, ids, sizeof ids);
        return zerr_set(e, EPERM, "%s[%zu]: %s not delegated to user %s (uid %u) in %s "
                        "(%s%s); without root only the own %s (%" PRIu32 ") and "
                        "subordinate ids can be mapped", field, i, ids,
                        name ? name : "?", (unsigned)geteuid(),
                        is_gid ? ZNS_SUBGID_FILE : ZNS_SUBUID_FILE,
                        n_allowed ? "it delegates " : "it has no entry for the user",
                        n_allowed ? have : "", kind, own);
    }
    if (helper_needed && !zns_idmap_helper_path(is_gid))
        return zerr_set(e, ENOENT, "%s: mapping more than the own %s (%" PRIu32 ") without "
                        "root needs %s, which is not installed (Debian package uidmap)",
                        field, kind, own, is_gid ? "newgidmap" : "newuidmap");
    return 0;
}

static void describe_container_ids(const struct zspec_idmap *m, size_t n, char *buf,
                                   size_t size)
{
    struct zns_id_range r[8];
    size_t k = 0;
    for (size_t i = 0; i < n && k < ZARRAY_SIZE(r); i++)
        r[k++] = (struct zns_id_range){ m[i].container_id, m[i].size };
    describe_ranges(r, k, buf, size);
    if (n > k && strlen(buf) + 5 < size)
        strcat(buf, ", ...");
}

int zns_validate_unprivileged(const struct zspec *s, struct zerr *e)
{
    const struct zspec_linux *lx = s ? s->linux_ : NULL;
    const struct zspec_namespace *user = NULL;
    char have[256];

    for (size_t i = 0; lx && i < lx->n_namespaces; i++)
        if (lx->namespaces[i].type == ZNS_USER)
            user = &lx->namespaces[i];
    if (!user) {
        if (have_effective_cap(CAP_SYS_ADMIN))
            return 0;
        return zerr_set(e, EPERM, "linux.namespaces: zone runs as uid %u without "
                        "CAP_SYS_ADMIN, so the container needs a user namespace: add "
                        "{\"type\": \"user\"} with linux.uidMappings and "
                        "linux.gidMappings (`zone spec --rootless` writes such a config)",
                        (unsigned)geteuid());
    }
    if (user->path)
        return 0; /* joined: its maps were set by whoever made it */

    const struct zspec_user *u = s->process ? &s->process->user : NULL;
    const struct { bool is_gid; const struct zspec_idmap *m; size_t n; } maps[] = {
        { false, lx->uid_mappings, lx->n_uid_mappings },
        { true, lx->gid_mappings, lx->n_gid_mappings },
    };
    for (size_t k = 0; k < ZARRAY_SIZE(maps); k++) {
        const char *field = maps[k].is_gid ? "linux.gidMappings" : "linux.uidMappings";
        const char *kind = maps[k].is_gid ? "gid" : "uid";
        if (maps[k].n == 0)
            continue;
        describe_container_ids(maps[k].m, maps[k].n, have, sizeof have);
        if (!map_holds(maps[k].m, maps[k].n, 0))
            return zerr_set(e, EINVAL, "%s: container %s 0 is not mapped (it maps %s); "
                            "zone sets the container up as root of its user namespace",
                            field, kind, have);
        if (u && !map_holds(maps[k].m, maps[k].n, maps[k].is_gid ? u->gid : u->uid))
            return zerr_set(e, EINVAL, "process.user.%s: %u is not mapped by %s (it maps "
                            "container %ss %s)", kind,
                            maps[k].is_gid ? (unsigned)u->gid : (unsigned)u->uid, field,
                            kind, have);
        if (u && maps[k].is_gid) {
            for (size_t i = 0; i < u->n_additional_gids; i++)
                if (!map_holds(maps[k].m, maps[k].n, u->additional_gids[i]))
                    return zerr_set(e, EINVAL, "process.user.additionalGids[%zu]: %u is "
                                    "not mapped by %s (it maps container gids %s)", i,
                                    (unsigned)u->additional_gids[i], field, have);
        }
        if (check_map_allowed(maps[k].is_gid, maps[k].m, maps[k].n, e) < 0)
            return -1;
    }
    /* An unprivileged direct write of the own gid makes the kernel deny
     * setgroups in the namespace (see zns_write_id_map). */
    if (u && u->n_additional_gids && lx->n_gid_mappings == 1 &&
        lx->gid_mappings[0].size == 1 && lx->gid_mappings[0].host_id == (uint32_t)getegid() &&
        !have_effective_cap(CAP_SETGID))
        return zerr_set(e, EPERM, "process.user.additionalGids: cannot be set when "
                        "linux.gidMappings maps only the own gid (%u): zone writes that "
                        "map without privilege and the kernel then denies setgroups in "
                        "the user namespace; map a range from " ZNS_SUBGID_FILE
                        " (written through newgidmap) to use supplementary groups",
                        (unsigned)getegid());
    return 0;
}
