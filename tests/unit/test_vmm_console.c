/* vm-sandbox/vmm/iothread.c and virtio_console.c, driven like a guest
 * driver would (test_vmm_driver.h): output to a pipe, input from a pipe
 * (input before buffers, larger than a buffer, EOF without spinning),
 * from a regular file and /dev/null, a malformed chain, reset and
 * re-activation, the emergency write register. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_vmm_driver.h"

#define IO_NAME "zone-test-io"

/* ---- the I/O thread ---- */

struct probe {
    pthread_t seen;
    int runs;
    struct vmm_iothread *t;
    bool current;
};

static void on_thread(void *arg)
{
    struct probe *p = arg;
    p->seen = pthread_self();
    p->current = vmm_iothread_is_current(p->t);
    p->runs++;
}

static void on_event(void *opaque, uint32_t events)
{
    (void)events;
    __atomic_add_fetch((int *)opaque, 1, __ATOMIC_SEQ_CST);
}

static void test_iothread(void **state)
{
    (void)state;
    struct vmm_iothread *t;
    struct zerr e;
    assert_int_equal(vmm_iothread_new(IO_NAME, &t, &e), 0);
    struct probe p = { .t = t };
    vmm_iothread_call(t, on_thread, &p);
    assert_int_equal(p.runs, 1);
    assert_true(p.current);
    assert_false(pthread_equal(p.seen, pthread_self()));
    assert_false(vmm_iothread_is_current(t));

    int hits = 0;
    struct vmm_io_source *s = vmm_io_add_event(t, on_event, &hits, &e);
    assert_non_null(s);
    vmm_io_signal(s);
    for (int i = 0; i < 1000 && __atomic_load_n(&hits, __ATOMIC_SEQ_CST) == 0; i++)
        usleep(1000);
    assert_int_equal(__atomic_load_n(&hits, __ATOMIC_SEQ_CST), 1);
    /* deleted: a signal that follows never reaches the callback */
    vmm_io_del(s);
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    int readable = 0;
    struct vmm_io_source *ps = vmm_io_add_fd(t, pipefd[0], 0, on_event, &readable, &e);
    assert_non_null(ps);
    assert_int_equal(write(pipefd[1], "x", 1), 1);
    usleep(50000);
    assert_int_equal(__atomic_load_n(&readable, __ATOMIC_SEQ_CST), 0);      /* registered disabled */
    assert_int_equal(vmm_io_set_events(ps, EPOLLIN | EPOLLET, &e), 0);
    for (int i = 0; i < 1000 && __atomic_load_n(&readable, __ATOMIC_SEQ_CST) == 0; i++)
        usleep(1000);
    assert_int_equal(__atomic_load_n(&readable, __ATOMIC_SEQ_CST), 1);
    /* regular files cannot be watched */
    int fd = open("/proc/self/exe", O_RDONLY);
    assert_null(vmm_io_add_fd(t, fd, EPOLLIN, on_event, &readable, &e));
    assert_int_equal(e.code, EPERM);
    close(fd);
    vmm_iothread_stop(t);
    vmm_iothread_call(t, on_thread, &p);     /* stopped: runs here */
    assert_int_equal(p.runs, 2);
    assert_true(pthread_equal(p.seen, pthread_self()));
    vmm_iothread_free(t);                    /* frees ps */
    close(pipefd[0]);
    close(pipefd[1]);
}

/* ---- the console ---- */

struct cons {
    struct td *t;
    struct vmm_iothread *io;
    int in[2], out[2];
};

static struct cons *cons_new(int in_fd)
{
    struct cons *c = calloc(1, sizeof *c);
    struct zerr e;
    struct vmm_virtio_backend b;
    c->t = td_new();
    assert_int_equal(vmm_iothread_new(IO_NAME, &c->io, &e), 0);
    assert_int_equal(pipe2(c->out, O_CLOEXEC), 0);
    c->in[0] = c->in[1] = -1;
    if (in_fd == -2) {
        assert_int_equal(pipe2(c->in, O_CLOEXEC), 0);
        in_fd = c->in[0];
    }
    assert_int_equal(vmm_virtio_console_new(c->io, in_fd, c->out[1], &b, &e), 0);
    assert_non_null(td_add(c->t, b));
    assert_true(td_driver_ok(c->t, VIRTIO_F_VERSION_1, 2) & VIRTIO_STATUS_DRIVER_OK);
    return c;
}

