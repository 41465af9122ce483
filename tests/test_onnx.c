/*
 * The ONNX importer (src/onnx/): models are built here as protobuf bytes
 * with the generated protobuf-c code, so each case states exactly what the
 * file holds.
 *  - opset translations: Softmax/LogSoftmax before and after 13 (run on
 *    the device and compared with the formula), Clip attributes vs inputs,
 *    Split/Squeeze/Unsqueeze/ReduceMean axes as attributes or inputs, Pad
 *    before and after 11, Resize 10/11/13, Upsample 7/9, BatchNormalization
 *    training outputs, Reshape allowzero, Constant nodes;
 *  - initializers from raw_data and from each typed field, converted to
 *    float32 or int64, and the types refused;
 *  - external data: good, escaping the folder (.., absolute, symlink),
 *    shorter than offset + length, and from memory;
 *  - hostile input: every truncation of a model, wrong wire types, huge
 *    declared lengths, negative and overflowing dims, data size not
 *    matching dims, cycles, undefined inputs, values defined twice,
 *    repeated outputs, missing graph or opset — each with its status and
 *    message, and (under ASan) no leak.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "graph/graph.h"
#include "onnx.pb-c.h"
#include "onnx/onnx_tensor.h"
#include "onnx_model.h"
#include "test_common.h"

/* ---- Running a one-input, one-output model on the default device ---------- */

static void run_model(weft_graph *g, const float *x, size_t nx, float *y, size_t ny)
{
    weft_context *ctx = NULL;
    weft_context_options o = test_options(NULL);
    assert_weft_ok(weft_context_create(&o, &ctx));
    weft_session *s = NULL;
    assert_weft_ok(weft_session_create(ctx, g, NULL, &s));
    weft_tensor in, out = {0};
    assert_weft_ok(weft_session_input_info(s, 0, &in));
    in.data = (void *)x;
    in.size_bytes = nx * sizeof *x;
    weft_tensor info;
    assert_weft_ok(weft_session_output_info(s, 0, &info));
    out.name = info.name;
    out.data = y;
    out.size_bytes = ny * sizeof *y;
    assert_weft_ok(weft_session_run(s, &in, 1, &out, 1));
    weft_session_release(s);
    weft_context_release(ctx);
}

/* ---- Opset translations ------------------------------------------------------- */

/* Softmax over the flattened [from, rank) block of a [2,3,4] input, or over
 * axis 1 alone; the two readings ONNX gave the same node. */
static void softmax_want(const float *x, float *y, int coerce, int log_form)
{
    for (int n = 0; n < 2; n++) {
        if (coerce) {
            const float *xs = x + n * 12;
            double m = -INFINITY, sum = 0;
            for (int i = 0; i < 12; i++)
                m = fmax(m, xs[i]);
            for (int i = 0; i < 12; i++)
                sum += exp(xs[i] - m);
            for (int i = 0; i < 12; i++)
                y[n * 12 + i] = (float)(log_form ? xs[i] - m - log(sum) : exp(xs[i] - m) / sum);
            continue;
        }
        for (int k = 0; k < 4; k++) {
            double m = -INFINITY, sum = 0;
            for (int c = 0; c < 3; c++)
                m = fmax(m, x[n * 12 + c * 4 + k]);
            for (int c = 0; c < 3; c++)
                sum += exp(x[n * 12 + c * 4 + k] - m);
            for (int c = 0; c < 3; c++) {
                double v = x[n * 12 + c * 4 + k];
                y[n * 12 + c * 4 + k] =
                    (float)(log_form ? v - m - log(sum) : exp(v - m) / sum);
            }
        }
    }
}

static void test_softmax_opsets(void **state)
{
    (void)state;
    float x[24];
    for (int i = 0; i < 24; i++)
        x[i] = (float)((i * 7) % 11) * 0.3f - 1.0f;
    const struct {
        const char *op;
        int64_t opset;
        int coerce;
    } cases[] = {{"Softmax", 11, 1}, {"LogSoftmax", 11, 1}, {"Softmax", 13, 0},
                 {"LogSoftmax", 13, 0}, {"Softmax", 7, 1}};
    for (size_t c = 0; c < WEFT_COUNTOF(cases); c++) {
        mb *b = mb_new(cases[c].opset);
        mb_input(b, "x", SHAPE(2, 3, 4));
        WeftOnnx__NodeProto *np = mb_node(b, cases[c].op, "sm", IN("x"), IN("y"));
        attr_int(b, np, "axis", 1);
        mb_output(b, "y");
        weft_graph *g = load_ok(b);
        assert_shape(g, "y", SHAPE(2, 3, 4));
        float y[24], want[24];
        run_model(g, x, 24, y, 24);
        softmax_want(x, want, cases[c].coerce, cases[c].op[0] == 'L');
        for (int i = 0; i < 24; i++)
            if (fabsf(y[i] - want[i]) > 1e-5f + 1e-4f * fabsf(want[i]))
                fail_msg("%s opset %lld: y[%d] = %g, expected %g", cases[c].op,
                         (long long)cases[c].opset, i, (double)y[i], (double)want[i]);
        weft_graph_release(g);
        mb_free(b);
    }
}

