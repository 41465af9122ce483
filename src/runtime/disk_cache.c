#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/sha256.h"
#include "core/util.h"
#include "runtime/disk_cache.h"

static const char MAGIC[8] = {'W', 'E', 'F', 'T', 'P', 'R', 'G', '\n'};

enum {
    OFF_MAGIC = 0,
    OFF_FORMAT = 8,
    OFF_KEY = 12,
    OFF_SIZE = 44,
    OFF_DIGEST = 52,
    HEADER_SIZE = 84
};

/* A program binary larger than this is not one we wrote. */
#define MAX_ENTRY_BYTES ((size_t)512 << 20)

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Reads a whole entry without touching the thread's error message: a bad
 * entry is a cache miss, not a failure. 0 or an errno value. */
static int read_entry(const char *path, char **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno;
    int err = 0;
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        len = ftell(f);
    char *buf = NULL;
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0)
        err = EIO;
    else if ((size_t)len > MAX_ENTRY_BYTES + HEADER_SIZE)
        err = EFBIG;
    else if (!(buf = malloc((size_t)len + 1)))
        err = ENOMEM;
    else if (fread(buf, 1, (size_t)len, f) != (size_t)len)
        err = EIO;
    fclose(f);
    if (err) {
        free(buf);
        return err;
    }
    *data = buf;
    *size = (size_t)len;
    return 0;
}

char *weft_disk_cache_path(const char *dir, const uint8_t key[32])
{
    char name[64 + 5];
    weft_sha256_hex(key, name);
    memcpy(name + 64, ".bin", 5);
    return weft_path_join(dir, name);
}

weft_disk_lookup weft_disk_cache_read(const char *dir, const uint8_t key[32],
                                      unsigned char **binary, size_t *size, const char **why)
{
    *binary = NULL;
    *size = 0;
    *why = "";
    char *path = weft_disk_cache_path(dir, key);
    if (!path) {
        *why = "out of memory";
        return WEFT_DISK_ABSENT;
    }
    char *data = NULL;
    size_t n = 0;
    int err = read_entry(path, &data, &n);
    free(path);
    if (err) {
        /* ENOTDIR: a part of the folder path is a file, so no entry can
         * exist there; that is a miss, not a corrupt entry. */
        int absent = err == ENOENT || err == ENOTDIR;
        *why = absent ? "no entry" : err == EFBIG ? "entry too large" : "entry unreadable";
        return absent ? WEFT_DISK_ABSENT : WEFT_DISK_CORRUPT;
    }
    const unsigned char *p = (const unsigned char *)data;
    uint8_t digest[32];
    weft_disk_lookup result = WEFT_DISK_CORRUPT;
    if (n < HEADER_SIZE)
        *why = "truncated header";
    else if (memcmp(p + OFF_MAGIC, MAGIC, sizeof MAGIC) != 0)
        *why = "wrong magic";
    else if (p[OFF_FORMAT] != (WEFT_CACHE_FORMAT & 0xff) || p[OFF_FORMAT + 1] ||
             p[OFF_FORMAT + 2] || p[OFF_FORMAT + 3])
        *why = "other cache format";
    else if (memcmp(p + OFF_KEY, key, 32) != 0)
        *why = "key mismatch";
    else if (get_u64(p + OFF_SIZE) != n - HEADER_SIZE)
        *why = "size mismatch (truncated?)";
    else {
        weft_sha256_digest(p + HEADER_SIZE, n - HEADER_SIZE, digest);
        if (memcmp(digest, p + OFF_DIGEST, 32) != 0)
            *why = "checksum mismatch";
        else if (n == HEADER_SIZE)
            *why = "empty binary";
        else
            result = WEFT_DISK_FOUND;
    }
    if (result != WEFT_DISK_FOUND) {
        free(data);
        return result;
    }
    /* Hand back the payload alone, moved to the front of the buffer. */
    memmove(data, data + HEADER_SIZE, n - HEADER_SIZE);
    *binary = (unsigned char *)data;
    *size = n - HEADER_SIZE;
    return WEFT_DISK_FOUND;
}

weft_status weft_disk_cache_write(const char *dir, const uint8_t key[32],
                                  const unsigned char *binary, size_t size)
{
    int err = weft_mkdirs(dir);
    if (err)
        return weft_fail(WEFT_ERR_IO, "cannot create cache folder '%s': %s", dir, strerror(err));
    unsigned char *entry = malloc(HEADER_SIZE + size);
    if (!entry)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for a cache entry");
    memcpy(entry + OFF_MAGIC, MAGIC, sizeof MAGIC);
    put_u32(entry + OFF_FORMAT, WEFT_CACHE_FORMAT);
    memcpy(entry + OFF_KEY, key, 32);
    put_u64(entry + OFF_SIZE, size);
    weft_sha256_digest(binary, size, entry + OFF_DIGEST);
    memcpy(entry + HEADER_SIZE, binary, size);
    char *path = weft_disk_cache_path(dir, key);
    weft_status st = path ? weft_file_write_atomic(path, entry, HEADER_SIZE + size)
                          : weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for a cache path");
    free(path);
    free(entry);
    return st;
}
