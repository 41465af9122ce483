#include <stdio.h>
#include <string.h>

#include "core/tensor.h"

size_t weft_dtype_size(weft_dtype dtype)
{
    switch (dtype) {
    case WEFT_FLOAT32: return 4;
    case WEFT_INT64: return 8;
    }
    return 0;
}

const char *weft_dtype_name(weft_dtype dtype)
{
    switch (dtype) {
    case WEFT_FLOAT32: return "float32";
    case WEFT_INT64: return "int64";
    }
    return "unknown";
}

int64_t weft_shape_numel(const weft_shape *s)
{
    /* Elements are at most 8 bytes: keep n * 8 within int64 and size_t. */
    const int64_t limit = (int64_t)((SIZE_MAX / 8) < (uint64_t)(INT64_MAX / 8)
                                        ? SIZE_MAX / 8
                                        : (uint64_t)(INT64_MAX / 8));
    int64_t n = 1;
    int zero = 0;
    for (int i = 0; i < s->rank; i++) {
        int64_t d = s->dims[i];
        if (d < 0)
            return -1;
        if (d == 0)
            zero = 1;
        else if (n > limit / d)
            return -1;
        else
            n *= d;
    }
    return zero ? 0 : n;
}

int weft_shape_equal(const weft_shape *a, const weft_shape *b)
{
    if (a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return 0;
    return 1;
}

weft_status weft_shape_broadcast(const weft_shape *a, const weft_shape *b, weft_shape *out)
{
    weft_shape r;
    r.rank = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < r.rank; i++) {
        int ia = i - (r.rank - a->rank), ib = i - (r.rank - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1;
        int64_t db = ib >= 0 ? b->dims[ib] : 1;
        if (da == db || db == 1)
            r.dims[i] = da;
        else if (da == 1)
            r.dims[i] = db;
        else
            return WEFT_ERR_SHAPE;
    }
    *out = r;
    return WEFT_OK;
}

char *weft_shape_format(const weft_shape *s, char *buf, size_t cap)
{
    size_t at = 0;
    int n = snprintf(buf, cap, "[");
    at = n > 0 ? (size_t)n : 0;
    for (int i = 0; i < s->rank && at < cap; i++) {
        n = snprintf(buf + at, cap - at, "%s%lld", i ? "," : "", (long long)s->dims[i]);
        at += n > 0 ? (size_t)n : 0;
    }
    if (at < cap)
        snprintf(buf + at, cap - at, "]");
    return buf;
}

void weft_shape_strides(const weft_shape *s, int64_t strides[WEFT_MAX_RANK])
{
    int64_t st = 1;
    for (int i = s->rank - 1; i >= 0; i--) {
        strides[i] = st;
        st *= s->dims[i];
    }
}
