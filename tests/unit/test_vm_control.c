/* vm-sandbox/proto: the host <-> guest agent control protocol (encoder,
 * strict decoder, stream I/O over a socketpair) and the zone.* kernel
 * command line. Malformed input: every truncation of a message, every
 * single-byte corruption, lying lengths and counts, NUL bytes, and each
 * semantic rule; ASan makes any leak on those paths a failure. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vm-sandbox/proto/bootargs.h"
#include "vm-sandbox/proto/control.h"

static char *args3[] = { "sh", "-c", "echo hi", NULL };
static char *env2[] = { "PATH=/bin", "TERM=xterm", NULL };
static uint32_t groups2[] = { 10, 20 };
static struct ctl_rlimit rlimits2[] = { { 7, 1024, 4096 }, { 4, 0, UINT64_MAX } };
static struct ctl_mount mounts1[] = { { "data", "/mnt/data", CTL_MOUNT_RDONLY } };

/* two BPF instructions: any bytes will do for the codec */
static uint8_t seccomp2[16] = { 0x20, 0, 0, 0, 4, 0, 0, 0, 0x06, 0, 0, 0, 0, 0, 0xff, 0x7f };

static struct ctl_process sample_process(void)
{
    return (struct ctl_process){
        .flags = CTL_PROC_TERMINAL | CTL_PROC_NO_NEW_PRIVS | CTL_PROC_CAPS,
        .uid = 1000, .gid = 100, .umask = 022, .rows = 24, .cols = 80,
        .stdio = { CTL_STDIO_STREAM, CTL_STDIO_CONSOLE, CTL_STDIO_NULL },
        .cap_bounding = 0x3fffffffffULL, .cap_effective = 0x400, .cap_permitted = 0x401,
        .cap_inheritable = 0x400, .cap_ambient = 0x400,
        .cwd = "/work", .hostname = "box", .args = args3, .nargs = 3, .env = env2, .nenv = 2,
        .groups = groups2, .ngroups = 2, .rlimits = rlimits2, .nrlimits = 2,
        .seccomp = seccomp2, .seccomp_len = sizeof seccomp2, .seccomp_flags = 1u << 1 /* LOG */,
    };
}

static struct ctl_msg sample_start(void)
{
    struct ctl_msg m = { .type = CTL_START };
    m.u.start.mounts = mounts1;
    m.u.start.nmounts = 1;
    m.u.start.proc = sample_process();
    return m;
}

static void encode_ok(const struct ctl_msg *m, uint8_t **buf, size_t *len)
{
    struct zerr e = { 0 };
    int rc = ctl_encode(m, buf, len, &e);
    if (rc != 0)
        fail_msg("encode: %s", e.msg);
}

static void assert_process_equal(const struct ctl_process *a, const struct ctl_process *b)
{
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->uid, b->uid);
    assert_int_equal(a->gid, b->gid);
    assert_int_equal(a->umask, b->umask);
    assert_int_equal(a->rows, b->rows);
    assert_int_equal(a->cols, b->cols);
    assert_memory_equal(a->stdio, b->stdio, 3);
    assert_true(a->cap_bounding == b->cap_bounding && a->cap_effective == b->cap_effective &&
                a->cap_permitted == b->cap_permitted && a->cap_inheritable == b->cap_inheritable &&
                a->cap_ambient == b->cap_ambient);
    assert_string_equal(a->cwd, b->cwd);
    assert_string_equal(a->hostname, b->hostname);
    assert_int_equal(a->nargs, b->nargs);
    for (uint32_t i = 0; i < a->nargs; i++)
        assert_string_equal(a->args[i], b->args[i]);
    assert_null(b->args[b->nargs]);   /* execve-ready */
    assert_int_equal(a->nenv, b->nenv);
    for (uint32_t i = 0; i < a->nenv; i++)
        assert_string_equal(a->env[i], b->env[i]);
    assert_int_equal(a->ngroups, b->ngroups);
    assert_memory_equal(a->groups, b->groups, a->ngroups * sizeof *a->groups);
    assert_int_equal(a->nrlimits, b->nrlimits);
    for (uint32_t i = 0; i < a->nrlimits; i++) {
        assert_int_equal(a->rlimits[i].resource, b->rlimits[i].resource);
        assert_true(a->rlimits[i].soft == b->rlimits[i].soft && a->rlimits[i].hard == b->rlimits[i].hard);
    }
    assert_int_equal(a->seccomp_len, b->seccomp_len);
    assert_int_equal(a->seccomp_flags, b->seccomp_flags);
    if (a->seccomp_len)
        assert_memory_equal(a->seccomp, b->seccomp, a->seccomp_len);
}

