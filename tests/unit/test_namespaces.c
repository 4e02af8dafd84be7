/* namespaces/: clone flags, validation messages, joining namespace files,
 * uid/gid maps (direct and through newuidmap/newgidmap), time offsets and
 * entering a running process's namespaces. Needs root (the unit tests run
 * as root); the unprivileged cases drop to nobody in a forked child. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "namespaces/namespaces.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define NOBODY 65534

/* ------------------------------------------------------------ helpers */

struct cfg {
    struct zspec spec;
    struct zspec_linux lx;
    struct zspec_namespace ns[ZNS__COUNT + 2];
};

static void cfg_init(struct cfg *c)
{
    memset(c, 0, sizeof *c);
    c->spec.linux_ = &c->lx;
    c->lx.namespaces = c->ns;
}

static void cfg_add(struct cfg *c, enum zspec_ns_type t, const char *path)
{
    c->ns[c->lx.n_namespaces].type = t;
    c->ns[c->lx.n_namespaces].path = (char *)path;
    c->lx.n_namespaces++;
}

static void expect_msg(const struct zerr *e, const char *part)
{
    if (!strstr(e->msg, part))
        fail_msg("error \"%s\" lacks \"%s\"", e->msg, part);
}

static int wait_exit(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool ns_equal(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* A child that unshares `flags`, optionally sets a hostname, says "ready"
 * and then waits until the parent closes the go pipe (or sends a byte). */
struct target {
    pid_t pid;
    int ready;  /* read end */
    int go;     /* write end */
};

static void target_start(struct target *t, int flags, const char *hostname)
{
    int r[2], g[2];
    assert_int_equal(pipe2(r, O_CLOEXEC), 0);
    assert_int_equal(pipe2(g, O_CLOEXEC), 0);
    t->pid = fork();
    assert_true(t->pid >= 0);
    if (t->pid == 0) {
        char c = 1;
        close(r[0]);
        close(g[1]);
        if (unshare(flags) < 0) {
            perror("target unshare");
            _exit(90);
        }
        if (hostname && sethostname(hostname, strlen(hostname)) < 0) {
            perror("target sethostname");
            _exit(91);
        }
        if (write(r[1], &c, 1) != 1)
            _exit(92);
        while (read(g[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    close(r[1]);
    close(g[0]);
    t->ready = r[0];
    t->go = g[1];
    char c;
    assert_int_equal(read(t->ready, &c, 1), 1);
}

static void target_stop(struct target *t)
{
    close(t->go);
    close(t->ready);
    assert_int_equal(wait_exit(t->pid), 0);
}

/* Reads a /proc map file into "c h s;c h s;" form. */
static int read_map(const char *path, char *out, size_t size)
{
    FILE *f = fopen(path, "r");
    unsigned a, b, n;
    size_t off = 0;
    if (!f)
        return -1;
    out[0] = '\0';
    while (fscanf(f, "%u %u %u", &a, &b, &n) == 3 && off < size)
        off += (size_t)snprintf(out + off, size - off, "%u %u %u;", a, b, n);
    fclose(f);
    return 0;
}

/* Runs in a forked process `writer` (root, or nobody when drop is set):
 * a grandchild unshares a user namespace, the writer writes the maps with
 * `how`, the grandchild compares /proc/self/{uid,gid}_map with the
 * expected text. Returns the writer's exit code (0 = all good). When
 * want_error is set, the writer expects the write to fail with a message
 * containing want_error. */
struct map_case {
    bool drop;
    enum zns_idmap_method how;
    bool use_auto_pair;  /* zns_write_id_maps instead of zns_write_id_map */
    const struct zspec_idmap *uid; size_t n_uid;
    const struct zspec_idmap *gid; size_t n_gid;
    const char *want_uid, *want_gid, *want_setgroups;
    const char *want_error;
};

static int map_case_writer(const struct map_case *mc)
{
    if (mc->drop) {
        if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
            setresuid(NOBODY, NOBODY, NOBODY) < 0)
            return 80;
        /* A credential change clears "dumpable", which would make our
         * children's /proc files root-owned. */
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    }
    int r[2], g[2];
    if (pipe(r) < 0 || pipe(g) < 0)
        return 81;
    pid_t child = fork();
    if (child < 0)
        return 82;
    if (child == 0) {
        char c = 1, buf[512];
        close(r[0]);
        close(g[1]);
        if (unshare(CLONE_NEWUSER) < 0) {
            perror("unshare user");
            _exit(60);
        }
        if (write(r[1], &c, 1) != 1)
            _exit(61);
        if (read(g[0], &c, 1) != 1)
            _exit(0); /* the writer failed as expected: nothing to check */
        if (mc->want_uid && (read_map("/proc/self/uid_map", buf, sizeof buf) < 0 ||
                             strcmp(buf, mc->want_uid) != 0)) {
            fprintf(stderr, "uid_map: \"%s\", want \"%s\"\n", buf, mc->want_uid);
            _exit(62);
        }
        if (mc->want_gid && (read_map("/proc/self/gid_map", buf, sizeof buf) < 0 ||
                             strcmp(buf, mc->want_gid) != 0)) {
            fprintf(stderr, "gid_map: \"%s\", want \"%s\"\n", buf, mc->want_gid);
            _exit(63);
        }
        if (mc->want_setgroups) {
            FILE *f = fopen("/proc/self/setgroups", "r");
            if (!f || !fgets(buf, sizeof buf, f)) {
                _exit(64);
            }
            fclose(f);
            buf[strcspn(buf, "\n")] = '\0';
            if (strcmp(buf, mc->want_setgroups) != 0) {
                fprintf(stderr, "setgroups: \"%s\", want \"%s\"\n", buf,
                        mc->want_setgroups);
                _exit(65);
            }
        }
        _exit(0);
    }
    close(r[1]);
    close(g[0]);
    char c;
    if (read(r[0], &c, 1) != 1)
        return 83;

    struct zerr e = {0};
    int rc;
    if (mc->use_auto_pair) {
        rc = zns_write_id_maps(child, mc->uid, mc->n_uid, mc->gid, mc->n_gid, &e);
    } else {
        rc = zns_write_id_map(child, false, mc->uid, mc->n_uid, mc->how, &e);
        if (rc == 0)
            rc = zns_write_id_map(child, true, mc->gid, mc->n_gid, mc->how, &e);
    }
    int result = 0;
    if (mc->want_error) {
        if (rc == 0) {
            fprintf(stderr, "expected an error containing \"%s\"\n", mc->want_error);
            result = 84;
        } else if (!strstr(e.msg, mc->want_error)) {
            fprintf(stderr, "error \"%s\" lacks \"%s\"\n", e.msg, mc->want_error);
            result = 85;
        }
        close(g[1]); /* child exits without checking */
    } else {
        if (rc < 0) {
            fprintf(stderr, "write maps: %s\n", e.msg);
            result = 86;
        } else if (write(g[1], &c, 1) != 1) {
            result = 87;
        }
        close(g[1]);
    }
    int child_rc = wait_exit(child);
    return result ? result : child_rc;
}

static int run_map_case(const struct map_case *mc)
{
    pid_t w = fork();
    assert_true(w >= 0);
    if (w == 0)
        _exit(map_case_writer(mc));
    return wait_exit(w);
}

/* ------------------------------------------------------------ flags, validation */

static void test_clone_flags(void **state)
{
    struct cfg c;
    cfg_init(&c);
    cfg_add(&c, ZNS_PID, NULL);
    cfg_add(&c, ZNS_NETWORK, "/proc/self/ns/net");
    cfg_add(&c, ZNS_MOUNT, NULL);
    cfg_add(&c, ZNS_USER, NULL);
    cfg_add(&c, ZNS_TIME, NULL);
    assert_int_equal(zns_clone_flags(&c.spec),
                     CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWTIME);

    struct zspec bare = {0};
    assert_int_equal(zns_clone_flags(&bare), 0);
    assert_int_equal(zns_type_flag(ZNS_CGROUP), CLONE_NEWCGROUP);
    assert_string_equal(zns_proc_name(ZNS_NETWORK), "net");
    assert_string_equal(zns_proc_name(ZNS_MOUNT), "mnt");
    assert_null(zns_proc_name(ZNS__COUNT));

    char buf[64];
    struct zerr e = {0};
    assert_int_equal(zns_pid_ns_path(42, ZNS_UTS, buf, sizeof buf, &e), 0);
    assert_string_equal(buf, "/proc/42/ns/uts");
    assert_int_equal(zns_pid_ns_path(42, ZNS_UTS, buf, 8, &e), -1);
}

static void test_validate_ok(void **state)
{
    struct cfg c;
    struct zerr e = {0};
    cfg_init(&c);
    cfg_add(&c, ZNS_PID, NULL);
    cfg_add(&c, ZNS_NETWORK, "/proc/self/ns/net");
    cfg_add(&c, ZNS_MOUNT, NULL);
    cfg_add(&c, ZNS_IPC, "/proc/self/ns/ipc");
    cfg_add(&c, ZNS_UTS, NULL);
    cfg_add(&c, ZNS_CGROUP, "/proc/self/ns/cgroup");
    if (zns_validate(&c.spec, &e) < 0)
        fail_msg("%s", e.msg);

    struct zspec bare = {0};
    assert_int_equal(zns_validate(&bare, &e), 0);
}

static void test_validate_paths(void **state)
{
    struct cfg c;
    struct zerr e = {0};

    cfg_init(&c);
    cfg_add(&c, ZNS_PID, NULL);
    cfg_add(&c, ZNS_NETWORK, "/nonexistent/ns");
    assert_int_equal(zns_validate(&c.spec, &e), -1);
    assert_int_equal(e.code, ENOENT);
    expect_msg(&e, "linux.namespaces[1] (network): path \"/nonexistent/ns\"");
    expect_msg(&e, "no such file or directory");

    cfg_init(&c);
    cfg_add(&c, ZNS_PID, "/proc/self/ns/net");
    assert_int_equal(zns_validate(&c.spec, &e), -1);
    assert_string_equal(e.msg,
                        "linux.namespaces[0] (pid): path \"/proc/self/ns/net\" is a network namespace, not a pid namespace");

    cfg_init(&c);
    cfg_add(&c, ZNS_UTS, "/proc/self/ns/uts");
    cfg_add(&c, ZNS_IPC, "/etc/passwd");
    assert_int_equal(zns_validate(&c.spec, &e), -1);
    expect_msg(&e, "linux.namespaces[1] (ipc): path \"/etc/passwd\" is not a namespace file");

    cfg_init(&c);
    cfg_add(&c, ZNS_MOUNT, "proc/self/ns/mnt");
    assert_int_equal(zns_validate(&c.spec, &e), -1);
    expect_msg(&e, "linux.namespaces[0] (mount): path \"proc/self/ns/mnt\" is not absolute");

    cfg_init(&c);
    cfg_add(&c, ZNS_NETWORK, NULL);
    cfg_add(&c, ZNS_UTS, NULL);
    cfg_add(&c, ZNS_NETWORK, "/proc/self/ns/net");
    assert_int_equal(zns_validate(&c.spec, &e), -1);
    expect_msg(&e, "linux.namespaces[2] (network): duplicate of linux.namespaces[0]");
}

static void test_validate_user_mappings(void **state)
{
    struct cfg c;
    struct zerr e = {0};
    struct zspec_idmap one = { 0, 1000, 1 };

    /* new user namespace, no mappings */
    cfg_init(&c);
    cfg_add(&c, ZNS_USER, NULL);
    assert_int_equal(zns_validate(&c.spec, &e), -1);
    expect_msg(&e, "linux.namespaces[0] (user): a new user namespace needs linux.uidMappings or linux.gidMappings");

    /* joining one without mappings is fine */
    cfg_init(&c);
    cfg_add(&c, ZNS_USER, "/proc/self/ns/user");
    if (zns_validate(&c.spec, &e) < 0)
        fail_msg("%s", e.msg);

    /* mappings without a user namespace */
    cfg_init(&c);
    cfg_add(&c, ZNS_PID, NULL);
    c.lx.uid_mappings = &one;
    c.lx.n_uid_mappings = 1;
    assert_int_equal(zns_validate(&c.spec, &e), -1);
    expect_msg(&e, "require a user namespace");

    /* good, then bad entries */
    struct zspec_idmap maps[2] = { { 0, 100000, 1000 }, { 1000, 200000, 10 } };
    cfg_init(&c);
    cfg_add(&c, ZNS_USER, NULL);
    c.lx.uid_mappings = maps;
    c.lx.n_uid_mappings = 2;
    c.lx.gid_mappings = &one;
    c.lx.n_gid_mappings = 1;
    if (zns_validate(&c.spec, &e) < 0)
        fail_msg("%s", e.msg);

    maps[1].container_id = 999;
    assert_int_equal(zns_validate(&c.spec, &e), -1);
    assert_string_equal(e.msg, "linux.uidMappings[1]: containerID range overlaps linux.uidMappings[0]");
    maps[1].container_id = 1000;
    maps[1].host_id = 100500;
    assert_int_equal(zns_validate(&c.spec, &e), -1);
    assert_string_equal(e.msg, "linux.uidMappings[1]: hostID range overlaps linux.uidMappings[0]");
    maps[1].host_id = 200000;
    maps[1].size = 0;
    assert_int_equal(zns_validate(&c.spec, &e), -1);
    assert_string_equal(e.msg, "linux.uidMappings[1]: size must be greater than 0");
    maps[1].size = 10;
    one.host_id = 4294967290u;
    one.size = 10;
    assert_int_equal(zns_validate(&c.spec, &e), -1);
    expect_msg(&e, "linux.gidMappings[0]: range");
}

static void test_validate_time(void **state)
{
    struct cfg c;
    struct zerr e = {0};

    cfg_init(&c);
    cfg_add(&c, ZNS_PID, NULL);
    c.lx.time_boottime = (struct zspec_time_offset){ true, 10, 0 };
    assert_int_equal(zns_validate(&c.spec, &e), -1);
    expect_msg(&e, "linux.timeOffsets: needs a new time namespace");

    cfg_add(&c, ZNS_TIME, "/proc/self/ns/time");
    assert_int_equal(zns_validate(&c.spec, &e), -1);
    expect_msg(&e, "linux.namespaces[1] (time) joins an existing namespace");

    cfg_init(&c);
    cfg_add(&c, ZNS_TIME, NULL);
    c.lx.time_monotonic = (struct zspec_time_offset){ true, -5, 1000000000u };
    assert_int_equal(zns_validate(&c.spec, &e), -1);
    expect_msg(&e, "linux.timeOffsets.monotonic.nanosecs");
    c.lx.time_monotonic.nanosecs = 5;
    if (zns_validate(&c.spec, &e) < 0)
        fail_msg("%s", e.msg);
}

/* ------------------------------------------------------------ id maps */

static void test_idmap_single_root(void **state)
{
    struct zspec_idmap u = { 0, 1000, 1 }, g = { 0, 1001, 1 };
    struct map_case mc = { .use_auto_pair = true, .uid = &u, .n_uid = 1,
                           .gid = &g, .n_gid = 1, .want_uid = "0 1000 1;",
                           .want_gid = "0 1001 1;",
                           /* privileged: setgroups stays allowed */
                           .want_setgroups = "allow" };
    assert_int_equal(run_map_case(&mc), 0);
}

static void test_idmap_multi_root(void **state)
{
    struct zspec_idmap u[3] = { { 0, 100000, 1000 }, { 1000, 0, 1 },
                                { 2000, 300000, 65536 } };
    struct zspec_idmap g[2] = { { 0, 100000, 1000 }, { 5000, 400000, 10 } };
    struct map_case mc = { .use_auto_pair = true, .uid = u, .n_uid = 3,
                           .gid = g, .n_gid = 2,
                           .want_uid = "0 100000 1000;1000 0 1;2000 300000 65536;",
                           .want_gid = "0 100000 1000;5000 400000 10;" };
    assert_int_equal(run_map_case(&mc), 0);
}

static void test_idmap_unprivileged_own_id(void **state)
{
    /* nobody maps itself: a direct write, with setgroups denied first */
    struct zspec_idmap u = { 0, NOBODY, 1 }, g = { 0, NOBODY, 1 };
    struct map_case mc = { .drop = true, .use_auto_pair = true, .uid = &u,
                           .n_uid = 1, .gid = &g, .n_gid = 1,
                           .want_uid = "0 65534 1;", .want_gid = "0 65534 1;",
                           .want_setgroups = "deny" };
    assert_int_equal(run_map_case(&mc), 0);
}

static void test_idmap_direct_error(void **state)
{
    /* nobody may not map another id directly: the message says which file */
    struct zspec_idmap u = { 0, 0, 1 };
    struct map_case mc = { .drop = true, .how = ZNS_IDMAP_DIRECT, .uid = &u,
                           .n_uid = 1, .want_error = "/uid_map (\"0 0 1\")" };
    assert_int_equal(run_map_case(&mc), 0);
}

static void test_idmap_helper(void **state)
{
    if (!zns_idmap_helper_path(false) || !zns_idmap_helper_path(true)) {
        printf("skipped: newuidmap/newgidmap not installed (apt-get install uidmap)\n");
        skip();
    }
    /* own id through the setuid helpers: allowed without /etc/subuid */
    struct zspec_idmap u = { 0, NOBODY, 1 }, g = { 0, NOBODY, 1 };
    struct map_case mc = { .drop = true, .how = ZNS_IDMAP_HELPER, .uid = &u,
                           .n_uid = 1, .gid = &g, .n_gid = 1,
                           .want_uid = "0 65534 1;", .want_gid = "0 65534 1;" };
    assert_int_equal(run_map_case(&mc), 0);

    /* a range nobody has no /etc/subuid entry for: AUTO picks the helper,
     * which refuses; the message names it and the mapping */
    struct zspec_idmap many[2] = { { 0, NOBODY, 1 }, { 1, 300000, 1000 } };
    struct map_case bad = { .drop = true, .how = ZNS_IDMAP_AUTO, .uid = many,
                            .n_uid = 2, .want_error = "newuidmap" };
    assert_int_equal(run_map_case(&bad), 0);
    bad.want_error = "(map \"0 65534 1, 1 300000 1000\"): exit status 1";
    assert_int_equal(run_map_case(&bad), 0);
}

/* ------------------------------------------------------------ time offsets */

static int64_t clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec;
}

static int time_ns_child(void)
{
    struct zspec_linux lx = {0};
    struct zerr e = {0};
    lx.time_monotonic = (struct zspec_time_offset){ true, 1000000, 0 };
    lx.time_boottime = (struct zspec_time_offset){ true, 2000000, 500 };
    if (unshare(CLONE_NEWTIME) < 0)
        return 70;
    int64_t mono = clock_s(CLOCK_MONOTONIC), boot = clock_s(CLOCK_BOOTTIME);
    if (zns_write_time_offsets(0, &lx, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 71;
    }
    /* we are still in the old namespace: our clocks are unchanged */
    if (clock_s(CLOCK_MONOTONIC) - mono > 100)
        return 72;
    pid_t kid = fork();
    if (kid == 0) {
        if (clock_s(CLOCK_MONOTONIC) - mono < 1000000 ||
            clock_s(CLOCK_BOOTTIME) - boot < 2000000)
            _exit(1);
        _exit(0);
    }
    if (wait_exit(kid) != 0)
        return 73;
    /* a process has entered it now: the kernel refuses new offsets */
    if (zns_write_time_offsets(0, &lx, &e) == 0)
        return 74;
    if (!strstr(e.msg, "setting linux.timeOffsets: ") ||
        !strstr(e.msg, "/proc/self/timens_offsets (\"monotonic 1000000 0;boottime 2000000 500\")")) {
        fprintf(stderr, "unexpected: %s\n", e.msg);
        return 75;
    }
    return 0;
}

static void test_time_offsets(void **state)
{
    if (access("/proc/self/ns/time", F_OK) < 0) {
        printf("skipped: no time namespaces in this kernel\n");
        skip();
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(time_ns_child());
    assert_int_equal(wait_exit(pid), 0);

    struct zspec_linux none = {0};
    struct zerr e = {0};
    assert_int_equal(zns_write_time_offsets(0, &none, &e), 0);
}

/* ------------------------------------------------------------ joining */

static int check_joined(pid_t target, const char *hostname)
{
    static const char *const names[] = { "uts", "net", "ipc", "mnt" };
    char host[256] = "";
    if (gethostname(host, sizeof host) < 0 || strcmp(host, hostname) != 0) {
        fprintf(stderr, "hostname \"%s\", want \"%s\"\n", host, hostname);
        return 50;
    }
    for (size_t i = 0; i < ZARRAY_SIZE(names); i++) {
        char self[64], other[64];
        snprintf(self, sizeof self, "/proc/self/ns/%s", names[i]);
        snprintf(other, sizeof other, "/proc/%d/ns/%s", (int)target, names[i]);
        if (!ns_equal(self, other)) {
            fprintf(stderr, "%s namespace not joined\n", names[i]);
            return 51;
        }
    }
    return 0;
}

static void test_open_joins_and_setns(void **state)
{
    struct target t;
    char mnt[64], uts[64], net[64];
    target_start(&t, CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWNS, "zone-join");
    snprintf(mnt, sizeof mnt, "/proc/%d/ns/mnt", (int)t.pid);
    snprintf(uts, sizeof uts, "/proc/%d/ns/uts", (int)t.pid);
    snprintf(net, sizeof net, "/proc/%d/ns/net", (int)t.pid);

    struct cfg c;
    cfg_init(&c);
    cfg_add(&c, ZNS_MOUNT, mnt);
    cfg_add(&c, ZNS_PID, NULL);
    cfg_add(&c, ZNS_UTS, uts);
    cfg_add(&c, ZNS_NETWORK, net);
    cfg_add(&c, ZNS_IPC, "/proc/self/ns/ipc");

    struct zerr e = {0};
    struct zns_join *j = NULL;
    size_t n = 0;
    if (zns_validate(&c.spec, &e) < 0 || zns_open_joins(&c.spec, &j, &n, &e) < 0)
        fail_msg("%s", e.msg);
    assert_int_equal(n, 4);
    assert_int_equal(j[0].type, ZNS_IPC);
    assert_int_equal(j[1].type, ZNS_UTS);
    assert_int_equal(j[2].type, ZNS_NETWORK);
    assert_int_equal(j[3].type, ZNS_MOUNT);
    for (size_t i = 0; i < n; i++)
        assert_true(fcntl(j[i].fd, F_GETFD) & FD_CLOEXEC);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct zerr ce = {0};
        if (zns_setns_all(j, n, &ce) < 0) {
            fprintf(stderr, "%s\n", ce.msg);
            _exit(40);
        }
        _exit(check_joined(t.pid, "zone-join"));
    }
    assert_int_equal(wait_exit(pid), 0);
    zns_close_joins(j, n);
    target_stop(&t);

    /* a path that vanished between validation and opening */
    cfg_init(&c);
    cfg_add(&c, ZNS_UTS, "/nonexistent/uts");
    assert_int_equal(zns_open_joins(&c.spec, &j, &n, &e), -1);
    expect_msg(&e, "linux.namespaces[0] (uts): opening \"/nonexistent/uts\"");
    assert_null(j);
    assert_int_equal(n, 0);

    /* no paths: nothing to open */
    cfg_init(&c);
    cfg_add(&c, ZNS_UTS, NULL);
    assert_int_equal(zns_open_joins(&c.spec, &j, &n, &e), 0);
    assert_null(j);
    assert_int_equal(n, 0);
}

static void test_setns_error(void **state)
{
    _cleanup_close_ int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct zns_join j = { ZNS_UTS, fd };
    struct zerr e = {0};
    assert_int_equal(zns_setns_all(&j, 1, &e), -1);
    assert_string_equal(e.msg, "joining the uts namespace (setns): invalid argument");
}

/* How a forked process enters the target's namespaces. */
enum enter_mode { ENTER_OWN_PIDFD, ENTER_PIDFD_HERE, ENTER_FILES };

/* Forks a process that enters target's namespaces and checks them. */
static int enter_and_check(pid_t target, enum enter_mode mode, bool with_user)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        struct zerr e = {0};
        int r;
        if (mode == ENTER_FILES) {
            r = zns_enter_pid_files(target, -1, &e);
        } else if (mode == ENTER_PIDFD_HERE) {
            r = zns_enter_pid(target, -1, &e);
        } else {
            int pidfd = pidfd_open(target, 0);
            if (pidfd < 0)
                _exit(39);
            r = zns_enter_pid(target, pidfd, &e);
            close(pidfd);
        }
        if (r < 0) {
            fprintf(stderr, "%s\n", e.msg);
            _exit(40);
        }
        if (with_user) {
            char other[64];
            snprintf(other, sizeof other, "/proc/%d/ns/user", (int)target);
            if (!ns_equal("/proc/self/ns/user", other))
                _exit(41);
        }
        _exit(check_joined(target, "zone-enter"));
    }
    return wait_exit(pid);
}

static void test_enter_pid(void **state)
{
    struct target t;
    target_start(&t, CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET, "zone-enter");
    assert_int_equal(enter_and_check(t.pid, ENTER_OWN_PIDFD, false), 0);
    assert_int_equal(enter_and_check(t.pid, ENTER_PIDFD_HERE, false), 0);
    assert_int_equal(enter_and_check(t.pid, ENTER_FILES, false), 0);
    target_stop(&t);

    /* with a user namespace owning the others: the per-file path must join
     * them in a working order */
    target_start(&t, CLONE_NEWUSER | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET,
                 "zone-enter");
    struct zspec_idmap m = { 0, 100000, 65536 };
    struct zerr e = {0};
    if (zns_write_id_maps(t.pid, &m, 1, &m, 1, &e) < 0)
        fail_msg("%s", e.msg);
    assert_int_equal(enter_and_check(t.pid, ENTER_OWN_PIDFD, true), 0);
    assert_int_equal(enter_and_check(t.pid, ENTER_FILES, true), 0);
    target_stop(&t);

    /* our own pid: nothing differs, nothing to do */
    assert_int_equal(zns_enter_pid(getpid(), -1, &e), 0);
}

static void test_enter_pid_gone(void **state)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    assert_int_equal(wait_exit(pid), 0);
    struct zerr e = {0};
    assert_int_equal(zns_enter_pid(pid, -1, &e), -1);
    expect_msg(&e, "entering the namespaces of process");
    assert_int_equal(e.code, ESRCH);
    assert_int_equal(zns_enter_pid_files(pid, -1, &e), -1);
    assert_int_equal(e.code, ESRCH);
}

/* Joining a user namespace together with a namespace owned by OUR user
 * namespace (a host netns): the netns must be entered before the user
 * namespace, while we still have host privileges. */
static void test_setns_host_owned_with_userns(void **state)
{
    struct target u, n;
    target_start(&u, CLONE_NEWUSER, NULL);
    target_start(&n, CLONE_NEWNET | CLONE_NEWUTS, "zone-hostns");
    struct zspec_idmap m = { 0, 100000, 65536 };
    struct zerr e = {0};
    if (zns_write_id_maps(u.pid, &m, 1, &m, 1, &e) < 0)
        fail_msg("%s", e.msg);

    char user[64], net[64], uts[64];
    snprintf(user, sizeof user, "/proc/%d/ns/user", (int)u.pid);
    snprintf(net, sizeof net, "/proc/%d/ns/net", (int)n.pid);
    snprintf(uts, sizeof uts, "/proc/%d/ns/uts", (int)n.pid);
    struct cfg c;
    cfg_init(&c);
    cfg_add(&c, ZNS_NETWORK, net);
    cfg_add(&c, ZNS_USER, user);
    cfg_add(&c, ZNS_UTS, uts);
    struct zns_join *j = NULL;
    size_t nj = 0;
    if (zns_open_joins(&c.spec, &j, &nj, &e) < 0)
        fail_msg("%s", e.msg);
    assert_int_equal(nj, 3);
    assert_int_equal(j[0].type, ZNS_USER);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct zerr ce = {0};
        char host[64] = "";
        if (zns_setns_all(j, nj, &ce) < 0) {
            fprintf(stderr, "%s\n", ce.msg);
            _exit(40);
        }
        /* After the switch we may not look into the other processes'
         * /proc: compare with the fds we joined. */
        struct stat self_user, self_net, want_user, want_net;
        if (stat("/proc/self/ns/user", &self_user) < 0 ||
            stat("/proc/self/ns/net", &self_net) < 0 ||
            fstat(j[0].fd, &want_user) < 0 || fstat(j[2].fd, &want_net) < 0)
            _exit(43);
        if (j[2].type != ZNS_NETWORK || self_user.st_ino != want_user.st_ino ||
            self_net.st_ino != want_net.st_ino)
            _exit(41);
        gethostname(host, sizeof host);
        _exit(strcmp(host, "zone-hostns") == 0 ? 0 : 42);
    }
    assert_int_equal(wait_exit(pid), 0);
    zns_close_joins(j, nj);
    target_stop(&n);
    target_stop(&u);
}

/* As an unprivileged user (rootless exec): the uts/net namespaces owned by
 * our own user namespace cannot be entered before it (EPERM: no
 * CAP_SYS_ADMIN in our namespace), so they are retried after it. */
static int rootless_join_case(void)
{
    if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
        setresuid(NOBODY, NOBODY, NOBODY) < 0)
        return 80;
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);

    int r[2], g[2];
    if (pipe(r) < 0 || pipe(g) < 0)
        return 81;
    pid_t target = fork();
    if (target < 0)
        return 82;
    if (target == 0) {
        char c = 1;
        close(r[0]);
        close(g[1]);
        if (unshare(CLONE_NEWUSER | CLONE_NEWUTS | CLONE_NEWNET) < 0 ||
            sethostname("zone-rootless", 13) < 0)
            _exit(60);
        if (write(r[1], &c, 1) != 1)
            _exit(61);
        while (read(g[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    close(r[1]);
    close(g[0]);
    char c;
    if (read(r[0], &c, 1) != 1)
        return 83;

    int result = 0;
    struct zerr e = {0};
    struct zspec_idmap m = { 0, NOBODY, 1 };
    if (zns_write_id_maps(target, &m, 1, &m, 1, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        result = 84;
    }
    for (int mode = 0; mode < 3 && result == 0; mode++) {
        pid_t joiner = fork();
        if (joiner < 0) {
            result = 85;
            break;
        }
        if (joiner == 0) {
            char user[64], uts[64], net[64], host[64] = "";
            struct zerr je = {0};
            int rc;
            snprintf(user, sizeof user, "/proc/%d/ns/user", (int)target);
            snprintf(uts, sizeof uts, "/proc/%d/ns/uts", (int)target);
            snprintf(net, sizeof net, "/proc/%d/ns/net", (int)target);
            if (mode == 0) {
                struct cfg cc;
                struct zns_join *j = NULL;
                size_t nj = 0;
                cfg_init(&cc);
                cfg_add(&cc, ZNS_UTS, uts);
                cfg_add(&cc, ZNS_USER, user);
                cfg_add(&cc, ZNS_NETWORK, net);
                rc = zns_open_joins(&cc.spec, &j, &nj, &je);
                if (rc == 0)
                    rc = zns_setns_all(j, nj, &je);
                zns_close_joins(j, nj);
            } else if (mode == 1) {
                rc = zns_enter_pid_files(target, -1, &je);
            } else {
                rc = zns_enter_pid(target, -1, &je);
            }
            if (rc < 0) {
                fprintf(stderr, "mode %d: %s\n", mode, je.msg);
                _exit(70);
            }
            gethostname(host, sizeof host);
            if (strcmp(host, "zone-rootless") != 0 ||
                !ns_equal("/proc/self/ns/user", user) ||
                !ns_equal("/proc/self/ns/net", net))
                _exit(71);
            _exit(0);
        }
        int jr = wait_exit(joiner);
        if (jr != 0)
            result = jr;
    }
    close(g[1]);
    int tr = wait_exit(target);
    return result ? result : tr;
}

static void test_setns_rootless_deferred(void **state)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(rootless_join_case());
    assert_int_equal(wait_exit(pid), 0);
}

int main(void)
{
    if (geteuid() != 0) {
        printf("test_namespaces: needs root\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clone_flags),
        cmocka_unit_test(test_validate_ok),
        cmocka_unit_test(test_validate_paths),
        cmocka_unit_test(test_validate_user_mappings),
        cmocka_unit_test(test_validate_time),
        cmocka_unit_test(test_idmap_single_root),
        cmocka_unit_test(test_idmap_multi_root),
        cmocka_unit_test(test_idmap_unprivileged_own_id),
        cmocka_unit_test(test_idmap_direct_error),
        cmocka_unit_test(test_idmap_helper),
        cmocka_unit_test(test_time_offsets),
        cmocka_unit_test(test_open_joins_and_setns),
        cmocka_unit_test(test_setns_error),
        cmocka_unit_test(test_setns_host_owned_with_userns),
        cmocka_unit_test(test_setns_rootless_deferred),
        cmocka_unit_test(test_enter_pid),
        cmocka_unit_test(test_enter_pid_gone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