static void test_clip_opsets(void **state)
{
    (void)state;
    float x[6] = {-2, -0.25f, 0, 0.25f, 1, 3}, want[6] = {-0.5f, -0.25f, 0, 0.25f, 0.5f, 0.5f};
    for (int form = 0; form < 2; form++) {
        mb *b = mb_new(form ? 13 : 7);
        mb_input(b, "x", SHAPE(6));
        WeftOnnx__NodeProto *np;
        if (form) {
            mb_init_floats(b, "lo", 0, NULL, (float[]){-0.5f}, 1);
            mb_init_floats(b, "hi", 0, NULL, (float[]){0.5f}, 1);
            np = mb_node(b, "Clip", NULL, IN("x", "lo", "hi"), IN("y"));
        } else {
            np = mb_node(b, "Clip", NULL, IN("x"), IN("y"));
            attr_float(b, np, "min", -0.5f);
            attr_float(b, np, "max", 0.5f);
        }
        mb_output(b, "y");
        weft_graph *g = load_ok(b);
        float y[6];
        run_model(g, x, 6, y, 6);
        for (int i = 0; i < 6; i++)
            assert_float_equal(y[i], want[i], 0.0f);
        weft_graph_release(g);
        mb_free(b);
    }
}

static void test_axes_opsets(void **state)
{
    (void)state;
    /* Split: attribute (11), input (13), num_outputs (18). */
    for (int form = 0; form < 3; form++) {
        mb *b = mb_new(form == 0 ? 11 : form == 1 ? 13 : 18);
        mb_input(b, "x", SHAPE(2, 6));
        WeftOnnx__NodeProto *np;
        if (form == 1) {
            mb_init_ints(b, "split", DIMS(2, 4), 2);
            np = mb_node(b, "Split", NULL, IN("x", "split"), IN("a", "b"));
        } else {
            np = mb_node(b, "Split", NULL, IN("x"), IN("a", "b"));
            if (form == 0)
                attr_ints(b, np, "split", DIMS(2, 4), 2);
            else
                attr_int(b, np, "num_outputs", 2);
        }
        attr_int(b, np, "axis", 1);
        mb_output(b, "a");
        mb_output(b, "b");
        weft_graph *g = load_ok(b);
        assert_shape(g, "a", SHAPE(2, form == 2 ? 3 : 2));
        assert_shape(g, "b", SHAPE(2, form == 2 ? 3 : 4));
        weft_graph_release(g);
        mb_free(b);
    }
    /* Squeeze, Unsqueeze (attribute before 13, input since), ReduceMean
     * (attribute before 18, input since). */
    for (int form = 0; form < 2; form++) {
        mb *b = mb_new(form ? 18 : 11);
        mb_input(b, "x", SHAPE(3, 1, 4));
        if (form) {
            mb_init_ints(b, "ax1", DIMS(1), 1);
            mb_init_ints(b, "ax0", DIMS(0), 1);
            mb_init_ints(b, "ax2", DIMS(-1), 1);
            mb_node(b, "Squeeze", NULL, IN("x", "ax1"), IN("s"));
            mb_node(b, "Unsqueeze", NULL, IN("s", "ax0"), IN("u"));
            mb_node(b, "ReduceMean", NULL, IN("u", "ax2"), IN("r"));
        } else {
            attr_ints(b, mb_node(b, "Squeeze", NULL, IN("x"), IN("s")), "axes", DIMS(1), 1);
            attr_ints(b, mb_node(b, "Unsqueeze", NULL, IN("s"), IN("u")), "axes", DIMS(0), 1);
            attr_ints(b, mb_node(b, "ReduceMean", NULL, IN("u"), IN("r")), "axes", DIMS(-1), 1);
        }
        mb_output(b, "r");
        weft_graph *g = load_ok(b);
        assert_shape(g, "s", SHAPE(3, 4));
        assert_shape(g, "u", SHAPE(1, 3, 4));
        assert_shape(g, "r", SHAPE(1, 3, 1));
        weft_graph_release(g);
        mb_free(b);
    }
}

static void test_pad_reshape_opsets(void **state)
{
    (void)state;
    for (int form = 0; form < 2; form++) {
        mb *b = mb_new(form ? 11 : 7);
        mb_input(b, "x", SHAPE(2, 3));
        if (form) {
            mb_init_ints(b, "pads", DIMS(0, 1, 1, 2), 4);
            mb_init_floats(b, "v", 0, NULL, (float[]){1.5f}, 1);
            mb_node(b, "Pad", NULL, IN("x", "pads", "v"), IN("y"));
        } else {
            WeftOnnx__NodeProto *np = mb_node(b, "Pad", NULL, IN("x"), IN("y"));
            attr_ints(b, np, "pads", DIMS(0, 1, 1, 2), 4);
            attr_float(b, np, "value", 1.5f);
            attr_string(b, np, "mode", "constant");
        }
        mb_output(b, "y");
        weft_graph *g = load_ok(b);
        assert_shape(g, "y", SHAPE(3, 6));
        float x[6] = {1, 2, 3, 4, 5, 6}, y[18];
        run_model(g, x, 6, y, 18);
        assert_float_equal(y[0], 1.5f, 0.0f);
        assert_float_equal(y[1], 1.0f, 0.0f);
        assert_float_equal(y[17], 1.5f, 0.0f);
        weft_graph_release(g);
        mb_free(b);
    }
    /* Reshape: 0 copies a dim, unless allowzero (opset 14) keeps it 0. */
    for (int allowzero = 0; allowzero < 2; allowzero++) {
        mb *b = mb_new(14);
        mb_input(b, "x", SHAPE(0, 3));
        mb_init_ints(b, "shape", DIMS(3, 0), 2);
        WeftOnnx__NodeProto *np = mb_node(b, "Reshape", NULL, IN("x", "shape"), IN("y"));
        attr_int(b, np, "allowzero", allowzero);
        mb_output(b, "y");
        weft_graph *g = NULL;
        if (allowzero) {
            g = load_ok(b);
            assert_shape(g, "y", SHAPE(3, 0));
        } else {
            assert_weft_ok(mb_load(b, &g));
            assert_weft_status(weft_graph_validate(g), WEFT_ERR_SHAPE, "Reshape");
        }
        weft_graph_release(g);
        mb_free(b);
    }
}

