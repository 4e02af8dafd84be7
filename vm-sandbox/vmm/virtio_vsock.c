/* virtio-vsock (virtio 1.x 5.10), stream sockets, with the host side on
 * unix sockets as Firecracker has it (vmm.h describes the protocol).
 *
 * Everything runs on the I/O thread: queue kicks arrive as event sources,
 * activate/reset through vmm_iothread_call, host sockets are watched
 * edge-triggered. So connections need no locks, and one is only freed at
 * the end of the callback that killed it ("reap").
 *
 * Guest -> host: each TX packet is checked by vmm_vsock_parse; a refused
 * one is counted and answered with RST (closing its connection, if any),
 * never trusted. RW data is written to the host socket at once; what the
 * socket does not take waits in a per-connection buffer of BUF_ALLOC
 * bytes, which is exactly the credit we give the guest (buf_alloc), so a
 * guest sending more than its credit is a protocol error (RST). As the
 * host drains it, CREDIT_UPDATE tells the guest before its view of our
 * space runs low.
 *
 * Host -> guest: a readable socket queues its connection for the RX
 * queue; data is read straight into the guest's buffer behind the
 * header, never more than the guest's credit (its buf_alloc minus what is
 * in flight). Control packets (REQUEST, RESPONSE, SHUTDOWN, CREDIT_UPDATE,
 * RST) ride the same queue first. A guest that posts no RX buffers only
 * stalls its own connections. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "vm-sandbox/vmm/iothread.h"
#include "vm-sandbox/vmm/virtio.h"
#include "vm-sandbox/vmm/vmm_impl.h"
#include "vm-sandbox/vmm/vsock.h"

#define RXQ 0
#define TXQ 1
#define EVQ 2
#define QUEUE_SIZE 256
#define BUF_ALLOC (256u * 1024)          /* per-connection buffer = the guest's credit */
#define CREDIT_LOW (BUF_ALLOC / 2)        /* update the guest before its view drops below this */
#define MAX_CONNS 1024
#define RST_RING 64
#define HASH_SIZE 256
#define LINE_MAX 32                       /* "CONNECT 4294967295\n" is 19 */
#define FIRST_LOCAL_PORT (1u << 30)
#define CONFIG_SIZE 8                     /* le64 guest_cid */

#define PEND_REQUEST  1u
#define PEND_RESPONSE 2u
#define PEND_SHUTDOWN 4u
#define PEND_CREDIT   8u
#define PEND_RST      16u

enum conn_state { CONN_HANDSHAKE, CONN_REQUESTED, CONN_ESTABLISHED };

struct vsock;

struct conn {
    struct vsock *v;
    enum conn_state state;
    uint32_t local_port, peer_port;    /* host side, guest side */
    int fd;
    struct vmm_io_source *src;
    bool hashed, dead;
    struct conn *hnext;
    struct conn *prev, *next;          /* all connections, or the dead list */
    struct conn *rx_prev, *rx_next;    /* waiting for the RX queue */
    bool rx_queued;
    unsigned pending;                  /* PEND_* control packets to send */
    uint32_t shutdown_flags;
    /* toward the guest */
    uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
    bool host_readable, host_eof, host_hup;
    bool guest_shut_rcv, guest_shut_send, closing;
    /* toward the host */
    uint32_t rx_cnt, fwd_cnt, last_fwd_sent;
    uint8_t *ring;
    uint32_t ring_head, ring_len;
    char hello[24];
    uint8_t hello_off, hello_len;
    bool wr_shut;
};

struct rst {
    uint32_t local_port, peer_port;
};

struct vsock {
    struct vmm_iothread *io;
    uint64_t guest_cid;
    char uds_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int listen_fd;
    bool bound;
    struct vmm_io_source *listen_src, *rx_kick, *tx_kick;
    bool active;
    struct vmm_virtio_dev *vdev;
    struct conn *conns, *dead;
    unsigned nconns;
    struct conn *hash[HASH_SIZE];
    struct conn *rx_head, *rx_tail;
    struct rst rsts[RST_RING];
    unsigned rst_head, rst_len;
    uint32_t next_port;
    struct vmm_vq_chain rx_chain, tx_chain;
    struct vmm_vsock_stats stats;
};

