/*
 * TensorProto to weft tensor (onnx/onnx_tensor.h). Raw data is
 * little-endian as the ONNX format defines it; it is decoded byte by byte
 * so that the host's byte order does not matter, except that FLOAT and
 * INT64 on a little-endian host (the weights of nearly every model) are
 * already weft's layout: they are copied whole, or their buffer is taken
 * over, since page-faulting fresh copies of a large model's weights is
 * most of the time it takes to load.
 */
/* realpath() is X/Open, beyond the POSIX level the build asks for. */
#define _XOPEN_SOURCE 700
#include "onnx/onnx_tensor.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/util.h"
#include "graph/op_params.h"

const char *weft_onnx_dtype_name(int32_t code, char buf[24])
{
    static const char *const names[] = {"UNDEFINED", "FLOAT",   "UINT8",     "INT8",
                                        "UINT16",    "INT16",   "INT32",     "INT64",
                                        "STRING",    "BOOL",    "FLOAT16",   "DOUBLE",
                                        "UINT32",    "UINT64",  "COMPLEX64", "COMPLEX128",
                                        "BFLOAT16"};
    if (code >= 0 && (size_t)code < WEFT_COUNTOF(names))
        return names[code];
    snprintf(buf, 24, "type %d", (int)code);
    return buf;
}

weft_dtype weft_onnx_dtype(int32_t code)
{
    switch (code) {
    case WEFT_ONNX_FLOAT: case WEFT_ONNX_DOUBLE: case WEFT_ONNX_FLOAT16: case WEFT_ONNX_BFLOAT16:
        return WEFT_FLOAT32;
    case WEFT_ONNX_INT64: case WEFT_ONNX_INT32: case WEFT_ONNX_INT16: case WEFT_ONNX_INT8:
    case WEFT_ONNX_UINT8: case WEFT_ONNX_UINT16: case WEFT_ONNX_UINT32: case WEFT_ONNX_UINT64:
    case WEFT_ONNX_BOOL:
        return WEFT_INT64;
    default:
        return (weft_dtype)0;
    }
}

/* Bytes of one element in raw_data. */
static size_t wire_size(int32_t code)
{
    switch (code) {
    case WEFT_ONNX_UINT8: case WEFT_ONNX_INT8: case WEFT_ONNX_BOOL:
        return 1;
    case WEFT_ONNX_UINT16: case WEFT_ONNX_INT16: case WEFT_ONNX_FLOAT16: case WEFT_ONNX_BFLOAT16:
        return 2;
    case WEFT_ONNX_FLOAT: case WEFT_ONNX_INT32: case WEFT_ONNX_UINT32:
        return 4;
    default:
        return 8;
    }
}

/* The typed field that may carry elements of `code` (onnx.proto's comments
 * on each field say which types it holds). */
typedef enum field { F_FLOAT, F_INT32, F_INT64, F_DOUBLE, F_UINT64 } field;

static field typed_field(int32_t code)
{
    switch (code) {
    case WEFT_ONNX_FLOAT: return F_FLOAT;
    case WEFT_ONNX_INT64: return F_INT64;
    case WEFT_ONNX_DOUBLE: return F_DOUBLE;
    case WEFT_ONNX_UINT32: case WEFT_ONNX_UINT64: return F_UINT64;
    default: return F_INT32; /* the narrow ints, bool, float16, bfloat16 */
    }
}

static const char *const field_names[] = {"float_data", "int32_data", "int64_data", "double_data",
                                          "uint64_data"};

static size_t field_count(const WeftOnnx__TensorProto *tp, field f)
{
    switch (f) {
    case F_FLOAT: return tp->n_float_data;
    case F_INT32: return tp->n_int32_data;
    case F_INT64: return tp->n_int64_data;
    case F_DOUBLE: return tp->n_double_data;
    default: return tp->n_uint64_data;
    }
}

static float half_to_float(uint32_t h)
{
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float v;
    if (exp == 0)
        v = ldexpf((float)mant, -24);
    else if (exp == 31)
        v = mant ? NAN : INFINITY;
    else
        v = ldexpf((float)(mant | 0x400), (int)exp - 25);
    return (h & 0x8000) ? -v : v;
}

