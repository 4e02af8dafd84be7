/* vm-sandbox/vmm/virtio_9p.c: the mount tag in config space, and a
 * Tversion/Rversion and Tattach/Rattach round trip through the queue to
 * the p9 server (vm-sandbox/p9), with the request and the reply spread
 * over several buffers as Linux's zero-copy requests do; a chain with no
 * room for a reply is completed empty. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_vmm_driver.h"
#include "vm-sandbox/p9/p9.h"

#define TVERSION 100
#define RVERSION 101
#define TATTACH 104
#define RATTACH 105

struct msg {
    uint8_t b[256];
    size_t len;
};

static void put(struct msg *m, const void *p, size_t n)
{
    memcpy(m->b + m->len, p, n);
    m->len += n;
}
static void put8(struct msg *m, uint8_t v) { put(m, &v, 1); }
static void put16(struct msg *m, uint16_t v) { put(m, &v, 2); }
static void put32(struct msg *m, uint32_t v) { put(m, &v, 4); }
static void putstr(struct msg *m, const char *s)
{
    put16(m, (uint16_t)strlen(s));
    put(m, s, strlen(s));
}
static void start(struct msg *m, uint8_t type, uint16_t tag)
{
    m->len = 0;
    put32(m, 0);
    put8(m, type);
    put16(m, tag);
}
static void finish(struct msg *m)
{
    uint32_t size = (uint32_t)m->len;
    memcpy(m->b, &size, 4);
}

struct share {
    struct td *t;
    char dir[64];
};

static struct share *share_new(void)
{
    struct share *s = calloc(1, sizeof *s);
    struct zerr e;
    struct p9_server *server;
    struct vmm_virtio_backend b;
    s->t = td_new();
    snprintf(s->dir, sizeof s->dir, "/tmp/zone-test-9p.XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    assert_int_equal(p9_server_new(&(struct p9_config){ .root = s->dir }, &server, &e), 0);
    assert_int_equal(vmm_virtio_9p_new("hostshare", server, &b, &e), 0);
    assert_non_null(td_add(s->t, b));
    return s;
}

static void share_free(struct share *s)
{
    td_free(s->t);
    rmdir(s->dir);
    free(s);
}

/* Sends m split in two readable buffers, with the reply space split in
 * two writable ones; returns the reply's length. */
static uint32_t roundtrip(struct td *t, const struct msg *m, uint8_t *reply, uint32_t cap)
{
    uint32_t half = (uint32_t)m->len / 2;
    uint64_t r1 = td_alloc(t, m->b, half), r2 = td_alloc(t, m->b + half, (uint32_t)m->len - half);
    uint64_t w1 = td_alloc(t, NULL, 9), w2 = td_alloc(t, NULL, cap - 9);
    struct td_buf bufs[4] = { { r1, half, 0 }, { r2, (uint32_t)m->len - half, 0 }, { w1, 9, 1 }, { w2, cap - 9, 1 } };
    td_offer(t, 0, bufs, 4);
    assert_int_equal(td_kick(t, 0), 0);
    uint32_t id, len;
    assert_int_equal(td_wait_used(t, 0, &id, &len, 5000), 1);
    assert_true(len <= cap);
    memcpy(reply, t->buf + w1, len < 9 ? len : 9);
    if (len > 9)
        memcpy(reply + 9, t->buf + w2, len - 9);
    return len;
}

static void test_tag_and_features(void **state)
{
    (void)state;
    struct share *s = share_new();
    struct td *t = s->t;
    assert_int_equal(td_cfg_read(t, 0, t->slot, 0, 2, 2), 0x1040 + 9);
    td_common_write(t, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
    assert_true(td_common_read(t, VIRTIO_PCI_COMMON_DF, 4) & 1);     /* VIRTIO_9P_MOUNT_TAG */
    uint64_t cfg = t->bar + VIRTIO_PCI_DEVICE_OFF;
    assert_int_equal(td_mmio(t, cfg, 2, 0, 0, NULL), 9);
    char tag[10] = { 0 };
    for (int i = 0; i < 9; i++)
        tag[i] = (char)td_mmio(t, cfg + 2 + (uint64_t)i, 1, 0, 0, NULL);
    assert_string_equal(tag, "hostshare");
    share_free(s);
}

static void test_requests(void **state)
{
    (void)state;
    struct share *s = share_new();
    struct td *t = s->t;
    assert_true(td_driver_ok(t, VIRTIO_F_VERSION_1 | 1, 1) & VIRTIO_STATUS_DRIVER_OK);
    struct msg m;
    uint8_t reply[512];
    start(&m, TVERSION, 0xffff);
    put32(&m, 8192);
    putstr(&m, "9P2000.L");
    finish(&m);
    uint32_t len = roundtrip(t, &m, reply, sizeof reply);
    assert_true(len >= 7);
    assert_int_equal(reply[4], RVERSION);
    uint32_t size;
    memcpy(&size, reply, 4);
    assert_int_equal(size, len);
    assert_int_equal(td_isr(t), VIRTIO_PCI_ISR_QUEUE);

    start(&m, TATTACH, 1);
    put32(&m, 0);              /* fid */
    put32(&m, 0xffffffffu);    /* afid: none */
    putstr(&m, "root");
    putstr(&m, "");
    put32(&m, 0);              /* n_uname */
    finish(&m);
    len = roundtrip(t, &m, reply, sizeof reply);
    assert_int_equal(reply[4], RATTACH);
    assert_int_equal(len, 4 + 1 + 2 + 13);

    /* no room for any reply: completed with nothing written */
    uint64_t r = td_alloc(t, m.b, (uint32_t)m.len);
    td_offer(t, 0, &(struct td_buf){ r, (uint32_t)m.len, 0 }, 1);
    assert_int_equal(td_kick(t, 0), 0);
    uint32_t id;
    assert_int_equal(td_wait_used(t, 0, &id, &len, 5000), 1);
    assert_int_equal(len, 0);
    share_free(s);
}

static void test_bad_tags(void **state)
{
    (void)state;
    struct zerr e;
    struct p9_server *server;
    struct vmm_virtio_backend b;
    char dir[] = "/tmp/zone-test-9p.XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(p9_server_new(&(struct p9_config){ .root = dir }, &server, &e), 0);
    assert_int_equal(vmm_virtio_9p_new("", server, &b, &e), -1);       /* and the server is freed */
    char long_tag[300];
    memset(long_tag, 't', sizeof long_tag - 1);
    long_tag[sizeof long_tag - 1] = 0;
    assert_int_equal(p9_server_new(&(struct p9_config){ .root = dir }, &server, &e), 0);
    assert_int_equal(vmm_virtio_9p_new(long_tag, server, &b, &e), -1);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tag_and_features),
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_bad_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
