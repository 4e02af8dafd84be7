/* Sealing without a second exec (runtime/selfexe.h says why zone seals).
 *
 * The kernel lets a process point /proc/self/exe at another file
 * (prctl PR_SET_MM_EXE_FILE, CAP_SYS_RESOURCE) only when no mapping still
 * refers to the old file by its path. The sealed view from open_tree is the
 * same inode on another mount, so every mapping of the binary can be
 * replaced by a mapping of the same bytes through the sealed view: map it
 * at a spare address, copy what the process has written (relocated
 * pointers in RELRO, data), and move it over the original with one mremap,
 * which swaps the mappings atomically. No state in between is ever wrong,
 * so a failure at any step leaves a working process, and the caller falls
 * back to the re-exec. The init and exec'd processes are forked from this
 * process afterwards and inherit the sealed exe. */
#include "runtime/selfexe.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/prctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/cleanup.h"

#define MAX_EXE_MAPPINGS 16

struct exe_mapping {
    uintptr_t start, end;
    off_t offset;
    int prot;
};

struct relro_range {
    uintptr_t start, end;
};

/* The main program is the first object dl_iterate_phdr reports. */
static int find_relro(struct dl_phdr_info *info, size_t size, void *data)
{
    struct relro_range *r = data;
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_GNU_RELRO) {
            r->start = info->dlpi_addr + ph->p_vaddr;
            r->end = r->start + ph->p_memsz;
        }
    }
    return 1;
}

/* The mappings of the file dev:ino, from /proc/self/maps. */
static int exe_mappings(dev_t dev, ino_t ino, struct exe_mapping *out, size_t *n,
                        struct zerr *e)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/maps", "re");
    char line[512];
    *n = 0;
    if (!f)
        return zerr_sys(e, "open /proc/self/maps");
    while (fgets(line, sizeof line, f)) {
        unsigned long start, end, off, maj, min, inode;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s %lx %lx:%lx %lu", &start, &end, perms, &off, &maj,
                   &min, &inode) != 7)
            continue;
        if (inode != ino || makedev(maj, min) != dev)
            continue;
        if (*n == MAX_EXE_MAPPINGS)
            return zerr_set(e, E2BIG, "more than %d mappings of /proc/self/exe",
                            MAX_EXE_MAPPINGS);
        out[*n] = (struct exe_mapping){
            .start = start, .end = end, .offset = (off_t)off,
            .prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
                    (perms[2] == 'x' ? PROT_EXEC : 0),
        };
        (*n)++;
    }
    return 0;
}

/* Replaces one mapping by the same range of file_fd; copies the current
 * contents when the process may have changed them. */
static int remap_one(const struct exe_mapping *m, int file_fd, bool copy, struct zerr *e)
{
    size_t len = m->end - m->start;
    int prot = copy ? PROT_READ | PROT_WRITE : m->prot;
    void *tmp = mmap(NULL, len, prot, MAP_PRIVATE, file_fd, m->offset);
    if (tmp == MAP_FAILED)
        return zerr_sys(e, "map the sealed binary");
    if (copy) {
        memcpy(tmp, (void *)m->start, len);
        if (prot != m->prot && mprotect(tmp, len, m->prot) < 0) {
            zerr_sys(e, "protect the sealed binary's mapping");
            munmap(tmp, len);
            return -1;
        }
    }
    if (mremap(tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)m->start) == MAP_FAILED) {
        zerr_sys(e, "move the sealed binary's mapping into place");
        munmap(tmp, len);
        return -1;
    }
    return 0;
}

/* PR_SET_MM_EXE_FILE wants CAP_SYS_RESOURCE; PR_SET_MM_MAP takes an exe
 * fd with CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE) instead, along with
 * the layout fields, which are handed back unchanged from /proc/self/stat. */
static int set_exe_file(int file_fd, struct zerr *e)
{
    struct prctl_mm_map map = {.exe_fd = (uint32_t)file_fd};
    unsigned long long v[52] = {0};
    char buf[1024], *p;
    ssize_t n;
    _cleanup_close_ int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || (n = read(fd, buf, sizeof buf - 1)) <= 0)
        return zerr_sys(e, "read /proc/self/stat");
    buf[n] = '\0';
    /* fields count from 1; the command (2) ends at the last ')' */
    p = strrchr(buf, ')');
    for (int field = 3; p && field <= 51; field++) {
        char *end;
        p = strchr(p, ' ');
        if (!p)
            break;
        v[field] = strtoull(++p, &end, 10);
    }
    if (!p || !v[51])
        return zerr_set(e, EINVAL, "/proc/self/stat: no memory layout fields");
    map.start_code = v[26];
    map.end_code = v[27];
    map.start_stack = v[28];
    map.start_data = v[45];
    map.end_data = v[46];
    map.start_brk = v[47];
    map.brk = (uint64_t)syscall(SYS_brk, 0);   /* the kernel's, not libc's cached one */
    map.arg_start = v[48];
    map.arg_end = v[49];
    map.env_start = v[50];
    map.env_end = v[51];
    if (prctl(PR_SET_MM, PR_SET_MM_MAP, &map, sizeof map, 0) < 0)
        return zerr_sys(e, "point /proc/self/exe at the sealed binary");
    return 0;
}

int zselfexe_remap_onto(int sealed_fd, struct zerr *e)
{
    struct exe_mapping maps[MAX_EXE_MAPPINGS];
    struct relro_range relro = {0, 0};
    struct stat exe_st, sealed_st;
    char path[64];
    size_t n;
    _cleanup_close_ int file_fd = -1;

    /* O_PATH from open_tree: mmap and prctl need the file opened */
    snprintf(path, sizeof path, "/proc/self/fd/%d", sealed_fd);
    file_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (file_fd < 0 || fstat(file_fd, &sealed_st) < 0 || stat("/proc/self/exe", &exe_st) < 0)
        return zerr_sys(e, "open the sealed binary");
    if (sealed_st.st_dev != exe_st.st_dev || sealed_st.st_ino != exe_st.st_ino)
        return zerr_set(e, EINVAL, "the sealed view is not this binary");
    if (exe_mappings(exe_st.st_dev, exe_st.st_ino, maps, &n, e) < 0)
        return -1;
    if (n == 0)
        return zerr_set(e, ENOENT, "no mapping of /proc/self/exe found");
    dl_iterate_phdr(find_relro, &relro);
    for (size_t i = 0; i < n; i++) {
        /* written since the exec: data, and the relocated RELRO part */
        bool copy = (maps[i].prot & PROT_WRITE) ||
                    (maps[i].start < relro.end && relro.start < maps[i].end);
        if (remap_one(&maps[i], file_fd, copy, e) < 0)
            return -1;
    }
    if (set_exe_file(file_fd, e) < 0)
        return -1;
    if (!zselfexe_is_sealed())
        return zerr_set(e, EPERM, "/proc/self/exe is still writable after the swap");
    return 0;
}
