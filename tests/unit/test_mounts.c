/* runtime/mount_options.c parsing, and the whole rootfs setup
 * (zrootfs_mount_all + zrootfs_pivot_and_finish) run for real in a forked
 * child with its own mount namespace, checked from inside. The mount tests
 * need root and skip otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "core/path.h"
#include "runtime/mounts.h"
#include "runtime/rootfs.h"

/* ------------------------------------------------------------ options */

static void parse(struct zmount_opts *o, char **opts)
{
    size_t n = 0;
    struct zerr e = {0};
    while (opts[n])
        n++;
    if (zmount_parse_options(opts, n, o, &e) < 0)
        fail_msg("%s", e.msg);
}

static void test_options_flags(void **state)
{
    struct zmount_opts o;
    char *a[] = { "rbind", "ro", "nosuid", "nodev", "noexec", "relatime", NULL };
    parse(&o, a);
    assert_int_equal(o.flags, MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID | MS_NODEV |
                              MS_NOEXEC | MS_RELATIME);
    assert_null(o.data);
    zmount_opts_free(&o);

    /* later options win; clearing records what was cleared */
    char *b[] = { "ro", "rw", "suid", "nosuid", "exec", "mode=755", "", "size=65536k", NULL };
    parse(&o, b);
    assert_int_equal(o.flags, MS_NOSUID);
    assert_true(o.cleared & MS_RDONLY);
    assert_true(o.cleared & MS_NOEXEC);
    assert_false(o.cleared & MS_NOSUID);
    assert_string_equal(o.data, "mode=755,size=65536k");
    zmount_opts_free(&o);

    char *c[] = { "sync", "async", "dirsync", "remount", "mand", "nomand", "noatime", "atime",
                  "nodiratime", "strictatime", "lazytime", "nolazytime", "bind", "defaults",
                  "nosymfollow", NULL };
    parse(&o, c);
    assert_int_equal(o.flags, MS_DIRSYNC | MS_REMOUNT | MS_NODIRATIME | MS_STRICTATIME |
                              MS_BIND | MS_NOSYMFOLLOW);
    assert_false(o.flags & MS_REC);
    zmount_opts_free(&o);
}

static void test_options_recursive_and_propagation(void **state)
{
    struct zmount_opts o;
    char *a[] = { "rbind", "rro", "rnosuid", "rnoatime", "rshared", "private", "tmpcopyup",
                  "ridmap", NULL };
    parse(&o, a);
    assert_int_equal(o.rec_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME);
    assert_int_equal(o.rec_clr, MOUNT_ATTR__ATIME);
    assert_int_equal(o.n_propagation, 2);
    assert_int_equal(o.propagation[0], MS_SHARED | MS_REC);
    assert_int_equal(o.propagation[1], MS_PRIVATE);
    assert_true(o.tmpcopyup && o.idmap && o.recursive_idmap);
    assert_int_equal(o.flags, MS_BIND | MS_REC);
    zmount_opts_free(&o);

    char *b[] = { "rro", "rrw", "rstrictatime", "ratime", "rnodev", "idmap", NULL };
    parse(&o, b);
    assert_int_equal(o.rec_set, MOUNT_ATTR_NODEV);   /* ratime: back to relatime (0) */
    assert_int_equal(o.rec_clr, MOUNT_ATTR_RDONLY | MOUNT_ATTR__ATIME);
    assert_true(o.idmap);
    assert_false(o.recursive_idmap);
    zmount_opts_free(&o);

    unsigned long f;
    struct zerr e = {0};
    assert_int_equal(zmount_propagation_flags("runbindable", &f, &e), 0);
    assert_int_equal(f, MS_UNBINDABLE | MS_REC);
    assert_int_equal(zmount_propagation_flags("slave", &f, &e), 0);
    assert_int_equal(f, MS_SLAVE);
    assert_int_equal(zmount_propagation_flags("bogus", &f, &e), -1);
    assert_non_null(strstr(e.msg, "bogus"));

    char *many[] = { "shared", "shared", "shared", "shared", "shared", "shared", "shared",
                     "shared", "shared", NULL };
    assert_int_equal(zmount_parse_options(many, 9, &o, &e), -1);

    struct zspec_mount m = { .type = "bind" };
    char *none[] = { NULL };
    parse(&o, none);
    assert_true(zmount_is_bind(&m, &o));
    m.type = "tmpfs";
    assert_false(zmount_is_bind(&m, &o));
    zmount_opts_free(&o);
}

