/*
 * Graphs and sessions end to end: builder errors and validation messages,
 * the simplification passes, sessions run against the C reference, input
 * checks, the memory plan on real graphs, steady memory over many runs,
 * two sessions on two threads, profiling and forced implementations.
 */
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "graph/graph.h"
#include "graph/passes.h"
#include "ref/ref.h"
#include "runtime/buffers.h"
#include "test_common.h"

static const int64_t DIMS[4] = {2, 3, 5, 7};
#define N (2 * 3 * 5 * 7)

static weft_graph *new_graph(void)
{
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    return g;
}

static void node1(weft_graph *g, const char *op, const char *name, const char *x, const char *y)
{
    assert_weft_ok(weft_graph_add_node(g, op, name, &x, 1, NULL, &y, 1));
}

static void node2(weft_graph *g, const char *op, const char *name, const char *a, const char *b,
                  const char *y)
{
    const char *in[2] = {a, b};
    assert_weft_ok(weft_graph_add_node(g, op, name, in, 2, NULL, &y, 1));
}

static int setup(void **state)
{
    weft_context_options o = test_options(NULL);
    weft_context *ctx;
    if (weft_context_create(&o, &ctx) != WEFT_OK)
        return -1;
    *state = ctx;
    return 0;
}

static int teardown(void **state)
{
    weft_context_release(*state);
    return 0;
}

/* Validation and session creation fail the same way, with the message. */
static void expect_invalid(weft_context *ctx, weft_graph *g, weft_status status, const char *part)
{
    weft_session *s = (weft_session *)1;
    assert_weft_status(weft_session_create(ctx, g, NULL, &s), status, part);
    assert_null(s);
    assert_weft_status(weft_graph_validate(g), status, part);
    weft_graph_release(g);
}

static void test_graph_errors(void **state)
{
    weft_context *ctx = *state;
    /* graphs of input x, these nodes and one output, each wrong */
    static const struct {
        struct {
            const char *op, *name, *in[2];
            size_t n_in;
            const char *out;
        } nodes[2];             /* op NULL: no node */
        const char *output, *part;
    } bad[] = {
        {{{"Add", "first", {"x", "b"}, 2, "a"}, {"Relu", "second", {"a"}, 1, "b"}}, "b", "cycle"},
        {{{"Relu", "r", {"nowhere"}, 1, "y"}}, "y", "input 'nowhere' is not a graph input"},
        {{{"Relu", "one", {"x"}, 1, "y"}, {"Sigmoid", "two", {"x"}, 1, "y"}},
         "y",
         "'y' is already produced by node 'one'"},
        {{{"Relu", "over", {"x"}, 1, "x"}}, "x", "already a graph input"},
        {{{"Relu", "wide", {"x", "x"}, 2, "y"}}, "y", "node 'wide' (Relu): 2 inputs"},
        {{{NULL}}, "nothing", "graph output 'nothing'"},
    };
    weft_graph *g;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        g = new_graph();
        assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, DIMS));
        for (size_t k = 0; k < 2 && bad[i].nodes[k].op; k++)
            assert_weft_ok(weft_graph_add_node(g, bad[i].nodes[k].op, bad[i].nodes[k].name,
                                               bad[i].nodes[k].in, bad[i].nodes[k].n_in, NULL,
                                               &bad[i].nodes[k].out, 1));
        assert_weft_ok(weft_graph_add_output(g, bad[i].output));
        expect_invalid(ctx, g, WEFT_ERR_GRAPH, bad[i].part);
    }

    const char *y = "y";
    g = new_graph();
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, DIMS));
    weft_attrs *a;
    assert_weft_ok(weft_attrs_create(&a));
    assert_weft_ok(weft_attrs_set_int(a, "axis", 4));
    const char *x = "x";
    assert_weft_ok(weft_graph_add_node(g, "Softmax", "soft", &x, 1, a, &y, 1));
    weft_attrs_release(a);
    assert_weft_ok(weft_graph_add_output(g, "y"));
    expect_invalid(ctx, g, WEFT_ERR_GRAPH, "axis");

    g = new_graph();
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, DIMS));
    assert_weft_ok(weft_attrs_create(&a));
    assert_weft_ok(weft_attrs_set_string(a, "alpha", "large"));
    assert_weft_ok(weft_graph_add_node(g, "LeakyRelu", "leaky", &x, 1, a, &y, 1));
    weft_attrs_release(a);
    assert_weft_ok(weft_graph_add_output(g, "y"));
    weft_session *s;
    assert_weft_status(weft_session_create(ctx, g, NULL, &s), WEFT_ERR_GRAPH,
                       "attribute 'alpha' is of type string");
    weft_graph_release(g);

    g = new_graph();
    assert_weft_status(weft_graph_add_node(g, "Frobnicate", "f", &x, 1, NULL, &y, 1),
                       WEFT_ERR_UNSUPPORTED, "op type 'Frobnicate'");
    assert_weft_status(weft_graph_add_input(g, "bad", WEFT_FLOAT32, 2, (int64_t[]){3, -1}),
                       WEFT_ERR_INVALID_ARGUMENT, "negative dimension");
    assert_weft_status(weft_graph_add_input(g, "big", WEFT_FLOAT32, 9, DIMS),
                       WEFT_ERR_INVALID_ARGUMENT, "rank 9");
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, DIMS));
    assert_weft_status(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, DIMS), WEFT_ERR_GRAPH,
                       "already defined");
    weft_graph_release(g);
}

