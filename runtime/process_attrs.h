/* Process attributes applied by the container's init right before execve:
 * limits (rlimits, oom score, scheduler, I/O priority, personality, CPU
 * affinity) and identity (umask, groups, uid/gid, capabilities,
 * no_new_privs).
 *
 * zproc_validate() runs in `create` before anything changes state; the
 * zproc_apply_*() functions run inside init and neither print nor allocate
 * more than a few bytes.
 *
 * Order inside init (see also runtime/seccomp.h for where the seccomp filter
 * goes):
 *   zproc_apply_limits()           still privileged
 *   zlsm_set_exec_labels()         (runtime/lsm.h)
 *   zproc_apply_identity()
 *   zproc_apply_no_new_privs()
 *   execve()
 *
 * Error messages name the config field, without the "config.json: " origin
 * (callers add it with zerr_prefix). */
#ifndef ZONE_RUNTIME_PROCESS_ATTRS_H
#define ZONE_RUNTIME_PROCESS_ATTRS_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "core/spec.h"

/* Validation without side effects: capabilities, rlimits, oomScoreAdj,
 * scheduler, ioPriority, execCPUAffinity, umask, linux.personality and the
 * LSM labels (runtime/lsm.h). Capabilities the running kernel does not know
 * are logged as warnings and skipped, as runc does. s->process may be NULL. */
int zproc_validate(const struct zspec *s, struct zerr *e);

/* The pieces of zproc_validate, usable alone (e.g. for `exec --process`). */
int zproc_validate_capabilities(const struct zspec_capabilities *caps,
                                struct zerr *e);
int zproc_validate_limits(const struct zspec_process *p, struct zerr *e);
int zproc_validate_personality(const struct zspec_personality *pers,
                               struct zerr *e);

/* Capability sets as bit masks (bit n = capability n), after dropping the
 * capabilities beyond the running kernel's CAP_LAST_CAP. caps may be NULL
 * (all sets empty). */
struct zcap_masks {
    uint64_t bounding;
    uint64_t effective;
    uint64_t inheritable;
    uint64_t permitted;
    uint64_t ambient;
};
int zproc_capability_masks(const struct zspec_capabilities *caps,
                           struct zcap_masks *out, struct zerr *e);
/* The same, for the VM handler's process messages (set: caps != NULL). */
struct zvm_resolved;
int zproc_vm_caps(const struct zspec_capabilities *caps, struct zvm_resolved *out, struct zerr *e);
/* VM mode: the init, about to become the monitor, keeps no capability the
 * container's processes could not hold: bounding, effective and permitted
 * become process.capabilities.bounding (none when the config has no
 * capabilities), inheritable and ambient are cleared. The ids stay. */
int zproc_confine_monitor(const struct zvm_resolved *caps, struct zerr *e);

/* Still privileged, before the identity switch: rlimits, oomScoreAdj,
 * linux.personality (lx may be NULL), ioPriority, scheduler, and
 * execCPUAffinity.final (init is already in the container's cgroup by then;
 * execCPUAffinity.initial is the caller's job, before joining the cgroup,
 * with zproc_set_cpu_affinity). */
int zproc_apply_limits(const struct zspec_process *p,
                       const struct zspec_linux *lx, struct zerr *e);

/* sched_setaffinity(0) to a cpu list such as "0-3,7". */
int zproc_set_cpu_affinity(const char *cpu_list, struct zerr *e);

/* Checks the syntax of a cpu list ("N", "N-M", comma-separated, CPUs below
 * ZPROC_MAX_CPUS) and returns the highest CPU named in *max_cpu (may be
 * NULL). */
#define ZPROC_MAX_CPUS 65536
int zproc_parse_cpu_list(const char *cpu_list, int *max_cpu, struct zerr *e);

/* umask (0022 when unset), PR_SET_KEEPCAPS, bounding set, setgroups
 * (skipped when setgroups_denied, an error then if additionalGids are
 * requested), setresgid, setresuid, capset of effective/permitted/
 * inheritable, ambient raise, clear KEEPCAPS. uid/gid are used as numbers,
 * without any passwd lookup. */
int zproc_apply_identity(const struct zspec_process *p, bool setgroups_denied,
                         struct zerr *e);

/* PR_SET_NO_NEW_PRIVS when process.noNewPrivileges is true. */
int zproc_apply_no_new_privs(const struct zspec_process *p, struct zerr *e);

#endif