static void test_roundtrip_start_exec(void **state)
{
    struct ctl_msg in = sample_start(), out, ex = { .type = CTL_EXEC, .session = 7 };
    struct zerr e = { 0 };
    uint8_t *buf;
    size_t len;
    (void)state;
    encode_ok(&in, &buf, &len);
    assert_int_equal(ctl_decode(buf, len, &out, &e), 0);
    assert_int_equal(out.type, CTL_START);
    assert_int_equal(out.session, 0);
    assert_int_equal(out.u.start.nmounts, 1);
    assert_string_equal(out.u.start.mounts[0].tag, "data");
    assert_string_equal(out.u.start.mounts[0].target, "/mnt/data");
    assert_int_equal(out.u.start.mounts[0].flags, CTL_MOUNT_RDONLY);
    assert_process_equal(&in.u.start.proc, &out.u.start.proc);
    ctl_msg_free(&out);
    free(buf);

    ex.u.exec = sample_process();
    ex.u.exec.flags = 0;
    ex.u.exec.cap_bounding = ex.u.exec.cap_effective = ex.u.exec.cap_permitted = 0;
    ex.u.exec.cap_inheritable = ex.u.exec.cap_ambient = 0;
    ex.u.exec.stdio[2] = CTL_STDIO_STREAM;
    ex.u.exec.ngroups = 0;
    ex.u.exec.nrlimits = 0;
    ex.u.exec.nenv = 0;
    encode_ok(&ex, &buf, &len);
    assert_int_equal(ctl_decode(buf, len, &out, &e), 0);
    assert_int_equal(out.session, 7);
    assert_process_equal(&ex.u.exec, &out.u.exec);
    ctl_msg_free(&out);
    free(buf);
}

static void test_roundtrip_small(void **state)
{
    struct ctl_msg msgs[] = {
        { .type = CTL_HELLO, .u.hello = { 1, "zone 0.1" } },
        { .type = CTL_STARTED, .u.started.pid = 42 },
        { .type = CTL_SIGNAL, .session = 3, .u.signal = { 15, CTL_SIGNAL_ALL } },
        { .type = CTL_EXIT, .u.exit.status = 3 << 8 },
        { .type = CTL_EXIT, .u.exit.status = 9 | 0x80 },
        { .type = CTL_EXEC_STARTED, .session = 2, .u.started.pid = 4194304 },
        { .type = CTL_EXEC_EXIT, .session = 2, .u.exit.status = 15 },
        { .type = CTL_RESIZE, .session = 1, .u.resize = { 50, 132 } },
        { .type = CTL_SHUTDOWN },
        { .type = CTL_ERROR, .session = 4, .u.error = { ENOENT, "exec \"x\": no such file" } },
        { .type = CTL_STDIO, .session = 9, .u.stdio.stream = CTL_STREAM_STDERR },
    };
    (void)state;
    for (size_t i = 0; i < sizeof msgs / sizeof *msgs; i++) {
        struct ctl_msg out;
        struct zerr e = { 0 };
        uint8_t *buf;
        size_t len;
        encode_ok(&msgs[i], &buf, &len);
        assert_int_equal(len, CTL_HEADER_SIZE + buf[12]);   /* small payloads: one length byte */
        assert_int_equal(ctl_decode(buf, len, &out, &e), 0);
        assert_int_equal(out.type, msgs[i].type);
        assert_int_equal(out.session, msgs[i].session);
        switch (out.type) {
        case CTL_HELLO:
            assert_string_equal(out.u.hello.software, "zone 0.1");
            break;
        case CTL_ERROR:
            assert_int_equal(out.u.error.code, ENOENT);
            assert_string_equal(out.u.error.message, msgs[i].u.error.message);
            break;
        case CTL_SIGNAL:
            assert_int_equal(out.u.signal.signo, 15);
            assert_int_equal(out.u.signal.flags, CTL_SIGNAL_ALL);
            break;
        case CTL_RESIZE:
            assert_int_equal(out.u.resize.rows, 50);
            assert_int_equal(out.u.resize.cols, 132);
            break;
        case CTL_SHUTDOWN:
            assert_int_equal(len, CTL_HEADER_SIZE);
            break;
        default:   /* the pid/status/stream word */
            assert_int_equal(out.u.started.pid, msgs[i].u.started.pid);
            break;
        }
        ctl_msg_free(&out);
        free(buf);
    }
}

