/*
 * ONNX TensorProto messages turned into weft tensors. Shared by the
 * importer (initializers, Constant nodes) and by the tests that read the
 * .pb files of the ONNX node tests.
 *
 * weft computes in float32 and int64 only, so element types are widened
 * or narrowed as they are read: double, float16 and bfloat16 become
 * float32; the signed and unsigned integers and bool become int64 (uint64
 * values above INT64_MAX are refused). Strings, complex numbers and the
 * 8- and 4-bit float and integer types are WEFT_ERR_UNSUPPORTED.
 *
 * Every size is checked before anything is allocated: dims must be
 * non-negative, their product must not overflow, and the data present
 * (raw_data, a typed field, or external data) must hold exactly that many
 * elements; otherwise WEFT_ERR_MODEL_FORMAT names the tensor and field.
 */
#ifndef WEFT_ONNX_ONNX_TENSOR_H
#define WEFT_ONNX_ONNX_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"
#include "onnx.pb-c.h"
#include "weft.h"

/* The largest file (model, external data, .pb tensor) weft reads: the
 * protobuf format's own 2 GiB limit. */
#define WEFT_ONNX_MAX_FILE_BYTES ((size_t)2147483647)

/* ONNX TensorProto.DataType codes weft names in messages (onnx.proto). */
enum {
    WEFT_ONNX_FLOAT = 1, WEFT_ONNX_UINT8 = 2, WEFT_ONNX_INT8 = 3, WEFT_ONNX_UINT16 = 4,
    WEFT_ONNX_INT16 = 5, WEFT_ONNX_INT32 = 6, WEFT_ONNX_INT64 = 7, WEFT_ONNX_STRING = 8,
    WEFT_ONNX_BOOL = 9, WEFT_ONNX_FLOAT16 = 10, WEFT_ONNX_DOUBLE = 11, WEFT_ONNX_UINT32 = 12,
    WEFT_ONNX_UINT64 = 13, WEFT_ONNX_BFLOAT16 = 16
};

typedef struct weft_onnx_tensor {
    char *name;        /* malloc'd; "" when the proto has none */
    weft_dtype dtype;
    weft_shape shape;
    void *data;        /* malloc'd, bytes long (at least 1 byte allocated) */
    size_t bytes;
} weft_onnx_tensor;

/* "FLOAT", "INT64", ... for an ONNX data type code; "type N" otherwise
 * (into buf, which needs 24 bytes). */
const char *weft_onnx_dtype_name(int32_t code, char buf[24]);

/* The weft dtype an ONNX element type code is read as; 0 when weft cannot
 * hold it. */
weft_dtype weft_onnx_dtype(int32_t code);

/* Converts tp. `what` names it in messages ("initializer 'w'"). External
 * data is read from files under base_dir, the model's folder; base_dir
 * NULL (a model given in memory) refuses external data. On failure *out
 * is left empty and nothing leaks. */
weft_status weft_onnx_tensor_from_proto(const WeftOnnx__TensorProto *tp, const char *base_dir,
                                        const char *what, weft_onnx_tensor *out);

/* The allocator weft unpacks protobufs with (malloc and free), which lets
 * weft_onnx_tensor_take_proto keep a raw_data buffer. */
extern ProtobufCAllocator weft_onnx_allocator;

/* weft_onnx_tensor_from_proto for a tp unpacked with weft_onnx_allocator:
 * when raw_data already holds weft's layout (FLOAT or INT64 on a
 * little-endian host) out takes its buffer and tp's raw_data is left
 * empty, instead of copying it. */
weft_status weft_onnx_tensor_take_proto(WeftOnnx__TensorProto *tp, const char *base_dir,
                                        const char *what, weft_onnx_tensor *out);

/* A serialized TensorProto (a .pb file of the ONNX node tests). */
weft_status weft_onnx_tensor_parse(const void *bytes, size_t size, const char *what,
                                   weft_onnx_tensor *out);
weft_status weft_onnx_tensor_read_file(const char *path, weft_onnx_tensor *out);

void weft_onnx_tensor_free(weft_onnx_tensor *t);

#endif