static void test_resize_opsets(void **state)
{
    (void)state;
    /* Resize 10 (X, scales), 11 (X, roi, scales), 13 (X, "", "", sizes);
     * Upsample 7 (scales attribute) and 9 (scales input). */
    for (int form = 0; form < 5; form++) {
        static const int64_t opsets[] = {10, 11, 13, 7, 9};
        mb *b = mb_new(opsets[form]);
        mb_input(b, "x", SHAPE(1, 1, 2, 3));
        const float scales[4] = {1, 1, 2, 2};
        if (form == 0 || form == 4)
            mb_init_floats(b, "scales", SHAPE(4), scales, 4);
        if (form == 0)
            mb_node(b, "Resize", NULL, IN("x", "scales"), IN("y"));
        if (form == 1) {
            mb_init_floats(b, "roi", SHAPE(0), NULL, 0);
            mb_init_floats(b, "scales", SHAPE(4), scales, 4);
            mb_node(b, "Resize", NULL, IN("x", "roi", "scales"), IN("y"));
        }
        if (form == 2) {
            mb_init_ints(b, "sizes", DIMS(1, 1, 4, 6), 4);
            mb_node(b, "Resize", NULL, IN("x", "", "", "sizes"), IN("y"));
        }
        if (form == 3)
            attr_floats(b, mb_node(b, "Upsample", NULL, IN("x"), IN("y")), "scales", scales, 4);
        if (form == 4)
            mb_node(b, "Upsample", NULL, IN("x", "scales"), IN("y"));
        mb_output(b, "y");
        weft_graph *g = load_ok(b);
        assert_shape(g, "y", SHAPE(1, 1, 4, 6));
        float x[6] = {1, 2, 3, 4, 5, 6}, y[24];
        run_model(g, x, 6, y, 24);
        /* Nearest: asymmetric floor before 11, half_pixel round since; on
         * an exact 2x both pick the same taps. */
        assert_float_equal(y[0], 1.0f, 0.0f);
        assert_float_equal(y[23], 6.0f, 0.0f);
        weft_graph_release(g);
        mb_free(b);
    }
    /* A two-input Resize at opset 11 is (X, roi) with neither scales nor
     * sizes, not the opset 10 form. */
    mb *b = mb_new(11);
    mb_input(b, "x", SHAPE(1, 1, 2, 3));
    mb_init_floats(b, "roi", SHAPE(0), NULL, 0);
    mb_node(b, "Resize", NULL, IN("x", "roi"), IN("y"));
    mb_output(b, "y");
    weft_graph *g = NULL;
    assert_weft_ok(mb_load(b, &g));
    assert_weft_status(weft_graph_validate(g), WEFT_ERR_GRAPH, "'scales'");
    weft_graph_release(g);
    mb_free(b);
}

static mb *batch_norm_model(int64_t opset, const char *const *outputs)
{
    mb *b = mb_new(opset);
    mb_input(b, "x", SHAPE(1, 2, 2));
    for (int i = 0; i < 4; i++) {
        static const char *const names[] = {"s", "bias", "mean", "var"};
        mb_init_floats(b, names[i], SHAPE(2), (float[]){1, 1}, 2);
    }
    mb_node(b, "BatchNormalization", "bn", IN("x", "s", "bias", "mean", "var"), outputs);
    mb_output(b, "y");
    return b;
}

static void test_batch_norm_outputs(void **state)
{
    (void)state;
    /* Unnamed optional outputs are dropped. */
    mb *b = batch_norm_model(9, IN("y", "", ""));
    weft_graph *g = load_ok(b);
    assert_shape(g, "y", SHAPE(1, 2, 2));
    weft_graph_release(g);
    mb_free(b);
    expect_load(batch_norm_model(9, IN("y", "rm", "rv", "sm", "sv")), WEFT_ERR_UNSUPPORTED,
                "output 1 ('rm') is a training output");
    b = batch_norm_model(15, IN("y"));
    attr_int(b, b->g.node[0], "training_mode", 1);
    expect_load(b, WEFT_ERR_UNSUPPORTED, "'training_mode' = 1");
}

static void test_constant_nodes(void **state)
{
    (void)state;
    mb *b = mb_new(13);
    mb_input(b, "x", SHAPE(2, 3));
    WeftOnnx__NodeProto *c = mb_node(b, "Constant", "c", NULL, IN("shape"));
    WeftOnnx__AttributeProto *a = attr(b, c, "value", 4);
    a->t = tensor(b, "", WEFT_ONNX_INT64, 1, DIMS(1));
    set_raw(b, a->t, (int64_t[]){-1}, 8);
    attr_ints(b, mb_node(b, "Constant", NULL, NULL, IN("ints")), "value_ints", DIMS(3, 2), 2);
    attr_float(b, mb_node(b, "Constant", NULL, NULL, IN("f")), "value_float", 2.5f);
    mb_node(b, "Reshape", NULL, IN("x", "shape"), IN("flat"));
    mb_node(b, "Reshape", NULL, IN("flat", "ints"), IN("y"));
    mb_node(b, "Mul", NULL, IN("y", "f"), IN("z"));
    mb_output(b, "z");
    weft_graph *g = load_ok(b);
    assert_shape(g, "flat", SHAPE(6));
    assert_shape(g, "z", SHAPE(3, 2));
    weft_graph_release(g);
    mb_free(b);
    /* A sparse value is refused, with the node. */
    b = mb_new(13);
    mb_input(b, "x", SHAPE(1));
    attr(b, mb_node(b, "Constant", "sp", NULL, IN("k")), "sparse_value", 11);
    mb_node(b, "Add", NULL, IN("x", "k"), IN("y"));
    mb_output(b, "y");
    expect_load(b, WEFT_ERR_UNSUPPORTED,
                "Constant (node 'sp', opset 13): attribute 'sparse_value'");
}

