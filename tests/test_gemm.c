/*
 * Gemm and MatMul on the GEMM engine (src/ops/gemm.c, gemm_clblast.c,
 * matmul.c, cl/gemm.cl) against src/ref (weft_ref_gemm, weft_ref_matmul),
 * for every implementation: "tiled" (weft's kernel) and "clblast" (when
 * built in; not under oclgrind, where its kernels would take too long).
 *
 * Grid: M, N and K over 1, odd sizes, the tile edges (8 rows, 16 and 32
 * columns, one less and one more) and larger sizes (outside oclgrind),
 * paired so that every value of each meets several of the others; each
 * case cycles through transA/transB, alpha and beta, the forms of Gemm's C
 * (absent, scalar, [1], [N], [1, N], [M, 1], [M, N], as a graph input or a
 * constant: constant vectors with beta 1 become the engine's row or
 * column bias, the rest its broadcast addend D) and constant or input
 * weights. MatMul: batched, broadcast batches (engine batch strides of 0,
 * merged axes, and more batch levels than the engine takes, which loop),
 * 1-D operands on either side, constant weights shared by a batch. Fused
 * activations (_weft_activation on the node) against the reference of the
 * node followed by the activation op. Outputs are poisoned (NaN) first.
 *
 * Tolerance |got - want| <= atol + rtol |want|, atol = 2 FLT_EPSILON K
 * sqrt(K) |alpha| + 1e-6, rtol 1e-5: the device sums K products of
 * numbers in [-2, 2) in float (fma, in order), the reference in double.
 * A sum of K rounded terms errs by about sqrt(K) u sum|a b| (u = 2^-24;
 * the worst case K u is not approached by random signs) and sum|a b|
 * averages K for these inputs; 4 sqrt(K) u K with room for the tails.
 * Dropping or doubling one term errs by ~|a b| ~ 1, far above it. rtol
 * covers the epilogue: exp and tanh err by a few ulp (OpenCL 1.2, 7.4).
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "graph/graph.h"
#include "op_test.h"
#include "ops/gemm_engine.h"
#include "ref/ref.h"
#include "runtime/session.h"
#include "test_common.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef struct impl_pick {
    const char *name;
    weft_gemm_backend backend;
} impl_pick;

static const impl_pick impls[] = {{"tiled", WEFT_GEMM_WEFT}, {"clblast", WEFT_GEMM_CLBLAST}};

/* Whether implementation i runs in this test: prints why not once. */
static int impl_runs(size_t i)
{
    static int said[COUNT(impls)];
    char why[256];
    weft_device_info dummy;
    memset(&dummy, 0, sizeof dummy);
    int ok = weft_gemm_backend_available(impls[i].backend, &dummy, why, sizeof why);
    if (ok && impls[i].backend == WEFT_GEMM_CLBLAST && test_under_oclgrind()) {
        ok = 0;
        snprintf(why, sizeof why, "CLBlast's kernels take too long under oclgrind");
    }
    if (!ok && !said[i]) {
        printf("test_gemm: implementation '%s' skipped: %s\n", impls[i].name, why);
        said[i] = 1;
    }
    return ok;
}

static float k_atol(int64_t k, float alpha)
{
    return 2.0f * FLT_EPSILON * (float)k * sqrtf((float)k) * fabsf(alpha) + 1e-6f;
}

/* ---- Gemm -------------------------------------------------------------------------- */

typedef struct gemm_shape {
    int64_t m, n, k;
} gemm_shape;

/* C forms: 0 absent, 1 rank-0, 2 [1], 3 [N], 4 [1, N], 5 [M, 1], 6 [M, N], 7 [1, 1] */
#define C_FORMS 8

static int c_dims(int form, int64_t m, int64_t n, int64_t *dims)
{
    switch (form) {
    case 1: return 0;
    case 2: dims[0] = 1; return 1;
    case 3: dims[0] = n; return 1;
    case 4: dims[0] = 1; dims[1] = n; return 2;
    case 5: dims[0] = m; dims[1] = 1; return 2;
    case 6: dims[0] = m; dims[1] = n; return 2;
    default: dims[0] = 1; dims[1] = 1; return 2;
    }
}

/* One Gemm case: variant v picks trans flags, scalars, C's form and which
 * operands are constants. */
