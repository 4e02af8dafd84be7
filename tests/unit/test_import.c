/* Import/export: OCI layout directories, oci-archive and docker-archive
 * files (well-formed and hostile), rootfs import, save round trips. Every
 * archive is built here with libarchive, so each test states its input. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "images/manifest.h"
#include "images/store.h"
#include "images/transfer.h"
#include "images/transfer_private.h"

static char work[256];
static struct zstore *store;

struct member { const char *name; const void *data; size_t len; };

static int setup(void **state)
{
    struct zerr e = {0};
    char dir[8192];
    (void)state;
    snprintf(work, sizeof work, "/tmp/zone-import-test-XXXXXX");
    if (!mkdtemp(work))
        return -1;
    snprintf(dir, sizeof dir, "%s/store", work);
    if (zstore_open(dir, &store, &e) < 0) {
        fprintf(stderr, "zstore_open: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    zstore_close(store);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
    return system(cmd) == 0 ? 0 : -1;
}

static char *path_in(const char *name)
{
    static char buf[8][512];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 512, "%s/%s", work, name);
    return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* A tar of members, optionally gzip-compressed. */
static void write_tar(const char *path, const struct member *m, size_t n, bool gzip)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (gzip)
        archive_write_add_filter_gzip(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *ent = archive_entry_new();
        archive_entry_set_pathname(ent, m[i].name);
        archive_entry_set_filetype(ent, AE_IFREG);
        archive_entry_set_perm(ent, 0644);
        archive_entry_set_size(ent, (la_int64_t)m[i].len);
        assert_int_equal(archive_write_header(a, ent), ARCHIVE_OK);
        assert_int_equal(archive_write_data(a, m[i].data, m[i].len), (la_ssize_t)m[i].len);
        archive_entry_free(ent);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

static char *read_file(const char *path, size_t *len)
{
    struct zerr e = {0};
    FILE *f = fopen(path, "r");
    char *buf;
    long n;
    (void)e;
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

/* ---- a small image: one layer (a real tar), its config and manifest ---- */

struct image {
    char *layer; size_t layer_len; char layer_digest[ZDIGEST_MAX];
    char config[1024]; size_t config_len; char config_digest[ZDIGEST_MAX];
    char manifest[2048]; size_t manifest_len; char manifest_digest[ZDIGEST_MAX];
    char index[2048]; size_t index_len;
};

static void make_image(struct image *im, const char *ref_name, size_t pad)
{
    static const char hello[] = "hello from a layer\n";
    struct member m[] = {{"hello.txt", hello, sizeof hello - 1}, {"pad", NULL, pad}};
    char *padding = calloc(1, pad + 1);
    memset(im, 0, sizeof *im);
    m[1].data = padding;
    write_tar(path_in("layer.tar"), m, pad ? 2 : 1, false);
    free(padding);
    im->layer = read_file(path_in("layer.tar"), &im->layer_len);
    zdigest_of(im->layer, im->layer_len, im->layer_digest);
    im->config_len = (size_t)snprintf(im->config, sizeof im->config,
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},"
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}", im->layer_digest);
    zdigest_of(im->config, im->config_len, im->config_digest);
    im->manifest_len = (size_t)snprintf(im->manifest, sizeof im->manifest,
        "{\"schemaVersion\":2,\"mediaType\":\"" ZMT_OCI_MANIFEST "\",\"config\":{\"mediaType\":\""
        ZMT_OCI_CONFIG "\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\""
        ZMT_OCI_LAYER "\",\"digest\":\"%s\",\"size\":%zu}]}", im->config_digest, im->config_len,
        im->layer_digest, im->layer_len);
    zdigest_of(im->manifest, im->manifest_len, im->manifest_digest);
    if (ref_name)
        im->index_len = (size_t)snprintf(im->index, sizeof im->index,
            "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" ZMT_OCI_MANIFEST "\","
            "\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"" ZANN_REF_NAME "\":\"%s\"}}]}",
            im->manifest_digest, im->manifest_len, ref_name);
    else
        im->index_len = (size_t)snprintf(im->index, sizeof im->index,
            "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" ZMT_OCI_MANIFEST "\","
            "\"digest\":\"%s\",\"size\":%zu}]}", im->manifest_digest, im->manifest_len);
}

static void free_image(struct image *im) { free(im->layer); }

static const char layout_json[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

static void blob_name(char *buf, size_t n, const char *digest)
{
    snprintf(buf, n, "blobs/sha256/%.64s", digest + 7);
}

static void make_layout_dir(const char *dir, const struct image *im)
{
    char p[8192];
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/blobs", dir); mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/blobs/sha256", dir); mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/oci-layout", dir); write_file(p, layout_json, sizeof layout_json - 1);
    snprintf(p, sizeof p, "%s/index.json", dir); write_file(p, im->index, im->index_len);
    snprintf(p, sizeof p, "%s/blobs/sha256/%s", dir, im->manifest_digest + 7);
    write_file(p, im->manifest, im->manifest_len);
    snprintf(p, sizeof p, "%s/blobs/sha256/%s", dir, im->config_digest + 7);
    write_file(p, im->config, im->config_len);
    snprintf(p, sizeof p, "%s/blobs/sha256/%s", dir, im->layer_digest + 7);
    write_file(p, im->layer, im->layer_len);
}

/* The layout as a tar: blobs first and index.json last, as skopeo writes
 * it, so the layer comes before anything names it. */
static void make_oci_archive(const char *path, const struct image *im, const char *bad_name)
{
    char mname[128], cname[128], lname[128];
    blob_name(mname, sizeof mname, im->manifest_digest);
    blob_name(cname, sizeof cname, im->config_digest);
    blob_name(lname, sizeof lname, im->layer_digest);
    struct member m[] = {
        {"oci-layout", layout_json, sizeof layout_json - 1},
        {bad_name ? bad_name : lname, im->layer, im->layer_len},
        {cname, im->config, im->config_len},
        {mname, im->manifest, im->manifest_len},
        {"index.json", im->index, im->index_len},
    };
    write_tar(path, m, 5, false);
}

static void assert_tagged(const char *name, const char *digest)
{
    struct zerr e = {0};
    char got[ZDIGEST_MAX];
    if (zstore_tag_get(store, name, got, &e) < 0)
        fail_msg("tag %s: %s", name, e.msg);
    assert_string_equal(got, digest);
}

static void assert_not_tagged(const char *name)
{
    struct zerr e = {0};
    char got[ZDIGEST_MAX];
    assert_int_equal(zstore_tag_get(store, name, got, &e), -1);
    assert_int_equal(e.code, ENOENT);
}

#define PULL_OK(src, name, digest) do {                                                \
        struct zerr e_ = {0};                                                         \
        if (zimage_pull(store, src, NULL, name, sizeof name, digest, &e_) < 0)        \
            fail_msg("pull %s: %s", src, e_.msg);                                     \
    } while (0)

