/*
 * .npy reading and writing. The header dict is parsed by a small scanner
 * that accepts exactly the three keys numpy writes, each once, in any
 * order; anything else is refused with the field named.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/npy.h"
#include "core/error.h"
#include "core/tensor.h"
#include "core/util.h"

static const char magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

int weft_npy_is_npy(const void *bytes, size_t size)
{
    return size >= sizeof magic && memcmp(bytes, magic, sizeof magic) == 0;
}

typedef struct scanner {
    const char *p, *end;
    const char *what;
} scanner;

static void skip_space(scanner *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int accept(scanner *s, char c)
{
    skip_space(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return 1;
    }
    return 0;
}

static weft_status bad(const scanner *s, const char *msg)
{
    return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: malformed .npy header: %s", s->what, msg);
}

/* A quoted Python string without escapes, into buf. */
static weft_status scan_string(scanner *s, char *buf, size_t cap, const char *field)
{
    skip_space(s);
    if (s->p >= s->end || (*s->p != '\'' && *s->p != '"'))
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: malformed .npy header: %s is not a quoted string",
                         s->what, field);
    char quote = *s->p++;
    size_t n = 0;
    while (s->p < s->end && *s->p != quote) {
        if (*s->p == '\\' || n + 1 >= cap)
            return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                             "%s: malformed .npy header: %s is too long or has escapes", s->what,
                             field);
        buf[n++] = *s->p++;
    }
    if (s->p >= s->end)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: malformed .npy header: %s is unterminated",
                         s->what, field);
    s->p++;
    buf[n] = '\0';
    return WEFT_OK;
}

static int scan_word(scanner *s, const char *word)
{
    skip_space(s);
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) >= n && memcmp(s->p, word, n) == 0) {
        s->p += n;
        return 1;
    }
    return 0;
}

/* (d0, d1, ...) with a trailing comma allowed; each dim a plain decimal. */
static weft_status scan_shape(scanner *s, weft_npy *npy)
{
    if (!accept(s, '('))
        return bad(s, "'shape' is not a tuple");
    npy->rank = 0;
    for (;;) {
        if (accept(s, ')'))
            return WEFT_OK;
        skip_space(s);
        if (s->p >= s->end || *s->p < '0' || *s->p > '9')
            return bad(s, "'shape' holds something other than non-negative integers");
        if (npy->rank >= WEFT_MAX_RANK)
            return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                             "%s: .npy 'shape' has more than %d dimensions", s->what, WEFT_MAX_RANK);
        int64_t d = 0;
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
            if (d > (INT64_MAX - 9) / 10)
                return bad(s, "a 'shape' dimension is too large");
            d = d * 10 + (*s->p++ - '0');
        }
        npy->dims[npy->rank++] = d;
        if (!accept(s, ',')) {
            if (!accept(s, ')'))
                return bad(s, "'shape' is not a tuple of integers");
            return WEFT_OK;
        }
    }
}

static weft_status parse_dict(scanner *s, weft_npy *npy)
{
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0;
    char descr[16] = "";
    if (!accept(s, '{'))
        return bad(s, "it is not a dict");
    while (!accept(s, '}')) {
        char key[32];
        weft_status st = scan_string(s, key, sizeof key, "a key");
        if (st != WEFT_OK)
            return st;
        if (!accept(s, ':'))
            return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                             "%s: malformed .npy header: no ':' after '%s'", s->what, key);
        int *seen;
        if (strcmp(key, "descr") == 0) {
            seen = &have_descr;
            st = scan_string(s, descr, sizeof descr, "'descr'");
        } else if (strcmp(key, "fortran_order") == 0) {
            seen = &have_order;
            if (scan_word(s, "True"))
                fortran = 1;
            else if (!scan_word(s, "False"))
                st = bad(s, "'fortran_order' is neither True nor False");
        } else if (strcmp(key, "shape") == 0) {
            seen = &have_shape;
            st = scan_shape(s, npy);
        } else {
            return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                             "%s: malformed .npy header: unknown key '%s'", s->what, key);
        }
        if (st != WEFT_OK)
            return st;
        if (*seen)
            return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                             "%s: malformed .npy header: key '%s' appears twice", s->what, key);
        *seen = 1;
        if (!accept(s, ',')) {
            if (!accept(s, '}'))
                return bad(s, "no ',' or '}' after a value");
            break;
        }
    }
    skip_space(s);
    if (s->p != s->end)
        return bad(s, "text after the dict");
    if (!have_descr || !have_order || !have_shape)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: malformed .npy header: no '%s'", s->what,
                         !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    if (strcmp(descr, "<f4") == 0)
        npy->dtype = WEFT_FLOAT32;
    else if (strcmp(descr, "<i8") == 0)
        npy->dtype = WEFT_INT64;
    else
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                         "%s: .npy dtype '%s' is not supported (float32 '<f4' or int64 '<i8'; "
                         "use arr.astype(np.float32))",
                         s->what, descr);
    int big = 0; /* dims above 1: Fortran order is C order with at most one */
    for (int d = 0; d < npy->rank; d++)
        big += npy->dims[d] > 1;
    if (fortran && big > 1)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                         "%s: the .npy array is in Fortran order; save it in C order "
                         "(np.ascontiguousarray)",
                         s->what);
    return WEFT_OK;
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

