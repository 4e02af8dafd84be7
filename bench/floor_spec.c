/* floor-spec STATEDIR ROOTFS PROGRAM [ARG...]
 *
 * The spec floor: the kernel work that the default `zone spec` config asks
 * of any runtime, done in the fewest plain syscalls and with no runtime
 * around it (no config parsing, no error reporting beyond a message, no
 * create/start split, nothing for later commands to query but one state
 * file). Where `floor` (floor.c) answers "what does a container cost at
 * all", this answers "what can a runtime that does what the default spec
 * says cost at best on this machine"; docs/performance.md reports zone
 * against both.
 *
 * What it does, in order:
 *   parent  a state directory with one state file (written and renamed, as
 *           a runtime must so that `list` never reads half a file); one
 *           cgroup directory in every mounted hierarchy, the devices rules
 *           of the default spec (deny all, allow the default nodes), an
 *           fd of each hierarchy's tasks file for the child;
 *   clone   pid, network, ipc, uts and mount namespaces;
 *   child   joins the cgroups (writes 0 into each tasks fd), makes / private,
 *           binds the rootfs, mounts /proc, /dev (tmpfs with the six
 *           default nodes and the usual links), /dev/pts, /dev/shm,
 *           /dev/mqueue, /sys and /sys/fs/cgroup (a tmpfs with a read-only
 *           bind of the container's directory in each hierarchy), sets the
 *           hostname, brings lo up, pivots, masks and write-protects the
 *           default paths, makes the rootfs read-only, sets RLIMIT_NOFILE,
 *           keeps the three default capabilities, sets no_new_privs, execs;
 *   parent  waits, removes the cgroup directories and the state directory.
 *
 * The default spec's contents are written out here by hand: when `zone
 * spec` changes, this file must follow (bench/bench.py checks the mounts
 * and paths it runs with against the bundle's config.json).
 *
 * Linked statically, as the floor is. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define NAMESPACES \
    (CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS)
#define CGROUP_ROOT "/sys/fs/cgroup"
#define MAX_HIERARCHIES 32

struct hierarchy {
    char name[64];       /* entry under /sys/fs/cgroup */
    char dir[256];       /* the container's directory in it */
    int tasks_fd;
    bool is_link;        /* a co-mount alias (cpu -> cpu,cpuacct) */
    char target[64];
};

static struct hierarchy hier[MAX_HIERARCHIES];
static int n_hier;

static const char *const masked_paths[] = {
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
    "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
};
static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};
static const struct { const char *name; unsigned maj, min; } default_nodes[] = {
    {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
    {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};
static const char *const device_allow_rules[] = {
    "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm",
    "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm",
    "c 10:200 rwm",
};
static const int kept_caps[] = {
    CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE,
};

static void die(const char *what, const char *arg)
{
    fprintf(stderr, "floor-spec: %s %s: %s\n", what, arg, strerror(errno));
    _exit(127);
}

/* snprintf that refuses to cut a path short. */
static void __attribute__((format(printf, 3, 4)))
fmt(char *buf, size_t size, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(buf, size, f, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size) {
        errno = ENAMETOOLONG;
        die("format", f);
    }
}

static void write_str(int fd, const char *s, const char *what)
{
    if (write(fd, s, strlen(s)) < 0)
        die("write", what);
}

static void mount_or_die(const char *src, const char *dst, const char *type,
                         unsigned long flags, const char *data)
{
    if (mount(src, dst, type, flags, data) < 0)
        die("mount", dst);
}

/* A new v1 cpuset has no CPUs and no memory nodes: nothing can join it
 * until they are copied from its parent. */
static void copy_from_parent(const char *parent, const char *dir, const char *file)
{
    char path[512], value[256];
    fmt(path, sizeof path, "%s/%s", parent, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, value, sizeof value);
    if (n <= 0)
        die("read", path);
    close(fd);
    fmt(path, sizeof path, "%s/%s", dir, file);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, value, (size_t)n) != n)
        die("write", path);
    close(fd);
}

