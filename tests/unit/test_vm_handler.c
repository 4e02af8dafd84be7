/* vm-sandbox/handler: VM sizing from the spec and the run.oci.vm.*
 * annotations, size and cpu-list parsing, OCI process -> control message,
 * and the initramfs cache key's SHA-256. No KVM needed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/process_attrs.h"
#include "vm-sandbox/handler/control_host.h"
#include "vm-sandbox/handler/handler.h"
#include "vm-sandbox/initramfs/sha256.h"

static struct zspec *spec_with(const char *annotations, const char *resources)
{
    char json[2048];
    struct zerr e = { 0 };
    struct zspec *s;
    snprintf(json, sizeof json,
             "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
             "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0}},"
             "\"annotations\":{%s},\"linux\":{\"resources\":{%s}}}",
             annotations, resources);
    s = spec_parse(json, strlen(json), "config.json", &e);
    if (!s)
        fail_msg("spec: %s", e.msg);
    return s;
}

static void size_of(const char *annotations, const char *resources, unsigned *vcpus, uint64_t *mib, int *rc,
                    char *msg)
{
    struct zspec *s = spec_with(annotations, resources);
    struct zvm_size z = { 0 };
    struct zerr e = { 0 };
    *rc = zvm_size_from_spec(s, &z, &e);
    *vcpus = z.vcpus;
    *mib = z.mem_mib;
    snprintf(msg, ZERR_MSG_MAX, "%s", e.msg);
    spec_free(s);
}

static void test_defaults(void **state)
{
    unsigned v;
    uint64_t m;
    int rc;
    char msg[ZERR_MSG_MAX];
    (void)state;
    size_of("", "", &v, &m, &rc, msg);
    assert_int_equal(rc, 0);
    assert_int_equal(v, 1);
    assert_int_equal(m, ZVM_DEFAULT_MEM_MIB);
}

static void test_from_limits(void **state)
{
    unsigned v;
    uint64_t m;
    int rc;
    char msg[ZERR_MSG_MAX];
    (void)state;
    /* 1.5 CPUs -> 2; 1 GiB - 64 MiB overhead */
    size_of("", "\"cpu\":{\"quota\":150000,\"period\":100000},\"memory\":{\"limit\":1073741824}", &v, &m, &rc, msg);
    assert_int_equal(rc, 0);
    assert_int_equal(v, 2);
    assert_int_equal(m, 1024 - ZVM_OVERHEAD_MIB);
    /* quota without period: the kernel's default 100000 */
    size_of("", "\"cpu\":{\"quota\":300000}", &v, &m, &rc, msg);
    assert_int_equal(v, 3);
    /* a cpuset */
    size_of("", "\"cpu\":{\"cpus\":\"0-3,7\"}", &v, &m, &rc, msg);
    assert_int_equal(rc, 0);
    assert_int_equal(v, 5);
    /* quota wins over the cpuset */
    size_of("", "\"cpu\":{\"quota\":50000,\"period\":100000,\"cpus\":\"0-3\"}", &v, &m, &rc, msg);
    assert_int_equal(v, 1);
    /* an odd MiB count rounds down to 2 MiB */
    size_of("", "\"memory\":{\"limit\":202375168}", &v, &m, &rc, msg);   /* 193 MiB */
    assert_int_equal(rc, 0);
    assert_int_equal(m, 128);
    /* too small for a VM: names the field */
    size_of("", "\"memory\":{\"limit\":104857600}", &v, &m, &rc, msg);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(msg, "linux.resources.memory.limit"));
    /* huge quota: capped */
    size_of("", "\"cpu\":{\"quota\":100000000,\"period\":1000}", &v, &m, &rc, msg);
    assert_int_equal(v, 64);
}

