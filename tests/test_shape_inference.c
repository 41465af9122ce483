/*
 * Shape inference (src/graph/infer_*.c), through the public builder API:
 * each case builds a one-node graph, validates it, and checks the inferred
 * output types and shapes, or the status and message of an error. Cases
 * named test_* are ONNX node conformance cases (onnx-node-tests/INDEX.tsv)
 * with their shapes and constant inputs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_common.h"

#include "graph/graph.h"
#include "graph/op_kind.h"

#define MAX_IN 6
#define MAX_ATTRS 8
#define MAX_OUT 4

typedef struct tensor_spec {
    const char *name;      /* NULL ends the list; "" is an absent optional input */
    weft_dtype dtype;      /* 0: float32 */
    int rank;
    int64_t dims[WEFT_MAX_RANK];
    const int64_t *ints;   /* int64 constant data */
    const float *floats;   /* float32 constant data */
    int constant;          /* a constant even without data (empty tensors) */
} tensor_spec;

typedef struct attr_spec {
    const char *name;      /* NULL ends the list */
    weft_attr_type type;
    int64_t i;
    float f;
    const char *s;
    const int64_t *ints;
    const float *floats;
    size_t count;
} attr_spec;

typedef struct out_spec {
    int rank;
    int64_t dims[WEFT_MAX_RANK];
    weft_dtype dtype;      /* 0: float32 */
} out_spec;

typedef struct shape_case {
    const char *label;     /* also the node name */
    const char *op;
    tensor_spec in[MAX_IN];
    attr_spec attrs[MAX_ATTRS];
    const char *outs[MAX_OUT]; /* node outputs; NULL: {"out"}; "" an absent optional output */
    out_spec expect[MAX_OUT];
    weft_status status;    /* WEFT_OK, or the expected error */
    const char *message;   /* a part of the expected error message */
} shape_case;

#define COUNT64(...) (sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t))
#define COUNTF(...) (sizeof((float[]){__VA_ARGS__}) / sizeof(float))
#define DIMS(...) .rank = (int)COUNT64(__VA_ARGS__), .dims = {__VA_ARGS__}

/* Inputs: graph inputs, scalars, constants. */
#define IN(n, ...) {.name = n, DIMS(__VA_ARGS__)}
#define IN64(n, ...) {.name = n, .dtype = WEFT_INT64, DIMS(__VA_ARGS__)}
#define SCALAR(n) {.name = n, .rank = 0}
#define ABSENT {.name = ""}
#define CINTS(n, ...)                                                                          \
    {.name = n, .dtype = WEFT_INT64, .rank = 1, .dims = {(int64_t)COUNT64(__VA_ARGS__)},        \
     .ints = (const int64_t[]){__VA_ARGS__}}
#define CFLOATS(n, ...)                                                                        \
    {.name = n, .rank = 1, .dims = {(int64_t)COUNTF(__VA_ARGS__)},                             \
     .floats = (const float[]){__VA_ARGS__}}
#define CSCALAR(n, v) {.name = n, .rank = 0, .floats = (const float[]){v}}
#define CEMPTY64(n) {.name = n, .dtype = WEFT_INT64, .rank = 1, .dims = {0}, .constant = 1}
#define CEMPTYF(n) {.name = n, .rank = 1, .dims = {0}, .constant = 1}

/* Attributes. */
#define AI(n, v) {.name = n, .type = WEFT_ATTR_INT, .i = v}
#define AF(n, v) {.name = n, .type = WEFT_ATTR_FLOAT, .f = v}
#define AS(n, v) {.name = n, .type = WEFT_ATTR_STRING, .s = v}
#define AINTS(n, ...)                                                                          \
    {.name = n, .type = WEFT_ATTR_INTS, .ints = (const int64_t[]){__VA_ARGS__},                \
     .count = COUNT64(__VA_ARGS__)}
#define AFLOATS(n, ...)                                                                        \
    {.name = n, .type = WEFT_ATTR_FLOATS, .floats = (const float[]){__VA_ARGS__},              \
     .count = COUNTF(__VA_ARGS__)}

/* Expected outputs. */
#define OUT(...) {DIMS(__VA_ARGS__)}
#define OUT64(...) {.dtype = WEFT_INT64, DIMS(__VA_ARGS__)}
#define OUT_SCALAR {.rank = 0}

/* Errors. */
#define FAILS(st, part) .status = st, .message = part