/* Header layout and its checks. */
static void test_header(void **state)
{
    struct ctl_msg m = { .type = CTL_STARTED, .u.started.pid = 5 }, out;
    struct ctl_header h;
    struct zerr e = { 0 };
    uint8_t *buf, copy[64];
    size_t len;
    (void)state;
    encode_ok(&m, &buf, &len);
    assert_memory_equal(buf, "ZCTL\x01\x00\x03\x00\x00\x00\x00\x00\x04\x00\x00\x00\x05\x00\x00\x00", 20);
    assert_int_equal(ctl_decode_header(buf, len, &h, &e), 0);
    assert_int_equal(h.length, 4);
    assert_int_equal(ctl_decode_header(buf, 15, &h, &e), -1);
    memcpy(copy, buf, len);
    copy[0] = 'X';
    assert_int_equal(ctl_decode(copy, len, &out, &e), -1);
    assert_non_null(strstr(e.msg, "magic"));
    memcpy(copy, buf, len);
    copy[4] = 2;
    assert_int_equal(ctl_decode(copy, len, &out, &e), -1);
    assert_int_equal(e.code, EPROTONOSUPPORT);
    for (unsigned t = 0; t < 0x10000; t += (t < 20 ? 1 : 997)) {
        if (t >= 1 && t <= CTL_TYPE_MAX)
            continue;
        memcpy(copy, buf, len);
        copy[6] = (uint8_t)t;
        copy[7] = (uint8_t)(t >> 8);
        assert_int_equal(ctl_decode_header(copy, len, &h, &e), -1);
    }
    /* payload over the limit, and a length that disagrees with the buffer */
    memcpy(copy, buf, len);
    copy[12] = 1, copy[13] = 0, copy[14] = 0x10, copy[15] = 0;   /* 1 MiB + 1 */
    assert_int_equal(ctl_decode_header(copy, len, &h, &e), -1);
    assert_int_equal(e.code, EMSGSIZE);
    assert_int_equal(ctl_decode(buf, len - 1, &out, &e), -1);
    memcpy(copy, buf, len);
    copy[len] = 0;
    assert_int_equal(ctl_decode(copy, len + 1, &out, &e), -1);
    /* sessions: STARTED must be 0, EXEC_EXIT must not be */
    memcpy(copy, buf, len);
    copy[8] = 1;
    assert_int_equal(ctl_decode(copy, len, &out, &e), -1);
    assert_non_null(strstr(e.msg, "session"));
    free(buf);
}

/* Every prefix of a valid message fails cleanly (and leaks nothing), and
 * every single-byte change either decodes or fails cleanly. */
static void test_truncation_and_corruption(void **state)
{
    struct ctl_msg in = sample_start(), out;
    struct zerr e = { 0 };
    uint8_t *buf, *copy;
    size_t len;
    unsigned decoded = 0;
    (void)state;
    encode_ok(&in, &buf, &len);
    copy = malloc(len);
    for (size_t cut = 0; cut < len; cut++) {
        memcpy(copy, buf, len);
        /* fix the header's length so the body itself is truncated */
        if (cut >= CTL_HEADER_SIZE) {
            uint32_t l = (uint32_t)(cut - CTL_HEADER_SIZE);
            copy[12] = (uint8_t)l, copy[13] = (uint8_t)(l >> 8), copy[14] = (uint8_t)(l >> 16), copy[15] = 0;
        }
        assert_int_equal(ctl_decode(copy, cut, &out, &e), -1);
    }
    for (size_t i = 0; i < len; i++) {
        for (unsigned v = 0; v < 256; v += 51) {
            memcpy(copy, buf, len);
            if (copy[i] == (uint8_t)v)
                continue;
            copy[i] = (uint8_t)v;
            if (ctl_decode(copy, len, &out, &e) == 0) {
                decoded++;
                ctl_msg_free(&out);
            }
        }
    }
    assert_true(decoded > 0);   /* e.g. other uids, other characters */
    free(copy);
    free(buf);
}

