/*
 * The fusion passes of weft_graph_simplify: BatchNormalization folded into
 * the layer before it (pass_fold_batch_norm.c), a residual Add fused into
 * the Conv producing one of its operands (pass_fuse_residual.c) and an
 * activation fused into the layer before it (pass_fuse_activation.c).
 *  - Each layer kind (Conv, ConvTranspose, Gemm, MatMul) followed by each
 *    fusable activation: simplify leaves one node with _weft_activation,
 *    and a session (which simplifies and runs the fused kernels) agrees
 *    with the reference run on the graph as built, outputs poisoned.
 *  - Conv -> BatchNormalization -> Relu becomes one node, same results.
 *  - Not fused: the layer's output also read elsewhere, or a graph output;
 *    Clip with a bound the graph computes.
 *  - The reference applies _weft_activation itself, so a fused graph and
 *    the graph it came from agree on the host too.
 *  - Residuals: ResNet's basic and downsampling blocks (both Add operands
 *    convs, in either order), MobileNetV2's inverted residual and a 1x1
 *    conv + Add + Relu become the expected nodes (which conv took which
 *    residual, the order still valid), and run on the automatic choice
 *    and on every Conv implementation forced that takes all their convs
 *    (named ones must), against the reference of the unfused graph,
 *    outputs poisoned. Not fused: the conv's output read elsewhere, a
 *    broadcasting Add, a conv with an activation already, a conv whose
 *    output is a graph output. The pass alone; the internal input 3
 *    refused without its marker or of another shape, and in a model
 *    file; the kernels'
 *    residual over a few geometries and forced conv_direct tiles.
 * Tolerance: the kernels' float sums against the reference's double, as
 * in tests/test_conv.c, |got - want| <= 1e-4 + 1e-4 |want| for these short
 * reductions (at most 72 terms of |x| < 2).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "graph/graph.h"
#include "graph/passes.h"
#include "onnx_model.h"
#include "op_test.h"
#include "ops/op.h"
#include "ref/ref.h"
#include "runtime/session.h"
#include "test_common.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static float *random_data(size_t n, uint64_t seed)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    assert_non_null(x);
    weft_random_fill(&seed, x, n, -1.0f, 1.0f);
    return x;
}

static void add_constant(weft_graph *g, const char *name, int rank, const int64_t *dims,
                         uint64_t seed)
{
    test_add_random_constant(g, name, rank, dims, &seed, -1.0f, 1.0f);
}

static void add_node(weft_graph *g, const char *op, const char *name, const char **in, size_t n_in,
                     weft_attrs *a, const char *out)
{
    assert_weft_ok(weft_graph_add_node(g, op, name, in, n_in, a, &out, 1));
}

/* The layer of kind k reading "x" and writing "y"; *x_rank and x_dims
 * say what the input "x" is. */
enum { CONV, CONV_TRANSPOSE, GEMM, MATMUL, LAYERS };
static const char *const layer_names[] = {"Conv", "ConvTranspose", "Gemm", "MatMul"};

static void add_layer(weft_graph *g, int k, int *x_rank, int64_t x_dims[4])
{
    weft_attrs *a;
    assert_weft_ok(weft_attrs_create(&a));
    if (k == CONV || k == CONV_TRANSPOSE) {
        *x_rank = 4;
        memcpy(x_dims, (int64_t[]){1, 4, 7, 6}, 4 * sizeof *x_dims);
        const int64_t w[4] = {k == CONV ? 5 : 4, k == CONV ? 4 : 5, 3, 3}, b[1] = {5};
        add_constant(g, "w", 4, w, 11);
        add_constant(g, "b", 1, b, 12);
        weft_attrs_set_ints(a, "pads", (int64_t[]){1, 1, 1, 1}, 4);
        if (k == CONV_TRANSPOSE)
            weft_attrs_set_ints(a, "strides", (int64_t[]){2, 2}, 2);
        add_node(g, layer_names[k], "layer", (const char *[]){"x", "w", "b"}, 3, a, "y");
    } else if (k == GEMM) {
        *x_rank = 2;
        memcpy(x_dims, (int64_t[]){3, 8}, 2 * sizeof *x_dims);
        add_constant(g, "w", 2, (int64_t[]){6, 8}, 13);
        add_constant(g, "c", 1, (int64_t[]){6}, 14);
        weft_attrs_set_int(a, "transB", 1);
        add_node(g, "Gemm", "layer", (const char *[]){"x", "w", "c"}, 3, a, "y");
    } else {
        *x_rank = 3;
        memcpy(x_dims, (int64_t[]){2, 3, 8}, 3 * sizeof *x_dims);
        add_constant(g, "w", 2, (int64_t[]){8, 5}, 15);
        add_node(g, "MatMul", "layer", (const char *[]){"x", "w"}, 2, NULL, "y");
    }
    weft_attrs_release(a);
}

typedef struct activation {
    const char *op;
    float alpha, beta; /* LeakyRelu's alpha; Clip's bounds (as constant inputs) */
} activation;

static const activation activations[] = {
    {"Relu", 0, 0},     {"LeakyRelu", 0.2f, 0}, {"Clip", 0, 6}, {"Clip", -0.25f, 0.3f},
    {"Sigmoid", 0, 0},  {"Tanh", 0, 0},         {"HardSwish", 0, 0},
};

