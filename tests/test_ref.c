/*
 * The C reference ops (src/ref) on small inputs, against values derived
 * by hand, taken from the ONNX spec's examples, or computed here by a
 * separately written straightforward loop or formula. Every output is
 * poisoned first (NaN for float32, a sentinel for int64), so an element
 * the op forgets to write fails the comparison. Also: the error statuses
 * and messages, and weft_ref_run_graph on a validated graph.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "ref/ref.h"
#include "ref_test.h"
#include "test_common.h"

#define DIMS(...) ((const int64_t[]){__VA_ARGS__})
#define F32(...) ((const float[]){__VA_ARGS__})
#define I64(...) ((const int64_t[]){__VA_ARGS__})
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Helpers ------------------------------------------------------------------ */

static void free_outs(weft_host_tensor *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i].data);
        t[i].data = NULL;
    }
}

static void node_done(weft_node *n)
{
    weft_attrs_clear(&n->attrs);
}

#define RUN_OK(n, in, nin, out, nout) assert_weft_ok(run((n), (in), (nin), (out), (nout)))

/* |got - want| <= atol + rtol * |want| element by element; NaN only where
 * NaN is expected. */
static void check_f_tol(const weft_host_tensor *t, const float *want, size_t count, double atol,
                        double rtol, const char *label)
{
    assert_int_equal(t->dtype, WEFT_FLOAT32);
    assert_int_equal(weft_shape_numel(&t->shape), (int64_t)count);
    const float *got = t->data;
    for (size_t i = 0; i < count; i++) {
        if ((isnan(want[i]) && isnan(got[i])) || got[i] == want[i]) /* NaN, infinities */
            continue;
        if (!(fabs((double)got[i] - (double)want[i]) <= atol + rtol * fabs((double)want[i])))
            fail_msg("%s: element %zu is %.9g, expected %.9g", label, i, (double)got[i],
                     (double)want[i]);
    }
}

static void check_f(const weft_host_tensor *t, const float *want, size_t count, const char *label)
{
    check_f_tol(t, want, count, 0, 0, label);
}

static void check_i(const weft_host_tensor *t, const int64_t *want, size_t count,
                    const char *label)
{
    assert_int_equal(t->dtype, WEFT_INT64);
    assert_int_equal(weft_shape_numel(&t->shape), (int64_t)count);
    const int64_t *got = t->data;
    for (size_t i = 0; i < count; i++)
        if (got[i] != want[i])
            fail_msg("%s: element %zu is %lld, expected %lld", label, i, (long long)got[i],
                     (long long)want[i]);
}

/* 0, 1, 2, ... as float32. */
static float *iota_f(size_t n)
{
    float *p = malloc(n * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)i;
    return p;
}

/* ---- The table ------------------------------------------------------------------- */

static void test_find(void **state)
{
    (void)state;
    static const char *const ops[] = {
        "Add",        "Sub",          "Mul",       "Div",       "Max",        "Min",
        "Sum",        "Relu",         "LeakyRelu", "PRelu",     "Elu",        "Selu",
        "Sigmoid",    "HardSigmoid",  "HardSwish", "Tanh",      "Gelu",       "Softplus",
        "Softsign",   "Mish",         "Clip",      "Erf",       "Sqrt",       "Exp",
        "Log",        "Neg",          "Abs",       "Identity",  "Dropout",    "Softmax",
        "LogSoftmax", "Concat",       "Split",     "Slice",     "Flatten",    "Reshape",
        "Transpose",  "Squeeze",      "Unsqueeze", "Pad",       "DepthToSpace",
        "SpaceToDepth", "ReduceMean", "Shape",     "Constant"};
    for (size_t i = 0; i < COUNT(ops); i++)
        if (!weft_ref_find(ops[i]))
            fail_msg("no reference for %s", ops[i]);
    assert_null(weft_ref_find("NoSuchOp"));
    assert_null(weft_ref_find("add")); /* op types are case-sensitive */
    assert_null(weft_ref_find(""));
    assert_null(weft_ref_find(NULL));
}

/* ---- Broadcasting arithmetic -------------------------------------------------------- */

static void test_add_broadcast_rank_difference(void **state)
{
    (void)state;
    /* [2,3] + [3]: b lines up with a's last axis. */
    const float a[] = {1, 2, 3, 4, 5, 6}, b[] = {10, 20, 30};
    weft_node n = node("Add");
    weft_host_tensor in[] = {in_f(2, DIMS(2, 3), a), in_f(1, DIMS(3), b)};
    weft_host_tensor out = out_f(2, DIMS(2, 3));
    RUN_OK(&n, in, 2, &out, 1);
    check_f(&out, F32(11, 22, 33, 14, 25, 36), 6, "[2,3]+[3]");
    free_outs(&out, 1);
    /* And the other way round: [3] + [2,3]. */
    weft_host_tensor swapped[] = {in[1], in[0]};
    out = out_f(2, DIMS(2, 3));
    RUN_OK(&n, swapped, 2, &out, 1);
    check_f(&out, F32(11, 22, 33, 14, 25, 36), 6, "[3]+[2,3]");
    free_outs(&out, 1);
    node_done(&n);
}

static void test_add_broadcast_size_one_dims(void **state)
{
    (void)state;
    /* [2,1,3] + [4,1] -> [2,4,3]: each side stretches the other's 1s. */
    float a[6], b[4];
    for (int i = 0; i < 6; i++)
        a[i] = (float)(100 * (i + 1));
    for (int i = 0; i < 4; i++)
        b[i] = (float)(i + 1);
    weft_node n = node("Add");
    weft_host_tensor in[] = {in_f(3, DIMS(2, 1, 3), a), in_f(2, DIMS(4, 1), b)};
    weft_host_tensor out = out_f(3, DIMS(2, 4, 3));
    RUN_OK(&n, in, 2, &out, 1);
    float want[24];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 3; k++)
                want[(i * 4 + j) * 3 + k] = a[i * 3 + k] + b[j];
    check_f(&out, want, 24, "[2,1,3]+[4,1]");
    free_outs(&out, 1);
    node_done(&n);
}

static void test_arith_scalar_and_ops(void **state)
{
    (void)state;
    const float x[] = {1, -2, 3, 8}, s[] = {2};
    weft_host_tensor in[] = {in_f(2, DIMS(2, 2), x), in_f(0, NULL, s)};
    static const struct {
        const char *op;
        float want[4];
    } cases[] = {
        {"Add", {3, 0, 5, 10}},
        {"Sub", {-1, -4, 1, 6}},
        {"Mul", {2, -4, 6, 16}},
        {"Div", {0.5f, -1, 1.5f, 4}},
    };
    for (size_t c = 0; c < COUNT(cases); c++) {
        weft_node n = node(cases[c].op);
        weft_host_tensor out = out_f(2, DIMS(2, 2));
        RUN_OK(&n, in, 2, &out, 1);
        check_f(&out, cases[c].want, 4, cases[c].op);
        free_outs(&out, 1);
        node_done(&n);
    }
    /* scalar op tensor: order matters for Sub and Div */
    weft_host_tensor rev[] = {in[1], in[0]};
    weft_node n = node("Div");
    weft_host_tensor out = out_f(2, DIMS(2, 2));
    RUN_OK(&n, rev, 2, &out, 1);
    check_f(&out, F32(2, -1, 2.0f / 3.0f, 0.25f), 4, "scalar/[2,2]");
    free_outs(&out, 1);
    /* [2,2] / [2,1]: each row by its own divisor; x / 0 is inf */
    weft_host_tensor by_row[] = {in[0], in_f(2, DIMS(2, 1), F32(4, 0))};
    out = out_f(2, DIMS(2, 2));
    RUN_OK(&n, by_row, 2, &out, 1);
    check_f(&out, F32(0.25f, -0.5f, INFINITY, INFINITY), 4, "[2,2]/[2,1]");
    free_outs(&out, 1);
    /* scalar and scalar give a scalar */
    weft_host_tensor two_scalars[] = {in[1], in[1]};
    out = out_f(0, NULL);
    RUN_OK(&n, two_scalars, 2, &out, 1);
    check_f(&out, F32(1), 1, "scalar/scalar");
    free_outs(&out, 1);
    node_done(&n);
}

static void test_arith_shape_errors(void **state)
{
    (void)state;
    const float a[6] = {0}, b[4] = {0};
    weft_node n = node("Add");
    n.name = (char *)"adder";
    weft_host_tensor in[] = {in_f(2, DIMS(2, 3), a), in_f(1, DIMS(4), b)};
    weft_host_tensor out = out_f(2, DIMS(2, 3));
    assert_weft_status(run(&n, in, 2, &out, 1), WEFT_ERR_SHAPE, "node 'adder' (Add)");
    /* an output shape that disagrees with broadcasting is refused */
    in[1] = in_f(1, DIMS(3), b);
    free_outs(&out, 1);
    out = out_f(2, DIMS(3, 2));
    assert_weft_status(run(&n, in, 2, &out, 1), WEFT_ERR_SHAPE, "reference computes [2,3]");
    free_outs(&out, 1);
    /* mixed data types */
    const int64_t i3[3] = {0};
    in[1] = in_i(1, DIMS(3), i3);
    out = out_f(2, DIMS(2, 3));
    assert_weft_status(run(&n, in, 2, &out, 1), WEFT_ERR_GRAPH, "int64");
    free_outs(&out, 1);
    node_done(&n);
}

static void test_variadic(void **state)
{
    (void)state;
    /* [2,2], [2] and a scalar together. */
    const float a[] = {1, 5, -3, 2}, b[] = {4, 0}, c[] = {1.5f};
    weft_host_tensor in[] = {in_f(2, DIMS(2, 2), a), in_f(1, DIMS(2), b), in_f(0, NULL, c)};
    static const struct {
        const char *op;
        float want[4];
    } cases[] = {
        {"Max", {4, 5, 4, 2}},
        {"Min", {1, 0, -3, 0}},
        {"Sum", {6.5f, 6.5f, 2.5f, 3.5f}},
    };
    for (size_t k = 0; k < COUNT(cases); k++) {
        weft_node n = node(cases[k].op);
        weft_host_tensor out = out_f(2, DIMS(2, 2));
        RUN_OK(&n, in, 3, &out, 1);
        check_f(&out, cases[k].want, 4, cases[k].op);
        free_outs(&out, 1);
        /* one input: a copy */
        out = out_f(2, DIMS(2, 2));
        RUN_OK(&n, in, 1, &out, 1);
        check_f(&out, a, 4, "one input");
        free_outs(&out, 1);
        node_done(&n);
    }
    /* NaN wins in Max and Min, as np.maximum / np.minimum */
    weft_host_tensor with_nan[] = {in_f(1, DIMS(2), F32(NAN, 1)), in_f(1, DIMS(2), F32(0, NAN))};
    weft_node n = node("Max");
    weft_host_tensor out = out_f(1, DIMS(2));
    RUN_OK(&n, with_nan, 2, &out, 1);
    assert_true(isnan(((float *)out.data)[0]) && isnan(((float *)out.data)[1]));
    free_outs(&out, 1);
    node_done(&n);
}

