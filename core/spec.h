/* The OCI runtime-spec 1.2 model (Linux parts): typed structs for config.json
 * and state.json, parsed and emitted with yajl.
 *
 * Conventions:
 *  - Strings are heap-allocated, NULL when absent.
 *  - Arrays are a pointer plus a count (`x` and `n_x`); string arrays are also
 *    NULL-terminated so they can go to execve() directly.
 *  - Optional scalars carry a `has_<name>` flag.
 *  - Maps (annotations, sysctl, unified) are struct zspec_kv arrays in
 *    document order.
 *  - spec_free() releases everything the parser allocated. */
#ifndef ZONE_CORE_SPEC_H
#define ZONE_CORE_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"

#define ZONE_OCI_VERSION "1.2.0"

struct zspec_kv {
    char *key;
    char *value;
};

struct zspec_idmap {
    uint32_t container_id;
    uint32_t host_id;
    uint32_t size;
};

/* ------------------------------------------------------------ process */

struct zspec_rlimit {
    char *type;      /* "RLIMIT_NOFILE" ... */
    int resource;    /* resolved RLIMIT_* number */
    uint64_t hard;
    uint64_t soft;
};

struct zspec_capabilities {
    /* each NULL-terminated; NULL when the set is absent (= empty) */
    char **bounding;    size_t n_bounding;
    char **effective;   size_t n_effective;
    char **inheritable; size_t n_inheritable;
    char **permitted;   size_t n_permitted;
    char **ambient;     size_t n_ambient;
};

struct zspec_user {
    uint32_t uid;
    uint32_t gid;
    bool has_umask;
    uint32_t umask;
    uint32_t *additional_gids;
    size_t n_additional_gids;
    char *username;  /* ignored on Linux, kept for round-trip */
};

struct zspec_scheduler {
    char *policy;        /* SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH,
                            SCHED_ISO, SCHED_IDLE, SCHED_DEADLINE */
    int policy_num;      /* resolved */
    bool has_nice;       int32_t nice;
    bool has_priority;   int32_t priority;
    char **flags;        size_t n_flags;   /* SCHED_FLAG_* names */
    uint64_t flags_mask; /* resolved SCHED_FLAG_* bits */
    bool has_runtime;    uint64_t runtime;
    bool has_deadline;   uint64_t deadline;
    bool has_period;     uint64_t period;
};

struct zspec_io_priority {
    char *class;         /* IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE */
    int class_num;       /* resolved 1..3 */
    int32_t priority;    /* 0..7 */
};

struct zspec_exec_cpu_affinity {
    char *initial;       /* cpu list, e.g. "0-3,7" */
    char *final;
};

struct zspec_process {
    bool terminal;
    bool has_console_size;
    uint32_t console_height;
    uint32_t console_width;
    struct zspec_user user;
    char **args;        size_t n_args;      /* NULL-terminated */
    char *command_line;                    /* windows; kept for round-trip */
    char **env;         size_t n_env;       /* NULL-terminated */
    char *cwd;                              /* required, absolute */
    struct zspec_capabilities *capabilities; /* NULL when absent */
    struct zspec_rlimit *rlimits; size_t n_rlimits;
    bool no_new_privileges;
    char *apparmor_profile;
    bool has_oom_score_adj;
    int32_t oom_score_adj;
    char *selinux_label;
    struct zspec_scheduler *scheduler;      /* NULL when absent */
    struct zspec_io_priority *io_priority;  /* NULL when absent */
    struct zspec_exec_cpu_affinity *exec_cpu_affinity; /* NULL when absent */
};

/* ------------------------------------------------------------ mounts, root */

struct zspec_mount {
    char *destination;  /* required */
    char *type;
    char *source;
    char **options;     size_t n_options;   /* NULL-terminated */
    struct zspec_idmap *uid_mappings; size_t n_uid_mappings;
    struct zspec_idmap *gid_mappings; size_t n_gid_mappings;
};

struct zspec_root {
    char *path;         /* required */
    bool readonly;
};

/* ------------------------------------------------------------ hooks */

struct zspec_hook {
    char *path;         /* required, absolute */
    char **args;        size_t n_args;      /* NULL-terminated */
    char **env;         size_t n_env;       /* NULL-terminated */
    bool has_timeout;
    int32_t timeout;    /* seconds, > 0 */
};

struct zspec_hook_list {
    struct zspec_hook *hooks;
    size_t n_hooks;
};

struct zspec_hooks {
    struct zspec_hook_list prestart;
    struct zspec_hook_list create_runtime;
    struct zspec_hook_list create_container;
    struct zspec_hook_list start_container;
    struct zspec_hook_list poststart;
    struct zspec_hook_list poststop;
};

/* ------------------------------------------------------------ linux.resources */