static void add_activation(weft_graph *g, const activation *act, const char *in, const char *out)
{
    weft_attrs *a;
    assert_weft_ok(weft_attrs_create(&a));
    if (strcmp(act->op, "LeakyRelu") == 0)
        weft_attrs_set_float(a, "alpha", act->alpha);
    if (strcmp(act->op, "Clip") == 0) {
        assert_weft_ok(weft_graph_add_constant(g, "lo", WEFT_FLOAT32, 0, NULL, &act->alpha));
        assert_weft_ok(weft_graph_add_constant(g, "hi", WEFT_FLOAT32, 0, NULL, &act->beta));
        add_node(g, "Clip", "act", (const char *[]){in, "lo", "hi"}, 3, a, out);
    } else {
        add_node(g, act->op, "act", &in, 1, a, out);
    }
    weft_attrs_release(a);
}

/* Nodes left after weft_graph_simplify on a copy of g; *fused says
 * whether the layer carries _weft_activation = act (NULL: none). */
static size_t simplified_nodes(const weft_graph *g, const char *act, int *fused)
{
    weft_graph *c;
    assert_weft_ok(weft_graph_clone(g, &c));
    assert_weft_ok(weft_graph_simplify(c));
    size_t n = c->node_count;
    *fused = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = NULL;
        weft_node_attr_string(&c->nodes[i], "_weft_activation", NULL, &s);
        if (act ? s && strcmp(s, act) == 0 : s != NULL)
            *fused = 1;
    }
    weft_graph_release(c);
    return n;
}

/* Layer k of layer_names from graph input x to y; *x_rank, x_dims: x's
 * shape. */
static weft_graph *layer_graph(int k, int *x_rank, int64_t x_dims[4])
{
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    add_layer(g, k, x_rank, x_dims);
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, *x_rank, x_dims));
    return g;
}

/* Graph input "x" of these dims, random in [-1, 1) from seed (the caller
 * frees .data). */
static weft_tensor random_input(int rank, const int64_t *dims, uint64_t seed)
{
    size_t n = op_test_numel(rank, dims);
    weft_tensor in = {.name = "x", .dtype = WEFT_FLOAT32, .rank = rank,
                      .data = random_data(n, seed), .size_bytes = n * sizeof(float)};
    memcpy(in.dims, dims, (size_t)rank * sizeof *dims);
    return in;
}

/* The graph's output "z" from a session (outputs poisoned) against the
 * reference run on a validated copy of the graph as built. */
static void compare_with_reference(weft_context *ctx, const weft_graph *g, int x_rank,
                                   const int64_t *x_dims, const char *label)
{
    weft_tensor in = random_input(x_rank, x_dims, 99);
    weft_graph *plain;
    assert_weft_ok(weft_graph_clone(g, &plain));
    assert_weft_ok(weft_graph_validate(plain));
    weft_host_tensor want;
    if (weft_ref_run_graph(plain, &in, 1, &want, 1) != WEFT_OK)
        fail_msg("%s: reference: %s", label, weft_last_error());
    size_t n = (size_t)weft_shape_numel(&want.shape);
    /* Under oclgrind, weft's own kernels: CLBlast's are skipped there
     * (tests/test_gemm.c says why). */
    weft_session_options so;
    weft_session_options_defaults(&so);
    if (test_under_oclgrind())
        so.force_impl = "Conv:direct,Gemm:tiled,MatMul:tiled";
    weft_session *s;
    if (weft_session_create(ctx, g, &so, &s) != WEFT_OK)
        fail_msg("%s: session: %s", label, weft_last_error());
    assert_weft_ok(weft_session_poison(s, NAN));
    float *got = malloc(n * sizeof *got);
    assert_non_null(got);
    memset(got, 0xff, n * sizeof *got);
    weft_tensor out = {.name = "z", .data = got, .size_bytes = n * sizeof *got};
    if (weft_session_run(s, &in, 1, &out, 1) != WEFT_OK)
        fail_msg("%s: run: %s", label, weft_last_error());
    const float *e = want.data;
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - e[i]) <= 1e-4f + 1e-4f * fabsf(e[i])))
            fail_msg("%s: element %zu of %zu is %.9g, expected %.9g", label, i, n,
                     (double)got[i], (double)e[i]);
    weft_session_release(s);
    weft_graph_release(plain);
    free(want.data);
    free(got);
    free(in.data);
}

static void test_fused_layers(void **state)
{
    for (int k = 0; k < LAYERS; k++)
        for (size_t a = 0; a < COUNT(activations); a++) {
            char label[96];
            snprintf(label, sizeof label, "%s + %s %g,%g", layer_names[k], activations[a].op,
                     (double)activations[a].alpha, (double)activations[a].beta);
            int x_rank;
            int64_t x_dims[4];
            weft_graph *g = layer_graph(k, &x_rank, x_dims);
            add_activation(g, &activations[a], "y", "z");
            assert_weft_ok(weft_graph_add_output(g, "z"));
            int fused;
            if (simplified_nodes(g, activations[a].op, &fused) != 1 || !fused)
                fail_msg("%s: not fused into one node", label);
            compare_with_reference(*state, g, x_rank, x_dims, label);
            weft_graph_release(g);
        }
}

/* Conv -> BatchNormalization -> Relu: the BN folds, the Relu fuses. */
static void test_conv_batch_norm_relu(void **state)
{
    int x_rank;
    int64_t x_dims[4];
    weft_graph *g = layer_graph(CONV, &x_rank, x_dims);
    const int64_t c[1] = {5};
    add_constant(g, "scale", 1, c, 21);
    add_constant(g, "bias", 1, c, 22);
    add_constant(g, "mean", 1, c, 23);
    float var[5] = {0.5f, 1.0f, 1.5f, 2.0f, 0.25f};
    assert_weft_ok(weft_graph_add_constant(g, "var", WEFT_FLOAT32, 1, c, var));
    add_node(g, "BatchNormalization", "bn", (const char *[]){"y", "scale", "bias", "mean", "var"},
             5, NULL, "n");
    add_activation(g, &activations[0], "n", "z");
    assert_weft_ok(weft_graph_add_output(g, "z"));
    int fused;
    assert_int_equal(simplified_nodes(g, "Relu", &fused), 1);
    assert_true(fused);
    compare_with_reference(*state, g, x_rank, x_dims, "Conv + BN + Relu");
    weft_graph_release(g);
}

