/* vm-sandbox/vmm/virtqueue.c: walking split rings that a hostile guest
 * wrote — good chains, out-of-range buffers and heads, loops, wrong flags,
 * nested indirect tables, oversize lengths, a lying avail index — plus
 * completion into the used ring; and the 16550A register model. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vm-sandbox/vmm/uart8250.h"
#include "vm-sandbox/vmm/virtqueue.h"

#define MEM_SIZE (32ULL << 20)
#define QSIZE 8
#define DESC  0x10000ULL
#define AVAIL 0x11000ULL
#define USED  0x12000ULL
#define DATA  0x20000ULL

struct ring {
    uint8_t *buf;
    struct vmm_mem mem;
    struct vmm_vq vq;
    uint16_t avail_idx;
};

static void set_desc(struct ring *r, uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    uint8_t *d = r->buf + table + 16 * i;
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}

static void offer(struct ring *r, uint16_t head)
{
    memcpy(r->buf + AVAIL + 4 + 2 * (r->avail_idx % QSIZE), &head, 2);
    r->avail_idx++;
    memcpy(r->buf + AVAIL + 2, &r->avail_idx, 2);
}

static int ring_setup(void **state)
{
    struct ring *r = calloc(1, sizeof *r);
    struct zerr e;
    r->buf = calloc(1, MEM_SIZE);
    assert_int_equal(vmm_mem_init_buffer(&r->mem, r->buf, MEM_SIZE, &e), 0);
    assert_int_equal(vmm_vq_init(&r->vq, &r->mem, QSIZE, DESC, AVAIL, USED, &e), 0);
    *state = r;
    return 0;
}

static int ring_teardown(void **state)
{
    struct ring *r = *state;
    free(r->buf);
    free(r);
    return 0;
}

static struct vmm_vq_chain chain;   /* large: keep it off the stack */

static int pop(struct ring *r, bool *consumed, struct zerr *e)
{
    return vmm_vq_pop(&r->vq, &chain, consumed, e);
}

static void test_init_refuses_bad_rings(void **state)
{
    struct ring *r = *state;
    struct vmm_vq vq;
    struct zerr e;
    assert_int_equal(vmm_vq_init(&vq, &r->mem, 6, DESC, AVAIL, USED, &e), -1);
    assert_int_equal(vmm_vq_init(&vq, &r->mem, 0, DESC, AVAIL, USED, &e), -1);
    assert_int_equal(vmm_vq_init(&vq, &r->mem, QSIZE, DESC + 8, AVAIL, USED, &e), -1);
    assert_int_equal(vmm_vq_init(&vq, &r->mem, QSIZE, DESC, AVAIL, MEM_SIZE - 16, &e), -1);
    assert_int_equal(vmm_vq_init(&vq, &r->mem, 32768, MEM_SIZE - 4096, AVAIL, USED, &e), -1);
}

