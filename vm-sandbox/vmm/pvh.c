/* PVH boot of an uncompressed ELF vmlinux: load its PT_LOAD segments at
 * their physical addresses, find the XEN_ELFNOTE_PHYS32_ENTRY note, and
 * enter there in flat 32-bit protected mode with paging off and EBX
 * pointing at a struct hvm_start_info (xen/include/public/arch-x86/hvm/
 * start_info.h). The kernel skips its decompressor this way. The ELF file
 * is untrusted input: every header and note is bounds-checked. */
#include "vm-sandbox/vmm/boot.h"

#include <elf.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578u
#define START_INFO_SIZE 56
#define MODLIST_GPA  (VMM_BOOT_START_INFO + 0x40)
#define MEMMAP_GPA   (VMM_BOOT_START_INFO + 0x100)
#define MAX_PHDRS 64
#define MAX_NOTES_BYTES (64u << 10)

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* Looks for the PVH entry note in one PT_NOTE segment's bytes. */
static int find_entry_note(const uint8_t *notes, size_t len, uint64_t *entry)
{
    size_t off = 0;
    while (len - off >= 12) {
        uint32_t namesz, descsz, type;
        memcpy(&namesz, notes + off, 4);
        memcpy(&descsz, notes + off + 4, 4);
        memcpy(&type, notes + off + 8, 4);
        off += 12;
        size_t name_pad = ((size_t)namesz + 3) & ~(size_t)3;
        size_t desc_pad = ((size_t)descsz + 3) & ~(size_t)3;
        if (name_pad > len - off || desc_pad > len - off - name_pad)
            return 0;
        const uint8_t *name = notes + off, *desc = notes + off + name_pad;
        if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 && memcmp(name, "Xen", 4) == 0) {
            if (descsz == 4) {
                uint32_t v;
                memcpy(&v, desc, 4);
                *entry = v;
                return 1;
            }
            if (descsz == 8) {
                memcpy(entry, desc, 8);
                return 1;
            }
        }
        off += name_pad + desc_pad;
    }
    return 0;
}

int vmm_boot_pvh(struct vmm_mem *m, int fd, int initrd_fd, const char *cmdline,
                 struct vmm_cpu_entry *cpu, struct vmm_boot_info *info, struct zerr *e)
{
    Elf64_Ehdr eh;
    Elf64_Phdr ph[MAX_PHDRS];
    struct stat st;
    uint64_t entry = 0, end = 0, start = UINT64_MAX;
    int have_entry = 0;
    memset(cpu, 0, sizeof *cpu);
    memset(info, 0, sizeof *info);

