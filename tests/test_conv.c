/*
 * The convolution implementations (src/ops/conv_*.c, cl/conv_*.cl)
 * against the reference (src/ref/ref_conv.c: weft_ref_conv and
 * weft_ref_conv_transpose).
 *
 * Grids are pairwise-sampled: every value of every dimension, and every
 * pair of values of two dimensions that can occur together in a valid
 * node, appears in at least one case. The cases come from a small
 * deterministic covering algorithm (AETG-style: take the first uncovered
 * pair, draw candidates holding it, keep the valid one that covers the
 * most uncovered pairs, the cheapest on ties); pairs no valid node can
 * hold (groups 2 with 33 channels) are counted and printed.
 *   Conv:           N 1/2; C 1/3/16/33; K 1/8/32; H, W 1/7/16/31; kernel
 *                   1x1/3x3/5x5/7x7/1x7/7x1; stride 1/2/3; pads 0/1/2/
 *                   asymmetric/SAME_UPPER/SAME_LOWER/VALID; dilation 1/2;
 *                   groups 1/2/C; bias or not.
 *   depthwise:      the same with K = groups = C.
 *   1x1:            the same with kernel 1x1, stride 1, pads 0 or VALID.
 *   ConvTranspose:  N; C 1/3/16; M 1/8/32; H, W 1/7/16; kernel 1x1/3x3/
 *                   5x5/1x7/7x1; stride; pads, auto_pad, output_padding,
 *                   output_shape; dilation; groups 1/2/C; bias.
 * Under oclgrind the grids shrink: C 1/3/8/9, K 1/4/8, H, W 1/5/7/9
 * (ConvTranspose 1/5/7), keeping the shape of each dimension (1, odd, a
 * multiple of the tiles, one past it); kernels 1x1/3x3/7x1 (ConvTranspose
 * 1x1/3x3/7x1); pads 1/asymmetric/SAME_UPPER/VALID (and output_padding,
 * output_shape); each activation on one shape; two forced tiles; CLBlast
 * is skipped (its kernels take too long there).
 * Every case runs on every implementation of its op whose supports()
 * accepts it, forced with the session's force_impl; outputs are poisoned
 * (NaN) first. Plus 1-D and 3-D cases, each fused epilogue (against the
 * reference Conv followed by the activation node), and tiles forced small
 * (WEFT_CONV_TILE) so that the edges of every tile dimension are crossed,
 * flat tiles (FLAT) included.
 *
 * Tolerance: |got - want| <= atol + rtol |want| with atol = 8 L u, L =
 * (C / group) * taps the reduction length and u = 2^-24, rtol = 4 ulp
 * (the activations' exp/tanh). Data are uniform in [-2, 2), so each
 * product is below 4; the reference sums in double. A float32 sum of L
 * products errs by about sqrt(L) u times the size of its partial sums
 * (about 2 sqrt(L) here): 2 L u expected, 8 L u bound. One product lost
 * or doubled errs by ~1, far above it for every L here (L <= 33 * 49).
 */
#include <float.h>
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

/* ---- A case --------------------------------------------------------------------- */

typedef struct conv_case {
    int transpose;
    int sp;
    int64_t n, c, m, group;
    int64_t in[3], k[3], s[3], d[3];
    int pads_given;
    int64_t pads[6];
    const char *auto_pad;     /* NULL: absent */
    int64_t out_pad[3];
    int out_pad_given;
    int64_t out_shape[3];
    int out_shape_given;
    int bias;
    const char *act;          /* fused activation, NULL: none */
    float alpha, beta;
} conv_case;

/* Reduction length of one output. */
static int64_t reduction(const conv_case *cc)
{
    int64_t l = cc->c / cc->group;
    for (int i = 0; i < cc->sp; i++)
        l *= cc->k[i];
    return l;
}

/* Output size on axis i of a valid case; 0 when the case is invalid. */
static int64_t out_size(const conv_case *cc, int i)
{
    int64_t in = cc->in[i], s = cc->s[i], dk = (cc->k[i] - 1) * cc->d[i] + 1;
    int same = cc->auto_pad && strncmp(cc->auto_pad, "SAME", 4) == 0;
    int valid = cc->auto_pad && strcmp(cc->auto_pad, "VALID") == 0;
    int64_t b = cc->pads_given ? cc->pads[i] : 0, e = cc->pads_given ? cc->pads[i + cc->sp] : 0;
    if (!cc->transpose) {
        if (same)
            return (in + s - 1) / s;
        int64_t padded = in + (valid ? 0 : b + e);
        return padded < dk ? 0 : (padded - dk) / s + 1;
    }
    if (cc->out_shape_given)
        return cc->out_shape[i];
    if (same)
        return in * s;
    int64_t full = s * (in - 1) + (cc->out_pad_given ? cc->out_pad[i] : 0) + dk;
    int64_t o = full - (valid ? 0 : b + e);
    return o < 1 ? 0 : o;
}

static int case_valid(const conv_case *cc)
{
    if (cc->c % cc->group || cc->m % cc->group)
        return 0;
    for (int i = 0; i < cc->sp; i++)
        if (out_size(cc, i) < 1)
            return 0;
    return 1;
}

static double case_macs(const conv_case *cc)
{
    double out = (double)cc->n * (double)cc->m * (double)reduction(cc);
    for (int i = 0; i < cc->sp; i++)
        out *= (double)out_size(cc, i);
    return out;
}

