/* Encoder and strict decoder of the host <-> agent control protocol
 * (control.h). Pure functions: no I/O, no global state. Both directions
 * run the same semantic checks (check_msg), so the encoder cannot produce
 * a message the decoder would refuse. The decoder bounds every count by
 * the bytes left before allocating, so a hostile length costs nothing. */
#include "vm-sandbox/proto/control.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define PID_LIMIT 4194304u   /* PID_MAX_LIMIT on 64-bit */

static const char *const type_names[] = {
    [CTL_HELLO] = "HELLO", [CTL_START] = "START", [CTL_STARTED] = "STARTED",
    [CTL_SIGNAL] = "SIGNAL", [CTL_EXIT] = "EXIT", [CTL_EXEC] = "EXEC",
    [CTL_EXEC_STARTED] = "EXEC_STARTED", [CTL_EXEC_EXIT] = "EXEC_EXIT", [CTL_RESIZE] = "RESIZE",
    [CTL_SHUTDOWN] = "SHUTDOWN", [CTL_ERROR] = "ERROR", [CTL_STDIO] = "STDIO",
};

const char *ctl_type_name(unsigned type)
{
    if (type == 0 || type > CTL_TYPE_MAX)
        return "unknown";
    return type_names[type];
}

/* ---- semantic checks, shared by encoder and decoder ---- */

enum session_rule { SESSION_ZERO, SESSION_NONZERO, SESSION_ANY };

static enum session_rule session_rule(unsigned type)
{
    switch (type) {
    case CTL_EXEC: case CTL_EXEC_STARTED: case CTL_EXEC_EXIT:
        return SESSION_NONZERO;
    case CTL_SIGNAL: case CTL_RESIZE: case CTL_ERROR: case CTL_STDIO:
        return SESSION_ANY;
    default:
        return SESSION_ZERO;
    }
}

static int check_session(unsigned type, uint32_t session, struct zerr *e)
{
    enum session_rule r = session_rule(type);
    if (r == SESSION_ZERO && session != 0)
        return zerr_set(e, EPROTO, "%s: session must be 0, got %u", ctl_type_name(type), session);
    if (r == SESSION_NONZERO && session == 0)
        return zerr_set(e, EPROTO, "%s: session must not be 0", ctl_type_name(type));
    return 0;
}

static int check_string(const char *s, size_t max, const char *what, struct zerr *e)
{
    if (!s)
        return zerr_set(e, EINVAL, "%s: missing", what);
    if (strnlen(s, max + 1) > max)
        return zerr_set(e, E2BIG, "%s: longer than %zu bytes", what, max);
    return 0;
}

