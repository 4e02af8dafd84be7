/* The fid table: guest-chosen 32-bit fid numbers hashed into chains. The
 * guest picks the numbers, so the table never trusts them as indexes, and
 * its size is bounded by max (the Linux client keeps one fid per cached
 * dentry, so the bound is set well above a busy guest's dcache). */
#include "vm-sandbox/p9/p9_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned bucket_of(const struct p9_fid_table *t, uint32_t num)
{
    return (unsigned)((num * 2654435761u) >> 7) & (t->nbuckets - 1);
}

int p9_fids_init(struct p9_fid_table *t, unsigned max)
{
    unsigned n = 64;
    memset(t, 0, sizeof *t);
    while (n < max / 2 && n < (1u << 16))
        n <<= 1;
    t->buckets = calloc(n, sizeof *t->buckets);
    if (!t->buckets)
        return ENOMEM;
    t->nbuckets = n;
    t->max = max;
    return 0;
}

void p9_fid_release(struct p9_fid *f)
{
    if (f->open_fd >= 0 && f->open_fd != f->fd)
        close(f->open_fd);
    if (f->fd >= 0)
        close(f->fd);
    f->fd = f->open_fd = -1;
    f->open_flags = 0;
    free(f->path);
    free(f->xattr_name);
    free(f->xattr_buf);
    f->path = f->xattr_name = NULL;
    f->xattr_buf = NULL;
    f->xattr_size = f->xattr_written = 0;
    f->kind = P9_FID_NODE;
}

struct p9_fid *p9_fid_get(struct p9_fid_table *t, uint32_t num)
{
    struct p9_fid *f;
    if (!t->buckets)
        return NULL;
    for (f = t->buckets[bucket_of(t, num)]; f; f = f->next)
        if (f->num == num)
            return f;
    return NULL;
}

int p9_fid_new(struct p9_fid_table *t, uint32_t num, struct p9_fid **out)
{
    struct p9_fid *f;
    unsigned b;
    if (num == P9_NOFID || p9_fid_get(t, num))
        return EBADF;
    if (t->count >= t->max)
        return EMFILE;
    f = calloc(1, sizeof *f);
    if (!f)
        return ENOMEM;
    f->num = num;
    f->fd = f->open_fd = -1;
    b = bucket_of(t, num);
    f->next = t->buckets[b];
    t->buckets[b] = f;
    t->count++;
    *out = f;
    return 0;
}

void p9_fid_destroy(struct p9_fid_table *t, struct p9_fid *f)
{
    struct p9_fid **pp = &t->buckets[bucket_of(t, f->num)];
    while (*pp && *pp != f)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = f->next;
        t->count--;
    }
    p9_fid_release(f);
    free(f);
}

void p9_fids_clear(struct p9_fid_table *t)
{
    for (unsigned b = 0; b < t->nbuckets; b++) {
        struct p9_fid *f = t->buckets[b], *next;
        for (; f; f = next) {
            next = f->next;
            p9_fid_release(f);
            free(f);
        }
        t->buckets[b] = NULL;
    }
    t->count = 0;
}

void p9_fids_free(struct p9_fid_table *t)
{
    if (!t->buckets)
        return;
    p9_fids_clear(t);
    free(t->buckets);
    t->buckets = NULL;
}

void p9_fids_renamed(struct p9_fid_table *t, const char *old_path, const char *new_path)
{
    size_t old_len = strlen(old_path), new_len = strlen(new_path);
    if (!old_len)
        return; /* the root is never renamed */
    for (unsigned b = 0; b < t->nbuckets; b++)
        for (struct p9_fid *f = t->buckets[b]; f; f = f->next) {
            size_t len, rest;
            char *p;
            if (!f->path || strncmp(f->path, old_path, old_len) ||
                (f->path[old_len] != '\0' && f->path[old_len] != '/'))
                continue;
            len = strlen(f->path);
            rest = len - old_len;
            if (new_len + rest >= 4096)
                continue; /* too deep to follow: the path stays stale */
            p = malloc(new_len + rest + 1);
            if (!p)
                continue;
            memcpy(p, new_path, new_len);
            memcpy(p + new_len, f->path + old_len, rest + 1);
            free(f->path);
            f->path = p;
        }
}
