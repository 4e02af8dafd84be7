/* A container's cgroup, across every hierarchy of the host: pure cgroup v1,
 * pure v2, or the hybrid split (v1 controllers plus a cgroup2 mount, usually
 * at /sys/fs/cgroup/unified). Depends only on core/.
 *
 * Path forms accepted by zcg_create (cgroupsPath in config.json):
 *   "/a/b"   absolute: the same path below the root of every hierarchy
 *   "a/b"    relative to the calling process's own cgroup in each hierarchy
 *   NULL     default "/zone/<id>"
 *   "slice:prefix:name" with the systemd driver ("/run/systemd/system" must
 *            exist): "/parent.slice/…/slice/prefix-name.scope".
 *
 * Device rules are written to devices.allow/deny on v1 only; on v2 they need
 * an eBPF program, which zcg_apply does not attach (see resources_v2.c). */
#ifndef ZONE_CGROUPS_CGROUPS_H
#define ZONE_CGROUPS_CGROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "core/spec.h"

struct zcgroup; /* a container's cgroup, across all hierarchies */

enum zcg_mode { ZCG_V1, ZCG_V2, ZCG_HYBRID };

/* The host's cgroup layout, detected once and cached. When detection fails
 * (no cgroup filesystem mounted) this answers ZCG_V2; zcg_host_detect says
 * why. */
enum zcg_mode zcg_host_mode(void);
int zcg_host_detect(enum zcg_mode *mode, struct zerr *e);
const char *zcg_mode_name(enum zcg_mode m); /* "v1", "v2", "hybrid" */

/* The cgroup2 root flags the host mounted its hierarchy with (the super
 * options of the first cgroup2 mount in mountinfo, less rw/ro/seclabel:
 * "nsdelegate,memory_recursiveprot"). A cgroup2 mount made in the initial
 * cgroup namespace applies its own flags to the whole hierarchy, so a
 * fresh mount has to repeat these or it clears them for the host. Returns 1
 * with the flags in out, 0 when no cgroup2 is mounted (out is ""), -1 (+e)
 * on errors. zcg_v2_root_flags_from parses given mountinfo text (-ENOMEM,
 * -ENAMETOOLONG when out is too small). */
int zcg_v2_host_root_flags(char *out, size_t size, struct zerr *e);
int zcg_v2_root_flags_from(const char *mountinfo, char *out, size_t size);

/* Resolves and creates the container's cgroup directories in every
 * hierarchy zone uses (all v1 hierarchies, named ones included, and the
 * cgroup2 one), enables the available controllers in cgroup.subtree_control
 * of each v2 ancestor and fills empty v1 cpuset.cpus/mems from the parent.
 * An existing leaf is reused. Moves no process. */
struct zcgroup *zcg_create(const char *cgroups_path, const char *id,
                           bool systemd, struct zerr *e);
/* zcg_create in steps, so that a new init can be cloned into the v2
 * directory while the v1 ones are made (runtime/create.c): zcg_resolve
 * fills in every path and makes nothing; zcg_make makes the v2 (v2 true)
 * or the v1 directories, with the same per-level setup as zcg_create;
 * zcg_unmake removes what zcg_make made (after a failure). */
struct zcgroup *zcg_resolve(const char *cgroups_path, const char *id,
                            bool systemd, struct zerr *e);
int zcg_make(struct zcgroup *cg, bool v2, struct zerr *e);
/* How many v1 hierarchies cg has a directory in. */
size_t zcg_v1_count(const struct zcgroup *cg);
void zcg_unmake(struct zcgroup *cg);
/* Re-opens a cgroup from zcg_serialize's output (kept in the state dir). */
struct zcgroup *zcg_open(const char *serialized, struct zerr *e);
/* A small text: "<mode> <path>" plus one "<hierarchy> <path>" line for each
 * hierarchy whose path differs (relative paths). */
char *zcg_serialize(const struct zcgroup *cg);
void zcg_free(struct zcgroup *cg);

enum zcg_mode zcg_mode_of(const struct zcgroup *cg);
/* The container's path inside the hierarchies, e.g. "/zone/abc". */
const char *zcg_path(const struct zcgroup *cg);

/* zcg_is_frozen of a recorded cgroup (zcg_serialize), opening only the
 * hierarchies that can freeze. */
int zcg_record_is_frozen(const char *serialized, bool *frozen, struct zerr *e);