static float bits_to_float(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static uint64_t le_bytes(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Element k's bits, from raw bytes or from the typed field. */
typedef struct source {
    const WeftOnnx__TensorProto *tp;
    const uint8_t *raw; /* NULL: the typed field */
    field f;
} source;

static uint64_t element_bits(const source *s, int32_t code, size_t k)
{
    if (s->raw) {
        size_t n = wire_size(code);
        return le_bytes(s->raw + k * n, n);
    }
    switch (s->f) {
    case F_FLOAT: {
        uint32_t b;
        memcpy(&b, &s->tp->float_data[k], sizeof b);
        return b;
    }
    case F_INT32: return (uint64_t)(int64_t)s->tp->int32_data[k];
    case F_INT64: return (uint64_t)s->tp->int64_data[k];
    case F_DOUBLE: {
        uint64_t b;
        memcpy(&b, &s->tp->double_data[k], sizeof b);
        return b;
    }
    default: return s->tp->uint64_data[k];
    }
}

/* Sign-extends the low `bytes` bytes of v. */
static int64_t sign_extend(uint64_t v, size_t bytes)
{
    if (bytes >= 8)
        return (int64_t)v;
    uint64_t sign = (uint64_t)1 << (8 * bytes - 1), mask = (sign << 1) - 1;
    v &= mask;
    return (v & sign) ? (int64_t)(v | ~mask) : (int64_t)v;
}

static int host_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char low;
    memcpy(&low, &one, 1);
    return low == 1;
}

/* Elements of `code` whose wire bytes are already weft's float / int64. */
static int same_layout(int32_t code)
{
    return (code == WEFT_ONNX_FLOAT || code == WEFT_ONNX_INT64) && host_little_endian();
}

static weft_status convert(const source *s, int32_t code, size_t numel, void *dst,
                           const char *what)
{
    const void *whole = NULL;
    if (s->raw && same_layout(code))
        whole = s->raw;
    else if (!s->raw && code == WEFT_ONNX_FLOAT)
        whole = s->tp->float_data;
    else if (!s->raw && code == WEFT_ONNX_INT64)
        whole = s->tp->int64_data;
    if (whole) {
        if (numel)
            memcpy(dst, whole, numel * (code == WEFT_ONNX_FLOAT ? 4 : 8));
        return WEFT_OK;
    }
    float *f = dst;
    int64_t *i = dst;
    for (size_t k = 0; k < numel; k++) {
        uint64_t b = element_bits(s, code, k);
        switch (code) {
        case WEFT_ONNX_FLOAT: f[k] = bits_to_float((uint32_t)b); break;
        case WEFT_ONNX_DOUBLE: {
            double d;
            memcpy(&d, &b, sizeof d);
            f[k] = (float)d;
            break;
        }
        case WEFT_ONNX_FLOAT16: f[k] = half_to_float((uint32_t)b & 0xffff); break;
        case WEFT_ONNX_BFLOAT16: f[k] = bits_to_float(((uint32_t)b & 0xffff) << 16); break;
        case WEFT_ONNX_INT64: i[k] = (int64_t)b; break;
        case WEFT_ONNX_INT32: i[k] = sign_extend(b, 4); break;
        case WEFT_ONNX_INT16: i[k] = sign_extend(b, 2); break;
        case WEFT_ONNX_INT8: i[k] = sign_extend(b, 1); break;
        case WEFT_ONNX_UINT8: case WEFT_ONNX_BOOL: i[k] = (int64_t)(b & 0xff); break;
        case WEFT_ONNX_UINT16: i[k] = (int64_t)(b & 0xffff); break;
        case WEFT_ONNX_UINT32: i[k] = (int64_t)(b & 0xffffffffu); break;
        default: /* UINT64 */
            if (b > (uint64_t)INT64_MAX)
                return weft_fail(WEFT_ERR_UNSUPPORTED,
                                 "%s: element %zu = %llu does not fit weft's int64", what, k,
                                 (unsigned long long)b);
            i[k] = (int64_t)b;
        }
    }
    return WEFT_OK;
}

/* A non-negative decimal integer of an external_data entry. */
static int parse_count(const char *text, uint64_t *out)
{
    if (!text || !*text)
        return 0;
    uint64_t v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return 1;
}

/* base_dir/location, refused when it leaves base_dir: an absolute path, a
 * '..' component, or a symbolic link that resolves outside. *path is the
 * resolved path, malloc'd. */
static weft_status external_path(const char *base_dir, const char *location, const char *what,
                                 char **path)
{
    *path = NULL;
    if (location[0] == '/')
        return weft_fail(WEFT_ERR_MODEL_FORMAT,
                         "%s: external_data location '%s' is an absolute path; it must be "
                         "relative to the model's folder",
                         what, location);
    for (const char *p = location; *p;) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return weft_fail(WEFT_ERR_MODEL_FORMAT,
                             "%s: external_data location '%s' has a '..' component; it must stay "
                             "inside the model's folder",
                             what, location);
        p += len;
        while (*p == '/')
            p++;
    }
    char *joined = weft_path_join(base_dir, location);
    char *base = realpath(base_dir, NULL);
    char *real = joined ? realpath(joined, NULL) : NULL;
    int err = errno;
    weft_status st = WEFT_OK;
    if (!joined)
        st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "%s: no memory for a path", what);
    else if (!base || !real)
        st = weft_fail(WEFT_ERR_MODEL_FORMAT, "%s: external data file '%s' cannot be opened: %s",
                       what, joined, strerror(base ? err : errno));
    else {
        size_t n = strlen(base);
        int inside = strncmp(real, base, n) == 0 && (real[n] == '/' || (n == 1 && base[0] == '/'));
        if (!inside)
            st = weft_fail(WEFT_ERR_MODEL_FORMAT,
                           "%s: external_data location '%s' resolves to '%s', outside the "
                           "model's folder '%s'",
                           what, location, real, base);
    }
    free(joined);
    free(base);
    if (st == WEFT_OK)
        *path = real;
    else
        free(real);
    return st;
}

