/* Name tables for the enumerations of runtime-spec 1.2 and the namespace
 * helpers. Numbers are the kernel's, spelled out where libc headers may lag
 * behind the running kernel. */
#include "core/spec_private.h"

#include <sched.h>
#include <sys/resource.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

const struct spec_name spec_rlimit_names[] = {
    { "RLIMIT_CPU", RLIMIT_CPU },
    { "RLIMIT_FSIZE", RLIMIT_FSIZE },
    { "RLIMIT_DATA", RLIMIT_DATA },
    { "RLIMIT_STACK", RLIMIT_STACK },
    { "RLIMIT_CORE", RLIMIT_CORE },
    { "RLIMIT_RSS", RLIMIT_RSS },
    { "RLIMIT_NPROC", RLIMIT_NPROC },
    { "RLIMIT_NOFILE", RLIMIT_NOFILE },
    { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
    { "RLIMIT_AS", RLIMIT_AS },
    { "RLIMIT_LOCKS", RLIMIT_LOCKS },
    { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
    { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
    { "RLIMIT_NICE", RLIMIT_NICE },
    { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
    { "RLIMIT_RTTIME", RLIMIT_RTTIME },
    { NULL, 0 },
};

/* include/uapi/linux/sched.h */
const struct spec_name spec_sched_policy_names[] = {
    { "SCHED_OTHER", 0 },
    { "SCHED_FIFO", 1 },
    { "SCHED_RR", 2 },
    { "SCHED_BATCH", 3 },
    { "SCHED_ISO", 4 },
    { "SCHED_IDLE", 5 },
    { "SCHED_DEADLINE", 6 },
    { NULL, 0 },
};

const struct spec_name spec_sched_flag_names[] = {
    { "SCHED_FLAG_RESET_ON_FORK", 0x01 },
    { "SCHED_FLAG_RECLAIM", 0x02 },
    { "SCHED_FLAG_DL_OVERRUN", 0x04 },
    { "SCHED_FLAG_KEEP_POLICY", 0x08 },
    { "SCHED_FLAG_KEEP_PARAMS", 0x10 },
    { "SCHED_FLAG_UTIL_CLAMP_MIN", 0x20 },
    { "SCHED_FLAG_UTIL_CLAMP_MAX", 0x40 },
    { NULL, 0 },
};

/* include/uapi/linux/ioprio.h */
const struct spec_name spec_ioprio_class_names[] = {
    { "IOPRIO_CLASS_RT", 1 },
    { "IOPRIO_CLASS_BE", 2 },
    { "IOPRIO_CLASS_IDLE", 3 },
    { NULL, 0 },
};

const struct spec_name spec_seccomp_action_names[] = {
    { "SCMP_ACT_KILL", 0 },
    { "SCMP_ACT_KILL_PROCESS", 0 },
    { "SCMP_ACT_KILL_THREAD", 0 },
    { "SCMP_ACT_TRAP", 0 },
    { "SCMP_ACT_ERRNO", 0 },
    { "SCMP_ACT_TRACE", 0 },
    { "SCMP_ACT_ALLOW", 0 },
    { "SCMP_ACT_LOG", 0 },
    { "SCMP_ACT_NOTIFY", 0 },
    { NULL, 0 },
};

const struct spec_name spec_seccomp_op_names[] = {
    { "SCMP_CMP_NE", 0 },
    { "SCMP_CMP_LT", 0 },
    { "SCMP_CMP_LE", 0 },
    { "SCMP_CMP_EQ", 0 },
    { "SCMP_CMP_GE", 0 },
    { "SCMP_CMP_GT", 0 },
    { "SCMP_CMP_MASKED_EQ", 0 },
    { NULL, 0 },
};

const struct spec_name spec_seccomp_flag_names[] = {
    { "SECCOMP_FILTER_FLAG_TSYNC", 1 },
    { "SECCOMP_FILTER_FLAG_LOG", 2 },
    { "SECCOMP_FILTER_FLAG_SPEC_ALLOW", 4 },
    { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 32 },
    { NULL, 0 },
};

/* The architectures libseccomp knows by these names. */
const struct spec_name spec_seccomp_arch_names[] = {
    { "SCMP_ARCH_X86", 0 },
    { "SCMP_ARCH_X86_64", 0 },
    { "SCMP_ARCH_X32", 0 },
    { "SCMP_ARCH_ARM", 0 },
    { "SCMP_ARCH_AARCH64", 0 },
    { "SCMP_ARCH_LOONGARCH64", 0 },
    { "SCMP_ARCH_M68K", 0 },
    { "SCMP_ARCH_MIPS", 0 },
    { "SCMP_ARCH_MIPS64", 0 },
    { "SCMP_ARCH_MIPS64N32", 0 },
    { "SCMP_ARCH_MIPSEL", 0 },
    { "SCMP_ARCH_MIPSEL64", 0 },
    { "SCMP_ARCH_MIPSEL64N32", 0 },
    { "SCMP_ARCH_PPC", 0 },
    { "SCMP_ARCH_PPC64", 0 },
    { "SCMP_ARCH_PPC64LE", 0 },
    { "SCMP_ARCH_S390", 0 },
    { "SCMP_ARCH_S390X", 0 },
    { "SCMP_ARCH_PARISC", 0 },
    { "SCMP_ARCH_PARISC64", 0 },
    { "SCMP_ARCH_RISCV64", 0 },
    { "SCMP_ARCH_SH", 0 },
    { "SCMP_ARCH_SHEB", 0 },
    { NULL, 0 },
};

/* runc also takes the recursive forms. */
const struct spec_name spec_propagation_names[] = {
    { "shared", 0 },
    { "slave", 0 },
    { "private", 0 },
    { "unbindable", 0 },
    { "rshared", 0 },
    { "rslave", 0 },
    { "rprivate", 0 },
    { "runbindable", 0 },
    { NULL, 0 },
};

/* include/uapi/linux/personality.h: PER_LINUX, PER_LINUX32 */
const struct spec_name spec_personality_names[] = {
    { "LINUX", 0x0000 },
    { "LINUX32", 0x0008 },
    { NULL, 0 },
};

const struct spec_name spec_ns_type_names[] = {
    { "pid", ZNS_PID },
    { "network", ZNS_NETWORK },
    { "mount", ZNS_MOUNT },
    { "ipc", ZNS_IPC },
    { "uts", ZNS_UTS },
    { "user", ZNS_USER },
    { "cgroup", ZNS_CGROUP },
    { "time", ZNS_TIME },
    { NULL, 0 },
};

static const char *const ns_names[ZNS__COUNT] = {
    [ZNS_PID] = "pid",
    [ZNS_NETWORK] = "network",
    [ZNS_MOUNT] = "mount",
    [ZNS_IPC] = "ipc",
    [ZNS_UTS] = "uts",
    [ZNS_USER] = "user",
    [ZNS_CGROUP] = "cgroup",
    [ZNS_TIME] = "time",
};

static const int ns_flags[ZNS__COUNT] = {
    [ZNS_PID] = CLONE_NEWPID,
    [ZNS_NETWORK] = CLONE_NEWNET,
    [ZNS_MOUNT] = CLONE_NEWNS,
    [ZNS_IPC] = CLONE_NEWIPC,
    [ZNS_UTS] = CLONE_NEWUTS,
    [ZNS_USER] = CLONE_NEWUSER,
    [ZNS_CGROUP] = CLONE_NEWCGROUP,
    [ZNS_TIME] = CLONE_NEWTIME,
};

const char *spec_ns_type_name(enum zspec_ns_type t)
{
    if ((unsigned)t >= ZNS__COUNT)
        return NULL;
    return ns_names[t];
}

int spec_ns_clone_flag(enum zspec_ns_type t)
{
    if ((unsigned)t >= ZNS__COUNT)
        return 0;
    return ns_flags[t];
}

const char *zstate_status_name(enum zstate_status s)
{
    switch (s) {
    case ZSTATUS_CREATING: return "creating";
    case ZSTATUS_CREATED: return "created";
    case ZSTATUS_RUNNING: return "running";
    case ZSTATUS_PAUSED: return "paused";
    case ZSTATUS_STOPPED: return "stopped";
    }
    return NULL;
}
