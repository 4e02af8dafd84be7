/* A conventional PCI bus 0 behind a host bridge at 00:00.0, reached with
 * configuration mechanism #1 (address latch at port 0xcf8, data at
 * 0xcfc..0xcff), as Linux probes it with no firmware tables. Port 0xcf9
 * (reset control) is answered here too: setting its CPU-reset bit stops
 * the VM, as on a PC.
 *
 * Devices take slots 1..31, function 0 only. Each has a 256-byte config
 * space image with a per-byte write mask, up to six 32-bit memory BARs
 * (assigned at add time from the MMIO window, as firmware would, and
 * re-programmable by the guest: accesses are routed by the BARs' current
 * values while memory decoding is on), a capability list, and INTA routed
 * to IOAPIC pin 16 + (slot - 1) % 8 (level, active high; the MP table says
 * so, see vmm_pci_routes). A line shared by several slots is the OR of
 * their levels.
 *
 * No KVM here: the bus talks to the VM through struct vmm_pci_platform,
 * so unit tests drive it with vmm_pci_io on plain memory. */
#ifndef ZONE_VMM_PCI_H
#define ZONE_VMM_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "vm-sandbox/vmm/mem.h"
#include "vm-sandbox/vmm/mptable.h"
#include "vm-sandbox/vmm/vmm.h"

#define VMM_PCI_CONFIG_PORT   0xcf8       /* 8 ports: 0xcf8..0xcff */
#define VMM_PCI_CONFIG_PORTS  8
#define VMM_PCI_RESET_PORT    0xcf9
/* BARs live in the hole below 4 GiB, well away from the IOAPIC
 * (0xfec00000), the LAPIC (0xfee00000) and KVM's TSS and identity map
 * (0xfffbc000): [3 GiB, 3.5 GiB). The whole hole up to the IOAPIC is
 * routed to the bus so the guest may move BARs within it. */
#define VMM_PCI_MMIO_BASE     VMM_MMIO_HOLE_START
#define VMM_PCI_MMIO_ALLOC_END 0xe0000000ULL
#define VMM_PCI_MMIO_END      0xfec00000ULL
#define VMM_PCI_SLOTS         32
#define VMM_PCI_FIRST_GSI     16
#define VMM_PCI_GSIS          8
#define VMM_PCI_BARS          6
#define VMM_PCI_CFG_SIZE      256
#define VMM_PCI_CAP_START     0x40

/* config space offsets and bits (PCI Local Bus 3.0, chapter 6) */
#define PCI_VENDOR_ID      0x00
#define PCI_DEVICE_ID      0x02
#define PCI_COMMAND        0x04
#define PCI_STATUS         0x06
#define PCI_REVISION_ID    0x08
#define PCI_CLASS_PROG     0x09
#define PCI_HEADER_TYPE    0x0e
#define PCI_BAR0           0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID   0x2e
#define PCI_ROM_ADDRESS    0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN  0x3d
#define PCI_COMMAND_IO     0x0001
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS_INTERRUPT 0x0008
#define PCI_STATUS_CAP_LIST  0x0010
#define PCI_CAP_ID_VNDR    0x09

struct vmm_pci;
struct vmm_pci_dev;

/* How the bus reaches the machine; every hook may be NULL. */
struct vmm_pci_platform {
    void *ctx;
    int (*set_irq)(void *ctx, unsigned gsi, int level, struct zerr *e);
    void (*reset)(void *ctx, unsigned vcpu);                 /* 0xcf9 CPU reset */
    void (*report_error)(void *ctx, const char *device, const char *msg);
};

struct vmm_pci_dev_ops {
    const char *name;
    /* One access inside BAR bar; io->offset is from the BAR's start and
     * the access does not cross its end. Any thread. */
    int (*bar_io)(void *opaque, unsigned bar, struct vmm_io *io, struct zerr *e);
    /* Optional: device registers inside config space at off >= 0x40.
     * Return true when the access was handled (a read fills *value).
     * Called with the bus's config lock held, one at a time. */
    bool (*cfg_read)(void *opaque, unsigned off, unsigned len, uint32_t *value);
    bool (*cfg_write)(void *opaque, unsigned off, unsigned len, uint32_t value);
    void (*destroy)(void *opaque);
};

struct vmm_pci_dev_info {
    uint16_t vendor, device, subsystem_vendor, subsystem_id;
    uint8_t revision;
    uint32_t class_code;              /* base class, subclass, prog-if */
    uint32_t bar_size[VMM_PCI_BARS];  /* 0: absent; else a power of two >= 4096 */
    bool intx;                        /* raises INTA */
};

int vmm_pci_new(const struct vmm_pci_platform *p, struct vmm_pci **out, struct zerr *e);

/* Frees the bus and destroys every device on it. */
void vmm_pci_free(struct vmm_pci *bus);

/* Puts a device in the next free slot and assigns its BARs. The bus owns
 * opaque from now on (ops->destroy runs when the bus is freed, or at once
 * when adding fails). *out may be NULL. */
int vmm_pci_add(struct vmm_pci *bus, const struct vmm_pci_dev_info *info, const struct vmm_pci_dev_ops *ops,
                void *opaque, struct vmm_pci_dev **out, struct zerr *e);

/* Appends a capability of len bytes (cap[0] is its id; cap[1], the next
 * pointer, is filled in) to the device's list; *offset receives where it
 * went. writable[] (may be NULL) is the write mask for its bytes. Only
 * before the VM runs. */
int vmm_pci_add_cap(struct vmm_pci_dev *d, const uint8_t *cap, unsigned len, const uint8_t *writable,
                    unsigned *offset, struct zerr *e);

/* Drives the device's INTA (deduplicated; masked by COMMAND.INTX_DISABLE). */
int vmm_pci_set_irq(struct vmm_pci_dev *d, int level, struct zerr *e);

/* Records an error the device met outside an access (an I/O thread). */
void vmm_pci_report_error(struct vmm_pci_dev *d, const char *msg);

unsigned vmm_pci_dev_slot(const struct vmm_pci_dev *d);
unsigned vmm_pci_dev_gsi(const struct vmm_pci_dev *d);
const char *vmm_pci_dev_name(const struct vmm_pci_dev *d);

/* The BAR's current guest address (0 when absent). */
uint64_t vmm_pci_bar_addr(struct vmm_pci_dev *d, unsigned bar);

/* One guest access: ports 0xcf8..0xcff, or MMIO in
 * [VMM_PCI_MMIO_BASE, VMM_PCI_MMIO_END). io->addr is the absolute port
 * or address. Reads of nothing return all-ones. */
int vmm_pci_io(struct vmm_pci *bus, struct vmm_io *io, struct zerr *e);

/* The INTx routes for the MP table; returns how many (<= max). */
unsigned vmm_pci_routes(struct vmm_pci *bus, struct vmm_mp_pci_irq *out, unsigned max);

#endif
