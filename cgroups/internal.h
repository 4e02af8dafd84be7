/* Internals of cgroups/ shared between its files and its unit tests. Nothing
 * outside cgroups/ and tests/unit/test_cgroups*.c includes this. */
#ifndef ZONE_CGROUPS_INTERNAL_H
#define ZONE_CGROUPS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroups/cgroups.h"
#include "core/error.h"
#include "core/spec.h"

#define ZCG_V2_KEY "cgroup2"

/* ------------------------------------------------------------ host layout */

/* One mounted hierarchy. */
struct zcg_hier {
    char *mountpoint;   /* "/sys/fs/cgroup/cpu,cpuacct" */
    char *mount_root;   /* mountinfo "root" field, usually "/" */
    char *key;          /* "cpu,cpuacct", "name=systemd", or ZCG_V2_KEY */
    char **controllers; /* v1: NULL-terminated names ("name=systemd" kept);
                           v2: NULL */
    bool v2;
};

struct zcg_layout {
    enum zcg_mode mode;
    struct zcg_hier *h;
    size_t n;
};

/* Builds a layout from /proc/self/mountinfo text (only cgroup and cgroup2
 * lines are looked at; the first mount of each hierarchy wins, mounts under
 * /sys/fs/cgroup preferred). */
int zcg_layout_parse_mountinfo(const char *text, struct zcg_layout *out,
                               struct zerr *e);
/* The single-hierarchy layout of a pure v2 host mounted at `mountpoint`. */
int zcg_layout_v2(const char *mountpoint, struct zcg_layout *out,
                  struct zerr *e);
void zcg_layout_free(struct zcg_layout *l);
/* The cached host layout (statfs fast path, else mountinfo). */
const struct zcg_layout *zcg_host_layout(struct zerr *e);

/* The hierarchy of `l` that carries v1 controller `ctrl`, or NULL. */
const struct zcg_hier *zcg_layout_find_v1(const struct zcg_layout *l,
                                          const char *ctrl);

/* Finds the path of the hierarchy `h` in /proc/<pid>/cgroup text, made
 * relative to the mount root. Returns a malloc'd path or NULL (+e). */
char *zcg_own_path(const char *proc_cgroup_text, const struct zcg_hier *h,
                   struct zerr *e);

/* ------------------------------------------------------------ paths */

/* Validates and normalizes a cgroup path relative to a hierarchy root
 * ("/a//b/" -> "/a/b"). Refuses "." and ".." components, newlines and the
 * root itself. */
char *zcg_normalize_path(const char *path, struct zerr *e);
/* "a-b.slice" + "prefix" + "name" -> "/a.slice/a-b.slice/prefix-name.scope". */
char *zcg_systemd_path(const char *slice_prefix_name, const char *id,
                       struct zerr *e);
/* The container's path in one hierarchy. own_path is the caller's own
 * cgroup there (only used for relative paths). */
char *zcg_resolve_path(const char *cgroups_path, const char *id,
                       bool systemd, const char *own_path, struct zerr *e);

/* ------------------------------------------------------------ the object */

struct zcg_dir {
    char *key;          /* hierarchy key (see struct zcg_hier) */
    char *mount_name;   /* basename of the mountpoint; "" for pure v2 */
    char **controllers; /* v1 controllers; NULL for v2 */
    bool v2;
    char *rel;          /* path inside the hierarchy: "/zone/x" */
    char *path;         /* full host path: mountpoint + rel */
    size_t created;     /* length of the shallowest level zcg_make made
                           (0: none), for zcg_unmake */
};

struct zcgroup {
    enum zcg_mode mode;
    char *rel;          /* the path most hierarchies use */
    struct zcg_dir *d;
    size_t n;
    struct zcg_systemd *sd; /* the scope of the systemd driver, else NULL */
};

/* zcg_create / zcg_open on an explicit layout (tests use fake trees).
 * proc_cgroup_text is the caller's /proc/self/cgroup (NULL: read it when a
 * relative path needs it). */