static void test_arith_int64(void **state)
{
    (void)state;
    const int64_t a[] = {7, -7, 7, -7, -11, 0}, b[] = {2, 2, -2, -2, 3, 5};
    weft_host_tensor in[] = {in_i(1, DIMS(6), a), in_i(1, DIMS(6), b)};
    static const struct {
        const char *op;
        int64_t want[6];
    } cases[] = {
        {"Add", {9, -5, 5, -9, -8, 5}},
        {"Sub", {5, -9, 9, -5, -14, -5}},
        {"Mul", {14, -14, -14, 14, -33, 0}},
        /* truncation toward zero: -7/2 = -3 (floor would give -4), -11/3 = -3 */
        {"Div", {3, -3, -3, 3, -3, 0}},
        {"Max", {7, 2, 7, -2, 3, 5}},
        {"Min", {2, -7, -2, -7, -11, 0}},
        {"Sum", {9, -5, 5, -9, -8, 5}},
    };
    for (size_t k = 0; k < COUNT(cases); k++) {
        weft_node n = node(cases[k].op);
        weft_host_tensor out = out_i(1, DIMS(6));
        RUN_OK(&n, in, 2, &out, 1);
        check_i(&out, cases[k].want, 6, cases[k].op);
        free_outs(&out, 1);
        node_done(&n);
    }
    /* shape arithmetic: [1,3,224,224] / [1] * ... with a broadcast scalar */
    weft_node n = node("Mul");
    weft_host_tensor sh[] = {in_i(1, DIMS(4), I64(1, 3, 224, 224)), in_i(0, NULL, I64(2))};
    weft_host_tensor out = out_i(1, DIMS(4));
    RUN_OK(&n, sh, 2, &out, 1);
    check_i(&out, I64(2, 6, 448, 448), 4, "shape * 2");
    free_outs(&out, 1);
    node_done(&n);
    /* wrap-around instead of undefined behaviour */
    n = node("Add");
    weft_host_tensor big[] = {in_i(1, DIMS(1), I64(INT64_MAX)), in_i(1, DIMS(1), I64(1))};
    out = out_i(1, DIMS(1));
    RUN_OK(&n, big, 2, &out, 1);
    check_i(&out, I64(INT64_MIN), 1, "INT64_MAX + 1");
    free_outs(&out, 1);
    node_done(&n);
    n = node("Div");
    weft_host_tensor edge[] = {in_i(1, DIMS(1), I64(INT64_MIN)), in_i(1, DIMS(1), I64(-1))};
    out = out_i(1, DIMS(1));
    RUN_OK(&n, edge, 2, &out, 1);
    check_i(&out, I64(INT64_MIN), 1, "INT64_MIN / -1");
    free_outs(&out, 1);
    /* integer division by zero is an error, not a crash */
    n.name = (char *)"div0";
    weft_host_tensor zero[] = {in_i(1, DIMS(2), I64(4, 5)), in_i(1, DIMS(2), I64(1, 0))};
    out = out_i(1, DIMS(2));
    assert_weft_status(run(&n, zero, 2, &out, 1), WEFT_ERR_INVALID_ARGUMENT,
                       "node 'div0' (Div): int64 division by zero");
    free_outs(&out, 1);
    node_done(&n);
}

static void test_prelu(void **state)
{
    (void)state;
    /* X [1,2,2,2], slope [2,1,1]: one slope per channel. */
    const float x[] = {-1, 2, -3, 4, -1, 2, -3, 4};
    weft_node n = node("PRelu");
    weft_host_tensor in[] = {in_f(4, DIMS(1, 2, 2, 2), x), in_f(3, DIMS(2, 1, 1), F32(0.5f, 2))};
    weft_host_tensor out = out_f(4, DIMS(1, 2, 2, 2));
    RUN_OK(&n, in, 2, &out, 1);
    check_f(&out, F32(-0.5f, 2, -1.5f, 4, -2, 2, -6, 4), 8, "per-channel slope");
    free_outs(&out, 1);
    /* one slope for all */
    in[1] = in_f(1, DIMS(1), F32(0.25f));
    out = out_f(4, DIMS(1, 2, 2, 2));
    RUN_OK(&n, in, 2, &out, 1);
    check_f(&out, F32(-0.25f, 2, -0.75f, 4, -0.25f, 2, -0.75f, 4), 8, "shared slope");
    free_outs(&out, 1);
    /* the slope stretches to X, never X to the slope */
    in[1] = in_f(5, DIMS(2, 1, 2, 2, 2), x);
    out = out_f(4, DIMS(1, 2, 2, 2));
    assert_weft_status(run(&n, in, 2, &out, 1), WEFT_ERR_SHAPE, "slope");
    free_outs(&out, 1);
    /* int64 */
    weft_host_tensor ints[] = {in_i(1, DIMS(3), I64(-4, 0, 5)), in_i(1, DIMS(1), I64(3))};
    out = out_i(1, DIMS(3));
    RUN_OK(&n, ints, 2, &out, 1);
    check_i(&out, I64(-12, 0, 5), 3, "int64 PRelu");
    free_outs(&out, 1);
    node_done(&n);
}

/* ---- Unary activations ---------------------------------------------------------------- */

static const float act_x[] = {-3.0f, -1.0f, -0.5f, 0.0f, 0.25f, 1.0f, 2.5f};

/* Runs node n on act_x and compares with f, written separately here. */
static void check_activation(const weft_node *n, double (*f)(double), const char *label)
{
    size_t count = COUNT(act_x);
    weft_host_tensor in = in_f(1, DIMS((int64_t)COUNT(act_x)), act_x);
    weft_host_tensor out = out_f(1, DIMS((int64_t)COUNT(act_x)));
    RUN_OK(n, &in, 1, &out, 1);
    float want[COUNT(act_x)];
    for (size_t i = 0; i < count; i++)
        want[i] = (float)f(act_x[i]);
    check_f_tol(&out, want, count, 1e-7, 1e-6, label);
    free_outs(&out, 1);
}

static double e_relu(double x) { return x > 0 ? x : 0; }
static double e_leaky_default(double x) { return x >= 0 ? x : 0.01 * x; }
static double e_leaky_01(double x) { return x >= 0 ? x : 0.1 * x; }
static double e_elu_default(double x) { return x >= 0 ? x : exp(x) - 1; }
static double e_elu_2(double x) { return x >= 0 ? x : 2 * (exp(x) - 1); }
static double e_selu_default(double x)
{
    /* Selu-6 defaults, written out from the spec */
    double alpha = 1.67326319217681884765625, gamma = 1.05070102214813232421875;
    return x > 0 ? gamma * x : gamma * (alpha * exp(x) - alpha);
}
static double e_selu_custom(double x) { return x > 0 ? 3 * x : 3 * (2 * exp(x) - 2); }
static double e_sigmoid(double x) { return exp(x) / (exp(x) + 1); }
static double e_hard_sigmoid_default(double x) { return fmax(0, fmin(1, 0.2 * x + 0.5)); }
static double e_hard_sigmoid_custom(double x) { return fmax(0, fmin(1, 0.5 * x + 0.25)); }
static double e_hard_swish(double x) { return x * fmax(0, fmin(1, x / 6 + 0.5)); }
static double e_tanh(double x) { return (exp(x) - exp(-x)) / (exp(x) + exp(-x)); }
static double e_softplus(double x) { return log(exp(x) + 1); }
static double e_softsign(double x) { return x / (1 + fabs(x)); }
static double e_mish(double x)
{
    double sp = log(exp(x) + 1);
    return x * (exp(sp) - exp(-sp)) / (exp(sp) + exp(-sp));
}
static double e_exp(double x) { return exp(x); }
static double e_neg(double x) { return -x; }
static double e_abs(double x) { return x < 0 ? -x : x; }
static double e_erf(double x) { return erf(x); }

static void test_activations(void **state)
{
    (void)state;
    static const struct {
        const char *op;
        double (*f)(double);
    } plain[] = {
        {"Relu", e_relu},         {"LeakyRelu", e_leaky_default},
        {"Elu", e_elu_default},   {"Selu", e_selu_default},
        {"Sigmoid", e_sigmoid},   {"HardSigmoid", e_hard_sigmoid_default},
        {"HardSwish", e_hard_swish}, {"Tanh", e_tanh},
        {"Softplus", e_softplus}, {"Softsign", e_softsign},
        {"Mish", e_mish},         {"Exp", e_exp},
        {"Neg", e_neg},           {"Abs", e_abs},
        {"Erf", e_erf},
    };
    for (size_t i = 0; i < COUNT(plain); i++) {
        weft_node n = node(plain[i].op);
        check_activation(&n, plain[i].f, plain[i].op);
        node_done(&n);
    }
    weft_node n = node("LeakyRelu");
    set_f(&n, "alpha", 0.1f);
    check_activation(&n, e_leaky_01, "LeakyRelu alpha 0.1");
    node_done(&n);
    n = node("Elu");
    set_f(&n, "alpha", 2.0f);
    check_activation(&n, e_elu_2, "Elu alpha 2");
    node_done(&n);
    n = node("Selu");
    set_f(&n, "alpha", 2.0f);
    set_f(&n, "gamma", 3.0f);
    check_activation(&n, e_selu_custom, "Selu alpha 2 gamma 3");
    node_done(&n);
    n = node("HardSigmoid");
    set_f(&n, "alpha", 0.5f);
    set_f(&n, "beta", 0.25f);
    check_activation(&n, e_hard_sigmoid_custom, "HardSigmoid 0.5 0.25");
    node_done(&n);
}