static void test_not_fused(void **state)
{
    int x_rank, fused;
    int64_t x_dims[4];
    weft_graph *g;
    /* The layer's output also read by another node. */
    g = layer_graph(CONV, &x_rank, x_dims);
    add_activation(g, &activations[0], "y", "r");
    add_node(g, "Add", "add", (const char *[]){"r", "y"}, 2, NULL, "z");
    assert_weft_ok(weft_graph_add_output(g, "z"));
    assert_int_equal(simplified_nodes(g, NULL, &fused), 3);
    assert_false(fused);
    compare_with_reference(*state, g, x_rank, x_dims, "Conv read twice");
    weft_graph_release(g);
    /* The layer's output is a graph output. */
    g = layer_graph(GEMM, &x_rank, x_dims);
    add_activation(g, &activations[4], "y", "z");
    assert_weft_ok(weft_graph_add_output(g, "y"));
    assert_weft_ok(weft_graph_add_output(g, "z"));
    assert_int_equal(simplified_nodes(g, NULL, &fused), 2);
    assert_false(fused);
    weft_graph_release(g);
    /* Clip's max computed by the graph (from the input itself). */
    g = layer_graph(MATMUL, &x_rank, x_dims);
    assert_weft_ok(weft_graph_add_input(g, "hi", WEFT_FLOAT32, 0, NULL));
    const float lo = 0;
    assert_weft_ok(weft_graph_add_constant(g, "lo", WEFT_FLOAT32, 0, NULL, &lo));
    add_node(g, "Clip", "act", (const char *[]){"y", "lo", "hi"}, 3, NULL, "z");
    assert_weft_ok(weft_graph_add_output(g, "z"));
    assert_int_equal(simplified_nodes(g, NULL, &fused), 2);
    assert_false(fused);
    weft_graph_release(g);
}

/* The reference of a fused graph equals that of the graph it came from. */
static void test_reference_applies_activation(void **state)
{
    (void)state;
    for (size_t a = 0; a < COUNT(activations); a++) {
        int x_rank;
        int64_t x_dims[4];
        weft_graph *fused, *g = layer_graph(CONV, &x_rank, x_dims);
        add_activation(g, &activations[a], "y", "z");
        assert_weft_ok(weft_graph_add_output(g, "z"));
        assert_weft_ok(weft_graph_clone(g, &fused));
        assert_weft_ok(weft_graph_simplify(fused));
        assert_int_equal(fused->node_count, 1);
        assert_weft_ok(weft_graph_validate(g));
        weft_tensor in = random_input(x_rank, x_dims, 7);
        weft_host_tensor want, got;
        assert_weft_ok(weft_ref_run_graph(g, &in, 1, &want, 1));
        assert_weft_ok(weft_ref_run_graph(fused, &in, 1, &got, 1));
        size_t n = (size_t)weft_shape_numel(&want.shape);
        assert_memory_equal(got.data, want.data, n * sizeof(float));
        free(want.data);
        free(got.data);
        free(in.data);
        weft_graph_release(fused);
        weft_graph_release(g);
    }
}

/* ---- Residual Add fusion (pass_fuse_residual.c) ------------------------------- */

/* Conv `name` from `in` to `out`: [m, c / group, k, k] weights and a bias
 * (random, from seed), stride s, pads k / 2. */
static void add_conv(weft_graph *g, const char *name, const char *in, const char *out, int64_t c,
                     int64_t m, int64_t k, int64_t s, int64_t group, uint64_t seed)
{
    char w[64], b[64];
    snprintf(w, sizeof w, "%s.w", name);
    snprintf(b, sizeof b, "%s.b", name);
    add_constant(g, w, 4, (int64_t[]){m, c / group, k, k}, seed);
    add_constant(g, b, 1, (int64_t[]){m}, seed + 1);
    weft_attrs *a;
    assert_weft_ok(weft_attrs_create(&a));
    const int64_t p = k / 2;
    assert_weft_ok(weft_attrs_set_ints(a, "pads", (int64_t[]){p, p, p, p}, 4));
    assert_weft_ok(weft_attrs_set_ints(a, "strides", (int64_t[]){s, s}, 2));
    assert_weft_ok(weft_attrs_set_int(a, "group", group));
    add_node(g, "Conv", name, (const char *[]){in, w, b}, 3, a, out);
    weft_attrs_release(a);
}

/* BatchNormalization `name` over c channels; variances in [0.5, 1.5). */
static void add_bn(weft_graph *g, const char *name, const char *in, const char *out, int64_t c,
                   uint64_t seed)
{
    static const char *const parts[] = {"scale", "bias", "mean", "var"};
    char names[4][64];
    for (int i = 0; i < 4; i++) {
        snprintf(names[i], sizeof names[i], "%s.%s", name, parts[i]);
        float *v = random_data((size_t)c, seed + (uint64_t)i);
        for (int64_t j = 0; i == 3 && j < c; j++)
            v[j] = 1.0f + 0.5f * v[j];
        assert_weft_ok(weft_graph_add_constant(g, names[i], WEFT_FLOAT32, 1, &c, v));
        free(v);
    }
    add_node(g, "BatchNormalization", name,
             (const char *[]){in, names[0], names[1], names[2], names[3]}, 5, NULL, out);
}