static void run_gemm(void **state, size_t impl, gemm_shape s, unsigned v, const char *what)
{
    int ta = v & 1, tb = (v >> 1) & 1, form = (int)(v % C_FORMS);
    int c_const = (v / 3) & 1, b_const = (v / 5) & 1;
    float alpha = (v / 2) % 3 == 2 ? -1.5f : 1.0f;
    float beta = (v / 7) % 2 ? 0.5f : 1.0f;
    op_case c = {.op = "Gemm", .inputs = form ? 3 : 2};
    c.in[0].rank = 2;
    c.in[0].dims[0] = ta ? s.k : s.m;
    c.in[0].dims[1] = ta ? s.m : s.k;
    c.in[1].rank = 2;
    c.in[1].dims[0] = tb ? s.n : s.k;
    c.in[1].dims[1] = tb ? s.k : s.n;
    c.in[1].constant = b_const;
    if (form) {
        c.in[2].rank = c_dims(form, s.m, s.n, c.in[2].dims);
        c.in[2].constant = c_const;
    }
    c.attrs[0] = (op_attr){.name = "transA", .type = 'i', .i = ta};
    c.attrs[1] = (op_attr){.name = "transB", .type = 'i', .i = tb};
    c.attrs[2] = (op_attr){.name = "alpha", .type = 'f', .f = alpha};
    c.attrs[3] = (op_attr){.name = "beta", .type = 'f', .f = beta};
    c.atol = k_atol(s.k, alpha);
    c.rtol = 1e-5f;
    char force[64], label[200];
    snprintf(force, sizeof force, "Gemm:%s", impls[impl].name);
    c.impl = force;
    snprintf(label, sizeof label,
             "%s Gemm %s M=%lld N=%lld K=%lld transA=%d transB=%d alpha=%g beta=%g C form %d%s%s",
             impls[impl].name, what, (long long)s.m, (long long)s.n, (long long)s.k, ta, tb,
             (double)alpha, (double)beta, form, c_const ? " (constant)" : "",
             b_const ? ", constant B" : "");
    run_op_case(*state, &c, label);
}

static const int64_t grid_m[] = {1, 7, 8, 9, 33, 70};
static const int64_t grid_n[] = {1, 5, 15, 16, 31, 32, 33, 100};
static const int64_t grid_k[] = {1, 3, 17, 64, 129};
static const int64_t small_m[] = {1, 9};
static const int64_t small_n[] = {5, 33};
static const int64_t small_k[] = {1, 17};

static void test_gemm_grid(void **state)
{
    int tiny = test_under_oclgrind();
    const int64_t *ms = tiny ? small_m : grid_m, *ns = tiny ? small_n : grid_n;
    const int64_t *ks = tiny ? small_k : grid_k;
    size_t nm = tiny ? COUNT(small_m) : COUNT(grid_m), nn = tiny ? COUNT(small_n) : COUNT(grid_n);
    size_t nk = tiny ? COUNT(small_k) : COUNT(grid_k);
    for (size_t i = 0; i < COUNT(impls); i++) {
        if (!impl_runs(i))
            continue;
        unsigned v = 0;
        for (size_t a = 0; a < nm; a++)
            for (size_t b = 0; b < nn; b++, v++) {
                /* K cycles against (M, N), and so do the variants */
                gemm_shape s = {ms[a], ns[b], ks[(a + b) % nk]};
                run_gemm(state, i, s, v * 5 + (unsigned)a, "grid");
            }
    }
}

/* Every C form and every trans pair on one edge-straddling shape. */
static void test_gemm_forms(void **state)
{
    gemm_shape s = test_under_oclgrind() ? (gemm_shape){9, 17, 5} : (gemm_shape){19, 45, 23};
    for (size_t i = 0; i < COUNT(impls); i++) {
        if (!impl_runs(i))
            continue;
        for (unsigned v = 0; v < 2 * 4 * C_FORMS; v++)
            if (!test_under_oclgrind() || v % 5 == 0)
                run_gemm(state, i, s, v, "forms");
    }
}

/* Layer-sized products: the kernel's main path over many work-groups. */
static void test_gemm_large(void **state)
{
    if (test_under_oclgrind()) {
        printf("test_gemm_large: skipped under oclgrind (too slow)\n");
        skip();
    }
    static const gemm_shape shapes[] = {{64, 784, 576}, {128, 196, 1152}, {100, 1000, 512},
                                        {1, 1000, 512}};
    for (size_t i = 0; i < COUNT(impls); i++) {
        if (!impl_runs(i))
            continue;
        for (size_t j = 0; j < COUNT(shapes); j++)
            run_gemm(state, i, shapes[j], (unsigned)(j * 3 + 2), "large");
    }
}