/* A few values by hand, and where the naive formulas overflow. */
static void test_activation_values(void **state)
{
    (void)state;
    static const struct {
        const char *op;
        float x, want;
    } cases[] = {
        {"Selu", -1.0f, -1.11133074f},  /* 1.0507 * 1.6733 * (1/e - 1) */
        {"Selu", 2.0f, 2.10140204f},
        {"HardSwish", 1.0f, 2.0f / 3.0f}, /* 1 * (1/6 + 1/2) */
        {"HardSwish", -3.0f, 0.0f},
        {"HardSwish", 3.0f, 3.0f},
        {"HardSigmoid", 10.0f, 1.0f},
        {"Sigmoid", 0.0f, 0.5f},
        {"Sigmoid", -1000.0f, 0.0f},
        {"Sigmoid", 1000.0f, 1.0f},
        {"Softplus", 1.0f, 1.31326169f}, /* log(1 + e) */
        {"Softplus", 100.0f, 100.0f},
        {"Softplus", 1000.0f, 1000.0f},  /* log(exp(1000) + 1) overflows if taken literally */
        {"Softplus", -1000.0f, 0.0f},
        {"Mish", 1.0f, 0.865098388f},    /* tanh(log(1 + e)) */
        {"Mish", 1000.0f, 1000.0f},
        {"Tanh", 50.0f, 1.0f},
        {"Softsign", -3.0f, -0.75f},
        {"Sqrt", 2.25f, 1.5f},
        {"Sqrt", -1.0f, NAN},
        {"Log", 1.0f, 0.0f},
        {"Log", 0.0f, -INFINITY},
        {"Exp", 0.0f, 1.0f},
        {"Relu", NAN, NAN},              /* NaN passes through */
        {"Relu", -2.0f, 0.0f},
        {"Erf", 0.5f, 0.520499878f},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        weft_node n = node(cases[i].op);
        weft_host_tensor in = in_f(0, NULL, &cases[i].x);
        weft_host_tensor out = out_f(0, NULL);
        RUN_OK(&n, &in, 1, &out, 1);
        char label[64];
        snprintf(label, sizeof label, "%s(%g)", cases[i].op, (double)cases[i].x);
        check_f_tol(&out, &cases[i].want, 1, 1e-7, 1e-6, label);
        free_outs(&out, 1);
        node_done(&n);
    }
}

/* Gelu against values computed in double with Python 3's math.erf and
 * math.tanh from the formulas of the ONNX Gelu-20 spec:
 *   none: 0.5 x (1 + erf(x / sqrt 2));  tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
 * Gelu(1) = Phi(1) = 0.8413447460685429, the standard normal CDF at 1. */
static void test_gelu(void **state)
{
    (void)state;
    const float x[] = {-3, -1, -0.5f, 0, 0.5f, 1, 1.5f, 3};
    const float exact[] = {-0.00404969409489031f, -0.15865525393145707f, -0.15426876936299344f,
                           0.0f, 0.34573123063700656f, 0.8413447460685429f, 1.399789198096713f,
                           2.99595030590511f};
    const float approx[] = {-0.0036373920817729943f, -0.15880800939172324f,
                            -0.15428599017485606f, 0.0f, 0.34571400982514394f,
                            0.8411919906082768f, 1.3995715769802328f, 2.996362607918227f};
    weft_host_tensor in = in_f(1, DIMS(8), x);
    for (int form = 0; form < 3; form++) {
        weft_node n = node("Gelu");
        if (form == 1)
            set_s(&n, "approximate", "none");
        if (form == 2)
            set_s(&n, "approximate", "tanh");
        weft_host_tensor out = out_f(1, DIMS(8));
        RUN_OK(&n, &in, 1, &out, 1);
        check_f_tol(&out, form == 2 ? approx : exact, 8, 1e-7, 1e-6,
                    form == 2 ? "Gelu tanh" : "Gelu none");
        free_outs(&out, 1);
        node_done(&n);
    }
    /* the two forms differ by more than the tolerance at x = -1 */
    assert_true(fabsf(exact[1] - approx[1]) > 1e-4f);
}

static void test_unary_int64_and_types(void **state)
{
    (void)state;
    const int64_t x[] = {-5, 0, 7, INT64_MIN};
    weft_host_tensor in = in_i(1, DIMS(4), x);
    static const struct {
        const char *op;
        int64_t want[4];
    } cases[] = {
        {"Relu", {0, 0, 7, 0}},
        {"Neg", {5, 0, -7, INT64_MIN}}, /* -INT64_MIN wraps */
        {"Abs", {5, 0, 7, INT64_MIN}},
        {"Identity", {-5, 0, 7, INT64_MIN}},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        weft_node n = node(cases[i].op);
        weft_host_tensor out = out_i(1, DIMS(4));
        RUN_OK(&n, &in, 1, &out, 1);
        check_i(&out, cases[i].want, 4, cases[i].op);
        free_outs(&out, 1);
        node_done(&n);
    }
    /* float-only ops refuse int64 (ONNX type constraints) */
    weft_node n = node("Sigmoid");
    weft_host_tensor out = out_i(1, DIMS(4));
    assert_weft_status(run(&n, &in, 1, &out, 1), WEFT_ERR_GRAPH, "Sigmoid takes float32");
    node_done(&n);
    n = node("Erf");
    assert_weft_status(run(&n, &in, 1, &out, 1), WEFT_ERR_UNSUPPORTED, "int64");
    node_done(&n);
    free_outs(&out, 1);
    /* a missing input */
    n = node("Tanh");
    out = out_f(1, DIMS(4));
    assert_weft_status(run(&n, NULL, 0, &out, 1), WEFT_ERR_INVALID_ARGUMENT, "absent");
    free_outs(&out, 1);
    node_done(&n);
}

/* ---- Clip -------------------------------------------------------------------------------- */

static void test_clip(void **state)
{
    (void)state;
    const float x[] = {-2, -0.5f, 0, 0.5f, 2, NAN};
    weft_host_tensor in[3] = {in_f(1, DIMS(6), x), in_f(0, NULL, F32(-1)), in_f(0, NULL, F32(1))};
    /* bounds as inputs (opset 11+) */
    weft_node n = node("Clip");
    weft_host_tensor out = out_f(1, DIMS(6));
    RUN_OK(&n, in, 3, &out, 1);
    check_f(&out, F32(-1, -0.5f, 0, 0.5f, 1, NAN), 6, "min and max");
    free_outs(&out, 1);
    /* min only; max absent (data NULL) */
    weft_host_tensor min_only[3] = {in[0], in[1], {WEFT_FLOAT32, {0}, NULL}};
    out = out_f(1, DIMS(6));
    RUN_OK(&n, min_only, 3, &out, 1);
    check_f(&out, F32(-1, -0.5f, 0, 0.5f, 2, NAN), 6, "min only");
    free_outs(&out, 1);
    /* max only: min absent */
    weft_host_tensor max_only[3] = {in[0], {WEFT_FLOAT32, {0}, NULL}, in[2]};
    out = out_f(1, DIMS(6));
    RUN_OK(&n, max_only, 3, &out, 1);
    check_f(&out, F32(-2, -0.5f, 0, 0.5f, 1, NAN), 6, "max only");
    free_outs(&out, 1);
    /* no bound at all: a copy */
    out = out_f(1, DIMS(6));
    RUN_OK(&n, in, 1, &out, 1);
    check_f(&out, x, 6, "no bounds");
    free_outs(&out, 1);
    /* min > max: everything becomes max (Clip-13 spec) */
    weft_host_tensor crossed[3] = {in[0], in[2], in[1]};
    out = out_f(1, DIMS(6));
    RUN_OK(&n, crossed, 3, &out, 1);
    check_f(&out, F32(-1, -1, -1, -1, -1, NAN), 6, "min > max");
    free_outs(&out, 1);
    /* both attribute and input */
    set_f(&n, "min", 0.0f);
    out = out_f(1, DIMS(6));
    assert_weft_status(run(&n, in, 3, &out, 1), WEFT_ERR_GRAPH, "'min'");
    free_outs(&out, 1);
    node_done(&n);
    /* bounds as attributes (opset 6), ReLU6 */
    n = node("Clip");
    set_f(&n, "min", 0.0f);
    set_f(&n, "max", 6.0f);
    weft_host_tensor r6 = in_f(1, DIMS(4), F32(-1, 3, 6, 7.5f));
    out = out_f(1, DIMS(4));
    RUN_OK(&n, &r6, 1, &out, 1);
    check_f(&out, F32(0, 3, 6, 6), 4, "relu6 attributes");
    free_outs(&out, 1);
    node_done(&n);
    /* int64 */
    n = node("Clip");
    weft_host_tensor ints[3] = {in_i(1, DIMS(4), I64(-9, 0, 4, 100)), in_i(0, NULL, I64(-1)),
                                in_i(0, NULL, I64(10))};
    out = out_i(1, DIMS(4));
    RUN_OK(&n, ints, 3, &out, 1);
    check_i(&out, I64(-1, 0, 4, 10), 4, "int64 clip");
    free_outs(&out, 1);
    node_done(&n);
}

/* ---- Softmax ----------------------------------------------------------------------------- */

/* x[i] = offset(slice) + d(position along the axis), offsets up to +-8e4:
 * exp(x) overflows float and double alike, so only a max-subtracting
 * softmax gets this right. d is a multiple of 0.25, exact at that size,
 * and the expected values come from d alone (softmax is shift
 * invariant), with the naive formula. */
