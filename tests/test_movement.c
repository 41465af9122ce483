/*
 * Data-movement ops (src/ops/movement.c, cl/movement.cl) against src/ref:
 * Concat, Split, Slice, Transpose, Pad, DepthToSpace and SpaceToDepth over
 * ranks 1 to 5 (Transpose up to 8), odd and size-1 dims, every axis
 * (negative ones too), the attribute forms of older opsets and the input
 * forms of newer ones, int64 data, and empty tensors. Also run under
 * oclgrind, so shapes stay small.
 */
#include <stdio.h>
#include <string.h>

#include "graph/graph.h"
#include "op_test.h"
#include "ops/op.h"
#include "test_common.h"

typedef struct named_case {
    const char *what;
    op_case c;
} named_case;

/* Number of int64 arguments of a macro. */
#define NARGS(...) ((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
/* A float32 graph input of the given dims, random data. */
#define T(...) {.rank = NARGS(__VA_ARGS__), .dims = {__VA_ARGS__}}
/* A constant 1-D int64 input (starts, ends, axes, steps, pads, split). */
#define C64(...)                                                                   \
    {.rank = 1, .dims = {NARGS(__VA_ARGS__)}, .constant = 1, .dtype = WEFT_INT64, \
     .i64 = (const int64_t[]){__VA_ARGS__}}
/* An absent optional input. */
#define ABSENT {.rank = -1}
/* A constant float32 scalar (Pad's constant_value). */
#define CF32(v) {.rank = 0, .constant = 1, .f32 = (const float[]){v}}
/* An int64 graph input of the given dims (data from iota below). */
#define I64(...) {.rank = NARGS(__VA_ARGS__), .dims = {__VA_ARGS__}, .dtype = WEFT_INT64, .i64 = iota}

#define ATTR_I(n, v) {.name = (n), .type = 'i', .i = (v)}
#define ATTR_S(n, v) {.name = (n), .type = 's', .s = (v)}
#define ATTR_F(n, v) {.name = (n), .type = 'f', .f = (v)}
#define ATTR_INTS(n, ...) {.name = (n), .type = 'I', .ints = {__VA_ARGS__}, .count = NARGS(__VA_ARGS__)}
#define AXIS(a) ATTR_I("axis", a)

/* Distinct int64 values for int64 inputs; larger than any such input. */
static const int64_t iota[] = {
    0,  -1, 2,  -3, 4,  -5, 6,  -7, 8,  -9, 10, -11, 12, -13, 14, -15, 16, -17, 19, 23,
    29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73,  79, 83,  89, 97,  1LL << 40, -(1LL << 41),
    INT64_MAX, INT64_MIN, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
    173, 179, 181, 191, 193, 197, 199, 211, 223, 227,
};

static void run_table(void **state, const named_case *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        char label[128];
        snprintf(label, sizeof label, "%s #%zu: %s", cases[i].c.op, i, cases[i].what);
        run_op_case(*state, &cases[i].c, label);
    }
}

#define RUN(state, table) run_table(state, table, sizeof table / sizeof table[0])

/* ---- Concat ------------------------------------------------------------------ */