static const shape_case cases[] = {
    /* ---- Element-wise with broadcasting ---------------------------------- */
    {"test_add_bcast", "Add", {IN("x", 3, 4, 5), IN("y", 5)}, .expect = {OUT(3, 4, 5)}},
    {"test_sub_example", "Sub", {IN("x", 3), IN("y", 3)}, .expect = {OUT(3)}},
    {"test_mul_bcast", "Mul", {IN("x", 3, 4, 5), IN("y", 5)}, .expect = {OUT(3, 4, 5)}},
    {"test_div_bcast", "Div", {IN("x", 3, 4, 5), IN("y", 5)}, .expect = {OUT(3, 4, 5)}},
    {"test_sum_example", "Sum", {IN("a", 3), IN("b", 3), IN("c", 3)}, .expect = {OUT(3)}},
    {"test_max_one_input", "Max", {IN("a", 3)}, .expect = {OUT(3)}},
    {"test_min_two_inputs", "Min", {IN("a", 3), IN("b", 3)}, .expect = {OUT(3)}},
    {"add_size1_both_sides", "Add", {IN("x", 2, 1, 4), IN("y", 3, 1)}, .expect = {OUT(2, 3, 4)}},
    {"add_scalar", "Add", {SCALAR("x"), IN("y", 2, 3)}, .expect = {OUT(2, 3)}},
    {"add_same_value_twice", "Add", {IN("x", 2, 3), IN("x", 2, 3)}, .expect = {OUT(2, 3)}},
    {"mul_zero_dim", "Mul", {IN("x", 1), IN("y", 0, 3)}, .expect = {OUT(0, 3)}},
    {"max_variadic_ranks", "Max", {IN("a", 2, 1), IN("b", 1, 3), IN("c", 3, 1, 1)},
     .expect = {OUT(3, 2, 3)}},
    {"add_int64", "Add", {IN64("x", 2), IN64("y", 1)}, .expect = {OUT64(2)}},
    {"add_mismatch", "Add", {IN("x", 2, 3), IN("y", 4, 3)},
     FAILS(WEFT_ERR_SHAPE, "[2,3] ('x') and [4,3] ('y') do not broadcast")},
    {"sum_third_mismatch", "Sum", {IN("a", 2, 3), IN("b", 3), IN("c", 4)},
     FAILS(WEFT_ERR_SHAPE, "input 2 ('c')")},
    {"add_dtype_mismatch", "Add", {IN("x", 2), IN64("y", 2)},
     FAILS(WEFT_ERR_GRAPH, "same data type")},
    {"test_prelu_broadcast", "PRelu", {IN("x", 3, 4, 5), IN("slope", 5)},
     .expect = {OUT(3, 4, 5)}},
    {"test_prelu_example", "PRelu", {IN("x", 3, 4, 5), IN("slope", 3, 4, 5)},
     .expect = {OUT(3, 4, 5)}},
    {"prelu_channel_slope", "PRelu", {IN("x", 2, 4, 3, 3), IN("slope", 4, 1, 1)},
     .expect = {OUT(2, 4, 3, 3)}},
    {"prelu_slope_not_unidirectional", "PRelu", {IN("x", 3, 1), IN("slope", 3, 4)},
     FAILS(WEFT_ERR_SHAPE, "input 'slope' ('slope') of shape [3,4]")},

    /* ---- Unary ------------------------------------------------------------- */
    {"test_relu", "Relu", {IN("x", 3, 4, 5)}, .expect = {OUT(3, 4, 5)}},
    {"test_leakyrelu", "LeakyRelu", {IN("x", 3, 4, 5)}, {AF("alpha", 0.1f)},
     .expect = {OUT(3, 4, 5)}},
    {"test_elu", "Elu", {IN("x", 3, 4, 5)}, {AF("alpha", 2.0f)}, .expect = {OUT(3, 4, 5)}},
    {"test_selu", "Selu", {IN("x", 3, 4, 5)}, {AF("alpha", 2.0f), AF("gamma", 3.0f)},
     .expect = {OUT(3, 4, 5)}},
    {"test_sigmoid_example", "Sigmoid", {IN("x", 3)}, .expect = {OUT(3)}},
    {"test_hardsigmoid", "HardSigmoid", {IN("x", 3, 4, 5)}, {AF("alpha", 0.5f), AF("beta", 0.6f)},
     .expect = {OUT(3, 4, 5)}},
    {"test_hardswish", "HardSwish", {IN("x", 3, 4, 5)}, .expect = {OUT(3, 4, 5)}},
    {"test_tanh", "Tanh", {IN("x", 3, 4, 5)}, .expect = {OUT(3, 4, 5)}},
    {"test_gelu_tanh_2", "Gelu", {IN("x", 3, 4, 5)}, {AS("approximate", "tanh")},
     .expect = {OUT(3, 4, 5)}},
    {"test_softplus", "Softplus", {IN("x", 3, 4, 5)}, .expect = {OUT(3, 4, 5)}},
    {"test_softsign", "Softsign", {IN("x", 3, 4, 5)}, .expect = {OUT(3, 4, 5)}},
    {"test_mish", "Mish", {IN("x", 10000)}, .expect = {OUT(10000)}},
    {"test_erf", "Erf", {IN("x", 1, 3, 32, 32)}, .expect = {OUT(1, 3, 32, 32)}},
    {"test_sqrt", "Sqrt", {IN("x", 3, 4, 5)}, .expect = {OUT(3, 4, 5)}},
    {"test_exp", "Exp", {IN("x", 3, 4, 5)}, .expect = {OUT(3, 4, 5)}},
    {"test_log_example", "Log", {IN("x", 2)}, .expect = {OUT(2)}},
    {"neg_int64", "Neg", {IN64("x", 2)}, .expect = {OUT64(2)}},
    {"test_abs", "Abs", {IN("x", 3, 4, 5)}, .expect = {OUT(3, 4, 5)}},
    {"identity_scalar", "Identity", {SCALAR("x")}, .expect = {OUT_SCALAR}},
    {"gelu_bad_approximate", "Gelu", {IN("x", 3)}, {AS("approximate", "fast")},
     FAILS(WEFT_ERR_GRAPH, "attribute 'approximate' = \"fast\" is not one of none, tanh")},
    {"leakyrelu_alpha_string", "LeakyRelu", {IN("x", 3)}, {AS("alpha", "big")},
     FAILS(WEFT_ERR_GRAPH, "attribute 'alpha' is of type string")},
    {"sigmoid_int64", "Sigmoid", {IN64("x", 3)}, FAILS(WEFT_ERR_GRAPH, "input 'X' ('x') is int64")},
    {"test_clip", "Clip", {IN("x", 3, 4, 5), SCALAR("min"), SCALAR("max")},
     .expect = {OUT(3, 4, 5)}},
    {"test_clip_default_inbounds", "Clip", {IN("x", 3)}, .expect = {OUT(3)}},
    {"test_clip_default_max", "Clip", {IN("x", 3, 4, 5), ABSENT, SCALAR("max")},
     .expect = {OUT(3, 4, 5)}},
    {"clip_opset6_attributes", "Clip", {IN("x", 2, 2)}, {AF("min", 0.0f), AF("max", 6.0f)},
     .expect = {OUT(2, 2)}},
    {"clip_min_not_scalar", "Clip", {IN("x", 3), IN("min", 2)},
     FAILS(WEFT_ERR_SHAPE, "input 'min' ('min') has shape [2], expected a scalar")},
    {"clip_min_twice", "Clip", {IN("x", 3), SCALAR("lo")}, {AF("min", 0.0f)},
     FAILS(WEFT_ERR_GRAPH, "'min' is given both")},
    {"test_dropout_default", "Dropout", {IN("x", 3, 4, 5)}, {AI("seed", 0)},
     .expect = {OUT(3, 4, 5)}},
    {"test_dropout_default_ratio", "Dropout", {IN("x", 3, 4, 5), SCALAR("r")},
     .expect = {OUT(3, 4, 5)}},
    {"test_dropout_random_old", "Dropout", {IN("x", 3, 4, 5)}, {AF("ratio", 0.2f)},
     .expect = {OUT(3, 4, 5)}},
    {"dropout_unnamed_mask", "Dropout", {IN("x", 3)}, .outs = {"y", ""}, .expect = {OUT(3)}},
    {"dropout_mask", "Dropout", {IN("x", 3)}, .outs = {"y", "mask"},
     FAILS(WEFT_ERR_UNSUPPORTED, "output 'mask' ('mask') is a bool tensor")},
    {"dropout_ratio_range", "Dropout", {IN("x", 3)}, {AF("ratio", 1.5f)},
     FAILS(WEFT_ERR_GRAPH, "attribute 'ratio' = 1.5 is out of range")},
    {"dropout_training_input", "Dropout", {IN("x", 3), ABSENT, SCALAR("train")},
     FAILS(WEFT_ERR_UNSUPPORTED, "input 'training_mode' ('train')")},
    {"test_softmax_axis_0", "Softmax", {IN("x", 3, 4, 5)}, {AI("axis", 0)},
     .expect = {OUT(3, 4, 5)}},
    {"test_logsoftmax_negative_axis", "LogSoftmax", {IN("x", 3, 4, 5)}, {AI("axis", -1)},
     .expect = {OUT(3, 4, 5)}},
    {"test_softmax_example", "Softmax", {IN("x", 1, 3)}, .expect = {OUT(1, 3)}},
    {"softmax_axis_range", "Softmax", {IN("x", 3, 4, 5)}, {AI("axis", 3)},
     FAILS(WEFT_ERR_GRAPH, "attribute 'axis' = 3 is out of range [-3, 2]")},

    /* ---- Concat and Split ------------------------------------------------- */
    {"test_concat_2d_axis_negative_2", "Concat", {IN("a", 2, 2), IN("b", 2, 2)},
     {AI("axis", -2)}, .expect = {OUT(4, 2)}},
    {"test_concat_3d_axis_1", "Concat", {IN("a", 2, 2, 2), IN("b", 2, 2, 2)}, {AI("axis", 1)},
     .expect = {OUT(2, 4, 2)}},
    {"test_concat_1d_axis_0", "Concat", {IN("a", 2), IN("b", 2)}, {AI("axis", 0)},
     .expect = {OUT(4)}},
    {"concat_three_sizes", "Concat", {IN("a", 2, 3, 4), IN("b", 2, 1, 4), IN("c", 2, 5, 4)},
     {AI("axis", 1)}, .expect = {OUT(2, 9, 4)}},
    {"concat_mismatch", "Concat", {IN("a", 2, 3), IN("b", 3, 3)}, {AI("axis", 1)},
     FAILS(WEFT_ERR_SHAPE, "input 1 ('b') of shape [3,3] does not match input 0 ('a')")},
    {"concat_rank_mismatch", "Concat", {IN("a", 2, 3), IN("b", 2, 3, 1)}, {AI("axis", 0)},
     FAILS(WEFT_ERR_SHAPE, "only axis 0")},
    {"concat_no_axis", "Concat", {IN("a", 2), IN("b", 2)},
     FAILS(WEFT_ERR_GRAPH, "attribute 'axis' is required")},
    {"test_split_1d_uneven_split_opset18", "Split", {IN("x", 7)}, {AI("num_outputs", 4)},
     .outs = {"o1", "o2", "o3", "o4"}, .expect = {OUT(2), OUT(2), OUT(2), OUT(1)}},
    {"test_split_2d_uneven_split_opset18", "Split", {IN("x", 2, 8)},
     {AI("axis", 1), AI("num_outputs", 3)}, .outs = {"o1", "o2", "o3"},
     .expect = {OUT(2, 3), OUT(2, 3), OUT(2, 2)}},
    {"test_split_variable_parts_2d_opset13", "Split", {IN("x", 2, 6), CINTS("split", 2, 4)},
     {AI("axis", 1)}, .outs = {"o1", "o2"}, .expect = {OUT(2, 2), OUT(2, 4)}},
    {"test_split_equal_parts_default_axis_opset13", "Split", {IN("x", 6)},
     .outs = {"o1", "o2", "o3"}, .expect = {OUT(2), OUT(2), OUT(2)}},
    {"test_split_zero_size_splits_opset13", "Split", {IN("x", 0), CINTS("split", 0, 0, 0)},
     .outs = {"o1", "o2", "o3"}, .expect = {OUT(0), OUT(0), OUT(0)}},
    {"split_opset11_attribute", "Split", {IN("x", 3, 4)}, {AINTS("split", 1, 2)},
     .outs = {"o1", "o2"}, .expect = {OUT(1, 4), OUT(2, 4)}},
    {"split_sum_mismatch", "Split", {IN("x", 6), CINTS("split", 2, 3)}, .outs = {"o1", "o2"},
     FAILS(WEFT_ERR_SHAPE, "'split' [2,3] adds up to 5 but axis 0")},
    {"split_uneven", "Split", {IN("x", 7)}, .outs = {"o1", "o2"},
     FAILS(WEFT_ERR_SHAPE, "does not split into 2 equal outputs")},
    {"split_num_outputs_count", "Split", {IN("x", 6)}, {AI("num_outputs", 3)},
     .outs = {"o1", "o2"}, FAILS(WEFT_ERR_GRAPH, "attribute 'num_outputs' = 3")},

    /* ---- Slice ------------------------------------------------------------- */
    {"test_slice", "Slice",
     {IN("x", 20, 10, 5), CINTS("starts", 0, 0), CINTS("ends", 3, 10), CINTS("axes", 0, 1),
      CINTS("steps", 1, 1)},
     .expect = {OUT(3, 10, 5)}},
    {"test_slice_neg_steps", "Slice",
     {IN("x", 20, 10, 5), CINTS("starts", 20, 10, 4), CINTS("ends", 0, 0, 1),
      CINTS("axes", 0, 1, 2), CINTS("steps", -1, -3, -2)},
     .expect = {OUT(19, 3, 2)}},
    {"test_slice_start_out_of_bounds", "Slice",
     {IN("x", 20, 10, 5), CINTS("starts", 1000), CINTS("ends", 1000), CINTS("axes", 1),
      CINTS("steps", 1)},
     .expect = {OUT(20, 0, 5)}},
    {"test_slice_end_out_of_bounds", "Slice",
     {IN("x", 20, 10, 5), CINTS("starts", 1), CINTS("ends", 1000), CINTS("axes", 1),
      CINTS("steps", 1)},
     .expect = {OUT(20, 9, 5)}},
    {"test_slice_negative_axes", "Slice",
     {IN("x", 20, 10, 5), CINTS("starts", 0, 0, 3), CINTS("ends", 20, 10, 4),
      CINTS("axes", 0, -2, -1)},
     .expect = {OUT(20, 10, 1)}},
    {"test_slice_default_axes", "Slice",
     {IN("x", 20, 10, 5), CINTS("starts", 0, 0, 3), CINTS("ends", 20, 10, 4)},
     .expect = {OUT(20, 10, 1)}},
    {"slice_reverse_all", "Slice",
     {IN("x", 10), CINTS("starts", -1), CINTS("ends", INT64_MIN), ABSENT, CINTS("steps", -1)},
     .expect = {OUT(10)}},
    {"slice_step_beyond", "Slice",
     {IN("x", 10), CINTS("starts", 2), CINTS("ends", INT64_MAX), ABSENT, CINTS("steps", 3)},
     .expect = {OUT(3)}},
    {"slice_negative_step_clamped", "Slice",
     {IN("x", 10), CINTS("starts", 100), CINTS("ends", -100), ABSENT, CINTS("steps", -4)},
     .expect = {OUT(3)}},
    {"slice_empty_backwards", "Slice",
     {IN("x", 10), CINTS("starts", 2), CINTS("ends", 5), ABSENT, CINTS("steps", -1)},
     .expect = {OUT(0)}},
    {"slice_opset1_attributes", "Slice", {IN("x", 4, 6)},
     {AINTS("starts", 1, -3), AINTS("ends", 3, 100), AINTS("axes", 0, 1)},
     .expect = {OUT(2, 3)}},
    {"slice_zero_step", "Slice",
     {IN("x", 10), CINTS("starts", 0), CINTS("ends", 5), ABSENT, CINTS("steps", 0)},
     FAILS(WEFT_ERR_GRAPH, "'steps'[0] is 0")},
    {"slice_computed_starts", "Slice", {IN("x", 10), IN64("starts", 1), CINTS("ends", 5)},
     FAILS(WEFT_ERR_UNSUPPORTED, "input 'starts' ('starts') is computed by the graph")},
    {"slice_repeated_axis", "Slice",
     {IN("x", 4, 4), CINTS("starts", 0, 1), CINTS("ends", 2, 3), CINTS("axes", 1, -1)},
     FAILS(WEFT_ERR_GRAPH, "names axis 1 twice")},

    /* ---- Flatten, Reshape, Transpose -------------------------------------- */
    {"test_flatten_axis0", "Flatten", {IN("x", 2, 3, 4, 5)}, {AI("axis", 0)},
     .expect = {OUT(1, 120)}},
    {"test_flatten_negative_axis3", "Flatten", {IN("x", 2, 3, 4, 5)}, {AI("axis", -3)},
     .expect = {OUT(2, 60)}},
    {"test_flatten_default_axis", "Flatten", {IN("x", 5, 4, 3, 2)}, .expect = {OUT(5, 24)}},
    {"flatten_axis_rank", "Flatten", {IN("x", 2, 3, 4, 5)}, {AI("axis", 4)},
     .expect = {OUT(120, 1)}},
    {"flatten_axis_range", "Flatten", {IN("x", 2, 3)}, {AI("axis", 3)},
     FAILS(WEFT_ERR_GRAPH, "attribute 'axis' = 3 is out of range [-2, 2]")},
    {"test_reshape_zero_and_negative_dim", "Reshape",
     {IN("x", 2, 3, 4), CINTS("shape", 2, 0, 1, -1)}, .expect = {OUT(2, 3, 1, 4)}},
    {"test_reshape_allowzero_reordered", "Reshape", {IN("x", 0, 3, 4), CINTS("shape", 3, 4, 0)},
     {AI("allowzero", 1)}, .expect = {OUT(3, 4, 0)}},
    {"test_reshape_negative_extended_dims", "Reshape",
     {IN("x", 2, 3, 4), CINTS("shape", -1, 2, 3, 4)}, .expect = {OUT(1, 2, 3, 4)}},
    {"test_reshape_one_dim", "Reshape", {IN("x", 2, 3, 4), CINTS("shape", 24)},
     .expect = {OUT(24)}},
    {"reshape_to_scalar", "Reshape", {IN("x", 1, 1), CEMPTY64("shape")}, .expect = {OUT_SCALAR}},
    {"reshape_zero_copies", "Reshape", {IN("x", 0, 3), CINTS("shape", 0, 3)},
     .expect = {OUT(0, 3)}},
    {"reshape_two_minus_one", "Reshape", {IN("x", 2, 3, 4), CINTS("shape", -1, -1, 4)},
     FAILS(WEFT_ERR_GRAPH, "input 'shape' ('shape') = [-1,-1,4] has more than one -1")},
    {"reshape_wrong_size", "Reshape", {IN("x", 2, 3, 4), CINTS("shape", 5, 5)},
     FAILS(WEFT_ERR_SHAPE, "has 25 elements but data [2,3,4] has 24")},
    {"reshape_minus_one_indivisible", "Reshape", {IN("x", 2, 3, 4), CINTS("shape", 5, -1)},
     FAILS(WEFT_ERR_SHAPE, "no size for the -1 dim")},
    {"reshape_allowzero_with_minus_one", "Reshape", {IN("x", 0, 3), CINTS("shape", 0, -1)},
     {AI("allowzero", 1)}, FAILS(WEFT_ERR_GRAPH, "attribute 'allowzero' = 1 forbids")},
    {"reshape_computed_shape", "Reshape", {IN("x", 2, 3), IN64("s", 1)},
     FAILS(WEFT_ERR_UNSUPPORTED, "input 'shape' ('s') is computed by the graph")},
    {"test_transpose_default", "Transpose", {IN("x", 2, 3, 4)}, .expect = {OUT(4, 3, 2)}},
    {"test_transpose_all_permutations_4", "Transpose", {IN("x", 2, 3, 4)}, {AINTS("perm", 2, 0, 1)},
     .expect = {OUT(4, 2, 3)}},
    {"test_transpose_all_permutations_2", "Transpose", {IN("x", 2, 3, 4)}, {AINTS("perm", 1, 0, 2)},
     .expect = {OUT(3, 2, 4)}},
    {"transpose_repeated", "Transpose", {IN("x", 2, 3, 4)}, {AINTS("perm", 0, 0, 1)},
     FAILS(WEFT_ERR_GRAPH, "attribute 'perm' = [0,0,1] is not a permutation")},
    {"transpose_short_perm", "Transpose", {IN("x", 2, 3, 4)}, {AINTS("perm", 1, 0)},
     FAILS(WEFT_ERR_GRAPH, "attribute 'perm' = [1,0] is not a permutation")},

    /* ---- Squeeze, Unsqueeze ----------------------------------------------- */
    {"test_squeeze", "Squeeze", {IN("x", 1, 3, 4, 5), CINTS("axes", 0)}, .expect = {OUT(3, 4, 5)}},
    {"test_squeeze_negative_axes", "Squeeze", {IN("x", 1, 3, 1, 5), CINTS("axes", -2)},
     .expect = {OUT(1, 3, 5)}},
    {"squeeze_without_axes", "Squeeze", {IN("x", 1, 3, 1, 5)}, .expect = {OUT(3, 5)}},
    {"squeeze_opset11_attribute", "Squeeze", {IN("x", 1, 3, 1, 5)}, {AINTS("axes", 0, 2)},
     .expect = {OUT(3, 5)}},
    {"squeeze_not_one", "Squeeze", {IN("x", 1, 3, 4), CINTS("axes", 1)},
     FAILS(WEFT_ERR_SHAPE, "names axis 1 of input 'data' ('x') [1,3,4], which has size 3")},
    {"test_unsqueeze_unsorted_axes", "Unsqueeze", {IN("x", 3, 4, 5), CINTS("axes", 5, 4, 2)},
     .expect = {OUT(3, 4, 1, 5, 1, 1)}},
    {"test_unsqueeze_negative_axes", "Unsqueeze", {IN("x", 1, 3, 1, 5), CINTS("axes", -2)},
     .expect = {OUT(1, 3, 1, 1, 5)}},
    {"test_unsqueeze_two_axes", "Unsqueeze", {IN("x", 3, 4, 5), CINTS("axes", 1, 4)},
     .expect = {OUT(3, 1, 4, 5, 1)}},
    {"unsqueeze_opset11_attribute", "Unsqueeze", {SCALAR("x")}, {AINTS("axes", 0)},
     .expect = {OUT(1)}},
    {"unsqueeze_rank_limit", "Unsqueeze", {IN("x", 1, 1, 1, 1, 1, 1, 1), CINTS("axes", 0, 1)},
     FAILS(WEFT_ERR_UNSUPPORTED, "makes rank 9")},
    {"unsqueeze_no_axes", "Unsqueeze", {IN("x", 3)}, FAILS(WEFT_ERR_GRAPH, "'axes' is required")},

    /* ---- Pad ------------------------------------------------------------- */
    {"test_constant_pad", "Pad",
     {IN("x", 1, 3, 4, 5), CINTS("pads", 0, 0, 1, 3, 0, 0, 2, 4), CSCALAR("value", 1.2f)},
     {AS("mode", "constant")}, .expect = {OUT(1, 3, 7, 12)}},
    {"test_constant_pad_axes", "Pad",
     {IN("x", 1, 3, 4, 5), CINTS("pads", 0, 3, 0, 4), CSCALAR("value", 1.2f), CINTS("axes", 1, 3)},
     .expect = {OUT(1, 3, 4, 12)}},
    {"test_constant_pad_negative_axes", "Pad",
     {IN("x", 1, 3, 4, 5), CINTS("pads", 0, 3, 0, 4), CSCALAR("value", 1.2f),
      CINTS("axes", -3, -1)},
     .expect = {OUT(1, 3, 4, 12)}},
    {"pad_negative_crops", "Pad", {IN("x", 1, 3, 4, 5), CINTS("pads", 0, 0, -1, -2, 0, 0, -1, 0)},
     .expect = {OUT(1, 3, 2, 3)}},
    {"pad_opset2_attributes", "Pad", {IN("x", 2, 3)},
     {AINTS("pads", 1, 0, 1, 2), AF("value", 1.0f)}, .expect = {OUT(4, 5)}},
    {"pad_reflect", "Pad", {IN("x", 2, 3), CINTS("pads", 1, 1, 1, 1)}, {AS("mode", "reflect")},
     FAILS(WEFT_ERR_UNSUPPORTED, "attribute 'mode' = \"reflect\" is not supported")},
    {"pad_bad_mode", "Pad", {IN("x", 2, 3), CINTS("pads", 1, 1, 1, 1)}, {AS("mode", "mirror")},
     FAILS(WEFT_ERR_GRAPH, "attribute 'mode' = \"mirror\" is not one of")},
    {"pad_wrong_count", "Pad", {IN("x", 2, 3), CINTS("pads", 1, 1, 1)},
     FAILS(WEFT_ERR_GRAPH, "'pads' has 3 values, expected 4")},
    {"pad_crop_too_much", "Pad", {IN("x", 2, 3), CINTS("pads", 0, -2, 0, -2)},
     FAILS(WEFT_ERR_SHAPE, "'pads' -2 and -2 on axis 1 of size 3")},

    /* ---- DepthToSpace, SpaceToDepth, ReduceMean, Shape, Constant ---------- */
    {"test_depthtospace_crd_mode_example", "DepthToSpace", {IN("x", 1, 8, 2, 3)},
     {AI("blocksize", 2), AS("mode", "CRD")}, .expect = {OUT(1, 2, 4, 6)}},
    {"test_depthtospace_example", "DepthToSpace", {IN("x", 1, 8, 2, 3)},
     {AI("blocksize", 2), AS("mode", "DCR")}, .expect = {OUT(1, 2, 4, 6)}},
    {"depthtospace_channels", "DepthToSpace", {IN("x", 1, 6, 2, 3)}, {AI("blocksize", 2)},
     FAILS(WEFT_ERR_SHAPE, "the 6 channels of input 'x' are not divisible by blocksize^2 = 4")},
    {"depthtospace_bad_mode", "DepthToSpace", {IN("x", 1, 8, 2, 3)},
     {AI("blocksize", 2), AS("mode", "RDC")}, FAILS(WEFT_ERR_GRAPH, "attribute 'mode'")},
    {"depthtospace_no_blocksize", "DepthToSpace", {IN("x", 1, 8, 2, 3)},
     FAILS(WEFT_ERR_GRAPH, "attribute 'blocksize' is required")},
    {"test_spacetodepth", "SpaceToDepth", {IN("x", 2, 2, 6, 6)}, {AI("blocksize", 2)},
     .expect = {OUT(2, 8, 3, 3)}},
    {"test_spacetodepth_example", "SpaceToDepth", {IN("x", 1, 1, 4, 6)}, {AI("blocksize", 2)},
     .expect = {OUT(1, 4, 2, 3)}},
    {"spacetodepth_indivisible", "SpaceToDepth", {IN("x", 1, 1, 5, 6)}, {AI("blocksize", 2)},
     FAILS(WEFT_ERR_SHAPE, "not divisible by attribute 'blocksize' = 2")},
    {"test_reduce_mean_do_not_keepdims_example", "ReduceMean",
     {IN("x", 3, 2, 2), CINTS("axes", 1)}, {AI("keepdims", 0)}, .expect = {OUT(3, 2)}},
    {"test_reduce_mean_keepdims_example", "ReduceMean", {IN("x", 3, 2, 2), CINTS("axes", 1)},
     {AI("keepdims", 1)}, .expect = {OUT(3, 1, 2)}},
    {"test_reduce_mean_default_axes_keepdims_example", "ReduceMean",
     {IN("x", 3, 2, 2), CEMPTY64("axes")}, {AI("keepdims", 1)}, .expect = {OUT(1, 1, 1)}},
    {"test_reduce_mean_negative_axes_keepdims_example", "ReduceMean",
     {IN("x", 3, 2, 2), CINTS("axes", -2)}, {AI("keepdims", 1)}, .expect = {OUT(3, 1, 2)}},
    {"reduce_mean_opset13_attribute", "ReduceMean", {IN("x", 3, 2, 2)},
     {AINTS("axes", 0, 2), AI("keepdims", 0)}, .expect = {OUT(2)}},
    {"reduce_mean_all_no_keepdims", "ReduceMean", {IN("x", 3, 2)}, {AI("keepdims", 0)},
     .expect = {OUT_SCALAR}},
    {"reduce_mean_noop", "ReduceMean", {IN("x", 3, 2, 2)}, {AI("noop_with_empty_axes", 1)},
     .expect = {OUT(3, 2, 2)}},
    {"reduce_mean_axis_range", "ReduceMean", {IN("x", 3, 2, 2), CINTS("axes", 3)},
     FAILS(WEFT_ERR_GRAPH, "'axes' = 3 is out of range [-3, 2]")},
    {"shape_full", "Shape", {IN("x", 2, 3, 4)}, .expect = {OUT64(3)}},
    {"shape_start_end", "Shape", {IN("x", 2, 3, 4, 5)}, {AI("start", 1), AI("end", -1)},
     .expect = {OUT64(2)}},
    {"shape_clamped", "Shape", {IN("x", 2, 3)}, {AI("start", -10), AI("end", 10)},
     .expect = {OUT64(2)}},
    {"shape_empty", "Shape", {IN("x", 2, 3)}, {AI("start", 2), AI("end", 1)}, .expect = {OUT64(0)}},
    {"constant_ints", "Constant", .attrs = {AINTS("value_ints", 1, 2, 3)}, .expect = {OUT64(3)}},
    {"constant_float", "Constant", .attrs = {AF("value_float", 2.5f)}, .expect = {OUT_SCALAR}},
    {"constant_floats", "Constant", .attrs = {AFLOATS("value_floats", 1.0f, 2.0f)},
     .expect = {OUT(2)}},
    {"constant_int", "Constant", .attrs = {AI("value_int", 7)}, .expect = {{.dtype = WEFT_INT64}}},
    {"constant_none", "Constant", FAILS(WEFT_ERR_GRAPH, "no value")},
    {"constant_tensor", "Constant", .attrs = {AS("value", "tensor")},
     FAILS(WEFT_ERR_UNSUPPORTED, "attribute 'value' is not supported")},

    /* ---- Conv -------------------------------------------------------------- */
    {"test_basic_conv_with_padding", "Conv", {IN("x", 1, 1, 5, 5), IN("W", 1, 1, 3, 3)},
     {AINTS("kernel_shape", 3, 3), AINTS("pads", 1, 1, 1, 1)}, .expect = {OUT(1, 1, 5, 5)}},
    {"test_conv_with_strides_and_asymmetric_padding", "Conv",
     {IN("x", 1, 1, 7, 5), IN("W", 1, 1, 3, 3)},
     {AINTS("kernel_shape", 3, 3), AINTS("pads", 1, 0, 1, 0), AINTS("strides", 2, 2)},
     .expect = {OUT(1, 1, 4, 2)}},
    {"test_conv_with_autopad_same", "Conv", {IN("x", 1, 1, 5, 5), IN("W", 1, 1, 3, 3)},
     {AS("auto_pad", "SAME_LOWER"), AINTS("kernel_shape", 3, 3), AINTS("strides", 2, 2)},
     .expect = {OUT(1, 1, 3, 3)}},
    {"test_conv_with_strides_no_padding", "Conv", {IN("x", 1, 1, 7, 5), IN("W", 1, 1, 3, 3)},
     {AINTS("kernel_shape", 3, 3), AINTS("pads", 0, 0, 0, 0), AINTS("strides", 2, 2)},
     .expect = {OUT(1, 1, 3, 2)}},
    {"conv_same_upper_odd_total", "Conv", {IN("x", 1, 2, 6, 7), IN("W", 4, 2, 4, 4)},
     {AS("auto_pad", "SAME_UPPER")}, .expect = {OUT(1, 4, 6, 7)}},
    {"conv_same_lower_odd_total_stride", "Conv", {IN("x", 1, 2, 7, 8), IN("W", 4, 2, 4, 4)},
     {AS("auto_pad", "SAME_LOWER"), AINTS("strides", 2, 3)}, .expect = {OUT(1, 4, 4, 3)}},
    {"conv_valid", "Conv", {IN("x", 1, 1, 7, 5), IN("W", 1, 1, 3, 3)},
     {AS("auto_pad", "VALID"), AINTS("strides", 2, 2)}, .expect = {OUT(1, 1, 3, 2)}},
    {"conv_dilations", "Conv", {IN("x", 1, 1, 9, 8), IN("W", 2, 1, 3, 3)},
     {AINTS("dilations", 2, 3), AINTS("pads", 0, 1, 0, 1)}, .expect = {OUT(1, 2, 5, 4)}},
    {"conv_depthwise_bias", "Conv", {IN("x", 1, 8, 10, 10), IN("W", 8, 1, 3, 3), IN("B", 8)},
     {AI("group", 8), AINTS("strides", 2, 2)}, .expect = {OUT(1, 8, 4, 4)}},
    {"conv_groups", "Conv", {IN("x", 2, 4, 9, 9), IN("W", 6, 2, 3, 3)},
     {AI("group", 2), AINTS("pads", 1, 1, 1, 1)}, .expect = {OUT(2, 6, 9, 9)}},
    {"conv_1d", "Conv", {IN("x", 1, 2, 10), IN("W", 4, 2, 3)}, {AINTS("strides", 2)},
     .expect = {OUT(1, 4, 4)}},
    {"conv_3d", "Conv", {IN("x", 1, 1, 4, 5, 6), IN("W", 2, 1, 3, 3, 3)},
     .expect = {OUT(1, 2, 2, 3, 4)}},
    {"conv_group_not_dividing", "Conv", {IN("x", 1, 4, 5, 5), IN("W", 3, 1, 3, 3)},
     {AI("group", 3)},
     FAILS(WEFT_ERR_SHAPE, "attribute 'group' = 3 does not divide the 4 channels of X ('x')")},
    {"conv_kernel_too_large", "Conv", {IN("x", 1, 1, 2, 2), IN("W", 1, 1, 5, 5)},
     {AINTS("pads", 1, 1, 1, 1)}, FAILS(WEFT_ERR_SHAPE, "more than the padded input: 4")},
    {"conv_bad_auto_pad", "Conv", {IN("x", 1, 1, 5, 5), IN("W", 1, 1, 3, 3)},
     {AS("auto_pad", "SAME")}, FAILS(WEFT_ERR_GRAPH, "attribute 'auto_pad' = \"SAME\"")},
    {"conv_channels_per_group", "Conv", {IN("x", 1, 3, 5, 5), IN("W", 2, 2, 3, 3)},
     FAILS(WEFT_ERR_SHAPE, "takes 2 channels per group")},
    {"conv_bias_shape", "Conv", {IN("x", 1, 1, 5, 5), IN("W", 2, 1, 3, 3), IN("B", 3)},
     FAILS(WEFT_ERR_SHAPE, "input 'B' ('B') has shape [3], expected [2]")},
    {"conv_pads_length", "Conv", {IN("x", 1, 1, 5, 5), IN("W", 1, 1, 3, 3)},
     {AINTS("pads", 1, 1, 1)}, FAILS(WEFT_ERR_GRAPH, "attribute 'pads' has 3 values, expected 4")},
    {"conv_kernel_shape_mismatch", "Conv", {IN("x", 1, 1, 5, 5), IN("W", 1, 1, 3, 3)},
     {AINTS("kernel_shape", 3, 2)}, FAILS(WEFT_ERR_SHAPE, "attribute 'kernel_shape'[1] = 2")},
    {"conv_zero_stride", "Conv", {IN("x", 1, 1, 5, 5), IN("W", 1, 1, 3, 3)},
     {AINTS("strides", 1, 0)}, FAILS(WEFT_ERR_GRAPH, "attribute 'strides'[1] = 0 is out of range")},
    {"conv_pads_with_auto_pad", "Conv", {IN("x", 1, 1, 5, 5), IN("W", 1, 1, 3, 3)},
     {AS("auto_pad", "VALID"), AINTS("pads", 1, 1, 1, 1)},
     FAILS(WEFT_ERR_GRAPH, "attribute 'pads' cannot be used with attribute 'auto_pad'")},
    {"conv_rank2", "Conv", {IN("x", 1, 5), IN("W", 1, 5)}, FAILS(WEFT_ERR_SHAPE, "needs N, C")},
    {"conv_4_spatial", "Conv", {IN("x", 1, 1, 3, 3, 3, 3), IN("W", 1, 1, 1, 1, 1, 1)},
     FAILS(WEFT_ERR_UNSUPPORTED, "has 4 spatial axes")},
    {"conv_int64", "Conv", {IN64("x", 1, 1, 3, 3), IN("W", 1, 1, 1, 1)},
     FAILS(WEFT_ERR_GRAPH, "input 'X' ('x') is int64")},

    /* ---- ConvTranspose ----------------------------------------------------- */
    {"test_convtranspose", "ConvTranspose", {IN("x", 1, 1, 3, 3), IN("W", 1, 2, 3, 3)},
     .expect = {OUT(1, 2, 5, 5)}},
    {"test_convtranspose_1d", "ConvTranspose", {IN("x", 1, 1, 3), IN("W", 1, 2, 3)},
     .expect = {OUT(1, 2, 5)}},
    {"test_convtranspose_3d", "ConvTranspose", {IN("x", 1, 1, 3, 4, 5), IN("W", 1, 2, 3, 3, 3)},
     .expect = {OUT(1, 2, 5, 6, 7)}},
    {"test_convtranspose_autopad_same", "ConvTranspose", {IN("x", 1, 1, 3, 3), IN("W", 1, 2, 3, 3)},
     {AS("auto_pad", "SAME_UPPER"), AINTS("strides", 2, 2)}, .expect = {OUT(1, 2, 6, 6)}},
    {"convtranspose_same_lower", "ConvTranspose", {IN("x", 1, 1, 3, 3), IN("W", 1, 2, 3, 3)},
     {AS("auto_pad", "SAME_LOWER"), AINTS("strides", 2, 2)}, .expect = {OUT(1, 2, 6, 6)}},
    {"test_convtranspose_dilations", "ConvTranspose", {IN("x", 1, 1, 3, 3), IN("W", 1, 1, 2, 2)},
     {AINTS("dilations", 2, 2)}, .expect = {OUT(1, 1, 5, 5)}},
    {"test_convtranspose_pad", "ConvTranspose", {IN("x", 1, 1, 3, 3), IN("W", 1, 2, 3, 3)},
     {AINTS("output_padding", 1, 1), AINTS("strides", 3, 2)}, .expect = {OUT(1, 2, 10, 8)}},
    {"test_convtranspose_output_shape", "ConvTranspose", {IN("x", 1, 1, 3, 3), IN("W", 1, 2, 3, 3)},
     {AINTS("output_shape", 10, 8), AINTS("strides", 3, 2)}, .expect = {OUT(1, 2, 10, 8)}},
    {"test_convtranspose_kernel_shape", "ConvTranspose",
     {IN("x", 1, 1, 3, 3), IN("W", 1, 2, 3, 3)},
     {AINTS("kernel_shape", 3, 3), AINTS("output_padding", 1, 1), AINTS("output_shape", 10, 8),
      AINTS("strides", 3, 2)},
     .expect = {OUT(1, 2, 10, 8)}},
    {"test_convtranspose_pads", "ConvTranspose", {IN("x", 1, 1, 3, 3), IN("W", 1, 2, 3, 3)},
     {AINTS("pads", 1, 2, 1, 2), AINTS("strides", 3, 2)}, .expect = {OUT(1, 2, 7, 3)}},
    {"test_convtranspose_group_2", "ConvTranspose", {IN("x", 1, 2, 3, 3), IN("W", 2, 1, 3, 3)},
     {AI("group", 2)}, .expect = {OUT(1, 2, 5, 5)}},
    {"convtranspose_full_output_shape", "ConvTranspose",
     {IN("x", 1, 1, 3, 3), IN("W", 1, 2, 3, 3), IN("B", 2)},
     {AINTS("output_shape", 1, 2, 9, 7), AINTS("strides", 3, 2)}, .expect = {OUT(1, 2, 9, 7)}},
    {"convtranspose_asymmetric_pads_dilation", "ConvTranspose",
     {IN("x", 1, 3, 4, 4), IN("W", 3, 2, 3, 3)},
     {AINTS("strides", 2, 2), AINTS("dilations", 2, 1), AINTS("pads", 0, 1, 2, 0),
      AINTS("output_padding", 1, 0)},
     .expect = {OUT(1, 2, 10, 8)}},
    {"convtranspose_weight_channels", "ConvTranspose", {IN("x", 1, 2, 3, 3), IN("W", 1, 2, 3, 3)},
     FAILS(WEFT_ERR_SHAPE, "has 1 input channels but X ('x') has 2")},
    {"convtranspose_pads_remove_all", "ConvTranspose", {IN("x", 1, 1, 1, 1), IN("W", 1, 1, 1, 1)},
     {AINTS("pads", 1, 0, 0, 0)}, FAILS(WEFT_ERR_SHAPE, "remove the whole output")},
    {"convtranspose_output_shape_length", "ConvTranspose",
     {IN("x", 1, 1, 3, 3), IN("W", 1, 2, 3, 3)}, {AINTS("output_shape", 10, 8, 2)},
     FAILS(WEFT_ERR_GRAPH, "attribute 'output_shape' has 3 values")},

    /* ---- Gemm, MatMul ------------------------------------------------------ */
    {"test_gemm_all_attributes", "Gemm", {IN("a", 4, 3), IN("b", 5, 4), IN("c", 1, 5)},
     {AF("alpha", 0.25f), AF("beta", 0.35f), AI("transA", 1), AI("transB", 1)},
     .expect = {OUT(3, 5)}},
    {"test_gemm_default_scalar_bias", "Gemm", {IN("a", 2, 3), IN("b", 3, 4), SCALAR("c")},
     .expect = {OUT(2, 4)}},
    {"test_gemm_default_no_bias", "Gemm", {IN("a", 2, 10), IN("b", 10, 3)}, .expect = {OUT(2, 3)}},
    {"test_gemm_default_single_elem_vector_bias", "Gemm",
     {IN("a", 3, 7), IN("b", 7, 3), IN("c", 1)}, .expect = {OUT(3, 3)}},
    {"test_gemm_transposeA", "Gemm", {IN("a", 6, 3), IN("b", 6, 4), IN("c", 1, 4)},
     {AI("transA", 1)}, .expect = {OUT(3, 4)}},
    {"gemm_inner_mismatch", "Gemm", {IN("a", 2, 3), IN("b", 4, 5)},
     FAILS(WEFT_ERR_SHAPE, "inner dimensions differ")},
    {"gemm_bias_mismatch", "Gemm", {IN("a", 2, 3), IN("b", 3, 4), IN("c", 3)},
     FAILS(WEFT_ERR_SHAPE, "input 'C' ('c') of shape [3] does not broadcast to the output [2,4]")},
    {"gemm_trans_value", "Gemm", {IN("a", 2, 3), IN("b", 3, 4)}, {AI("transA", 2)},
     FAILS(WEFT_ERR_GRAPH, "attribute 'transA' = 2 is out of range [0, 1]")},
    {"test_matmul_1d_1d", "MatMul", {IN("a", 3), IN("b", 3)}, .expect = {OUT_SCALAR}},
    {"test_matmul_1d_3d", "MatMul", {IN("a", 4), IN("b", 2, 4, 1)}, .expect = {OUT(2, 1)}},
    {"test_matmul_4d_1d", "MatMul", {IN("a", 1, 2, 4, 3), IN("b", 3)}, .expect = {OUT(1, 2, 4)}},
    {"test_matmul_bcast", "MatMul", {IN("a", 3, 1, 3, 4), IN("b", 1, 2, 4, 2)},
     .expect = {OUT(3, 2, 3, 2)}},
    {"matmul_3d_2d", "MatMul", {IN("a", 2, 3, 4), IN("b", 4, 5)}, .expect = {OUT(2, 3, 5)}},
    {"matmul_inner_mismatch", "MatMul", {IN("a", 2, 3), IN("b", 4, 5)},
     FAILS(WEFT_ERR_SHAPE, "A ('a') [2,3] has K = 3, B ('b') [4,5] has K = 4")},
    {"matmul_batch_mismatch", "MatMul", {IN("a", 2, 3, 4), IN("b", 3, 4, 5)},
     FAILS(WEFT_ERR_SHAPE, "batch dimensions")},
    {"matmul_scalar", "MatMul", {SCALAR("a"), IN("b", 3)}, FAILS(WEFT_ERR_SHAPE, "is a scalar")},

    /* ---- Pools --------------------------------------------------------------- */
    {"test_averagepool_2d_ceil_last_window_starts_on_pad", "AveragePool", {IN("x", 1, 3, 2, 2)},
     {AI("ceil_mode", 1), AI("count_include_pad", 1), AINTS("kernel_shape", 3, 3),
      AINTS("pads", 1, 1, 1, 1), AINTS("strides", 3, 3)},
     .expect = {OUT(1, 3, 1, 1)}},
    {"test_maxpool_2d_ceil_output_size_reduce_by_one", "MaxPool", {IN("x", 1, 1, 2, 2)},
     {AI("ceil_mode", 1), AINTS("kernel_shape", 1, 1), AINTS("strides", 2, 2)},
     .expect = {OUT(1, 1, 1, 1)}},
    {"test_averagepool_2d_ceil", "AveragePool", {IN("x", 1, 1, 4, 4)},
     {AI("ceil_mode", 1), AINTS("kernel_shape", 3, 3), AINTS("strides", 2, 2)},
     .expect = {OUT(1, 1, 2, 2)}},
    {"test_averagepool_2d_same_lower", "AveragePool", {IN("x", 1, 3, 32, 32)},
     {AS("auto_pad", "SAME_LOWER"), AINTS("kernel_shape", 2, 2)}, .expect = {OUT(1, 3, 32, 32)}},
    {"test_maxpool_2d_precomputed_same_upper", "MaxPool", {IN("x", 1, 1, 5, 5)},
     {AS("auto_pad", "SAME_UPPER"), AINTS("kernel_shape", 3, 3), AINTS("strides", 2, 2)},
     .expect = {OUT(1, 1, 3, 3)}},
    {"test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True",
     "AveragePool", {IN("x", 1, 1, 32, 32, 32)},
     {AI("ceil_mode", 1), AI("count_include_pad", 1), AINTS("dilations", 2, 2, 2),
      AINTS("kernel_shape", 5, 5, 5), AINTS("strides", 3, 3, 3)},
     .expect = {OUT(1, 1, 9, 9, 9)}},
    {"test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_False",
     "AveragePool", {IN("x", 1, 1, 32, 32, 32)},
     {AINTS("dilations", 2, 2, 2), AINTS("kernel_shape", 5, 5, 5), AINTS("strides", 3, 3, 3)},
     .expect = {OUT(1, 1, 8, 8, 8)}},
    {"test_maxpool_2d_dilations", "MaxPool", {IN("x", 1, 1, 4, 4)},
     {AINTS("dilations", 2, 2), AINTS("kernel_shape", 2, 2), AINTS("strides", 1, 1)},
     .expect = {OUT(1, 1, 2, 2)}},
    {"test_maxpool_with_argmax_2d_precomputed_strides", "MaxPool", {IN("x", 1, 1, 5, 5)},
     {AINTS("kernel_shape", 2, 2), AI("storage_order", 1), AINTS("strides", 2, 2)},
     .outs = {"y", "z"}, .expect = {OUT(1, 1, 2, 2), OUT64(1, 1, 2, 2)}},
    {"test_averagepool_2d_pads", "AveragePool", {IN("x", 1, 3, 28, 28)},
     {AINTS("kernel_shape", 3, 3), AINTS("pads", 2, 2, 2, 2)}, .expect = {OUT(1, 3, 30, 30)}},
    {"test_lppool_1d_default", "LpPool", {IN("x", 1, 3, 32)},
     {AINTS("kernel_shape", 2), AI("p", 3), AINTS("strides", 1)}, .expect = {OUT(1, 3, 31)}},
    {"test_lppool_2d_same_upper", "LpPool", {IN("x", 1, 3, 32, 32)},
     {AS("auto_pad", "SAME_UPPER"), AINTS("kernel_shape", 2, 2), AI("p", 2)},
     .expect = {OUT(1, 3, 32, 32)}},
    {"maxpool_asymmetric_pads", "MaxPool", {IN("x", 1, 1, 5, 6)},
     {AINTS("kernel_shape", 3, 3), AINTS("pads", 0, 1, 2, 0), AINTS("strides", 2, 2)},
     .expect = {OUT(1, 1, 3, 3)}},
    {"maxpool_ceil_partial_window", "MaxPool", {IN("x", 1, 1, 6, 7)},
     {AI("ceil_mode", 1), AINTS("kernel_shape", 3, 3), AINTS("strides", 2, 2)},
     .expect = {OUT(1, 1, 3, 3)}},
    {"maxpool_floor_partial_window", "MaxPool", {IN("x", 1, 1, 6, 7)},
     {AINTS("kernel_shape", 3, 3), AINTS("strides", 2, 2)}, .expect = {OUT(1, 1, 2, 3)}},
    {"maxpool_valid", "MaxPool", {IN("x", 1, 1, 6, 7)},
     {AS("auto_pad", "VALID"), AI("ceil_mode", 1), AINTS("kernel_shape", 3, 3),
      AINTS("strides", 2, 2)},
     .expect = {OUT(1, 1, 2, 3)}},
    {"maxpool_no_kernel", "MaxPool", {IN("x", 1, 1, 4, 4)},
     FAILS(WEFT_ERR_GRAPH, "attribute 'kernel_shape' is required")},
    {"maxpool_kernel_too_large", "MaxPool", {IN("x", 1, 1, 4, 4)}, {AINTS("kernel_shape", 5, 2)},
     FAILS(WEFT_ERR_SHAPE, "on spatial axis 0 the kernel spans 5")},
    {"maxpool_storage_order", "MaxPool", {IN("x", 1, 1, 4, 4)},
     {AINTS("kernel_shape", 2, 2), AI("storage_order", 2)},
     FAILS(WEFT_ERR_GRAPH, "attribute 'storage_order' = 2")},
    {"averagepool_ceil_mode", "AveragePool", {IN("x", 1, 1, 4, 4)},
     {AINTS("kernel_shape", 2, 2), AI("ceil_mode", 3)}, FAILS(WEFT_ERR_GRAPH, "'ceil_mode'")},
    {"test_globalaveragepool", "GlobalAveragePool", {IN("x", 1, 3, 5, 5)},
     .expect = {OUT(1, 3, 1, 1)}},
    {"test_globalmaxpool_precomputed", "GlobalMaxPool", {IN("x", 1, 1, 3, 3)},
     .expect = {OUT(1, 1, 1, 1)}},
    {"globallppool_1d", "GlobalLpPool", {IN("x", 2, 3, 7)}, .expect = {OUT(2, 3, 1)}},
    {"globalpool_rank2", "GlobalAveragePool", {IN("x", 2, 3)}, FAILS(WEFT_ERR_SHAPE, "needs N, C")},

    /* ---- MaxUnpool, Resize, Upsample --------------------------------------- */
    {"test_maxunpool_export_without_output_shape", "MaxUnpool",
     {IN("x", 1, 1, 2, 2), IN64("i", 1, 1, 2, 2)},
     {AINTS("kernel_shape", 2, 2), AINTS("strides", 2, 2)}, .expect = {OUT(1, 1, 4, 4)}},
    {"test_maxunpool_export_with_output_shape", "MaxUnpool",
     {IN("x", 1, 1, 2, 2), IN64("i", 1, 1, 2, 2), CINTS("output_shape", 1, 1, 5, 5)},
     {AINTS("kernel_shape", 2, 2), AINTS("strides", 2, 2)}, .expect = {OUT(1, 1, 5, 5)}},
    {"maxunpool_pads", "MaxUnpool", {IN("x", 1, 1, 3, 3), IN64("i", 1, 1, 3, 3)},
     {AINTS("kernel_shape", 3, 3), AINTS("strides", 2, 2), AINTS("pads", 1, 1, 1, 0)},
     .expect = {OUT(1, 1, 5, 6)}},
    {"maxunpool_indices_shape", "MaxUnpool", {IN("x", 1, 1, 2, 2), IN64("i", 1, 1, 2, 3)},
     {AINTS("kernel_shape", 2, 2)}, FAILS(WEFT_ERR_SHAPE, "input 'I' ('i') has shape [1,1,2,3]")},
    {"maxunpool_computed_output_shape", "MaxUnpool",
     {IN("x", 1, 1, 2, 2), IN64("i", 1, 1, 2, 2), IN64("os", 4)}, {AINTS("kernel_shape", 2, 2)},
     FAILS(WEFT_ERR_UNSUPPORTED, "input 'output_shape' ('os') is computed")},
    {"test_resize_upsample_scales_nearest", "Resize",
     {IN("x", 1, 1, 2, 2), ABSENT, CFLOATS("scales", 1, 1, 2, 3)}, {AS("mode", "nearest")},
     .expect = {OUT(1, 1, 4, 6)}},
    {"test_resize_upsample_scales_linear_half_pixel_symmetric", "Resize",
     {IN("x", 1, 1, 2, 2), ABSENT, CFLOATS("scales", 1, 1, 2.3f, 2.94f)},
     {AS("coordinate_transformation_mode", "half_pixel_symmetric"), AS("mode", "linear")},
     .expect = {OUT(1, 1, 4, 5)}},
    {"test_resize_downsample_scales_linear", "Resize",
     {IN("x", 1, 1, 2, 4), ABSENT, CFLOATS("scales", 1, 1, 0.6f, 0.6f)}, {AS("mode", "linear")},
     .expect = {OUT(1, 1, 1, 2)}},
    {"test_resize_upsample_scales_nearest_axes_3_2", "Resize",
     {IN("x", 1, 1, 2, 2), ABSENT, CFLOATS("scales", 3, 2)},
     {AINTS("axes", 3, 2), AS("mode", "nearest")}, .expect = {OUT(1, 1, 4, 6)}},
    {"test_resize_upsample_sizes_nearest", "Resize",
     {IN("x", 1, 1, 2, 2), ABSENT, ABSENT, CINTS("sizes", 1, 1, 7, 8)},
     .expect = {OUT(1, 1, 7, 8)}},
    {"test_resize_downsample_sizes_nearest_not_larger", "Resize",
     {IN("x", 1, 1, 2, 4), ABSENT, ABSENT, CINTS("sizes", 1, 3)},
     {AINTS("axes", 2, 3), AS("keep_aspect_ratio_policy", "not_larger")},
     .expect = {OUT(1, 1, 1, 2)}},
    {"test_resize_downsample_sizes_nearest_not_smaller", "Resize",
     {IN("x", 1, 1, 2, 4), ABSENT, ABSENT, CINTS("sizes", 1, 3)},
     {AINTS("axes", 2, 3), AS("keep_aspect_ratio_policy", "not_smaller")},
     .expect = {OUT(1, 1, 2, 3)}},
    {"test_resize_upsample_sizes_nearest_not_larger", "Resize",
     {IN("x", 1, 1, 2, 2), ABSENT, ABSENT, CINTS("sizes", 7, 8)},
     {AINTS("axes", 2, 3), AS("keep_aspect_ratio_policy", "not_larger")},
     .expect = {OUT(1, 1, 7, 7)}},
    {"test_resize_tf_crop_and_resize", "Resize",
     {IN("x", 1, 1, 4, 4), CFLOATS("roi", 0, 0, 0.4f, 0.6f, 1, 1, 0.6f, 0.8f), ABSENT,
      CINTS("sizes", 1, 1, 3, 3)},
     {AS("coordinate_transformation_mode", "tf_crop_and_resize"), AS("mode", "linear")},
     .expect = {OUT(1, 1, 3, 3)}},
    {"resize_opset10", "Resize", {IN("x", 1, 3, 4, 5), CFLOATS("scales", 1, 1, 2, 0.5f)},
     .expect = {OUT(1, 3, 8, 2)}},
    {"resize_opset11_empty_scales", "Resize",
     {IN("x", 1, 3, 4, 5), CEMPTYF("roi"), CEMPTYF("scales"), CINTS("sizes", 1, 3, 9, 10)},
     .expect = {OUT(1, 3, 9, 10)}},
    {"resize_computed_empty_scales", "Resize",
     {IN("x", 1, 3, 4, 5), ABSENT, IN("scales", 0), CINTS("sizes", 1, 3, 9, 10)},
     .expect = {OUT(1, 3, 9, 10)}},
    {"resize_both", "Resize",
     {IN("x", 1, 1, 2, 2), ABSENT, CFLOATS("scales", 1, 1, 2, 2), CINTS("sizes", 1, 1, 4, 4)},
     FAILS(WEFT_ERR_GRAPH, "inputs 'scales' and 'sizes' are both given")},
    {"resize_neither", "Resize", {IN("x", 1, 1, 2, 2), ABSENT, CEMPTYF("scales")},
     FAILS(WEFT_ERR_GRAPH, "give input 'scales' or input 'sizes'")},
    {"resize_computed_sizes", "Resize", {IN("x", 1, 1, 2, 2), ABSENT, ABSENT, IN64("sizes", 4)},
     FAILS(WEFT_ERR_UNSUPPORTED, "input 'sizes' ('sizes') is computed")},
    {"resize_scales_count", "Resize", {IN("x", 1, 1, 2, 2), ABSENT, CFLOATS("scales", 2, 2)},
     FAILS(WEFT_ERR_GRAPH, "input 'scales' ('scales') has 2 values, expected 4")},
    {"resize_bad_mode", "Resize", {IN("x", 1, 1, 2, 2), ABSENT, CFLOATS("scales", 1, 1, 2, 2)},
     {AS("mode", "bicubic")}, FAILS(WEFT_ERR_GRAPH, "attribute 'mode' = \"bicubic\"")},
    {"test_upsample_nearest", "Upsample", {IN("x", 1, 1, 2, 2), CFLOATS("scales", 1, 1, 2, 3)},
     {AS("mode", "nearest")}, .expect = {OUT(1, 1, 4, 6)}},
    {"upsample_opset7_attribute", "Upsample", {IN("x", 1, 2, 3, 3)},
     {AFLOATS("scales", 1, 1, 2, 2), AS("mode", "linear")}, .expect = {OUT(1, 2, 6, 6)}},
    {"upsample_downscale", "Upsample", {IN("x", 1, 1, 4, 4)}, {AFLOATS("scales", 1, 1, 0.5f, 1)},
     FAILS(WEFT_ERR_GRAPH, "'scales'[2] = 0.5 must be >= 1")},

    /* ---- Normalization ------------------------------------------------------- */
    {"test_batchnorm_example", "BatchNormalization",
     {IN("x", 2, 3, 4, 5), IN("s", 3), IN("b", 3), IN("mean", 3), IN("var", 3)},
     .expect = {OUT(2, 3, 4, 5)}},
    {"test_batchnorm_epsilon", "BatchNormalization",
     {IN("x", 2, 3, 4, 5), IN("s", 3), IN("b", 3), IN("mean", 3), IN("var", 3)},
     {AF("epsilon", 0.01f)}, .expect = {OUT(2, 3, 4, 5)}},
    {"batchnorm_rank2", "BatchNormalization",
     {IN("x", 8, 3), IN("s", 3), IN("b", 3), IN("mean", 3), IN("var", 3)},
     .expect = {OUT(8, 3)}},
    {"batchnorm_scale_shape", "BatchNormalization",
     {IN("x", 2, 3, 4, 5), IN("s", 4), IN("b", 3), IN("mean", 3), IN("var", 3)},
     FAILS(WEFT_ERR_SHAPE, "input 'scale' ('s') has shape [4], expected [3]")},
    {"batchnorm_training_mode", "BatchNormalization",
     {IN("x", 2, 3), IN("s", 3), IN("b", 3), IN("mean", 3), IN("var", 3)},
     {AI("training_mode", 1)}, FAILS(WEFT_ERR_UNSUPPORTED, "training outputs are not supported")},
    {"batchnorm_running_outputs", "BatchNormalization",
     {IN("x", 2, 3), IN("s", 3), IN("b", 3), IN("mean", 3), IN("var", 3)},
     .outs = {"y", "running_mean", "running_var"},
     FAILS(WEFT_ERR_UNSUPPORTED, "output 1 ('running_mean'): training outputs")},
    {"test_lrn", "LRN", {IN("x", 5, 5, 5, 5)},
     {AF("alpha", 0.0002f), AF("beta", 0.5f), AF("bias", 2.0f), AI("size", 3)},
     .expect = {OUT(5, 5, 5, 5)}},
    {"test_lrn_default", "LRN", {IN("x", 5, 5, 5, 5)}, {AI("size", 3)},
     .expect = {OUT(5, 5, 5, 5)}},
    {"lrn_no_size", "LRN", {IN("x", 1, 4, 2, 2)},
     FAILS(WEFT_ERR_GRAPH, "attribute 'size' is required")},
    {"lrn_size_zero", "LRN", {IN("x", 1, 4, 2, 2)}, {AI("size", 0)},
     FAILS(WEFT_ERR_GRAPH, "attribute 'size' = 0 must be positive")},
    {"test_instancenorm_example", "InstanceNormalization",
     {IN("x", 1, 2, 1, 3), IN("s", 2), IN("bias", 2)}, .expect = {OUT(1, 2, 1, 3)}},
    {"test_instancenorm_epsilon", "InstanceNormalization",
     {IN("x", 2, 3, 4, 5), IN("s", 3), IN("bias", 3)}, {AF("epsilon", 0.01f)},
     .expect = {OUT(2, 3, 4, 5)}},
    {"instancenorm_bias_shape", "InstanceNormalization",
     {IN("x", 2, 3, 4, 5), IN("s", 3), IN("bias", 3, 1)},
     FAILS(WEFT_ERR_SHAPE, "input 'B' ('bias') has shape [3,1]")},
    {"test_layer_normalization_4d_axis1", "LayerNormalization",
     {IN("x", 2, 3, 4, 5), IN("w", 3, 4, 5), IN("b", 3, 4, 5)}, {AI("axis", 1)},
     .outs = {"y", "mean", "inv_std"},
     .expect = {OUT(2, 3, 4, 5), OUT(2, 1, 1, 1), OUT(2, 1, 1, 1)}},
    {"test_layer_normalization_2d_axis0", "LayerNormalization",
     {IN("x", 3, 4), IN("w", 3, 4), IN("b", 3, 4)}, {AI("axis", 0)},
     .outs = {"y", "mean", "inv_std"}, .expect = {OUT(3, 4), OUT(1, 1), OUT(1, 1)}},
    {"test_layer_normalization_default_axis", "LayerNormalization",
     {IN("x", 2, 3, 4, 5), IN("w", 5), IN("b", 5)}, .outs = {"y", "mean", "inv_std"},
     .expect = {OUT(2, 3, 4, 5), OUT(2, 3, 4, 1), OUT(2, 3, 4, 1)}},
    {"layernorm_broadcast_scale_no_stats", "LayerNormalization",
     {IN("x", 2, 3, 4, 5), IN("w", 1, 5)}, {AI("axis", -2)}, .outs = {"y", "", ""},
     .expect = {OUT(2, 3, 4, 5)}},
    {"layernorm_scale_shape", "LayerNormalization", {IN("x", 2, 3, 5), IN("w", 4)},
     FAILS(WEFT_ERR_SHAPE, "input 'Scale' ('w') of shape [4] does not broadcast")},
    {"layernorm_axis_range", "LayerNormalization", {IN("x", 2, 3, 5), IN("w", 5)}, {AI("axis", 3)},
     FAILS(WEFT_ERR_GRAPH, "attribute 'axis' = 3 is out of range")},
    {"test_group_normalization_example", "GroupNormalization",
     {IN("x", 3, 4, 2, 2), IN("scale", 4), IN("bias", 4)}, {AI("num_groups", 2)},
     .expect = {OUT(3, 4, 2, 2)}},
    {"test_group_normalization_epsilon", "GroupNormalization",
     {IN("x", 3, 4, 2, 2), IN("scale", 4), IN("bias", 4)},
     {AF("epsilon", 0.01f), AI("num_groups", 2)}, .expect = {OUT(3, 4, 2, 2)}},
    {"groupnorm_opset18_per_group", "GroupNormalization",
     {IN("x", 3, 6, 2, 2), IN("scale", 3), IN("bias", 3)}, {AI("num_groups", 3)},
     .expect = {OUT(3, 6, 2, 2)}},
    {"groupnorm_not_dividing", "GroupNormalization",
     {IN("x", 3, 4, 2, 2), IN("scale", 4), IN("bias", 4)}, {AI("num_groups", 3)},
     FAILS(WEFT_ERR_SHAPE, "attribute 'num_groups' = 3 does not divide the 4 channels")},
    {"groupnorm_no_groups", "GroupNormalization",
     {IN("x", 3, 4, 2, 2), IN("scale", 4), IN("bias", 4)},
     FAILS(WEFT_ERR_GRAPH, "attribute 'num_groups' is required")},
    {"groupnorm_scale_shape", "GroupNormalization",
     {IN("x", 3, 4, 2, 2), IN("scale", 3), IN("bias", 4)}, {AI("num_groups", 2)},
     FAILS(WEFT_ERR_SHAPE, "input 'scale' ('scale') has shape [3], expected [4]")},
};