static void check_softmax_axis(int axis, int log_form)
{
    const int64_t dims[3] = {2, 3, 4};
    weft_shape s = shape_of(3, dims);
    int ax = axis < 0 ? axis + 3 : axis;
    int64_t len = dims[ax], inner = 1, outer = 1;
    for (int d = ax + 1; d < 3; d++)
        inner *= dims[d];
    for (int d = 0; d < ax; d++)
        outer *= dims[d];
    float x[24], want[24];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t slice = o * inner + i;
            double offset = (slice % 2 ? 1e4 : -1e4) * (double)(1 + slice % 8);
            double d[4], sum = 0;
            for (int64_t a = 0; a < len; a++) {
                d[a] = 0.25 * (double)a * (double)(1 + slice % 3);
                x[(o * len + a) * inner + i] = (float)(offset + d[a]);
                sum += exp(d[a]);
            }
            for (int64_t a = 0; a < len; a++)
                want[(o * len + a) * inner + i] =
                    (float)(log_form ? d[a] - log(sum) : exp(d[a]) / sum);
        }
    weft_node n = node(log_form ? "LogSoftmax" : "Softmax");
    if (axis != -1)
        set_i(&n, "axis", axis);
    weft_host_tensor in = {WEFT_FLOAT32, s, x};
    weft_host_tensor out = out_f(3, dims);
    RUN_OK(&n, &in, 1, &out, 1);
    char label[64];
    snprintf(label, sizeof label, "%s axis %d", n.op, axis);
    for (int i = 0; i < 24; i++)
        if (!isfinite(((float *)out.data)[i]))
            fail_msg("%s: element %d is not finite", label, i);
    check_f_tol(&out, want, 24, 1e-6, 1e-5, label);
    free_outs(&out, 1);
    node_done(&n);
}

static void test_softmax(void **state)
{
    (void)state;
    for (int log_form = 0; log_form < 2; log_form++) {
        check_softmax_axis(0, log_form);
        check_softmax_axis(1, log_form);  /* a middle axis */
        check_softmax_axis(2, log_form);
        check_softmax_axis(-1, log_form); /* the default */
        check_softmax_axis(-2, log_form);
    }
    /* by hand: softmax([0, ln 3]) = [1/4, 3/4] */
    weft_node n = node("Softmax");
    weft_host_tensor in = in_f(1, DIMS(2), F32(0, (float)log(3.0)));
    weft_host_tensor out = out_f(1, DIMS(2));
    RUN_OK(&n, &in, 1, &out, 1);
    check_f_tol(&out, F32(0.25f, 0.75f), 2, 1e-7, 1e-6, "softmax by hand");
    free_outs(&out, 1);
    /* axis out of range */
    n.name = (char *)"sm";
    set_i(&n, "axis", 1);
    out = out_f(1, DIMS(2));
    assert_weft_status(run(&n, &in, 1, &out, 1), WEFT_ERR_GRAPH,
                       "node 'sm' (Softmax): attribute 'axis' = 1 is out of range");
    free_outs(&out, 1);
    node_done(&n);
}

/* ---- Identity, Dropout, Flatten, Reshape, Squeeze, Unsqueeze -------------------------------- */

static void test_identity_dropout(void **state)
{
    (void)state;
    const float x[] = {1, -2, 3.5f, NAN};
    weft_host_tensor in[3] = {in_f(2, DIMS(2, 2), x)};
    const char *ops[] = {"Identity", "Dropout"};
    for (size_t i = 0; i < 2; i++) {
        weft_node n = node(ops[i]);
        weft_host_tensor out = out_f(2, DIMS(2, 2));
        RUN_OK(&n, in, 1, &out, 1);
        check_f(&out, x, 4, ops[i]);
        free_outs(&out, 1);
        node_done(&n);
    }
    /* Dropout: the ratio does not matter at inference; training does not run */
    weft_node n = node("Dropout");
    in[1] = in_f(0, NULL, F32(0.9f));
    in[2] = in_i(0, NULL, I64(0));
    weft_host_tensor out[2] = {out_f(2, DIMS(2, 2))};
    RUN_OK(&n, in, 3, out, 2); /* out[1] has no data: the mask is not wanted */
    check_f(&out[0], x, 4, "Dropout ratio 0.9");
    in[2] = in_i(0, NULL, I64(1));
    assert_weft_status(run(&n, in, 3, out, 1), WEFT_ERR_UNSUPPORTED, "training_mode");
    out[1] = out_f(2, DIMS(2, 2));
    assert_weft_status(run(&n, in, 1, out, 2), WEFT_ERR_UNSUPPORTED, "mask");
    free_outs(out, 2);
    node_done(&n);
}

static void test_flatten(void **state)
{
    (void)state;
    float *x = iota_f(24);
    weft_host_tensor in = in_f(3, DIMS(2, 3, 4), x);
    static const struct {
        int64_t axis;
        int64_t rows, cols;
    } cases[] = {{0, 1, 24}, {1, 2, 12}, {2, 6, 4}, {3, 24, 1}, {-1, 6, 4}, {-3, 1, 24}};
    for (size_t i = 0; i < COUNT(cases); i++) {
        weft_node n = node("Flatten");
        set_i(&n, "axis", cases[i].axis);
        weft_host_tensor out = out_f(2, DIMS(cases[i].rows, cases[i].cols));
        RUN_OK(&n, &in, 1, &out, 1);
        check_f(&out, x, 24, "Flatten");
        free_outs(&out, 1);
        node_done(&n);
    }
    /* default axis 1 */
    weft_node n = node("Flatten");
    weft_host_tensor out = out_f(2, DIMS(2, 12));
    RUN_OK(&n, &in, 1, &out, 1);
    check_f(&out, x, 24, "Flatten default");
    free_outs(&out, 1);
    /* the reference checks the shape it is given */
    out = out_f(2, DIMS(6, 4));
    assert_weft_status(run(&n, &in, 1, &out, 1), WEFT_ERR_SHAPE, "[2,12]");
    free_outs(&out, 1);
    node_done(&n);
    free(x);
}

static void test_reshape(void **state)
{
    (void)state;
    float *x = iota_f(24);
    weft_host_tensor in[2] = {in_f(3, DIMS(2, 3, 4), x)};
    static const struct {
        int64_t shape[4];
        size_t count;
        int rank;
        int64_t dims[4];
    } cases[] = {
        {{0, -1}, 2, 2, {2, 12}},       /* 0 copies the input dim */
        {{-1}, 1, 1, {24}},
        {{4, 0, 2}, 3, 3, {4, 3, 2}},
        {{1, -1, 1, 8}, 4, 4, {1, 3, 1, 8}},
    };
    weft_node n = node("Reshape");
    for (size_t i = 0; i < COUNT(cases); i++) {
        in[1] = in_i(1, DIMS((int64_t)cases[i].count), cases[i].shape);
        weft_host_tensor out = out_f(cases[i].rank, cases[i].dims);
        RUN_OK(&n, in, 2, &out, 1);
        check_f(&out, x, 24, "Reshape");
        free_outs(&out, 1);
    }
    /* more than one -1, a size that does not fit */
    in[1] = in_i(1, DIMS(2), I64(-1, -1));
    weft_host_tensor out = out_f(1, DIMS(24));
    assert_weft_status(run(&n, in, 2, &out, 1), WEFT_ERR_GRAPH, "more than one -1");
    in[1] = in_i(1, DIMS(2), I64(5, -1));
    assert_weft_status(run(&n, in, 2, &out, 1), WEFT_ERR_SHAPE, "-1");
    free_outs(&out, 1);
    node_done(&n);
    /* allowzero: 0 is a size of 0 */
    n = node("Reshape");
    set_i(&n, "allowzero", 1);
    weft_host_tensor empty[2] = {in_f(2, DIMS(0, 3), x), in_i(1, DIMS(2), I64(3, 0))};
    out = out_f(2, DIMS(3, 0));
    RUN_OK(&n, empty, 2, &out, 1);
    free_outs(&out, 1);
    node_done(&n);
    /* int64 data */
    n = node("Reshape");
    weft_host_tensor ints[2] = {in_i(1, DIMS(4), I64(1, 2, 3, 4)), in_i(1, DIMS(2), I64(2, 2))};
    out = out_i(2, DIMS(2, 2));
    RUN_OK(&n, ints, 2, &out, 1);
    check_i(&out, I64(1, 2, 3, 4), 4, "int64 Reshape");
    free_outs(&out, 1);
    node_done(&n);
    free(x);
}

static void test_squeeze_unsqueeze(void **state)
{
    (void)state;
    const float x[] = {1, 2, 3, 4, 5, 6};
    weft_host_tensor in[2] = {in_f(4, DIMS(1, 3, 1, 2), x)};
    /* no axes: every size-1 axis */
    weft_node n = node("Squeeze");
    weft_host_tensor out = out_f(2, DIMS(3, 2));
    RUN_OK(&n, in, 1, &out, 1);
    check_f(&out, x, 6, "Squeeze all");
    free_outs(&out, 1);
    /* axes as input (opset 13), negative */
    in[1] = in_i(1, DIMS(1), I64(-2));
    out = out_f(3, DIMS(1, 3, 2));
    RUN_OK(&n, in, 2, &out, 1);
    check_f(&out, x, 6, "Squeeze -2");
    free_outs(&out, 1);
    /* an axis of size 3 */
    n.name = (char *)"sq";
    in[1] = in_i(1, DIMS(1), I64(1));
    out = out_f(3, DIMS(1, 1, 2));
    assert_weft_status(run(&n, in, 2, &out, 1), WEFT_ERR_SHAPE, "node 'sq' (Squeeze)");
    free_outs(&out, 1);
    node_done(&n);
    /* axes as attribute (opset 1-11) */
    n = node("Squeeze");
    set_is(&n, "axes", I64(0), 1);
    out = out_f(3, DIMS(3, 1, 2));
    RUN_OK(&n, in, 1, &out, 1);
    check_f(&out, x, 6, "Squeeze attr");
    free_outs(&out, 1);
    node_done(&n);

    /* Unsqueeze: axes count in the output's rank */
    n = node("Unsqueeze");
    weft_host_tensor u[2] = {in_f(2, DIMS(3, 2), x), in_i(1, DIMS(2), I64(0, -1))};
    out = out_f(4, DIMS(1, 3, 2, 1));
    RUN_OK(&n, u, 2, &out, 1);
    check_f(&out, x, 6, "Unsqueeze 0,-1");
    free_outs(&out, 1);
    u[1] = in_i(1, DIMS(2), I64(1, 1));
    out = out_f(4, DIMS(3, 1, 1, 2));
    assert_weft_status(run(&n, u, 2, &out, 1), WEFT_ERR_GRAPH, "twice");
    free_outs(&out, 1);
    node_done(&n);
    n = node("Unsqueeze");
    set_is(&n, "axes", I64(1), 1);
    out = out_f(3, DIMS(3, 1, 2));
    RUN_OK(&n, u, 1, &out, 1);
    check_f(&out, x, 6, "Unsqueeze attr");
    free_outs(&out, 1);
    node_done(&n);
    /* an int64 scalar becomes a 1-D shape tensor */
    n = node("Unsqueeze");
    weft_host_tensor s[2] = {in_i(0, NULL, I64(42)), in_i(1, DIMS(1), I64(0))};
    out = out_i(1, DIMS(1));
    RUN_OK(&n, s, 2, &out, 1);
    check_i(&out, I64(42), 1, "Unsqueeze scalar");
    free_outs(&out, 1);
    node_done(&n);
}

