/* cgroups: device rules as an eBPF program (cgroup v2). The rule replay
 * and the generated instructions are checked everywhere, the instructions
 * also by running them in a small interpreter of the opcodes we emit; as
 * root, the kernel loads the program and, with a cgroup2 mount, enforces
 * it on a child process and replaces it on update. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cgroups/internal.h"
#include "core/cleanup.h"

#define R(allow_, type_, maj, min, acc)                                    \
    ((struct zspec_device_cgroup){.allow = (allow_), .type = (char *)(type_), \
                                  .has_major = (maj) >= 0, .major = (maj), \
                                  .has_minor = (min) >= 0, .minor = (min), \
                                  .access = (char *)(acc)})
#define ANY (-1)
#define NRULES(a) (sizeof(a) / sizeof((a)[0]))

/* The rules the runtime installs for a default spec, plus one deny. */
static const struct zspec_device_cgroup default_like[] = {
    R(false, NULL, ANY, ANY, "rwm"),
    R(true, "c", ANY, ANY, "m"),
    R(true, "b", ANY, ANY, "m"),
    R(true, "c", 1, 3, "rwm"),
    R(true, "c", 1, 5, "rwm"),
    R(true, "c", 136, ANY, "rwm"),
    R(true, "c", 4000000000, 1, "r"),
    R(false, "c", 1, 5, "w"),
};

/* ------------------------------------------------------------ policy */

static void expect_ex(const struct zcg_dev_exception *x, char type,
                      uint32_t major, uint32_t minor, unsigned access)
{
    assert_int_equal(x->type, type);
    assert_int_equal(x->major, major);
    assert_int_equal(x->minor, minor);
    assert_int_equal(x->access, access);
}

static void test_policy_replay(void **state)
{
    struct zcg_dev_policy p;
    struct zerr e = {0};
    (void)state;

    assert_int_equal(zcg_dev_policy_build(NULL, 0, &p, &e), 0);
    assert_true(p.default_allow);
    assert_int_equal(p.n, 0);
    zcg_dev_policy_free(&p);

    assert_int_equal(zcg_dev_policy_build(default_like, NRULES(default_like),
                                          &p, &e), 0);
    assert_false(p.default_allow);
    assert_int_equal(p.n, 6);
    expect_ex(&p.ex[0], 'c', ZCG_DEV_WILDCARD, ZCG_DEV_WILDCARD, 1);
    expect_ex(&p.ex[1], 'b', ZCG_DEV_WILDCARD, ZCG_DEV_WILDCARD, 1);
    expect_ex(&p.ex[2], 'c', 1, 3, 7);
    expect_ex(&p.ex[3], 'c', 1, 5, 3);         /* w taken away */
    expect_ex(&p.ex[4], 'c', 136, ZCG_DEV_WILDCARD, 7);
    expect_ex(&p.ex[5], 'c', 4000000000u, 1, 2);
    zcg_dev_policy_free(&p);

    /* merging, full removal, and a later "a" rule wiping everything */
    const struct zspec_device_cgroup merge[] = {
        R(false, "a", ANY, ANY, "rwm"),
        R(true, "c", 1, 3, "r"),
        R(true, "c", 1, 3, "w"),
        R(true, "c", 1, 7, "rw"),
        R(false, "c", 1, 7, "rw"),
        R(false, "c", 1, 3, "m"),    /* nothing to remove: no m there */
    };
    assert_int_equal(zcg_dev_policy_build(merge, NRULES(merge), &p, &e), 0);
    assert_false(p.default_allow);
    assert_int_equal(p.n, 1);
    expect_ex(&p.ex[0], 'c', 1, 3, 6);
    zcg_dev_policy_free(&p);

    /* default allow: allow rules only take back denies, exact keys only */
    const struct zspec_device_cgroup allow_default[] = {
        R(true, "c", 1, 3, "rwm"),   /* no exception to remove */
        R(false, "c", ANY, ANY, "w"),
        R(false, "b", 8, 0, "rwm"),
        R(true, "c", 1, 3, "w"),     /* not the key of "c *:* w" */
        R(true, "b", 8, 0, "m"),
    };
    assert_int_equal(zcg_dev_policy_build(allow_default,
                                          NRULES(allow_default), &p, &e), 0);
    assert_true(p.default_allow);
    assert_int_equal(p.n, 2);
    expect_ex(&p.ex[0], 'c', ZCG_DEV_WILDCARD, ZCG_DEV_WILDCARD, 4);
    expect_ex(&p.ex[1], 'b', 8, 0, 6);
    zcg_dev_policy_free(&p);

    /* an "a" rule ignores its major:minor and access, as v1 does */
    const struct zspec_device_cgroup reset[] = {
        R(false, "c", 1, 3, "w"),
        R(false, "a", 1, 3, "r"),
        R(true, "c", 1, 9, ""),      /* empty access = rwm */
        R(true, "a", ANY, ANY, "m"),
        R(false, "c", 1, 9, "m"),
    };
    assert_int_equal(zcg_dev_policy_build(reset, NRULES(reset), &p, &e), 0);
    assert_true(p.default_allow);
    assert_int_equal(p.n, 1);
    expect_ex(&p.ex[0], 'c', 1, 9, 1);
    zcg_dev_policy_free(&p);
}