struct zspec_device_cgroup {
    bool allow;
    char *type;            /* "a", "b", "c"; NULL = all */
    bool has_major;        int64_t major;   /* absent = wildcard */
    bool has_minor;        int64_t minor;
    char *access;          /* subset of "rwm"; NULL = "rwm" */
};

struct zspec_memory {
    bool has_limit;        int64_t limit;
    bool has_reservation;  int64_t reservation;
    bool has_swap;         int64_t swap;
    bool has_kernel;       int64_t kernel;
    bool has_kernel_tcp;   int64_t kernel_tcp;
    bool has_swappiness;   uint64_t swappiness;
    bool has_disable_oom_killer; bool disable_oom_killer;
    bool has_use_hierarchy; bool use_hierarchy;
    bool has_check_before_update; bool check_before_update;
};

struct zspec_cpu {
    bool has_shares;       uint64_t shares;
    bool has_quota;        int64_t quota;
    bool has_burst;        uint64_t burst;
    bool has_period;       uint64_t period;
    bool has_realtime_runtime; int64_t realtime_runtime;
    bool has_realtime_period;  uint64_t realtime_period;
    char *cpus;
    char *mems;
    bool has_idle;         int64_t idle;
};

struct zspec_pids {
    bool has_limit;
    int64_t limit;
};

struct zspec_weight_device {
    int64_t major;
    int64_t minor;
    bool has_weight;       uint16_t weight;
    bool has_leaf_weight;  uint16_t leaf_weight;
};

struct zspec_throttle_device {
    int64_t major;
    int64_t minor;
    uint64_t rate;
};

struct zspec_blkio {
    bool has_weight;       uint16_t weight;
    bool has_leaf_weight;  uint16_t leaf_weight;
    struct zspec_weight_device *weight_device; size_t n_weight_device;
    struct zspec_throttle_device *throttle_read_bps;   size_t n_throttle_read_bps;
    struct zspec_throttle_device *throttle_write_bps;  size_t n_throttle_write_bps;
    struct zspec_throttle_device *throttle_read_iops;  size_t n_throttle_read_iops;
    struct zspec_throttle_device *throttle_write_iops; size_t n_throttle_write_iops;
};

struct zspec_hugepage_limit {
    char *page_size;       /* "2MB", "1GB" */
    uint64_t limit;
};

struct zspec_net_priority {
    char *name;
    uint32_t priority;
};

struct zspec_network {
    bool has_class_id;     uint32_t class_id;
    struct zspec_net_priority *priorities; size_t n_priorities;
};

struct zspec_rdma {
    char *device;          /* map key */
    bool has_hca_handles; uint32_t hca_handles;
    bool has_hca_objects; uint32_t hca_objects;
};

struct zspec_resources {
    struct zspec_device_cgroup *devices; size_t n_devices;
    struct zspec_memory *memory;        /* NULL when absent */
    struct zspec_cpu *cpu;
    struct zspec_pids *pids;
    struct zspec_blkio *block_io;
    struct zspec_hugepage_limit *hugepage_limits; size_t n_hugepage_limits;
    struct zspec_network *network;
    struct zspec_rdma *rdma; size_t n_rdma;
    struct zspec_kv *unified; size_t n_unified;
};

/* ------------------------------------------------------------ linux, other */

enum zspec_ns_type {
    ZNS_PID, ZNS_NETWORK, ZNS_MOUNT, ZNS_IPC, ZNS_UTS, ZNS_USER, ZNS_CGROUP,
    ZNS_TIME, ZNS__COUNT
};

struct zspec_namespace {
    enum zspec_ns_type type;
    char *path;            /* NULL: create a new one */
};

struct zspec_device {
    char *type;            /* "c", "b", "u", "p" */
    char *path;            /* required, absolute */
    bool has_major;        int64_t major;   /* required unless type p */
    bool has_minor;        int64_t minor;
    bool has_file_mode;    uint32_t file_mode;
    bool has_uid;          uint32_t uid;
    bool has_gid;          uint32_t gid;
};

struct zspec_seccomp_arg {
    uint32_t index;        /* 0..5 */
    uint64_t value;
    uint64_t value_two;
    char *op;              /* SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT, _MASKED_EQ */
};

struct zspec_seccomp_syscall {
    char **names;          size_t n_names;   /* NULL-terminated */
    char *action;          /* SCMP_ACT_* */
    bool has_errno_ret;    uint32_t errno_ret;
    struct zspec_seccomp_arg *args; size_t n_args;
};

struct zspec_seccomp {
    char *default_action;  /* required, SCMP_ACT_* */
    bool has_default_errno_ret; uint32_t default_errno_ret;
    char **architectures;  size_t n_architectures; /* SCMP_ARCH_* */
    char **flags;          size_t n_flags;         /* SECCOMP_FILTER_FLAG_* */
    char *listener_path;
    char *listener_metadata;
    struct zspec_seccomp_syscall *syscalls; size_t n_syscalls;
};

