/* The device table and access dispatch. Devices are added and mapped
 * before vmm_run; after that the table is read-only, so vCPU threads look
 * it up without a lock. A failing device never stops the VM: its error is
 * counted and kept for struct vmm_stop. */
#include "vm-sandbox/vmm/vmm_impl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int vmm_device_add(struct vmm *vm, const struct vmm_device_ops *ops, void *opaque, struct zerr *e)
{
    if (vm->ran || vm->ndevices == VMM_MAX_DEVICES || !ops || !ops->io) {
        if (ops && ops->destroy)
            ops->destroy(opaque);
        if (vm->ran)
            return zerr_set(e, EBUSY, "device %s: the VM is already running", ops ? ops->name : "?");
        if (!ops || !ops->io)
            return zerr_set(e, EINVAL, "device: no io operation");
        return zerr_set(e, ENOSPC, "device %s: at most %d devices", ops->name, VMM_MAX_DEVICES);
    }
    vm->devices[vm->ndevices] = (struct vmm_device){ .ops = ops, .opaque = opaque };
    return (int)vm->ndevices++;
}

int vmm_device_map(struct vmm *vm, int dev, enum vmm_space space, uint64_t base, uint64_t len,
                   struct zerr *e)
{
    if (dev < 0 || (unsigned)dev >= vm->ndevices)
        return zerr_set(e, EINVAL, "device map: no device %d", dev);
    const char *name = vm->devices[dev].ops->name;
    if (vm->ran)
        return zerr_set(e, EBUSY, "device %s: the VM is already running", name);
    uint64_t limit = space == VMM_SPACE_PIO ? 0x10000 : UINT64_MAX;
    if (len == 0 || base > limit || len > limit - base)
        return zerr_set(e, EINVAL, "device %s: region 0x%llx+0x%llx is out of range", name,
                        (unsigned long long)base, (unsigned long long)len);
    if (space == VMM_SPACE_MMIO && vmm_mem_ptr(&vm->mem, base, 1))
        return zerr_set(e, EINVAL, "device %s: MMIO region 0x%llx lies in guest RAM", name,
                        (unsigned long long)base);
    for (unsigned i = 0; i < vm->nregions; i++) {
        const struct vmm_region *r = &vm->regions[i];
        if (r->space == space && base < r->base + r->len && r->base < base + len)
            return zerr_set(e, EEXIST, "device %s: region 0x%llx+0x%llx overlaps device %s", name,
                            (unsigned long long)base, (unsigned long long)len,
                            vm->devices[r->dev].ops->name);
    }
    if (vm->nregions == VMM_MAX_REGIONS)
        return zerr_set(e, ENOSPC, "device %s: at most %d regions", name, VMM_MAX_REGIONS);
    vm->regions[vm->nregions++] = (struct vmm_region){ .space = space, .base = base, .len = len, .dev = dev };
    return 0;
}

static const struct vmm_region *find_region(const struct vmm *vm, enum vmm_space space, uint64_t addr,
                                            unsigned len)
{
    for (unsigned i = 0; i < vm->nregions; i++) {
        const struct vmm_region *r = &vm->regions[i];
        if (r->space == space && addr >= r->base && addr - r->base < r->len && len <= r->len - (addr - r->base))
            return r;
    }
    return NULL;
}

void vmm_bus_dispatch(struct vmm *vm, struct vmm_io *io)
{
    const struct vmm_region *r = find_region(vm, io->space, io->addr, io->len);
    if (!r) {
        if (!io->write)
            memset(io->data, 0xff, sizeof io->data);
        return;
    }
    const struct vmm_device *d = &vm->devices[r->dev];
    struct zerr err = { 0 };
    io->offset = io->addr - r->base;
    if (!io->write)
        memset(io->data, 0, sizeof io->data);
    if (d->ops->io(d->opaque, io, &err) == 0)
        return;
    if (!io->write)
        memset(io->data, 0xff, sizeof io->data);
    vmm_record_device_error(vm, d->ops->name, err.msg);
}

void vmm_record_device_error(struct vmm *vm, const char *device, const char *msg)
{
    pthread_mutex_lock(&vm->lock);
    vm->stop.device_errors++;
    snprintf(vm->stop.last_device_error, sizeof vm->stop.last_device_error, "%s: %.200s", device, msg);
    pthread_mutex_unlock(&vm->lock);
}
