/* config.json -> struct zspec: the top level, root, mounts, hooks and the
 * process object. linux.* is in spec_parse_linux.c and
 * linux.resources in spec_parse_resources.c. */
#include "core/spec_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"

/* Bigger than any sane config.json; guards against reading a device. */
#define SPEC_FILE_MAX (64u << 20)


/* ------------------------------------------------------------ process */

/* "0-3,7": comma-separated CPU numbers or ascending ranges. */
static bool valid_cpu_list(const char *s)
{
    if (!*s)
        return false;
    while (*s) {
        char *end;
        if (*s < '0' || *s > '9')
            return false;
        unsigned long lo = strtoul(s, &end, 10), hi = lo;
        s = end;
        if (*s == '-') {
            s++;
            if (*s < '0' || *s > '9')
                return false;
            hi = strtoul(s, &end, 10);
            s = end;
            if (hi < lo)
                return false;
        }
        if (*s == ',') {
            s++;
            if (!*s)
                return false;
        } else if (*s) {
            return false;
        }
    }
    return true;
}

static int read_cpu_list(struct spec_rd *rd, const struct zjson *obj,
                         const char *key, char **out)
{
    if (spec_rd_str(rd, obj, key, SPEC_OPT, out) < 0)
        return -1;
    if (*out && !valid_cpu_list(*out)) {
        size_t mark = spec_rd_push_key(rd, key);
        spec_rd_fail(rd, "invalid CPU list \"%.100s\"", *out);
        spec_rd_pop(rd, mark);
        return -1;
    }
    return 0;
}

static int parse_user(struct spec_rd *rd, const struct zjson *v, struct zspec_user *u)
{
    int err;
    if (spec_rd_u32(rd, v, "uid", SPEC_OPT, NULL, &u->uid) < 0 ||
        spec_rd_u32(rd, v, "gid", SPEC_OPT, NULL, &u->gid) < 0 ||
        spec_rd_u32(rd, v, "umask", SPEC_OPT, &u->has_umask, &u->umask) < 0 ||
        spec_rd_str(rd, v, "username", SPEC_OPT, &u->username) < 0)
        return -1;
    const struct zjson *a = spec_rd_container(rd, v, "additionalGids", ZJSON_ARRAY,
                                              SPEC_OPT, &err);
    if (!a)
        return err;
    u->additional_gids = calloc(a->len + 1, sizeof *u->additional_gids);
    if (!u->additional_gids)
        return spec_rd_no_memory(rd);
    u->n_additional_gids = a->len;
    size_t mark = spec_rd_push_key(rd, "additionalGids");
    for (size_t i = 0; i < a->len; i++) {
        uint64_t gid;
        size_t inner = spec_rd_push_index(rd, i);
        int r = spec_rd_v_uint(rd, a->u.items[i], UINT32_MAX, &gid);
        spec_rd_pop(rd, inner);
        if (r < 0) {
            spec_rd_pop(rd, mark);
            return -1;
        }
        u->additional_gids[i] = (uint32_t)gid;
    }
    spec_rd_pop(rd, mark);
    return 0;
}

static int parse_capabilities(struct spec_rd *rd, const struct zjson *v,
                              struct zspec_capabilities *c)
{
    if (spec_rd_strv(rd, v, "bounding", SPEC_OPT, &c->bounding, &c->n_bounding) < 0 ||
        spec_rd_strv(rd, v, "effective", SPEC_OPT, &c->effective, &c->n_effective) < 0 ||
        spec_rd_strv(rd, v, "inheritable", SPEC_OPT, &c->inheritable,
                     &c->n_inheritable) < 0 ||
        spec_rd_strv(rd, v, "permitted", SPEC_OPT, &c->permitted, &c->n_permitted) < 0 ||
        spec_rd_strv(rd, v, "ambient", SPEC_OPT, &c->ambient, &c->n_ambient) < 0)
        return -1;
    return 0;
}

static int parse_rlimit(struct spec_rd *rd, const struct zjson *v,
                        struct zspec_rlimit *rl)
{
    long resource;
    if (spec_rd_expect(rd, v, ZJSON_OBJECT) < 0 ||
        spec_rd_enum(rd, v, "type", SPEC_REQ, spec_rlimit_names, "rlimit type",
                     &rl->type, &resource) < 0 ||
        spec_rd_u64(rd, v, "hard", SPEC_REQ, NULL, &rl->hard) < 0 ||
        spec_rd_u64(rd, v, "soft", SPEC_REQ, NULL, &rl->soft) < 0)
        return -1;
    rl->resource = (int)resource;
    if (rl->soft > rl->hard) {
        size_t mark = spec_rd_push_key(rd, "soft");
        spec_rd_fail(rd, "soft limit %llu exceeds hard limit %llu",
                     (unsigned long long)rl->soft, (unsigned long long)rl->hard);
        spec_rd_pop(rd, mark);
        return -1;
    }
    return 0;
}