static void test_annotations(void **state)
{
    unsigned v;
    uint64_t m;
    int rc;
    char msg[ZERR_MSG_MAX];
    (void)state;
    size_of("\"run.oci.vm.cpus\":\"4\",\"run.oci.vm.memory\":\"1G\"", "\"cpu\":{\"quota\":100000}", &v, &m, &rc, msg);
    assert_int_equal(rc, 0);
    assert_int_equal(v, 4);
    assert_int_equal(m, 1024);
    size_of("\"run.oci.vm.memory\":\"268435456\"", "", &v, &m, &rc, msg);
    assert_int_equal(m, 256);
    size_of("\"run.oci.vm.memory\":\"300MiB\"", "", &v, &m, &rc, msg);
    assert_int_equal(m, 300);

    static const char *bad_cpus[] = { "0", "65", "-1", "2x", "", " 2", "99999999999999999999" };
    for (size_t i = 0; i < sizeof bad_cpus / sizeof *bad_cpus; i++) {
        char a[128];
        snprintf(a, sizeof a, "\"run.oci.vm.cpus\":\"%s\"", bad_cpus[i]);
        size_of(a, "", &v, &m, &rc, msg);
        assert_int_equal(rc, -1);
        assert_non_null(strstr(msg, "run.oci.vm.cpus"));
    }
    static const char *bad_mem[] = { "1M", "lots", "12X", "", "-5G", "99999999999999999999", "4096T" };
    for (size_t i = 0; i < sizeof bad_mem / sizeof *bad_mem; i++) {
        char a[128];
        snprintf(a, sizeof a, "\"run.oci.vm.memory\":\"%s\"", bad_mem[i]);
        size_of(a, "", &v, &m, &rc, msg);
        assert_int_equal(rc, -1);
        assert_non_null(strstr(msg, "run.oci.vm.memory"));
    }
    /* does not fit in the container's memory limit with the monitor */
    size_of("\"run.oci.vm.memory\":\"1G\"", "\"memory\":{\"limit\":1073741824}", &v, &m, &rc, msg);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(msg, "run.oci.vm.memory"));
    assert_non_null(strstr(msg, "memory.limit"));
}

static void test_requested(void **state)
{
    struct zspec *s;
    (void)state;
    s = spec_with("\"run.oci.handler\":\"vm\"", "");
    assert_true(zvm_requested(s));
    spec_free(s);
    s = spec_with("\"run.oci.handler\":\"krun\"", "");
    assert_false(zvm_requested(s));
    spec_free(s);
    s = spec_with("", "");
    assert_false(zvm_requested(s));
    spec_free(s);
}

static void test_parse_bytes(void **state)
{
    uint64_t v;
    struct zerr e;
    (void)state;
    assert_int_equal(zvm_parse_bytes("0", &v, &e), 0);
    assert_int_equal(v, 0);
    assert_int_equal(zvm_parse_bytes("2k", &v, &e), 0);
    assert_int_equal(v, 2048);
    assert_int_equal(zvm_parse_bytes("3GiB", &v, &e), 0);
    assert_int_equal(v, 3ull << 30);
    assert_int_equal(zvm_parse_bytes("16777215T", &v, &e), 0);
    assert_int_equal(zvm_parse_bytes("16777216T", &v, &e), -1);   /* 2^64 */
    assert_int_equal(zvm_parse_bytes("1.5G", &v, &e), -1);
    assert_int_equal(zvm_parse_bytes("G", &v, &e), -1);
    assert_int_equal(zvm_parse_bytes(NULL, &v, &e), -1);
}

