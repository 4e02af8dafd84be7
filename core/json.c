#include "core/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

/* ------------------------------------------------------------ arena */

struct arena_chunk {
    struct arena_chunk *next;
    size_t size, used;
    max_align_t data[];
};

struct zjson_doc {
    struct arena_chunk *chunks;
    size_t next_size;
    const struct zjson *root;
};

static void *arena_alloc(struct zjson_doc *d, size_t size)
{
    struct arena_chunk *c = d->chunks;
    size = (size + 7) & ~(size_t)7;
    if (!c || c->size - c->used < size) {
        size_t want = d->next_size;
        if (want < size)
            want = size;
        c = malloc(sizeof *c + want);
        if (!c)
            return NULL;
        c->size = want;
        c->used = 0;
        c->next = d->chunks;
        d->chunks = c;
        d->next_size = want * 2;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    return p;
}

static char *arena_strndup(struct zjson_doc *d, const unsigned char *s, size_t len)
{
    char *p = arena_alloc(d, len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

void zjson_doc_free(struct zjson_doc *doc)
{
    if (!doc)
        return;
    struct arena_chunk *c = doc->chunks;
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(doc);
}

const struct zjson *zjson_root(const struct zjson_doc *doc)
{
    return doc->root;
}

/* ------------------------------------------------------------ builder */

/* Children of all open containers sit on one scratch stack; a container's
 * children are copied into the arena when it closes. That keeps building
 * linear in the size of the document. */
struct frame {
    struct zjson *node;
    size_t first;          /* index of its first child on the scratch stack */
    const char *key;       /* pending object key */
    size_t key_len;
};

struct builder {
    struct zjson_doc *doc;
    struct zjson_member *scratch;
    size_t n_scratch, cap_scratch;
    struct frame frames[ZJSON_MAX_DEPTH];
    size_t depth;
    bool too_deep, no_memory;
};

static int add_value(struct builder *b, const struct zjson *node)
{
    if (b->depth == 0) {
        b->doc->root = node;
        return 1;
    }
    if (b->n_scratch == b->cap_scratch) {
        size_t cap = b->cap_scratch ? b->cap_scratch * 2 : 64;
        struct zjson_member *s = realloc(b->scratch, cap * sizeof *s);
        if (!s) {
            b->no_memory = true;
            return 0;
        }
        b->scratch = s;
        b->cap_scratch = cap;
    }
    struct frame *f = &b->frames[b->depth - 1];
    b->scratch[b->n_scratch++] = (struct zjson_member){
        .key = f->key, .key_len = f->key_len, .value = node };
    f->key = NULL;
    return 1;
}

static struct zjson *new_node(struct builder *b, enum zjson_type t)
{
    struct zjson *n = arena_alloc(b->doc, sizeof *n);
    if (!n) {
        b->no_memory = true;
        return NULL;
    }
    memset(n, 0, sizeof *n);
    n->type = t;
    return n;
}

static int on_null(void *ctx)
{
    struct builder *b = ctx;
    struct zjson *n = new_node(b, ZJSON_NULL);
    return n ? add_value(b, n) : 0;
}

static int on_boolean(void *ctx, int value)
{
    struct builder *b = ctx;
    struct zjson *n = new_node(b, ZJSON_BOOL);
    if (!n)
        return 0;
    n->u.boolean = value != 0;
    return add_value(b, n);
}

static int on_text(struct builder *b, enum zjson_type t, const unsigned char *s,
                   size_t len)
{
    struct zjson *n = new_node(b, t);
    char *copy = n ? arena_strndup(b->doc, s, len) : NULL;
    if (!copy) {
        b->no_memory = true;
        return 0;
    }
    n->u.str = copy;
    n->len = len;
    return add_value(b, n);
}

static int on_number(void *ctx, const char *s, size_t len)
{
    return on_text(ctx, ZJSON_NUMBER, (const unsigned char *)s, len);
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    return on_text(ctx, ZJSON_STRING, s, len);
}

static int open_container(struct builder *b, enum zjson_type t)
{
    if (b->depth == ZJSON_MAX_DEPTH) {
        b->too_deep = true;
        return 0;
    }
    struct zjson *n = new_node(b, t);
    if (!n || !add_value(b, n))
        return 0;
    b->frames[b->depth++] = (struct frame){ .node = n, .first = b->n_scratch };
    return 1;
}

static int close_container(struct builder *b)
{
    struct frame *f = &b->frames[--b->depth];
    size_t count = b->n_scratch - f->first;
    struct zjson_member *children = b->scratch + f->first;
    f->node->len = count;
    if (f->node->type == ZJSON_OBJECT) {
        struct zjson_member *m = arena_alloc(b->doc, count * sizeof *m + 1);
        if (!m)
            goto oom;
        if (count)
            memcpy(m, children, count * sizeof *m);
        f->node->u.members = m;
    } else {
        const struct zjson **items = arena_alloc(b->doc, count * sizeof *items + 1);
        if (!items)
            goto oom;
        for (size_t i = 0; i < count; i++)
            items[i] = children[i].value;
        f->node->u.items = items;
    }
    b->n_scratch = f->first;
    return 1;
oom:
    b->no_memory = true;
    return 0;
}

static int on_start_map(void *ctx) { return open_container(ctx, ZJSON_OBJECT); }
static int on_start_array(void *ctx) { return open_container(ctx, ZJSON_ARRAY); }
static int on_end(void *ctx) { return close_container(ctx); }

static int on_map_key(void *ctx, const unsigned char *key, size_t len)
{
    struct builder *b = ctx;
    struct frame *f = &b->frames[b->depth - 1];
    f->key = arena_strndup(b->doc, key, len);
    f->key_len = len;
    if (!f->key) {
        b->no_memory = true;
        return 0;
    }
    return 1;
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_map_key,
    .yajl_end_map = on_end,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end,
};

static void position(const char *text, size_t offset, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < offset; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int syntax_error(yajl_handle h, struct builder *b, const char *text,
                        size_t len, bool at_end, struct zerr *e)
{
    if (b->no_memory)
        return zerr_set(e, ENOMEM, "out of memory parsing JSON");
    if (b->too_deep)
        return zerr_set(e, EINVAL, "invalid JSON: nesting deeper than %d levels",
                        ZJSON_MAX_DEPTH);

    char what[256] = "syntax error";
    unsigned char *msg = yajl_get_error(h, 0, (const unsigned char *)text, len);
    if (msg) {
        /* yajl says "parse error: <what>\n"; keep <what>. */
        const char *s = (const char *)msg;
        const char *colon = strstr(s, ": ");
        snprintf(what, sizeof what, "%s", colon ? colon + 2 : s);
        what[strcspn(what, "\n")] = '\0';
        yajl_free_error(h, msg);
    }
    if (at_end)
        return zerr_set(e, EINVAL, "invalid JSON at end of input: %s", what);
    size_t offset = yajl_get_bytes_consumed(h), line, col;
    if (offset > len)
        offset = len;
    /* yajl counts the offending byte as consumed for some errors. */
    if (offset > 0 && offset == len)
        offset--;
    position(text, offset, &line, &col);
    return zerr_set(e, EINVAL, "invalid JSON at line %zu, column %zu: %s",
                    line, col, what);
}

struct zjson_doc *zjson_parse(const char *text, size_t len, struct zerr *e)
{
    struct builder b = {0};
    yajl_handle h = NULL;
    yajl_status st;
    bool at_end = false;

    b.doc = calloc(1, sizeof *b.doc);
    if (!b.doc) {
        zerr_set(e, ENOMEM, "out of memory parsing JSON");
        return NULL;
    }
    /* Nodes, keys and strings together take a few times the text size;
     * big documents grow the arena by doubling instead. */
    b.doc->next_size = (len < (1u << 19) ? len * 2 : (1u << 20)) + 1024;

    size_t start = 0;
    while (start < len && strchr(" \t\r\n", text[start]) && text[start])
        start++;
    if (start == len) {
        zerr_set(e, EINVAL, "invalid JSON: empty document");
        goto fail;
    }

    h = yajl_alloc(&callbacks, NULL, &b);
    if (!h) {
        zerr_set(e, ENOMEM, "out of memory parsing JSON");
        goto fail;
    }
    st = yajl_parse(h, (const unsigned char *)text, len);
    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
        at_end = true;
    }
    if (st != yajl_status_ok) {
        syntax_error(h, &b, text, len, at_end, e);
        goto fail;
    }
    yajl_free(h);
    free(b.scratch);
    return b.doc;

fail:
    if (h)
        yajl_free(h);
    free(b.scratch);
    zjson_doc_free(b.doc);
    return NULL;
}

/* ------------------------------------------------------------ access */

const struct zjson *zjson_get(const struct zjson *obj, const char *key)
{
    if (!obj || obj->type != ZJSON_OBJECT)
        return NULL;
    size_t key_len = strlen(key);
    for (size_t i = obj->len; i-- > 0;) {
        const struct zjson_member *m = &obj->u.members[i];
        if (m->key_len == key_len && memcmp(m->key, key, key_len) == 0)
            return m->value;
    }
    return NULL;
}

const char *zjson_type_name(enum zjson_type t)
{
    switch (t) {
    case ZJSON_NULL: return "null";
    case ZJSON_BOOL: return "boolean";
    case ZJSON_NUMBER: return "number";
    case ZJSON_STRING: return "string";
    case ZJSON_ARRAY: return "array";
    case ZJSON_OBJECT: return "object";
    }
    return "unknown";
}

bool zjson_is_integer(const struct zjson *n)
{
    return n->type == ZJSON_NUMBER && !strpbrk(n->u.str, ".eE");
}

int zjson_int64(const struct zjson *n, int64_t *out)
{
    if (!zjson_is_integer(n))
        return -EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(n->u.str, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end != '\0')
        return -EINVAL;
    *out = v;
    return 0;
}

int zjson_uint64(const struct zjson *n, uint64_t *out)
{
    if (!zjson_is_integer(n))
        return -EINVAL;
    const char *s = n->u.str;
    if (s[0] == '-')
        return strspn(s + 1, "0") == strlen(s + 1) ? (*out = 0, 0) : -ERANGE;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end != '\0')
        return -EINVAL;
    *out = v;
    return 0;
}
