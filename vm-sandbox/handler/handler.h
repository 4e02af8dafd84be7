/* The VM handler: runs an OCI container inside a microVM of zone's own
 * monitor (vm-sandbox/vmm). The runtime builds the zone as usual; then
 *
 *   create (runtime):   zvm_prepare   checks /dev/kvm, finds the kernel and
 *                                     the agent, builds or reuses the
 *                                     initramfs, sizes the VM
 *   create (init):      zvm_open      before pivot_root: takes /dev/kvm,
 *                                     the kernel and initrd zvm_prepare
 *                                     opened, opens the state dir
 *   start (init):       zvm_serve     after the exec FIFO: the init becomes
 *                                     the monitor, makes the VM and loads
 *                                     the kernel; the container's "/" is the
 *                                     guest's root over virtio-9p, zone-agent
 *                                     runs process.* in the guest
 *   exec (runtime):     zvm_exec      asks the monitor for an exec session
 *                                     over <state dir>/vm.exec
 *
 * The monitor's sockets live in the container's state dir (root only):
 * vm.vsock (vsock host side), vm.vsock_1024 (the agent's control stream),
 * vm.exec (exec sessions). See docs/vm.md "Running containers in a VM". */
#ifndef ZONE_VM_HANDLER_H
#define ZONE_VM_HANDLER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "core/spec.h"

/* What the runtime resolves for a process in the guest (vm-sandbox sits
 * below runtime and knows neither capability names nor libseccomp): the
 * capability sets as bit masks (caps_set false: the config has none) and
 * linux.seccomp as a compiled BPF program (seccomp_len 0: none). */
struct zvm_resolved {
    bool caps_set;
    uint64_t bounding, effective, permitted, inheritable, ambient;
    const void *seccomp;
    uint32_t seccomp_len, seccomp_flags;
};

#define ZVM_ANNOTATION_HANDLER "run.oci.handler"
#define ZVM_ANNOTATION_CPUS "run.oci.vm.cpus"
#define ZVM_ANNOTATION_MEMORY "run.oci.vm.memory"
#define ZVM_ANNOTATION_DEBUG "run.oci.vm.debug"   /* "1"/"true": like ZONE_VM_DEBUG */

#define ZVM_OVERHEAD_MIB 64u      /* the monitor's own memory, within memory.limit */
#define ZVM_DEFAULT_MEM_MIB 512u
#define ZVM_MIN_MEM_MIB 64u
#define ZVM_MAX_MEM_MIB (1024u * 1024u)   /* 1 TiB */

#define ZVM_SOCK_VSOCK "vm.vsock"
#define ZVM_SOCK_CONTROL "vm.vsock_1024"
#define ZVM_SOCK_EXEC "vm.exec"
#define ZVM_SERIAL_LOG "vm.log"

/* True when the config asks for a VM: annotation run.oci.handler=vm. */
bool zvm_requested(const struct zspec *s);

/* ---- sizing (sizing.c, pure) ---- */

struct zvm_size {
    unsigned vcpus;
    uint64_t mem_mib;
};

/* "536870912", "512M", "512MiB", "2G", "1048576K": bytes, or K/M/G (and
 * KiB/MiB/GiB, powers of 1024). */
int zvm_parse_bytes(const char *s, uint64_t *out, struct zerr *e);

/* Counts the CPUs of a cpu list ("0-3,7" = 5). */
int zvm_count_cpus(const char *list, unsigned *out, struct zerr *e);

/* vCPUs: run.oci.vm.cpus, else cpu quota/period rounded up, else the
 * cpuset's count, else 1; capped at VMM_MAX_VCPUS. Guest memory:
 * run.oci.vm.memory, else memory.limit minus ZVM_OVERHEAD_MIB, else
 * ZVM_DEFAULT_MEM_MIB; rounded down to 2 MiB. Errors name the annotation
 * or the field. */
int zvm_size_from_spec(const struct zspec *s, struct zvm_size *out, struct zerr *e);

/* ---- lifecycle (handler.c) ---- */

struct zvm_plan {
    char kernel[PATH_MAX];
    char initrd[PATH_MAX];
    char state_dir[PATH_MAX];
    struct zvm_size size;
    bool debug;                /* ZONE_VM_DEBUG: kernel log to vm.log, agent debug */
    /* opened at create and inherited by the init, which becomes the
     * monitor: /dev/kvm (checked), the kernel, the initramfs */
    int kvm_fd, kernel_fd, initrd_fd;
};

/* At create, in the runtime: fails naming what is missing (/dev/kvm, a
 * kernel, its modules, zone-agent). */
int zvm_prepare(const struct zspec *s, const char *state_dir, struct zvm_plan *p, struct zerr *e);
/* Closes the plan's fds (the runtime's copies, once the init has its own). */
void zvm_plan_release(struct zvm_plan *p);

struct zvm;

/* In the init, before pivot_root. Blocks the signals the monitor relays
 * (they wait in the queue until zvm_serve). */
int zvm_open(const struct zvm_plan *p, struct zvm **out, struct zerr *e);

/* In the init, after `start`: runs the VM and the container process (env
 * is the final environment) until it ends. *exit_code: its exit code, or
 * 128+N for a signal. -1 when the VM could not run it (e says why; e->code
 * ENOENT/EACCES for a missing or non-executable program). */
int zvm_serve(struct zvm *vm, const struct zspec *s, const struct zvm_resolved *caps, char *const *env,
              int *exit_code, struct zerr *e);

void zvm_close(struct zvm *vm);

/* Before the CLI re-executes itself through a sealed mount (where
 * /proc/self/exe no longer names the install dir): remembers where
 * zone-agent is in ZONE_VM_AGENT. */
void zvm_remember_agent(void);

/* ---- exec (exec_client.c) ---- */

struct zvm_exec_request {
    const char *state_dir;              /* the container's: holds vm.exec */
    const struct zspec_process *process;
    const struct zvm_resolved *caps;
    int stdio[3];                       /* the session's stdio (a pty slave for a console socket) */
    bool detach;                        /* return once the process runs */
    /* called once the process runs, with the host pid that stands for it
     * (for --pid-file); NULL: none */
    int (*on_started)(pid_t stand_in, void *arg, struct zerr *e);
    void *arg;
};

/* Runs the request's process as an exec session of the VM container.
 * The process lives in the guest, so a host process stands in for it:
 * without detach that is us: we relay the signals we receive
 * (zvm_relayed_signals) to it, wait, and fill *exit_code (128+N for
 * signal N). With detach (engines: --detach --pid-file, then they wait for
 * and signal that pid) a child of ours stands in: it relays the signals
 * sent to it and exits with the session's exit code; we return once the
 * process runs. */
int zvm_exec(const struct zvm_exec_request *r, int *exit_code, struct zerr *e);

#endif
