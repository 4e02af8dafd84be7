/* PCI bus 0, host bridge and configuration mechanism #1 (pci.h).
 *
 * Locks: cfg_lock guards the address latch and every device's config
 * space (so BAR values too); irq_lock guards interrupt levels. A BAR access
 * looks its target up under cfg_lock and calls the device without it, so
 * device code may take its own locks and raise interrupts freely. Order:
 * cfg_lock -> (device locks) -> irq_lock. */
#include "vm-sandbox/vmm/pci.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The host bridge: Red Hat's generic "QEMU PCIe host bridge" id, which no
 * Linux quirk matches; class 06/00/00 passes Linux's conf1 sanity check. */
#define HOST_VENDOR 0x1b36
#define HOST_DEVICE 0x0008
#define HOST_CLASS  0x060000

#define CONFIG_ENABLE 0x80000000u
#define RCR_SYS_RESET 0x02
#define RCR_CPU_RESET 0x04
#define RCR_FULL_RESET 0x08

struct vmm_pci_dev {
    struct vmm_pci *bus;
    const struct vmm_pci_dev_ops *ops;
    void *opaque;
    unsigned slot, gsi;
    uint8_t cfg[VMM_PCI_CFG_SIZE];
    uint8_t wmask[VMM_PCI_CFG_SIZE];
    uint32_t bar_size[VMM_PCI_BARS];
    uint8_t cap_end;          /* next free byte for a capability */
    uint8_t last_cap;         /* offset of the last capability, 0: none */
    bool intx;
    bool level;               /* the device's INTA (irq_lock) */
    bool intx_disabled;       /* COMMAND.INTX_DISABLE (irq_lock) */
};

struct vmm_pci {
    struct vmm_pci_platform plat;
    pthread_mutex_t cfg_lock, irq_lock;
    uint32_t latch;
    uint8_t rcr;
    struct vmm_pci_dev *slots[VMM_PCI_SLOTS];
    unsigned line_count[VMM_PCI_GSIS];   /* asserting devices per GSI (irq_lock) */
    uint64_t next_mmio;
};

