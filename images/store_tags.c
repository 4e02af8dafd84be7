/* Tags: tags.json maps normalized names to manifest (or index) digests.
 * Readers read the file without a lock (it is only ever replaced by rename,
 * so they see a whole version). Writers hold tags.lock exclusive across
 * read-modify-write, so two processes tagging at once both keep their tag. */
#include "images/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <yajl/yajl_gen.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/path.h"
#include "images/reference.h"
#include "images/store_private.h"

#define TAGS_MAX (64u << 20)

void zstore_tag_list_free(struct ztag *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

static int tag_cmp(const void *a, const void *b)
{
    return strcmp(((const struct ztag *)a)->name, ((const struct ztag *)b)->name);
}

/* Reads tags.json (absent = no tags) into a sorted array. */
static int read_tags(struct zstore *s, struct ztag **out, size_t *n, struct zerr *e)
{
    _cleanup_free_ char *text = NULL;
    struct zjson_doc *doc;
    const struct zjson *root;
    struct ztag *v = NULL;
    size_t len = 0, count = 0;
    char path[4200];
    struct zerr rerr = {0};

    *out = NULL;
    *n = 0;
    snprintf(path, sizeof path, "%s/tags.json", s->dir);
    text = zfile_read(path, TAGS_MAX, &len, &rerr);
    if (!text && rerr.code == ENOENT)
        return 0;
    if (!text) {
        *e = rerr;
        return -1;
    }
    doc = zjson_parse(text, len, e);
    if (!doc)
        return zerr_prefix(e, "%s/tags.json", s->dir);
    root = zjson_root(doc);
    if (root->type != ZJSON_OBJECT) {
        zjson_doc_free(doc);
        return zerr_set(e, EINVAL, "%s/tags.json: expected an object", s->dir);
    }
    if (root->len) {
        v = calloc(root->len, sizeof *v);
        if (!v) {
            zjson_doc_free(doc);
            return zerr_sys(e, "%s/tags.json", s->dir);
        }
    }
    for (size_t i = 0; i < root->len; i++) {
        const struct zjson_member *m = &root->u.members[i];
        if (m->value->type != ZJSON_STRING || strlen(m->value->u.str) != m->value->len ||
            zdigest_check(m->value->u.str, m->key, e) < 0) {
            zerr_set(e, EINVAL, "%s/tags.json: \"%.200s\": expected a sha256 digest",
                     s->dir, m->key);
            zstore_tag_list_free(v, count);
            zjson_doc_free(doc);
            return -1;
        }
        /* duplicate keys: the last one wins, as zjson_get does */
        size_t j;
        for (j = 0; j < count; j++)
            if (!strcmp(v[j].name, m->key))
                break;
        if (j == count) {
            v[count].name = strdup(m->key);
            if (!v[count].name) {
                zstore_tag_list_free(v, count);
                zjson_doc_free(doc);
                return zerr_sys(e, "%s/tags.json", s->dir);
            }
            count++;
        }
        snprintf(v[j].digest, sizeof v[j].digest, "%s", m->value->u.str);
    }
    zjson_doc_free(doc);
    if (count)
        qsort(v, count, sizeof *v, tag_cmp);
    *out = v;
    *n = count;
    return 0;
}

static int write_tags(struct zstore *s, const struct ztag *v, size_t n, struct zerr *e)
{
    const unsigned char *buf;
    size_t len;
    char what[4200];
    int r;
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return zerr_set(e, ENOMEM, "%s/tags.json: out of memory", s->dir);
    yajl_gen_config(g, yajl_gen_beautify, 1);
    yajl_gen_config(g, yajl_gen_indent_string, "  ");
    yajl_gen_map_open(g);
    for (size_t i = 0; i < n; i++) {
        yajl_gen_string(g, (const unsigned char *)v[i].name, strlen(v[i].name));
        yajl_gen_string(g, (const unsigned char *)v[i].digest, strlen(v[i].digest));
    }
    yajl_gen_map_close(g);
    yajl_gen_get_buf(g, &buf, &len);
    snprintf(what, sizeof what, "%s/tags.json", s->dir);
    r = zstore_write_atomic(s->dirfd, "tags.json", buf, len, what, e);
    yajl_gen_free(g);
    return r;
}

/* Runs fn on the tag list under tags.lock (and the store lock shared,
 * since the temporary file lives in the store's top directory which gc
 * sweeps), then writes the list back if fn changed it. */
static int tags_update(struct zstore *s, int (*fn)(struct ztag **v, size_t *n, void *arg,
                                                   bool *changed, struct zerr *e),
                       void *arg, struct zerr *e)
{
    _cleanup_close_ int lock = -1;
    struct ztag *v = NULL;
    size_t n = 0;
    bool took = false, changed = false;
    int r = -1;

    if (zstore_lock_for_use(s, &took, e) < 0)
        return -1;
    lock = openat(s->dirfd, "tags.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lock < 0) {
        zerr_sys(e, "%s/tags.lock", s->dir);
        goto out;
    }
    while (flock(lock, LOCK_EX) < 0) {
        if (errno != EINTR) {
            zerr_sys(e, "%s/tags.lock: lock", s->dir);
            goto out;
        }
    }
    if (read_tags(s, &v, &n, e) < 0)
        goto out;
    if (fn(&v, &n, arg, &changed, e) < 0)
        goto out;
    if (changed && write_tags(s, v, n, e) < 0)
        goto out;
    r = 0;
out:
    zstore_tag_list_free(v, n);
    if (took)
        zstore_unlock(s);
    return r;   /* closing `lock` releases tags.lock */
}

struct tag_op { const char *name, *digest; };

static int do_set(struct ztag **v, size_t *n, void *arg, bool *changed, struct zerr *e)
{
    const struct tag_op *op = arg;
    struct ztag *nv;
    for (size_t i = 0; i < *n; i++) {
        if (!strcmp((*v)[i].name, op->name)) {
            if (strcmp((*v)[i].digest, op->digest)) {
                snprintf((*v)[i].digest, sizeof (*v)[i].digest, "%s", op->digest);
                *changed = true;
            }
            return 0;
        }
    }
    nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv)
        return zerr_sys(e, "tag %s", op->name);
    *v = nv;
    nv[*n].name = strdup(op->name);
    if (!nv[*n].name)
        return zerr_sys(e, "tag %s", op->name);
    snprintf(nv[*n].digest, sizeof nv[*n].digest, "%s", op->digest);
    (*n)++;
    qsort(nv, *n, sizeof *nv, tag_cmp);
    *changed = true;
    return 0;
}

