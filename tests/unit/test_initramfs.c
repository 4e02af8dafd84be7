/* vm-sandbox/initramfs: the cpio "newc" writer (parsed back here by an
 * independent reader), modules.dep resolution, xz/zstd module
 * decompression, release selection and the cached build on a fake
 * /lib/modules + /boot tree. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>
#include <lzma.h>
#include <zstd.h>

#include "vm-sandbox/initramfs/cpio.h"
#include "vm-sandbox/initramfs/initramfs.h"

/* ---- an independent newc reader ---- */

struct entry {
    char name[256];
    unsigned mode, nlink, rmaj, rmin;
    size_t size;
    const uint8_t *data;
};

static unsigned hex8(const uint8_t *p)
{
    char b[9];
    memcpy(b, p, 8);
    b[8] = '\0';
    for (int i = 0; i < 8; i++)
        assert_non_null(strchr("0123456789ABCDEF", b[i]));
    return (unsigned)strtoul(b, NULL, 16);
}

/* Parses the whole archive; returns the number of entries before the
 * trailer and checks that nothing follows it. */
static int parse_cpio(const uint8_t *buf, size_t len, struct entry *out, int max)
{
    size_t off = 0;
    int n = 0;
    for (;;) {
        struct entry e = { 0 };
        unsigned namesize;
        assert_true(off + CPIO_HEADER_SIZE <= len);
        assert_int_equal(off % 4, 0);
        assert_memory_equal(buf + off, "070701", 6);
        e.mode = hex8(buf + off + 14);
        e.nlink = hex8(buf + off + 38);
        e.size = hex8(buf + off + 54);
        e.rmaj = hex8(buf + off + 78);
        e.rmin = hex8(buf + off + 86);
        namesize = hex8(buf + off + 94);
        assert_int_equal(hex8(buf + off + 102), 0);   /* check */
        assert_true(namesize >= 2 && namesize < sizeof e.name);
        off += CPIO_HEADER_SIZE;
        assert_true(off + namesize <= len);
        assert_int_equal(buf[off + namesize - 1], '\0');
        memcpy(e.name, buf + off, namesize);
        off = (off + namesize + 3) & ~(size_t)3;
        if (!strcmp(e.name, CPIO_TRAILER)) {
            assert_int_equal(off, len);
            return n;
        }
        assert_true(off + e.size <= len);
        e.data = buf + off;
        off = (off + e.size + 3) & ~(size_t)3;
        assert_true(n < max);
        out[n++] = e;
    }
}

static uint8_t *read_all(const char *path, size_t *len)
{
    struct stat st;
    int fd = open(path, O_RDONLY);
    uint8_t *buf;
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    buf = malloc((size_t)st.st_size + 1);
    assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
}

static const struct entry *find(const struct entry *es, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(es[i].name, name))
            return &es[i];
    return NULL;
}

