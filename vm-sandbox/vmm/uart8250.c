/* 16550A register model (offsets from the National PC16550D data sheet):
 *   0 RBR (read) / THR (write), or DLL when LCR.DLAB   1 IER, or DLM when DLAB
 *   2 IIR (read) / FCR (write)   3 LCR   4 MCR   5 LSR   6 MSR   7 SCR
 * Transmission is instant: a THR write goes to the host fd, so LSR always
 * shows THRE|TEMT and a THRE interrupt follows every write when enabled.
 * The interrupt line follows "some enabled condition is pending" and is
 * driven through KVM_IRQ_LINE only when it changes. */
#include "vm-sandbox/vmm/uart8250.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm-sandbox/vmm/vmm.h"

#define IER_RDI   0x01   /* received data available */
#define IER_THRI  0x02   /* transmitter holding register empty */
#define IER_RLSI  0x04   /* receiver line status */
#define IER_MSI   0x08   /* modem status */
#define IIR_NO_INT 0x01
#define IIR_MSI   0x00
#define IIR_THRI  0x02
#define IIR_RDI   0x04
#define IIR_FIFO  0xc0
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB  0x80
#define MCR_LOOP  0x10
#define LSR_DR    0x01
#define LSR_OE    0x02
#define LSR_THRE  0x20
#define LSR_TEMT  0x40
#define MSR_CTS   0x10
#define MSR_DSR   0x20
#define MSR_RI    0x40
#define MSR_DCD   0x80
#define RX_FIFO   64

struct vmm_uart {
    pthread_mutex_t lock;
    struct vmm *vm;        /* NULL in unit tests */
    unsigned gsi;
    int out_fd;
    uint8_t ier, fcr, lcr, mcr, scr, dll, dlm;
    bool overrun;
    bool thr_pending;      /* THRE interrupt raised and not yet acknowledged */
    int line;              /* the level last driven */
    uint8_t rx[RX_FIFO];
    unsigned rx_head, rx_count;
    unsigned long write_errors;
};

static uint8_t iir_of(const struct vmm_uart *u)
{
    uint8_t fifo = (u->fcr & FCR_ENABLE) ? IIR_FIFO : 0;
    if ((u->ier & IER_RLSI) && u->overrun)
        return fifo | 0x06;
    if ((u->ier & IER_RDI) && u->rx_count)
        return fifo | IIR_RDI;
    if ((u->ier & IER_THRI) && u->thr_pending)
        return fifo | IIR_THRI;
    return fifo | IIR_NO_INT;
}

/* Called with the lock held after every access. */
static int update_irq(struct vmm_uart *u, struct zerr *e)
{
    int level = !(iir_of(u) & IIR_NO_INT);
    if (level == u->line)
        return 0;
    u->line = level;
    return u->vm ? vmm_irq_set(u->vm, u->gsi, level, e) : 0;
}

static void transmit(struct vmm_uart *u, uint8_t c)
{
    if (u->mcr & MCR_LOOP) {            /* loopback: the byte comes back in */
        if (u->rx_count < RX_FIFO)
            u->rx[(u->rx_head + u->rx_count++) % RX_FIFO] = c;
        else
            u->overrun = true;
    } else if (u->out_fd >= 0) {
        /* no retry on EINTR: on a vCPU thread that is the kick of a
         * stopping VM, which must not wait on a stuck reader */
        ssize_t n = write(u->out_fd, &c, 1);
        if (n != 1)
            u->write_errors++;          /* the console is best effort */
    }
    u->thr_pending = true;
}

static uint8_t reg_read(struct vmm_uart *u, unsigned off)
{
    uint8_t v = 0;
    switch (off) {
    case 0:
        if (u->lcr & LCR_DLAB)
            return u->dll;
        if (u->rx_count) {
            v = u->rx[u->rx_head];
            u->rx_head = (u->rx_head + 1) % RX_FIFO;
            u->rx_count--;
        }
        return v;
    case 1:
        return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
    case 2:
        v = iir_of(u);
        if ((v & 0x0f) == IIR_THRI)    /* reading IIR acknowledges THRE */
            u->thr_pending = false;
        return v;
    case 3:
        return u->lcr;
    case 4:
        return u->mcr;
    case 5:
        v = LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0) | (u->overrun ? LSR_OE : 0);
        u->overrun = false;
        return v;
    case 6:
        if (u->mcr & MCR_LOOP)          /* DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD */
            return (uint8_t)(((u->mcr & 0x01) << 5) | ((u->mcr & 0x02) << 3) |
                             ((u->mcr & 0x04) << 4) | ((u->mcr & 0x08) << 4));
        return MSR_DCD | MSR_DSR | MSR_CTS;
    default:
        return u->scr;
    }
}