static void test_policy_errors(void **state)
{
    struct zcg_dev_policy p;
    struct zerr e = {0};
    (void)state;

    const struct zspec_device_cgroup bad_type[] = {
        R(false, "a", ANY, ANY, "rwm"), R(true, "x", 1, 3, "rwm")};
    assert_int_equal(zcg_dev_policy_build(bad_type, 2, &p, &e), -1);
    assert_int_equal(e.code, EINVAL);
    assert_non_null(strstr(e.msg, "linux.resources.devices[1]"));
    assert_non_null(strstr(e.msg, "\"x\""));
    assert_null(p.ex);

    const struct zspec_device_cgroup bad_access[] = {
        R(true, "c", 1, 3, "rwx")};
    assert_int_equal(zcg_dev_policy_build(bad_access, 1, &p, &e), -1);
    assert_non_null(strstr(e.msg, "linux.resources.devices[0]"));
    assert_non_null(strstr(e.msg, "rwx"));

    struct zspec_device_cgroup big = R(true, "c", 1, 3, "r");
    big.major = (int64_t)UINT32_MAX + 1;
    assert_int_equal(zcg_dev_policy_build(&big, 1, &p, &e), -1);
    assert_non_null(strstr(e.msg, "out of range"));
}

/* ------------------------------------------------------------ program */

struct insn_want {
    uint8_t code, dst, src;
    int16_t off;
    int32_t imm;
};

static void expect_prog(const struct zspec_device_cgroup *rules, size_t n,
                        const struct insn_want *want, size_t n_want)
{
    struct zcg_dev_policy p;
    struct zerr e = {0};
    _cleanup_free_ struct bpf_insn *insns = NULL;
    size_t n_insns;

    assert_int_equal(zcg_dev_policy_build(rules, n, &p, &e), 0);
    assert_int_equal(zcg_dev_prog(&p, &insns, &n_insns, &e), 0);
    zcg_dev_policy_free(&p);
    assert_int_equal(n_insns, n_want);
    for (size_t i = 0; i < n_want; i++) {
        if (insns[i].code != want[i].code || insns[i].dst_reg != want[i].dst ||
            insns[i].src_reg != want[i].src || insns[i].off != want[i].off ||
            insns[i].imm != want[i].imm)
            fail_msg("insn %zu: got {0x%02x, r%d, r%d, %d, %d}, want "
                     "{0x%02x, r%d, r%d, %d, %d}", i, insns[i].code,
                     insns[i].dst_reg, insns[i].src_reg, insns[i].off,
                     insns[i].imm, want[i].code, want[i].dst, want[i].src,
                     want[i].off, want[i].imm);
    }
}