/* NULL and invalid arguments on the graph and session API. */
static void test_null_arguments(void **state)
{
    weft_context *ctx = *state;
    weft_graph *g = new_graph();
    weft_attrs *a;
    assert_weft_ok(weft_attrs_create(&a));
    const char *x = "x", *y = "y";
    assert_weft_status(weft_graph_create(NULL), WEFT_ERR_INVALID_ARGUMENT, "graph");
    assert_weft_status(weft_attrs_create(NULL), WEFT_ERR_INVALID_ARGUMENT, "attrs");
    assert_weft_status(weft_graph_add_input(NULL, "x", WEFT_FLOAT32, 0, NULL), WEFT_ERR_INVALID_ARGUMENT, "graph");
    assert_weft_status(weft_graph_add_input(g, NULL, WEFT_FLOAT32, 0, NULL), WEFT_ERR_INVALID_ARGUMENT, "name");
    assert_weft_status(weft_graph_add_input(g, "x", (weft_dtype)3, 0, NULL), WEFT_ERR_INVALID_ARGUMENT, "data type");
    assert_weft_status(weft_graph_add_input(g, "x", WEFT_FLOAT32, 2, NULL), WEFT_ERR_INVALID_ARGUMENT, "dims");
    assert_weft_status(weft_graph_add_constant(g, "c", WEFT_FLOAT32, 1, DIMS, NULL), WEFT_ERR_INVALID_ARGUMENT, "no data");
    assert_weft_status(weft_graph_add_output(g, NULL), WEFT_ERR_INVALID_ARGUMENT, "name");
    assert_weft_status(weft_graph_add_node(NULL, "Relu", NULL, &x, 1, NULL, &y, 1), WEFT_ERR_INVALID_ARGUMENT, "graph");
    assert_weft_status(weft_graph_add_node(g, NULL, NULL, &x, 1, NULL, &y, 1), WEFT_ERR_INVALID_ARGUMENT, "op_type");
    assert_weft_status(weft_graph_add_node(g, "Relu", NULL, NULL, 1, NULL, &y, 1), WEFT_ERR_INVALID_ARGUMENT, "inputs");
    assert_weft_status(weft_attrs_set_int(NULL, "a", 1), WEFT_ERR_INVALID_ARGUMENT, "attrs");
    assert_weft_status(weft_attrs_set_float(a, NULL, 1), WEFT_ERR_INVALID_ARGUMENT, "name");
    assert_weft_status(weft_attrs_set_string(a, "s", NULL), WEFT_ERR_INVALID_ARGUMENT, "value");
    assert_weft_status(weft_attrs_set_ints(a, "i", NULL, 2), WEFT_ERR_INVALID_ARGUMENT, "values");
    assert_weft_status(weft_attrs_set_floats(a, "f", NULL, 2), WEFT_ERR_INVALID_ARGUMENT, "values");
    assert_weft_status(weft_graph_validate(NULL), WEFT_ERR_INVALID_ARGUMENT, "graph");
    weft_session *s;
    assert_weft_status(weft_session_create(NULL, g, NULL, &s), WEFT_ERR_INVALID_ARGUMENT, "context");
    assert_weft_status(weft_session_create(ctx, NULL, NULL, &s), WEFT_ERR_INVALID_ARGUMENT, "graph");
    assert_weft_status(weft_session_create(ctx, g, NULL, NULL), WEFT_ERR_INVALID_ARGUMENT, "session");
    weft_session_options so;
    weft_session_options_defaults(&so);
    so.device_index = 5;
    assert_weft_status(weft_session_create(ctx, g, &so, &s), WEFT_ERR_INVALID_ARGUMENT, "device 5");
    assert_weft_status(weft_session_run(NULL, NULL, 0, NULL, 0), WEFT_ERR_INVALID_ARGUMENT, "session");
    size_t count;
    weft_tensor t;
    weft_memory_stats m;
    weft_node_info ni;
    assert_weft_status(weft_session_input_count(NULL, &count), WEFT_ERR_INVALID_ARGUMENT, "session");
    assert_weft_status(weft_session_output_count(NULL, &count), WEFT_ERR_INVALID_ARGUMENT, "session");
    assert_weft_status(weft_session_input_info(NULL, 0, &t), WEFT_ERR_INVALID_ARGUMENT, "session");
    assert_weft_status(weft_session_output_info(NULL, 0, &t), WEFT_ERR_INVALID_ARGUMENT, "session");
    assert_weft_status(weft_session_memory(NULL, &m), WEFT_ERR_INVALID_ARGUMENT, "session");
    assert_weft_status(weft_session_node_count(NULL, &count), WEFT_ERR_INVALID_ARGUMENT, "session");
    assert_weft_status(weft_session_node_info(NULL, 0, &ni), WEFT_ERR_INVALID_ARGUMENT, "session");
    weft_conv_attrs ca;
    weft_conv_defaults(&ca);
    assert_weft_status(weft_graph_add_conv(g, NULL, "x", NULL, NULL, &ca, "y"), WEFT_ERR_INVALID_ARGUMENT, "NULL");
    weft_pool_attrs pa;
    weft_pool_defaults(&pa);
    assert_weft_status(weft_graph_add_pool(g, NULL, WEFT_POOL_MAX, "x", &pa, "y"), WEFT_ERR_INVALID_ARGUMENT, "kernel_shape");
    assert_weft_status(weft_graph_add_activation(g, NULL, (weft_activation)99, 0, 0, "x", "y"), WEFT_ERR_INVALID_ARGUMENT, "99");
    weft_gemm_attrs ga;
    weft_gemm_defaults(&ga);
    assert_weft_status(weft_graph_add_gemm(g, NULL, "a", NULL, NULL, &ga, "y"), WEFT_ERR_INVALID_ARGUMENT, "NULL");
    assert_weft_status(weft_graph_add_concat(g, NULL, NULL, 0, 0, "y"), WEFT_ERR_INVALID_ARGUMENT, "NULL");
    weft_conv_defaults(NULL);
    weft_pool_defaults(NULL);
    weft_gemm_defaults(NULL);
    weft_session_options_defaults(NULL);
    weft_graph_release(NULL);
    weft_attrs_release(NULL);
    weft_session_release(NULL);
    weft_attrs_release(a);
    weft_graph_release(g);
}