static const named_case concat_cases[] = {
    {"one input", {.op = "Concat", .inputs = 1, .in = {T(7)}, .attrs = {AXIS(0)}}},
    {"rank 1, five inputs", {.op = "Concat", .inputs = 5,
      .in = {T(1), T(3), T(5), T(2), T(7)}, .attrs = {AXIS(-1)}}},
    {"rank 2 axis 1", {.op = "Concat", .inputs = 2, .in = {T(3, 5), T(3, 2)},
      .attrs = {AXIS(1)}}},
    {"rank 2 axis -2", {.op = "Concat", .inputs = 2, .in = {T(3, 5), T(4, 5)},
      .attrs = {AXIS(-2)}}},
    {"rank 3 axis -3", {.op = "Concat", .inputs = 2, .in = {T(1, 3, 5), T(2, 3, 5)},
      .attrs = {AXIS(-3)}}},
    {"rank 3 axis 1, five inputs", {.op = "Concat", .inputs = 5,
      .in = {T(2, 1, 3), T(2, 4, 3), T(2, 2, 3), T(2, 1, 3), T(2, 3, 3)}, .attrs = {AXIS(1)}}},
    {"rank 3 axis 2", {.op = "Concat", .inputs = 2, .in = {T(2, 3, 1), T(2, 3, 4)},
      .attrs = {AXIS(2)}}},
    {"rank 4 channels", {.op = "Concat", .inputs = 2, .in = {T(2, 3, 3, 5), T(2, 5, 3, 5)},
      .attrs = {AXIS(1)}}},
    {"rank 4 axis -1, five inputs", {.op = "Concat", .inputs = 5,
      .in = {T(1, 3, 2, 1), T(1, 3, 2, 5), T(1, 3, 2, 2), T(1, 3, 2, 3), T(1, 3, 2, 1)},
      .attrs = {AXIS(-1)}}},
    {"rank 4 axis 2", {.op = "Concat", .inputs = 2, .in = {T(2, 1, 3, 3), T(2, 1, 1, 3)},
      .attrs = {AXIS(2)}}},
    {"rank 5 axis 0", {.op = "Concat", .inputs = 2, .in = {T(1, 2, 1, 3, 2), T(2, 2, 1, 3, 2)},
      .attrs = {AXIS(0)}}},
    {"rank 5 axis 2", {.op = "Concat", .inputs = 3,
      .in = {T(2, 1, 3, 2, 3), T(2, 1, 1, 2, 3), T(2, 1, 5, 2, 3)}, .attrs = {AXIS(2)}}},
    {"rank 5 axis -2", {.op = "Concat", .inputs = 2, .in = {T(2, 3, 1, 3, 3), T(2, 3, 1, 1, 3)},
      .attrs = {AXIS(-2)}}},
    {"rank 5 axis 4, five inputs", {.op = "Concat", .inputs = 5,
      .in = {T(1, 2, 1, 3, 1), T(1, 2, 1, 3, 2), T(1, 2, 1, 3, 3), T(1, 2, 1, 3, 1),
             T(1, 2, 1, 3, 4)},
      .attrs = {AXIS(4)}}},
    {"a constant input", {.op = "Concat", .inputs = 2,
      .in = {T(2, 3, 4), {.rank = 3, .dims = {2, 2, 4}, .constant = 1}}, .attrs = {AXIS(1)}}},
    {"one row of 1031 and one of 1", {.op = "Concat", .inputs = 2, .in = {T(1031), T(1)},
      .attrs = {AXIS(0)}}},
};

static void test_concat(void **state)
{
    RUN(state, concat_cases);
}

/* ---- Split ------------------------------------------------------------------- */