/* Moves pid (and its threads) into every hierarchy: cgroup.procs writes. */
int zcg_enter(const struct zcgroup *cg, pid_t pid, struct zerr *e);

/* The fast way in for a new process (cgroups/entry.c): the parent opens
 * the entry; the child, single-threaded, calls zcg_entry_join_self (v1)
 * and is cloned with CLONE_INTO_CGROUP into v2_dir_fd (v2). */
struct zcg_entry {
    int *tasks_fds;      /* the v1 hierarchies' `tasks` files */
    size_t n_tasks;
    int v2_dir_fd;       /* the v2 cgroup directory, or -1 */
};
/* Whether cg can be entered that way (not with the systemd driver). */
bool zcg_entry_usable(const struct zcgroup *cg);
int zcg_entry_open(const struct zcgroup *cg, struct zcg_entry *ent, struct zerr *e);
/* zcg_entry_open in two steps: the v2 directory (this one initialises ent)
 * and the v1 `tasks` files, each once its directories exist. */
int zcg_entry_open_v2(const struct zcgroup *cg, struct zcg_entry *ent, struct zerr *e);
int zcg_entry_open_v1(const struct zcgroup *cg, struct zcg_entry *ent, struct zerr *e);
/* Joins the v1 hierarchies and closes every fd of the entry, the v2
 * directory's too: the caller goes on to chdir into the container, where a
 * cwd of /proc/self/fd/N must not reach the host's cgroup tree
 * (CVE-2024-21626). */
int zcg_entry_join_self(struct zcg_entry *ent, struct zerr *e);
void zcg_entry_close(struct zcg_entry *ent);
/* A fork-like clone with flags (namespaces; SIGCHLD is added), into the
 * v2 cgroup directory v2_dir_fd when it is >= 0 and the kernel can
 * (*into_v2 tells). */
pid_t zcg_clone_into(int flags, int v2_dir_fd, bool *into_v2);
/* The v2 part of zcg_enter, for when CLONE_INTO_CGROUP was not possible. */
int zcg_enter_v2(const struct zcgroup *cg, pid_t pid, struct zerr *e);
int zcg_apply(const struct zcgroup *cg, const struct zspec_resources *r,
              struct zerr *e);
/* Waits until the cgroup reports FROZEN / THAWED (bounded wait). */
int zcg_freeze(const struct zcgroup *cg, bool frozen, struct zerr *e);
int zcg_is_frozen(const struct zcgroup *cg, bool *frozen, struct zerr *e);
/* Every process (tgid) in the cgroup and its descendants; *pids is malloc'd
 * (NULL when *n == 0). */
int zcg_pids(const struct zcgroup *cg, pid_t **pids, size_t *n,
             struct zerr *e);
/* SIGKILL through cgroup.kill where the kernel has it; otherwise freezes,
 * signals every process, thaws. */
int zcg_kill_all(const struct zcgroup *cg, int sig, struct zerr *e);
/* Removes the directories (and sub-cgroups the container made) in every
 * hierarchy, SIGKILLing leftovers first when `force`; retries EBUSY
 * briefly. Missing directories are not an error. */
int zcg_destroy(const struct zcgroup *cg, bool force, struct zerr *e);

/* For the cgroup mount inside a container: one entry per hierarchy. */
struct zcg_mount_entry {
    char *name;      /* dir under /sys/fs/cgroup in the container:
                        "cpu,cpuacct", "memory", "systemd", "unified"
                        (hybrid), or "" for pure v2 */
    char *host_path; /* the container's cgroup dir on the host */
    bool v2;
    char **symlinks; /* comounted v1 ("cpu,cpuacct"): "cpu", "cpuacct";
                        NULL-terminated, or NULL */
};
int zcg_mount_entries(const struct zcgroup *cg, struct zcg_mount_entry **out,
                      size_t *n, struct zerr *e);
void zcg_mount_entries_free(struct zcg_mount_entry *m, size_t n);

/* Basic stats for `events --stats`. Values the host does not expose are 0;
 * unlimited memory limits are UINT64_MAX on v2 and the kernel's number on
 * v1; pids_limit 0 means no limit. */
