/* virtio-console (virtio 1.x 5.3), one port: the guest's hvc0. Queue 0
 * (receiveq) carries host input to the guest, queue 1 (transmitq) guest
 * output to the host.
 *
 * MULTIPORT is offered with max_nr_ports 1, only for its control queues
 * (2: device -> driver, 3: driver -> device): without them Linux drops
 * input that arrives between its first receive-buffer kick and the end of
 * the console port's setup (in_intr discards data while the port is not
 * yet "guest connected"), and a device answering that kick at once always
 * lands in that window. With them the driver says DEVICE_READY, we add
 * port 0, it says PORT_READY, we make it the console (and say the host
 * side is open), and it says PORT_OPEN: only then does input flow. A
 * driver that does not take MULTIPORT gets input as soon as it posts
 * buffers.
 *
 * Output is written to out_fd on the vCPU thread that kicked the queue, as
 * the UART does: a slow reader slows the guest's writer, nothing is lost.
 * Input is read on the I/O thread when in_fd is readable, into one pending
 * chunk that goes to the guest as it posts buffers. While a chunk waits
 * for buffers the fd is not watched, so a guest that does not read costs
 * nothing and input is never dropped; at EOF the fd is dropped from the
 * loop for good (no spinning on a hung-up fd). Files epoll cannot watch
 * (regular files, /dev/null) are read directly whenever the guest posts
 * buffers. Reads are bounded by FIONREAD where the fd reports it, so a
 * shared blocking fd does not block the I/O thread.
 *
 * Locks: rx_lock (input, receiveq) and tx_lock (transmitq) are separate
 * so a blocked write to out_fd never holds up input or the I/O thread;
 * activate and reset take both. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vm-sandbox/vmm/iothread.h"
#include "vm-sandbox/vmm/virtio.h"
#include "vm-sandbox/vmm/vmm_impl.h"

#define RXQ 0
#define TXQ 1
#define CTRL_RXQ 2
#define CTRL_TXQ 3
#define QUEUE_SIZE 128
#define PENDING_MAX 4096
#define CTRL_MAX 8
#define VIRTIO_CONSOLE_F_MULTIPORT   (1ULL << 1)
#define VIRTIO_CONSOLE_F_EMERG_WRITE (1ULL << 2)
/* control messages: le32 id, le16 event, le16 value */
#define CTRL_SIZE 8
#define CTRL_DEVICE_READY 0
#define CTRL_DEVICE_ADD   1
#define CTRL_PORT_READY   3
#define CTRL_CONSOLE_PORT 4
#define CTRL_PORT_OPEN    6
#define CONFIG_SIZE 12          /* le16 cols, le16 rows, le32 max_nr_ports, le32 emerg_wr */
#define CONFIG_EMERG_WR 8

enum input_mode { INPUT_NONE, INPUT_POLL, INPUT_DIRECT };

struct console {
    struct vmm_iothread *io;
    int in_fd, out_fd;
    enum input_mode mode;

    pthread_mutex_t rx_lock, tx_lock;
    bool active;                      /* both locks */
    struct vmm_virtio_dev *vdev;
    struct vmm_io_source *in_src;     /* rx_lock; deleted only on the I/O thread */
    bool polling;
    bool in_eof;
    uint8_t pending[PENDING_MAX];
    size_t pend_off, pend_len;
    bool multiport;                   /* negotiated (rx_lock, like the rest below) */
    bool port_open;                   /* the driver said PORT_OPEN for port 0 */
    struct { uint32_t id; uint16_t event, value; } ctrl_out[CTRL_MAX];
    unsigned ctrl_len;
    unsigned ctrl_sent;               /* of ctrl_out, during ctrl_flush */
    struct vmm_vq_chain rx_chain;     /* large: kept off the stacks */
    struct vmm_vq_chain tx_chain;
    struct vmm_vq_chain ctrl_chain;
};

static void report(struct console *c, struct zerr *e)
{
    if (c->vdev)
        vmm_virtio_report(c->vdev, e);
}

/* Called with rx_lock held: watch in_fd only when a read could go
 * somewhere. */
static bool input_allowed(const struct console *c)
{
    return c->active && (!c->multiport || c->port_open);
}

static void update_polling(struct console *c)
{
    bool want = input_allowed(c) && c->mode == INPUT_POLL && !c->in_eof && c->pend_len == 0;
    if (want == c->polling || !c->in_src)
        return;
    struct zerr e = { 0 };
    if (vmm_io_set_events(c->in_src, want ? EPOLLIN : 0, &e) < 0)
        report(c, &e);
    else
        c->polling = want;
}

