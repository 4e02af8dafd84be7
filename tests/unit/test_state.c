/* The state store: ids, directories, locking, records and status. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/state.h"

static char root[256];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/zone-state-test-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_ids(void **state)
{
    struct zerr e = {0};
    (void)state;
    assert_int_equal(zstate_check_id("abc-1.2_3+x", &e), 0);
    assert_int_equal(zstate_check_id("A", &e), 0);
    assert_int_equal(zstate_check_id("", &e), -1);
    assert_string_equal(e.msg, "container id cannot be empty");
    assert_int_equal(zstate_check_id("../etc", &e), -1);
    assert_string_equal(e.msg, "invalid container id format: ../etc");
    assert_int_equal(zstate_check_id("a/b", &e), -1);
    assert_int_equal(zstate_check_id("-a", &e), -1);
    assert_int_equal(zstate_check_id(".hidden", &e), -1);
    char longid[1100];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    assert_int_equal(zstate_check_id(longid, &e), -1);
}

static void test_create_open_remove(void **state)
{
    struct zstate_dir sd, sd2;
    struct zerr e = {0};
    char path[512];
    struct stat st;
    (void)state;

    assert_int_equal(zstate_dir_create(root, "c1", &sd, &e), 0);
    snprintf(path, sizeof path, "%s/c1", root);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    zstate_dir_close(&sd);

    assert_int_equal(zstate_dir_create(root, "c1", &sd2, &e), -1);
    assert_int_equal(e.code, EEXIST);
    assert_string_equal(e.msg, "container with given ID already exists: c1");

    assert_int_equal(zstate_dir_open(root, "c1", &sd, &e), 0);
    assert_int_equal(zstate_dir_remove(&sd, &e), 0);
    assert_int_equal(stat(path, &st), -1);

    assert_int_equal(zstate_dir_open(root, "c1", &sd, &e), -1);
    assert_int_equal(e.code, ENOENT);
    assert_string_equal(e.msg, "container does not exist: c1");
}

static void test_record_roundtrip(void **state)
{
    struct zstate_dir sd;
    struct zerr e = {0};
    struct zspec_kv ann[] = {{"a", "1"}, {"k", "v \"quoted\""}};
    struct zcontainer_record w = {
        .id = "rec", .bundle = "/b", .rootfs = "/b/rootfs", .pid = 1234,
        .pid_start = 987654321, .created = "2026-01-02T03:04:05.000000006Z",
        .owner = 1000, .cgroup = "hybrid /zone/rec\n", .ns_flags = 0x20000,
        .annotations = ann, .n_annotations = 2,
    };
    struct zcontainer_record r;
    (void)state;

    assert_int_equal(zstate_dir_create(root, "rec", &sd, &e), 0);
    assert_int_equal(zstate_record_write(&sd, &w, &e), 0);
    assert_int_equal(zstate_record_read(sd.dirfd, sd.path, &r, &e), 0);
    assert_string_equal(r.id, "rec");
    assert_string_equal(r.bundle, "/b");
    assert_string_equal(r.rootfs, "/b/rootfs");
    assert_int_equal(r.pid, 1234);
    assert_int_equal(r.pid_start, 987654321);
    assert_string_equal(r.created, w.created);
    assert_int_equal(r.owner, 1000);
    assert_string_equal(r.cgroup, w.cgroup);
    assert_int_equal(r.ns_flags, 0x20000);
    assert_int_equal(r.n_annotations, 2);
    assert_string_equal(r.annotations[1].value, "v \"quoted\"");
    zstate_record_clear(&r);

    /* a damaged record is an error naming the file, not a crash */
    int fd = openat(sd.dirfd, ZSTATE_FILE, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"id\":", 6), 6);
    close(fd);
    assert_int_equal(zstate_record_read(sd.dirfd, sd.path, &r, &e), -1);
    assert_non_null(strstr(e.msg, "state.json: malformed state"));
    assert_int_equal(zstate_dir_remove(&sd, &e), 0);
}

static void test_status(void **state)
{
    struct zstate_dir sd;
    struct zerr e = {0};
    struct zcontainer_record r = {.id = "st", .bundle = "/b"};
    pid_t child;
    (void)state;

    assert_int_equal(zstate_dir_create(root, "st", &sd, &e), 0);
    /* recorded before the init exists: creating while the FIFO is there */
    assert_int_equal(mkfifoat(sd.dirfd, ZSTATE_FIFO, 0600), 0);
    assert_int_equal(zstate_status_of(sd.dirfd, &r), ZSTATUS_CREATING);

    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    r.pid = child;
    r.pid_start = zproc_start_time(child);
    assert_true(r.pid_start > 0);
    assert_int_equal(zstate_status_of(sd.dirfd, &r), ZSTATUS_CREATED);
    unlinkat(sd.dirfd, ZSTATE_FIFO, 0);
    assert_int_equal(zstate_status_of(sd.dirfd, &r), ZSTATUS_RUNNING);

    /* a different start time means the pid was reused: stopped */
    r.pid_start++;
    assert_false(zstate_pid_alive(r.pid, r.pid_start));
    assert_int_equal(zstate_status_of(sd.dirfd, &r), ZSTATUS_STOPPED);
    r.pid_start--;

    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    assert_int_equal(zstate_status_of(sd.dirfd, &r), ZSTATUS_STOPPED);
    assert_int_equal(zstate_dir_remove(&sd, &e), 0);
}

/* A second opener waits for the lock; after removal it sees ENOENT. */
static void test_lock_serialises(void **state)
{
    struct zstate_dir sd;
    struct zerr e = {0};
    int pipefd[2];
    pid_t child;
    int status;
    char byte;
    (void)state;

    assert_int_equal(zstate_dir_create(root, "lk", &sd, &e), 0);
    assert_int_equal(pipe(pipefd), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct zstate_dir other;
        struct zerr ce = {0};
        close(sd.dirfd); /* an inherited copy would hold the parent's lock */
        close(pipefd[0]);
        assert_int_equal(write(pipefd[1], "s", 1), 1);
        /* blocks until the parent removes the directory */
        int rc = zstate_dir_open(root, "lk", &other, &ce);
        _exit(rc == -1 && ce.code == ENOENT ? 0 : 1);
    }
    close(pipefd[1]);
    assert_int_equal(read(pipefd[0], &byte, 1), 1);
    close(pipefd[0]);
    usleep(100 * 1000);
    /* still waiting on the lock */
    assert_int_equal(waitpid(child, &status, WNOHANG), 0);
    assert_int_equal(zstate_dir_remove(&sd, &e), 0);
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_now_format(void **state)
{
    char buf[64];
    (void)state;
    zstate_now_rfc3339(buf, sizeof buf);
    /* 2026-11-23T09:32:54.930913055Z */
    assert_int_equal(strlen(buf), 30);
    assert_int_equal(buf[10], 'T');
    assert_int_equal(buf[19], '.');
    assert_int_equal(buf[29], 'Z');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_create_open_remove),
        cmocka_unit_test(test_record_roundtrip),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_lock_serialises),
        cmocka_unit_test(test_now_format),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