static const named_case split_cases[] = {
    {"rank 1 equal", {.op = "Split", .inputs = 1, .outputs = 3, .in = {T(6)}}},
    {"rank 2 axis 1 'split' input", {.op = "Split", .inputs = 2, .outputs = 3,
      .in = {T(5, 7), C64(2, 1, 4)}, .attrs = {AXIS(1)}}},
    {"rank 2 axis 0 uneven", {.op = "Split", .inputs = 2, .outputs = 2,
      .in = {T(5, 3), C64(4, 1)}}},
    {"rank 3 axis -2 'split' attribute", {.op = "Split", .inputs = 1, .outputs = 2,
      .in = {T(3, 7, 2)}, .attrs = {AXIS(-2), ATTR_INTS("split", 3, 4)}}},
    {"rank 3 axis 2 equal", {.op = "Split", .inputs = 1, .outputs = 2, .in = {T(3, 1, 6)},
      .attrs = {AXIS(2)}}},
    {"rank 4 axis 2 num_outputs", {.op = "Split", .inputs = 1, .outputs = 3,
      .in = {T(2, 3, 5, 4)}, .attrs = {AXIS(2), ATTR_I("num_outputs", 3)}}},
    {"rank 4 axis 3 equal", {.op = "Split", .inputs = 1, .outputs = 4, .in = {T(2, 1, 3, 8)},
      .attrs = {AXIS(3)}}},
    {"rank 4 axis -3 num_outputs, last short", {.op = "Split", .inputs = 1, .outputs = 4,
      .in = {T(1, 7, 2, 3)}, .attrs = {AXIS(-3), ATTR_I("num_outputs", 4)}}},
    {"rank 5 axis -1 num_outputs", {.op = "Split", .inputs = 1, .outputs = 2,
      .in = {T(2, 3, 1, 4, 5)}, .attrs = {AXIS(-1), ATTR_I("num_outputs", 2)}}},
    {"rank 5 axis 0 'split' input", {.op = "Split", .inputs = 2, .outputs = 2,
      .in = {T(4, 1, 3, 1, 2), C64(1, 3)}, .attrs = {AXIS(0)}}},
    {"rank 5 axis 3 one output", {.op = "Split", .inputs = 1, .outputs = 1,
      .in = {T(2, 1, 3, 3, 2)}, .attrs = {AXIS(3)}}},
    {"rank 5 axis -4 'split' attribute", {.op = "Split", .inputs = 1, .outputs = 3,
      .in = {T(2, 5, 1, 3, 2)}, .attrs = {AXIS(-4), ATTR_INTS("split", 1, 3, 1)}}},
};

static void test_split(void **state)
{
    RUN(state, split_cases);
}

/* ---- Slice ------------------------------------------------------------------- */

static const named_case slice_cases[] = {
    {"rank 1 step 2", {.op = "Slice", .inputs = 5,
      .in = {T(9), C64(1), C64(8), C64(0), C64(2)}}},
    {"rank 1 reversed", {.op = "Slice", .inputs = 5,
      .in = {T(9), C64(-1), C64(INT64_MIN), C64(0), C64(-1)}}},
    {"rank 1 step -3 from past the end", {.op = "Slice", .inputs = 5,
      .in = {T(10), C64(100), C64(-100), C64(-1), C64(-3)}}},
    {"rank 2 axes omitted, clamped end", {.op = "Slice", .inputs = 3,
      .in = {T(5, 7), C64(1, -3), C64(4, 1000)}}},
    {"rank 2 one axis, huge step", {.op = "Slice", .inputs = 5,
      .in = {T(4, 6), C64(2), C64(6), C64(1), C64(100)}}},
    {"rank 3 negative axes and step", {.op = "Slice", .inputs = 5,
      .in = {T(3, 5, 7), C64(5, -100), C64(0, 100), C64(-1, 0), C64(-2, 1)}}},
    {"rank 3 old-opset attributes", {.op = "Slice", .inputs = 1, .in = {T(4, 5, 6)},
      .attrs = {ATTR_INTS("starts", 1, 0), ATTR_INTS("ends", 3, INT64_MAX),
                ATTR_INTS("axes", 0, 2)}}},
    {"rank 3 old-opset attributes, axes omitted", {.op = "Slice", .inputs = 1,
      .in = {T(4, 5, 6)}, .attrs = {ATTR_INTS("starts", -2, 1), ATTR_INTS("ends", -1, -1)}}},
    {"rank 4 inner rows (collapses)", {.op = "Slice", .inputs = 4,
      .in = {T(2, 3, 5, 4), C64(1), C64(4), C64(2)}}},
    {"rank 4 size-1 dims", {.op = "Slice", .inputs = 4,
      .in = {T(1, 5, 1, 3), C64(-2), C64(INT64_MAX), C64(1)}}},
    {"rank 4 every axis reversed", {.op = "Slice", .inputs = 5,
      .in = {T(2, 3, 4, 5), C64(-1, -1, -1, -1), C64(INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN),
             C64(3, 2, 1, 0), C64(-1, -1, -1, -1)}}},
    {"rank 5 mixed steps", {.op = "Slice", .inputs = 5,
      .in = {T(2, 3, 4, 5, 3), C64(2, 4, 0), C64(-4, 0, 3), C64(1, -2, 4), C64(-1, -2, 2)}}},
    {"rank 5 start clamped below", {.op = "Slice", .inputs = 4,
      .in = {T(3, 1, 2, 5, 3), C64(-1000, 1), C64(2, 1000), C64(0, -2)}}},
    {"several work-groups", {.op = "Slice", .inputs = 5,
      .in = {T(7, 40, 9), C64(38, 1), C64(0, 8), C64(1, 2), C64(-1, 1)}}},
    {"step INT64_MIN takes one", {.op = "Slice", .inputs = 5,
      .in = {T(3, 6), C64(-1), C64(-100), C64(1), C64(INT64_MIN)}}},
};