struct zcgroup *zcg_create_in(const struct zcg_layout *l,
                              const char *proc_cgroup_text,
                              const char *cgroups_path, const char *id,
                              bool systemd, bool systemd_running,
                              struct zerr *e);
/* zcg_resolve on an explicit layout. */
struct zcgroup *zcg_resolve_in(const struct zcg_layout *l,
                               const char *proc_cgroup_text,
                               const char *cgroups_path, const char *id,
                               bool systemd, bool systemd_running,
                               struct zerr *e);
struct zcgroup *zcg_open_in(const struct zcg_layout *l, const char *serialized,
                            struct zerr *e);

/* The directory holding v1 controller `ctrl`, else the v2 directory when
 * `ctrl` is available there (listed in its cgroup.controllers), else NULL. */
const struct zcg_dir *zcg_dir_for(const struct zcgroup *cg, const char *ctrl);
const struct zcg_dir *zcg_dir_v2(const struct zcgroup *cg);
const struct zcg_dir *zcg_dir_v1(const struct zcgroup *cg, const char *ctrl);

/* ------------------------------------------------------------ file access */

/* Writes value to dir/file (no O_CREAT: cgroupfs files exist or the
 * controller is missing). Errors read
 *   cgroup: write <dir>/<file> "<value>": <strerror> */
int zcg_write(const char *dir, const char *file, const char *value,
              struct zerr *e);
int zcg_write_u64(const char *dir, const char *file, uint64_t v,
                  struct zerr *e);
int zcg_write_i64(const char *dir, const char *file, int64_t v,
                  struct zerr *e);
/* Reads dir/file into buf (NUL-terminated, trailing newline stripped);
 * returns the length or -1. */
ssize_t zcg_read(const char *dir, const char *file, char *buf, size_t size,
                 struct zerr *e);
/* Reads a whole file into a malloc'd string (NULL + e on failure). */
char *zcg_read_all(const char *path, struct zerr *e);
bool zcg_file_exists(const char *dir, const char *file);
/* true when the whitespace-separated list in dir/file contains word. */
bool zcg_file_has_word(const char *dir, const char *file, const char *word);
/* The value of "key N" in a flat-keyed file (memory.stat, cpu.stat,
 * cgroup.events). Returns 0 and sets *v, or -1 when absent/unreadable. */
int zcg_read_keyed(const char *dir, const char *file, const char *key,
                   uint64_t *v);

/* Every tgid in dir/cgroup.procs and below, appended to *pids. */
int zcg_collect_pids(const char *dir, pid_t **pids, size_t *n, size_t *cap,
                     struct zerr *e);
/* rmdir of dir and its sub-directories, deepest first, retrying EBUSY for a
 * short while; ENOENT is success. */
int zcg_rmdir_tree(const char *dir, struct zerr *e);

/* ------------------------------------------------------------ conversions */

/* cgroup v1 cpu.shares -> v2 cpu.weight (runc's formula); 0 means unset. */
uint64_t zcg_shares_to_weight(uint64_t shares);
/* OCI memory.swap (memory+swap) -> v2 memory.swap.max. Sets *set=false when
 * nothing is to be written, else fills buf with a number or "max". */
int zcg_swap_v2_value(const struct zspec_memory *m, char *buf, size_t size,
                      bool *set, struct zerr *e);
/* pids.limit -> pids.max ("max" for <= 0). */
void zcg_pids_max_value(int64_t limit, char *buf, size_t size);
/* A memory limit on v2: -1 (or any negative) -> "max". */
void zcg_v2_limit_value(int64_t v, char *buf, size_t size);
/* One v1 devices.allow/deny line: "c 1:3 rwm", "a *:* rwm". */
int zcg_device_rule(const struct zspec_device_cgroup *d, char *buf,
                    size_t size, struct zerr *e);
/* A unified key is a file name in the cgroup dir: no '/', no "..", not
 * empty, no leading '.'. */
int zcg_unified_key_check(const char *key, struct zerr *e);
/* blkio weight [10, 1000] -> v2 io.weight [1, 10000] (runc's formula);
 * 0 means unset. */
