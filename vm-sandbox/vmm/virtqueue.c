/* Split virtqueue walking (virtqueue.h). Layouts (virtio 1.x 2.7):
 *   descriptor: le64 addr, le32 len, le16 flags, le16 next      (16 bytes)
 *   avail ring: le16 flags, le16 idx, le16 ring[size], le16 used_event
 *   used ring:  le16 flags, le16 idx, {le32 id, le32 len}[size], le16 avail_event */
#include "vm-sandbox/vmm/virtqueue.h"

#include <errno.h>
#include <string.h>

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

static uint16_t load16(const void *p)
{
    return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

int vmm_vq_init(struct vmm_vq *vq, const struct vmm_mem *mem, uint16_t size, uint64_t desc_gpa,
                uint64_t avail_gpa, uint64_t used_gpa, struct zerr *e)
{
    memset(vq, 0, sizeof *vq);
    if (size == 0 || size > VMM_VQ_MAX_SIZE || (size & (size - 1)))
        return zerr_set(e, EINVAL, "virtqueue: size %u is not a power of two up to %d", size, VMM_VQ_MAX_SIZE);
    if ((desc_gpa & 15) || (avail_gpa & 1) || (used_gpa & 3))
        return zerr_set(e, EINVAL, "virtqueue: misaligned rings (desc 0x%llx, avail 0x%llx, used 0x%llx)",
                        (unsigned long long)desc_gpa, (unsigned long long)avail_gpa,
                        (unsigned long long)used_gpa);
    if (!vmm_mem_ptr(mem, desc_gpa, 16ULL * size) || !vmm_mem_ptr(mem, avail_gpa, 6 + 2ULL * size) ||
        !vmm_mem_ptr(mem, used_gpa, 6 + 8ULL * size))
        return zerr_set(e, EFAULT, "virtqueue: rings of size %u lie outside guest memory", size);
    vq->mem = mem;
    vq->size = size;
    vq->desc_gpa = desc_gpa;
    vq->avail_gpa = avail_gpa;
    vq->used_gpa = used_gpa;
    vq->ready = true;
    return 0;
}

static struct desc read_desc(const uint8_t *table, uint32_t i)
{
    struct desc d;
    memcpy(&d.addr, table + 16 * i, 8);
    memcpy(&d.len, table + 16 * i + 8, 4);
    memcpy(&d.flags, table + 16 * i + 12, 2);
    memcpy(&d.next, table + 16 * i + 14, 2);
    return d;
}

static int add_buf(const struct vmm_vq *vq, struct vmm_vq_chain *c, const struct desc *d, struct zerr *e)
{
    bool writable = d->flags & VMM_VRING_DESC_F_WRITE;
    if (c->nbufs == VMM_VQ_MAX_BUFS)
        return zerr_set(e, E2BIG, "virtqueue: chain %u has more than %d buffers", c->head, VMM_VQ_MAX_BUFS);
    if (!writable && c->nbufs > c->nreadable)
        return zerr_set(e, EINVAL, "virtqueue: chain %u: readable buffer after a writable one", c->head);
    uint64_t *total = writable ? &c->writable_bytes : &c->readable_bytes;
    if (d->len > VMM_VQ_MAX_BYTES - *total)
        return zerr_set(e, E2BIG, "virtqueue: chain %u is longer than %u bytes", c->head, VMM_VQ_MAX_BYTES);
    uint8_t *host = NULL;
    if (d->len) {
        host = vmm_mem_ptr(vq->mem, d->addr, d->len);
        if (!host)
            return zerr_set(e, EFAULT, "virtqueue: chain %u: buffer 0x%llx+%u is outside guest memory",
                            c->head, (unsigned long long)d->addr, d->len);
    }
    *total += d->len;
    c->bufs[c->nbufs++] = (struct vmm_vq_buf){ .host = host, .len = d->len, .writable = writable };
    if (!writable)
        c->nreadable++;
    return 0;
}

/* Walks an indirect table: its own chain, in its own index space. */
static int walk_indirect(const struct vmm_vq *vq, struct vmm_vq_chain *c, const struct desc *ind, struct zerr *e)
{
    if (ind->flags & VMM_VRING_DESC_F_NEXT)
        return zerr_set(e, EINVAL, "virtqueue: chain %u: INDIRECT descriptor with NEXT set", c->head);
    if (ind->len == 0 || ind->len % 16 || ind->len / 16 > VMM_VQ_MAX_SIZE)
        return zerr_set(e, EINVAL, "virtqueue: chain %u: indirect table length %u", c->head, ind->len);
    uint32_t n = ind->len / 16;
    const uint8_t *table = vmm_mem_ptr(vq->mem, ind->addr, ind->len);
    if (!table)
        return zerr_set(e, EFAULT, "virtqueue: chain %u: indirect table 0x%llx+%u is outside guest memory",
                        c->head, (unsigned long long)ind->addr, ind->len);
    uint32_t i = 0;
    for (uint32_t steps = 0;; steps++) {
        if (steps == n)
            return zerr_set(e, ELOOP, "virtqueue: chain %u: indirect table loops", c->head);
        struct desc d = read_desc(table, i);
        if (d.flags & VMM_VRING_DESC_F_INDIRECT)
            return zerr_set(e, EINVAL, "virtqueue: chain %u: indirect descriptor inside an indirect table", c->head);
        if (add_buf(vq, c, &d, e) < 0)
            return -1;
        if (!(d.flags & VMM_VRING_DESC_F_NEXT))
            return 0;
        if (d.next >= n)
            return zerr_set(e, EINVAL, "virtqueue: chain %u: indirect next %u is past the table's %u entries",
                            c->head, d.next, n);
        i = d.next;
    }
}

int vmm_vq_pop(struct vmm_vq *vq, struct vmm_vq_chain *chain, bool *consumed, struct zerr *e)
{
    *consumed = false;
    memset(chain, 0, offsetof(struct vmm_vq_chain, bufs));
    if (!vq->ready)
        return zerr_set(e, EINVAL, "virtqueue: not ready");
    const uint8_t *avail = vmm_mem_ptr(vq->mem, vq->avail_gpa, 6 + 2ULL * vq->size);
    const uint8_t *table = vmm_mem_ptr(vq->mem, vq->desc_gpa, 16ULL * vq->size);
    uint16_t avail_idx = load16(avail + 2);
    uint16_t pending = (uint16_t)(avail_idx - vq->last_avail);
    if (pending == 0)
        return 0;
    if (pending > vq->size)
        return zerr_set(e, EINVAL, "virtqueue: avail index %u is %u ahead of %u (queue size %u)", avail_idx,
                        pending, vq->last_avail, vq->size);
    uint16_t head = load16(avail + 4 + 2 * (vq->last_avail % vq->size));
    if (head >= vq->size)
        return zerr_set(e, EINVAL, "virtqueue: avail ring names descriptor %u of %u", head, vq->size);
    vq->last_avail++;
    *consumed = true;
    chain->head = head;

    uint16_t i = head;
    for (unsigned steps = 0;; steps++) {
        if (steps == vq->size)
            return zerr_set(e, ELOOP, "virtqueue: chain %u loops", head);
        struct desc d = read_desc(table, i);
        if (d.flags & VMM_VRING_DESC_F_INDIRECT) {
            if (chain->nbufs)
                return zerr_set(e, EINVAL, "virtqueue: chain %u: INDIRECT descriptor after direct ones", head);
            if (walk_indirect(vq, chain, &d, e) < 0)
                return -1;
            return 1;
        }
        if (add_buf(vq, chain, &d, e) < 0)
            return -1;
        if (!(d.flags & VMM_VRING_DESC_F_NEXT))
            return 1;
        if (d.next >= vq->size)
            return zerr_set(e, EINVAL, "virtqueue: chain %u: next %u is past the queue's %u descriptors", head,
                            d.next, vq->size);
        i = d.next;
    }
}

void vmm_vq_unpop(struct vmm_vq *vq)
{
    vq->last_avail--;
}

int vmm_vq_push(struct vmm_vq *vq, uint16_t head, uint32_t written, struct zerr *e)
{
    if (!vq->ready)
        return zerr_set(e, EINVAL, "virtqueue: not ready");
    if (head >= vq->size)
        return zerr_set(e, EINVAL, "virtqueue: cannot complete descriptor %u of %u", head, vq->size);
    uint8_t *used = vmm_mem_ptr(vq->mem, vq->used_gpa, 6 + 8ULL * vq->size);
    uint8_t *elem = used + 4 + 8 * (vq->used_idx % vq->size);
    uint32_t id = head;
    memcpy(elem, &id, 4);
    memcpy(elem + 4, &written, 4);
    vq->used_idx++;
    /* the element must be visible before the index that publishes it */
    __atomic_store_n((uint16_t *)(used + 2), vq->used_idx, __ATOMIC_RELEASE);
    return 0;
}

bool vmm_vq_should_interrupt(const struct vmm_vq *vq)
{
    const uint8_t *avail = vmm_mem_ptr(vq->mem, vq->avail_gpa, 2);
    return avail && !(load16(avail) & VMM_VRING_AVAIL_F_NO_INTERRUPT);
}

static uint64_t copy_chain(const struct vmm_vq_chain *c, bool writable, uint64_t off, uint8_t *out,
                           const uint8_t *in, uint64_t len)
{
    uint64_t done = 0;
    unsigned first = writable ? c->nreadable : 0, last = writable ? c->nbufs : c->nreadable;
    for (unsigned i = first; i < last && done < len; i++) {
        const struct vmm_vq_buf *b = &c->bufs[i];
        if (off >= b->len) {
            off -= b->len;
            continue;
        }
        uint64_t n = b->len - off;
        if (n > len - done)
            n = len - done;
        if (writable)
            memcpy(b->host + off, in + done, n);
        else
            memcpy(out + done, b->host + off, n);
        done += n;
        off = 0;
    }
    return done;
}

uint64_t vmm_vq_read(const struct vmm_vq_chain *chain, uint64_t off, void *dst, uint64_t len)
{
    return copy_chain(chain, false, off, dst, NULL, len);
}

uint64_t vmm_vq_write(const struct vmm_vq_chain *chain, uint64_t off, const void *src, uint64_t len)
{
    return copy_chain(chain, true, off, NULL, src, len);
}
