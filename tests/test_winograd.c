/*
 * Winograd convolution (src/ops/conv_winograd.c, cl/conv_winograd.cl):
 * winograd_f2x2 and winograd_f4x4 against the reference
 * (src/ref/ref_conv.c), each forced with the session's force_impl, all
 * buffers poisoned (NaN) first.
 *
 * The grid: N 1/2; C 1/3/16/33; K 1/8/32; H, W 1/2/7/16/31; pads 0/1/2/
 * asymmetric/SAME_UPPER/SAME_LOWER/VALID; bias or not; fused activation
 * none/Relu/LeakyRelu/Clip/Sigmoid/Tanh/HardSwish; fused residual or not.
 * Every pair of levels of two factors appears: the cases are the rows of
 * an orthogonal array of strength 2 over 11 symbols (row (a, b), factor f
 * at column (a + f b) mod 11, its level that mod the factor's levels),
 * less the rows whose output would be empty (3x3 over a 1- or 2-wide input
 * without enough padding: those pairs cannot occur). Plus wider planes
 * (several vectors of tiles per row, P >= 512 for the engine's wide tiles)
 * and the refusals of supports().
 *
 * Tolerance: a forward error bound of the form |got - want| <= tol_M u S,
 * u = 2^-24, S = max|x| sum |w[k]| + |b[k]| + |r| (sum over the C * 9 taps of
 * output channel k: a bound on |conv| for any data in the range). Unlike
 * the direct sum, Winograd's error is not bounded by the products of the
 * output's own window: the transforms mix the whole (M + 2)^2 input tile,
 * with entries up to 5 (B^T) and 8 (A^T) for F(4x4), and cancel; so the
 * bound uses the range of x, not the window. The activation after it is
 * 1-Lipschitz (HardSwish: 1.5), plus 8 ulp of the result for exp/tanh.
 * tol_M is what the algorithm needs: measured over the grid on PoCL
 * (AVX-512), F(2x2) errs by up to 1.4 u S and F(4x4) by up to 32 u S
 * (the larger transform entries and the 1/6, 1/12, 1/24 of its G), and
 * the bounds, 3 and 72, leave about twice that. The test proves each is
 * no looser than that: over the grid the largest observed |got - want| /
 * (u S) must exceed a quarter of tol_M, and F(4x4)'s largest must exceed
 * F(2x2)'s tolerance (F(4x4) genuinely needs its looser bound). Under
 * oclgrind the grid is a few shapes and those two checks are skipped (too
 * few cases to reach them).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "graph/graph.h"
#include "op_test.h"
#include "ops/op.h"
#include "ref/ref.h"
#include "runtime/session.h"
#include "test_common.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define U 5.9604644775390625e-8 /* 2^-24 */

/* tol_M: F(2x2, 3x3) and F(4x4, 3x3), in units of u S. */
#define TOL_F2 3.0
#define TOL_F4 72.0

typedef struct wcase {
    int64_t n, c, k, h, w;
    int pads_given;
    int64_t pads[4];
    const char *auto_pad;
    int bias, residual;
    const char *act;
    float alpha, beta;
} wcase;

typedef struct stats {
    double worst[2]; /* largest error / (u S) seen, per implementation */
    int runs[2];
} stats;

static const char *const impls[2] = {"winograd_f2x2", "winograd_f4x4"};
static const double tols[2] = {TOL_F2, TOL_F4};

static weft_context *g_ctx;
static weft_device_info g_dev;

static int64_t out_size(const wcase *wc, int axis)
{
    int64_t in = axis ? wc->w : wc->h;
    if (wc->auto_pad && strncmp(wc->auto_pad, "SAME", 4) == 0)
        return in;
    int valid = wc->auto_pad && strcmp(wc->auto_pad, "VALID") == 0;
    int64_t b = wc->pads_given ? wc->pads[axis] : 0, e = wc->pads_given ? wc->pads[axis + 2] : 0;
    int64_t padded = in + (valid ? 0 : b + e);
    return padded < 3 ? 0 : padded - 2;
}

