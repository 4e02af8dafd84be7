/* vm-sandbox/vmm boot without KVM: bzImage header checks, boot_params and
 * e820 from a synthetic bzImage, page tables, GDT and entry registers, the
 * MP table, PVH loading of a synthetic ELF, and the guest memory layout. */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "vm-sandbox/vmm/boot.h"
#include "vm-sandbox/vmm/mem.h"
#include "vm-sandbox/vmm/mptable.h"

#define MEM_SIZE (64ULL << 20)
#define PAYLOAD 8192

static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void wr16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* A bzImage with 4 setup sectors, protocol 2.15, relocatable, 64-bit. */
static uint8_t *make_bzimage(size_t *len)
{
    size_t setup = 5 * 512;
    *len = setup + PAYLOAD;
    uint8_t *img = calloc(1, *len);
    img[0x1f1] = 4;
    wr16(img + 0x1fe, 0xAA55);
    img[0x200] = 0xeb;
    img[0x201] = 0x6a;                   /* header ends at 0x26c */
    memcpy(img + 0x202, "HdrS", 4);
    wr16(img + 0x206, 0x020f);
    img[0x211] = 0x01;                   /* LOADED_HIGH */
    wr32(img + 0x214, 0x100000);
    wr32(img + 0x22c, 0x7fffffff);       /* initrd_addr_max */
    wr32(img + 0x230, 0x200000);         /* kernel_alignment */
    img[0x234] = 1;                      /* relocatable */
    wr16(img + 0x236, 0x3);              /* XLF_KERNEL_64 | CAN_BE_LOADED_ABOVE_4G */
    wr32(img + 0x238, 2047);             /* cmdline_size */
    wr64(img + 0x258, 0x1000000);        /* pref_address */
    wr32(img + 0x260, 0x400000);         /* init_size */
    for (size_t i = 0; i < PAYLOAD; i++)
        img[setup + i] = (uint8_t)(i * 7 + 1);
    return img;
}

