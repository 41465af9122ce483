/*
 * ConvTranspose as a gather (cl/conv_transpose.cl): every output element
 * sums the products that reach it, so each is written once, with no
 * zero-stuffed input and no atomics. Strides, pads (those generated from
 * output_shape or SAME_* included, negative ones too), output_padding,
 * dilations, groups, 1 to 3 spatial axes, the fused epilogue of
 * conv_geom.h. A work-item computes KT output channels x VW positions of
 * one phase along W (VW consecutive inputs: one vector load per tap and
 * channel); weights are packed at prepare so the KT weights of one tap and
 * channel are adjacent.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ops/conv_geom.h"

static const char *const transpose_ops[] = {"ConvTranspose", NULL};

static int pick_kt(int64_t mg)
{
    return mg >= 8 ? 8 : mg >= 4 ? 4 : mg >= 2 ? 2 : 1;
}

/* Positions per work-item: the widest vector the phases' rows fill. */
static int pick_vw(const conv_geom *geo)
{
    int64_t nj = (geo->out[2] + geo->s[2] - 1) / geo->s[2];
    return nj >= 12 ? 16 : nj >= 6 ? 8 : 4;
}

/* Work-items: N * G * MT * OD * OH * (SW * JT). */
static double ct_items(const conv_geom *geo, int64_t mt, int vw, int64_t *jt)
{
    int64_t nj = (geo->out[2] + geo->s[2] - 1) / geo->s[2];
    *jt = (nj + vw - 1) / vw;
    return (double)geo->n * (double)geo->group * (double)mt *
           (double)(geo->out[0] * geo->out[1]) * (double)geo->s[2] * (double)*jt;
}

static int ct_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                       char *why, size_t cap)
{
    (void)d;
    conv_geom geo;
    if (!conv_supports_common(g, n, &geo, why, cap))
        return 0;
    if (!geo.transpose)
        return weft_op_refuse(why, cap, "not a ConvTranspose");
    if (geo.epi.residual)
        return weft_op_refuse(why, cap, "no fused residual (input 3) in the transposed kernel");
    int64_t mt = (geo.mg + pick_kt(geo.mg) - 1) / pick_kt(geo.mg), jt;
    double items = ct_items(&geo, mt, pick_vw(&geo), &jt);
    double packed = (double)geo.group * (double)mt * (double)geo.cg *
                    (double)conv_geom_taps(&geo) * pick_kt(geo.mg);
    if (items > INT32_MAX || packed > INT32_MAX)
        return weft_op_refuse(why, cap, "more than 2^31 - 1 work-items or packed weights");
    return 1;
}

/* Seconds: the MACs that land (those of X's positions) at 2 FMA lanes per
 * compute unit and cycle — a gather of scalar loads — plus the bytes. */
static double ct_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    conv_geom geo;
    char why[8];
    if (!conv_geom_read(g, n, &geo, why, sizeof why))
        return 1e30;
    double clock = d && d->clock_mhz ? d->clock_mhz * 1e6 : 1e9;
    double units = d && d->compute_units ? d->compute_units : 1;
    double out = (double)geo.n * (double)geo.m * (double)(geo.out[0] * geo.out[1] * geo.out[2]);
    return conv_geom_macs(&geo) / (2 * clock * units) + 8 * out / 10e9;
}

typedef struct ct_state {
    cl_kernel kernel;
    cl_mem weights, bias;
    conv_geom geo;
    int kt, vw;
    int64_t mt, jt; /* channel tiles; position tiles per phase along W */
    size_t local;
} ct_state;

/* WP[g][mt][taps][c][KT] from W [C, M/group, taps]; BP[g][mt * KT]. */
static weft_status ct_pack(weft_prepare *p, ct_state *s)
{
    const conv_geom *geo = &s->geo;
    const float *w = p->inputs[1].host;
    const float *b = p->input_count > 2 && p->inputs[2].host ? p->inputs[2].host : NULL;
    int64_t taps = conv_geom_taps(geo), kt = s->kt, mt = s->mt;
    size_t wcount = (size_t)(geo->group * mt * taps * geo->cg * kt);
    size_t bcount = (size_t)(geo->group * mt * kt);
    float *wp, *bp;
    weft_status st = conv_pack_alloc(p, wcount, bcount, &wp, &bp);
    if (st != WEFT_OK)
        return st;
    for (int64_t g = 0; g < geo->group; g++)
        for (int64_t ml = 0; ml < geo->mg; ml++) {
            int64_t tile = ml / kt, k = ml % kt;
            if (b)
                bp[(g * mt + tile) * kt + k] = b[g * geo->mg + ml];
            for (int64_t c = 0; c < geo->cg; c++)
                for (int64_t t = 0; t < taps; t++)
                    wp[(((g * mt + tile) * taps + t) * geo->cg + c) * kt + k] =
                        w[((g * geo->cg + c) * geo->mg + ml) * taps + t];
        }
    return conv_pack_upload(p, wp, wcount, bp, bcount, &s->weights, &s->bias);
}

static weft_status ct_prepare(weft_prepare *p)
{
    weft_status st = conv_prepare_state(p, sizeof(ct_state), offsetof(ct_state, geo));
    if (st != WEFT_OK)
        return st;
    ct_state *s = p->state;
    s->kt = pick_kt(s->geo.mg);
    s->mt = (s->geo.mg + s->kt - 1) / s->kt;
    s->vw = pick_vw(&s->geo);
    ct_items(&s->geo, s->mt, s->vw, &s->jt);
    st = ct_pack(p, s);
    if (st != WEFT_OK)
        return st;
    weft_options o;
    weft_options_init(&o);
    weft_options_define_int(&o, "KT", s->kt);
    weft_options_define_int(&o, "VW", s->vw);
    conv_epilogue_options(&s->geo.epi, &o);
    st = weft_op_kernel(p, "conv_transpose", &o, "conv_transpose_f32", &s->kernel);
    if (st == WEFT_OK)
        s->local = weft_op_local_size(p, s->kernel, 64);
    return st;
}

static weft_status ct_enqueue(weft_run *r)
{
    ct_state *s = r->state;
    const conv_geom *geo = &s->geo;
    cl_int v[26];
    int a = 0;
    int64_t jt;
    cl_int total = (cl_int)ct_items(geo, s->mt, s->vw, &jt);
    v[a++] = total;
    v[a++] = (cl_int)geo->cg;
    v[a++] = (cl_int)geo->mg;
    v[a++] = (cl_int)geo->group;
    v[a++] = (cl_int)s->mt;
    a += conv_geom_window_args(geo, v + a);
    v[a++] = (cl_int)jt;
    weft_arg args[4 + 26];
    args[0] = WEFT_ARG(r->inputs[0].mem);
    args[1] = WEFT_ARG(s->weights);
    args[2] = WEFT_ARG(s->bias);
    args[3] = WEFT_ARG(r->outputs[0].mem);
    for (int i = 0; i < a; i++)
        args[4 + i] = WEFT_ARG(v[i]);
    weft_status st = weft_op_set_args(r, s->kernel, args, (size_t)(4 + a));
    return st != WEFT_OK ? st : weft_op_launch_1d(r, s->kernel, (size_t)total, s->local);
}

static void ct_release(void *state)
{
    free(state);
}

const weft_op_impl weft_impl_conv_transpose = {
    .name = "gather",
    .ops = transpose_ops,
    .supports = ct_supports,
    .cost = ct_cost,
    .prepare = ct_prepare,
    .enqueue = ct_enqueue,
    .release = ct_release,
};