static void case_label(const conv_case *cc, char *s, size_t cap)
{
    int at = snprintf(s, cap, "%s N%lld C%lld M%lld g%lld in", cc->transpose ? "ConvT" : "Conv",
                      (long long)cc->n, (long long)cc->c, (long long)cc->m, (long long)cc->group);
    for (int i = 0; i < cc->sp && at > 0 && (size_t)at < cap; i++)
        at += snprintf(s + at, cap - (size_t)at, "%s%lld", i ? "x" : "", (long long)cc->in[i]);
    for (int i = 0; i < cc->sp && at > 0 && (size_t)at < cap; i++)
        at += snprintf(s + at, cap - (size_t)at, "%s%lld", i ? "x" : " k", (long long)cc->k[i]);
    if (at > 0 && (size_t)at < cap)
        at += snprintf(s + at, cap - (size_t)at, " s%lld d%lld", (long long)cc->s[0],
                       (long long)cc->d[0]);
    if (cc->pads_given && at > 0 && (size_t)at < cap) {
        at += snprintf(s + at, cap - (size_t)at, " pads");
        for (int i = 0; i < 2 * cc->sp && at > 0 && (size_t)at < cap; i++)
            at += snprintf(s + at, cap - (size_t)at, "%s%lld", i ? "," : "", (long long)cc->pads[i]);
    }
    if (at > 0 && (size_t)at < cap)
        snprintf(s + at, cap - (size_t)at, "%s%s%s%s%s%s", cc->auto_pad ? " " : "",
                 cc->auto_pad ? cc->auto_pad : "", cc->out_pad_given ? " out_pad" : "",
                 cc->out_shape_given ? " out_shape" : "", cc->bias ? " bias" : "",
                 cc->act ? cc->act : "");
}

/* ---- Graphs ------------------------------------------------------------------------ */

typedef struct case_data {
    float *x, *w, *b;
    int64_t xd[5], wd[5];
} case_data;

static uint64_t seed_of(const char *label)
{
    uint64_t seed = 0xc0417e57u;
    for (const char *p = label; *p; p++)
        seed = seed * 131 + (unsigned char)*p;
    return seed;
}

static void make_data(const conv_case *cc, const char *label, case_data *cd)
{
    uint64_t seed = seed_of(label);
    cd->xd[0] = cc->n;
    cd->xd[1] = cc->c;
    cd->wd[0] = cc->transpose ? cc->c : cc->m;
    cd->wd[1] = cc->transpose ? cc->m / cc->group : cc->c / cc->group;
    for (int i = 0; i < cc->sp; i++) {
        cd->xd[2 + i] = cc->in[i];
        cd->wd[2 + i] = cc->k[i];
    }
    size_t nx = op_test_numel(2 + cc->sp, cd->xd), nw = op_test_numel(2 + cc->sp, cd->wd);
    cd->x = malloc(nx * sizeof(float));
    cd->w = malloc(nw * sizeof(float));
    cd->b = malloc((size_t)cc->m * sizeof(float));
    assert_true(cd->x && cd->w && cd->b);
    weft_random_fill(&seed, cd->x, nx, -2, 2);
    weft_random_fill(&seed, cd->w, nw, -2, 2);
    weft_random_fill(&seed, cd->b, (size_t)cc->m, -2, 2);
}

static void free_data(case_data *cd)
{
    free(cd->x);
    free(cd->w);
    free(cd->b);
}

/* The one-node graph of the case: x -> Conv -> y. With fused, the
 * activation goes onto the Conv as conv_geom.h's internal attributes;
 * else (the reference) it is a node of its own after it. */
static weft_graph *build_graph(const conv_case *cc, const case_data *cd, int fused)
{
    weft_graph *g;
    weft_attrs *a;
    int rank = 2 + cc->sp;
    int64_t mdims[1] = {cc->m};
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, rank, cd->xd));
    assert_weft_ok(weft_graph_add_constant(g, "w", WEFT_FLOAT32, rank, cd->wd, cd->w));
    if (cc->bias)
        assert_weft_ok(weft_graph_add_constant(g, "b", WEFT_FLOAT32, 1, mdims, cd->b));
    assert_weft_ok(weft_attrs_create(&a));
    assert_weft_ok(weft_attrs_set_ints(a, "kernel_shape", cc->k, (size_t)cc->sp));
    assert_weft_ok(weft_attrs_set_ints(a, "strides", cc->s, (size_t)cc->sp));
    assert_weft_ok(weft_attrs_set_ints(a, "dilations", cc->d, (size_t)cc->sp));
    assert_weft_ok(weft_attrs_set_int(a, "group", cc->group));
    if (cc->pads_given)
        assert_weft_ok(weft_attrs_set_ints(a, "pads", cc->pads, 2 * (size_t)cc->sp));
    if (cc->auto_pad)
        assert_weft_ok(weft_attrs_set_string(a, "auto_pad", cc->auto_pad));
    if (cc->out_pad_given)
        assert_weft_ok(weft_attrs_set_ints(a, "output_padding", cc->out_pad, (size_t)cc->sp));
    if (cc->out_shape_given)
        assert_weft_ok(weft_attrs_set_ints(a, "output_shape", cc->out_shape, (size_t)cc->sp));
    int separate = cc->act && !fused;
    if (cc->act && fused) {
        assert_weft_ok(weft_attrs_set_string(a, "_weft_activation", cc->act));
        if (strcmp(cc->act, "LeakyRelu") == 0 || strcmp(cc->act, "Clip") == 0)
            assert_weft_ok(weft_attrs_set_float(a, "_weft_alpha", cc->alpha));
        if (strcmp(cc->act, "Clip") == 0)
            assert_weft_ok(weft_attrs_set_float(a, "_weft_beta", cc->beta));
    }
    const char *in[3] = {"x", "w", cc->bias ? "b" : ""};
    const char *out[1] = {separate ? "conv" : "y"};
    assert_weft_ok(weft_graph_add_node(g, cc->transpose ? "ConvTranspose" : "Conv", "node", in,
                                       3, a, out, 1));
    weft_attrs_release(a);
    if (separate) {
        static const struct {
            const char *name;
            weft_activation act;
        } acts[] = {{"Relu", WEFT_ACT_RELU},       {"LeakyRelu", WEFT_ACT_LEAKY_RELU},
                    {"Clip", WEFT_ACT_CLIP},       {"Sigmoid", WEFT_ACT_SIGMOID},
                    {"Tanh", WEFT_ACT_TANH},       {"HardSwish", WEFT_ACT_HARD_SWISH}};
        size_t i = 0;
        while (i < COUNT(acts) && strcmp(acts[i].name, cc->act) != 0)
            i++;
        assert_true(i < COUNT(acts));
        assert_weft_ok(weft_graph_add_activation(g, "act", acts[i].act, cc->alpha, cc->beta,
                                                 "conv", "y"));
    }
    assert_weft_ok(weft_graph_add_output(g, "y"));
    return g;
}