static int memfd_with(const void *data, size_t len)
{
    int fd = memfd_create("vmm-test", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    return fd;
}

struct guest {
    uint8_t *buf;
    struct vmm_mem mem;
};

static int guest_setup(void **state)
{
    struct guest *g = calloc(1, sizeof *g);
    struct zerr e;
    g->buf = calloc(1, MEM_SIZE);
    assert_int_equal(vmm_mem_init_buffer(&g->mem, g->buf, MEM_SIZE, &e), 0);
    *state = g;
    return 0;
}

static int guest_teardown(void **state)
{
    struct guest *g = *state;
    free(g->buf);
    free(g);
    return 0;
}

static void test_parse_good_header(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = make_bzimage(&len);
    struct vmm_bzimage bz;
    struct zerr e;
    assert_int_equal(vmm_bzimage_parse(img, len, &bz, &e), 0);
    assert_int_equal(bz.version, 0x020f);
    assert_int_equal(bz.setup_bytes, 2560);
    assert_int_equal(bz.header_end, 0x26c);
    assert_int_equal(bz.pref_address, 0x1000000);
    assert_int_equal(bz.init_size, 0x400000);
    free(img);
}

static void test_parse_bad_headers(void **state)
{
    (void)state;
    size_t len;
    struct vmm_bzimage bz;
    struct zerr e;
    uint8_t *img = make_bzimage(&len);

    img[0x202] = 'X';
    assert_int_equal(vmm_bzimage_parse(img, len, &bz, &e), -1);
    assert_non_null(strstr(e.msg, "HdrS"));
    img[0x202] = 'H';

    wr16(img + 0x206, 0x020b);
    assert_int_equal(vmm_bzimage_parse(img, len, &bz, &e), -1);
    assert_non_null(strstr(e.msg, "2.11"));
    wr16(img + 0x206, 0x020f);

    wr16(img + 0x236, 0);
    assert_int_equal(vmm_bzimage_parse(img, len, &bz, &e), -1);
    assert_non_null(strstr(e.msg, "64-bit"));
    wr16(img + 0x236, 3);

    img[0x211] = 0;
    assert_int_equal(vmm_bzimage_parse(img, len, &bz, &e), -1);
    assert_non_null(strstr(e.msg, "loaded high"));
    img[0x211] = 1;

    wr32(img + 0x230, 0x300000);
    assert_int_equal(vmm_bzimage_parse(img, len, &bz, &e), -1);
    assert_non_null(strstr(e.msg, "power of two"));
    wr32(img + 0x230, 0x200000);

    img[0x201] = 0xff;                    /* header claims to run past boot_params.hdr */
    assert_int_equal(vmm_bzimage_parse(img, len, &bz, &e), -1);
    img[0x201] = 0x6a;

    assert_int_equal(vmm_bzimage_parse(img, 100, &bz, &e), -1);
    assert_int_equal(vmm_bzimage_parse(img, len, &bz, &e), 0);
    free(img);
}

static void test_bzimage_boot_params(void **state)
{
    struct guest *g = *state;
    size_t len;
    uint8_t *img = make_bzimage(&len);
    uint8_t initrd[5000];
    for (size_t i = 0; i < sizeof initrd; i++)
        initrd[i] = (uint8_t)(i ^ 0x5a);
    int kfd = memfd_with(img, len), ifd = memfd_with(initrd, sizeof initrd);
    struct vmm_cpu_entry cpu;
    struct vmm_boot_info info;
    struct zerr e;
    assert_int_equal(vmm_boot_bzimage(&g->mem, kfd, ifd, "console=ttyS0 quiet", &cpu, &info, &e), 0);

    /* kernel at pref_address, copied from after the setup sectors */
    assert_int_equal(info.kernel_gpa, 0x1000000);
    assert_int_equal(info.kernel_end, 0x1000000 + 0x400000);
    assert_memory_equal(g->buf + 0x1000000, img + 2560, PAYLOAD);

    /* initrd: page aligned, at the top of RAM, above the kernel */
    assert_int_equal(info.initrd_size, sizeof initrd);
    assert_int_equal(info.initrd_gpa % 4096, 0);
    assert_true(info.initrd_gpa + sizeof initrd <= MEM_SIZE);
    assert_true(info.initrd_gpa + sizeof initrd > MEM_SIZE - 4096 - sizeof initrd);
    assert_true(info.initrd_gpa >= info.kernel_end);
    assert_memory_equal(g->buf + info.initrd_gpa, initrd, sizeof initrd);

    const uint8_t *bp = g->buf + VMM_BOOT_PARAMS;
    assert_memory_equal(bp + 0x202, "HdrS", 4);
    assert_int_equal(bp[0x210], 0xff);                        /* type_of_loader */
    assert_int_equal(bp[0x211] & 0x81, 0x81);                 /* LOADED_HIGH | CAN_USE_HEAP */
    assert_int_equal(rd16(bp + 0x1fa), 0xffff);               /* vid_mode */
    assert_int_equal(rd32(bp + 0x218), info.initrd_gpa);
    assert_int_equal(rd32(bp + 0x21c), sizeof initrd);
    assert_int_equal(rd32(bp + 0x228), VMM_BOOT_CMDLINE);
    assert_string_equal((const char *)g->buf + VMM_BOOT_CMDLINE, "console=ttyS0 quiet");
    assert_int_equal(rd32(bp + 0x214), 0x1000000);            /* code32_start = load address */
    assert_int_equal(bp[0x26c], 0);                           /* nothing past the header copied */

    /* e820: low RAM, reserved EBDA/BIOS, RAM from 1 MiB */
    assert_int_equal(bp[0x1e8], 3);
    const uint8_t *ent = bp + 0x2d0;
    assert_int_equal(rd64(ent), 0);
    assert_int_equal(rd64(ent + 8), 0x9fc00);
    assert_int_equal(rd32(ent + 16), 1);
    assert_int_equal(rd64(ent + 20), 0x9fc00);
    assert_int_equal(rd64(ent + 28), 0x100000 - 0x9fc00);
    assert_int_equal(rd32(ent + 36), 2);
    assert_int_equal(rd64(ent + 40), 0x100000);
    assert_int_equal(rd64(ent + 48), MEM_SIZE - 0x100000);
    assert_int_equal(rd32(ent + 56), 1);

    /* 64-bit entry state */
    assert_int_equal(cpu.rip, 0x1000000 + 0x200);
    assert_int_equal(cpu.rsi, VMM_BOOT_PARAMS);
    assert_int_equal(cpu.cr3, VMM_BOOT_PML4);
    assert_true(cpu.cr0 & 0x80000001);
    assert_true(cpu.cr4 & 0x20);
    assert_int_equal(cpu.efer & 0x500, 0x500);
    assert_int_equal(cpu.cs.selector, 0x10);
    assert_int_equal(cpu.cs.l, 1);
    assert_int_equal(cpu.cs.db, 0);
    assert_int_equal(cpu.ds.selector, 0x18);
    assert_int_equal(cpu.ds.type, 3);
    close(kfd);
    close(ifd);
    free(img);
}

static void test_bzimage_refusals(void **state)
{
    struct guest *g = *state;
    size_t len;
    uint8_t *img = make_bzimage(&len);
    struct vmm_cpu_entry cpu;
    struct vmm_boot_info info;
    struct zerr e;

    /* command line longer than cmdline_size */
    int kfd = memfd_with(img, len);
    char longline[3000];
    memset(longline, 'a', sizeof longline - 1);
    longline[sizeof longline - 1] = 0;
    assert_int_equal(vmm_boot_bzimage(&g->mem, kfd, -1, longline, &cpu, &info, &e), -1);
    assert_int_equal(e.code, E2BIG);
    close(kfd);

    /* init_size past the end of RAM */
    wr32(img + 0x260, 0x7f000000);
    kfd = memfd_with(img, len);
    assert_int_equal(vmm_boot_bzimage(&g->mem, kfd, -1, "", &cpu, &info, &e), -1);
    assert_int_equal(e.code, ENOMEM);
    close(kfd);
    wr32(img + 0x260, 0x400000);

    /* an initrd that cannot fit above the kernel */
    size_t big = MEM_SIZE - 0x1000000 - 0x400000 + 4096;
    uint8_t *blob = calloc(1, big);
    int ifd = memfd_with(blob, big);
    kfd = memfd_with(img, len);
    assert_int_equal(vmm_boot_bzimage(&g->mem, kfd, ifd, "", &cpu, &info, &e), -1);
    assert_non_null(strstr(e.msg, "initrd"));
    close(kfd);
    close(ifd);
    free(blob);

    /* file ending inside its setup sectors */
    kfd = memfd_with(img, 2000);
    assert_int_equal(vmm_boot_bzimage(&g->mem, kfd, -1, "", &cpu, &info, &e), -1);
    close(kfd);
    free(img);
}

static void test_page_tables_and_gdt(void **state)
{
    struct guest *g = *state;
    struct vmm_cpu_entry cpu;
    struct zerr e;
    assert_int_equal(vmm_boot_page_tables(&g->mem, &e), 0);
    assert_int_equal(rd64(g->buf + VMM_BOOT_PML4), VMM_BOOT_PDPT | 3);
    assert_int_equal(rd64(g->buf + VMM_BOOT_PML4 + 8), 0);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(rd64(g->buf + VMM_BOOT_PDPT + 8 * i), (VMM_BOOT_PD + 4096 * i) | 3);
    assert_int_equal(rd64(g->buf + VMM_BOOT_PDPT + 32), 0);
    /* 2 MiB identity pages up to 4 GiB */
    assert_int_equal(rd64(g->buf + VMM_BOOT_PD), 0x83);
    assert_int_equal(rd64(g->buf + VMM_BOOT_PD + 8), (1ULL << 21) | 0x83);
    assert_int_equal(rd64(g->buf + VMM_BOOT_PD + 8 * 2047), (2047ULL << 21) | 0x83);

    assert_int_equal(vmm_boot_gdt(&g->mem, 1, &cpu, &e), 0);
    assert_int_equal(rd64(g->buf + VMM_BOOT_GDT), 0);
    assert_int_equal(rd64(g->buf + VMM_BOOT_GDT + 0x10), 0x00af9b000000ffffULL);
    assert_int_equal(rd64(g->buf + VMM_BOOT_GDT + 0x18), 0x00cf93000000ffffULL);
    assert_int_equal(cpu.gdt_limit, 5 * 8 - 1);
    assert_int_equal(cpu.cs.limit, 0xffffffffu);
    assert_int_equal(cpu.tr.type, 11);
    assert_int_equal(cpu.tr.limit, 0x67);

    assert_int_equal(vmm_boot_gdt(&g->mem, 0, &cpu, &e), 0);
    assert_int_equal(rd64(g->buf + VMM_BOOT_GDT + 0x10), 0x00cf9b000000ffffULL);
    assert_int_equal(cpu.cs.l, 0);
    assert_int_equal(cpu.cs.db, 1);
}

static void test_memory_layout_with_hole(void **state)
{
    (void)state;
    struct vmm_mem m;
    struct zerr e;
    struct vmm_e820 map[8];
    assert_int_equal(vmm_mem_alloc(&m, 5ULL << 30, &e), 0);
    assert_int_equal(m.nranges, 2);
    assert_int_equal(m.ranges[0].size, 3ULL << 30);
    assert_int_equal(m.ranges[1].gpa, 4ULL << 30);
    assert_int_equal(m.ranges[1].size, 2ULL << 30);
    assert_non_null(vmm_mem_ptr(&m, (3ULL << 30) - 8, 8));
    assert_null(vmm_mem_ptr(&m, (3ULL << 30) - 8, 16));    /* runs into the hole */
    assert_null(vmm_mem_ptr(&m, 0xfee00000, 4));
    assert_non_null(vmm_mem_ptr(&m, 4ULL << 30, 4096));
    assert_null(vmm_mem_ptr(&m, (6ULL << 30) - 4, 8));     /* past the end */
    assert_null(vmm_mem_ptr(&m, UINT64_MAX - 2, 8));       /* wraps */
    assert_null(vmm_mem_ptr(&m, 0, 0));
    unsigned n = vmm_boot_e820(&m, map, 8);
    assert_int_equal(n, 4);
    assert_int_equal(map[2].addr + map[2].size, 3ULL << 30);
    assert_int_equal(map[3].addr, 4ULL << 30);
    assert_int_equal(map[3].size, 2ULL << 30);
    vmm_mem_free(&m);
    assert_int_equal(vmm_mem_alloc(&m, 100ULL << 20 | 4096, &e), -1);  /* not 2 MiB-multiple */
    assert_int_equal(vmm_mem_alloc(&m, 2ULL << 20, &e), -1);           /* too small */
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

static void test_mptable(void **state)
{
    struct guest *g = *state;
    struct zerr e;
    struct vmm_mp_pci_irq pci[] = { { .slot = 1, .pin = 1, .gsi = 16 } };
    assert_int_equal(vmm_mptable_write(&g->mem, 4, pci, 1, &e), 0);
    const uint8_t *fl = g->buf + VMM_MPTABLE_FLOAT;
    assert_memory_equal(fl, "_MP_", 4);
    assert_int_equal(sum(fl, 16), 0);
    assert_int_equal(rd32(fl + 4), VMM_MPTABLE_CONFIG);
    const uint8_t *cfg = g->buf + VMM_MPTABLE_CONFIG;
    assert_memory_equal(cfg, "PCMP", 4);
    uint16_t len = rd16(cfg + 4), count = rd16(cfg + 34);
    assert_int_equal(sum(cfg, len), 0);
    /* 4 CPUs + 2 buses + IOAPIC + 16 ISA + 1 PCI + 2 local interrupts */
    assert_int_equal(count, 4 + 2 + 1 + 16 + 1 + 2);
    assert_int_equal(len, 44 + 4 * 20 + (count - 4) * 8);
    const uint8_t *p = cfg + 44;
    assert_int_equal(p[0], 0);
    assert_int_equal(p[3], 3);                 /* CPU 0: enabled, bootstrap */
    assert_int_equal(p[20 + 1], 1);            /* CPU 1: APIC id 1 */
    assert_int_equal(p[20 + 3], 1);            /* enabled, not BSP */
    p = cfg + 44 + 80 + 16;                    /* the IOAPIC entry */
    assert_int_equal(p[0], 2);
    assert_int_equal(p[1], 4);                 /* id after the CPUs */
    assert_int_equal(rd32(p + 4), 0xfec00000);
    p += 8 + 16 * 8;                           /* the PCI interrupt */
    assert_int_equal(p[0], 3);
    assert_int_equal(p[4], 0);                 /* PCI bus */
    assert_int_equal(p[5], (1 << 2) | 0);      /* slot 1, INTA */
    assert_int_equal(p[7], 16);

    assert_int_equal(vmm_mptable_write(&g->mem, 0, NULL, 0, &e), -1);
    assert_int_equal(vmm_mptable_write(&g->mem, 65, NULL, 0, &e), -1);
    struct vmm_mp_pci_irq bad = { .slot = 40, .pin = 1, .gsi = 5 };
    assert_int_equal(vmm_mptable_write(&g->mem, 1, &bad, 1, &e), -1);
}

/* An ELF64 with one PT_LOAD at 2 MiB and a PT_NOTE carrying the PVH entry. */
static uint8_t *make_vmlinux(size_t *len, int with_note, uint64_t entry)
{
    size_t code_off = 0x1000, note_off = 0x800;
    *len = code_off + 4096;
    uint8_t *f = calloc(1, *len);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)f;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_type = ET_EXEC;
    eh->e_machine = EM_X86_64;
    eh->e_phoff = sizeof *eh;
    eh->e_phentsize = sizeof(Elf64_Phdr);
    eh->e_phnum = 2;
    Elf64_Phdr *ph = (Elf64_Phdr *)(f + sizeof *eh);
    ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = code_off, .p_paddr = 0x200000,
                          .p_vaddr = 0xffffffff80200000ULL, .p_filesz = 4096, .p_memsz = 8192 };
    ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = note_off, .p_filesz = 12 + 4 + 8 };
    uint8_t *note = f + note_off;
    wr32(note, 4);
    wr32(note + 4, 8);
    wr32(note + 8, with_note ? 18 : 17);
    memcpy(note + 12, "Xen", 4);
    wr64(note + 16, entry);
    memset(f + code_off, 0xcc, 4096);
    return f;
}