static void test_good_chain_and_used_ring(void **state)
{
    struct ring *r = *state;
    struct zerr e;
    bool consumed;
    memcpy(r->buf + DATA, "hello ", 6);
    memcpy(r->buf + DATA + 0x100, "world", 5);
    set_desc(r, DESC, 0, DATA, 6, VMM_VRING_DESC_F_NEXT, 3);
    set_desc(r, DESC, 3, DATA + 0x100, 5, VMM_VRING_DESC_F_NEXT, 5);
    set_desc(r, DESC, 5, DATA + 0x200, 16, VMM_VRING_DESC_F_WRITE, 0);
    assert_int_equal(pop(r, &consumed, &e), 0);   /* nothing offered yet */
    offer(r, 0);
    assert_int_equal(pop(r, &consumed, &e), 1);
    assert_int_equal(chain.head, 0);
    assert_int_equal(chain.nbufs, 3);
    assert_int_equal(chain.nreadable, 2);
    assert_int_equal(chain.readable_bytes, 11);
    assert_int_equal(chain.writable_bytes, 16);
    char text[12] = { 0 };
    assert_int_equal(vmm_vq_read(&chain, 0, text, sizeof text), 11);
    assert_string_equal(text, "hello world");
    assert_int_equal(vmm_vq_read(&chain, 4, text, 4), 4);
    assert_memory_equal(text, "o wo", 4);
    assert_int_equal(vmm_vq_write(&chain, 0, "0123456789abcdefXYZ", 19), 16);
    assert_memory_equal(r->buf + DATA + 0x200, "0123456789abcdef", 16);
    assert_int_equal(vmm_vq_push(&r->vq, chain.head, 16, &e), 0);
    uint16_t used_idx;
    uint32_t id, len;
    memcpy(&used_idx, r->buf + USED + 2, 2);
    memcpy(&id, r->buf + USED + 4, 4);
    memcpy(&len, r->buf + USED + 8, 4);
    assert_int_equal(used_idx, 1);
    assert_int_equal(id, 0);
    assert_int_equal(len, 16);
    assert_int_equal(pop(r, &consumed, &e), 0);
    assert_int_equal(vmm_vq_push(&r->vq, QSIZE, 0, &e), -1);   /* no such head */
    assert_true(vmm_vq_should_interrupt(&r->vq));
    uint16_t flags = VMM_VRING_AVAIL_F_NO_INTERRUPT;
    memcpy(r->buf + AVAIL, &flags, 2);
    assert_false(vmm_vq_should_interrupt(&r->vq));
}

static void test_out_of_range_buffers(void **state)
{
    struct ring *r = *state;
    struct zerr e;
    bool consumed;
    set_desc(r, DESC, 0, MEM_SIZE - 4, 8, 0, 0);              /* straddles the end of RAM */
    offer(r, 0);
    assert_int_equal(pop(r, &consumed, &e), -1);
    assert_true(consumed);
    assert_int_equal(e.code, EFAULT);
    set_desc(r, DESC, 1, UINT64_MAX - 3, 16, 0, 0);           /* wraps around */
    offer(r, 1);
    assert_int_equal(pop(r, &consumed, &e), -1);
    assert_int_equal(e.code, EFAULT);
    set_desc(r, DESC, 2, 0xfee00000ULL, 4, 0, 0);             /* not RAM at all */
    offer(r, 2);
    assert_int_equal(pop(r, &consumed, &e), -1);
    set_desc(r, DESC, 3, DATA, 4, VMM_VRING_DESC_F_NEXT, QSIZE); /* next past the table */
    offer(r, 3);
    assert_int_equal(pop(r, &consumed, &e), -1);
    offer(r, QSIZE + 3);                                      /* head past the table */
    assert_int_equal(pop(r, &consumed, &e), -1);
    assert_false(consumed);
}

static void test_loops(void **state)
{
    struct ring *r = *state;
    struct zerr e;
    bool consumed;
    set_desc(r, DESC, 0, DATA, 4, VMM_VRING_DESC_F_NEXT, 1);
    set_desc(r, DESC, 1, DATA, 4, VMM_VRING_DESC_F_NEXT, 0);
    offer(r, 0);
    assert_int_equal(pop(r, &consumed, &e), -1);
    assert_int_equal(e.code, ELOOP);
    set_desc(r, DESC, 2, DATA, 4, VMM_VRING_DESC_F_NEXT, 2);  /* points at itself */
    offer(r, 2);
    assert_int_equal(pop(r, &consumed, &e), -1);
    assert_int_equal(e.code, ELOOP);
    /* a loop inside an indirect table */
    uint64_t table = DATA + 0x1000;
    set_desc(r, table, 0, DATA, 4, VMM_VRING_DESC_F_NEXT, 1);
    set_desc(r, table, 1, DATA, 4, VMM_VRING_DESC_F_NEXT, 0);
    set_desc(r, DESC, 4, table, 32, VMM_VRING_DESC_F_INDIRECT, 0);
    offer(r, 4);
    assert_int_equal(pop(r, &consumed, &e), -1);
    assert_int_equal(e.code, ELOOP);
}