/* Builds a raw START payload by hand to reach what the encoder refuses. */
struct raw {
    uint8_t b[4096];
    size_t n;
};

static void r32(struct raw *r, uint32_t v)
{
    memcpy(r->b + r->n, &v, 4);
    r->n += 4;
}

static void rstr(struct raw *r, const char *s, size_t n)
{
    r32(r, (uint32_t)n);
    memcpy(r->b + r->n, s, n);
    r->n += n;
}

static void raw_exec(struct raw *r, const char *cwd, size_t cwd_len, uint32_t nargs_claimed, uint8_t reserved)
{
    uint32_t hdr[4] = { CTL_MAGIC, CTL_VERSION | (CTL_EXEC << 16), 1, 0 };
    memset(r, 0, sizeof *r);
    memcpy(r->b, hdr, 16);
    r->n = 16;
    r32(r, 0);      /* flags */
    r32(r, 0);      /* uid */
    r32(r, 0);      /* gid */
    r32(r, 022);    /* umask */
    r32(r, 0);      /* rows, cols */
    r->b[r->n + 3] = reserved;
    r->n += 4;      /* stdio + reserved */
    r->n += 40;     /* caps */
    rstr(r, cwd, cwd_len);
    rstr(r, "", 0);
    r32(r, nargs_claimed);
    rstr(r, "sh", 2);
    r32(r, 0);      /* env */
    r32(r, 0);      /* groups */
    r32(r, 0);      /* rlimits */
    r32(r, 0);      /* seccomp program bytes */
    r32(r, 0);      /* seccomp flags */
    uint32_t plen = (uint32_t)(r->n - 16);
    memcpy(r->b + 12, &plen, 4);
}

/* A seccomp program must be whole instructions, within BPF_MAXINSNS, with
 * known flags: the encoder refuses what the decoder would. */
static void test_seccomp_program_checks(void **state)
{
    struct ctl_msg m = { .type = CTL_EXEC, .session = 3 };
    struct zerr e = { 0 };
    uint8_t *buf;
    size_t len;
    (void)state;
    m.u.exec = sample_process();
    m.u.exec.seccomp_len = 12;
    assert_int_equal(ctl_encode(&m, &buf, &len, &e), -1);
    assert_non_null(strstr(e.msg, "seccomp"));
    m.u.exec.seccomp_len = 16;
    m.u.exec.seccomp_flags = 1u << 3;   /* NEW_LISTENER: no listener crosses the VM */
    assert_int_equal(ctl_encode(&m, &buf, &len, &e), -1);
    assert_non_null(strstr(e.msg, "seccomp: unknown flags"));
    m.u.exec.seccomp = NULL;
    m.u.exec.seccomp_flags = 0;
    assert_int_equal(ctl_encode(&m, &buf, &len, &e), -1);
    assert_non_null(strstr(e.msg, "seccomp: missing"));
    m.u.exec.seccomp_len = CTL_SECCOMP_MAX + 8;
    assert_int_equal(ctl_encode(&m, &buf, &len, &e), -1);
}