/* ------------------------------------------------------------ real mounts */

struct scene {
    char top[200];
    char rootfs[256];
    char outside[256];
    bool legacy;
};

static void put(const char *top, const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", top, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void mk(const char *top, const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", top, rel);
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
        fail_msg("mkdir %s: %s", p, strerror(errno));
}

static void ln(const char *target, const char *top, const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", top, rel);
    assert_int_equal(symlink(target, p), 0);
}

static int scene_setup(void **state)
{
    struct scene *s = calloc(1, sizeof *s);
    snprintf(s->top, sizeof s->top, "/tmp/zone-test-mounts-XXXXXX");
    assert_non_null(mkdtemp(s->top));
    snprintf(s->rootfs, sizeof s->rootfs, "%s/rootfs", s->top);
    snprintf(s->outside, sizeof s->outside, "%s/outside", s->top);
    const char *dirs[] = { "rootfs", "outside", "hostdata", "devdir", "rootfs/bin", "rootfs/etc",
                           "rootfs/proc", "rootfs/sys", "rootfs/dev", "rootfs/tmp",
                           "rootfs/etc/masked_dir", "rootfs/ro_dir", "rootfs/copyme",
                           "rootfs/copyme/sub", "idmapped" };
    for (size_t i = 0; i < ZARRAY_SIZE(dirs); i++)
        mk(s->top, dirs[i]);
    put(s->top, "hostdata/file", "data\n");
    put(s->top, "hostfile", "hostfile\n");
    put(s->top, "idmapped/owned-by-root", "");
    put(s->top, "rootfs/etc/masked_dir/secret", "secret\n");
    put(s->top, "rootfs/etc/secretfile", "secret\n");
    put(s->top, "rootfs/ro_dir/f", "ro\n");
    put(s->top, "rootfs/copyme/a", "A\n");
    put(s->top, "rootfs/copyme/sub/b", "B\n");
    ln("a", s->top, "rootfs/copyme/link");
    /* a destination that points at the host's tmp */
    ln(s->outside, s->top, "rootfs/escape");
    /* a /dev whose "null" is a symlink to a readable file (for masking) */
    put(s->top, "rootfs/leak", "LEAK\n");
    ln("/leak", s->top, "devdir/null");
    *state = s;
    return 0;
}

static int scene_teardown(void **state)
{
    struct scene *s = *state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->top);
    assert_int_equal(system(cmd), 0);
    free(s);
    zmount_force_legacy(false);
    zpath_force_fallback(false);
    return 0;
}

#define CHECK(cond, ...) do {                                              \
        if (!(cond)) {                                                     \
            dprintf(errfd, "%s:%d: ", __FILE__, __LINE__);                 \
            dprintf(errfd, __VA_ARGS__);                                   \
            dprintf(errfd, " (errno: %s)\n", strerror(errno));             \
            _exit(1);                                                      \
        }                                                                  \
    } while (0)

typedef void (*child_fn)(struct scene *s, int errfd);

/* Runs fn in a child with its own mount namespace; all its mounts vanish
 * with it. Returns what the child wrote (empty on success). */