static void report(struct vsock *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(struct vsock *v, const char *fmt, ...)
{
    struct zerr e = { 0 };
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    snprintf(v->stats.last_error, sizeof v->stats.last_error, "%.150s", e.msg);
    if (v->vdev)
        vmm_virtio_report(v->vdev, &e);
}

/* ---- connection table ---- */

static unsigned hash_of(uint32_t local, uint32_t peer) { return (local * 31u + peer * 17u) % HASH_SIZE; }

static struct conn *lookup(struct vsock *v, uint32_t local, uint32_t peer)
{
    for (struct conn *c = v->hash[hash_of(local, peer)]; c; c = c->hnext)
        if (c->local_port == local && c->peer_port == peer)
            return c;
    return NULL;
}

static void hash_insert(struct vsock *v, struct conn *c)
{
    unsigned h = hash_of(c->local_port, c->peer_port);
    c->hnext = v->hash[h];
    v->hash[h] = c;
    c->hashed = true;
}

static void hash_remove(struct vsock *v, struct conn *c)
{
    if (!c->hashed)
        return;
    for (struct conn **p = &v->hash[hash_of(c->local_port, c->peer_port)]; *p; p = &(*p)->hnext)
        if (*p == c) {
            *p = c->hnext;
            break;
        }
    c->hashed = false;
}

static uint32_t credit_to_guest(const struct conn *c)
{
    uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
    return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static bool wants_rx(const struct conn *c)
{
    if (c->dead)
        return false;
    if (c->pending)
        return true;
    return c->state == CONN_ESTABLISHED && c->host_readable && !c->host_eof && !c->guest_shut_rcv &&
           credit_to_guest(c) > 0;
}

static void rx_remove(struct vsock *v, struct conn *c)
{
    if (!c->rx_queued)
        return;
    if (c->rx_prev)
        c->rx_prev->rx_next = c->rx_next;
    else
        v->rx_head = c->rx_next;
    if (c->rx_next)
        c->rx_next->rx_prev = c->rx_prev;
    else
        v->rx_tail = c->rx_prev;
    c->rx_prev = c->rx_next = NULL;
    c->rx_queued = false;
}

static void schedule(struct conn *c)
{
    struct vsock *v = c->v;
    if (c->rx_queued || !wants_rx(c))
        return;
    c->rx_prev = v->rx_tail;
    c->rx_next = NULL;
    if (v->rx_tail)
        v->rx_tail->rx_next = c;
    else
        v->rx_head = c;
    v->rx_tail = c;
    c->rx_queued = true;
}

static void conn_event(void *opaque, uint32_t events);

static struct conn *conn_new(struct vsock *v, int fd, enum conn_state state)
{
    struct conn *c = calloc(1, sizeof *c);
    struct zerr e = { 0 };
    if (c) {
        c->v = v;
        c->fd = fd;
        c->state = state;
        c->src = vmm_io_add_fd(v->io, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, conn_event, c, &e);
    }
    if (!c || !c->src) {
        report(v, "vsock: new connection: %s", c ? e.msg : "out of memory");
        free(c);
        close(fd);
        return NULL;
    }
    c->next = v->conns;
    if (v->conns)
        v->conns->prev = c;
    v->conns = c;
    v->nconns++;
    v->stats.open = v->nconns;
    v->stats.connections++;
    return c;
}

/* Closes the host side at once; the memory goes at the end of the
 * current callback (reap), since callers up the stack may still hold c. */
static void conn_kill(struct conn *c)
{
    struct vsock *v = c->v;
    if (c->dead)
        return;
    c->dead = true;
    rx_remove(v, c);
    hash_remove(v, c);
    vmm_io_del(c->src);
    c->src = NULL;
    close(c->fd);
    c->fd = -1;
    if (c->prev)
        c->prev->next = c->next;
    else
        v->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = NULL;
    c->next = v->dead;
    v->dead = c;
    v->nconns--;
    v->stats.open = v->nconns;
}

static void reap(struct vsock *v)
{
    while (v->dead) {
        struct conn *c = v->dead;
        v->dead = c->next;
        free(c->ring);
        free(c);
    }
}

/* Sends RST for c (then closes it) instead of anything else pending. */
static void conn_reset(struct conn *c)
{
    if (c->state == CONN_HANDSHAKE || !c->hashed) {
        conn_kill(c);
        return;
    }
    c->pending = PEND_RST;
    c->ring_len = 0;
    c->host_readable = false;
    schedule(c);
}

static void queue_rst(struct vsock *v, uint32_t local, uint32_t peer)
{
    if (v->rst_len == RST_RING) {
        v->stats.rst_dropped++;
        return;
    }
    v->rsts[(v->rst_head + v->rst_len++) % RST_RING] = (struct rst){ local, peer };
}

static bool port_in_use(struct vsock *v, uint32_t port)
{
    for (struct conn *c = v->conns; c; c = c->next)
        if (c->hashed && c->local_port == port)
            return true;
    return false;
}

static uint32_t alloc_port(struct vsock *v)
{
    for (;;) {
        uint32_t p = v->next_port++;
        if (v->next_port < FIRST_LOCAL_PORT || v->next_port == UINT32_MAX)
            v->next_port = FIRST_LOCAL_PORT;
        if (!port_in_use(v, p))
            return p;
    }
}

/* ---- toward the host ---- */

static ssize_t send_iov(int fd, struct iovec *iov, int n)
{
    struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };
    ssize_t r;
    do
        r = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    return r;
}

static void maybe_credit_update(struct conn *c)
{
    uint32_t guest_view = BUF_ALLOC - (c->rx_cnt - c->last_fwd_sent);
    if (c->fwd_cnt != c->last_fwd_sent && guest_view < CREDIT_LOW && !(c->pending & PEND_RST)) {
        c->pending |= PEND_CREDIT;
        schedule(c);
    }
}

/* Writes the hello line and buffered data to the host socket. Returns -1
 * when the connection was reset. */
static int flush_to_host(struct conn *c)
{
    while (c->hello_len) {
        struct iovec iov = { c->hello + c->hello_off, c->hello_len };
        ssize_t n = send_iov(c->fd, &iov, 1);
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n <= 0) {
            conn_reset(c);
            return -1;
        }
        c->hello_off = (uint8_t)(c->hello_off + n);
        c->hello_len = (uint8_t)(c->hello_len - n);
    }
    while (c->ring_len) {
        uint32_t first = BUF_ALLOC - c->ring_head;
        if (first > c->ring_len)
            first = c->ring_len;
        struct iovec iov[2] = { { c->ring + c->ring_head, first }, { c->ring, c->ring_len - first } };
        ssize_t n = send_iov(c->fd, iov, c->ring_len > first ? 2 : 1);
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            conn_reset(c);
            return -1;
        }
        c->ring_head = (uint32_t)((c->ring_head + (uint64_t)n) % BUF_ALLOC);
        c->ring_len -= (uint32_t)n;
        c->fwd_cnt += (uint32_t)n;
        c->v->stats.bytes_to_host += (uint64_t)n;
    }
    maybe_credit_update(c);
    if (c->ring_len == 0 && c->hello_len == 0) {
        if (c->guest_shut_send && !c->wr_shut) {
            shutdown(c->fd, SHUT_WR);
            c->wr_shut = true;
        }
        if (c->closing) {
            c->pending = PEND_RST;
            schedule(c);
        }
    }
    return 0;
}

