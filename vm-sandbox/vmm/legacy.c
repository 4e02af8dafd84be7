/* The few PC ports an ACPI-less Linux guest touches that the in-kernel
 * irqchip and PIT do not cover:
 *   0x60/0x64  an i8042 controller with no keyboard or mouse behind it: it
 *              answers the controller commands Linux's i8042 driver sends at
 *              boot (read/write CTR, self tests) at once, so the driver does
 *              not time out polling for them, and command 0xfe (pulse the
 *              reset line, what "reboot=k" does) or an output-port write
 *              with the reset bit low stops the VM. The input buffer always
 *              reads empty so the kernel's reset path never spins.
 *   0x70/0x71  CMOS RTC: index/data with the host's UTC time in BCD, so
 *              rtc_cmos and the boot-time clock see a sane date.
 * Port 0xcf9 (reset control) is left to the PCI host bridge, which owns
 * 0xcf8..0xcff. Everything else unmapped reads as all-ones (bus.c). */
#include "vm-sandbox/vmm/vmm_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#define I8042_DATA      0x60
#define I8042_COMMAND   0x64
#define I8042_CMD_READ_CTR   0x20
#define I8042_CMD_WRITE_CTR  0x60
#define I8042_CMD_AUX_DISABLE 0xa7
#define I8042_CMD_AUX_ENABLE 0xa8
#define I8042_CMD_AUX_TEST   0xa9
#define I8042_CMD_SELF_TEST  0xaa
#define I8042_CMD_KBD_TEST   0xab
#define I8042_CMD_KBD_DISABLE 0xad
#define I8042_CMD_KBD_ENABLE 0xae
#define I8042_CMD_WRITE_OUTPUT 0xd1
#define I8042_CMD_RESET 0xfe
#define I8042_STR_OBF   0x01
#define I8042_STR_SYS   0x04
#define I8042_CTR_KBDDIS 0x10
#define I8042_CTR_AUXDIS 0x20
#define RTC_INDEX       0x70

struct legacy {
    struct vmm *vm;
    pthread_mutex_t lock;
    uint8_t rtc_index;
    uint8_t ctr;            /* i8042 controller command byte */
    uint8_t pending_cmd;    /* a command waiting for its data byte on 0x60 */
    bool has_output;
    uint8_t output;
};

/* Called with l->lock held. */
static void i8042_command(struct legacy *l, uint8_t cmd, unsigned vcpu)
{
    l->pending_cmd = 0;
    switch (cmd) {
    case I8042_CMD_READ_CTR:
        l->output = l->ctr, l->has_output = true;
        break;
    case I8042_CMD_WRITE_CTR:
    case I8042_CMD_WRITE_OUTPUT:
        l->pending_cmd = cmd;
        break;
    case I8042_CMD_SELF_TEST:
        l->output = 0x55, l->has_output = true;
        break;
    case I8042_CMD_AUX_TEST:
    case I8042_CMD_KBD_TEST:
        l->output = 0x00, l->has_output = true;
        break;
    case I8042_CMD_AUX_DISABLE: l->ctr |= I8042_CTR_AUXDIS; break;
    case I8042_CMD_AUX_ENABLE: l->ctr &= (uint8_t)~I8042_CTR_AUXDIS; break;
    case I8042_CMD_KBD_DISABLE: l->ctr |= I8042_CTR_KBDDIS; break;
    case I8042_CMD_KBD_ENABLE: l->ctr &= (uint8_t)~I8042_CTR_KBDDIS; break;
    case I8042_CMD_RESET:
        vmm_stop_vm(l->vm, VMM_STOP_RESET, vcpu, "i8042 reset (vCPU %u)", vcpu);
        break;
    default:
        break;      /* no keyboard or mouse: everything else is a no-op */
    }
}