static void label_of(const wcase *wc, char *s, size_t cap)
{
    snprintf(s, cap, "N%lld C%lld K%lld %lldx%lld pads %lld,%lld,%lld,%lld%s%s%s%s%s",
             (long long)wc->n, (long long)wc->c, (long long)wc->k, (long long)wc->h,
             (long long)wc->w, (long long)wc->pads[0], (long long)wc->pads[1],
             (long long)wc->pads[2], (long long)wc->pads[3], wc->auto_pad ? " " : "",
             wc->auto_pad ? wc->auto_pad : "", wc->bias ? " bias" : "",
             wc->residual ? " residual" : "", wc->act ? " " : "");
    if (wc->act) {
        size_t at = strlen(s);
        snprintf(s + at, cap - at, "%s", wc->act);
    }
}

typedef struct wdata {
    float *x, *w, *b, *r;
    int64_t xd[4], wd[4], yd[4];
    size_t nx, nw, ny;
} wdata;

static void make_data(const wcase *wc, const char *label, wdata *d)
{
    uint64_t seed = 0x3a1e5c7du;
    for (const char *p = label; *p; p++)
        seed = seed * 131 + (unsigned char)*p;
    int64_t xd[4] = {wc->n, wc->c, wc->h, wc->w}, wd[4] = {wc->k, wc->c, 3, 3};
    int64_t yd[4] = {wc->n, wc->k, out_size(wc, 0), out_size(wc, 1)};
    memcpy(d->xd, xd, sizeof xd);
    memcpy(d->wd, wd, sizeof wd);
    memcpy(d->yd, yd, sizeof yd);
    d->nx = (size_t)(xd[0] * xd[1] * xd[2] * xd[3]);
    d->nw = (size_t)(wd[0] * wd[1] * 9);
    d->ny = (size_t)(yd[0] * yd[1] * yd[2] * yd[3]);
    d->x = malloc(d->nx * sizeof(float));
    /* room for the 5x5 kernel of the refusals */
    d->w = malloc(d->nw * 25 / 9 * sizeof(float));
    d->b = malloc((size_t)wc->k * sizeof(float));
    d->r = malloc(d->ny * sizeof(float));
    assert_true(d->x && d->w && d->b && d->r);
    weft_random_fill(&seed, d->x, d->nx, -2, 2);
    weft_random_fill(&seed, d->w, d->nw * 25 / 9, -2, 2);
    weft_random_fill(&seed, d->b, (size_t)wc->k, -2, 2);
    weft_random_fill(&seed, d->r, d->ny, -2, 2);
}

static void free_data(wdata *d)
{
    free(d->x);
    free(d->w);
    free(d->b);
    free(d->r);
}

/* x [, r] -> Conv (fused activation and residual as the passes leave
 * them, src/ops/conv_geom.h) -> y. The reference applies both itself. */
static weft_graph *build_graph(const wcase *wc, const wdata *d, const int64_t *strides,
                               const int64_t *dil, int64_t ksize, int64_t group)
{
    weft_graph *g;
    weft_attrs *a;
    int64_t wd[4] = {d->wd[0], d->wd[1] / group, ksize, ksize}, bd[1] = {wc->k};
    int64_t ks[2] = {ksize, ksize};
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, d->xd));
    assert_weft_ok(weft_graph_add_constant(g, "w", WEFT_FLOAT32, 4, wd, d->w));
    if (wc->bias)
        assert_weft_ok(weft_graph_add_constant(g, "b", WEFT_FLOAT32, 1, bd, d->b));
    if (wc->residual)
        assert_weft_ok(weft_graph_add_input(g, "r", WEFT_FLOAT32, 4, d->yd));
    assert_weft_ok(weft_attrs_create(&a));
    assert_weft_ok(weft_attrs_set_ints(a, "kernel_shape", ks, 2));
    assert_weft_ok(weft_attrs_set_ints(a, "strides", strides, 2));
    assert_weft_ok(weft_attrs_set_ints(a, "dilations", dil, 2));
    assert_weft_ok(weft_attrs_set_int(a, "group", group));
    if (wc->pads_given)
        assert_weft_ok(weft_attrs_set_ints(a, "pads", wc->pads, 4));
    if (wc->auto_pad)
        assert_weft_ok(weft_attrs_set_string(a, "auto_pad", wc->auto_pad));
    if (wc->act) {
        assert_weft_ok(weft_attrs_set_string(a, "_weft_activation", wc->act));
        if (strcmp(wc->act, "LeakyRelu") == 0 || strcmp(wc->act, "Clip") == 0)
            assert_weft_ok(weft_attrs_set_float(a, "_weft_alpha", wc->alpha));
        if (strcmp(wc->act, "Clip") == 0)
            assert_weft_ok(weft_attrs_set_float(a, "_weft_beta", wc->beta));
    }
    if (wc->residual)
        assert_weft_ok(weft_attrs_set_int(a, "_weft_residual", 1));
    const char *in[4] = {"x", "w", wc->bias ? "b" : "", "r"}, *out[1] = {"y"};
    assert_weft_ok(weft_graph_add_node(g, "Conv", "node", in, wc->residual ? 4 : 3, a, out, 1));
    weft_attrs_release(a);
    assert_weft_ok(weft_graph_add_output(g, "y"));
    return g;
}

