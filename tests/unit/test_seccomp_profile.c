/* engine/seccomp_profile: the default profile against podman's own
 * (containers-common /usr/share/containers/seccomp.json) for this host's
 * architecture, and what the kernel does once it is loaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/path.h"
#include "engine/bundle.h"
#include "runtime/seccomp.h"

#define PODMAN_PROFILE "/usr/share/containers/seccomp.json"

static char *podman_default_caps[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
    "CAP_SYS_CHROOT",
};
#define N_DEFAULT_CAPS (sizeof podman_default_caps / sizeof podman_default_caps[0])

/* Go's name for this architecture, as the file's includes.arches use it. */
static const char *go_arch(void)
{
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__s390x__)
    return "s390x";
#else
    return "unknown";
#endif
}

/* ------------------------------------------------------------ rule lists */

/* Per syscall name, the rules that apply, each as one text in order. */
struct rules {
    char **names;
    char **lists;          /* "|"-joined rule texts */
    size_t n;
};

static void rules_add(struct rules *r, const char *name, const char *rule)
{
    size_t i;
    for (i = 0; i < r->n; i++)
        if (strcmp(r->names[i], name) == 0)
            break;
    if (i == r->n) {
        r->names = realloc(r->names, (r->n + 1) * sizeof *r->names);
        r->lists = realloc(r->lists, (r->n + 1) * sizeof *r->lists);
        assert_non_null(r->names);
        assert_non_null(r->lists);
        r->names[i] = strdup(name);
        r->lists[i] = strdup("");
        r->n++;
    }
    if (!rule)
        return;  /* only record the name */
    char *joined = NULL;
    assert_true(asprintf(&joined, "%s%s%s", r->lists[i], *r->lists[i] ? "|" : "", rule) > 0);
    free(r->lists[i]);
    r->lists[i] = joined;
}

static const char *rules_get(const struct rules *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->names[i], name) == 0)
            return r->lists[i];
    return "";
}

static void rules_free(struct rules *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->names[i]);
        free(r->lists[i]);
    }
    free(r->names);
    free(r->lists);
}

static char *rule_text(const char *action, bool has_errno, uint32_t errno_ret,
                       const char *args)
{
    char *t = NULL;
    assert_true(asprintf(&t, "%s/%s%" PRIu32 "/%s", action, has_errno ? "" : "-",
                         has_errno ? errno_ret : 0, args) > 0);
    return t;
}

/* ------------------------------------------------------------ the file */

static bool str_in(const struct zjson *arr, const char *s)
{
    if (!arr || arr->type != ZJSON_ARRAY)
        return false;
    for (size_t i = 0; i < arr->len; i++)
        if (arr->u.items[i]->type == ZJSON_STRING && strcmp(arr->u.items[i]->u.str, s) == 0)
            return true;
    return false;
}

static bool caps_has(char *const *caps, size_t n, const char *cap)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(caps[i], cap) == 0)
            return true;
    return false;
}

/* containers-common's selection: arches include/exclude by Go arch, every
 * includes.caps present, no excludes.caps present. */
static bool entry_applies(const struct zjson *entry, char *const *caps, size_t n_caps)
{
    const struct zjson *inc = zjson_get(entry, "includes");
    const struct zjson *exc = zjson_get(entry, "excludes");
    const struct zjson *v;

    if ((v = zjson_get(inc, "arches")) && v->len && !str_in(v, go_arch()))
        return false;
    if ((v = zjson_get(exc, "arches")) && v->len && str_in(v, go_arch()))
        return false;
    if ((v = zjson_get(inc, "caps")))
        for (size_t i = 0; i < v->len; i++)
            if (!caps_has(caps, n_caps, v->u.items[i]->u.str))
                return false;
    if ((v = zjson_get(exc, "caps")))
        for (size_t i = 0; i < v->len; i++)
            if (caps_has(caps, n_caps, v->u.items[i]->u.str))
                return false;
    return true;
}

static uint64_t num(const struct zjson *n)
{
    uint64_t v = 0;
    if (n)
        assert_int_equal(zjson_uint64(n, &v), 0);
    return v;
}

static char *file_args_text(const struct zjson *args)
{
    char *t = strdup("");
    for (size_t i = 0; args && args->type == ZJSON_ARRAY && i < args->len; i++) {
        const struct zjson *a = args->u.items[i];
        char *next = NULL;
        assert_true(asprintf(&next, "%s[%" PRIu64 " %s %" PRIu64 " %" PRIu64 "]", t,
                             num(zjson_get(a, "index")), zjson_get(a, "op")->u.str,
                             num(zjson_get(a, "value")), num(zjson_get(a, "valueTwo"))) > 0);
        free(t);
        t = next;
    }
    return t;
}

