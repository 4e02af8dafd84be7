/* sha256 digests with OpenSSL's EVP API, and the one accepted digest form:
 * "sha256:" + 64 lowercase hex. Other algorithms (sha512, ...) are refused:
 * every blob in the store is addressed by sha256, so accepting another form
 * would let two names point to the same content. */
#include "images/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

struct zdigester {
    EVP_MD_CTX *ctx;
};

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int zdigest_check(const char *digest, const char *what, struct zerr *e)
{
    const char *colon;
    if (!what)
        what = "digest";
    if (!digest || !*digest)
        return zerr_set(e, EINVAL, "%s: empty digest", what);
    colon = strchr(digest, ':');
    if (!colon)
        return zerr_set(e, EINVAL, "%s: invalid digest \"%.100s\": expected sha256:<64 hex digits>",
                        what, digest);
    if ((size_t)(colon - digest) != 6 || strncmp(digest, "sha256", 6))
        return zerr_set(e, ENOTSUP, "%s: unsupported digest algorithm \"%.*s\" in \"%.100s\" "
                        "(only sha256 is supported)", what, (int)(colon - digest > 32 ? 32 : colon - digest),
                        digest, digest);
    for (size_t i = 0; i < 64; i++)
        if (!is_lower_hex(colon[1 + i]))
            return zerr_set(e, EINVAL, "%s: invalid digest \"%.100s\": expected 64 lowercase hex digits "
                            "after sha256:", what, digest);
    if (colon[65] != '\0')
        return zerr_set(e, EINVAL, "%s: invalid digest \"%.100s\": expected 64 lowercase hex digits "
                        "after sha256:", what, digest);
    return 0;
}

static void format_digest(const unsigned char *md, char out[ZDIGEST_MAX])
{
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < 32; i++) {
        out[7 + 2 * i] = hex[md[i] >> 4];
        out[8 + 2 * i] = hex[md[i] & 15];
    }
    out[71] = '\0';
}

void zdigest_of(const void *data, size_t len, char out[ZDIGEST_MAX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    /* EVP_Digest only fails on allocation failure inside OpenSSL. */
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
        abort();
    format_digest(md, out);
}

struct zdigester *zdigester_new(void)
{
    struct zdigester *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->ctx = EVP_MD_CTX_new();
    if (!d->ctx || !EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(d->ctx);
        free(d);
        errno = ENOMEM;
        return NULL;
    }
    return d;
}

void zdigester_update(struct zdigester *d, const void *buf, size_t len)
{
    if (len && !EVP_DigestUpdate(d->ctx, buf, len))
        abort();
}

void zdigester_final(struct zdigester *d, char out[ZDIGEST_MAX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_DigestFinal_ex(d->ctx, md, &mdlen) || mdlen != 32)
        abort();
    format_digest(md, out);
    /* ready for another round */
    if (!EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL))
        abort();
}

void zdigester_free(struct zdigester *d)
{
    if (!d)
        return;
    EVP_MD_CTX_free(d->ctx);
    free(d);
}
