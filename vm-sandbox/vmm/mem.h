/* Guest physical memory: one lazily backed host mapping split into at most
 * two guest ranges around the 32-bit MMIO hole (3 GiB .. 4 GiB). Every
 * access to guest memory from the monitor goes through vmm_mem_ptr(), which
 * refuses ranges that are not entirely inside one RAM range. No KVM here, so
 * the boot and virtqueue code can be unit-tested on plain memory. */
#ifndef ZONE_VMM_MEM_H
#define ZONE_VMM_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define VMM_MMIO_HOLE_START 0xC0000000ULL   /* 3 GiB: PCI/MMIO window, KVM TSS */
#define VMM_HIGH_RAM_START  0x100000000ULL  /* RAM above the hole resumes at 4 GiB */
#define VMM_MEM_MIN         (32ULL << 20)
#define VMM_MEM_MAX         (1ULL << 40)

struct vmm_mem_range {
    uint64_t gpa;     /* guest physical start */
    uint64_t size;
    uint8_t *host;    /* host address of gpa */
};

struct vmm_mem {
    uint8_t *base;    /* the whole mapping (munmap'ed by vmm_mem_free) */
    uint64_t size;    /* total RAM bytes */
    unsigned nranges;
    struct vmm_mem_range ranges[2];
};

/* Maps size bytes (MAP_NORESERVE: pages are backed when touched) and lays
 * them out around the hole. size must be a multiple of 2 MiB. */
int vmm_mem_alloc(struct vmm_mem *m, uint64_t size, struct zerr *e);

/* Lays out caller-provided memory (unit tests); m does not own it. */
int vmm_mem_init_buffer(struct vmm_mem *m, void *buf, uint64_t size, struct zerr *e);

void vmm_mem_free(struct vmm_mem *m);

/* Host pointer for [gpa, gpa+len) or NULL when any byte of it is not RAM
 * or the range wraps. len 0 is refused too. */
void *vmm_mem_ptr(const struct vmm_mem *m, uint64_t gpa, uint64_t len);

/* End of RAM below the hole (the low range's end). */
uint64_t vmm_mem_low_end(const struct vmm_mem *m);

#endif