static void pull_fails(const char *src, const char *needle)
{
    struct zerr e = {0};
    char name[1024], digest[ZDIGEST_MAX];
    assert_int_equal(zimage_pull(store, src, NULL, name, sizeof name, digest, &e), -1);
    if (getenv("ZONE_TEST_SHOW_ERRORS"))
        fprintf(stderr, "    (%s)\n", e.msg);
    if (!strstr(e.msg, needle))
        fail_msg("error for %s: expected \"%s\" in \"%s\"", src, needle, e.msg);
}

/* ---- tests ---- */

static void test_oci_dir_by_tag(void **state)
{
    struct image im;
    char name[1024], digest[ZDIGEST_MAX], src[8192];
    (void)state;
    make_image(&im, "v1", 0);
    make_layout_dir(path_in("My_Layout"), &im);
    snprintf(src, sizeof src, "oci:%s:v1", path_in("My_Layout"));
    PULL_OK(src, name, digest);
    assert_string_equal(name, "localhost/my_layout:v1");
    assert_string_equal(digest, im.manifest_digest);
    assert_tagged("localhost/my_layout:v1", im.manifest_digest);
    assert_true(zstore_has_blob(store, im.layer_digest));
    assert_true(zstore_has_blob(store, im.config_digest));
    /* an unknown tag lists what is there */
    snprintf(src, sizeof src, "oci:%s:v2", path_in("My_Layout"));
    pull_fails(src, "no image named \"v2\" (names here: \"v1\")");
    free_image(&im);
}

