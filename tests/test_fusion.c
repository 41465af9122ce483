/*
 * The fusion passes of weft_graph_simplify: BatchNormalization folded into
 * the layer before it (pass_fold_batch_norm.c) and an activation fused
 * into the layer before it (pass_fuse_activation.c).
 *  - Each layer kind (Conv, ConvTranspose, Gemm, MatMul) followed by each
 *    fusable activation: simplify leaves one node with _weft_activation,
 *    and a session (which simplifies and runs the fused kernels) agrees
 *    with the reference run on the graph as built, outputs poisoned.
 *  - Conv -> BatchNormalization -> Relu becomes one node, same results.
 *  - Not fused: the layer's output also read elsewhere, or a graph output;
 *    Clip with a bound the graph computes.
 *  - The reference applies _weft_activation itself, so a fused graph and
 *    the graph it came from agree on the host too.
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
#include "op_test.h"
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

static size_t numel(int rank, const int64_t *dims)
{
    size_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= (size_t)dims[d];
    return n;
}

static void add_constant(weft_graph *g, const char *name, int rank, const int64_t *dims,
                         uint64_t seed)
{
    float *w = random_data(numel(rank, dims), seed);
    assert_weft_ok(weft_graph_add_constant(g, name, WEFT_FLOAT32, rank, dims, w));
    free(w);
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

/* The graph's output "z" from a session (outputs poisoned) against the
 * reference run on a validated copy of the graph as built. */
static void compare_with_reference(weft_context *ctx, const weft_graph *g, int x_rank,
                                   const int64_t *x_dims, const char *label)
{
    size_t nx = numel(x_rank, x_dims);
    float *x = random_data(nx, 99);
    weft_tensor in = {.name = "x", .dtype = WEFT_FLOAT32, .rank = x_rank, .data = x,
                      .size_bytes = nx * sizeof(float)};
    memcpy(in.dims, x_dims, (size_t)x_rank * sizeof *x_dims);
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
    free(x);
}

static void test_fused_layers(void **state)
{
    for (int k = 0; k < LAYERS; k++)
        for (size_t a = 0; a < COUNT(activations); a++) {
            char label[96];
            snprintf(label, sizeof label, "%s + %s %g,%g", layer_names[k], activations[a].op,
                     (double)activations[a].alpha, (double)activations[a].beta);
            weft_graph *g;
            assert_weft_ok(weft_graph_create(&g));
            int x_rank;
            int64_t x_dims[4];
            add_layer(g, k, &x_rank, x_dims);
            assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, x_rank, x_dims));
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
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    int x_rank;
    int64_t x_dims[4];
    add_layer(g, CONV, &x_rank, x_dims);
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, x_rank, x_dims));
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
    assert_weft_ok(weft_graph_create(&g));
    add_layer(g, CONV, &x_rank, x_dims);
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, x_rank, x_dims));
    add_activation(g, &activations[0], "y", "r");
    add_node(g, "Add", "add", (const char *[]){"r", "y"}, 2, NULL, "z");
    assert_weft_ok(weft_graph_add_output(g, "z"));
    assert_int_equal(simplified_nodes(g, NULL, &fused), 3);
    assert_false(fused);
    compare_with_reference(*state, g, x_rank, x_dims, "Conv read twice");
    weft_graph_release(g);
    /* The layer's output is a graph output. */
    assert_weft_ok(weft_graph_create(&g));
    add_layer(g, GEMM, &x_rank, x_dims);
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, x_rank, x_dims));
    add_activation(g, &activations[4], "y", "z");
    assert_weft_ok(weft_graph_add_output(g, "y"));
    assert_weft_ok(weft_graph_add_output(g, "z"));
    assert_int_equal(simplified_nodes(g, NULL, &fused), 2);
    assert_false(fused);
    weft_graph_release(g);
    /* Clip's max computed by the graph (from the input itself). */
    assert_weft_ok(weft_graph_create(&g));
    add_layer(g, MATMUL, &x_rank, x_dims);
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, x_rank, x_dims));
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
        weft_graph *g, *fused;
        assert_weft_ok(weft_graph_create(&g));
        int x_rank;
        int64_t x_dims[4];
        add_layer(g, CONV, &x_rank, x_dims);
        assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, x_rank, x_dims));
        add_activation(g, &activations[a], "y", "z");
        assert_weft_ok(weft_graph_add_output(g, "z"));
        assert_weft_ok(weft_graph_clone(g, &fused));
        assert_weft_ok(weft_graph_simplify(fused));
        assert_int_equal(fused->node_count, 1);
        assert_weft_ok(weft_graph_validate(g));
        size_t nx = numel(x_rank, x_dims);
        float *x = random_data(nx, 7);
        weft_tensor in = {.name = "x", .dtype = WEFT_FLOAT32, .rank = x_rank, .data = x,
                          .size_bytes = nx * sizeof(float)};
        memcpy(in.dims, x_dims, (size_t)x_rank * sizeof *x_dims);
        weft_host_tensor want, got;
        assert_weft_ok(weft_ref_run_graph(g, &in, 1, &want, 1));
        assert_weft_ok(weft_ref_run_graph(fused, &in, 1, &got, 1));
        size_t n = (size_t)weft_shape_numel(&want.shape);
        assert_memory_equal(got.data, want.data, n * sizeof(float));
        free(want.data);
        free(got.data);
        free(x);
        weft_graph_release(fused);
        weft_graph_release(g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused_layers),
        cmocka_unit_test(test_conv_batch_norm_relu),
        cmocka_unit_test(test_not_fused),
        cmocka_unit_test(test_reference_applies_activation),
    };
    /* The convolutions' padded input and column matrix live in a
     * workspace, a sub-buffer of the session's arena; oclgrind 21.10 loses
     * track of writes through sub-buffers (see tests/test_conv.c), so under
     * it every buffer is its own. */
    if (test_under_oclgrind())
        setenv("WEFT_MEMORY_PLAN", "off", 1);
    return cmocka_run_group_tests(tests, op_test_setup, op_test_teardown);
}