#define W_LDX(d, o) {BPF_LDX | BPF_MEM | BPF_W, d, 1, o, 0}
#define PROLOGUE \
    W_LDX(2, 0), {BPF_ALU | BPF_MOV | BPF_X, 3, 2, 0, 0}, \
    {BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xffff}, \
    {BPF_ALU | BPF_RSH | BPF_K, 3, 0, 0, 16}, W_LDX(4, 4), W_LDX(5, 8)
#define J32(op, d, imm, off) {BPF_JMP32 | (op) | BPF_K, d, 0, off, imm}
#define RET(v) {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, v}, \
               {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}

static void test_prog_instructions(void **state)
{
    (void)state;

    /* deny all, then allow c 1:3 rw: an allow block needing full cover */
    const struct zspec_device_cgroup one_allow[] = {
        R(false, "a", ANY, ANY, "rwm"), R(true, "c", 1, 3, "rw")};
    const struct insn_want want_allow[] = {
        PROLOGUE,
        J32(BPF_JNE, 2, BPF_DEVCG_DEV_CHAR, 7),
        J32(BPF_JNE, 4, 1, 6),
        J32(BPF_JNE, 5, 3, 5),
        {BPF_ALU | BPF_MOV | BPF_X, 1, 3, 0, 0},
        {BPF_ALU | BPF_AND | BPF_K, 1, 0, 0, ~6},
        J32(BPF_JNE, 1, 0, 2),
        RET(1),
        RET(0),
    };
    expect_prog(one_allow, NRULES(one_allow), want_allow,
                NRULES(want_allow));

    /* default allow, deny b *:* w: no major/minor checks, any-overlap */
    const struct zspec_device_cgroup one_deny[] = {
        R(false, "b", ANY, ANY, "w")};
    const struct insn_want want_deny[] = {
        PROLOGUE,
        J32(BPF_JNE, 2, BPF_DEVCG_DEV_BLOCK, 5),
        {BPF_ALU | BPF_MOV | BPF_X, 1, 3, 0, 0},
        {BPF_ALU | BPF_AND | BPF_K, 1, 0, 0, 4},
        J32(BPF_JEQ, 1, 0, 2),
        RET(0),
        RET(1),
    };
    expect_prog(one_deny, NRULES(one_deny), want_deny, NRULES(want_deny));

    /* only defaults: the prologue and one verdict */
    const struct zspec_device_cgroup deny_all[] = {
        R(true, "c", 1, 3, "r"), R(false, NULL, ANY, ANY, NULL)};
    const struct insn_want want_none[] = {PROLOGUE, RET(0)};
    expect_prog(deny_all, NRULES(deny_all), want_none, NRULES(want_none));

    /* a major above INT32_MAX goes in as its 32-bit pattern */
    const struct zspec_device_cgroup big[] = {
        R(false, "a", ANY, ANY, "rwm"), R(true, "c", 4000000000, ANY, "m")};
    const struct insn_want want_big[] = {
        PROLOGUE,
        J32(BPF_JNE, 2, BPF_DEVCG_DEV_CHAR, 6),
        J32(BPF_JNE, 4, (int32_t)4000000000u, 5),
        {BPF_ALU | BPF_MOV | BPF_X, 1, 3, 0, 0},
        {BPF_ALU | BPF_AND | BPF_K, 1, 0, 0, ~1},
        J32(BPF_JNE, 1, 0, 2),
        RET(1),
        RET(0),
    };
    expect_prog(big, NRULES(big), want_big, NRULES(want_big));
}

/* Runs the opcodes zcg_dev_prog emits, as the kernel would on a request;
 * fails on anything else. */
