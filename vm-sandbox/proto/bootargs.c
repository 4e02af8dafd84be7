/* The zone.* words of the guest kernel command line (bootargs.h): parsed
 * by the agent, written by the host. Both sides check the same rules. */
#include "vm-sandbox/proto/bootargs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const cache_modes[] = { "none", "loose", "fscache", "mmap" };

void bootargs_init(struct boot_args *a)
{
    memset(a, 0, sizeof *a);
    a->msize = BOOT_MSIZE_DEFAULT;
    strcpy(a->cache, "mmap");
}

static bool tag_ok(const char *s, size_t n)
{
    if (n == 0 || n > BOOT_TAG_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* Targets travel in a space-separated line: no spaces, quotes or colons. */
static bool target_ok(const char *s, size_t n)
{
    if (n == 0 || n > BOOT_TARGET_MAX || s[0] != '/')
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] == '"' || s[i] == ':' || s[i] == 0x7f)
            return false;
    return true;
}

static bool cache_ok(const char *s)
{
    for (size_t i = 0; i < sizeof cache_modes / sizeof *cache_modes; i++)
        if (!strcmp(s, cache_modes[i]))
            return true;
    return false;
}

/* Whole-field copies (val fits: checked): a later word leaves no bytes of
 * an earlier, longer one behind the NUL. */
static void set_field(char *field, size_t size, const char *val)
{
    memset(field, 0, size);
    memcpy(field, val, strnlen(val, size - 1));
}

static int parse_bool(const char *key, const char *val, bool *out, struct zerr *e)
{
    if (!val || !strcmp(val, "1") || !strcmp(val, "yes"))
        *out = true;
    else if (!strcmp(val, "0") || !strcmp(val, "no"))
        *out = false;
    else
        return zerr_set(e, EINVAL, "kernel command line: %s=%.40s: expected 0 or 1", key, val);
    return 0;
}

static int parse_mount(const char *val, struct boot_args *a, struct zerr *e)
{
    const char *colon, *target, *opt;
    size_t target_len;
    struct boot_mount *m;
    if (a->nmounts >= BOOT_MOUNTS_MAX)
        return zerr_set(e, E2BIG, "kernel command line: more than %d zone.mount entries", BOOT_MOUNTS_MAX);
    colon = val ? strchr(val, ':') : NULL;
    if (!colon)
        return zerr_set(e, EINVAL, "kernel command line: zone.mount=%.80s: expected TAG:/PATH[:ro]",
                        val ? val : "");
    target = colon + 1;
    opt = strchr(target, ':');
    target_len = opt ? (size_t)(opt - target) : strlen(target);
    if (!tag_ok(val, (size_t)(colon - val)))
        return zerr_set(e, EINVAL, "kernel command line: zone.mount=%.80s: bad tag", val);
    if (!target_ok(target, target_len))
        return zerr_set(e, EINVAL, "kernel command line: zone.mount=%.80s: bad target path", val);
    if (opt && strcmp(opt, ":ro") && strcmp(opt, ":rw"))
        return zerr_set(e, EINVAL, "kernel command line: zone.mount=%.80s: unknown option \"%.20s\"", val,
                        opt + 1);
    m = &a->mounts[a->nmounts++];
    memcpy(m->tag, val, (size_t)(colon - val));
    m->tag[colon - val] = '\0';
    memcpy(m->target, target, target_len);
    m->target[target_len] = '\0';
    m->read_only = opt && !strcmp(opt, ":ro");
    return 0;
}