static void test_count_cpus(void **state)
{
    unsigned n;
    struct zerr e;
    (void)state;
    assert_int_equal(zvm_count_cpus("3", &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(zvm_count_cpus("0-1,4-5,9", &n, &e), 0);
    assert_int_equal(n, 5);
    static const char *bad[] = { "", "3-1", "a", "1,", ",1", "1-", "0-70000", "1;2" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(zvm_count_cpus(bad[i], &n, &e), -1);
}

static void test_process_msg(void **state)
{
    static const char json[] =
        "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"hostname\":\"box\","
        "\"process\":{\"terminal\":true,\"consoleSize\":{\"height\":30,\"width\":100},"
        "\"args\":[\"sh\",\"-c\",\"true\"],\"env\":[\"A=1\"],\"cwd\":\"/w\",\"noNewPrivileges\":true,"
        "\"user\":{\"uid\":1000,\"gid\":100,\"umask\":7,\"additionalGids\":[5,6]},"
        "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1024,\"hard\":4096}],"
        "\"capabilities\":{\"bounding\":[\"CAP_KILL\"],\"effective\":[\"CAP_KILL\"]}}}";
    static const uint8_t modes[3] = { CTL_STDIO_STREAM, CTL_STDIO_STREAM, CTL_STDIO_NULL };
    struct zerr e = { 0 };
    struct zspec *s = spec_parse(json, sizeof json - 1, "config.json", &e);
    struct ctl_process p;
    struct ctl_msg m = { .type = CTL_START };
    uint8_t *buf;
    size_t len;
    (void)state;
    assert_non_null(s);
    /* the runtime resolves capability names (zproc_vm_caps) */
    struct zvm_resolved caps;
    assert_int_equal(zproc_vm_caps(s->process->capabilities, &caps, &e), 0);
    assert_true(caps.caps_set);
    assert_int_equal(zvm_process_msg(s->process, &caps, s->process->env, s->hostname, modes, &p, &e), 0);
    assert_int_equal(p.uid, 1000);
    assert_int_equal(p.gid, 100);
    assert_int_equal(p.umask, 7);
    assert_int_equal(p.ngroups, 2);
    assert_int_equal(p.groups[1], 6);
    assert_int_equal(p.nrlimits, 1);
    assert_int_equal(p.rlimits[0].resource, 7);
    assert_int_equal(p.rlimits[0].hard, 4096);
    assert_true(p.flags & CTL_PROC_TERMINAL);
    assert_true(p.flags & CTL_PROC_NO_NEW_PRIVS);
    assert_true(p.flags & CTL_PROC_CAPS);
    assert_int_equal(p.cap_bounding, 1ull << 5);
    assert_int_equal(p.rows, 30);
    assert_int_equal(p.cols, 100);
    assert_string_equal(p.hostname, "box");
    assert_string_equal(p.cwd, "/w");
    assert_int_equal(p.nargs, 3);
    assert_int_equal(p.nenv, 1);
    /* what the agent would accept */
    m.u.start.proc = p;
    if (ctl_encode(&m, &buf, &len, &e) < 0)
        fail_msg("encode: %s", e.msg);
    free(buf);
    zvm_process_release(&p);
    spec_free(s);
}

static void test_exit_code(void **state)
{
    (void)state;
    assert_int_equal(zvm_exit_code(3 << 8), 3);
    assert_int_equal(zvm_exit_code(9), 137);
    assert_int_equal(zvm_exit_code(15 | 0x80), 143);
}

static void hex_of(const char *text, size_t len, char out[65])
{
    struct sha256 c;
    uint8_t d[32];
    sha256_init(&c);
    /* in uneven pieces: the block boundary logic */
    for (size_t i = 0; i < len;) {
        size_t n = (i % 7) + 1 < len - i ? (i % 7) + 1 : len - i;
        sha256_update(&c, text + i, n);
        i += n;
    }
    sha256_final(&c, d);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_sha256(void **state)
{
    char hex[65], *million;
    (void)state;
    hex_of("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    million = malloc(1000000);
    assert_non_null(million);
    memset(million, 'a', 1000000);
    hex_of(million, 1000000, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),     cmocka_unit_test(test_from_limits),
        cmocka_unit_test(test_annotations),  cmocka_unit_test(test_requested),
        cmocka_unit_test(test_parse_bytes),  cmocka_unit_test(test_count_cpus),
        cmocka_unit_test(test_process_msg),  cmocka_unit_test(test_exit_code),
        cmocka_unit_test(test_sha256),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