/* ---- Running a case on every implementation that takes it ------------------------- */

typedef struct tally {
    const char *impl[16];
    int runs[16];
    size_t count;
    int cases;
    int skipped;
} tally;

static void tally_add(tally *t, const char *impl)
{
    for (size_t i = 0; i < t->count; i++)
        if (strcmp(t->impl[i], impl) == 0) {
            t->runs[i]++;
            return;
        }
    assert_true(t->count < COUNT(t->impl));
    t->impl[t->count] = impl;
    t->runs[t->count++] = 1;
}

static void tally_print(const tally *t, const char *what)
{
    printf("%s: %d cases;", what, t->cases);
    for (size_t i = 0; i < t->count; i++)
        printf(" %s %d", t->impl[i], t->runs[i]);
    if (t->skipped)
        printf("; %d CLBlast runs skipped (its kernels take too long under oclgrind)",
               t->skipped);
    printf("\n");
}

static weft_context *g_ctx;
static weft_device_info g_dev;

/* only: run just this implementation (NULL: all). Returns the runs. */
static int run_case(const conv_case *cc, const char *only, tally *t)
{
    char label[256];
    case_label(cc, label, sizeof label);
    if (getenv("WEFT_TEST_TRACE"))
        fprintf(stderr, "case: %s\n", label);
    case_data cd;
    make_data(cc, label, &cd);
    weft_graph *ref = build_graph(cc, &cd, 0), *dev = build_graph(cc, &cd, 1);
    if (weft_graph_validate(ref) != WEFT_OK)
        fail_msg("%s: validate: %s", label, weft_last_error());
    weft_tensor feed = {.name = "x", .dtype = WEFT_FLOAT32, .rank = 2 + cc->sp, .data = cd.x};
    memcpy(feed.dims, cd.xd, sizeof cd.xd);
    feed.size_bytes = op_test_numel(2 + cc->sp, cd.xd) * sizeof(float);
    weft_host_tensor want;
    if (weft_ref_run_graph(ref, &feed, 1, &want, 1) != WEFT_OK)
        fail_msg("%s: reference: %s", label, weft_last_error());
    /* supports() reads a validated graph, as the session's own. */
    weft_graph *checked;
    assert_weft_ok(weft_graph_clone(dev, &checked));
    assert_weft_ok(weft_graph_validate(checked));
    const weft_node *node = &checked->nodes[0];
    size_t n = (size_t)weft_shape_numel(&want.shape);
    float *got = malloc((n ? n : 1) * sizeof *got);
    assert_non_null(got);
    float atol = 8.0f * (float)reduction(cc) * FLT_EPSILON / 2, rtol = 4 * FLT_EPSILON;
    int runs = 0;
    for (size_t i = 0; i < weft_op_impl_count; i++) {
        const weft_op_impl *impl = weft_op_impls[i];
        if (strcmp(impl->ops[0], node->op) != 0 || (only && strcmp(impl->name, only) != 0))
            continue;
        /* Winograd's error is not the direct sum's (the bound above): it has
         * its own test and tolerances, tests/test_winograd.c */
        if (strncmp(impl->name, "winograd", 8) == 0)
            continue;
        char why[256] = "";
        if (!impl->supports(checked, node, &g_dev, why, sizeof why))
            continue;
        if (strstr(impl->name, "clblast") && test_under_oclgrind()) {
            t->skipped++; /* CLBlast's kernels take too long under oclgrind */
            continue;
        }
        weft_session *s = op_test_forced_session(g_ctx, dev, node->op, impl->name, label);
        memset(got, 0xff, n * sizeof *got);
        weft_tensor out = {.name = "y", .data = got, .size_bytes = n * sizeof *got};
        if (weft_session_run(s, &feed, 1, &out, 1) != WEFT_OK)
            fail_msg("%s [%s]: run: %s", label, impl->name, weft_last_error());
        assert_int_equal(out.rank, want.shape.rank);
        const float *exp = want.data;
        for (size_t e = 0; e < n; e++)
            if (!(fabsf(got[e] - exp[e]) <= atol + rtol * fabsf(exp[e])))
                fail_msg("%s [%s]: element %zu of %zu is %.9g, expected %.9g (atol %g)", label,
                         impl->name, e, n, (double)got[e], (double)exp[e], (double)atol);
        weft_session_release(s);
        tally_add(t, impl->name);
        runs++;
    }
    t->cases++;
    free(got);
    free(want.data);
    weft_graph_release(checked);
    weft_graph_release(dev);
    weft_graph_release(ref);
    free_data(&cd);
    return runs;
}

/* ---- The pairwise covering -------------------------------------------------------- */

#define MAX_FACTORS 12
#define MAX_LEVELS 10

typedef struct factor {
    const char *name;
    int levels;
} factor;

typedef struct covering {
    const factor *f;
    int nf;
    /* covered[a][la][b][lb] for a < b; 2 = cannot occur */
    unsigned char covered[MAX_FACTORS][MAX_LEVELS][MAX_FACTORS][MAX_LEVELS];
} covering;

typedef int (*make_fn)(const int *lv, conv_case *cc);

static int new_pairs(const covering *cv, const int *lv)
{
    int count = 0;
    for (int a = 0; a < cv->nf; a++)
        for (int b = a + 1; b < cv->nf; b++)
            count += cv->covered[a][lv[a]][b][lv[b]] == 0;
    return count;
}

/* Fills cases[] (at most cap) so that every pair that can occur is held;
 * returns the count; *impossible: pairs no valid case holds. */
