/*
 * Conv by Winograd's minimal filtering F(2x2, 3x3) and F(4x4, 3x3)
 * ("winograd_f2x2", "winograd_f4x4"): 2-D, 3x3 kernels, stride 1,
 * dilation 1, one group, any padding, with the fused bias + residual +
 * activation epilogue of conv_geom.h. Transforms and their source:
 * cl/conv_winograd.cl (Lavin and Gray, arXiv:1509.09308).
 *
 * With T = M + 2 and the output cut into M x M tiles (P of them over the
 * batch), each of the T * T transformed positions xi is one product
 *   MM[xi] [K, P] = U[xi] [K, C] * V[xi] [C, P]
 * run as one batched product on the GEMM engine (gemm_engine.h), between
 *   prepare  U = G g G^T per output and input channel, on the host in
 *            double, handed to the engine as its constant A (packed and
 *            uploaded once);
 *   run      wino_input_f32 writes V = B^T d B of every tile and channel
 *            into the workspace, the engine writes MM next to it, and
 *            wino_output_f32 writes Y = A^T MM A + bias (+ R), activated.
 * The workspace holds V, MM and the engine's own scratch.
 *
 * Arithmetic: F(4x4)'s transforms have entries up to 8 (A^T) and 5 (B^T)
 * and its G fractions of 6, 12 and 24, so its rounding error is about 20
 * times F(2x2)'s (tests/test_winograd.c measures both against the
 * reference and bounds them; tests/test_conv.c's direct-sum bound does not
 * apply to them).
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ops/conv_geom.h"
#include "ops/gemm_engine.h"

static const char *const conv_ops[] = {"Conv", NULL};

/* cl/conv_winograd.cl's KERNELS. */
enum { WINO_KERNELS_INPUT = 1, WINO_KERNELS_OUTPUT = 2 };

/* G for each tile size (Lavin and Gray, section 4; rows: the T points). */
static const double g2[4][3] = {
    {1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
static const double g4[6][3] = {
    {1.0 / 4, 0, 0},
    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6},
    {1.0 / 24, -1.0 / 12, 1.0 / 6},
    {0, 0, 1}};

typedef struct wino_dims {
    int64_t m, t;       /* output tile, input tile (m + 2) */
    int64_t th, tw, p;  /* tiles per column and row; tiles in all (the batch's) */
    double v, mm;       /* floats of V and MM */
} wino_dims;

static void dims_of(const conv_geom *geo, int64_t m, wino_dims *w)
{
    w->m = m;
    w->t = m + 2;
    w->th = (geo->out[1] + m - 1) / m;
    w->tw = (geo->out[2] + m - 1) / m;
    w->p = geo->n * w->th * w->tw;
    w->v = (double)(w->t * w->t) * (double)geo->c * (double)w->p;
    w->mm = (double)(w->t * w->t) * (double)geo->m * (double)w->p;
}

static size_t round16(size_t x)
{
    return (x + 15) / 16 * 16;
}

/* The batched product: A = U [T*T][K][C], B = V [T*T][C][P], C = MM [T*T][K][P]. */
static void wino_desc(const conv_geom *geo, const wino_dims *w, weft_gemm_desc *d)
{
    size_t k = (size_t)geo->m, c = (size_t)geo->c, p = (size_t)w->p;
    weft_gemm_desc_init(d, k, p, c);
    d->batch[0] = (size_t)(w->t * w->t);
    d->a.batch_stride[0] = k * c;
    d->b.batch_stride[0] = c * p;
    d->c_batch_stride[0] = k * p;
}

static int wino_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                         int64_t m, char *why, size_t cap)
{
    (void)d;
    conv_geom geo;
    if (!conv_supports_common(g, n, &geo, why, cap))
        return 0;
    if (geo.transpose)
        return weft_op_refuse(why, cap, "not a Conv");
    if (geo.spatial != 2)
        return weft_op_refuse(why, cap, "Winograd runs 2-D convolutions only (%d spatial axes)",
                           geo.spatial);
    if (geo.k[1] != 3 || geo.k[2] != 3)
        return weft_op_refuse(why, cap, "kernel %lldx%lld, Winograd F(%lldx%lld, 3x3) needs 3x3",
                           (long long)geo.k[1], (long long)geo.k[2], (long long)m, (long long)m);
    if (geo.s[1] != 1 || geo.s[2] != 1)
        return weft_op_refuse(why, cap, "stride %lldx%lld, Winograd needs stride 1",
                           (long long)geo.s[1], (long long)geo.s[2]);
    if (geo.d[1] != 1 || geo.d[2] != 1)
        return weft_op_refuse(why, cap, "dilation %lldx%lld, Winograd needs dilation 1",
                           (long long)geo.d[1], (long long)geo.d[2]);
    if (geo.group != 1)
        return weft_op_refuse(why, cap, "%lld groups, Winograd needs one", (long long)geo.group);
    wino_dims w;
    dims_of(&geo, m, &w);
    weft_gemm_desc desc;
    wino_desc(&geo, &w, &desc);
    /* the engine's own limits (gemm.c's check_desc) and the kernels' int indices */
    if (w.v + w.mm > (double)INT32_MAX ||
        (double)(desc.m + 64) * (double)desc.k * (double)desc.batch[0] > INT32_MAX ||
        (double)(desc.n + 64) * (double)desc.k > INT32_MAX)
        return weft_op_refuse(why, cap, "the transformed tensors would exceed 2^31 - 1 elements");
    return 1;
}