/* iovecs over the chain's readable bytes [off, off+len). */
static int chain_iov(const struct vmm_vq_chain *ch, bool writable, uint64_t off, uint64_t len, struct iovec *iov,
                     int max)
{
    int n = 0;
    unsigned first = writable ? ch->nreadable : 0, last = writable ? ch->nbufs : ch->nreadable;
    for (unsigned i = first; i < last && len > 0 && n < max; i++) {
        const struct vmm_vq_buf *b = &ch->bufs[i];
        if (off >= b->len) {
            off -= b->len;
            continue;
        }
        uint64_t take = b->len - off < len ? b->len - off : len;
        iov[n++] = (struct iovec){ b->host + off, (size_t)take };
        len -= take;
        off = 0;
    }
    return n;
}

static void guest_data(struct conn *c, const struct vmm_vq_chain *ch, uint32_t len)
{
    struct vsock *v = c->v;
    c->rx_cnt += len;
    uint32_t sent = 0;
    if (c->ring_len == 0 && c->hello_len == 0 && len) {
        struct iovec iov[VMM_VQ_MAX_BUFS];
        int n = chain_iov(ch, false, VMM_VSOCK_HDR_SIZE, len, iov, VMM_VQ_MAX_BUFS);
        ssize_t w = send_iov(c->fd, iov, n);
        if (w < 0 && errno != EAGAIN) {
            conn_reset(c);
            return;
        }
        sent = w > 0 ? (uint32_t)w : 0;
        c->fwd_cnt += sent;
        v->stats.bytes_to_host += sent;
    }
    if (sent < len) {
        if (!c->ring && !(c->ring = malloc(BUF_ALLOC))) {
            report(v, "vsock: out of memory for a connection buffer");
            conn_reset(c);
            return;
        }
        /* fits: the credit check bounds ring_len + len by BUF_ALLOC */
        uint32_t tail = (c->ring_head + c->ring_len) % BUF_ALLOC, rest = len - sent;
        uint32_t first = BUF_ALLOC - tail < rest ? BUF_ALLOC - tail : rest;
        vmm_vq_read(ch, VMM_VSOCK_HDR_SIZE + sent, c->ring + tail, first);
        vmm_vq_read(ch, VMM_VSOCK_HDR_SIZE + sent + first, c->ring, rest - first);
        c->ring_len += rest;
    }
    maybe_credit_update(c);
}

