/*
 * Kernel self-check: runs the cl/selfcheck.cl kernels on random data and
 * compares with plain C. Exposed with explicit sizes so the tests (and
 * oclgrind runs) can force small or odd work-group sizes.
 */
#ifndef WEFT_RUNTIME_SELF_CHECK_H
#define WEFT_RUNTIME_SELF_CHECK_H

#include <stddef.h>

#include "weft.h"

/* y = a*x + y over n elements; local 0 lets the runtime choose. */
weft_status weft_self_check_axpy(weft_context *ctx, size_t device, size_t n, size_t local);
/* Sum of n elements with a work-group reduction of `local` work-items
 * (0: the kernel's limit, capped at 256) and `groups` groups (0: choose). */
weft_status weft_self_check_sum(weft_context *ctx, size_t device, size_t n, size_t local,
                                size_t groups);

#endif
