/* The modern (virtio 1.x, "4.1 Virtio Over PCI Bus") virtio-pci transport:
 * vendor 0x1af4, device 0x1040 + type, revision 1, no legacy interface.
 * One 16 KiB memory BAR 0 holds the structures the vendor capabilities
 * point at:
 *
 *   0x0000  common configuration (56 bytes)
 *   0x1000  ISR status (1 byte; reading it clears it and lowers INTx)
 *   0x2000  device-specific configuration (the backend's)
 *   0x3000  notifications: queue n at 0x3000 + 4 n (multiplier 4)
 *
 * plus a VIRTIO_PCI_CAP_PCI_CFG window into the BAR through config space.
 * Interrupts are INTA, level-triggered: raised when the device uses
 * buffers (ISR bit 0) or changes its config (bit 1), lowered when the
 * driver reads ISR. No MSI-X: the config and queue vector registers read
 * VIRTIO_MSI_NO_VECTOR. */
#ifndef ZONE_VMM_VIRTIO_PCI_H
#define ZONE_VMM_VIRTIO_PCI_H

#include "vm-sandbox/vmm/pci.h"
#include "vm-sandbox/vmm/virtio.h"

#define VIRTIO_PCI_VENDOR        0x1af4
#define VIRTIO_PCI_DEVICE_BASE   0x1040
#define VIRTIO_PCI_BAR_SIZE      0x4000
#define VIRTIO_PCI_COMMON_OFF    0x0000
#define VIRTIO_PCI_COMMON_LEN    0x38
#define VIRTIO_PCI_ISR_OFF       0x1000
#define VIRTIO_PCI_DEVICE_OFF    0x2000
#define VIRTIO_PCI_NOTIFY_OFF    0x3000
#define VIRTIO_PCI_NOTIFY_MULT   4

#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5

/* common configuration layout */
#define VIRTIO_PCI_COMMON_DFSELECT   0x00
#define VIRTIO_PCI_COMMON_DF         0x04
#define VIRTIO_PCI_COMMON_GFSELECT   0x08
#define VIRTIO_PCI_COMMON_GF         0x0c
#define VIRTIO_PCI_COMMON_MSIX       0x10
#define VIRTIO_PCI_COMMON_NUMQ       0x12
#define VIRTIO_PCI_COMMON_STATUS     0x14
#define VIRTIO_PCI_COMMON_CFGGENERATION 0x15
#define VIRTIO_PCI_COMMON_Q_SELECT   0x16
#define VIRTIO_PCI_COMMON_Q_SIZE     0x18
#define VIRTIO_PCI_COMMON_Q_MSIX     0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE   0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF     0x1e
#define VIRTIO_PCI_COMMON_Q_DESCLO   0x20
#define VIRTIO_PCI_COMMON_Q_AVAILLO  0x28
#define VIRTIO_PCI_COMMON_Q_USEDLO   0x30
#define VIRTIO_MSI_NO_VECTOR         0xffff

#define VIRTIO_PCI_ISR_QUEUE  1
#define VIRTIO_PCI_ISR_CONFIG 2

/* Puts the backend on bus as a virtio-pci device; the bus owns both from
 * now on (the backend is destroyed at once if this fails). *out may be
 * NULL. */
int vmm_virtio_pci_new(struct vmm_pci *bus, const struct vmm_mem *mem, struct vmm_virtio_backend b,
                       struct vmm_virtio_dev **out, struct zerr *e);

/* For tests and diagnostics. */
struct vmm_pci_dev *vmm_virtio_pci_dev(struct vmm_virtio_dev *d);
uint8_t vmm_virtio_status(struct vmm_virtio_dev *d);
unsigned long vmm_virtio_errors(struct vmm_virtio_dev *d, char *last, unsigned last_size);

#endif