static void file_rules(const struct zjson *root, char *const *caps, size_t n_caps,
                       struct rules *out, struct rules *all_names)
{
    const struct zjson *calls = zjson_get(root, "syscalls");
    assert_non_null(calls);
    for (size_t i = 0; i < calls->len; i++) {
        const struct zjson *c = calls->u.items[i];
        const struct zjson *names = zjson_get(c, "names");
        const struct zjson *one = zjson_get(c, "name");
        const struct zjson *er = zjson_get(c, "errnoRet");
        bool applies = entry_applies(c, caps, n_caps);
        _cleanup_free_ char *args = file_args_text(zjson_get(c, "args"));
        _cleanup_free_ char *rule = rule_text(zjson_get(c, "action")->u.str, er != NULL,
                                              (uint32_t)num(er), args);
        size_t n = names ? names->len : (one ? 1 : 0);
        for (size_t j = 0; j < n; j++) {
            const char *name = names ? names->u.items[j]->u.str : one->u.str;
            rules_add(all_names, name, NULL);
            if (applies)
                rules_add(out, name, rule);
        }
    }
}

static void our_rules(const struct zspec_seccomp *sc, struct rules *out)
{
    for (size_t i = 0; i < sc->n_syscalls; i++) {
        const struct zspec_seccomp_syscall *c = &sc->syscalls[i];
        char *args = strdup("");
        for (size_t j = 0; j < c->n_args; j++) {
            char *next = NULL;
            assert_true(asprintf(&next, "%s[%" PRIu32 " %s %" PRIu64 " %" PRIu64 "]", args,
                                 c->args[j].index, c->args[j].op, c->args[j].value,
                                 c->args[j].value_two) > 0);
            free(args);
            args = next;
        }
        _cleanup_free_ char *rule = rule_text(c->action, c->has_errno_ret, c->errno_ret, args);
        free(args);
        for (size_t j = 0; j < c->n_names; j++)
            rules_add(out, c->names[j], rule);
    }
}

static void compare_with_file(char **caps, size_t n_caps)
{
    size_t len = 0;
    struct zerr e = {0};
    _cleanup_free_ char *text = zfile_read(PODMAN_PROFILE, 4u << 20, &len, &e);
    assert_non_null(text);
    struct zjson_doc *doc = zjson_parse(text, len, &e);
    assert_non_null(doc);
    const struct zjson *root = zjson_root(doc);
    struct rules want = {0}, got = {0}, named = {0};
    struct zspec_seccomp *sc = zengine_default_seccomp(caps, n_caps, &e);
    assert_non_null(sc);

    /* default action and its errno */
    assert_string_equal(sc->default_action, zjson_get(root, "defaultAction")->u.str);
    const struct zjson *der = zjson_get(root, "defaultErrnoRet");
    assert_int_equal(sc->has_default_errno_ret, der != NULL);
    if (der)
        assert_int_equal(sc->default_errno_ret, num(der));

    /* architectures: the native one and its sub-architectures */
#if defined(__x86_64__)
    const struct zjson *map = zjson_get(root, "archMap");
    bool found = false;
    for (size_t i = 0; map && i < map->len; i++) {
        const struct zjson *m = map->u.items[i];
        if (strcmp(zjson_get(m, "architecture")->u.str, "SCMP_ARCH_X86_64") != 0)
            continue;
        found = true;
        const struct zjson *subs = zjson_get(m, "subArchitectures");
        assert_int_equal(sc->n_architectures, 1 + subs->len);
        assert_string_equal(sc->architectures[0], "SCMP_ARCH_X86_64");
        for (size_t j = 1; j < sc->n_architectures; j++)
            assert_true(str_in(subs, sc->architectures[j]));
    }
    assert_true(found);
#endif

    file_rules(root, caps, n_caps, &want, &named);
    our_rules(sc, &got);
    size_t compared = 0;
    for (size_t i = 0; i < named.n; i++) {
        const char *w = rules_get(&want, named.names[i]);
        const char *g = rules_get(&got, named.names[i]);
        if (strcmp(w, g) != 0)
            fail_msg("syscall %s: podman's profile gives \"%s\", ours \"%s\"", named.names[i],
                     w, g);
        compared++;
    }
    assert_true(compared > 300);
    /* nothing of ours that podman's profile does not name */
    for (size_t i = 0; i < got.n; i++) {
        bool known = false;
        for (size_t j = 0; j < named.n && !known; j++)
            known = strcmp(named.names[j], got.names[i]) == 0;
        if (!known)
            fail_msg("syscall %s is in our profile only", got.names[i]);
    }
    rules_free(&want);
    rules_free(&got);
    rules_free(&named);
    spec_seccomp_free(sc);
    zjson_doc_free(doc);
}

