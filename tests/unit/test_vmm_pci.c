/* vm-sandbox/vmm/pci.c and virtio_pci.c without KVM: configuration
 * mechanism #1, the host bridge, BAR sizing and moving, capability lists,
 * INTx levels (shared lines, INTX_DISABLE), 0xcf9 reset; and the modern
 * virtio-pci transport driven as Linux's driver does it: capabilities,
 * feature negotiation, queue setup, notify, ISR, config generation,
 * the PCI_CFG window and reset, against a fake backend. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_vmm_driver.h"

/* ---- a fake PCI device ---- */

struct fake {
    int destroyed;
    unsigned accesses;
    unsigned last_bar;
    uint64_t last_offset;
    uint32_t last_value;
};

static int fake_bar_io(void *opaque, unsigned bar, struct vmm_io *io, struct zerr *e)
{
    struct fake *f = opaque;
    (void)e;
    f->accesses++;
    f->last_bar = bar;
    f->last_offset = io->offset;
    if (io->write)
        memcpy(&f->last_value, io->data, 4);
    else
        memcpy(io->data, "\x11\x22\x33\x44", 4);
    return 0;
}

static void fake_destroy(void *opaque) { ((struct fake *)opaque)->destroyed++; }

static const struct vmm_pci_dev_ops fake_ops = { .name = "fake", .bar_io = fake_bar_io, .destroy = fake_destroy };

static const struct vmm_pci_dev_info fake_info = {
    .vendor = 0x1234, .device = 0x5678, .class_code = 0xff0000, .bar_size = { 0x4000, 0, 0x1000 }, .intx = true,
};

static void test_host_bridge_and_empty_slots(void **state)
{
    (void)state;
    struct td *t = td_new();
    assert_int_equal(td_cfg_read(t, 0, 0, 0, 0, 2), 0x1b36);
    assert_int_equal(td_cfg_read(t, 0, 0, 0, 0x0a, 2), 0x0600);      /* class: host bridge */
    assert_int_equal(td_cfg_read(t, 0, 0, 0, 0x0e, 1), 0);           /* single function, type 0 */
    assert_int_equal(td_cfg_read(t, 0, 5, 0, 0, 4), 0xffffffffu);    /* nothing in slot 5 */
    assert_int_equal(td_cfg_read(t, 0, 0, 1, 0, 4), 0xffffffffu);    /* function 1 */
    assert_int_equal(td_cfg_read(t, 1, 0, 0, 0, 4), 0xffffffffu);    /* bus 1 */
    /* Linux's conf1 check: the latch reads back what was written */
    td_pio(t, 0xcfb, 1, 1, 0x01, NULL);
    td_pio(t, 0xcf8, 4, 1, 0x80000000u, NULL);
    assert_int_equal(td_pio(t, 0xcf8, 4, 0, 0, NULL), 0x80000000u);
    /* with the enable bit clear, the data port reads all-ones */
    td_pio(t, 0xcf8, 4, 1, 0, NULL);
    assert_int_equal(td_pio(t, 0xcfc, 4, 0, 0, NULL), 0xffffffffu);
    /* an access crossing the data register is refused */
    int r;
    td_pio(t, 0xcf8, 4, 1, 0x80000000u, NULL);
    td_pio(t, 0xcfe, 4, 0, 0, &r);
    assert_int_equal(r, -1);
    td_free(t);
}

static void test_reset_control(void **state)
{
    (void)state;
    struct td *t = td_new();
    td_pio(t, 0xcf9, 1, 1, 0x02, NULL);
    assert_int_equal(t->resets, 0);
    assert_int_equal(td_pio(t, 0xcf9, 1, 0, 0, NULL), 0x02);
    td_pio(t, 0xcf9, 1, 1, 0x06, NULL);
    assert_int_equal(t->resets, 1);
    td_free(t);
}