static int do_remove(struct ztag **v, size_t *n, void *arg, bool *changed, struct zerr *e)
{
    const struct tag_op *op = arg;
    for (size_t i = 0; i < *n; i++) {
        if (!strcmp((*v)[i].name, op->name)) {
            free((*v)[i].name);
            memmove(&(*v)[i], &(*v)[i + 1], (*n - i - 1) * sizeof **v);
            (*n)--;
            *changed = true;
            return 0;
        }
    }
    return zerr_set(e, ENOENT, "%s: image not known", op->name);
}

/* A tag name must be the normalized form of itself. */
static int check_tag_name(const char *name, struct zerr *e)
{
    struct zref r;
    char again[1024];
    if (zref_parse(name, NULL, &r, e) < 0)
        return zerr_prefix(e, "tag");
    zref_format(&r, again, sizeof again);
    if (strcmp(again, name))
        return zerr_set(e, EINVAL, "tag \"%.300s\" is not a normalized name (expected \"%s\")",
                        name, again);
    return 0;
}

int zstore_tag_set(struct zstore *s, const char *name, const char *manifest_digest,
                   struct zerr *e)
{
    struct tag_op op = {name, manifest_digest};
    if (check_tag_name(name, e) < 0)
        return -1;
    if (zdigest_check(manifest_digest, name, e) < 0)
        return zerr_prefix(e, "tag");
    if (!zstore_has_blob(s, manifest_digest))
        return zerr_set(e, ENOENT, "tag %s: manifest %s is not in the store", name,
                        manifest_digest);
    return tags_update(s, do_set, &op, e);
}

int zstore_tag_remove(struct zstore *s, const char *name, struct zerr *e)
{
    struct tag_op op = {name, NULL};
    return tags_update(s, do_remove, &op, e);
}

int zstore_tag_get(struct zstore *s, const char *name, char digest[ZDIGEST_MAX],
                   struct zerr *e)
{
    struct ztag *v;
    size_t n;
    int r = -1;
    digest[0] = '\0';
    if (read_tags(s, &v, &n, e) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(v[i].name, name)) {
            memcpy(digest, v[i].digest, ZDIGEST_MAX);
            r = 0;
            break;
        }
    }
    zstore_tag_list_free(v, n);
    if (r < 0)
        zerr_set(e, ENOENT, "%s: image not known", name);
    return r;
}

int zstore_tag_list(struct zstore *s, struct ztag **out, size_t *n, struct zerr *e)
{
    return read_tags(s, out, n, e);
}
