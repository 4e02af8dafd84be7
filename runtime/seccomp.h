/* linux.seccomp: compile the spec's profile with libseccomp in the runtime
 * (so every error surfaces before anything is created), load the compiled
 * BPF program in the container's init, and hand a SCMP_ACT_NOTIFY listener
 * fd to the seccomp agent at linux.seccomp.listenerPath.
 *
 * The program is exported from libseccomp at build time and loaded with the
 * seccomp(2) syscall, so init does no allocation and the filter flags are
 * the kernel's, whatever the libseccomp version (e.g.
 * SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV with libseccomp 2.5). The filter
 * never sets no_new_privs itself: that is process.noNewPrivileges' job.
 *
 * Where init must call zseccomp_load():
 *  - process.noNewPrivileges true: last, right before execve, after
 *    zproc_apply_identity() and zproc_apply_no_new_privs(), so the filter
 *    need not allow the setup syscalls.
 *  - process.noNewPrivileges false: the kernel demands CAP_SYS_ADMIN to load
 *    a filter, so load it BEFORE zproc_apply_identity() drops capabilities
 *    (as runc does); the profile must then allow the identity syscalls
 *    (setgroups, setresuid, capset, prctl...).
 * With SCMP_ACT_NOTIFY, init passes the notify fd to the runtime right after
 * loading (sendmsg with SCM_RIGHTS); the runtime calls
 * zseccomp_send_to_listener(). That is why NOTIFY is refused for write and
 * sendmsg, and as the default action. */
#ifndef ZONE_RUNTIME_SECCOMP_H
#define ZONE_RUNTIME_SECCOMP_H

#include <stdbool.h>
#include <sys/types.h>

#include "core/error.h"
#include "core/spec.h"

struct zseccomp;

/* Compiles sc. Errors name the field, e.g. "linux.seccomp.syscalls[3].action:
 * unknown action \"SCMP_ACT_FOO\"". Syscall names libseccomp does not know
 * are skipped (debug log), as are rules whose action is the default one. */
struct zseccomp *zseccomp_build(const struct zspec_seccomp *sc, struct zerr *e);

/* True when at least one rule uses SCMP_ACT_NOTIFY (zseccomp_build then has
 * checked that listenerPath is set). */
bool zseccomp_uses_notify(const struct zseccomp *f);

/* Number of BPF instructions of the compiled program. */
unsigned zseccomp_instruction_count(const struct zseccomp *f);

/* Loads the filter into the calling thread (TSYNC: all threads). Sets
 * *notify_fd to the listener fd (O_CLOEXEC) when the filter uses NOTIFY,
 * else to -1. Does not allocate. */
int zseccomp_load(const struct zseccomp *f, int *notify_fd, struct zerr *e);

void zseccomp_free(struct zseccomp *f);

/* VM mode: points out->seccomp at f's program (f may be NULL: none) for
 * the guest agent, which loads it; f must outlive out. SCMP_ACT_NOTIFY has
 * no listener across the VM boundary and is refused. */
struct zvm_resolved;
int zseccomp_vm_program(const struct zseccomp *f, struct zvm_resolved *out, struct zerr *e);

/* runtime-spec containerProcessState: connects to the unix stream socket at
 * listener_path and sends
 *   {"ociVersion":"1.2.0","fds":["seccompFd"],"pid":<pid>,
 *    "metadata":"<metadata>","state":<state_json>}
 * with notify_fd attached via SCM_RIGHTS. metadata may be NULL (omitted);
 * state_json is the state object's JSON text, embedded as is. */
int zseccomp_send_to_listener(const char *listener_path, int notify_fd, pid_t pid,
                              const char *metadata, const char *state_json,
                              struct zerr *e);

#endif