/* ---- toward the guest ---- */

static void fill_hdr(struct vsock *v, struct vmm_vsock_hdr *h, uint32_t local, uint32_t peer, uint16_t op)
{
    *h = (struct vmm_vsock_hdr){ .src_cid = VMM_VSOCK_HOST_CID, .dst_cid = v->guest_cid, .src_port = local,
                                 .dst_port = peer, .type = VMM_VSOCK_TYPE_STREAM, .op = op };
}

static void put_hdr(struct vsock *v, const struct vmm_vsock_hdr *h)
{
    uint8_t raw[VMM_VSOCK_HDR_SIZE];
    vmm_vsock_encode(h, raw);
    vmm_vq_write(&v->rx_chain, 0, raw, sizeof raw);
    if (h->op == VMM_VSOCK_OP_RST)
        v->stats.rst_sent++;
}

/* Fills the popped RX chain with c's next packet; returns its length, or 0
 * when c had nothing to send after all. */
static uint32_t conn_fill(struct vsock *v, struct conn *c)
{
    struct vmm_vsock_hdr h;
    fill_hdr(v, &h, c->local_port, c->peer_port, 0);
    h.buf_alloc = BUF_ALLOC;
    h.fwd_cnt = c->fwd_cnt;
    if (c->pending & PEND_RST) {
        h.op = VMM_VSOCK_OP_RST;
        put_hdr(v, &h);
        conn_kill(c);
        return VMM_VSOCK_HDR_SIZE;
    }
    static const struct { unsigned bit; uint16_t op; } ctrl[] = {
        { PEND_REQUEST, VMM_VSOCK_OP_REQUEST }, { PEND_RESPONSE, VMM_VSOCK_OP_RESPONSE },
        { PEND_SHUTDOWN, VMM_VSOCK_OP_SHUTDOWN }, { PEND_CREDIT, VMM_VSOCK_OP_CREDIT_UPDATE },
    };
    for (unsigned i = 0; i < sizeof ctrl / sizeof ctrl[0]; i++) {
        if (!(c->pending & ctrl[i].bit))
            continue;
        c->pending &= ~ctrl[i].bit;
        h.op = ctrl[i].op;
        if (h.op == VMM_VSOCK_OP_SHUTDOWN)
            h.flags = c->shutdown_flags;
        c->last_fwd_sent = c->fwd_cnt;
        put_hdr(v, &h);
        return VMM_VSOCK_HDR_SIZE;
    }
    if (!wants_rx(c))
        return 0;
    uint64_t room = v->rx_chain.writable_bytes - VMM_VSOCK_HDR_SIZE;
    uint32_t max = credit_to_guest(c);
    if (max > room)
        max = (uint32_t)room;
    if (max > VMM_VSOCK_MAX_PAYLOAD)
        max = VMM_VSOCK_MAX_PAYLOAD;
    if (max == 0)
        return 0;
    struct iovec iov[VMM_VQ_MAX_BUFS];
    int n = chain_iov(&v->rx_chain, true, VMM_VSOCK_HDR_SIZE, max, iov, VMM_VQ_MAX_BUFS);
    ssize_t r;
    do
        r = readv(c->fd, iov, n);
    while (r < 0 && errno == EINTR);
    if (r < 0 && errno == EAGAIN) {
        c->host_readable = false;
        return 0;
    }
    if (r < 0) {
        h.op = VMM_VSOCK_OP_RST;
        put_hdr(v, &h);
        conn_kill(c);
        return VMM_VSOCK_HDR_SIZE;
    }
    c->last_fwd_sent = c->fwd_cnt;
    if (r == 0) {
        /* the host will send no more; if it is gone entirely it will not
         * receive either, and the guest answers with RST */
        c->host_eof = true;
        c->host_readable = false;
        h.op = VMM_VSOCK_OP_SHUTDOWN;
        h.flags = VMM_VSOCK_SHUTDOWN_SEND | (c->host_hup ? VMM_VSOCK_SHUTDOWN_RCV : 0);
        put_hdr(v, &h);
        return VMM_VSOCK_HDR_SIZE;
    }
    h.op = VMM_VSOCK_OP_RW;
    h.len = (uint32_t)r;
    c->tx_cnt += (uint32_t)r;
    v->stats.bytes_to_guest += (uint64_t)r;
    put_hdr(v, &h);
    return VMM_VSOCK_HDR_SIZE + (uint32_t)r;
}