#define CASE_COUNT (sizeof cases / sizeof cases[0])

/* ---- Running a case ------------------------------------------------------ */

static void add_tensor(weft_graph *g, const tensor_spec *t)
{
    if (!*t->name || weft_graph_find_value(g, t->name) >= 0)
        return; /* absent, or named twice */
    weft_dtype dtype = t->dtype ? t->dtype : WEFT_FLOAT32;
    if (t->ints || t->floats || t->constant)
        assert_weft_ok(weft_graph_add_constant(g, t->name, dtype, t->rank, t->dims,
                                               t->ints ? (const void *)t->ints
                                                       : (const void *)t->floats));
    else
        assert_weft_ok(weft_graph_add_input(g, t->name, dtype, t->rank, t->dims));
}

static void add_attr(weft_attrs *a, const attr_spec *s)
{
    switch (s->type) {
    case WEFT_ATTR_INT: assert_weft_ok(weft_attrs_set_int(a, s->name, s->i)); break;
    case WEFT_ATTR_FLOAT: assert_weft_ok(weft_attrs_set_float(a, s->name, s->f)); break;
    case WEFT_ATTR_STRING: assert_weft_ok(weft_attrs_set_string(a, s->name, s->s)); break;
    case WEFT_ATTR_INTS: assert_weft_ok(weft_attrs_set_ints(a, s->name, s->ints, s->count)); break;
    case WEFT_ATTR_FLOATS:
        assert_weft_ok(weft_attrs_set_floats(a, s->name, s->floats, s->count));
        break;
    }
}