static void test_unsupported_listed(void **state)
{
    (void)state;
    mb *b = mb_new(13);
    WeftOnnx__OperatorSetIdProto *o = alloc(b, sizeof *o);
    weft_onnx__operator_set_id_proto__init(o);
    o->domain = str(b, "com.microsoft");
    o->has_version = 1;
    o->version = 1;
    PUSH(b, b->m.opset_import, b->m.n_opset_import, o);
    mb_input(b, "x", SHAPE(4));
    mb_node(b, "Cast", "cast1", IN("x"), IN("a"));
    mb_node(b, "Relu", "ok", IN("a"), IN("r"));
    mb_node(b, "Gather", NULL, IN("r", "r"), IN("g"));
    WeftOnnx__NodeProto *f = mb_node(b, "FusedGemm", "fg", IN("g"), IN("y"));
    f->domain = str(b, "com.microsoft");
    mb_output(b, "y");
    weft_graph *g = NULL;
    assert_weft_status(mb_load(b, &g), WEFT_ERR_UNSUPPORTED, "3 nodes weft cannot import");
    const char *msg = weft_last_error();
    assert_non_null(strstr(msg, "Cast (node 'cast1', opset 13): op type not supported"));
    assert_non_null(strstr(msg, "Gather (node #2, opset 13)"));
    assert_non_null(strstr(msg, "FusedGemm (node 'fg', domain 'com.microsoft' opset 1)"));
    assert_null(strstr(msg, "Relu"));
    mb_free(b);
    /* A GRAPH attribute (If, Loop bodies) is refused by name. */
    b = mb_new(13);
    mb_input(b, "x", SHAPE(4));
    attr(b, mb_node(b, "Relu", "r", IN("x"), IN("y")), "body", 5);
    mb_output(b, "y");
    expect_load(b, WEFT_ERR_UNSUPPORTED, "attribute 'body' of type GRAPH");
}

/* ---- Initializers -------------------------------------------------------------- */

static const weft_value *value(weft_graph *g, const char *name)
{
    int at = weft_graph_find_value(g, name);
    assert_true(at >= 0);
    return &g->values[at];
}