static void rx_run(struct vsock *v)
{
    struct vmm_vq *vq = v->active ? vmm_virtio_queue(v->vdev, RXQ) : NULL;
    bool used = false;
    while (vq && (v->rst_len || v->rx_head)) {
        bool consumed;
        struct zerr e = { 0 };
        int r = vmm_vq_pop(vq, &v->rx_chain, &consumed, &e);
        if (r == 0)
            break;
        uint32_t len = 0;
        if (r < 0 || v->rx_chain.writable_bytes < VMM_VSOCK_HDR_SIZE) {
            report(v, "vsock: RX buffer: %s", r < 0 ? e.msg : "smaller than a packet header");
            if (!consumed && r < 0)
                break;
        } else if (v->rst_len) {
            struct rst *rs = &v->rsts[v->rst_head];
            struct vmm_vsock_hdr h;
            fill_hdr(v, &h, rs->local_port, rs->peer_port, VMM_VSOCK_OP_RST);
            put_hdr(v, &h);
            v->rst_head = (v->rst_head + 1) % RST_RING;
            v->rst_len--;
            len = VMM_VSOCK_HDR_SIZE;
        } else {
            struct conn *c = v->rx_head;
            rx_remove(v, c);
            len = conn_fill(v, c);
            schedule(c);        /* back of the line if it has more */
            if (len == 0) {
                vmm_vq_unpop(vq);
                continue;
            }
        }
        if (vmm_vq_push(vq, v->rx_chain.head, len, &e) < 0)
            report(v, "vsock: %s", e.msg);
        used = true;
    }
    struct zerr e = { 0 };
    if (used && vmm_virtio_signal(v->vdev, RXQ, &e) < 0)
        report(v, "vsock: %s", e.msg);
}

/* ---- guest packets ---- */

static void guest_connect(struct vsock *v, const struct vmm_vsock_hdr *h)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = -1;
    if (v->nconns >= MAX_CONNS) {
        report(v, "vsock: guest connection to port %u refused: %d connections open", h->dst_port, MAX_CONNS);
    } else if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s_%u", v->uds_path, h->dst_port) >=
               sizeof sa.sun_path) {
        report(v, "vsock: socket path for port %u is too long", h->dst_port);
    } else if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) >= 0 &&
               connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        struct conn *c = conn_new(v, fd, CONN_ESTABLISHED);
        if (c) {
            c->local_port = h->dst_port;
            c->peer_port = h->src_port;
            c->peer_buf_alloc = h->buf_alloc;
            c->peer_fwd_cnt = h->fwd_cnt;
            hash_insert(v, c);
            c->pending = PEND_RESPONSE;
            schedule(c);
            return;
        }
        fd = -1;   /* conn_new closed it */
    }
    if (fd >= 0)
        close(fd);
    queue_rst(v, h->dst_port, h->src_port);     /* nobody listens there: connection refused */
}

static void protocol_error(struct vsock *v, struct conn *c, const struct vmm_vsock_hdr *h, const char *what)
{
    v->stats.protocol_errors++;
    report(v, "vsock: %u -> %u: %s", h->src_port, h->dst_port, what);
    if (c)
        conn_reset(c);
    else if (h->op != VMM_VSOCK_OP_RST)
        queue_rst(v, h->dst_port, h->src_port);
}

