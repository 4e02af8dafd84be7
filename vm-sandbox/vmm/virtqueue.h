/* Split virtqueues (virtio 1.x, "Split Virtqueues"), device side. The
 * guest owns the rings and may write anything into them at any time, so
 * every descriptor is copied out before it is checked, every buffer is
 * translated through vmm_mem_ptr (entirely inside guest RAM or refused),
 * chains longer than the queue (loops), nested indirect tables, readable
 * buffers after writable ones, INDIRECT together with NEXT and oversize
 * totals are refused with an error value. The device then completes the
 * chain with length 0 and goes on; the monitor never trusts or dies on a
 * ring. */
#ifndef ZONE_VMM_VIRTQUEUE_H
#define ZONE_VMM_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "vm-sandbox/vmm/mem.h"

#define VMM_VQ_MAX_SIZE    32768
#define VMM_VQ_MAX_BUFS    256                /* buffers in one chain */
#define VMM_VQ_MAX_BYTES   (64u << 20)        /* bytes in one chain */

#define VMM_VRING_DESC_F_NEXT     1
#define VMM_VRING_DESC_F_WRITE    2
#define VMM_VRING_DESC_F_INDIRECT 4
#define VMM_VRING_AVAIL_F_NO_INTERRUPT 1

struct vmm_vq {
    const struct vmm_mem *mem;
    uint16_t size;
    uint64_t desc_gpa, avail_gpa, used_gpa;
    uint16_t last_avail;     /* next avail ring slot to consume */
    uint16_t used_idx;       /* our copy of used->idx */
    bool ready;
};

struct vmm_vq_buf {
    uint8_t *host;           /* inside guest memory; NULL when len is 0 */
    uint32_t len;
    bool writable;           /* device writes into it */
};

struct vmm_vq_chain {
    uint16_t head;
    unsigned nbufs;
    unsigned nreadable;      /* bufs[0..nreadable) are device-readable, the rest writable */
    uint64_t readable_bytes, writable_bytes;
    struct vmm_vq_buf bufs[VMM_VQ_MAX_BUFS];
};

/* Checks and records the ring addresses; size a power of two <= 32768. */
int vmm_vq_init(struct vmm_vq *vq, const struct vmm_mem *mem, uint16_t size, uint64_t desc_gpa,
                uint64_t avail_gpa, uint64_t used_gpa, struct zerr *e);

/* Takes the next available chain: 1 with *chain filled, 0 when none is
 * available, -1 when the ring or the chain is malformed. After -1 with
 * chain->head set (*consumed true) the head was taken from the ring and
 * the caller should vmm_vq_push(head, 0) it. */
int vmm_vq_pop(struct vmm_vq *vq, struct vmm_vq_chain *chain, bool *consumed, struct zerr *e);

/* Gives back the chain the last successful vmm_vq_pop took, before it was
 * pushed: for a device that found it had nothing to put in it. */
void vmm_vq_unpop(struct vmm_vq *vq);

/* Puts head into the used ring with the number of bytes written. */
int vmm_vq_push(struct vmm_vq *vq, uint16_t head, uint32_t written, struct zerr *e);

/* Whether the driver wants an interrupt now (VRING_AVAIL_F_NO_INTERRUPT). */
bool vmm_vq_should_interrupt(const struct vmm_vq *vq);

/* Copies up to len bytes out of the chain's readable buffers starting at
 * byte off; returns the count copied. */
uint64_t vmm_vq_read(const struct vmm_vq_chain *chain, uint64_t off, void *dst, uint64_t len);

/* Copies into the writable buffers starting at byte off; returns the count. */
uint64_t vmm_vq_write(const struct vmm_vq_chain *chain, uint64_t off, const void *src, uint64_t len);

#endif