static void cons_free(struct cons *c)
{
    vmm_iothread_stop(c->io);
    td_free(c->t);
    vmm_iothread_free(c->io);
    for (int i = 0; i < 2; i++) {
        if (c->in[i] >= 0)
            close(c->in[i]);
        close(c->out[i]);
    }
    free(c);
}

static uint64_t rx_buffer(struct cons *c, uint32_t len)
{
    uint64_t gpa = td_alloc(c->t, NULL, len);
    td_offer(c->t, 0, &(struct td_buf){ gpa, len, 1 }, 1);
    return gpa;
}

static void test_output(void **state)
{
    (void)state;
    struct cons *c = cons_new(-2);
    struct td *t = c->t;
    struct td_buf bufs[2] = { { td_alloc(t, "hello, ", 7), 7, 0 }, { td_alloc(t, "world\n", 6), 6, 0 } };
    uint16_t head = td_offer(t, 1, bufs, 2);
    assert_int_equal(td_kick(t, 1), 0);
    char got[32] = { 0 };
    assert_int_equal(read(c->out[0], got, sizeof got), 13);
    assert_string_equal(got, "hello, world\n");
    uint32_t id, len;
    assert_int_equal(td_wait_used(t, 1, &id, &len, 0), 1);
    assert_int_equal(id, head);
    assert_int_equal(len, 0);
    assert_int_equal(td_irq(t, 16), 1);
    assert_int_equal(td_isr(t), VIRTIO_PCI_ISR_QUEUE);
    assert_int_equal(td_irq(t, 16), 0);
    /* emergency write: one byte through config space */
    td_mmio(t, t->bar + VIRTIO_PCI_DEVICE_OFF + 8, 4, 1, '!', NULL);
    assert_int_equal(read(c->out[0], got, sizeof got), 1);
    assert_int_equal(got[0], '!');
    int r;
    td_mmio(t, t->bar + VIRTIO_PCI_DEVICE_OFF + 0, 2, 1, 80, &r);   /* cols are read-only */
    assert_int_equal(r, -1);
    cons_free(c);
}

static void test_input(void **state)
{
    (void)state;
    struct cons *c = cons_new(-2);
    struct td *t = c->t;
    uint32_t id, len;
    uint64_t a = rx_buffer(c, 64);
    assert_int_equal(td_kick(t, 0), 0);
    assert_int_equal(write(c->in[1], "abc", 3), 3);
    assert_int_equal(td_wait_used(t, 0, &id, &len, 2000), 1);
    assert_int_equal(len, 3);
    assert_memory_equal(t->buf + a, "abc", 3);
    assert_int_equal(td_isr(t), VIRTIO_PCI_ISR_QUEUE);

    /* input before any buffer waits for one; more than a buffer spreads */
    char big[100];
    for (int i = 0; i < 100; i++)
        big[i] = (char)('a' + i % 26);
    assert_int_equal(write(c->in[1], big, sizeof big), 100);
    usleep(100000);
    assert_int_equal(td_used_idx(t, 0), 1);
    uint64_t b[3] = { rx_buffer(c, 40), rx_buffer(c, 40), rx_buffer(c, 40) };
    assert_int_equal(td_kick(t, 0), 0);
    char back[100];
    size_t got = 0;
    for (int i = 0; i < 3 && got < 100; i++) {
        assert_int_equal(td_wait_used(t, 0, &id, &len, 2000), 1);
        memcpy(back + got, t->buf + b[i], len);
        got += len;
    }
    assert_int_equal(got, 100);
    assert_memory_equal(back, big, 100);
    cons_free(c);
}