static int check_tag(const char *tag, struct zerr *e)
{
    size_t n;
    if (check_string(tag, 31, "mount tag", e) < 0)
        return -1;
    n = strlen(tag);
    if (n == 0)
        return zerr_set(e, EINVAL, "mount tag: empty");
    for (size_t i = 0; i < n; i++) {
        char c = tag[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.'))
            return zerr_set(e, EINVAL, "mount tag \"%s\": only letters, digits, '_', '-' and '.' allowed", tag);
    }
    return 0;
}

static int check_abs_path(const char *p, const char *what, struct zerr *e)
{
    if (check_string(p, PATH_MAX - 1, what, e) < 0)
        return -1;
    if (p[0] != '/')
        return zerr_set(e, EINVAL, "%s \"%.200s\": not an absolute path", what, p);
    return 0;
}

static bool wait_status_valid(uint32_t st)
{
    unsigned low = st & 0x7f;
    if (low == 0)   /* exited: code in bits 8..15, nothing else */
        return (st & ~0xff00u) == 0;
    if (low == 0x7f) /* stopped: never a final status */
        return false;
    return low <= 64 && (st & ~0xffu) == 0;  /* signaled, bit 7 = core dumped */
}

static int check_process(const struct ctl_process *p, const char *what, struct zerr *e)
{
    if (p->flags & ~CTL_PROC_FLAGS_ALL)
        return zerr_set(e, EINVAL, "%s: unknown flags 0x%x", what, p->flags & ~CTL_PROC_FLAGS_ALL);
    if (p->umask > 0777)
        return zerr_set(e, EINVAL, "%s: umask %#o out of range", what, p->umask);
    for (int i = 0; i < 3; i++)
        if (p->stdio[i] > CTL_STDIO_STREAM)
            return zerr_set(e, EINVAL, "%s: stdio[%d]: unknown mode %u", what, i, p->stdio[i]);
    if ((p->flags & CTL_PROC_TERMINAL) && p->stdio[2] != CTL_STDIO_NULL)
        return zerr_set(e, EINVAL, "%s: a terminal carries stderr on stdout: stderr mode must be null", what);
    if (!(p->flags & CTL_PROC_CAPS)) {
        if (p->cap_bounding | p->cap_effective | p->cap_permitted | p->cap_inheritable | p->cap_ambient)
            return zerr_set(e, EINVAL, "%s: capability sets given without the caps flag", what);
    } else {
        if (p->cap_effective & ~p->cap_permitted)
            return zerr_set(e, EINVAL, "%s: effective capabilities not a subset of permitted", what);
        if (p->cap_ambient & ~(p->cap_permitted & p->cap_inheritable))
            return zerr_set(e, EINVAL, "%s: ambient capabilities not in permitted and inheritable", what);
    }
    if (check_abs_path(p->cwd, "cwd", e) < 0)
        return zerr_prefix(e, "%s", what);
    if (check_string(p->hostname, CTL_HOSTNAME_MAX, "hostname", e) < 0)
        return zerr_prefix(e, "%s", what);
    if (p->nargs == 0 || !p->args)
        return zerr_set(e, EINVAL, "%s: args: empty", what);
    if (p->nargs > CTL_ARGS_MAX)
        return zerr_set(e, E2BIG, "%s: args: more than %u", what, CTL_ARGS_MAX);
    for (uint32_t i = 0; i < p->nargs; i++)
        if (check_string(p->args[i], CTL_STRING_MAX, "args entry", e) < 0)
            return zerr_prefix(e, "%s: args[%u]", what, i);
    if (p->args[0][0] == '\0')
        return zerr_set(e, EINVAL, "%s: args[0]: empty", what);
    if (p->nenv > CTL_ENV_MAX)
        return zerr_set(e, E2BIG, "%s: env: more than %u entries", what, CTL_ENV_MAX);
    if (p->nenv && !p->env)
        return zerr_set(e, EINVAL, "%s: env: missing", what);
    for (uint32_t i = 0; i < p->nenv; i++) {
        const char *eq;
        if (check_string(p->env[i], CTL_STRING_MAX, "env entry", e) < 0)
            return zerr_prefix(e, "%s: env[%u]", what, i);
        eq = strchr(p->env[i], '=');
        if (!eq || eq == p->env[i])
            return zerr_set(e, EINVAL, "%s: env[%u] \"%.100s\": expected NAME=value", what, i, p->env[i]);
    }
    if (p->ngroups > CTL_GROUPS_MAX)
        return zerr_set(e, E2BIG, "%s: more than %u additional groups", what, CTL_GROUPS_MAX);
    if (p->ngroups && !p->groups)
        return zerr_set(e, EINVAL, "%s: groups: missing", what);
    if (p->nrlimits > CTL_RLIMITS_MAX)
        return zerr_set(e, E2BIG, "%s: more than %u rlimits", what, CTL_RLIMITS_MAX);
    if (p->nrlimits && !p->rlimits)
        return zerr_set(e, EINVAL, "%s: rlimits: missing", what);
    for (uint32_t i = 0; i < p->nrlimits; i++) {
        const struct ctl_rlimit *r = &p->rlimits[i];
        if (r->resource >= CTL_RLIMITS_MAX)
            return zerr_set(e, EINVAL, "%s: rlimits[%u]: unknown resource %u", what, i, r->resource);
        if (r->soft > r->hard)
            return zerr_set(e, EINVAL, "%s: rlimits[%u]: soft limit above hard limit", what, i);
        for (uint32_t j = 0; j < i; j++)
            if (p->rlimits[j].resource == r->resource)
                return zerr_set(e, EINVAL, "%s: rlimits[%u]: resource %u given twice", what, i, r->resource);
    }
    if (p->seccomp_len > CTL_SECCOMP_MAX || p->seccomp_len % 8)
        return zerr_set(e, EINVAL, "%s: seccomp: %u bytes is not a program of 1..%u instructions", what,
                        p->seccomp_len, CTL_SECCOMP_MAX / 8);
    if (p->seccomp_len && !p->seccomp)
        return zerr_set(e, EINVAL, "%s: seccomp: missing", what);
    if (p->seccomp_flags & ~CTL_SECCOMP_FLAGS_ALL)
        return zerr_set(e, EINVAL, "%s: seccomp: unknown flags 0x%x", what, p->seccomp_flags);
    if (p->seccomp_flags && !p->seccomp_len)
        return zerr_set(e, EINVAL, "%s: seccomp: flags without a program", what);
    return 0;
}

static int check_msg(const struct ctl_msg *m, struct zerr *e)
{
    const char *name = ctl_type_name(m->type);
    if (m->type == 0 || m->type > CTL_TYPE_MAX)
        return zerr_set(e, EPROTO, "unknown message type %u", m->type);
    if (check_session(m->type, m->session, e) < 0)
        return -1;
    switch (m->type) {
    case CTL_HELLO:
        if (m->u.hello.version == 0)
            return zerr_set(e, EPROTO, "HELLO: version 0");
        return check_string(m->u.hello.software, CTL_SOFTWARE_MAX, "HELLO: software", e);
    case CTL_START:
        if (m->u.start.nmounts > CTL_MOUNTS_MAX)
            return zerr_set(e, E2BIG, "START: more than %u mounts", CTL_MOUNTS_MAX);
        if (m->u.start.nmounts && !m->u.start.mounts)
            return zerr_set(e, EINVAL, "START: mounts: missing");
        for (uint32_t i = 0; i < m->u.start.nmounts; i++) {
            const struct ctl_mount *mt = &m->u.start.mounts[i];
            if (check_tag(mt->tag, e) < 0 || check_abs_path(mt->target, "target", e) < 0)
                return zerr_prefix(e, "START: mounts[%u]", i);
            if (mt->flags & ~CTL_MOUNT_RDONLY)
                return zerr_set(e, EINVAL, "START: mounts[%u]: unknown flags 0x%x", i, mt->flags);
        }
        return check_process(&m->u.start.proc, "START", e);
    case CTL_EXEC:
        return check_process(&m->u.exec, "EXEC", e);
    case CTL_STARTED: case CTL_EXEC_STARTED:
        if (m->u.started.pid == 0 || m->u.started.pid > PID_LIMIT)
            return zerr_set(e, EPROTO, "%s: pid %u out of range", name, m->u.started.pid);
        return 0;
    case CTL_SIGNAL:
        if (m->u.signal.signo == 0 || m->u.signal.signo > 64)
            return zerr_set(e, EINVAL, "SIGNAL: signal %u out of range", m->u.signal.signo);
        if (m->u.signal.flags & ~CTL_SIGNAL_ALL)
            return zerr_set(e, EINVAL, "SIGNAL: unknown flags 0x%x", m->u.signal.flags);
        return 0;
    case CTL_EXIT: case CTL_EXEC_EXIT:
        if (!wait_status_valid(m->u.exit.status))
            return zerr_set(e, EPROTO, "%s: invalid wait status 0x%x", name, m->u.exit.status);
        return 0;
    case CTL_ERROR:
        if (m->u.error.code < 0 || m->u.error.code > 4095)
            return zerr_set(e, EPROTO, "ERROR: code %d out of range", m->u.error.code);
        if (check_string(m->u.error.message, CTL_ERROR_MAX, "ERROR: message", e) < 0)
            return -1;
        if (!m->u.error.message[0])
            return zerr_set(e, EPROTO, "ERROR: empty message");
        return 0;
    case CTL_STDIO:
        if (m->u.stdio.stream > CTL_STREAM_STDERR)
            return zerr_set(e, EPROTO, "STDIO: unknown stream %u", m->u.stdio.stream);
        return 0;
    default:  /* RESIZE, SHUTDOWN: any value */
        return 0;
    }
}

/* ---- encoder: two passes over the same code, counting then writing ---- */

struct writer {
    uint8_t *p;   /* NULL on the counting pass */
    size_t len;
};

static void put(struct writer *w, const void *src, size_t n)
{
    if (w->p)
        memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void put16(struct writer *w, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    put(w, b, 2);
}

static void put32(struct writer *w, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    put(w, b, 4);
}

static void put64(struct writer *w, uint64_t v)
{
    put32(w, (uint32_t)v);
    put32(w, (uint32_t)(v >> 32));
}

static void put_str(struct writer *w, const char *s)
{
    size_t n = strlen(s);   /* bounded by check_msg */
    put32(w, (uint32_t)n);
    put(w, s, n);
}

static void put_process(struct writer *w, const struct ctl_process *p)
{
    put32(w, p->flags);
    put32(w, p->uid);
    put32(w, p->gid);
    put32(w, p->umask);
    put16(w, p->rows);
    put16(w, p->cols);
    put(w, p->stdio, 3);
    put(w, "", 1);   /* reserved byte */
    put64(w, p->cap_bounding);
    put64(w, p->cap_effective);
    put64(w, p->cap_permitted);
    put64(w, p->cap_inheritable);
    put64(w, p->cap_ambient);
    put_str(w, p->cwd);
    put_str(w, p->hostname);
    put32(w, p->nargs);
    for (uint32_t i = 0; i < p->nargs; i++)
        put_str(w, p->args[i]);
    put32(w, p->nenv);
    for (uint32_t i = 0; i < p->nenv; i++)
        put_str(w, p->env[i]);
    put32(w, p->ngroups);
    for (uint32_t i = 0; i < p->ngroups; i++)
        put32(w, p->groups[i]);
    put32(w, p->nrlimits);
    for (uint32_t i = 0; i < p->nrlimits; i++) {
        put32(w, p->rlimits[i].resource);
        put64(w, p->rlimits[i].soft);
        put64(w, p->rlimits[i].hard);
    }
    put32(w, p->seccomp_len);
    if (p->seccomp_len)
        put(w, p->seccomp, p->seccomp_len);
    put32(w, p->seccomp_flags);
}

static void put_msg(struct writer *w, const struct ctl_msg *m, uint32_t payload_len)
{
    put32(w, CTL_MAGIC);
    put16(w, CTL_VERSION);
    put16(w, m->type);
    put32(w, m->session);
    put32(w, payload_len);
    switch (m->type) {
    case CTL_HELLO:
        put32(w, m->u.hello.version);
        put_str(w, m->u.hello.software);
        break;
    case CTL_START:
        put32(w, m->u.start.nmounts);
        for (uint32_t i = 0; i < m->u.start.nmounts; i++) {
            put_str(w, m->u.start.mounts[i].tag);
            put_str(w, m->u.start.mounts[i].target);
            put32(w, m->u.start.mounts[i].flags);
        }
        put_process(w, &m->u.start.proc);
        break;
    case CTL_EXEC:
        put_process(w, &m->u.exec);
        break;
    case CTL_STARTED: case CTL_EXEC_STARTED:
        put32(w, m->u.started.pid);
        break;
    case CTL_SIGNAL:
        put32(w, m->u.signal.signo);
        put32(w, m->u.signal.flags);
        break;
    case CTL_EXIT: case CTL_EXEC_EXIT:
        put32(w, m->u.exit.status);
        break;
    case CTL_RESIZE:
        put16(w, m->u.resize.rows);
        put16(w, m->u.resize.cols);
        break;
    case CTL_ERROR:
        put32(w, (uint32_t)m->u.error.code);
        put_str(w, m->u.error.message);
        break;
    case CTL_STDIO:
        put32(w, m->u.stdio.stream);
        break;
    default:  /* SHUTDOWN: no payload */
        break;
    }
}

int ctl_encode(const struct ctl_msg *m, uint8_t **out, size_t *out_len, struct zerr *e)
{
    struct writer w = { 0 };
    size_t total;
    *out = NULL;
    *out_len = 0;
    if (check_msg(m, e) < 0)
        return zerr_prefix(e, "encoding %s", ctl_type_name(m->type));
    /* Counting pass. Each string is bounded, but lists of them are not:
     * the payload limit is checked on the total. */
    put_msg(&w, m, 0);
    total = w.len;
    if (total - CTL_HEADER_SIZE > CTL_PAYLOAD_MAX)
        return zerr_set(e, E2BIG, "encoding %s: payload of %zu bytes exceeds %u", ctl_type_name(m->type),
                        total - CTL_HEADER_SIZE, CTL_PAYLOAD_MAX);
    w.p = malloc(total);
    if (!w.p)
        return zerr_set(e, ENOMEM, "encoding %s: out of memory", ctl_type_name(m->type));
    w.len = 0;
    put_msg(&w, m, (uint32_t)(total - CTL_HEADER_SIZE));
    *out = w.p;
    *out_len = total;
    return 0;
}

/* ---- decoder ---- */

struct reader {
    const uint8_t *p;
    size_t len, off;
    struct zerr *e;
    const char *field;   /* for messages: what is being read */
};

static int need(struct reader *r, size_t n)
{
    if (r->len - r->off < n)
        return zerr_set(r->e, EPROTO, "%s: truncated (%zu bytes needed, %zu left)", r->field, n,
                        r->len - r->off);
    return 0;
}

static int get16(struct reader *r, uint16_t *v)
{
    if (need(r, 2) < 0)
        return -1;
    *v = (uint16_t)(r->p[r->off] | r->p[r->off + 1] << 8);
    r->off += 2;
    return 0;
}

static int get32(struct reader *r, uint32_t *v)
{
    const uint8_t *b;
    if (need(r, 4) < 0)
        return -1;
    b = r->p + r->off;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    r->off += 4;
    return 0;
}

static int get64(struct reader *r, uint64_t *v)
{
    uint32_t lo, hi;
    if (get32(r, &lo) < 0 || get32(r, &hi) < 0)
        return -1;
    *v = (uint64_t)hi << 32 | lo;
    return 0;
}

static int get_str(struct reader *r, size_t max, char **out)
{
    uint32_t n;
    char *s;
    if (get32(r, &n) < 0)
        return -1;
    if (n > max)
        return zerr_set(r->e, E2BIG, "%s: string of %u bytes exceeds %zu", r->field, n, max);
    if (need(r, n) < 0)
        return -1;
    if (memchr(r->p + r->off, '\0', n))
        return zerr_set(r->e, EPROTO, "%s: string contains a NUL byte", r->field);
    s = malloc((size_t)n + 1);
    if (!s)
        return zerr_set(r->e, ENOMEM, "%s: out of memory", r->field);
    memcpy(s, r->p + r->off, n);
    s[n] = '\0';
    r->off += n;
    *out = s;
    return 0;
}

/* A count of items of at least min_item bytes each: refused when larger
 * than the limit or than what is left, before anything is allocated. */
static int get_count(struct reader *r, uint32_t limit, size_t min_item, uint32_t *n)
{
    if (get32(r, n) < 0)
        return -1;
    if (*n > limit)
        return zerr_set(r->e, E2BIG, "%s: count %u exceeds %u", r->field, *n, limit);
    if ((size_t)*n * min_item > r->len - r->off)
        return zerr_set(r->e, EPROTO, "%s: count %u larger than the message", r->field, *n);
    return 0;
}

static int get_strv(struct reader *r, uint32_t limit, char ***out, uint32_t *count)
{
    uint32_t n;
    char **v;
    if (get_count(r, limit, 4, &n) < 0)
        return -1;
    v = calloc((size_t)n + 1, sizeof *v);
    if (!v)
        return zerr_set(r->e, ENOMEM, "%s: out of memory", r->field);
    *out = v;   /* owned by the message from here: freed with it on failure */
    *count = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (get_str(r, CTL_STRING_MAX, &v[i]) < 0)
            return -1;
        *count = i + 1;
    }
    return 0;
}

static int get_process(struct reader *r, struct ctl_process *p)
{
    uint8_t reserved;
    r->field = "process";
    if (get32(r, &p->flags) < 0 || get32(r, &p->uid) < 0 || get32(r, &p->gid) < 0 ||
        get32(r, &p->umask) < 0 || get16(r, &p->rows) < 0 || get16(r, &p->cols) < 0 || need(r, 4) < 0)
        return -1;
    memcpy(p->stdio, r->p + r->off, 3);
    reserved = r->p[r->off + 3];
    r->off += 4;
    if (reserved)
        return zerr_set(r->e, EPROTO, "process: reserved byte is not zero");
    if (get64(r, &p->cap_bounding) < 0 || get64(r, &p->cap_effective) < 0 || get64(r, &p->cap_permitted) < 0 ||
        get64(r, &p->cap_inheritable) < 0 || get64(r, &p->cap_ambient) < 0)
        return -1;
    r->field = "cwd";
    if (get_str(r, PATH_MAX - 1, &p->cwd) < 0)
        return -1;
    r->field = "hostname";
    if (get_str(r, CTL_HOSTNAME_MAX, &p->hostname) < 0)
        return -1;
    r->field = "args";
    if (get_strv(r, CTL_ARGS_MAX, &p->args, &p->nargs) < 0)
        return -1;
    r->field = "env";
    if (get_strv(r, CTL_ENV_MAX, &p->env, &p->nenv) < 0)
        return -1;
    r->field = "groups";
    if (get_count(r, CTL_GROUPS_MAX, 4, &p->ngroups) < 0)
        return -1;
    if (p->ngroups) {
        p->groups = calloc(p->ngroups, sizeof *p->groups);
        if (!p->groups)
            return zerr_set(r->e, ENOMEM, "groups: out of memory");
        for (uint32_t i = 0; i < p->ngroups; i++)
            get32(r, &p->groups[i]);   /* cannot fail: get_count checked the bytes */
    }
    r->field = "rlimits";
    if (get_count(r, CTL_RLIMITS_MAX, 20, &p->nrlimits) < 0)
        return -1;
    if (p->nrlimits) {
        p->rlimits = calloc(p->nrlimits, sizeof *p->rlimits);
        if (!p->rlimits)
            return zerr_set(r->e, ENOMEM, "rlimits: out of memory");
        for (uint32_t i = 0; i < p->nrlimits; i++) {
            get32(r, &p->rlimits[i].resource);
            get64(r, &p->rlimits[i].soft);
            get64(r, &p->rlimits[i].hard);
        }
    }
    r->field = "seccomp";
    if (get_count(r, CTL_SECCOMP_MAX, 1, &p->seccomp_len) < 0)
        return -1;
    if (p->seccomp_len) {
        p->seccomp = malloc(p->seccomp_len);
        if (!p->seccomp)
            return zerr_set(r->e, ENOMEM, "seccomp: out of memory");
        memcpy(p->seccomp, r->p + r->off, p->seccomp_len);   /* get_count checked the bytes */
        r->off += p->seccomp_len;
    }
    return get32(r, &p->seccomp_flags);
}

static int get_payload(struct reader *r, struct ctl_msg *m)
{
    uint32_t code;
    switch (m->type) {
    case CTL_HELLO:
        r->field = "HELLO";
        if (get32(r, &m->u.hello.version) < 0)
            return -1;
        return get_str(r, CTL_SOFTWARE_MAX, &m->u.hello.software);
    case CTL_START:
        r->field = "START: mounts";
        if (get_count(r, CTL_MOUNTS_MAX, 12, &m->u.start.nmounts) < 0)
            return -1;
        if (m->u.start.nmounts) {
            m->u.start.mounts = calloc(m->u.start.nmounts, sizeof *m->u.start.mounts);
            if (!m->u.start.mounts)
                return zerr_set(r->e, ENOMEM, "START: out of memory");
        }
        for (uint32_t i = 0; i < m->u.start.nmounts; i++) {
            struct ctl_mount *mt = &m->u.start.mounts[i];
            if (get_str(r, 31, &mt->tag) < 0 || get_str(r, PATH_MAX - 1, &mt->target) < 0 ||
                get32(r, &mt->flags) < 0)
                return -1;
        }
        return get_process(r, &m->u.start.proc);
    case CTL_EXEC:
        return get_process(r, &m->u.exec);
    case CTL_STARTED: case CTL_EXEC_STARTED:
        r->field = ctl_type_name(m->type);
        return get32(r, &m->u.started.pid);
    case CTL_SIGNAL:
        r->field = "SIGNAL";
        return get32(r, &m->u.signal.signo) < 0 ? -1 : get32(r, &m->u.signal.flags);
    case CTL_EXIT: case CTL_EXEC_EXIT:
        r->field = ctl_type_name(m->type);
        return get32(r, &m->u.exit.status);
    case CTL_RESIZE:
        r->field = "RESIZE";
        return get16(r, &m->u.resize.rows) < 0 ? -1 : get16(r, &m->u.resize.cols);
    case CTL_ERROR:
        r->field = "ERROR";
        if (get32(r, &code) < 0)
            return -1;
        if (code > 4095)
            return zerr_set(r->e, EPROTO, "ERROR: code %u out of range", code);
        m->u.error.code = (int32_t)code;
        return get_str(r, CTL_ERROR_MAX, &m->u.error.message);
    case CTL_STDIO:
        r->field = "STDIO";
        return get32(r, &m->u.stdio.stream);
    default:  /* SHUTDOWN */
        return 0;
    }
}

int ctl_decode_header(const uint8_t *buf, size_t len, struct ctl_header *h, struct zerr *e)
{
    struct reader r = { .p = buf, .len = len, .e = e, .field = "header" };
    uint32_t magic;
    uint16_t version;
    memset(h, 0, sizeof *h);
    if (get32(&r, &magic) < 0 || get16(&r, &version) < 0 || get16(&r, &h->type) < 0 ||
        get32(&r, &h->session) < 0 || get32(&r, &h->length) < 0)
        return -1;
    if (magic != CTL_MAGIC)
        return zerr_set(e, EPROTO, "header: bad magic 0x%08x", magic);
    if (version != CTL_VERSION)
        return zerr_set(e, EPROTONOSUPPORT, "header: protocol version %u, expected %u", version, CTL_VERSION);
    if (h->type == 0 || h->type > CTL_TYPE_MAX)
        return zerr_set(e, EPROTO, "header: unknown message type %u", h->type);
    if (h->length > CTL_PAYLOAD_MAX)
        return zerr_set(e, EMSGSIZE, "header: %s payload of %u bytes exceeds %u", ctl_type_name(h->type),
                        h->length, CTL_PAYLOAD_MAX);
    return check_session(h->type, h->session, e);
}

int ctl_decode(const uint8_t *buf, size_t len, struct ctl_msg *m, struct zerr *e)
{
    struct ctl_header h;
    struct reader r;
    memset(m, 0, sizeof *m);
    if (ctl_decode_header(buf, len, &h, e) < 0)
        return -1;
    if (len - CTL_HEADER_SIZE != h.length)
        return zerr_set(e, EPROTO, "%s: header says %u payload bytes, message has %zu", ctl_type_name(h.type),
                        h.length, len - CTL_HEADER_SIZE);
    m->type = h.type;
    m->session = h.session;
    r = (struct reader){ .p = buf, .len = len, .off = CTL_HEADER_SIZE, .e = e };
    if (get_payload(&r, m) < 0)
        goto fail;
    if (r.off != len) {
        zerr_set(e, EPROTO, "%s: %zu trailing bytes", ctl_type_name(m->type), len - r.off);
        goto fail;
    }
    if (check_msg(m, e) < 0)
        goto fail;
    return 0;
fail:
    ctl_msg_free(m);
    return -1;
}

static void free_strv(char **v, uint32_t n)
{
    if (!v)
        return;
    for (uint32_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void ctl_process_free(struct ctl_process *p)
{
    free(p->cwd);
    free(p->hostname);
    free_strv(p->args, p->nargs);
    free_strv(p->env, p->nenv);
    free(p->groups);
    free(p->rlimits);
    free(p->seccomp);
    memset(p, 0, sizeof *p);
}

void ctl_msg_free(struct ctl_msg *m)
{
    switch (m->type) {
    case CTL_HELLO:
        free(m->u.hello.software);
        break;
    case CTL_START:
        for (uint32_t i = 0; m->u.start.mounts && i < m->u.start.nmounts; i++) {
            free(m->u.start.mounts[i].tag);
            free(m->u.start.mounts[i].target);
        }
        free(m->u.start.mounts);
        ctl_process_free(&m->u.start.proc);
        break;
    case CTL_EXEC:
        ctl_process_free(&m->u.exec);
        break;
    case CTL_ERROR:
        free(m->u.error.message);
        break;
    default:
        break;
    }
    memset(m, 0, sizeof *m);
}
