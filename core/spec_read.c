/* Typed, path-tracking readers over a zjson tree for the spec parser. */
#include "core/spec_private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void spec_rd_init(struct spec_rd *rd, const char *origin, struct zerr *e)
{
    rd->origin = origin ? origin : "config.json";
    rd->e = e;
    rd->path[0] = '\0';
    rd->path_len = 0;
}

/* Appends text, keeping the buffer NUL-terminated; a path too long for the
 * buffer is cut (it only feeds messages). */
static void path_append(struct spec_rd *rd, const char *s, size_t n)
{
    size_t room = sizeof rd->path - 1 - rd->path_len;
    if (n > room)
        n = room;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        rd->path[rd->path_len + i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    rd->path_len += n;
    rd->path[rd->path_len] = '\0';
}

size_t spec_rd_push_key(struct spec_rd *rd, const char *key)
{
    size_t mark = rd->path_len;
    if (rd->path_len)
        path_append(rd, ".", 1);
    path_append(rd, key, strlen(key));
    return mark;
}

size_t spec_rd_push_index(struct spec_rd *rd, size_t i)
{
    /* Formatted by hand: this runs for every array element parsed. */
    size_t mark = rd->path_len;
    char buf[32], *p = buf + sizeof buf;
    *--p = ']';
    do {
        *--p = (char)('0' + i % 10);
        i /= 10;
    } while (i);
    *--p = '[';
    path_append(rd, p, (size_t)(buf + sizeof buf - p));
    return mark;
}

size_t spec_rd_push_map_key(struct spec_rd *rd, const char *key)
{
    size_t mark = rd->path_len;
    path_append(rd, "[\"", 2);
    path_append(rd, key, strlen(key));
    path_append(rd, "\"]", 2);
    return mark;
}

void spec_rd_pop(struct spec_rd *rd, size_t mark)
{
    rd->path_len = mark;
    rd->path[mark] = '\0';
}

int spec_rd_fail(struct spec_rd *rd, const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (rd->path_len)
        return zerr_set(rd->e, EINVAL, "%s: %s: %s", rd->origin, rd->path, what);
    return zerr_set(rd->e, EINVAL, "%s: %s", rd->origin, what);
}

const struct zjson *spec_rd_field(struct spec_rd *rd, const struct zjson *obj,
                                  const char *key, int req, int *err)
{
    const struct zjson *v = zjson_get(obj, key);
    *err = 0;
    if (v && v->type == ZJSON_NULL)
        v = NULL;   /* Go's encoding/json reads null as "not set" */
    if (!v && req) {
        size_t mark = spec_rd_push_key(rd, key);
        *err = spec_rd_fail(rd, "missing required field");
        spec_rd_pop(rd, mark);
    }
    return v;
}

/* Describes a value for "expected X, got Y": numbers say whether they are
 * fractional, strings show a short prefix. */
static void describe(const struct zjson *v, char *buf, size_t size)
{
    switch (v->type) {
    case ZJSON_NUMBER:
        snprintf(buf, size, "%s %.32s", zjson_is_integer(v) ? "integer" : "number",
                 v->u.str);
        break;
    default:
        snprintf(buf, size, "%s", zjson_type_name(v->type));
    }
}

int spec_rd_expect(struct spec_rd *rd, const struct zjson *v, enum zjson_type t)
{
    if (v->type == t)
        return 0;
    char got[64];
    describe(v, got, sizeof got);
    return spec_rd_fail(rd, "expected %s, got %s", zjson_type_name(t), got);
}

int spec_rd_v_str(struct spec_rd *rd, const struct zjson *v, char **out)
{
    if (spec_rd_expect(rd, v, ZJSON_STRING) < 0)
        return -1;
    if (memchr(v->u.str, '\0', v->len))
        return spec_rd_fail(rd, "string contains a NUL character");
    char *s = strdup(v->u.str);
    if (!s)
        return zerr_set(rd->e, ENOMEM, "%s: out of memory", rd->origin);
    free(*out);
    *out = s;
    return 0;
}

static int integer_failure(struct spec_rd *rd, const struct zjson *v, int r,
                           const char *range)
{
    char got[64];
    if (r == -ERANGE)
        return spec_rd_fail(rd, "value %.32s out of range %s", v->u.str, range);
    describe(v, got, sizeof got);
    return spec_rd_fail(rd, "expected integer, got %s", got);
}

int spec_rd_v_int(struct spec_rd *rd, const struct zjson *v, int64_t min,
                  int64_t max, int64_t *out)
{
    char range[64];
    int64_t x;
    int r = v->type == ZJSON_NUMBER ? zjson_int64(v, &x) : -EINVAL;
    if (r == 0 && (x < min || x > max))
        r = -ERANGE;
    if (r < 0) {
        snprintf(range, sizeof range, "%" PRId64 "..%" PRId64, min, max);
        return integer_failure(rd, v, r, range);
    }
    *out = x;
    return 0;
}

int spec_rd_v_uint(struct spec_rd *rd, const struct zjson *v, uint64_t max,
                   uint64_t *out)
{
    char range[64];
    uint64_t x;
    int r = v->type == ZJSON_NUMBER ? zjson_uint64(v, &x) : -EINVAL;
    if (r == 0 && x > max)
        r = -ERANGE;
    if (r < 0) {
        snprintf(range, sizeof range, "0..%" PRIu64, max);
        return integer_failure(rd, v, r, range);
    }
    *out = x;
    return 0;
}

/* Runs one value reader on obj[key] with the path extended by key. */
#define WITH_FIELD(rd, obj, key, req, has, body)                         \
    do {                                                                 \
        int err_;                                                        \
        const struct zjson *v = spec_rd_field(rd, obj, key, req, &err_); \
        if (has)                                                         \
            *(bool *)(has) = false;                                      \
        if (!v)                                                          \
            return err_;                                                 \
        size_t mark_ = spec_rd_push_key(rd, key);                        \
        int r_ = (body);                                                 \
        spec_rd_pop(rd, mark_);                                          \
        if (r_ < 0)                                                      \
            return -1;                                                   \
        if (has)                                                         \
            *(bool *)(has) = true;                                       \
        return 0;                                                        \
    } while (0)

int spec_rd_str(struct spec_rd *rd, const struct zjson *obj, const char *key,
                int req, char **out)
{
    WITH_FIELD(rd, obj, key, req, (bool *)NULL, spec_rd_v_str(rd, v, out));
}

static int v_bool(struct spec_rd *rd, const struct zjson *v, bool *out)
{
    if (spec_rd_expect(rd, v, ZJSON_BOOL) < 0)
        return -1;
    *out = v->u.boolean;
    return 0;
}

int spec_rd_bool(struct spec_rd *rd, const struct zjson *obj, const char *key,
                 bool *has, bool *out)
{
    WITH_FIELD(rd, obj, key, SPEC_OPT, has, v_bool(rd, v, out));
}

int spec_rd_i64(struct spec_rd *rd, const struct zjson *obj, const char *key,
                int req, bool *has, int64_t *out)
{
    WITH_FIELD(rd, obj, key, req, has,
               spec_rd_v_int(rd, v, INT64_MIN, INT64_MAX, out));
}

static int v_i32(struct spec_rd *rd, const struct zjson *v, int32_t min,
                 int32_t max, int32_t *out)
{
    int64_t x;
    if (spec_rd_v_int(rd, v, min, max, &x) < 0)
        return -1;
    *out = (int32_t)x;
    return 0;
}

int spec_rd_i32(struct spec_rd *rd, const struct zjson *obj, const char *key,
                int req, bool *has, int32_t *out, int32_t min, int32_t max)
{
    WITH_FIELD(rd, obj, key, req, has, v_i32(rd, v, min, max, out));
}

int spec_rd_u64(struct spec_rd *rd, const struct zjson *obj, const char *key,
                int req, bool *has, uint64_t *out)
{
    WITH_FIELD(rd, obj, key, req, has, spec_rd_v_uint(rd, v, UINT64_MAX, out));
}

static int v_u32(struct spec_rd *rd, const struct zjson *v, uint32_t *out)
{
    uint64_t x;
    if (spec_rd_v_uint(rd, v, UINT32_MAX, &x) < 0)
        return -1;
    *out = (uint32_t)x;
    return 0;
}

int spec_rd_u32(struct spec_rd *rd, const struct zjson *obj, const char *key,
                int req, bool *has, uint32_t *out)
{
    WITH_FIELD(rd, obj, key, req, has, v_u32(rd, v, out));
}

static int v_u16(struct spec_rd *rd, const struct zjson *v, uint16_t min,
                 uint16_t max, uint16_t *out)
{
    int64_t x;
    if (spec_rd_v_int(rd, v, min, max, &x) < 0)
        return -1;
    *out = (uint16_t)x;
    return 0;
}

int spec_rd_u16(struct spec_rd *rd, const struct zjson *obj, const char *key,
                int req, bool *has, uint16_t *out, uint16_t min, uint16_t max)
{
    WITH_FIELD(rd, obj, key, req, has, v_u16(rd, v, min, max, out));
}

const struct zjson *spec_rd_container(struct spec_rd *rd, const struct zjson *obj,
                                      const char *key, enum zjson_type t,
                                      int req, int *err)
{
    const struct zjson *v = spec_rd_field(rd, obj, key, req, err);
    if (!v)
        return NULL;
    size_t mark = spec_rd_push_key(rd, key);
    *err = spec_rd_expect(rd, v, t);
    spec_rd_pop(rd, mark);
    return *err < 0 ? NULL : v;
}

void spec_strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void spec_kv_free(struct zspec_kv *kv, size_t n)
{
    if (!kv)
        return;
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

int spec_rd_no_memory(struct spec_rd *rd)
{
    return zerr_set(rd->e, ENOMEM, "%s: out of memory", rd->origin);
}

/* Reads each string of array node a into a fresh NULL-terminated vector. */
static int v_strv(struct spec_rd *rd, const struct zjson *a, char ***out, size_t *n)
{
    char **v = calloc(a->len + 1, sizeof *v);
    if (!v)
        return spec_rd_no_memory(rd);
    for (size_t i = 0; i < a->len; i++) {
        size_t mark = spec_rd_push_index(rd, i);
        int r = spec_rd_v_str(rd, a->u.items[i], &v[i]);
        spec_rd_pop(rd, mark);
        if (r < 0) {
            spec_strv_free(v, i);
            return -1;
        }
    }
    spec_strv_free(*out, *n);
    *out = v;
    *n = a->len;
    return 0;
}

int spec_rd_strv(struct spec_rd *rd, const struct zjson *obj, const char *key,
                 int req, char ***out, size_t *n)
{
    int err;
    const struct zjson *a = spec_rd_container(rd, obj, key, ZJSON_ARRAY, req, &err);
    if (!a)
        return err;
    size_t mark = spec_rd_push_key(rd, key);
    int r = v_strv(rd, a, out, n);
    spec_rd_pop(rd, mark);
    return r;
}

struct member_ref {
    const struct zjson_member *m;
    size_t index;
};

static int member_ref_cmp(const void *a, const void *b)
{
    const struct member_ref *x = a, *y = b;
    size_t n = x->m->key_len < y->m->key_len ? x->m->key_len : y->m->key_len;
    int c = memcmp(x->m->key, y->m->key, n);
    if (c)
        return c;
    if (x->m->key_len != y->m->key_len)
        return x->m->key_len < y->m->key_len ? -1 : 1;
    return x->index < y->index ? -1 : 1;
}

/* Marks members whose key appears again later in the object: as in Go, the
 * last one wins. Sorting keeps this O(n log n) for hostile maps. */
bool *spec_shadowed_members(const struct zjson *m)
{
    bool *shadowed = calloc(m->len + 1, sizeof *shadowed);
    if (!shadowed || m->len < 2)
        return shadowed;
    struct member_ref *refs = malloc(m->len * sizeof *refs);
    if (!refs) {
        free(shadowed);
        return NULL;
    }
    for (size_t i = 0; i < m->len; i++)
        refs[i] = (struct member_ref){ &m->u.members[i], i };
    qsort(refs, m->len, sizeof *refs, member_ref_cmp);
    for (size_t i = 0; i + 1 < m->len; i++)
        if (refs[i].m->key_len == refs[i + 1].m->key_len &&
            memcmp(refs[i].m->key, refs[i + 1].m->key, refs[i].m->key_len) == 0)
            shadowed[refs[i].index] = true;
    free(refs);
    return shadowed;
}

int spec_rd_kv(struct spec_rd *rd, const struct zjson *obj, const char *key,
               struct zspec_kv **out, size_t *n)
{
    int err;
    const struct zjson *m = spec_rd_container(rd, obj, key, ZJSON_OBJECT, SPEC_OPT,
                                              &err);
    if (!m)
        return err;
    struct zspec_kv *kv = calloc(m->len + 1, sizeof *kv);
    bool *shadowed = spec_shadowed_members(m);
    if (!kv || !shadowed) {
        free(kv);
        free(shadowed);
        return spec_rd_no_memory(rd);
    }
    size_t mark = spec_rd_push_key(rd, key), count = 0;
    for (size_t i = 0; i < m->len; i++) {
        const struct zjson_member *mem = &m->u.members[i];
        size_t inner = spec_rd_push_map_key(rd, mem->key);
        char *value = NULL;
        int r;
        if (memchr(mem->key, '\0', mem->key_len))
            r = spec_rd_fail(rd, "key contains a NUL character");
        else
            r = spec_rd_v_str(rd, mem->value, &value);
        spec_rd_pop(rd, inner);
        if (r < 0)
            goto fail;
        if (shadowed[i]) {
            free(value);
            continue;
        }
        kv[count].key = strdup(mem->key);
        kv[count].value = value;
        if (!kv[count].key) {
            free(value);
            spec_rd_no_memory(rd);
            goto fail;
        }
        count++;
    }
    spec_rd_pop(rd, mark);
    free(shadowed);
    spec_kv_free(*out, *n);
    *out = kv;
    *n = count;
    return 0;
fail:
    spec_rd_pop(rd, mark);
    free(shadowed);
    spec_kv_free(kv, count);
    return -1;
}

int spec_rd_idmaps(struct spec_rd *rd, const struct zjson *obj, const char *key,
                   struct zspec_idmap **out, size_t *n)
{
    int err;
    const struct zjson *a = spec_rd_container(rd, obj, key, ZJSON_ARRAY, SPEC_OPT,
                                              &err);
    if (!a)
        return err;
    struct zspec_idmap *maps = calloc(a->len + 1, sizeof *maps);
    if (!maps)
        return spec_rd_no_memory(rd);
    size_t mark = spec_rd_push_key(rd, key);
    for (size_t i = 0; i < a->len; i++) {
        const struct zjson *m = a->u.items[i];
        size_t inner = spec_rd_push_index(rd, i);
        int r = spec_rd_expect(rd, m, ZJSON_OBJECT);
        if (r == 0)
            r = spec_rd_u32(rd, m, "containerID", SPEC_REQ, NULL,
                            &maps[i].container_id);
        if (r == 0)
            r = spec_rd_u32(rd, m, "hostID", SPEC_REQ, NULL, &maps[i].host_id);
        if (r == 0)
            r = spec_rd_u32(rd, m, "size", SPEC_REQ, NULL, &maps[i].size);
        spec_rd_pop(rd, inner);
        if (r < 0) {
            spec_rd_pop(rd, mark);
            free(maps);
            return -1;
        }
    }
    spec_rd_pop(rd, mark);
    free(*out);
    *out = maps;
    *n = a->len;
    return 0;
}

int spec_rd_absolute(struct spec_rd *rd, const char *s)
{
    if (s[0] != '/')
        return spec_rd_fail(rd, "\"%.200s\" is not an absolute path", s);
    return 0;
}

/* ------------------------------------------------------------ enums */

const struct spec_name *spec_name_find(const struct spec_name *table,
                                       const char *name)
{
    for (; table->name; table++)
        if (strcmp(table->name, name) == 0)
            return table;
    return NULL;
}

static int v_enum(struct spec_rd *rd, const struct zjson *v,
                  const struct spec_name *table, const char *what, char **out,
                  long *value)
{
    char *s = NULL;
    if (spec_rd_v_str(rd, v, &s) < 0)
        return -1;
    const struct spec_name *n = spec_name_find(table, s);
    if (!n) {
        spec_rd_fail(rd, "unknown %s \"%.200s\"", what, s);
        free(s);
        return -1;
    }
    free(*out);
    *out = s;
    if (value)
        *value = n->value;
    return 0;
}

int spec_rd_enum(struct spec_rd *rd, const struct zjson *obj, const char *key,
                 int req, const struct spec_name *table, const char *what,
                 char **out, long *value)
{
    WITH_FIELD(rd, obj, key, req, (bool *)NULL,
               v_enum(rd, v, table, what, out, value));
}

int spec_rd_enumv(struct spec_rd *rd, const struct zjson *obj, const char *key,
                  const struct spec_name *table, const char *what,
                  char ***out, size_t *n)
{
    if (spec_rd_strv(rd, obj, key, SPEC_OPT, out, n) < 0)
        return -1;
    size_t mark = spec_rd_push_key(rd, key);
    for (size_t i = 0; *out && i < *n; i++) {
        if (!spec_name_find(table, (*out)[i])) {
            size_t inner = spec_rd_push_index(rd, i);
            spec_rd_fail(rd, "unknown %s \"%.200s\"", what, (*out)[i]);
            spec_rd_pop(rd, inner);
            spec_rd_pop(rd, mark);
            return -1;
        }
    }
    spec_rd_pop(rd, mark);
    return 0;
}