/* Other tiles than the device's table gives (WEFT_GEMM_TILES): the
 * register kernel for any TM, VW and NV in its contract, and the
 * local-memory kernel (what GPU-class devices get; oclgrind gets it from
 * the table too) at every tile size. */
static void test_gemm_tiles(void **state)
{
    static const char *const tiles[] = {"local:16", "12x16x2", "local:64", "3x4x3", "5x1x1",
                                        "16x2x4", "local:32"};
    static const gemm_shape shapes[] = {{13, 37, 9}, {30, 70, 21}, {1, 8, 5}};
    size_t count = test_under_oclgrind() ? 2 : COUNT(tiles);
    for (size_t t = 0; t < count; t++) {
        setenv("WEFT_GEMM_TILES", tiles[t], 1);
        for (size_t j = 0; j < COUNT(shapes); j++)
            run_gemm(state, 0, shapes[j], (unsigned)(t * 7 + j * 3), tiles[t]);
    }
    unsetenv("WEFT_GEMM_TILES");
}

static int unset_tiles(void **state)
{
    (void)state;
    unsetenv("WEFT_GEMM_TILES");
    return 0;
}

/* ---- MatMul ------------------------------------------------------------------------ */

typedef struct mm_case {
    const char *label;
    int ra, rb;
    int64_t a[WEFT_MAX_RANK], b[WEFT_MAX_RANK];
    int b_const;
    int tiny; /* also under oclgrind */
    int a_const;
} mm_case;

static const mm_case mm_cases[] = {
    {"plain", 2, 2, {13, 21}, {21, 37}, 0, 1, 0},
    {"constant B", 2, 2, {9, 40}, {40, 33}, 1, 1, 0},
    {"batched", 3, 3, {3, 7, 11}, {3, 11, 34}, 0, 1, 0},
    {"broadcast batch", 4, 3, {2, 1, 5, 9}, {3, 9, 18}, 0, 1, 0},
    {"shared constant B", 3, 2, {4, 10, 6}, {6, 40}, 1, 0, 0},
    {"batched constant B", 3, 3, {2, 10, 6}, {2, 6, 40}, 1, 0, 0},
    {"merged axes", 4, 4, {2, 3, 5, 4}, {2, 3, 4, 33}, 0, 0, 0},
    {"three levels", 5, 5, {2, 3, 1, 6, 5}, {1, 3, 4, 5, 20}, 0, 1, 0},
    {"three levels, constant B", 5, 5, {2, 3, 1, 6, 5}, {1, 3, 4, 5, 20}, 1, 0, 0},
    {"1-D A", 1, 2, {19}, {19, 40}, 0, 1, 0},
    {"1-D A, constant B", 1, 2, {64}, {64, 100}, 1, 0, 0},
    {"1-D B", 2, 1, {12, 30}, {30}, 0, 1, 0},
    {"1-D both", 1, 1, {77}, {77}, 0, 0, 0},
    {"batched 1-D B", 3, 1, {2, 3, 8}, {8}, 0, 0, 0},
    {"1-D A, batched B", 1, 3, {8}, {2, 8, 20}, 0, 0, 0},
    {"large", 2, 2, {96, 300}, {300, 250}, 1, 0, 0},
    {"two levels, constant B", 4, 4, {2, 1, 5, 7}, {2, 3, 7, 20}, 1, 1, 0},
    {"constant A (weights times activations)", 2, 2, {24, 30}, {30, 77}, 0, 1, 1},
    {"constant A, batched B", 2, 3, {20, 9}, {3, 9, 40}, 0, 0, 1},
    {"two levels, constant A", 4, 4, {2, 3, 5, 7}, {2, 1, 7, 40}, 0, 0, 1},
    /* few columns, constant A with many rows (7x7 conv layers) */
    {"constant A, N 49", 2, 2, {64, 40}, {40, 49}, 0, 1, 1},
    {"constant A, batched N 20", 2, 3, {96, 30}, {3, 30, 20}, 0, 0, 1},
    {"constant A, N 5", 2, 2, {70, 17}, {17, 5}, 0, 0, 1},
};