/* ---- Concat and Split --------------------------------------------------------------------- */

static void test_concat(void **state)
{
    (void)state;
    const float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8, 9, 10, 11, 12};
    weft_host_tensor in[] = {in_f(3, DIMS(2, 1, 2), a), in_f(3, DIMS(2, 2, 2), b)};
    const int64_t axes[] = {1, -2};
    for (size_t i = 0; i < 2; i++) {
        weft_node n = node("Concat");
        set_i(&n, "axis", axes[i]);
        weft_host_tensor out = out_f(3, DIMS(2, 3, 2));
        RUN_OK(&n, in, 2, &out, 1);
        check_f(&out, F32(1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12), 12, "Concat axis 1");
        free_outs(&out, 1);
        node_done(&n);
    }
    /* axis 0 and the last axis */
    weft_node n = node("Concat");
    set_i(&n, "axis", 0);
    weft_host_tensor two[] = {in_f(2, DIMS(1, 2), a), in_f(2, DIMS(2, 2), b)};
    weft_host_tensor out = out_f(2, DIMS(3, 2));
    RUN_OK(&n, two, 2, &out, 1);
    check_f(&out, F32(1, 2, 5, 6, 7, 8), 6, "Concat axis 0");
    free_outs(&out, 1);
    set_i(&n, "axis", -1);
    weft_host_tensor cols[] = {in_f(2, DIMS(2, 1), a), in_f(2, DIMS(2, 3), b),
                               in_f(2, DIMS(2, 0), a)};
    out = out_f(2, DIMS(2, 4));
    RUN_OK(&n, cols, 3, &out, 1);
    check_f(&out, F32(1, 5, 6, 7, 2, 8, 9, 10), 8, "Concat last axis with an empty input");
    free_outs(&out, 1);
    /* mismatched dims */
    n.name = (char *)"cat";
    weft_host_tensor bad[] = {in_f(2, DIMS(2, 1), a), in_f(2, DIMS(3, 1), b)};
    out = out_f(2, DIMS(5, 1));
    assert_weft_status(run(&n, bad, 2, &out, 1), WEFT_ERR_SHAPE, "node 'cat' (Concat)");
    free_outs(&out, 1);
    node_done(&n);
    /* int64 shape pieces */
    n = node("Concat");
    set_i(&n, "axis", 0);
    weft_host_tensor sh[] = {in_i(1, DIMS(1), I64(-1)), in_i(1, DIMS(2), I64(3, 224)),
                             in_i(1, DIMS(1), I64(7))};
    out = out_i(1, DIMS(4));
    RUN_OK(&n, sh, 3, &out, 1);
    check_i(&out, I64(-1, 3, 224, 7), 4, "int64 Concat");
    free_outs(&out, 1);
    node_done(&n);
    /* axis is required */
    n = node("Concat");
    out = out_i(1, DIMS(4));
    assert_weft_status(run(&n, sh, 3, &out, 1), WEFT_ERR_GRAPH, "'axis' is required");
    free_outs(&out, 1);
    node_done(&n);
}

static void test_split(void **state)
{
    (void)state;
    const float x[] = {0, 1, 2, 3, 4, 5};
    /* uneven, sizes as input (opset 13): [2,3] -> [2,1] and [2,2] */
    weft_node n = node("Split");
    set_i(&n, "axis", 1);
    weft_host_tensor in[2] = {in_f(2, DIMS(2, 3), x), in_i(1, DIMS(2), I64(1, 2))};
    weft_host_tensor out[3] = {out_f(2, DIMS(2, 1)), out_f(2, DIMS(2, 2))};
    RUN_OK(&n, in, 2, out, 2);
    check_f(&out[0], F32(0, 3), 2, "split part 0");
    check_f(&out[1], F32(1, 2, 4, 5), 4, "split part 1");
    free_outs(out, 2);
    /* sizes that do not add up */
    in[1] = in_i(1, DIMS(2), I64(1, 1));
    out[0] = out_f(2, DIMS(2, 1));
    out[1] = out_f(2, DIMS(2, 1));
    assert_weft_status(run(&n, in, 2, out, 2), WEFT_ERR_SHAPE, "adds up to 2");
    free_outs(out, 2);
    node_done(&n);
    /* sizes as attribute (opset 2-11), negative axis */
    n = node("Split");
    set_i(&n, "axis", -1);
    set_is(&n, "split", I64(2, 1), 2);
    out[0] = out_f(2, DIMS(2, 2));
    out[1] = out_f(2, DIMS(2, 1));
    RUN_OK(&n, in, 1, out, 2);
    check_f(&out[0], F32(0, 1, 3, 4), 4, "split attr part 0");
    check_f(&out[1], F32(2, 5), 2, "split attr part 1");
    free_outs(out, 2);
    node_done(&n);
    /* num_outputs (opset 18): 7 -> 3, 3, 1 */
    float *seven = iota_f(7);
    n = node("Split");
    set_i(&n, "num_outputs", 3);
    weft_host_tensor in7 = in_f(1, DIMS(7), seven);
    out[0] = out_f(1, DIMS(3));
    out[1] = out_f(1, DIMS(3));
    out[2] = out_f(1, DIMS(1));
    RUN_OK(&n, &in7, 1, out, 3);
    check_f(&out[0], F32(0, 1, 2), 3, "num_outputs part 0");
    check_f(&out[1], F32(3, 4, 5), 3, "num_outputs part 1");
    check_f(&out[2], F32(6), 1, "num_outputs part 2");
    free_outs(out, 3);
    node_done(&n);
    free(seven);
    /* equal parts on axis 0, int64 */
    n = node("Split");
    weft_host_tensor ints = in_i(2, DIMS(4, 1), I64(10, 20, 30, 40));
    out[0] = out_i(2, DIMS(2, 1));
    out[1] = out_i(2, DIMS(2, 1));
    RUN_OK(&n, &ints, 1, out, 2);
    check_i(&out[0], I64(10, 20), 2, "equal part 0");
    check_i(&out[1], I64(30, 40), 2, "equal part 1");
    free_outs(out, 2);
    /* 4 does not split into 3 equal parts */
    out[0] = out_i(2, DIMS(1, 1));
    out[1] = out_i(2, DIMS(1, 1));
    out[2] = out_i(2, DIMS(1, 1));
    assert_weft_status(run(&n, &ints, 1, out, 3), WEFT_ERR_SHAPE, "equal parts");
    free_outs(out, 3);
    node_done(&n);
}

/* ---- Slice and Transpose ------------------------------------------------------------------ */

/* Runs Slice on 0..9 with starts/ends/steps inputs, compares with want. */
static void check_slice_1d(int64_t start, int64_t end, int64_t step, const float *want,
                           int64_t len, const char *label)
{
    float *x = iota_f(10);
    weft_node n = node("Slice");
    weft_host_tensor in[5] = {in_f(1, DIMS(10), x), in_i(1, DIMS(1), &start),
                              in_i(1, DIMS(1), &end), in_i(1, DIMS(1), I64(0)),
                              in_i(1, DIMS(1), &step)};
    weft_host_tensor out = out_f(1, &len);
    RUN_OK(&n, in, 5, &out, 1);
    check_f(&out, want, (size_t)len, label);
    free_outs(&out, 1);
    node_done(&n);
    free(x);
}

static void test_slice(void **state)
{
    (void)state;
    check_slice_1d(-1, INT64_MIN, -1, F32(9, 8, 7, 6, 5, 4, 3, 2, 1, 0), 10, "reverse");
    check_slice_1d(8, 1, -3, F32(8, 5, 2), 3, "8:1:-3");
    check_slice_1d(20, -20, -4, F32(9, 5, 1), 3, "clamped, step -4");
    check_slice_1d(-3, INT64_MAX, 1, F32(7, 8, 9), 3, "-3:");
    check_slice_1d(1, 9, 3, F32(1, 4, 7), 3, "1:9:3");
    check_slice_1d(5, 2, 1, F32(0), 0, "empty");
    check_slice_1d(2, 5, -1, F32(0), 0, "empty backwards");
    check_slice_1d(9, -11, INT64_MIN, F32(9), 1, "huge negative step");

    /* 2-D, axes out of order, one negative step: rows 0 and 2, columns 3 and 1 */
    float *x = iota_f(12);
    weft_node n = node("Slice");
    weft_host_tensor in[5] = {in_f(2, DIMS(3, 4), x), in_i(1, DIMS(2), I64(3, 0)),
                              in_i(1, DIMS(2), I64(0, INT64_MAX)), in_i(1, DIMS(2), I64(1, -2)),
                              in_i(1, DIMS(2), I64(-2, 2))};
    weft_host_tensor out = out_f(2, DIMS(2, 2));
    RUN_OK(&n, in, 5, &out, 1);
    check_f(&out, F32(3, 1, 11, 9), 4, "2-D slice");
    free_outs(&out, 1);
    /* step 0 */
    in[4] = in_i(1, DIMS(2), I64(0, 1));
    out = out_f(2, DIMS(2, 2));
    assert_weft_status(run(&n, in, 5, &out, 1), WEFT_ERR_GRAPH, "'steps'[0] is 0");
    free_outs(&out, 1);
    node_done(&n);
    /* starts/ends/axes as attributes (opset 1) */
    n = node("Slice");
    set_is(&n, "starts", I64(1), 1);
    set_is(&n, "ends", I64(3), 1);
    set_is(&n, "axes", I64(1), 1);
    out = out_f(2, DIMS(3, 2));
    RUN_OK(&n, in, 1, &out, 1);
    check_f(&out, F32(1, 2, 5, 6, 9, 10), 6, "attribute form");
    free_outs(&out, 1);
    node_done(&n);
    free(x);
    /* int64: the spatial dims of a shape */
    n = node("Slice");
    weft_host_tensor sh[3] = {in_i(1, DIMS(4), I64(1, 3, 224, 200)), in_i(1, DIMS(1), I64(2)),
                              in_i(1, DIMS(1), I64(4))};
    out = out_i(1, DIMS(2));
    RUN_OK(&n, sh, 3, &out, 1);
    check_i(&out, I64(224, 200), 2, "int64 Slice");
    free_outs(&out, 1);
    node_done(&n);
}