static void check_output(const weft_graph *g, const shape_case *c, const char *name,
                         const out_spec *want)
{
    int at = weft_graph_find_value(g, name);
    assert_true(at >= 0);
    const weft_value *v = &g->values[at];
    weft_shape expect = {.rank = want->rank};
    memcpy(expect.dims, want->dims, sizeof expect.dims);
    char got_s[256], want_s[256];
    if (!v->shape_known || !weft_shape_equal(&v->shape, &expect))
        fail_msg("%s: output '%s' has shape %s, expected %s", c->label, name,
                 v->shape_known ? weft_shape_format(&v->shape, got_s, sizeof got_s) : "(unknown)",
                 weft_shape_format(&expect, want_s, sizeof want_s));
    weft_dtype dtype = want->dtype ? want->dtype : WEFT_FLOAT32;
    if (v->dtype != dtype)
        fail_msg("%s: output '%s' is %s, expected %s", c->label, name, weft_dtype_name(v->dtype),
                 weft_dtype_name(dtype));
}

static void run_case(void **state)
{
    const shape_case *c = *state;
    weft_graph *g = NULL;
    weft_attrs *attrs = NULL;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_attrs_create(&attrs));
    const char *inputs[MAX_IN];
    size_t in_count = 0;
    for (; in_count < MAX_IN && c->in[in_count].name; in_count++) {
        add_tensor(g, &c->in[in_count]);
        inputs[in_count] = c->in[in_count].name;
    }
    for (size_t i = 0; i < MAX_ATTRS && c->attrs[i].name; i++)
        add_attr(attrs, &c->attrs[i]);
    static const char *const default_outs[MAX_OUT] = {"out"};
    const char *const *outs = c->outs[0] ? c->outs : default_outs;
    size_t out_count = 0;
    while (out_count < MAX_OUT && outs[out_count])
        out_count++;
    assert_weft_ok(weft_graph_add_node(g, c->op, c->label, inputs, in_count, attrs, outs,
                                       out_count));
    for (size_t i = 0; i < out_count; i++)
        if (*outs[i])
            assert_weft_ok(weft_graph_add_output(g, outs[i]));
    weft_status st = weft_graph_validate(g);
    if (c->status == WEFT_OK) {
        if (st != WEFT_OK)
            fail_msg("%s: validation returned %s: %s", c->label, weft_status_name(st),
                     weft_last_error());
        for (size_t i = 0, k = 0; i < out_count; i++)
            if (*outs[i])
                check_output(g, c, outs[i], &c->expect[k++]);
    } else {
        char prefix[256];
        snprintf(prefix, sizeof prefix, "node '%s' (%s): ", c->label, c->op);
        if (st != c->status)
            fail_msg("%s: validation returned %s, expected %s: %s", c->label,
                     weft_status_name(st), weft_status_name(c->status), weft_last_error());
        if (strncmp(weft_last_error(), prefix, strlen(prefix)) != 0 ||
            !strstr(weft_last_error(), c->message))
            fail_msg("%s: message should start with \"%s\" and contain \"%s\": %s", c->label,
                     prefix, c->message, weft_last_error());
    }
    weft_attrs_release(attrs);
    weft_graph_release(g);
}

