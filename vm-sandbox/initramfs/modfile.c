/* Module files as finit_module(2) wants them: plain ELF. Debian 12's
 * kernels ship uncompressed modules and have no in-kernel decompression;
 * other kernels ship .ko.xz or .ko.zst, decompressed here with liblzma and
 * libzstd (by content magic, not by name), every output bounded. */
#include "vm-sandbox/initramfs/initramfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lzma.h>
#include <zstd.h>

#include "core/path.h"

static const uint8_t xz_magic[6] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };
static const uint8_t zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
static const uint8_t elf_magic[4] = { 0x7f, 'E', 'L', 'F' };

/* Grows *buf (capacity *cap) for more output; refuses past max. */
static int grow(uint8_t **buf, size_t *cap, size_t max, struct zerr *e)
{
    size_t ncap = *cap ? *cap * 2 : 1 << 20;
    uint8_t *n;
    if (*cap >= max)
        return zerr_set(e, EFBIG, "decompressed module larger than %zu bytes", max);
    if (ncap > max)
        ncap = max;
    n = realloc(*buf, ncap);
    if (!n)
        return zerr_set(e, ENOMEM, "decompressing a module: out of memory");
    *buf = n;
    *cap = ncap;
    return 0;
}

static int unxz(const uint8_t *in, size_t in_len, size_t max, uint8_t **out, size_t *out_len, struct zerr *e)
{
    lzma_stream s = LZMA_STREAM_INIT;
    uint8_t *buf = NULL;
    size_t cap = 0;
    lzma_ret ret;
    if (lzma_stream_decoder(&s, 256u << 20, 0) != LZMA_OK)
        return zerr_set(e, ENOMEM, "xz: cannot set up the decoder");
    s.next_in = in;
    s.avail_in = in_len;
    do {
        if (s.avail_out == 0) {
            size_t used = cap;
            if (grow(&buf, &cap, max, e) < 0)
                goto fail;
            s.next_out = buf + used;
            s.avail_out = cap - used;
        }
        ret = lzma_code(&s, LZMA_FINISH);
    } while (ret == LZMA_OK);
    if (ret != LZMA_STREAM_END) {
        zerr_set(e, EINVAL, "xz: corrupt or truncated data (liblzma error %d)", (int)ret);
        goto fail;
    }
    *out_len = cap - s.avail_out;
    *out = buf;
    lzma_end(&s);
    return 0;
fail:
    lzma_end(&s);
    free(buf);
    return -1;
}

static int unzstd(const uint8_t *in, size_t in_len, size_t max, uint8_t **out, size_t *out_len,
                  struct zerr *e)
{
    ZSTD_DStream *d = ZSTD_createDStream();
    ZSTD_inBuffer ib = { in, in_len, 0 };
    ZSTD_outBuffer ob = { NULL, 0, 0 };
    uint8_t *buf = NULL;
    size_t cap = 0, ret = 1;
    if (!d)
        return zerr_set(e, ENOMEM, "zstd: cannot set up the decoder");
    ZSTD_initDStream(d);
    /* ret is 0 when a frame is complete; input left after it would be a
     * second frame, which modules do not have */
    while (ret != 0) {
        if (ob.pos == ob.size) {
            if (grow(&buf, &cap, max, e) < 0)
                goto fail;
            ob.dst = buf;
            ob.size = cap;
        }
        ret = ZSTD_decompressStream(d, &ob, &ib);
        if (ZSTD_isError(ret)) {
            zerr_set(e, EINVAL, "zstd: %s", ZSTD_getErrorName(ret));
            goto fail;
        }
        if (ret != 0 && ib.pos == ib.size && ob.pos < ob.size) {
            zerr_set(e, EINVAL, "zstd: truncated data");
            goto fail;
        }
    }
    if (ib.pos != ib.size) {
        zerr_set(e, EINVAL, "zstd: %zu bytes after the frame", ib.size - ib.pos);
        goto fail;
    }
    ZSTD_freeDStream(d);
    *out = buf;
    *out_len = ob.pos;
    return 0;
fail:
    ZSTD_freeDStream(d);
    free(buf);
    return -1;
}

int modfile_decompress(const uint8_t *in, size_t in_len, size_t max, uint8_t **out, size_t *out_len,
                       struct zerr *e)
{
    int rc;
    *out = NULL;
    *out_len = 0;
    if (in_len >= sizeof xz_magic && !memcmp(in, xz_magic, sizeof xz_magic))
        rc = unxz(in, in_len, max, out, out_len, e);
    else if (in_len >= sizeof zstd_magic && !memcmp(in, zstd_magic, sizeof zstd_magic))
        rc = unzstd(in, in_len, max, out, out_len, e);
    else
        return zerr_set(e, EINVAL, "neither xz nor zstd data");
    if (rc == 0 && (*out_len < sizeof elf_magic || memcmp(*out, elf_magic, sizeof elf_magic))) {
        free(*out);
        *out = NULL;
        return zerr_set(e, EINVAL, "decompressed data is not an ELF module");
    }
    return rc;
}

int modfile_read(const char *path, uint8_t **data, size_t *len, struct zerr *e)
{
    size_t n;
    uint8_t *raw = (uint8_t *)zfile_read(path, INITRAMFS_MODULE_MAX, &n, e);
    *data = NULL;
    *len = 0;
    if (!raw)
        return -1;
    if (n >= sizeof elf_magic && !memcmp(raw, elf_magic, sizeof elf_magic)) {
        *data = raw;
        *len = n;
        return 0;
    }
    if (modfile_decompress(raw, n, INITRAMFS_MODULE_MAX, data, len, e) < 0) {
        free(raw);
        return zerr_prefix(e, "%s", path);
    }
    free(raw);
    return 0;
}