static void test_bars(void **state)
{
    (void)state;
    struct td *t = td_new();
    struct fake f = { 0 };
    struct vmm_pci_dev *d;
    struct zerr e;
    assert_int_equal(vmm_pci_add(t->bus, &fake_info, &fake_ops, &f, &d, &e), 0);
    assert_int_equal(vmm_pci_dev_slot(d), 1);
    uint32_t bar0 = td_cfg_read(t, 0, 1, 0, 0x10, 4), bar2 = td_cfg_read(t, 0, 1, 0, 0x18, 4);
    assert_true(bar0 >= VMM_PCI_MMIO_BASE && bar0 < VMM_PCI_MMIO_ALLOC_END);
    assert_int_equal(bar0 % 0x4000, 0);
    assert_int_equal(bar2 % 0x1000, 0);
    assert_int_equal(td_cfg_read(t, 0, 1, 0, 0x14, 4), 0);          /* absent BAR */
    /* sizing: all-ones in, the size mask out; then restore */
    td_cfg_write(t, 1, 0x10, 4, 0xffffffff);
    assert_int_equal(td_cfg_read(t, 0, 1, 0, 0x10, 4), 0xffffc000u);
    td_cfg_write(t, 1, 0x14, 4, 0xffffffff);
    assert_int_equal(td_cfg_read(t, 0, 1, 0, 0x14, 4), 0);
    td_cfg_write(t, 1, 0x10, 4, bar0);
    assert_int_equal(td_cfg_read(t, 0, 1, 0, 0x10, 4), bar0);
    assert_int_equal(td_cfg_read(t, 0, 1, 0, 0x30, 4), 0);          /* no expansion ROM */

    /* routed by the BAR's value */
    assert_int_equal(td_mmio(t, bar0 + 0x123, 4, 0, 0, NULL), 0x44332211u);
    assert_int_equal(f.last_offset, 0x123);
    td_mmio(t, bar2 + 8, 4, 1, 0xabcd, NULL);
    assert_int_equal(f.last_bar, 2);
    assert_int_equal(f.last_value, 0xabcd);
    /* crossing the BAR's end is an error */
    int r;
    td_mmio(t, bar0 + 0x3ffe, 4, 0, 0, &r);
    assert_int_equal(r, -1);
    /* memory decoding off: the BAR answers nothing */
    unsigned before = f.accesses;
    td_cfg_write(t, 1, 0x04, 2, 0);
    assert_int_equal(td_mmio(t, bar0, 4, 0, 0, NULL), 0xffffffffu);
    assert_int_equal(f.accesses, before);
    td_cfg_write(t, 1, 0x04, 2, PCI_COMMAND_MEMORY);
    /* the guest moves the BAR */
    td_cfg_write(t, 1, 0x10, 4, 0xd0000000u);
    assert_int_equal(vmm_pci_bar_addr(d, 0), 0xd0000000u);
    assert_int_equal(td_mmio(t, bar0, 4, 0, 0, NULL), 0xffffffffu);
    td_mmio(t, 0xd0000010u, 4, 0, 0, NULL);
    assert_int_equal(f.last_offset, 0x10);
    /* outside the window */
    td_mmio(t, 0xfee00000u, 4, 0, 0, &r);
    assert_int_equal(r, -1);
    /* the device id registers are read-only */
    td_cfg_write(t, 1, 0x00, 4, 0);
    assert_int_equal(td_cfg_read(t, 0, 1, 0, 0, 4), 0x56781234u);
    td_free(t);
    assert_int_equal(f.destroyed, 1);
}