static int pairwise(const factor *f, int nf, make_fn make, conv_case *cases, int cap,
                    int *impossible)
{
    static covering cv;
    memset(&cv, 0, sizeof cv);
    cv.f = f;
    cv.nf = nf;
    uint64_t seed = 0x9a1f2b3cu;
    int count = 0;
    *impossible = 0;
    for (int a = 0; a < nf; a++)
        for (int la = 0; la < f[a].levels; la++)
            for (int b = a + 1; b < nf; b++)
                for (int lb = 0; lb < f[b].levels; lb++) {
                    if (cv.covered[a][la][b][lb])
                        continue;
                    int best[MAX_FACTORS], best_new = 0;
                    double best_cost = 0;
                    conv_case best_case;
                    for (int attempt = 0; attempt < 400; attempt++) {
                        int lv[MAX_FACTORS];
                        for (int k = 0; k < nf; k++)
                            lv[k] = (int)(weft_random_next(&seed) % (uint64_t)f[k].levels);
                        lv[a] = la;
                        lv[b] = lb;
                        conv_case cc;
                        if (!make(lv, &cc) || !case_valid(&cc))
                            continue;
                        int fresh = new_pairs(&cv, lv);
                        double cost = case_macs(&cc);
                        if (fresh > best_new || (fresh == best_new && cost < best_cost)) {
                            best_new = fresh;
                            best_cost = cost;
                            best_case = cc;
                            memcpy(best, lv, sizeof best);
                        }
                    }
                    if (best_new == 0) {
                        cv.covered[a][la][b][lb] = 2;
                        (*impossible)++;
                        printf("  no valid case holds %s level %d with %s level %d\n", f[a].name,
                               la, f[b].name, lb);
                        continue;
                    }
                    assert_true(count < cap);
                    cases[count++] = best_case;
                    for (int x = 0; x < nf; x++)
                        for (int y = x + 1; y < nf; y++)
                            cv.covered[x][best[x]][y][best[y]] = 1;
                }
    return count;
}

/* ---- The grids ---------------------------------------------------------------------- */

enum { F_N, F_C, F_K, F_H, F_W, F_KERNEL, F_STRIDE, F_PADS, F_DIL, F_GROUP, F_BIAS, F_COUNT };

static const int64_t kernels[][2] = {{1, 1}, {3, 3}, {5, 5}, {7, 7}, {1, 7}, {7, 1}};
static const int64_t t_kernels[][2] = {{1, 1}, {3, 3}, {5, 5}, {1, 7}, {7, 1}};

static int small(void)
{
    return test_under_oclgrind();
}

/* Under oclgrind the kernels are 1x1, 3x3 and 7x1, and the pads 1,
 * asymmetric, SAME_UPPER, VALID (and for ConvTranspose output_padding and
 * output_shape): grid level -> full level. */
static int kernel_level(int lv)
{
    static const int tiny[] = {0, 1, 5};
    return small() ? tiny[lv] : lv;
}

static int pads_level(int lv)
{
    static const int tiny[] = {1, 3, 4, 6, 7, 8};
    return small() ? tiny[lv] : lv;
}

/* The factors of a grid, with fewer kernel and pads levels under oclgrind. */
static void grid_factors(const factor *full, factor *out)
{
    memcpy(out, full, F_COUNT * sizeof *out);
    if (!small())
        return;
    if (out[F_KERNEL].levels > 3)
        out[F_KERNEL].levels = 3;
    if (out[F_PADS].levels > 2)
        out[F_PADS].levels = out[F_PADS].levels > 7 ? 6 : 4;
}

static const int64_t *chans(void)
{
    static const int64_t full[] = {1, 3, 16, 33}, tiny[] = {1, 3, 8, 9};
    return small() ? tiny : full;
}

static const int64_t *outs(void)
{
    static const int64_t full[] = {1, 8, 32}, tiny[] = {1, 4, 8};
    return small() ? tiny : full;
}

static const int64_t *sizes(void)
{
    static const int64_t full[] = {1, 7, 16, 31}, tiny[] = {1, 5, 7, 9};
    return small() ? tiny : full;
}

/* Pads level: 0, 1, 2, asymmetric, SAME_UPPER, SAME_LOWER, VALID and, for
 * ConvTranspose, output_padding and output_shape. */
static void set_pads(conv_case *cc, int level)
{
    static const char *const autos[] = {"SAME_UPPER", "SAME_LOWER", "VALID"};
    if (level <= 2) {
        cc->pads_given = 1;
        for (int i = 0; i < 4; i++)
            cc->pads[i] = level;
    } else if (level == 3) {
        static const int64_t asym[4] = {1, 0, 0, 2};
        cc->pads_given = 1;
        memcpy(cc->pads, asym, sizeof asym);
    } else if (level <= 6) {
        cc->auto_pad = autos[level - 4];
    } else if (level == 7) {
        cc->out_pad_given = 1;
        for (int i = 0; i < 2; i++)
            cc->out_pad[i] = cc->s[i] - 1;
        cc->pads_given = 1;
        for (int i = 0; i < 4; i++)
            cc->pads[i] = i < 2 ? 1 : 0;
    } else {
        /* one less than the natural size where there is room (pads
         * generated at the beginning), else one more (negative total) */
        cc->out_shape_given = 1;
        for (int i = 0; i < 2; i++) {
            int64_t full = cc->s[i] * (cc->in[i] - 1) + (cc->k[i] - 1) * cc->d[i] + 1;
            cc->out_shape[i] = full >= 2 ? full - 1 : full + 1;
        }
    }
}

static int make_conv(const int *lv, conv_case *cc)
{
    memset(cc, 0, sizeof *cc);
    cc->sp = 2;
    cc->n = 1 + lv[F_N];
    cc->c = chans()[lv[F_C]];
    cc->m = outs()[lv[F_K]];
    cc->in[0] = sizes()[lv[F_H]];
    cc->in[1] = sizes()[lv[F_W]];
    cc->k[0] = kernels[kernel_level(lv[F_KERNEL])][0];
    cc->k[1] = kernels[kernel_level(lv[F_KERNEL])][1];
    cc->s[0] = cc->s[1] = 1 + lv[F_STRIDE];
    cc->d[0] = cc->d[1] = 1 + lv[F_DIL];
    cc->group = lv[F_GROUP] == 0 ? 1 : lv[F_GROUP] == 1 ? 2 : cc->c;
    cc->bias = lv[F_BIAS];
    set_pads(cc, pads_level(lv[F_PADS]));
    return 1;
}

static int make_depthwise(const int *lv, conv_case *cc)
{
    make_conv(lv, cc);
    cc->m = cc->group = cc->c;
    return 1;
}

