/* zone's compact KVM monitor, as a library that knows nothing of OCI.
 *
 *   struct vmm *vm;
 *   vmm_create(&(struct vmm_config){ .mem_mib = 512, .vcpus = 2, .serial_fd = 1 }, &vm, &err);
 *   vmm_load_linux(vm, &(struct vmm_kernel){ "bzImage", "initrd", "console=ttyS0" }, &err);
 *   vmm_add_console(vm, 0, 1, &err);   ... virtio devices, or vmm_device_add + vmm_device_map
 *   vmm_run(vm, &stop, &err);      returns when the guest powers off or resets
 *   vmm_destroy(vm);
 *
 * Devices sit behind an ops table (one file per device, as in kvmtool);
 * the KVM_RUN exit switch lives in one place (vcpu.c) and dispatches port
 * and MMIO accesses to them. A device error is a value: it is counted and
 * recorded in struct vmm_stop, the access reads as all-ones, and the guest
 * goes on. Nothing in the library exits or aborts.
 *
 * Guest shutdown: the guest stops by rebooting (the VM never restarts).
 * Use "reboot=k panic=-1" on the command line: reboot(2) then writes 0xfe
 * to the i8042 command port, which the monitor turns into VMM_STOP_RESET;
 * a triple fault is VMM_STOP_SHUTDOWN. Linux without ACPI cannot power off
 * a PC, so a poweroff(2) in the guest would only halt it.
 *
 * Threads and signals: vmm_run runs one thread per vCPU. To pull a vCPU
 * out of KVM_RUN it sets kvm_run.immediate_exit and sends it
 * VMM_KICK_SIGNAL (SIGRTMIN + 3, thread-directed; vmm_create installs a
 * no-op handler for it). */
#ifndef ZONE_VMM_VMM_H
#define ZONE_VMM_VMM_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "vm-sandbox/vmm/mem.h"

#define VMM_KICK_SIGNAL (SIGRTMIN + 3)
#define VMM_MAX_VCPUS 64

struct vmm;

struct vmm_config {
    uint64_t mem_mib;      /* guest RAM in MiB (a multiple of 2); >3 GiB continues above 4 GiB */
    unsigned vcpus;        /* 1..VMM_MAX_VCPUS */
    int serial_fd;         /* ttyS0 output goes here; -1 drops it */
    bool have_kvm_fd;      /* use kvm_fd (duplicated) instead of opening /dev/kvm */
    int kvm_fd;
};

enum vmm_kernel_format { VMM_KERNEL_AUTO, VMM_KERNEL_BZIMAGE, VMM_KERNEL_PVH };

struct vmm_kernel {
    const char *kernel_path;   /* bzImage, or an uncompressed ELF vmlinux (PVH) */
    const char *initrd_path;   /* NULL: none */
    const char *cmdline;
    enum vmm_kernel_format format;  /* AUTO: ELF -> PVH, anything else -> bzImage */
    /* have_fds: read these open files (initrd_fd -1: none); the paths
     * then only name them in errors */
    bool have_fds;
    int kernel_fd, initrd_fd;
};

enum vmm_stop_reason {
    VMM_STOP_NONE,
    VMM_STOP_RESET,       /* i8042 0xfe or port 0xcf9 reset: the guest's way to stop */
    VMM_STOP_SHUTDOWN,    /* triple fault (KVM_EXIT_SHUTDOWN) */
    VMM_STOP_POWEROFF,    /* KVM_EXIT_SYSTEM_EVENT shutdown, or a device's power-off */
    VMM_STOP_REQUESTED,   /* vmm_request_stop from the host side */
    VMM_STOP_ERROR,       /* KVM_RUN failed, internal error, failed entry */
};

struct vmm_stop {
    enum vmm_stop_reason reason;
    unsigned vcpu;                  /* the vCPU that stopped the VM */
    char detail[256];               /* what happened, for VMM_STOP_ERROR especially */
    unsigned long device_errors;    /* device errors survived while running */
    char last_device_error[256];
    unsigned long exits;            /* exits to the monitor's userspace, all vCPUs */
};