/* utime+stime of the I/O thread, in clock ticks */
static long io_ticks(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *de;
    long ticks = -1;
    while (d && (de = readdir(d))) {
        char path[300], comm[64] = "", stat[1024];
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (!fgets(comm, sizeof comm, f))
            comm[0] = 0;
        fclose(f);
        if (strncmp(comm, IO_NAME, strlen(IO_NAME)) != 0)
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/stat", de->d_name);
        f = fopen(path, "r");
        if (f && fgets(stat, sizeof stat, f)) {
            char *p = strrchr(stat, ')');
            long ut = 0, st = 0;
            if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &st) == 2)
                ticks = ut + st;
        }
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return ticks;
}

static void test_input_eof_does_not_spin(void **state)
{
    (void)state;
    struct cons *c = cons_new(-2);
    struct td *t = c->t;
    uint32_t id, len;
    rx_buffer(c, 64);
    assert_int_equal(td_kick(t, 0), 0);
    assert_int_equal(write(c->in[1], "last", 4), 4);
    close(c->in[1]);
    c->in[1] = -1;
    assert_int_equal(td_wait_used(t, 0, &id, &len, 2000), 1);
    assert_int_equal(len, 4);
    usleep(50000);
    long before = io_ticks();
    assert_true(before >= 0);
    usleep(500000);
    long after = io_ticks();
    assert_true(after - before <= 2);      /* a spinning thread would show ~50 */
    /* and buffers posted after EOF simply wait */
    rx_buffer(c, 64);
    assert_int_equal(td_kick(t, 0), 0);
    assert_int_equal(td_wait_used(t, 0, &id, &len, 100), 0);
    cons_free(c);
}

static void test_input_from_files(void **state)
{
    (void)state;
    char path[] = "/tmp/zone-test-console.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(write(fd, "from a file", 11), 11);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    struct cons *c = cons_new(fd);
    struct td *t = c->t;
    uint32_t id, len;
    uint64_t a = rx_buffer(c, 8), b = rx_buffer(c, 8);
    assert_int_equal(td_kick(t, 0), 0);        /* read right here: nothing to wait for */
    assert_int_equal(td_wait_used(t, 0, &id, &len, 0), 1);
    assert_int_equal(len, 8);
    assert_int_equal(td_wait_used(t, 0, &id, &len, 0), 1);
    assert_int_equal(len, 3);
    assert_memory_equal(t->buf + a, "from a f", 8);
    assert_memory_equal(t->buf + b, "ile", 3);
    cons_free(c);
    close(fd);

    int null = open("/dev/null", O_RDONLY);
    c = cons_new(null);
    rx_buffer(c, 8);
    assert_int_equal(td_kick(c->t, 0), 0);
    assert_int_equal(td_wait_used(c->t, 0, &id, &len, 50), 0);
    cons_free(c);
    close(null);

    c = cons_new(-1);                          /* no input at all */
    rx_buffer(c, 8);
    assert_int_equal(td_kick(c->t, 0), 0);
    assert_int_equal(td_wait_used(c->t, 0, &id, &len, 50), 0);
    cons_free(c);
}

static void test_malformed_chain(void **state)
{
    (void)state;
    struct cons *c = cons_new(-2);
    struct td *t = c->t;
    uint32_t id, len;
    uint16_t head = td_offer(t, 1, &(struct td_buf){ 0x7ff00000000ULL, 16, 0 }, 1);
    assert_int_equal(td_kick(t, 1), -1);                    /* the error reaches the bus */
    assert_int_equal(td_wait_used(t, 1, &id, &len, 0), 1); /* and the chain is completed */
    assert_int_equal(id, head);
    assert_int_equal(len, 0);
    char last[256];
    assert_true(vmm_virtio_errors(t->vdev, last, sizeof last) >= 1);
    /* the device goes on */
    td_offer(t, 1, &(struct td_buf){ td_alloc(t, "ok", 2), 2, 0 }, 1);
    assert_int_equal(td_kick(t, 1), 0);
    char got[4];
    assert_int_equal(read(c->out[0], got, sizeof got), 2);
    cons_free(c);
}

static void ctrl_msg(struct td *t, uint32_t id, uint16_t ev, uint16_t val, int want)
{
    uint8_t m[8];
    memcpy(m, &id, 4);
    memcpy(m + 4, &ev, 2);
    memcpy(m + 6, &val, 2);
    td_offer(t, 3, &(struct td_buf){ td_alloc(t, m, 8), 8, 0 }, 1);
    assert_int_equal(td_kick(t, 3), want);
    uint32_t head, len;
    assert_int_equal(td_wait_used(t, 3, &head, &len, 0), 1);
}