static int make_transpose(const int *lv, conv_case *cc)
{
    static const int64_t full[] = {1, 7, 16}, tiny[] = {1, 5, 7};
    memset(cc, 0, sizeof *cc);
    cc->transpose = 1;
    cc->sp = 2;
    cc->n = 1 + lv[F_N];
    cc->c = chans()[lv[F_C]];
    cc->m = outs()[lv[F_K]];
    cc->in[0] = (small() ? tiny : full)[lv[F_H]];
    cc->in[1] = (small() ? tiny : full)[lv[F_W]];
    cc->k[0] = t_kernels[small() ? (int[]){0, 1, 4}[lv[F_KERNEL]] : lv[F_KERNEL]][0];
    cc->k[1] = t_kernels[small() ? (int[]){0, 1, 4}[lv[F_KERNEL]] : lv[F_KERNEL]][1];
    cc->s[0] = cc->s[1] = 1 + lv[F_STRIDE];
    cc->d[0] = cc->d[1] = 1 + lv[F_DIL];
    cc->group = lv[F_GROUP] == 0 ? 1 : lv[F_GROUP] == 1 ? 2 : cc->c;
    cc->bias = lv[F_BIAS];
    set_pads(cc, pads_level(lv[F_PADS]));
    return 1;
}

static const factor conv_factors[F_COUNT] = {
    {"N", 2},      {"C", 4},        {"K", 3},      {"H", 4},     {"W", 4},    {"kernel", 6},
    {"stride", 3}, {"pads", 7},     {"dilation", 2}, {"groups", 3}, {"bias", 2},
};

/* Depthwise: K and groups follow C. */
static const factor dw_factors[F_COUNT] = {
    {"N", 2},      {"C", 4},        {"K", 1},      {"H", 4},     {"W", 4},    {"kernel", 6},
    {"stride", 3}, {"pads", 7},     {"dilation", 2}, {"groups", 1}, {"bias", 2},
};

/* 1x1 with stride 1 and no padding (pads 0 or VALID), the GEMM path's. */
static const factor pointwise_factors[F_COUNT] = {
    {"N", 2},      {"C", 4},        {"K", 3},      {"H", 4},     {"W", 4},    {"kernel", 1},
    {"stride", 1}, {"pads", 2},     {"dilation", 2}, {"groups", 3}, {"bias", 2},
};

static int make_pointwise(const int *lv, conv_case *cc)
{
    int at[F_COUNT];
    memcpy(at, lv, sizeof at);
    make_conv(at, cc);
    /* pads 0 or VALID */
    cc->pads_given = !lv[F_PADS];
    memset(cc->pads, 0, sizeof cc->pads);
    cc->auto_pad = lv[F_PADS] ? "VALID" : NULL;
    return 1;
}

static const factor transpose_factors[F_COUNT] = {
    {"N", 2},      {"C", 3},        {"K", 3},      {"H", 3},     {"W", 3},    {"kernel", 5},
    {"stride", 3}, {"pads", 9},     {"dilation", 2}, {"groups", 3}, {"bias", 2},
};

static void run_grid(const char *what, const factor *f, make_fn make)
{
    static conv_case cases[400];
    factor levels[F_COUNT];
    grid_factors(f, levels);
    int impossible;
    int count = pairwise(levels, F_COUNT, make, cases, (int)COUNT(cases), &impossible);
    tally t = {0};
    int ran = 0;
    for (int i = 0; i < count; i++)
        ran += run_case(&cases[i], NULL, &t) > 0;
    printf("%s grid: %d pairwise cases (%d value pairs cannot occur together)\n", what, count,
           impossible);
    tally_print(&t, what);
    assert_true(count > 0);
    assert_int_equal(ran, count); /* every case runs somewhere */
}

static void test_conv_grid(void **state)
{
    (void)state;
    run_grid("Conv", conv_factors, make_conv);
}

static void test_depthwise_grid(void **state)
{
    (void)state;
    run_grid("depthwise", dw_factors, make_depthwise);
}

static void test_pointwise_grid(void **state)
{
    (void)state;
    run_grid("1x1", pointwise_factors, make_pointwise);
}

static void test_transpose_grid(void **state)
{
    (void)state;
    run_grid("ConvTranspose", transpose_factors, make_transpose);
}

/* ---- 1-D and 3-D ------------------------------------------------------------------------ */

static void test_conv_1d_3d(void **state)
{
    (void)state;
    const conv_case cases[] = {
        {.sp = 1, .n = 2, .c = 3, .m = 8, .group = 1, .in = {29}, .k = {5}, .s = {2}, .d = {1},
         .pads_given = 1, .pads = {2, 1}, .bias = 1},
        {.sp = 1, .n = 1, .c = 8, .m = 8, .group = 8, .in = {17}, .k = {3}, .s = {1}, .d = {2},
         .auto_pad = "SAME_LOWER"},
        {.sp = 3, .n = 1, .c = 4, .m = 6, .group = 2, .in = {5, 6, 7}, .k = {3, 3, 2},
         .s = {2, 1, 1}, .d = {1, 2, 1}, .pads_given = 1, .pads = {1, 0, 1, 0, 2, 0}, .bias = 1},
        {.sp = 3, .n = 2, .c = 3, .m = 3, .group = 3, .in = {4, 5, 6}, .k = {3, 3, 3},
         .s = {1, 2, 1}, .d = {1, 1, 1}, .auto_pad = "SAME_UPPER", .bias = 1},
        {.transpose = 1, .sp = 1, .n = 1, .c = 3, .m = 4, .group = 1, .in = {9}, .k = {4},
         .s = {3}, .d = {1}, .pads_given = 1, .pads = {1, 2}, .out_pad_given = 1,
         .out_pad = {2}, .bias = 1},
        {.transpose = 1, .sp = 3, .n = 1, .c = 4, .m = 4, .group = 2, .in = {3, 4, 5},
         .k = {2, 3, 3}, .s = {2, 1, 2}, .d = {1, 2, 1}, .pads_given = 1,
         .pads = {0, 1, 1, 1, 0, 0}, .bias = 1},
    };
    tally t = {0};
    for (size_t i = 0; i < COUNT(cases); i++)
        assert_true(run_case(&cases[i], NULL, &t) > 0);
    tally_print(&t, "1-D and 3-D");
}

/* ---- The fused epilogues ------------------------------------------------------------------ */