static weft_graph *build_plain(const wcase *wc, const wdata *d)
{
    static const int64_t one[2] = {1, 1};
    return build_graph(wc, d, one, one, 3, 1);
}

/* Runs wc on implementation i; returns the largest error / (u S). */
static double run_impl(const wcase *wc, const wdata *d, weft_graph *g, const weft_tensor *feeds,
                       size_t feed_count, const float *want, int i, const char *label)
{
    weft_session *s = op_test_forced_session(g_ctx, g, "Conv", impls[i], label);
    float *got = malloc(d->ny * sizeof *got);
    assert_non_null(got);
    memset(got, 0xff, d->ny * sizeof *got);
    weft_tensor out = {.name = "y", .data = got, .size_bytes = d->ny * sizeof *got};
    if (weft_session_run(s, feeds, feed_count, &out, 1) != WEFT_OK)
        fail_msg("%s on %s: run: %s", label, impls[i], weft_last_error());
    weft_session_release(s);

    double xmax = 0;
    for (size_t e = 0; e < d->nx; e++)
        xmax = fmax(xmax, fabs(d->x[e]));
    double lip = wc->act && strcmp(wc->act, "HardSwish") == 0 ? 1.5 : 1.0;
    int64_t plane = d->yd[2] * d->yd[3];
    double worst = 0;
    for (size_t e = 0; e < d->ny; e++) {
        int64_t k = (int64_t)(e / (size_t)plane) % wc->k;
        double wsum = 0;
        for (int64_t q = 0; q < wc->c * 9; q++)
            wsum += fabs(d->w[k * wc->c * 9 + q]);
        double scale = xmax * wsum + (wc->bias ? fabs(d->b[k]) : 0) +
                       (wc->residual ? fabs(d->r[e]) : 0);
        double err = fabs((double)got[e] - (double)want[e]);
        double allowed = lip * tols[i] * U * scale + 8 * U * fabs(want[e]);
        if (!(err <= allowed))
            fail_msg("%s on %s: element %zu of %zu is %.9g, expected %.9g (error %.3g u S, "
                     "tolerance %.3g u S)",
                     label, impls[i], e, d->ny, (double)got[e], (double)want[e],
                     err / (U * scale), tols[i]);
        /* the ratio on the linear part: the activation's own rounding out */
        double ratio = fmax(0, err - 8 * U * fabs(want[e])) / (lip * U * scale);
        worst = fmax(worst, ratio);
    }
    free(got);
    return worst;
}

/* Runs wc on both implementations, which must accept it. */
static void run_case(const wcase *wc, stats *st)
{
    char label[256];
    label_of(wc, label, sizeof label);
    if (getenv("WEFT_TEST_TRACE"))
        fprintf(stderr, "case: %s\n", label);
    wdata d;
    make_data(wc, label, &d);
    weft_graph *g = build_plain(wc, &d);
    weft_graph *checked;
    assert_weft_ok(weft_graph_clone(g, &checked));
    if (weft_graph_validate(checked) != WEFT_OK)
        fail_msg("%s: validate: %s", label, weft_last_error());
    weft_tensor feeds[2] = {
        {.name = "x", .dtype = WEFT_FLOAT32, .rank = 4, .data = d.x,
         .size_bytes = d.nx * sizeof(float)},
        {.name = "r", .dtype = WEFT_FLOAT32, .rank = 4, .data = d.r,
         .size_bytes = d.ny * sizeof(float)},
    };
    memcpy(feeds[0].dims, d.xd, sizeof d.xd);
    memcpy(feeds[1].dims, d.yd, sizeof d.yd);
    size_t feed_count = wc->residual ? 2 : 1;
    weft_host_tensor want;
    if (weft_ref_run_graph(checked, feeds, feed_count, &want, 1) != WEFT_OK)
        fail_msg("%s: reference: %s", label, weft_last_error());
    assert_int_equal((size_t)weft_shape_numel(&want.shape), d.ny);
    for (int i = 0; i < 2; i++) {
        char why[256] = "";
        const weft_op_impl *im = op_test_impl("Conv", impls[i]);
        if (!im->supports(checked, &checked->nodes[0], &g_dev, why, sizeof why))
            fail_msg("%s: %s refuses it: %s", label, impls[i], why);
        double worst = run_impl(wc, &d, g, feeds, feed_count, want.data, i, label);
        if (getenv("WEFT_TEST_TRACE"))
            fprintf(stderr, "  %s: largest error %.3f u S\n", impls[i], worst);
        st->worst[i] = fmax(st->worst[i], worst);
        st->runs[i]++;
    }
    free(want.data);
    weft_graph_release(checked);
    weft_graph_release(g);
    free_data(&d);
}