/* Seconds: the batched product at the engine's estimate (weft_gemm_cost:
 * its FLOPs and the bytes of its operands), plus the transforms' traffic
 * (X, V, MM and Y, each once) at conv_direct's 10 GB/s on CPU-class
 * devices. Measured on PoCL (AVX-512, 2 cores; README), the estimate
 * against conv_direct's orders ResNet-18's 3x3 layers as the timings do:
 * F(4x4) at 56x56 and 28x28, F(2x2) at 14x14, direct at 7x7, where the
 * products get narrow (P = 4 or 16 tiles): F(4x4) is 2x slower there and
 * F(2x2) within the noise of direct, so direct is kept.
 * Other device classes: not measured, the same form with 100 GB/s. */
static double wino_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                        int64_t m)
{
    conv_geom geo;
    char why[8];
    if (!conv_geom_read(g, n, &geo, why, sizeof why))
        return 1e30;
    wino_dims w;
    dims_of(&geo, m, &w);
    weft_gemm_desc desc;
    wino_desc(&geo, &w, &desc);
    double x = (double)geo.n * (double)geo.c * (double)(geo.in[1] * geo.in[2]);
    double y = (double)geo.n * (double)geo.m * (double)(geo.out[1] * geo.out[2]);
    double bytes = 4.0 * (x + w.v + w.mm + y);
    return weft_gemm_cost(&desc, d) + bytes / (conv_cpu_class(d) ? 10e9 : 100e9);
}

typedef struct wino_state {
    weft_gemm_plan plan;
    cl_kernel input, output;
    conv_geom geo;
    wino_dims w;
    size_t v_off, mm_off, gemm_off; /* floats into the workspace */
    int cpu;
} wino_state;

/* (G g G^T) of one 3x3 filter f into u [t][t], in double. Called with t
 * and gm constant (see filter_transform), so that the products unroll. */
static inline void transform_one(const double (*gm)[3], int t, const float *f, double *u)
{
    double f0 = f[0], f1 = f[1], f2 = f[2], f3 = f[3], f4 = f[4], f5 = f[5], f6 = f[6],
           f7 = f[7], f8 = f[8];
    for (int a = 0; a < t; a++) {
        double g0 = gm[a][0], g1 = gm[a][1], g2_ = gm[a][2];
        /* row a of G g */
        double r0 = g0 * f0 + g1 * f3 + g2_ * f6;
        double r1 = g0 * f1 + g1 * f4 + g2_ * f7;
        double r2 = g0 * f2 + g1 * f5 + g2_ * f8;
        for (int b = 0; b < t; b++)
            u[a * t + b] = r0 * gm[b][0] + r1 * gm[b][1] + r2 * gm[b][2];
    }
}

/* U[xi][k][c] = (G g G^T)[a][b], xi = a * T + b, for W [K, C, 3, 3]. The
 * T * T planes of U are far apart: filters are transformed CB channels
 * at a time and each plane gets CB floats in a row, rather than one float
 * per plane and filter (measured 2x faster for C = K = 256). */