/* Clip(0, 6) `name` (ReLU6), its bounds the constants "relu6.lo/hi". */
static void add_relu6(weft_graph *g, const char *name, const char *in, const char *out)
{
    if (weft_graph_find_value(g, "relu6.lo") < 0) {
        const float lo = 0, hi = 6;
        assert_weft_ok(weft_graph_add_constant(g, "relu6.lo", WEFT_FLOAT32, 0, NULL, &lo));
        assert_weft_ok(weft_graph_add_constant(g, "relu6.hi", WEFT_FLOAT32, 0, NULL, &hi));
    }
    add_node(g, "Clip", name, (const char *[]){in, "relu6.lo", "relu6.hi"}, 3, NULL, out);
}

/* ResNet's basic block on x [1, c, h, w] -> z: conv1 3x3 (stride s) - BN -
 * Relu - conv2 3x3 - BN - Add(main, skip) - Relu. The skip is x (s 1,
 * m == c) or, with downsample, ds 1x1 (stride s) - BN. ds_first: the Add
 * reads the skip first, and the skip's nodes are added before the main
 * branch's (so the conv that fuses sits before its residual's producer). */
static weft_graph *resnet_block(int64_t c, int64_t m, int64_t s, int downsample, int ds_first,
                                const int64_t x_dims[4])
{
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, x_dims));
    for (int pass = 0; pass < 2; pass++) {
        if ((pass == 0) == (downsample && ds_first)) {
            if (downsample) {
                add_conv(g, "ds", "x", "d1", c, m, 1, s, 1, 31);
                add_bn(g, "ds_bn", "d1", "d2", m, 33);
            }
        } else {
            add_conv(g, "conv1", "x", "a1", c, m, 3, s, 1, 41);
            add_bn(g, "bn1", "a1", "a2", m, 43);
            add_node(g, "Relu", "relu1", (const char *[]){"a2"}, 1, NULL, "a3");
            add_conv(g, "conv2", "a3", "a4", m, m, 3, 1, 1, 51);
            add_bn(g, "bn2", "a4", "a5", m, 53);
        }
    }
    const char *skip = downsample ? "d2" : "x";
    const char *sum_in[2] = {ds_first ? skip : "a5", ds_first ? "a5" : skip};
    add_node(g, "Add", "add", sum_in, 2, NULL, "sum");
    add_node(g, "Relu", "relu2", (const char *[]){"sum"}, 1, NULL, "z");
    assert_weft_ok(weft_graph_add_output(g, "z"));
    return g;
}

/* MobileNetV2's inverted residual on x [1, c, h, w] -> z: expand 1x1 to
 * t * c - BN - ReLU6, depthwise 3x3 - BN - ReLU6, project 1x1 to c - BN,
 * Add(x, project). */
static weft_graph *inverted_residual(int64_t c, int64_t t, const int64_t x_dims[4])
{
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, x_dims));
    add_conv(g, "expand", "x", "e1", c, t * c, 1, 1, 1, 61);
    add_bn(g, "expand_bn", "e1", "e2", t * c, 63);
    add_relu6(g, "expand_relu6", "e2", "e3");
    add_conv(g, "dw", "e3", "w1", t * c, t * c, 3, 1, t * c, 71);
    add_bn(g, "dw_bn", "w1", "w2", t * c, 73);
    add_relu6(g, "dw_relu6", "w2", "w3");
    add_conv(g, "project", "w3", "p1", t * c, c, 1, 1, 1, 81);
    add_bn(g, "project_bn", "p1", "p2", c, 83);
    add_node(g, "Add", "add", (const char *[]){"x", "p2"}, 2, NULL, "z");
    assert_weft_ok(weft_graph_add_output(g, "z"));
    return g;
}

static const weft_node *node_named(const weft_graph *g, const char *name)
{
    for (size_t i = 0; i < g->node_count; i++)
        if (!g->nodes[i].removed && strcmp(g->nodes[i].name, name) == 0)
            return &g->nodes[i];
    return NULL;
}

/* The name of node n's fused residual (input 3), NULL when it has none. */
static const char *residual_of(const weft_graph *g, const weft_node *n)
{
    const weft_value *r = n ? weft_node_input(g, n, 3) : NULL;
    return r ? r->name : NULL;
}

/* The graph's inputs (random, seeds from 99) as session feeds. */
typedef struct feeds {
    weft_tensor t[4];
    size_t count;
} feeds;

static void make_feeds(const weft_graph *g, feeds *f)
{
    f->count = g->input_count;
    assert_true(f->count <= COUNT(f->t));
    for (size_t i = 0; i < f->count; i++) {
        const weft_value *v = &g->values[g->inputs[i]];
        size_t n = op_test_numel(v->shape.rank, v->shape.dims);
        f->t[i] = (weft_tensor){.name = v->name, .dtype = WEFT_FLOAT32, .rank = v->shape.rank,
                                .data = random_data(n, 99 + i), .size_bytes = n * sizeof(float)};
        memcpy(f->t[i].dims, v->shape.dims, (size_t)v->shape.rank * sizeof *v->shape.dims);
    }
}

static void free_feeds(feeds *f)
{
    for (size_t i = 0; i < f->count; i++)
        free((void *)f->t[i].data);
}

/* Whether Conv implementation impl supports every Conv node of the
 * simplified graph s. */