/* Reads the `need` bytes of tp's external data into *bytes (malloc'd). */
static weft_status read_external(const WeftOnnx__TensorProto *tp, const char *base_dir,
                                 const char *what, size_t need, uint8_t **bytes)
{
    *bytes = NULL;
    if (!base_dir)
        return weft_fail(WEFT_ERR_MODEL_FORMAT,
                         "%s: its data is in an external file, which a model loaded from memory "
                         "cannot refer to (load the model from its file)",
                         what);
    const char *location = NULL;
    uint64_t offset = 0, length = 0;
    int has_length = 0;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const WeftOnnx__StringStringEntryProto *e = tp->external_data[i];
        const char *key = e->key ? e->key : "";
        if (strcmp(key, "location") == 0) {
            location = e->value;
        } else if (strcmp(key, "offset") == 0 || strcmp(key, "length") == 0) {
            uint64_t v;
            if (!parse_count(e->value, &v))
                return weft_fail(WEFT_ERR_MODEL_FORMAT,
                                 "%s: external_data '%s' = '%s' is not a non-negative integer",
                                 what, key, e->value ? e->value : "");
            if (key[0] == 'o') {
                offset = v;
            } else {
                length = v;
                has_length = 1;
            }
        }
    }
    if (!location || !*location)
        return weft_fail(WEFT_ERR_MODEL_FORMAT, "%s: external_data has no 'location'", what);
    if (has_length && length != need)
        return weft_fail(WEFT_ERR_MODEL_FORMAT,
                         "%s: external_data 'length' = %llu but its dims need %zu bytes", what,
                         (unsigned long long)length, need);
    char *path;
    weft_status st = external_path(base_dir, location, what, &path);
    if (st != WEFT_OK)
        return st;
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = weft_fail(WEFT_ERR_MODEL_FORMAT, "%s: external data file '%s' %s", what, location,
                       f ? "is not a regular file" : "cannot be opened");
    } else if ((uint64_t)sb.st_size < offset || (uint64_t)sb.st_size - offset < need) {
        st = weft_fail(WEFT_ERR_MODEL_FORMAT,
                       "%s: external data file '%s' has %lld bytes, fewer than offset %llu + "
                       "length %zu",
                       what, location, (long long)sb.st_size, (unsigned long long)offset, need);
    } else if (need > WEFT_ONNX_MAX_FILE_BYTES) {
        st = weft_fail(WEFT_ERR_UNSUPPORTED, "%s: %zu bytes of external data exceed weft's limit",
                       what, need);
    } else if (!(*bytes = malloc(need ? need : 1))) {
        st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "%s: no memory for %zu bytes", what, need);
    } else if (need && (fseeko(f, (off_t)offset, SEEK_SET) != 0 ||
                        fread(*bytes, 1, need, f) != need)) {
        st = weft_fail(WEFT_ERR_IO, "%s: reading external data file '%s' failed", what, location);
    }
    if (f)
        fclose(f);
    free(path);
    if (st != WEFT_OK) {
        free(*bytes);
        *bytes = NULL;
    }
    return st;
}