uint64_t zcg_blkio_weight_to_io(uint64_t weight);
/* "<field> N: expected 10..1000" unless 0 (unset) or in range. */
int zcg_blkio_weight_check(const char *field, uint64_t weight, struct zerr *e);
bool zcg_blkio_requested(const struct zspec_blkio *b);
/* The throttle lists of b merged per device, for v2 io.max. */
enum { ZCG_IO_RBPS, ZCG_IO_WBPS, ZCG_IO_RIOPS, ZCG_IO_WIOPS, ZCG_IO_MAX_KEYS };
struct zcg_io_max {
    int64_t major, minor;
    bool set[ZCG_IO_MAX_KEYS];
    uint64_t value[ZCG_IO_MAX_KEYS];
};
int zcg_io_max_collect(const struct zspec_blkio *b, struct zcg_io_max **out,
                       size_t *n, struct zerr *e);
/* "8:0 rbps=1048576 wiops=max" (a rate of 0 lifts that limit). */
int zcg_io_max_line(const struct zcg_io_max *m, char *buf, size_t size,
                    struct zerr *e);
/* "MAJ:MIN value"; field and i name the entry in errors. */
int zcg_dev_value_line(const char *field, size_t i, int64_t major,
                       int64_t minor, uint64_t value, char *buf, size_t size,
                       struct zerr *e);
/* "2MB", "1GB", "64KB": the only page size forms accepted. */
int zcg_hugepage_size_check(const char *size, struct zerr *e);
/* rdma.max line "dev hca_handle=N hca_object=N" (absent limits left out). */
int zcg_rdma_line(const struct zspec_rdma *r, char *buf, size_t size,
                  struct zerr *e);
/* net_prio.ifpriomap line "eth0 5". */
int zcg_ifprio_line(const struct zspec_net_priority *p, char *buf, size_t size,
                    struct zerr *e);

/* ------------------------------------------------------------ translations */

/* v1: each takes the controller's directory in its own hierarchy. */
int zcg_v1_memory(const char *dir, const struct zspec_memory *m,
                  struct zerr *e);
int zcg_v1_cpu(const char *dir, const struct zspec_cpu *c, struct zerr *e);
int zcg_v1_cpuset(const char *dir, const struct zspec_cpu *c, struct zerr *e);
int zcg_v1_pids(const char *dir, const struct zspec_pids *p, struct zerr *e);
int zcg_v1_devices(const char *dir, const struct zspec_device_cgroup *d,
                   size_t n, struct zerr *e);
int zcg_v1_blkio(const char *dir, const struct zspec_blkio *b, struct zerr *e);
int zcg_v1_hugetlb(const char *dir, const struct zspec_hugepage_limit *h,
                   size_t n, struct zerr *e);
int zcg_v1_net_cls(const char *dir, const struct zspec_network *net,
                   struct zerr *e);
int zcg_v1_net_prio(const char *dir, const struct zspec_network *net,
                    struct zerr *e);
/* Shared by v1 and v2: checkBeforeUpdate against `usage_file`, and one
 * hugetlb limit written to hugetlb.<size>.<file> (+ .<rsvd> if present). */
int zcg_memory_check_usage(const char *dir, const char *usage_file,
                           const struct zspec_memory *m, struct zerr *e);
int zcg_hugetlb_write(const char *dir, const struct zspec_hugepage_limit *h,
                      size_t i, const char *file, const char *rsvd,
                      struct zerr *e);
/* rdma.max has the same form on v1 and v2. */
int zcg_rdma(const char *dir, const struct zspec_rdma *r, size_t n,
             struct zerr *e);
/* The directory of a resource's controller: v1 `ctrl1` if mounted, else the
 * v2 directory when it lists `ctrl2` (NULL: v1 only). Otherwise NULL and
 * "<field>: the <ctrl> controller is not available on this host". */