static void run_matmul(void **state, size_t impl, const mm_case *m)
{
    op_case c = {.op = "MatMul", .inputs = 2};
    c.in[0].rank = m->ra;
    memcpy(c.in[0].dims, m->a, sizeof m->a);
    c.in[1].rank = m->rb;
    memcpy(c.in[1].dims, m->b, sizeof m->b);
    c.in[1].constant = m->b_const;
    c.in[0].constant = m->a_const;
    int64_t k = m->a[m->ra - 1];
    c.atol = k_atol(k, 1.0f);
    c.rtol = 1e-5f;
    char force[64], label[160];
    snprintf(force, sizeof force, "MatMul:%s", impls[impl].name);
    c.impl = force;
    snprintf(label, sizeof label, "%s MatMul %s", impls[impl].name, m->label);
    run_op_case(*state, &c, label);
}

static void test_matmul(void **state)
{
    for (size_t i = 0; i < COUNT(impls); i++) {
        if (!impl_runs(i))
            continue;
        for (size_t j = 0; j < COUNT(mm_cases); j++)
            if (mm_cases[j].tiny || !test_under_oclgrind())
                run_matmul(state, i, &mm_cases[j]);
    }
}

/* ---- Fused activations ------------------------------------------------------------- */

typedef struct act_case {
    const char *op;        /* the ONNX activation */
    int has_alpha, has_beta;
    float alpha, beta;     /* _weft_alpha / _weft_beta; Clip's min / max */
} act_case;

static const act_case acts[] = {
    {"Relu", 0, 0, 0, 0},          {"LeakyRelu", 1, 0, 0.2f, 0},   {"LeakyRelu", 0, 0, 0, 0},
    {"Clip", 1, 1, 0.0f, 6.0f},    {"Clip", 1, 1, -1.5f, 2.5f},    {"Sigmoid", 0, 0, 0, 0},
    {"Tanh", 0, 0, 0, 0},          {"HardSwish", 0, 0, 0, 0},
};

/* The node `op` (Gemm or MatMul) on A [m, k] and B [k, n] (and Gemm's C
 * [m, n] or a constant [m, 1] bias), the activation fused on the device
 * graph and as its own node on the reference graph. */