static void test_cpio_writer(void **state)
{
    char path[] = "/tmp/zone-test-cpio.XXXXXX";
    struct cpio_writer w;
    struct zerr e = { 0 };
    struct entry es[8];
    uint8_t *buf;
    size_t len;
    int fd = mkstemp(path), n;
    (void)state;
    assert_true(fd >= 0);
    cpio_writer_init(&w, fd);
    assert_int_equal(cpio_add(&w, "dev", S_IFDIR | 0755, 0, 0, NULL, 0, &e), 0);
    assert_int_equal(cpio_add(&w, "dev/console", S_IFCHR | 0600, 5, 1, NULL, 0, &e), 0);
    assert_int_equal(cpio_add(&w, "init", S_IFREG | 0755, 0, 0, "#!x\n", 4, &e), 0);
    assert_int_equal(cpio_add(&w, "odd", S_IFREG | 0644, 0, 0, "12345", 5, &e), 0);
    assert_int_equal(cpio_add(&w, "empty", S_IFREG | 0644, 0, 0, NULL, 0, &e), 0);
    assert_int_equal(cpio_add(&w, "link", S_IFLNK | 0777, 0, 0, "init", 4, &e), 0);
    /* refusals: nothing is written for them */
    assert_int_equal(cpio_add(&w, "/abs", S_IFREG | 0644, 0, 0, NULL, 0, &e), -1);
    assert_int_equal(cpio_add(&w, "a/../b", S_IFREG | 0644, 0, 0, NULL, 0, &e), -1);
    assert_int_equal(cpio_add(&w, "a//b", S_IFREG | 0644, 0, 0, NULL, 0, &e), -1);
    assert_int_equal(cpio_add(&w, ".", S_IFDIR | 0755, 0, 0, NULL, 0, &e), -1);
    assert_int_equal(cpio_add(&w, "", S_IFDIR | 0755, 0, 0, NULL, 0, &e), -1);
    assert_int_equal(cpio_add(&w, "d", S_IFDIR | 0755, 0, 0, "x", 1, &e), -1);
    assert_int_equal(cpio_add(&w, "fifo", S_IFIFO | 0644, 0, 0, NULL, 0, &e), -1);
    assert_non_null(strstr(e.msg, "unsupported"));
    assert_int_equal(cpio_finish(&w, &e), 0);
    close(fd);

    buf = read_all(path, &len);
    unlink(path);
    assert_int_equal(len, w.offset);
    n = parse_cpio(buf, len, es, 8);
    assert_int_equal(n, 6);
    assert_string_equal(es[0].name, "dev");
    assert_int_equal(es[0].mode, S_IFDIR | 0755);
    assert_int_equal(es[0].nlink, 2);
    assert_int_equal(es[1].mode, S_IFCHR | 0600);
    assert_int_equal(es[1].rmaj, 5);
    assert_int_equal(es[1].rmin, 1);
    assert_int_equal(es[2].size, 4);
    assert_memory_equal(es[2].data, "#!x\n", 4);
    assert_int_equal(es[3].size, 5);
    assert_memory_equal(es[3].data, "12345", 5);
    assert_int_equal(es[4].size, 0);
    assert_int_equal(es[5].mode, S_IFLNK | 0777);
    assert_memory_equal(es[5].data, "init", 4);
    free(buf);
}

/* ---- modules.dep ---- */

static const char fake_dep[] =
    "kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/fscache/fscache.ko kernel/fs/netfs/netfs.ko\n"
    "kernel/net/9p/9pnet.ko:\n"
    "\n"
    "kernel/fs/netfs/netfs.ko:\n"
    "kernel/fs/fscache/fscache.ko: kernel/fs/netfs/netfs.ko\n"
    "kernel/drivers/virtio/virtio_pci.ko.zst: kernel/drivers/virtio/virtio-pci-modern-dev.ko.xz\n"
    "kernel/drivers/virtio/virtio-pci-modern-dev.ko.xz:\n"
    "kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko";

static const char fake_builtin[] = "kernel/drivers/virtio/virtio.ko\nkernel/drivers/virtio/virtio_ring.ko\n";