const struct zcg_dir *zcg_resource_dir(const struct zcgroup *cg,
                                       const char *field, const char *ctrl1,
                                       const char *ctrl2, struct zerr *e);
/* Copies the parent's cpuset.cpus/mems into dir when dir's are empty. */
int zcg_v1_cpuset_inherit(const char *parent, const char *dir,
                          struct zerr *e);

/* v2: the container's directory in the cgroup2 hierarchy. */
int zcg_v2_memory(const char *dir, const struct zspec_memory *m,
                  struct zerr *e);
int zcg_v2_cpu(const char *dir, const struct zspec_cpu *c, struct zerr *e);
int zcg_v2_cpuset(const char *dir, const struct zspec_cpu *c, struct zerr *e);
int zcg_v2_pids(const char *dir, const struct zspec_pids *p, struct zerr *e);
int zcg_v2_io(const char *dir, const struct zspec_blkio *b, struct zerr *e);
int zcg_v2_hugetlb(const char *dir, const struct zspec_hugepage_limit *h,
                   size_t n, struct zerr *e);
int zcg_v2_unified(const char *dir, const struct zspec_kv *kv, size_t n,
                   struct zerr *e);
/* Enables in dir/cgroup.subtree_control every controller listed in
 * dir/cgroup.controllers that is not enabled yet. */
int zcg_v2_enable_controllers(const char *dir, struct zerr *e);

/* ------------------------------------------------------------ systemd */

/* The systemd cgroup driver (cgroups/systemd.c) asks systemd over D-Bus
 * (the system bus, or $DBUS_SYSTEM_BUS_ADDRESS) for a transient scope unit
 * holding the container's init, as runc does; the directories and limits
 * are still written through cgroupfs like the cgroupfs driver's.
 *
 * zcg_create makes the directories (so zcg_apply can write limits before
 * the init exists); the first zcg_enter starts the unit with the init's
 * pid (systemd needs a pid to create a scope), passing the limits zcg_apply
 * saw as unit properties so systemd does not reset them; zcg_destroy stops
 * the unit. */

/* systemd is "running" when this directory exists: $ZONE_SYSTEMD_RUNTIME_DIR
 * when set (for tests that run a fake systemd on a private bus), else
 * "/run/systemd/system". */
#define ZCG_SYSTEMD_RUNTIME_DIR_ENV "ZONE_SYSTEMD_RUNTIME_DIR"
const char *zcg_systemd_runtime_dir(void);

/* Serialized state line naming the unit: "systemd-unit <unit> <slice>". */
#define ZCG_SYSTEMD_STATE_KEY "systemd-unit"
#define ZCG_SYSTEMD_JOB_TIMEOUT_USEC (30ull * 1000 * 1000)

struct zcg_systemd {
    char *unit;          /* "zone-test1.scope", or a "name.slice" */
    char *slice;         /* the parent slice: "system.slice" */
    bool started;        /* the unit exists (we started it, or re-opened) */
    bool v1;             /* property flavour: MemoryLimit/CPUShares on v1 and
                            hybrid, MemoryMax/CPUWeight on v2 */
    bool has_memory, has_cpu, has_tasks;
    uint64_t memory;     /* bytes, UINT64_MAX = no limit */
    uint64_t cpu;        /* CPUShares (v1) or CPUWeight (v2) */
    uint64_t tasks;      /* UINT64_MAX = no limit */
};

/* Unit and slice for cgroupsPath "slice:prefix:name" (NULL/"" gives
 * "system.slice:zone:<id>"): "<prefix>-<name>.scope" ("<name>.scope"
 * without prefix, "<name>" when it is a slice). */
struct zcg_systemd *zcg_systemd_new(const char *cgroups_path, const char *id,
                                    enum zcg_mode mode, struct zerr *e);
/* From the serialized line's value "<unit> <slice>"; marked started. */
struct zcg_systemd *zcg_systemd_parse(const char *value, enum zcg_mode mode,
                                      struct zerr *e);