/* the next control message from the device, into ev/val (id must be 0) */
static void ctrl_expect(struct td *t, uint64_t *bufs, uint16_t ev, uint16_t val)
{
    uint32_t head, len;
    assert_int_equal(td_wait_used(t, 2, &head, &len, 0), 1);
    assert_int_equal(len, 8);
    uint32_t id;
    uint16_t e, v;
    memcpy(&id, t->buf + bufs[head], 4);
    memcpy(&e, t->buf + bufs[head] + 4, 2);
    memcpy(&v, t->buf + bufs[head] + 6, 2);
    assert_int_equal(id, 0);
    assert_int_equal(e, ev);
    assert_int_equal(v, val);
}

/* With MULTIPORT the port is added and made the console over the control
 * queues, and input waits for the driver's PORT_OPEN. */
static void test_multiport_handshake(void **state)
{
    (void)state;
    struct cons *c = cons_new(-2);
    struct td *t = c->t;
    uint32_t id, len;
    assert_true(td_driver_ok(t, VIRTIO_F_VERSION_1 | (1ULL << 1), 4) & VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(td_mmio(t, t->bar + VIRTIO_PCI_DEVICE_OFF + 4, 4, 0, 0, NULL), 1);   /* max_nr_ports */
    uint64_t bufs[8];
    for (unsigned i = 0; i < 8; i++) {
        uint64_t g = td_alloc(t, NULL, 8);
        bufs[td_offer(t, 2, &(struct td_buf){ g, 8, 1 }, 1)] = g;
    }
    assert_int_equal(td_kick(t, 2), 0);
    uint64_t in = rx_buffer(c, 64);
    assert_int_equal(td_kick(t, 0), 0);
    assert_int_equal(write(c->in[1], "held", 4), 4);
    ctrl_msg(t, 0xffffffffu, 0, 1, 0);               /* DEVICE_READY */
    ctrl_expect(t, bufs, 1, 1);                      /* DEVICE_ADD port 0 */
    ctrl_msg(t, 0, 3, 1, 0);                         /* PORT_READY */
    ctrl_expect(t, bufs, 4, 1);                      /* CONSOLE_PORT */
    ctrl_expect(t, bufs, 6, 1);                      /* PORT_OPEN: the host side */
    usleep(100000);
    assert_int_equal(td_wait_used(t, 0, &id, &len, 0), 0);   /* not open yet: input waits */
    ctrl_msg(t, 0, 6, 1, 0);                         /* the driver opened the port */
    assert_int_equal(td_wait_used(t, 0, &id, &len, 2000), 1);
    assert_int_equal(len, 4);
    assert_memory_equal(t->buf + in, "held", 4);
    ctrl_msg(t, 5, 3, 1, -1);                        /* there is no port 5 */
    cons_free(c);
}

static void test_reset_and_again(void **state)
{
    (void)state;
    struct cons *c = cons_new(-2);
    struct td *t = c->t;
    uint32_t id, len;
    td_common_write(t, VIRTIO_PCI_COMMON_STATUS, 1, 0);
    assert_int_equal(write(c->in[1], "kept", 4), 4);
    usleep(50000);
    assert_true(td_driver_ok(t, VIRTIO_F_VERSION_1, 2) & VIRTIO_STATUS_DRIVER_OK);
    uint64_t a = rx_buffer(c, 16);
    assert_int_equal(td_kick(t, 0), 0);
    assert_int_equal(td_wait_used(t, 0, &id, &len, 2000), 1);
    assert_int_equal(len, 4);
    assert_memory_equal(t->buf + a, "kept", 4);
    cons_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iothread),
        cmocka_unit_test(test_output),
        cmocka_unit_test(test_input),
        cmocka_unit_test(test_input_eof_does_not_spin),
        cmocka_unit_test(test_input_from_files),
        cmocka_unit_test(test_malformed_chain),
        cmocka_unit_test(test_multiport_handshake),
        cmocka_unit_test(test_reset_and_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