static void print_stats(const stats *st, const char *what)
{
    printf("%s: %s %d runs, largest error %.3f u S (tolerance %.1f); %s %d runs, largest %.3f "
           "u S (tolerance %.1f)\n",
           what, impls[0], st->runs[0], st->worst[0], tols[0], impls[1], st->runs[1],
           st->worst[1], tols[1]);
}

/* ---- The grid --------------------------------------------------------------------- */

enum { F_N, F_C, F_K, F_H, F_W, F_PADS, F_BIAS, F_ACT, F_RES, F_COUNT };
#define OA 11 /* symbols of the orthogonal array: prime, >= every factor's levels */

static const int levels[F_COUNT] = {2, 4, 3, 5, 5, 7, 2, 7, 2};

static void set_pads(wcase *wc, int level)
{
    static const char *const autos[] = {"SAME_UPPER", "SAME_LOWER", "VALID"};
    if (level <= 2) {
        wc->pads_given = 1;
        for (int i = 0; i < 4; i++)
            wc->pads[i] = level;
    } else if (level == 3) {
        static const int64_t asym[4] = {1, 0, 0, 2};
        wc->pads_given = 1;
        memcpy(wc->pads, asym, sizeof asym);
    } else {
        wc->auto_pad = autos[level - 4];
    }
}

static void set_act(wcase *wc, int level)
{
    static const struct {
        const char *act;
        float alpha, beta;
    } acts[] = {{NULL, 0, 0},        {"Relu", 0, 0},      {"LeakyRelu", 0.1f, 0},
                {"Clip", -1.5f, 0.5f}, {"Sigmoid", 0, 0}, {"Tanh", 0, 0},
                {"HardSwish", 0, 0}};
    wc->act = acts[level].act;
    wc->alpha = acts[level].alpha;
    wc->beta = acts[level].beta;
}

static void make_case(const int *lv, wcase *wc)
{
    static const int64_t chans[] = {1, 3, 16, 33}, outs[] = {1, 8, 32},
                         sizes[] = {1, 2, 7, 16, 31};
    memset(wc, 0, sizeof *wc);
    wc->n = 1 + lv[F_N];
    wc->c = chans[lv[F_C]];
    wc->k = outs[lv[F_K]];
    wc->h = sizes[lv[F_H]];
    wc->w = sizes[lv[F_W]];
    set_pads(wc, lv[F_PADS]);
    wc->bias = lv[F_BIAS];
    set_act(wc, lv[F_ACT]);
    wc->residual = lv[F_RES];
}

