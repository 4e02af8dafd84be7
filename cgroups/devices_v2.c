/* linux.resources.devices on cgroup v2: v2 has no devices.allow/deny files;
 * the kernel asks every BPF_PROG_TYPE_CGROUP_DEVICE program attached to the
 * cgroup (and its ancestors) instead. We replay the ordered rule list the
 * way the v1 devices controller does (a default plus a list of exceptions),
 * then emit a small program that checks the exceptions and returns the
 * default otherwise. Written against bpf(2) directly: the program is a few
 * dozen instructions and libbpf would be a large dependency for it. */
#include "cgroups/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"

/* ------------------------------------------------------------ the policy */

/* Exceptions are keyed by (type, major, minor) exactly as the kernel keys
 * them: "c *:* m" and "c 1:3 rwm" are different entries. */
static struct zcg_dev_exception *find_exception(struct zcg_dev_policy *p,
                                                const struct zcg_dev_exception *k)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->ex[i].type == k->type && p->ex[i].major == k->major &&
            p->ex[i].minor == k->minor)
            return &p->ex[i];
    return NULL;
}

static int add_exception(struct zcg_dev_policy *p,
                         const struct zcg_dev_exception *k, size_t *cap)
{
    struct zcg_dev_exception *cur = find_exception(p, k);
    if (cur) {
        cur->access |= k->access;
        return 0;
    }
    if (p->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        struct zcg_dev_exception *ex = reallocarray(p->ex, ncap, sizeof *ex);
        if (!ex)
            return -1;
        p->ex = ex;
        *cap = ncap;
    }
    p->ex[p->n++] = *k;
    return 0;
}

static void remove_exception(struct zcg_dev_policy *p,
                             const struct zcg_dev_exception *k)
{
    struct zcg_dev_exception *cur = find_exception(p, k);
    if (!cur)
        return;
    cur->access &= ~k->access;
    if (cur->access == 0) {
        size_t i = (size_t)(cur - p->ex);
        memmove(&p->ex[i], &p->ex[i + 1], (p->n - i - 1) * sizeof *p->ex);
        p->n--;
    }
}

static unsigned access_bits(const char *access)
{
    unsigned bits = 0;
    if (!access || !*access)
        return ZCG_DEV_ACC_ALL;
    for (const char *c = access; *c; c++)
        bits |= *c == 'r' ? ZCG_DEV_ACC_READ
              : *c == 'w' ? ZCG_DEV_ACC_WRITE : ZCG_DEV_ACC_MKNOD;
    return bits;
}

int zcg_dev_policy_build(const struct zspec_device_cgroup *d, size_t n,
                         struct zcg_dev_policy *out, struct zerr *e)
{
    struct zcg_dev_policy p = {.default_allow = true};
    size_t cap = 0;

    *out = p;
    for (size_t i = 0; i < n; i++) {
        char text[80];
        struct zcg_dev_exception k;
        const char *type = d[i].type && *d[i].type ? d[i].type : "a";

        /* Validates type, access and the major/minor range. */
        if (zcg_device_rule(&d[i], text, sizeof text, e) < 0) {
            zcg_dev_policy_free(&p);
            return zerr_prefix(e, "linux.resources.devices[%zu]", i);
        }
        if (type[0] == 'a') {
            /* The v1 controller ignores major:minor and access on an "a"
             * rule: it resets the default and drops every exception. */
            p.default_allow = d[i].allow;
            p.n = 0;
            continue;
        }
        k.type = type[0];
        k.major = d[i].has_major ? (uint32_t)d[i].major : ZCG_DEV_WILDCARD;
        k.minor = d[i].has_minor ? (uint32_t)d[i].minor : ZCG_DEV_WILDCARD;
        k.access = access_bits(d[i].access);
        /* A rule that agrees with the default takes away from the
         * exceptions; one that disagrees adds to them. */
        if (d[i].allow == p.default_allow) {
            remove_exception(&p, &k);
        } else if (add_exception(&p, &k, &cap) < 0) {
            zcg_dev_policy_free(&p);
            return zerr_set(e, ENOMEM, "linux.resources.devices[%zu] \"%s\"",
                            i, text);
        }
    }
    *out = p;
    return 0;
}