static void test_slice(void **state)
{
    RUN(state, slice_cases);
}

/* ---- Transpose --------------------------------------------------------------- */

#define PERM(...) ATTR_INTS("perm", __VA_ARGS__)

static const named_case transpose_cases[] = {
    {"rank 1", {.op = "Transpose", .inputs = 1, .in = {T(7)}}},
    {"rank 2 default", {.op = "Transpose", .inputs = 1, .in = {T(3, 5)}}},
    {"rank 2 with a size-1 dim", {.op = "Transpose", .inputs = 1, .in = {T(1, 9)},
      .attrs = {PERM(1, 0)}}},
    {"rank 3 102", {.op = "Transpose", .inputs = 1, .in = {T(2, 3, 5)}, .attrs = {PERM(1, 0, 2)}}},
    {"rank 3 021", {.op = "Transpose", .inputs = 1, .in = {T(2, 3, 5)}, .attrs = {PERM(0, 2, 1)}}},
    {"rank 3 201", {.op = "Transpose", .inputs = 1, .in = {T(2, 3, 5)}, .attrs = {PERM(2, 0, 1)}}},
    {"rank 4 identity", {.op = "Transpose", .inputs = 1, .in = {T(2, 3, 4, 5)},
      .attrs = {PERM(0, 1, 2, 3)}}},
    {"rank 4 reversal", {.op = "Transpose", .inputs = 1, .in = {T(2, 3, 4, 5)},
      .attrs = {PERM(3, 2, 1, 0)}}},
    {"rank 4 default", {.op = "Transpose", .inputs = 1, .in = {T(2, 3, 4, 5)}}},
    {"rank 4 NCHW to NHWC", {.op = "Transpose", .inputs = 1, .in = {T(2, 3, 4, 5)},
      .attrs = {PERM(0, 2, 3, 1)}}},
    {"rank 4 NHWC to NCHW", {.op = "Transpose", .inputs = 1, .in = {T(2, 4, 5, 3)},
      .attrs = {PERM(0, 3, 1, 2)}}},
    {"rank 4 1023", {.op = "Transpose", .inputs = 1, .in = {T(3, 2, 5, 3)},
      .attrs = {PERM(1, 0, 2, 3)}}},
    {"rank 4 size-1 dims", {.op = "Transpose", .inputs = 1, .in = {T(1, 3, 1, 5)},
      .attrs = {PERM(2, 0, 3, 1)}}},
    {"rank 5 identity", {.op = "Transpose", .inputs = 1, .in = {T(2, 3, 1, 4, 3)},
      .attrs = {PERM(0, 1, 2, 3, 4)}}},
    {"rank 5 reversal", {.op = "Transpose", .inputs = 1, .in = {T(2, 3, 1, 4, 3)},
      .attrs = {PERM(4, 3, 2, 1, 0)}}},
    {"rank 5 default", {.op = "Transpose", .inputs = 1, .in = {T(3, 2, 2, 1, 5)}}},
    {"rank 5 02134", {.op = "Transpose", .inputs = 1, .in = {T(2, 3, 2, 4, 3)},
      .attrs = {PERM(0, 2, 1, 3, 4)}}},
    {"rank 5 04123", {.op = "Transpose", .inputs = 1, .in = {T(2, 3, 2, 4, 3)},
      .attrs = {PERM(0, 4, 1, 2, 3)}}},
    {"rank 5 31402", {.op = "Transpose", .inputs = 1, .in = {T(2, 3, 2, 4, 3)},
      .attrs = {PERM(3, 1, 4, 0, 2)}}},
    {"several work-groups", {.op = "Transpose", .inputs = 1, .in = {T(3, 17, 19)},
      .attrs = {PERM(2, 0, 1)}}},
    {"rank 8 reversal", {.op = "Transpose", .inputs = 1, .in = {T(2, 3, 2, 2, 1, 2, 3, 2)}}},
    {"rank 8 pairs swapped", {.op = "Transpose", .inputs = 1, .in = {T(2, 3, 2, 2, 2, 2, 3, 2)},
      .attrs = {PERM(1, 0, 3, 2, 5, 4, 7, 6)}}},
};

