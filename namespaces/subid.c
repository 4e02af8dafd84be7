/* Subordinate ids (/etc/subuid, /etc/subgid): the ranges an administrator
 * delegated to a user, which newuidmap/newgidmap let it map into a user
 * namespace; and the mappings `zone spec --rootless` writes from them. */
#include "namespaces/namespaces.h"

#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/path.h"

/* Real files are a few lines per user; anything this big is not one. */
#define SUBID_FILE_MAX (4u << 20)
/* The kernel's limit on uid_map lines. */
#define MAP_EXTENTS_MAX 340

/* Parses an unsigned 32-bit decimal field [s, end); false on anything else. */
static bool parse_u32(const char *s, const char *end, uint32_t *out)
{
    uint64_t v = 0;
    if (s == end || end - s > 10)
        return false;
    for (const char *c = s; c < end; c++) {
        if (*c < '0' || *c > '9')
            return false;
        v = v * 10 + (uint64_t)(*c - '0');
    }
    if (v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool owner_matches(const char *owner, size_t len, const char *name, uid_t uid)
{
    char num[16];
    int w = snprintf(num, sizeof num, "%u", (unsigned)uid);
    if (name && strlen(name) == len && memcmp(owner, name, len) == 0)
        return true;
    return w > 0 && (size_t)w == len && memcmp(owner, num, len) == 0;
}

int zns_subid_parse(const char *text, size_t len, const char *name, uid_t uid,
                    struct zns_id_range *out, size_t max, size_t *n)
{
    const char *p = text, *end = text + len;
    *n = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        const char *c1 = memchr(p, ':', (size_t)(line_end - p));
        const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(line_end - c1 - 1)) : NULL;
        struct zns_id_range r;
        /* "owner:start:count"; comments, blank and malformed lines are
         * skipped as shadow's tools do */
        if (p[0] != '#' && c1 && c2 && owner_matches(p, (size_t)(c1 - p), name, uid) &&
            parse_u32(c1 + 1, c2, &r.start) && parse_u32(c2 + 1, line_end, &r.count) &&
            r.count > 0 && (uint64_t)r.start + r.count <= UINT32_MAX) {
            if (*n >= max)
                return -1;
            out[(*n)++] = r;
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

const char *zns_user_name(uid_t uid, char *buf, size_t size)
{
    struct passwd pw, *res = NULL;
    char scratch[4096];
    if (getpwuid_r(uid, &pw, scratch, sizeof scratch, &res) != 0 || !res || !res->pw_name)
        return NULL;
    snprintf(buf, size, "%s", res->pw_name);
    return buf;
}

int zns_subid_ranges(bool is_gid, uid_t uid, struct zns_id_range *out, size_t max,
                     size_t *n, struct zerr *e)
{
    const char *path = is_gid ? ZNS_SUBGID_FILE : ZNS_SUBUID_FILE;
    char namebuf[256];
    const char *name = zns_user_name(uid, namebuf, sizeof namebuf);
    _cleanup_free_ char *text = NULL;
    size_t len = 0;

    *n = 0;
    if (!(text = zfile_read(path, SUBID_FILE_MAX, &len, e))) {
        if (e->code == ENOENT)
            return 0; /* no file: nothing delegated */
        return -1;
    }
    if (zns_subid_parse(text, len, name, uid, out, max, n) < 0)
        return zerr_set(e, E2BIG, "%s: more than %zu ranges for uid %u", path, max,
                        (unsigned)uid);
    return 0;
}

/* [start, start+count) overlaps [id, id+1). */
static bool range_holds(const struct zns_id_range *r, uint32_t id)
{
    return id >= r->start && (uint64_t)id < (uint64_t)r->start + r->count;
}

/* own id -> 0, then each delegated range from container id 1 on. */
static int build_map(bool is_gid, uid_t owner, uint32_t own,
                     struct zspec_idmap **out, size_t *n, struct zerr *e)
{
    struct zns_id_range ranges[ZNS_SUBID_RANGES_MAX];
    size_t n_ranges = 0;
    uint64_t next = 1;
    struct zspec_idmap *m;

    if (zns_subid_ranges(is_gid, owner, ranges, ZNS_SUBID_RANGES_MAX, &n_ranges, e) < 0)
        return -1;
    if (!(m = calloc(1 + n_ranges, sizeof *m)))
        return zerr_set(e, ENOMEM, "out of memory");
    m[0] = (struct zspec_idmap){ .container_id = 0, .host_id = own, .size = 1 };
    *n = 1;
    for (size_t i = 0; i < n_ranges && *n < MAP_EXTENTS_MAX; i++) {
        /* the own id is mapped to 0 already: a range holding it would
         * overlap, and shadow would refuse the overlap anyway */
        if (range_holds(&ranges[i], own))
            continue;
        if (next + ranges[i].count > UINT32_MAX)
            break;
        m[(*n)++] = (struct zspec_idmap){ .container_id = (uint32_t)next,
                                          .host_id = ranges[i].start,
                                          .size = ranges[i].count };
        next += ranges[i].count;
    }
    *out = m;
    return 0;
}

int zns_rootless_mappings(uid_t uid, gid_t gid, struct zspec_idmap **uids, size_t *n_uids,
                          struct zspec_idmap **gids, size_t *n_gids, struct zerr *e)
{
    *uids = *gids = NULL;
    *n_uids = *n_gids = 0;
    if (build_map(false, uid, uid, uids, n_uids, e) < 0 ||
        build_map(true, uid, gid, gids, n_gids, e) < 0)
        goto fail;
    /* Ranges beyond the own id need the setuid helpers; without them the
     * single-id mapping is all an unprivileged user can have. */
    if (*n_uids > 1 && !zns_idmap_helper_path(false))
        *n_uids = 1;
    if (*n_gids > 1 && !zns_idmap_helper_path(true))
        *n_gids = 1;
    return 0;
fail:
    free(*uids);
    free(*gids);
    *uids = *gids = NULL;
    *n_uids = *n_gids = 0;
    return -1;
}