static void run_fused(void **state, size_t impl, const char *op, const act_case *ac,
                      int64_t m, int64_t n, int64_t k, int c_form, int a_const)
{
    char label[160];
    snprintf(label, sizeof label, "%s %s + %s(%g, %g) %lldx%lldx%lld C form %d%s",
             impls[impl].name, op, ac->op, (double)ac->alpha, (double)ac->beta, (long long)m,
             (long long)n, (long long)k, c_form, a_const ? ", constant A" : "");
    uint64_t seed = 0xac7u;
    for (const char *p = label; *p; p++)
        seed = seed * 131 + (unsigned char)*p;
    int64_t da[2] = {m, k}, db[2] = {k, n}, dc[2];
    int rc = c_dims(c_form, m, n, dc);
    size_t nc = 1;
    for (int i = 0; i < rc; i++)
        nc *= (size_t)dc[i];
    float *a = malloc((size_t)(m * k) * sizeof *a), *b = malloc((size_t)(k * n) * sizeof *b);
    float *cv = malloc(nc * sizeof *cv);
    assert_true(a && b && cv);
    weft_random_fill(&seed, a, (size_t)(m * k), -2, 2);
    weft_random_fill(&seed, b, (size_t)(k * n), -2, 2);
    weft_random_fill(&seed, cv, nc, -2, 2);
    float lo = ac->alpha, hi = ac->beta;

    weft_graph *g[2];
    for (int side = 0; side < 2; side++) { /* 0: fused (device), 1: two nodes (reference) */
        assert_weft_ok(weft_graph_create(&g[side]));
        /* the weights are one operand, the activations the other */
        if (a_const) {
            assert_weft_ok(weft_graph_add_constant(g[side], "a", WEFT_FLOAT32, 2, da, a));
            assert_weft_ok(weft_graph_add_input(g[side], "b", WEFT_FLOAT32, 2, db));
        } else {
            assert_weft_ok(weft_graph_add_input(g[side], "a", WEFT_FLOAT32, 2, da));
            assert_weft_ok(weft_graph_add_constant(g[side], "b", WEFT_FLOAT32, 2, db, b));
        }
        const char *ins[3] = {"a", "b", "c"};
        size_t nin = 2;
        if (c_form) {
            if (c_form == 5)
                assert_weft_ok(weft_graph_add_constant(g[side], "c", WEFT_FLOAT32, rc, dc, cv));
            else
                assert_weft_ok(weft_graph_add_input(g[side], "c", WEFT_FLOAT32, rc, dc));
            nin = 3;
        }
        weft_attrs *at;
        assert_weft_ok(weft_attrs_create(&at));
        if (side == 0) {
            assert_weft_ok(weft_attrs_set_string(at, "_weft_activation", ac->op));
            if (ac->has_alpha)
                assert_weft_ok(weft_attrs_set_float(at, "_weft_alpha", ac->alpha));
            if (ac->has_beta)
                assert_weft_ok(weft_attrs_set_float(at, "_weft_beta", ac->beta));
        }
        const char *mid = side == 0 ? "y" : "t";
        assert_weft_ok(weft_graph_add_node(g[side], op, "node", ins, nin, at, &mid, 1));
        weft_attrs_release(at);
        if (side == 1) {
            weft_attrs *aa;
            assert_weft_ok(weft_attrs_create(&aa));
            const char *act_in[3] = {"t", "lo", "hi"};
            size_t act_n = 1;
            if (strcmp(ac->op, "LeakyRelu") == 0 && ac->has_alpha)
                assert_weft_ok(weft_attrs_set_float(aa, "alpha", ac->alpha));
            if (strcmp(ac->op, "Clip") == 0) {
                assert_weft_ok(weft_graph_add_constant(g[side], "lo", WEFT_FLOAT32, 0, NULL, &lo));
                assert_weft_ok(weft_graph_add_constant(g[side], "hi", WEFT_FLOAT32, 0, NULL, &hi));
                act_n = 3;
            }
            const char *y = "y";
            assert_weft_ok(weft_graph_add_node(g[side], ac->op, "act", act_in, act_n, aa, &y, 1));
            weft_attrs_release(aa);
        }
        assert_weft_ok(weft_graph_add_output(g[side], "y"));
    }
    weft_tensor feeds[2] = {{.name = "a", .dtype = WEFT_FLOAT32, .rank = 2, .dims = {m, k},
                             .data = a, .size_bytes = (size_t)(m * k) * sizeof(float)},
                            {.name = "c", .dtype = WEFT_FLOAT32, .rank = rc, .data = cv,
                             .size_bytes = nc * sizeof(float)}};
    if (a_const)
        feeds[0] = (weft_tensor){.name = "b", .dtype = WEFT_FLOAT32, .rank = 2, .dims = {k, n},
                                 .data = b, .size_bytes = (size_t)(k * n) * sizeof(float)};
    memcpy(feeds[1].dims, dc, sizeof dc);
    size_t nfeeds = c_form && c_form != 5 ? 2 : 1;

    assert_weft_ok(weft_graph_validate(g[1]));
    weft_host_tensor want;
    if (weft_ref_run_graph(g[1], feeds, nfeeds, &want, 1) != WEFT_OK)
        fail_msg("%s: reference: %s", label, weft_last_error());
    char force[64];
    snprintf(force, sizeof force, "%s:%s", op, impls[impl].name);
    weft_session_options so;
    weft_session_options_defaults(&so);
    so.force_impl = force;
    weft_session *s;
    if (weft_session_create(*state, g[0], &so, &s) != WEFT_OK)
        fail_msg("%s: session: %s", label, weft_last_error());
    assert_weft_ok(weft_session_poison(s, NAN));
    size_t ny = (size_t)(m * n);
    float *got = malloc(ny * sizeof *got);
    assert_non_null(got);
    weft_tensor out = {.name = "y", .data = got, .size_bytes = ny * sizeof(float)};
    if (weft_session_run(s, feeds, nfeeds, &out, 1) != WEFT_OK)
        fail_msg("%s: run: %s", label, weft_last_error());
    const float *exp = want.data;
    float atol = k_atol(k, 1.0f);
    for (size_t i = 0; i < ny; i++)
        if (!(fabsf(got[i] - exp[i]) <= atol + 1e-5f * fabsf(exp[i])))
            fail_msg("%s: element %zu of %zu is %.9g, expected %.9g", label, i, ny,
                     (double)got[i], (double)exp[i]);
    free(got);
    free(want.data);
    weft_session_release(s);
    weft_graph_release(g[0]);
    weft_graph_release(g[1]);
    free(a);
    free(b);
    free(cv);
}

