/* Guest memory layout and bounds-checked translation (see mem.h). */
#include "vm-sandbox/vmm/mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

static int layout(struct vmm_mem *m, uint8_t *base, uint64_t size, struct zerr *e)
{
    if (size < VMM_MEM_MIN || size > VMM_MEM_MAX || size % (2ULL << 20))
        return zerr_set(e, EINVAL, "guest memory: %llu bytes: need a multiple of 2 MiB between %llu MiB and %llu GiB",
                        (unsigned long long)size, VMM_MEM_MIN >> 20, VMM_MEM_MAX >> 30);
    memset(m, 0, sizeof *m);
    m->base = base;
    m->size = size;
    uint64_t low = size < VMM_MMIO_HOLE_START ? size : VMM_MMIO_HOLE_START;
    m->ranges[0] = (struct vmm_mem_range){ .gpa = 0, .size = low, .host = base };
    m->nranges = 1;
    if (size > low) {
        m->ranges[1] = (struct vmm_mem_range){ .gpa = VMM_HIGH_RAM_START, .size = size - low,
                                               .host = base + low };
        m->nranges = 2;
    }
    return 0;
}

int vmm_mem_alloc(struct vmm_mem *m, uint64_t size, struct zerr *e)
{
    memset(m, 0, sizeof *m);
    if (layout(m, NULL, size, e) < 0)
        return -1;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return zerr_sys(e, "guest memory: mmap %llu MiB", (unsigned long long)(size >> 20));
    return layout(m, p, size, e);
}

int vmm_mem_init_buffer(struct vmm_mem *m, void *buf, uint64_t size, struct zerr *e)
{
    if (layout(m, buf, size, e) < 0)
        return -1;
    m->base = NULL; /* not ours to unmap */
    m->ranges[0].host = buf;
    if (m->nranges == 2)
        m->ranges[1].host = (uint8_t *)buf + m->ranges[0].size;
    return 0;
}

void vmm_mem_free(struct vmm_mem *m)
{
    if (m->base)
        munmap(m->base, m->size);
    memset(m, 0, sizeof *m);
}

void *vmm_mem_ptr(const struct vmm_mem *m, uint64_t gpa, uint64_t len)
{
    if (len == 0 || gpa + len < gpa)
        return NULL;
    for (unsigned i = 0; i < m->nranges; i++) {
        const struct vmm_mem_range *r = &m->ranges[i];
        if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa))
            return r->host + (gpa - r->gpa);
    }
    return NULL;
}

uint64_t vmm_mem_low_end(const struct vmm_mem *m)
{
    return m->ranges[0].size;
}