static int run_prog(const struct bpf_insn *p, size_t n, unsigned type,
                    unsigned access, uint32_t major, uint32_t minor)
{
    const uint32_t ctx[3] = {access << 16 | type, major, minor};
    uint64_t r[11] = {0};
    size_t pc = 0;

    while (pc < n) {
        struct bpf_insn in = p[pc++];
        uint32_t d32 = (uint32_t)r[in.dst_reg];
        switch (in.code) {
        case BPF_LDX | BPF_MEM | BPF_W:
            assert_int_equal(in.src_reg, 1);
            assert_true(pc <= 6 && in.off >= 0 && in.off < 12 && in.off % 4 == 0);
            r[in.dst_reg] = ctx[in.off / 4];
            break;
        case BPF_ALU | BPF_MOV | BPF_X:
            r[in.dst_reg] = (uint32_t)r[in.src_reg];
            break;
        case BPF_ALU | BPF_AND | BPF_K:
            r[in.dst_reg] = d32 & (uint32_t)in.imm;
            break;
        case BPF_ALU | BPF_RSH | BPF_K:
            r[in.dst_reg] = d32 >> in.imm;
            break;
        case BPF_ALU64 | BPF_MOV | BPF_K:
            r[in.dst_reg] = (uint64_t)(int64_t)in.imm;
            break;
        case BPF_JMP32 | BPF_JNE | BPF_K:
            if (d32 != (uint32_t)in.imm)
                pc += (size_t)in.off;
            break;
        case BPF_JMP32 | BPF_JEQ | BPF_K:
            if (d32 == (uint32_t)in.imm)
                pc += (size_t)in.off;
            break;
        case BPF_JMP | BPF_EXIT:
            assert_true(r[0] == 0 || r[0] == 1);
            return (int)r[0];
        default:
            fail_msg("insn %zu: unexpected opcode 0x%02x", pc - 1, in.code);
        }
    }
    fail_msg("ran past the last instruction");
    return -1;
}

#define CHR BPF_DEVCG_DEV_CHAR
#define BLK BPF_DEVCG_DEV_BLOCK
#define RD BPF_DEVCG_ACC_READ
#define WR BPF_DEVCG_ACC_WRITE
#define MK BPF_DEVCG_ACC_MKNOD

static void test_prog_semantics(void **state)
{
    struct zcg_dev_policy p;
    struct zerr e = {0};
    struct bpf_insn *insns;
    size_t n;
    (void)state;

    assert_int_equal(zcg_dev_policy_build(default_like, NRULES(default_like),
                                          &p, &e), 0);
    assert_int_equal(zcg_dev_prog(&p, &insns, &n, &e), 0);
    zcg_dev_policy_free(&p);
    assert_int_equal(run_prog(insns, n, CHR, RD | WR, 1, 3), 1);
    assert_int_equal(run_prog(insns, n, CHR, MK, 1, 3), 1);
    assert_int_equal(run_prog(insns, n, CHR, RD, 1, 5), 1);
    assert_int_equal(run_prog(insns, n, CHR, WR, 1, 5), 0);
    assert_int_equal(run_prog(insns, n, CHR, RD | WR, 1, 5), 0);
    assert_int_equal(run_prog(insns, n, CHR, RD, 1, 4), 0);
    assert_int_equal(run_prog(insns, n, CHR, MK, 1, 4), 1);
    assert_int_equal(run_prog(insns, n, BLK, RD, 1, 3), 0);
    assert_int_equal(run_prog(insns, n, BLK, MK, 8, 0), 1);
    assert_int_equal(run_prog(insns, n, CHR, RD | WR, 136, 7), 1);
    assert_int_equal(run_prog(insns, n, CHR, RD, 4000000000u, 1), 1);
    assert_int_equal(run_prog(insns, n, CHR, WR, 4000000000u, 1), 0);
    assert_int_equal(run_prog(insns, n, CHR, RD, 4000000000u, 2), 0);
    free(insns);

    const struct zspec_device_cgroup allow_default[] = {
        R(false, "c", 1, 3, "w"), R(false, "b", ANY, ANY, NULL)};
    assert_int_equal(zcg_dev_policy_build(allow_default, 2, &p, &e), 0);
    assert_int_equal(zcg_dev_prog(&p, &insns, &n, &e), 0);
    zcg_dev_policy_free(&p);
    assert_int_equal(run_prog(insns, n, CHR, RD, 1, 3), 1);
    assert_int_equal(run_prog(insns, n, CHR, RD | WR, 1, 3), 0);
    assert_int_equal(run_prog(insns, n, CHR, WR, 1, 3), 0);
    assert_int_equal(run_prog(insns, n, CHR, RD | WR, 1, 5), 1);
    assert_int_equal(run_prog(insns, n, BLK, MK, 8, 0), 0);
    free(insns);
}