static void test_fused_activation(void **state)
{
    int tiny = test_under_oclgrind();
    for (size_t i = 0; i < COUNT(impls); i++) {
        if (!impl_runs(i))
            continue;
        for (size_t j = 0; j < COUNT(acts); j++) {
            if (tiny && j % 2)
                continue;
            /* MatMul alone; Gemm with a full addend (the residual form) and
             * with a constant per-row bias */
            run_fused(state, i, "MatMul", &acts[j], tiny ? 9 : 21, tiny ? 33 : 70, 13, 0, 0);
            run_fused(state, i, "Gemm", &acts[j], tiny ? 3 : 17, tiny ? 20 : 40, 9, 6, 0);
            run_fused(state, i, "Gemm", &acts[j], tiny ? 10 : 17, tiny ? 32 : 64, 7, 5, 0);
            /* a conv's product: weights times activations, per-row bias or
             * a residual, few columns */
            if (!tiny) {
                run_fused(state, i, "Gemm", &acts[j], 64, 49, 27, 5, 1);
                run_fused(state, i, "Gemm", &acts[j], 96, 20, 18, 6, 1);
            }
        }
    }
}

/* ---- Errors -------------------------------------------------------------------------- */

static void test_errors(void **state)
{
    weft_graph *g;
    int64_t da[2] = {4, 5}, db[2] = {5, 6};
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "a", WEFT_FLOAT32, 2, da));
    assert_weft_ok(weft_graph_add_input(g, "b", WEFT_FLOAT32, 2, db));
    weft_attrs *at;
    assert_weft_ok(weft_attrs_create(&at));
    assert_weft_ok(weft_attrs_set_string(at, "_weft_activation", "Softplus"));
    const char *ins[2] = {"a", "b"}, *y = "y";
    assert_weft_ok(weft_graph_add_node(g, "MatMul", "mm", ins, 2, at, &y, 1));
    weft_attrs_release(at);
    assert_weft_ok(weft_graph_add_output(g, "y"));
    weft_session_options so;
    weft_session_options_defaults(&so);
    so.force_impl = "MatMul:tiled";
    weft_session *s = NULL;
    assert_weft_status(weft_session_create(*state, g, &so, &s), WEFT_ERR_UNSUPPORTED,
                       "Softplus");
    assert_null(s);
    weft_graph_release(g);
}

/* The planner's choice: weft's kernel by default on CPU-class devices
 * (its cost is the lower there), CLBlast when WEFT_IMPL=gemm:clblast. */
static void test_choice(void **state)
{
    weft_graph *g;
    int64_t da[2] = {16, 24}, db[2] = {24, 40};
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "a", WEFT_FLOAT32, 2, da));
    assert_weft_ok(weft_graph_add_input(g, "b", WEFT_FLOAT32, 2, db));
    const char *ins[2] = {"a", "b"}, *y = "y";
    assert_weft_ok(weft_graph_add_node(g, "Gemm", "gemm", ins, 2, NULL, &y, 1));
    assert_weft_ok(weft_graph_add_output(g, "y"));
    weft_device_info info;
    assert_weft_ok(weft_context_device_info(*state, 0, &info));
    weft_session *s;
    weft_node_info ni;
    unsetenv("WEFT_IMPL");
    assert_weft_ok(weft_session_create(*state, g, NULL, &s));
    assert_weft_ok(weft_session_node_info(s, 0, &ni));
    if (info.type == WEFT_DEVICE_CPU)
        assert_string_equal(ni.impl, "tiled");
    weft_session_release(s);
    if (impl_runs(1)) {
        setenv("WEFT_IMPL", "gemm:clblast", 1);
        weft_status st = weft_session_create(*state, g, NULL, &s);
        unsetenv("WEFT_IMPL");
        assert_weft_ok(st);
        assert_weft_ok(weft_session_node_info(s, 0, &ni));
        assert_string_equal(ni.impl, "clblast");
        weft_session_release(s);
    }
    weft_graph_release(g);
}

int main(void)
{
    /* The packed operands live in the node's workspace, a sub-buffer of
     * the session's arena; oclgrind 21.10 loses track of writes through
     * sub-buffers (src/runtime/session.c), so under it every buffer is its
     * own. */
    if (test_under_oclgrind())
        setenv("WEFT_MEMORY_PLAN", "off", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_grid),   cmocka_unit_test(test_gemm_forms),
        cmocka_unit_test(test_gemm_large),  cmocka_unit_test_teardown(test_gemm_tiles, unset_tiles),
        cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_fused_activation), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_choice),
    };
    return cmocka_run_group_tests(tests, op_test_setup, op_test_teardown);
}