static void guest_packet(struct vsock *v, const struct vmm_vsock_hdr *h, const struct vmm_vq_chain *ch)
{
    struct conn *c = lookup(v, h->dst_port, h->src_port);
    if (c && c->pending & PEND_RST)
        return;                 /* already being reset: the guest hears RST next */
    if (c) {
        c->peer_buf_alloc = h->buf_alloc;
        c->peer_fwd_cnt = h->fwd_cnt;
    }
    switch (h->op) {
    case VMM_VSOCK_OP_REQUEST:
        if (c)
            protocol_error(v, c, h, "REQUEST on an open connection");
        else
            guest_connect(v, h);
        return;
    case VMM_VSOCK_OP_RST:
        if (c)
            conn_kill(c);
        return;
    default:
        break;
    }
    if (!c) {
        /* a packet for a connection we do not have: tell the guest so */
        queue_rst(v, h->dst_port, h->src_port);
        return;
    }
    switch (h->op) {
    case VMM_VSOCK_OP_RESPONSE:
        if (c->state != CONN_REQUESTED) {
            protocol_error(v, c, h, "RESPONSE without a REQUEST");
            return;
        }
        c->state = CONN_ESTABLISHED;
        c->hello_len = (uint8_t)snprintf(c->hello, sizeof c->hello, "OK %u\n", c->local_port);
        c->host_readable = true;     /* the host may have written before our OK */
        flush_to_host(c);
        break;
    case VMM_VSOCK_OP_SHUTDOWN:
        if (c->state != CONN_ESTABLISHED) {
            protocol_error(v, c, h, "SHUTDOWN before the connection was established");
            return;
        }
        if (h->flags & VMM_VSOCK_SHUTDOWN_RCV)
            c->guest_shut_rcv = true;
        if (h->flags & VMM_VSOCK_SHUTDOWN_SEND)
            c->guest_shut_send = true;
        if (c->guest_shut_rcv && c->guest_shut_send)
            c->closing = true;
        flush_to_host(c);
        return;
    case VMM_VSOCK_OP_RW:
        if (c->state != CONN_ESTABLISHED || c->guest_shut_send) {
            protocol_error(v, c, h, c->guest_shut_send ? "data after SHUTDOWN" : "data before the connection was established");
            return;
        }
        if (h->len > BUF_ALLOC - (c->rx_cnt - c->fwd_cnt)) {
            protocol_error(v, c, h, "data beyond the credit we gave");
            return;
        }
        guest_data(c, ch, h->len);
        return;
    case VMM_VSOCK_OP_CREDIT_UPDATE:
        break;
    case VMM_VSOCK_OP_CREDIT_REQUEST:
        c->pending |= PEND_CREDIT;
        break;
    default:
        return;
    }
    schedule(c);     /* more credit, or a reply to send */
}

static void tx_run(struct vsock *v)
{
    struct vmm_vq *vq = v->active ? vmm_virtio_queue(v->vdev, TXQ) : NULL;
    bool used = false;
    for (unsigned budget = vq ? vq->size : 0; budget > 0; budget--) {
        bool consumed;
        struct zerr e = { 0 };
        int r = vmm_vq_pop(vq, &v->tx_chain, &consumed, &e);
        if (r == 0)
            break;
        if (r < 0) {
            report(v, "vsock: TX queue: %s", e.msg);
            if (!consumed)
                break;
        } else {
            uint8_t raw[VMM_VSOCK_HDR_SIZE];
            uint64_t got = vmm_vq_read(&v->tx_chain, 0, raw, sizeof raw);
            struct vmm_vsock_hdr h;
            enum vmm_vsock_verdict verdict = vmm_vsock_parse(raw, got, v->tx_chain.readable_bytes, v->guest_cid, &h);
            if (verdict == VMM_VSOCK_OK) {
                guest_packet(v, &h, &v->tx_chain);
            } else {
                v->stats.malformed++;
                report(v, "vsock: malformed packet %u -> %u: %s", h.src_port, h.dst_port,
                       vmm_vsock_verdict_name(verdict));
                if (verdict != VMM_VSOCK_SHORT && h.op != VMM_VSOCK_OP_RST) {
                    struct conn *c = lookup(v, h.dst_port, h.src_port);
                    if (c)
                        conn_reset(c);
                    else
                        queue_rst(v, h.dst_port, h.src_port);
                }
            }
        }
        if (vmm_vq_push(vq, v->tx_chain.head, 0, &e) < 0)
            report(v, "vsock: %s", e.msg);
        used = true;
        if (budget == 1)
            vmm_io_signal(v->tx_kick);     /* more may wait: yield to the other sources first */
    }
    struct zerr e = { 0 };
    if (used && vmm_virtio_signal(v->vdev, TXQ, &e) < 0)
        report(v, "vsock: %s", e.msg);
    rx_run(v);
}

/* ---- host side ---- */