static void test_oci_dir_full_reference_name(void **state)
{
    struct image im;
    char name[1024], digest[ZDIGEST_MAX], src[8192];
    (void)state;
    make_image(&im, "quay.io/team/app:2.0", 0);
    make_layout_dir(path_in("ref"), &im);
    snprintf(src, sizeof src, "oci:%s", path_in("ref"));
    PULL_OK(src, name, digest);
    assert_string_equal(name, "quay.io/team/app:2.0");
    free_image(&im);
}

static void test_oci_dir_corrupt_and_missing(void **state)
{
    struct image im;
    char src[8192], p[8192];
    (void)state;
    make_image(&im, "v1", 0);
    make_layout_dir(path_in("bad"), &im);
    /* same size, other bytes: the writer's digest check refuses it */
    snprintf(p, sizeof p, "%s/blobs/sha256/%s", path_in("bad"), im.layer_digest + 7);
    im.layer[0] ^= 1;
    write_file(p, im.layer, im.layer_len);
    snprintf(src, sizeof src, "oci:%s:v1", path_in("bad"));
    pull_fails(src, im.layer_digest + 7);
    assert_not_tagged("localhost/bad:v1");
    assert_false(zstore_has_blob(store, im.layer_digest));
    /* config gone: named in the error */
    unlink(p);
    snprintf(p, sizeof p, "%s/blobs/sha256/%s", path_in("bad"), im.config_digest + 7);
    unlink(p);
    pull_fails(src, "missing");
    assert_not_tagged("localhost/bad:v1");
    /* not a layout at all */
    snprintf(src, sizeof src, "oci:%s", work);
    pull_fails(src, "not an OCI image layout");
    free_image(&im);
}

static void test_oci_archive_two_passes(void **state)
{
    struct image im;
    char name[1024], digest[ZDIGEST_MAX], src[8192];
    (void)state;
    /* a layer above the in-memory budget for one blob: stored in pass 2 */
    make_image(&im, "big", 5u << 20);
    make_oci_archive(path_in("big.tar"), &im, NULL);
    snprintf(src, sizeof src, "oci-archive:%s", path_in("big.tar"));
    PULL_OK(src, name, digest);
    assert_string_equal(name, "localhost/big:big");
    assert_string_equal(digest, im.manifest_digest);
    assert_true(zstore_has_blob(store, im.layer_digest));
    /* zone's own archives put metadata first: the big layer streams in
     * during the first pass (docker-archive: checked against its diff_id) */
    {
        struct zstore *second;
        struct zerr e = {0};
        char dir2[8192], dst[8192], n2[1024], d2[ZDIGEST_MAX];
        struct zimage loaded;
        snprintf(dir2, sizeof dir2, "%s/store2", work);
        assert_int_equal(zstore_open(dir2, &second, &e), 0);
        snprintf(dst, sizeof dst, "docker-archive:%s", path_in("big-docker.tar"));
        if (zimage_save(store, name, dst, &e) < 0)
            fail_msg("save: %s", e.msg);
        if (zimage_pull(second, dst, NULL, n2, sizeof n2, d2, &e) < 0)
            fail_msg("load: %s", e.msg);
        assert_string_equal(n2, name);
        assert_int_equal(zimage_load(second, n2, &loaded, &e), 0);
        assert_string_equal(loaded.manifest.layers[0].digest, im.layer_digest);
        zimage_free(&loaded);
        snprintf(dst, sizeof dst, "oci-archive:%s", path_in("big-oci.tar"));
        if (zimage_save(store, name, dst, &e) < 0)
            fail_msg("save: %s", e.msg);
        if (zimage_pull(second, dst, NULL, n2, sizeof n2, d2, &e) < 0)
            fail_msg("load: %s", e.msg);
        assert_string_equal(d2, im.manifest_digest);
        zstore_close(second);
    }
    free_image(&im);
}