/* Runs graph g on the device and with src/ref on the same random inputs. */
static void compare_with_ref(weft_context *ctx, const weft_graph *g, const char *force,
                             float tolerance)
{
    weft_session_options so;
    weft_session_options_defaults(&so);
    so.force_impl = force;
    weft_session *s;
    assert_weft_ok(weft_session_create(ctx, g, &so, &s));
    size_t nin, nout;
    assert_weft_ok(weft_session_input_count(s, &nin));
    assert_weft_ok(weft_session_output_count(s, &nout));
    weft_tensor in[8], out[8];
    uint64_t seed = 1234;
    for (size_t i = 0; i < nin; i++) {
        assert_weft_ok(weft_session_input_info(s, i, &in[i]));
        in[i].data = malloc(in[i].size_bytes + 1);
        weft_random_fill(&seed, in[i].data, in[i].size_bytes / 4, -3, 3);
    }
    for (size_t i = 0; i < nout; i++) {
        assert_weft_ok(weft_session_output_info(s, i, &out[i]));
        out[i].data = malloc(out[i].size_bytes + 1);
        memset(out[i].data, 0xff, out[i].size_bytes);
    }
    assert_weft_ok(weft_session_run(s, in, nin, out, nout));
    weft_graph *copy;
    assert_weft_ok(weft_graph_clone(g, &copy));
    assert_weft_ok(weft_graph_validate(copy));
    weft_host_tensor want[8];
    assert_weft_ok(weft_ref_run_graph(copy, in, nin, want, nout));
    for (size_t i = 0; i < nout; i++) {
        size_t n = out[i].size_bytes / 4;
        const float *got = out[i].data, *exp = want[i].data;
        for (size_t k = 0; k < n; k++)
            if (!(fabsf(got[k] - exp[k]) <= tolerance * (1 + fabsf(exp[k]))))
                fail_msg("output '%s' element %zu: %.9g, expected %.9g", out[i].name, k,
                         (double)got[k], (double)exp[k]);
        free(out[i].data);
        free(want[i].data);
    }
    for (size_t i = 0; i < nin; i++)
        free(in[i].data);
    weft_graph_release(copy);
    weft_session_release(s);
}

