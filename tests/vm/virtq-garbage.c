/* virtq-garbage: a hostile guest driver, for tests/vm/t_hostile.sh. Runs
 * as root inside the guest, on virtio-pci devices that no driver owns (the
 * initramfs loads none at first). For each modern virtio device of the
 * kinds asked for, it finds the common/notify configuration through the
 * PCI capabilities (/sys/bus/pci/devices/X/config), maps the BARs through
 * resourceN, sets the device up as a driver would, and then, once per
 * scenario (device reset in between), gives every queue descriptors full
 * of garbage and notifies it:
 *   out-of-ram     buffer addresses far outside guest RAM
 *   past-end       a valid address with a length past the end of RAM
 *   loop           a NEXT chain that loops (0 -> 1 -> 0)
 *   next-oob       NEXT pointing past the queue size
 *   nested-ind     an INDIRECT table holding an INDIRECT descriptor
 *   ind-oob        an INDIRECT table outside RAM / of a bad length
 *   write-flags    WRITE on what the device reads, none on what it writes
 *   idx-jump       the available index jumping by 40000
 *   random         the whole table and ring filled with random bytes
 *   bad-rings      ring addresses outside RAM, queue size not a power of 2
 * Ring memory is its own (mlock'ed pages); their guest-physical addresses
 * come from /proc/self/pagemap. It prints one line per scenario with the
 * device status afterwards (NEEDS_RESET = 0x40) and the used index, and
 * "GARBAGE-DONE <devices>" at the end. It never waits on the device for
 * more than a short while: a device that ignores garbage is fine.
 *
 *   virtq-garbage console vsock 9p       (any of them; default all three) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VIRTIO_VENDOR 0x1af4
#define PAGE 4096u

#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8
#define ST_NEEDS_RESET 0x40

#define D_NEXT 1
#define D_WRITE 2
#define D_INDIRECT 4

/* common configuration offsets (virtio 1.x, 4.1.4.3) */
#define C_DFSELECT 0
#define C_DF 4
#define C_GFSELECT 8
#define C_GF 12
#define C_NUMQ 18
#define C_STATUS 20
#define C_QSELECT 22
#define C_QSIZE 24
#define C_QENABLE 28
#define C_QNOFF 30
#define C_QDESC 32
#define C_QAVAIL 40
#define C_QUSED 48

#define QSIZE 16
#define FAR_AWAY 0x7ffffffff000ull     /* far above any guest RAM */

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

struct page {
    void *va;
    uint64_t pa;
};