static void test_capabilities(void **state)
{
    (void)state;
    struct td *t = td_new();
    struct fake f = { 0 };
    struct vmm_pci_dev *d;
    struct zerr e;
    assert_int_equal(vmm_pci_add(t->bus, &fake_info, &fake_ops, &f, &d, &e), 0);
    assert_int_equal(td_cfg_read(t, 0, 1, 0, 0x06, 2) & PCI_STATUS_CAP_LIST, 0);
    uint8_t a[6] = { 0x09, 0xee, 6, 1, 2, 3 }, b[5] = { 0x05, 0, 5, 0, 0 }, wm[5] = { 0, 0, 0, 0xff, 0 };
    unsigned oa, ob;
    assert_int_equal(vmm_pci_add_cap(d, a, sizeof a, NULL, &oa, &e), 0);
    assert_int_equal(vmm_pci_add_cap(d, b, sizeof b, wm, &ob, &e), 0);
    assert_int_equal(oa, 0x40);
    assert_int_equal(ob % 4, 0);
    assert_true(ob >= oa + sizeof a);
    assert_true(td_cfg_read(t, 0, 1, 0, 0x06, 2) & PCI_STATUS_CAP_LIST);
    assert_int_equal(td_cfg_read(t, 0, 1, 0, 0x34, 1), oa);
    assert_int_equal(td_cfg_read(t, 0, 1, 0, oa + 1, 1), ob);       /* next pointer filled in */
    assert_int_equal(td_cfg_read(t, 0, 1, 0, ob + 1, 1), 0);        /* end of list */
    assert_int_equal(td_cfg_read(t, 0, 1, 0, oa + 3, 1), 1);
    /* write mask: byte 3 of b is writable, byte 4 is not */
    td_cfg_write(t, 1, ob + 3, 1, 0x5a);
    td_cfg_write(t, 1, ob + 4, 1, 0x5a);
    assert_int_equal(td_cfg_read(t, 0, 1, 0, ob + 3, 1), 0x5a);
    assert_int_equal(td_cfg_read(t, 0, 1, 0, ob + 4, 1), 0);
    uint8_t big[200] = { 0x09 };
    assert_int_equal(vmm_pci_add_cap(d, big, sizeof big, NULL, NULL, &e), -1);
    td_free(t);
}