static int runs_every_conv(const weft_op_impl *impl, const weft_graph *s,
                           const weft_device_info *dev)
{
    for (size_t i = 0; i < s->node_count; i++) {
        char why[256];
        if (strcmp(s->nodes[i].op, "Conv") == 0 &&
            !impl->supports(s, &s->nodes[i], dev, why, sizeof why))
            return 0;
    }
    return 1;
}

/* Output "z" of a session on graph `run` (outputs poisoned) against the
 * reference run of graph `plain` (validated copy), for the automatic
 * choice and for every Conv implementation forced that runs every Conv
 * node of the simplified graph. `must` lists implementations that have
 * to be among them (comma-separated, NULL: none). Under oclgrind, only
 * the implementations whose residual this file is about (direct, gemm1x1,
 * im2col; CLBlast's kernels take too long there, tests/test_conv.c), the
 * automatic run forced to direct as in compare_with_reference. */
static void compare_every_impl(weft_context *ctx, const weft_graph *run, const weft_graph *plain,
                               const char *must, const char *label)
{
    feeds f;
    make_feeds(run, &f);
    weft_graph *checked, *simple;
    assert_weft_ok(weft_graph_clone(plain, &checked));
    assert_weft_ok(weft_graph_validate(checked));
    weft_host_tensor want;
    if (weft_ref_run_graph(checked, f.t, f.count, &want, 1) != WEFT_OK)
        fail_msg("%s: reference: %s", label, weft_last_error());
    assert_weft_ok(weft_graph_clone(run, &simple));
    assert_weft_ok(weft_graph_simplify(simple));
    weft_device_info dev;
    assert_weft_ok(weft_context_device_info(ctx, 0, &dev));
    size_t n = (size_t)weft_shape_numel(&want.shape);
    float *got = malloc(n * sizeof *got);
    assert_non_null(got);
    char ran[256] = " ";
    for (size_t i = 0; i <= weft_op_impl_count; i++) {
        const weft_op_impl *impl = i < weft_op_impl_count ? weft_op_impls[i] : NULL;
        char force[96];
        if (impl) {
            char spaced[80];
            snprintf(spaced, sizeof spaced, " %s ", impl->name);
            if (strcmp(impl->ops[0], "Conv") != 0 || !runs_every_conv(impl, simple, &dev) ||
                (test_under_oclgrind() && !strstr(" direct gemm1x1 im2col ", spaced)))
                continue;
            snprintf(force, sizeof force, "Conv:%s%s", impl->name,
                     test_under_oclgrind() ? ",Gemm:tiled,MatMul:tiled" : "");
        } else if (test_under_oclgrind()) {
            snprintf(force, sizeof force, "Conv:direct,Gemm:tiled,MatMul:tiled");
        }
        weft_session_options so;
        weft_session_options_defaults(&so);
        so.force_impl = impl || test_under_oclgrind() ? force : NULL;
        const char *name = impl ? impl->name : "automatic";
        weft_session *s;
        if (weft_session_create(ctx, run, &so, &s) != WEFT_OK)
            fail_msg("%s [%s]: session: %s", label, name, weft_last_error());
        assert_weft_ok(weft_session_poison(s, NAN));
        memset(got, 0xff, n * sizeof *got);
        weft_tensor out = {.name = "z", .data = got, .size_bytes = n * sizeof *got};
        if (weft_session_run(s, f.t, f.count, &out, 1) != WEFT_OK)
            fail_msg("%s [%s]: run: %s", label, name, weft_last_error());
        const float *e = want.data;
        for (size_t k = 0; k < n; k++)
            if (!(fabsf(got[k] - e[k]) <= 1e-4f + 1e-4f * fabsf(e[k])))
                fail_msg("%s [%s]: element %zu of %zu is %.9g, expected %.9g", label, name, k, n,
                         (double)got[k], (double)e[k]);
        weft_session_release(s);
        if (impl)
            snprintf(ran + strlen(ran), sizeof ran - strlen(ran), "%s ", impl->name);
    }
    printf("%s: automatic, then forced:%s\n", label, ran);
    for (const char *p = must; p && *p;) {
        size_t len = strcspn(p, ",");
        char want_name[64];
        snprintf(want_name, sizeof want_name, " %.*s ", (int)len, p);
        if (!strstr(ran, want_name))
            fail_msg("%s: implementation%sdid not run every conv (ran:%s)", label, want_name, ran);
        p += len + (p[len] == ',');
    }
    free(got);
    free(want.data);
    weft_graph_release(simple);
    weft_graph_release(checked);
    free_feeds(&f);
}

/* Simplify on a copy: the node count, and the copy itself in *out (NULL:
 * released). */
static size_t simplify_copy(const weft_graph *g, weft_graph **out)
{
    weft_graph *c;
    assert_weft_ok(weft_graph_clone(g, &c));
    assert_weft_ok(weft_graph_simplify(c));
    size_t n = c->node_count;
    if (out)
        *out = c;
    else
        weft_graph_release(c);
    return n;
}

static void expect_fused(const weft_graph *s, const char *conv, const char *residual,
                         const char *act)
{
    const weft_node *n = node_named(s, conv);
    if (!n)
        fail_msg("node %s is gone", conv);
    const char *r = residual_of(s, n), *a = NULL;
    int64_t marker = 0;
    weft_node_attr_string(n, "_weft_activation", NULL, &a);
    weft_node_attr_int(n, "_weft_residual", 0, &marker);
    if (residual ? !r || strcmp(r, residual) != 0 || marker != 1 : r != NULL || marker != 0)
        fail_msg("%s: residual '%s' (marker %lld), expected '%s'", conv, r ? r : "(none)",
                 (long long)marker, residual ? residual : "(none)");
    if (act ? !a || strcmp(a, act) != 0 : a != NULL)
        fail_msg("%s: activation %s, expected %s", conv, a ? a : "(none)", act ? act : "(none)");
}

