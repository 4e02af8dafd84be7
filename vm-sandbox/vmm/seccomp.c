/* The monitor's allow-list (see seccomp.h). Built with libseccomp, which
 * adds the architecture check: the filter is for the native ABI only
 * (x86_64; x32 and i386 syscalls hit the default action). */
#include <errno.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>

#include "vm-sandbox/vmm/seccomp.h"

/* Syscalls allowed with any arguments. Grouped by who needs them. */
static const int monitor_syscalls[] = {
    /* vCPU threads, thread start and exit, the kick signal, locks */
    SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(restart_syscall),
    SCMP_SYS(rt_sigaction),  /* the first pthread_create sets up libc's internal signals */
    SCMP_SYS(tgkill), SCMP_SYS(getpid), SCMP_SYS(gettid),
    SCMP_SYS(futex), SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(set_robust_list),
    SCMP_SYS(rseq), SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(sched_yield),
    SCMP_SYS(sigaltstack), SCMP_SYS(sched_getaffinity),   /* sanitizer builds, at thread start */
    /* malloc and thread stacks */
    SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
    SCMP_SYS(madvise), SCMP_SYS(mprotect), SCMP_SYS(getrandom),
    /* time (the vDSO normally answers; these are its fallbacks) */
    SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep),
    /* the I/O threads' event loop */
    SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2), SCMP_SYS(epoll_ctl),
    SCMP_SYS(poll), SCMP_SYS(ppoll),
    /* data on already-open fds: console, serial, eventfds, unix sockets */
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
    SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev),
    SCMP_SYS(preadv2), SCMP_SYS(pwritev2), SCMP_SYS(lseek),
    SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
    SCMP_SYS(accept4), SCMP_SYS(connect), SCMP_SYS(shutdown),
    SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(close), SCMP_SYS(fcntl),
    SCMP_SYS(dup), SCMP_SYS(dup3),
    /* the 9P server's file syscalls (all relative to the exported tree's fds) */
    SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(newfstatat), SCMP_SYS(fstat),
    SCMP_SYS(statx), SCMP_SYS(getdents64), SCMP_SYS(mkdirat), SCMP_SYS(mknodat),
    SCMP_SYS(unlinkat), SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(linkat),
    SCMP_SYS(symlinkat), SCMP_SYS(readlinkat), SCMP_SYS(fchownat), SCMP_SYS(fchown),
    SCMP_SYS(fchmodat), SCMP_SYS(fchmod), SCMP_SYS(utimensat), SCMP_SYS(fsync),
    SCMP_SYS(fdatasync), SCMP_SYS(ftruncate), SCMP_SYS(fallocate),
    SCMP_SYS(statfs), SCMP_SYS(fstatfs),
    SCMP_SYS(getxattr), SCMP_SYS(lgetxattr), SCMP_SYS(fgetxattr),
    SCMP_SYS(setxattr), SCMP_SYS(lsetxattr), SCMP_SYS(fsetxattr),
    SCMP_SYS(listxattr), SCMP_SYS(llistxattr), SCMP_SYS(flistxattr),
    SCMP_SYS(removexattr), SCMP_SYS(lremovexattr), SCMP_SYS(fremovexattr),
    /* vmm_destroy removes the vsock listening socket (glibc's unlink) */
    SCMP_SYS(unlink),
};

/* ioctl requests the running monitor makes: KVM_RUN on vCPU fds,
 * KVM_IRQ_LINE on the VM fd, FIONREAD on the console's input and TCGETS
 * (stdio asks whether stdout is a terminal on first use). */
static const unsigned long monitor_ioctls[] = {
    KVM_RUN, KVM_IRQ_LINE, FIONREAD, TCGETS,
};

int vmm_seccomp_log_mode(void)
{
    const char *v = getenv("ZONE_VM_SECCOMP_LOG");
    return v && *v && strcmp(v, "0") != 0;
}

static int add_rule(scmp_filter_ctx ctx, int nr, unsigned n_args, const struct scmp_arg_cmp *args,
                    struct zerr *e)
{
    int r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n_args, args);
    if (r < 0) {
        char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
        errno = -r;
        zerr_sys(e, "monitor seccomp filter: syscall %s (%d)", name ? name : "?", nr);
        free(name);
        return -1;
    }
    return 0;
}

