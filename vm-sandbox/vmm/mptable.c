/* MP tables (mptable.h); layouts from the Intel MP Specification 1.4,
 * chapter 4. */
#include "vm-sandbox/vmm/mptable.h"

#include <errno.h>
#include <string.h>

#define MP_PROCESSOR 0
#define MP_BUS       1
#define MP_IOAPIC    2
#define MP_INTSRC    3
#define MP_LINTSRC   4
#define MP_INT       0
#define MP_NMI       1
#define MP_EXTINT    3
#define MP_LEVEL_HIGH 0x0d   /* polarity active high (01), trigger level (11) */
#define MP_CONFIG_MAX 0x4000 /* plenty for 64 CPUs and every PCI slot */

struct writer {
    uint8_t *p;
    size_t len, cap;
    uint16_t entries;
};

static void put(struct writer *w, const void *data, size_t len)
{
    if (w->len + len <= w->cap)
        memcpy(w->p + w->len, data, len);
    w->len += len;
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return (uint8_t)-sum;
}

static void entry8(struct writer *w, uint8_t type, uint8_t a, uint16_t b, uint8_t c, uint8_t d,
                   uint8_t f, uint8_t g)
{
    uint8_t ent[8] = { type, a, (uint8_t)b, (uint8_t)(b >> 8), c, d, f, g };
    put(w, ent, sizeof ent);
    w->entries++;
}

int vmm_mptable_write(struct vmm_mem *m, unsigned ncpus, const struct vmm_mp_pci_irq *pci,
                      unsigned npci, struct zerr *e)
{
    if (ncpus == 0 || ncpus > VMM_MPTABLE_MAX_CPUS)
        return zerr_set(e, EINVAL, "MP table: %u CPUs (1..%d supported)", ncpus, VMM_MPTABLE_MAX_CPUS);
    uint8_t *fl = vmm_mem_ptr(m, VMM_MPTABLE_FLOAT, 16);
    uint8_t *cfg = vmm_mem_ptr(m, VMM_MPTABLE_CONFIG, MP_CONFIG_MAX);
    if (!fl || !cfg)
        return zerr_set(e, EINVAL, "MP table: guest memory too small");
    struct writer w = { .p = cfg, .cap = MP_CONFIG_MAX };
    uint8_t ioapic_id = (uint8_t)ncpus;
    uint8_t header[44] = { 'P', 'C', 'M', 'P' };
    header[6] = 4;                                  /* spec revision 1.4 */
    memcpy(header + 8, "ZONE    ", 8);              /* OEM id */
    memcpy(header + 16, "ZONE-VMM    ", 12);        /* product id */
    uint32_t lapic = VMM_LAPIC_ADDR;
    memcpy(header + 36, &lapic, 4);
    put(&w, header, sizeof header);

    for (unsigned i = 0; i < ncpus; i++) {
        uint8_t cpu[20] = { MP_PROCESSOR, (uint8_t)i, 0x14, (uint8_t)(i == 0 ? 3 : 1) };
        uint32_t signature = 0x600, features = 0x201;   /* family 6; FPU and APIC present */
        memcpy(cpu + 4, &signature, 4);
        memcpy(cpu + 8, &features, 4);
        put(&w, cpu, sizeof cpu);
        w.entries++;
    }
    uint8_t bus_pci[8] = { MP_BUS, VMM_MP_BUS_PCI, 'P', 'C', 'I', ' ', ' ', ' ' };
    uint8_t bus_isa[8] = { MP_BUS, VMM_MP_BUS_ISA, 'I', 'S', 'A', ' ', ' ', ' ' };
    put(&w, bus_pci, 8);
    put(&w, bus_isa, 8);
    w.entries += 2;
    uint8_t ioapic[8] = { MP_IOAPIC, ioapic_id, 0x11, 1 };
    uint32_t ioapic_addr = VMM_IOAPIC_ADDR;
    memcpy(ioapic + 4, &ioapic_addr, 4);
    put(&w, ioapic, 8);
    w.entries++;
    /* ISA IRQ n on IOAPIC pin n, as KVM's default GSI routing has it */
    for (unsigned irq = 0; irq < 16; irq++)
        entry8(&w, MP_INTSRC, MP_INT, 0, VMM_MP_BUS_ISA, (uint8_t)irq, ioapic_id, (uint8_t)irq);
    for (unsigned i = 0; i < npci; i++) {
        if (pci[i].slot > 31 || pci[i].pin < 1 || pci[i].pin > 4 || pci[i].gsi >= VMM_IOAPIC_PINS)
            return zerr_set(e, EINVAL, "MP table: PCI route %u: slot %u pin %u gsi %u out of range", i,
                            pci[i].slot, pci[i].pin, pci[i].gsi);
        entry8(&w, MP_INTSRC, MP_INT, MP_LEVEL_HIGH, VMM_MP_BUS_PCI,
               (uint8_t)(pci[i].slot << 2 | (pci[i].pin - 1)), ioapic_id, pci[i].gsi);
    }
    entry8(&w, MP_LINTSRC, MP_EXTINT, 0, VMM_MP_BUS_ISA, 0, 0xff, 0);
    entry8(&w, MP_LINTSRC, MP_NMI, 0, VMM_MP_BUS_ISA, 0, 0xff, 1);
    if (w.len > w.cap)
        return zerr_set(e, E2BIG, "MP table: %zu bytes do not fit in %d", w.len, MP_CONFIG_MAX);

    uint16_t len16 = (uint16_t)w.len;
    memcpy(cfg + 4, &len16, 2);
    memcpy(cfg + 34, &w.entries, 2);
    cfg[7] = checksum(cfg, w.len);

    memset(fl, 0, 16);
    memcpy(fl, "_MP_", 4);
    uint32_t phys = VMM_MPTABLE_CONFIG;
    memcpy(fl + 4, &phys, 4);
    fl[8] = 1;       /* length in 16-byte units */
    fl[9] = 4;       /* spec revision */
    fl[10] = checksum(fl, 16);
    return 0;
}
