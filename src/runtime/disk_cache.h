/*
 * Program binaries on disk: one file per key, named by the key's hex,
 * holding a header (magic, format number, key, payload size and SHA-256)
 * and the binary. Entries are written to a temporary file and renamed, so
 * a reader sees a whole entry or none; anything that fails a check is
 * reported as corrupt and the caller rebuilds.
 */
#ifndef WEFT_RUNTIME_DISK_CACHE_H
#define WEFT_RUNTIME_DISK_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "weft.h"

/* Bump when the entry layout or the key's fields change: older entries
 * then stop matching and are rebuilt. */
#define WEFT_CACHE_FORMAT 1u

typedef enum weft_disk_lookup {
    WEFT_DISK_FOUND,   /* *binary holds the payload */
    WEFT_DISK_ABSENT,  /* no entry */
    WEFT_DISK_CORRUPT  /* an entry that failed a check; *why says which */
} weft_disk_lookup;

/* *path is malloc'd: DIR/HEX.bin. NULL when out of memory. */
char *weft_disk_cache_path(const char *dir, const uint8_t key[32]);

weft_disk_lookup weft_disk_cache_read(const char *dir, const uint8_t key[32],
                                      unsigned char **binary, size_t *size,
                                      const char **why);

/* Creates the folder when needed. WEFT_ERR_IO (message set) on failure. */
weft_status weft_disk_cache_write(const char *dir, const uint8_t key[32],
                                  const unsigned char *binary, size_t size);

#endif