static void reg_write(struct vmm_uart *u, unsigned off, uint8_t v)
{
    switch (off) {
    case 0:
        if (u->lcr & LCR_DLAB)
            u->dll = v;
        else
            transmit(u, v);
        break;
    case 1:
        if (u->lcr & LCR_DLAB) {
            u->dlm = v;
            break;
        }
        /* enabling THRE interrupts while the transmitter is empty raises one */
        if (!(u->ier & IER_THRI) && (v & IER_THRI))
            u->thr_pending = true;
        u->ier = v & 0x0f;
        break;
    case 2:
        u->fcr = v & (FCR_ENABLE | 0xc0);
        if (v & FCR_CLEAR_RX)
            u->rx_count = 0;
        break;
    case 3:
        u->lcr = v;
        break;
    case 4:
        u->mcr = v & 0x1f;
        break;
    case 5:
    case 6:
        break;                          /* read-only */
    default:
        u->scr = v;
        break;
    }
}

static int uart_io(void *opaque, struct vmm_io *io, struct zerr *e)
{
    struct vmm_uart *u = opaque;
    if (io->len != 1)
        return zerr_set(e, EINVAL, "%u-byte access at offset %llu (registers are bytes)", io->len,
                        (unsigned long long)io->offset);
    pthread_mutex_lock(&u->lock);
    if (io->write)
        reg_write(u, (unsigned)io->offset, io->data[0]);
    else
        io->data[0] = reg_read(u, (unsigned)io->offset);
    int r = update_irq(u, e);
    pthread_mutex_unlock(&u->lock);
    return r;
}

struct vmm_uart *vmm_uart_new(int out_fd)
{
    struct vmm_uart *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    pthread_mutex_init(&u->lock, NULL);
    u->out_fd = out_fd;
    u->mcr = 0x08;                      /* OUT2, as the PC BIOS leaves it */
    return u;
}

void vmm_uart_free(struct vmm_uart *u)
{
    if (!u)
        return;
    pthread_mutex_destroy(&u->lock);
    free(u);
}

static void uart_destroy(void *opaque) { vmm_uart_free(opaque); }

static const struct vmm_device_ops uart_ops = {
    .name = "uart8250",
    .io = uart_io,
    .destroy = uart_destroy,
};

int vmm_uart_add(struct vmm *vm, uint16_t base, unsigned gsi, int out_fd, struct vmm_uart **handle,
                 struct zerr *e)
{
    struct vmm_uart *u = vmm_uart_new(out_fd);
    if (!u)
        return zerr_set(e, ENOMEM, "uart: out of memory");
    u->vm = vm;
    u->gsi = gsi;
    int dev = vmm_device_add(vm, &uart_ops, u, e);
    if (dev < 0)
        return -1;
    if (vmm_device_map(vm, dev, VMM_SPACE_PIO, base, 8, e) < 0)
        return -1;
    if (handle)
        *handle = u;
    return 0;
}

size_t vmm_uart_input(struct vmm_uart *u, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    size_t n = 0;
    struct zerr e;
    pthread_mutex_lock(&u->lock);
    while (n < len && u->rx_count < RX_FIFO)
        u->rx[(u->rx_head + u->rx_count++) % RX_FIFO] = p[n++];
    update_irq(u, &e);   /* an IRQ error here has nobody to go to; the guest polls LSR too */
    pthread_mutex_unlock(&u->lock);
    return n;
}

uint8_t vmm_uart_read(struct vmm_uart *u, unsigned offset)
{
    struct zerr e;
    pthread_mutex_lock(&u->lock);
    uint8_t v = reg_read(u, offset & 7);
    update_irq(u, &e);
    pthread_mutex_unlock(&u->lock);
    return v;
}

void vmm_uart_write(struct vmm_uart *u, unsigned offset, uint8_t value)
{
    struct zerr e;
    pthread_mutex_lock(&u->lock);
    reg_write(u, offset & 7, value);
    update_irq(u, &e);
    pthread_mutex_unlock(&u->lock);
}

int vmm_uart_irq_level(struct vmm_uart *u)
{
    pthread_mutex_lock(&u->lock);
    int l = u->line;
    pthread_mutex_unlock(&u->lock);
    return l;
}
