/* The VM: /dev/kvm, the in-kernel irqchip (PIC + IOAPIC + LAPICs) and PIT,
 * guest memory slots, vCPUs, and vmm_run's start/stop of the vCPU threads. */
#include "vm-sandbox/vmm/vmm_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "vm-sandbox/vmm/mptable.h"
#include "vm-sandbox/vmm/uart8250.h"
#include "vm-sandbox/vmm/virtio_pci.h"

/* Intel VMX needs three pages for the real-mode TSS and one for the EPT
 * identity map; both sit in the hole below 4 GiB, outside RAM. */
#define KVM_TSS_ADDR          0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL

const char *vmm_stop_reason_name(enum vmm_stop_reason r)
{
    switch (r) {
    case VMM_STOP_NONE: return "none";
    case VMM_STOP_RESET: return "reset";
    case VMM_STOP_SHUTDOWN: return "shutdown";
    case VMM_STOP_POWEROFF: return "poweroff";
    case VMM_STOP_REQUESTED: return "requested";
    case VMM_STOP_ERROR: return "error";
    }
    return "unknown";
}

static void kick_handler(int sig) { (void)sig; }

static int install_kick_handler(struct zerr *e)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = kick_handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(VMM_KICK_SIGNAL, &sa, NULL) < 0)
        return zerr_sys(e, "sigaction(vCPU kick signal)");
    return 0;
}

static int pci_set_irq(void *ctx, unsigned gsi, int level, struct zerr *e)
{
    return vmm_irq_set(ctx, gsi, level, e);
}

static void pci_reset(void *ctx, unsigned vcpu)
{
    vmm_stop_vm(ctx, VMM_STOP_RESET, vcpu, "reset control register 0xcf9 (vCPU %u)", vcpu);
}

static void pci_report(void *ctx, const char *device, const char *msg)
{
    vmm_record_device_error(ctx, device, msg);
}

static int pci_bus_io(void *opaque, struct vmm_io *io, struct zerr *e) { return vmm_pci_io(opaque, io, e); }
static void pci_bus_destroy(void *opaque) { vmm_pci_free(opaque); }

static const struct vmm_device_ops pci_bus_ops = { .name = "pci", .io = pci_bus_io, .destroy = pci_bus_destroy };

/* The host bridge answers Linux's PCI probe even with no devices; the
 * whole hole below the IOAPIC goes to the bus so BARs may move in it. */
static int pci_setup(struct vmm *vm, struct zerr *e)
{
    struct vmm_pci_platform plat = { .ctx = vm, .set_irq = pci_set_irq, .reset = pci_reset,
                                     .report_error = pci_report };
    struct vmm_pci *bus;
    if (vmm_pci_new(&plat, &bus, e) < 0)
        return -1;
    int dev = vmm_device_add(vm, &pci_bus_ops, bus, e);
    if (dev < 0)
        return -1;
    vm->pci = bus;
    if (vmm_device_map(vm, dev, VMM_SPACE_PIO, VMM_PCI_CONFIG_PORT, VMM_PCI_CONFIG_PORTS, e) < 0 ||
        vmm_device_map(vm, dev, VMM_SPACE_MMIO, VMM_PCI_MMIO_BASE, VMM_PCI_MMIO_END - VMM_PCI_MMIO_BASE, e) < 0)
        return -1;
    return 0;
}

struct vmm_iothread *vmm_shared_iothread(struct vmm *vm, struct zerr *e)
{
    if (!vm->io && vmm_iothread_new("zone-vmm-io", &vm->io, e) < 0)
        return NULL;
    return vm->io;
}

int vmm_virtio_add(struct vmm *vm, struct vmm_virtio_backend b, struct zerr *e)
{
    if (vm->ran) {
        if (b.ops && b.ops->destroy)
            b.ops->destroy(b.opaque);
        return zerr_set(e, EBUSY, "virtio device %s: the VM is already running", b.ops ? b.ops->name : "?");
    }
    return vmm_virtio_pci_new(vm->pci, &vm->mem, b, NULL, e);
}