static inline void transform_all(const double (*gm)[3], int t, const float *wt, int64_t k_n,
                                 int64_t c_n, float *u)
{
    enum { CB = 32 };
    size_t plane = (size_t)(k_n * c_n);
    for (int64_t k = 0; k < k_n; k++)
        for (int64_t c0 = 0; c0 < c_n; c0 += CB) {
            int nb = c_n - c0 < CB ? (int)(c_n - c0) : CB;
            float blk[36][CB];
            for (int j = 0; j < nb; j++) {
                double one[36];
                transform_one(gm, t, wt + (k * c_n + c0 + j) * 9, one);
                for (int xi = 0; xi < t * t; xi++)
                    blk[xi][j] = (float)one[xi];
            }
            float *dst = u + (size_t)(k * c_n + c0);
            for (int xi = 0; xi < t * t; xi++)
                memcpy(dst + (size_t)xi * plane, blk[xi], (size_t)nb * sizeof(float));
        }
}

static float *filter_transform(const conv_geom *geo, const float *wt, int64_t m)
{
    int64_t t = m + 2, k_n = geo->m, c_n = geo->c;
    float *u = malloc((size_t)(t * t * k_n * c_n) * sizeof *u);
    if (!u)
        return NULL;
    /* The two tile sizes spelled out: constant t and G for the compiler. */
    if (m == 2)
        transform_all(g2, 4, wt, k_n, c_n, u);
    else
        transform_all(g4, 6, wt, k_n, c_n, u);
    return u;
}

static weft_status wino_prepare(weft_prepare *p, int64_t m)
{
    const weft_node *n = p->node;
    weft_status st = conv_prepare_state(p, sizeof(wino_state), offsetof(wino_state, geo));
    if (st != WEFT_OK)
        return st;
    wino_state *s = p->state;
    s->cpu = conv_cpu_class(p->device);
    dims_of(&s->geo, m, &s->w);
    weft_gemm_desc desc;
    wino_desc(&s->geo, &s->w, &desc);
    float *u = filter_transform(&s->geo, p->inputs[1].host, m);
    if (!u)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the transformed filters of node "
                         "'%s'", n->name);
    desc.a.host = u;
    st = weft_gemm_prepare(p, &desc, &s->plan);
    free(u);
    if (st != WEFT_OK)
        return st;
    s->v_off = 0;
    s->mm_off = round16((size_t)s->w.v);
    s->gemm_off = s->mm_off + round16((size_t)s->w.mm);
    p->workspace_bytes = s->gemm_off * sizeof(float) + s->plan.workspace_bytes;
    /* Two programs: the input transform's depends on M alone, so the
     * layers of every epilogue share it; the output transform's carries
     * the epilogue. */
    weft_options in, out;
    weft_options_init(&in);
    weft_options_define_int(&in, "M", m);
    weft_options_define_int(&in, "KERNELS", WINO_KERNELS_INPUT);
    weft_options_init(&out);
    weft_options_define_int(&out, "M", m);
    weft_options_define_int(&out, "KERNELS", WINO_KERNELS_OUTPUT);
    /* The residual is an argument, not an option: one program fewer. */
    conv_epilogue act = s->geo.epi;
    act.residual = 0;
    conv_epilogue_options(&act, &out);
    st = weft_op_kernel(p, "conv_winograd", &in, "wino_input_f32", &s->input);
    if (st == WEFT_OK)
        st = weft_op_kernel(p, "conv_winograd", &out, "wino_output_f32", &s->output);
    return st;
}

