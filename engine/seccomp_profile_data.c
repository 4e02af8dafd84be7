/* Data of the default seccomp profile: the syscall groups that podman's
 * default (containers-common seccomp.json) allows or refuses, with their
 * argument filters and the capability and architecture each one depends on.
 * The x86_64 effect is checked against the installed file by
 * tests/unit/test_seccomp_profile.c. */
#include "engine/seccomp_profile_data.h"

#include <errno.h>

/* Refused with EPERM (rather than the default ENOSYS): obsolete or
 * host-affecting calls that programs should not retry another way. */
static const char *const refused_eperm[] = {
    "bdflush", "io_pgetevents", "kexec_file_load", "kexec_load", "migrate_pages",
    "move_pages", "nfsservctl", "nice", "oldfstat", "oldlstat", "oldolduname",
    "oldstat", "olduname", "pciconfig_iobase", "pciconfig_read", "pciconfig_write",
    "sgetmask", "ssetmask", "swapcontext", "swapoff", "swapon", "sysfs", "uselib",
    "userfaultfd", "ustat", "vm86", "vm86old", "vmsplice",
    NULL
};

/* Allowed to every container; the kernel still checks capabilities. */
static const char *const allowed[] = {
    "_llseek", "_newselect", "accept", "accept4", "access", "adjtimex", "alarm", "bind",
    "brk", "capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime",
    "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
    "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "clone", "clone3",
    "close", "close_range", "connect", "copy_file_range", "creat", "dup", "dup2",
    "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
    "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd",
    "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2",
    "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod",
    "fchmodat", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync",
    "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsconfig", "fsetxattr",
    "fsmount", "fsopen", "fspick", "fstat", "fstat64", "fstatat64", "fstatfs",
    "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_time64",
    "futimesat", "get_mempolicy", "get_robust_list", "get_thread_area", "getcpu",
    "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32",
    "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername",
    "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
    "getresgid32", "getresuid", "getresuid32", "getrlimit", "getrusage", "getsid",
    "getsockname", "getsockopt", "gettid", "gettimeofday", "getuid", "getuid32",
    "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
    "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_setup",
    "io_submit", "ioctl", "ioprio_get", "ioprio_set", "ipc", "keyctl", "kill",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
    "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr",
    "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "mbind",
    "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat",
    "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mount",
    "mount_setattr", "move_mount", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
    "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
    "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
    "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "open",
    "open_tree", "openat", "openat2", "pause", "pidfd_getfd", "pidfd_open",
    "pidfd_send_signal", "pipe", "pipe2", "pivot_root", "pkey_alloc", "pkey_free",
    "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv",
    "preadv2", "prlimit64", "process_mrelease", "process_vm_readv", "process_vm_writev",
    "pselect6", "pselect6_time64", "ptrace", "pwrite64", "pwritev", "pwritev2", "read",
    "readahead", "readdir", "readlink", "readlinkat", "readv", "reboot", "recv",
    "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages",
    "removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir",
    "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
    "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo", "sched_get_priority_max", "sched_get_priority_min",
    "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
    "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp",
    "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
    "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "set_mempolicy",
    "set_robust_list", "set_thread_area", "set_tid_address", "setfsgid", "setfsgid32",
    "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32",
    "setitimer", "setns", "setpgid", "setpriority", "setregid", "setregid32",
    "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32",
    "setrlimit", "setsid", "setsockopt", "setuid", "setuid32", "setxattr", "shmat",
    "shmctl", "shmdt", "shmget", "shutdown", "sigaction", "sigaltstack", "signal",
    "signalfd", "signalfd4", "sigpending", "sigprocmask", "sigreturn", "sigsuspend",
    "socketcall", "socketpair", "splice", "stat", "stat64", "statfs", "statfs64",
    "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "syscall",
    "sysinfo", "syslog", "tee", "tgkill", "time", "timer_create", "timer_delete",
    "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
    "timer_settime64", "timerfd", "timerfd_create", "timerfd_gettime",
    "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill",
    "truncate", "truncate64", "ugetrlimit", "umask", "umount", "umount2", "uname",
    "unlink", "unlinkat", "unshare", "utime", "utimensat", "utimensat_time64", "utimes",
    "vfork", "wait4", "waitid", "waitpid", "write", "writev",
    NULL
};

static const char *const personality[] = { "personality", NULL };
static const char *const ppc64le_only[] = { "sync_file_range2", NULL };
static const char *const arm_only[] = {
    "arm_fadvise64_64", "arm_sync_file_range", "breakpoint", "cacheflush", "set_tls",
    "sync_file_range2", NULL
};
static const char *const arch_prctl[] = { "arch_prctl", NULL };
static const char *const modify_ldt[] = { "modify_ldt", NULL };
static const char *const s390_only[] = {
    "s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr", NULL
};
static const char *const dac_read_search[] = { "open_by_handle_at", NULL };
static const char *const sys_admin[] = {
    "bpf", "fanotify_init", "lookup_dcookie", "perf_event_open", "quotactl",
    "setdomainname", "sethostname", "setns", NULL
};
static const char *const sys_chroot[] = { "chroot", NULL };
static const char *const sys_module[] = {
    "delete_module", "finit_module", "init_module", "query_module", NULL
};
static const char *const sys_pacct[] = { "acct", NULL };
static const char *const sys_ptrace[] = { "kcmp", "process_madvise", NULL };
static const char *const sys_rawio[] = { "ioperm", "iopl", NULL };
static const char *const sys_time[] = {
    "clock_settime", "clock_settime64", "settimeofday", "stime", NULL
};
static const char *const sys_tty_config[] = { "vhangup", NULL };
static const char *const socket_call[] = { "socket", NULL };