static void test_initializer_forms(void **state)
{
    (void)state;
    mb *b = mb_new(13);
    mb_input(b, "x", SHAPE(2));
    /* float_data, double_data, float16 and bfloat16 bits in int32_data. */
    WeftOnnx__TensorProto *t = mb_init(b, tensor(b, "f", WEFT_ONNX_FLOAT, 1, DIMS(2)));
    t->n_float_data = 2;
    t->float_data = alloc(b, 2 * sizeof(float));
    t->float_data[0] = 1.5f;
    t->float_data[1] = -2.0f;
    t = mb_init(b, tensor(b, "d", WEFT_ONNX_DOUBLE, 1, DIMS(2)));
    t->n_double_data = 2;
    t->double_data = alloc(b, 2 * sizeof(double));
    t->double_data[0] = 0.25;
    t->double_data[1] = 1e300; /* to float: +inf */
    t = mb_init(b, tensor(b, "h", WEFT_ONNX_FLOAT16, 1, DIMS(2)));
    t->n_int32_data = 2;
    t->int32_data = alloc(b, 2 * sizeof(int32_t));
    t->int32_data[0] = 0x3c00; /* 1.0 */
    t->int32_data[1] = 0xc100; /* -2.5 */
    t = mb_init(b, tensor(b, "bf", WEFT_ONNX_BFLOAT16, 1, DIMS(2)));
    set_raw(b, t, (uint8_t[]){0x80, 0x3f, 0x40, 0xc0}, 4); /* 1.0, -3.0 */
    /* Integers: int32_data, raw int8 and uint8, bool, int64 raw. */
    t = mb_init(b, tensor(b, "i32", WEFT_ONNX_INT32, 1, DIMS(2)));
    t->n_int32_data = 2;
    t->int32_data = alloc(b, 2 * sizeof(int32_t));
    t->int32_data[0] = -7;
    t->int32_data[1] = 2000000000;
    t = mb_init(b, tensor(b, "i8", WEFT_ONNX_INT8, 1, DIMS(2)));
    set_raw(b, t, (uint8_t[]){0xff, 0x05}, 2);
    t = mb_init(b, tensor(b, "u8", WEFT_ONNX_UINT8, 1, DIMS(2)));
    set_raw(b, t, (uint8_t[]){0xff, 0x05}, 2);
    t = mb_init(b, tensor(b, "i64", WEFT_ONNX_INT64, 0, NULL));
    set_raw(b, t, (uint8_t[]){0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 8);
    t = mb_init(b, tensor(b, "u64", WEFT_ONNX_UINT64, 1, DIMS(1)));
    t->n_uint64_data = 1;
    t->uint64_data = alloc(b, sizeof(uint64_t));
    t->uint64_data[0] = 1234567890123ull;
    mb_init(b, tensor(b, "empty", WEFT_ONNX_FLOAT, 2, DIMS(0, 5)));
    /* An input that is also an initializer is a constant. */
    mb_init_floats(b, "w", SHAPE(2), (float[]){3, 4}, 2);
    mb_input(b, "w", SHAPE(2));
    mb_node(b, "Add", NULL, IN("x", "w"), IN("y"));
    mb_output(b, "y");
    weft_graph *g = NULL;
    assert_weft_ok(mb_load(b, &g));
    const float *f = value(g, "f")->data;
    assert_true(f[0] == 1.5f && f[1] == -2.0f);
    f = value(g, "d")->data;
    assert_true(f[0] == 0.25f && isinf(f[1]));
    f = value(g, "h")->data;
    assert_true(f[0] == 1.0f && f[1] == -2.5f);
    f = value(g, "bf")->data;
    assert_true(f[0] == 1.0f && f[1] == -3.0f);
    const int64_t *i = value(g, "i32")->data;
    assert_true(value(g, "i32")->dtype == WEFT_INT64 && i[0] == -7 && i[1] == 2000000000);
    i = value(g, "i8")->data;
    assert_true(i[0] == -1 && i[1] == 5);
    i = value(g, "u8")->data;
    assert_true(i[0] == 255 && i[1] == 5);
    i = value(g, "i64")->data;
    assert_true(value(g, "i64")->shape.rank == 0 && i[0] == -2);
    i = value(g, "u64")->data;
    assert_true(i[0] == 1234567890123ll);
    assert_int_equal(value(g, "empty")->shape.dims[1], 5);
    assert_int_equal(value(g, "w")->kind, WEFT_VALUE_CONSTANT);
    assert_int_equal(g->input_count, 1);
    weft_graph_release(g);
    mb_free(b);
}

/* A model whose only initializer is t (built by make). */
static mb *one_initializer(WeftOnnx__TensorProto *(*make)(mb *b))
{
    mb *b = mb_new(13);
    mb_input(b, "x", SHAPE(2));
    mb_init(b, make(b));
    mb_node(b, "Add", NULL, IN("x", "w"), IN("y"));
    mb_output(b, "y");
    return b;
}

static WeftOnnx__TensorProto *t_string(mb *b)
{
    return tensor(b, "w", WEFT_ONNX_STRING, 1, DIMS(2));
}
static WeftOnnx__TensorProto *t_short_raw(mb *b)
{
    WeftOnnx__TensorProto *t = tensor(b, "w", WEFT_ONNX_FLOAT, 1, DIMS(2));
    set_raw(b, t, (float[]){1}, 4);
    return t;
}
static WeftOnnx__TensorProto *t_few_floats(mb *b)
{
    WeftOnnx__TensorProto *t = tensor(b, "w", WEFT_ONNX_FLOAT, 1, DIMS(3));
    t->n_float_data = 2;
    t->float_data = alloc(b, 2 * sizeof(float));
    return t;
}
static WeftOnnx__TensorProto *t_wrong_field(mb *b)
{
    WeftOnnx__TensorProto *t = tensor(b, "w", WEFT_ONNX_FLOAT, 1, DIMS(2));
    t->n_int64_data = 2;
    t->int64_data = alloc(b, 2 * sizeof(int64_t));
    return t;
}
static WeftOnnx__TensorProto *t_twice(mb *b)
{
    WeftOnnx__TensorProto *t = t_short_raw(b);
    t->n_float_data = 2;
    t->float_data = alloc(b, 2 * sizeof(float));
    return t;
}
static WeftOnnx__TensorProto *t_negative(mb *b)
{
    return tensor(b, "w", WEFT_ONNX_FLOAT, 2, DIMS(2, -1));
}
static WeftOnnx__TensorProto *t_overflow(mb *b)
{
    /* 2^31 * 2^31 * 2^31 elements: the product overflows before anything
     * is allocated. */
    return tensor(b, "w", WEFT_ONNX_FLOAT, 3, DIMS(1ll << 31, 1ll << 31, 1ll << 31));
}
static WeftOnnx__TensorProto *t_huge(mb *b)
{
    /* Fits in int64 but the data is absent: refused by size, not by malloc. */
    return tensor(b, "w", WEFT_ONNX_FLOAT, 2, DIMS(1ll << 30, 1ll << 20));
}
static WeftOnnx__TensorProto *t_rank9(mb *b)
{
    return tensor(b, "w", WEFT_ONNX_FLOAT, 9, DIMS(1, 1, 1, 1, 1, 1, 1, 1, 2));
}
static WeftOnnx__TensorProto *t_no_type(mb *b)
{
    WeftOnnx__TensorProto *t = tensor(b, "w", 0, 1, DIMS(2));
    t->has_data_type = 0;
    return t;
}
static WeftOnnx__TensorProto *t_u64_big(mb *b)
{
    WeftOnnx__TensorProto *t = tensor(b, "w", WEFT_ONNX_UINT64, 1, DIMS(1));
    t->n_uint64_data = 1;
    t->uint64_data = alloc(b, sizeof(uint64_t));
    t->uint64_data[0] = UINT64_MAX;
    return t;
}

static void test_initializer_errors(void **state)
{
    (void)state;
    const struct {
        WeftOnnx__TensorProto *(*make)(mb *b);
        weft_status status;
        const char *part;
    } cases[] = {
        {t_string, WEFT_ERR_UNSUPPORTED, "initializer 'w': data_type STRING is not supported"},
        {t_short_raw, WEFT_ERR_MODEL_FORMAT, "raw_data has 4 bytes but dims [2] of FLOAT need 8"},
        {t_few_floats, WEFT_ERR_MODEL_FORMAT,
         "field 'float_data' has 2 values but dims [3] need 3"},
        {t_wrong_field, WEFT_ERR_MODEL_FORMAT, "field 'int64_data' is set but data_type FLOAT"},
        {t_twice, WEFT_ERR_MODEL_FORMAT, "its data is given more than once"},
        {t_negative, WEFT_ERR_MODEL_FORMAT, "initializer 'w': dims[1] = -1 is negative"},
        {t_overflow, WEFT_ERR_MODEL_FORMAT, "the product of dims"},
        {t_huge, WEFT_ERR_MODEL_FORMAT, "raw_data has 0 bytes"},
        {t_rank9, WEFT_ERR_UNSUPPORTED, "rank 9"},
        {t_no_type, WEFT_ERR_MODEL_FORMAT, "data_type UNDEFINED is not set"},
        {t_u64_big, WEFT_ERR_UNSUPPORTED, "does not fit weft's int64"},
    };
    for (size_t i = 0; i < WEFT_COUNTOF(cases); i++)
        expect_load(one_initializer(cases[i].make), cases[i].status, cases[i].part);
}

/* ---- External data ----------------------------------------------------------------- */

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    fclose(f);
}