static void test_transpose(void **state)
{
    (void)state;
    /* 4-D [2,3,4,5], values = their linear index */
    float *x = iota_f(120);
    weft_host_tensor in = in_f(4, DIMS(2, 3, 4, 5), x);
    /* NCHW -> NHWC: out[n][h][w][c] = x[n][c][h][w] */
    weft_node n = node("Transpose");
    set_is(&n, "perm", I64(0, 2, 3, 1), 4);
    weft_host_tensor out = out_f(4, DIMS(2, 4, 5, 3));
    RUN_OK(&n, &in, 1, &out, 1);
    float want[120];
    for (int b = 0; b < 2; b++)
        for (int h = 0; h < 4; h++)
            for (int w = 0; w < 5; w++)
                for (int c = 0; c < 3; c++)
                    want[((b * 4 + h) * 5 + w) * 3 + c] = x[((b * 3 + c) * 4 + h) * 5 + w];
    check_f(&out, want, 120, "perm 0,2,3,1");
    free_outs(&out, 1);
    node_done(&n);
    /* perm [3,1,0,2]: out[w][c][b][h] = x[b][c][h][w] */
    n = node("Transpose");
    set_is(&n, "perm", I64(3, 1, 0, 2), 4);
    out = out_f(4, DIMS(5, 3, 2, 4));
    RUN_OK(&n, &in, 1, &out, 1);
    for (int w = 0; w < 5; w++)
        for (int c = 0; c < 3; c++)
            for (int b = 0; b < 2; b++)
                for (int h = 0; h < 4; h++)
                    want[((w * 3 + c) * 2 + b) * 4 + h] = x[((b * 3 + c) * 4 + h) * 5 + w];
    check_f(&out, want, 120, "perm 3,1,0,2");
    free_outs(&out, 1);
    /* not a permutation */
    set_is(&n, "perm", I64(0, 1, 1, 2), 4);
    out = out_f(4, DIMS(2, 3, 3, 4));
    assert_weft_status(run(&n, &in, 1, &out, 1), WEFT_ERR_GRAPH, "'perm'");
    free_outs(&out, 1);
    node_done(&n);
    /* default: reversed axes, a matrix transpose; int64 */
    n = node("Transpose");
    weft_host_tensor m = in_i(2, DIMS(2, 3), I64(1, 2, 3, 4, 5, 6));
    out = out_i(2, DIMS(3, 2));
    RUN_OK(&n, &m, 1, &out, 1);
    check_i(&out, I64(1, 4, 2, 5, 3, 6), 6, "default perm");
    free_outs(&out, 1);
    node_done(&n);
    free(x);
}

/* ---- Pad -------------------------------------------------------------------------------- */

static void test_pad(void **state)
{
    (void)state;
    const float x[] = {1, 2, 3, 4, 5, 6};
    /* pads [begin0, begin1, end0, end1] = [0, 1, 1, -1]: a column in front,
     * the last column cropped, a row added below */
    weft_node n = node("Pad");
    weft_host_tensor in[4] = {in_f(2, DIMS(2, 3), x), in_i(1, DIMS(4), I64(0, 1, 1, -1)),
                              in_f(0, NULL, F32(9.5f))};
    weft_host_tensor out = out_f(2, DIMS(3, 3));
    RUN_OK(&n, in, 3, &out, 1);
    check_f(&out, F32(9.5f, 1, 2, 9.5f, 4, 5, 9.5f, 9.5f, 9.5f), 9, "pad and crop");
    free_outs(&out, 1);
    /* only negative pads: a crop to the middle-right */
    in[1] = in_i(1, DIMS(4), I64(-1, -1, 0, 0));
    out = out_f(2, DIMS(1, 2));
    RUN_OK(&n, in, 2, &out, 1);
    check_f(&out, F32(5, 6), 2, "crop");
    free_outs(&out, 1);
    /* default value 0, axes input (opset 18): pads for the last axis only */
    in[1] = in_i(1, DIMS(2), I64(2, -1));
    in[2] = (weft_host_tensor){WEFT_FLOAT32, {0}, NULL};
    in[3] = in_i(1, DIMS(1), I64(-1));
    out = out_f(2, DIMS(2, 4));
    RUN_OK(&n, in, 4, &out, 1);
    check_f(&out, F32(0, 0, 1, 2, 0, 0, 4, 5), 8, "axes input");
    free_outs(&out, 1);
    /* a size below zero */
    in[1] = in_i(1, DIMS(4), I64(0, -2, 0, -2));
    out = out_f(2, DIMS(2, 0));
    assert_weft_status(run(&n, in, 2, &out, 1), WEFT_ERR_SHAPE, "'pads'");
    free_outs(&out, 1);
    node_done(&n);
    /* pads and value as attributes (opset 2) */
    n = node("Pad");
    set_is(&n, "pads", I64(1, 0, 0, 0), 4);
    set_f(&n, "value", -1.0f);
    out = out_f(2, DIMS(3, 3));
    RUN_OK(&n, in, 1, &out, 1);
    check_f(&out, F32(-1, -1, -1, 1, 2, 3, 4, 5, 6), 9, "attribute form");
    free_outs(&out, 1);
    node_done(&n);
    /* int64 with an int64 value */
    n = node("Pad");
    weft_host_tensor ints[3] = {in_i(1, DIMS(2), I64(7, 8)), in_i(1, DIMS(2), I64(1, 2)),
                                in_i(0, NULL, I64(-5))};
    out = out_i(1, DIMS(5));
    RUN_OK(&n, ints, 3, &out, 1);
    check_i(&out, I64(-5, 7, 8, -5, -5), 5, "int64 Pad");
    free_outs(&out, 1);
    node_done(&n);
}

/* ---- DepthToSpace and SpaceToDepth --------------------------------------------------------- */

/* The examples of the ONNX DepthToSpace spec
 * (onnx/backend/test/case/node/depthtospace.py: default_mode_example and
 * crd_mode_example): x [1,8,2,3], blocksize 2, y [1,2,4,6]. */
static const float d2s_x[48] = {
    0,  1,  2,  3,  4,  5,  9,  10, 11, 12, 13, 14, 18, 19, 20, 21, 22, 23, 27, 28, 29, 30, 31, 32,
    36, 37, 38, 39, 40, 41, 45, 46, 47, 48, 49, 50, 54, 55, 56, 57, 58, 59, 63, 64, 65, 66, 67, 68};
static const float d2s_dcr[48] = {
    0,  18, 1,  19, 2,  20, 36, 54, 37, 55, 38, 56, 3,  21, 4,  22, 5,  23, 39, 57, 40, 58, 41, 59,
    9,  27, 10, 28, 11, 29, 45, 63, 46, 64, 47, 65, 12, 30, 13, 31, 14, 32, 48, 66, 49, 67, 50, 68};
static const float d2s_crd[48] = {
    0,  9,  1,  10, 2,  11, 18, 27, 19, 28, 20, 29, 3,  12, 4,  13, 5,  14, 21, 30, 22, 31, 23, 32,
    36, 45, 37, 46, 38, 47, 54, 63, 55, 64, 56, 65, 39, 48, 40, 49, 41, 50, 57, 66, 58, 67, 59, 68};

static void test_depth_to_space(void **state)
{
    (void)state;
    weft_host_tensor in = in_f(4, DIMS(1, 8, 2, 3), d2s_x);
    for (int mode = 0; mode < 3; mode++) {
        weft_node n = node("DepthToSpace");
        set_i(&n, "blocksize", 2);
        if (mode > 0)
            set_s(&n, "mode", mode == 1 ? "DCR" : "CRD");
        weft_host_tensor out = out_f(4, DIMS(1, 2, 4, 6));
        RUN_OK(&n, &in, 1, &out, 1);
        check_f(&out, mode == 2 ? d2s_crd : d2s_dcr, 48, mode == 2 ? "CRD" : "DCR");
        free_outs(&out, 1);
        node_done(&n);
    }
    /* SpaceToDepth undoes DepthToSpace in DCR mode */
    weft_node n = node("SpaceToDepth");
    set_i(&n, "blocksize", 2);
    weft_host_tensor y = in_f(4, DIMS(1, 2, 4, 6), d2s_dcr);
    weft_host_tensor out = out_f(4, DIMS(1, 8, 2, 3));
    RUN_OK(&n, &y, 1, &out, 1);
    check_f(&out, d2s_x, 48, "SpaceToDepth");
    free_outs(&out, 1);
    /* and by hand on [1,1,2,2] with blocksize 2: each pixel becomes a channel */
    weft_host_tensor px = in_f(4, DIMS(1, 1, 2, 2), F32(1, 2, 3, 4));
    out = out_f(4, DIMS(1, 4, 1, 1));
    RUN_OK(&n, &px, 1, &out, 1);
    check_f(&out, F32(1, 2, 3, 4), 4, "SpaceToDepth 2x2");
    free_outs(&out, 1);
    node_done(&n);
    /* errors */
    n = node("DepthToSpace");
    n.name = (char *)"d2s";
    set_i(&n, "blocksize", 2);
    set_s(&n, "mode", "RDC");
    out = out_f(4, DIMS(1, 2, 4, 6));
    assert_weft_status(run(&n, &in, 1, &out, 1), WEFT_ERR_GRAPH,
                       "node 'd2s' (DepthToSpace): attribute 'mode' = \"RDC\"");
    node_done(&n);
    n = node("DepthToSpace");
    assert_weft_status(run(&n, &in, 1, &out, 1), WEFT_ERR_GRAPH, "'blocksize' is required");
    free_outs(&out, 1);
    node_done(&n);
}

/* ---- ReduceMean ------------------------------------------------------------------------- */