static void test_epilogues(void **state)
{
    (void)state;
    static const struct {
        const char *act;
        float alpha, beta;
    } acts[] = {{"Relu", 0, 0},       {"LeakyRelu", 0.1f, 0}, {"Clip", 0.0f, 6.0f},
                {"Clip", -1.5f, 0.5f}, {"Sigmoid", 0, 0},     {"Tanh", 0, 0},
                {"HardSwish", 0, 0}};
    conv_case shapes[] = {
        {.sp = 2, .n = 1, .c = 5, .m = 9, .group = 1, .in = {9, 19}, .k = {3, 3}, .s = {1, 1},
         .d = {1, 1}, .pads_given = 1, .pads = {1, 1, 1, 1}, .bias = 1},
        {.sp = 2, .n = 1, .c = 6, .m = 6, .group = 6, .in = {8, 11}, .k = {3, 3}, .s = {2, 2},
         .d = {1, 1}, .pads_given = 1, .pads = {1, 1, 1, 1}, .bias = 1},
        {.sp = 2, .n = 1, .c = 8, .m = 4, .group = 1, .in = {6, 7}, .k = {1, 1}, .s = {1, 1},
         .d = {1, 1}, .bias = 1},
        {.transpose = 1, .sp = 2, .n = 1, .c = 4, .m = 6, .group = 1, .in = {5, 6}, .k = {3, 3},
         .s = {2, 2}, .d = {1, 1}, .pads_given = 1, .pads = {1, 1, 1, 1}, .bias = 1},
    };
    tally t = {0};
    for (size_t s = 0; s < COUNT(shapes); s++)
        for (size_t a = 0; a < COUNT(acts); a++) {
            if (small() && a % COUNT(shapes) != s)
                continue; /* oclgrind: each activation on one of the shapes */
            conv_case cc = shapes[s];
            cc.act = acts[a].act;
            cc.alpha = acts[a].alpha;
            cc.beta = acts[a].beta;
            assert_true(run_case(&cc, NULL, &t) > 0);
        }
    tally_print(&t, "epilogues");
}

/* ---- Small tiles: every edge of every tile dimension ------------------------------------ */

/* A kernel's tiles forced small through its tile variable, so that the
 * cases cross every edge of every tile dimension. */
typedef struct tile_test {
    const char *what, *env, *impl;
    const char *tiles[6];     /* NULL ends; "": the table's own choice */
    size_t oclgrind[2];       /* the tiles kept under oclgrind */
    int edges;                /* the edge shapes below first */
    conv_case cases[6];       /* .sp 0 ends */
} tile_test;

/* Shapes that end partway through the tiles of both direct kernels:
 * uneven pads, and groups with SAME padding and stride 2. */
static const conv_case tile_edges[] = {
    {.sp = 2, .n = 2, .c = 5, .m = 7, .group = 1, .in = {11, 13}, .k = {3, 3}, .s = {1, 1},
     .d = {1, 1}, .pads_given = 1, .pads = {1, 2, 0, 1}, .bias = 1},
    {.sp = 2, .n = 1, .c = 4, .m = 10, .group = 2, .in = {10, 23}, .k = {3, 5}, .s = {2, 2},
     .d = {1, 1}, .auto_pad = "SAME_UPPER", .bias = 1},
};

/* Every case on tt->impl alone, which must take each, under each tile. */
static void run_tile_test(const tile_test *tt)
{
    size_t tiles = 0, cases = 0;
    while (tiles < COUNT(tt->tiles) && tt->tiles[tiles])
        tiles++;
    while (cases < COUNT(tt->cases) && tt->cases[cases].sp)
        cases++;
    tally t = {0};
    for (size_t i = 0; i < (small() ? COUNT(tt->oclgrind) : tiles); i++) {
        const char *tile = tt->tiles[small() ? tt->oclgrind[i] : i];
        if (tile[0])
            setenv(tt->env, tile, 1);
        for (size_t c = 0; tt->edges && c < COUNT(tile_edges); c++)
            assert_int_equal(run_case(&tile_edges[c], tt->impl, &t), 1);
        for (size_t c = 0; c < cases; c++)
            assert_int_equal(run_case(&tt->cases[c], tt->impl, &t), 1);
        unsetenv(tt->env);
    }
    tally_print(&t, tt->what);
}

static void test_direct_tiles(void **state)
{
    (void)state;
    static const tile_test tt = {
        "direct tiles", "WEFT_CONV_TILE", "direct",
        {"3,1,4,3,1", "3,2,4,2", "5,3,8,1", "2,1,16,2", "1,4,4,3", "8,1,16,2,1"},
        {0, 1},
        1,
        {{.sp = 2, .n = 1, .c = 3, .m = 4, .group = 1, .in = {12, 17}, .k = {2, 3}, .s = {3, 3},
          .d = {2, 1}, .pads_given = 1, .pads = {2, 1, 1, 2}},
         {.sp = 2, .n = 2, .c = 6, .m = 9, .group = 1, .in = {7, 6}, .k = {3, 2}, .s = {1, 1},
          .d = {2, 1}, .pads_given = 1, .pads = {2, 0, 1, 1}, .bias = 1}},
    };
    run_tile_test(&tt);
}

/* ---- direct_oc tiles: positions past the plane, channels past the group ----------- */

static void test_direct_oc_tiles(void **state)
{
    (void)state;
    /* TM,VW,NV[,PG,CB]: planes and channel counts that leave partial
     * tiles of both kinds, one-position and one-lane-vector tiles; several
     * position tiles per work-item (the last past the plane) and reduction
     * blocks whose last one is short, of one channel, or all of them */
    static const tile_test tt = {
        "direct_oc tiles", "WEFT_CONV_OC_TILE", "direct_oc",
        {"3,4,2,3,2", "7,16,4", "5,8,3,2,5", "1,4,1,4,1", "6,16,4,1,0", "7,16,2,1,64"},
        {0, 1},
        1,
        {{.sp = 2, .n = 1, .c = 3, .m = 37, .group = 1, .in = {12, 17}, .k = {2, 3}, .s = {3, 3},
          .d = {2, 1}, .pads_given = 1, .pads = {2, 1, 1, 2}},
         {.sp = 2, .n = 1, .c = 24, .m = 33, .group = 1, .in = {7, 7}, .k = {3, 3}, .s = {1, 1},
          .d = {1, 1}, .pads_given = 1, .pads = {1, 1, 1, 1}, .bias = 1}},
    };
    run_tile_test(&tt);
}

