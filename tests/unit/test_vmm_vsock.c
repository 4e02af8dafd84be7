/* vm-sandbox/vmm/vsock_packet.c (the pure parser) and virtio_vsock.c
 * driven like a guest driver (test_vmm_driver.h) against real unix
 * sockets: guest -> host and host -> guest connections with data both
 * ways, refusals, the CONNECT line, credit both ways, shutdown and RST,
 * malformed packets (answered with RST, counted), credit violations,
 * driver reset, and the socket path already in use. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_vmm_driver.h"
#include "vm-sandbox/vmm/vsock.h"

#define CID 3
#define RXQ 0
#define TXQ 1
#define RX_CHAINS 32
#define RX_DATA 4096

/* ---- the parser ---- */

static void enc(uint8_t *raw, uint64_t src, uint64_t dst, uint16_t type, uint16_t op, uint32_t len, uint32_t flags)
{
    struct vmm_vsock_hdr h = { .src_cid = src, .dst_cid = dst, .src_port = 1000, .dst_port = 2000, .len = len,
                               .type = type, .op = op, .flags = flags, .buf_alloc = 4096, .fwd_cnt = 7 };
    vmm_vsock_encode(&h, raw);
}

static void test_parser(void **state)
{
    (void)state;
    uint8_t raw[64];
    struct vmm_vsock_hdr h;
    for (uint16_t op = 1; op <= 7; op++) {
        enc(raw, CID, 2, 1, op, op == 5 ? 10 : 0, op == 4 ? 3 : 0);
        assert_int_equal(vmm_vsock_parse(raw, 44, 54, CID, &h), VMM_VSOCK_OK);
        assert_int_equal(h.op, op);
    }
    assert_int_equal(h.src_port, 1000);
    assert_int_equal(h.dst_port, 2000);
    assert_int_equal(h.buf_alloc, 4096);
    assert_int_equal(h.fwd_cnt, 7);
    enc(raw, CID, 2, 1, 1, 0, 0);
    assert_int_equal(vmm_vsock_parse(raw, 43, 44, CID, &h), VMM_VSOCK_SHORT);
    assert_int_equal(vmm_vsock_parse(raw, 44, 43, CID, &h), VMM_VSOCK_SHORT);
    enc(raw, 4, 2, 1, 1, 0, 0);
    assert_int_equal(vmm_vsock_parse(raw, 44, 44, CID, &h), VMM_VSOCK_BAD_SRC_CID);
    assert_int_equal(h.src_port, 1000);     /* filled anyway, for the RST */
    enc(raw, CID | (1ULL << 32), 2, 1, 1, 0, 0);
    assert_int_equal(vmm_vsock_parse(raw, 44, 44, CID, &h), VMM_VSOCK_BAD_SRC_CID);
    enc(raw, CID, 3, 1, 1, 0, 0);
    assert_int_equal(vmm_vsock_parse(raw, 44, 44, CID, &h), VMM_VSOCK_BAD_DST_CID);
    enc(raw, CID, 2, 2, 1, 0, 0);
    assert_int_equal(vmm_vsock_parse(raw, 44, 44, CID, &h), VMM_VSOCK_BAD_TYPE);
    enc(raw, CID, 2, 1, 0, 0, 0);
    assert_int_equal(vmm_vsock_parse(raw, 44, 44, CID, &h), VMM_VSOCK_BAD_OP);
    enc(raw, CID, 2, 1, 8, 0, 0);
    assert_int_equal(vmm_vsock_parse(raw, 44, 44, CID, &h), VMM_VSOCK_BAD_OP);
    enc(raw, CID, 2, 1, 5, 11, 0);                                       /* len past the buffer */
    assert_int_equal(vmm_vsock_parse(raw, 44, 54, CID, &h), VMM_VSOCK_BAD_LEN);
    enc(raw, CID, 2, 1, 5, 0xffffffffu, 0);
    assert_int_equal(vmm_vsock_parse(raw, 44, 44, CID, &h), VMM_VSOCK_BAD_LEN);
    enc(raw, CID, 2, 1, 5, 65537, 0);                                    /* over 64 KiB */
    assert_int_equal(vmm_vsock_parse(raw, 44, 44 + 70000, CID, &h), VMM_VSOCK_BAD_LEN);
    enc(raw, CID, 2, 1, 1, 4, 0);                                        /* data on a REQUEST */
    assert_int_equal(vmm_vsock_parse(raw, 44, 48, CID, &h), VMM_VSOCK_BAD_LEN);
    enc(raw, CID, 2, 1, 5, 0, 1);                                        /* flags on RW */
    assert_int_equal(vmm_vsock_parse(raw, 44, 44, CID, &h), VMM_VSOCK_BAD_FLAGS);
    enc(raw, CID, 2, 1, 4, 0, 0);                                        /* SHUTDOWN of nothing */
    assert_int_equal(vmm_vsock_parse(raw, 44, 44, CID, &h), VMM_VSOCK_BAD_FLAGS);
    enc(raw, CID, 2, 1, 4, 0, 4);
    assert_int_equal(vmm_vsock_parse(raw, 44, 44, CID, &h), VMM_VSOCK_BAD_FLAGS);
    assert_string_equal(vmm_vsock_verdict_name(VMM_VSOCK_OK), "ok");
    /* encode and parse agree */
    struct vmm_vsock_hdr in = { CID, 2, 0xdeadbeef, 0x12345678, 3, 1, 5, 0, 0xabcdef, 0x77 }, out;
    vmm_vsock_encode(&in, raw);
    assert_int_equal(vmm_vsock_parse(raw, 44, 47, CID, &out), VMM_VSOCK_OK);
    assert_memory_equal(&in, &out, offsetof(struct vmm_vsock_hdr, fwd_cnt) + 4);
}

