/* A small read-only JSON document tree built with yajl's event parser.
 *
 * Why not yajl_tree: it needs NUL-terminated input (a stray NUL in a file
 * would silently cut the document short), reports errors without a position,
 * and makes one malloc per node. Here every node, key and string of a
 * document lives in one arena that is released at once, numbers keep their
 * raw text so 64-bit unsigned values and "1.5 is not an integer" can be
 * decided exactly, and errors carry a line and column.
 *
 * Objects keep their members in document order; zjson_get() returns the
 * last member with a key, which is what Go's encoding/json (runc) does with
 * duplicate keys. */
#ifndef ZONE_CORE_JSON_H
#define ZONE_CORE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

enum zjson_type {
    ZJSON_NULL, ZJSON_BOOL, ZJSON_NUMBER, ZJSON_STRING, ZJSON_ARRAY, ZJSON_OBJECT
};

struct zjson_member;

struct zjson {
    enum zjson_type type;
    size_t len;                      /* bytes of str; count of items/members */
    union {
        bool boolean;
        const char *str;             /* STRING (decoded) or NUMBER (raw text),
                                        NUL-terminated; may hold a NUL inside
                                        when len says so */
        const struct zjson **items;  /* ARRAY */
        const struct zjson_member *members; /* OBJECT */
    } u;
};

struct zjson_member {
    const char *key;                 /* NUL-terminated */
    size_t key_len;
    const struct zjson *value;
};

/* Deepest nesting accepted; deeper documents are refused. */
#define ZJSON_MAX_DEPTH 256

struct zjson_doc;

/* Parses exactly one JSON value from text[0..len) (no comments, no trailing
 * garbage, strings must be valid UTF-8). On failure returns NULL and sets *e
 * to e.g. "invalid JSON at line 3, column 7: trailing garbage". */
struct zjson_doc *zjson_parse(const char *text, size_t len, struct zerr *e);
const struct zjson *zjson_root(const struct zjson_doc *doc);
void zjson_doc_free(struct zjson_doc *doc);

/* The last member of obj named key, or NULL (also when obj is no object). */
const struct zjson *zjson_get(const struct zjson *obj, const char *key);

/* "null", "boolean", "number", "string", "array", "object". */
const char *zjson_type_name(enum zjson_type t);

/* True when a NUMBER node is written as an integer (no fraction/exponent). */
bool zjson_is_integer(const struct zjson *n);

/* Integer conversions of a NUMBER node: 0 on success, -EINVAL when the node
 * is not an integer, -ERANGE when it does not fit. */
int zjson_int64(const struct zjson *n, int64_t *out);
int zjson_uint64(const struct zjson *n, uint64_t *out);

#endif