/* ---- Stems: few input channels, wide kernels, the rolled tap loop ---------------- */

/* conv_direct's stem tile (src/ops/conv_direct.c: conv_stem_tile) and
 * rolled loops of constant width (ROLL) forced small, so that every edge
 * of it is crossed: channels past the tile (13 of 16, 9 of 3 x 4), rows
 * and columns past it, strides 1 to 4, dilation, asymmetric and SAME
 * pads, groups, a batch of 2, bias or not, fused activations; then the
 * table's own choice (the stem tile on CPU-class devices). Under
 * oclgrind: the stem tile and the table's. */
static void test_direct_stem(void **state)
{
    (void)state;
    static const tile_test tt = {
        "direct stem tiles", "WEFT_CONV_TILE", "direct",
        {"8,3,16,1,0,1", "3,2,4,1,0,1", "5,1,8,2,0,1", ""},
        {0, 2},
        0,
        {{.sp = 2, .n = 1, .c = 3, .m = 13, .group = 1, .in = {23, 29}, .k = {7, 7}, .s = {2, 2},
          .d = {1, 1}, .pads_given = 1, .pads = {3, 3, 3, 3}, .bias = 1, .act = "Relu"},
         {.sp = 2, .n = 1, .c = 1, .m = 8, .group = 1, .in = {24, 37}, .k = {11, 11},
          .s = {4, 4}, .d = {1, 1}, .pads_given = 1, .pads = {2, 2, 2, 2}},
         {.sp = 2, .n = 2, .c = 4, .m = 9, .group = 1, .in = {17, 18}, .k = {3, 3}, .s = {2, 2},
          .d = {1, 1}, .pads_given = 1, .pads = {1, 0, 1, 2}, .bias = 1, .act = "LeakyRelu",
          .alpha = 0.1f},
         {.sp = 2, .n = 1, .c = 3, .m = 16, .group = 1, .in = {19, 21}, .k = {5, 5}, .s = {3, 3},
          .d = {2, 2}, .pads_given = 1, .pads = {2, 2, 2, 2}, .bias = 1, .act = "Clip",
          .alpha = 0.0f, .beta = 6.0f},
         {.sp = 2, .n = 1, .c = 2, .m = 8, .group = 1, .in = {9, 40}, .k = {1, 7}, .s = {1, 1},
          .d = {1, 1}, .auto_pad = "SAME_UPPER"},
         {.sp = 2, .n = 1, .c = 4, .m = 16, .group = 2, .in = {14, 34}, .k = {7, 7}, .s = {2, 2},
          .d = {1, 1}, .pads_given = 1, .pads = {3, 2, 3, 4}, .bias = 1}},
    };
    run_tile_test(&tt);
}

/* ---- Depthwise rows (CPU-class devices: cl/conv_depthwise.cl's rows kernel) ------ */

/* Each case with each kernel forced (WEFT_TEST_DW_PATH), so that both run
 * on every device. Rows wide enough for its 16-column row copies and narrow ones, W strides
 * 1 and 2 with even and odd left pads, pads wider than the kernel's
 * reach, kernels 1x7/7x1/5x5, bands of several rows (few planes), several
 * units per work-item (many planes), 1-D and 3-D with independent depth
 * planes, each fused activation, and the shapes that fall back to the
 * padded copy (W stride 3, dilation). */
static void test_depthwise_rows(void **state)
{
    (void)state;
    const conv_case cases[] = {
        {.sp = 2, .n = 1, .c = 3, .m = 3, .group = 3, .in = {9, 40}, .k = {3, 3}, .s = {1, 1},
         .d = {1, 1}, .pads_given = 1, .pads = {1, 1, 1, 1}, .bias = 1},
        {.sp = 2, .n = 2, .c = 2, .m = 2, .group = 2, .in = {11, 37}, .k = {3, 3}, .s = {2, 2},
         .d = {1, 1}, .pads_given = 1, .pads = {1, 1, 1, 1}, .bias = 1},
        {.sp = 2, .n = 1, .c = 3, .m = 3, .group = 3, .in = {8, 34}, .k = {3, 3}, .s = {2, 2},
         .d = {1, 1}, .pads_given = 1, .pads = {0, 2, 1, 0}},
        {.sp = 2, .n = 1, .c = 2, .m = 2, .group = 2, .in = {7, 33}, .k = {5, 5}, .s = {1, 2},
         .d = {1, 1}, .pads_given = 1, .pads = {3, 2, 1, 4}, .bias = 1},
        {.sp = 2, .n = 1, .c = 4, .m = 4, .group = 4, .in = {10, 19}, .k = {1, 7}, .s = {1, 1},
         .d = {1, 1}, .auto_pad = "SAME_UPPER", .bias = 1},
        {.sp = 2, .n = 1, .c = 4, .m = 4, .group = 4, .in = {12, 17}, .k = {7, 1}, .s = {3, 2},
         .d = {1, 1}, .auto_pad = "SAME_LOWER"},
        {.sp = 2, .n = 1, .c = 2, .m = 2, .group = 2, .in = {300, 20}, .k = {3, 3}, .s = {1, 1},
         .d = {1, 1}, .pads_given = 1, .pads = {1, 1, 1, 1}, .bias = 1},
        {.sp = 2, .n = 2, .c = 270, .m = 270, .group = 270, .in = {5, 6}, .k = {3, 3},
         .s = {1, 1}, .d = {1, 1}, .pads_given = 1, .pads = {1, 1, 1, 1}, .bias = 1},
        {.sp = 2, .n = 1, .c = 3, .m = 3, .group = 3, .in = {2, 3}, .k = {3, 3}, .s = {1, 1},
         .d = {1, 1}, .pads_given = 1, .pads = {2, 2, 2, 2}, .bias = 1},
        {.sp = 1, .n = 2, .c = 3, .m = 3, .group = 3, .in = {50}, .k = {3}, .s = {2}, .d = {1},
         .pads_given = 1, .pads = {1, 0}, .bias = 1},
        {.sp = 3, .n = 1, .c = 2, .m = 2, .group = 2, .in = {3, 6, 18}, .k = {1, 3, 3},
         .s = {1, 1, 1}, .d = {1, 1, 1}, .pads_given = 1, .pads = {0, 1, 1, 0, 1, 1}},
        {.sp = 2, .n = 1, .c = 2, .m = 2, .group = 2, .in = {9, 20}, .k = {3, 3}, .s = {1, 3},
         .d = {1, 1}, .pads_given = 1, .pads = {1, 1, 1, 1}},
        {.sp = 2, .n = 1, .c = 2, .m = 2, .group = 2, .in = {9, 20}, .k = {3, 3}, .s = {1, 1},
         .d = {1, 2}, .pads_given = 1, .pads = {1, 1, 1, 1}},
    };
    const size_t oclgrind_cases[] = {0, 1, 3, 9};
    static const char *const paths[] = {"rows", "padded"};
    tally t = {0};
    size_t count = small() ? COUNT(oclgrind_cases) : COUNT(cases);
    for (size_t p = 0; p < COUNT(paths); p++) {
        setenv("WEFT_TEST_DW_PATH", paths[p], 1); /* whatever the device's class */
        for (size_t i = 0; i < count; i++) {
            conv_case cc = cases[small() ? oclgrind_cases[i] : i];
            if (small() && cc.in[0] > 9)
                cc.in[0] = 9;
            /* each fused activation on some case (ReLU6: MobileNetV2's) */
            static const struct {
                const char *act;
                float alpha, beta;
            } acts[] = {{NULL, 0, 0},        {"Clip", 0.0f, 6.0f}, {"Relu", 0, 0},
                        {"LeakyRelu", 0.1f, 0}, {"Sigmoid", 0, 0},  {"Tanh", 0, 0},
                        {"HardSwish", 0, 0}};
            cc.act = acts[i % COUNT(acts)].act;
            cc.alpha = acts[i % COUNT(acts)].alpha;
            cc.beta = acts[i % COUNT(acts)].beta;
            assert_int_equal(run_case(&cc, "depthwise", &t), 1);
        }
    }
    unsetenv("WEFT_TEST_DW_PATH");
    tally_print(&t, "depthwise rows and padded");
}