static size_t session_nodes(weft_context *ctx, const weft_graph *g)
{
    weft_session *s;
    assert_weft_ok(weft_session_create(ctx, g, NULL, &s));
    size_t n;
    assert_weft_ok(weft_session_node_count(s, &n));
    weft_session_release(s);
    return n;
}

static void test_passes(void **state)
{
    weft_context *ctx = *state;
    /* Identity and Dropout are bypassed; the unused Sigmoid branch dies. */
    weft_graph *g = new_graph();
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, DIMS));
    node1(g, "Identity", "id", "x", "a");
    node1(g, "Dropout", "drop", "a", "b");
    node1(g, "Relu", "relu", "b", "y");
    node1(g, "Sigmoid", "unused", "b", "dead");
    node1(g, "Tanh", "unused2", "dead", "dead2");
    assert_weft_ok(weft_graph_add_output(g, "y"));
    assert_int_equal(session_nodes(ctx, g), 1);
    compare_with_ref(ctx, g, NULL, 1e-6f);

    weft_graph *c;
    assert_weft_ok(weft_graph_clone(g, &c));
    assert_weft_ok(weft_graph_validate(c));
    size_t changed;
    assert_weft_ok(weft_pass_remove_identity(c, &changed));
    assert_int_equal(changed, 2);
    assert_weft_ok(weft_pass_remove_dead(c, &changed));
    assert_int_equal(changed, 2);
    assert_weft_ok(weft_graph_compact(c));
    assert_int_equal(c->node_count, 1);
    assert_string_equal(c->nodes[0].op, "Relu");
    weft_graph_release(c);
    weft_graph_release(g);

    /* The folding pass alone, on a graph inferred without folding: the
     * constant product and the Shape of a known tensor become constants. */
    g = new_graph();
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, DIMS));
    const float k[1] = {2.5f};
    assert_weft_ok(weft_graph_add_constant(g, "k", WEFT_FLOAT32, 0, NULL, k));
    node2(g, "Mul", "k2", "k", "k", "kk");
    node1(g, "Shape", "shape", "x", "s");
    node2(g, "Mul", "scale", "x", "kk", "y");
    assert_weft_ok(weft_graph_add_output(g, "y"));
    assert_weft_ok(weft_graph_add_output(g, "s"));
    assert_weft_ok(weft_graph_clone(g, &c));
    assert_weft_ok(weft_graph_infer(c, 0));
    assert_weft_ok(weft_pass_fold_constants(c, 1 << 20, &changed));
    assert_int_equal(changed, 2);
    const weft_value *kk = &c->values[weft_graph_find_value(c, "kk")];
    const weft_value *sv = &c->values[weft_graph_find_value(c, "s")];
    assert_int_equal(kk->kind, WEFT_VALUE_CONSTANT);
    assert_float_equal(*(const float *)kk->data, 6.25f, 0);
    assert_int_equal(sv->kind, WEFT_VALUE_CONSTANT);
    assert_memory_equal(sv->data, DIMS, sizeof DIMS);
    weft_graph_release(c);
    weft_graph_release(g);

    /* Folding as validation walks lets a Reshape take a computed shape. */
    g = new_graph();
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, DIMS));
    assert_weft_ok(weft_graph_add_constant(g, "k", WEFT_FLOAT32, 0, NULL, k));
    node2(g, "Mul", "k2", "k", "k", "kk");
    node1(g, "Shape", "shape", "x", "s");
    node2(g, "Reshape", "reshape", "x", "s", "r");
    node2(g, "Mul", "scale", "r", "kk", "y");
    assert_weft_ok(weft_graph_add_output(g, "y"));
    assert_int_equal(session_nodes(ctx, g), 2); /* Reshape (alias) and the scale */
    compare_with_ref(ctx, g, NULL, 1e-6f);
    weft_graph_release(g);
}

