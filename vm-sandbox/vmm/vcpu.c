/* vCPUs: creation, boot register state, MSRs, LAPIC wiring, and the one
 * KVM_RUN exit switch. Every exit to userspace is handled here and nowhere
 * else; devices only see struct vmm_io. */
#include "vm-sandbox/vmm/vmm_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MSR_IA32_SYSENTER_CS  0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE  0x1a0
#define MSR_MTRR_DEF_TYPE     0x2ff
#define MSR_STAR              0xc0000081
#define MSR_LSTAR             0xc0000082
#define MSR_CSTAR             0xc0000083
#define MSR_SYSCALL_MASK      0xc0000084
#define MSR_KERNEL_GS_BASE    0xc0000102

#define MISC_ENABLE_FAST_STRING 1ULL
#define MTRR_ENABLE_WRITEBACK   ((1ULL << 11) | 6)   /* MTRRs on, default type WB */

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI    4
#define APIC_MODE_EXTINT 7

static int set_msrs(struct vmm_vcpu *vcpu, struct zerr *e)
{
    static const struct { uint32_t index; uint64_t value; } list[] = {
        { MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 }, { MSR_IA32_SYSENTER_EIP, 0 },
        { MSR_STAR, 0 }, { MSR_CSTAR, 0 }, { MSR_KERNEL_GS_BASE, 0 }, { MSR_SYSCALL_MASK, 0 },
        { MSR_LSTAR, 0 }, { MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
        { MSR_MTRR_DEF_TYPE, MTRR_ENABLE_WRITEBACK },
    };
    /* struct kvm_msrs ends in a flexible array: give it room for the list */
    union {
        struct kvm_msrs hdr;
        uint8_t room[sizeof(struct kvm_msrs) + 16 * sizeof(struct kvm_msr_entry)];
    } msrs;
    memset(&msrs, 0, sizeof msrs);
    for (unsigned i = 0; i < sizeof list / sizeof list[0]; i++) {
        msrs.hdr.entries[i].index = list[i].index;
        msrs.hdr.entries[i].data = list[i].value;
    }
    msrs.hdr.nmsrs = sizeof list / sizeof list[0];
    int r = ioctl(vcpu->fd, KVM_SET_MSRS, &msrs);
    if (r < 0)
        return zerr_sys(e, "vCPU %u: KVM_SET_MSRS", vcpu->index);
    if ((unsigned)r != msrs.hdr.nmsrs)
        return zerr_set(e, EINVAL, "vCPU %u: KVM_SET_MSRS: KVM refused MSR 0x%x", vcpu->index,
                        msrs.hdr.entries[r].index);
    return 0;
}

/* LINT0 delivers the 8259 PIC's ExtINT and LINT1 the NMI, as a PC's
 * firmware leaves them; the MP table tells Linux the same. */
static int set_lapic_lint(struct vmm_vcpu *vcpu, struct zerr *e)
{
    struct kvm_lapic_state lapic;
    if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
        return zerr_sys(e, "vCPU %u: KVM_GET_LAPIC", vcpu->index);
    uint32_t lvt0, lvt1;
    memcpy(&lvt0, lapic.regs + APIC_LVT0, 4);
    memcpy(&lvt1, lapic.regs + APIC_LVT1, 4);
    lvt0 = (lvt0 & ~0x700u) | (APIC_MODE_EXTINT << 8);
    lvt1 = (lvt1 & ~0x700u) | (APIC_MODE_NMI << 8);
    memcpy(lapic.regs + APIC_LVT0, &lvt0, 4);
    memcpy(lapic.regs + APIC_LVT1, &lvt1, 4);
    if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
        return zerr_sys(e, "vCPU %u: KVM_SET_LAPIC", vcpu->index);
    return 0;
}

int vmm_vcpu_init(struct vmm *vm, struct vmm_vcpu *vcpu, unsigned index, struct zerr *e)
{
    vcpu->vm = vm;
    vcpu->index = index;
    vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
    if (vcpu->fd < 0)
        return zerr_sys(e, "vCPU %u: KVM_CREATE_VCPU", index);
    int size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < (int)sizeof(struct kvm_run))
        return zerr_sys(e, "KVM_GET_VCPU_MMAP_SIZE");
    void *run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
    if (run == MAP_FAILED)
        return zerr_sys(e, "vCPU %u: mmap kvm_run", index);
    vcpu->run = run;
    vcpu->run_size = (size_t)size;
    if (vmm_cpuid_setup(vm, vcpu, e) < 0 || set_msrs(vcpu, e) < 0 || set_lapic_lint(vcpu, e) < 0)
        return -1;
    return 0;
}

static void to_kvm_segment(struct kvm_segment *k, const struct vmm_segment *s)
{
    memset(k, 0, sizeof *k);
    k->base = s->base;
    k->limit = s->limit;
    k->selector = s->selector;
    k->type = s->type;
    k->present = s->present;
    k->dpl = s->dpl;
    k->db = s->db;
    k->s = s->s;
    k->l = s->l;
    k->g = s->g;
}

