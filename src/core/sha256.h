/* SHA-256 (FIPS 180-4), for cache keys and integrity checks. */
#ifndef WEFT_CORE_SHA256_H
#define WEFT_CORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct weft_sha256 {
    uint32_t state[8];
    uint64_t length;       /* bytes hashed so far */
    uint8_t block[64];
    size_t used;           /* bytes waiting in block */
} weft_sha256;

void weft_sha256_init(weft_sha256 *h);
void weft_sha256_update(weft_sha256 *h, const void *data, size_t size);
/* Hashes a string with its length first, so ("ab","c") != ("a","bc"). */
void weft_sha256_update_field(weft_sha256 *h, const char *s);
void weft_sha256_final(weft_sha256 *h, uint8_t digest[32]);
void weft_sha256_digest(const void *data, size_t size, uint8_t digest[32]);
/* 64 lowercase hex digits and a NUL. */
void weft_sha256_hex(const uint8_t digest[32], char hex[65]);

#endif