static void test_malformed_raw(void **state)
{
    struct raw r;
    struct ctl_msg out;
    struct zerr e = { 0 };
    (void)state;
    raw_exec(&r, "/", 1, 1, 0);
    assert_int_equal(ctl_decode(r.b, r.n, &out, &e), 0);
    ctl_msg_free(&out);
    raw_exec(&r, "/a\0b", 4, 1, 0);
    assert_int_equal(ctl_decode(r.b, r.n, &out, &e), -1);
    assert_non_null(strstr(e.msg, "NUL"));
    raw_exec(&r, "/", 1, 1, 1);
    assert_int_equal(ctl_decode(r.b, r.n, &out, &e), -1);
    assert_non_null(strstr(e.msg, "reserved"));
    /* a count larger than the message, and one over the limit */
    raw_exec(&r, "/", 1, 1000, 0);
    assert_int_equal(ctl_decode(r.b, r.n, &out, &e), -1);
    assert_int_equal(e.code, EPROTO);
    raw_exec(&r, "/", 1, CTL_ARGS_MAX + 1, 0);
    assert_int_equal(ctl_decode(r.b, r.n, &out, &e), -1);
    assert_int_equal(e.code, E2BIG);
    raw_exec(&r, "/", 1, 0xffffffffu, 0);
    assert_int_equal(ctl_decode(r.b, r.n, &out, &e), -1);
    /* a string length past the buffer, and past the limit */
    raw_exec(&r, "/", 1, 1, 0);
    memcpy(r.b + 16 + 64, &(uint32_t){ 4000 }, 4);
    assert_int_equal(ctl_decode(r.b, r.n, &out, &e), -1);
    memcpy(r.b + 16 + 64, &(uint32_t){ 0x7fffffff }, 4);
    assert_int_equal(ctl_decode(r.b, r.n, &out, &e), -1);
    assert_int_equal(e.code, E2BIG);
    /* relative cwd: decoded, then refused by the semantic check */
    raw_exec(&r, "tmp", 3, 1, 0);
    assert_int_equal(ctl_decode(r.b, r.n, &out, &e), -1);
    assert_non_null(strstr(e.msg, "absolute"));
}

/* Each semantic rule, through the encoder (which shares the checks). */
static void expect_refused(struct ctl_msg *m, const char *needle)
{
    struct zerr e = { 0 };
    uint8_t *buf = (uint8_t *)"x";
    size_t len = 1;
    assert_int_equal(ctl_encode(m, &buf, &len, &e), -1);
    assert_null(buf);
    assert_int_equal(len, 0);
    if (!strstr(e.msg, needle))
        fail_msg("expected \"%s\" in \"%s\"", needle, e.msg);
}