static void test_oci_archive_hostile(void **state)
{
    struct image im, good;
    char src[8192], wrong[128], name[1024], digest[ZDIGEST_MAX];
    (void)state;
    make_image(&im, "v1", 0);
    /* a blob stored under a name that is not its digest */
    snprintf(wrong, sizeof wrong, "blobs/sha256/%064d", 7);
    /* the manifest names the real digest: the archive lacks it */
    make_oci_archive(path_in("mismatch.tar"), &im, wrong);
    snprintf(src, sizeof src, "oci-archive:%s", path_in("mismatch.tar"));
    pull_fails(src, "is missing from the archive");
    /* a member under the layer's name whose content differs */
    im.layer[10] ^= 0x20;
    make_image(&good, "v1", 0);
    {
        char lname[128], cname[128], mname[128];
        blob_name(lname, sizeof lname, good.layer_digest);
        blob_name(cname, sizeof cname, good.config_digest);
        blob_name(mname, sizeof mname, good.manifest_digest);
        struct member m[] = {
            {"oci-layout", layout_json, sizeof layout_json - 1},
            {"index.json", good.index, good.index_len},
            {mname, good.manifest, good.manifest_len},
            {cname, good.config, good.config_len},
            {lname, im.layer, good.layer_len},
        };
        write_tar(path_in("content.tar"), m, 5, false);
    }
    snprintf(src, sizeof src, "oci-archive:%s", path_in("content.tar"));
    pull_fails(src, good.layer_digest + 7);
    assert_not_tagged("localhost/content:v1");
    /* a member reaching out */
    make_oci_archive(path_in("dotdot.tar"), &good, "../x");
    snprintf(src, sizeof src, "oci-archive:%s", path_in("dotdot.tar"));
    pull_fails(src, "\"..\" in a member name refused");
    assert_not_tagged("localhost/dotdot:v1");
    /* the store is still fine: a good archive goes in */
    make_oci_archive(path_in("good.tar"), &good, NULL);
    snprintf(src, sizeof src, "oci-archive:%s", path_in("good.tar"));
    PULL_OK(src, name, digest);
    assert_string_equal(digest, good.manifest_digest);
    free_image(&im);
    free_image(&good);
}

/* docker save's legacy layout: <id>/layer.tar, <hex>.json, manifest.json
 * last. */
static void make_docker_archive(const char *path, const struct image *im, const char *repo_tag,
                                const char *layer_path, bool drop_layer, bool gzip_layer)
{
    char manifest[1024], cname[100];
    const void *layer = im->layer;
    size_t layer_len = im->layer_len;
    char *gz = NULL;
    snprintf(cname, sizeof cname, "%s.json", im->config_digest + 7);
    snprintf(manifest, sizeof manifest,
             "[{\"Config\":\"%s\",\"RepoTags\":[\"%s\"],\"Layers\":[\"%s\"]}]", cname, repo_tag,
             layer_path);
    if (gzip_layer) {
        struct member lm[] = {{"x", im->layer, im->layer_len}};
        size_t n;
        (void)lm;
        /* gzip the layer tar itself */
        struct archive *a = archive_write_new();
        archive_write_set_format_raw(a);
        archive_write_add_filter_gzip(a);
        assert_int_equal(archive_write_open_filename(a, path_in("layer.gz")), ARCHIVE_OK);
        struct archive_entry *ent = archive_entry_new();
        archive_entry_set_filetype(ent, AE_IFREG);
        archive_entry_set_pathname(ent, "x");
        archive_write_header(a, ent);
        archive_write_data(a, im->layer, im->layer_len);
        archive_entry_free(ent);
        archive_write_close(a);
        archive_write_free(a);
        gz = read_file(path_in("layer.gz"), &n);
        layer = gz;
        layer_len = n;
    }
    struct member m[] = {
        {layer_path, layer, layer_len},
        {cname, im->config, im->config_len},
        {"repositories", "{}", 2},
        {"manifest.json", manifest, strlen(manifest)},
    };
    if (drop_layer)
        write_tar(path, m + 1, 3, false);
    else
        write_tar(path, m, 4, false);
    free(gz);
}

