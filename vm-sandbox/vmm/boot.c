/* bzImage 64-bit boot protocol and the pieces PVH shares with it: e820,
 * identity page tables, GDT, command line, initrd placement (boot.h).
 * Offsets and flags are those of Documentation/arch/x86/boot.rst and
 * arch/x86/include/uapi/asm/bootparam.h. */
#include "vm-sandbox/vmm/boot.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* setup header fields, as offsets into the image (== into boot_params) */
#define HDR_SETUP_SECTS      0x1f1
#define HDR_VID_MODE         0x1fa
#define HDR_BOOT_FLAG        0x1fe
#define HDR_JUMP             0x200
#define HDR_MAGIC            0x202
#define HDR_VERSION          0x206
#define HDR_TYPE_OF_LOADER   0x210
#define HDR_LOADFLAGS        0x211
#define HDR_CODE32_START     0x214
#define HDR_RAMDISK_IMAGE    0x218
#define HDR_RAMDISK_SIZE     0x21c
#define HDR_CMD_LINE_PTR     0x228
#define HDR_INITRD_ADDR_MAX  0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE      0x234
#define HDR_XLOADFLAGS       0x236
#define HDR_CMDLINE_SIZE     0x238
#define HDR_PREF_ADDRESS     0x258
#define HDR_INIT_SIZE        0x260
#define HDR_MIN_END          0x264   /* protocol 2.12 headers reach at least here */
#define HDR_LIMIT            0x290   /* boot_params.hdr must end before edd_mbr_sig_buffer */

/* boot_params fields outside the setup header */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_E820_ENTRIES      0x1e8
#define BP_E820_TABLE        0x2d0
#define BP_SIZE              4096

#define HDRS_MAGIC           0x53726448u  /* "HdrS" */
#define LOADED_HIGH          0x01
#define CAN_USE_HEAP         0x80
#define XLF_KERNEL_64        0x01

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32(uint8_t *p, uint32_t v) { wr16(p, (uint16_t)v); wr16(p + 2, (uint16_t)(v >> 16)); }
static void wr64(uint8_t *p, uint64_t v) { wr32(p, (uint32_t)v); wr32(p + 4, (uint32_t)(v >> 32)); }

int vmm_bzimage_parse(const uint8_t *image, size_t len, struct vmm_bzimage *bz, struct zerr *e)
{
    memset(bz, 0, sizeof *bz);
    if (len < 1024)
        return zerr_set(e, ENOEXEC, "bzImage: %zu bytes is too short for a setup header", len);
    if (rd32(image + HDR_MAGIC) != HDRS_MAGIC || rd16(image + HDR_BOOT_FLAG) != 0xAA55)
        return zerr_set(e, ENOEXEC, "bzImage: no \"HdrS\" setup header (not a Linux bzImage)");
    bz->version = rd16(image + HDR_VERSION);
    if (bz->version < 0x020c)
        return zerr_set(e, ENOEXEC, "bzImage: boot protocol %u.%u is older than 2.12 (no 64-bit entry)",
                        bz->version >> 8, bz->version & 0xff);
    bz->header_end = 0x202u + image[HDR_JUMP + 1];
    if (bz->header_end < HDR_MIN_END || bz->header_end > HDR_LIMIT)
        return zerr_set(e, ENOEXEC, "bzImage: setup header length %u is out of range", bz->header_end);
    bz->setup_sects = image[HDR_SETUP_SECTS] ? image[HDR_SETUP_SECTS] : 4;
    bz->setup_bytes = ((uint64_t)bz->setup_sects + 1) * 512;
    bz->loadflags = image[HDR_LOADFLAGS];
    bz->code32_start = rd32(image + HDR_CODE32_START);
    bz->initrd_addr_max = rd32(image + HDR_INITRD_ADDR_MAX);
    bz->kernel_alignment = rd32(image + HDR_KERNEL_ALIGNMENT);
    bz->relocatable = image[HDR_RELOCATABLE];
    bz->xloadflags = rd16(image + HDR_XLOADFLAGS);
    bz->cmdline_size = rd32(image + HDR_CMDLINE_SIZE);
    bz->pref_address = rd64(image + HDR_PREF_ADDRESS);
    bz->init_size = rd32(image + HDR_INIT_SIZE);
    if (!(bz->loadflags & LOADED_HIGH))
        return zerr_set(e, ENOEXEC, "bzImage: loadflags 0x%02x: kernel is not loaded high (zImage)", bz->loadflags);
    if (!(bz->xloadflags & XLF_KERNEL_64))
        return zerr_set(e, ENOEXEC, "bzImage: xloadflags 0x%04x: no 64-bit entry point", bz->xloadflags);
    if (bz->relocatable && (bz->kernel_alignment == 0 || (bz->kernel_alignment & (bz->kernel_alignment - 1))))
        return zerr_set(e, ENOEXEC, "bzImage: kernel_alignment 0x%x is not a power of two", bz->kernel_alignment);
    if (bz->init_size == 0)
        return zerr_set(e, ENOEXEC, "bzImage: init_size is 0");
    if (bz->cmdline_size == 0)
        return zerr_set(e, ENOEXEC, "bzImage: cmdline_size is 0");
    return 0;
}

