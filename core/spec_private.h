/* Internals shared by the core/spec_*.c files: a typed reader over a zjson
 * tree that tracks the JSON path for error messages, the name tables of the
 * spec's enumerations, and the sub-object parsers. Not for use outside
 * core/spec_*.c. */
#ifndef ZONE_CORE_SPEC_PRIVATE_H
#define ZONE_CORE_SPEC_PRIVATE_H

#include "core/json.h"
#include "core/spec.h"

#define SPEC_PATH_MAX 512

/* Reader state: where errors go and the JSON path of the value being read
 * ("linux.namespaces[2].type"). */
struct spec_rd {
    const char *origin;
    struct zerr *e;
    char path[SPEC_PATH_MAX];
    size_t path_len;
};

void spec_rd_init(struct spec_rd *rd, const char *origin, struct zerr *e);
/* Appends ".key" / "[i]" / "[\"key\"]" to the path; returns the mark that
 * spec_rd_pop() restores. */
size_t spec_rd_push_key(struct spec_rd *rd, const char *key);
size_t spec_rd_push_index(struct spec_rd *rd, size_t i);
size_t spec_rd_push_map_key(struct spec_rd *rd, const char *key);
void spec_rd_pop(struct spec_rd *rd, size_t mark);

/* Fails with "<origin>: <path>: <message>"; returns -1. */
int spec_rd_fail(struct spec_rd *rd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

enum { SPEC_OPT = 0, SPEC_REQ = 1 };

/* Looks key up in obj (an OBJECT). Returns the value, or NULL when absent or
 * null; *err is set to -1 when the field is required and missing. */
const struct zjson *spec_rd_field(struct spec_rd *rd, const struct zjson *obj,
                                  const char *key, int req, int *err);

/* Value readers: the path must already name the value. */
int spec_rd_expect(struct spec_rd *rd, const struct zjson *v, enum zjson_type t);
int spec_rd_v_str(struct spec_rd *rd, const struct zjson *v, char **out);
int spec_rd_v_int(struct spec_rd *rd, const struct zjson *v, int64_t min,
                  int64_t max, int64_t *out);
int spec_rd_v_uint(struct spec_rd *rd, const struct zjson *v, uint64_t max,
                   uint64_t *out);

/* Field readers: absent (or null) leaves *out untouched and *has false;
 * `has` may be NULL for fields without a presence flag. */
int spec_rd_str(struct spec_rd *rd, const struct zjson *obj, const char *key,
                int req, char **out);
int spec_rd_bool(struct spec_rd *rd, const struct zjson *obj, const char *key,
                 bool *has, bool *out);
int spec_rd_i64(struct spec_rd *rd, const struct zjson *obj, const char *key,
                int req, bool *has, int64_t *out);
int spec_rd_i32(struct spec_rd *rd, const struct zjson *obj, const char *key,
                int req, bool *has, int32_t *out, int32_t min, int32_t max);
int spec_rd_u64(struct spec_rd *rd, const struct zjson *obj, const char *key,
                int req, bool *has, uint64_t *out);
int spec_rd_u32(struct spec_rd *rd, const struct zjson *obj, const char *key,
                int req, bool *has, uint32_t *out);
int spec_rd_u16(struct spec_rd *rd, const struct zjson *obj, const char *key,
                int req, bool *has, uint16_t *out, uint16_t min, uint16_t max);
/* Array of strings into a NULL-terminated vector. */
int spec_rd_strv(struct spec_rd *rd, const struct zjson *obj, const char *key,
                 int req, char ***out, size_t *n);
/* Object of string values into key/value pairs in document order. */
int spec_rd_kv(struct spec_rd *rd, const struct zjson *obj, const char *key,
               struct zspec_kv **out, size_t *n);
int spec_rd_idmaps(struct spec_rd *rd, const struct zjson *obj, const char *key,
                   struct zspec_idmap **out, size_t *n);
/* Object or array field: returns the node (NULL when absent) after checking
 * its type; *err = -1 on a wrong type or a missing required field. */
const struct zjson *spec_rd_container(struct spec_rd *rd, const struct zjson *obj,
                                      const char *key, enum zjson_type t,
                                      int req, int *err);
/* Fails unless s is an absolute path. The path must name the value. */
int spec_rd_absolute(struct spec_rd *rd, const char *s);

int spec_rd_no_memory(struct spec_rd *rd);

/* For an OBJECT node: a malloc'd array of m->len flags, true for members
 * whose key appears again later (Go keeps the last). NULL on ENOMEM. */
bool *spec_shadowed_members(const struct zjson *m);

/* Allocates *out (zeroed) when obj[key] is an object and hands it to
 * parse(rd, node, *out) with the path extended; *out stays NULL when the
 * field is absent. Evaluates to 0 or -1. */
#define SPEC_PARSE_SUBOBJECT(rd, obj, key, out, parse)                        \
    ({                                                                        \
        int err_;                                                             \
        const struct zjson *sub_ = spec_rd_container(rd, obj, key,           \
                                                     ZJSON_OBJECT, SPEC_OPT, \
                                                     &err_);                  \
        if (sub_) {                                                           \
            *(out) = calloc(1, sizeof **(out));                               \
            if (!*(out)) {                                                    \
                err_ = spec_rd_no_memory(rd);                                 \
            } else {                                                          \
                size_t mark_ = spec_rd_push_key(rd, key);                     \
                err_ = parse(rd, sub_, *(out));                               \
                spec_rd_pop(rd, mark_);                                       \
            }                                                                 \
        }                                                                     \
        err_;                                                                 \
    })

/* Runs parse(rd, item, &(*out)[i]) on each element of the array obj[key],
 * after allocating *out with *n entries (zeroed, so a partial result can be
 * freed). Evaluates to 0 or -1. */
#define SPEC_PARSE_ARRAY(rd, obj, key, out, n, parse)                         \
    ({                                                                        \
        int err_;                                                             \
        const struct zjson *arr_ = spec_rd_container(rd, obj, key,           \
                                                     ZJSON_ARRAY, SPEC_OPT,  \
                                                     &err_);                  \
        if (arr_) {                                                           \
            *(out) = calloc(arr_->len + 1, sizeof **(out));                   \
            if (!*(out)) {                                                    \
                err_ = spec_rd_no_memory(rd);                                 \
            } else {                                                          \
                *(n) = arr_->len;                                             \
                size_t mark_ = spec_rd_push_key(rd, key);                     \
                for (size_t i_ = 0; i_ < arr_->len && err_ == 0; i_++) {      \
                    size_t inner_ = spec_rd_push_index(rd, i_);               \
                    err_ = parse(rd, arr_->u.items[i_], &(*(out))[i_]);       \
                    spec_rd_pop(rd, inner_);                                  \
                }                                                             \
                spec_rd_pop(rd, mark_);                                       \
            }                                                                 \
        }                                                                     \
        err_;                                                                 \
    })

/* Sub-object parsers; v is the object, the path names it. */
int spec_parse_process_obj(struct spec_rd *rd, const struct zjson *v,
                           struct zspec_process *p);
int spec_parse_resources_obj(struct spec_rd *rd, const struct zjson *v,
                             struct zspec_resources *r);
int spec_parse_linux_obj(struct spec_rd *rd, const struct zjson *v,
                         struct zspec_linux *l);
void spec_linux_free(struct zspec_linux *l);
void spec_strv_free(char **v, size_t n);
void spec_kv_free(struct zspec_kv *kv, size_t n);

/* ------------------------------------------------------------ names */

struct spec_name {
    const char *name;
    long value;
};

/* Looks name up in a table ending with {NULL, 0}; returns the entry or NULL. */
const struct spec_name *spec_name_find(const struct spec_name *table,
                                       const char *name);

extern const struct spec_name spec_ns_type_names[];
extern const struct spec_name spec_rlimit_names[];
extern const struct spec_name spec_sched_policy_names[];
extern const struct spec_name spec_sched_flag_names[];
extern const struct spec_name spec_ioprio_class_names[];
extern const struct spec_name spec_seccomp_action_names[];
extern const struct spec_name spec_seccomp_op_names[];
extern const struct spec_name spec_seccomp_flag_names[];
extern const struct spec_name spec_seccomp_arch_names[];
extern const struct spec_name spec_propagation_names[];
extern const struct spec_name spec_personality_names[];

/* Reads a string field that must be one of table's names; stores the string
 * and, when value is not NULL, the entry's value. `what` names the kind in
 * the message: unknown <what> "<s>". */
int spec_rd_enum(struct spec_rd *rd, const struct zjson *obj, const char *key,
                 int req, const struct spec_name *table, const char *what,
                 char **out, long *value);
/* Same for every string of an array field. */
int spec_rd_enumv(struct spec_rd *rd, const struct zjson *obj, const char *key,
                  const struct spec_name *table, const char *what,
                  char ***out, size_t *n);

#endif