#define ALLOW "SCMP_ACT_ALLOW"
#define ERRNO "SCMP_ACT_ERRNO"
#define EQ "SCMP_CMP_EQ"
#define NE "SCMP_CMP_NE"

/* personality(2) values allowed: PER_LINUX, UNAME26, PER_LINUX32,
 * PER_LINUX32|UNAME26 and 0xffffffff (query the current persona). */
#define PERSONA(v) { personality, ALLOW, -1, ZSC_ALWAYS, NULL, 0, {{0, (v), EQ}}, 1 }

/* A group allowed with cap, and refused with EPERM without it. */
#define CAP_PAIR(names, cap)                                          \
    { names, ALLOW, -1, ZSC_WITH_CAP, cap, 0, {{0}}, 0 },             \
    { names, ERRNO, EPERM, ZSC_WITHOUT_CAP, cap, 0, {{0}}, 0 }

/* socket(AF_NETLINK = 16, *, NETLINK_AUDIT = 9) fails with EINVAL without
 * CAP_AUDIT_WRITE (so audit clients fall back quietly); other sockets pass. */
#define AF_NETLINK_NR 16
#define NETLINK_AUDIT_NR 9

const struct zsc_group zsc_groups[] = {
    { refused_eperm, ERRNO, EPERM, ZSC_ALWAYS, NULL, 0, {{0}}, 0 },
    { allowed, ALLOW, -1, ZSC_ALWAYS, NULL, 0, {{0}}, 0 },
    PERSONA(0x0),
    PERSONA(0x8),
    PERSONA(0x20000),
    PERSONA(0x20008),
    PERSONA(0xffffffff),
    { ppc64le_only, ALLOW, -1, ZSC_ALWAYS, NULL, ZSC_ARCH_PPC64LE, {{0}}, 0 },
    { arm_only, ALLOW, -1, ZSC_ALWAYS, NULL, ZSC_ARCH_ARM | ZSC_ARCH_AARCH64, {{0}}, 0 },
    { arch_prctl, ALLOW, -1, ZSC_ALWAYS, NULL, ZSC_ARCH_X86_64 | ZSC_ARCH_X32, {{0}}, 0 },
    { modify_ldt, ALLOW, -1, ZSC_ALWAYS, NULL,
      ZSC_ARCH_X86_64 | ZSC_ARCH_X32 | ZSC_ARCH_X86, {{0}}, 0 },
    { s390_only, ALLOW, -1, ZSC_ALWAYS, NULL, ZSC_ARCH_S390 | ZSC_ARCH_S390X, {{0}}, 0 },
    CAP_PAIR(dac_read_search, "CAP_DAC_READ_SEARCH"),
    CAP_PAIR(sys_admin, "CAP_SYS_ADMIN"),
    CAP_PAIR(sys_chroot, "CAP_SYS_CHROOT"),
    CAP_PAIR(sys_module, "CAP_SYS_MODULE"),
    CAP_PAIR(sys_pacct, "CAP_SYS_PACCT"),
    CAP_PAIR(sys_ptrace, "CAP_SYS_PTRACE"),
    CAP_PAIR(sys_rawio, "CAP_SYS_RAWIO"),
    CAP_PAIR(sys_time, "CAP_SYS_TIME"),
    CAP_PAIR(sys_tty_config, "CAP_SYS_TTY_CONFIG"),
    { socket_call, ERRNO, EINVAL, ZSC_WITHOUT_CAP, "CAP_AUDIT_WRITE", 0,
      {{0, AF_NETLINK_NR, EQ}, {2, NETLINK_AUDIT_NR, EQ}}, 2 },
    { socket_call, ALLOW, -1, ZSC_WITHOUT_CAP, "CAP_AUDIT_WRITE", 0,
      {{2, NETLINK_AUDIT_NR, NE}}, 1 },
    { socket_call, ALLOW, -1, ZSC_WITHOUT_CAP, "CAP_AUDIT_WRITE", 0,
      {{0, AF_NETLINK_NR, NE}}, 1 },
    { socket_call, ALLOW, -1, ZSC_WITHOUT_CAP, "CAP_AUDIT_WRITE", 0,
      {{2, NETLINK_AUDIT_NR, NE}}, 1 },
    { socket_call, ALLOW, -1, ZSC_WITH_CAP, "CAP_AUDIT_WRITE", 0, {{0}}, 0 },
};

const size_t zsc_n_groups = sizeof zsc_groups / sizeof zsc_groups[0];