/* Called with l->lock held. */
static void i8042_data_write(struct legacy *l, uint8_t v, unsigned vcpu)
{
    uint8_t cmd = l->pending_cmd;
    l->pending_cmd = 0;
    if (cmd == I8042_CMD_WRITE_CTR)
        l->ctr = v;
    else if (cmd == I8042_CMD_WRITE_OUTPUT && !(v & 1))   /* bit 0 low: CPU reset */
        vmm_stop_vm(l->vm, VMM_STOP_RESET, vcpu, "i8042 output port reset (vCPU %u)", vcpu);
    /* bytes for the (absent) keyboard are dropped */
}

static uint8_t bcd(int v) { return (uint8_t)(((v / 10) << 4) | (v % 10)); }

static uint8_t rtc_read(uint8_t index)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    switch (index) {
    case 0x00: return bcd(tm.tm_sec);
    case 0x02: return bcd(tm.tm_min);
    case 0x04: return bcd(tm.tm_hour);
    case 0x06: return bcd(tm.tm_wday + 1);
    case 0x07: return bcd(tm.tm_mday);
    case 0x08: return bcd(tm.tm_mon + 1);
    case 0x09: return bcd(tm.tm_year % 100);
    case 0x32: return bcd(19 + tm.tm_year / 100);   /* century */
    case 0x0a: return 0x26;   /* 32.768 kHz base, 1024 Hz rate, no update in progress */
    case 0x0b: return 0x02;   /* 24-hour mode, BCD, no interrupts */
    case 0x0d: return 0x80;   /* valid RAM and time */
    default: return 0;
    }
}

static int legacy_io(void *opaque, struct vmm_io *io, struct zerr *e)
{
    struct legacy *l = opaque;
    if (io->len != 1)
        return zerr_set(e, EINVAL, "%u-byte access to port 0x%llx", io->len, (unsigned long long)io->addr);
    switch (io->addr) {
    case I8042_COMMAND:
    case I8042_DATA:
        pthread_mutex_lock(&l->lock);
        if (io->addr == I8042_COMMAND && io->write) {
            i8042_command(l, io->data[0], io->vcpu);
        } else if (io->addr == I8042_COMMAND) {
            io->data[0] = I8042_STR_SYS | (l->has_output ? I8042_STR_OBF : 0);
        } else if (io->write) {
            i8042_data_write(l, io->data[0], io->vcpu);
        } else {
            io->data[0] = l->output;
            l->has_output = false;
        }
        pthread_mutex_unlock(&l->lock);
        return 0;
    case RTC_INDEX:
    case RTC_INDEX + 1:
        pthread_mutex_lock(&l->lock);
        if (io->addr == RTC_INDEX) {
            if (io->write)
                l->rtc_index = io->data[0] & 0x7f;   /* bit 7 is the NMI mask */
            else
                io->data[0] = l->rtc_index;
        } else if (!io->write) {
            io->data[0] = rtc_read(l->rtc_index);
        }
        pthread_mutex_unlock(&l->lock);
        return 0;
    default:
        return zerr_set(e, EINVAL, "port 0x%llx is not mine", (unsigned long long)io->addr);
    }
}

static void legacy_destroy(void *opaque)
{
    struct legacy *l = opaque;
    pthread_mutex_destroy(&l->lock);
    free(l);
}

static const struct vmm_device_ops legacy_ops = {
    .name = "pc-legacy",
    .io = legacy_io,
    .destroy = legacy_destroy,
};

int vmm_legacy_add(struct vmm *vm, struct zerr *e)
{
    struct legacy *l = calloc(1, sizeof *l);
    if (!l)
        return zerr_set(e, ENOMEM, "out of memory");
    l->vm = vm;
    l->ctr = I8042_CTR_KBDDIS | I8042_CTR_AUXDIS;
    pthread_mutex_init(&l->lock, NULL);
    int dev = vmm_device_add(vm, &legacy_ops, l, e);
    if (dev < 0)
        return -1;
    if (vmm_device_map(vm, dev, VMM_SPACE_PIO, I8042_DATA, 1, e) < 0 ||
        vmm_device_map(vm, dev, VMM_SPACE_PIO, I8042_COMMAND, 1, e) < 0 ||
        vmm_device_map(vm, dev, VMM_SPACE_PIO, RTC_INDEX, 2, e) < 0)
        return -1;
    return 0;
}
