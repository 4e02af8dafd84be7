/* 9P wire format: little-endian integers, strings as len[2] + bytes, qids
 * as type[1] version[4] path[8]. Decoding never reads past the message and
 * encoding never writes past the reply's cap; both remember the overrun so
 * that handlers check once. */
#include "vm-sandbox/p9/p9_private.h"

#include <errno.h>
#include <string.h>

size_t p9_in_left(const struct p9_in *in)
{
    return in->pos <= in->len ? in->len - in->pos : 0;
}

const uint8_t *p9_getbytes(struct p9_in *in, size_t count)
{
    const uint8_t *p;
    if (in->bad || count > p9_in_left(in)) {
        in->bad = true;
        return NULL;
    }
    p = in->p + in->pos;
    in->pos += count;
    return p;
}

static uint64_t get_le(struct p9_in *in, unsigned bytes)
{
    const uint8_t *p = p9_getbytes(in, bytes);
    uint64_t v = 0;
    if (!p)
        return 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

uint8_t p9_get8(struct p9_in *in) { return (uint8_t)get_le(in, 1); }
uint16_t p9_get16(struct p9_in *in) { return (uint16_t)get_le(in, 2); }
uint32_t p9_get32(struct p9_in *in) { return (uint32_t)get_le(in, 4); }
uint64_t p9_get64(struct p9_in *in) { return get_le(in, 8); }

struct p9_str p9_getstr(struct p9_in *in)
{
    struct p9_str s = { "", 0 };
    uint16_t len = p9_get16(in);
    const uint8_t *p = p9_getbytes(in, len);
    if (p) {
        s.p = (const char *)p;
        s.len = len;
    }
    return s;
}

int p9_str_copy(struct p9_str s, char *buf, size_t cap)
{
    if ((size_t)s.len + 1 > cap)
        return ENAMETOOLONG;
    if (s.len && memchr(s.p, '\0', s.len))
        return EINVAL;
    memcpy(buf, s.p, s.len);
    buf[s.len] = '\0';
    return 0;
}

int p9_name_copy(struct p9_str s, char buf[256])
{
    int err = p9_str_copy(s, buf, 256);
    if (err)
        return err;
    if (s.len == 0 || memchr(buf, '/', s.len) || !strcmp(buf, ".") || !strcmp(buf, ".."))
        return EINVAL;
    return 0;
}

size_t p9_out_left(const struct p9_out *out)
{
    return out->pos <= out->cap ? out->cap - out->pos : 0;
}

uint8_t *p9_reserve(struct p9_out *out, size_t count)
{
    uint8_t *p;
    if (out->full || count > p9_out_left(out)) {
        out->full = true;
        return NULL;
    }
    p = out->p + out->pos;
    out->pos += count;
    return p;
}

static void put_le(struct p9_out *out, uint64_t v, unsigned bytes)
{
    uint8_t *p = p9_reserve(out, bytes);
    if (!p)
        return;
    for (unsigned i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void p9_put8(struct p9_out *out, uint8_t v) { put_le(out, v, 1); }
void p9_put16(struct p9_out *out, uint16_t v) { put_le(out, v, 2); }
void p9_put32(struct p9_out *out, uint32_t v) { put_le(out, v, 4); }
void p9_put64(struct p9_out *out, uint64_t v) { put_le(out, v, 8); }

void p9_putstr(struct p9_out *out, const char *s, size_t len)
{
    uint8_t *p;
    if (len > UINT16_MAX) {
        out->full = true;
        return;
    }
    p9_put16(out, (uint16_t)len);
    p = p9_reserve(out, len);
    if (p && len)
        memcpy(p, s, len);
}

void p9_putqid(struct p9_out *out, const struct p9_qid *q)
{
    p9_put8(out, q->type);
    p9_put32(out, q->version);
    p9_put64(out, q->path);
}
