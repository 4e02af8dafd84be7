/* Compiling linux.seccomp with libseccomp and loading the result. */
#include "runtime/seccomp.h"
#include "vm-sandbox/handler/handler.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

/* The kernel's BPF_MAXINSNS for seccomp programs. */
#define MAX_INSNS 4096
#define MAX_ERRNO 4095

struct zseccomp {
    unsigned long flags;        /* seccomp(2) flags, NEW_LISTENER excluded */
    bool uses_notify;
    unsigned short n_insns;
    struct sock_filter insns[];
};

/* ------------------------------------------------------------ names */

enum action_kind { ACT_PLAIN, ACT_ERRNO, ACT_TRACE };

static const struct {
    const char *name;
    uint32_t action;
    enum action_kind kind;
} action_names[] = {
    { "SCMP_ACT_KILL", SCMP_ACT_KILL, ACT_PLAIN },
    { "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, ACT_PLAIN },
    { "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, ACT_PLAIN },
    { "SCMP_ACT_TRAP", SCMP_ACT_TRAP, ACT_PLAIN },
    { "SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), ACT_ERRNO },
    { "SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), ACT_TRACE },
    { "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, ACT_PLAIN },
    { "SCMP_ACT_LOG", SCMP_ACT_LOG, ACT_PLAIN },
    { "SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, ACT_PLAIN },
};

static const struct {
    const char *name;
    enum scmp_compare op;
} operator_names[] = {
    { "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT },
    { "SCMP_CMP_LE", SCMP_CMP_LE }, { "SCMP_CMP_EQ", SCMP_CMP_EQ },
    { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
    { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

static const struct {
    const char *name;
    unsigned long flag;
} flag_names[] = {
    { "SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC },
    { "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG },
    { "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW },
    { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV },
};

/* Syscalls init itself needs after loading a NOTIFY filter, to hand the
 * listener fd over: notifying them would deadlock. */
static const char *const notify_forbidden[] = { "write", "sendmsg" };

/* Resolves an action name with its errnoRet into a libseccomp action.
 * ERRNO and TRACE default to EPERM, as in runc. */
static int parse_action(const char *name, bool has_ret, uint32_t ret,
                        const char *field, const char *ret_field, uint32_t *out,
                        struct zerr *e)
{
    if (!name)
        return zerr_set(e, EINVAL, "%s: required", field);
    for (size_t i = 0; i < ZARRAY_SIZE(action_names); i++) {
        if (strcmp(action_names[i].name, name) != 0)
            continue;
        enum action_kind kind = action_names[i].kind;
        if (kind == ACT_PLAIN) {
            if (has_ret) /* runc ignores it too; profiles in the wild carry it */
                zdebug("%s: ignored, %s takes no errno value", ret_field, name);
            *out = action_names[i].action;
            return 0;
        }
        uint32_t value = has_ret ? ret : EPERM;
        if (kind == ACT_ERRNO && value > MAX_ERRNO)
            return zerr_set(e, EINVAL, "%s: %" PRIu32 " is out of range (0..%d)",
                            ret_field, value, MAX_ERRNO);
        if (kind == ACT_TRACE && value > 0xffff)
            return zerr_set(e, EINVAL, "%s: %" PRIu32 " is out of range (0..65535)",
                            ret_field, value);
        *out = kind == ACT_ERRNO ? SCMP_ACT_ERRNO(value) : SCMP_ACT_TRACE(value);
        return 0;
    }
    return zerr_set(e, EINVAL, "%s: unknown action \"%s\"", field, name);
}

static int add_architecture(scmp_filter_ctx ctx, const char *name, size_t i,
                            struct zerr *e)
{
    char lower[32];
    size_t len = name ? strlen(name) : 0;

    if (!name || strncmp(name, "SCMP_ARCH_", 10) != 0 || len - 10 >= sizeof lower ||
        len == 10)
        return zerr_set(e, EINVAL, "linux.seccomp.architectures[%zu]: unknown "
                        "architecture \"%s\"", i, name ? name : "");
    for (size_t j = 10; j <= len; j++)
        lower[j - 10] = (char)tolower((unsigned char)name[j]);
    uint32_t arch = seccomp_arch_resolve_name(lower);
    if (arch == 0)
        return zerr_set(e, EINVAL, "linux.seccomp.architectures[%zu]: unknown "
                        "architecture \"%s\"", i, name);
    int rc = seccomp_arch_add(ctx, arch);
    if (rc == -EDOM) {
        /* One filter holds one byte order; a kernel never runs programs of
         * the other one, so profiles listing both (docker's do) lose
         * nothing. */
        zdebug("seccomp: architecture %s has the other byte order, ignored", name);
        return 0;
    }
    if (rc < 0 && rc != -EEXIST)
        return zerr_set(e, -rc, "linux.seccomp.architectures[%zu]: adding %s: %s", i,
                        name, strerror(-rc));
    return 0;
}

static int parse_flags(const struct zspec_seccomp *sc, unsigned long *flags,
                       struct zerr *e)
{
    *flags = 0;
    for (size_t i = 0; i < sc->n_flags; i++) {
        const char *name = sc->flags[i];
        size_t j;
        for (j = 0; j < ZARRAY_SIZE(flag_names); j++)
            if (name && strcmp(flag_names[j].name, name) == 0)
                break;
        if (j == ZARRAY_SIZE(flag_names))
            return zerr_set(e, EINVAL, "linux.seccomp.flags[%zu]: unknown flag \"%s\"",
                            i, name ? name : "");
        *flags |= flag_names[j].flag;
    }
    return 0;
}

static int parse_args(const struct zspec_seccomp_syscall *call, size_t ci,
                      struct scmp_arg_cmp *conds, bool *repeated_index,
                      struct zerr *e)
{
    unsigned per_index[6] = { 0 };
    *repeated_index = false;
    for (size_t j = 0; j < call->n_args; j++) {
        const struct zspec_seccomp_arg *a = &call->args[j];
        size_t k;
        if (a->index > 5)
            return zerr_set(e, EINVAL, "linux.seccomp.syscalls[%zu].args[%zu].index: "
                            "%" PRIu32 " is out of range (0..5)", ci, j, a->index);
        if (!a->op)
            return zerr_set(e, EINVAL, "linux.seccomp.syscalls[%zu].args[%zu].op: "
                            "required", ci, j);
        for (k = 0; k < ZARRAY_SIZE(operator_names); k++)
            if (strcmp(operator_names[k].name, a->op) == 0)
                break;
        if (k == ZARRAY_SIZE(operator_names))
            return zerr_set(e, EINVAL, "linux.seccomp.syscalls[%zu].args[%zu].op: "
                            "unknown operator \"%s\"", ci, j, a->op);
        /* For MASKED_EQ, value is the mask and valueTwo the datum. */
        conds[j] = (struct scmp_arg_cmp){ .arg = a->index, .op = operator_names[k].op,
                                          .datum_a = a->value, .datum_b = a->value_two };
        if (++per_index[a->index] > 1)
            *repeated_index = true;
    }
    return 0;
}

/* Adds one syscall entry. libseccomp refuses two conditions on the same
 * argument in one rule; then, like runc, each condition becomes a rule of
 * its own (so they match as alternatives). */
static int add_syscall_entry(scmp_filter_ctx ctx, const struct zspec_seccomp_syscall *call,
                             size_t ci, uint32_t default_action, bool *uses_notify,
                             struct zerr *e)
{
    char field[64], ret_field[64];
    uint32_t action;
    bool repeated;

    snprintf(field, sizeof field, "linux.seccomp.syscalls[%zu].action", ci);
    snprintf(ret_field, sizeof ret_field, "linux.seccomp.syscalls[%zu].errnoRet", ci);
    if (parse_action(call->action, call->has_errno_ret, call->errno_ret, field, ret_field,
                     &action, e) < 0)
        return -1;
    if (call->n_names == 0)
        return zerr_set(e, EINVAL, "linux.seccomp.syscalls[%zu].names: at least one "
                        "syscall name is required", ci);
    _cleanup_free_ struct scmp_arg_cmp *conds =
        calloc(call->n_args ? call->n_args : 1, sizeof *conds);
    if (!conds)
        return zerr_sys(e, "linux.seccomp.syscalls[%zu]", ci);
    if (parse_args(call, ci, conds, &repeated, e) < 0)
        return -1;

    for (size_t n = 0; n < call->n_names; n++) {
        const char *name = call->names[n];
        if (!name || !*name)
            return zerr_set(e, EINVAL, "linux.seccomp.syscalls[%zu].names[%zu]: empty "
                            "syscall name", ci, n);
        if (action == SCMP_ACT_NOTIFY)
            for (size_t k = 0; k < ZARRAY_SIZE(notify_forbidden); k++)
                if (strcmp(name, notify_forbidden[k]) == 0)
                    return zerr_set(e, EINVAL, "linux.seccomp.syscalls[%zu]: "
                                    "SCMP_ACT_NOTIFY cannot be used for \"%s\" (the "
                                    "runtime needs it to pass the listener fd)", ci, name);
    }
    if (action == default_action)
        return 0;  /* libseccomp refuses rules that repeat the default */

    for (size_t n = 0; n < call->n_names; n++) {
        const char *name = call->names[n];
        int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR) {
            zdebug("seccomp: unknown syscall \"%s\" ignored", name);
            continue;
        }
        int rc = 0;
        if (!repeated) {
            rc = seccomp_rule_add_array(ctx, action, nr, (unsigned)call->n_args, conds);
        } else {
            for (size_t j = 0; j < call->n_args && rc == 0; j++)
                rc = seccomp_rule_add_array(ctx, action, nr, 1, &conds[j]);
        }
        if (rc < 0)
            return zerr_set(e, -rc, "linux.seccomp.syscalls[%zu]: adding a rule for "
                            "\"%s\": %s", ci, name, strerror(-rc));
        if (action == SCMP_ACT_NOTIFY)
            *uses_notify = true;
    }
    return 0;
}

/* Exports the BPF program through a memfd (libseccomp 2.5 only writes to
 * fds) into a struct zseccomp. */
static struct zseccomp *export_program(scmp_filter_ctx ctx, struct zerr *e)
{
    struct stat st;
    _cleanup_close_ int fd = memfd_create("zone-seccomp", MFD_CLOEXEC);
    if (fd < 0)
        return zerr_sys(e, "linux.seccomp: memfd_create"), NULL;
    int rc = seccomp_export_bpf(ctx, fd);
    if (rc < 0)
        return zerr_set(e, -rc, "linux.seccomp: exporting the filter: %s",
                        strerror(-rc)), NULL;
    if (fstat(fd, &st) < 0)
        return zerr_sys(e, "linux.seccomp: fstat"), NULL;
    size_t size = (size_t)st.st_size;
    if (size == 0 || size % sizeof(struct sock_filter) != 0)
        return zerr_set(e, EINVAL, "linux.seccomp: libseccomp produced a program of "
                        "%zu bytes", size), NULL;
    size_t n = size / sizeof(struct sock_filter);
    if (n > MAX_INSNS)
        return zerr_set(e, E2BIG, "linux.seccomp: the filter compiles to %zu BPF "
                        "instructions, more than the kernel's limit of %d", n,
                        MAX_INSNS), NULL;
    struct zseccomp *f = calloc(1, sizeof *f + size);
    if (!f)
        return zerr_sys(e, "linux.seccomp"), NULL;
    if (pread(fd, f->insns, size, 0) != (ssize_t)size) {
        zerr_sys(e, "linux.seccomp: reading the exported filter");
        free(f);
        return NULL;
    }
    f->n_insns = (unsigned short)n;
    return f;
}

struct zseccomp *zseccomp_build(const struct zspec_seccomp *sc, struct zerr *e)
{
    uint32_t default_action;
    unsigned long flags;
    bool uses_notify = false, declares_notify = false;

    if (parse_action(sc->default_action, sc->has_default_errno_ret, sc->default_errno_ret,
                     "linux.seccomp.defaultAction", "linux.seccomp.defaultErrnoRet",
                     &default_action, e) < 0)
        return NULL;
    if (default_action == SCMP_ACT_NOTIFY)
        return zerr_set(e, EINVAL, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot "
                        "be the default action"), NULL;
    if (parse_flags(sc, &flags, e) < 0)
        return NULL;
    for (size_t i = 0; i < sc->n_syscalls; i++)
        if (sc->syscalls[i].action && strcmp(sc->syscalls[i].action, "SCMP_ACT_NOTIFY") == 0)
            declares_notify = true;
    if (declares_notify && !(sc->listener_path && *sc->listener_path))
        return zerr_set(e, EINVAL, "linux.seccomp.listenerPath: required when a rule "
                        "uses SCMP_ACT_NOTIFY"), NULL;

    scmp_filter_ctx ctx = seccomp_init(default_action);
    if (!ctx)
        return zerr_set(e, EINVAL, "linux.seccomp.defaultAction: libseccomp refused "
                        "%s", sc->default_action), NULL;
    /* Large profiles (docker's lists ~400 syscalls) run faster as a binary
     * tree; older libseccomp without the attribute just keeps the list. */
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

    struct zseccomp *f = NULL;
    for (size_t i = 0; i < sc->n_architectures; i++)
        if (add_architecture(ctx, sc->architectures[i], i, e) < 0)
            goto out;
    for (size_t i = 0; i < sc->n_syscalls; i++)
        if (add_syscall_entry(ctx, &sc->syscalls[i], i, default_action, &uses_notify,
                              e) < 0)
            goto out;
    f = export_program(ctx, e);
    if (!f)
        goto out;
    if ((flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) && !uses_notify) {
        /* The kernel refuses the flag without a listener, and it has no
         * meaning there. */
        zdebug("seccomp: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored, no rule "
               "uses SCMP_ACT_NOTIFY");
        flags &= ~SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    }
    f->flags = flags;
    f->uses_notify = uses_notify;
out:
    seccomp_release(ctx);
    return f;
}

bool zseccomp_uses_notify(const struct zseccomp *f) { return f->uses_notify; }

unsigned zseccomp_instruction_count(const struct zseccomp *f) { return f->n_insns; }

int zseccomp_load(const struct zseccomp *f, int *notify_fd, struct zerr *e)
{
    struct sock_fprog prog = { .len = f->n_insns, .filter = (struct sock_filter *)f->insns };
    unsigned long flags = f->flags;

    *notify_fd = -1;
    if (f->uses_notify) {
        flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        /* TSYNC reports a failing thread through the return value, which
         * NEW_LISTENER needs for the fd: ask for -ESRCH instead. */
        if (flags & SECCOMP_FILTER_FLAG_TSYNC)
            flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    }
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (r < 0) {
        if (errno == EACCES)
            return zerr_sys(e, "loading the seccomp filter (it needs "
                            "process.noNewPrivileges or CAP_SYS_ADMIN)");
        return zerr_sys(e, "loading the seccomp filter (flags 0x%lx)", flags);
    }
    if (f->uses_notify) {
        *notify_fd = (int)r;
    } else if (r > 0) {
        return zerr_set(e, ESRCH, "loading the seccomp filter: thread %ld could not be "
                        "synchronized", r);
    }
    return 0;
}

void zseccomp_free(struct zseccomp *f)
{
    free(f);
}

int zseccomp_vm_program(const struct zseccomp *f, struct zvm_resolved *out, struct zerr *e)
{
    out->seccomp = NULL;
    out->seccomp_len = out->seccomp_flags = 0;
    if (!f)
        return 0;
    if (f->uses_notify)
        return zerr_set(e, ENOTSUP, "linux.seccomp: SCMP_ACT_NOTIFY is not supported in VM mode");
    out->seccomp = f->insns;
    out->seccomp_len = (uint32_t)f->n_insns * sizeof f->insns[0];
    out->seccomp_flags = (uint32_t)(f->flags & (SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG |
                                                SECCOMP_FILTER_FLAG_SPEC_ALLOW));
    return 0;
}