static void test_pvh(void **state)
{
    struct guest *g = *state;
    size_t len;
    struct vmm_cpu_entry cpu;
    struct vmm_boot_info info;
    struct zerr e;
    uint8_t *elf = make_vmlinux(&len, 1, 0x200100);
    uint8_t initrd[100] = { 1, 2, 3 };
    int fd = memfd_with(elf, len), ifd = memfd_with(initrd, sizeof initrd);
    memset(g->buf + 0x201000, 0x77, 4096);     /* the bss part must come back zeroed */
    assert_int_equal(vmm_boot_pvh(&g->mem, fd, ifd, "console=ttyS0", &cpu, &info, &e), 0);
    assert_int_equal(cpu.rip, 0x200100);
    assert_int_equal(cpu.rbx, VMM_BOOT_START_INFO);
    assert_int_equal(cpu.cr0 & 0x80000001, 1);  /* protected, no paging */
    assert_int_equal(cpu.cs.db, 1);
    assert_int_equal(g->buf[0x200000], 0xcc);
    assert_int_equal(g->buf[0x201000], 0);
    const uint8_t *si = g->buf + VMM_BOOT_START_INFO;
    assert_int_equal(rd32(si), 0x336ec578);
    assert_int_equal(rd32(si + 12), 1);          /* one module: the initrd */
    const uint8_t *mod = g->buf + rd64(si + 16);
    assert_int_equal(rd64(mod), info.initrd_gpa);
    assert_int_equal(rd64(mod + 8), sizeof initrd);
    assert_string_equal((const char *)g->buf + rd64(si + 24), "console=ttyS0");
    assert_int_equal(rd32(si + 48), 3);          /* memmap entries */
    close(fd);
    free(elf);

    /* no PVH note, and an entry outside the kernel */
    elf = make_vmlinux(&len, 0, 0x200100);
    fd = memfd_with(elf, len);
    assert_int_equal(vmm_boot_pvh(&g->mem, fd, -1, "", &cpu, &info, &e), -1);
    assert_non_null(strstr(e.msg, "PHYS32_ENTRY"));
    close(fd);
    free(elf);
    elf = make_vmlinux(&len, 1, 0x900000);
    fd = memfd_with(elf, len);
    assert_int_equal(vmm_boot_pvh(&g->mem, fd, -1, "", &cpu, &info, &e), -1);
    close(fd);
    /* a segment that claims to lie past guest memory */
    ((Elf64_Phdr *)(elf + sizeof(Elf64_Ehdr)))[0].p_paddr = MEM_SIZE - 4096;
    ((Elf64_Phdr *)(elf + sizeof(Elf64_Ehdr)))[0].p_memsz = 1ULL << 40;
    fd = memfd_with(elf, len);
    assert_int_equal(vmm_boot_pvh(&g->mem, fd, -1, "", &cpu, &info, &e), -1);
    close(fd);
    free(elf);
    close(ifd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good_header),
        cmocka_unit_test(test_parse_bad_headers),
        cmocka_unit_test_setup_teardown(test_bzimage_boot_params, guest_setup, guest_teardown),
        cmocka_unit_test_setup_teardown(test_bzimage_refusals, guest_setup, guest_teardown),
        cmocka_unit_test_setup_teardown(test_page_tables_and_gdt, guest_setup, guest_teardown),
        cmocka_unit_test(test_memory_layout_with_hole),
        cmocka_unit_test_setup_teardown(test_mptable, guest_setup, guest_teardown),
        cmocka_unit_test_setup_teardown(test_pvh, guest_setup, guest_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