static bool have_file(void)
{
    if (access(PODMAN_PROFILE, R_OK) == 0)
        return true;
    print_message("skipping: %s is absent (install containers-common / "
                  "golang-github-containers-common to compare)\n", PODMAN_PROFILE);
    return false;
}

static void test_matches_podman_default_caps(void **state)
{
    (void)state;
    if (!have_file())
        skip();
    compare_with_file(podman_default_caps, N_DEFAULT_CAPS);
}

static void test_matches_podman_with_sys_admin(void **state)
{
    (void)state;
    if (!have_file())
        skip();
    char *caps[N_DEFAULT_CAPS + 1];
    memcpy(caps, podman_default_caps, sizeof podman_default_caps);
    caps[N_DEFAULT_CAPS] = "CAP_SYS_ADMIN";
    compare_with_file(caps, N_DEFAULT_CAPS + 1);
}

static void test_matches_podman_with_every_conditional_cap(void **state)
{
    (void)state;
    if (!have_file())
        skip();
    char *caps[] = {
        "CAP_DAC_READ_SEARCH", "CAP_SYS_ADMIN", "CAP_SYS_CHROOT", "CAP_SYS_MODULE",
        "CAP_SYS_PACCT", "CAP_SYS_PTRACE", "CAP_SYS_RAWIO", "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG", "CAP_AUDIT_WRITE",
    };
    compare_with_file(caps, sizeof caps / sizeof caps[0]);
    compare_with_file(NULL, 0);
}

/* ------------------------------------------------------------ the kernel */

/* In a child: load the compiled default profile and check a few answers. */
static void test_loaded_profile_behaves(void **state)
{
    (void)state;
    struct zerr e = {0};
    struct zspec_seccomp *sc = zengine_default_seccomp(podman_default_caps, N_DEFAULT_CAPS, &e);
    assert_non_null(sc);
    struct zseccomp *f = zseccomp_build(sc, &e);
    if (!f)
        fail_msg("compile: %s", e.msg);
    spec_seccomp_free(sc);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int notify = -1;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || zseccomp_load(f, &notify, &e) < 0)
            _exit(10);
        if (syscall(SYS_getpid) <= 0)
            _exit(11);
        /* in the EPERM list */
        if (syscall(SYS_vmsplice, -1, NULL, 0, 0) != -1 || errno != EPERM)
            _exit(12);
        /* not listed at all: the default, ENOSYS */
        if (syscall(SYS_add_key, NULL, NULL, NULL, 0, 0) != -1 || errno != ENOSYS)
            _exit(13);
        /* CAP_SYS_ADMIN group, refused without the capability */
        if (syscall(SYS_sethostname, "x", 1) != -1 || errno != EPERM)
            _exit(14);
        /* personality: query allowed, other personas refused */
        if (syscall(SYS_personality, 0xffffffffUL) < 0)
            _exit(15);
        if (syscall(SYS_personality, 0x0040000UL) != -1 || errno != ENOSYS)
            _exit(16);
        /* socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT) -> EINVAL; others pass */
        if (syscall(SYS_socket, 16, 3, 9) != -1 || errno != EINVAL)
            _exit(17);
        long fd = syscall(SYS_socket, 1, 1, 0);
        if (fd < 0)
            _exit(18);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    zseccomp_free(f);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_cap_names_without_prefix(void **state)
{
    (void)state;
    struct zerr e = {0};
    char *caps[] = { "SYS_ADMIN" };
    struct zspec_seccomp *sc = zengine_default_seccomp(caps, 1, &e);
    assert_non_null(sc);
    bool allows_setns = false;
    for (size_t i = 0; i < sc->n_syscalls; i++)
        for (size_t j = 0; j < sc->syscalls[i].n_names; j++)
            if (strcmp(sc->syscalls[i].names[j], "sethostname") == 0)
                allows_setns = strcmp(sc->syscalls[i].action, "SCMP_ACT_ALLOW") == 0;
    assert_true(allows_setns);
    spec_seccomp_free(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_podman_default_caps),
        cmocka_unit_test(test_matches_podman_with_sys_admin),
        cmocka_unit_test(test_matches_podman_with_every_conditional_cap),
        cmocka_unit_test(test_loaded_profile_behaves),
        cmocka_unit_test(test_cap_names_without_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