static void external(mb *b, WeftOnnx__TensorProto *t, const char *location, const char *offset,
                     const char *length)
{
    t->has_data_location = 1;
    t->data_location = 1;
    const char *keys[] = {"location", "offset", "length"};
    const char *vals[] = {location, offset, length};
    for (int k = 0; k < 3; k++) {
        if (!vals[k])
            continue;
        WeftOnnx__StringStringEntryProto *e = alloc(b, sizeof *e);
        weft_onnx__string_string_entry_proto__init(e);
        e->key = str(b, keys[k]);
        e->value = str(b, vals[k]);
        PUSH(b, t->external_data, t->n_external_data, e);
    }
}

/* Writes a model with initializer w external at location into dir/name
 * and loads it from its file. */
static weft_status load_external(const char *dir, const char *location, const char *offset,
                                 const char *length, weft_graph **g)
{
    mb *b = mb_new(13);
    mb_input(b, "x", SHAPE(2));
    external(b, mb_init(b, tensor(b, "w", WEFT_ONNX_FLOAT, 1, DIMS(2))), location, offset,
             length);
    mb_node(b, "Add", NULL, IN("x", "w"), IN("y"));
    mb_output(b, "y");
    size_t size;
    uint8_t *bytes = mb_pack(b, &size);
    char path[1024];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    write_file(path, bytes, size);
    /* From memory, external data has no folder to come from. */
    weft_graph *m = NULL;
    assert_weft_status(weft_graph_load_onnx_memory(bytes, size, &m), WEFT_ERR_MODEL_FORMAT,
                       "a model loaded from memory");
    free(bytes);
    mb_free(b);
    weft_status st = weft_graph_load_onnx(path, g);
    if (st != WEFT_OK)
        assert_null(*g);
    return st;
}

static void test_external_data(void **state)
{
    (void)state;
    char *root = test_tmpdir("onnx_external");
    char dir[1024], path[1100], outside[1100];
    snprintf(dir, sizeof dir, "%s/model", root);
    snprintf(outside, sizeof outside, "%s/outside.bin", root);
    assert_int_equal(weft_mkdirs(dir), 0);
    snprintf(path, sizeof path, "%s/sub", dir);
    assert_int_equal(weft_mkdirs(path), 0);
    const float data[4] = {9, 1.5f, -2.5f, 7};
    snprintf(path, sizeof path, "%s/sub/weights.bin", dir);
    write_file(path, data, sizeof data);
    write_file(outside, data, sizeof data);
    snprintf(path, sizeof path, "%s/link.bin", dir);
    assert_int_equal(symlink(outside, path), 0);

    weft_graph *g = NULL;
    assert_weft_ok(load_external(dir, "sub/weights.bin", "4", "8", &g));
    const float *w = value(g, "w")->data;
    assert_true(w[0] == 1.5f && w[1] == -2.5f);
    weft_graph_release(g);
    /* No length: the dims say how much is read. */
    assert_weft_ok(load_external(dir, "./sub//weights.bin", "8", NULL, &g));
    w = value(g, "w")->data;
    assert_true(w[0] == -2.5f && w[1] == 7);
    weft_graph_release(g);

    assert_weft_status(load_external(dir, "../outside.bin", NULL, NULL, &g),
                       WEFT_ERR_MODEL_FORMAT, "has a '..' component");
    assert_weft_status(load_external(dir, "sub/../../outside.bin", NULL, NULL, &g),
                       WEFT_ERR_MODEL_FORMAT, "has a '..' component");
    assert_weft_status(load_external(dir, outside, NULL, NULL, &g), WEFT_ERR_MODEL_FORMAT,
                       "is an absolute path");
    assert_weft_status(load_external(dir, "link.bin", NULL, NULL, &g), WEFT_ERR_MODEL_FORMAT,
                       "outside the model's folder");
    assert_weft_status(load_external(dir, "sub/weights.bin", "12", NULL, &g),
                       WEFT_ERR_MODEL_FORMAT, "fewer than offset 12 + length 8");
    assert_weft_status(load_external(dir, "sub/weights.bin", "99999999999", "8", &g),
                       WEFT_ERR_MODEL_FORMAT, "fewer than offset");
    assert_weft_status(load_external(dir, "sub/weights.bin", "0", "12", &g),
                       WEFT_ERR_MODEL_FORMAT, "'length' = 12 but its dims need 8 bytes");
    assert_weft_status(load_external(dir, "sub/weights.bin", "-4", NULL, &g),
                       WEFT_ERR_MODEL_FORMAT, "'offset' = '-4' is not a non-negative integer");
    assert_weft_status(load_external(dir, "missing.bin", NULL, NULL, &g), WEFT_ERR_MODEL_FORMAT,
                       "cannot be opened");
    assert_weft_status(load_external(dir, "sub", NULL, NULL, &g), WEFT_ERR_MODEL_FORMAT,
                       "is not a regular file");
    assert_weft_status(load_external(dir, NULL, NULL, NULL, &g), WEFT_ERR_MODEL_FORMAT,
                       "has no 'location'");
    test_rmtree(root);
    free(root);
}

/* ---- Hostile and malformed models ------------------------------------------------- */