static int parse_scheduler(struct spec_rd *rd, const struct zjson *v,
                           struct zspec_scheduler *s)
{
    long policy;
    if (spec_rd_enum(rd, v, "policy", SPEC_REQ, spec_sched_policy_names,
                     "scheduler policy", &s->policy, &policy) < 0 ||
        spec_rd_i32(rd, v, "nice", SPEC_OPT, &s->has_nice, &s->nice, -20, 19) < 0 ||
        spec_rd_i32(rd, v, "priority", SPEC_OPT, &s->has_priority, &s->priority,
                    INT32_MIN, INT32_MAX) < 0 ||
        spec_rd_enumv(rd, v, "flags", spec_sched_flag_names, "scheduler flag",
                      &s->flags, &s->n_flags) < 0 ||
        spec_rd_u64(rd, v, "runtime", SPEC_OPT, &s->has_runtime, &s->runtime) < 0 ||
        spec_rd_u64(rd, v, "deadline", SPEC_OPT, &s->has_deadline, &s->deadline) < 0 ||
        spec_rd_u64(rd, v, "period", SPEC_OPT, &s->has_period, &s->period) < 0)
        return -1;
    s->policy_num = (int)policy;
    /* As runc: the deadline parameters mean nothing to other policies. */
    if (strcmp(s->policy, "SCHED_DEADLINE") != 0) {
        const char *key = s->has_runtime ? "runtime" : s->has_deadline ? "deadline"
                        : s->has_period ? "period" : NULL;
        if (key) {
            size_t mark = spec_rd_push_key(rd, key);
            spec_rd_fail(rd, "only valid with policy SCHED_DEADLINE");
            spec_rd_pop(rd, mark);
            return -1;
        }
    }
    s->flags_mask = 0;
    for (size_t i = 0; i < s->n_flags; i++)
        s->flags_mask |= (uint64_t)spec_name_find(spec_sched_flag_names,
                                                  s->flags[i])->value;
    return 0;
}

static int parse_io_priority(struct spec_rd *rd, const struct zjson *v,
                             struct zspec_io_priority *io)
{
    long cls;
    if (spec_rd_enum(rd, v, "class", SPEC_REQ, spec_ioprio_class_names,
                     "I/O priority class", &io->class, &cls) < 0 ||
        spec_rd_i32(rd, v, "priority", SPEC_OPT, NULL, &io->priority, 0, 7) < 0)
        return -1;
    io->class_num = (int)cls;
    return 0;
}

static int parse_console_size(struct spec_rd *rd, const struct zjson *v,
                              struct zspec_process *p)
{
    if (spec_rd_u32(rd, v, "height", SPEC_REQ, NULL, &p->console_height) < 0 ||
        spec_rd_u32(rd, v, "width", SPEC_REQ, NULL, &p->console_width) < 0)
        return -1;
    p->has_console_size = true;
    return 0;
}

static int parse_exec_cpu_affinity(struct spec_rd *rd, const struct zjson *v,
                                   struct zspec_exec_cpu_affinity *a)
{
    if (read_cpu_list(rd, v, "initial", &a->initial) < 0 ||
        read_cpu_list(rd, v, "final", &a->final) < 0)
        return -1;
    return 0;
}

int spec_parse_process_obj(struct spec_rd *rd, const struct zjson *v,
                           struct zspec_process *p)
{
    int err;
    if (spec_rd_expect(rd, v, ZJSON_OBJECT) < 0)
        return -1;
    if (spec_rd_bool(rd, v, "terminal", NULL, &p->terminal) < 0)
        return -1;

    const struct zjson *sub = spec_rd_container(rd, v, "consoleSize", ZJSON_OBJECT,
                                                SPEC_OPT, &err);
    if (err < 0)
        return -1;
    if (sub) {
        size_t mark = spec_rd_push_key(rd, "consoleSize");
        err = parse_console_size(rd, sub, p);
        spec_rd_pop(rd, mark);
        if (err < 0)
            return -1;
    }
    sub = spec_rd_container(rd, v, "user", ZJSON_OBJECT, SPEC_OPT, &err);
    if (err < 0)
        return -1;
    if (sub) {
        size_t mark = spec_rd_push_key(rd, "user");
        err = parse_user(rd, sub, &p->user);
        spec_rd_pop(rd, mark);
        if (err < 0)
            return -1;
    }

    if (spec_rd_strv(rd, v, "args", SPEC_OPT, &p->args, &p->n_args) < 0 ||
        spec_rd_str(rd, v, "commandLine", SPEC_OPT, &p->command_line) < 0 ||
        spec_rd_strv(rd, v, "env", SPEC_OPT, &p->env, &p->n_env) < 0 ||
        spec_rd_str(rd, v, "cwd", SPEC_REQ, &p->cwd) < 0)
        return -1;
    size_t mark = spec_rd_push_key(rd, "cwd");
    err = spec_rd_absolute(rd, p->cwd);
    spec_rd_pop(rd, mark);
    if (err < 0)
        return -1;