static void test_docker_archive(void **state)
{
    struct image im;
    char name[1024], digest[ZDIGEST_MAX], src[8192];
    struct zimage loaded;
    struct zerr e = {0};
    (void)state;
    make_image(&im, NULL, 0);
    make_docker_archive(path_in("d.tar"), &im, "myimg:1", "0123abcd/layer.tar", false, false);
    snprintf(src, sizeof src, "docker-archive:%s", path_in("d.tar"));
    PULL_OK(src, name, digest);
    assert_string_equal(name, "docker.io/library/myimg:1");
    if (zimage_load(store, name, &loaded, &e) < 0)
        fail_msg("load: %s", e.msg);
    assert_string_equal(loaded.manifest.config.digest, im.config_digest);
    assert_int_equal(loaded.manifest.n_layers, 1);
    assert_string_equal(loaded.manifest.layers[0].digest, im.layer_digest);
    assert_string_equal(loaded.manifest.layers[0].media_type, ZMT_OCI_LAYER);
    zimage_free(&loaded);

    /* a gzip layer keeps its compressed digest and says so */
    make_docker_archive(path_in("gz.tar"), &im, "gz:1", "l.tar", false, true);
    snprintf(src, sizeof src, "docker-archive:%s", path_in("gz.tar"));
    PULL_OK(src, name, digest);
    if (zimage_load(store, name, &loaded, &e) < 0)
        fail_msg("load: %s", e.msg);
    assert_string_equal(loaded.manifest.layers[0].media_type, ZMT_OCI_LAYER_GZ);
    assert_string_not_equal(loaded.manifest.layers[0].digest, im.layer_digest);
    zimage_free(&loaded);
    free_image(&im);
}

static void test_docker_archive_hostile(void **state)
{
    struct image im;
    char src[8192], name[1024], digest[ZDIGEST_MAX];
    (void)state;
    make_image(&im, NULL, 0);
    make_docker_archive(path_in("nolayer.tar"), &im, "nolayer:1", "abc/layer.tar", true, false);
    snprintf(src, sizeof src, "docker-archive:%s", path_in("nolayer.tar"));
    pull_fails(src, "abc/layer.tar");
    assert_not_tagged("docker.io/library/nolayer:1");
    /* a layer whose content is not the config's diff_id */
    im.layer[5] ^= 1;
    make_docker_archive(path_in("diffid.tar"), &im, "diffid:1", "abc/layer.tar", false, false);
    im.layer[5] ^= 1;
    snprintf(src, sizeof src, "docker-archive:%s", path_in("diffid.tar"));
    pull_fails(src, "does not match the config's diff_id");
    assert_not_tagged("docker.io/library/diffid:1");
    /* manifest.json pointing outside */
    make_docker_archive(path_in("out.tar"), &im, "out:1", "../etc/passwd", false, false);
    snprintf(src, sizeof src, "docker-archive:%s", path_in("out.tar"));
    pull_fails(src, "..");
    /* then a good one */
    make_docker_archive(path_in("ok.tar"), &im, "ok:1", "abc/layer.tar", false, false);
    snprintf(src, sizeof src, "docker-archive:%s", path_in("ok.tar"));
    PULL_OK(src, name, digest);
    assert_string_equal(name, "docker.io/library/ok:1");
    free_image(&im);
}