static void test_moddep(void **state)
{
    const char *names[] = { "9p", "virtio", "virtio_pci", "9pnet_virtio", NULL };
    struct moddep_list l;
    struct zerr e = { 0 };
    char name[64];
    (void)state;
    assert_int_equal(moddep_resolve(fake_dep, strlen(fake_dep), fake_builtin, strlen(fake_builtin), names, &l, &e),
                     0);
    assert_int_equal(l.n, 7);
    /* dependencies first: netfs before fscache, both before 9p */
    assert_string_equal(l.mods[0].name, "9pnet");
    assert_string_equal(l.mods[1].name, "netfs");
    assert_string_equal(l.mods[2].name, "fscache");
    assert_string_equal(l.mods[3].name, "9p");
    assert_string_equal(l.mods[4].name, "virtio_pci_modern_dev");   /* '-' folded */
    assert_string_equal(l.mods[4].path, "kernel/drivers/virtio/virtio-pci-modern-dev.ko.xz");
    assert_string_equal(l.mods[5].name, "virtio_pci");
    assert_string_equal(l.mods[6].name, "9pnet_virtio");   /* 9pnet not twice */
    moddep_list_free(&l);

    {   /* names given with '-' match too */
        const char *dashed[] = { "virtio-pci", NULL };
        assert_int_equal(moddep_resolve(fake_dep, strlen(fake_dep), NULL, 0, dashed, &l, &e), 0);
        assert_int_equal(l.n, 2);
        moddep_list_free(&l);
    }
    {
        const char *unknown[] = { "9p", "nosuch", NULL };
        assert_int_equal(moddep_resolve(fake_dep, strlen(fake_dep), fake_builtin, strlen(fake_builtin), unknown,
                                        &l, &e), -1);
        assert_non_null(strstr(e.msg, "nosuch"));
        assert_int_equal(l.n, 0);
        assert_null(l.mods);
    }
    {
        const char *virtio[] = { "virtio", NULL };   /* builtin, but no modules.builtin given */
        assert_int_equal(moddep_resolve(fake_dep, strlen(fake_dep), NULL, 0, virtio, &l, &e), -1);
    }
    {
        static const char missing[] = "a.ko: b.ko\n";
        static const char cycle[] = "a.ko: b.ko\nb.ko: c.ko\nc.ko: a.ko\n";
        static const char nocolon[] = "a.ko b.ko\n";
        static const char notmod[] = "a.txt:\n";
        const char *a[] = { "a", NULL };
        assert_int_equal(moddep_resolve(missing, strlen(missing), NULL, 0, a, &l, &e), -1);
        assert_non_null(strstr(e.msg, "no line of its own"));
        assert_int_equal(moddep_resolve(cycle, strlen(cycle), NULL, 0, a, &l, &e), -1);
        assert_int_equal(e.code, ELOOP);
        assert_int_equal(moddep_resolve(nocolon, strlen(nocolon), NULL, 0, a, &l, &e), -1);
        assert_non_null(strstr(e.msg, "line 1"));
        assert_int_equal(moddep_resolve(notmod, strlen(notmod), NULL, 0, a, &l, &e), -1);
        assert_int_equal(moddep_resolve("a.ko:\0x", 7, NULL, 0, a, &l, &e), -1);
    }
    assert_int_equal(moddep_name_of("x/y/z-a.ko.zst", 14, name, sizeof name), 0);
    assert_string_equal(name, "z_a");
    assert_int_equal(moddep_name_of("x/y/z.o", 7, name, sizeof name), -1);
    assert_int_equal(moddep_name_of(".ko", 3, name, sizeof name), -1);
}

/* ---- decompression ---- */

static const uint8_t fake_elf[] = "\x7f" "ELF\x02\x01\x01 a fake module body, repeated a fake module body";

static uint8_t *make_xz(const void *in, size_t len, size_t *out_len)
{
    size_t cap = len + 1024, pos = 0;
    uint8_t *out = malloc(cap);
    assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, in, len, out, &pos, cap), LZMA_OK);
    *out_len = pos;
    return out;
}

static uint8_t *make_zst(const void *in, size_t len, size_t *out_len)
{
    size_t cap = ZSTD_compressBound(len);
    uint8_t *out = malloc(cap);
    *out_len = ZSTD_compress(out, cap, in, len, 3);
    assert_false(ZSTD_isError(*out_len));
    return out;
}

static void test_decompress(void **state)
{
    struct zerr e = { 0 };
    uint8_t *c, *d;
    size_t clen, dlen;
    (void)state;
    c = make_xz(fake_elf, sizeof fake_elf, &clen);
    assert_int_equal(modfile_decompress(c, clen, 1 << 20, &d, &dlen, &e), 0);
    assert_int_equal(dlen, sizeof fake_elf);
    assert_memory_equal(d, fake_elf, dlen);
    free(d);
    assert_int_equal(modfile_decompress(c, clen - 4, 1 << 20, &d, &dlen, &e), -1);   /* truncated */
    assert_null(d);
    free(c);

    c = make_zst(fake_elf, sizeof fake_elf, &clen);
    assert_int_equal(modfile_decompress(c, clen, 1 << 20, &d, &dlen, &e), 0);
    assert_memory_equal(d, fake_elf, dlen);
    free(d);
    assert_int_equal(modfile_decompress(c, clen - 3, 1 << 20, &d, &dlen, &e), -1);
    assert_non_null(strstr(e.msg, "zstd"));
    free(c);

    {   /* a decompression bomb stops at the limit */
        size_t big = 4u << 20;
        uint8_t *zeros = calloc(1, big);
        memcpy(zeros, fake_elf, 4);
        c = make_zst(zeros, big, &clen);
        assert_int_equal(modfile_decompress(c, clen, 1u << 20, &d, &dlen, &e), -1);
        assert_int_equal(e.code, EFBIG);
        free(c);
        c = make_xz(zeros, big, &clen);
        assert_int_equal(modfile_decompress(c, clen, 1u << 20, &d, &dlen, &e), -1);
        assert_int_equal(e.code, EFBIG);
        free(c);
        free(zeros);
    }
    /* valid compression of something that is not ELF */
    c = make_zst("hello world", 11, &clen);
    assert_int_equal(modfile_decompress(c, clen, 1 << 20, &d, &dlen, &e), -1);
    assert_non_null(strstr(e.msg, "ELF"));
    free(c);
    assert_int_equal(modfile_decompress((const uint8_t *)"PK\x03\x04", 4, 1 << 20, &d, &dlen, &e), -1);
}