static void make_cgroups(const char *id)
{
    DIR *d = opendir(CGROUP_ROOT);
    struct dirent *de;
    if (!d)
        die("open", CGROUP_ROOT);
    while ((de = readdir(d)) && n_hier < MAX_HIERARCHIES) {
        struct hierarchy *h = &hier[n_hier];
        struct statfs fs;
        char path[512];
        if (de->d_name[0] == '.')
            continue;
        fmt(h->name, sizeof h->name, "%s", de->d_name);
        if (de->d_type == DT_LNK) {
            fmt(path, sizeof path, CGROUP_ROOT "/%s", de->d_name);
            ssize_t n = readlink(path, h->target, sizeof h->target - 1);
            if (n > 0) {
                h->target[n] = 0;
                h->is_link = true;
                n_hier++;
            }
            continue;
        }
        fmt(path, sizeof path, CGROUP_ROOT "/%s", de->d_name);
        if (statfs(path, &fs) < 0 ||
            (fs.f_type != CGROUP_SUPER_MAGIC && fs.f_type != CGROUP2_SUPER_MAGIC))
            continue;   /* an empty mount point (cgroup2 unmounted) */
        fmt(h->dir, sizeof h->dir, "%s/%s", path, id);
        if (mkdir(h->dir, 0755) < 0)
            die("mkdir", h->dir);
        if (strcmp(h->name, "cpuset") == 0) {
            copy_from_parent(path, h->dir, "cpuset.cpus");
            copy_from_parent(path, h->dir, "cpuset.mems");
        }
        if (strcmp(h->name, "devices") == 0) {
            fmt(path, sizeof path, "%s/devices.deny", h->dir);
            int fd = open(path, O_WRONLY | O_CLOEXEC);
            if (fd < 0)
                die("open", path);
            write_str(fd, "a", path);
            close(fd);
            fmt(path, sizeof path, "%s/devices.allow", h->dir);
            fd = open(path, O_WRONLY | O_CLOEXEC);
            if (fd < 0)
                die("open", path);
            for (size_t i = 0; i < sizeof device_allow_rules / sizeof *device_allow_rules; i++)
                write_str(fd, device_allow_rules[i], path);
            close(fd);
        }
        fmt(path, sizeof path, "%s/%s", h->dir,
                 fs.f_type == CGROUP2_SUPER_MAGIC ? "cgroup.procs" : "tasks");
        h->tasks_fd = open(path, O_WRONLY | O_CLOEXEC);
        if (h->tasks_fd < 0)
            die("open", path);
        n_hier++;
    }
    closedir(d);
}

static void remove_cgroups(void)
{
    for (int i = 0; i < n_hier; i++)
        if (!hier[i].is_link && rmdir(hier[i].dir) < 0)
            die("rmdir", hier[i].dir);
}

static void mount_cgroup_tree(void)
{
    const unsigned long keep = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    char dst[256];
    mount_or_die("tmpfs", "sys/fs/cgroup", "tmpfs", keep, "mode=755");
    for (int i = 0; i < n_hier; i++) {
        struct hierarchy *h = &hier[i];
        fmt(dst, sizeof dst, "sys/fs/cgroup/%s", h->name);
        if (h->is_link) {
            if (symlink(h->target, dst) < 0)
                die("symlink", dst);
            continue;
        }
        if (mkdir(dst, 0755) < 0)
            die("mkdir", dst);
        mount_or_die(h->dir, dst, NULL, MS_BIND, NULL);
        mount_or_die(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, NULL);
    }
    mount_or_die(NULL, "sys/fs/cgroup", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, NULL);
}

