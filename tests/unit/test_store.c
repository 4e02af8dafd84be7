/* The image store: digests, atomic blobs, the resumable writer, tags
 * (also under concurrent writers), image lookup/load and gc. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "images/manifest.h"
#include "images/reference.h"
#include "images/store.h"

static char dir[64];
static struct zstore *st;

static int setup(void **state)
{
    struct zerr e = {0};
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/zone-store-test-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    if (zstore_open(dir, &st, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    zstore_close(st);
    st = NULL;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static bool path_exists(const char *rel)
{
    char p[2048];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return lstat(p, &sb) == 0;
}

/* ------------------------------------------------------------ digests */

static void test_digest_check(void **state)
{
    struct zerr e = {0};
    char d[ZDIGEST_MAX];
    (void)state;
    zdigest_of("", 0, d);
    assert_string_equal(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    zdigest_of("abc", 3, d);
    assert_string_equal(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(zdigest_check(d, "x", &e), 0);

    assert_int_equal(zdigest_check("sha512:abcd", "layers[0].digest", &e), -1);
    assert_int_equal(e.code, ENOTSUP);
    assert_non_null(strstr(e.msg, "layers[0].digest"));
    assert_non_null(strstr(e.msg, "only sha256"));
    assert_int_equal(zdigest_check("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
                                   "d", &e), -1);
    assert_int_equal(zdigest_check("sha256:ba7816bf", "d", &e), -1);
    assert_int_equal(zdigest_check("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0",
                                   "d", &e), -1);
    assert_int_equal(zdigest_check("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                                   "d", &e), -1);
    assert_int_equal(zdigest_check("", "d", &e), -1);
    assert_int_equal(zdigest_check(NULL, "d", &e), -1);
    assert_int_equal(zdigest_check("sha256:../../../../etc/passwd/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                   "d", &e), -1);

    /* streaming gives the same answer */
    struct zdigester *h = zdigester_new();
    assert_non_null(h);
    zdigester_update(h, "a", 1);
    zdigester_update(h, "bc", 2);
    zdigester_final(h, d);
    assert_string_equal(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    zdigester_free(h);
}

static void test_default_dir(void **state)
{
    (void)state;
    if (geteuid() == 0) {
        assert_string_equal(zstore_default_dir(), "/var/lib/zone");
        return;
    }
    setenv("XDG_DATA_HOME", "/x/data", 1);
    assert_string_equal(zstore_default_dir(), "/x/data/zone");
    unsetenv("XDG_DATA_HOME");
    setenv("HOME", "/home/u", 1);
    assert_string_equal(zstore_default_dir(), "/home/u/.local/share/zone");
}

/* ------------------------------------------------------------- blobs */

static void test_put_read(void **state)
{
    struct zerr e = {0};
    char d[ZDIGEST_MAX], path[512], *data;
    size_t len;
    (void)state;

    assert_int_equal(zstore_put_blob(st, "hello", 5, NULL, d, &e), 0);
    assert_true(zstore_has_blob(st, d));
    assert_int_equal(zstore_blob_path(st, d, path, sizeof path, &e), 0);
    assert_non_null(strstr(path, "/blobs/sha256/"));
    assert_int_equal(zstore_read_blob(st, d, 100, &data, &len, &e), 0);
    assert_int_equal(len, 5);
    assert_string_equal(data, "hello");
    free(data);
    /* again: already there, still fine */
    assert_int_equal(zstore_put_blob(st, "hello", 5, d, NULL, &e), 0);
    /* too large for the caller's limit */
    assert_int_equal(zstore_read_blob(st, d, 4, &data, &len, &e), -1);
    assert_int_equal(e.code, EFBIG);
    assert_null(data);

    /* wrong expectation: refused, nothing stored */
    char other[ZDIGEST_MAX];
    zdigest_of("world", 5, other);
    assert_int_equal(zstore_put_blob(st, "worle", 5, other, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "digest mismatch"));
    assert_false(zstore_has_blob(st, other));
    assert_int_equal(zstore_put_blob(st, "x", 1, "sha1:abc", NULL, &e), -1);

    /* absent */
    assert_int_equal(zstore_read_blob(st, other, 100, &data, &len, &e), -1);
    assert_int_equal(e.code, ENOENT);
    assert_int_equal(zstore_blob_path(st, other, path, sizeof path, &e), -1);
    assert_int_equal(e.code, ENOENT);

    /* no temp file left behind */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls %s/blobs/sha256 | grep tmp-)\"", dir);
    assert_int_equal(system(cmd), 0);

    /* corruption on disk is detected on read */
    snprintf(path, sizeof path, "%s/blobs/sha256/%s", dir, d + 7);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("jello", f);
    fclose(f);
    assert_int_equal(zstore_read_blob(st, d, 100, &data, &len, &e), -1);
    assert_non_null(strstr(e.msg, "corrupt"));
}

static void test_writer_resume(void **state)
{
    struct zerr e = {0};
    char content[10000], d[ZDIGEST_MAX];
    struct zblob_writer *w;
    uint64_t off = 99;
    (void)state;

    for (size_t i = 0; i < sizeof content; i++)
        content[i] = (char)(i * 7);
    zdigest_of(content, sizeof content, d);

    assert_int_equal(zblob_begin(st, d, sizeof content, &w, &off, &e), 0);
    assert_false(zblob_present(w));
    assert_int_equal(off, 0);
    assert_int_equal(zblob_write(w, content, 4000, &e), 0);
    zblob_abort(w, true);
    assert_true(path_exists("ingest/") );

    assert_int_equal(zblob_begin(st, d, sizeof content, &w, &off, &e), 0);
    assert_int_equal(off, 4000);
    assert_int_equal(zblob_written(w), 4000);
    assert_int_equal(zblob_write(w, content + 4000, sizeof content - 4000, &e), 0);
    /* past the announced size: refused at once */
    assert_int_equal(zblob_write(w, "x", 1, &e), -1);
    assert_int_equal(zblob_commit(w, &e), 0);
    assert_true(zstore_has_blob(st, d));

    char name[200];
    snprintf(name, sizeof name, "ingest/%s.partial", d + 7);
    assert_false(path_exists(name));
    snprintf(name, sizeof name, "ingest/%s.lock", d + 7);
    assert_false(path_exists(name));

    /* already stored: the "present" state */
    assert_int_equal(zblob_begin(st, d, sizeof content, &w, &off, &e), 0);
    assert_true(zblob_present(w));
    assert_int_equal(off, 0);
    assert_int_equal(zblob_write(w, "junk", 4, &e), 0);
    assert_int_equal(zblob_commit(w, &e), 0);
}

static void test_writer_restart_and_unknown_size(void **state)
{
    struct zerr e = {0};
    char d[ZDIGEST_MAX];
    struct zblob_writer *w;
    uint64_t off;
    (void)state;
    zdigest_of("0123456789", 10, d);
    assert_int_equal(zblob_begin(st, d, -1, &w, &off, &e), 0);
    assert_int_equal(zblob_write(w, "garbage", 7, &e), 0);
    assert_int_equal(zblob_restart(w, &e), 0);
    assert_int_equal(zblob_write(w, "01234", 5, &e), 0);
    assert_int_equal(zblob_write(w, "56789", 5, &e), 0);
    assert_int_equal(zblob_commit(w, &e), 0);
    assert_true(zstore_has_blob(st, d));
}

static void test_writer_wrong_digest(void **state)
{
    struct zerr e = {0};
    char d[ZDIGEST_MAX], name[200];
    struct zblob_writer *w;
    uint64_t off;
    (void)state;
    zdigest_of("right", 5, d);
    assert_int_equal(zblob_begin(st, d, 5, &w, &off, &e), 0);
    assert_int_equal(zblob_write(w, "wrong", 5, &e), 0);
    assert_int_equal(zblob_commit(w, &e), -1);
    assert_non_null(strstr(e.msg, "digest mismatch"));
    assert_non_null(strstr(e.msg, d));
    assert_false(zstore_has_blob(st, d));
    snprintf(name, sizeof name, "ingest/%s.partial", d + 7);
    assert_false(path_exists(name));

    /* size mismatch: too short at commit */
    assert_int_equal(zblob_begin(st, d, 5, &w, &off, &e), 0);
    assert_int_equal(off, 0);
    assert_int_equal(zblob_write(w, "rig", 3, &e), 0);
    assert_int_equal(zblob_commit(w, &e), -1);
    assert_non_null(strstr(e.msg, "size mismatch"));
    assert_false(path_exists(name));

    /* a partial longer than the announced size is dropped on resume */
    assert_int_equal(zblob_begin(st, d, -1, &w, &off, &e), 0);
    assert_int_equal(zblob_write(w, "rightright", 10, &e), 0);
    zblob_abort(w, true);
    assert_int_equal(zblob_begin(st, d, 5, &w, &off, &e), 0);
    assert_int_equal(off, 0);
    zblob_abort(w, false);
    assert_false(path_exists(name));

    assert_int_equal(zblob_begin(st, "sha384:abc", 5, &w, &off, &e), -1);
    assert_null(w);
}

/* A second writer of the same digest waits for the first, then finds the
 * blob stored ("present"). */
static void test_writer_waits(void **state)
{
    struct zerr e = {0};
    char d[ZDIGEST_MAX];
    struct zblob_writer *w;
    uint64_t off;
    int pipefd[2];
    (void)state;
    zdigest_of("shared", 6, d);
    assert_int_equal(pipe(pipefd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct zstore *s2;
        struct zblob_writer *cw;
        char c = 'x';
        if (zstore_open(dir, &s2, &e) < 0 || zblob_begin(s2, d, 6, &cw, &off, &e) < 0)
            _exit(1);
        if (write(pipefd[1], &c, 1) != 1)
            _exit(1);
        usleep(300 * 1000);
        if (zblob_write(cw, "shared", 6, &e) < 0 || zblob_commit(cw, &e) < 0)
            _exit(1);
        _exit(0);
    }
    char c;
    assert_int_equal(read(pipefd[0], &c, 1), 1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(zblob_begin(st, d, 6, &w, &off, &e), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 200);
    assert_true(zblob_present(w));
    assert_int_equal(zblob_commit(w, &e), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(pipefd[0]);
    close(pipefd[1]);
}

/* -------------------------------------------------------------- tags */

static void test_tags(void **state)
{
    struct zerr e = {0};
    char d[ZDIGEST_MAX], got[ZDIGEST_MAX], missing[ZDIGEST_MAX];
    struct ztag *v;
    size_t n;
    (void)state;
    assert_int_equal(zstore_put_blob(st, "{}", 2, NULL, d, &e), 0);
    zdigest_of("nope", 4, missing);

    assert_int_equal(zstore_tag_list(st, &v, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(zstore_tag_get(st, "docker.io/library/a:latest", got, &e), -1);
    assert_int_equal(e.code, ENOENT);

    assert_int_equal(zstore_tag_set(st, "docker.io/library/b:1", d, &e), 0);
    assert_int_equal(zstore_tag_set(st, "docker.io/library/a:latest", d, &e), 0);
    assert_int_equal(zstore_tag_set(st, "localhost:5000/x/y@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                                    d, &e), 0);
    assert_int_equal(zstore_tag_get(st, "docker.io/library/a:latest", got, &e), 0);
    assert_string_equal(got, d);
    assert_int_equal(zstore_tag_list(st, &v, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].name, "docker.io/library/a:latest");
    assert_string_equal(v[1].name, "docker.io/library/b:1");
    zstore_tag_list_free(v, n);

    /* refused: not normalized, manifest not stored, bad digest */
    assert_int_equal(zstore_tag_set(st, "busybox", d, &e), -1);
    assert_non_null(strstr(e.msg, "docker.io/library/busybox:latest"));
    assert_int_equal(zstore_tag_set(st, "docker.io/library/c:1", missing, &e), -1);
    assert_int_equal(e.code, ENOENT);
    assert_int_equal(zstore_tag_set(st, "docker.io/library/c:1", "sha256:1234", &e), -1);

    assert_int_equal(zstore_tag_remove(st, "docker.io/library/b:1", &e), 0);
    assert_int_equal(zstore_tag_remove(st, "docker.io/library/b:1", &e), -1);
    assert_int_equal(e.code, ENOENT);
    assert_int_equal(zstore_tag_list(st, &v, &n, &e), 0);
    assert_int_equal(n, 2);
    zstore_tag_list_free(v, n);

    /* a corrupt tags.json is an error, not an empty store */
    char p[400];
    snprintf(p, sizeof p, "%s/tags.json", dir);
    FILE *f = fopen(p, "w");
    fputs("{\"docker.io/library/a:latest\": 5}", f);
    fclose(f);
    assert_int_equal(zstore_tag_list(st, &v, &n, &e), -1);
}

/* Processes tagging at once never lose a tag (read-modify-write under
 * tags.lock). */
static void test_tags_concurrent(void **state)
{
    struct zerr e = {0};
    char d[ZDIGEST_MAX];
    struct ztag *v;
    size_t n;
    enum { PROCS = 6, EACH = 15 };
    pid_t pids[PROCS];
    (void)state;
    assert_int_equal(zstore_put_blob(st, "{}", 2, NULL, d, &e), 0);
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            struct zstore *s2;
            if (zstore_open(dir, &s2, &e) < 0)
                _exit(1);
            for (int i = 0; i < EACH; i++) {
                char name[100];
                snprintf(name, sizeof name, "docker.io/library/p%d:t%d", p, i);
                if (zstore_tag_set(s2, name, d, &e) < 0)
                    _exit(2);
            }
            zstore_close(s2);
            _exit(0);
        }
    }
    for (int p = 0; p < PROCS; p++) {
        int status;
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(zstore_tag_list(st, &v, &n, &e), 0);
    assert_int_equal(n, PROCS * EACH);
    zstore_tag_list_free(v, n);
}

/* ------------------------------------------------------- test images */

/* Stores config + manifest for n_layers fake layers (layer i's blob and
 * diff_id are the same bytes, as an uncompressed layer's are). */
static void make_image(const char *arch, const char *marker, char manifest[ZDIGEST_MAX],
                       char layer_digest[ZDIGEST_MAX])
{
    struct zerr e = {0};
    char cfg[1024], man[2048], cd[ZDIGEST_MAX], ld[ZDIGEST_MAX], layer[64];
    snprintf(layer, sizeof layer, "layer-%s", marker);
    assert_int_equal(zstore_put_blob(st, layer, strlen(layer), NULL, ld, &e), 0);
    snprintf(cfg, sizeof cfg,
             "{\"architecture\":\"%s\",\"os\":\"linux\",\"created\":\"2024-01-02T03:04:05Z\","
             "\"config\":{\"Env\":[\"PATH=/bin\"],\"Cmd\":[\"/bin/sh\"],\"Labels\":{\"m\":\"%s\"}},"
             "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}", arch, marker, ld);
    assert_int_equal(zstore_put_blob(st, cfg, strlen(cfg), NULL, cd, &e), 0);
    snprintf(man, sizeof man,
             "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
             "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\","
             "\"size\":%zu}]}", ZMT_OCI_MANIFEST, ZMT_OCI_CONFIG, cd, strlen(cfg), ZMT_OCI_LAYER,
             ld, strlen(layer));
    assert_int_equal(zstore_put_blob(st, man, strlen(man), NULL, manifest, &e), 0);
    if (layer_digest)
        memcpy(layer_digest, ld, ZDIGEST_MAX);
}

static void make_index(const char *m_amd64, const char *m_arm64, char out[ZDIGEST_MAX])
{
    struct zerr e = {0};
    char idx[2048];
    snprintf(idx, sizeof idx,
             "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":["
             "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
             "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}",
             ZMT_OCI_INDEX, ZMT_OCI_MANIFEST, m_arm64, ZMT_OCI_MANIFEST, m_amd64);
    assert_int_equal(zstore_put_blob(st, idx, strlen(idx), NULL, out, &e), 0);
}

static void test_image_load(void **state)
{
    struct zerr e = {0};
    char m[ZDIGEST_MAX], prefix[40], tag[512], d[ZDIGEST_MAX];
    struct zimage im;
    (void)state;
    make_image("amd64", "one", m, NULL);
    assert_int_equal(zstore_tag_set(st, "docker.io/library/one:latest", m, &e), 0);

    assert_int_equal(zimage_load(st, "one", &im, &e), 0);
    assert_string_equal(im.manifest_digest, m);
    assert_int_equal(im.manifest.n_layers, 1);
    assert_int_equal(im.config.n_cmd, 1);
    assert_string_equal(im.config.cmd[0], "/bin/sh");
    assert_string_equal(im.config.labels[0].value, "one");
    zimage_free(&im);

    assert_int_equal(zimage_load(st, "docker.io/library/one", &im, &e), 0);
    zimage_free(&im);
    assert_int_equal(zimage_load(st, m, &im, &e), 0);
    zimage_free(&im);
    snprintf(prefix, sizeof prefix, "%.12s", m + 7);
    assert_int_equal(zimage_load(st, prefix, &im, &e), 0);
    assert_string_equal(im.manifest_digest, m);
    zimage_free(&im);
    assert_int_equal(zimage_lookup(st, "one:latest", tag, sizeof tag, d, &e), 0);
    assert_string_equal(tag, "docker.io/library/one:latest");
    assert_int_equal(zimage_lookup(st, prefix, tag, sizeof tag, d, &e), 0);
    assert_string_equal(tag, "");

    /* the config digest (podman's image ID) names the image too */
    assert_int_equal(zimage_load(st, "one", &im, &e), 0);
    snprintf(prefix, sizeof prefix, "%.14s", im.manifest.config.digest + 7);
    zimage_free(&im);
    assert_int_equal(zimage_lookup(st, prefix, tag, sizeof tag, d, &e), 0);
    assert_string_equal(d, m);
    snprintf(prefix, sizeof prefix, "sha256:%.14s", m + 7);
    assert_int_equal(zimage_lookup(st, prefix, tag, sizeof tag, d, &e), 0);
    assert_string_equal(d, m);
    assert_int_equal(zimage_lookup(st, "sha256:0000000000000", tag, sizeof tag, d, &e), -1);
    assert_int_equal(e.code, ENOENT);

    /* too short a prefix is a name, which is not known */
    snprintf(prefix, sizeof prefix, "%.11s", m + 7);
    assert_int_equal(zimage_load(st, prefix, &im, &e), -1);
    assert_int_equal(e.code, ENOENT);
    assert_int_equal(zimage_load(st, "two", &im, &e), -1);
    assert_non_null(strstr(e.msg, "image not known"));
    assert_int_equal(zimage_load(st, "Bad/Name:x", &im, &e), -1);

    /* localhost/NAME is found by its short name */
    assert_int_equal(zstore_tag_set(st, "localhost/mine:latest", m, &e), 0);
    assert_int_equal(zimage_load(st, "mine", &im, &e), 0);
    zimage_free(&im);
}

/* Two manifests sharing one config: the config digest prefix names both,
 * which is ambiguous. */
static void test_image_ambiguous(void **state)
{
    struct zerr e = {0};
    char m1[ZDIGEST_MAX], m2[ZDIGEST_MAX], d[ZDIGEST_MAX], prefix[40], man[1024], *json;
    size_t len;
    struct zmanifest pm;
    (void)state;
    make_image("amd64", "same", m1, NULL);
    assert_int_equal(zstore_read_blob(st, m1, ZMANIFEST_MAX, &json, &len, &e), 0);
    assert_int_equal(zmanifest_parse(json, len, "m1", &pm, &e), 0);
    snprintf(man, sizeof man, "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"%s\","
             "\"size\":%lld},\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld}]}",
             pm.config.digest, (long long)pm.config.size, ZMT_OCI_LAYER, pm.layers[0].digest,
             (long long)pm.layers[0].size);
    assert_int_equal(zstore_put_blob(st, man, strlen(man), NULL, m2, &e), 0);
    assert_int_equal(zstore_tag_set(st, "docker.io/library/a:1", m1, &e), 0);
    assert_int_equal(zstore_tag_set(st, "docker.io/library/b:1", m2, &e), 0);
    snprintf(prefix, sizeof prefix, "%.12s", pm.config.digest + 7);
    assert_int_equal(zimage_lookup(st, prefix, NULL, 0, d, &e), -1);
    assert_int_equal(e.code, EINVAL);
    assert_non_null(strstr(e.msg, "ambiguous"));
    /* the manifests' own digests still tell them apart */
    snprintf(prefix, sizeof prefix, "%.12s", m2 + 7);
    assert_int_equal(zimage_lookup(st, prefix, NULL, 0, d, &e), 0);
    assert_string_equal(d, m2);
    zmanifest_free(&pm);
    free(json);
}

static void test_image_index(void **state)
{
    struct zerr e = {0};
    char amd[ZDIGEST_MAX], arm[ZDIGEST_MAX], idx[ZDIGEST_MAX];
    struct zimage im;
    (void)state;
    make_image("amd64", "amd", amd, NULL);
    make_image("arm64", "arm", arm, NULL);
    make_index(amd, arm, idx);
    assert_int_equal(zstore_tag_set(st, "docker.io/library/multi:latest", idx, &e), 0);
    assert_int_equal(zimage_load(st, "multi", &im, &e), 0);
#if defined(__x86_64__)
    assert_string_equal(im.manifest_digest, amd);
#elif defined(__aarch64__)
    assert_string_equal(im.manifest_digest, arm);
#endif
    zimage_free(&im);
}

static void test_image_inconsistent(void **state)
{
    struct zerr e = {0};
    char cfg[512], man[1024], cd[ZDIGEST_MAX], md[ZDIGEST_MAX];
    struct zimage im;
    (void)state;
    /* config lists no diff_ids but the manifest one layer */
    snprintf(cfg, sizeof cfg, "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
    assert_int_equal(zstore_put_blob(st, cfg, strlen(cfg), NULL, cd, &e), 0);
    snprintf(man, sizeof man, "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"%s\","
             "\"size\":%zu},\"layers\":[{\"mediaType\":\"x\",\"digest\":\"%s\",\"size\":3}]}",
             cd, strlen(cfg), cd);
    assert_int_equal(zstore_put_blob(st, man, strlen(man), NULL, md, &e), 0);
    assert_int_equal(zstore_tag_set(st, "docker.io/library/bad:latest", md, &e), 0);
    assert_int_equal(zimage_load(st, "bad", &im, &e), -1);
    assert_non_null(strstr(e.msg, "diff_ids"));
}

/* ---------------------------------------------------------------- gc */

static void mklayer(const char *diff_id)
{
    char p[2048];
    snprintf(p, sizeof p, "mkdir -p %s/layers/%s/rootfs/a/b && echo x > %s/layers/%s/rootfs/a/b/f && "
             "chmod 000 %s/layers/%s/rootfs/a && touch %s/layers/%s/complete",
             dir, diff_id + 7, dir, diff_id + 7, dir, diff_id + 7, dir, diff_id + 7);
    assert_int_equal(system(p), 0);
}

static void test_gc(void **state)
{
    struct zerr e = {0};
    char kept[ZDIGEST_MAX], kept_layer[ZDIGEST_MAX], gone[ZDIGEST_MAX], gone_layer[ZDIGEST_MAX];
    char pinned[ZDIGEST_MAX], pinned_layer[ZDIGEST_MAX], loose[ZDIGEST_MAX];
    char amd[ZDIGEST_MAX], arm[ZDIGEST_MAX], arm_layer[ZDIGEST_MAX], idx[ZDIGEST_MAX];
    struct zgc_report r;
    char rel[1024], cmd[2048];
    bool complete;
    (void)state;

    make_image("amd64", "kept", kept, kept_layer);
    make_image("amd64", "gone", gone, gone_layer);
    make_image("amd64", "pinned", pinned, pinned_layer);
    make_image("amd64", "amd", amd, NULL);
    make_image("arm64", "arm", arm, arm_layer);
    make_index(amd, arm, idx);
    assert_int_equal(zstore_put_blob(st, "loose", 5, NULL, loose, &e), 0);
    assert_int_equal(zstore_tag_set(st, "docker.io/library/kept:latest", kept, &e), 0);
    assert_int_equal(zstore_tag_set(st, "docker.io/library/gone:latest", gone, &e), 0);
    assert_int_equal(zstore_tag_set(st, "docker.io/library/multi:latest", idx, &e), 0);
    assert_int_equal(zstore_tag_remove(st, "docker.io/library/gone:latest", &e), 0);
    mklayer(kept_layer);
    mklayer(gone_layer);
    mklayer(pinned_layer);
    mklayer(arm_layer);
    char layer_path[512];
    assert_int_equal(zstore_layer_dir(st, kept_layer, layer_path, sizeof layer_path, &complete, &e), 0);
    assert_true(complete);
    assert_non_null(strstr(layer_path, "/layers/"));

    /* a container record pins "pinned"; a malformed record is ignored */
    snprintf(cmd, sizeof cmd, "mkdir -p %s/containers/c1 %s/containers/c2 && "
             "printf '{\"id\":\"c1\",\"manifest\":\"%s\"}' > %s/containers/c1/container.json && "
             "printf '{\"manifest\":5' > %s/containers/c2/container.json",
             dir, dir, pinned, dir, dir);
    assert_int_equal(system(cmd), 0);

    /* leftovers: tmp files, an old partial, a fresh partial, an old partial
     * whose lock is held */
    snprintf(cmd, sizeof cmd, "cd %s && touch blobs/sha256/tmp-1-1 tmp-2-2 && mkdir layers/tmp-3 && "
             "echo abc > ingest/%s.partial && touch -d '3 days ago' ingest/%s.partial && "
             "echo abc > ingest/%s.partial && "
             "echo abc > ingest/%s.partial && touch -d '3 days ago' ingest/%s.partial",
             dir, loose + 7, loose + 7, gone + 7, kept + 7, kept + 7);
    assert_int_equal(system(cmd), 0);
    snprintf(rel, sizeof rel, "%s/ingest/%s.lock", dir, kept + 7);
    int lockfd = open(rel, O_RDWR | O_CREAT, 0600);
    assert_true(lockfd >= 0);
    assert_int_equal(flock(lockfd, LOCK_EX), 0);

    assert_int_equal(zstore_gc(st, &r, &e), 0);
    close(lockfd);

    assert_true(zstore_has_blob(st, kept));
    assert_true(zstore_has_blob(st, pinned));
    assert_true(zstore_has_blob(st, idx));
    assert_true(zstore_has_blob(st, amd));
    assert_true(zstore_has_blob(st, arm));
    assert_false(zstore_has_blob(st, gone));
    assert_false(zstore_has_blob(st, gone_layer));
    assert_false(zstore_has_blob(st, loose));
    assert_int_equal(r.blobs_removed, 4);   /* gone: manifest, config, layer; loose */
    assert_int_equal(r.layers_removed, 1);
    assert_true(r.bytes_freed > 0);
    snprintf(rel, sizeof rel, "layers/%s", kept_layer + 7);
    assert_true(path_exists(rel));
    snprintf(rel, sizeof rel, "layers/%s", pinned_layer + 7);
    assert_true(path_exists(rel));
    snprintf(rel, sizeof rel, "layers/%s", arm_layer + 7);
    assert_true(path_exists(rel));
    snprintf(rel, sizeof rel, "layers/%s", gone_layer + 7);
    assert_false(path_exists(rel));
    assert_false(path_exists("blobs/sha256/tmp-1-1"));
    assert_false(path_exists("tmp-2-2"));
    assert_false(path_exists("layers/tmp-3"));
    snprintf(rel, sizeof rel, "ingest/%s.partial", loose + 7);
    assert_false(path_exists(rel));
    snprintf(rel, sizeof rel, "ingest/%s.partial", gone + 7);
    assert_true(path_exists(rel));
    snprintf(rel, sizeof rel, "ingest/%s.partial", kept + 7);
    assert_true(path_exists(rel));

    struct zcontainer_ref *refs;
    size_t n;
    assert_int_equal(zstore_container_refs(st, &refs, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(refs[0].id, "c1");
    assert_string_equal(refs[0].manifest, pinned);
    zstore_container_refs_free(refs, n);

    /* a second gc has nothing left to do */
    assert_int_equal(zstore_gc(st, &r, &e), 0);
    assert_int_equal(r.blobs_removed + r.layers_removed, 0);
}

/* gc waits for a reader holding the store lock shared. */
static void test_gc_waits_for_users(void **state)
{
    struct zerr e = {0};
    struct zgc_report r;
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct zstore *s2;
        if (zstore_open(dir, &s2, &e) < 0 || zstore_lock(s2, false, &e) < 0)
            _exit(1);
        usleep(400 * 1000);
        _exit(0);
    }
    usleep(100 * 1000);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(zstore_gc(st, &r, &e), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 150);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* nesting on one handle */
    assert_int_equal(zstore_lock(st, false, &e), 0);
    assert_int_equal(zstore_lock(st, false, &e), 0);
    zstore_unlock(st);
    zstore_unlock(st);
    zstore_unlock(st);   /* extra unlock is harmless */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_check),
        cmocka_unit_test(test_default_dir),
        cmocka_unit_test_setup_teardown(test_put_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_restart_and_unknown_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_wrong_digest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tags_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_ambiguous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_inconsistent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gc_waits_for_users, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
