/* SHA-256 (FIPS 180-4), for the initramfs cache key: the runtime binary
 * links no libcrypto. */
#ifndef ZONE_VM_INITRAMFS_SHA256_H
#define ZONE_VM_INITRAMFS_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
    uint32_t h[8];
    uint64_t length;        /* bytes hashed so far */
    uint8_t block[64];
    size_t used;            /* bytes in block */
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
void sha256_final(struct sha256 *c, uint8_t digest[32]);

#endif
