/* runtime/hooks.c: success, state on stdin, env, exit status and stderr in
 * the message, timeouts (and the hook really gone), exec failures, fds not
 * leaked, stopping at the first failure. Hooks are /bin/sh scripts. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "runtime/hooks.h"

static char tmpdir[64];

static int setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/zone-hooks-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A hook running `sh -c script` with env (NULL-terminated, may be NULL). */
struct shook {
    char *args[4];
    struct zspec_hook h;
};

static void shook_init(struct shook *s, const char *script, char **env,
                       int timeout)
{
    memset(s, 0, sizeof *s);
    s->args[0] = "sh";
    s->args[1] = "-c";
    s->args[2] = (char *)script;
    s->h.path = "/bin/sh";
    s->h.args = s->args;
    s->h.n_args = 3;
    s->h.env = env;
    if (env)
        for (char **p = env; *p; p++)
            s->h.n_env++;
    s->h.has_timeout = timeout > 0;
    s->h.timeout = timeout;
}

static char *path_in_tmp(const char *name)
{
    static char buf[4][256];
    static int slot;
    char *p = buf[slot++ % 4];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void expect_msg(const struct zerr *e, const char *part)
{
    if (!strstr(e->msg, part))
        fail_msg("error \"%s\" lacks \"%s\"", e->msg, part);
}

/* Points our fd 2 at a file while hooks run; returns the saved fd 2. */
static int stderr_to(const char *path)
{
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    close(fd);
    return saved;
}

static void stderr_restore(int saved)
{
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
}

static const char state_json[] =
    "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"status\":\"creating\","
    "\"pid\":42,\"bundle\":\"/b\"}";

static void test_success_stdin_env(void **state)
{
    char out_env[300], out_state[300];
    snprintf(out_env, sizeof out_env, "OUT=%s", path_in_tmp("state"));
    snprintf(out_state, sizeof out_state, "ENVOUT=%s", path_in_tmp("env"));
    char *env[] = { out_env, out_state, "FOO=bar baz", NULL };
    struct shook s;
    shook_init(&s, "cat > \"$OUT\"; env > \"$ENVOUT\"", env, 10);
    struct zspec_hook_list list = { &s.h, 1 };

    setenv("ZONE_HOOK_TEST_LEAK", "1", 1);
    struct zerr e = {0};
    if (zhooks_run(&list, "prestart", state_json, &e) < 0)
        fail_msg("%s", e.msg);
    unsetenv("ZONE_HOOK_TEST_LEAK");

    _cleanup_free_ char *got = slurp(path_in_tmp("state"));
    assert_non_null(got);
    assert_string_equal(got, state_json);
    _cleanup_free_ char *envs = slurp(path_in_tmp("env"));
    assert_non_null(envs);
    assert_non_null(strstr(envs, "FOO=bar baz\n"));
    assert_null(strstr(envs, "ZONE_HOOK_TEST_LEAK")); /* only what was given */

    /* argv[0] is args[0], not path */
    struct shook a;
    char argv0[300];
    snprintf(argv0, sizeof argv0, "echo \"$0\" > %s", path_in_tmp("argv0"));
    shook_init(&a, argv0, NULL, 0);
    a.args[0] = "my-hook-name";
    list.hooks = &a.h;
    if (zhooks_run(&list, "prestart", NULL, &e) < 0)
        fail_msg("%s", e.msg);
    _cleanup_free_ char *name = slurp(path_in_tmp("argv0"));
    assert_non_null(name);
    assert_string_equal(name, "my-hook-name\n");
}

static void test_exit_status(void **state)
{
    struct shook s;
    shook_init(&s, "echo starting; echo boom >&2; exit 3", NULL, 0);
    struct zspec_hook_list list = { &s.h, 1 };
    struct zerr e = {0};
    int saved = stderr_to(path_in_tmp("stderr"));
    int r = zhooks_run(&list, "prestart", state_json, &e);
    stderr_restore(saved);
    assert_int_equal(r, -1);
    assert_string_equal(e.msg, "hook prestart[0] (/bin/sh): exit status 3: boom");
    /* both streams of the hook reach the runtime's stderr */
    _cleanup_free_ char *out = slurp(path_in_tmp("stderr"));
    assert_non_null(out);
    assert_string_equal(out, "starting\nboom\n");

    shook_init(&s, "kill -TERM $$", NULL, 0);
    assert_int_equal(zhooks_run(&list, "poststop", state_json, &e), -1);
    assert_string_equal(e.msg, "hook poststop[0] (/bin/sh): killed by signal 15 (Terminated)");
}

static void test_stderr_tail_bounded(void **state)
{
    struct shook s;
    shook_init(&s, "i=0; while [ $i -lt 300 ]; do printf 'xxxxxxxxxx' >&2; i=$((i+1)); done; echo END >&2; exit 1",
               NULL, 0);
    struct zspec_hook_list list = { &s.h, 1 };
    struct zerr e = {0};
    int saved = stderr_to(path_in_tmp("stderr"));
    int r = zhooks_run(&list, "createRuntime", NULL, &e);
    stderr_restore(saved);
    assert_int_equal(r, -1);
    struct stat st;
    assert_int_equal(stat(path_in_tmp("stderr"), &st), 0);
    assert_int_equal(st.st_size, 3004); /* all of it passed through */
    const char *prefix = "hook createRuntime[0] (/bin/sh): exit status 1: ";
    assert_int_equal(strncmp(e.msg, prefix, strlen(prefix)), 0);
    size_t len = strlen(e.msg);
    assert_true(len >= 4 && strcmp(e.msg + len - 4, "xEND") == 0);
    assert_true(len - strlen(prefix) <= ZHOOK_STDERR_MAX);
    assert_true(len - strlen(prefix) >= ZHOOK_STDERR_MAX - 1);
}

static void test_stops_at_first_failure(void **state)
{
    char touch[300];
    snprintf(touch, sizeof touch, "touch %s", path_in_tmp("second-ran"));
    struct shook s[3];
    shook_init(&s[0], "exit 0", NULL, 0);
    shook_init(&s[1], "exit 7", NULL, 0);
    shook_init(&s[2], touch, NULL, 0);
    struct zspec_hook hooks[3] = { s[0].h, s[1].h, s[2].h };
    struct zspec_hook_list list = { hooks, 3 };
    struct zerr e = {0};
    assert_int_equal(zhooks_run(&list, "poststart", NULL, &e), -1);
    assert_string_equal(e.msg, "hook poststart[1] (/bin/sh): exit status 7");
    assert_int_equal(access(path_in_tmp("second-ran"), F_OK), -1);

    /* a NULL or empty list is fine */
    assert_int_equal(zhooks_run(NULL, "poststart", NULL, &e), 0);
    struct zspec_hook_list empty = { NULL, 0 };
    assert_int_equal(zhooks_run(&empty, "poststart", NULL, &e), 0);
}

static void test_timeout(void **state)
{
    char script[300];
    /* `sleep` runs as a child of the shell (not exec'd), in the hook's
     * process group: both must be gone after the timeout. */
    snprintf(script, sizeof script, "echo $$ > %s; sleep 100; true",
             path_in_tmp("pid"));
    struct shook s[2];
    shook_init(&s[0], "exit 0", NULL, 0);
    shook_init(&s[1], script, NULL, 1);
    struct zspec_hook hooks[2] = { s[0].h, s[1].h };
    struct zspec_hook_list list = { hooks, 2 };
    struct zerr e = {0};

    double start = now_s();
    assert_int_equal(zhooks_run(&list, "poststart", state_json, &e), -1);
    double took = now_s() - start;
    assert_string_equal(e.msg, "hook poststart[1] (/bin/sh): timed out after 1s");
    assert_int_equal(e.code, ETIMEDOUT);
    assert_true(took >= 0.9 && took < 5);

    _cleanup_free_ char *pidtext = slurp(path_in_tmp("pid"));
    assert_non_null(pidtext);
    pid_t pid = (pid_t)atoi(pidtext);
    assert_true(pid > 0);
    /* the hook itself was reaped: no such process */
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    /* its group (the sleep) is gone too; allow init a moment to reap */
    int gone = 0;
    for (int i = 0; i < 200 && !gone; i++) {
        if (kill(-pid, 0) < 0 && errno == ESRCH)
            gone = 1;
        else
            usleep(10000);
    }
    assert_true(gone);
}

static void test_exec_failure(void **state)
{
    struct zspec_hook h = { .path = "/nonexistent/hook" };
    struct zspec_hook_list list = { &h, 1 };
    struct zerr e = {0};
    assert_int_equal(zhooks_run(&list, "createContainer", NULL, &e), -1);
    assert_string_equal(e.msg, "hook createContainer[0] (/nonexistent/hook): cannot execute: no such file or directory");
    assert_int_equal(e.code, ENOENT);

    /* not executable */
    char *path = path_in_tmp("noexec");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\nexit 0\n", f);
    fclose(f);
    chmod(path, 0644);
    h.path = path;
    assert_int_equal(zhooks_run(&list, "createContainer", NULL, &e), -1);
    expect_msg(&e, "cannot execute: permission denied");
}

static void test_no_fd_leak(void **state)
{
    /* an fd without CLOEXEC in the runtime must not reach the hook */
    int fd = open("/dev/null", O_RDONLY);
    assert_true(fd > 2);
    char script[200];
    snprintf(script, sizeof script,
             "[ -e /proc/$$/fd/%d ] && exit 9; [ -e /proc/$$/fd/0 ] || exit 8; exit 0", fd);
    struct shook s;
    shook_init(&s, script, NULL, 5);
    struct zspec_hook_list list = { &s.h, 1 };
    struct zerr e = {0};
    int r = zhooks_run(&list, "prestart", state_json, &e);
    close(fd);
    if (r < 0)
        fail_msg("%s", e.msg);
}

static void test_large_state(void **state)
{
    size_t n = 300000;
    _cleanup_free_ char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'a', n);
    big[n] = '\0';
    struct zerr e = {0};

    /* a hook that never reads stdin: no hang, no SIGPIPE for us */
    struct shook s;
    shook_init(&s, "exit 0", NULL, 5);
    struct zspec_hook_list list = { &s.h, 1 };
    if (zhooks_run(&list, "prestart", big, &e) < 0)
        fail_msg("%s", e.msg);

    char script[300];
    snprintf(script, sizeof script, "wc -c > %s", path_in_tmp("count"));
    shook_init(&s, script, NULL, 5);
    if (zhooks_run(&list, "prestart", big, &e) < 0)
        fail_msg("%s", e.msg);
    _cleanup_free_ char *count = slurp(path_in_tmp("count"));
    assert_non_null(count);
    assert_int_equal(atol(count), (long)n);
}

static void test_background_child_does_not_block(void **state)
{
    /* The hook leaves a child holding its stderr; we return when the hook
     * exits, not when the pipe closes. */
    char script[300];
    snprintf(script, sizeof script, "sleep 30 & echo $! > %s; exit 0",
             path_in_tmp("bg"));
    struct shook s;
    shook_init(&s, script, NULL, 10);
    struct zspec_hook_list list = { &s.h, 1 };
    struct zerr e = {0};
    double start = now_s();
    int r = zhooks_run(&list, "poststart", NULL, &e);
    double took = now_s() - start;
    _cleanup_free_ char *bg = slurp(path_in_tmp("bg"));
    if (bg && atoi(bg) > 0)
        kill(atoi(bg), SIGKILL);
    if (r < 0)
        fail_msg("%s", e.msg);
    assert_true(took < 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_stdin_env),
        cmocka_unit_test(test_exit_status),
        cmocka_unit_test(test_stderr_tail_bounded),
        cmocka_unit_test(test_stops_at_first_failure),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_exec_failure),
        cmocka_unit_test(test_no_fd_leak),
        cmocka_unit_test(test_large_state),
        cmocka_unit_test(test_background_child_does_not_block),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