/* ---- the device ---- */

struct vs {
    struct td *t;
    struct vmm_iothread *io;
    void *backend;
    char dir[64], uds[128];
    uint64_t rx_hdr[256], rx_data[256];      /* by head descriptor */
};

static void post_rx(struct vs *v)
{
    uint64_t h = td_alloc(v->t, NULL, 44), d = td_alloc(v->t, NULL, RX_DATA);
    struct td_buf bufs[2] = { { h, 44, 1 }, { d, RX_DATA, 1 } };
    uint16_t head = td_offer(v->t, RXQ, bufs, 2);
    v->rx_hdr[head] = h;
    v->rx_data[head] = d;
}

static struct vs *vs_new(void)
{
    struct vs *v = calloc(1, sizeof *v);
    struct zerr e;
    struct vmm_virtio_backend b;
    v->t = td_new();
    snprintf(v->dir, sizeof v->dir, "/tmp/zone-test-vsock.XXXXXX");
    assert_non_null(mkdtemp(v->dir));
    snprintf(v->uds, sizeof v->uds, "%s/v.sock", v->dir);
    assert_int_equal(vmm_iothread_new("zone-test-io", &v->io, &e), 0);
    assert_int_equal(vmm_virtio_vsock_new(v->io, &(struct vmm_vsock_config){ .guest_cid = CID, .uds_path = v->uds }, &b, &e), 0);
    v->backend = b.opaque;
    assert_non_null(td_add(v->t, b));
    assert_true(td_driver_ok(v->t, VIRTIO_F_VERSION_1, 3) & VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(td_mmio(v->t, v->t->bar + VIRTIO_PCI_DEVICE_OFF, 8, 0, 0, NULL), CID);
    for (int i = 0; i < RX_CHAINS; i++)
        post_rx(v);
    assert_int_equal(td_kick(v->t, RXQ), 0);
    return v;
}

static void vs_free(struct vs *v)
{
    char path[160];
    vmm_iothread_stop(v->io);
    td_free(v->t);
    vmm_iothread_free(v->io);
    struct stat st;
    assert_int_equal(stat(v->uds, &st), -1);     /* the monitor removed its socket */
    snprintf(path, sizeof path, "%s/v.sock_6000", v->dir);
    unlink(path);
    rmdir(v->dir);
    free(v);
}

static struct vmm_vsock_stats stats(struct vs *v)
{
    struct vmm_vsock_stats s;
    vmm_virtio_vsock_stats(v->backend, &s);
    return s;
}

/* The guest sends a packet; returns once the device consumed it. */
static void gsend(struct vs *v, uint16_t op, uint32_t src_port, uint32_t dst_port, const void *data, uint32_t len,
                  uint32_t flags, uint32_t buf_alloc, uint32_t fwd_cnt)
{
    struct vmm_vsock_hdr h = { .src_cid = CID, .dst_cid = 2, .src_port = src_port, .dst_port = dst_port, .len = len,
                               .type = 1, .op = op, .flags = flags, .buf_alloc = buf_alloc, .fwd_cnt = fwd_cnt };
    uint8_t raw[44];
    vmm_vsock_encode(&h, raw);
    struct td_buf bufs[2] = { { td_alloc(v->t, raw, 44), 44, 0 }, { td_alloc(v->t, data, len ? len : 1), len, 0 } };
    td_offer(v->t, TXQ, bufs, len ? 2 : 1);
    assert_int_equal(td_kick(v->t, TXQ), 0);
    uint32_t id, used;
    assert_int_equal(td_wait_used(v->t, TXQ, &id, &used, 2000), 1);
}

/* A raw header, as a hostile guest writes it. */
static void gsend_raw(struct vs *v, const uint8_t *raw, uint32_t hdr_len, uint32_t payload)
{
    struct td_buf bufs[2] = { { td_alloc(v->t, raw, hdr_len), hdr_len, 0 }, { td_alloc(v->t, NULL, payload + 1), payload, 0 } };
    td_offer(v->t, TXQ, bufs, payload ? 2 : 1);
    assert_int_equal(td_kick(v->t, TXQ), 0);
    uint32_t id, used;
    assert_int_equal(td_wait_used(v->t, TXQ, &id, &used, 2000), 1);
}

struct pkt {
    struct vmm_vsock_hdr h;
    uint8_t data[RX_DATA];
};

/* The next packet for the guest, or 0 after ms. */
static int grecv(struct vs *v, struct pkt *p, int ms)
{
    uint32_t id, len;
    if (!td_wait_used(v->t, RXQ, &id, &len, ms))
        return 0;
    assert_true(id < 256);
    assert_true(len >= 44);
    const uint8_t *raw = v->t->buf + v->rx_hdr[id];
    uint64_t cid;
    memcpy(&cid, raw, 8);
    assert_int_equal(cid, 2);
    memcpy(&cid, raw + 8, 8);
    assert_int_equal(cid, CID);
    memcpy(&p->h.src_port, raw + 16, 4);
    memcpy(&p->h.dst_port, raw + 20, 4);
    memcpy(&p->h.len, raw + 24, 4);
    memcpy(&p->h.type, raw + 28, 2);
    memcpy(&p->h.op, raw + 30, 2);
    memcpy(&p->h.flags, raw + 32, 4);
    memcpy(&p->h.buf_alloc, raw + 36, 4);
    memcpy(&p->h.fwd_cnt, raw + 40, 4);
    assert_int_equal(p->h.type, 1);
    assert_int_equal(len, 44 + p->h.len);
    memcpy(p->data, v->t->buf + v->rx_data[id], p->h.len);
    post_rx(v);
    td_kick(v->t, RXQ);
    return 1;
}

/* Next packet that is not a CREDIT_UPDATE. */
static int grecv_skip_credit(struct vs *v, struct pkt *p, int ms)
{
    while (grecv(v, p, ms))
        if (p->h.op != VMM_VSOCK_OP_CREDIT_UPDATE)
            return 1;
    return 0;
}

static int unix_listen(const char *path)
{
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s, 4), 0);
    return s;
}