static void test_input_checks(void **state)
{
    weft_context *ctx = *state;
    weft_graph *g = new_graph();
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, DIMS));
    node1(g, "Relu", "relu", "x", "y");
    assert_weft_ok(weft_graph_add_output(g, "y"));
    weft_session *s;
    assert_weft_ok(weft_session_create(ctx, g, NULL, &s));
    weft_graph_release(g); /* the session keeps its own copy */
    static float data[N], out[N];
    weft_tensor in = {.name = "x", .dtype = WEFT_FLOAT32, .rank = 4, .dims = {2, 3, 5, 6},
                      .data = data, .size_bytes = sizeof data};
    weft_tensor o = {.name = "y", .data = out, .size_bytes = sizeof out};
    assert_weft_status(weft_session_run(s, &in, 1, &o, 1), WEFT_ERR_SHAPE,
                       "input 'x': given float32[2,3,5,6], the graph expects float32[2,3,5,7]");
    in.dims[3] = 7;
    in.dtype = WEFT_INT64;
    assert_weft_status(weft_session_run(s, &in, 1, &o, 1), WEFT_ERR_SHAPE, "given int64");
    in.dtype = WEFT_FLOAT32;
    in.name = "z";
    assert_weft_status(weft_session_run(s, &in, 1, &o, 1), WEFT_ERR_INVALID_ARGUMENT,
                       "'z' is not a graph input");
    in.name = "x";
    assert_weft_status(weft_session_run(s, &in, 0, &o, 1), WEFT_ERR_INVALID_ARGUMENT, "0 inputs");
    o.size_bytes = 8;
    assert_weft_status(weft_session_run(s, &in, 1, &o, 1), WEFT_ERR_INVALID_ARGUMENT,
                       "output 'y' needs 840 bytes");
    o.size_bytes = sizeof out;
    o.name = "w";
    assert_weft_status(weft_session_run(s, &in, 1, &o, 1), WEFT_ERR_INVALID_ARGUMENT,
                       "not a graph output");
    o.name = "y";
    for (int i = 0; i < N; i++)
        data[i] = (float)(i - N / 2);
    assert_weft_ok(weft_session_run(s, &in, 1, &o, 1));
    for (int i = 0; i < N; i++)
        assert_float_equal(out[i], data[i] > 0 ? data[i] : 0, 0);
    assert_int_equal(o.rank, 4);
    assert_int_equal(o.dims[3], 7);
    weft_session_release(s);
}

/* Planned arena at most 1.1x the most bytes alive at once. */
static void check_memory(weft_context *ctx, const weft_graph *g, const char *what)
{
    weft_session *s;
    assert_weft_ok(weft_session_create(ctx, g, NULL, &s));
    weft_memory_stats m;
    assert_weft_ok(weft_session_memory(s, &m));
    printf("memory plan %s: planned %llu bytes, live peak %llu (%.3fx)\n", what,
           (unsigned long long)m.planned_peak_bytes, (unsigned long long)m.live_peak_bytes,
           (double)m.planned_peak_bytes / (double)m.live_peak_bytes);
    if ((double)m.planned_peak_bytes > 1.1 * (double)m.live_peak_bytes)
        fail_msg("%s: planned %llu bytes, live peak %llu", what,
                 (unsigned long long)m.planned_peak_bytes, (unsigned long long)m.live_peak_bytes);
    weft_session_release(s);
}

