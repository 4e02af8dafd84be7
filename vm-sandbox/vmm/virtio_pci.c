/* The modern virtio-pci transport (virtio_pci.h).
 *
 * Locks: lock guards the common configuration (features, status, queue
 * registers) and is held across the backend's activate and reset, so those
 * never race each other. Queue notifications take no transport lock: they
 * read `active` and the queue's `enabled` (published before `active`) and
 * call the backend, which serialises against its own reset. isr_lock
 * guards the ISR and the INTx level. */
#include "vm-sandbox/vmm/virtio_pci.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_CAP_LEN 20      /* struct virtio_pci_cfg_cap */

struct queue {
    uint16_t size;
    bool enabled;
    uint64_t desc, driver, device;
    struct vmm_vq vq;
};

struct vmm_virtio_dev {
    struct vmm_pci_dev *pci;
    struct vmm_pci_dev_ops pci_ops;      /* per device, to carry the backend's name */
    const struct vmm_mem *mem;
    struct vmm_virtio_backend b;
    const struct vmm_virtio_ops *ops;
    uint64_t device_features;

    pthread_mutex_t lock;
    uint32_t dfselect, gfselect;
    uint64_t driver_features;
    uint64_t features;                  /* accepted at FEATURES_OK */
    uint8_t status;
    uint16_t queue_select;
    struct queue q[VMM_VIRTIO_MAX_QUEUES];
    atomic_bool active;                 /* DRIVER_OK and the backend activated */
    atomic_uint_fast8_t generation;

    pthread_mutex_t isr_lock;
    uint8_t isr;

    unsigned cfg_cap;                   /* offset of the PCI_CFG capability */
    uint8_t window_bar;
    uint32_t window_offset, window_length;
    uint8_t window_data[4];

    pthread_mutex_t err_lock;
    unsigned long errors;
    char last_error[256];
};