/* ResNet's basic block: conv2 takes x as its residual and the Relu. */
static void test_resnet_basic_block(void **state)
{
    const int64_t x_dims[4] = {1, 4, 7, 6};
    weft_graph *g = resnet_block(4, 4, 1, 0, 0, x_dims), *s;
    assert_int_equal(simplify_copy(g, &s), 2);
    expect_fused(s, "conv1", NULL, "Relu");
    expect_fused(s, "conv2", "x", "Relu");
    weft_graph_release(s);
    compare_every_impl(*state, g, g, "direct,im2col", "basic block");
    weft_graph_release(g);
}

/* The downsampling block: both operands of the Add are convs. The first
 * one the Add reads takes the other as its residual, whichever order the
 * nodes were added in. */
static void test_resnet_downsample_block(void **state)
{
    const int64_t x_dims[4] = {1, 4, 9, 8};
    for (int ds_first = 0; ds_first < 2; ds_first++) {
        weft_graph *g = resnet_block(4, 8, 2, 1, ds_first, x_dims), *s;
        assert_int_equal(simplify_copy(g, &s), 3);
        expect_fused(s, "conv1", NULL, "Relu");
        expect_fused(s, ds_first ? "ds" : "conv2", ds_first ? "a5" : "d2", "Relu");
        expect_fused(s, ds_first ? "conv2" : "ds", NULL, NULL);
        /* The fused conv runs after the producer of its residual. */
        int *order;
        size_t count, at[2] = {0, 0};
        assert_weft_ok(weft_graph_topo_order(s, &order, &count));
        for (size_t i = 0; i < count; i++) {
            const char *name = s->nodes[order[i]].name;
            if (strcmp(name, "conv2") == 0)
                at[ds_first] = i;
            else if (strcmp(name, "ds") == 0)
                at[!ds_first] = i;
        }
        assert_true(at[0] > at[1]);
        free(order);
        weft_graph_release(s);
        compare_every_impl(*state, g, g, "direct,im2col",
                           ds_first ? "downsample block, skip first" : "downsample block");
        weft_graph_release(g);
    }
}

/* MobileNetV2's inverted residual: the projecting 1x1 conv takes x. */
static void test_inverted_residual(void **state)
{
    const int64_t x_dims[4] = {1, 4, 6, 7};
    weft_graph *g = inverted_residual(4, 3, x_dims), *s;
    assert_int_equal(simplify_copy(g, &s), 3);
    expect_fused(s, "expand", NULL, "Clip");
    expect_fused(s, "dw", NULL, "Clip");
    expect_fused(s, "project", "x", NULL);
    weft_graph_release(s);
    compare_every_impl(*state, g, g, "direct", "inverted residual");
    weft_graph_release(g);
}

/* conv1x1 - Add(x) - Relu: every Conv implementation that takes a 1x1
 * conv runs the residual. */
static void test_pointwise_residual(void **state)
{
    const int64_t x_dims[4] = {2, 5, 3, 7};
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, x_dims));
    add_conv(g, "conv", "x", "y", 5, 5, 1, 1, 1, 91);
    add_node(g, "Add", "add", (const char *[]){"x", "y"}, 2, NULL, "sum");
    add_node(g, "Relu", "relu", (const char *[]){"sum"}, 1, NULL, "z");
    assert_weft_ok(weft_graph_add_output(g, "z"));
    weft_graph *s;
    assert_int_equal(simplify_copy(g, &s), 1);
    expect_fused(s, "conv", "x", "Relu");
    weft_graph_release(s);
    compare_every_impl(*state, g, g, "direct,gemm1x1,im2col", "1x1 + residual");
    weft_graph_release(g);
}

/* The pass alone, after BN folding: one Add per block, the right conv. */
static void test_pass_alone(void **state)
{
    (void)state;
    const int64_t x_dims[4] = {1, 4, 9, 8};
    weft_graph *g = resnet_block(4, 8, 2, 1, 0, x_dims);
    assert_weft_ok(weft_graph_validate(g));
    size_t changed, before = 0, after = 0;
    assert_weft_ok(weft_pass_fold_batch_norm(g, &changed));
    assert_int_equal(changed, 3);
    assert_weft_ok(weft_pass_fuse_residual(g, &changed));
    assert_int_equal(changed, 1);
    /* Nothing left to fuse: the conv has its residual now. */
    assert_weft_ok(weft_pass_fuse_residual(g, &changed));
    assert_int_equal(changed, 0);
    for (size_t i = 0; i < g->node_count; i++)
        before += !g->nodes[i].removed;
    assert_weft_ok(weft_graph_compact(g));
    assert_weft_ok(weft_graph_validate(g));
    after = g->node_count;
    assert_int_equal(before, after);
    assert_int_equal(after, 5); /* conv1, relu1, conv2 (+ add), ds, relu2 */
    assert_null(node_named(g, "add"));
    expect_fused(g, "conv2", "d2", NULL);
    const weft_node *c2 = node_named(g, "conv2");
    assert_string_equal(g->values[c2->outputs[0]].name, "sum");
    weft_graph_release(g);
}

/* Where the pass must leave the Add alone; each still computes the same
 * as the reference, but for the one of two outputs (compare_every_impl
 * runs graphs of one output, z). */