weft_status weft_npy_parse(const void *bytes, size_t size, const char *what, weft_npy *npy)
{
    const unsigned char *b = bytes;
    memset(npy, 0, sizeof *npy);
    if (!what)
        what = "(array)";
    if (!bytes || !weft_npy_is_npy(bytes, size))
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: not a .npy file (no \\x93NUMPY magic)",
                         what);
    if (size < 10)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: .npy file truncated in its preamble",
                         what);
    unsigned major = b[6];
    size_t header_len, start;
    if (major == 1) {
        header_len = (size_t)b[8] | (size_t)b[9] << 8;
        start = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12)
            return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                             "%s: .npy file truncated in its preamble", what);
        header_len = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        start = 12;
    } else {
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: .npy version %u.%u is not supported",
                         what, major, (unsigned)b[7]);
    }
    if (header_len > size - start)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                         "%s: .npy header length %zu runs past the end of the %zu-byte file", what,
                         header_len, size);
    scanner s = {(const char *)b + start, (const char *)b + start + header_len, what};
    weft_status st = parse_dict(&s, npy);
    if (st != WEFT_OK)
        return st;
    if (!host_is_little_endian())
        return weft_fail(WEFT_ERR_UNSUPPORTED, "%s: little-endian .npy data on a big-endian host",
                         what);
    weft_shape shape = {.rank = npy->rank};
    memcpy(shape.dims, npy->dims, sizeof npy->dims);
    int64_t numel = weft_shape_numel(&shape);
    size_t elem = weft_dtype_size(npy->dtype);
    if (numel < 0 || (uint64_t)numel > SIZE_MAX / elem)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: .npy shape %s is too large", what,
                         weft_shape_str(&shape).s);
    npy->data_offset = start + header_len;
    npy->data_bytes = (size_t)numel * elem;
    if (size - npy->data_offset != npy->data_bytes)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                         "%s: .npy data is %zu bytes, but shape %s of %s needs %zu", what,
                         size - npy->data_offset, weft_shape_str(&shape).s,
                         weft_dtype_name(npy->dtype), npy->data_bytes);
    return WEFT_OK;
}

weft_status weft_npy_write(const char *path, weft_dtype dtype, int rank, const int64_t *dims,
                           const void *data)
{
    const char *descr = dtype == WEFT_FLOAT32 ? "<f4" : dtype == WEFT_INT64 ? "<i8" : NULL;
    if (!descr || rank < 0 || rank > WEFT_MAX_RANK || (rank && !dims))
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_npy_write: unsupported tensor for '%s'",
                         path);
    weft_shape shape = {.rank = rank};
    for (int d = 0; d < rank; d++)
        shape.dims[d] = dims[d];
    int64_t numel = weft_shape_numel(&shape);
    if (numel < 0)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_npy_write: bad shape for '%s'", path);
    char header[64 + WEFT_MAX_RANK * 22];
    int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     descr);
    for (int d = 0; d < rank; d++)
        n += snprintf(header + n, sizeof header - (size_t)n, "%s%lld", d ? ", " : "",
                      (long long)dims[d]);
    n += snprintf(header + n, sizeof header - (size_t)n, "%s), }", rank == 1 ? "," : "");
    /* Spaces then '\n' so the data starts at a multiple of 64 bytes. */
    size_t total_header = ((size_t)10 + (size_t)n + 1 + 63) / 64 * 64;
    size_t header_len = total_header - 10;
    size_t data_bytes = (size_t)numel * weft_dtype_size(dtype);
    unsigned char *buf = malloc(total_header + data_bytes);
    if (!buf)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory to write '%s'", path);
    memcpy(buf, magic, sizeof magic);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (unsigned char)(header_len & 0xff);
    buf[9] = (unsigned char)(header_len >> 8);
    memcpy(buf + 10, header, (size_t)n);
    memset(buf + 10 + n, ' ', header_len - (size_t)n - 1);
    buf[total_header - 1] = '\n';
    if (data_bytes)
        memcpy(buf + total_header, data, data_bytes);
    weft_status st = weft_file_write_atomic(path, buf, total_header + data_bytes);
    free(buf);
    return st;
}