static int in_list(const int *list, size_t n, int nr)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == nr)
            return 1;
    return 0;
}

static int build(scmp_filter_ctx ctx, const int *extra, size_t n_extra, const unsigned long *ioctls,
                 size_t n_ioctls, struct zerr *e)
{
    int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (r < 0) {
        errno = -r;
        return zerr_sys(e, "monitor seccomp filter: thread sync (TSYNC)");
    }
    for (size_t i = 0; i < sizeof monitor_syscalls / sizeof monitor_syscalls[0]; i++) {
        /* a syscall unknown to this architecture (clone3 on an old libseccomp) is skipped */
        if (monitor_syscalls[i] < 0)
            continue;
        if (add_rule(ctx, monitor_syscalls[i], 0, NULL, e) < 0)
            return -1;
    }
    for (size_t i = 0; i < n_extra; i++) {
        if (extra[i] < 0)
            return zerr_set(e, EINVAL, "monitor seccomp filter: extra syscall %zu is %d", i, extra[i]);
        if (in_list(monitor_syscalls, sizeof monitor_syscalls / sizeof monitor_syscalls[0], extra[i]) ||
            in_list(extra, i, extra[i]))
            continue;
        if (add_rule(ctx, extra[i], 0, NULL, e) < 0)
            return -1;
    }
    /* a caller that lists ioctl or socket gets them unrestricted */
    if (!in_list(extra, n_extra, SCMP_SYS(ioctl))) {
        size_t n_own = sizeof monitor_ioctls / sizeof monitor_ioctls[0];
        for (size_t i = 0; i < n_own + n_ioctls; i++) {
            unsigned long req = i < n_own ? monitor_ioctls[i] : ioctls[i - n_own];
            /* the request is an unsigned int in the kernel: compare the low 32 bits */
            struct scmp_arg_cmp arg = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, req & 0xffffffffUL);
            int added = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, &arg);
            if (added == -EEXIST)
                continue;       /* listed twice */
            if (added < 0) {
                errno = -added;
                return zerr_sys(e, "monitor seccomp filter: ioctl 0x%lx", req);
            }
        }
    }
    /* the vsock device connects guest streams to host unix sockets */
    if (!in_list(extra, n_extra, SCMP_SYS(socket))) {
        /* spelled out: SCMP_A0 leaves datum_b to the compiler (clang's
         * -Wmissing-field-initializers, on in `make fuzz`) */
        struct scmp_arg_cmp arg = { .arg = 0, .op = SCMP_CMP_EQ, .datum_a = AF_UNIX, .datum_b = 0 };
        if (add_rule(ctx, SCMP_SYS(socket), 1, &arg, e) < 0)
            return -1;
    }
    return 0;
}

int vmm_seccomp_confine(const int *extra_syscalls, size_t n_extra, struct zerr *e)
{
    return vmm_seccomp_confine_ioctls(extra_syscalls, n_extra, NULL, 0, e);
}

int vmm_seccomp_confine_ioctls(const int *extra_syscalls, size_t n_extra, const unsigned long *extra_ioctls,
                               size_t n_ioctls, struct zerr *e)
{
    if (n_extra && !extra_syscalls)
        return zerr_set(e, EINVAL, "monitor seccomp filter: %zu extra syscalls but no list", n_extra);
    if (n_ioctls && !extra_ioctls)
        return zerr_set(e, EINVAL, "monitor seccomp filter: %zu extra ioctls but no list", n_ioctls);
    uint32_t deny = vmm_seccomp_log_mode() ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
    scmp_filter_ctx ctx = seccomp_init(deny);
    if (!ctx)
        return zerr_set(e, ENOMEM, "monitor seccomp filter: seccomp_init failed");
    int ret = build(ctx, extra_syscalls, n_extra, extra_ioctls, n_ioctls, e);
    if (ret == 0) {
        int r = seccomp_load(ctx);
        if (r < 0) {
            errno = -r;
            /* ESRCH: another thread could not take the filter (TSYNC) */
            ret = zerr_sys(e, "monitor seccomp filter: loading it");
        }
    }
    seccomp_release(ctx);
    return ret;
}
