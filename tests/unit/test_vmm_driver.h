/* A minimal virtio-pci "guest driver" for unit tests: drives a PCI bus
 * through vmm_pci_io (config mechanism #1 and MMIO in the BAR) and lays
 * out split rings in plain memory from vmm_mem_init_buffer, as Linux's
 * virtio_pci would. Header-only; included by the test_vmm_* files. */
#ifndef ZONE_TEST_VMM_DRIVER_H
#define ZONE_TEST_VMM_DRIVER_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vm-sandbox/vmm/iothread.h"
#include "vm-sandbox/vmm/pci.h"
#include "vm-sandbox/vmm/virtio_pci.h"

#define TD_MEM_SIZE   (32ULL << 20)
#define TD_RINGS      0x100000ULL     /* queue q's rings at TD_RINGS + q * 0x10000 */
#define TD_DATA       0x800000ULL     /* buffers from here */

struct td_queue {
    uint16_t size;
    uint64_t desc, avail, used;
    uint16_t avail_idx, used_seen, next_desc;
};

struct td {
    uint8_t *buf;
    struct vmm_mem mem;
    struct vmm_pci *bus;
    struct vmm_virtio_dev *vdev;
    unsigned slot;
    uint64_t bar;
    pthread_mutex_t lock;
    int irq[32];                  /* last level per GSI */
    unsigned irq_changes;
    unsigned resets;
    struct td_queue q[8];
    uint64_t next_data;
};

static inline int td_set_irq(void *ctx, unsigned gsi, int level, struct zerr *e)
{
    struct td *t = ctx;
    (void)e;
    pthread_mutex_lock(&t->lock);
    if (gsi < 32)
        t->irq[gsi] = level;
    t->irq_changes++;
    pthread_mutex_unlock(&t->lock);
    return 0;
}

static inline void td_reset_cb(void *ctx, unsigned vcpu)
{
    (void)vcpu;
    ((struct td *)ctx)->resets++;
}

static inline int td_irq(struct td *t, unsigned gsi)
{
    pthread_mutex_lock(&t->lock);
    int l = t->irq[gsi];
    pthread_mutex_unlock(&t->lock);
    return l;
}

static inline struct td *td_new(void)
{
    struct td *t = calloc(1, sizeof *t);
    struct zerr e;
    t->buf = calloc(1, TD_MEM_SIZE);
    pthread_mutex_init(&t->lock, NULL);
    if (vmm_mem_init_buffer(&t->mem, t->buf, TD_MEM_SIZE, &e) < 0)
        abort();
    struct vmm_pci_platform p = { .ctx = t, .set_irq = td_set_irq, .reset = td_reset_cb };
    if (vmm_pci_new(&p, &t->bus, &e) < 0)
        abort();
    t->next_data = TD_DATA;
    return t;
}

static inline void td_free(struct td *t)
{
    vmm_pci_free(t->bus);
    pthread_mutex_destroy(&t->lock);
    free(t->buf);
    free(t);
}

static inline uint32_t td_pio(struct td *t, uint16_t port, unsigned len, int write, uint32_t v, int *r)
{
    struct vmm_io io = { .space = VMM_SPACE_PIO, .addr = port, .len = len, .write = write };
    struct zerr e = { 0 };
    memcpy(io.data, &v, 4);
    int rr = vmm_pci_io(t->bus, &io, &e);
    if (r)
        *r = rr;
    uint32_t out = 0;
    memcpy(&out, io.data, len);
    return out;
}

static inline uint32_t td_cfg_read(struct td *t, unsigned bus, unsigned slot, unsigned fn, unsigned off, unsigned len)
{
    td_pio(t, 0xcf8, 4, 1, 0x80000000u | bus << 16 | slot << 11 | fn << 8 | (off & 0xfc), NULL);
    return td_pio(t, (uint16_t)(0xcfc + (off & 3)), len, 0, 0, NULL);
}

static inline void td_cfg_write(struct td *t, unsigned slot, unsigned off, unsigned len, uint32_t v)
{
    td_pio(t, 0xcf8, 4, 1, 0x80000000u | slot << 11 | (off & 0xfc), NULL);
    td_pio(t, (uint16_t)(0xcfc + (off & 3)), len, 1, v, NULL);
}

static inline uint64_t td_mmio(struct td *t, uint64_t addr, unsigned len, int write, uint64_t v, int *r)
{
    struct vmm_io io = { .space = VMM_SPACE_MMIO, .addr = addr, .len = len, .write = write };
    struct zerr e = { 0 };
    memcpy(io.data, &v, 8);
    int rr = vmm_pci_io(t->bus, &io, &e);
    if (r)
        *r = rr;
    uint64_t out = 0;
    memcpy(&out, io.data, len);
    return out;
}

static inline uint64_t td_common_read(struct td *t, unsigned off, unsigned len)
{
    return td_mmio(t, t->bar + VIRTIO_PCI_COMMON_OFF + off, len, 0, 0, NULL);
}

static inline int td_common_write(struct td *t, unsigned off, unsigned len, uint64_t v)
{
    int r;
    td_mmio(t, t->bar + VIRTIO_PCI_COMMON_OFF + off, len, 1, v, &r);
    return r;
}