static void test_reduce_mean(void **state)
{
    (void)state;
    /* x[i][j][k] = 12 i + 4 j + k on [2,3,4] */
    float *x = iota_f(24);
    weft_host_tensor in[2] = {in_f(3, DIMS(2, 3, 4), x)};
    /* axis 1: mean_j (12 i + 4 j + k) = 12 i + 4 + k */
    const float over_j[] = {4, 5, 6, 7, 16, 17, 18, 19};
    for (int keep = 0; keep < 2; keep++) {
        weft_node n = node("ReduceMean");
        set_is(&n, "axes", I64(1), 1);
        set_i(&n, "keepdims", keep);
        weft_host_tensor out = keep ? out_f(3, DIMS(2, 1, 4)) : out_f(2, DIMS(2, 4));
        RUN_OK(&n, in, 1, &out, 1);
        check_f(&out, over_j, 8, keep ? "axis 1 keepdims" : "axis 1");
        free_outs(&out, 1);
        node_done(&n);
    }
    /* axes 0 and 2: mean over i, k = 6 + 4 j + 1.5 */
    const float over_ik[] = {7.5f, 11.5f, 15.5f};
    for (int keep = 0; keep < 2; keep++) {
        weft_node n = node("ReduceMean");
        set_is(&n, "axes", I64(-1, 0), 2);
        set_i(&n, "keepdims", keep);
        weft_host_tensor out = keep ? out_f(3, DIMS(1, 3, 1)) : out_f(1, DIMS(3));
        RUN_OK(&n, in, 1, &out, 1);
        check_f(&out, over_ik, 3, keep ? "axes 0,2 keepdims" : "axes 0,2");
        free_outs(&out, 1);
        node_done(&n);
    }
    /* no axes: all of them; keepdims defaults to 1 */
    weft_node n = node("ReduceMean");
    weft_host_tensor out = out_f(3, DIMS(1, 1, 1));
    RUN_OK(&n, in, 1, &out, 1);
    check_f(&out, F32(11.5f), 1, "all axes");
    free_outs(&out, 1);
    set_i(&n, "keepdims", 0);
    out = out_f(0, NULL);
    RUN_OK(&n, in, 1, &out, 1);
    check_f(&out, F32(11.5f), 1, "all axes to a scalar");
    free_outs(&out, 1);
    /* axes as input (opset 18) */
    in[1] = in_i(1, DIMS(1), I64(2));
    out = out_f(2, DIMS(2, 3));
    RUN_OK(&n, in, 2, &out, 1);
    check_f(&out, F32(1.5f, 5.5f, 9.5f, 13.5f, 17.5f, 21.5f), 6, "axes input");
    free_outs(&out, 1);
    /* both forms */
    set_is(&n, "axes", I64(2), 1);
    out = out_f(2, DIMS(2, 3));
    assert_weft_status(run(&n, in, 2, &out, 1), WEFT_ERR_GRAPH, "'axes'");
    free_outs(&out, 1);
    node_done(&n);
    /* noop_with_empty_axes: no axes means no reduction */
    n = node("ReduceMean");
    set_i(&n, "noop_with_empty_axes", 1);
    out = out_f(3, DIMS(2, 3, 4));
    RUN_OK(&n, in, 1, &out, 1);
    check_f(&out, x, 24, "noop");
    free_outs(&out, 1);
    node_done(&n);
    /* int64: truncated toward zero, like Div */
    n = node("ReduceMean");
    set_is(&n, "axes", I64(1), 1);
    set_i(&n, "keepdims", 0);
    weft_host_tensor ints = in_i(2, DIMS(2, 2), I64(1, 2, -3, -4));
    out = out_i(1, DIMS(2));
    RUN_OK(&n, &ints, 1, &out, 1);
    check_i(&out, I64(1, -3), 2, "int64 mean");
    free_outs(&out, 1);
    node_done(&n);
    free(x);
}

/* ---- Shape and Constant ------------------------------------------------------------------ */

static void test_shape(void **state)
{
    (void)state;
    /* Only the shape is read: the data may be absent. */
    weft_host_tensor in = {WEFT_FLOAT32, shape_of(4, DIMS(2, 3, 4, 5)), NULL};
    static const struct {
        int has_start, has_end;
        int64_t start, end;
        int64_t want[4];
        int64_t len;
    } cases[] = {
        {0, 0, 0, 0, {2, 3, 4, 5}, 4}, {1, 0, 1, 0, {3, 4, 5}, 3}, {1, 0, -2, 0, {4, 5}, 2},
        {0, 1, 0, -1, {2, 3, 4}, 3},   {1, 0, 10, 0, {0}, 0},      {1, 1, -10, 2, {2, 3}, 2},
        {1, 1, 3, 1, {0}, 0},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        weft_node n = node("Shape");
        if (cases[i].has_start)
            set_i(&n, "start", cases[i].start);
        if (cases[i].has_end)
            set_i(&n, "end", cases[i].end);
        weft_host_tensor out = out_i(1, &cases[i].len);
        RUN_OK(&n, &in, 1, &out, 1);
        check_i(&out, cases[i].want, (size_t)cases[i].len, "Shape");
        free_outs(&out, 1);
        node_done(&n);
    }
    /* a scalar has shape [] */
    weft_node n = node("Shape");
    weft_host_tensor scalar = in_f(0, NULL, F32(1));
    weft_host_tensor out = out_i(1, DIMS(0));
    RUN_OK(&n, &scalar, 1, &out, 1);
    free_outs(&out, 1);
    node_done(&n);
}

static void test_constant(void **state)
{
    (void)state;
    weft_node n = node("Constant");
    assert_weft_ok(weft_attrs_set_floats(&n.attrs, "value_floats", F32(1.5f, -2), 2));
    weft_host_tensor out = out_f(1, DIMS(2));
    RUN_OK(&n, NULL, 0, &out, 1);
    check_f(&out, F32(1.5f, -2), 2, "value_floats");
    free_outs(&out, 1);
    node_done(&n);
    n = node("Constant");
    set_f(&n, "value_float", 0.25f);
    out = out_f(0, NULL);
    RUN_OK(&n, NULL, 0, &out, 1);
    check_f(&out, F32(0.25f), 1, "value_float");
    free_outs(&out, 1);
    node_done(&n);
    n = node("Constant");
    set_i(&n, "value_int", -7);
    out = out_i(0, NULL);
    RUN_OK(&n, NULL, 0, &out, 1);
    check_i(&out, I64(-7), 1, "value_int");
    free_outs(&out, 1);
    node_done(&n);
    n = node("Constant");
    set_is(&n, "value_ints", I64(1, -1, 3), 3);
    out = out_i(1, DIMS(3));
    RUN_OK(&n, NULL, 0, &out, 1);
    check_i(&out, I64(1, -1, 3), 3, "value_ints");
    free_outs(&out, 1);
    /* two values, or a tensor attribute */
    set_i(&n, "value_int", 1);
    out = out_i(1, DIMS(3));
    assert_weft_status(run(&n, NULL, 0, &out, 1), WEFT_ERR_GRAPH, "exactly one");
    node_done(&n);
    n = node("Constant");
    n.name = (char *)"k";
    set_i(&n, "value", 1);
    assert_weft_status(run(&n, NULL, 0, &out, 1), WEFT_ERR_UNSUPPORTED,
                       "node 'k' (Constant): attribute 'value'");
    free_outs(&out, 1);
    node_done(&n);
}

/* ---- Unsupported and invalid attribute values --------------------------------------------- */

static void test_attribute_errors(void **state)
{
    (void)state;
    const float x[] = {1, 2, 3, 4};
    weft_host_tensor in[2] = {in_f(2, DIMS(2, 2), x), in_i(1, DIMS(4), I64(1, 1, 1, 1))};
    weft_host_tensor out = out_f(2, DIMS(4, 4));
    weft_node n = node("Pad");
    n.name = (char *)"pad7";
    set_s(&n, "mode", "reflect");
    assert_weft_status(run(&n, in, 2, &out, 1), WEFT_ERR_UNSUPPORTED,
                       "node 'pad7' (Pad): attribute 'mode' = \"reflect\" is not supported");
    set_s(&n, "mode", "mirror");
    assert_weft_status(run(&n, in, 2, &out, 1), WEFT_ERR_GRAPH, "attribute 'mode' = \"mirror\"");
    node_done(&n);
    free_outs(&out, 1);
    out = out_f(2, DIMS(2, 2));
    n = node("Gelu");
    n.name = (char *)"g";
    set_s(&n, "approximate", "erf");
    assert_weft_status(run(&n, in, 1, &out, 1), WEFT_ERR_GRAPH,
                       "node 'g' (Gelu): attribute 'approximate' = \"erf\"");
    node_done(&n);
    /* an attribute of the wrong type */
    n = node("LeakyRelu");
    n.name = (char *)"lr";
    set_s(&n, "alpha", "big");
    assert_weft_status(run(&n, in, 1, &out, 1), WEFT_ERR_GRAPH,
                       "node 'lr' (LeakyRelu): attribute 'alpha'");
    node_done(&n);
    n = node("Flatten");
    n.name = (char *)"fl";
    set_i(&n, "axis", 3);
    assert_weft_status(run(&n, in, 1, &out, 1), WEFT_ERR_GRAPH,
                       "node 'fl' (Flatten): attribute 'axis' = 3");
    node_done(&n);
    n = node("ReduceMean");
    n.name = (char *)"rm";
    set_i(&n, "keepdims", 2);
    assert_weft_status(run(&n, in, 1, &out, 1), WEFT_ERR_GRAPH,
                       "node 'rm' (ReduceMean): attribute 'keepdims'");
    node_done(&n);
    free_outs(&out, 1);
}

/* ---- weft_ref_run_graph --------------------------------------------------------------------- */

/* X [2,3] + W [3] -> Relu -> Reshape to [3,2] (shape from a Constant
 * node) -> Softmax on axis 0; Shape(X) * [2] in int64 on the side. The
 * Relu output is a graph output and feeds the Reshape as well. */