/* "CONNECT <port>\n" from a host process on uds_path. */
static void handshake(struct conn *c)
{
    struct vsock *v = c->v;
    char line[LINE_MAX + 1];
    ssize_t n = recv(c->fd, line, LINE_MAX, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        conn_kill(c);
        return;
    }
    char *nl = memchr(line, '\n', (size_t)n);
    if (!nl) {
        if (n == LINE_MAX)
            conn_kill(c);        /* no line in sight: not our protocol */
        return;
    }
    size_t len = (size_t)(nl - line) + 1;
    if (recv(c->fd, line, len, MSG_DONTWAIT) != (ssize_t)len) {
        conn_kill(c);
        return;
    }
    line[len - 1] = '\0';
    const char *digits = line + 8;
    unsigned long long port = 0;
    bool ok = strncmp(line, "CONNECT ", 8) == 0 && *digits;
    for (const char *p = digits; ok && *p; p++) {
        ok = *p >= '0' && *p <= '9' && p - digits < 10;
        port = port * 10 + (unsigned long long)(*p - '0');
    }
    if (!ok || port > UINT32_MAX) {
        report(v, "vsock: host connection: bad request line");
        conn_kill(c);
        return;
    }
    c->local_port = alloc_port(v);
    c->peer_port = (uint32_t)port;
    c->state = CONN_REQUESTED;
    c->host_readable = true;      /* bytes after the line may already wait */
    hash_insert(v, c);
    c->pending = PEND_REQUEST;
    schedule(c);
}

static void conn_event(void *opaque, uint32_t events)
{
    struct conn *c = opaque;
    struct vsock *v = c->v;
    if (c->state == CONN_HANDSHAKE) {
        handshake(c);
    } else {
        if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            c->host_readable = true;
        if (events & EPOLLHUP)
            c->host_hup = true;
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) || flush_to_host(c) == 0)
            schedule(c);
    }
    rx_run(v);
    reap(v);
}

static void listen_event(void *opaque, uint32_t events)
{
    struct vsock *v = opaque;
    (void)events;
    for (;;) {
        int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && errno == EINTR)
            continue;
        if (fd < 0)
            break;
        if (v->nconns >= MAX_CONNS) {
            report(v, "vsock: host connection refused: %d connections open", MAX_CONNS);
            close(fd);
            continue;
        }
        conn_new(v, fd, CONN_HANDSHAKE);   /* epoll reports a line already there at once */
    }
    reap(v);
}

static void rx_kick(void *opaque, uint32_t events)
{
    struct vsock *v = opaque;
    (void)events;
    rx_run(v);
    reap(v);
}

static void tx_kick(void *opaque, uint32_t events)
{
    struct vsock *v = opaque;
    (void)events;
    tx_run(v);
    reap(v);
}

/* ---- ops ---- */

static int vsock_notify(void *b, unsigned queue, struct zerr *e)
{
    struct vsock *v = b;
    (void)e;
    if (queue == RXQ)
        vmm_io_signal(v->rx_kick);
    else if (queue == TXQ)
        vmm_io_signal(v->tx_kick);
    return 0;      /* the event queue: its buffers wait for events we never send */
}

struct activate_args {
    struct vsock *v;
    struct vmm_virtio_dev *d;
};

static void activate_here(void *arg)
{
    struct activate_args *a = arg;
    a->v->vdev = a->d;
    a->v->active = true;
    tx_run(a->v);
    reap(a->v);
}

static int vsock_activate(void *b, struct vmm_virtio_dev *d, uint64_t features, struct zerr *e)
{
    struct activate_args a = { b, d };
    (void)features;
    (void)e;
    vmm_iothread_call(((struct vsock *)b)->io, activate_here, &a);
    return 0;
}

static void close_all(struct vsock *v)
{
    while (v->conns)
        conn_kill(v->conns);
    v->rst_len = 0;
    reap(v);
}

/* Connections the guest knows of go; host connections still waiting for
 * the guest to hear their REQUEST stay, so a host that connects before
 * the driver is up (which starts with a reset) is not turned away. */
static void reset_here(void *arg)
{
    struct vsock *v = arg;
    v->active = false;
    for (struct conn *c = v->conns, *next; c; c = next) {
        next = c->next;
        if (c->state != CONN_HANDSHAKE && !(c->state == CONN_REQUESTED && (c->pending & PEND_REQUEST)))
            conn_kill(c);
    }
    v->rst_len = 0;
    reap(v);
}

static void vsock_reset(void *b)
{
    struct vsock *v = b;
    vmm_iothread_call(v->io, reset_here, v);
}

static void vsock_config_read(void *b, uint32_t off, void *buf, uint32_t len)
{
    struct vsock *v = b;
    uint8_t cfg[CONFIG_SIZE];
    for (unsigned i = 0; i < CONFIG_SIZE; i++)
        cfg[i] = (uint8_t)(v->guest_cid >> (8 * i));
    memcpy(buf, cfg + off, len);
}

static void stats_here(void *arg)
{
    struct vsock *v = ((void **)arg)[0];
    *(struct vmm_vsock_stats *)((void **)arg)[1] = v->stats;
}

