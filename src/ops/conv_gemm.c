/*
 * Conv as a GEMM on the engine of gemm_engine.h, with its two back ends
 * as separate implementations (weft's register-tiled kernel, CLBlast):
 *   gemm1x1, gemm1x1_clblast  kernels of 1 with stride 1 and no padding:
 *                             per image, Y [M, P] = W [M, C] * X [C, P]
 *                             on the NCHW tensors as they are (P the
 *                             pixels), no copy;
 *   im2col, im2col_clblast    any Conv: cl/conv_im2col.cl writes the column
 *                             matrix COL [C * taps, P] of every image into
 *                             the workspace, then Y = W [M, C * taps] * COL.
 * W is the GEMM's A as given (packed once by the engine), images are the
 * engine's batch, and bias + residual + activation are the engine's fused
 * epilogue (conv_geom.h's codes are the engine's; the residual is D).
 * Groups become the engine's second batch index when there is no bias
 * (the engine's bias vector is shared by every batch index, and a group's
 * channels start at g * M/G).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ops/conv_geom.h"
#include "ops/gemm_engine.h"

static const char *const conv_ops[] = {"Conv", NULL};

_Static_assert(CONV_ACT_RELU == (int)WEFT_GEMM_ACT_RELU &&
                   CONV_ACT_LEAKY_RELU == (int)WEFT_GEMM_ACT_LEAKY_RELU &&
                   CONV_ACT_CLIP == (int)WEFT_GEMM_ACT_CLIP &&
                   CONV_ACT_SIGMOID == (int)WEFT_GEMM_ACT_SIGMOID &&
                   CONV_ACT_TANH == (int)WEFT_GEMM_ACT_TANH &&
                   CONV_ACT_HARD_SWISH == (int)WEFT_GEMM_ACT_HARD_SWISH,
               "conv_geom.h's activation codes are the GEMM engine's");

/* The product for geometry geo: batch {N, G}; B is X (1x1) or COL. */
static void conv_desc(const conv_geom *geo, int one_by_one, weft_gemm_backend backend,
                      weft_gemm_desc *d)
{
    size_t p = (size_t)(geo->out[0] * geo->out[1] * geo->out[2]);
    size_t kk = (size_t)(geo->cg * conv_geom_taps(geo)), mg = (size_t)geo->mg;
    weft_gemm_desc_init(d, mg, p, kk);
    d->batch[0] = (size_t)geo->n;
    d->batch[1] = (size_t)geo->group;
    d->a.batch_stride[1] = mg * kk;
    /* 1x1: X [N, C, P] with group g's channels from g * cg; COL [N, G, kk, P] */
    d->b.batch_stride[0] = one_by_one ? (size_t)geo->c * p : (size_t)geo->group * kk * p;
    d->b.batch_stride[1] = kk * p;
    d->c_batch_stride[0] = (size_t)geo->m * p;
    d->c_batch_stride[1] = mg * p;
    d->bias = geo->has_bias ? WEFT_GEMM_BIAS_ROW : WEFT_GEMM_BIAS_NONE;
    if (geo->epi.residual) {
        /* The fused residual is D, laid out like C, beta 1. */
        d->has_d = 1;
        d->beta = 1.0f;
        d->d_row_stride = p;
        d->d_col_stride = 1;
        d->d_batch_stride[0] = d->c_batch_stride[0];
        d->d_batch_stride[1] = d->c_batch_stride[1];
    }
    d->act = (weft_gemm_act)geo->epi.act;
    d->act_alpha = geo->epi.alpha;
    d->act_beta = geo->epi.beta;
    d->backend = backend;
}

static int is_1x1(const conv_geom *geo)
{
    for (int i = 0; i < 3; i++)
        if (geo->k[i] != 1 || geo->s[i] != 1 || geo->pad[i] != 0 || geo->pad_end[i] != 0)
            return 0;
    return 1;
}

/* The column matrix's floats for all images. */
static double col_elements(const conv_geom *geo)
{
    return (double)geo->n * (double)geo->c * (double)conv_geom_taps(geo) *
           (double)(geo->out[0] * geo->out[1] * geo->out[2]);
}

static int gemm_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                         int one_by_one, weft_gemm_backend backend, char *why, size_t cap)
{
    conv_geom geo;
    if (!conv_supports_common(g, n, &geo, why, cap) ||
        !weft_gemm_backend_available(backend, d, why, cap))
        return 0;
    if (geo.transpose)
        return weft_op_refuse(why, cap, "not a Conv");
    if (one_by_one && !is_1x1(&geo))
        return weft_op_refuse(why, cap, "not a 1x1 kernel with stride 1 and no padding");
    if (geo.group > 1 && geo.has_bias)
        return weft_op_refuse(why, cap, "groups with a bias (the GEMM's bias is per product)");
    if (!one_by_one && col_elements(&geo) > (double)INT32_MAX)
        return weft_op_refuse(why, cap, "the column matrix would exceed 2^31 - 1 elements");
    /* The engine's own size limits (see check_desc in gemm.c). */
    weft_gemm_desc desc;
    conv_desc(&geo, one_by_one, backend, &desc);
    if ((double)(desc.m + 8) * (double)desc.k > INT32_MAX ||
        (double)(desc.n + 64) * (double)desc.k > INT32_MAX)
        return weft_op_refuse(why, cap, "the GEMM would exceed 2^31 - 1 elements");
    return 1;
}