static void test_semantic_rules(void **state)
{
    static char *noeq[] = { "FOO", NULL }, *eqfirst[] = { "=x", NULL }, *emptyarg[] = { "", NULL };
    static struct ctl_rlimit badres[] = { { 16, 1, 1 } }, softhi[] = { { 7, 5, 4 } },
                             dup[] = { { 7, 1, 1 }, { 7, 2, 2 } };
    static struct ctl_mount badtag[] = { { "a,b", "/x", 0 } }, reltarget[] = { { "t", "x", 0 } },
                            badflags[] = { { "t", "/x", 2 } };
    struct ctl_msg m;
    (void)state;
#define CASE(mutation, needle)        \
    do {                              \
        m = sample_start();           \
        mutation;                     \
        expect_refused(&m, needle);   \
    } while (0)
    CASE(m.u.start.proc.cwd = "rel", "absolute");
    CASE(m.u.start.proc.cwd = NULL, "missing");
    CASE(m.u.start.proc.hostname = "a-very-long-hostname-that-goes-on-and-on-past-sixty-four-characters-x",
         "hostname");
    CASE(m.u.start.proc.env = noeq; m.u.start.proc.nenv = 1, "NAME=value");
    CASE(m.u.start.proc.env = eqfirst; m.u.start.proc.nenv = 1, "NAME=value");
    CASE(m.u.start.proc.nargs = 0, "args: empty");
    CASE(m.u.start.proc.args = emptyarg; m.u.start.proc.nargs = 1, "args[0]: empty");
    CASE(m.u.start.proc.umask = 01000, "umask");
    CASE(m.u.start.proc.stdio[1] = 3, "stdio[1]");
    CASE(m.u.start.proc.stdio[2] = CTL_STDIO_STREAM, "terminal");
    CASE(m.u.start.proc.flags = 1u << 7, "unknown flags");
    CASE(m.u.start.proc.flags &= ~CTL_PROC_CAPS, "caps flag");
    CASE(m.u.start.proc.cap_effective = 0x800, "effective");
    CASE(m.u.start.proc.cap_ambient = 0x1, "ambient");
    CASE(m.u.start.proc.rlimits = badres; m.u.start.proc.nrlimits = 1, "unknown resource");
    CASE(m.u.start.proc.rlimits = softhi; m.u.start.proc.nrlimits = 1, "soft limit");
    CASE(m.u.start.proc.rlimits = dup; m.u.start.proc.nrlimits = 2, "twice");
    CASE(m.u.start.proc.ngroups = CTL_GROUPS_MAX + 1, "groups");
    CASE(m.u.start.mounts = badtag, "mount tag");
    CASE(m.u.start.mounts = reltarget, "absolute");
    CASE(m.u.start.mounts = badflags, "flags");
    CASE(m.u.start.nmounts = CTL_MOUNTS_MAX + 1, "mounts");
    CASE(m.session = 1, "session must be 0");
#undef CASE
    m = (struct ctl_msg){ .type = CTL_EXEC, .session = 0 };
    m.u.exec = sample_process();
    expect_refused(&m, "must not be 0");
    m = (struct ctl_msg){ .type = CTL_SIGNAL, .u.signal = { 0, 0 } };
    expect_refused(&m, "signal 0");
    m.u.signal.signo = 65;
    expect_refused(&m, "signal 65");
    m.u.signal = (typeof(m.u.signal)){ 9, 2 };
    expect_refused(&m, "flags");
    m = (struct ctl_msg){ .type = CTL_EXIT, .u.exit.status = 0x137f };   /* stopped */
    expect_refused(&m, "wait status");
    m.u.exit.status = 0x10000;
    expect_refused(&m, "wait status");
    m.u.exit.status = 0x41;   /* signal 65 */
    expect_refused(&m, "wait status");
    m = (struct ctl_msg){ .type = CTL_STARTED };
    expect_refused(&m, "pid 0");
    m = (struct ctl_msg){ .type = CTL_ERROR, .u.error = { 0, "" } };
    expect_refused(&m, "empty");
    m.u.error = (typeof(m.u.error)){ -1, "x" };
    expect_refused(&m, "code");
    m = (struct ctl_msg){ .type = CTL_STDIO, .u.stdio.stream = 3 };
    expect_refused(&m, "stream");
    m = (struct ctl_msg){ .type = CTL_HELLO, .u.hello = { 0, "x" } };
    expect_refused(&m, "version 0");
    m = (struct ctl_msg){ .type = 99 };
    expect_refused(&m, "unknown message type");
}

static void test_payload_limit(void **state)
{
    struct ctl_msg m = sample_start();
    char *big = malloc(CTL_STRING_MAX + 1), *args[10];
    (void)state;
    memset(big, 'a', CTL_STRING_MAX);
    big[CTL_STRING_MAX] = '\0';
    for (int i = 0; i < 10; i++)
        args[i] = big;
    m.u.start.proc.args = args;
    m.u.start.proc.nargs = 10;   /* 10 x 128 KiB > 1 MiB */
    expect_refused(&m, "exceeds");
    m.u.start.proc.nargs = 7;    /* 896 KiB fits */
    {
        struct zerr e = { 0 };
        struct ctl_msg out;
        uint8_t *buf;
        size_t len;
        encode_ok(&m, &buf, &len);
        assert_int_equal(ctl_decode(buf, len, &out, &e), 0);
        assert_int_equal(strlen(out.u.start.proc.args[6]), CTL_STRING_MAX);
        ctl_msg_free(&out);
        free(buf);
    }
    big[CTL_STRING_MAX - 1] = '\0';
    args[0] = "x";
    m.u.start.proc.nargs = 1;
    big[CTL_STRING_MAX - 1] = 'a';
    m.u.start.proc.hostname = big;
    expect_refused(&m, "hostname");
    free(big);
}

/* Stream I/O: several messages, raw bytes after a STDIO message left
 * unread, EOF at a boundary (1) and inside a message (-1). */
