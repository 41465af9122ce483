/* Small string, file and clock helpers shared by every room. */
#ifndef WEFT_CORE_UTIL_H
#define WEFT_CORE_UTIL_H

#include <stddef.h>

#include "weft.h"

#define WEFT_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/* Milliseconds on a monotonic clock: only differences mean anything. */
double weft_now_ms(void);

int weft_str_ieq(const char *a, const char *b);
/* Case-insensitive substring test (ASCII). */
int weft_str_icontains(const char *haystack, const char *needle);
/* malloc'd copy, NULL on failure or NULL input. */
char *weft_strdup(const char *s);
/* malloc'd "a/b"; NULL when out of memory. */
char *weft_path_join(const char *a, const char *b);

/* Creates a folder and its parents (mode 0755). 0 on success, else errno. */
int weft_mkdirs(const char *path);
/* Reads a whole file; *data is malloc'd (with a NUL after the bytes).
 * WEFT_ERR_IO when it cannot be read. max_bytes bounds the allocation. */
weft_status weft_file_read(const char *path, size_t max_bytes, char **data,
                           size_t *size);
/* Writes through a temporary file in the same folder and renames it over
 * path, so readers never see a partial file. WEFT_ERR_IO on failure, with
 * nothing left behind. */
weft_status weft_file_write_atomic(const char *path, const void *data,
                                   size_t size);

#endif