void zcg_dev_policy_free(struct zcg_dev_policy *p)
{
    free(p->ex);
    p->ex = NULL;
    p->n = 0;
}

/* ------------------------------------------------------------ the program */

/* Registers: r1 = ctx (then scratch), w2 = device type, w3 = requested
 * access, w4 = major, w5 = minor. */
#define INSN(c, d, s, o, i) \
    ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), \
                       .off = (o), .imm = (i)})
#define LDX_W(dst, src, off) INSN(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define ALU32_K(op, dst, imm) INSN(BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define MOV32_X(dst, src) INSN(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV64_K(dst, imm) INSN(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
/* 32-bit compares: majors above INT32_MAX must not be sign-extended. */
#define JMP32_K(op, dst, imm, off) \
    INSN(BPF_JMP32 | (op) | BPF_K, dst, 0, off, (int32_t)(imm))
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

enum { R0, R1, R2, R3, R4, R5 };

#define PROLOGUE_LEN 6
#define BLOCK_MAX 9 /* instructions per exception, at most */

/* One exception: the checks jump past the block when they fail; a request
 * that gets through them all returns `verdict`. */
static size_t emit_exception(struct bpf_insn *out,
                             const struct zcg_dev_exception *x, bool verdict)
{
    struct bpf_insn b[BLOCK_MAX];
    size_t n = 0;
    unsigned type = x->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;

    /* Jump offsets are patched below once the block length is known. */
    b[n++] = JMP32_K(BPF_JNE, R2, type, 0);
    if (x->major != ZCG_DEV_WILDCARD)
        b[n++] = JMP32_K(BPF_JNE, R4, x->major, 0);
    if (x->minor != ZCG_DEV_WILDCARD)
        b[n++] = JMP32_K(BPF_JNE, R5, x->minor, 0);
    b[n++] = MOV32_X(R1, R3);
    if (verdict) {
        /* An allow exception must cover every access asked for. */
        b[n++] = ALU32_K(BPF_AND, R1, (int32_t)~x->access);
        b[n++] = JMP32_K(BPF_JNE, R1, 0, 0);
    } else {
        /* A deny exception applies as soon as it covers any of them. */
        b[n++] = ALU32_K(BPF_AND, R1, (int32_t)x->access);
        b[n++] = JMP32_K(BPF_JEQ, R1, 0, 0);
    }
    b[n++] = MOV64_K(R0, verdict ? 1 : 0);
    b[n++] = EXIT();
    for (size_t i = 0; i < n; i++)
        if (BPF_CLASS(b[i].code) == BPF_JMP32)
            b[i].off = (int16_t)(n - i - 1);
    memcpy(out, b, n * sizeof *b);
    return n;
}

int zcg_dev_prog(const struct zcg_dev_policy *p, struct bpf_insn **insns,
                 size_t *n_insns, struct zerr *e)
{
    struct bpf_insn *prog;
    size_t n = 0;

    *insns = NULL;
    *n_insns = 0;
    if (p->n > (SIZE_MAX / sizeof *prog - PROLOGUE_LEN - 2) / BLOCK_MAX)
        return zerr_set(e, E2BIG, "device program: %zu exceptions", p->n);
    prog = calloc(PROLOGUE_LEN + p->n * BLOCK_MAX + 2, sizeof *prog);
    if (!prog)
        return zerr_set(e, ENOMEM, "device program");
    /* ctx is struct bpf_cgroup_dev_ctx: access_type = access << 16 | type */
    prog[n++] = LDX_W(R2, R1, offsetof(struct bpf_cgroup_dev_ctx, access_type));
    prog[n++] = MOV32_X(R3, R2);
    prog[n++] = ALU32_K(BPF_AND, R2, 0xffff);
    prog[n++] = ALU32_K(BPF_RSH, R3, 16);
    prog[n++] = LDX_W(R4, R1, offsetof(struct bpf_cgroup_dev_ctx, major));
    prog[n++] = LDX_W(R5, R1, offsetof(struct bpf_cgroup_dev_ctx, minor));
    /* Under a default of allow, exceptions deny; and the other way round. */
    for (size_t i = 0; i < p->n; i++)
        n += emit_exception(&prog[n], &p->ex[i], !p->default_allow);
    prog[n++] = MOV64_K(R0, p->default_allow ? 1 : 0);
    prog[n++] = EXIT();
    *insns = prog;
    *n_insns = n;
    return 0;
}