static weft_graph *make_graph(void)
{
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "X", WEFT_FLOAT32, 2, DIMS(2, 3)));
    assert_weft_ok(weft_graph_add_constant(g, "W", WEFT_FLOAT32, 1, DIMS(3), F32(1, -1, 0.5f)));
    assert_weft_ok(weft_graph_add_constant(g, "two", WEFT_INT64, 1, DIMS(1), I64(2)));
    weft_attrs *a;
    assert_weft_ok(weft_attrs_create(&a));
    assert_weft_ok(weft_graph_add_node(g, "Add", "add", (const char *[]){"X", "W"}, 2, NULL,
                                       (const char *[]){"sum"}, 1));
    assert_weft_ok(weft_graph_add_node(g, "Relu", "relu", (const char *[]){"sum"}, 1, NULL,
                                       (const char *[]){"r"}, 1));
    assert_weft_ok(weft_attrs_set_ints(a, "value_ints", I64(3, 2), 2));
    assert_weft_ok(weft_graph_add_node(g, "Constant", "shape32", NULL, 0, a,
                                       (const char *[]){"s32"}, 1));
    assert_weft_ok(weft_graph_add_node(g, "Reshape", "reshape", (const char *[]){"r", "s32"}, 2,
                                       NULL, (const char *[]){"rs"}, 1));
    weft_attrs_release(a);
    assert_weft_ok(weft_attrs_create(&a));
    assert_weft_ok(weft_attrs_set_int(a, "axis", 0));
    assert_weft_ok(weft_graph_add_node(g, "Softmax", "softmax", (const char *[]){"rs"}, 1, a,
                                       (const char *[]){"y"}, 1));
    weft_attrs_release(a);
    assert_weft_ok(weft_graph_add_node(g, "Shape", "shape", (const char *[]){"X"}, 1, NULL,
                                       (const char *[]){"sx"}, 1));
    assert_weft_ok(weft_graph_add_node(g, "Mul", "mul", (const char *[]){"sx", "two"}, 2, NULL,
                                       (const char *[]){"sx2"}, 1));
    assert_weft_ok(weft_graph_add_output(g, "y"));
    assert_weft_ok(weft_graph_add_output(g, "sx2"));
    assert_weft_ok(weft_graph_add_output(g, "r"));
    return g;
}

static void test_run_graph(void **state)
{
    (void)state;
    weft_graph *g = make_graph();
    assert_weft_ok(weft_graph_validate(g));
    const float x[] = {0, 2, -1, -3, 0.5f, 1};
    weft_tensor feed = {.name = "X", .dtype = WEFT_FLOAT32, .rank = 2, .dims = {2, 3},
                        .data = (void *)x, .size_bytes = sizeof x};
    weft_host_tensor outs[3];
    assert_weft_ok(weft_ref_run_graph(g, &feed, 1, outs, 3));
    /* r = relu(x + [1, -1, 0.5]) = [1, 1, 0, 0, 0, 1.5], seen as [3,2] */
    const float r[] = {1, 1, 0, 0, 0, 1.5f};
    assert_int_equal(outs[2].shape.rank, 2);
    check_f(&outs[2], r, 6, "graph output r");
    /* softmax down each column of [[1,1],[0,0],[0,1.5]] */
    float want[6];
    for (int c = 0; c < 2; c++) {
        double sum = 0;
        for (int i = 0; i < 3; i++)
            sum += exp(r[i * 2 + c]);
        for (int i = 0; i < 3; i++)
            want[i * 2 + c] = (float)(exp(r[i * 2 + c]) / sum);
    }
    assert_int_equal(outs[0].shape.rank, 2);
    assert_int_equal(outs[0].shape.dims[0], 3);
    assert_int_equal(outs[0].shape.dims[1], 2);
    check_f_tol(&outs[0], want, 6, 1e-7, 1e-6, "graph output y");
    check_i(&outs[1], I64(4, 6), 2, "graph output sx2");
    free_outs(outs, 3);

    /* wrong input shape, unknown input, missing input, output count */
    feed.dims[1] = 4;
    assert_weft_status(weft_ref_run_graph(g, &feed, 1, outs, 3), WEFT_ERR_SHAPE,
                       "input 'X': given float32[2,4], the graph expects float32[2,3]");
    feed.dims[1] = 3;
    feed.name = "Y";
    assert_weft_status(weft_ref_run_graph(g, &feed, 1, outs, 3), WEFT_ERR_INVALID_ARGUMENT,
                       "input 0 ('Y') is not a graph input");
    assert_weft_status(weft_ref_run_graph(g, NULL, 0, outs, 3), WEFT_ERR_INVALID_ARGUMENT,
                       "0 inputs given");
    feed.name = "X";
    assert_weft_status(weft_ref_run_graph(g, &feed, 1, outs, 2), WEFT_ERR_INVALID_ARGUMENT,
                       "room for 2 outputs");
    assert_null(outs[0].data);
    weft_graph_release(g);
}

/* A node that fails midway leaves nothing allocated (valgrind / ASan see
 * to the leaks) and names the node. */
static void test_run_graph_errors(void **state)
{
    (void)state;
    /* int64 Div by zero in the second node */
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "a", WEFT_INT64, 1, DIMS(2)));
    assert_weft_ok(weft_graph_add_constant(g, "z", WEFT_INT64, 1, DIMS(2), I64(1, 0)));
    assert_weft_ok(weft_graph_add_node(g, "Neg", "neg", (const char *[]){"a"}, 1, NULL,
                                       (const char *[]){"na"}, 1));
    assert_weft_ok(weft_graph_add_node(g, "Div", "divide", (const char *[]){"na", "z"}, 2, NULL,
                                       (const char *[]){"q"}, 1));
    assert_weft_ok(weft_graph_add_node(g, "Abs", "abs", (const char *[]){"q"}, 1, NULL,
                                       (const char *[]){"out"}, 1));
    assert_weft_ok(weft_graph_add_output(g, "out"));
    assert_weft_ok(weft_graph_validate(g));
    weft_tensor feed = {.name = "a", .dtype = WEFT_INT64, .rank = 1, .dims = {2},
                        .data = (void *)I64(3, 4), .size_bytes = 16};
    weft_host_tensor out = {0};
    assert_weft_status(weft_ref_run_graph(g, &feed, 1, &out, 1), WEFT_ERR_INVALID_ARGUMENT,
                       "node 'divide' (Div)");
    assert_null(out.data);
    weft_graph_release(g);

    /* an op without a reference: named, nothing leaked. Every known op
     * kind gets a reference, so the Conv node is renamed once built. */
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, DIMS(1, 1, 3, 3)));
    assert_weft_ok(weft_graph_add_constant(g, "w", WEFT_FLOAT32, 4, DIMS(1, 1, 1, 1), F32(2)));
    assert_weft_ok(weft_graph_add_node(g, "Relu", "pre", (const char *[]){"x"}, 1, NULL,
                                       (const char *[]){"rx"}, 1));
    assert_weft_ok(weft_graph_add_node(g, "Conv", "conv", (const char *[]){"rx", "w"}, 2, NULL,
                                       (const char *[]){"y"}, 1));
    assert_weft_ok(weft_graph_add_output(g, "y"));
    char *op = g->nodes[1].op;
    assert_string_equal(op, "Conv");
    memcpy(op, "Cnv", 4); /* fits in Conv's buffer; no reference has this name */
    /* Relu's shape set by hand: Conv's shape inference may not exist yet */
    int rx = weft_graph_find_value(g, "rx");
    g->values[rx].shape = shape_of(4, DIMS(1, 1, 3, 3));
    g->values[rx].dtype = WEFT_FLOAT32;
    g->values[rx].shape_known = 1;
    float xs[9] = {0};
    weft_tensor fx = {.name = "x", .dtype = WEFT_FLOAT32, .rank = 4, .dims = {1, 1, 3, 3},
                      .data = xs, .size_bytes = sizeof xs};
    assert_weft_status(weft_ref_run_graph(g, &fx, 1, &out, 1), WEFT_ERR_UNSUPPORTED,
                       "node 'conv' (Cnv)");
    assert_null(out.data);
    weft_graph_release(g);
}

/* A graph output that is a graph input, and a value read by two nodes
 * and listed twice as an input of one node. */
static void test_run_graph_sharing(void **state)
{
    (void)state;
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 1, DIMS(3)));
    assert_weft_ok(weft_graph_add_node(g, "Exp", "e", (const char *[]){"x"}, 1, NULL,
                                       (const char *[]){"ex"}, 1));
    assert_weft_ok(weft_graph_add_node(g, "Mul", "sq", (const char *[]){"ex", "ex"}, 2, NULL,
                                       (const char *[]){"ex2"}, 1));
    assert_weft_ok(weft_graph_add_node(g, "Sub", "d", (const char *[]){"ex2", "ex"}, 2, NULL,
                                       (const char *[]){"out"}, 1));
    assert_weft_ok(weft_graph_add_output(g, "out"));
    assert_weft_ok(weft_graph_add_output(g, "x"));
    assert_weft_ok(weft_graph_validate(g));
    const float x[] = {0, 1, -1};
    weft_tensor feed = {.name = "x", .dtype = WEFT_FLOAT32, .rank = 1, .dims = {3},
                        .data = (void *)x, .size_bytes = sizeof x};
    weft_host_tensor outs[2];
    assert_weft_ok(weft_ref_run_graph(g, &feed, 1, outs, 2));
    float want[3];
    for (int i = 0; i < 3; i++)
        want[i] = (float)(exp(2.0 * x[i]) - exp((double)x[i]));
    check_f_tol(&outs[0], want, 3, 1e-6, 1e-6, "e^2x - e^x");
    check_f(&outs[1], x, 3, "input as output");
    assert_ptr_not_equal(outs[1].data, x); /* a copy the caller frees */
    free_outs(outs, 2);
    weft_graph_release(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_add_broadcast_rank_difference),
        cmocka_unit_test(test_add_broadcast_size_one_dims),
        cmocka_unit_test(test_arith_scalar_and_ops),
        cmocka_unit_test(test_arith_shape_errors),
        cmocka_unit_test(test_variadic),
        cmocka_unit_test(test_arith_int64),
        cmocka_unit_test(test_prelu),
        cmocka_unit_test(test_activations),
        cmocka_unit_test(test_activation_values),
        cmocka_unit_test(test_gelu),
        cmocka_unit_test(test_unary_int64_and_types),
        cmocka_unit_test(test_clip),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_identity_dropout),
        cmocka_unit_test(test_flatten),
        cmocka_unit_test(test_reshape),
        cmocka_unit_test(test_squeeze_unsqueeze),
        cmocka_unit_test(test_concat),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_transpose),
        cmocka_unit_test(test_pad),
        cmocka_unit_test(test_depth_to_space),
        cmocka_unit_test(test_reduce_mean),
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_constant),
        cmocka_unit_test(test_attribute_errors),
        cmocka_unit_test(test_run_graph),
        cmocka_unit_test(test_run_graph_errors),
        cmocka_unit_test(test_run_graph_sharing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