void vmm_virtio_vsock_stats(void *backend, struct vmm_vsock_stats *out)
{
    struct vsock *v = backend;
    void *args[2] = { v, out };
    vmm_iothread_call(v->io, stats_here, args);
}

static void close_here(void *arg) { close_all(arg); }

static void vsock_destroy(void *b)
{
    struct vsock *v = b;
    vmm_iothread_call(v->io, close_here, v);
    vmm_io_del(v->listen_src);
    vmm_io_del(v->rx_kick);
    vmm_io_del(v->tx_kick);
    if (v->listen_fd >= 0)
        close(v->listen_fd);
    if (v->bound)
        unlink(v->uds_path);
    free(v);
}

static const struct vmm_virtio_ops vsock_ops = {
    .name = "virtio-vsock",
    .device_type = VIRTIO_ID_VSOCK,
    .pci_class = 0x078000,          /* communication controller, other */
    .features = 0,                  /* stream only (no SEQPACKET) */
    .num_queues = 3,
    .queue_size = QUEUE_SIZE,
    .config_size = CONFIG_SIZE,
    .config_read = vsock_config_read,
    .activate = vsock_activate,
    .queue_notify = vsock_notify,
    .reset = vsock_reset,
    .destroy = vsock_destroy,
};

/* Binds uds_path; a socket file nobody listens on (left by a monitor that
 * died) is replaced, anything else is an error. */
static int listen_on(struct vsock *v, struct zerr *e)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", v->uds_path);
    v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (v->listen_fd < 0)
        return zerr_sys(e, "vsock: socket");
    if (bind(v->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        struct stat st;
        if (errno != EADDRINUSE || lstat(v->uds_path, &st) < 0 || !S_ISSOCK(st.st_mode))
            return zerr_sys(e, "vsock: bind %s", v->uds_path);
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
        if (probe >= 0)
            close(probe);
        if (live)
            return zerr_set(e, EADDRINUSE, "vsock: %s: another process listens there", v->uds_path);
        if (unlink(v->uds_path) < 0 || bind(v->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0)
            return zerr_sys(e, "vsock: bind %s", v->uds_path);
    }
    v->bound = true;
    if (listen(v->listen_fd, 64) < 0)
        return zerr_sys(e, "vsock: listen %s", v->uds_path);
    return 0;
}

int vmm_virtio_vsock_new(struct vmm_iothread *io, const struct vmm_vsock_config *c, struct vmm_virtio_backend *out,
                         struct zerr *e)
{
    uint64_t cid = c->guest_cid ? c->guest_cid : VMM_VSOCK_DEFAULT_CID;
    if (cid <= VMM_VSOCK_HOST_CID || cid >= UINT32_MAX)
        return zerr_set(e, EINVAL, "vsock: guest CID %llu (need 3..%u)", (unsigned long long)cid, UINT32_MAX - 1);
    /* "<path>_<port>" must fit too */
    if (!c->uds_path || !*c->uds_path || strlen(c->uds_path) + 12 > sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
        return zerr_set(e, ENAMETOOLONG, "vsock: socket path \"%s\" is empty or longer than %zu bytes",
                        c->uds_path ? c->uds_path : "", sizeof(((struct sockaddr_un *)0)->sun_path) - 13);
    if (!io)
        return zerr_set(e, EINVAL, "vsock: no I/O thread");
    struct vsock *v = calloc(1, sizeof *v);
    if (!v)
        return zerr_set(e, ENOMEM, "vsock: out of memory");
    v->io = io;
    v->guest_cid = cid;
    v->listen_fd = -1;
    v->next_port = FIRST_LOCAL_PORT;
    snprintf(v->uds_path, sizeof v->uds_path, "%s", c->uds_path);
    if (listen_on(v, e) < 0 || !(v->rx_kick = vmm_io_add_event(io, rx_kick, v, e)) ||
        !(v->tx_kick = vmm_io_add_event(io, tx_kick, v, e)) ||
        !(v->listen_src = vmm_io_add_fd(io, v->listen_fd, EPOLLIN, listen_event, v, e))) {
        vsock_destroy(v);
        return -1;
    }
    *out = (struct vmm_virtio_backend){ .ops = &vsock_ops, .opaque = v };
    return 0;
}

int vmm_add_vsock(struct vmm *vm, const struct vmm_vsock_config *c, struct zerr *e)
{
    struct vmm_iothread *io = vmm_shared_iothread(vm, e);
    struct vmm_virtio_backend b;
    if (!io || vmm_virtio_vsock_new(io, c, &b, e) < 0 || vmm_virtio_add(vm, b, e) < 0)
        return -1;
    return 0;
}