/* ------------------------------------------------------------ bpf(2) */

static int sys_bpf(int cmd, union bpf_attr *attr)
{
    return (int)syscall(__NR_bpf, cmd, attr, sizeof *attr);
}

static int prog_load(const struct bpf_insn *insns, size_t n, char *log,
                     size_t log_size)
{
    union bpf_attr attr;

    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uintptr_t)insns;
    attr.insn_cnt = (uint32_t)n;
    /* The kernel reads the license only to gate GPL-only helpers; this
     * program calls no helper at all. */
    attr.license = (uintptr_t)"Apache-2.0";
    if (log) {
        attr.log_buf = (uintptr_t)log;
        attr.log_size = (uint32_t)log_size;
        attr.log_level = 1;
        log[0] = '\0';
    }
    snprintf(attr.prog_name, sizeof attr.prog_name, "%s", ZCG_DEV_PROG_NAME);
    return sys_bpf(BPF_PROG_LOAD, &attr);
}

int zcg_dev_prog_load(const struct bpf_insn *insns, size_t n, struct zerr *e)
{
    _cleanup_free_ char *log = NULL;
    int fd, saved;
    size_t len;

    if (n > UINT32_MAX)
        return zerr_set(e, E2BIG, "device program: %zu instructions", n);
    fd = prog_load(insns, n, NULL, 0);
    if (fd >= 0)
        return fd;
    saved = errno;
    /* Load again with the verifier's log, only to explain the failure. */
    log = malloc(ZCG_DEV_LOG_SIZE);
    if (log && prog_load(insns, n, log, ZCG_DEV_LOG_SIZE) >= 0)
        log[0] = '\0'; /* passed this time: nothing to explain */
    errno = saved;
    if (!log || !log[0])
        return zerr_sys(e, "load device program (%zu instructions)", n);
    /* Keep the tail: the verifier states the reason last. */
    len = strlen(log);
    while (len && log[len - 1] == '\n')
        log[--len] = '\0';
    for (char *c = log; (c = strchr(c, '\n'));)
        *c = ';'; /* one line, like every other error */
    return zerr_set(e, saved, "load device program (%zu instructions): %s; "
                    "verifier: %s", n, strerror(saved),
                    len > 512 ? log + len - 512 : log);
}

/* The kernel ids of the device programs attached to the cgroup. */
static int query_attached(int dirfd, uint32_t *ids, uint32_t cap,
                          uint32_t *count)
{
    union bpf_attr attr;

    memset(&attr, 0, sizeof attr);
    attr.query.target_fd = (uint32_t)dirfd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uintptr_t)ids;
    attr.query.prog_cnt = cap;
    if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
        return -1;
    *count = attr.query.prog_cnt < cap ? attr.query.prog_cnt : cap;
    return 0;
}

static int prog_info(int fd, struct bpf_prog_info *info)
{
    union bpf_attr attr;

    memset(info, 0, sizeof *info);
    memset(&attr, 0, sizeof attr);
    attr.info.bpf_fd = (uint32_t)fd;
    attr.info.info_len = sizeof *info;
    attr.info.info = (uintptr_t)info;
    return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr);
}