static int vm_setup(struct vmm *vm, const struct vmm_config *cfg, struct zerr *e)
{
    vm->kvm_fd = cfg->have_kvm_fd ? fcntl(cfg->kvm_fd, F_DUPFD_CLOEXEC, 3) : open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0)
        return zerr_sys(e, cfg->have_kvm_fd ? "/dev/kvm: dup" : "open /dev/kvm");
    int version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION)
        return zerr_set(e, ENOTSUP, "/dev/kvm: API version %d, expected %d", version, KVM_API_VERSION);
    static const struct { long cap; const char *name; } caps[] = {
        { KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" }, { KVM_CAP_PIT2, "KVM_CAP_PIT2" },
        { KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" }, { KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
        { KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
    };
    for (unsigned i = 0; i < ZARRAY_SIZE(caps); i++)
        if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0)
            return zerr_set(e, ENOTSUP, "/dev/kvm: %s is missing", caps[i].name);
    int max_vcpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (max_vcpus > 0 && cfg->vcpus > (unsigned)max_vcpus)
        return zerr_set(e, EINVAL, "%u vCPUs: KVM allows at most %d", cfg->vcpus, max_vcpus);

    vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0)
        return zerr_sys(e, "KVM_CREATE_VM");
    if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
        return zerr_sys(e, "KVM_SET_TSS_ADDR");
    uint64_t identity = KVM_IDENTITY_MAP_ADDR;
    if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
        return zerr_sys(e, "KVM_SET_IDENTITY_MAP_ADDR");
    if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        return zerr_sys(e, "KVM_CREATE_IRQCHIP");
    struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
    if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
        return zerr_sys(e, "KVM_CREATE_PIT2");

    if (vmm_mem_alloc(&vm->mem, cfg->mem_mib << 20, e) < 0)
        return -1;
    for (unsigned i = 0; i < vm->mem.nranges; i++) {
        struct kvm_userspace_memory_region region = {
            .slot = i, .guest_phys_addr = vm->mem.ranges[i].gpa,
            .memory_size = vm->mem.ranges[i].size,
            .userspace_addr = (uint64_t)(uintptr_t)vm->mem.ranges[i].host,
        };
        if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
            return zerr_sys(e, "KVM_SET_USER_MEMORY_REGION slot %u", i);
    }
    if (vmm_cpuid_load_supported(vm, e) < 0)
        return -1;
    for (unsigned i = 0; i < cfg->vcpus; i++) {
        vm->nvcpus = i + 1;   /* so destroy releases the one that failed half-way */
        if (vmm_vcpu_init(vm, &vm->vcpus[i], i, e) < 0)
            return -1;
    }
    if (vmm_legacy_add(vm, e) < 0)
        return zerr_prefix(e, "legacy devices");
    if (vmm_uart_add(vm, VMM_UART_COM1_PORT, VMM_UART_COM1_IRQ, cfg->serial_fd, NULL, e) < 0)
        return zerr_prefix(e, "ttyS0");
    if (pci_setup(vm, e) < 0)
        return zerr_prefix(e, "PCI bus");
    return 0;
}

int vmm_create(const struct vmm_config *cfg, struct vmm **out, struct zerr *e)
{
    *out = NULL;
    if (cfg->vcpus == 0 || cfg->vcpus > VMM_MAX_VCPUS)
        return zerr_set(e, EINVAL, "%u vCPUs: need 1..%d", cfg->vcpus, VMM_MAX_VCPUS);
    if (install_kick_handler(e) < 0)
        return -1;
    struct vmm *vm = calloc(1, sizeof *vm);
    if (!vm)
        return zerr_set(e, ENOMEM, "vmm: out of memory");
    vm->kvm_fd = vm->vm_fd = -1;
    for (unsigned i = 0; i < VMM_MAX_VCPUS; i++)
        vm->vcpus[i].fd = -1;
    vm->serial_fd = cfg->serial_fd;
    pthread_mutex_init(&vm->lock, NULL);
    pthread_cond_init(&vm->stopped_cond, NULL);
    if (vm_setup(vm, cfg, e) < 0) {
        vmm_destroy(vm);
        return -1;
    }
    *out = vm;
    return 0;
}

int vmm_load_linux(struct vmm *vm, const struct vmm_kernel *k, struct zerr *e)
{
    struct vmm_boot_info info;
    if (vm->loaded)
        return zerr_set(e, EBUSY, "a kernel is already loaded");
    _cleanup_close_ int kfd = k->have_fds ? fcntl(k->kernel_fd, F_DUPFD_CLOEXEC, 3)
                                          : open(k->kernel_path, O_RDONLY | O_CLOEXEC);
    if (kfd < 0)
        return zerr_sys(e, "kernel %s", k->kernel_path);
    _cleanup_close_ int ifd = -1;
    if (k->have_fds ? k->initrd_fd >= 0 : k->initrd_path != NULL) {
        ifd = k->have_fds ? fcntl(k->initrd_fd, F_DUPFD_CLOEXEC, 3) : open(k->initrd_path, O_RDONLY | O_CLOEXEC);
        if (ifd < 0)
            return zerr_sys(e, "initrd %s", k->initrd_path ? k->initrd_path : "");
    }
    enum vmm_kernel_format format = k->format;
    if (format == VMM_KERNEL_AUTO) {
        int elf = vmm_boot_is_elf(kfd, e);
        if (elf < 0)
            return zerr_prefix(e, "%s", k->kernel_path);
        format = elf ? VMM_KERNEL_PVH : VMM_KERNEL_BZIMAGE;
    }
    int r = format == VMM_KERNEL_PVH
                ? vmm_boot_pvh(&vm->mem, kfd, ifd, k->cmdline, &vm->entry, &info, e)
                : vmm_boot_bzimage(&vm->mem, kfd, ifd, k->cmdline, &vm->entry, &info, e);
    if (r < 0)
        return zerr_prefix(e, "%s", k->kernel_path);
    if (vmm_vcpu_set_boot_state(&vm->vcpus[0], &vm->entry, e) < 0)
        return -1;
    vm->loaded = true;
    return 0;
}