void zcg_systemd_free(struct zcg_systemd *sd);
/* Remembers the limits systemd must be told about at start. */
void zcg_systemd_note_resources(struct zcg_systemd *sd,
                                const struct zspec_resources *r);

/* One StartTransientUnit property: type 's', 'b', 't', or 'p' (PIDs: an
 * "au" holding the one pid). */
struct zcg_sd_prop {
    const char *name;
    char type;
    const char *s;
    bool b;
    uint64_t t;
    uint32_t pid;
};
#define ZCG_SD_MAX_PROPS 10
/* Fills out (ZCG_SD_MAX_PROPS entries) with the unit's properties for
 * pid; returns how many. description must outlive out. */
size_t zcg_systemd_properties(const struct zcg_systemd *sd, pid_t pid,
                              const char *description,
                              struct zcg_sd_prop *out);
/* StartTransientUnit(unit, "replace", properties) and waits for its job. */
int zcg_systemd_start(struct zcg_systemd *sd, pid_t pid, struct zerr *e);
/* StopUnit(unit, "replace") and waits for its job; NoSuchUnit is success. */
int zcg_systemd_stop(const struct zcg_systemd *sd, struct zerr *e);

/* ------------------------------------------------------------ v2 devices */

/* Device rules on v2 are a BPF_PROG_TYPE_CGROUP_DEVICE program
 * (cgroups/devices_v2.c), with the semantics of the v1 controller. */
struct bpf_insn;

#define ZCG_DEV_PROG_NAME "zone_devices"  /* how we recognize ours */
#define ZCG_DEV_WILDCARD UINT32_MAX       /* major or minor "*" */
#define ZCG_DEV_ACC_MKNOD 1u              /* = BPF_DEVCG_ACC_* */
#define ZCG_DEV_ACC_READ 2u
#define ZCG_DEV_ACC_WRITE 4u
#define ZCG_DEV_ACC_ALL 7u
#define ZCG_DEV_LOG_SIZE (256u * 1024)    /* verifier log on load failure */
#define ZCG_DEV_MAX_ATTACHED 64u          /* the kernel's per-cgroup cap */

struct zcg_dev_exception {
    char type;                  /* 'b' or 'c' */
    uint32_t major, minor;      /* ZCG_DEV_WILDCARD = any */
    unsigned access;            /* ZCG_DEV_ACC_* bits, never 0 */
};

/* What the v1 controller holds after the rules were written in order: a
 * default, and exceptions that all say the opposite of it. */
struct zcg_dev_policy {
    bool default_allow;
    struct zcg_dev_exception *ex;
    size_t n;
};

/* Replays rules as writes to devices.allow/deny would: an "a" rule sets the
 * default and clears the exceptions; a rule agreeing with the default
 * removes its access bits from the exception with the same type:major:minor,
 * any other adds them. The default starts as allow. */
int zcg_dev_policy_build(const struct zspec_device_cgroup *d, size_t n,
                         struct zcg_dev_policy *out, struct zerr *e);
void zcg_dev_policy_free(struct zcg_dev_policy *p);
/* The program for a policy (malloc'd). Deny exceptions match when they
 * share any access bit with the request, allow exceptions when they cover
 * all of it, as in the kernel's v1 check. */
int zcg_dev_prog(const struct zcg_dev_policy *p, struct bpf_insn **insns,
                 size_t *n_insns, struct zerr *e);
/* BPF_PROG_LOAD; returns the program fd. Errors carry the verifier log. */
int zcg_dev_prog_load(const struct bpf_insn *insns, size_t n, struct zerr *e);
/* Builds, loads and attaches (BPF_F_ALLOW_MULTI) the program for rules d
 * to the v2 cgroup dir, then detaches any earlier program of ours there.
 * n == 0 changes nothing. Unprivileged (EPERM, euid != 0) it warns and
 * returns 0. */
int zcg_v2_devices(const char *dir, const struct zspec_device_cgroup *d,
                   size_t n, struct zerr *e);

/* True when any memory setting is present (shared by apply and rootless). */
bool zcg_memory_requested(const struct zspec_memory *m);

#endif