static void test_transpose(void **state)
{
    RUN(state, transpose_cases);
}

/* ---- Pad --------------------------------------------------------------------- */

static const named_case pad_cases[] = {
    {"rank 1 with a value", {.op = "Pad", .inputs = 3, .in = {T(5), C64(2, 3), CF32(1.5f)}}},
    {"rank 2 default value", {.op = "Pad", .inputs = 2, .in = {T(3, 4), C64(1, 0, 2, 1)}}},
    {"rank 2 crop only", {.op = "Pad", .inputs = 2, .in = {T(5, 6), C64(-2, -1, -1, -3)}}},
    {"rank 3 negative pads", {.op = "Pad", .inputs = 3,
      .in = {T(2, 3, 5), C64(0, -1, 2, 0, 1, -2), CF32(-3.0f)}}},
    {"rank 4 spatial", {.op = "Pad", .inputs = 3,
      .in = {T(1, 3, 4, 5), C64(0, 0, 1, 2, 0, 0, 1, 2), CF32(0.5f)}}},
    {"rank 4 all axes", {.op = "Pad", .inputs = 2,
      .in = {T(2, 1, 3, 2), C64(1, 2, 0, 1, 0, 1, 3, 1)}}},
    {"rank 4 old-opset attributes", {.op = "Pad", .inputs = 1, .in = {T(1, 2, 3, 3)},
      .attrs = {ATTR_INTS("pads", 0, 1, 1, 0, 0, 0, 2, -1), ATTR_F("value", 2.5f),
                ATTR_S("mode", "constant")}}},
    {"rank 4 'axes' input", {.op = "Pad", .inputs = 4,
      .in = {T(2, 3, 4, 5), C64(1, -1, 2, 0), ABSENT, C64(-1, 1)}}},
    {"rank 5 mixed", {.op = "Pad", .inputs = 3,
      .in = {T(2, 1, 3, 2, 3), C64(1, 0, 0, -1, 1, 0, 2, -1, 0, 0), CF32(7.0f)}}},
    {"rank 5 no-op", {.op = "Pad", .inputs = 2,
      .in = {T(2, 1, 3, 1, 2), C64(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)}}},
    {"value from a graph input", {.op = "Pad", .inputs = 3,
      .in = {T(2, 3), C64(1, 1, 0, 2), {.rank = 1, .dims = {1}, .f32 = (const float[]){-7.5f}}}}},
    {"several work-groups", {.op = "Pad", .inputs = 2,
      .in = {T(1, 3, 13, 11), C64(0, 0, 2, -1, 0, 0, 1, 3)}}},
    {"rank 5 inner dims only", {.op = "Pad", .inputs = 3,
      .in = {T(1, 2, 1, 3, 3), C64(0, 0, 0, 0, 2, 0, 0, 0, 0, 1), CF32(-1.0f)}}},
};

