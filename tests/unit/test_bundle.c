/* engine/bundle: image + `zone run` flags -> config.json, read back with the
 * spec parser; users resolved through layered /etc/passwd and /etc/group
 * (whiteouts, opaque dirs), and the error cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/path.h"
#include "engine/bundle.h"

#define STRV(...) ((char *[]){ __VA_ARGS__, NULL })
#define COUNT(...) (sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *))

static char tmp[256];
static char lower_top[300], lower_mid[300], lower_bottom[300], lower_opaque[300];
static int bundle_seq;

static void write_file(const char *dir, const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void mkdirs(const char *dir, const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    mkdir(path, 0755);
}

/* Layers, topmost first: top (passwd with alice/bob), mid (a whiteout of
 * etc/passwd), bottom (passwd with ghost, the group file). A separate top
 * layer with an opaque etc/ hides the bottom's files. */
static int setup(void **state)
{
    (void)state;
    snprintf(tmp, sizeof tmp, "/tmp/zone-test-bundle-XXXXXX");
    assert_non_null(mkdtemp(tmp));
    snprintf(lower_top, sizeof lower_top, "%s/l-top", tmp);
    snprintf(lower_mid, sizeof lower_mid, "%s/l-mid", tmp);
    snprintf(lower_bottom, sizeof lower_bottom, "%s/l-bottom", tmp);
    snprintf(lower_opaque, sizeof lower_opaque, "%s/l-opaque", tmp);
    mkdirs(lower_top, "etc");
    mkdirs(lower_mid, "etc");
    mkdirs(lower_bottom, "etc");
    mkdirs(lower_opaque, "etc");
    write_file(lower_top, "etc/passwd",
               "root:x:0:0:root:/root:/bin/sh\n"
               "broken line without fields\n"
               "alice:x:1000:1000::/home/alice:/bin/sh\n"
               "bob:x:1001:1001::/home/bob:/bin/sh\n");
    char wh[512];
    snprintf(wh, sizeof wh, "%s/etc/passwd", lower_mid);
    assert_int_equal(mknod(wh, S_IFCHR | 0600, makedev(0, 0)), 0);
    write_file(lower_bottom, "etc/passwd", "root:x:0:0::/:/bin/sh\nghost:x:666:666::/:/bin/sh\n");
    write_file(lower_bottom, "etc/group",
               "root:x:0:\nstaff:x:50:alice\ndev:x:60:bob,alice\nalice:x:1000:\nbob:x:1001:\n");
    write_file(lower_opaque, "etc/other", "x\n");
    char od[512];
    snprintf(od, sizeof od, "%s/etc", lower_opaque);
    if (setxattr(od, "trusted.overlay.opaque", "y", 1, 0) < 0)
        assert_int_equal(setxattr(od, "user.overlay.opaque", "y", 1, 0), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

/* Static storage: compound literals here would die with the function. */
static char *image_cmd[] = { "sh", NULL };
static char *image_env[] = { "PATH=/opt/bin:/bin", "FOO=image", NULL };
static char *image_volumes[] = { "/data/vol", NULL };
static struct zspec_kv image_labels[] = { { "org.example.team", "zone" } };

static void fake_image(struct zimage *im)
{
    memset(im, 0, sizeof *im);
    snprintf(im->manifest_digest, sizeof im->manifest_digest,
             "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    im->config.cmd = image_cmd;
    im->config.n_cmd = 1;
    im->config.env = image_env;
    im->config.n_env = 2;
    im->config.volumes = image_volumes;
    im->config.n_volumes = 1;
    im->config.labels = image_labels;
    im->config.n_labels = 1;
    im->config.stop_signal = "SIGQUIT";
}

static char *layers3[3];

/* Runs zengine_bundle_create into a fresh bundle; returns the parsed
 * config (NULL on failure, with *e filled). */
static struct zspec *make(const struct zimage *im, const struct zrun_flags *f,
                          char *const *lowers, size_t n_lower, char *dir_out, struct zerr *e)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/0123456789abcdef%04d", tmp, bundle_seq++);
    if (dir_out)
        strcpy(dir_out, dir);
    if (!lowers) {
        layers3[0] = lower_top;
        layers3[1] = lower_mid;
        layers3[2] = lower_bottom;
        lowers = layers3;
        n_lower = 3;
    }
    if (zengine_bundle_create(im, lowers, n_lower, f, dir, e) < 0)
        return NULL;
    char cfg[600];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    struct zspec *s = spec_load(cfg, e);
    if (!s)
        fail_msg("config.json does not parse: %s", e->msg);
    return s;
}

static bool strv_has(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static const struct zspec_mount *mount_at(const struct zspec *s, const char *dest)
{
    for (size_t i = 0; i < s->n_mounts; i++)
        if (strcmp(s->mounts[i].destination, dest) == 0)
            return &s->mounts[i];
    return NULL;
}

static void assert_args(const struct zspec *s, char **want, size_t n)
{
    assert_int_equal(s->process->n_args, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(s->process->args[i], want[i]);
}

/* ------------------------------------------------------------ tests */

static void test_defaults(void **state)
{
    (void)state;
    struct zimage im;
    struct zrun_flags f = {0};
    struct zerr e = {0};
    char dir[512], path[700];
    fake_image(&im);
    struct zspec *s = make(&im, &f, NULL, 0, dir, &e);
    assert_non_null(s);

    assert_args(s, STRV("sh"), 1);
    assert_false(s->process->terminal);
    assert_string_equal(s->process->cwd, "/");
    assert_int_equal(s->process->user.uid, 0);
    assert_int_equal(s->process->user.gid, 0);
    /* image PATH replaces the default; HOSTNAME = first 12 chars of the id */
    assert_true(strv_has(s->process->env, s->process->n_env, "PATH=/opt/bin:/bin"));
    assert_true(strv_has(s->process->env, s->process->n_env, "FOO=image"));
    assert_true(strv_has(s->process->env, s->process->n_env, "HOSTNAME=0123456789ab"));
    assert_false(strv_has(s->process->env, s->process->n_env, "TERM=xterm"));
    assert_string_equal(s->hostname, "0123456789ab");
    assert_string_equal(s->root->path, "rootfs");
    assert_false(s->root->readonly);

    /* podman's 11 default capabilities */
    assert_int_equal(s->process->capabilities->n_bounding, 11);
    assert_true(strv_has(s->process->capabilities->effective,
                         s->process->capabilities->n_effective, "CAP_SYS_CHROOT"));
    assert_false(strv_has(s->process->capabilities->bounding,
                          s->process->capabilities->n_bounding, "CAP_NET_RAW"));

    const struct zspec_linux *l = s->linux_;
    assert_non_null(spec_namespace(s, ZNS_PID));
    assert_non_null(spec_namespace(s, ZNS_NETWORK));
    assert_non_null(spec_namespace(s, ZNS_MOUNT));
    assert_non_null(spec_namespace(s, ZNS_IPC));
    assert_non_null(spec_namespace(s, ZNS_UTS));
    assert_null(spec_namespace(s, ZNS_USER));
    assert_true(strv_has(l->masked_paths, l->n_masked_paths, "/proc/kcore"));
    assert_true(strv_has(l->readonly_paths, l->n_readonly_paths, "/proc/sys"));
    assert_non_null(l->seccomp);
    assert_string_equal(l->seccomp->default_action, "SCMP_ACT_ERRNO");
    assert_int_equal(l->seccomp->default_errno_ret, ENOSYS);
    assert_non_null(l->resources);
    assert_int_equal(l->resources->n_devices, 1);
    assert_false(l->resources->devices[0].allow);
    assert_null(l->resources->memory);

    assert_non_null(mount_at(s, "/proc"));
    assert_non_null(mount_at(s, "/dev/pts"));
    assert_non_null(mount_at(s, "/dev/shm"));
    assert_non_null(mount_at(s, "/dev/mqueue"));
    assert_non_null(mount_at(s, "/sys/fs/cgroup"));
    const struct zspec_mount *hosts = mount_at(s, "/etc/hosts");
    assert_non_null(hosts);
    snprintf(path, sizeof path, "%s/hosts", dir);
    assert_string_equal(hosts->source, path);
    _cleanup_free_ char *text = zfile_read(path, 4096, NULL, &e);
    assert_non_null(text);
    assert_non_null(strstr(text, "127.0.0.1\tlocalhost"));
    assert_non_null(strstr(text, "0123456789ab"));
    assert_non_null(mount_at(s, "/etc/resolv.conf"));
    assert_non_null(mount_at(s, "/etc/hostname"));

    /* overlay annotations, labels, stop signal */
    char want[1200];
    snprintf(want, sizeof want, "%s:%s:%s", lower_top, lower_mid, lower_bottom);
    assert_string_equal(spec_annotation(s, ZANN_ROOTFS_LOWERDIRS), want);
    snprintf(want, sizeof want, "%s/upper", dir);
    assert_string_equal(spec_annotation(s, ZANN_ROOTFS_UPPERDIR), want);
    snprintf(want, sizeof want, "%s/work", dir);
    assert_string_equal(spec_annotation(s, ZANN_ROOTFS_WORKDIR), want);
    assert_null(spec_annotation(s, ZANN_ROOTFS_USERXATTR));
    assert_string_equal(spec_annotation(s, "org.example.team"), "zone");
    assert_string_equal(spec_annotation(s, "org.opencontainers.image.stopSignal"), "SIGQUIT");

    /* bundle dirs and the image VOLUME */
    struct stat st;
    snprintf(path, sizeof path, "%s/rootfs", dir);
    assert_int_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/work", dir);
    assert_int_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/upper/data/vol", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    spec_free(s);
}

struct args_case {
    char **image_ep; size_t n_image_ep;
    char **image_cmd; size_t n_image_cmd;
    const char *entrypoint;
    char **cmd; size_t n_cmd;
    char **want; size_t n_want;   /* NULL: "no command specified" */
};

static void test_entrypoint_and_cmd_table(void **state)
{
    (void)state;
    const struct args_case cases[] = {
        { STRV("/ep"), 1, STRV("a"), 1, NULL, NULL, 0, STRV("/ep", "a"), 2 },
        { STRV("/ep"), 1, STRV("a"), 1, NULL, STRV("b", "c"), 2, STRV("/ep", "b", "c"), 3 },
        { STRV("/ep"), 1, STRV("a"), 1, "", STRV("x"), 1, STRV("x"), 1 },
        { STRV("/ep"), 1, STRV("a"), 1, "/new", NULL, 0, STRV("/new"), 1 },
        { STRV("/ep"), 1, STRV("a"), 1, "/new", STRV("y"), 1, STRV("/new", "y"), 2 },
        { NULL, 0, STRV("a", "b"), 2, NULL, NULL, 0, STRV("a", "b"), 2 },
        { NULL, 0, STRV("a"), 1, "", NULL, 0, NULL, 0 },
        { NULL, 0, NULL, 0, NULL, NULL, 0, NULL, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct args_case *c = &cases[i];
        struct zimage im;
        struct zrun_flags f = {0};
        struct zerr e = {0};
        fake_image(&im);
        im.config.entrypoint = c->image_ep;
        im.config.n_entrypoint = c->n_image_ep;
        im.config.cmd = c->image_cmd;
        im.config.n_cmd = c->n_image_cmd;
        f.entrypoint = c->entrypoint;
        f.cmd = c->cmd;
        f.n_cmd = c->n_cmd;
        struct zspec *s = make(&im, &f, NULL, 0, NULL, &e);
        if (!c->want) {
            if (s)
                fail_msg("case %zu: expected \"no command specified\"", i);
            assert_non_null(strstr(e.msg, "no command specified"));
            continue;
        }
        if (!s)
            fail_msg("case %zu: %s", i, e.msg);
        assert_args(s, c->want, c->n_want);
        spec_free(s);
    }
}

static void test_env_workdir_tty(void **state)
{
    (void)state;
    struct zimage im;
    struct zrun_flags f = {0};
    struct zerr e = {0};
    fake_image(&im);
    im.config.env = STRV("FOO=image");
    im.config.n_env = 1;
    im.config.working_dir = "srv/app";
    setenv("ZONE_TEST_FROM_HOST", "hostvalue", 1);
    unsetenv("ZONE_TEST_UNSET");
    f.env = STRV("FOO=flag", "ZONE_TEST_FROM_HOST", "ZONE_TEST_UNSET", "NEW=1");
    f.n_env = 4;
    f.tty = true;
    f.hostname = "myhost";
    struct zspec *s = make(&im, &f, NULL, 0, NULL, &e);
    assert_non_null(s);
    char **env = s->process->env;
    size_t n = s->process->n_env;
    assert_true(strv_has(env, n,
                         "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
    assert_true(strv_has(env, n, "TERM=xterm"));
    assert_true(strv_has(env, n, "FOO=flag"));
    assert_false(strv_has(env, n, "FOO=image"));
    assert_true(strv_has(env, n, "ZONE_TEST_FROM_HOST=hostvalue"));
    assert_true(strv_has(env, n, "NEW=1"));
    assert_true(strv_has(env, n, "HOSTNAME=myhost"));
    for (size_t i = 0; i < n; i++)
        assert_null(strstr(env[i], "ZONE_TEST_UNSET"));
    assert_true(s->process->terminal);
    assert_string_equal(s->process->cwd, "/srv/app");
    assert_string_equal(s->hostname, "myhost");
    spec_free(s);

    f.workdir = "/w";
    s = make(&im, &f, NULL, 0, NULL, &e);
    assert_non_null(s);
    assert_string_equal(s->process->cwd, "/w");
    spec_free(s);

    f.workdir = "relative";
    assert_null(make(&im, &f, NULL, 0, NULL, &e));
    assert_non_null(strstr(e.msg, "relative"));
}

struct user_case {
    const char *user;
    uint32_t uid, gid;
    uint32_t gids[3]; size_t n_gids;
    const char *error;   /* substring of the error, or NULL */
};

static void test_user_table(void **state)
{
    (void)state;
    const struct user_case cases[] = {
        { NULL, 0, 0, {0}, 0, NULL },
        { "alice", 1000, 1000, {50, 60}, 2, NULL },
        { "alice:staff", 1000, 50, {50, 60}, 2, NULL },
        { "alice:77", 1000, 77, {50, 60}, 2, NULL },
        { "1001", 1001, 1001, {60}, 1, NULL },
        { "5000", 5000, 0, {0}, 0, NULL },
        { "5000:5001", 5000, 5001, {0}, 0, NULL },
        { ":dev", 0, 60, {0}, 0, NULL },
        /* ghost is only in the bottom passwd, hidden by the mid whiteout */
        { "ghost", 0, 0, {0}, 0, "unable to find user ghost" },
        { "nobody", 0, 0, {0}, 0, "0123456789ab" },
        { "alice:nogroup", 0, 0, {0}, 0, "unable to find group nogroup" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct user_case *c = &cases[i];
        struct zimage im;
        struct zrun_flags f = {0};
        struct zerr e = {0};
        fake_image(&im);
        f.user = c->user;
        struct zspec *s = make(&im, &f, NULL, 0, NULL, &e);
        if (c->error) {
            if (s)
                fail_msg("case %s: expected an error", c->user);
            if (!strstr(e.msg, c->error))
                fail_msg("case %s: error \"%s\" lacks \"%s\"", c->user, e.msg, c->error);
            continue;
        }
        if (!s)
            fail_msg("case %s: %s", c->user ? c->user : "(none)", e.msg);
        assert_int_equal(s->process->user.uid, c->uid);
        assert_int_equal(s->process->user.gid, c->gid);
        assert_int_equal(s->process->user.n_additional_gids, c->n_gids);
        for (size_t j = 0; j < c->n_gids; j++)
            assert_int_equal(s->process->user.additional_gids[j], c->gids[j]);
        if (c->uid != 0)   /* podman: a non-root user gets no effective caps */
            assert_int_equal(s->process->capabilities->n_effective, 0);
        spec_free(s);
    }
    /* the image User is used when -u is absent */
    struct zimage im;
    struct zrun_flags f = {0};
    struct zerr e = {0};
    fake_image(&im);
    im.config.user = "bob";
    struct zspec *s = make(&im, &f, NULL, 0, NULL, &e);
    assert_non_null(s);
    assert_int_equal(s->process->user.uid, 1001);
    spec_free(s);
}

static void test_opaque_dir_hides_lower_files(void **state)
{
    (void)state;
    struct zimage im;
    struct zrun_flags f = {0};
    struct zerr e = {0};
    char *lowers[] = { lower_opaque, lower_bottom };
    fake_image(&im);
    f.user = ":dev";  /* group file is below the opaque etc/ */
    assert_null(make(&im, &f, lowers, 2, NULL, &e));
    assert_non_null(strstr(e.msg, "unable to find group dev"));
    /* without the opaque layer the same group resolves */
    char *lowers2[] = { lower_bottom };
    struct zspec *s = make(&im, &f, lowers2, 1, NULL, &e);
    assert_non_null(s);
    assert_int_equal(s->process->user.gid, 60);
    spec_free(s);
}

static void test_capabilities(void **state)
{
    (void)state;
    struct zimage im;
    struct zerr e = {0};
    fake_image(&im);
    struct { char **add; size_t n_add; char **drop; size_t n_drop; size_t want_n;
             const char *has; const char *lacks; } cases[] = {
        { STRV("NET_ADMIN"), 1, NULL, 0, 12, "CAP_NET_ADMIN", NULL },
        { STRV("cap_net_raw"), 1, STRV("CHOWN"), 1, 11, "CAP_NET_RAW", "CAP_CHOWN" },
        { STRV("NET_RAW"), 1, STRV("ALL"), 1, 1, "CAP_NET_RAW", "CAP_CHOWN" },
        { STRV("ALL"), 1, NULL, 0, 41, "CAP_SYS_ADMIN", NULL },
        { STRV("ALL"), 1, STRV("SYS_ADMIN"), 1, 40, "CAP_BPF", "CAP_SYS_ADMIN" },
        { NULL, 0, STRV("all"), 1, 0, NULL, "CAP_KILL" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct zrun_flags f = {0};
        f.cap_add = cases[i].add;
        f.n_cap_add = cases[i].n_add;
        f.cap_drop = cases[i].drop;
        f.n_cap_drop = cases[i].n_drop;
        struct zspec *s = make(&im, &f, NULL, 0, NULL, &e);
        if (!s)
            fail_msg("case %zu: %s", i, e.msg);
        const struct zspec_capabilities *c = s->process->capabilities;
        assert_int_equal(c->n_bounding, cases[i].want_n);
        assert_int_equal(c->n_effective, cases[i].want_n);
        if (cases[i].has)
            assert_true(strv_has(c->bounding, c->n_bounding, cases[i].has));
        if (cases[i].lacks)
            assert_false(strv_has(c->bounding, c->n_bounding, cases[i].lacks));
        /* CAP_SYS_ADMIN changes the seccomp profile (setns, sethostname...) */
        bool admin = strv_has(c->bounding, c->n_bounding, "CAP_SYS_ADMIN");
        bool allows_sethostname = false;
        for (size_t j = 0; j < s->linux_->seccomp->n_syscalls; j++) {
            const struct zspec_seccomp_syscall *sc = &s->linux_->seccomp->syscalls[j];
            if (strv_has(sc->names, sc->n_names, "sethostname"))
                allows_sethostname = strcmp(sc->action, "SCMP_ACT_ALLOW") == 0;
        }
        assert_int_equal(allows_sethostname, admin);
        spec_free(s);
    }
    struct zrun_flags bad = {0};
    bad.cap_add = STRV("NOT_A_CAP");
    bad.n_cap_add = 1;
    assert_null(make(&im, &bad, NULL, 0, NULL, &e));
    assert_non_null(strstr(e.msg, "unknown capability \"NOT_A_CAP\""));
}

static void test_resources_readonly_volumes(void **state)
{
    (void)state;
    struct zimage im;
    struct zrun_flags f = {0};
    struct zerr e = {0};
    struct zvolume vols[] = { { "/srv/data", "/data", false }, { "/etc", "/hostetc", true } };
    fake_image(&im);
    f.memory = 64 << 20;
    f.cpus = 1.5;
    f.pids_limit = 100;
    f.read_only = true;
    f.no_new_privileges = true;
    f.volumes = vols;
    f.n_volumes = 2;
    struct zspec *s = make(&im, &f, NULL, 0, NULL, &e);
    assert_non_null(s);
    const struct zspec_resources *r = s->linux_->resources;
    assert_int_equal(r->memory->limit, 64 << 20);
    assert_int_equal(r->memory->swap, 128 << 20);
    assert_int_equal(r->cpu->quota, 150000);
    assert_int_equal(r->cpu->period, 100000);
    assert_int_equal(r->pids->limit, 100);
    assert_true(s->root->readonly);
    assert_true(s->process->no_new_privileges);
    for (size_t i = 0; i < 3; i++) {
        const char *d = (const char *[]){ "/tmp", "/var/tmp", "/run" }[i];
        const struct zspec_mount *m = mount_at(s, d);
        assert_non_null(m);
        assert_string_equal(m->type, "tmpfs");
    }
    const struct zspec_mount *m = mount_at(s, "/hostetc");
    assert_non_null(m);
    assert_string_equal(m->source, "/etc");
    assert_true(strv_has(m->options, m->n_options, "rbind"));
    assert_true(strv_has(m->options, m->n_options, "ro"));
    m = mount_at(s, "/data");
    assert_non_null(m);
    assert_true(strv_has(m->options, m->n_options, "rw"));
    spec_free(s);

    f.cpus = -1;
    assert_null(make(&im, &f, NULL, 0, NULL, &e));
    assert_non_null(strstr(e.msg, "--cpus"));
}

static void test_network_modes_and_rootless(void **state)
{
    (void)state;
    struct zimage im;
    struct zrun_flags f = {0};
    struct zerr e = {0};
    fake_image(&im);

    f.network = ZNET_HOST;
    struct zspec *s = make(&im, &f, NULL, 0, NULL, &e);
    assert_non_null(s);
    assert_null(spec_namespace(s, ZNS_NETWORK));
    assert_string_equal(mount_at(s, "/etc/hosts")->source, "/etc/hosts");
    spec_free(s);

    f.network = ZNET_NONE;
    s = make(&im, &f, NULL, 0, NULL, &e);
    assert_non_null(s);
    assert_non_null(spec_namespace(s, ZNS_NETWORK));
    assert_null(mount_at(s, "/etc/resolv.conf"));
    assert_non_null(mount_at(s, "/etc/hosts"));
    spec_free(s);

    f.network = ZNET_PASTA;
    f.rootless = true;
    s = make(&im, &f, NULL, 0, NULL, &e);
    assert_non_null(s);
    assert_non_null(spec_namespace(s, ZNS_NETWORK));
    assert_non_null(spec_namespace(s, ZNS_USER));
    assert_int_equal(s->linux_->n_uid_mappings, 1);
    assert_int_equal(s->linux_->uid_mappings[0].container_id, 0);
    assert_int_equal(s->linux_->uid_mappings[0].host_id, getuid());
    assert_int_equal(s->linux_->uid_mappings[0].size, 1);
    assert_null(s->linux_->resources);   /* nothing asked */
    assert_string_equal(spec_annotation(s, ZANN_ROOTFS_USERXATTR), "true");
    spec_free(s);
}

static void test_seccomp_options(void **state)
{
    (void)state;
    struct zimage im;
    struct zrun_flags f = {0};
    struct zerr e = {0};
    fake_image(&im);
    f.seccomp_profile = "unconfined";
    struct zspec *s = make(&im, &f, NULL, 0, NULL, &e);
    assert_non_null(s);
    assert_null(s->linux_->seccomp);
    spec_free(s);

    char missing[400];
    snprintf(missing, sizeof missing, "%s/no-such-profile.json", tmp);
    f.seccomp_profile = missing;
    assert_null(make(&im, &f, NULL, 0, NULL, &e));
    assert_non_null(strstr(e.msg, missing));

    /* an OCI-style profile file */
    char file[400];
    snprintf(file, sizeof file, "%s/profile.json", tmp);
    write_file(tmp, "profile.json",
               "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
               "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1},"
               "{\"names\":[\"chroot\"],\"action\":\"SCMP_ACT_ERRNO\","
               "\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}}]}");
    f.seccomp_profile = file;
    s = make(&im, &f, NULL, 0, NULL, &e);
    if (!s)
        fail_msg("%s", e.msg);
    assert_string_equal(s->linux_->seccomp->default_action, "SCMP_ACT_ALLOW");
    /* the chroot rule needs CAP_SYS_ADMIN, which the container lacks */
    assert_int_equal(s->linux_->seccomp->n_syscalls, 1);
    assert_string_equal(s->linux_->seccomp->syscalls[0].names[0], "mkdir");
    spec_free(s);

    /* podman's own file gives the same rules as our default */
    if (access("/usr/share/containers/seccomp.json", R_OK) != 0) {
        print_message("skipping the podman file comparison: no "
                      "/usr/share/containers/seccomp.json\n");
        return;
    }
    f.seccomp_profile = "/usr/share/containers/seccomp.json";
    s = make(&im, &f, NULL, 0, NULL, &e);
    if (!s)
        fail_msg("%s", e.msg);
    f.seccomp_profile = NULL;
    struct zspec *d = make(&im, &f, NULL, 0, NULL, &e);
    assert_non_null(d);
    const struct zspec_seccomp *a = s->linux_->seccomp, *b = d->linux_->seccomp;
    assert_int_equal(a->n_syscalls, b->n_syscalls);
    assert_int_equal(a->n_architectures, b->n_architectures);
    for (size_t i = 0; i < a->n_syscalls; i++) {
        assert_string_equal(a->syscalls[i].action, b->syscalls[i].action);
        assert_int_equal(a->syscalls[i].n_names, b->syscalls[i].n_names);
        assert_int_equal(a->syscalls[i].n_args, b->syscalls[i].n_args);
    }
    spec_free(s);
    spec_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_entrypoint_and_cmd_table),
        cmocka_unit_test(test_env_workdir_tty),
        cmocka_unit_test(test_user_table),
        cmocka_unit_test(test_opaque_dir_hides_lower_files),
        cmocka_unit_test(test_capabilities),
        cmocka_unit_test(test_resources_readonly_volumes),
        cmocka_unit_test(test_network_modes_and_rootless),
        cmocka_unit_test(test_seccomp_options),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