static weft_status wino_enqueue(weft_run *r)
{
    wino_state *s = r->state;
    const conv_geom *geo = &s->geo;
    const wino_dims *w = &s->w;
    static const size_t one[2] = {1, 1};
    const size_t *local = s->cpu ? one : NULL;
    cl_int c = (cl_int)geo->c, k = (cl_int)geo->m, h = (cl_int)geo->in[1], wd = (cl_int)geo->in[2];
    cl_int oh = (cl_int)geo->out[1], ow = (cl_int)geo->out[2];
    cl_int th = (cl_int)w->th, tw = (cl_int)w->tw, pn = (cl_int)w->p;
    cl_int ph = (cl_int)geo->pad[1], pw = (cl_int)geo->pad[2];
    cl_int in_planes = (cl_int)(geo->n * geo->c), out_planes = (cl_int)(geo->n * geo->m);
    cl_int has_bias = geo->has_bias;
    cl_mem ws = r->workspace;
    /* The input transform writes V at the start of the workspace. */
    weft_arg in_args[] = {WEFT_ARG(r->inputs[0].mem), WEFT_ARG(ws), WEFT_ARG(c), WEFT_ARG(h),
                          WEFT_ARG(wd), WEFT_ARG(th), WEFT_ARG(tw), WEFT_ARG(ph), WEFT_ARG(pw),
                          WEFT_ARG(pn), WEFT_ARG(in_planes)};
    weft_status st = weft_op_set_args(r, s->input, in_args, sizeof in_args / sizeof *in_args);
    size_t global_in[2] = {(size_t)th, (size_t)in_planes};
    if (st == WEFT_OK)
        st = weft_op_launch(r, s->input, 2, global_in, local);
    if (st != WEFT_OK)
        return st;
    weft_gemm_buffers b = {
        .b = ws,
        .b_off = s->v_off,
        .c = ws,
        .c_off = s->mm_off,
        .workspace = ws,
        .workspace_off = s->gemm_off,
    };
    if ((st = weft_gemm_enqueue(r, &s->plan, &b)) != WEFT_OK)
        return st;
    cl_mem bias = geo->has_bias ? r->inputs[2].mem : NULL;
    /* Without a residual the kernel never reads it: any buffer. */
    cl_int resid = geo->epi.residual != 0;
    cl_mem res = resid ? r->inputs[3].mem : r->outputs[0].mem;
    cl_int mm_off = (cl_int)s->mm_off;
    weft_arg out_args[] = {WEFT_ARG(ws),         WEFT_ARG(mm_off),     WEFT_ARG(bias),
                           WEFT_ARG(res),        WEFT_ARG(r->outputs[0].mem), WEFT_ARG(k),
                           WEFT_ARG(oh),         WEFT_ARG(ow),         WEFT_ARG(th),
                           WEFT_ARG(tw),         WEFT_ARG(pn),         WEFT_ARG(out_planes),
                           WEFT_ARG(has_bias),   WEFT_ARG(resid)};
    st = weft_op_set_args(r, s->output, out_args, sizeof out_args / sizeof *out_args);
    size_t global_out[2] = {(size_t)th, (size_t)out_planes};
    if (st == WEFT_OK)
        st = weft_op_launch(r, s->output, 2, global_out, local);
    return st;
}

static void wino_release(void *state)
{
    wino_state *s = state;
    if (s)
        weft_gemm_plan_release(&s->plan);
    free(s);
}

#define CONV_WINO_IMPL(ident, label, m)                                                         \
    static int ident##_supports(const weft_graph *g, const weft_node *n,                        \
                                const weft_device_info *d, char *why, size_t cap)               \
    {                                                                                           \
        return wino_supports(g, n, d, m, why, cap);                                             \
    }                                                                                           \
    static double ident##_cost(const weft_graph *g, const weft_node *n,                         \
                               const weft_device_info *d)                                       \
    {                                                                                           \
        return wino_cost(g, n, d, m);                                                           \
    }                                                                                           \
    static weft_status ident##_prepare(weft_prepare *p)                                         \
    {                                                                                           \
        return wino_prepare(p, m);                                                              \
    }                                                                                           \
    const weft_op_impl weft_impl_##ident = {                                                    \
        .name = label,                                                                          \
        .ops = conv_ops,                                                                        \
        .supports = ident##_supports,                                                           \
        .cost = ident##_cost,                                                                   \
        .prepare = ident##_prepare,                                                             \
        .enqueue = wino_enqueue,                                                                \
        .release = wino_release,                                                                \
    };

CONV_WINO_IMPL(conv_winograd_f2x2, "winograd_f2x2", 2)
CONV_WINO_IMPL(conv_winograd_f4x4, "winograd_f4x4", 4)