/* ---- Whole-table and multi-node checks ----------------------------------- */

/* Every op kind weft knows has at least one passing case in the table. */
static void every_op_kind_is_covered(void **state)
{
    (void)state;
    for (size_t k = 0; k < weft_op_kind_count; k++) {
        int covered = 0;
        for (size_t i = 0; i < CASE_COUNT && !covered; i++)
            covered = cases[i].status == WEFT_OK && strcmp(cases[i].op, weft_op_kinds[k].name) == 0;
        if (!covered)
            fail_msg("op kind %s has no shape-inference case", weft_op_kinds[k].name);
    }
}

/* Shapes flow through a chain, and a Reshape reads its shape from a
 * Constant node (not yet folded into a graph constant). */
static void chain_with_constant_node(void **state)
{
    (void)state;
    weft_graph *g;
    weft_attrs *c_attrs, *conv_attrs, *none = NULL;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_attrs_create(&c_attrs));
    assert_weft_ok(weft_attrs_create(&conv_attrs));
    const int64_t x_dims[] = {1, 3, 8, 8}, w_dims[] = {4, 3, 3, 3};
    float w[4 * 3 * 3 * 3] = {0};
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, x_dims));
    assert_weft_ok(weft_graph_add_constant(g, "w", WEFT_FLOAT32, 4, w_dims, w));
    const int64_t shape[] = {0, -1};
    assert_weft_ok(weft_attrs_set_ints(c_attrs, "value_ints", shape, 2));
    assert_weft_ok(weft_attrs_set_int(conv_attrs, "group", 1));
    assert_weft_ok(weft_attrs_set_ints(conv_attrs, "pads", (const int64_t[]){1, 1, 1, 1}, 4));
    /* Added out of order: validation sorts the nodes. */
    assert_weft_ok(weft_graph_add_node(g, "Reshape", "flat", (const char *[]){"r", "shape"}, 2,
                                       none, (const char *[]){"y"}, 1));
    assert_weft_ok(weft_graph_add_node(g, "Constant", "shape_node", NULL, 0, c_attrs,
                                       (const char *[]){"shape"}, 1));
    assert_weft_ok(weft_graph_add_node(g, "Conv", "conv", (const char *[]){"x", "w"}, 2,
                                       conv_attrs, (const char *[]){"c"}, 1));
    assert_weft_ok(weft_graph_add_node(g, "Relu", "relu", (const char *[]){"c"}, 1, none,
                                       (const char *[]){"r"}, 1));
    assert_weft_ok(weft_graph_add_output(g, "y"));
    assert_weft_ok(weft_graph_validate(g));
    const weft_value *y = &g->values[weft_graph_find_value(g, "y")];
    weft_shape want = {.rank = 2, .dims = {1, 256}};
    assert_true(y->shape_known);
    assert_true(weft_shape_equal(&y->shape, &want));
    /* Validating twice gives the same shapes. */
    assert_weft_ok(weft_graph_validate(g));
    assert_true(weft_shape_equal(&y->shape, &want));
    weft_attrs_release(c_attrs);
    weft_attrs_release(conv_attrs);
    weft_graph_release(g);
}