static int unix_connect(const char *path)
{
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof a), 0);
    return s;
}

/* read with a timeout: bytes read, 0 at EOF, -1 on error (ECONNRESET
 * when the monitor closed with our bytes unread), -2 on timeout */
static ssize_t read_wait(int fd, void *buf, size_t len, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, ms) != 1)
        return -2;
    return read(fd, buf, len);
}

/* A guest-initiated connection to host port 6000 from guest port 1234. */
static int guest_connect(struct vs *v, int *listener, uint32_t buf_alloc)
{
    char path[160];
    snprintf(path, sizeof path, "%s_6000", v->uds);
    *listener = unix_listen(path);
    gsend(v, VMM_VSOCK_OP_REQUEST, 1234, 6000, NULL, 0, 0, buf_alloc, 0);
    struct pkt p;
    assert_int_equal(grecv(v, &p, 2000), 1);
    assert_int_equal(p.h.op, VMM_VSOCK_OP_RESPONSE);
    assert_int_equal(p.h.src_port, 6000);
    assert_int_equal(p.h.dst_port, 1234);
    assert_int_equal(p.h.buf_alloc, 256 * 1024);
    int c = accept(*listener, NULL, NULL);
    assert_true(c >= 0);
    return c;
}

static void test_guest_to_host(void **state)
{
    (void)state;
    struct vs *v = vs_new();
    int l, c = guest_connect(v, &l, 65536);
    char buf[64];
    struct pkt p;
    gsend(v, VMM_VSOCK_OP_RW, 1234, 6000, "hello", 5, 0, 65536, 0);
    assert_int_equal(read_wait(c, buf, sizeof buf, 2000), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(write(c, "world", 5), 5);
    assert_int_equal(grecv(v, &p, 2000), 1);
    assert_int_equal(p.h.op, VMM_VSOCK_OP_RW);
    assert_int_equal(p.h.len, 5);
    assert_int_equal(p.h.fwd_cnt, 5);          /* what we forwarded so far */
    assert_memory_equal(p.data, "world", 5);
    /* CREDIT_REQUEST is answered */
    gsend(v, VMM_VSOCK_OP_CREDIT_REQUEST, 1234, 6000, NULL, 0, 0, 65536, 5);
    assert_int_equal(grecv(v, &p, 2000), 1);
    assert_int_equal(p.h.op, VMM_VSOCK_OP_CREDIT_UPDATE);
    /* half close from the guest: the host reads EOF, can still answer */
    gsend(v, VMM_VSOCK_OP_SHUTDOWN, 1234, 6000, NULL, 0, VMM_VSOCK_SHUTDOWN_SEND, 65536, 5);
    assert_int_equal(read_wait(c, buf, sizeof buf, 2000), 0);
    assert_int_equal(write(c, "bye", 3), 3);
    assert_int_equal(grecv(v, &p, 2000), 1);
    assert_int_equal(p.h.op, VMM_VSOCK_OP_RW);
    /* full close: RST back, the connection is gone */
    gsend(v, VMM_VSOCK_OP_SHUTDOWN, 1234, 6000, NULL, 0, 3, 65536, 8);
    assert_int_equal(grecv(v, &p, 2000), 1);
    assert_int_equal(p.h.op, VMM_VSOCK_OP_RST);
    assert_int_equal(stats(v).open, 0);
    assert_int_equal(stats(v).connections, 1);
    /* a packet for it now gets RST */
    gsend(v, VMM_VSOCK_OP_RW, 1234, 6000, "x", 1, 0, 65536, 8);
    assert_int_equal(grecv(v, &p, 2000), 1);
    assert_int_equal(p.h.op, VMM_VSOCK_OP_RST);
    close(c);
    close(l);
    /* nobody listens on port 7000: refused with RST */
    gsend(v, VMM_VSOCK_OP_REQUEST, 1235, 7000, NULL, 0, 0, 65536, 0);
    assert_int_equal(grecv(v, &p, 2000), 1);
    assert_int_equal(p.h.op, VMM_VSOCK_OP_RST);
    assert_int_equal(p.h.src_port, 7000);
    assert_int_equal(p.h.dst_port, 1235);
    vs_free(v);
}

/* host CONNECT; returns the host fd, *gport the port the host side got */
static int host_connect(struct vs *v, uint32_t port, uint32_t *local)
{
    int s = unix_connect(v->uds);
    char line[32];
    int n = snprintf(line, sizeof line, "CONNECT %u\n", port);
    assert_int_equal(write(s, line, (size_t)n), n);
    struct pkt p;
    assert_int_equal(grecv(v, &p, 2000), 1);
    assert_int_equal(p.h.op, VMM_VSOCK_OP_REQUEST);
    assert_int_equal(p.h.dst_port, port);
    assert_true(p.h.src_port >= (1u << 30));
    *local = p.h.src_port;
    return s;
}

static void test_host_to_guest(void **state)
{
    (void)state;
    struct vs *v = vs_new();
    uint32_t local;
    int s = host_connect(v, 5000, &local);
    char buf[64], want[32];
    struct pkt p;
    /* bytes the host sends before our OK are kept for the guest */
    assert_int_equal(write(s, "early", 5), 5);
    gsend(v, VMM_VSOCK_OP_RESPONSE, 5000, local, NULL, 0, 0, 65536, 0);
    int n = snprintf(want, sizeof want, "OK %u\n", local);
    assert_int_equal(read_wait(s, buf, (size_t)n, 2000), n);
    assert_memory_equal(buf, want, (size_t)n);
    assert_int_equal(grecv(v, &p, 2000), 1);
    assert_int_equal(p.h.op, VMM_VSOCK_OP_RW);
    assert_memory_equal(p.data, "early", 5);
    gsend(v, VMM_VSOCK_OP_RW, 5000, local, "pong", 4, 0, 65536, 5);
    assert_int_equal(read_wait(s, buf, sizeof buf, 2000), 4);
    assert_memory_equal(buf, "pong", 4);
    /* the host goes away: SHUTDOWN with both flags, the guest answers RST */
    close(s);
    assert_int_equal(grecv_skip_credit(v, &p, 2000), 1);
    assert_int_equal(p.h.op, VMM_VSOCK_OP_SHUTDOWN);
    assert_int_equal(p.h.flags, VMM_VSOCK_SHUTDOWN_SEND | VMM_VSOCK_SHUTDOWN_RCV);
    gsend(v, VMM_VSOCK_OP_RST, 5000, local, NULL, 0, 0, 65536, 5);
    assert_int_equal(stats(v).open, 0);

    /* the guest refuses: the host socket closes */
    s = host_connect(v, 5001, &local);
    gsend(v, VMM_VSOCK_OP_RST, 5001, local, NULL, 0, 0, 0, 0);
    assert_int_equal(read_wait(s, buf, sizeof buf, 2000), 0);
    close(s);
    /* not our protocol: closed at once, nothing reaches the guest */
    s = unix_connect(v->uds);
    assert_int_equal(write(s, "HELLO 5000\n", 11), 11);
    assert_int_equal(read_wait(s, buf, sizeof buf, 2000), 0);
    close(s);
    s = unix_connect(v->uds);
    assert_int_equal(write(s, "CONNECT 99999999999\n", 20), 20);
    assert_int_equal(read_wait(s, buf, sizeof buf, 2000), 0);
    close(s);
    s = unix_connect(v->uds);
    memset(buf, 'C', 40);
    assert_int_equal(write(s, buf, 40), 40);     /* no newline in 32 bytes */
    assert_int_equal(read_wait(s, buf, sizeof buf, 2000), -1);
    assert_int_equal(errno, ECONNRESET);
    close(s);
    assert_int_equal(grecv(v, &p, 100), 0);
    vs_free(v);
}

static void test_credit_to_guest(void **state)
{
    (void)state;
    struct vs *v = vs_new();
    int l, c = guest_connect(v, &l, 8);        /* the guest has room for 8 bytes */
    struct pkt p;
    assert_int_equal(write(c, "0123456789abcdefghij", 20), 20);
    assert_int_equal(grecv(v, &p, 2000), 1);
    assert_int_equal(p.h.len, 8);
    assert_memory_equal(p.data, "01234567", 8);
    assert_int_equal(grecv(v, &p, 100), 0);     /* nothing more until the guest reads */
    gsend(v, VMM_VSOCK_OP_CREDIT_UPDATE, 1234, 6000, NULL, 0, 0, 8, 8);
    assert_int_equal(grecv(v, &p, 2000), 1);
    assert_int_equal(p.h.len, 8);
    assert_memory_equal(p.data, "89abcdef", 8);
    gsend(v, VMM_VSOCK_OP_CREDIT_UPDATE, 1234, 6000, NULL, 0, 0, 64, 16);
    assert_int_equal(grecv(v, &p, 2000), 1);
    assert_int_equal(p.h.len, 4);
    close(c);
    close(l);
    vs_free(v);
}

static void test_credit_from_guest(void **state)
{
    (void)state;
    struct vs *v = vs_new();
    int l, c = guest_connect(v, &l, 65536);
    static char chunk[65536], sink[65536];
    struct pkt p;
    memset(chunk, 'z', sizeof chunk);
    /* the host reads everything: a CREDIT_UPDATE comes before the guest's view drops under half */
    uint32_t sent = 0;
    int updates = 0;
    for (int i = 0; i < 4; i++) {
        gsend(v, VMM_VSOCK_OP_RW, 1234, 6000, chunk, sizeof chunk, 0, 65536, 0);
        sent += sizeof chunk;
        for (uint32_t got = 0; got < sizeof chunk;) {
            ssize_t n = read_wait(c, sink, sizeof sink, 2000);
            assert_true(n > 0);
            got += (uint32_t)n;
        }
        while (grecv(v, &p, 50))
            if (p.h.op == VMM_VSOCK_OP_CREDIT_UPDATE) {
                updates++;
                assert_true(p.h.fwd_cnt <= sent && p.h.fwd_cnt > 0);
            }
    }
    assert_true(updates >= 1);
    /* now the host stops reading: past 256 KiB buffered is a violation, answered with RST */
    int reset = 0;
    for (int i = 0; i < 12 && !reset; i++) {
        gsend(v, VMM_VSOCK_OP_RW, 1234, 6000, chunk, sizeof chunk, 0, 65536, 0);
        while (grecv(v, &p, 20))
            reset |= p.h.op == VMM_VSOCK_OP_RST;
    }
    assert_true(reset);
    assert_true(stats(v).protocol_errors >= 1);
    assert_int_equal(stats(v).open, 0);
    close(c);
    close(l);
    vs_free(v);
}

static void test_malformed(void **state)
{
    (void)state;
    struct vs *v = vs_new();
    int l, c = guest_connect(v, &l, 65536);
    struct pkt p;
    uint8_t raw[44];
    char buf[8];
    /* a REQUEST from a spoofed CID: RST, counted, never connected */
    enc(raw, 7, 2, 1, VMM_VSOCK_OP_REQUEST, 0, 0);
    gsend_raw(v, raw, 44, 0);
    assert_int_equal(grecv(v, &p, 2000), 1);
    assert_int_equal(p.h.op, VMM_VSOCK_OP_RST);
    assert_int_equal(p.h.src_port, 2000);
    assert_int_equal(p.h.dst_port, 1000);
    assert_int_equal(stats(v).malformed, 1);
    assert_int_equal(stats(v).open, 1);
    /* a header cut short: counted, no answer */
    gsend_raw(v, raw, 20, 0);
    assert_int_equal(stats(v).malformed, 2);
    assert_int_equal(grecv(v, &p, 100), 0);
    /* an RST with a bad type: counted, never answered */
    enc(raw, CID, 2, 2, VMM_VSOCK_OP_RST, 0, 0);
    gsend_raw(v, raw, 44, 0);
    assert_int_equal(stats(v).malformed, 3);
    assert_int_equal(grecv(v, &p, 100), 0);
    /* RW on the open connection claiming more bytes than it carries:
     * the connection is reset, the host sees it close */
    struct vmm_vsock_hdr h = { CID, 2, 1234, 6000, 1000, 1, VMM_VSOCK_OP_RW, 0, 65536, 0 };
    vmm_vsock_encode(&h, raw);
    gsend_raw(v, raw, 44, 10);
    assert_int_equal(grecv(v, &p, 2000), 1);
    assert_int_equal(p.h.op, VMM_VSOCK_OP_RST);
    assert_int_equal(p.h.dst_port, 1234);
    assert_int_equal(read_wait(c, buf, sizeof buf, 2000), 0);
    assert_int_equal(stats(v).malformed, 4);
    assert_int_equal(stats(v).open, 0);
    /* a RESPONSE nobody asked for */
    gsend(v, VMM_VSOCK_OP_RESPONSE, 1, 2, NULL, 0, 0, 0, 0);
    assert_int_equal(grecv(v, &p, 2000), 1);
    assert_int_equal(p.h.op, VMM_VSOCK_OP_RST);
    close(c);
    close(l);
    vs_free(v);
}

static void test_reset_closes_everything(void **state)
{
    (void)state;
    struct vs *v = vs_new();
    int l, c = guest_connect(v, &l, 65536);
    char buf[8];
    td_common_write(v->t, VIRTIO_PCI_COMMON_STATUS, 1, 0);
    assert_int_equal(read_wait(c, buf, sizeof buf, 2000), 0);
    assert_int_equal(stats(v).open, 0);
    close(c);
    close(l);
    /* a host connection waits for the driver to come back */
    int s = unix_connect(v->uds);
    assert_int_equal(write(s, "CONNECT 5000\n", 13), 13);
    assert_true(td_driver_ok(v->t, VIRTIO_F_VERSION_1, 3) & VIRTIO_STATUS_DRIVER_OK);
    for (int i = 0; i < RX_CHAINS; i++)
        post_rx(v);
    td_kick(v->t, RXQ);
    struct pkt p;
    assert_int_equal(grecv(v, &p, 2000), 1);
    assert_int_equal(p.h.op, VMM_VSOCK_OP_REQUEST);
    close(s);
    vs_free(v);
}

static void test_socket_path(void **state)
{
    (void)state;
    struct vs *v = vs_new();
    struct zerr e;
    struct vmm_virtio_backend b;
    /* somebody listens there */
    assert_int_equal(vmm_virtio_vsock_new(v->io, &(struct vmm_vsock_config){ .uds_path = v->uds }, &b, &e), -1);
    assert_int_equal(e.code, EADDRINUSE);
    assert_int_equal(vmm_virtio_vsock_new(v->io, &(struct vmm_vsock_config){ .guest_cid = 2, .uds_path = "/tmp/x" }, &b, &e), -1);
    char longpath[200];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = 0;
    assert_int_equal(vmm_virtio_vsock_new(v->io, &(struct vmm_vsock_config){ .uds_path = longpath }, &b, &e), -1);
    /* a stale socket file (its listener gone) is replaced */
    char stale[160];
    snprintf(stale, sizeof stale, "%s/stale.sock", v->dir);
    close(unix_listen(stale));
    assert_int_equal(vmm_virtio_vsock_new(v->io, &(struct vmm_vsock_config){ .uds_path = stale }, &b, &e), 0);
    b.ops->destroy(b.opaque);
    vs_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser),
        cmocka_unit_test(test_guest_to_host),
        cmocka_unit_test(test_host_to_guest),
        cmocka_unit_test(test_credit_to_guest),
        cmocka_unit_test(test_credit_from_guest),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_reset_closes_everything),
        cmocka_unit_test(test_socket_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
