/* The monitor's private state, shared by kvm.c (VM setup), vcpu.c (the
 * vCPU threads and the one KVM_RUN exit switch), cpuid.c, bus.c (device
 * table and dispatch) and the built-in devices. */
#ifndef ZONE_VMM_IMPL_H
#define ZONE_VMM_IMPL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>

#include "vm-sandbox/vmm/boot.h"
#include "vm-sandbox/vmm/iothread.h"
#include "vm-sandbox/vmm/pci.h"
#include "vm-sandbox/vmm/virtio.h"
#include "vm-sandbox/vmm/vmm.h"

#define VMM_MAX_DEVICES 32
#define VMM_MAX_REGIONS 64

struct vmm_device {
    const struct vmm_device_ops *ops;
    void *opaque;
};

struct vmm_region {
    enum vmm_space space;
    uint64_t base, len;
    int dev;
};

struct vmm_vcpu {
    struct vmm *vm;
    unsigned index;
    int fd;
    struct kvm_run *run;
    size_t run_size;
    pthread_t thread;
    bool thread_started;
};

struct vmm {
    int kvm_fd, vm_fd;
    struct vmm_mem mem;
    unsigned nvcpus;
    struct vmm_vcpu vcpus[VMM_MAX_VCPUS];
    struct kvm_cpuid2 *supported_cpuid;
    struct vmm_cpu_entry entry;
    bool loaded, ran;
    int serial_fd;

    /* devices: fixed after vmm_run starts, so dispatch reads them unlocked */
    struct vmm_device devices[VMM_MAX_DEVICES];
    unsigned ndevices;
    struct vmm_region regions[VMM_MAX_REGIONS];
    unsigned nregions;
    struct vmm_pci *pci;           /* bus 0 (a device above); owns the PCI devices */
    struct vmm_iothread *io;       /* shared host I/O thread, made by the first device needing it */

    pthread_mutex_t lock;          /* guards stop and the device error record */
    pthread_cond_t stopped_cond;
    atomic_bool stopping;
    struct vmm_stop stop;
    atomic_ulong exits;
};

/* Records why the VM stops (the first reason wins) and wakes vmm_run. */
void vmm_stop_vm(struct vmm *vm, enum vmm_stop_reason reason, unsigned vcpu, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Counts a device error and keeps its message for struct vmm_stop. */
void vmm_record_device_error(struct vmm *vm, const char *device, const char *msg);

/* The shared I/O thread, started on first use. */
struct vmm_iothread *vmm_shared_iothread(struct vmm *vm, struct zerr *e);

/* Puts a virtio backend on the PCI bus (destroying it if that fails). */
int vmm_virtio_add(struct vmm *vm, struct vmm_virtio_backend b, struct zerr *e);

/* Sends one guest access to the device mapped there (bus.c). Unmapped
 * reads return all-ones and unmapped writes are dropped, as on a PC. */
void vmm_bus_dispatch(struct vmm *vm, struct vmm_io *io);

/* Writes per-vCPU CPUID (cpuid.c): the supported set, hypervisor bit, APIC ids. */
int vmm_cpuid_setup(struct vmm *vm, struct vmm_vcpu *vcpu, struct zerr *e);
int vmm_cpuid_load_supported(struct vmm *vm, struct zerr *e);

/* Built-in PC devices (legacy.c): i8042 reset, port 0xcf9 reset, CMOS RTC, POST port. */
int vmm_legacy_add(struct vmm *vm, struct zerr *e);

/* The vCPU thread (vcpu.c). */
void *vmm_vcpu_thread(void *arg);
int vmm_vcpu_init(struct vmm *vm, struct vmm_vcpu *vcpu, unsigned index, struct zerr *e);
int vmm_vcpu_set_boot_state(struct vmm_vcpu *vcpu, const struct vmm_cpu_entry *entry, struct zerr *e);

#endif