static void make_dev(void)
{
    static const char *const links[][2] = {
        {"/proc/self/fd", "dev/fd"}, {"/proc/self/fd/0", "dev/stdin"},
        {"/proc/self/fd/1", "dev/stdout"}, {"/proc/self/fd/2", "dev/stderr"},
        {"pts/ptmx", "dev/ptmx"},
    };
    mount_or_die("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME,
                 "mode=755,size=65536k");
    umask(0);
    for (size_t i = 0; i < sizeof default_nodes / sizeof *default_nodes; i++) {
        char p[64];
        fmt(p, sizeof p, "dev/%s", default_nodes[i].name);
        if (mknod(p, S_IFCHR | 0666, makedev(default_nodes[i].maj, default_nodes[i].min)) < 0)
            die("mknod", p);
    }
    for (size_t i = 0; i < sizeof links / sizeof *links; i++)
        if (symlink(links[i][0], links[i][1]) < 0)
            die("symlink", links[i][1]);
    umask(022);
    if (mkdir("dev/pts", 0755) < 0 || mkdir("dev/shm", 0755) < 0 ||
        mkdir("dev/mqueue", 0755) < 0)
        die("mkdir", "dev/*");
    mount_or_die("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                 "newinstance,ptmxmode=0666,mode=0620,gid=5");
    mount_or_die("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV,
                 "mode=1777,size=65536k");
    mount_or_die("mqueue", "dev/mqueue", "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
}

static void loopback_up(void)
{
    struct ifreq ifr = {0};
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        die("socket", "lo");
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        die("bring up", "lo");
    close(s);
}

static void protect_paths(void)
{
    for (size_t i = 0; i < sizeof masked_paths / sizeof *masked_paths; i++) {
        struct stat st;
        const char *p = masked_paths[i];
        if (stat(p, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode))
            mount_or_die("tmpfs", p, "tmpfs", MS_RDONLY, NULL);
        else
            mount_or_die("/dev/null", p, NULL, MS_BIND, NULL);
    }
    for (size_t i = 0; i < sizeof readonly_paths / sizeof *readonly_paths; i++) {
        const char *p = readonly_paths[i];
        if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
            if (errno == ENOENT)
                continue;
            die("bind", p);
        }
        mount_or_die(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
    }
    mount_or_die(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
}

static void set_process(void)
{
    struct rlimit nofile = { 1024, 1024 };
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2] = {{0}};
    if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
        die("setrlimit", "NOFILE");
    for (int cap = 0; cap < 64; cap++) {
        bool keep = false;
        for (size_t k = 0; k < sizeof kept_caps / sizeof *kept_caps; k++)
            keep |= kept_caps[k] == cap;
        if (!keep && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL)
                break;   /* past the kernel's last capability */
            die("drop capability", "");
        }
    }
    for (size_t k = 0; k < sizeof kept_caps / sizeof *kept_caps; k++) {
        int cap = kept_caps[k];
        data[cap / 32].effective |= 1u << (cap % 32);
        data[cap / 32].permitted |= 1u << (cap % 32);
        data[cap / 32].inheritable |= 1u << (cap % 32);
    }
    if (syscall(SYS_capset, &hdr, data) < 0)
        die("capset", "");
    for (size_t k = 0; k < sizeof kept_caps / sizeof *kept_caps; k++)
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, kept_caps[k], 0, 0) < 0)
            die("raise ambient capability", "");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        die("no_new_privs", "");
}

static void enter_container(const char *rootfs, char **argv)
{
    for (int i = 0; i < n_hier; i++)
        if (!hier[i].is_link) {
            write_str(hier[i].tasks_fd, "0", hier[i].dir);
            close(hier[i].tasks_fd);
        }
    mount_or_die(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    mount_or_die(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL);
    if (chdir(rootfs) < 0)
        die("chdir", rootfs);
    mount_or_die("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    make_dev();
    mount_or_die("sysfs", "sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
    mount_cgroup_tree();
    if (sethostname("zone", 4) < 0)
        die("sethostname", "");
    loopback_up();
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        die("pivot_root", rootfs);
    if (umount2(".", MNT_DETACH) < 0)
        die("detach old root", "");
    if (chdir("/") < 0)
        die("chdir", "/");
    protect_paths();
    set_process();
    execv(argv[0], argv);
    die("exec", argv[0]);
}

static void write_state(const char *dir, const char *id, const char *rootfs)
{
    char tmp[512], path[512], json[1024];
    int n = snprintf(json, sizeof json,
                     "{\"ociVersion\":\"1.2.0\",\"id\":\"%s\",\"status\":\"running\","
                     "\"pid\":%d,\"bundle\":\"%s\"}\n", id, getpid(), rootfs);
    fmt(tmp, sizeof tmp, "%s/.state.json", dir);
    fmt(path, sizeof path, "%s/state.json", dir);
    if (n < 0 || (size_t)n >= sizeof json)
        die("state of", id);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, json, (size_t)n) != n || close(fd) < 0)
        die("write", tmp);
    if (rename(tmp, path) < 0)
        die("rename", path);
}

int main(int argc, char **argv)
{
    char id[64], state_dir[512], state_file[600];
    if (argc < 4) {
        fprintf(stderr, "usage: floor-spec STATEDIR ROOTFS PROGRAM [ARG...]\n");
        return 2;
    }
    fmt(id, sizeof id, "floor-spec-%d", getpid());
    fmt(state_dir, sizeof state_dir, "%s/%s", argv[1], id);
    fmt(state_file, sizeof state_file, "%s/state.json", state_dir);
    if (mkdir(state_dir, 0700) < 0)
        die("mkdir", state_dir);
    write_state(state_dir, id, argv[2]);
    make_cgroups(id);

    pid_t pid = (pid_t)syscall(SYS_clone, NAMESPACES | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid < 0)
        die("clone", "");
    if (pid == 0)
        enter_container(argv[2], argv + 3);
    for (int i = 0; i < n_hier; i++)
        if (!hier[i].is_link)
            close(hier[i].tasks_fd);

    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("wait", "");
    remove_cgroups();
    if (unlink(state_file) < 0 || rmdir(state_dir) < 0)
        die("remove", state_dir);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
