/* Linux boot on x86-64 without firmware: the bzImage 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst) and the PVH entry of an uncompressed
 * vmlinux (the XEN_ELFNOTE_PHYS32_ENTRY note). Both write everything the
 * kernel needs into guest memory and describe the boot vCPU's registers in
 * a struct vmm_cpu_entry, which kvm.c turns into KVM register state. No KVM
 * here, so all of it is unit-tested on plain memory.
 *
 * Guest physical layout below 1 MiB:
 *   0x0500  GDT              0x6000  PVH start info, module list, memmap
 *   0x7000  boot_params      0x8ff0  boot stack top
 *   0x9000  PML4, 0xa000 PDPT, 0xb000..0xefff four PDs (identity 4 GiB, 2 MiB pages)
 *   0x20000 command line     0x9fc00 MP table (EBDA, reserved in e820)
 * The kernel goes to its preferred address (16 MiB for Debian) and the
 * initrd to the top of low RAM. */
#ifndef ZONE_VMM_BOOT_H
#define ZONE_VMM_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "vm-sandbox/vmm/mem.h"

#define VMM_BOOT_GDT         0x500ULL
#define VMM_BOOT_START_INFO  0x6000ULL
#define VMM_BOOT_PARAMS      0x7000ULL
#define VMM_BOOT_STACK_TOP   0x8ff0ULL
#define VMM_BOOT_PML4        0x9000ULL
#define VMM_BOOT_PDPT        0xa000ULL
#define VMM_BOOT_PD          0xb000ULL
#define VMM_BOOT_CMDLINE     0x20000ULL
#define VMM_BOOT_CMDLINE_MAX 0x10000ULL
#define VMM_EBDA_START       0x9fc00ULL
#define VMM_HIGH_MEMORY      0x100000ULL

#define VMM_SEL_CODE 0x10
#define VMM_SEL_DATA 0x18
#define VMM_SEL_TSS  0x20

#define VMM_E820_RAM      1
#define VMM_E820_RESERVED 2
#define VMM_E820_MAX      128

struct vmm_e820 {
    uint64_t addr, size;
    uint32_t type;
};

struct vmm_segment {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint8_t type, present, dpl, db, s, l, g;
};

/* The boot vCPU's state at the kernel's entry point. */
struct vmm_cpu_entry {
    uint64_t rip, rsi, rbx, rsp, rflags;
    uint64_t cr0, cr3, cr4, efer;
    struct vmm_segment cs, ds, tr;   /* ds also for es, fs, gs, ss */
    uint64_t gdt_base;
    uint16_t gdt_limit;
};

/* What the bzImage setup header says (offsets in boot.rst). */
struct vmm_bzimage {
    uint8_t setup_sects;
    uint16_t version;
    uint8_t loadflags;
    uint32_t code32_start;
    uint32_t initrd_addr_max;
    uint32_t kernel_alignment;
    uint8_t relocatable;
    uint16_t xloadflags;
    uint32_t cmdline_size;
    uint64_t pref_address;
    uint32_t init_size;
    uint64_t setup_bytes;         /* (setup_sects + 1) * 512: where the 64-bit kernel starts */
    uint32_t header_end;          /* end offset of the setup header in the image */
};

/* Where things went; for callers that add devices or tables and for tests. */
struct vmm_boot_info {
    uint64_t kernel_gpa, kernel_end;   /* kernel_end: load + max(init_size, image) */
    uint64_t initrd_gpa, initrd_size;
    uint64_t cmdline_gpa;
    unsigned e820_entries;
};

/* Parses and checks the setup header of a bzImage whose first len bytes are
 * image (at least 1 KiB; 64 KiB covers every setup). Needs "HdrS", protocol
 * >= 2.12, XLF_KERNEL_64 and LOADED_HIGH. */
int vmm_bzimage_parse(const uint8_t *image, size_t len, struct vmm_bzimage *bz, struct zerr *e);

/* Fills up to max e820 entries for m: RAM below the EBDA, the reserved
 * EBDA/VGA/BIOS area, RAM from 1 MiB to the hole, RAM above 4 GiB. */
unsigned vmm_boot_e820(const struct vmm_mem *m, struct vmm_e820 *out, unsigned max);

/* Identity-maps the first 4 GiB with 2 MiB pages at VMM_BOOT_PML4. */
int vmm_boot_page_tables(struct vmm_mem *m, struct zerr *e);

/* Writes the GDT (null, null, code, data, TSS) with a 64-bit (long_mode=1)
 * or flat 32-bit code segment, and fills the matching segment registers. */
int vmm_boot_gdt(struct vmm_mem *m, int long_mode, struct vmm_cpu_entry *cpu, struct zerr *e);

/* Loads a bzImage from kernel_fd (and an initrd from initrd_fd unless -1),
 * writes boot_params, command line, e820, page tables and GDT, and sets cpu
 * for the 64-bit entry (RIP = load address + 0x200, RSI = boot_params). */
int vmm_boot_bzimage(struct vmm_mem *m, int kernel_fd, int initrd_fd, const char *cmdline,
                     struct vmm_cpu_entry *cpu, struct vmm_boot_info *info, struct zerr *e);

/* Loads an uncompressed ELF vmlinux at its physical addresses and enters it
 * at its PVH entry in 32-bit protected mode (EBX = hvm_start_info). */
int vmm_boot_pvh(struct vmm_mem *m, int vmlinux_fd, int initrd_fd, const char *cmdline,
                 struct vmm_cpu_entry *cpu, struct vmm_boot_info *info, struct zerr *e);

/* 1 if fd starts with an ELF header, 0 if not, -1 on read error. */
int vmm_boot_is_elf(int fd, struct zerr *e);

/* Reads exactly len bytes at off from fd into guest memory at gpa. */
int vmm_boot_read_into(struct vmm_mem *m, int fd, uint64_t off, uint64_t gpa, uint64_t len,
                       const char *what, struct zerr *e);

/* Copies cmdline (with its NUL) to VMM_BOOT_CMDLINE; max counts the NUL. */
int vmm_boot_cmdline(struct vmm_mem *m, const char *cmdline, uint64_t max, struct zerr *e);

/* Reads the whole initrd at the highest 4 KiB-aligned address whose last
 * byte is <= top and that starts at or above floor. */
int vmm_boot_initrd(struct vmm_mem *m, int initrd_fd, uint64_t floor, uint64_t top,
                    struct vmm_boot_info *info, struct zerr *e);

#endif