static void test_wrong_flags(void **state)
{
    struct ring *r = *state;
    struct zerr e;
    bool consumed;
    /* readable after writable */
    set_desc(r, DESC, 0, DATA, 4, VMM_VRING_DESC_F_WRITE | VMM_VRING_DESC_F_NEXT, 1);
    set_desc(r, DESC, 1, DATA, 4, 0, 0);
    offer(r, 0);
    assert_int_equal(pop(r, &consumed, &e), -1);
    assert_non_null(strstr(e.msg, "readable buffer after a writable"));
    /* INDIRECT together with NEXT */
    uint64_t table = DATA + 0x1000;
    set_desc(r, table, 0, DATA, 4, 0, 0);
    set_desc(r, DESC, 2, table, 16, VMM_VRING_DESC_F_INDIRECT | VMM_VRING_DESC_F_NEXT, 3);
    offer(r, 2);
    assert_int_equal(pop(r, &consumed, &e), -1);
    /* indirect inside indirect */
    set_desc(r, table, 0, table, 16, VMM_VRING_DESC_F_INDIRECT, 0);
    set_desc(r, DESC, 4, table, 16, VMM_VRING_DESC_F_INDIRECT, 0);
    offer(r, 4);
    assert_int_equal(pop(r, &consumed, &e), -1);
    assert_non_null(strstr(e.msg, "inside an indirect table"));
    /* indirect table of a length that is not a multiple of 16, or empty */
    set_desc(r, DESC, 5, table, 24, VMM_VRING_DESC_F_INDIRECT, 0);
    offer(r, 5);
    assert_int_equal(pop(r, &consumed, &e), -1);
    set_desc(r, DESC, 6, table, 0, VMM_VRING_DESC_F_INDIRECT, 0);
    offer(r, 6);
    assert_int_equal(pop(r, &consumed, &e), -1);
    /* INDIRECT after direct descriptors */
    set_desc(r, table, 0, DATA, 4, 0, 0);
    set_desc(r, DESC, 0, DATA, 4, VMM_VRING_DESC_F_NEXT, 7);
    set_desc(r, DESC, 7, table, 16, VMM_VRING_DESC_F_INDIRECT, 0);
    offer(r, 0);
    assert_int_equal(pop(r, &consumed, &e), -1);
    /* a good indirect chain still works afterwards */
    set_desc(r, table, 0, DATA, 4, VMM_VRING_DESC_F_NEXT, 1);
    set_desc(r, table, 1, DATA + 64, 8, VMM_VRING_DESC_F_WRITE, 0);
    set_desc(r, DESC, 1, table, 32, VMM_VRING_DESC_F_INDIRECT, 0);
    offer(r, 1);
    assert_int_equal(pop(r, &consumed, &e), 1);
    assert_int_equal(chain.nbufs, 2);
    assert_int_equal(chain.writable_bytes, 8);
}

static void test_oversize_lengths(void **state)
{
    struct ring *r = *state;
    struct zerr e;
    bool consumed;
    /* each buffer fits in RAM, the sum is over the per-chain limit */
    set_desc(r, DESC, 0, 0x100000, 20u << 20, VMM_VRING_DESC_F_NEXT, 1);
    set_desc(r, DESC, 1, 0x100000, 20u << 20, VMM_VRING_DESC_F_NEXT, 2);
    set_desc(r, DESC, 2, 0x100000, 20u << 20, VMM_VRING_DESC_F_NEXT, 3);
    set_desc(r, DESC, 3, 0x100000, 20u << 20, 0, 0);
    offer(r, 0);
    assert_int_equal(pop(r, &consumed, &e), -1);
    assert_int_equal(e.code, E2BIG);
    set_desc(r, DESC, 4, DATA, UINT32_MAX, 0, 0);
    offer(r, 4);
    assert_int_equal(pop(r, &consumed, &e), -1);
}