struct zcg_stats {
    uint64_t cpu_usage_ns, cpu_user_ns, cpu_system_ns, cpu_throttled_periods,
        cpu_throttled_time_ns, cpu_periods;
    uint64_t mem_usage, mem_limit, mem_max_usage, mem_failcnt, mem_cache,
        mem_swap_usage, mem_swap_limit;
    uint64_t pids_current, pids_limit;
    uint64_t oom_kill_count;
    /* Arrays below are malloc'd (release with zcg_stats_clear); a count of
     * 0 means the host does not expose the statistic. Per-cpu usage exists
     * only on v1 (cpuacct.usage_percpu*). */
    uint64_t *cpu_percpu_ns, *cpu_percpu_user_ns, *cpu_percpu_system_ns;
    size_t n_cpu_percpu, n_cpu_percpu_user, n_cpu_percpu_system;
    struct zcg_stat_kv *mem_raw;        /* memory.stat, in file order */
    size_t n_mem_raw;
    struct zcg_hugetlb_stat *hugetlb;   /* one per page size */
    size_t n_hugetlb;
    struct zcg_blkio_entry *io_bytes;   /* bytes per device and op */
    struct zcg_blkio_entry *io_ops;     /* requests per device and op */
    size_t n_io_bytes, n_io_ops;
};
/* Fills *st (overwriting it: clear a previous sample first). On failure
 * nothing is left allocated. */
int zcg_stats(const struct zcgroup *cg, struct zcg_stats *st, struct zerr *e);

/* ------------------------------------------------ detailed stats, events */

struct zcg_stat_kv {
    char *key;
    uint64_t value;
};
struct zcg_hugetlb_stat {
    char page_size[16]; /* "2MB", "1GB", as in the cgroup file names */
    uint64_t usage, max_usage, failcnt; /* max_usage is 0 on v2 */
};
struct zcg_blkio_entry {
    uint32_t major, minor;
    char op[8]; /* "Read", "Write", "Sync", "Async", "Discard" */
    uint64_t value;
};
/* Frees the arrays of a zcg_stats sample and zeroes it. */
void zcg_stats_clear(struct zcg_stats *st);

/* How many processes the OOM killer has killed in the container's memory
 * cgroup and below since it was created: v2 memory.events "oom_kill", v1
 * memory.oom_control "oom_kill" (kernel 4.13+). ENOTSUP when the kernel
 * does not count OOM kills, ENOENT when there is no memory controller. */
int zcg_oom_count(const struct zcgroup *cg, uint64_t *n, struct zerr *e);


/* ------------------------------------------------------------ rootless */

#define ZCG_ROOTLESS_LIMITS_MSG                                               \
    "linux.resources: limits need a delegated cgroup when running rootless " \
    "(see docs/rootless.md)"

/* Whether zone runs rootless: the global --rootless setting (1 true, 0
 * false) or, for -1 (auto), an effective uid other than 0 or a user
 * namespace other than the initial one (per /proc/self/uid_map). */
bool zcg_rootless(int setting);
/* Whether r asks for something only a cgroup enforces: any memory, cpu,
 * cpuset, pids, blockIO, hugepage, network, rdma or unified setting, or a
 * device deny rule other than the catch-all "deny all" (allow rules and
 * that default restrict nothing a user namespace does not). NULL: false. */
bool zcg_limits_requested(const struct zspec_resources *r);
/* The rootless container's cgroup: on a pure cgroup v2 host where the
 * cgroup is delegated to the caller (cgroup.procs and
 * cgroup.subtree_control owned by the effective uid), creates
 * <own>/zone-<id> (<own>/<cgroups_path> for a relative path; an absolute
 * path when its deepest existing ancestor is delegated), enabling the
 * available controllers on each new level's parent unless that parent holds
 * processes (then the cgroup has no controllers). Without delegation
 * returns 0 with *out NULL and the reason in why. -1 (+e) on errors. */
int zcg_create_rootless(const char *cgroups_path, const char *id,
                        struct zcgroup **out, char *why, size_t why_size,
                        struct zerr *e);
/* zcg_create_rootless for a container with config resources r: without
 * delegation, warns and leaves *out NULL, or fails with
 * ZCG_ROOTLESS_LIMITS_MSG when r requests limits. */
int zcg_rootless_setup(const char *cgroups_path, const char *id,
                       const struct zspec_resources *r, struct zcgroup **out,
                       struct zerr *e);
/* Applies r's limits to a rootless container's cgroup; device rules
 * (with_device_rules, the full list) only when r restricts devices.
 * Failures carry the ZCG_ROOTLESS_LIMITS_MSG prefix. */
int zcg_rootless_apply(const struct zcgroup *cg, const struct zspec_resources *r,
                       const struct zspec_resources *with_device_rules,
                       struct zerr *e);

#endif