static int parse_word(char *word, struct boot_args *a, struct zerr *e)
{
    char *val = strchr(word, '=');
    const char *key = word;
    if (strncmp(word, "zone.", 5))
        return 0;
    if (val)
        *val++ = '\0';
    if (!strcmp(key, "zone.root")) {
        if (!val || !tag_ok(val, strlen(val)))
            return zerr_set(e, EINVAL, "kernel command line: zone.root=%.80s: bad 9p tag", val ? val : "");
        set_field(a->root_tag, sizeof a->root_tag, val);
    } else if (!strcmp(key, "zone.root_ro")) {
        return parse_bool(key, val, &a->root_read_only, e);
    } else if (!strcmp(key, "zone.debug")) {
        return parse_bool(key, val, &a->debug, e);
    } else if (!strcmp(key, "zone.msize")) {
        char *end;
        unsigned long v;
        errno = 0;
        v = val ? strtoul(val, &end, 10) : 0;
        if (!val || !*val || *end || errno || v < 4096 || v > (1u << 20))
            return zerr_set(e, EINVAL, "kernel command line: zone.msize=%.40s: expected 4096..1048576",
                            val ? val : "");
        a->msize = (uint32_t)v;
    } else if (!strcmp(key, "zone.cache")) {
        if (!val || !cache_ok(val))
            return zerr_set(e, EINVAL, "kernel command line: zone.cache=%.40s: expected none, loose, fscache "
                            "or mmap", val ? val : "");
        set_field(a->cache, sizeof a->cache, val);
    } else if (!strcmp(key, "zone.mount")) {
        return parse_mount(val, a, e);
    } else {
        return zerr_set(e, EINVAL, "kernel command line: unknown key %.80s", key);
    }
    return 0;
}

int bootargs_parse(const char *cmdline, struct boot_args *a, struct zerr *e)
{
    char word[512];
    const char *p = cmdline;
    bootargs_init(a);
    while (*p) {
        size_t n = 0;
        bool quoted = false, too_long = false;
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (!*p)
            break;
        /* a word ends at whitespace outside double quotes; quotes are dropped */
        for (; *p && (quoted || !(*p == ' ' || *p == '\t' || *p == '\n')); p++) {
            if (*p == '"') {
                quoted = !quoted;
                continue;
            }
            if (n + 1 < sizeof word)
                word[n++] = *p;
            else
                too_long = true;
        }
        word[n] = '\0';
        if (n >= 5 && !memcmp(word, "zone.", 5)) {
            if (too_long)
                return zerr_set(e, E2BIG, "kernel command line: word \"%.40s...\" too long", word);
            if (parse_word(word, a, e) < 0)
                return -1;
        }
    }
    if (!a->root_tag[0])
        return zerr_set(e, EINVAL, "kernel command line: no zone.root=TAG (the root filesystem's 9p tag)");
    return 0;
}

int bootargs_format(const struct boot_args *a, char *buf, size_t cap, struct zerr *e)
{
    size_t off = 0;
    int n;
#define EMIT(...)                                                              \
    do {                                                                       \
        n = snprintf(buf + off, cap - off, __VA_ARGS__);                       \
        if (n < 0 || (size_t)n >= cap - off)                                   \
            return zerr_set(e, ENOSPC, "kernel command line: zone.* words do not fit in %zu bytes", cap); \
        off += (size_t)n;                                                      \
    } while (0)
    if (cap == 0)
        return zerr_set(e, ENOSPC, "kernel command line: no room");
    if (!tag_ok(a->root_tag, strlen(a->root_tag)))
        return zerr_set(e, EINVAL, "kernel command line: bad root tag \"%.40s\"", a->root_tag);
    if (!cache_ok(a->cache))
        return zerr_set(e, EINVAL, "kernel command line: bad 9p cache mode \"%.20s\"", a->cache);
    if (a->msize < 4096 || a->msize > (1u << 20))
        return zerr_set(e, EINVAL, "kernel command line: 9p msize %u out of range", a->msize);
    if (a->nmounts > BOOT_MOUNTS_MAX)
        return zerr_set(e, E2BIG, "kernel command line: more than %d mounts", BOOT_MOUNTS_MAX);
    EMIT("zone.root=%s", a->root_tag);
    if (a->root_read_only)
        EMIT(" zone.root_ro=1");
    if (a->msize != BOOT_MSIZE_DEFAULT)
        EMIT(" zone.msize=%u", a->msize);
    if (strcmp(a->cache, "mmap"))
        EMIT(" zone.cache=%s", a->cache);
    for (unsigned i = 0; i < a->nmounts; i++) {
        const struct boot_mount *m = &a->mounts[i];
        if (!tag_ok(m->tag, strlen(m->tag)) || !target_ok(m->target, strlen(m->target)))
            return zerr_set(e, EINVAL, "kernel command line: mount %u (%.40s:%.80s): bad tag or target "
                            "(no spaces, quotes or colons)", i, m->tag, m->target);
        EMIT(" zone.mount=%s:%s%s", m->tag, m->target, m->read_only ? ":ro" : "");
    }
    if (a->debug)
        EMIT(" zone.debug=1");
#undef EMIT
    return 0;
}