static uint32_t get_le(const uint8_t *p, unsigned len)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < len; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static void put_le(uint8_t *p, unsigned len, uint32_t v)
{
    for (unsigned i = 0; i < len; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void host_destroy(void *opaque) { (void)opaque; }

static const struct vmm_pci_dev_ops host_ops = { .name = "pci-host-bridge", .destroy = host_destroy };

static void free_dev(struct vmm_pci_dev *d)
{
    if (d->ops->destroy)
        d->ops->destroy(d->opaque);
    free(d);
}

/* Fills the fixed part of a type 0 header. */
static struct vmm_pci_dev *new_dev(struct vmm_pci *bus, unsigned slot, const struct vmm_pci_dev_info *info,
                                   const struct vmm_pci_dev_ops *ops, void *opaque)
{
    struct vmm_pci_dev *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->bus = bus;
    d->ops = ops;
    d->opaque = opaque;
    d->slot = slot;
    d->gsi = VMM_PCI_FIRST_GSI + (slot ? (slot - 1) % VMM_PCI_GSIS : 0);
    d->intx = info->intx;
    d->cap_end = VMM_PCI_CAP_START;
    put_le(d->cfg + PCI_VENDOR_ID, 2, info->vendor);
    put_le(d->cfg + PCI_DEVICE_ID, 2, info->device);
    d->cfg[PCI_REVISION_ID] = info->revision;
    put_le(d->cfg + PCI_CLASS_PROG, 3, info->class_code);
    put_le(d->cfg + PCI_SUBSYSTEM_VENDOR_ID, 2, info->subsystem_vendor);
    put_le(d->cfg + PCI_SUBSYSTEM_ID, 2, info->subsystem_id);
    /* COMMAND: I/O, memory, bus master, INTx disable are writable */
    d->wmask[PCI_COMMAND] = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
    d->wmask[PCI_COMMAND + 1] = PCI_COMMAND_INTX_DISABLE >> 8;
    d->wmask[0x0c] = 0xff;   /* cache line size */
    d->wmask[0x0d] = 0xff;   /* latency timer */
    d->wmask[PCI_INTERRUPT_LINE] = 0xff;
    if (info->intx) {
        d->cfg[PCI_INTERRUPT_LINE] = (uint8_t)d->gsi;
        d->cfg[PCI_INTERRUPT_PIN] = 1;
    }
    return d;
}

int vmm_pci_new(const struct vmm_pci_platform *p, struct vmm_pci **out, struct zerr *e)
{
    *out = NULL;
    struct vmm_pci *bus = calloc(1, sizeof *bus);
    if (!bus)
        return zerr_set(e, ENOMEM, "pci: out of memory");
    if (p)
        bus->plat = *p;
    pthread_mutex_init(&bus->cfg_lock, NULL);
    pthread_mutex_init(&bus->irq_lock, NULL);
    bus->next_mmio = VMM_PCI_MMIO_BASE;
    struct vmm_pci_dev_info host = { .vendor = HOST_VENDOR, .device = HOST_DEVICE,
                                     .subsystem_vendor = HOST_VENDOR, .subsystem_id = 0x1100,
                                     .class_code = HOST_CLASS };
    bus->slots[0] = new_dev(bus, 0, &host, &host_ops, NULL);
    if (!bus->slots[0]) {
        vmm_pci_free(bus);
        return zerr_set(e, ENOMEM, "pci: out of memory");
    }
    bus->slots[0]->cfg[PCI_COMMAND] = PCI_COMMAND_MEMORY;
    *out = bus;
    return 0;
}

void vmm_pci_free(struct vmm_pci *bus)
{
    if (!bus)
        return;
    for (unsigned i = VMM_PCI_SLOTS; i-- > 0;)
        if (bus->slots[i])
            free_dev(bus->slots[i]);
    pthread_mutex_destroy(&bus->cfg_lock);
    pthread_mutex_destroy(&bus->irq_lock);
    free(bus);
}

int vmm_pci_add(struct vmm_pci *bus, const struct vmm_pci_dev_info *info, const struct vmm_pci_dev_ops *ops,
                void *opaque, struct vmm_pci_dev **out, struct zerr *e)
{
    if (out)
        *out = NULL;
    unsigned slot = 1;
    while (slot < VMM_PCI_SLOTS && bus->slots[slot])
        slot++;
    uint64_t next = bus->next_mmio;
    uint64_t base[VMM_PCI_BARS] = { 0 };
    const char *name = ops && ops->name ? ops->name : "?";
    int r = 0;
    if (!ops || !ops->bar_io)
        r = zerr_set(e, EINVAL, "pci device %s: no bar_io operation", name);
    else if (slot == VMM_PCI_SLOTS)
        r = zerr_set(e, ENOSPC, "pci device %s: all %d slots are taken", name, VMM_PCI_SLOTS - 1);
    for (unsigned b = 0; r == 0 && b < VMM_PCI_BARS; b++) {
        uint32_t size = info->bar_size[b];
        if (size == 0)
            continue;
        if (size < 4096 || (size & (size - 1))) {
            r = zerr_set(e, EINVAL, "pci device %s: BAR %u size %u is not a power of two >= 4096", name, b, size);
            break;
        }
        next = (next + size - 1) & ~(uint64_t)(size - 1);   /* naturally aligned, as BARs must be */
        if (next + size > VMM_PCI_MMIO_ALLOC_END) {
            r = zerr_set(e, ENOSPC, "pci device %s: BAR %u (%u bytes) does not fit in the MMIO window", name, b, size);
            break;
        }
        base[b] = next;
        next += size;
    }
    struct vmm_pci_dev *d = r == 0 ? new_dev(bus, slot, info, ops, opaque) : NULL;
    if (r == 0 && !d)
        r = zerr_set(e, ENOMEM, "pci device %s: out of memory", name);
    if (r < 0) {
        if (ops && ops->destroy)
            ops->destroy(opaque);
        return -1;
    }
    for (unsigned b = 0; b < VMM_PCI_BARS; b++) {
        d->bar_size[b] = info->bar_size[b];
        put_le(d->cfg + PCI_BAR0 + 4 * b, 4, (uint32_t)base[b]);   /* 32-bit, non-prefetchable memory */
    }
    /* decoding on, as firmware leaves devices it assigned */
    d->cfg[PCI_COMMAND] = PCI_COMMAND_MEMORY;
    pthread_mutex_lock(&bus->cfg_lock);
    bus->slots[slot] = d;
    bus->next_mmio = next;
    pthread_mutex_unlock(&bus->cfg_lock);
    if (out)
        *out = d;
    return 0;
}

int vmm_pci_add_cap(struct vmm_pci_dev *d, const uint8_t *cap, unsigned len, const uint8_t *writable,
                    unsigned *offset, struct zerr *e)
{
    unsigned at = (d->cap_end + 3u) & ~3u;     /* capabilities are dword aligned */
    if (len < 2 || at + len > VMM_PCI_CFG_SIZE)
        return zerr_set(e, ENOSPC, "pci device %s: no room for a %u-byte capability", d->ops->name, len);
    pthread_mutex_lock(&d->bus->cfg_lock);
    memcpy(d->cfg + at, cap, len);
    d->cfg[at + 1] = 0;
    if (writable)
        memcpy(d->wmask + at, writable, len);
    if (d->last_cap)
        d->cfg[d->last_cap + 1] = (uint8_t)at;
    else
        d->cfg[PCI_CAPABILITY_LIST] = (uint8_t)at;
    put_le(d->cfg + PCI_STATUS, 2, get_le(d->cfg + PCI_STATUS, 2) | PCI_STATUS_CAP_LIST);
    d->last_cap = (uint8_t)at;
    d->cap_end = (uint8_t)(at + len < VMM_PCI_CFG_SIZE ? at + len : VMM_PCI_CFG_SIZE - 1);
    pthread_mutex_unlock(&d->bus->cfg_lock);
    if (offset)
        *offset = at;
    return 0;
}

/* Called with irq_lock held: drives the GSI when its OR of levels changes. */
static int update_line(struct vmm_pci *bus, struct vmm_pci_dev *d, bool effective_before, struct zerr *e)
{
    bool effective = d->level && !d->intx_disabled;
    if (effective == effective_before)
        return 0;
    unsigned idx = d->gsi - VMM_PCI_FIRST_GSI;
    unsigned before = bus->line_count[idx];
    bus->line_count[idx] = effective ? before + 1 : before - 1;
    if ((before == 0) == (bus->line_count[idx] == 0))
        return 0;
    if (!bus->plat.set_irq)
        return 0;
    return bus->plat.set_irq(bus->plat.ctx, d->gsi, bus->line_count[idx] != 0, e);
}

int vmm_pci_set_irq(struct vmm_pci_dev *d, int level, struct zerr *e)
{
    if (!d->intx)
        return zerr_set(e, EINVAL, "pci device %s has no interrupt pin", d->ops->name);
    struct vmm_pci *bus = d->bus;
    pthread_mutex_lock(&bus->irq_lock);
    bool before = d->level && !d->intx_disabled;
    d->level = level != 0;
    int r = update_line(bus, d, before, e);
    pthread_mutex_unlock(&bus->irq_lock);
    return r;
}

void vmm_pci_report_error(struct vmm_pci_dev *d, const char *msg)
{
    if (d->bus->plat.report_error)
        d->bus->plat.report_error(d->bus->plat.ctx, d->ops->name, msg);
}

unsigned vmm_pci_dev_slot(const struct vmm_pci_dev *d) { return d->slot; }
unsigned vmm_pci_dev_gsi(const struct vmm_pci_dev *d) { return d->gsi; }
const char *vmm_pci_dev_name(const struct vmm_pci_dev *d) { return d->ops->name; }

uint64_t vmm_pci_bar_addr(struct vmm_pci_dev *d, unsigned bar)
{
    if (bar >= VMM_PCI_BARS || !d->bar_size[bar])
        return 0;
    pthread_mutex_lock(&d->bus->cfg_lock);
    uint64_t a = get_le(d->cfg + PCI_BAR0 + 4 * bar, 4) & ~0xfu;
    pthread_mutex_unlock(&d->bus->cfg_lock);
    return a;
}

unsigned vmm_pci_routes(struct vmm_pci *bus, struct vmm_mp_pci_irq *out, unsigned max)
{
    unsigned n = 0;
    for (unsigned s = 1; s < VMM_PCI_SLOTS && n < max; s++) {
        const struct vmm_pci_dev *d = bus->slots[s];
        if (d && d->intx)
            out[n++] = (struct vmm_mp_pci_irq){ .slot = (uint8_t)s, .pin = 1, .gsi = (uint8_t)d->gsi };
    }
    return n;
}

/* ---- config space ---- */

/* Keeps each BAR's low bits (type flags) and the bits below its size zero,
 * which is how the guest learns the size: write all-ones, read back. */
static void normalize_bars(struct vmm_pci_dev *d)
{
    for (unsigned b = 0; b < VMM_PCI_BARS; b++) {
        uint32_t v = get_le(d->cfg + PCI_BAR0 + 4 * b, 4);
        v = d->bar_size[b] ? v & ~(d->bar_size[b] - 1) & ~0xfu : 0;
        put_le(d->cfg + PCI_BAR0 + 4 * b, 4, v);
    }
}

/* Called with cfg_lock held. */
static uint32_t cfg_read(struct vmm_pci_dev *d, unsigned off, unsigned len)
{
    uint32_t v;
    if (off >= VMM_PCI_CAP_START && d->ops->cfg_read && d->ops->cfg_read(d->opaque, off, len, &v))
        return v;
    return get_le(d->cfg + off, len);
}

/* Called with cfg_lock held. */
static void cfg_write(struct vmm_pci_dev *d, unsigned off, unsigned len, uint32_t v)
{
    if (off >= VMM_PCI_CAP_START && d->ops->cfg_write && d->ops->cfg_write(d->opaque, off, len, v))
        return;
    bool bars = false;
    for (unsigned i = 0; i < len; i++) {
        unsigned at = off + i;
        uint8_t byte = (uint8_t)(v >> (8 * i));
        if (at >= PCI_BAR0 && at < PCI_BAR0 + 4 * VMM_PCI_BARS) {
            d->cfg[at] = byte;
            bars = true;
        } else {
            d->cfg[at] = (uint8_t)((d->cfg[at] & ~d->wmask[at]) | (byte & d->wmask[at]));
        }
    }
    if (bars)
        normalize_bars(d);
    if (off <= PCI_COMMAND + 1 && off + len > PCI_COMMAND && d->intx) {
        struct vmm_pci *bus = d->bus;
        struct zerr e = { 0 };
        pthread_mutex_lock(&bus->irq_lock);
        bool before = d->level && !d->intx_disabled;
        d->intx_disabled = get_le(d->cfg + PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE;
        if (update_line(bus, d, before, &e) < 0)
            vmm_pci_report_error(d, e.msg);
        pthread_mutex_unlock(&bus->irq_lock);
    }
}

/* The status register's interrupt bit follows the device's line. */
static uint32_t status_bits(struct vmm_pci_dev *d, unsigned off, unsigned len)
{
    if (!(off <= PCI_STATUS && off + len > PCI_STATUS) || !d->intx)
        return 0;
    pthread_mutex_lock(&d->bus->irq_lock);
    bool level = d->level;
    pthread_mutex_unlock(&d->bus->irq_lock);
    return level ? (uint32_t)PCI_STATUS_INTERRUPT << (8 * (PCI_STATUS - off)) : 0;
}

static int config_data(struct vmm_pci *bus, struct vmm_io *io, unsigned port_off, struct zerr *e)
{
    uint32_t latch = bus->latch;
    unsigned busno = (latch >> 16) & 0xff, slot = (latch >> 11) & 0x1f, fn = (latch >> 8) & 7;
    unsigned reg = (latch & 0xfc) + port_off;
    if (port_off + io->len > 4)
        return zerr_set(e, EINVAL, "pci: %u-byte access at port 0x%llx crosses the data register", io->len,
                        (unsigned long long)io->addr);
    struct vmm_pci_dev *d = (latch & CONFIG_ENABLE) && busno == 0 && fn == 0 ? bus->slots[slot] : NULL;
    if (!d) {
        if (!io->write)
            memset(io->data, 0xff, io->len);
        return 0;
    }
    if (io->write) {
        cfg_write(d, reg, io->len, get_le(io->data, io->len));
    } else {
        uint32_t v = cfg_read(d, reg, io->len) | status_bits(d, reg, io->len);
        put_le(io->data, io->len, v);
    }
    return 0;
}

static int config_ports(struct vmm_pci *bus, struct vmm_io *io, struct zerr *e)
{
    unsigned off = (unsigned)(io->addr - VMM_PCI_CONFIG_PORT);
    if (io->len != 1 && io->len != 2 && io->len != 4)
        return zerr_set(e, EINVAL, "pci: %u-byte port access", io->len);
    int r = 0;
    bool reset = false;
    pthread_mutex_lock(&bus->cfg_lock);
    if (off >= 4) {
        r = config_data(bus, io, off - 4, e);
    } else if (io->addr == VMM_PCI_RESET_PORT && io->len == 1) {
        if (io->write) {
            reset = io->data[0] & RCR_CPU_RESET;
            bus->rcr = io->data[0] & (RCR_SYS_RESET | RCR_FULL_RESET);
        } else {
            io->data[0] = bus->rcr;
        }
    } else if (off == 0 && io->len == 4) {
        if (io->write)
            bus->latch = (uint32_t)get_le(io->data, 4) & 0x80fffffcu;
        else
            put_le(io->data, 4, bus->latch);
    } else if (!io->write) {
        /* narrow reads of the latch see its bytes; narrow writes are
         * other bus cycles on a PC (Linux pokes 0xcfb while probing) */
        uint8_t bytes[4];
        put_le(bytes, 4, bus->latch);
        for (unsigned i = 0; i < io->len; i++)
            io->data[i] = off + i < 4 ? bytes[off + i] : 0xff;
    }
    pthread_mutex_unlock(&bus->cfg_lock);
    if (reset && bus->plat.reset)
        bus->plat.reset(bus->plat.ctx, io->vcpu);
    return r;
}

/* ---- memory BARs ---- */

static int bar_access(struct vmm_pci *bus, struct vmm_io *io, struct zerr *e)
{
    struct vmm_pci_dev *target = NULL;
    unsigned bar = 0;
    uint64_t offset = 0;
    pthread_mutex_lock(&bus->cfg_lock);
    for (unsigned s = 1; s < VMM_PCI_SLOTS && !target; s++) {
        struct vmm_pci_dev *d = bus->slots[s];
        if (!d || !(d->cfg[PCI_COMMAND] & PCI_COMMAND_MEMORY))
            continue;
        for (unsigned b = 0; b < VMM_PCI_BARS; b++) {
            uint64_t base = get_le(d->cfg + PCI_BAR0 + 4 * b, 4) & ~0xfu;
            uint64_t size = d->bar_size[b];
            if (!size || !base || io->addr < base || io->addr - base >= size)
                continue;
            if (io->len > size - (io->addr - base)) {
                pthread_mutex_unlock(&bus->cfg_lock);
                return zerr_set(e, EINVAL, "pci device %s: %u-byte access crosses the end of BAR %u", d->ops->name,
                                io->len, b);
            }
            target = d;
            bar = b;
            offset = io->addr - base;
            break;
        }
    }
    pthread_mutex_unlock(&bus->cfg_lock);
    if (!target) {
        if (!io->write)
            memset(io->data, 0xff, sizeof io->data);
        return 0;
    }
    io->offset = offset;
    return target->ops->bar_io(target->opaque, bar, io, e);
}

int vmm_pci_io(struct vmm_pci *bus, struct vmm_io *io, struct zerr *e)
{
    if (io->space == VMM_SPACE_PIO) {
        if (io->addr < VMM_PCI_CONFIG_PORT || io->addr + io->len > VMM_PCI_CONFIG_PORT + VMM_PCI_CONFIG_PORTS)
            return zerr_set(e, EINVAL, "pci: port 0x%llx is not mine", (unsigned long long)io->addr);
        return config_ports(bus, io, e);
    }
    if (io->addr < VMM_PCI_MMIO_BASE || io->addr >= VMM_PCI_MMIO_END || io->len == 0 || io->len > 8)
        return zerr_set(e, EINVAL, "pci: address 0x%llx is outside the MMIO window", (unsigned long long)io->addr);
    return bar_access(bus, io, e);
}