static void test_pad(void **state)
{
    RUN(state, pad_cases);
}

/* ---- DepthToSpace and SpaceToDepth -------------------------------------------- */

#define BLOCK(b) ATTR_I("blocksize", b)

static const named_case space_cases[] = {
    {"b2 default mode", {.op = "DepthToSpace", .inputs = 1, .in = {T(1, 8, 3, 5)},
      .attrs = {BLOCK(2)}}},
    {"b2 DCR", {.op = "DepthToSpace", .inputs = 1, .in = {T(2, 8, 3, 5)},
      .attrs = {BLOCK(2), ATTR_S("mode", "DCR")}}},
    {"b2 CRD", {.op = "DepthToSpace", .inputs = 1, .in = {T(2, 8, 3, 5)},
      .attrs = {BLOCK(2), ATTR_S("mode", "CRD")}}},
    {"b3 DCR", {.op = "DepthToSpace", .inputs = 1, .in = {T(2, 18, 2, 3)},
      .attrs = {BLOCK(3), ATTR_S("mode", "DCR")}}},
    {"b3 CRD", {.op = "DepthToSpace", .inputs = 1, .in = {T(2, 18, 2, 3)},
      .attrs = {BLOCK(3), ATTR_S("mode", "CRD")}}},
    {"b2 DCR 1x1 image", {.op = "DepthToSpace", .inputs = 1, .in = {T(1, 4, 1, 1)},
      .attrs = {BLOCK(2), ATTR_S("mode", "DCR")}}},
    {"b2 CRD 1x1 image", {.op = "DepthToSpace", .inputs = 1, .in = {T(1, 4, 1, 1)},
      .attrs = {BLOCK(2), ATTR_S("mode", "CRD")}}},
    {"b2 CRD one column", {.op = "DepthToSpace", .inputs = 1, .in = {T(2, 12, 3, 1)},
      .attrs = {BLOCK(2), ATTR_S("mode", "CRD")}}},
    {"b1", {.op = "DepthToSpace", .inputs = 1, .in = {T(1, 3, 2, 3)}, .attrs = {BLOCK(1)}}},
    {"b2", {.op = "SpaceToDepth", .inputs = 1, .in = {T(1, 3, 4, 6)}, .attrs = {BLOCK(2)}}},
    {"b3", {.op = "SpaceToDepth", .inputs = 1, .in = {T(2, 2, 6, 3)}, .attrs = {BLOCK(3)}}},
    {"b2 one block", {.op = "SpaceToDepth", .inputs = 1, .in = {T(1, 1, 2, 2)},
      .attrs = {BLOCK(2)}}},
    {"b2 one channel", {.op = "SpaceToDepth", .inputs = 1, .in = {T(3, 1, 4, 2)},
      .attrs = {BLOCK(2)}}},
    {"b1", {.op = "SpaceToDepth", .inputs = 1, .in = {T(2, 3, 1, 3)}, .attrs = {BLOCK(1)}}},
};

static void test_depth_space(void **state)
{
    RUN(state, space_cases);
}

/* ---- int64 data: the same kernels move 8-byte elements -------------------------- */