static uint64_t get_le(const uint8_t *p, unsigned len)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < len; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_le(uint8_t *p, unsigned len, uint64_t v)
{
    for (unsigned i = 0; i < len; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void count_error(struct vmm_virtio_dev *d, const char *msg)
{
    pthread_mutex_lock(&d->err_lock);
    d->errors++;
    snprintf(d->last_error, sizeof d->last_error, "%.250s", msg);
    pthread_mutex_unlock(&d->err_lock);
}

/* An error in a guest access: counted here, returned to the bus (which
 * records it for struct vmm_stop). */
static int access_error(struct vmm_virtio_dev *d, struct zerr *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int access_error(struct vmm_virtio_dev *d, struct zerr *e, int code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    count_error(d, msg);
    return zerr_set(e, code, "%s", msg);
}

void vmm_virtio_report(struct vmm_virtio_dev *d, const struct zerr *err)
{
    count_error(d, err->msg);
    vmm_pci_report_error(d->pci, err->msg);
}

unsigned long vmm_virtio_errors(struct vmm_virtio_dev *d, char *last, unsigned last_size)
{
    pthread_mutex_lock(&d->err_lock);
    unsigned long n = d->errors;
    if (last && last_size)
        snprintf(last, last_size, "%.250s", d->last_error);
    pthread_mutex_unlock(&d->err_lock);
    return n;
}

struct vmm_pci_dev *vmm_virtio_pci_dev(struct vmm_virtio_dev *d) { return d->pci; }

uint8_t vmm_virtio_status(struct vmm_virtio_dev *d)
{
    pthread_mutex_lock(&d->lock);
    uint8_t s = d->status;
    pthread_mutex_unlock(&d->lock);
    return s;
}

/* ---- interrupts ---- */

static int raise_isr(struct vmm_virtio_dev *d, uint8_t bit, struct zerr *e)
{
    pthread_mutex_lock(&d->isr_lock);
    d->isr |= bit;
    int r = vmm_pci_set_irq(d->pci, 1, e);
    pthread_mutex_unlock(&d->isr_lock);
    return r;
}

static uint8_t read_isr(struct vmm_virtio_dev *d, struct zerr *e, int *r)
{
    pthread_mutex_lock(&d->isr_lock);
    uint8_t v = d->isr;
    d->isr = 0;
    *r = vmm_pci_set_irq(d->pci, 0, e);
    pthread_mutex_unlock(&d->isr_lock);
    return v;
}

struct vmm_vq *vmm_virtio_queue(struct vmm_virtio_dev *d, unsigned queue)
{
    if (queue >= d->ops->num_queues || !d->q[queue].enabled)
        return NULL;
    return &d->q[queue].vq;
}

int vmm_virtio_signal(struct vmm_virtio_dev *d, unsigned queue, struct zerr *e)
{
    struct vmm_vq *vq = vmm_virtio_queue(d, queue);
    if (!vq || !vmm_vq_should_interrupt(vq))
        return 0;
    return raise_isr(d, VIRTIO_PCI_ISR_QUEUE, e);
}

int vmm_virtio_config_changed(struct vmm_virtio_dev *d, struct zerr *e)
{
    atomic_fetch_add(&d->generation, 1);
    return raise_isr(d, VIRTIO_PCI_ISR_CONFIG, e);
}

/* ---- common configuration ---- */

/* Called with lock held. */
static void reset_device(struct vmm_virtio_dev *d)
{
    atomic_store(&d->active, false);
    if (d->ops->reset)
        d->ops->reset(d->b.opaque);
    for (unsigned i = 0; i < VMM_VIRTIO_MAX_QUEUES; i++)
        d->q[i] = (struct queue){ .size = d->ops->queue_size };
    d->dfselect = d->gfselect = 0;
    d->driver_features = d->features = 0;
    d->status = 0;
    d->queue_select = 0;
    struct zerr e = { 0 };
    int r;
    read_isr(d, &e, &r);
    if (r < 0)
        vmm_virtio_report(d, &e);
}

static void common_image(struct vmm_virtio_dev *d, uint8_t img[VIRTIO_PCI_COMMON_LEN])
{
    memset(img, 0, VIRTIO_PCI_COMMON_LEN);
    put_le(img + VIRTIO_PCI_COMMON_DFSELECT, 4, d->dfselect);
    put_le(img + VIRTIO_PCI_COMMON_DF, 4, d->dfselect < 2 ? d->device_features >> (32 * d->dfselect) : 0);
    put_le(img + VIRTIO_PCI_COMMON_GFSELECT, 4, d->gfselect);
    put_le(img + VIRTIO_PCI_COMMON_GF, 4, d->gfselect < 2 ? d->driver_features >> (32 * d->gfselect) : 0);
    put_le(img + VIRTIO_PCI_COMMON_MSIX, 2, VIRTIO_MSI_NO_VECTOR);
    put_le(img + VIRTIO_PCI_COMMON_NUMQ, 2, d->ops->num_queues);
    img[VIRTIO_PCI_COMMON_STATUS] = d->status;
    img[VIRTIO_PCI_COMMON_CFGGENERATION] = (uint8_t)atomic_load(&d->generation);
    put_le(img + VIRTIO_PCI_COMMON_Q_SELECT, 2, d->queue_select);
    if (d->queue_select < d->ops->num_queues) {
        const struct queue *q = &d->q[d->queue_select];
        put_le(img + VIRTIO_PCI_COMMON_Q_SIZE, 2, q->size);
        put_le(img + VIRTIO_PCI_COMMON_Q_MSIX, 2, VIRTIO_MSI_NO_VECTOR);
        put_le(img + VIRTIO_PCI_COMMON_Q_ENABLE, 2, q->enabled);
        put_le(img + VIRTIO_PCI_COMMON_Q_NOFF, 2, d->queue_select);
        put_le(img + VIRTIO_PCI_COMMON_Q_DESCLO, 8, q->desc);
        put_le(img + VIRTIO_PCI_COMMON_Q_AVAILLO, 8, q->driver);
        put_le(img + VIRTIO_PCI_COMMON_Q_USEDLO, 8, q->device);
    } else {
        put_le(img + VIRTIO_PCI_COMMON_Q_MSIX, 2, VIRTIO_MSI_NO_VECTOR);
    }
}

/* Called with lock held: the driver wrote a new status byte. */
static int write_status(struct vmm_virtio_dev *d, uint8_t v, struct zerr *e)
{
    if (v == 0) {
        reset_device(d);
        return 0;
    }
    uint8_t old = d->status;
    if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
        uint64_t extra = d->driver_features & ~d->device_features;
        if (extra || !(d->driver_features & VIRTIO_F_VERSION_1)) {
            /* leaving FEATURES_OK clear is how a device refuses features */
            v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
            d->status = v;
            if (extra)
                return access_error(d, e, EINVAL, "%s: driver accepted features 0x%llx the device does not offer",
                                    d->ops->name, (unsigned long long)extra);
            return access_error(d, e, EINVAL, "%s: driver did not accept VIRTIO_F_VERSION_1", d->ops->name);
        }
        d->features = d->driver_features;
    }
    d->status = v;
    if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
        if (!(v & VIRTIO_STATUS_FEATURES_OK)) {
            d->status = (uint8_t)((v & ~VIRTIO_STATUS_DRIVER_OK) | VIRTIO_STATUS_NEEDS_RESET);
            return access_error(d, e, EINVAL, "%s: DRIVER_OK without FEATURES_OK", d->ops->name);
        }
        struct zerr ae = { 0 };
        if (d->ops->activate && d->ops->activate(d->b.opaque, d, d->features, &ae) < 0) {
            d->status |= VIRTIO_STATUS_NEEDS_RESET;
            struct zerr ie = { 0 };
            if (raise_isr(d, VIRTIO_PCI_ISR_CONFIG, &ie) < 0)
                vmm_virtio_report(d, &ie);
            return access_error(d, e, ae.code ? ae.code : EIO, "%s: activate: %s", d->ops->name, ae.msg);
        }
        atomic_store(&d->active, true);
    }
    return 0;
}

/* Called with lock held. */
static int write_queue_field(struct vmm_virtio_dev *d, unsigned field, uint64_t v, struct zerr *e)
{
    unsigned sel = d->queue_select;
    if (sel >= d->ops->num_queues)
        return 0;      /* a queue that does not exist reads size 0: the driver stops there */
    struct queue *q = &d->q[sel];
    if (q->enabled)
        return access_error(d, e, EBUSY, "%s: queue %u: register 0x%x written while the queue is enabled",
                            d->ops->name, sel, field);
    switch (field) {
    case VIRTIO_PCI_COMMON_Q_SIZE:
        if (v == 0 || v > d->ops->queue_size || (v & (v - 1)))
            return access_error(d, e, EINVAL, "%s: queue %u: size %llu (at most %u, a power of two)", d->ops->name,
                                sel, (unsigned long long)v, d->ops->queue_size);
        q->size = (uint16_t)v;
        return 0;
    case VIRTIO_PCI_COMMON_Q_DESCLO: q->desc = v; return 0;
    case VIRTIO_PCI_COMMON_Q_AVAILLO: q->driver = v; return 0;
    case VIRTIO_PCI_COMMON_Q_USEDLO: q->device = v; return 0;
    case VIRTIO_PCI_COMMON_Q_ENABLE: {
        if (v != 1)
            return 0;      /* writing 0 is not allowed; reset is how queues go away */
        struct zerr qe = { 0 };
        if (vmm_vq_init(&q->vq, d->mem, q->size, q->desc, q->driver, q->device, &qe) < 0)
            return access_error(d, e, qe.code, "%s: queue %u: %s", d->ops->name, sel, qe.msg);
        q->enabled = true;
        return 0;
    }
    default:
        return 0;
    }
}

struct field {
    unsigned off, len;
};

static const struct field writable_fields[] = {
    { VIRTIO_PCI_COMMON_DFSELECT, 4 }, { VIRTIO_PCI_COMMON_GFSELECT, 4 }, { VIRTIO_PCI_COMMON_GF, 4 },
    { VIRTIO_PCI_COMMON_MSIX, 2 }, { VIRTIO_PCI_COMMON_STATUS, 1 }, { VIRTIO_PCI_COMMON_Q_SELECT, 2 },
    { VIRTIO_PCI_COMMON_Q_SIZE, 2 }, { VIRTIO_PCI_COMMON_Q_MSIX, 2 }, { VIRTIO_PCI_COMMON_Q_ENABLE, 2 },
    { VIRTIO_PCI_COMMON_Q_DESCLO, 8 }, { VIRTIO_PCI_COMMON_Q_AVAILLO, 8 }, { VIRTIO_PCI_COMMON_Q_USEDLO, 8 },
};

/* Called with lock held. Every field the access touches is applied with
 * its new bytes merged into its current value, so a 64-bit address
 * written as two 32-bit halves (as Linux does) or a byte-wise write work. */
static int apply_field(struct vmm_virtio_dev *d, const struct field *f, uint64_t v, struct zerr *e)
{
    switch (f->off) {
    case VIRTIO_PCI_COMMON_DFSELECT: d->dfselect = (uint32_t)v; return 0;
    case VIRTIO_PCI_COMMON_GFSELECT: d->gfselect = (uint32_t)v; return 0;
    case VIRTIO_PCI_COMMON_GF:
        if (d->status & VIRTIO_STATUS_FEATURES_OK)
            return access_error(d, e, EBUSY, "%s: driver features written after FEATURES_OK", d->ops->name);
        if (d->gfselect < 2) {
            unsigned shift = 32 * d->gfselect;
            d->driver_features = (d->driver_features & ~(0xffffffffULL << shift)) | ((v & 0xffffffffULL) << shift);
        }
        return 0;
    case VIRTIO_PCI_COMMON_MSIX:
    case VIRTIO_PCI_COMMON_Q_MSIX:
        return 0;      /* no MSI-X: the registers keep reading NO_VECTOR */
    case VIRTIO_PCI_COMMON_STATUS: return write_status(d, (uint8_t)v, e);
    case VIRTIO_PCI_COMMON_Q_SELECT: d->queue_select = (uint16_t)v; return 0;
    default: return write_queue_field(d, f->off, v, e);
    }
}

static int common_access(struct vmm_virtio_dev *d, struct vmm_io *io, unsigned off, struct zerr *e)
{
    uint8_t img[VIRTIO_PCI_COMMON_LEN];
    unsigned len = io->len;
    if (off + len > VIRTIO_PCI_COMMON_LEN)
        len = VIRTIO_PCI_COMMON_LEN - off;
    pthread_mutex_lock(&d->lock);
    common_image(d, img);
    if (!io->write) {
        memcpy(io->data, img + off, len);
        pthread_mutex_unlock(&d->lock);
        return 0;
    }
    memcpy(img + off, io->data, len);
    int r = 0;
    for (unsigned i = 0; i < sizeof writable_fields / sizeof writable_fields[0] && r == 0; i++) {
        const struct field *f = &writable_fields[i];
        if (off < f->off + f->len && f->off < off + len)
            r = apply_field(d, f, get_le(img + f->off, f->len), e);
    }
    pthread_mutex_unlock(&d->lock);
    return r;
}

/* ---- the BAR ---- */

static int notify(struct vmm_virtio_dev *d, struct vmm_io *io, unsigned off, struct zerr *e)
{
    if (!io->write)
        return 0;
    unsigned queue = off / VIRTIO_PCI_NOTIFY_MULT;
    if (off % VIRTIO_PCI_NOTIFY_MULT || (io->len != 2 && io->len != 4))
        return access_error(d, e, EINVAL, "%s: %u-byte notify at offset %u", d->ops->name, io->len, off);
    if (!atomic_load(&d->active))
        return access_error(d, e, EINVAL, "%s: queue %u notified before DRIVER_OK", d->ops->name, queue);
    if (queue >= d->ops->num_queues || !d->q[queue].enabled)
        return access_error(d, e, EINVAL, "%s: notify of queue %u, which is not enabled", d->ops->name, queue);
    struct zerr ne = { 0 };
    if (d->ops->queue_notify && d->ops->queue_notify(d->b.opaque, queue, &ne) < 0)
        return access_error(d, e, ne.code ? ne.code : EIO, "%s: queue %u: %s", d->ops->name, queue, ne.msg);
    return 0;
}

static int device_config(struct vmm_virtio_dev *d, struct vmm_io *io, unsigned off, struct zerr *e)
{
    if (off + io->len > d->ops->config_size)
        return access_error(d, e, EINVAL, "%s: %u-byte config access at %u past its %u bytes", d->ops->name,
                            io->len, off, d->ops->config_size);
    if (!io->write) {
        if (d->ops->config_read)
            d->ops->config_read(d->b.opaque, off, io->data, io->len);
        return 0;
    }
    struct zerr ce = { 0 };
    if (!d->ops->config_write)
        return access_error(d, e, EROFS, "%s: config space is read-only (write at %u)", d->ops->name, off);
    if (d->ops->config_write(d->b.opaque, off, io->data, io->len, &ce) < 0)
        return access_error(d, e, ce.code ? ce.code : EINVAL, "%s: config write: %s", d->ops->name, ce.msg);
    return 0;
}

static int bar_io(void *opaque, unsigned bar, struct vmm_io *io, struct zerr *e)
{
    struct vmm_virtio_dev *d = opaque;
    uint64_t off = io->offset;
    if (bar != 0)
        return access_error(d, e, EINVAL, "%s: access to BAR %u", d->ops->name, bar);
    if (off < VIRTIO_PCI_COMMON_LEN)
        return common_access(d, io, (unsigned)off, e);
    if (off == VIRTIO_PCI_ISR_OFF && !io->write) {
        int r;
        io->data[0] = read_isr(d, e, &r);
        return r;
    }
    if (off >= VIRTIO_PCI_DEVICE_OFF && off < VIRTIO_PCI_DEVICE_OFF + d->ops->config_size)
        return device_config(d, io, (unsigned)(off - VIRTIO_PCI_DEVICE_OFF), e);
    if (off >= VIRTIO_PCI_NOTIFY_OFF && off < VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * d->ops->num_queues)
        return notify(d, io, (unsigned)(off - VIRTIO_PCI_NOTIFY_OFF), e);
    return 0;   /* reserved: reads 0, writes ignored */
}

/* ---- VIRTIO_PCI_CAP_PCI_CFG: BAR access through config space ---- */

/* The cap's bar/offset/length/data fields (cap + 4 .. cap + 20) are ours;
 * touching the data bytes performs a window-length access in the BAR. */
static void window_image(struct vmm_virtio_dev *d, uint8_t img[16])
{
    memset(img, 0, 16);
    img[0] = d->window_bar;
    put_le(img + 4, 4, d->window_offset);
    put_le(img + 8, 4, d->window_length);
    memcpy(img + 12, d->window_data, 4);
}

static bool window_access(struct vmm_virtio_dev *d, bool write)
{
    unsigned len = d->window_length;
    if (d->window_bar != 0 || (len != 1 && len != 2 && len != 4) || d->window_offset % len ||
        d->window_offset + len > VIRTIO_PCI_BAR_SIZE)
        return false;
    struct vmm_io io = { .space = VMM_SPACE_MMIO, .offset = d->window_offset, .len = len, .write = write };
    if (write)
        memcpy(io.data, d->window_data, len);
    struct zerr e = { 0 };
    if (bar_io(d, 0, &io, &e) < 0)
        vmm_pci_report_error(d->pci, e.msg);
    if (!write)
        memcpy(d->window_data, io.data, len);
    return true;
}

static bool cfg_read(void *opaque, unsigned off, unsigned len, uint32_t *value)
{
    struct vmm_virtio_dev *d = opaque;
    unsigned start = d->cfg_cap + 4, end = d->cfg_cap + CFG_CAP_LEN;
    if (off < start || off + len > end)
        return false;
    if (off + len > start + 12)
        window_access(d, false);
    uint8_t img[16];
    window_image(d, img);
    *value = (uint32_t)get_le(img + (off - start), len);
    return true;
}

static bool cfg_write(void *opaque, unsigned off, unsigned len, uint32_t value)
{
    struct vmm_virtio_dev *d = opaque;
    unsigned start = d->cfg_cap + 4, end = d->cfg_cap + CFG_CAP_LEN;
    if (off < start || off + len > end)
        return false;
    uint8_t img[16];
    window_image(d, img);
    put_le(img + (off - start), len, value);
    d->window_bar = img[0];
    d->window_offset = (uint32_t)get_le(img + 4, 4);
    d->window_length = (uint32_t)get_le(img + 8, 4);
    memcpy(d->window_data, img + 12, 4);
    if (off + len > start + 12)
        window_access(d, true);
    return true;
}

static void transport_destroy(void *opaque)
{
    struct vmm_virtio_dev *d = opaque;
    if (d->ops->destroy)
        d->ops->destroy(d->b.opaque);
    pthread_mutex_destroy(&d->lock);
    pthread_mutex_destroy(&d->isr_lock);
    pthread_mutex_destroy(&d->err_lock);
    free(d);
}

static void vendor_cap(uint8_t *cap, unsigned len, uint8_t type, uint32_t offset, uint32_t length)
{
    memset(cap, 0, len);
    cap[0] = PCI_CAP_ID_VNDR;
    cap[2] = (uint8_t)len;
    cap[3] = type;
    cap[4] = 0;    /* BAR 0 */
    put_le(cap + 8, 4, offset);
    put_le(cap + 12, 4, length);
}

static int add_caps(struct vmm_virtio_dev *d, struct zerr *e)
{
    uint8_t cap[CFG_CAP_LEN];
    vendor_cap(cap, 16, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_LEN);
    if (vmm_pci_add_cap(d->pci, cap, 16, NULL, NULL, e) < 0)
        return -1;
    vendor_cap(cap, 20, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
               VIRTIO_PCI_NOTIFY_MULT * d->ops->num_queues);
    put_le(cap + 16, 4, VIRTIO_PCI_NOTIFY_MULT);
    if (vmm_pci_add_cap(d->pci, cap, 20, NULL, NULL, e) < 0)
        return -1;
    vendor_cap(cap, 16, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 1);
    if (vmm_pci_add_cap(d->pci, cap, 16, NULL, NULL, e) < 0)
        return -1;
    if (d->ops->config_size) {
        vendor_cap(cap, 16, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF, d->ops->config_size);
        if (vmm_pci_add_cap(d->pci, cap, 16, NULL, NULL, e) < 0)
            return -1;
    }
    vendor_cap(cap, CFG_CAP_LEN, VIRTIO_PCI_CAP_PCI_CFG, 0, 0);
    return vmm_pci_add_cap(d->pci, cap, CFG_CAP_LEN, NULL, &d->cfg_cap, e);
}

int vmm_virtio_pci_new(struct vmm_pci *bus, const struct vmm_mem *mem, struct vmm_virtio_backend b,
                       struct vmm_virtio_dev **out, struct zerr *e)
{
    if (out)
        *out = NULL;
    const struct vmm_virtio_ops *ops = b.ops;
    const char *bad = NULL;
    if (!ops)
        bad = "no ops";
    else if (ops->num_queues == 0 || ops->num_queues > VMM_VIRTIO_MAX_QUEUES)
        bad = "number of queues";
    else if (ops->queue_size == 0 || ops->queue_size > VMM_VQ_MAX_SIZE || (ops->queue_size & (ops->queue_size - 1)))
        bad = "queue size";
    else if (ops->config_size > VIRTIO_PCI_NOTIFY_OFF - VIRTIO_PCI_DEVICE_OFF)
        bad = "config size";
    struct vmm_virtio_dev *d = bad ? NULL : calloc(1, sizeof *d);
    if (!d) {
        if (ops && ops->destroy)
            ops->destroy(b.opaque);
        if (bad)
            return zerr_set(e, EINVAL, "virtio device %s: bad %s", ops ? ops->name : "?", bad);
        return zerr_set(e, ENOMEM, "virtio device %s: out of memory", ops->name);
    }
    d->b = b;
    d->ops = ops;
    d->mem = mem;
    d->device_features = ops->features | VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT_DESC;
    pthread_mutex_init(&d->lock, NULL);
    pthread_mutex_init(&d->isr_lock, NULL);
    pthread_mutex_init(&d->err_lock, NULL);
    for (unsigned i = 0; i < VMM_VIRTIO_MAX_QUEUES; i++)
        d->q[i].size = ops->queue_size;
    d->pci_ops = (struct vmm_pci_dev_ops){ .name = ops->name, .bar_io = bar_io, .cfg_read = cfg_read,
                                          .cfg_write = cfg_write, .destroy = transport_destroy };
    struct vmm_pci_dev_info info = {
        .vendor = VIRTIO_PCI_VENDOR, .device = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + ops->device_type),
        .subsystem_vendor = VIRTIO_PCI_VENDOR,
        .subsystem_id = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + ops->device_type),
        .revision = 1, .class_code = ops->pci_class, .bar_size = { VIRTIO_PCI_BAR_SIZE }, .intx = true,
    };
    if (vmm_pci_add(bus, &info, &d->pci_ops, d, &d->pci, e) < 0)
        return zerr_prefix(e, "virtio device %s", ops->name);   /* d was destroyed */
    /* the device stays on the bus (it owns d) if a capability fails: it
     * lacks what the driver needs, so the driver leaves it alone */
    if (add_caps(d, e) < 0)
        return zerr_prefix(e, "virtio device %s", ops->name);
    if (out)
        *out = d;
    return 0;
}
