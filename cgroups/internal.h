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
};

struct zcgroup {
    enum zcg_mode mode;
    char *rel;          /* the path most hierarchies use */
    struct zcg_dir *d;
    size_t n;
};

/* zcg_create / zcg_open on an explicit layout (tests use fake trees).
 * proc_cgroup_text is the caller's /proc/self/cgroup (NULL: read it when a
 * relative path needs it). */
struct zcgroup *zcg_create_in(const struct zcg_layout *l,
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

/* ------------------------------------------------------------ translations */

/* v1: each takes the controller's directory in its own hierarchy. */
int zcg_v1_memory(const char *dir, const struct zspec_memory *m,
                  struct zerr *e);
int zcg_v1_cpu(const char *dir, const struct zspec_cpu *c, struct zerr *e);
int zcg_v1_cpuset(const char *dir, const struct zspec_cpu *c, struct zerr *e);
int zcg_v1_pids(const char *dir, const struct zspec_pids *p, struct zerr *e);
int zcg_v1_devices(const char *dir, const struct zspec_device_cgroup *d,
                   size_t n, struct zerr *e);
/* Copies the parent's cpuset.cpus/mems into dir when dir's are empty. */
int zcg_v1_cpuset_inherit(const char *parent, const char *dir,
                          struct zerr *e);

/* v2: the container's directory in the cgroup2 hierarchy. */
int zcg_v2_memory(const char *dir, const struct zspec_memory *m,
                  struct zerr *e);
int zcg_v2_cpu(const char *dir, const struct zspec_cpu *c, struct zerr *e);
int zcg_v2_cpuset(const char *dir, const struct zspec_cpu *c, struct zerr *e);
int zcg_v2_pids(const char *dir, const struct zspec_pids *p, struct zerr *e);
int zcg_v2_unified(const char *dir, const struct zspec_kv *kv, size_t n,
                   struct zerr *e);
/* Enables in dir/cgroup.subtree_control every controller listed in
 * dir/cgroup.controllers that is not enabled yet. */
int zcg_v2_enable_controllers(const char *dir, struct zerr *e);

#endif
