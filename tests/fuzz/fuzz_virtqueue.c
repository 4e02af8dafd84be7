/* libFuzzer target for the split virtqueue walker (vm-sandbox/vmm/
 * virtqueue.c): each input is a guest's ring. Byte 0 picks the queue size
 * (1..256), byte 1 how many chains to take; the rest is copied over the
 * descriptor table and the avail ring (and whatever follows, where
 * indirect tables or buffers may point) in guest memory. Chains are
 * popped, read, written and completed as a device would. Besides crashes
 * and sanitizer reports it aborts when the walker hands out a buffer
 * outside guest memory or more than its limits.
 *
 *   make fuzz                      (all targets, FUZZ_SECONDS each)
 *   build/fuzz/fuzz_virtqueue CORPUS_DIR */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm-sandbox/vmm/virtqueue.h"

#define MEM_SIZE (32ULL << 20)
#define RING     0x1000ULL
#define USED     0x80000ULL
#define DIRTY    0x100000ULL      /* what an input can reach through the ring copy */

static uint8_t *mem_buf;
static struct vmm_mem mem;
static struct vmm_vq_chain chain;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zerr e;
    if (!mem_buf) {
        mem_buf = calloc(1, MEM_SIZE);
        if (!mem_buf || vmm_mem_init_buffer(&mem, mem_buf, MEM_SIZE, &e) < 0)
            abort();
    }
    if (size < 2)
        return 0;
    uint16_t qsize = (uint16_t)(1u << (data[0] % 9));
    unsigned rounds = data[1] % 64 + 1;
    data += 2;
    size -= 2;
    if (size > DIRTY - RING)
        size = DIRTY - RING;
    memset(mem_buf, 0, DIRTY);
    memcpy(mem_buf + RING, data, size);
    uint64_t avail = RING + 16ULL * qsize;
    struct vmm_vq vq;
    if (vmm_vq_init(&vq, &mem, qsize, RING, avail, USED, &e) < 0)
        abort();      /* these addresses are always valid */
    static uint8_t scratch[4096];
    for (unsigned r = 0; r < rounds; r++) {
        bool consumed;
        int got = vmm_vq_pop(&vq, &chain, &consumed, &e);
        if (got == 0)
            break;
        if (got < 0) {
            if (!consumed)
                break;
            if (vmm_vq_push(&vq, chain.head, 0, &e) < 0)
                abort();
            continue;
        }
        if (chain.head >= qsize || chain.nbufs > VMM_VQ_MAX_BUFS || chain.nreadable > chain.nbufs ||
            chain.readable_bytes > VMM_VQ_MAX_BYTES || chain.writable_bytes > VMM_VQ_MAX_BYTES)
            abort();
        for (unsigned i = 0; i < chain.nbufs; i++) {
            const struct vmm_vq_buf *b = &chain.bufs[i];
            if (b->len && (b->host < mem_buf || b->host + b->len > mem_buf + MEM_SIZE))
                abort();
            if (b->writable != (i >= chain.nreadable))
                abort();
        }
        if (r == 1) {
            vmm_vq_unpop(&vq);      /* a device giving one back: the next pop takes it again */
            continue;
        }
        vmm_vq_read(&chain, r, scratch, sizeof scratch);
        memset(scratch, 0xa5, sizeof scratch);
        uint64_t wrote = vmm_vq_write(&chain, r, scratch, sizeof scratch);
        if (wrote > chain.writable_bytes)
            abort();
        if (vmm_vq_push(&vq, chain.head, (uint32_t)wrote, &e) < 0)
            abort();
    }
    vmm_vq_should_interrupt(&vq);
    return 0;
}