/* Called with rx_lock held; pend_len is 0. */
static void read_input(struct console *c)
{
    size_t want = PENDING_MAX;
    int avail = 0;
    if (c->mode == INPUT_POLL && ioctl(c->in_fd, FIONREAD, &avail) == 0 && avail > 0 && (size_t)avail < want)
        want = (size_t)avail;
    ssize_t n = read(c->in_fd, c->pending, want);
    if (n > 0) {
        c->pend_off = 0;
        c->pend_len = (size_t)n;
        return;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    /* EOF, or an error that will not go away (EIO on a hung-up tty) */
    c->in_eof = true;
    if (c->in_src && vmm_iothread_is_current(c->io)) {
        vmm_io_del(c->in_src);
        c->in_src = NULL;
        c->polling = false;
    }
}

/* Called with rx_lock held: the skeleton of both device-to-guest queues.
 * While has_more() says there is something to give, pops a chain of queue
 * qi, lets fill() write into it (returning the bytes written; a chain it
 * cannot use goes back empty), pushes it, and signals the queue once. A
 * malformed chain is reported; a ring too bad to consume ends the round
 * until the next kick. */
static void deliver(struct console *c, unsigned qi, struct vmm_vq_chain *chain, bool (*has_more)(struct console *),
                    uint32_t (*fill)(struct console *, struct vmm_vq_chain *))
{
    struct vmm_vq *vq = vmm_virtio_queue(c->vdev, qi);
    bool used = false;
    while (vq && has_more(c)) {
        bool consumed;
        struct zerr e = { 0 };
        int r = vmm_vq_pop(vq, chain, &consumed, &e);
        if (r == 0)
            break;
        uint32_t n = 0;
        if (r < 0) {
            report(c, &e);
            if (!consumed)
                break;
        } else {
            n = fill(c, chain);
        }
        if (vmm_vq_push(vq, chain->head, n, &e) < 0)
            report(c, &e);
        used = true;
    }
    if (used) {
        struct zerr e = { 0 };
        if (vmm_virtio_signal(c->vdev, qi, &e) < 0)
            report(c, &e);
    }
}

static bool input_pending(struct console *c)
{
    if (c->pend_len == 0 && c->mode == INPUT_DIRECT && !c->in_eof)
        read_input(c);
    return c->pend_len > 0;
}

static uint32_t fill_input(struct console *c, struct vmm_vq_chain *chain)
{
    uint64_t n = vmm_vq_write(chain, 0, c->pending + c->pend_off, c->pend_len);
    c->pend_off += n;
    c->pend_len -= n;
    return (uint32_t)n;
}

/* Called with rx_lock held: hands pending input to the guest's buffers. */
static void rx_fill(struct console *c)
{
    if (input_allowed(c))
        deliver(c, RXQ, &c->rx_chain, input_pending, fill_input);
    update_polling(c);
}

/* I/O thread: in_fd is readable (or hung up). */
static void input_ready(void *opaque, uint32_t events)
{
    struct console *c = opaque;
    (void)events;
    pthread_mutex_lock(&c->rx_lock);
    if (input_allowed(c) && !c->in_eof && c->pend_len == 0)
        read_input(c);
    rx_fill(c);
    pthread_mutex_unlock(&c->rx_lock);
}

/* Runs on vCPU threads, where every signal but the monitor's kick is
 * blocked: EINTR means the VM is stopping, so a write stuck on a reader
 * that went away gives up instead of holding vmm_run's join. */
static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int transmit(struct console *c, struct zerr *e)
{
    struct vmm_vq *vq = vmm_virtio_queue(c->vdev, TXQ);
    bool used = false;
    int result = 0;
    while (vq) {
        bool consumed;
        int r = vmm_vq_pop(vq, &c->tx_chain, &consumed, e);
        if (r == 0)
            break;
        if (r < 0) {
            result = -1;
            if (!consumed)
                break;
        } else if (c->out_fd >= 0) {
            for (unsigned i = 0; i < c->tx_chain.nreadable; i++)
                if (c->tx_chain.bufs[i].len &&
                    write_all(c->out_fd, c->tx_chain.bufs[i].host, c->tx_chain.bufs[i].len) < 0) {
                    /* the console is best effort: the guest must not stall on a closed reader */
                    result = zerr_sys(e, "console output");
                    break;
                }
        }
        struct zerr pe = { 0 };
        if (vmm_vq_push(vq, c->tx_chain.head, 0, &pe) < 0)
            report(c, &pe);
        used = true;
    }
    struct zerr se = { 0 };
    if (used && vmm_virtio_signal(c->vdev, TXQ, &se) < 0)
        report(c, &se);
    return result;
}

/* ---- control queues (MULTIPORT) ---- */

static bool ctrl_pending(struct console *c) { return c->ctrl_sent < c->ctrl_len; }

static uint32_t fill_ctrl(struct console *c, struct vmm_vq_chain *chain)
{
    if (chain->writable_bytes < CTRL_SIZE)
        return 0;
    uint8_t msg[CTRL_SIZE];
    uint32_t id = c->ctrl_out[c->ctrl_sent].id;
    uint16_t ev = c->ctrl_out[c->ctrl_sent].event, val = c->ctrl_out[c->ctrl_sent].value;
    msg[0] = (uint8_t)id, msg[1] = (uint8_t)(id >> 8), msg[2] = (uint8_t)(id >> 16), msg[3] = (uint8_t)(id >> 24);
    msg[4] = (uint8_t)ev, msg[5] = (uint8_t)(ev >> 8), msg[6] = (uint8_t)val, msg[7] = (uint8_t)(val >> 8);
    c->ctrl_sent++;
    return (uint32_t)vmm_vq_write(chain, 0, msg, sizeof msg);
}

/* Called with rx_lock held: sends queued control messages. */
static void ctrl_flush(struct console *c)
{
    if (!c->active || !c->multiport)
        return;
    c->ctrl_sent = 0;
    deliver(c, CTRL_RXQ, &c->ctrl_chain, ctrl_pending, fill_ctrl);
    if (c->ctrl_sent) {
        memmove(c->ctrl_out, c->ctrl_out + c->ctrl_sent, (c->ctrl_len - c->ctrl_sent) * sizeof c->ctrl_out[0]);
        c->ctrl_len -= c->ctrl_sent;
        c->ctrl_sent = 0;
    }
}

static void ctrl_send(struct console *c, uint16_t event, uint16_t value)
{
    if (c->ctrl_len == CTRL_MAX) {
        struct zerr e = { 0 };
        zerr_set(&e, ENOSPC, "console: control messages pile up (the driver takes none)");
        report(c, &e);
        return;
    }
    c->ctrl_out[c->ctrl_len].id = 0;
    c->ctrl_out[c->ctrl_len].event = event;
    c->ctrl_out[c->ctrl_len].value = value;
    c->ctrl_len++;
}

/* Called with rx_lock held: the driver's control messages. */
static int ctrl_receive(struct console *c, struct zerr *e)
{
    struct vmm_vq *vq = vmm_virtio_queue(c->vdev, CTRL_TXQ);
    int result = 0;
    bool used = false;
    while (vq) {
        bool consumed;
        int r = vmm_vq_pop(vq, &c->ctrl_chain, &consumed, e);
        if (r == 0)
            break;
        if (r < 0) {
            result = -1;
            if (!consumed)
                break;
        } else {
            uint8_t m[CTRL_SIZE];
            if (vmm_vq_read(&c->ctrl_chain, 0, m, sizeof m) < sizeof m) {
                result = zerr_set(e, EINVAL, "console: control message of %llu bytes",
                                  (unsigned long long)c->ctrl_chain.readable_bytes);
            } else {
                uint32_t id = (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24;
                uint16_t ev = (uint16_t)(m[4] | m[5] << 8), val = (uint16_t)(m[6] | m[7] << 8);
                if (ev == CTRL_DEVICE_READY && val) {
                    ctrl_send(c, CTRL_DEVICE_ADD, 1);
                } else if (ev != CTRL_DEVICE_READY && id != 0) {
                    result = zerr_set(e, EINVAL, "console: control message %u for port %u (only port 0 exists)", ev, id);
                } else if (ev == CTRL_PORT_READY && val) {
                    ctrl_send(c, CTRL_CONSOLE_PORT, 1);
                    ctrl_send(c, CTRL_PORT_OPEN, 1);      /* the host side is always there */
                } else if (ev == CTRL_PORT_OPEN) {
                    c->port_open = val != 0;
                }
            }
        }
        struct zerr pe = { 0 };
        if (vmm_vq_push(vq, c->ctrl_chain.head, 0, &pe) < 0)
            report(c, &pe);
        used = true;
    }
    struct zerr se = { 0 };
    if (used && vmm_virtio_signal(c->vdev, CTRL_TXQ, &se) < 0)
        report(c, &se);
    ctrl_flush(c);
    rx_fill(c);      /* the port may just have opened */
    return result;
}

static int console_notify(void *b, unsigned queue, struct zerr *e)
{
    struct console *c = b;
    int r = 0;
    if (queue == CTRL_RXQ || queue == CTRL_TXQ) {
        pthread_mutex_lock(&c->rx_lock);
        if (c->active && c->multiport) {
            if (queue == CTRL_RXQ)
                ctrl_flush(c);
            else
                r = ctrl_receive(c, e);
        }
        pthread_mutex_unlock(&c->rx_lock);
    } else if (queue == RXQ) {
        pthread_mutex_lock(&c->rx_lock);
        rx_fill(c);
        pthread_mutex_unlock(&c->rx_lock);
    } else if (queue == TXQ) {
        pthread_mutex_lock(&c->tx_lock);
        if (c->active)
            r = transmit(c, e);
        pthread_mutex_unlock(&c->tx_lock);
    }
    return r;
}

static int console_activate(void *b, struct vmm_virtio_dev *d, uint64_t features, struct zerr *e)
{
    struct console *c = b;
    (void)e;
    pthread_mutex_lock(&c->rx_lock);
    pthread_mutex_lock(&c->tx_lock);
    c->vdev = d;
    c->multiport = features & VIRTIO_CONSOLE_F_MULTIPORT;
    c->port_open = false;
    c->ctrl_len = 0;
    c->active = true;
    pthread_mutex_unlock(&c->tx_lock);
    rx_fill(c);
    pthread_mutex_unlock(&c->rx_lock);
    return 0;
}

/* Input read but not yet delivered stays pending for the next driver. */
static void console_reset(void *b)
{
    struct console *c = b;
    pthread_mutex_lock(&c->rx_lock);
    pthread_mutex_lock(&c->tx_lock);
    c->active = false;
    c->multiport = c->port_open = false;
    c->ctrl_len = 0;
    update_polling(c);
    pthread_mutex_unlock(&c->tx_lock);
    pthread_mutex_unlock(&c->rx_lock);
}

static void console_config_read(void *b, uint32_t off, void *buf, uint32_t len)
{
    (void)b;
    uint8_t cfg[CONFIG_SIZE] = { 0 };
    cfg[4] = 1;     /* max_nr_ports: one port, hvc0 */
    memcpy(buf, cfg + off, len);
}

static int console_config_write(void *b, uint32_t off, const void *buf, uint32_t len, struct zerr *e)
{
    struct console *c = b;
    if (off != CONFIG_EMERG_WR)
        return zerr_set(e, EROFS, "console: config offset %u is read-only", off);
    (void)len;
    pthread_mutex_lock(&c->tx_lock);
    int r = c->out_fd >= 0 ? write_all(c->out_fd, buf, 1) : 0;
    pthread_mutex_unlock(&c->tx_lock);
    return r < 0 ? zerr_sys(e, "console emergency write") : 0;
}

static void console_destroy(void *b)
{
    struct console *c = b;
    if (c->in_src)
        vmm_io_del(c->in_src);
    pthread_mutex_destroy(&c->rx_lock);
    pthread_mutex_destroy(&c->tx_lock);
    free(c);
}

static const struct vmm_virtio_ops console_ops = {
    .name = "virtio-console",
    .device_type = VIRTIO_ID_CONSOLE,
    .pci_class = 0x078000,          /* simple communication controller, other */
    .features = VIRTIO_CONSOLE_F_MULTIPORT | VIRTIO_CONSOLE_F_EMERG_WRITE,
    .num_queues = 4,
    .queue_size = QUEUE_SIZE,
    .config_size = CONFIG_SIZE,
    .config_read = console_config_read,
    .config_write = console_config_write,
    .activate = console_activate,
    .queue_notify = console_notify,
    .reset = console_reset,
    .destroy = console_destroy,
};

int vmm_virtio_console_new(struct vmm_iothread *io, int in_fd, int out_fd, struct vmm_virtio_backend *out,
                           struct zerr *e)
{
    struct console *c = calloc(1, sizeof *c);
    if (!c)
        return zerr_set(e, ENOMEM, "console: out of memory");
    c->io = io;
    c->in_fd = in_fd;
    c->out_fd = out_fd;
    pthread_mutex_init(&c->rx_lock, NULL);
    pthread_mutex_init(&c->tx_lock, NULL);
    c->mode = INPUT_NONE;
    if (in_fd >= 0) {
        struct zerr ae = { 0 };
        c->in_src = io ? vmm_io_add_fd(io, in_fd, 0, input_ready, c, &ae) : NULL;
        if (c->in_src) {
            c->mode = INPUT_POLL;
        } else if (!io || ae.code == EPERM) {
            c->mode = INPUT_DIRECT;
        } else {
            console_destroy(c);
            return zerr_set(e, ae.code, "console input: %s", ae.msg);
        }
    }
    *out = (struct vmm_virtio_backend){ .ops = &console_ops, .opaque = c };
    return 0;
}

int vmm_add_console(struct vmm *vm, int in_fd, int out_fd, struct zerr *e)
{
    struct vmm_iothread *io = in_fd >= 0 ? vmm_shared_iothread(vm, e) : NULL;
    struct vmm_virtio_backend b;
    if ((in_fd >= 0 && !io) || vmm_virtio_console_new(io, in_fd, out_fd, &b, e) < 0)
        return zerr_prefix(e, "console");
    if (vmm_virtio_add(vm, b, e) < 0)
        return zerr_prefix(e, "console");
    return 0;
}