const char *vmm_stop_reason_name(enum vmm_stop_reason r);

int vmm_create(const struct vmm_config *cfg, struct vmm **out, struct zerr *e);

/* Loads the kernel, initrd and command line and sets the boot vCPU's
 * registers. Call once, before vmm_run (which writes the MP table, with
 * the PCI interrupt routes of the devices added by then). */
int vmm_load_linux(struct vmm *vm, const struct vmm_kernel *k, struct zerr *e);

/* Runs all vCPUs until the guest stops; 0 with *stop filled, or -1 when the
 * VM could not be started. */
int vmm_run(struct vmm *vm, struct vmm_stop *stop, struct zerr *e);

/* Stops a running VM from another thread (not async-signal-safe). */
void vmm_request_stop(struct vmm *vm, enum vmm_stop_reason reason, const char *why);

/* Frees everything, including every device added (its destroy op). */
void vmm_destroy(struct vmm *vm);

/* ---- devices ---- */

enum vmm_space { VMM_SPACE_PIO, VMM_SPACE_MMIO };

struct vmm_io {
    enum vmm_space space;
    uint64_t addr;        /* port or guest physical address */
    uint64_t offset;      /* from the start of the mapped region */
    unsigned len;         /* 1, 2, 4 or 8 */
    bool write;
    uint8_t data[8];      /* little endian; a read fills it */
    unsigned vcpu;
};

struct vmm_device_ops {
    const char *name;
    /* One access; called from vCPU threads, possibly several at once (the
     * device locks its own state). Returns 0, or -1 with e set: the monitor
     * records the error and goes on. */
    int (*io)(void *opaque, struct vmm_io *io, struct zerr *e);
    void (*destroy)(void *opaque);
};

/* Adds a device; the VM owns opaque from now on (destroy is called by
 * vmm_destroy, or at once if adding fails). Returns the device id or -1. */
int vmm_device_add(struct vmm *vm, const struct vmm_device_ops *ops, void *opaque, struct zerr *e);

/* Routes [base, base+len) of a space to a device; overlaps are refused. */
int vmm_device_map(struct vmm *vm, int dev, enum vmm_space space, uint64_t base, uint64_t len,
                   struct zerr *e);

/* Drives an interrupt line (GSI 0-23 of the in-kernel PIC/IOAPIC). */
int vmm_irq_set(struct vmm *vm, unsigned gsi, int level, struct zerr *e);

/* Bounds-checked guest memory (see mem.h). */
const struct vmm_mem *vmm_memory(const struct vmm *vm);

unsigned vmm_vcpu_count(const struct vmm *vm);

/* ---- virtio devices ----
 * Each is a modern virtio-pci device in the next free slot of PCI bus 0,
 * interrupting through INTA (see docs/vm.md). Add them between vmm_create
 * and vmm_run; the guest needs the virtio_pci module and the device's. */

/* A console (hvc0 in the guest): what the guest writes goes to out_fd,
 * what arrives on in_fd goes to the guest (EOF ends input). Neither fd is
 * closed; in_fd may be -1 (no input). */
int vmm_add_console(struct vmm *vm, int in_fd, int out_fd, struct zerr *e);

/* vsock, host side on unix sockets as in Firecracker:
 *  - the guest connecting to host port P (CID 2) connects the monitor to
 *    the unix socket "<uds_path>_<P>";
 *  - a host process connecting to the unix socket uds_path (which the
 *    monitor creates, and removes in vmm_destroy) and writing
 *    "CONNECT <port>\n" is connected to guest port <port>, and reads
 *    "OK <host port>\n" first; if the guest refuses, the socket closes. */
struct vmm_vsock_config {
    uint32_t guest_cid;      /* 0: 3 */
    const char *uds_path;
};
int vmm_add_vsock(struct vmm *vm, const struct vmm_vsock_config *c, struct zerr *e);

/* A 9p share of host_dir, mounted in the guest with
 * "mount -t 9p -o trans=virtio,version=9p2000.L TAG DIR". */
int vmm_add_9p(struct vmm *vm, const char *tag, const char *host_dir, bool read_only, struct zerr *e);

#endif