static void test_import_rootfs(void **state)
{
    static const char sh[] = "#!/bin/sh\n";
    struct member m[] = {{"bin/sh", sh, sizeof sh - 1}, {"etc/hostname", "x\n", 2}};
    char digest[ZDIGEST_MAX], diff_id[ZDIGEST_MAX];
    struct zimage loaded;
    struct zerr e = {0};
    char *raw;
    size_t len;
    (void)state;
    write_tar(path_in("rootfs.tar"), m, 2, false);
    raw = read_file(path_in("rootfs.tar"), &len);
    zdigest_of(raw, len, diff_id);
    free(raw);
    if (zimage_import_rootfs(store, path_in("rootfs.tar"), "myroot", digest, &e) < 0)
        fail_msg("import: %s", e.msg);
    assert_tagged("localhost/myroot:latest", digest);
    if (zimage_load(store, "localhost/myroot:latest", &loaded, &e) < 0)
        fail_msg("load: %s", e.msg);
    assert_int_equal(loaded.manifest.n_layers, 1);
    assert_string_equal(loaded.manifest.layers[0].digest, diff_id);
    assert_string_equal(loaded.manifest.layers[0].media_type, ZMT_OCI_LAYER);
    assert_string_equal(loaded.config.diff_ids[0], diff_id);
    assert_string_equal(loaded.config.os, "linux");
    assert_int_equal(loaded.config.n_cmd, 1);
    assert_string_equal(loaded.config.cmd[0], "/bin/sh");
    assert_true(loaded.config.n_env >= 1 && !strncmp(loaded.config.env[0], "PATH=", 5));
    zimage_free(&loaded);

    /* gzip input: stored decompressed, same diff_id */
    write_tar(path_in("rootfs.tgz"), m, 2, true);
    if (zimage_import_rootfs(store, path_in("rootfs.tgz"), "other:2", digest, &e) < 0)
        fail_msg("import: %s", e.msg);
    if (zimage_load(store, "localhost/other:2", &loaded, &e) < 0)
        fail_msg("load: %s", e.msg);
    assert_string_equal(loaded.manifest.layers[0].digest, diff_id);
    zimage_free(&loaded);

    /* not a tar */
    write_file(path_in("junk"), "this is not a tar archive, just words", 37);
    assert_int_equal(zimage_import_rootfs(store, path_in("junk"), "junk", digest, &e), -1);
    assert_non_null(strstr(e.msg, "not a tar archive"));
    assert_not_tagged("localhost/junk:latest");
    assert_int_equal(zimage_import_rootfs(store, path_in("rootfs.tar"), "Bad Name", digest, &e), -1);
}