static void test_residual_not_fused(void **state)
{
    static const struct {
        const char *what;
        uint64_t seed;           /* the conv's weights */
        const char *conv_act;    /* a fused activation already on the conv */
        int other_reader;        /* a Sigmoid also reads the conv's output, as q */
        int per_channel;         /* a [1, 4, 1, 1] constant, seed 105 */
        const char *addend;      /* the Add's other input */
        int conv_is_output;
        size_t nodes;            /* after simplify */
    } cases[] = {
        {"conv read twice", 101, NULL, 1, 0, "q", 0, 3},
        {"broadcasting Add", 103, NULL, 0, 1, "per_channel", 0, 2},
        /* as a previous pass would have left it: act(conv) + x is not act(conv + x) */
        {"conv with an activation", 107, "Relu", 0, 0, "x", 0, 2},
        {"conv's output a graph output", 109, NULL, 0, 0, "x", 1, 2},
    };
    const int64_t x_dims[4] = {1, 4, 7, 6};
    for (size_t i = 0; i < COUNT(cases); i++) {
        weft_graph *g, *s;
        assert_weft_ok(weft_graph_create(&g));
        assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, x_dims));
        add_conv(g, "conv", "x", "y", 4, 4, 3, 1, 1, cases[i].seed);
        if (cases[i].conv_act)
            assert_weft_ok(
                weft_attrs_set_string(&g->nodes[0].attrs, "_weft_activation", cases[i].conv_act));
        if (cases[i].other_reader)
            add_node(g, "Sigmoid", "other", (const char *[]){"y"}, 1, NULL, "q");
        if (cases[i].per_channel)
            add_constant(g, "per_channel", 4, (int64_t[]){1, 4, 1, 1}, 105);
        add_node(g, "Add", "add", (const char *[]){"y", cases[i].addend}, 2, NULL, "z");
        assert_weft_ok(weft_graph_add_output(g, "z"));
        if (cases[i].conv_is_output)
            assert_weft_ok(weft_graph_add_output(g, "y"));
        assert_int_equal(simplify_copy(g, &s), cases[i].nodes);
        expect_fused(s, "conv", NULL, cases[i].conv_act);
        weft_graph_release(s);
        if (!cases[i].conv_is_output)
            compare_every_impl(*state, g, g, NULL, cases[i].what);
        weft_graph_release(g);
    }
}

/* A Conv node with the internal input 3, built by hand: refused without
 * the marker or with a residual of another shape. */
static void test_residual_input_checks(void **state)
{
    (void)state;
    const int64_t x_dims[4] = {1, 4, 7, 6}, bad[4] = {1, 4, 7, 5};
    for (int k = 0; k < 3; k++) {
        weft_graph *g;
        assert_weft_ok(weft_graph_create(&g));
        assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, x_dims));
        assert_weft_ok(weft_graph_add_input(g, "r", WEFT_FLOAT32, 4, k == 2 ? bad : x_dims));
        add_constant(g, "w", 4, (int64_t[]){4, 4, 3, 3}, 111);
        weft_attrs *a;
        assert_weft_ok(weft_attrs_create(&a));
        assert_weft_ok(weft_attrs_set_ints(a, "pads", (int64_t[]){1, 1, 1, 1}, 4));
        if (k > 0)
            assert_weft_ok(weft_attrs_set_int(a, "_weft_residual", 1));
        add_node(g, "Conv", "conv", (const char *[]){"x", "w", NULL, "r"}, 4, a, "z");
        weft_attrs_release(a);
        assert_weft_ok(weft_graph_add_output(g, "z"));
        if (k == 0)
            assert_weft_status(weft_graph_validate(g), WEFT_ERR_GRAPH, "'_weft_residual' = 1");
        else if (k == 1)
            assert_weft_ok(weft_graph_validate(g));
        else
            assert_weft_status(weft_graph_validate(g), WEFT_ERR_SHAPE, "fused residual");
        weft_graph_release(g);
    }
}

/* A model file's Conv with four inputs is refused, naming the node: only
 * a node carrying _weft_residual = 1 may have input 3 (a file that sets
 * that attribute gets the fused semantics documented in conv_geom.h). */
static void test_onnx_refuses_residual(void **state)
{
    (void)state;
    mb *b = mb_new(17);
    mb_input(b, "x", SHAPE(1, 4, 7, 6));
    mb_input(b, "r", SHAPE(1, 4, 7, 6));
    float w[4 * 4] = {0};
    mb_init_floats(b, "w", SHAPE(4, 4, 1, 1), w, COUNT(w));
    mb_node(b, "Conv", "conv", IN("x", "w", "", "r"), IN("z"));
    mb_output(b, "z");
    weft_graph *g = NULL;
    weft_status st = mb_load(b, &g);
    if (st == WEFT_OK)
        st = weft_graph_validate(g);
    assert_weft_status(st, WEFT_ERR_GRAPH, "node 'conv' (Conv): 4 inputs");
    assert_non_null(strstr(weft_last_error(), "internal"));
    weft_graph_release(g);
    mb_free(b);
}

/* The kernels' residual over a few geometries, each on every Conv
 * implementation that takes it: a Conv node with input 3 built by hand
 * (x and r graph inputs) against the reference of Conv -> Add(r) ->
 * activation as separate nodes. On CPU-class devices planes of <= 8
 * columns take conv_direct's flat tiles, wider ones its row tiles with a
 * partial last vector; forced small tiles (WEFT_CONV_TILE) cross every
 * tile edge, flat and not. */
typedef struct resid_case {
    int64_t n, c, m, h, w, k, s, group; /* h 0: a 1-D conv over w */
    const char *act;
    const char *tile; /* WEFT_CONV_TILE, NULL: the table's */
} resid_case;