static double gemm_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                        int one_by_one, weft_gemm_backend backend)
{
    conv_geom geo;
    char why[8];
    if (!conv_geom_read(g, n, &geo, why, sizeof why))
        return 1e30;
    weft_gemm_desc desc;
    conv_desc(&geo, one_by_one, backend, &desc);
    /* im2col writes COL and the GEMM reads it back: ~10 GB/s */
    return weft_gemm_cost(&desc, d) + (one_by_one ? 0 : 8 * col_elements(&geo) / 10e9);
}

typedef struct gemm_state {
    weft_gemm_plan plan;
    cl_kernel im2col;
    size_t local, col_floats;
    int one_by_one;
    conv_geom geo;
} gemm_state;

static weft_status gemm_prepare(weft_prepare *p, int one_by_one, weft_gemm_backend backend)
{
    weft_status st = conv_prepare_state(p, sizeof(gemm_state), offsetof(gemm_state, geo));
    if (st != WEFT_OK)
        return st;
    gemm_state *s = p->state;
    s->one_by_one = one_by_one;
    weft_gemm_desc desc;
    conv_desc(&s->geo, one_by_one, backend, &desc);
    desc.a.host = p->inputs[1].host;
    st = weft_gemm_prepare(p, &desc, &s->plan);
    if (st != WEFT_OK)
        return st;
    if (!one_by_one) {
        s->col_floats = (size_t)col_elements(&s->geo);
        weft_options o;
        weft_options_init(&o);
        st = weft_op_kernel(p, "conv_im2col", &o, "conv_im2col_f32", &s->im2col);
        if (st != WEFT_OK)
            return st;
        s->local = weft_op_local_size(p, s->im2col, 16);
    }
    p->workspace_bytes = s->col_floats * sizeof(float) + s->plan.workspace_bytes;
    return WEFT_OK;
}

static weft_status gemm_enqueue(weft_run *r)
{
    gemm_state *s = r->state;
    const conv_geom *geo = &s->geo;
    weft_status st = WEFT_OK;
    if (!s->one_by_one) {
        cl_int v[22];
        int a = 0;
        v[a++] = (cl_int)geo->n;
        v[a++] = (cl_int)geo->c;
        a += conv_geom_window_args(geo, v + a);
        weft_arg args[2 + 22];
        args[0] = WEFT_ARG(r->inputs[0].mem);
        args[1] = WEFT_ARG(r->workspace);
        for (int i = 0; i < a; i++)
            args[2 + i] = WEFT_ARG(v[i]);
        st = weft_op_set_args(r, s->im2col, args, (size_t)(2 + a));
        /* (output rows, COL rows, images); groups of consecutive COL rows */
        size_t rows = (size_t)(geo->c * conv_geom_taps(geo)), l = s->local;
        size_t global[3] = {(size_t)(geo->out[0] * geo->out[1]), (rows + l - 1) / l * l,
                            (size_t)geo->n};
        size_t local[3] = {1, l, 1};
        if (st == WEFT_OK)
            st = weft_op_launch(r, s->im2col, 3, global, local);
        if (st != WEFT_OK)
            return st;
    }
    weft_gemm_buffers b = {
        .a = NULL,
        .b = s->one_by_one ? r->inputs[0].mem : r->workspace,
        .c = r->outputs[0].mem,
        .bias = geo->has_bias ? r->inputs[2].mem : NULL,
        .d = geo->epi.residual ? r->inputs[3].mem : NULL,
        .workspace = r->workspace,
        .workspace_off = s->col_floats,
    };
    return weft_gemm_enqueue(r, &s->plan, &b);
}

static void gemm_release(void *state)
{
    gemm_state *s = state;
    if (s)
        weft_gemm_plan_release(&s->plan);
    free(s);
}

/* The four entries: (1x1 or im2col) x (weft or CLBlast). */
/* Tiles to tune: the GEMM engine's for its own back end; CLBlast picks its own. */
#define CONV_GEMM_VARIANT_WEFT_GEMM_WEFT weft_gemm_variant
#define CONV_GEMM_VARIANT_WEFT_GEMM_CLBLAST NULL
#define CONV_GEMM_IMPL(ident, label, one, backend)                                              \
    static int ident##_supports(const weft_graph *g, const weft_node *n,                        \
                                const weft_device_info *d, char *why, size_t cap)               \
    {                                                                                           \
        return gemm_supports(g, n, d, one, backend, why, cap);                                  \
    }                                                                                           \
    static double ident##_cost(const weft_graph *g, const weft_node *n,                         \
                               const weft_device_info *d)                                       \
    {                                                                                           \
        return gemm_cost(g, n, d, one, backend);                                                \
    }                                                                                           \
    static weft_status ident##_prepare(weft_prepare *p)                                         \
    {                                                                                           \
        return gemm_prepare(p, one, backend);                                                   \
    }                                                                                           \
    const weft_op_impl weft_impl_##ident = {                                                    \
        .name = label,                                                                          \
        .ops = conv_ops,                                                                        \
        .supports = ident##_supports,                                                           \
        .cost = ident##_cost,                                                                   \
        .prepare = ident##_prepare,                                                             \
        .enqueue = gemm_enqueue,                                                                \
        .release = gemm_release,                                                                \
        .variant = CONV_GEMM_VARIANT_##backend,                                                 \
    };

CONV_GEMM_IMPL(conv_gemm1x1, "gemm1x1", 1, WEFT_GEMM_WEFT)
CONV_GEMM_IMPL(conv_gemm1x1_clblast, "gemm1x1_clblast", 1, WEFT_GEMM_CLBLAST)
CONV_GEMM_IMPL(conv_im2col, "im2col", 0, WEFT_GEMM_WEFT)
CONV_GEMM_IMPL(conv_im2col_clblast, "im2col_clblast", 0, WEFT_GEMM_CLBLAST)