static void test_stream_io(void **state)
{
    int sv[2];
    struct ctl_msg m = sample_start(), out;
    struct ctl_msg st = { .type = CTL_STDIO, .session = 3, .u.stdio.stream = CTL_STREAM_STDIN };
    struct zerr e = { 0 };
    char rest[16] = "";
    uint8_t *buf;
    size_t len;
    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(ctl_send(sv[0], &m, &e), 0);
    assert_int_equal(ctl_send(sv[0], &st, &e), 0);
    assert_int_equal(write(sv[0], "raw!", 4), 4);
    assert_int_equal(ctl_recv(sv[1], &out, &e), 0);
    assert_process_equal(&m.u.start.proc, &out.u.start.proc);
    ctl_msg_free(&out);
    assert_int_equal(ctl_recv(sv[1], &out, &e), 0);
    assert_int_equal(out.type, CTL_STDIO);
    assert_int_equal(out.session, 3);
    ctl_msg_free(&out);
    assert_int_equal(read(sv[1], rest, sizeof rest), 4);
    assert_string_equal(rest, "raw!");
    /* half a message, then EOF */
    encode_ok(&m, &buf, &len);
    assert_int_equal(write(sv[0], buf, len / 2), (ssize_t)(len / 2));
    free(buf);
    shutdown(sv[0], SHUT_WR);
    assert_int_equal(ctl_recv(sv[1], &out, &e), -1);
    assert_non_null(strstr(e.msg, "end of stream"));
    close(sv[0]);
    close(sv[1]);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[0]);
    assert_int_equal(ctl_recv(sv[1], &out, &e), 1);
    /* a peer that is gone: an error, not SIGPIPE */
    assert_int_equal(ctl_send(sv[1], &st, &e), -1);
    close(sv[1]);
    /* a bad header is refused before any payload is read */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(write(sv[0], "ZCTL\x01\x00\x02\x00\x00\x00\x00\x00\xff\xff\xff\x7f", 16), 16);
    assert_int_equal(ctl_recv(sv[1], &out, &e), -1);
    assert_int_equal(e.code, EMSGSIZE);
    close(sv[0]);
    close(sv[1]);
}

static void test_describe_status(void **state)
{
    char buf[64];
    (void)state;
    ctl_describe_status(0, buf, sizeof buf);
    assert_string_equal(buf, "exit code 0");
    ctl_describe_status(42 << 8, buf, sizeof buf);
    assert_string_equal(buf, "exit code 42");
    ctl_describe_status(9, buf, sizeof buf);
    assert_string_equal(buf, "signal 9");
    ctl_describe_status(11 | 0x80, buf, sizeof buf);
    assert_string_equal(buf, "signal 11 (core dumped)");
}

/* ---- kernel command line ---- */