static void test_grid(void **state)
{
    (void)state;
    stats st = {0};
    int cases = 0, empty = 0;
    if (test_under_oclgrind()) {
        /* a few shapes: the fast and the edge paths of both kernels */
        const wcase few[] = {
            {.n = 1, .c = 3, .k = 4, .h = 5, .w = 9, .pads_given = 1, .pads = {1, 1, 1, 1},
             .bias = 1, .residual = 1, .act = "Relu"},
            {.n = 2, .c = 2, .k = 3, .h = 7, .w = 22, .pads_given = 1, .pads = {1, 0, 0, 2}},
            {.n = 1, .c = 1, .k = 1, .h = 2, .w = 1, .auto_pad = "SAME_LOWER", .bias = 1},
        };
        for (size_t i = 0; i < COUNT(few); i++, cases++)
            run_case(&few[i], &st);
    } else {
        for (int a = 0; a < OA; a++)
            for (int b = 0; b < OA; b++) {
                int lv[F_COUNT];
                for (int f = 0; f < F_COUNT; f++)
                    lv[f] = ((a + f * b) % OA) % levels[f];
                wcase wc;
                make_case(lv, &wc);
                if (out_size(&wc, 0) < 1 || out_size(&wc, 1) < 1) {
                    empty++;
                    continue;
                }
                run_case(&wc, &st);
                cases++;
            }
    }
    printf("grid: %d cases (%d rows of the array have an empty output)\n", cases, empty);
    print_stats(&st, "grid");
    assert_true(cases > 0);
    if (test_under_oclgrind()) {
        printf("tightness checks skipped under oclgrind (too few cases)\n");
        return;
    }
    /* the bounds are no looser than the algorithm needs */
    for (int i = 0; i < 2; i++)
        if (!(st.worst[i] > tols[i] / 4))
            fail_msg("%s: largest error %.3f u S is under a quarter of its tolerance %.1f: the "
                     "bound is loose",
                     impls[i], st.worst[i], tols[i]);
    if (!(st.worst[1] > tols[0]))
        fail_msg("F(4x4)'s largest error %.3f u S is within F(2x2)'s tolerance %.1f: it does "
                 "not need a looser bound",
                 st.worst[1], tols[0]);
}

/* Planes wide enough for several vectors of tiles per row (both kernels'
 * inner paths), P >= 512 tiles (the engine's wide-product tiles), and a
 * ResNet-like depth. */
static void test_wide(void **state)
{
    (void)state;
    if (test_under_oclgrind()) {
        printf("skipped under oclgrind (large planes)\n");
        return;
    }
    const wcase cases[] = {
        {.n = 1, .c = 8, .k = 8, .h = 40, .w = 56, .pads_given = 1, .pads = {1, 1, 1, 1},
         .bias = 1, .residual = 1, .act = "Relu"},
        {.n = 2, .c = 5, .k = 6, .h = 33, .w = 70, .auto_pad = "SAME_UPPER", .bias = 1},
        {.n = 1, .c = 64, .k = 24, .h = 14, .w = 14, .pads_given = 1, .pads = {1, 1, 1, 1},
         .bias = 1},
    };
    stats st = {0};
    for (size_t i = 0; i < COUNT(cases); i++)
        run_case(&cases[i], &st);
    print_stats(&st, "wide");
}

/* ---- Refusals --------------------------------------------------------------------- */

static void expect_refusal(const int64_t *strides, const int64_t *dil, int64_t ksize,
                           int64_t group, const char *part)
{
    wcase wc = {.n = 1, .c = 4, .k = 4, .h = 9, .w = 9, .pads_given = 1, .pads = {1, 1, 1, 1},
                .bias = 1};
    wdata d;
    make_data(&wc, "refusal", &d);
    weft_graph *g = build_graph(&wc, &d, strides, dil, ksize, group);
    assert_weft_ok(weft_graph_validate(g));
    for (int i = 0; i < 2; i++)
        op_test_expect_refusal(g, &g->nodes[0], op_test_impl("Conv", impls[i]), &g_dev, part);
    /* forced, the session fails with the reason */
    weft_session_options so;
    weft_session_options_defaults(&so);
    so.force_impl = "Conv:winograd_f4x4";
    weft_session *s = NULL;
    assert_weft_status(weft_session_create(g_ctx, g, &so, &s), WEFT_ERR_UNSUPPORTED, part);
    assert_null(s);
    weft_graph_release(g);
    free_data(&d);
}

static void test_refusals(void **state)
{
    (void)state;
    static const int64_t one[2] = {1, 1}, two[2] = {2, 2};
    expect_refusal(two, one, 3, 1, "stride 2x2");
    expect_refusal(one, two, 3, 1, "dilation 2x2");
    expect_refusal(one, one, 5, 1, "kernel 5x5");
    expect_refusal(one, one, 3, 2, "2 groups");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid),
        cmocka_unit_test(test_wide),
        cmocka_unit_test(test_refusals),
    };
    /* the transforms live in the node's workspace */
    if (op_test_open_device(&g_ctx, &g_dev) != 0)
        return 1;
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    weft_context_release(g_ctx);
    return failed;
}