static weft_graph *resid_graph(const resid_case *rc, int fused)
{
    const int sp = rc->h ? 2 : 1;
    const int64_t p = rc->k / 2;
    int64_t x_dims[4] = {rc->n, rc->c, rc->h ? rc->h : rc->w, rc->w};
    int64_t y_dims[4] = {rc->n, rc->m, 0, 0};
    for (int i = 0; i < sp; i++)
        y_dims[2 + i] = (x_dims[2 + i] + 2 * p - rc->k) / rc->s + 1;
    int64_t w_dims[4] = {rc->m, rc->c / rc->group, rc->k, rc->k};
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 2 + sp, x_dims));
    assert_weft_ok(weft_graph_add_input(g, "r", WEFT_FLOAT32, 2 + sp, y_dims));
    add_constant(g, "w", 2 + sp, w_dims, 121);
    add_constant(g, "b", 1, &rc->m, 122);
    weft_attrs *a;
    assert_weft_ok(weft_attrs_create(&a));
    assert_weft_ok(weft_attrs_set_ints(a, "pads", (int64_t[]){p, p, p, p}, 2 * (size_t)sp));
    assert_weft_ok(weft_attrs_set_ints(a, "strides", (int64_t[]){rc->s, rc->s}, (size_t)sp));
    assert_weft_ok(weft_attrs_set_int(a, "group", rc->group));
    const activation *act = NULL;
    for (size_t i = 0; rc->act && i < COUNT(activations); i++)
        if (strcmp(activations[i].op, rc->act) == 0 && !act)
            act = &activations[i];
    if (fused) {
        assert_weft_ok(weft_attrs_set_int(a, "_weft_residual", 1));
        if (act) {
            assert_weft_ok(weft_attrs_set_string(a, "_weft_activation", act->op));
            assert_weft_ok(weft_attrs_set_float(a, "_weft_alpha", act->alpha));
            assert_weft_ok(weft_attrs_set_float(a, "_weft_beta", act->beta));
        }
        add_node(g, "Conv", "conv", (const char *[]){"x", "w", "b", "r"}, 4, a, "z");
    } else {
        add_node(g, "Conv", "conv", (const char *[]){"x", "w", "b"}, 3, a, "y");
        add_node(g, "Add", "add", (const char *[]){"y", "r"}, 2, NULL, act ? "s" : "z");
        if (act)
            add_activation(g, act, "s", "z");
    }
    weft_attrs_release(a);
    assert_weft_ok(weft_graph_add_output(g, "z"));
    return g;
}

static void test_residual_kernels(void **state)
{
    static const resid_case cases[] = {
        {1, 3, 5, 7, 7, 3, 1, 1, NULL, NULL},
        {1, 4, 9, 5, 19, 3, 1, 1, "Relu", NULL},
        {1, 8, 6, 9, 9, 3, 2, 2, "Clip", NULL},
        {2, 5, 7, 6, 20, 1, 1, 1, "LeakyRelu", NULL},
        {1, 3, 4, 0, 17, 3, 1, 1, "Relu", NULL},
        {2, 3, 4, 6, 9, 3, 1, 1, "Sigmoid", NULL},
        {1, 4, 6, 7, 13, 3, 1, 1, "Relu", "4,2,4,2"},
        {1, 4, 6, 7, 6, 3, 1, 1, "Tanh", "4,1,4,2,1"},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        const resid_case *rc = &cases[i];
        if (test_under_oclgrind() && (i == 3 || i == 5))
            continue; /* the batch of 2 and the activations are covered elsewhere there */
        char label[128];
        snprintf(label, sizeof label, "residual N%lld C%lld M%lld %lldx%lld k%lld s%lld g%lld "
                 "%s%s%s", (long long)rc->n, (long long)rc->c, (long long)rc->m,
                 (long long)(rc->h ? rc->h : 1), (long long)rc->w, (long long)rc->k, (long long)rc->s, (long long)rc->group,
                 rc->act ? rc->act : "none", rc->tile ? " tile " : "", rc->tile ? rc->tile : "");
        if (rc->tile)
            setenv("WEFT_CONV_TILE", rc->tile, 1);
        weft_graph *fused = resid_graph(rc, 1), *plain = resid_graph(rc, 0);
        /* The GEMM convs take no groups with a bias (src/ops/conv_gemm.c). */
        const char *must = rc->group > 1 ? "direct"
                           : rc->k == 1  ? "direct,gemm1x1,im2col"
                                         : "direct,im2col";
        compare_every_impl(*state, fused, plain, must, label);
        weft_graph_release(fused);
        weft_graph_release(plain);
        unsetenv("WEFT_CONV_TILE");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused_layers),
        cmocka_unit_test(test_conv_batch_norm_relu),
        cmocka_unit_test(test_not_fused),
        cmocka_unit_test(test_reference_applies_activation),
        cmocka_unit_test(test_resnet_basic_block),
        cmocka_unit_test(test_resnet_downsample_block),
        cmocka_unit_test(test_inverted_residual),
        cmocka_unit_test(test_pointwise_residual),
        cmocka_unit_test(test_pass_alone),
        cmocka_unit_test(test_residual_not_fused),
        cmocka_unit_test(test_residual_input_checks),
        cmocka_unit_test(test_onnx_refuses_residual),
        cmocka_unit_test(test_residual_kernels),
    };
    /* The convolutions' padded input and column matrix live in a
     * workspace, a sub-buffer of the session's arena; oclgrind 21.10 loses
     * track of writes through sub-buffers (see tests/test_conv.c), so under
     * it every buffer is its own. */
    if (test_under_oclgrind())
        setenv("WEFT_MEMORY_PLAN", "off", 1);
    return cmocka_run_group_tests(tests, op_test_setup, op_test_teardown);
}