static void test_memory_plan(void **state)
{
    weft_context *ctx = *state;
    /* A 50-node chain; Transpose cannot run in place, Relu can. */
    weft_graph *g = new_graph();
    const int64_t sq[4] = {1, 16, 32, 32};
    assert_weft_ok(weft_graph_add_input(g, "v0", WEFT_FLOAT32, 4, sq));
    char a[16], b[16];
    weft_attrs *perm;
    assert_weft_ok(weft_attrs_create(&perm));
    assert_weft_ok(weft_attrs_set_ints(perm, "perm", (int64_t[]){0, 1, 3, 2}, 4));
    for (int i = 0; i < 50; i++) {
        snprintf(a, sizeof a, "v%d", i);
        snprintf(b, sizeof b, "v%d", i + 1);
        const char *in = a, *out = b;
        assert_weft_ok(weft_graph_add_node(g, i % 2 ? "Relu" : "Transpose", NULL, &in, 1,
                                           i % 2 ? NULL : perm, &out, 1));
    }
    weft_attrs_release(perm);
    assert_weft_ok(weft_graph_add_output(g, "v50"));
    compare_with_ref(ctx, g, NULL, 1e-6f);
    check_memory(ctx, g, "chain");
    weft_graph_release(g);

    /* A diamond: two branches of different lengths joined by Add. */
    g = new_graph();
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, sq));
    node1(g, "Sigmoid", NULL, "x", "a1");
    node1(g, "Tanh", NULL, "a1", "a2");
    node1(g, "Abs", NULL, "x", "b1");
    node1(g, "Neg", NULL, "b1", "b2");
    node1(g, "Exp", NULL, "b2", "b3");
    node2(g, "Add", NULL, "a2", "b3", "y");
    assert_weft_ok(weft_graph_add_output(g, "y"));
    compare_with_ref(ctx, g, NULL, 1e-5f);
    check_memory(ctx, g, "diamond");
    weft_graph_release(g);

    /* A UNet: each level halves H and W with a strided Slice, the decoder
     * doubles them back by concatenating a tensor with itself along H and
     * W, and long skips add each encoder level to its decoder level. */
    g = new_graph();
    const int64_t top[4] = {1, 4, 64, 64};
    assert_weft_ok(weft_graph_add_input(g, "e0", WEFT_FLOAT32, 4, top));
    const int64_t starts[2] = {0, 0}, ends[2] = {INT64_MAX, INT64_MAX}, axes[2] = {2, 3},
                  steps[2] = {2, 2};
    const int64_t two[1] = {2};
    assert_weft_ok(weft_graph_add_constant(g, "starts", WEFT_INT64, 1, two, starts));
    assert_weft_ok(weft_graph_add_constant(g, "ends", WEFT_INT64, 1, two, ends));
    assert_weft_ok(weft_graph_add_constant(g, "axes", WEFT_INT64, 1, two, axes));
    assert_weft_ok(weft_graph_add_constant(g, "steps", WEFT_INT64, 1, two, steps));
    char n1[16], n2[16], n3[16];
    for (int l = 0; l < 4; l++) {
        snprintf(n1, sizeof n1, "e%d", l);
        snprintf(n2, sizeof n2, "c%d", l);
        snprintf(n3, sizeof n3, "e%d", l + 1);
        node1(g, "Relu", NULL, n1, n2); /* the skip, alive until the decoder */
        const char *in[5] = {n2, "starts", "ends", "axes", "steps"}, *out = n3;
        assert_weft_ok(weft_graph_add_node(g, "Slice", NULL, in, 5, NULL, &out, 1));
    }
    node1(g, "Sigmoid", NULL, "e4", "d4");
    for (int l = 3; l >= 0; l--) {
        char h[16], w[16], skip[16], out[16];
        snprintf(n1, sizeof n1, "d%d", l + 1);
        snprintf(h, sizeof h, "h%d", l);
        snprintf(w, sizeof w, "w%d", l);
        snprintf(skip, sizeof skip, "c%d", l);
        snprintf(out, sizeof out, "d%d", l);
        assert_weft_ok(weft_graph_add_concat(g, NULL, (const char *[]){n1, n1}, 2, 2, h));
        assert_weft_ok(weft_graph_add_concat(g, NULL, (const char *[]){h, h}, 2, 3, w));
        node2(g, "Add", NULL, w, skip, out);
    }
    assert_weft_ok(weft_graph_add_output(g, "d0"));
    compare_with_ref(ctx, g, NULL, 1e-6f);
    check_memory(ctx, g, "unet");
    /* Without the plan every tensor has its own buffer: same results. */
    setenv("WEFT_MEMORY_PLAN", "off", 1);
    compare_with_ref(ctx, g, NULL, 1e-6f);
    weft_session *s;
    assert_weft_ok(weft_session_create(ctx, g, NULL, &s));
    weft_memory_stats m;
    assert_weft_ok(weft_session_memory(s, &m));
    assert_true(m.planned_peak_bytes > m.live_peak_bytes); /* nothing shared */
    weft_session_release(s);
    unsetenv("WEFT_MEMORY_PLAN");
    weft_graph_release(g);
}

/* 1,000 runs allocate nothing: live device buffers and host heap flat. */
static void test_memory_flat(void **state)
{
    weft_context *ctx = *state;
    weft_graph *g = new_graph();
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, DIMS));
    node1(g, "Sigmoid", NULL, "x", "a");
    node2(g, "Mul", NULL, "a", "x", "y");
    assert_weft_ok(weft_graph_add_output(g, "y"));
    int64_t buffers_before_session = weft_buffer_live_count();
    weft_session *s;
    assert_weft_ok(weft_session_create(ctx, g, NULL, &s));
    static float data[N], out[N];
    weft_tensor in = {.name = "x", .dtype = WEFT_FLOAT32, .rank = 4, .dims = {2, 3, 5, 7},
                      .data = data, .size_bytes = sizeof data};
    weft_tensor o = {.name = "y", .data = out, .size_bytes = sizeof out};
    int runs = test_under_oclgrind() ? 50 : 1000;
    for (int i = 0; i < runs / 5; i++) /* the driver warms its own pools */
        assert_weft_ok(weft_session_run(s, &in, 1, &o, 1));
    int64_t buffers = weft_buffer_live_count();
    struct mallinfo2 before = mallinfo2();
    for (int i = 0; i < runs; i++)
        assert_weft_ok(weft_session_run(s, &in, 1, &o, 1));
    struct mallinfo2 after = mallinfo2();
    assert_int_equal(weft_buffer_live_count(), buffers);
    /* glibc's smallest heap chunk is 32 bytes, so one allocation kept per
     * run would grow the heap by at least 32 bytes a run; allow the
     * driver's occasional bookkeeping, far below that. */
    if (after.uordblks > before.uordblks + 8 * (size_t)runs)
        fail_msg("host heap grew by %zu bytes over %d runs", after.uordblks - before.uordblks, runs);
    weft_session_release(s);
    assert_int_equal(weft_buffer_live_count(), buffers_before_session);
    weft_graph_release(g);
}