static void test_save_round_trips(void **state)
{
    struct image im;
    char name[1024], digest[ZDIGEST_MAX], src[8192], dst[8192], dir2[8192];
    struct zstore *second;
    struct zerr e = {0};
    struct zimage a, b;
    enum zarchive_kind kind;
    (void)state;
    make_image(&im, "v1", 0);
    make_layout_dir(path_in("orig"), &im);
    snprintf(src, sizeof src, "oci:%s:v1", path_in("orig"));
    PULL_OK(src, name, digest);
    snprintf(dir2, sizeof dir2, "%s/store2", work);
    assert_int_equal(zstore_open(dir2, &second, &e), 0);

    /* oci dir and oci-archive keep the manifest digest */
    snprintf(dst, sizeof dst, "oci:%s", path_in("saved-dir"));
    if (zimage_save(store, name, dst, &e) < 0)
        fail_msg("save: %s", e.msg);
    snprintf(dst, sizeof dst, "oci-archive:%s", path_in("saved-oci.tar"));
    if (zimage_save(store, name, dst, &e) < 0)
        fail_msg("save: %s", e.msg);
    assert_int_equal(zarchive_detect(path_in("saved-oci.tar"), &kind, &e), 0);
    assert_int_equal(kind, ZARCHIVE_OCI);
    {
        char n2[1024], d2[ZDIGEST_MAX];
        snprintf(src, sizeof src, "oci:%s", path_in("saved-dir"));
        if (zimage_pull(second, src, NULL, n2, sizeof n2, d2, &e) < 0)
            fail_msg("pull back: %s", e.msg);
        assert_string_equal(n2, name);     /* ref.name carries the full name */
        assert_string_equal(d2, im.manifest_digest);
        snprintf(src, sizeof src, "oci-archive:%s", path_in("saved-oci.tar"));
        if (zimage_pull(second, src, NULL, n2, sizeof n2, d2, &e) < 0)
            fail_msg("pull back: %s", e.msg);
        assert_string_equal(d2, im.manifest_digest);
    }
    /* docker-archive: same config and layers (the manifest is rebuilt) */
    snprintf(dst, sizeof dst, "docker-archive:%s:saved/app:3", path_in("saved-docker.tar"));
    if (zimage_save(store, name, dst, &e) < 0)
        fail_msg("save: %s", e.msg);
    assert_int_equal(zarchive_detect(path_in("saved-docker.tar"), &kind, &e), 0);
    assert_int_equal(kind, ZARCHIVE_DOCKER);
    {
        char n2[1024], d2[ZDIGEST_MAX];
        snprintf(src, sizeof src, "docker-archive:%s", path_in("saved-docker.tar"));
        if (zimage_pull(second, src, NULL, n2, sizeof n2, d2, &e) < 0)
            fail_msg("pull back: %s", e.msg);
        assert_string_equal(n2, "docker.io/saved/app:3");
        assert_int_equal(zimage_load(store, name, &a, &e), 0);
        assert_int_equal(zimage_load(second, n2, &b, &e), 0);
        assert_string_equal(a.manifest.config.digest, b.manifest.config.digest);
        assert_string_equal(a.manifest.layers[0].digest, b.manifest.layers[0].digest);
        zimage_free(&a);
        zimage_free(&b);
    }
    /* an existing non-empty directory is not overwritten */
    snprintf(dst, sizeof dst, "oci:%s", path_in("saved-dir"));
    assert_int_equal(zimage_save(store, name, dst, &e), -1);
    assert_non_null(strstr(e.msg, "not an empty directory"));
    zstore_close(second);
    free_image(&im);
}

static void test_names(void **state)
{
    struct zerr e = {0};
    char out[1024];
    (void)state;
    assert_int_equal(zimport_name("v1", "/x/My Image.tar.gz", out, sizeof out, &e), 0);
    assert_string_equal(out, "localhost/my-image:v1");
    assert_int_equal(zimport_name(NULL, "/x/dir/", out, sizeof out, &e), 0);
    assert_string_equal(out, "localhost/dir:latest");
    assert_int_equal(zimport_name("busybox:1.36", "f", out, sizeof out, &e), 0);
    assert_string_equal(out, "docker.io/library/busybox:1.36");
    assert_int_equal(zimport_name("localhost/a/b:c", "f", out, sizeof out, &e), 0);
    assert_string_equal(out, "localhost/a/b:c");
    assert_int_equal(zimport_name(NULL, "___", out, sizeof out, &e), 0);
    assert_string_equal(out, "localhost/image:latest");
    pull_fails("dir:/tmp/x", "unsupported transport");
    pull_fails("oci:", "no path given");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_oci_dir_by_tag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oci_dir_full_reference_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oci_dir_corrupt_and_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oci_archive_two_passes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oci_archive_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_docker_archive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_docker_archive_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_rootfs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