struct dev {
    char name[256];
    const char *kind;
    volatile uint8_t *common, *notify;
    uint32_t notify_mult;
    void *maps[6];
    size_t map_len[6];
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rand64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void pause_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int get_page(struct page *p)
{
    p->va = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
    if (p->va == MAP_FAILED)
        return -1;
    memset(p->va, 0, PAGE);
    int fd = open("/proc/self/pagemap", O_RDONLY);
    if (fd < 0)
        return -1;
    uint64_t entry = 0;
    ssize_t n = pread(fd, &entry, sizeof entry, (off_t)((uintptr_t)p->va / PAGE * 8));
    close(fd);
    if (n != sizeof entry || !(entry & (1ull << 63)) || !(entry & ((1ull << 55) - 1)))
        return -1;
    p->pa = (entry & ((1ull << 55) - 1)) * PAGE;
    return 0;
}

static void w8(struct dev *d, unsigned off, uint8_t v) { d->common[off] = v; }
static void w16(struct dev *d, unsigned off, uint16_t v) { *(volatile uint16_t *)(d->common + off) = v; }
static void w32(struct dev *d, unsigned off, uint32_t v) { *(volatile uint32_t *)(d->common + off) = v; }
static void w64(struct dev *d, unsigned off, uint64_t v)
{
    w32(d, off, (uint32_t)v);
    w32(d, off + 4, (uint32_t)(v >> 32));
}
static uint8_t r8(struct dev *d, unsigned off) { return d->common[off]; }
static uint16_t r16(struct dev *d, unsigned off) { return *(volatile uint16_t *)(d->common + off); }
static uint32_t r32(struct dev *d, unsigned off) { return *(volatile uint32_t *)(d->common + off); }

static int read_hex(const char *dir, const char *file, unsigned *out)
{
    char path[600], buf[32];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    *out = (unsigned)strtoul(buf, NULL, 16);
    return 0;
}

static volatile uint8_t *map_bar(struct dev *d, const char *dir, unsigned bar, uint32_t off, uint32_t len)
{
    if (bar > 5)
        return NULL;
    if (!d->maps[bar]) {
        char path[600];
        snprintf(path, sizeof path, "%s/resource%u", dir, bar);
        int fd = open(path, O_RDWR | O_SYNC);
        if (fd < 0) {
            printf("GARBAGE %s: open %s: %s\n", d->kind, path, strerror(errno));
            return NULL;
        }
        struct stat st;       /* sysfs gives the BAR's length as the file size */
        off_t size = fstat(fd, &st) == 0 ? st.st_size : -1;
        if (size <= 0) {
            printf("GARBAGE %s: %s: size %lld: %s\n", d->kind, path, (long long)size, strerror(errno));
            close(fd);
            return NULL;
        }
        void *m = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (m == MAP_FAILED) {
            printf("GARBAGE %s: mmap %s: %s\n", d->kind, path, strerror(errno));
            return NULL;
        }
        d->maps[bar] = m;
        d->map_len[bar] = (size_t)size;
    }
    if ((size_t)off + len > d->map_len[bar]) {
        printf("GARBAGE %s: BAR %u: 0x%x+0x%x past its 0x%zx bytes\n", d->kind, bar, off, len, d->map_len[bar]);
        return NULL;
    }
    return (volatile uint8_t *)d->maps[bar] + off;
}

/* Walks the vendor capabilities for the common and notify structures. */
static int find_caps(struct dev *d, const char *dir)
{
    char path[600];
    uint8_t cfg[256];
    snprintf(path, sizeof path, "%s/config", dir);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, cfg, sizeof cfg);
    close(fd);
    if (n < 64) {
        printf("GARBAGE %s: %s: read %zd bytes\n", d->kind, path, n);
        return -1;
    }
    unsigned at = cfg[0x34], hops = 0;
    while (at >= 0x40 && at + 16 <= (unsigned)n && hops++ < 48) {
        if (cfg[at] == 0x09) {
            uint8_t type = cfg[at + 3], bar = cfg[at + 4];
            uint32_t off, len;
            memcpy(&off, cfg + at + 8, 4);
            memcpy(&len, cfg + at + 12, 4);
            if (type == 1)
                d->common = map_bar(d, dir, bar, off, len);
            if (type == 2 && at + 20 <= (unsigned)n) {
                d->notify = map_bar(d, dir, bar, off, len);
                memcpy(&d->notify_mult, cfg + at + 16, 4);
            }
        }
        at = cfg[at + 1];
    }
    return d->common && d->notify ? 0 : -1;
}