/* A Reshape reads its shape from a Shape node (opset 15 start), whose
 * input shape is known by then. */
static void reshape_from_shape_node(void **state)
{
    (void)state;
    weft_graph *g;
    weft_attrs *attrs;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_attrs_create(&attrs));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 3, (const int64_t[]){2, 3, 4}));
    assert_weft_ok(weft_graph_add_input(g, "v", WEFT_FLOAT32, 1, (const int64_t[]){12}));
    assert_weft_ok(weft_attrs_set_int(attrs, "start", 1));
    assert_weft_ok(weft_graph_add_node(g, "Shape", "shape", (const char *[]){"x"}, 1, attrs,
                                       (const char *[]){"s"}, 1));
    assert_weft_ok(weft_graph_add_node(g, "Reshape", "reshape", (const char *[]){"v", "s"}, 2,
                                       NULL, (const char *[]){"y"}, 1));
    assert_weft_ok(weft_graph_add_output(g, "y"));
    assert_weft_ok(weft_graph_validate(g));
    const weft_value *y = &g->values[weft_graph_find_value(g, "y")];
    weft_shape want = {.rank = 2, .dims = {3, 4}};
    assert_true(weft_shape_equal(&y->shape, &want));
    weft_attrs_release(attrs);
    weft_graph_release(g);
}