    if (fstat(fd, &st) < 0)
        return zerr_sys(e, "vmlinux: stat");
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh)
        return zerr_set(e, ENOEXEC, "vmlinux: too short for an ELF header");
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
        return zerr_set(e, ENOEXEC, "vmlinux: not a little-endian x86-64 ELF64 file");
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > MAX_PHDRS)
        return zerr_set(e, ENOEXEC, "vmlinux: %u program headers of %u bytes: unsupported",
                        eh.e_phnum, eh.e_phentsize);
    size_t phbytes = (size_t)eh.e_phnum * sizeof(Elf64_Phdr);
    if (eh.e_phoff > (uint64_t)st.st_size || phbytes > (uint64_t)st.st_size - eh.e_phoff ||
        pread(fd, ph, phbytes, (off_t)eh.e_phoff) != (ssize_t)phbytes)
        return zerr_set(e, ENOEXEC, "vmlinux: program headers lie outside the file");

    for (unsigned i = 0; i < eh.e_phnum; i++) {
        const Elf64_Phdr *p = &ph[i];
        if (p->p_offset > (uint64_t)st.st_size || p->p_filesz > (uint64_t)st.st_size - p->p_offset)
            return zerr_set(e, ENOEXEC, "vmlinux: segment %u lies outside the file", i);
        if (p->p_type == PT_NOTE && !have_entry && p->p_filesz > 0) {
            if (p->p_filesz > MAX_NOTES_BYTES)
                continue;
            _cleanup_free_ uint8_t *notes = malloc(p->p_filesz);
            if (!notes)
                return zerr_set(e, ENOMEM, "vmlinux: notes");
            if (pread(fd, notes, p->p_filesz, (off_t)p->p_offset) != (ssize_t)p->p_filesz)
                return zerr_sys(e, "vmlinux: read notes");
            have_entry = find_entry_note(notes, p->p_filesz, &entry);
        } else if (p->p_type == PT_LOAD && p->p_memsz > 0) {
            if (p->p_filesz > p->p_memsz || p->p_paddr < VMM_HIGH_MEMORY ||
                !vmm_mem_ptr(m, p->p_paddr, p->p_memsz))
                return zerr_set(e, ENOMEM, "vmlinux: segment %u (0x%llx, %llu bytes) does not fit in guest RAM above 1 MiB",
                                i, (unsigned long long)p->p_paddr, (unsigned long long)p->p_memsz);
            if (vmm_boot_read_into(m, fd, p->p_offset, p->p_paddr, p->p_filesz, "vmlinux segment", e) < 0)
                return -1;
            if (p->p_memsz > p->p_filesz)
                memset((uint8_t *)vmm_mem_ptr(m, p->p_paddr, p->p_memsz) + p->p_filesz, 0,
                       p->p_memsz - p->p_filesz);
            if (p->p_paddr + p->p_memsz > end)
                end = p->p_paddr + p->p_memsz;
            if (p->p_paddr < start)
                start = p->p_paddr;
        }
    }
    if (!have_entry)
        return zerr_set(e, ENOEXEC, "vmlinux: no XEN_ELFNOTE_PHYS32_ENTRY note (kernel built without CONFIG_PVH?)");
    if (end == 0)
        return zerr_set(e, ENOEXEC, "vmlinux: no loadable segment");
    if (entry < start || entry >= end)
        return zerr_set(e, ENOEXEC, "vmlinux: PVH entry 0x%llx is outside the loaded kernel",
                        (unsigned long long)entry);
    info->kernel_gpa = start;
    info->kernel_end = (end + 0xfff) & ~0xfffULL;

    if (vmm_boot_initrd(m, initrd_fd, info->kernel_end, UINT32_MAX, info, e) < 0)
        return -1;
    if (vmm_boot_cmdline(m, cmdline, VMM_BOOT_CMDLINE_MAX, e) < 0)
        return -1;
    info->cmdline_gpa = VMM_BOOT_CMDLINE;

    uint8_t *si = vmm_mem_ptr(m, VMM_BOOT_START_INFO, 0x1000);
    if (!si)
        return zerr_set(e, EINVAL, "PVH start info: guest memory too small");
    memset(si, 0, 0x1000);
    struct vmm_e820 map[8];
    unsigned entries = vmm_boot_e820(m, map, 8);
    put32(si + 0, HVM_START_MAGIC);
    put32(si + 4, 1);                                 /* version 1: has the memory map */
    put64(si + 24, VMM_BOOT_CMDLINE);                 /* cmdline_paddr */
    put64(si + 40, MEMMAP_GPA);                       /* memmap_paddr */
    put32(si + 48, entries);                          /* memmap_entries */
    if (info->initrd_size) {
        put32(si + 12, 1);                            /* nr_modules */
        put64(si + 16, MODLIST_GPA);                  /* modlist_paddr */
        uint8_t *mod = si + (MODLIST_GPA - VMM_BOOT_START_INFO);
        put64(mod, info->initrd_gpa);
        put64(mod + 8, info->initrd_size);
    }
    for (unsigned i = 0; i < entries; i++) {
        uint8_t *ent = si + (MEMMAP_GPA - VMM_BOOT_START_INFO) + 24 * i;
        put64(ent, map[i].addr);
        put64(ent + 8, map[i].size);
        put32(ent + 16, map[i].type);
    }
    info->e820_entries = entries;

    if (vmm_boot_gdt(m, 0, cpu, e) < 0)
        return -1;
    cpu->rip = entry;
    cpu->rbx = VMM_BOOT_START_INFO;
    cpu->rsp = VMM_BOOT_STACK_TOP;
    cpu->rflags = 0x2;
    cpu->cr0 = 0x11;                                  /* PE | ET, paging off */
    return 0;
}
