/* namespaces/subid.c and the unprivileged checks of namespaces/idmap.c:
 * /etc/subuid parsing (hostile lines), the mappings of `spec --rootless`,
 * and the create-time errors for mappings and process.user. The
 * unprivileged cases run in a child that dropped to nobody. */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "namespaces/namespaces.h"

#define NOBODY 65534

static void expect_msg(const struct zerr *e, const char *part)
{
    if (!strstr(e->msg, part))
        fail_msg("error \"%s\" lacks \"%s\"", e->msg, part);
}

/* ------------------------------------------------------------ parsing */

static void test_parse_picks_the_users_lines(void **state)
{
    (void)state;
    static const char text[] =
        "alice:100000:65536\n"
        "#alice:1:2\n"
        "bob:200000:10\n"
        "1001:300000:5\n"
        "alice:bad:1\n"
        "alice:5:0\n"                /* empty range */
        "alice:4294967290:10\n"      /* past the largest id */
        "alice:99999999999:1\n"      /* not 32 bits */
        "alice:1:2:3\n"              /* trailing field */
        "alic:7:7\n"
        "\n"
        ":1:1\n"
        "alice:400000:1";            /* no final newline */
    struct zns_id_range r[8];
    size_t n = 99;

    assert_int_equal(zns_subid_parse(text, strlen(text), "alice", 1001, r, 8, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(r[0].start, 100000);
    assert_int_equal(r[0].count, 65536);
    assert_int_equal(r[1].start, 300000); /* by uid */
    assert_int_equal(r[1].count, 5);
    assert_int_equal(r[2].start, 400000);
    assert_int_equal(r[2].count, 1);

    /* no name: the uid only */
    assert_int_equal(zns_subid_parse(text, strlen(text), NULL, 1001, r, 8, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].start, 300000);

    /* more lines than room */
    assert_int_equal(zns_subid_parse(text, strlen(text), "alice", 1001, r, 2, &n), -1);

    /* embedded NUL and no lines at all */
    static const char nul[] = "alice:1\0:2\nalice:10:20\n";
    assert_int_equal(zns_subid_parse(nul, sizeof nul - 1, "alice", 0, r, 8, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].start, 10);
    assert_int_equal(zns_subid_parse("", 0, "alice", 0, r, 8, &n), 0);
    assert_int_equal(n, 0);
}

static void test_rootless_mappings_start_with_the_own_id(void **state)
{
    (void)state;
    struct zspec_idmap *u = NULL, *g = NULL;
    size_t nu = 0, ng = 0;
    struct zerr e = {0};

    assert_int_equal(zns_rootless_mappings(4242, 4343, &u, &nu, &g, &ng, &e), 0);
    assert_true(nu >= 1 && ng >= 1);
    assert_int_equal(u[0].container_id, 0);
    assert_int_equal(u[0].host_id, 4242);
    assert_int_equal(u[0].size, 1);
    assert_int_equal(g[0].host_id, 4343);
    /* further ranges (if the test host delegates any to uid 4242) follow
     * on from container id 1 without gaps */
    for (size_t i = 1; i < nu; i++)
        assert_int_equal(u[i].container_id, u[i - 1].container_id + u[i - 1].size);
    free(u);
    free(g);
}

/* ------------------------------------------------------------ validation */

struct cfg {
    struct zspec spec;
    struct zspec_process proc;
    struct zspec_linux lx;
    struct zspec_namespace ns[4];
    struct zspec_idmap uids[4], gids[4];
    uint32_t extra_gids[2];
};

/* A new user (and mount) namespace mapping container 0..size-1 to
 * host_uid/host_gid, the process as uid/gid 0. */
static void cfg_init(struct cfg *c, bool userns, uint32_t host_uid, uint32_t host_gid,
                     uint32_t size)
{
    memset(c, 0, sizeof *c);
    c->spec.linux_ = &c->lx;
    c->spec.process = &c->proc;
    c->lx.namespaces = c->ns;
    c->ns[c->lx.n_namespaces++].type = ZNS_MOUNT;
    if (!userns)
        return;
    c->ns[c->lx.n_namespaces++].type = ZNS_USER;
    c->uids[0] = (struct zspec_idmap){ 0, host_uid, size };
    c->gids[0] = (struct zspec_idmap){ 0, host_gid, size };
    c->lx.uid_mappings = c->uids;
    c->lx.n_uid_mappings = 1;
    c->lx.gid_mappings = c->gids;
    c->lx.n_gid_mappings = 1;
}

static void test_privileged_checks_process_user(void **state)
{
    (void)state;
    struct cfg c;
    struct zerr e = {0};

    cfg_init(&c, true, 100000, 100000, 1000);
    assert_int_equal(zns_validate_unprivileged(&c.spec, &e), 0);

    c.proc.user.uid = 1000;
    assert_int_equal(zns_validate_unprivileged(&c.spec, &e), -1);
    expect_msg(&e, "process.user.uid: 1000 is not mapped by linux.uidMappings (it maps "
                   "container uids 0-999)");
    c.proc.user.uid = 999;
    c.proc.user.gid = 5000;
    assert_int_equal(zns_validate_unprivileged(&c.spec, &e), -1);
    expect_msg(&e, "process.user.gid: 5000 is not mapped by linux.gidMappings");
    c.proc.user.gid = 0;
    c.extra_gids[0] = 5;
    c.extra_gids[1] = 1000;
    c.proc.user.additional_gids = c.extra_gids;
    c.proc.user.n_additional_gids = 2;
    assert_int_equal(zns_validate_unprivileged(&c.spec, &e), -1);
    expect_msg(&e, "process.user.additionalGids[1]: 1000 is not mapped");
    c.proc.user.n_additional_gids = 1;
    assert_int_equal(zns_validate_unprivileged(&c.spec, &e), 0);

    /* the container's root must be mapped */
    c.uids[0].container_id = 1;
    assert_int_equal(zns_validate_unprivileged(&c.spec, &e), -1);
    expect_msg(&e, "linux.uidMappings: container uid 0 is not mapped (it maps 1-1000)");

    /* a joined user namespace is not checked; no user namespace is fine
     * with CAP_SYS_ADMIN */
    c.ns[1].path = (char *)"/proc/self/ns/user";
    assert_int_equal(zns_validate_unprivileged(&c.spec, &e), 0);
    cfg_init(&c, false, 0, 0, 0);
    assert_int_equal(zns_validate_unprivileged(&c.spec, &e), 0);
}

/* Runs fn as nobody in a child; returns its exit status. */
static int as_nobody(int (*fn)(void))
{
    pid_t pid = fork();
    int st;
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
            setresuid(NOBODY, NOBODY, NOBODY) < 0)
            _exit(90);
        _exit(fn());
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int check(const struct cfg *c, const char *want)
{
    struct zerr e = {0};
    int rc = zns_validate_unprivileged(&c->spec, &e);
    if (!want)
        return rc == 0 ? 0 : (fprintf(stderr, "unexpected: %s\n", e.msg), 1);
    if (rc == 0)
        return fprintf(stderr, "no error, expected \"%s\"\n", want), 1;
    if (!strstr(e.msg, want))
        return fprintf(stderr, "error \"%s\" lacks \"%s\"\n", e.msg, want), 1;
    return 0;
}

static int unprivileged_cases(void)
{
    struct cfg c;
    int bad = 0;

    cfg_init(&c, false, 0, 0, 0);
    bad |= check(&c, "linux.namespaces: zone runs as uid 65534 without CAP_SYS_ADMIN, so "
                     "the container needs a user namespace");
    /* the own id: fine */
    cfg_init(&c, true, NOBODY, NOBODY, 1);
    bad |= check(&c, NULL);
    /* another user's id */
    c.uids[0].host_id = 0;
    bad |= check(&c, "linux.uidMappings[0]: host uid 0 is not delegated to user");
    c.uids[0].host_id = NOBODY;
    /* a range nobody was not given (the test host delegates none to it) */
    c.uids[1] = (struct zspec_idmap){ 1, 3000000000u, 10 };
    c.lx.n_uid_mappings = 2;
    bad |= check(&c, "linux.uidMappings[1]: host uids 3000000000-3000000009 are not "
                     "delegated to user");
    c.lx.n_uid_mappings = 1;
    /* supplementary groups with the own gid written without privilege */
    c.extra_gids[0] = 0;
    c.proc.user.additional_gids = c.extra_gids;
    c.proc.user.n_additional_gids = 1;
    bad |= check(&c, "process.user.additionalGids: cannot be set when linux.gidMappings "
                     "maps only the own gid (65534)");
    return bad;
}

static void test_unprivileged_checks(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    assert_int_equal(as_nobody(unprivileged_cases), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_picks_the_users_lines),
        cmocka_unit_test(test_rootless_mappings_start_with_the_own_id),
        cmocka_unit_test(test_privileged_checks_process_user),
        cmocka_unit_test(test_unprivileged_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