/* ------------------------------------------------------------ kernel */

/* Loads the default_like program; false (with a printed reason) when this
 * process may not use bpf(2). */
static bool bpf_usable(void)
{
    struct zcg_dev_policy p;
    struct zerr e = {0};
    _cleanup_free_ struct bpf_insn *insns = NULL;
    size_t n;
    int fd;

    assert_int_equal(zcg_dev_policy_build(default_like, NRULES(default_like),
                                          &p, &e), 0);
    assert_int_equal(zcg_dev_prog(&p, &insns, &n, &e), 0);
    zcg_dev_policy_free(&p);
    fd = zcg_dev_prog_load(insns, n, &e);
    if (fd < 0 && (e.code == EPERM || e.code == ENOSYS || e.code == EACCES)) {
        print_message("skipping: bpf(BPF_PROG_LOAD) not permitted here "
                      "(euid %d): %s\n", (int)geteuid(), e.msg);
        return false;
    }
    if (fd < 0)
        fail_msg("loading the device program: %s", e.msg);
    close(fd);
    return true;
}

static void test_kernel_loads(void **state)
{
    struct zerr e = {0};
    (void)state;

    if (!bpf_usable())
        skip();
    /* A program that never sets r0: the error carries the verifier's log. */
    const struct bpf_insn bad[] = {{.code = BPF_JMP | BPF_EXIT}};
    assert_int_equal(zcg_dev_prog_load(bad, 1, &e), -1);
    assert_int_equal(e.code, EACCES);
    assert_non_null(strstr(e.msg, "verifier: "));
    assert_non_null(strstr(e.msg, "R0"));
}

static char cg_dir[4096];

static int teardown_cgroup(void **state)
{
    (void)state;
    if (cg_dir[0])
        rmdir(cg_dir);
    cg_dir[0] = '\0';
    return 0;
}

/* How many programs named ZCG_DEV_PROG_NAME are attached to cg_dir. */
static int ours_attached(void)
{
    uint32_t ids[64];
    union bpf_attr a;
    int count = 0;
    _cleanup_close_ int dirfd = open(cg_dir, O_RDONLY | O_DIRECTORY);

    assert_true(dirfd >= 0);
    memset(&a, 0, sizeof a);
    a.query.target_fd = (uint32_t)dirfd;
    a.query.attach_type = BPF_CGROUP_DEVICE;
    a.query.prog_ids = (uintptr_t)ids;
    a.query.prog_cnt = 64;
    assert_int_equal(syscall(__NR_bpf, BPF_PROG_QUERY, &a, sizeof a), 0);
    for (uint32_t i = 0; i < a.query.prog_cnt && i < 64; i++) {
        struct bpf_prog_info info;
        union bpf_attr b;
        _cleanup_close_ int fd = -1;
        memset(&b, 0, sizeof b);
        b.prog_id = ids[i];
        fd = (int)syscall(__NR_bpf, BPF_PROG_GET_FD_BY_ID, &b, sizeof b);
        assert_true(fd >= 0);
        memset(&info, 0, sizeof info);
        memset(&b, 0, sizeof b);
        b.info.bpf_fd = (uint32_t)fd;
        b.info.info_len = sizeof info;
        b.info.info = (uintptr_t)&info;
        assert_int_equal(syscall(__NR_bpf, BPF_OBJ_GET_INFO_BY_FD, &b, sizeof b), 0);
        count += strcmp(info.name, ZCG_DEV_PROG_NAME) == 0;
    }
    return count;
}

