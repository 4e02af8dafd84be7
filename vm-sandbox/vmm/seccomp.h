/* The monitor's own seccomp filter: once the VM is set up (devices added,
 * sockets bound, kernel loaded), the monitor only needs a short list of
 * syscalls to run it - KVM_RUN and interrupt ioctls, the I/O threads'
 * epoll loop, socket and file I/O for the devices, the 9P server's file
 * syscalls, memory management for malloc and thread start/exit. A guest
 * that takes over the monitor through a device bug gains nothing else.
 *
 *   ... vmm_create, vmm_load_linux, vmm_add_* ...
 *   vmm_seccomp_confine(NULL, 0, &err);     then vmm_run
 *
 * The filter is installed with SECCOMP_FILTER_FLAG_TSYNC: every thread of
 * the process, the vCPU and I/O threads included (already running or
 * created later), is bound by it; it cannot be lifted. A syscall outside
 * the list kills the whole process (SIGSYS). With the environment variable
 * ZONE_VM_SECCOMP_LOG=1 it is allowed and logged by the kernel instead
 * ("audit: type=1326 ... syscall=N" in dmesg), to find a missing entry. */
#ifndef ZONE_VMM_SECCOMP_H
#define ZONE_VMM_SECCOMP_H

#include <stddef.h>

#include "core/error.h"

/* Installs the filter on every thread of the process. extra_syscalls lists
 * native syscall numbers (__NR_*) the caller needs on top of the monitor's
 * own, allowed with any arguments. Returns 0 or -1 with e set (nothing is
 * installed then). */
int vmm_seccomp_confine(const int *extra_syscalls, size_t n_extra, struct zerr *e);

/* The same, also allowing ioctl with the requests in extra_ioctls (on any
 * fd) on top of the monitor's own (KVM_RUN, KVM_IRQ_LINE, FIONREAD,
 * TCGETS). Prefer this to listing __NR_ioctl in extra_syscalls, which
 * allows every ioctl; likewise __NR_socket allows every family, while
 * AF_UNIX sockets are allowed already. */
int vmm_seccomp_confine_ioctls(const int *extra_syscalls, size_t n_extra, const unsigned long *extra_ioctls,
                               size_t n_ioctls, struct zerr *e);

/* True when ZONE_VM_SECCOMP_LOG asks for log instead of kill. */
int vmm_seccomp_log_mode(void);

#endif
