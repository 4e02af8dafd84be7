/* Intel MultiProcessor Specification 1.4 tables: how an ACPI-less Linux
 * guest learns its CPUs (one LAPIC each), the IOAPIC, and which IOAPIC pin
 * each ISA and PCI interrupt arrives on. Without them Linux boots one CPU in
 * PIC virtual-wire mode. The floating pointer goes to the EBDA (0x9fc00),
 * the configuration table to 0xf0000; both lie in e820-reserved memory. */
#ifndef ZONE_VMM_MPTABLE_H
#define ZONE_VMM_MPTABLE_H

#include <stdint.h>

#include "core/error.h"
#include "vm-sandbox/vmm/mem.h"

#define VMM_MPTABLE_FLOAT   0x9fc00ULL
#define VMM_MPTABLE_CONFIG  0xf0000ULL
#define VMM_MPTABLE_MAX_CPUS 64
#define VMM_IOAPIC_ADDR     0xfec00000u
#define VMM_LAPIC_ADDR      0xfee00000u
#define VMM_IOAPIC_PINS     24
#define VMM_MP_BUS_PCI      0
#define VMM_MP_BUS_ISA      1

/* One PCI INTx routed to an IOAPIC pin (level-triggered, active high). */
struct vmm_mp_pci_irq {
    uint8_t slot;   /* PCI device number on bus 0 */
    uint8_t pin;    /* 1 = INTA .. 4 = INTD */
    uint8_t gsi;    /* IOAPIC pin */
};

/* Writes the tables for ncpus CPUs (APIC ids 0..ncpus-1; the IOAPIC gets id
 * ncpus), ISA IRQs 0-15 on pins 0-15, and the given PCI routes. */
int vmm_mptable_write(struct vmm_mem *m, unsigned ncpus, const struct vmm_mp_pci_irq *pci,
                      unsigned npci, struct zerr *e);

#endif