/* The shape and element count of tp, checked. */
static weft_status tensor_shape(const WeftOnnx__TensorProto *tp, const char *what,
                                weft_shape *shape, size_t *numel)
{
    if (tp->n_dims > WEFT_MAX_RANK)
        return weft_fail(WEFT_ERR_UNSUPPORTED,
                         "%s: rank %zu (field 'dims'); weft supports up to %d", what,
                         tp->n_dims, WEFT_MAX_RANK);
    shape->rank = (int)tp->n_dims;
    uint64_t n = 1;
    for (size_t d = 0; d < tp->n_dims; d++) {
        int64_t v = tp->dims[d];
        if (v < 0)
            return weft_fail(WEFT_ERR_MODEL_FORMAT, "%s: dims[%zu] = %lld is negative", what, d,
                             (long long)v);
        /* 8-byte elements must stay addressable: the bound is on bytes. */
        if (v != 0 && n > (SIZE_MAX / 8) / (uint64_t)v)
            return weft_fail(WEFT_ERR_MODEL_FORMAT, "%s: the product of dims %s overflows",
                             what, weft_ints_str(tp->dims, tp->n_dims).s);
        n *= (uint64_t)v;
        shape->dims[d] = v;
    }
    *numel = (size_t)n;
    return WEFT_OK;
}

/* What protobuf-c allocates with when weft unpacks: the C library's, so
 * that a raw_data buffer may be taken over and later given to free(). */
static void *pc_alloc(void *unused, size_t size)
{
    (void)unused;
    return malloc(size);
}

static void pc_free(void *unused, void *p)
{
    (void)unused;
    free(p);
}

ProtobufCAllocator weft_onnx_allocator = {pc_alloc, pc_free, NULL};

/* tp_take, when not NULL, is tp itself, unpacked with weft_onnx_allocator:
 * its raw_data buffer may be moved into out. */