struct zspec_intel_rdt {
    char *clos_id;
    char *l3_cache_schema;
    char *mem_bw_schema;
    char *schemata;        /* 1.2: lines joined with '\n'; NULL when absent */
    bool enable_cmt;
    bool enable_mbm;
};

struct zspec_personality {
    char *domain;          /* LINUX or LINUX32 */
    char **flags;          size_t n_flags;
};

struct zspec_time_offset {
    bool present;
    int64_t secs;
    uint32_t nanosecs;
};

struct zspec_linux {
    struct zspec_idmap *uid_mappings; size_t n_uid_mappings;
    struct zspec_idmap *gid_mappings; size_t n_gid_mappings;
    struct zspec_kv *sysctl; size_t n_sysctl;
    struct zspec_resources *resources;   /* NULL when absent */
    char *cgroups_path;
    struct zspec_namespace *namespaces; size_t n_namespaces;
    struct zspec_device *devices; size_t n_devices;
    struct zspec_seccomp *seccomp;       /* NULL when absent */
    char *rootfs_propagation;            /* shared, slave, private, unbindable,
                                            rshared, rslave, rprivate, runbindable */
    char **masked_paths;   size_t n_masked_paths;
    char **readonly_paths; size_t n_readonly_paths;
    char *mount_label;
    struct zspec_intel_rdt *intel_rdt;   /* NULL when absent */
    struct zspec_personality *personality; /* NULL when absent */
    struct zspec_time_offset time_monotonic;
    struct zspec_time_offset time_boottime;
};

/* ------------------------------------------------------------ config */

struct zspec {
    char *oci_version;     /* required */
    struct zspec_root *root;         /* NULL when absent */
    struct zspec_mount *mounts; size_t n_mounts;
    struct zspec_process *process;   /* NULL when absent */
    char *hostname;
    char *domainname;
    struct zspec_hooks *hooks;       /* NULL when absent */
    struct zspec_kv *annotations; size_t n_annotations;
    struct zspec_linux *linux_;      /* NULL when absent */
};

/* Parses config.json text. `origin` names the document in messages
 * ("config.json"); errors read "<origin>: <json.path>: <problem>". Unknown
 * fields are ignored. Returns NULL with *e filled on failure. */
struct zspec *spec_parse(const char *json, size_t len, const char *origin,
                         struct zerr *e);
/* Reads and parses a file (e.g. "<bundle>/config.json"). */
struct zspec *spec_load(const char *path, struct zerr *e);
/* Parses a process object alone (exec --process FILE). */
struct zspec_process *spec_process_parse(const char *json, size_t len,
                                         const char *origin, struct zerr *e);
/* Parses a linux.resources object alone (update --resources FILE). */
struct zspec_resources *spec_resources_parse(const char *json, size_t len,
                                             const char *origin, struct zerr *e);

/* Serialises to JSON (malloc'd, NUL-terminated). Round-trips spec_parse. */
char *spec_emit(const struct zspec *s, bool pretty, struct zerr *e);

void spec_free(struct zspec *s);
void spec_process_free(struct zspec_process *p);
void spec_resources_free(struct zspec_resources *r);
/* Releases a seccomp object built outside a spec (e.g. a default profile). */
void spec_seccomp_free(struct zspec_seccomp *s);

/* Lookups. */
const char *spec_annotation(const struct zspec *s, const char *key);
/* The namespace entry of type t, or NULL when the config does not ask for it. */
const struct zspec_namespace *spec_namespace(const struct zspec *s,
                                             enum zspec_ns_type t);
const char *spec_ns_type_name(enum zspec_ns_type t);  /* "pid", "network"... */
int spec_ns_clone_flag(enum zspec_ns_type t);          /* CLONE_NEWPID... */

/* The default config of `zone spec` (runc's defaults); rootless variant adds a
 * user namespace with the caller's ids mapped and drops network/cgroup bits. */
struct zspec *spec_default(bool rootless, uid_t uid, gid_t gid);

/* ------------------------------------------------------------ state.json */

enum zstate_status { ZSTATUS_CREATING, ZSTATUS_CREATED, ZSTATUS_RUNNING,
                     ZSTATUS_PAUSED, ZSTATUS_STOPPED };

struct zstate_doc {
    char *oci_version;
    char *id;
    enum zstate_status status;
    pid_t pid;             /* 0 when stopped */
    char *bundle;
    struct zspec_kv *annotations; size_t n_annotations;
};

const char *zstate_status_name(enum zstate_status s);
/* Emits the runtime-spec state object (what `zone state` prints and hooks
 * read on stdin). */
char *zstate_emit(const struct zstate_doc *st, bool pretty, struct zerr *e);

#endif