/* Adds the backend on slot 1 and finds its BAR. */
static inline struct vmm_virtio_dev *td_add(struct td *t, struct vmm_virtio_backend b)
{
    struct zerr e = { 0 };
    if (vmm_virtio_pci_new(t->bus, &t->mem, b, &t->vdev, &e) < 0)
        return NULL;
    t->slot = vmm_pci_dev_slot(vmm_virtio_pci_dev(t->vdev));
    t->bar = td_cfg_read(t, 0, t->slot, 0, 0x10, 4) & ~0xfu;
    return t->vdev;
}

/* Negotiates features, sets up nq queues of their largest size, and sets
 * DRIVER_OK; returns the status read back. */
static inline uint8_t td_driver_ok(struct td *t, uint64_t features, unsigned nq)
{
    td_common_write(t, VIRTIO_PCI_COMMON_STATUS, 1, 0);
    td_common_write(t, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    td_common_write(t, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    td_common_write(t, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)features);
    td_common_write(t, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    td_common_write(t, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)(features >> 32));
    td_common_write(t, VIRTIO_PCI_COMMON_STATUS, 1,
                    VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    if (!(td_common_read(t, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK))
        return (uint8_t)td_common_read(t, VIRTIO_PCI_COMMON_STATUS, 1);
    for (unsigned q = 0; q < nq; q++) {
        struct td_queue *tq = &t->q[q];
        td_common_write(t, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
        tq->size = (uint16_t)td_common_read(t, VIRTIO_PCI_COMMON_Q_SIZE, 2);
        tq->desc = TD_RINGS + q * 0x10000ULL;
        tq->avail = tq->desc + 0x4000;
        tq->used = tq->desc + 0x8000;
        tq->avail_idx = tq->used_seen = tq->next_desc = 0;
        memset(t->buf + tq->desc, 0, 0x10000);
        /* 64-bit addresses as two 32-bit halves, low first, as Linux does */
        td_common_write(t, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)tq->desc);
        td_common_write(t, VIRTIO_PCI_COMMON_Q_DESCLO + 4, 4, (uint32_t)(tq->desc >> 32));
        td_common_write(t, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)tq->avail);
        td_common_write(t, VIRTIO_PCI_COMMON_Q_AVAILLO + 4, 4, 0);
        td_common_write(t, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)tq->used);
        td_common_write(t, VIRTIO_PCI_COMMON_Q_USEDLO + 4, 4, 0);
        td_common_write(t, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    }
    td_common_write(t, VIRTIO_PCI_COMMON_STATUS, 1,
                    VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                        VIRTIO_STATUS_DRIVER_OK);
    return (uint8_t)td_common_read(t, VIRTIO_PCI_COMMON_STATUS, 1);
}

/* Guest memory for a buffer; filled with data when given. */
static inline uint64_t td_alloc(struct td *t, const void *data, uint32_t len)
{
    uint64_t gpa = t->next_data;
    t->next_data += (len + 15) & ~15u;
    if (data)
        memcpy(t->buf + gpa, data, len);
    else
        memset(t->buf + gpa, 0, len);
    return gpa;
}

struct td_buf {
    uint64_t gpa;
    uint32_t len;
    int writable;
};

/* Puts a chain of n buffers in queue q's avail ring; returns the head. */
static inline uint16_t td_offer(struct td *t, unsigned q, const struct td_buf *bufs, unsigned n)
{
    struct td_queue *tq = &t->q[q];
    uint16_t head = tq->next_desc;
    for (unsigned i = 0; i < n; i++) {
        uint16_t idx = (uint16_t)((head + i) % tq->size), next = (uint16_t)((head + i + 1) % tq->size);
        uint8_t *d = t->buf + tq->desc + 16 * idx;
        uint16_t flags = (uint16_t)((bufs[i].writable ? 2 : 0) | (i + 1 < n ? 1 : 0));
        memcpy(d, &bufs[i].gpa, 8);
        memcpy(d + 8, &bufs[i].len, 4);
        memcpy(d + 12, &flags, 2);
        memcpy(d + 14, &next, 2);
    }
    tq->next_desc = (uint16_t)((head + n) % tq->size);
    memcpy(t->buf + tq->avail + 4 + 2 * (tq->avail_idx % tq->size), &head, 2);
    tq->avail_idx++;
    __atomic_store_n((uint16_t *)(t->buf + tq->avail + 2), tq->avail_idx, __ATOMIC_RELEASE);
    return head;
}

static inline int td_kick(struct td *t, unsigned q)
{
    int r;
    td_mmio(t, t->bar + VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * q, 2, 1, q, &r);
    return r;
}

static inline uint16_t td_used_idx(struct td *t, unsigned q)
{
    return __atomic_load_n((uint16_t *)(t->buf + t->q[q].used + 2), __ATOMIC_ACQUIRE);
}

/* Waits (up to ms) for a used element not seen yet; 1 with id/len, 0 on timeout. */
static inline int td_wait_used(struct td *t, unsigned q, uint32_t *id, uint32_t *len, int ms)
{
    struct td_queue *tq = &t->q[q];
    for (int waited = 0; td_used_idx(t, q) == tq->used_seen; waited++) {
        if (waited >= ms)
            return 0;
        usleep(1000);
    }
    const uint8_t *elem = t->buf + tq->used + 4 + 8 * (tq->used_seen % tq->size);
    memcpy(id, elem, 4);
    memcpy(len, elem + 4, 4);
    tq->used_seen++;
    return 1;
}

static inline uint8_t td_isr(struct td *t)
{
    return (uint8_t)td_mmio(t, t->bar + VIRTIO_PCI_ISR_OFF, 1, 0, 0, NULL);
}

#endif