/* Resets the device and takes it to FEATURES_OK, accepting every feature. */
static int negotiate(struct dev *d)
{
    w8(d, C_STATUS, 0);
    for (int i = 0; i < 100 && r8(d, C_STATUS) != 0; i++)
        pause_ms(1);
    w8(d, C_STATUS, ST_ACK);
    w8(d, C_STATUS, ST_ACK | ST_DRIVER);
    for (uint32_t sel = 0; sel < 2; sel++) {
        w32(d, C_DFSELECT, sel);
        uint32_t f = r32(d, C_DF);
        w32(d, C_GFSELECT, sel);
        w32(d, C_GF, f);
    }
    w8(d, C_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
    return (r8(d, C_STATUS) & ST_FEATURES_OK) ? 0 : -1;
}

struct rings {
    struct page desc, avail, used, ind, data;
};

static void setup_queue(struct dev *d, unsigned q, uint64_t desc, uint64_t avail, uint64_t used, uint16_t size)
{
    w16(d, C_QSELECT, (uint16_t)q);
    if (r16(d, C_QSIZE) == 0)
        return;
    w16(d, C_QSIZE, size);
    w64(d, C_QDESC, desc);
    w64(d, C_QAVAIL, avail);
    w64(d, C_QUSED, used);
    w16(d, C_QENABLE, 1);
}

static void notify(struct dev *d, unsigned q)
{
    w16(d, C_QSELECT, (uint16_t)q);
    uint16_t noff = r16(d, C_QNOFF);
    size_t at = (size_t)noff * d->notify_mult;
    *(volatile uint16_t *)(d->notify + at) = (uint16_t)q;
}

/* Fills queue memory for one scenario; returns the avail idx to publish. */
static uint16_t fill(const char *scenario, struct rings *r, unsigned q)
{
    struct desc *t = r->desc.va, *ind = r->ind.va;
    uint16_t *avail = r->avail.va;     /* flags, idx, ring[] */
    memset(r->desc.va, 0, PAGE);
    memset(r->avail.va, 0, PAGE);
    memset(r->used.va, 0, PAGE);
    memset(r->ind.va, 0, PAGE);
    uint16_t idx = 1;
    uint16_t wflag = (q % 2 == 0) ? D_WRITE : 0;    /* rx-like queues are written by the device */
    avail[2] = 0;
    if (!strcmp(scenario, "out-of-ram")) {
        t[0] = (struct desc){ FAR_AWAY, 512, wflag, 0 };
    } else if (!strcmp(scenario, "past-end")) {
        t[0] = (struct desc){ r->data.pa, 0xfffff000u, wflag, 0 };
    } else if (!strcmp(scenario, "loop")) {
        t[0] = (struct desc){ r->data.pa, 64, D_NEXT | wflag, 1 };
        t[1] = (struct desc){ r->data.pa + 64, 64, D_NEXT | wflag, 0 };
    } else if (!strcmp(scenario, "next-oob")) {
        t[0] = (struct desc){ r->data.pa, 64, D_NEXT | wflag, 1000 };
        t[1] = (struct desc){ r->data.pa, 64, D_NEXT | wflag, QSIZE };
        avail[3] = 1;
        idx = 2;
    } else if (!strcmp(scenario, "nested-ind")) {
        t[0] = (struct desc){ r->ind.pa, 2 * sizeof(struct desc), D_INDIRECT, 0 };
        ind[0] = (struct desc){ r->ind.pa, 2 * sizeof(struct desc), D_INDIRECT, 0 };
        ind[1] = (struct desc){ r->data.pa, 64, wflag, 0 };
    } else if (!strcmp(scenario, "ind-oob")) {
        t[0] = (struct desc){ FAR_AWAY, 4 * sizeof(struct desc), D_INDIRECT, 0 };
        t[1] = (struct desc){ r->ind.pa, 13, D_INDIRECT, 0 };           /* not a multiple of 16 */
        t[2] = (struct desc){ r->ind.pa, 0x100000u * 16, D_INDIRECT, 0 }; /* huge table */
        ind[0] = (struct desc){ r->data.pa, 64, D_NEXT | wflag, 7 };       /* next past the table */
        avail[3] = 1;
        avail[4] = 2;
        idx = 3;
    } else if (!strcmp(scenario, "write-flags")) {
        t[0] = (struct desc){ r->data.pa, 256, wflag ^ D_WRITE, 0 };
        t[1] = (struct desc){ r->data.pa, 64, D_WRITE | D_NEXT, 2 };       /* writable, then readable */
        t[2] = (struct desc){ r->data.pa + 64, 64, 0, 0 };
        avail[3] = 1;
        idx = 2;
    } else if (!strcmp(scenario, "idx-jump")) {
        for (unsigned i = 0; i < QSIZE; i++) {
            t[i] = (struct desc){ r->data.pa + i * 64, 64, wflag, 0 };
            avail[2 + i] = (uint16_t)i;
        }
        idx = 40000;
    } else { /* random */
        uint64_t *p = r->desc.va;
        for (unsigned i = 0; i < QSIZE * sizeof(struct desc) / 8; i++)
            p[i] = rand64();
        for (unsigned i = 0; i < QSIZE + 3; i++)
            avail[i] = (uint16_t)rand64();
        idx = avail[1];
        avail[0] = 0;
    }
    return idx;
}

static const char *scenarios[] = { "out-of-ram", "past-end", "loop", "next-oob", "nested-ind",
                                   "ind-oob", "write-flags", "idx-jump", "random" };

static void run_scenarios(struct dev *d, struct rings *rq, unsigned nq)
{
    for (size_t s = 0; s < sizeof scenarios / sizeof scenarios[0]; s++) {
        if (negotiate(d) < 0) {
            printf("GARBAGE %s %s: features refused (status 0x%x)\n", d->kind, scenarios[s], r8(d, C_STATUS));
            continue;
        }
        for (unsigned q = 0; q < nq; q++)
            setup_queue(d, q, rq[q].desc.pa, rq[q].avail.pa, rq[q].used.pa, QSIZE);
        w8(d, C_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
        for (unsigned q = 0; q < nq; q++) {
            uint16_t idx = fill(scenarios[s], &rq[q], q);
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            ((volatile uint16_t *)rq[q].avail.va)[1] = idx;
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            notify(d, q);
        }
        pause_ms(100);
        unsigned used0 = ((volatile uint16_t *)rq[0].used.va)[1];
        printf("GARBAGE %s %s: status 0x%02x used idx q0 %u\n", d->kind, scenarios[s], r8(d, C_STATUS), used0);
        fflush(stdout);
    }
    /* rings outside RAM and a bad queue size: the device must refuse or fail them */
    if (negotiate(d) == 0) {
        for (unsigned q = 0; q < nq; q++)
            setup_queue(d, q, FAR_AWAY, FAR_AWAY + PAGE, FAR_AWAY + 2 * PAGE, (uint16_t)(QSIZE - 3));
        w8(d, C_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
        for (unsigned q = 0; q < nq; q++)
            notify(d, q);
        pause_ms(100);
        printf("GARBAGE %s bad-rings: status 0x%02x\n", d->kind, r8(d, C_STATUS));
    }
    w8(d, C_STATUS, 0);     /* leave it reset, for a driver that comes later */
}

static const char *kind_of(unsigned device)
{
    switch (device) {
    case 0x1043: return "console";
    case 0x1049: return "9p";
    case 0x1053: return "vsock";
    default: return NULL;
    }
}

static int wanted(const char *kind, int argc, char **argv)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], kind))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    DIR *dir = opendir("/sys/bus/pci/devices");
    if (!dir) {
        perror("virtq-garbage: /sys/bus/pci/devices");
        return 1;
    }
    rng ^= (uint64_t)time(NULL);
    int done = 0, failed = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (de->d_name[0] == '.')
            continue;
        char path[300];
        unsigned vendor = 0, device = 0;
        snprintf(path, sizeof path, "/sys/bus/pci/devices/%s", de->d_name);
        if (read_hex(path, "vendor", &vendor) < 0 || vendor != VIRTIO_VENDOR || read_hex(path, "device", &device) < 0)
            continue;
        const char *kind = kind_of(device);
        if (!kind || !wanted(kind, argc, argv))
            continue;
        char drv[400];
        snprintf(drv, sizeof drv, "%s/driver", path);
        if (access(drv, F_OK) == 0) {
            printf("GARBAGE %s %s: skipped, a driver owns it\n", kind, de->d_name);
            continue;
        }
        struct dev d = { .kind = kind };
        snprintf(d.name, sizeof d.name, "%s", de->d_name);
        char en[400];
        snprintf(en, sizeof en, "%s/enable", path);
        int efd = open(en, O_WRONLY);     /* memory decoding and bus mastering */
        if (efd >= 0) {
            if (write(efd, "1", 1) < 0)
                perror("virtq-garbage: enable");
            close(efd);
        }
        if (find_caps(&d, path) < 0) {
            printf("GARBAGE %s %s: no usable virtio capabilities\n", kind, de->d_name);
            failed++;
            continue;
        }
        unsigned nq = r16(&d, C_NUMQ);
        if (nq > 8)
            nq = 8;
        struct rings rq[8];
        int ok = 1;
        for (unsigned q = 0; q < nq && ok; q++)
            ok = get_page(&rq[q].desc) == 0 && get_page(&rq[q].avail) == 0 && get_page(&rq[q].used) == 0 &&
                 get_page(&rq[q].ind) == 0 && get_page(&rq[q].data) == 0;
        if (!ok) {
            printf("GARBAGE %s: cannot find physical addresses (pagemap)\n", kind);
            failed++;
            continue;
        }
        printf("GARBAGE %s %s: %u queues\n", kind, de->d_name, nq);
        run_scenarios(&d, rq, nq);
        done++;
    }
    closedir(dir);
    printf("GARBAGE-DONE %d devices, %d failed\n", done, failed);
    return failed ? 1 : 0;
}