/* A child joins cg_dir and opens /dev/null; returns 1 for read allowed,
 * 2 for write allowed (or'ed). */
static int probe_null(void)
{
    int status;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        char procs[4200], me[16];
        int fd, res = 0;
        snprintf(procs, sizeof procs, "%s/cgroup.procs", cg_dir);
        snprintf(me, sizeof me, "%d", (int)getpid());
        fd = open(procs, O_WRONLY);
        if (fd < 0 || write(fd, me, strlen(me)) < 0)
            _exit(100);
        close(fd);
        if ((fd = open("/dev/null", O_RDONLY)) >= 0) {
            res |= 1;
            close(fd);
        } else if (errno != EPERM) {
            _exit(101);
        }
        if ((fd = open("/dev/null", O_WRONLY)) >= 0) {
            res |= 2;
            close(fd);
        } else if (errno != EPERM) {
            _exit(102);
        }
        _exit(res);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_true(WEXITSTATUS(status) < 100);
    return WEXITSTATUS(status);
}

static void test_kernel_attach_and_update(void **state)
{
    struct zerr e = {0};
    const struct zcg_layout *l;
    const char *mnt = NULL;
    (void)state;

    if (!bpf_usable())
        skip();
    l = zcg_host_layout(&e);
    for (size_t i = 0; l && i < l->n; i++)
        if (l->h[i].v2)
            mnt = l->h[i].mountpoint;
    if (!mnt) {
        print_message("skipping: no cgroup2 mount on this host\n");
        skip();
    }
    snprintf(cg_dir, sizeof cg_dir, "%s/zone-devtest-%d", mnt, (int)getpid());
    if (mkdir(cg_dir, 0755) < 0) {
        print_message("skipping: mkdir %s: %s\n", cg_dir, strerror(errno));
        cg_dir[0] = '\0';
        skip();
    }
    assert_int_equal(probe_null(), 3);

    const struct zspec_device_cgroup no_write[] = {
        R(false, "a", ANY, ANY, "rwm"), R(true, "c", 1, 3, "rm")};
    assert_int_equal(zcg_v2_devices(cg_dir, no_write, 2, &e), 0);
    assert_int_equal(ours_attached(), 1);
    assert_int_equal(probe_null(), 1);

    /* update: the new program replaces ours, nothing else piles up */
    const struct zspec_device_cgroup no_read[] = {
        R(false, "a", ANY, ANY, "rwm"), R(true, "c", 1, 3, "w")};
    assert_int_equal(zcg_v2_devices(cg_dir, no_read, 2, &e), 0);
    assert_int_equal(ours_attached(), 1);
    assert_int_equal(probe_null(), 2);

    /* a bad rule changes nothing and names the rule */
    const struct zspec_device_cgroup bad[] = {R(true, "q", 1, 3, "w")};
    assert_int_equal(zcg_v2_devices(cg_dir, bad, 1, &e), -1);
    assert_non_null(strstr(e.msg, "linux.resources.devices[0]"));
    assert_int_equal(ours_attached(), 1);
    assert_int_equal(probe_null(), 2);

    /* a cgroup that is not there is named in the error */
    char gone[4200];
    snprintf(gone, sizeof gone, "%s/missing", cg_dir);
    assert_int_equal(zcg_v2_devices(gone, no_read, 2, &e), -1);
    assert_non_null(strstr(e.msg, gone));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_replay),
        cmocka_unit_test(test_policy_errors),
        cmocka_unit_test(test_prog_instructions),
        cmocka_unit_test(test_prog_semantics),
        cmocka_unit_test(test_kernel_loads),
        cmocka_unit_test_teardown(test_kernel_attach_and_update,
                                  teardown_cgroup),
    };
    return cmocka_run_group_tests_name("cgroups_devices_v2", tests, NULL, NULL);
}