/* ---- the build, on a fake tree ---- */

static char tree[64];

static void put_file(const char *rel, const void *data, size_t len)
{
    char path[512], *slash;
    int fd;
    snprintf(path, sizeof path, "%s/%s", tree, rel);
    for (slash = path + strlen(tree) + 1; (slash = strchr(slash, '/')); slash++) {
        *slash = '\0';
        mkdir(path, 0755);
        *slash = '/';
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int tree_setup(void **state)
{
    static const char dep[] = "kernel/a/virtio_pci.ko: kernel/a/virtio.ko.xz\n"
                              "kernel/a/virtio.ko.xz:\n"
                              "kernel/b/9p.ko.zst: kernel/a/virtio.ko.xz\n";
    uint8_t *c;
    size_t clen;
    (void)state;
    strcpy(tree, "/tmp/zone-test-initramfs.XXXXXX");
    assert_non_null(mkdtemp(tree));
    put_file("lib/modules/6.1.0-9-amd64/modules.dep", dep, strlen(dep));
    put_file("lib/modules/6.1.0-9-amd64/kernel/a/virtio_pci.ko", fake_elf, sizeof fake_elf);
    c = make_xz("\x7f" "ELFvirtio", 10, &clen);
    put_file("lib/modules/6.1.0-9-amd64/kernel/a/virtio.ko.xz", c, clen);
    free(c);
    c = make_zst("\x7f" "ELF9p", 6, &clen);
    put_file("lib/modules/6.1.0-9-amd64/kernel/b/9p.ko.zst", c, clen);
    free(c);
    put_file("boot/vmlinuz-6.1.0-9-amd64", "k", 1);
    /* newer by version order, but without modules: not eligible */
    put_file("boot/vmlinuz-6.1.0-10-amd64", "k", 1);
    put_file("lib/modules/6.1.0-10-amd64/README", "x", 1);
    /* with modules.dep but no kernel: not eligible either */
    put_file("lib/modules/6.2.0-1-amd64/modules.dep", "", 0);
    put_file("agent", "\x7f" "ELFagent", 9);
    return 0;
}

static int tree_teardown(void **state)
{
    (void)state;
    nftw(tree, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static void test_pick_release(void **state)
{
    char mods[128], boot[128], rel[64];
    struct zerr e = { 0 };
    (void)state;
    snprintf(mods, sizeof mods, "%s/lib/modules", tree);
    snprintf(boot, sizeof boot, "%s/boot", tree);
    assert_int_equal(initramfs_pick_release(mods, boot, rel, sizeof rel, &e), 0);
    assert_string_equal(rel, "6.1.0-9-amd64");
    put_file("lib/modules/6.1.0-10-amd64/modules.dep", "", 0);
    assert_int_equal(initramfs_pick_release(mods, boot, rel, sizeof rel, &e), 0);
    assert_string_equal(rel, "6.1.0-10-amd64");   /* 10 > 9: version order, not bytes */
    snprintf(mods, sizeof mods, "%s/boot", tree);
    assert_int_equal(initramfs_pick_release(mods, boot, rel, sizeof rel, &e), -1);
}

static void test_build_and_cache(void **state)
{
    char mods[128], boot[128], agent[128], cache[128], first[PATH_MAX];
    const char *names[] = { "9p", "virtio_pci", NULL };
    struct initramfs_config c = { .agent_path = agent, .cache_dir = cache, .release = "6.1.0-9-amd64",
                                  .modules_dir = mods, .boot_dir = boot, .modules = names };
    struct initramfs_result r;
    struct zerr e = { 0 };
    struct entry es[16];
    const struct entry *x;
    uint8_t *buf;
    size_t len;
    int n;
    (void)state;
    snprintf(mods, sizeof mods, "%s/lib/modules", tree);
    snprintf(boot, sizeof boot, "%s/boot", tree);
    snprintf(agent, sizeof agent, "%s/agent", tree);
    snprintf(cache, sizeof cache, "%s/var/cache/zone", tree);   /* created on the way */

    if (initramfs_build(&c, &r, &e) < 0)
        fail_msg("%s", e.msg);
    assert_false(r.reused);
    assert_int_equal(r.nmodules, 3);
    assert_non_null(strstr(r.path, "/initramfs-6.1.0-9-amd64-"));
    assert_non_null(strstr(r.kernel, "/boot/vmlinuz-6.1.0-9-amd64"));
    strcpy(first, r.path);

    buf = read_all(r.path, &len);
    n = parse_cpio(buf, len, es, 16);
    x = find(es, n, "init");
    assert_non_null(x);
    assert_int_equal(x->mode, S_IFREG | 0755);
    assert_memory_equal(x->data, "\x7f" "ELFagent", 9);
    x = find(es, n, "dev/console");
    assert_non_null(x);
    assert_int_equal(x->mode, S_IFCHR | 0600);
    assert_true(x->rmaj == 5 && x->rmin == 1);
    assert_non_null(find(es, n, "proc"));
    assert_non_null(find(es, n, "newroot"));
    x = find(es, n, "lib/modules/virtio.ko");   /* decompressed from .xz */
    assert_non_null(x);
    assert_int_equal(x->size, 10);
    assert_memory_equal(x->data, "\x7f" "ELFvirtio", 10);
    x = find(es, n, "lib/modules/9p.ko");   /* from .zst */
    assert_non_null(x);
    assert_memory_equal(x->data, "\x7f" "ELF9p", 6);
    x = find(es, n, "lib/modules/load.list");
    assert_non_null(x);
    assert_int_equal(x->size, strlen("/lib/modules/virtio.ko\n/lib/modules/9p.ko\n/lib/modules/virtio_pci.ko\n"));
    assert_memory_equal(x->data, "/lib/modules/virtio.ko\n/lib/modules/9p.ko\n/lib/modules/virtio_pci.ko\n", x->size);
    free(buf);

    /* the same inputs: reused; a new agent: a new file */
    assert_int_equal(initramfs_build(&c, &r, &e), 0);
    assert_true(r.reused);
    assert_string_equal(r.path, first);
    put_file("agent", "\x7f" "ELFagent2", 10);
    assert_int_equal(initramfs_build(&c, &r, &e), 0);
    assert_false(r.reused);
    assert_string_not_equal(r.path, first);
    {   /* no temporary files left behind */
        char cmd[256];
        snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 2", cache);
        assert_int_equal(system(cmd), 0);
    }

    /* failures: a module file gone, a bad release, no agent */
    c.modules = NULL;   /* the defaults: not in this tree */
    assert_int_equal(initramfs_build(&c, &r, &e), -1);
    assert_non_null(strstr(e.msg, "virtio_console"));
    c.modules = names;
    c.release = "../etc";
    assert_int_equal(initramfs_build(&c, &r, &e), -1);
    c.release = NULL;   /* picks 6.1.0-9 (or -10 once it had modules.dep) */
    snprintf(agent, sizeof agent, "%s/nonexistent", tree);
    assert_int_equal(initramfs_build(&c, &r, &e), -1);
    assert_non_null(strstr(e.msg, "agent"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpio_writer),
        cmocka_unit_test(test_moddep),
        cmocka_unit_test(test_decompress),
        cmocka_unit_test_setup_teardown(test_pick_release, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_build_and_cache, tree_setup, tree_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