unsigned vmm_boot_e820(const struct vmm_mem *m, struct vmm_e820 *out, unsigned max)
{
    struct vmm_e820 all[4];
    unsigned n = 0;
    all[n++] = (struct vmm_e820){ 0, VMM_EBDA_START, VMM_E820_RAM };
    all[n++] = (struct vmm_e820){ VMM_EBDA_START, VMM_HIGH_MEMORY - VMM_EBDA_START, VMM_E820_RESERVED };
    all[n++] = (struct vmm_e820){ VMM_HIGH_MEMORY, m->ranges[0].size - VMM_HIGH_MEMORY, VMM_E820_RAM };
    if (m->nranges > 1)
        all[n++] = (struct vmm_e820){ m->ranges[1].gpa, m->ranges[1].size, VMM_E820_RAM };
    if (n > max)
        n = max;
    memcpy(out, all, n * sizeof all[0]);
    return n;
}

int vmm_boot_page_tables(struct vmm_mem *m, struct zerr *e)
{
    uint8_t *pml4 = vmm_mem_ptr(m, VMM_BOOT_PML4, 4096);
    uint8_t *pdpt = vmm_mem_ptr(m, VMM_BOOT_PDPT, 4096);
    uint8_t *pd = vmm_mem_ptr(m, VMM_BOOT_PD, 4 * 4096);
    if (!pml4 || !pdpt || !pd)
        return zerr_set(e, EINVAL, "boot page tables: guest memory too small");
    memset(pml4, 0, 4096);
    memset(pdpt, 0, 4096);
    /* present | writable; the PD entries add PS (2 MiB page) */
    wr64(pml4, VMM_BOOT_PDPT | 0x3);
    for (unsigned i = 0; i < 4; i++)
        wr64(pdpt + 8 * i, (VMM_BOOT_PD + 4096ULL * i) | 0x3);
    for (uint64_t j = 0; j < 4 * 512; j++)
        wr64(pd + 8 * j, (j << 21) | 0x83);
    return 0;
}

/* flags: bits 0-7 access byte, 12-15 AVL/L/DB/G (as in kvmtool's and the
 * SDM's descriptor layout). */
