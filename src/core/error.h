/*
 * Per-thread failure messages. weft_fail() formats the message for
 * weft_last_error() and returns the status, so error paths read
 * `return weft_fail(WEFT_ERR_..., "...", ...);`.
 */
#ifndef WEFT_CORE_ERROR_H
#define WEFT_CORE_ERROR_H

#include "weft.h"

#if defined(__GNUC__)
#define WEFT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define WEFT_PRINTF(a, b)
#endif

/* Capacity of the per-thread message; longer messages (build logs) are
 * truncated with a note. */
#define WEFT_ERROR_CAPACITY 16384

weft_status weft_fail(weft_status status, const char *fmt, ...) WEFT_PRINTF(2, 3);
/* Appends to the current message (e.g. a build log after its headline). */
void weft_fail_append(const char *fmt, ...) WEFT_PRINTF(1, 2);

#endif