static void test_intx(void **state)
{
    (void)state;
    struct td *t = td_new();
    struct fake f[9] = { 0 };
    struct vmm_pci_dev *d[9];
    struct zerr e;
    for (unsigned i = 0; i < 9; i++)
        assert_int_equal(vmm_pci_add(t->bus, &fake_info, &fake_ops, &f[i], &d[i], &e), 0);
    assert_int_equal(vmm_pci_dev_gsi(d[0]), 16);
    assert_int_equal(vmm_pci_dev_gsi(d[8]), 16);                     /* slot 9 shares slot 1's line */
    assert_int_equal(vmm_pci_dev_gsi(d[3]), 19);
    assert_int_equal(td_cfg_read(t, 0, 1, 0, 0x3c, 1), 16);          /* interrupt line */
    assert_int_equal(td_cfg_read(t, 0, 1, 0, 0x3d, 1), 1);           /* INTA */

    struct vmm_mp_pci_irq routes[32];
    unsigned n = vmm_pci_routes(t->bus, routes, 32);
    assert_int_equal(n, 9);
    assert_int_equal(routes[0].slot, 1);
    assert_int_equal(routes[0].pin, 1);
    assert_int_equal(routes[0].gsi, 16);
    assert_int_equal(routes[8].slot, 9);

    assert_int_equal(vmm_pci_set_irq(d[0], 1, &e), 0);
    assert_int_equal(td_irq(t, 16), 1);
    assert_true(td_cfg_read(t, 0, 1, 0, 0x06, 2) & PCI_STATUS_INTERRUPT);
    unsigned changes = t->irq_changes;
    vmm_pci_set_irq(d[0], 1, &e);                                    /* no change: no call */
    assert_int_equal(t->irq_changes, changes);
    vmm_pci_set_irq(d[8], 1, &e);                                    /* same line, already high */
    assert_int_equal(t->irq_changes, changes);
    vmm_pci_set_irq(d[0], 0, &e);
    assert_int_equal(td_irq(t, 16), 1);                              /* slot 9 still holds it */
    vmm_pci_set_irq(d[8], 0, &e);
    assert_int_equal(td_irq(t, 16), 0);
    /* INTX_DISABLE masks the line; clearing it brings a pending level back */
    vmm_pci_set_irq(d[3], 1, &e);
    assert_int_equal(td_irq(t, 19), 1);
    td_cfg_write(t, 4, 0x04, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
    assert_int_equal(td_irq(t, 19), 0);
    td_cfg_write(t, 4, 0x04, 2, PCI_COMMAND_MEMORY);
    assert_int_equal(td_irq(t, 19), 1);
    td_free(t);
}

static void test_slots_run_out(void **state)
{
    (void)state;
    struct td *t = td_new();
    static struct fake f[32];
    struct zerr e;
    memset(f, 0, sizeof f);
    struct vmm_pci_dev_info small = fake_info;
    small.bar_size[0] = 0x1000;
    small.bar_size[2] = 0;
    for (unsigned i = 0; i < 31; i++)
        assert_int_equal(vmm_pci_add(t->bus, &small, &fake_ops, &f[i], NULL, &e), 0);
    assert_int_equal(vmm_pci_add(t->bus, &small, &fake_ops, &f[31], NULL, &e), -1);
    assert_int_equal(e.code, ENOSPC);
    assert_int_equal(f[31].destroyed, 1);                            /* refused devices are destroyed */
    struct vmm_pci_dev_info bad = fake_info;
    bad.bar_size[0] = 0x3000;
    struct fake g = { 0 };
    assert_int_equal(vmm_pci_add(t->bus, &bad, &fake_ops, &g, NULL, &e), -1);
    assert_int_equal(g.destroyed, 1);
    td_free(t);
    for (unsigned i = 0; i < 31; i++)
        assert_int_equal(f[i].destroyed, 1);
}

/* ---- virtio-pci with a fake backend ---- */

struct backend {
    int activated, resets, destroyed;
    uint64_t features;
    unsigned notified[4];
    int fail_activate;
    struct vmm_virtio_dev *d;
    uint8_t config[8];
};

static void be_config_read(void *b, uint32_t off, void *buf, uint32_t len)
{
    memcpy(buf, ((struct backend *)b)->config + off, len);
}

static int be_config_write(void *b, uint32_t off, const void *buf, uint32_t len, struct zerr *e)
{
    (void)e;
    memcpy(((struct backend *)b)->config + off, buf, len);
    return 0;
}

static int be_activate(void *b, struct vmm_virtio_dev *d, uint64_t features, struct zerr *e)
{
    struct backend *be = b;
    if (be->fail_activate)
        return zerr_set(e, EIO, "refused");
    be->activated++;
    be->features = features;
    be->d = d;
    return 0;
}

static int be_notify(void *b, unsigned q, struct zerr *e)
{
    (void)e;
    ((struct backend *)b)->notified[q]++;
    return 0;
}

static void be_reset(void *b) { ((struct backend *)b)->resets++; }
static void be_destroy(void *b) { ((struct backend *)b)->destroyed++; }

static const struct vmm_virtio_ops be_ops = {
    .name = "fake-virtio", .device_type = 42, .pci_class = 0xff0000, .features = 1ULL << 3,
    .num_queues = 2, .queue_size = 64, .config_size = 8, .config_read = be_config_read,
    .config_write = be_config_write, .activate = be_activate, .queue_notify = be_notify,
    .reset = be_reset, .destroy = be_destroy,
};

/* Walks the vendor capabilities; returns the offset of cfg_type's. */
static unsigned find_cap(struct td *t, uint8_t type)
{
    unsigned off = td_cfg_read(t, 0, t->slot, 0, 0x34, 1);
    for (unsigned n = 0; off && n < 16; n++) {
        if (td_cfg_read(t, 0, t->slot, 0, off, 1) == PCI_CAP_ID_VNDR && td_cfg_read(t, 0, t->slot, 0, off + 3, 1) == type)
            return off;
        off = td_cfg_read(t, 0, t->slot, 0, off + 1, 1);
    }
    return 0;
}

static void test_virtio_identity_and_caps(void **state)
{
    (void)state;
    struct td *t = td_new();
    struct backend be = { 0 };
    assert_non_null(td_add(t, (struct vmm_virtio_backend){ &be_ops, &be }));
    assert_int_equal(td_cfg_read(t, 0, t->slot, 0, 0, 2), 0x1af4);
    assert_int_equal(td_cfg_read(t, 0, t->slot, 0, 2, 2), 0x1040 + 42);
    assert_int_equal(td_cfg_read(t, 0, t->slot, 0, 8, 1), 1);                 /* revision 1: modern */
    assert_int_equal(td_cfg_read(t, 0, t->slot, 0, 0x2c, 2), 0x1af4);
    assert_true(t->bar >= VMM_PCI_MMIO_BASE);
    static const struct { uint8_t type; uint32_t offset, min_len; } want[] = {
        { VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF, 0x38 }, { VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF, 8 },
        { VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 1 }, { VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF, 8 },
    };
    for (unsigned i = 0; i < 4; i++) {
        unsigned c = find_cap(t, want[i].type);
        assert_true(c >= 0x40);
        assert_int_equal(td_cfg_read(t, 0, t->slot, 0, c + 4, 1), 0);              /* BAR 0 */
        assert_int_equal(td_cfg_read(t, 0, t->slot, 0, c + 8, 4), want[i].offset);
        assert_true(td_cfg_read(t, 0, t->slot, 0, c + 12, 4) >= want[i].min_len);
    }
    unsigned notify = find_cap(t, VIRTIO_PCI_CAP_NOTIFY_CFG);
    assert_int_equal(td_cfg_read(t, 0, t->slot, 0, notify + 16, 4), VIRTIO_PCI_NOTIFY_MULT);
    assert_true(find_cap(t, VIRTIO_PCI_CAP_PCI_CFG) != 0);
    td_free(t);
    assert_int_equal(be.destroyed, 1);
}

static void test_virtio_features(void **state)
{
    (void)state;
    struct td *t = td_new();
    struct backend be = { 0 };
    assert_non_null(td_add(t, (struct vmm_virtio_backend){ &be_ops, &be }));
    td_common_write(t, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
    assert_int_equal(td_common_read(t, VIRTIO_PCI_COMMON_DF, 4), (1u << 3) | (1u << 28));
    td_common_write(t, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
    assert_int_equal(td_common_read(t, VIRTIO_PCI_COMMON_DF, 4), 1);          /* VERSION_1 */
    td_common_write(t, VIRTIO_PCI_COMMON_DFSELECT, 4, 7);
    assert_int_equal(td_common_read(t, VIRTIO_PCI_COMMON_DF, 4), 0);
    assert_int_equal(td_common_read(t, VIRTIO_PCI_COMMON_NUMQ, 2), 2);
    assert_int_equal(td_common_read(t, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);

    /* without VERSION_1 the device refuses: FEATURES_OK does not stick */
    uint8_t s = td_driver_ok(t, 1ULL << 3, 2);
    assert_false(s & VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(be.activated, 0);
    /* a feature the device does not offer */
    s = td_driver_ok(t, VIRTIO_F_VERSION_1 | (1ULL << 5), 2);
    assert_false(s & VIRTIO_STATUS_FEATURES_OK);
    char last[256];
    assert_true(vmm_virtio_errors(t->vdev, last, sizeof last) >= 2);
    /* accepted */
    s = td_driver_ok(t, VIRTIO_F_VERSION_1 | (1ULL << 3), 2);
    assert_int_equal(s, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                            VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(be.activated, 1);
    assert_true(be.features == (VIRTIO_F_VERSION_1 | (1ULL << 3)));
    /* driver features are frozen after FEATURES_OK */
    int r = td_common_write(t, VIRTIO_PCI_COMMON_GF, 4, 0);
    assert_int_equal(r, -1);
    td_free(t);
}

static void test_virtio_queues_and_notify(void **state)
{
    (void)state;
    struct td *t = td_new();
    struct backend be = { 0 };
    assert_non_null(td_add(t, (struct vmm_virtio_backend){ &be_ops, &be }));
    /* before DRIVER_OK a notify is refused */
    assert_int_equal(td_kick(t, 0), -1);
    assert_int_equal(td_driver_ok(t, VIRTIO_F_VERSION_1, 2) & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(t->q[0].size, 64);
    td_common_write(t, VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
    assert_int_equal(td_common_read(t, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
    assert_int_equal(td_common_read(t, VIRTIO_PCI_COMMON_Q_NOFF, 2), 1);
    assert_int_equal(td_common_read(t, VIRTIO_PCI_COMMON_Q_DESCLO, 8), t->q[1].desc);
    /* an enabled queue's registers are frozen */
    assert_int_equal(td_common_write(t, VIRTIO_PCI_COMMON_Q_SIZE, 2, 16), -1);
    /* a queue that does not exist has size 0 */
    td_common_write(t, VIRTIO_PCI_COMMON_Q_SELECT, 2, 5);
    assert_int_equal(td_common_read(t, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);

    assert_int_equal(td_kick(t, 1), 0);
    assert_int_equal(be.notified[1], 1);
    assert_int_equal(td_kick(t, 2), 0);     /* past the notify area: reserved, ignored */
    assert_int_equal(be.notified[0], 0);

    /* used buffers + signal: ISR bit 0 and INTA; reading ISR clears both */
    struct vmm_vq *vq = vmm_virtio_queue(be.d, 0);
    assert_non_null(vq);
    struct zerr e;
    assert_int_equal(vmm_vq_push(vq, 0, 0, &e), 0);
    assert_int_equal(vmm_virtio_signal(be.d, 0, &e), 0);
    assert_int_equal(td_irq(t, 16), 1);
    assert_int_equal(td_isr(t), VIRTIO_PCI_ISR_QUEUE);
    assert_int_equal(td_irq(t, 16), 0);
    assert_int_equal(td_isr(t), 0);
    /* the driver asked for no interrupts */
    uint16_t no_irq = VMM_VRING_AVAIL_F_NO_INTERRUPT;
    memcpy(t->buf + t->q[0].avail, &no_irq, 2);
    assert_int_equal(vmm_virtio_signal(be.d, 0, &e), 0);
    assert_int_equal(td_irq(t, 16), 0);
    /* config change: generation moves, ISR bit 1 */
    uint8_t gen = (uint8_t)td_common_read(t, VIRTIO_PCI_COMMON_CFGGENERATION, 1);
    assert_int_equal(vmm_virtio_config_changed(be.d, &e), 0);
    assert_int_equal((uint8_t)td_common_read(t, VIRTIO_PCI_COMMON_CFGGENERATION, 1), (uint8_t)(gen + 1));
    assert_int_equal(td_isr(t), VIRTIO_PCI_ISR_CONFIG);
    td_free(t);
}

static void test_virtio_bad_queue_and_activate(void **state)
{
    (void)state;
    struct td *t = td_new();
    struct backend be = { .fail_activate = 1 };
    assert_non_null(td_add(t, (struct vmm_virtio_backend){ &be_ops, &be }));
    td_common_write(t, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    td_common_write(t, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    assert_int_equal(td_common_write(t, VIRTIO_PCI_COMMON_Q_SIZE, 2, 48), -1);    /* not a power of two */
    assert_int_equal(td_common_write(t, VIRTIO_PCI_COMMON_Q_SIZE, 2, 128), -1);   /* above the maximum */
    assert_int_equal(td_common_write(t, VIRTIO_PCI_COMMON_Q_SIZE, 2, 16), 0);
    /* rings outside guest memory: the queue stays disabled */
    td_common_write(t, VIRTIO_PCI_COMMON_Q_DESCLO, 8, 0x7fff0000000ULL);
    assert_int_equal(td_common_write(t, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1), -1);
    assert_int_equal(td_common_read(t, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    /* DRIVER_OK without FEATURES_OK */
    assert_int_equal(td_common_write(t, VIRTIO_PCI_COMMON_STATUS, 1,
                                     VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK), -1);
    assert_true(td_common_read(t, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
    /* a backend that fails to activate: NEEDS_RESET and a config interrupt */
    uint8_t s = td_driver_ok(t, VIRTIO_F_VERSION_1, 2);
    assert_true(s & VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(td_isr(t), VIRTIO_PCI_ISR_CONFIG);
    assert_int_equal(td_kick(t, 0), -1);        /* never activated */
    td_free(t);
}

static void test_virtio_config_window_and_reset(void **state)
{
    (void)state;
    struct td *t = td_new();
    struct backend be = { .config = { 1, 2, 3, 4, 5, 6, 7, 8 } };
    assert_non_null(td_add(t, (struct vmm_virtio_backend){ &be_ops, &be }));
    uint64_t dev = t->bar + VIRTIO_PCI_DEVICE_OFF;
    assert_int_equal(td_mmio(t, dev + 2, 2, 0, 0, NULL), 0x0403);
    td_mmio(t, dev + 4, 1, 1, 0x99, NULL);
    assert_int_equal(be.config[4], 0x99);
    int r;
    td_mmio(t, dev + 6, 4, 0, 0, &r);          /* past the 8 bytes */
    assert_int_equal(r, -1);

    /* VIRTIO_PCI_CAP_PCI_CFG: a 1-byte read of the status register through config space */
    unsigned c = find_cap(t, VIRTIO_PCI_CAP_PCI_CFG);
    td_common_write(t, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
    td_cfg_write(t, t->slot, c + 4, 1, 0);
    td_cfg_write(t, t->slot, c + 8, 4, VIRTIO_PCI_COMMON_STATUS);
    td_cfg_write(t, t->slot, c + 12, 4, 1);
    assert_int_equal(td_cfg_read(t, 0, t->slot, 0, c + 16, 1), VIRTIO_STATUS_ACKNOWLEDGE);
    assert_int_equal(td_cfg_read(t, 0, t->slot, 0, c + 8, 4), VIRTIO_PCI_COMMON_STATUS);
    /* and a write through it */
    td_cfg_write(t, t->slot, c + 16, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    assert_int_equal(td_common_read(t, VIRTIO_PCI_COMMON_STATUS, 1), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);

    /* reset: the backend hears it, queues and status go, the line drops */
    assert_int_equal(td_driver_ok(t, VIRTIO_F_VERSION_1, 2) & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
    struct zerr e;
    vmm_virtio_config_changed(be.d, &e);
    assert_int_equal(td_irq(t, 16), 1);
    int resets = be.resets;
    td_common_write(t, VIRTIO_PCI_COMMON_STATUS, 1, 0);
    assert_int_equal(be.resets, resets + 1);
    assert_int_equal(td_common_read(t, VIRTIO_PCI_COMMON_STATUS, 1), 0);
    assert_int_equal(td_irq(t, 16), 0);
    assert_null(vmm_virtio_queue(be.d, 0));
    td_common_write(t, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    assert_int_equal(td_common_read(t, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    assert_int_equal(td_common_read(t, VIRTIO_PCI_COMMON_Q_SIZE, 2), 64);
    /* and it comes back */
    assert_int_equal(td_driver_ok(t, VIRTIO_F_VERSION_1, 2) & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(be.activated, 2);
    td_free(t);
}

static void test_virtio_refuses_bad_backends(void **state)
{
    (void)state;
    struct td *t = td_new();
    struct backend be = { 0 };
    struct vmm_virtio_ops ops = be_ops;
    struct zerr e;
    ops.queue_size = 48;
    assert_int_equal(vmm_virtio_pci_new(t->bus, &t->mem, (struct vmm_virtio_backend){ &ops, &be }, NULL, &e), -1);
    assert_int_equal(be.destroyed, 1);
    ops = be_ops;
    ops.num_queues = 0;
    assert_int_equal(vmm_virtio_pci_new(t->bus, &t->mem, (struct vmm_virtio_backend){ &ops, &be }, NULL, &e), -1);
    assert_int_equal(be.destroyed, 2);
    td_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_bridge_and_empty_slots),
        cmocka_unit_test(test_reset_control),
        cmocka_unit_test(test_bars),
        cmocka_unit_test(test_capabilities),
        cmocka_unit_test(test_intx),
        cmocka_unit_test(test_slots_run_out),
        cmocka_unit_test(test_virtio_identity_and_caps),
        cmocka_unit_test(test_virtio_features),
        cmocka_unit_test(test_virtio_queues_and_notify),
        cmocka_unit_test(test_virtio_bad_queue_and_activate),
        cmocka_unit_test(test_virtio_config_window_and_reset),
        cmocka_unit_test(test_virtio_refuses_bad_backends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