/* ---- Refusals: supports() says why, a forced implementation fails -------------- */

static void expect_refusal(const weft_graph *g, const char *impl, const char *part)
{
    op_test_expect_refusal(g, &g->nodes[0], op_test_impl(g->nodes[0].op, impl), &g_dev, part);
}

static void test_refusals(void **state)
{
    (void)state;
    conv_case cc = {.sp = 2, .n = 1, .c = 4, .m = 4, .group = 2, .in = {6, 6}, .k = {3, 3},
                    .s = {1, 1}, .d = {1, 1}, .bias = 1};
    case_data cd;
    make_data(&cc, "refusals", &cd);
    weft_graph *g = build_graph(&cc, &cd, 1);
    assert_weft_ok(weft_graph_validate(g));
    expect_refusal(g, "gemm1x1", "not a 1x1");
    expect_refusal(g, "im2col", "groups with a bias");
    expect_refusal(g, "depthwise", "not depthwise");
    /* a forced implementation that cannot run the node fails the session */
    weft_session_options so;
    weft_session_options_defaults(&so);
    so.force_impl = "Conv:depthwise";
    weft_session *s = NULL;
    assert_weft_status(weft_session_create(g_ctx, g, &so, &s), WEFT_ERR_UNSUPPORTED,
                       "not depthwise");
    assert_null(s);
    weft_graph_release(g);
    /* weights computed at run time cannot be packed at prepare */
    weft_graph *h;
    int64_t xd[4] = {1, 4, 6, 6}, wd[4] = {4, 4, 3, 3};
    assert_weft_ok(weft_graph_create(&h));
    assert_weft_ok(weft_graph_add_input(h, "x", WEFT_FLOAT32, 4, xd));
    assert_weft_ok(weft_graph_add_input(h, "w", WEFT_FLOAT32, 4, wd));
    const char *in[2] = {"x", "w"}, *out[1] = {"y"};
    assert_weft_ok(weft_graph_add_node(h, "Conv", "node", in, 2, NULL, out, 1));
    assert_weft_ok(weft_graph_add_output(h, "y"));
    assert_weft_ok(weft_graph_validate(h));
    expect_refusal(h, "direct", "constants");
    /* an activation the kernels do not fuse */
    weft_graph_release(h);
    g = build_graph(&cc, &cd, 1);
    weft_node *n = &g->nodes[0];
    assert_weft_ok(weft_attrs_set_string(&n->attrs, "_weft_activation", "Gelu"));
    assert_weft_ok(weft_graph_validate(g));
    expect_refusal(g, "direct", "_weft_activation");
    weft_graph_release(g);
    free_data(&cd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_grid),
        cmocka_unit_test(test_depthwise_grid),
        cmocka_unit_test(test_pointwise_grid),
        cmocka_unit_test(test_transpose_grid),
        cmocka_unit_test(test_conv_1d_3d),
        cmocka_unit_test(test_epilogues),
        cmocka_unit_test(test_direct_tiles),
        cmocka_unit_test(test_direct_oc_tiles),
        cmocka_unit_test(test_direct_stem),
        cmocka_unit_test(test_depthwise_rows),
        cmocka_unit_test(test_refusals),
    };
    /* the padded input and the column matrix live in the node's workspace */
    if (op_test_open_device(&g_ctx, &g_dev) != 0)
        return 1;
    /* WEFT_TEST_FILTER=pattern runs the matching tests only (cmocka's filter) */
    if (getenv("WEFT_TEST_FILTER"))
        cmocka_set_test_filter(getenv("WEFT_TEST_FILTER"));
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    weft_cache_stats cs;
    if (weft_context_cache_stats(g_ctx, &cs) == WEFT_OK)
        printf("programs: %llu built, %llu from memory\n", (unsigned long long)cs.builds,
               (unsigned long long)cs.memory_hits);
    weft_context_release(g_ctx);
    return failed;
}