static void run_child(struct scene *s, child_fn fn, char *out, size_t size, int *status)
{
    int p[2];
    size_t len = 0;
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int errfd = p[1];
        close(p[0]);
        CHECK(unshare(CLONE_NEWNS) == 0, "unshare");
        fn(s, errfd);
        _exit(0);
    }
    close(p[1]);
    for (;;) {
        ssize_t n = read(p[0], out + len, size - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    out[len] = '\0';
    close(p[0]);
    assert_int_equal(waitpid(pid, status, 0), pid);
}

static void expect_child_ok(struct scene *s, child_fn fn)
{
    char out[4096];
    int status;
    run_child(s, fn, out, sizeof out, &status);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || out[0])
        fail_msg("child failed (status %d): %s", status, out);
}

static bool skip_unless_root(void)
{
    if (geteuid() != 0) {
        print_message("skipping: mount tests need root\n");
        return true;
    }
    return false;
}

static char *o_proc[] = { "nosuid", "noexec", "nodev", NULL };
static char *o_dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
static char *o_pts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", NULL };
static char *o_data[] = { "rbind", "ro", NULL };
static char *o_tmp[] = { "nodev", "size=1m", "mode=1700", NULL };
static char *o_escape[] = { "size=128k", NULL };
static char *o_file[] = { "bind", "ro", "nosuid", NULL };
static char *o_copy[] = { "tmpcopyup", "mode=750", NULL };
static char *o_sys[] = { "nosuid", "noexec", "nodev", "ro", NULL };
static char *o_cg[] = { "nosuid", "noexec", "nodev", "relatime", "ro", NULL };
static char *o_rro[] = { "rbind", "rro", "rnosuid", NULL };
static char *o_idmap[] = { "bind", "idmap", NULL };

static struct zspec_idmap idmap_uids[] = { { .container_id = 0, .host_id = 4242, .size = 1 } };
static struct zspec_idmap idmap_gids[] = { { .container_id = 0, .host_id = 4343, .size = 1 } };

static char *masked[] = { "/proc/kcore", "/proc/timer_list", "/etc/masked_dir", "/nonexistent/x", "/etc/secretfile", NULL };
static char *readonly[] = { "/proc/sys", "/ro_dir", "/missing", NULL };

static struct zspec_device devices[] = {
    { .type = "c", .path = "/dev/mydev", .has_major = true, .major = 1, .has_minor = true,
      .minor = 3, .has_file_mode = true, .file_mode = 0600, .has_uid = true, .uid = 1000,
      .has_gid = true, .gid = 1001 },
    { .type = "p", .path = "/dev/fifo", .has_file_mode = true, .file_mode = 0640 },
};