static int prog_fd_by_id(uint32_t id)
{
    union bpf_attr attr;

    memset(&attr, 0, sizeof attr);
    attr.prog_id = id;
    return sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
}

static int attach(int dirfd, int prog_fd, const char *dir, struct zerr *e)
{
    union bpf_attr attr;

    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)dirfd;
    attr.attach_bpf_fd = (uint32_t)prog_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    /* Leaves room for the programs of other managers (systemd) too: the
     * kernel then requires every one of them to allow an access. */
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
        return zerr_sys(e, "cgroup %s: attach device program", dir);
    return 0;
}

/* Detaches every program of ours but `keep_id` (the one just attached). */
static int detach_old(int dirfd, uint32_t keep_id, const char *dir,
                      struct zerr *e)
{
    uint32_t ids[ZCG_DEV_MAX_ATTACHED], count;

    if (query_attached(dirfd, ids, ZCG_DEV_MAX_ATTACHED, &count) < 0)
        return zerr_sys(e, "cgroup %s: query device programs", dir);
    for (uint32_t i = 0; i < count; i++) {
        _cleanup_close_ int fd = -1;
        struct bpf_prog_info info;
        union bpf_attr attr;

        if (ids[i] == keep_id)
            continue;
        fd = prog_fd_by_id(ids[i]);
        if (fd < 0) {
            if (errno == ENOENT) /* went away meanwhile */
                continue;
            return zerr_sys(e, "cgroup %s: device program id %" PRIu32, dir,
                            ids[i]);
        }
        if (prog_info(fd, &info) < 0)
            return zerr_sys(e, "cgroup %s: device program id %" PRIu32
                            ": info", dir, ids[i]);
        if (strncmp(info.name, ZCG_DEV_PROG_NAME, sizeof info.name) != 0)
            continue; /* someone else's */
        memset(&attr, 0, sizeof attr);
        attr.target_fd = (uint32_t)dirfd;
        attr.attach_bpf_fd = (uint32_t)fd;
        attr.attach_type = BPF_CGROUP_DEVICE;
        if (sys_bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
            return zerr_sys(e, "cgroup %s: detach old device program id %"
                            PRIu32, dir, ids[i]);
    }
    return 0;
}

int zcg_v2_devices(const char *dir, const struct zspec_device_cgroup *d,
                   size_t n, struct zerr *e)
{
    struct zcg_dev_policy p;
    _cleanup_free_ struct bpf_insn *insns = NULL;
    _cleanup_close_ int dirfd = -1, prog_fd = -1;
    struct bpf_prog_info info;
    size_t n_insns;
    int rc;

    if (n == 0)
        return 0; /* as on v1: no rules, nothing changes */
    if (zcg_dev_policy_build(d, n, &p, e) < 0)
        return -1;
    rc = zcg_dev_prog(&p, &insns, &n_insns, e);
    zcg_dev_policy_free(&p);
    if (rc < 0)
        return zerr_prefix(e, "cgroup %s", dir);
    prog_fd = zcg_dev_prog_load(insns, n_insns, e);
    if (prog_fd < 0) {
        /* Unprivileged, the kernel refuses device programs whatever the
         * cgroup delegation; runc and crun then go without device rules
         * too, the user namespace already keeps device nodes out. */
        if (e->code == EPERM && geteuid() != 0) {
            zwarn("cgroup %s: device rules not applied: %s", dir, e->msg);
            return 0;
        }
        return zerr_prefix(e, "cgroup %s: linux.resources.devices (%zu rules)",
                           dir, n);
    }
    dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return zerr_sys(e, "cgroup %s: open", dir);
    if (prog_info(prog_fd, &info) < 0)
        return zerr_sys(e, "cgroup %s: device program info", dir);
    /* New program first, then the old ones go: no moment without rules. */
    if (attach(dirfd, prog_fd, dir, e) < 0)
        return -1;
    return detach_old(dirfd, info.id, dir, e);
}