static void kick_all(struct vmm *vm)
{
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        struct vmm_vcpu *v = &vm->vcpus[i];
        if (!v->thread_started)
            continue;
        __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        pthread_kill(v->thread, VMM_KICK_SIGNAL);
    }
}

int vmm_run(struct vmm *vm, struct vmm_stop *stop, struct zerr *e)
{
    memset(stop, 0, sizeof *stop);
    if (!vm->loaded)
        return zerr_set(e, EINVAL, "vmm_run: no kernel loaded");
    if (vm->ran)
        return zerr_set(e, EBUSY, "vmm_run: a VM runs only once");
    /* the MP table goes in last, when every PCI device and its INTx route is known */
    struct vmm_mp_pci_irq routes[VMM_PCI_SLOTS];
    unsigned nroutes = vmm_pci_routes(vm->pci, routes, VMM_PCI_SLOTS);
    if (vmm_mptable_write(&vm->mem, vm->nvcpus, routes, nroutes, e) < 0)
        return -1;
    vm->ran = true;

    /* vCPU threads start with every signal blocked except the kick, so
     * process-directed signals go to the caller's threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int failed = 0;
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        int r = pthread_create(&vm->vcpus[i].thread, NULL, vmm_vcpu_thread, &vm->vcpus[i]);
        if (r != 0) {
            errno = r;
            zerr_sys(e, "vCPU %u: pthread_create", i);
            failed = 1;
            break;
        }
        vm->vcpus[i].thread_started = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (failed)
        vmm_stop_vm(vm, VMM_STOP_ERROR, 0, "could not start every vCPU");

    pthread_mutex_lock(&vm->lock);
    while (!atomic_load(&vm->stopping))
        pthread_cond_wait(&vm->stopped_cond, &vm->lock);
    pthread_mutex_unlock(&vm->lock);

    kick_all(vm);
    for (unsigned i = 0; i < vm->nvcpus; i++)
        if (vm->vcpus[i].thread_started) {
            pthread_join(vm->vcpus[i].thread, NULL);
            vm->vcpus[i].thread_started = false;
        }
    pthread_mutex_lock(&vm->lock);
    *stop = vm->stop;
    pthread_mutex_unlock(&vm->lock);
    stop->exits = atomic_load(&vm->exits);
    return failed ? -1 : 0;
}

void vmm_request_stop(struct vmm *vm, enum vmm_stop_reason reason, const char *why)
{
    vmm_stop_vm(vm, reason, 0, "%s", why ? why : "stop requested");
}

void vmm_destroy(struct vmm *vm)
{
    if (!vm)
        return;
    /* no device callback may run while devices go away */
    vmm_iothread_stop(vm->io);
    for (unsigned i = vm->ndevices; i-- > 0;)
        if (vm->devices[i].ops->destroy)
            vm->devices[i].ops->destroy(vm->devices[i].opaque);
    vmm_iothread_free(vm->io);
    for (unsigned i = 0; i < VMM_MAX_VCPUS; i++) {
        struct vmm_vcpu *v = &vm->vcpus[i];
        if (v->run)
            munmap(v->run, v->run_size);
        if (v->fd >= 0)
            close(v->fd);
    }
    vmm_mem_free(&vm->mem);
    free(vm->supported_cpuid);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    pthread_mutex_destroy(&vm->lock);
    pthread_cond_destroy(&vm->stopped_cond);
    free(vm);
}

int vmm_irq_set(struct vmm *vm, unsigned gsi, int level, struct zerr *e)
{
    struct kvm_irq_level irq = { .irq = gsi, .level = level ? 1 : 0 };
    if (gsi >= VMM_IOAPIC_PINS)
        return zerr_set(e, EINVAL, "IRQ %u: only GSIs 0..%d exist", gsi, VMM_IOAPIC_PINS - 1);
    if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
        return zerr_sys(e, "KVM_IRQ_LINE %u", gsi);
    return 0;
}

const struct vmm_mem *vmm_memory(const struct vmm *vm) { return &vm->mem; }

unsigned vmm_vcpu_count(const struct vmm *vm) { return vm->nvcpus; }