static void test_bootargs_parse(void **state)
{
    struct boot_args a;
    struct zerr e = { 0 };
    (void)state;
    assert_int_equal(bootargs_parse("console=ttyS0 reboot=k panic=-1 quiet zone.root=rootfs zone.msize=131072 "
                                    "zone.cache=loose zone.mount=data:/mnt/data:ro zone.mount=\"w:/work\" "
                                    "zone.debug zone.root_ro=1\n", &a, &e), 0);
    assert_string_equal(a.root_tag, "rootfs");
    assert_int_equal(a.msize, 131072);
    assert_string_equal(a.cache, "loose");
    assert_true(a.root_read_only);
    assert_true(a.debug);
    assert_int_equal(a.nmounts, 2);
    assert_string_equal(a.mounts[0].tag, "data");
    assert_string_equal(a.mounts[0].target, "/mnt/data");
    assert_true(a.mounts[0].read_only);
    assert_string_equal(a.mounts[1].tag, "w");
    assert_string_equal(a.mounts[1].target, "/work");
    assert_false(a.mounts[1].read_only);

    assert_int_equal(bootargs_parse("zone.root=r", &a, &e), 0);
    assert_int_equal(a.msize, BOOT_MSIZE_DEFAULT);
    assert_string_equal(a.cache, "mmap");
    assert_false(a.debug);

    assert_int_equal(bootargs_parse("quiet", &a, &e), -1);
    assert_non_null(strstr(e.msg, "zone.root"));
    assert_int_equal(bootargs_parse("zone.root=r zone.rot=x", &a, &e), -1);
    assert_non_null(strstr(e.msg, "unknown key zone.rot"));
    assert_int_equal(bootargs_parse("zone.root=a/b", &a, &e), -1);
    assert_int_equal(bootargs_parse("zone.root=", &a, &e), -1);
    assert_int_equal(bootargs_parse("zone.root=abcdefghijabcdefghijabcdefghij12", &a, &e), -1);   /* 32 */
    assert_int_equal(bootargs_parse("zone.root=r zone.msize=4095", &a, &e), -1);
    assert_int_equal(bootargs_parse("zone.root=r zone.msize=12k", &a, &e), -1);
    assert_int_equal(bootargs_parse("zone.root=r zone.msize=1048577", &a, &e), -1);
    assert_int_equal(bootargs_parse("zone.root=r zone.cache=all", &a, &e), -1);
    assert_int_equal(bootargs_parse("zone.root=r zone.mount=t", &a, &e), -1);
    assert_int_equal(bootargs_parse("zone.root=r zone.mount=t:rel", &a, &e), -1);
    assert_int_equal(bootargs_parse("zone.root=r zone.mount=t:/x:rx", &a, &e), -1);
    assert_int_equal(bootargs_parse("zone.root=r zone.mount=:/x", &a, &e), -1);
    assert_int_equal(bootargs_parse("zone.root=r zone.debug=maybe", &a, &e), -1);
    {
        char line[2048] = "zone.root=r";
        for (int i = 0; i <= BOOT_MOUNTS_MAX; i++)
            strcat(line, " zone.mount=t:/m");
        assert_int_equal(bootargs_parse(line, &a, &e), -1);
        assert_int_equal(e.code, E2BIG);
    }
    {
        /* an overlong word is an error only when it is ours */
        char line[1200];
        memset(line, 'x', 1000);
        strcpy(line + 1000, " zone.root=r");
        assert_int_equal(bootargs_parse(line, &a, &e), 0);
        memcpy(line, "zone.mount=t:/", 14);
        assert_int_equal(bootargs_parse(line, &a, &e), -1);
    }
}

static void test_bootargs_format(void **state)
{
    struct boot_args a, b;
    struct zerr e = { 0 };
    char buf[512];
    (void)state;
    bootargs_init(&a);
    strcpy(a.root_tag, "rootfs");
    assert_int_equal(bootargs_format(&a, buf, sizeof buf, &e), 0);
    assert_string_equal(buf, "zone.root=rootfs");
    a.root_read_only = true;
    a.msize = 65536;
    strcpy(a.cache, "none");
    a.debug = true;
    a.nmounts = 1;
    strcpy(a.mounts[0].tag, "data");
    strcpy(a.mounts[0].target, "/data");
    a.mounts[0].read_only = true;
    assert_int_equal(bootargs_format(&a, buf, sizeof buf, &e), 0);
    assert_string_equal(buf, "zone.root=rootfs zone.root_ro=1 zone.msize=65536 zone.cache=none "
                             "zone.mount=data:/data:ro zone.debug=1");
    assert_int_equal(bootargs_parse(buf, &b, &e), 0);
    assert_memory_equal(&a, &b, sizeof a);
    assert_int_equal(bootargs_format(&a, buf, 20, &e), -1);
    assert_int_equal(e.code, ENOSPC);
    strcpy(a.mounts[0].target, "/has space");
    assert_int_equal(bootargs_format(&a, buf, sizeof buf, &e), -1);
    strcpy(a.mounts[0].target, "/a:b");
    assert_int_equal(bootargs_format(&a, buf, sizeof buf, &e), -1);
    strcpy(a.root_tag, "");
    assert_int_equal(bootargs_format(&a, buf, sizeof buf, &e), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_start_exec),
        cmocka_unit_test(test_roundtrip_small),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_truncation_and_corruption),
        cmocka_unit_test(test_malformed_raw),
        cmocka_unit_test(test_seccomp_program_checks),
        cmocka_unit_test(test_semantic_rules),
        cmocka_unit_test(test_payload_limit),
        cmocka_unit_test(test_stream_io),
        cmocka_unit_test(test_describe_status),
        cmocka_unit_test(test_bootargs_parse),
        cmocka_unit_test(test_bootargs_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
