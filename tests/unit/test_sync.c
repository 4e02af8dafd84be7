/* The runtime <-> init channel: several fds in one message (GO carries the
 * v1 cgroups' `tasks` files), payloads, and a peer that goes away. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "runtime/sync.h"

static void same_file(int a, int b)
{
    struct stat sa, sb;
    assert_int_equal(fstat(a, &sa), 0);
    assert_int_equal(fstat(b, &sb), 0);
    assert_true(sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev);
}

static void test_many_fds(void **state)
{
    int sv[2], fds[5];
    struct zsync_msg m;
    struct zerr e = {0};
    (void)state;
    assert_int_equal(zsync_pair(sv, &e), 0);
    for (int i = 0; i < 5; i++)
        assert_true((fds[i] = open(i % 2 ? "/dev/null" : "/", O_RDONLY | O_CLOEXEC)) >= 0);
    assert_int_equal(zsync_send_fds(sv[0], ZSYNC_GO, 7, "hello", fds, 5, &e), 0);
    assert_int_equal(zsync_expect(sv[1], ZSYNC_GO, &m, &e), 0);
    assert_int_equal(m.value, 7);
    assert_string_equal(m.payload, "hello");
    assert_int_equal(m.n_fds, 5);
    assert_int_equal(m.fd, m.fds[0]);
    for (int i = 0; i < 5; i++) {
        assert_true(fcntl(m.fds[i], F_GETFD) & FD_CLOEXEC);
        same_file(fds[i], m.fds[i]);
        close(fds[i]);
    }
    zsync_msg_close_fds(&m);
    assert_int_equal(m.n_fds, 0);
    assert_int_equal(m.fd, -1);

    /* none, and one through the single-fd call */
    assert_int_equal(zsync_send_fds(sv[0], ZSYNC_GO, 0, NULL, NULL, 0, &e), 0);
    assert_int_equal(zsync_expect(sv[1], ZSYNC_GO, &m, &e), 0);
    assert_int_equal(m.n_fds, 0);
    assert_int_equal(m.fd, -1);
    assert_int_equal(zsync_send(sv[0], ZSYNC_SECCOMP_FD, 0, NULL, sv[0], &e), 0);
    assert_int_equal(zsync_expect(sv[1], ZSYNC_SECCOMP_FD, &m, &e), 0);
    assert_int_equal(m.n_fds, 1);
    same_file(sv[0], m.fd);
    zsync_msg_close_fds(&m);
    close(sv[0]);
    close(sv[1]);
}

static void test_too_many_fds(void **state)
{
    int sv[2], fds[ZSYNC_FDS_MAX + 1];
    struct zerr e = {0};
    (void)state;
    assert_int_equal(zsync_pair(sv, &e), 0);
    for (int i = 0; i <= ZSYNC_FDS_MAX; i++)
        fds[i] = sv[0];
    assert_int_equal(zsync_send_fds(sv[0], ZSYNC_GO, 0, NULL, fds, ZSYNC_FDS_MAX + 1, &e), -1);
    assert_int_equal(e.code, E2BIG);
    close(sv[0]);
    close(sv[1]);
}

/* A payload the receiver cannot hold whole is refused by the sender, and
 * one sent around it is an error at the receiver, not a cut-off text. */
static void test_long_payload(void **state)
{
    int sv[2];
    static char big[ZSYNC_PAYLOAD_MAX + 100];
    struct { uint32_t type; int32_t value; char text[sizeof big]; } raw = {ZSYNC_HOOKS_DONE, 0, {0}};
    struct zsync_msg m;
    struct zerr e = {0};
    (void)state;
    memset(big, 'a', sizeof big - 1);
    assert_int_equal(zsync_pair(sv, &e), 0);
    assert_int_equal(zsync_send(sv[0], ZSYNC_HOOKS_DONE, 0, big, -1, &e), -1);
    assert_int_equal(e.code, E2BIG);
    big[ZSYNC_PAYLOAD_MAX - 1] = '\0';
    assert_int_equal(zsync_send(sv[0], ZSYNC_HOOKS_DONE, 0, big, -1, &e), 0);
    assert_int_equal(zsync_expect(sv[1], ZSYNC_HOOKS_DONE, &m, &e), 0);
    assert_int_equal(m.len, ZSYNC_PAYLOAD_MAX - 1);
    memset(raw.text, 'b', sizeof raw.text);
    assert_int_equal(send(sv[0], &raw, sizeof raw, 0), (ssize_t)sizeof raw);
    assert_int_equal(zsync_recv(sv[1], &m, &e), -1);
    assert_int_equal(e.code, EPROTO);
    close(sv[0]);
    close(sv[1]);
}

static void test_unexpected_type_and_peer_gone(void **state)
{
    int sv[2], fd;
    struct zsync_msg m;
    struct zerr e = {0};
    (void)state;
    assert_int_equal(zsync_pair(sv, &e), 0);
    fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    /* the fds of a message of the wrong type are closed, not leaked */
    assert_int_equal(zsync_send_fds(sv[0], ZSYNC_READY, 0, NULL, &fd, 1, &e), 0);
    assert_int_equal(zsync_expect(sv[1], ZSYNC_GO, &m, &e), -1);
    assert_int_equal(e.code, EPROTO);
    assert_int_equal(m.n_fds, 0);
    close(fd);
    close(sv[0]);
    assert_int_equal(zsync_recv(sv[1], &m, &e), -1);
    assert_int_equal(e.code, EPIPE);
    assert_string_equal(e.msg, "container init exited during setup");
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_fds),
        cmocka_unit_test(test_too_many_fds),
        cmocka_unit_test(test_long_payload),
        cmocka_unit_test(test_unexpected_type_and_peer_gone),
    };
    return cmocka_run_group_tests_name("sync", tests, NULL, NULL);
}
