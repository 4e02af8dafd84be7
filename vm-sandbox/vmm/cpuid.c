/* CPUID for each vCPU: what KVM_GET_SUPPORTED_CPUID reports, plus the
 * hypervisor bit (CPUID.1:ECX[31]) and per-vCPU APIC ids. The Debian kernel
 * only uses kvm-clock when it sees the hypervisor bit and the KVM leaves
 * (0x40000000: "KVMKVMKVM"); without it the guest tries to calibrate the
 * TSC against the PIT and hangs under nested virtualisation. */
#include "vm-sandbox/vmm/vmm_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define CPUID_HYPERVISOR_BIT (1u << 31)
#define KVM_CPUID_SIGNATURE 0x40000000u

int vmm_cpuid_load_supported(struct vmm *vm, struct zerr *e)
{
    for (unsigned nent = 128; nent <= 4096; nent *= 2) {
        struct kvm_cpuid2 *c = calloc(1, sizeof *c + nent * sizeof(struct kvm_cpuid_entry2));
        if (!c)
            return zerr_set(e, ENOMEM, "cpuid: out of memory");
        c->nent = nent;
        if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            bool has_kvm_leaf = false;
            for (unsigned i = 0; i < c->nent; i++)
                if (c->entries[i].function == KVM_CPUID_SIGNATURE)
                    has_kvm_leaf = true;
            if (!has_kvm_leaf) {
                free(c);
                return zerr_set(e, ENOTSUP, "cpuid: KVM reports no paravirtual leaf 0x40000000");
            }
            vm->supported_cpuid = c;
            return 0;
        }
        int saved = errno;
        free(c);
        if (saved != E2BIG) {
            errno = saved;
            return zerr_sys(e, "KVM_GET_SUPPORTED_CPUID");
        }
    }
    return zerr_set(e, E2BIG, "KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

int vmm_cpuid_setup(struct vmm *vm, struct vmm_vcpu *vcpu, struct zerr *e)
{
    const struct kvm_cpuid2 *sup = vm->supported_cpuid;
    size_t bytes = sizeof *sup + sup->nent * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *c = malloc(bytes);
    if (!c)
        return zerr_set(e, ENOMEM, "cpuid: out of memory");
    memcpy(c, sup, bytes);
    uint32_t apic_id = vcpu->index;
    for (unsigned i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *ent = &c->entries[i];
        switch (ent->function) {
        case 1:
            ent->ecx |= CPUID_HYPERVISOR_BIT;
            /* EBX[31:24]: initial APIC id (the MP table lists ids 0..n-1) */
            ent->ebx = (ent->ebx & 0x00ffffffu) | (apic_id << 24);
            break;
        case 0xb:
        case 0x1f:
            ent->edx = apic_id;          /* x2APIC id */
            break;
        default:
            break;
        }
    }
    int r = ioctl(vcpu->fd, KVM_SET_CPUID2, c);
    free(c);
    if (r < 0)
        return zerr_sys(e, "vCPU %u: KVM_SET_CPUID2", vcpu->index);
    return 0;
}