static mb *small_model(void)
{
    mb *b = mb_new(13);
    mb_input(b, "x", SHAPE(1, 2));
    mb_init_floats(b, "w", SHAPE(2, 2), (float[]){1, 2, 3, 4}, 4);
    WeftOnnx__NodeProto *np = mb_node(b, "Gemm", "fc", IN("x", "w"), IN("h"));
    attr_float(b, np, "alpha", 0.5f);
    mb_node(b, "Relu", "act", IN("h"), IN("y"));
    mb_output(b, "y");
    return b;
}

static void test_truncated(void **state)
{
    (void)state;
    mb *b = small_model();
    size_t size;
    uint8_t *bytes = mb_pack(b, &size);
    weft_graph *g = NULL;
    assert_weft_ok(weft_graph_load_onnx_memory(bytes, size, &g));
    weft_graph_release(g);
    /* Every prefix: a protobuf cut at a field boundary may still parse, so
     * only the statuses of a refusal are allowed, never a crash or leak. */
    size_t format = 0;
    for (size_t n = 0; n < size; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact size, for ASan */
        memcpy(copy, bytes, n);
        weft_status st = weft_graph_load_onnx_memory(copy, n, &g);
        free(copy);
        if (st == WEFT_OK) {
            weft_graph_release(g);
            continue;
        }
        assert_null(g);
        assert_true(st == WEFT_ERR_MODEL_FORMAT || st == WEFT_ERR_UNSUPPORTED);
        format += st == WEFT_ERR_MODEL_FORMAT;
    }
    assert_true(format > size / 2);
    assert_weft_status(weft_graph_load_onnx_memory(bytes, size - 1, &g), WEFT_ERR_MODEL_FORMAT,
                       "truncated or malformed");
    free(bytes);
    mb_free(b);
}