typedef struct thread_job {
    weft_session *session;
    const float *input;
    float *output;
    int runs;
    weft_status status;
} thread_job;

static void *run_job(void *arg)
{
    thread_job *j = arg;
    weft_tensor in = {.name = "x", .dtype = WEFT_FLOAT32, .rank = 4, .dims = {2, 3, 5, 7},
                      .data = (void *)j->input, .size_bytes = N * sizeof(float)};
    weft_tensor o = {.name = "y", .data = j->output, .size_bytes = N * sizeof(float)};
    j->status = WEFT_OK;
    for (int i = 0; i < j->runs && j->status == WEFT_OK; i++)
        j->status = weft_session_run(j->session, &in, 1, &o, 1);
    return NULL;
}

/* Two sessions on one context, run at the same time from two threads,
 * give what each gives alone. */
static void test_two_threads(void **state)
{
    weft_context *ctx = *state;
    weft_graph *g1 = new_graph(), *g2 = new_graph();
    assert_weft_ok(weft_graph_add_input(g1, "x", WEFT_FLOAT32, 4, DIMS));
    assert_weft_ok(weft_graph_add_input(g2, "x", WEFT_FLOAT32, 4, DIMS));
    node1(g1, "Tanh", NULL, "x", "a");
    node2(g1, "Add", NULL, "a", "x", "y");
    node1(g2, "Sigmoid", NULL, "x", "a");
    node2(g2, "Mul", NULL, "a", "x", "y");
    assert_weft_ok(weft_graph_add_output(g1, "y"));
    assert_weft_ok(weft_graph_add_output(g2, "y"));
    weft_session *s1, *s2;
    assert_weft_ok(weft_session_create(ctx, g1, NULL, &s1));
    assert_weft_ok(weft_session_create(ctx, g2, NULL, &s2));
    static float in1[N], in2[N], alone1[N], alone2[N], out1[N], out2[N];
    uint64_t seed = 5;
    weft_random_fill(&seed, in1, N, -2, 2);
    weft_random_fill(&seed, in2, N, -2, 2);
    thread_job j1 = {s1, in1, alone1, 1, 0}, j2 = {s2, in2, alone2, 1, 0};
    run_job(&j1);
    run_job(&j2);
    assert_weft_ok(j1.status);
    assert_weft_ok(j2.status);
    int runs = test_under_oclgrind() ? 5 : 100;
    j1 = (thread_job){s1, in1, out1, runs, 0};
    j2 = (thread_job){s2, in2, out2, runs, 0};
    pthread_t t1, t2;
    assert_int_equal(pthread_create(&t1, NULL, run_job, &j1), 0);
    assert_int_equal(pthread_create(&t2, NULL, run_job, &j2), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_weft_ok(j1.status);
    assert_weft_ok(j2.status);
    assert_memory_equal(out1, alone1, sizeof out1);
    assert_memory_equal(out2, alone2, sizeof out2);
    weft_session_release(s1);
    weft_session_release(s2);
    weft_graph_release(g1);
    weft_graph_release(g2);
}

/* Clones share constants' data with the graph they copy (counted): the
 * data outlives the original, a compacted clone drops its share, and
 * clones made on two threads at once count right (ASan sees a miscount as
 * a double free or a leak). */
static void *clone_many(void *arg)
{
    for (int i = 0; i < 200; i++) {
        weft_graph *c;
        if (weft_graph_clone(arg, &c) != WEFT_OK)
            return arg;
        weft_graph_release(c);
    }
    return NULL;
}

static void test_shared_constants(void **state)
{
    weft_context *ctx = *state;
    static float cv[N], in[N], out[N];
    uint64_t seed = 11;
    weft_random_fill(&seed, cv, N, -2, 2);
    weft_random_fill(&seed, in, N, -2, 2);
    weft_graph *g = new_graph();
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, DIMS));
    assert_weft_ok(weft_graph_add_constant(g, "c", WEFT_FLOAT32, 4, DIMS, cv));
    assert_weft_ok(weft_graph_add_constant(g, "unused", WEFT_FLOAT32, 4, DIMS, cv));
    node2(g, "Add", "add", "x", "c", "y");
    assert_weft_ok(weft_graph_add_output(g, "y"));
    pthread_t t1, t2;
    assert_int_equal(pthread_create(&t1, NULL, clone_many, g), 0);
    assert_int_equal(pthread_create(&t2, NULL, clone_many, g), 0);
    void *r1, *r2;
    pthread_join(t1, &r1);
    pthread_join(t2, &r2);
    assert_null(r1);
    assert_null(r2);
    weft_graph *c;
    assert_weft_ok(weft_graph_clone(g, &c));
    int at = weft_graph_find_value(g, "c");
    assert_true(at >= 0);
    assert_ptr_equal(c->values[at].data, g->values[at].data);
    weft_session *s;
    assert_weft_ok(weft_session_create(ctx, g, NULL, &s));
    weft_graph_release(g);
    assert_memory_equal(c->values[at].data, cv, sizeof cv);
    assert_weft_ok(weft_graph_compact(c)); /* drops "unused" */
    assert_int_equal(weft_graph_find_value(c, "unused"), -1);
    weft_graph_release(c);
    weft_tensor ti, to;
    assert_weft_ok(weft_session_input_info(s, 0, &ti));
    assert_weft_ok(weft_session_output_info(s, 0, &to));
    ti.data = in;
    to.data = out;
    assert_weft_ok(weft_session_run(s, &ti, 1, &to, 1));
    for (size_t k = 0; k < N; k++)
        assert_true(fabsf(out[k] - (in[k] + cv[k])) <= 1e-6f);
    weft_session_release(s);
}