int vmm_vcpu_set_boot_state(struct vmm_vcpu *vcpu, const struct vmm_cpu_entry *c, struct zerr *e)
{
    struct kvm_sregs sregs;
    struct kvm_regs regs;
    struct kvm_fpu fpu;
    if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
        return zerr_sys(e, "vCPU %u: KVM_GET_SREGS", vcpu->index);
    to_kvm_segment(&sregs.cs, &c->cs);
    to_kvm_segment(&sregs.ds, &c->ds);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    to_kvm_segment(&sregs.tr, &c->tr);
    sregs.gdt.base = c->gdt_base;
    sregs.gdt.limit = c->gdt_limit;
    sregs.idt.base = 0;
    sregs.idt.limit = 0;
    sregs.cr0 = c->cr0;
    sregs.cr3 = c->cr3;
    sregs.cr4 = c->cr4;
    sregs.efer = c->efer;
    if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
        return zerr_sys(e, "vCPU %u: KVM_SET_SREGS", vcpu->index);
    memset(&regs, 0, sizeof regs);
    regs.rip = c->rip;
    regs.rsi = c->rsi;
    regs.rbx = c->rbx;
    regs.rsp = c->rsp;
    regs.rflags = c->rflags;
    if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
        return zerr_sys(e, "vCPU %u: KVM_SET_REGS", vcpu->index);
    memset(&fpu, 0, sizeof fpu);
    fpu.fcw = 0x37f;     /* x87 reset value */
    fpu.mxcsr = 0x1f80;  /* SSE reset value: all exceptions masked */
    if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
        return zerr_sys(e, "vCPU %u: KVM_SET_FPU", vcpu->index);
    return 0;
}

void vmm_stop_vm(struct vmm *vm, enum vmm_stop_reason reason, unsigned vcpu, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&vm->lock);
    if (vm->stop.reason == VMM_STOP_NONE) {
        vm->stop.reason = reason;
        vm->stop.vcpu = vcpu;
        va_start(ap, fmt);
        vsnprintf(vm->stop.detail, sizeof vm->stop.detail, fmt, ap);
        va_end(ap);
    }
    atomic_store(&vm->stopping, true);
    pthread_cond_broadcast(&vm->stopped_cond);
    pthread_mutex_unlock(&vm->lock);
}

static void io_exit(struct vmm_vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    unsigned size = run->io.size;
    uint64_t total = (uint64_t)run->io.count * size;
    /* KVM wrote these fields, but check before touching the shared page */
    if (size == 0 || size > 4 || run->io.data_offset > vcpu->run_size ||
        total > vcpu->run_size - run->io.data_offset)
        return;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    for (uint32_t i = 0; i < run->io.count; i++, data += size) {
        struct vmm_io io = { .space = VMM_SPACE_PIO, .addr = run->io.port, .len = size,
                             .write = run->io.direction == KVM_EXIT_IO_OUT, .vcpu = vcpu->index };
        if (io.write)
            memcpy(io.data, data, size);
        vmm_bus_dispatch(vcpu->vm, &io);
        if (!io.write)
            memcpy(data, io.data, size);
    }
}

static void mmio_exit(struct vmm_vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    unsigned len = run->mmio.len;
    if (len == 0 || len > 8)
        return;
    struct vmm_io io = { .space = VMM_SPACE_MMIO, .addr = run->mmio.phys_addr, .len = len,
                         .write = run->mmio.is_write, .vcpu = vcpu->index };
    if (io.write)
        memcpy(io.data, run->mmio.data, len);
    vmm_bus_dispatch(vcpu->vm, &io);
    if (!io.write)
        memcpy(run->mmio.data, io.data, len);
}

/* The exit switch: returns true to re-enter the guest. */
static bool handle_exit(struct vmm_vcpu *vcpu)
{
    struct vmm *vm = vcpu->vm;
    struct kvm_run *run = vcpu->run;
    atomic_fetch_add_explicit(&vm->exits, 1, memory_order_relaxed);
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        io_exit(vcpu);
        return true;
    case KVM_EXIT_MMIO:
        mmio_exit(vcpu);
        return true;
    case KVM_EXIT_INTR:
        return true;
    case KVM_EXIT_HLT:
        /* only without an in-kernel LAPIC; ours has one, so a halt here
         * means the guest stopped for good */
        vmm_stop_vm(vm, VMM_STOP_POWEROFF, vcpu->index, "vCPU %u halted", vcpu->index);
        return false;
    case KVM_EXIT_SHUTDOWN:
        vmm_stop_vm(vm, VMM_STOP_SHUTDOWN, vcpu->index, "vCPU %u: triple fault", vcpu->index);
        return false;
    case KVM_EXIT_SYSTEM_EVENT:
        switch (run->system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN:
            vmm_stop_vm(vm, VMM_STOP_POWEROFF, vcpu->index, "system event: shutdown");
            break;
        case KVM_SYSTEM_EVENT_RESET:
            vmm_stop_vm(vm, VMM_STOP_RESET, vcpu->index, "system event: reset");
            break;
        default:
            vmm_stop_vm(vm, VMM_STOP_ERROR, vcpu->index, "system event %u", run->system_event.type);
            break;
        }
        return false;
    case KVM_EXIT_INTERNAL_ERROR:
        vmm_stop_vm(vm, VMM_STOP_ERROR, vcpu->index, "vCPU %u: KVM internal error, suberror %u",
                    vcpu->index, run->internal.suberror);
        return false;
    case KVM_EXIT_FAIL_ENTRY:
        vmm_stop_vm(vm, VMM_STOP_ERROR, vcpu->index, "vCPU %u: entry failed, hardware reason 0x%llx",
                    vcpu->index, (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        return false;
    default:
        vmm_stop_vm(vm, VMM_STOP_ERROR, vcpu->index, "vCPU %u: unexpected KVM exit %u", vcpu->index,
                    run->exit_reason);
        return false;
    }
}

void *vmm_vcpu_thread(void *arg)
{
    struct vmm_vcpu *vcpu = arg;
    struct vmm *vm = vcpu->vm;
    sigset_t kick;
    sigemptyset(&kick);
    sigaddset(&kick, VMM_KICK_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
    while (!atomic_load(&vm->stopping)) {
        if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            vmm_stop_vm(vm, VMM_STOP_ERROR, vcpu->index, "vCPU %u: KVM_RUN: %s", vcpu->index, strerror(errno));
            break;
        }
        if (!handle_exit(vcpu))
            break;
    }
    return NULL;
}