static struct zcg_mount_entry *host_cgroup_entries(size_t *n)
{
    /* a hybrid host's memory and pids hierarchies plus "unified", when the
     * host has them; the alias stands in for a comount's symlinks */
    static char *pids_links[] = { "pidsalias", NULL };
    static struct zcg_mount_entry v1[] = {
        { .name = "memory", .host_path = "/sys/fs/cgroup/memory" },
        { .name = "pids", .host_path = "/sys/fs/cgroup/pids", .symlinks = pids_links },
        { .name = "unified", .host_path = "/sys/fs/cgroup/unified", .v2 = true },
    };
    struct statfs sf;
    *n = 0;
    if (statfs("/sys/fs/cgroup/memory", &sf) == 0 && sf.f_type == CGROUP_SUPER_MAGIC &&
        statfs("/sys/fs/cgroup/pids", &sf) == 0 && sf.f_type == CGROUP_SUPER_MAGIC &&
        statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
        *n = ZARRAY_SIZE(v1);
    else
        print_message("note: host has no hybrid cgroup layout, cgroup mount not tested\n");
    return v1;
}

static void full_scene_child(struct scene *s, int errfd)
{
    char data_src[300], file_src[300], idmap_src[300];
    struct zerr e = {0};
    struct stat st, st2;
    struct statfs sf;
    struct statvfs sv;
    char buf[600];
    size_t n_cg;
    const struct zcg_mount_entry *cg = host_cgroup_entries(&n_cg);

    snprintf(data_src, sizeof data_src, "%s/hostdata", s->top);
    snprintf(file_src, sizeof file_src, "%s/hostfile", s->top);
    snprintf(idmap_src, sizeof idmap_src, "%s/idmapped", s->top);
    struct zspec_mount mounts[] = {
        { .destination = "/proc", .type = "proc", .source = "proc", .options = o_proc, .n_options = 3 },
        { .destination = "/dev", .type = "tmpfs", .source = "tmpfs", .options = o_dev, .n_options = 4 },
        { .destination = "/dev/pts", .type = "devpts", .source = "devpts", .options = o_pts, .n_options = 5 },
        { .destination = "/data", .type = "bind", .source = data_src, .options = o_data, .n_options = 2 },
        { .destination = "/tmp", .type = "tmpfs", .source = "tmpfs", .options = o_tmp, .n_options = 3 },
        { .destination = "/escape", .type = "tmpfs", .source = "tmpfs", .options = o_escape, .n_options = 1 },
        { .destination = "/etc/myfile", .type = "none", .source = file_src, .options = o_file, .n_options = 3 },
        { .destination = "/copyme", .type = "tmpfs", .source = "tmpfs", .options = o_copy, .n_options = 2 },
        { .destination = "/sys", .type = "sysfs", .source = "sysfs", .options = o_sys, .n_options = 4 },
        { .destination = "/sys/fs/cgroup", .type = "cgroup", .source = "cgroup", .options = o_cg, .n_options = 5 },
        /* new mount API only */
        { .destination = "/rro", .type = "bind", .source = data_src, .options = o_rro, .n_options = 3 },
        { .destination = "/idmapped", .type = "bind", .source = idmap_src, .options = o_idmap, .n_options = 2,
          .uid_mappings = idmap_uids, .n_uid_mappings = 1, .gid_mappings = idmap_gids, .n_gid_mappings = 1 },
    };
    struct zspec_root root = { .path = "rootfs", .readonly = true };
    struct zspec_linux lnx = {
        .devices = devices, .n_devices = ZARRAY_SIZE(devices),
        .masked_paths = masked, .n_masked_paths = 5,
        .readonly_paths = readonly, .n_readonly_paths = 3,
    };
    struct zspec spec = { .root = &root, .mounts = mounts, .n_mounts = ZARRAY_SIZE(mounts),
                          .linux_ = &lnx };
    if (s->legacy)
        spec.n_mounts -= 2;
    if (n_cg == 0) {
        /* no v1 hierarchies on this host: drop the cgroup mount */
        memmove(&mounts[9], &mounts[10], sizeof mounts[0] * 2);
        spec.n_mounts--;
    }
    struct zrootfs_ctx ctx = { .spec = &spec, .bundle = s->top, .rootfs = s->rootfs,
                               .console_slave_fd = -1, .cgroup_entries = cg,
                               .n_cgroup_entries = n_cg };

    CHECK(zrootfs_mount_all(&ctx, &e) == 0, "mount_all: %s", e.msg);

    /* the symlinked destination stayed inside: host dir untouched ... */
    struct stat top_st;
    CHECK(stat(s->outside, &st) == 0 && stat(s->top, &top_st) == 0, "stat outside");
    CHECK(st.st_dev == top_st.st_dev, "host %s became a mount", s->outside);
    /* ... and the rootfs copy of that path is the tmpfs */
    snprintf(buf, sizeof buf, "%s%s", s->rootfs, s->outside);
    CHECK(statfs(buf, &sf) == 0 && sf.f_type == TMPFS_MAGIC, "%s not tmpfs", buf);

    CHECK(zrootfs_pivot_and_finish(&ctx, &e) == 0, "pivot: %s", e.msg);

    /* now inside */
    CHECK(access("/etc/masked_dir", F_OK) == 0, "not in rootfs");
    CHECK(open("/newfile", O_WRONLY | O_CREAT, 0600) < 0 && errno == EROFS, "root is writable");

    /* bind ro */
    int fd = open("/data/file", O_RDONLY);
    CHECK(fd >= 0, "open /data/file");
    CHECK(read(fd, buf, sizeof buf) == 5, "read /data/file");
    close(fd);
    CHECK(open("/data/new", O_WRONLY | O_CREAT, 0600) < 0 && errno == EROFS, "/data writable");
    CHECK(statvfs("/data", &sv) == 0 && (sv.f_flag & ST_RDONLY), "/data not ro");

    /* file bind with ro,nosuid */
    CHECK(statvfs("/etc/myfile", &sv) == 0 && (sv.f_flag & ST_RDONLY) && (sv.f_flag & ST_NOSUID),
          "/etc/myfile flags %lx", sv.f_flag);
    CHECK(stat("/etc/myfile", &st) == 0 && st.st_size == 9, "/etc/myfile content");

    /* tmpfs data */
    CHECK(statfs("/tmp", &sf) == 0 && sf.f_type == TMPFS_MAGIC, "/tmp not tmpfs");
    CHECK((unsigned long long)sf.f_blocks * (unsigned long long)sf.f_bsize == 1024 * 1024,
          "/tmp size %llu", (unsigned long long)sf.f_blocks * (unsigned long long)sf.f_bsize);
    CHECK(stat("/tmp", &st) == 0 && (st.st_mode & 07777) == 01700, "/tmp mode %o", st.st_mode);
    CHECK(statvfs("/tmp", &sv) == 0 && (sv.f_flag & ST_NODEV), "/tmp not nodev");
    CHECK(statfs("/escape", &sf) == 0 && sf.f_type == TMPFS_MAGIC &&
          (unsigned long long)sf.f_blocks * (unsigned long long)sf.f_bsize == 128 * 1024,
          "/escape is not the 128k tmpfs");

    /* tmpcopyup */
    CHECK(statfs("/copyme", &sf) == 0 && sf.f_type == TMPFS_MAGIC, "/copyme not tmpfs");
    CHECK(stat("/copyme/sub/b", &st) == 0 && st.st_size == 2, "/copyme/sub/b not copied");
    CHECK(readlink("/copyme/link", buf, sizeof buf) == 1 && buf[0] == 'a', "link not copied");
    CHECK(stat("/copyme", &st) == 0 && (st.st_mode & 07777) == 0755, "/copyme mode %o", st.st_mode);

    /* masked paths: /dev/null bound over files, empty ro tmpfs over dirs */
    CHECK(stat("/proc/timer_list", &st) == 0 && S_ISCHR(st.st_mode) &&
          st.st_rdev == makedev(1, 3), "/proc/timer_list not masked");
    fd = open("/proc/timer_list", O_RDONLY);
    CHECK(fd >= 0 && read(fd, buf, sizeof buf) == 0, "/proc/timer_list readable");
    close(fd);
    CHECK(stat("/etc/secretfile", &st) == 0 && S_ISCHR(st.st_mode), "/etc/secretfile not masked");
    CHECK(access("/etc/masked_dir/secret", F_OK) < 0 && errno == ENOENT, "dir not masked");
    CHECK(statvfs("/etc/masked_dir", &sv) == 0 && (sv.f_flag & ST_RDONLY), "mask dir writable");

    /* readonly paths */
    CHECK(open("/ro_dir/g", O_WRONLY | O_CREAT, 0600) < 0 && errno == EROFS, "/ro_dir writable");
    CHECK(statvfs("/proc/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY), "/proc/sys writable");
    CHECK(statvfs("/proc", &sv) == 0 && !(sv.f_flag & ST_RDONLY), "/proc became ro");

    /* devices */
    CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3) &&
          (st.st_mode & 07777) == 0666, "/dev/null");
    CHECK(stat("/dev/tty", &st) == 0 && st.st_rdev == makedev(5, 0), "/dev/tty");
    CHECK(stat("/dev/mydev", &st) == 0 && S_ISCHR(st.st_mode) && (st.st_mode & 07777) == 0600 &&
          st.st_uid == 1000 && st.st_gid == 1001, "/dev/mydev");
    CHECK(stat("/dev/fifo", &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0640,
          "/dev/fifo");
    CHECK(readlink("/dev/ptmx", buf, sizeof buf) == 8 && memcmp(buf, "pts/ptmx", 8) == 0, "ptmx");
    CHECK(readlink("/dev/fd", buf, sizeof buf) == 13, "/dev/fd");
    CHECK(lstat("/dev/core", &st) == 0 && S_ISLNK(st.st_mode), "/dev/core");
    CHECK(stat("/dev/stderr", &st) == 0, "/dev/stderr");
    CHECK(statfs("/dev/pts", &sf) == 0 && sf.f_type == DEVPTS_SUPER_MAGIC, "/dev/pts");
    CHECK(lstat("/dev/pts/ptmx", &st) == 0 && (st.st_mode & 0777) == 0666, "ptmxmode");

    /* sysfs ro */
    CHECK(statfs("/sys", &sf) == 0 && sf.f_type == SYSFS_MAGIC, "/sys not sysfs");
    CHECK(statvfs("/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY), "/sys writable");

    if (n_cg) {
        CHECK(statfs("/sys/fs/cgroup/memory", &sf) == 0 && sf.f_type == CGROUP_SUPER_MAGIC,
              "cgroup memory");
        CHECK(statvfs("/sys/fs/cgroup/memory", &sv) == 0 && (sv.f_flag & ST_RDONLY), "cgroup rw");
        CHECK(readlink("/sys/fs/cgroup/pidsalias", buf, sizeof buf) == 4, "comount symlink");
        CHECK(statfs("/sys/fs/cgroup/pidsalias/", &sf) == 0 && sf.f_type == CGROUP_SUPER_MAGIC,
              "pids");
        CHECK(statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC,
              "unified");
        CHECK(mkdir("/sys/fs/cgroup/x", 0755) < 0 && errno == EROFS, "cgroup tmpfs writable");
    }
    if (!s->legacy) {
        CHECK(statvfs("/rro", &sv) == 0 && (sv.f_flag & ST_RDONLY) && (sv.f_flag & ST_NOSUID),
              "/rro flags");
        CHECK(stat("/idmapped/owned-by-root", &st) == 0 && st.st_uid == 4242 && st.st_gid == 4343,
              "idmapped uid %u gid %u", st.st_uid, st.st_gid);
    }
    (void)st2;
}

static void test_full_rootfs(void **state)
{
    if (skip_unless_root())
        skip();
    expect_child_ok(*state, full_scene_child);
}

static void test_full_rootfs_legacy(void **state)
{
    struct scene *s = *state;
    if (skip_unless_root())
        skip();
    s->legacy = true;
    zmount_force_legacy(true);
    zpath_force_fallback(true);
    expect_child_ok(s, full_scene_child);
}

/* /dev is a bind of a directory whose "null" is a symlink to a readable
 * file inside the rootfs: masking must still use the real null device. */
static void fake_null_child(struct scene *s, int errfd)
{
    char devdir[300];
    struct zerr e = {0};
    struct stat st;
    char buf[16];
    snprintf(devdir, sizeof devdir, "%s/devdir", s->top);
    static char *o_bind[] = { "rbind", NULL };
    struct zspec_mount mounts[] = {
        { .destination = "/dev", .type = "bind", .source = devdir, .options = o_bind, .n_options = 1 },
    };
    static char *mask[] = { "/etc/secretfile", NULL };
    struct zspec_linux lnx = { .masked_paths = mask, .n_masked_paths = 1 };
    struct zspec_root root = { .path = "rootfs" };
    struct zspec spec = { .root = &root, .mounts = mounts, .n_mounts = 1, .linux_ = &lnx };
    struct zrootfs_ctx ctx = { .spec = &spec, .bundle = s->top, .rootfs = s->rootfs,
                               .console_slave_fd = -1 };

    CHECK(zrootfs_mount_all(&ctx, &e) == 0, "mount_all: %s", e.msg);
    CHECK(zrootfs_pivot_and_finish(&ctx, &e) == 0, "pivot: %s", e.msg);
    /* the container's /dev/null is still the planted symlink ... */
    CHECK(lstat("/dev/null", &st) == 0 && S_ISLNK(st.st_mode), "/dev/null was replaced");
    /* ... but the mask is the real device, and reads nothing */
    CHECK(stat("/etc/secretfile", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3),
          "mask source was not the null device");
    int fd = open("/etc/secretfile", O_RDONLY);
    CHECK(fd >= 0, "open masked");
    CHECK(read(fd, buf, sizeof buf) == 0, "masked file has content");
    close(fd);
}

static void test_mask_ignores_container_dev_null(void **state)
{
    if (skip_unless_root())
        skip();
    expect_child_ok(*state, fake_null_child);
}

/* Runs mount_all on a single mount and returns the error text. */
static struct zspec_mount one_mount;
static void one_mount_child(struct scene *s, int errfd)
{
    struct zerr e = {0};
    struct zspec spec = { .mounts = &one_mount, .n_mounts = 1 };
    struct zrootfs_ctx ctx = { .spec = &spec, .bundle = s->top, .rootfs = s->rootfs,
                               .console_slave_fd = -1 };
    if (zrootfs_mount_all(&ctx, &e) == 0)
        dprintf(errfd, "OK");
    else
        dprintf(errfd, "%s", e.msg);
}

static void expect_mount_error(struct scene *s, struct zspec_mount m, const char *want)
{
    char out[4096];
    int status;
    one_mount = m;
    run_child(s, one_mount_child, out, sizeof out, &status);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!strstr(out, want))
        fail_msg("got \"%s\", want \"%s\"", out, want);
}

static void test_mount_errors(void **state)
{
    struct scene *s = *state;
    static char *bind[] = { "rbind", NULL };
    static char *none[] = { NULL };
    if (skip_unless_root())
        skip();
    expect_mount_error(s, (struct zspec_mount){ .destination = "/data", .type = "bind",
                          .source = "/nonexistent/x", .options = bind, .n_options = 1 },
                       "mounts[0] (/data): mount /nonexistent/x -> /data: no such file or directory");
    expect_mount_error(s, (struct zspec_mount){ .destination = "/proc", .type = "tmpfs",
                          .source = "tmpfs", .options = none },
                       "mounts[0] (/proc): /proc cannot be mounted because it is not of type proc");
    expect_mount_error(s, (struct zspec_mount){ .destination = "/proc/self/x", .type = "bind",
                          .source = "/etc/hostname", .options = bind, .n_options = 1 },
                       "inside /proc");
    /* a symlink to /proc in the rootfs does not get around the check */
    ln("/proc", s->top, "rootfs/p");
    expect_mount_error(s, (struct zspec_mount){ .destination = "/p", .type = "tmpfs",
                          .source = "tmpfs", .options = none },
                       "/proc cannot be mounted because it is not of type proc");
    expect_mount_error(s, (struct zspec_mount){ .destination = "/sys", .type = "tmpfs",
                          .source = "tmpfs", .options = none },
                       "not of type sysfs");
    expect_mount_error(s, (struct zspec_mount){ .destination = "/", .type = "tmpfs",
                          .source = "tmpfs", .options = none },
                       "container root");
    /* relative bind sources are relative to the bundle */
    expect_mount_error(s, (struct zspec_mount){ .destination = "/data", .type = "bind",
                          .source = "hostdata", .options = bind, .n_options = 1 },
                       "OK");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_flags),
        cmocka_unit_test(test_options_recursive_and_propagation),
        cmocka_unit_test_setup_teardown(test_full_rootfs, scene_setup, scene_teardown),
        cmocka_unit_test_setup_teardown(test_full_rootfs_legacy, scene_setup, scene_teardown),
        cmocka_unit_test_setup_teardown(test_mask_ignores_container_dev_null, scene_setup,
                                        scene_teardown),
        cmocka_unit_test_setup_teardown(test_mount_errors, scene_setup, scene_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