/* An error in the middle of a chain names that node. */
static void chain_error_names_the_node(void **state)
{
    (void)state;
    weft_graph *g;
    weft_attrs *attrs;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_attrs_create(&attrs));
    const int64_t dims[] = {2, 3};
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 2, dims));
    assert_weft_ok(weft_attrs_set_ints(attrs, "perm", (const int64_t[]){1, 1}, 2));
    assert_weft_ok(weft_graph_add_node(g, "Relu", "first", (const char *[]){"x"}, 1, NULL,
                                       (const char *[]){"r"}, 1));
    assert_weft_ok(weft_graph_add_node(g, "Transpose", "second", (const char *[]){"r"}, 1, attrs,
                                       (const char *[]){"t"}, 1));
    assert_weft_ok(weft_graph_add_node(g, "Relu", "third", (const char *[]){"t"}, 1, NULL,
                                       (const char *[]){"y"}, 1));
    assert_weft_ok(weft_graph_add_output(g, "y"));
    assert_weft_status(weft_graph_validate(g), WEFT_ERR_GRAPH,
                       "node 'second' (Transpose): attribute 'perm' = [1,1]");
    weft_attrs_release(attrs);
    weft_graph_release(g);
}

int main(void)
{
    struct CMUnitTest tests[CASE_COUNT + 4];
    for (size_t i = 0; i < CASE_COUNT; i++)
        tests[i] = (struct CMUnitTest){.name = cases[i].label,
                                       .test_func = run_case,
                                       .initial_state = (void *)&cases[i]};
    tests[CASE_COUNT] = (struct CMUnitTest)cmocka_unit_test(every_op_kind_is_covered);
    tests[CASE_COUNT + 1] = (struct CMUnitTest)cmocka_unit_test(chain_with_constant_node);
    tests[CASE_COUNT + 2] = (struct CMUnitTest)cmocka_unit_test(reshape_from_shape_node);
    tests[CASE_COUNT + 3] = (struct CMUnitTest)cmocka_unit_test(chain_error_names_the_node);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