static void test_lying_avail_index(void **state)
{
    struct ring *r = *state;
    struct zerr e;
    bool consumed;
    uint16_t idx = QSIZE + 1;          /* more entries than the queue holds */
    memcpy(r->buf + AVAIL + 2, &idx, 2);
    assert_int_equal(pop(r, &consumed, &e), -1);
    assert_false(consumed);
    /* the index wrapping around 65535 is fine */
    r->vq.last_avail = 65535;
    idx = 0;
    memcpy(r->buf + AVAIL + 2, &idx, 2);
    uint16_t head = 2;
    memcpy(r->buf + AVAIL + 4 + 2 * (65535 % QSIZE), &head, 2);
    set_desc(r, DESC, 2, DATA, 4, 0, 0);
    assert_int_equal(pop(r, &consumed, &e), 1);
    assert_int_equal(chain.head, 2);
}

static void test_uart_registers(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct vmm_uart *u = vmm_uart_new(p[1]);
    assert_int_equal(vmm_uart_read(u, 5) & 0x60, 0x60);      /* THRE | TEMT */
    assert_int_equal(vmm_uart_read(u, 2) & 0x0f, 0x01);      /* no interrupt */
    vmm_uart_write(u, 0, 'A');
    char c;
    assert_int_equal(read(p[0], &c, 1), 1);
    assert_int_equal(c, 'A');
    /* enabling THRE interrupts raises one; reading IIR acknowledges it */
    vmm_uart_write(u, 1, 0x02);
    assert_int_equal(vmm_uart_irq_level(u), 1);
    assert_int_equal(vmm_uart_read(u, 2) & 0x0f, 0x02);
    assert_int_equal(vmm_uart_irq_level(u), 0);
    vmm_uart_write(u, 0, 'B');                               /* sent at once: THRE again */
    assert_int_equal(vmm_uart_irq_level(u), 1);
    vmm_uart_write(u, 1, 0);
    assert_int_equal(vmm_uart_irq_level(u), 0);
    /* divisor latch */
    vmm_uart_write(u, 3, 0x80);
    vmm_uart_write(u, 0, 0x0c);
    vmm_uart_write(u, 1, 0x00);
    assert_int_equal(vmm_uart_read(u, 0), 0x0c);
    vmm_uart_write(u, 3, 0x03);
    /* scratch and FIFO bits */
    vmm_uart_write(u, 7, 0x5a);
    assert_int_equal(vmm_uart_read(u, 7), 0x5a);
    vmm_uart_write(u, 2, 0x07);
    assert_int_equal(vmm_uart_read(u, 2) & 0xc0, 0xc0);
    /* loopback: MCR bits show in MSR, bytes come back in */
    vmm_uart_write(u, 4, 0x1f);
    assert_int_equal(vmm_uart_read(u, 6) & 0xf0, 0xf0);
    vmm_uart_write(u, 0, 'x');
    assert_int_equal(vmm_uart_read(u, 5) & 0x01, 1);
    assert_int_equal(vmm_uart_read(u, 0), 'x');
    vmm_uart_write(u, 4, 0x0b);
    /* input with receive interrupts */
    vmm_uart_write(u, 1, 0x01);
    assert_int_equal(vmm_uart_input(u, "hi", 2), 2);
    assert_int_equal(vmm_uart_irq_level(u), 1);
    assert_int_equal(vmm_uart_read(u, 2) & 0x0f, 0x04);
    assert_int_equal(vmm_uart_read(u, 0), 'h');
    assert_int_equal(vmm_uart_read(u, 0), 'i');
    assert_int_equal(vmm_uart_irq_level(u), 0);
    vmm_uart_free(u);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_refuses_bad_rings, ring_setup, ring_teardown),
        cmocka_unit_test_setup_teardown(test_good_chain_and_used_ring, ring_setup, ring_teardown),
        cmocka_unit_test_setup_teardown(test_out_of_range_buffers, ring_setup, ring_teardown),
        cmocka_unit_test_setup_teardown(test_loops, ring_setup, ring_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_flags, ring_setup, ring_teardown),
        cmocka_unit_test_setup_teardown(test_oversize_lengths, ring_setup, ring_teardown),
        cmocka_unit_test_setup_teardown(test_lying_avail_index, ring_setup, ring_teardown),
        cmocka_unit_test(test_uart_registers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
