/* Linux security module labels of the container's process, without
 * libapparmor/libselinux: the labels are written to /proc/self/attr/... and
 * take effect at the next execve. */
#ifndef ZONE_RUNTIME_LSM_H
#define ZONE_RUNTIME_LSM_H

#include <stdbool.h>

#include "core/error.h"
#include "core/spec.h"

/* Host probes: AppArmor is enabled when /sys/module/apparmor/parameters/enabled
 * starts with 'Y'; SELinux when /sys/fs/selinux/enforce exists. */
bool zlsm_apparmor_enabled(void);
bool zlsm_selinux_enabled(void);

/* Fails when process.apparmorProfile / process.selinuxLabel is set but the
 * host does not run that LSM, or when a label cannot be written as one line.
 * Empty strings count as unset. */
int zlsm_validate(const struct zspec_process *p, struct zerr *e);
/* The same against explicit probe files (for tests). */
int zlsm_validate_with(const struct zspec_process *p, const char *apparmor_enabled_path,
                       const char *selinux_enforce_path, struct zerr *e);

/* AppArmor: "exec <profile>" to /proc/self/attr/apparmor/exec (falling back
 * to /proc/self/attr/exec on kernels without per-LSM directories); SELinux:
 * the label to /proc/self/attr/exec. /proc must be a real procfs (checked
 * with fstatfs, so a container cannot redirect the write). Does nothing when
 * neither label is set. */
int zlsm_set_exec_labels(const struct zspec_process *p, struct zerr *e);
/* The same relative to an open attr directory (for tests). */
int zlsm_set_exec_labels_at(int attr_dirfd, const struct zspec_process *p,
                            struct zerr *e);

#endif