static weft_status from_proto(const WeftOnnx__TensorProto *tp, WeftOnnx__TensorProto *tp_take,
                              const char *base_dir, const char *what, weft_onnx_tensor *out)
{
    memset(out, 0, sizeof *out);
    char tn[24];
    int32_t code = tp->has_data_type ? tp->data_type : 0;
    weft_dtype dtype = weft_onnx_dtype(code);
    if (!dtype)
        return weft_fail(code == 0 ? WEFT_ERR_MODEL_FORMAT : WEFT_ERR_UNSUPPORTED,
                         "%s: data_type %s is %s", what, weft_onnx_dtype_name(code, tn),
                         code == 0 ? "not set" : "not supported (weft reads float and integer "
                                                 "tensors)");
    if (tp->segment)
        return weft_fail(WEFT_ERR_UNSUPPORTED, "%s: segmented tensors are not supported", what);
    weft_shape shape = {0};
    size_t numel = 0;
    weft_status st = tensor_shape(tp, what, &shape, &numel);
    if (st != WEFT_OK)
        return st;
    size_t wire = wire_size(code), need = numel * wire;
    field f = typed_field(code);
    for (int k = F_FLOAT; k <= F_UINT64; k++)
        if ((field)k != f && field_count(tp, (field)k))
            return weft_fail(WEFT_ERR_MODEL_FORMAT, "%s: field '%s' is set but data_type %s uses "
                             "'%s' or raw_data",
                             what, field_names[k], weft_onnx_dtype_name(code, tn), field_names[f]);
    int external = tp->has_data_location && tp->data_location == 1;
    if (tp->has_data_location && tp->data_location != 0 && tp->data_location != 1)
        return weft_fail(WEFT_ERR_MODEL_FORMAT, "%s: data_location = %d is unknown", what,
                         (int)tp->data_location);
    size_t typed = field_count(tp, f);
    int sources = (tp->has_raw_data && tp->raw_data.len > 0) + (typed > 0) + external;
    if (sources > 1)
        return weft_fail(WEFT_ERR_MODEL_FORMAT,
                         "%s: its data is given more than once (raw_data, %s, external data)",
                         what, field_names[f]);
    uint8_t *ext = NULL;
    source src = {.tp = tp, .f = f};
    if (external) {
        if ((st = read_external(tp, base_dir, what, need, &ext)) != WEFT_OK)
            return st;
        src.raw = ext;
    } else if (typed > 0) {
        if (typed != numel)
            return weft_fail(WEFT_ERR_MODEL_FORMAT,
                             "%s: field '%s' has %zu values but dims %s need %zu", what,
                             field_names[f], typed, weft_shape_str(&shape).s, numel);
    } else {
        size_t have = tp->has_raw_data ? tp->raw_data.len : 0;
        if (have != need)
            return weft_fail(WEFT_ERR_MODEL_FORMAT,
                             "%s: raw_data has %zu bytes but dims %s of %s need %zu", what, have,
                             weft_shape_str(&shape).s, weft_onnx_dtype_name(code, tn), need);
        src.raw = tp->raw_data.data;
    }
    size_t bytes = numel * weft_dtype_size(dtype);
    /* Bytes in weft's layout already, in a buffer of ours: taken as is. */
    int taken = 0;
    if (bytes && same_layout(code) && ext) {
        out->data = ext;
        ext = NULL;
        taken = 1;
    } else if (bytes && same_layout(code) && tp_take && src.raw &&
               src.raw == tp_take->raw_data.data) {
        out->data = tp_take->raw_data.data;
        tp_take->raw_data.data = NULL;
        tp_take->raw_data.len = 0;
        tp_take->has_raw_data = 0;
        taken = 1;
    } else {
        out->data = malloc(bytes ? bytes : 1);
    }
    out->name = weft_strdup(tp->name ? tp->name : "");
    if (!out->data || !out->name)
        st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "%s: no memory for %zu bytes", what, bytes);
    else if (!taken)
        st = convert(&src, code, numel, out->data, what);
    free(ext);
    if (st != WEFT_OK) {
        weft_onnx_tensor_free(out);
        return st;
    }
    out->dtype = dtype;
    out->shape = shape;
    out->bytes = bytes;
    return WEFT_OK;
}

weft_status weft_onnx_tensor_from_proto(const WeftOnnx__TensorProto *tp, const char *base_dir,
                                        const char *what, weft_onnx_tensor *out)
{
    return from_proto(tp, NULL, base_dir, what, out);
}

weft_status weft_onnx_tensor_take_proto(WeftOnnx__TensorProto *tp, const char *base_dir,
                                        const char *what, weft_onnx_tensor *out)
{
    return from_proto(tp, tp, base_dir, what, out);
}

weft_status weft_onnx_tensor_parse(const void *bytes, size_t size, const char *what,
                                   weft_onnx_tensor *out)
{
    memset(out, 0, sizeof *out);
    WeftOnnx__TensorProto *tp = weft_onnx__tensor_proto__unpack(&weft_onnx_allocator, size, bytes);
    if (!tp)
        return weft_fail(WEFT_ERR_MODEL_FORMAT,
                         "%s: not a valid TensorProto (truncated, or a field of the wrong wire "
                         "type)",
                         what);
    weft_status st = weft_onnx_tensor_take_proto(tp, NULL, what, out);
    weft_onnx__tensor_proto__free_unpacked(tp, &weft_onnx_allocator);
    return st;
}

weft_status weft_onnx_tensor_read_file(const char *path, weft_onnx_tensor *out)
{
    memset(out, 0, sizeof *out);
    char *data;
    size_t size;
    weft_status st = weft_file_read(path, WEFT_ONNX_MAX_FILE_BYTES, &data, &size);
    if (st != WEFT_OK)
        return st;
    char what[512];
    snprintf(what, sizeof what, "tensor file '%s'", path);
    st = weft_onnx_tensor_parse(data, size, what, out);
    free(data);
    return st;
}

void weft_onnx_tensor_free(weft_onnx_tensor *t)
{
    if (!t)
        return;
    free(t->name);
    free(t->data);
    memset(t, 0, sizeof *t);
}