static void test_wire_errors(void **state)
{
    (void)state;
    weft_graph *g = NULL;
    /* graph (field 7) sent as a varint. */
    static const uint8_t wire_type[] = {0x38, 0x01};
    assert_weft_status(weft_graph_load_onnx_memory(wire_type, sizeof wire_type, &g),
                       WEFT_ERR_MODEL_FORMAT, "not a valid ONNX model");
    /* graph with a declared length of 2^32 - 1 bytes in a 7-byte file. */
    static const uint8_t huge[] = {0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
    assert_weft_status(weft_graph_load_onnx_memory(huge, sizeof huge, &g), WEFT_ERR_MODEL_FORMAT,
                       "not a valid ONNX model");
    /* A varint of 11 bytes. */
    static const uint8_t long_varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_weft_status(weft_graph_load_onnx_memory(long_varint, sizeof long_varint, &g),
                       WEFT_ERR_MODEL_FORMAT, "not a valid ONNX model");
    /* An empty file parses as an empty model. */
    assert_weft_status(weft_graph_load_onnx_memory("", 0, &g), WEFT_ERR_MODEL_FORMAT,
                       "model.graph is missing");
    /* Sizes beyond the cap are refused before reading. */
    assert_weft_status(weft_graph_load_onnx_memory(wire_type, (size_t)3 << 30, &g),
                       WEFT_ERR_MODEL_FORMAT, "more than the 2 GiB");
    assert_weft_status(weft_graph_load_onnx_memory(NULL, 0, NULL), WEFT_ERR_INVALID_ARGUMENT,
                       "graph is NULL");
    assert_weft_status(weft_graph_load_onnx("no/such/model.onnx", &g), WEFT_ERR_IO,
                       "no/such/model.onnx");
    assert_null(g);
}

static void test_structure_errors(void **state)
{
    (void)state;
    mb *b = small_model();
    b->m.n_opset_import = 0;
    expect_load(b, WEFT_ERR_MODEL_FORMAT, "opset_import has no entry for the ai.onnx domain");
    b = small_model();
    b->m.opset_import[0]->version = 6;
    expect_load(b, WEFT_ERR_UNSUPPORTED, "opset 6; weft reads opsets 7 to");
    b = small_model();
    b->g.node[1]->op_type = NULL;
    expect_load(b, WEFT_ERR_MODEL_FORMAT, "graph.node[1] ('act') has no op_type");
    /* A cycle: h = Gemm(x, y), y = Relu(h). */
    b = small_model();
    b->g.node[0]->input[1] = str(b, "y");
    expect_load(b, WEFT_ERR_MODEL_FORMAT, "model graph: the graph has a cycle through node");
    /* A missing initializer. */
    b = small_model();
    b->g.n_initializer = 0;
    expect_load(b, WEFT_ERR_MODEL_FORMAT,
                "node 'fc' (Gemm): input 1 'w' is not a graph input, an initializer or the "
                "output of any node");
    /* A value defined twice: by two nodes, by a node and an initializer. */
    b = small_model();
    b->g.node[1]->output[0] = str(b, "h");
    expect_load(b, WEFT_ERR_MODEL_FORMAT,
                "node 'act' (Relu): value 'h' is already defined by node 'fc' (Gemm)");
    b = small_model();
    b->g.node[1]->output[0] = str(b, "w");
    expect_load(b, WEFT_ERR_MODEL_FORMAT, "value 'w' is already defined by a graph input");
    b = small_model();
    mb_init_floats(b, "w", SHAPE(1), (float[]){1}, 1);
    expect_load(b, WEFT_ERR_MODEL_FORMAT, "initializer 'w': value 'w' is already defined");
    /* Graph outputs: repeated, undefined, none. */
    b = small_model();
    mb_output(b, "y");
    expect_load(b, WEFT_ERR_MODEL_FORMAT, "graph.output[1] 'y' repeats graph.output[0]");
    b = small_model();
    mb_output(b, "nowhere");
    expect_load(b, WEFT_ERR_MODEL_FORMAT, "graph.output[1] 'nowhere' is not");
    b = small_model();
    b->g.n_output = 0;
    expect_load(b, WEFT_ERR_MODEL_FORMAT, "graph.output is empty");
    /* Inputs: negative dim, symbolic dim, unsupported type, no type. */
    b = small_model();
    b->g.input[0]->type->tensor_type->shape->dim[1]->dim_value = -3;
    expect_load(b, WEFT_ERR_MODEL_FORMAT, "graph input 'x': dim 1 = -3 is negative");
    b = small_model();
    b->g.input[0]->type->tensor_type->shape->dim[0]->dim_value = 1ll << 40;
    b->g.input[0]->type->tensor_type->shape->dim[1]->dim_value = 1ll << 40;
    expect_load(b, WEFT_ERR_MODEL_FORMAT,
                "graph input 'x': weft_graph_add_input: the size of 'x' overflows");
    b = small_model();
    WeftOnnx__TensorShapeProto__Dimension *dim = b->g.input[0]->type->tensor_type->shape->dim[0];
    dim->value_case = WEFT_ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    dim->dim_param = str(b, "batch");
    expect_load(b, WEFT_ERR_UNSUPPORTED, "graph input 'x': dim 0 is symbolic ('batch')");
    b = small_model();
    b->g.input[0]->type->tensor_type->elem_type = WEFT_ONNX_DOUBLE;
    expect_load(b, WEFT_ERR_UNSUPPORTED, "graph input 'x': elem_type DOUBLE is not supported");
    b = small_model();
    b->g.input[0]->type = NULL;
    expect_load(b, WEFT_ERR_MODEL_FORMAT, "graph input 'x': has no type");
    /* Attributes: repeated, nameless, a string with a NUL. */
    b = small_model();
    attr_float(b, b->g.node[0], "alpha", 2.0f);
    expect_load(b, WEFT_ERR_MODEL_FORMAT, "node 'fc' (Gemm): attribute 'alpha' is given twice");
    b = small_model();
    b->g.node[0]->attribute[0]->name = NULL;
    expect_load(b, WEFT_ERR_MODEL_FORMAT, "node 'fc' (Gemm): attribute[0] has no name");
    b = small_model();
    WeftOnnx__AttributeProto *a = attr(b, b->g.node[1], "note", 3);
    a->has_s = 1;
    a->s.len = 3;
    a->s.data = alloc(b, 3);
    memcpy(a->s.data, "a\0b", 3);
    expect_load(b, WEFT_ERR_MODEL_FORMAT, "attribute 'note' holds a string with a NUL byte");
    /* A STRING attribute without its field (found by the fuzzer) is "". */
    b = small_model();
    attr(b, b->g.node[1], "note", 3);
    weft_graph *g = NULL;
    assert_weft_ok(mb_load(b, &g));
    assert_string_equal(weft_node_attr(&g->nodes[1], "note")->s, "");
    weft_graph_release(g);
    mb_free(b);
    /* More inputs than the builder takes. */
    b = small_model();
    WeftOnnx__NodeProto *cat = mb_node(b, "Concat", "wide", NULL, IN("c"));
    for (int i = 0; i < 1100; i++)
        PUSH(b, cat->input, cat->n_input, str(b, "x"));
    attr_int(b, cat, "axis", 0);
    expect_load(b, WEFT_ERR_MODEL_FORMAT,
                "node 'wide' (Concat): weft_graph_add_node: 1100 inputs");
    /* And the untouched model loads, and runs. */
    b = small_model();
    g = load_ok(b);
    float x[2] = {1, -1}, y[2];
    run_model(g, x, 2, y, 2);
    assert_float_equal(y[0], 0.0f, 0.0f); /* 0.5 * (1 - 3) < 0 */
    assert_float_equal(y[1], 0.0f, 0.0f);
    weft_graph_release(g);
    mb_free(b);
}

/* The TensorProto reader the conformance test uses. */
static void test_tensor_parse(void **state)
{
    (void)state;
    mb *b = mb_new(13);
    WeftOnnx__TensorProto *t = tensor(b, "out", WEFT_ONNX_INT64, 2, DIMS(1, 2));
    set_raw(b, t, (int64_t[]){5, -6}, 16);
    size_t size = weft_onnx__tensor_proto__get_packed_size(t);
    uint8_t *bytes = malloc(size);
    weft_onnx__tensor_proto__pack(t, bytes);
    weft_onnx_tensor out;
    assert_weft_ok(weft_onnx_tensor_parse(bytes, size, "test", &out));
    assert_string_equal(out.name, "out");
    assert_int_equal(out.dtype, WEFT_INT64);
    assert_int_equal(out.bytes, 16);
    assert_true(((int64_t *)out.data)[1] == -6);
    weft_onnx_tensor_free(&out);
    assert_weft_status(weft_onnx_tensor_parse(bytes, size - 3, "cut", &out),
                       WEFT_ERR_MODEL_FORMAT, "cut: not a valid TensorProto");
    free(bytes);
    mb_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_softmax_opsets),     cmocka_unit_test(test_clip_opsets),
        cmocka_unit_test(test_axes_opsets),        cmocka_unit_test(test_pad_reshape_opsets),
        cmocka_unit_test(test_resize_opsets),      cmocka_unit_test(test_batch_norm_outputs),
        cmocka_unit_test(test_constant_nodes),     cmocka_unit_test(test_unsupported_listed),
        cmocka_unit_test(test_initializer_forms),  cmocka_unit_test(test_initializer_errors),
        cmocka_unit_test(test_external_data),      cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_wire_errors),        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_tensor_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