static void test_profiling_and_forcing(void **state)
{
    weft_context *ctx = *state;
    weft_graph *g = new_graph();
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, DIMS));
    node1(g, "Relu", "relu", "x", "a");
    node2(g, "Add", "add", "a", "x", "y");
    assert_weft_ok(weft_graph_add_output(g, "y"));
    weft_session_options so;
    weft_session_options_defaults(&so);
    so.profiling = 1;
    so.force_impl = "relu:unary";
    weft_session *s;
    assert_weft_ok(weft_session_create(ctx, g, &so, &s));
    static float data[N], out[N];
    weft_tensor in = {.name = "x", .dtype = WEFT_FLOAT32, .rank = 4, .dims = {2, 3, 5, 7},
                      .data = data, .size_bytes = sizeof data};
    weft_tensor o = {.name = "y", .data = out, .size_bytes = sizeof out};
    assert_weft_ok(weft_session_run(s, &in, 1, &o, 1));
    size_t count;
    assert_weft_ok(weft_session_node_count(s, &count));
    assert_int_equal(count, 2);
    weft_node_info info;
    assert_weft_ok(weft_session_node_info(s, 0, &info));
    assert_string_equal(info.name, "relu");
    assert_string_equal(info.impl, "unary");
    assert_true(info.time_ms > 0);
    assert_weft_ok(weft_session_node_info(s, 1, &info));
    assert_string_equal(info.impl, "binary");
    assert_true(info.time_ms > 0);
    assert_weft_status(weft_session_node_info(s, 2, &info), WEFT_ERR_INVALID_ARGUMENT, "index 2");
    weft_session_release(s);

    so.force_impl = "relu:binary";
    assert_weft_status(weft_session_create(ctx, g, &so, &s), WEFT_ERR_INVALID_ARGUMENT,
                       "no implementation 'binary' for op Relu");
    so.force_impl = "relu";
    assert_weft_status(weft_session_create(ctx, g, &so, &s), WEFT_ERR_INVALID_ARGUMENT, "OP:IMPL");
    weft_graph_release(g);

    /* A forced implementation that cannot run the node says why. */
    g = new_graph();
    const int64_t two[1] = {2};
    assert_weft_ok(weft_graph_add_input(g, "i", WEFT_INT64, 1, two));
    node1(g, "Neg", "int_neg", "i", "y");
    assert_weft_ok(weft_graph_add_output(g, "y"));
    so.force_impl = "neg:unary";
    assert_weft_status(weft_session_create(ctx, g, &so, &s), WEFT_ERR_UNSUPPORTED,
                       "forced implementation 'unary' cannot run it");
    assert_weft_status(weft_session_create(ctx, g, NULL, &s), WEFT_ERR_UNSUPPORTED,
                       "node 'int_neg' (Neg)");
    weft_graph_release(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_errors),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_passes),
        cmocka_unit_test(test_input_checks),
        cmocka_unit_test(test_memory_plan),
        cmocka_unit_test(test_memory_flat),
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_profiling_and_forcing),
        cmocka_unit_test(test_shared_constants),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