static const named_case int64_cases[] = {
    {"Concat", {.op = "Concat", .inputs = 2, .in = {I64(2, 3), I64(2, 2)}, .attrs = {AXIS(1)}}},
    {"Split", {.op = "Split", .inputs = 2, .outputs = 2, .in = {I64(3, 5), C64(2, 3)},
      .attrs = {AXIS(-1)}}},
    {"Slice", {.op = "Slice", .inputs = 5,
      .in = {I64(4, 5), C64(-1, 1), C64(INT64_MIN, 5), C64(0, 1), C64(-2, 2)}}},
    {"Transpose", {.op = "Transpose", .inputs = 1, .in = {I64(2, 3, 4)},
      .attrs = {PERM(2, 0, 1)}}},
    {"Pad", {.op = "Pad", .inputs = 3,
      .in = {I64(2, 3), C64(1, 0, 0, 2),
             {.rank = 0, .constant = 1, .dtype = WEFT_INT64, .i64 = (const int64_t[]){-42}}}}},
    {"DepthToSpace", {.op = "DepthToSpace", .inputs = 1, .in = {I64(1, 8, 2, 2)},
      .attrs = {BLOCK(2), ATTR_S("mode", "CRD")}}},
    {"SpaceToDepth", {.op = "SpaceToDepth", .inputs = 1, .in = {I64(1, 2, 4, 4)},
      .attrs = {BLOCK(2)}}},
};

static void test_int64(void **state)
{
    RUN(state, int64_cases);
}

/* ---- Empty tensors: nothing to launch, or nothing to read --------------------- */

static const named_case empty_cases[] = {
    {"Concat with an empty input", {.op = "Concat", .inputs = 3,
      .in = {T(2, 0, 3), T(2, 4, 3), T(2, 1, 3)}, .attrs = {AXIS(1)}}},
    {"Split with an empty output", {.op = "Split", .inputs = 2, .outputs = 3,
      .in = {T(2, 5), C64(2, 0, 3)}, .attrs = {AXIS(1)}}},
    {"Slice to nothing", {.op = "Slice", .inputs = 3, .in = {T(4, 5), C64(3), C64(1)}}},
    {"Pad of an empty input", {.op = "Pad", .inputs = 3,
      .in = {T(0, 3), C64(1, 0, 1, 0), CF32(4.0f)}}},
    {"Pad cropping everything", {.op = "Pad", .inputs = 2, .in = {T(3, 2), C64(0, -1, 0, -1)}}},
    {"Transpose of an empty tensor", {.op = "Transpose", .inputs = 1, .in = {T(2, 0, 3)}}},
};

static void test_empty(void **state)
{
    RUN(state, empty_cases);
}

/* ---- What supports() refuses, and says why ------------------------------------ */

static void test_refusals(void **state)
{
    (void)state;
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    const int64_t dims[] = {4, 5}, one = 1, four = 4, three[] = {3}, pads[] = {1, 0, 1, 0};
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 2, dims));
    assert_weft_ok(weft_graph_add_input(g, "starts", WEFT_INT64, 1, &one));
    assert_weft_ok(weft_graph_add_constant(g, "ends", WEFT_INT64, 1, &one, three));
    assert_weft_ok(weft_graph_add_constant(g, "pads", WEFT_INT64, 1, &four, pads));
    const char *slice_in[] = {"x", "starts", "ends"}, *slice_out[] = {"y"};
    assert_weft_ok(weft_graph_add_node(g, "Slice", "slice", slice_in, 3, NULL, slice_out, 1));
    weft_attrs *reflect;
    assert_weft_ok(weft_attrs_create(&reflect));
    assert_weft_ok(weft_attrs_set_string(reflect, "mode", "reflect"));
    const char *pad_in[] = {"x", "pads"}, *pad_out[] = {"z"};
    assert_weft_ok(weft_graph_add_node(g, "Pad", "pad", pad_in, 2, reflect, pad_out, 1));
    weft_attrs_release(reflect);

    char why[256] = "";
    assert_false(weft_impl_slice.supports(g, &g->nodes[0], NULL, why, sizeof why));
    assert_non_null(strstr(why, "'starts'"));
    assert_non_null(strstr(why, "constant"));
    why[0] = '\0';
    assert_false(weft_impl_pad.supports(g, &g->nodes[1], NULL, why, sizeof why));
    assert_non_null(strstr(why, "constant"));
    weft_graph_release(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concat),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_transpose),
        cmocka_unit_test(test_pad),
        cmocka_unit_test(test_depth_space),
        cmocka_unit_test(test_int64),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, op_test_setup, op_test_teardown);
}