    if (SPEC_PARSE_SUBOBJECT(rd, v, "capabilities", &p->capabilities,
                        parse_capabilities) < 0)
        return -1;

    if (SPEC_PARSE_ARRAY(rd, v, "rlimits", &p->rlimits, &p->n_rlimits,
                         parse_rlimit) < 0)
        return -1;

    if (spec_rd_bool(rd, v, "noNewPrivileges", NULL, &p->no_new_privileges) < 0 ||
        spec_rd_str(rd, v, "apparmorProfile", SPEC_OPT, &p->apparmor_profile) < 0 ||
        spec_rd_i32(rd, v, "oomScoreAdj", SPEC_OPT, &p->has_oom_score_adj,
                    &p->oom_score_adj, -1000, 1000) < 0 ||
        spec_rd_str(rd, v, "selinuxLabel", SPEC_OPT, &p->selinux_label) < 0)
        return -1;

    if (SPEC_PARSE_SUBOBJECT(rd, v, "scheduler", &p->scheduler, parse_scheduler) < 0 ||
        SPEC_PARSE_SUBOBJECT(rd, v, "ioPriority", &p->io_priority, parse_io_priority) < 0 ||
        SPEC_PARSE_SUBOBJECT(rd, v, "execCPUAffinity", &p->exec_cpu_affinity,
                        parse_exec_cpu_affinity) < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------ root, mounts, hooks */

static int parse_root(struct spec_rd *rd, const struct zjson *v, struct zspec_root *r)
{
    if (spec_rd_str(rd, v, "path", SPEC_REQ, &r->path) < 0 ||
        spec_rd_bool(rd, v, "readonly", NULL, &r->readonly) < 0)
        return -1;
    if (r->path[0] == '\0') {
        size_t mark = spec_rd_push_key(rd, "path");
        spec_rd_fail(rd, "must not be empty");
        spec_rd_pop(rd, mark);
        return -1;
    }
    return 0;
}

static int parse_mount(struct spec_rd *rd, const struct zjson *v, struct zspec_mount *m)
{
    /* A relative destination is taken (runc warns and resolves it under
     * the rootfs); the runtime decides how to treat it. */
    if (spec_rd_expect(rd, v, ZJSON_OBJECT) < 0 ||
        spec_rd_str(rd, v, "destination", SPEC_REQ, &m->destination) < 0 ||
        spec_rd_str(rd, v, "type", SPEC_OPT, &m->type) < 0 ||
        spec_rd_str(rd, v, "source", SPEC_OPT, &m->source) < 0 ||
        spec_rd_strv(rd, v, "options", SPEC_OPT, &m->options, &m->n_options) < 0 ||
        spec_rd_idmaps(rd, v, "uidMappings", &m->uid_mappings, &m->n_uid_mappings) < 0 ||
        spec_rd_idmaps(rd, v, "gidMappings", &m->gid_mappings, &m->n_gid_mappings) < 0)
        return -1;
    return 0;
}

static int parse_hook(struct spec_rd *rd, const struct zjson *v, struct zspec_hook *h)
{
    if (spec_rd_expect(rd, v, ZJSON_OBJECT) < 0 ||
        spec_rd_str(rd, v, "path", SPEC_REQ, &h->path) < 0)
        return -1;
    size_t mark = spec_rd_push_key(rd, "path");
    int r = spec_rd_absolute(rd, h->path);
    spec_rd_pop(rd, mark);
    if (r < 0 ||
        spec_rd_strv(rd, v, "args", SPEC_OPT, &h->args, &h->n_args) < 0 ||
        spec_rd_strv(rd, v, "env", SPEC_OPT, &h->env, &h->n_env) < 0 ||
        spec_rd_i32(rd, v, "timeout", SPEC_OPT, &h->has_timeout, &h->timeout,
                    1, INT32_MAX) < 0)
        return -1;
    return 0;
}

static int parse_hook_list(struct spec_rd *rd, const struct zjson *hooks,
                           const char *key, struct zspec_hook_list *list)
{
    return SPEC_PARSE_ARRAY(rd, hooks, key, &list->hooks, &list->n_hooks,
                            parse_hook);
}

static int parse_hooks(struct spec_rd *rd, const struct zjson *v, struct zspec_hooks *h)
{
    if (parse_hook_list(rd, v, "prestart", &h->prestart) < 0 ||
        parse_hook_list(rd, v, "createRuntime", &h->create_runtime) < 0 ||
        parse_hook_list(rd, v, "createContainer", &h->create_container) < 0 ||
        parse_hook_list(rd, v, "startContainer", &h->start_container) < 0 ||
        parse_hook_list(rd, v, "poststart", &h->poststart) < 0 ||
        parse_hook_list(rd, v, "poststop", &h->poststop) < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------ top level */

static int parse_spec(struct spec_rd *rd, const struct zjson *v, struct zspec *s)
{
    if (spec_rd_expect(rd, v, ZJSON_OBJECT) < 0 ||
        spec_rd_str(rd, v, "ociVersion", SPEC_REQ, &s->oci_version) < 0)
        return -1;
    if (SPEC_PARSE_SUBOBJECT(rd, v, "root", &s->root, parse_root) < 0)
        return -1;

    if (SPEC_PARSE_ARRAY(rd, v, "mounts", &s->mounts, &s->n_mounts,
                         parse_mount) < 0)
        return -1;
    if (SPEC_PARSE_SUBOBJECT(rd, v, "process", &s->process, spec_parse_process_obj) < 0 ||
        spec_rd_str(rd, v, "hostname", SPEC_OPT, &s->hostname) < 0 ||
        spec_rd_str(rd, v, "domainname", SPEC_OPT, &s->domainname) < 0 ||
        SPEC_PARSE_SUBOBJECT(rd, v, "hooks", &s->hooks, parse_hooks) < 0 ||
        spec_rd_kv(rd, v, "annotations", &s->annotations, &s->n_annotations) < 0 ||
        SPEC_PARSE_SUBOBJECT(rd, v, "linux", &s->linux_, spec_parse_linux_obj) < 0)
        return -1;
    return 0;
}

/* Parses the text into a tree, with the origin in front of syntax errors. */
static struct zjson_doc *parse_text(const char *json, size_t len,
                                    const char *origin, struct zerr *e)
{
    struct zjson_doc *doc = zjson_parse(json, len, e);
    if (!doc)
        zerr_prefix(e, "%s", origin);
    return doc;
}

struct zspec *spec_parse(const char *json, size_t len, const char *origin,
                         struct zerr *e)
{
    struct spec_rd rd;
    spec_rd_init(&rd, origin, e);
    struct zjson_doc *doc = parse_text(json, len, rd.origin, e);
    if (!doc)
        return NULL;
    struct zspec *s = calloc(1, sizeof *s);
    if (!s) {
        spec_rd_no_memory(&rd);
    } else if (parse_spec(&rd, zjson_root(doc), s) < 0) {
        spec_free(s);
        s = NULL;
    }
    zjson_doc_free(doc);
    return s;
}

struct zspec_process *spec_process_parse(const char *json, size_t len,
                                         const char *origin, struct zerr *e)
{
    struct spec_rd rd;
    spec_rd_init(&rd, origin, e);
    struct zjson_doc *doc = parse_text(json, len, rd.origin, e);
    if (!doc)
        return NULL;
    struct zspec_process *p = calloc(1, sizeof *p);
    if (!p) {
        spec_rd_no_memory(&rd);
    } else if (spec_parse_process_obj(&rd, zjson_root(doc), p) < 0) {
        spec_process_free(p);
        p = NULL;
    }
    zjson_doc_free(doc);
    return p;
}

struct zspec_resources *spec_resources_parse(const char *json, size_t len,
                                             const char *origin, struct zerr *e)
{
    struct spec_rd rd;
    spec_rd_init(&rd, origin, e);
    struct zjson_doc *doc = parse_text(json, len, rd.origin, e);
    if (!doc)
        return NULL;
    struct zspec_resources *r = calloc(1, sizeof *r);
    if (!r) {
        spec_rd_no_memory(&rd);
    } else if (spec_parse_resources_obj(&rd, zjson_root(doc), r) < 0) {
        spec_resources_free(r);
        r = NULL;
    }
    zjson_doc_free(doc);
    return r;
}

struct zspec *spec_load(const char *path, struct zerr *e)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0) {
        zerr_sys(e, "open %s", path);
        return NULL;
    }
    if (fstat(fd, &st) < 0) {
        zerr_sys(e, "stat %s", path);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        zerr_set(e, EINVAL, "%s: not a regular file", path);
        return NULL;
    }
    if ((uint64_t)st.st_size > SPEC_FILE_MAX) {
        zerr_set(e, EFBIG, "%s: larger than %u bytes", path, SPEC_FILE_MAX);
        return NULL;
    }
    size_t size = (size_t)st.st_size, got = 0;
    _cleanup_free_ char *buf = malloc(size + 1);
    if (!buf) {
        zerr_set(e, ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            zerr_sys(e, "read %s", path);
            return NULL;
        }
        if (n == 0)
            break;   /* the file shrank; parse what is there */
        got += (size_t)n;
    }
    buf[got] = '\0';
    return spec_parse(buf, got, path, e);
}