static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
    return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ffu) << 40) |
           ((uint64_t)(limit & 0xf0000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
           (uint64_t)(limit & 0xffffu);
}

static struct vmm_segment segment_of(uint16_t flags, uint16_t selector, uint32_t limit)
{
    return (struct vmm_segment){
        .base = 0, .selector = selector,
        /* the register limit is in bytes: granularity scales it */
        .limit = (flags & 0x8000) ? (limit << 12) | 0xfff : limit,
        .type = flags & 0xf, .s = (flags >> 4) & 1, .dpl = (flags >> 5) & 3,
        .present = (flags >> 7) & 1, .l = (flags >> 13) & 1, .db = (flags >> 14) & 1,
        .g = (flags >> 15) & 1,
    };
}

int vmm_boot_gdt(struct vmm_mem *m, int long_mode, struct vmm_cpu_entry *cpu, struct zerr *e)
{
    uint16_t code = long_mode ? 0xa09b : 0xc09b;   /* present, exec/read, accessed; L or D */
    uint16_t data = 0xc093;                         /* present, read/write, accessed, 4 KiB, 32-bit */
    uint16_t tss = 0x008b;                          /* present, busy 32/64-bit TSS */
    uint64_t gdt[5] = { 0, 0, gdt_entry(code, 0, 0xfffff), gdt_entry(data, 0, 0xfffff),
                        gdt_entry(tss, 0, 0x67) };
    uint8_t *p = vmm_mem_ptr(m, VMM_BOOT_GDT, sizeof gdt);
    if (!p)
        return zerr_set(e, EINVAL, "boot GDT: guest memory too small");
    for (unsigned i = 0; i < 5; i++)
        wr64(p + 8 * i, gdt[i]);
    cpu->gdt_base = VMM_BOOT_GDT;
    cpu->gdt_limit = sizeof gdt - 1;
    cpu->cs = segment_of(code, VMM_SEL_CODE, 0xfffff);
    cpu->ds = segment_of(data, VMM_SEL_DATA, 0xfffff);
    cpu->tr = segment_of(tss, VMM_SEL_TSS, 0x67);
    return 0;
}

int vmm_boot_read_into(struct vmm_mem *m, int fd, uint64_t off, uint64_t gpa, uint64_t len,
                       const char *what, struct zerr *e)
{
    uint8_t *dst = len ? vmm_mem_ptr(m, gpa, len) : NULL;
    if (len && !dst)
        return zerr_set(e, ENOMEM, "%s: %llu bytes at 0x%llx do not fit in guest memory", what,
                        (unsigned long long)len, (unsigned long long)gpa);
    while (len > 0) {
        size_t chunk = len > (1u << 30) ? (1u << 30) : (size_t)len;
        ssize_t n = pread(fd, dst, chunk, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return zerr_sys(e, "%s: read", what);
        if (n == 0)
            return zerr_set(e, EIO, "%s: unexpected end of file at offset %llu", what, (unsigned long long)off);
        dst += n;
        off += (uint64_t)n;
        len -= (uint64_t)n;
    }
    return 0;
}

int vmm_boot_cmdline(struct vmm_mem *m, const char *cmdline, uint64_t max, struct zerr *e)
{
    size_t len = strlen(cmdline ? cmdline : "");
    if (max > VMM_BOOT_CMDLINE_MAX)
        max = VMM_BOOT_CMDLINE_MAX;
    if (len + 1 > max)
        return zerr_set(e, E2BIG, "kernel command line: %zu bytes, the kernel takes at most %llu", len,
                        (unsigned long long)(max - 1));
    char *p = vmm_mem_ptr(m, VMM_BOOT_CMDLINE, len + 1);
    if (!p)
        return zerr_set(e, EINVAL, "kernel command line: guest memory too small");
    memcpy(p, cmdline ? cmdline : "", len + 1);
    return 0;
}

int vmm_boot_initrd(struct vmm_mem *m, int initrd_fd, uint64_t floor, uint64_t top,
                    struct vmm_boot_info *info, struct zerr *e)
{
    struct stat st;
    info->initrd_gpa = info->initrd_size = 0;
    if (initrd_fd < 0)
        return 0;
    if (fstat(initrd_fd, &st) < 0)
        return zerr_sys(e, "initrd: stat");
    uint64_t size = (uint64_t)st.st_size;
    if (size == 0)
        return 0;
    uint64_t low_end = vmm_mem_low_end(m);
    if (top > low_end - 1)
        top = low_end - 1;
    if (size > top + 1 || ((top + 1 - size) & ~0xfffULL) < floor)
        return zerr_set(e, ENOMEM, "initrd: %llu MiB does not fit between the kernel's end (0x%llx) and 0x%llx; give the VM more memory",
                        (unsigned long long)(size >> 20), (unsigned long long)floor, (unsigned long long)top);
    uint64_t gpa = (top + 1 - size) & ~0xfffULL;
    if (vmm_boot_read_into(m, initrd_fd, 0, gpa, size, "initrd", e) < 0)
        return -1;
    info->initrd_gpa = gpa;
    info->initrd_size = size;
    return 0;
}

static void long_mode_entry(struct vmm_cpu_entry *cpu, uint64_t rip, uint64_t rsi)
{
    cpu->rip = rip;
    cpu->rsi = rsi;
    cpu->rsp = VMM_BOOT_STACK_TOP;
    cpu->rflags = 0x2;
    cpu->cr3 = VMM_BOOT_PML4;
    cpu->cr4 = 0x20;                          /* PAE */
    cpu->cr0 = 0x80000011;                    /* PG | ET | PE */
    cpu->efer = 0x500;                        /* LMA | LME */
}

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

int vmm_boot_bzimage(struct vmm_mem *m, int kernel_fd, int initrd_fd, const char *cmdline,
                     struct vmm_cpu_entry *cpu, struct vmm_boot_info *info, struct zerr *e)
{
    uint8_t head[1024];
    struct vmm_bzimage bz;
    struct stat st;
    memset(cpu, 0, sizeof *cpu);
    memset(info, 0, sizeof *info);
    if (fstat(kernel_fd, &st) < 0)
        return zerr_sys(e, "kernel: stat");
    ssize_t n = pread(kernel_fd, head, sizeof head, 0);
    if (n < 0)
        return zerr_sys(e, "kernel: read setup header");
    if (n < (ssize_t)sizeof head)
        return zerr_set(e, ENOEXEC, "kernel: %zd bytes is too short for a bzImage", n);
    if (vmm_bzimage_parse(head, sizeof head, &bz, e) < 0)
        return -1;
    if ((uint64_t)st.st_size <= bz.setup_bytes)
        return zerr_set(e, ENOEXEC, "bzImage: file ends inside its %llu setup bytes",
                        (unsigned long long)bz.setup_bytes);
    uint64_t image = (uint64_t)st.st_size - bz.setup_bytes;

    /* Relocatable kernels go to their preferred address rounded to their
     * alignment; the others only run where they were linked. */
    uint64_t load = bz.pref_address ? bz.pref_address : bz.code32_start;
    if (bz.relocatable)
        load = align_up(load < VMM_HIGH_MEMORY ? VMM_HIGH_MEMORY : load, bz.kernel_alignment);
    uint64_t footprint = bz.init_size > image ? bz.init_size : image;
    if (load < VMM_HIGH_MEMORY || load + footprint > vmm_mem_low_end(m))
        return zerr_set(e, ENOMEM, "bzImage: needs 0x%llx..0x%llx but low guest RAM ends at 0x%llx",
                        (unsigned long long)load, (unsigned long long)(load + footprint),
                        (unsigned long long)vmm_mem_low_end(m));
    if (vmm_boot_read_into(m, kernel_fd, bz.setup_bytes, load, image, "bzImage kernel", e) < 0)
        return -1;
    info->kernel_gpa = load;
    info->kernel_end = load + footprint;

    uint64_t initrd_top = bz.initrd_addr_max ? bz.initrd_addr_max : 0x37ffffff;
    if (vmm_boot_initrd(m, initrd_fd, info->kernel_end, initrd_top, info, e) < 0)
        return -1;
    if (vmm_boot_cmdline(m, cmdline, (uint64_t)bz.cmdline_size + 1, e) < 0)
        return -1;
    info->cmdline_gpa = VMM_BOOT_CMDLINE;

    uint8_t *bp = vmm_mem_ptr(m, VMM_BOOT_PARAMS, BP_SIZE);
    if (!bp)
        return zerr_set(e, EINVAL, "boot_params: guest memory too small");
    memset(bp, 0, BP_SIZE);
    memcpy(bp + HDR_SETUP_SECTS, head + HDR_SETUP_SECTS, bz.header_end - HDR_SETUP_SECTS);
    wr16(bp + HDR_VID_MODE, 0xffff);                      /* "normal" */
    bp[HDR_TYPE_OF_LOADER] = 0xff;                        /* undefined loader */
    bp[HDR_LOADFLAGS] = (uint8_t)(bz.loadflags | CAN_USE_HEAP);
    wr32(bp + HDR_CODE32_START, (uint32_t)load);
    wr32(bp + HDR_RAMDISK_IMAGE, (uint32_t)info->initrd_gpa);
    wr32(bp + HDR_RAMDISK_SIZE, (uint32_t)info->initrd_size);
    wr32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(info->initrd_gpa >> 32));
    wr32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(info->initrd_size >> 32));
    wr32(bp + HDR_CMD_LINE_PTR, (uint32_t)VMM_BOOT_CMDLINE);
    wr32(bp + BP_EXT_CMD_LINE_PTR, 0);

    struct vmm_e820 map[VMM_E820_MAX];
    unsigned entries = vmm_boot_e820(m, map, VMM_E820_MAX);
    for (unsigned i = 0; i < entries; i++) {
        uint8_t *ent = bp + BP_E820_TABLE + 20 * i;
        wr64(ent, map[i].addr);
        wr64(ent + 8, map[i].size);
        wr32(ent + 16, map[i].type);
    }
    bp[BP_E820_ENTRIES] = (uint8_t)entries;
    info->e820_entries = entries;

    if (vmm_boot_page_tables(m, e) < 0 || vmm_boot_gdt(m, 1, cpu, e) < 0)
        return -1;
    long_mode_entry(cpu, load + 0x200, VMM_BOOT_PARAMS);
    return 0;
}

int vmm_boot_is_elf(int fd, struct zerr *e)
{
    unsigned char magic[4];
    ssize_t n = pread(fd, magic, sizeof magic, 0);
    if (n < 0)
        return zerr_sys(e, "kernel: read");
    return n == 4 && memcmp(magic, "\177ELF", 4) == 0;
}
