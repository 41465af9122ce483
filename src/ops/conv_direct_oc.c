/*
 * Conv, direct with the vector lanes along the output channels
 * (cl/conv_direct_oc.cl): every kernel size, stride, padding, dilation and
 * group count over 1 to 3 spatial axes, with the fused epilogue of
 * conv_geom.h. It reads the zero-bordered copy of X that conv_pad.h
 * writes (row layout), like conv_direct.
 *
 * Where it wins: small output planes with many channels (ResNet-18's 7x7
 * layers: conv_direct's row tiles fill 49 of 64 lanes there and reuse
 * each weight over one tile only). The tile is TM positions x NV * VW
 * channels: TM 7 when the plane is a multiple of 7 (7x7 to 112x112), else
 * 6; NV * VW = 64 channels, 32 for groups under 64, 16 for groups of at
 * most 16. Each work-item computes PG such tiles, over reduction blocks
 * of CB input channels (oc_blocking). CPU-class devices only get a cost
 * that can win: the tile is sized for AVX-512's 32 vector registers and
 * one-item work-groups, as conv_direct's CPU table.
 * WEFT_CONV_OC_TILE="TM,VW,NV[,PG[,CB]]" overrides the choice.
 */
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>

#include "core/error.h"
#include "ops/conv_pad.h"

/* pg: position tiles per work-item; cb: input channels per reduction
 * block; 0 for either: chosen for the layer (oc_blocking). */
typedef struct oc_tile {
    int tm, vw, nv, pg, cb;
} oc_tile;

/* cl/conv_direct_oc.cl's PG_MAX: part[] holds this many tiles */
#define OC_PG_MAX 8

/* "TM,VW,NV[,PG[,CB]]" */
static int parse_oc_tile(const char *e, oc_tile *t)
{
    oc_tile f = {0};
    int got = e ? sscanf(e, "%d,%d,%d,%d,%d", &f.tm, &f.vw, &f.nv, &f.pg, &f.cb) : 0;
    if (got < 3 || f.tm < 1 || f.tm > 32 || f.nv < 1 || f.nv > 8 ||
        (f.vw != 4 && f.vw != 8 && f.vw != 16) || f.pg < 0 || f.pg > OC_PG_MAX || f.cb < 0)
        return 0;
    *t = f;
    return 1;
}

/* The tiles tuning tries (variant k is entry k - 1). */
static const char *const cpu_variants[] = {"7,16,4", "6,16,4", "7,16,2", "6,16,2", "7,16,3",
                                           "14,16,1", "7,16,4,1,0", NULL};
static const char *const other_variants[] = {"4,4,1", "4,4,2", "8,4,1", "2,4,4", NULL};

static const char *oc_variant(const weft_device_info *d, int k)
{
    const char *const *list = conv_cpu_class(d) ? cpu_variants : other_variants;
    for (int i = 1; *list && i < k; i++)
        list++;
    return k >= 1 ? *list : NULL;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

/* Blocking of the reduction, where the tile leaves it open. cb: about
 * 20 KB of weights per block (L1 holds it while the PG position tiles
 * reuse it). pg: as many position tiles per work-item as keep at least 4
 * work-items per compute unit (so that a plane's weights are read once
 * from memory, not once per tile), at most 8 (the sums in part[]). */
static void oc_blocking(const conv_geom *geo, const weft_device_info *d, oc_tile *t)
{
    int64_t lanes = (int64_t)t->vw * t->nv, taps = conv_geom_taps(geo);
    /* Under 1 MB of weights (half a core's L2 on current CPUs) they stay
     * in cache from tile to tile and blocking only costs: ResNet-18's
     * layer2.0 conv1 (295 KB) ran 0.73 ms blocked, 0.66 ms not. */
    double wbytes = 4.0 * (double)geo->m * (double)geo->cg * (double)taps;
    if (t->pg == 0 && t->cb == 0 && wbytes < 1048576.0) {
        t->pg = 1;
        t->cb = (int)geo->cg;
        return;
    }
    if (t->cb == 0)
        t->cb = (int)(5120 / (taps * lanes) > 1 ? 5120 / (taps * lanes) : 1);
    if (t->pg != 0)
        return;
    int64_t ptiles = ceil_div(geo->out[1] * geo->out[2], t->tm);
    int64_t rest = ceil_div(geo->mg, lanes) * geo->n * geo->group * geo->out[0];
    int64_t want = 4 * (int64_t)(d && d->compute_units ? d->compute_units : 1);
    /* then as few tiles per item as give that many items */
    t->pg = 1;
    for (int pg = OC_PG_MAX; pg > 1; pg--) {
        int64_t items = ceil_div(ptiles, pg);
        if (items * rest >= want) {
            t->pg = (int)ceil_div(ptiles, items);
            break;
        }
    }
}

static oc_tile oc_tile_for(const conv_geom *geo, const weft_device_info *d, int variant)
{
    oc_tile t;
    if (!parse_oc_tile(oc_variant(d, variant), &t) &&
        !parse_oc_tile(getenv("WEFT_CONV_OC_TILE"), &t)) {
        if (!conv_cpu_class(d))
            return (oc_tile){.tm = 4, .vw = 4, .nv = 1, .pg = 1, .cb = (int)geo->cg};
        int64_t plane = geo->out[1] * geo->out[2];
        t = (oc_tile){.tm = plane % 7 == 0 ? 7 : 6, .vw = 16};
        t.nv = geo->mg >= 64 ? 4 : geo->mg > 16 ? 2 : 1;
    }
    oc_blocking(geo, d, &t);
    return t;
}

static const char *const conv_ops[] = {"Conv", NULL};

static int oc_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                       char *why, size_t cap)
{
    conv_geom geo;
    if (!conv_supports_common(g, n, &geo, why, cap))
        return 0;
    if (geo.transpose)
        return weft_op_refuse(why, cap, "not a Conv");
    oc_tile t = oc_tile_for(&geo, d, 0);
    int64_t lanes = (int64_t)t.vw * t.nv;
    return conv_padded_fits(&geo, 1, 1, 0, ceil_div(geo.mg, lanes), lanes, why, cap);
}

/* Seconds: conv_padded_tile_cost, as conv_direct's, with the share of
 * the tile's lanes and positions that hold outputs, so this wins where
 * conv_direct's tiles waste lanes (ResNet-18's 7x7 layers: 1.5 instead of
 * 1.8 ms each, measured on PoCL in the whole model; its 28x28 and 14x14
 * stride-2 layers, 28 of 32 columns: within 5% of conv_direct, and one
 * program fewer to build) and ties lose to conv_direct (registered
 * first). Other device classes: a cost that never wins (the tile is sized
 * for CPUs). */
static double oc_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    conv_geom geo;
    char why[8];
    if (!conv_geom_read(g, n, &geo, why, sizeof why))
        return 1e30;
    oc_tile t = oc_tile_for(&geo, d, 0);
    int64_t tn = (int64_t)t.vw * t.nv, plane = geo.out[1] * geo.out[2];
    double fill = (double)geo.mg / (double)(ceil_div(geo.mg, tn) * tn) * (double)plane /
                  (double)(ceil_div(plane, t.tm) * t.tm);
    /* Kernel widths other than 1 and 3 loop over the taps of a row with a
     * division each (not unrolled): ResNet-18's 7x7 stem ran 1.45 ms here
     * against conv_direct's 1.27 (bench/bench_conv). */
    if (geo.k[2] != 1 && geo.k[2] != 3)
        fill *= 0.8;
    /* The stores are one lane at a time, a plane apart: about 2 ns an
     * output per compute unit, which a short reduction does not hide
     * (VGG's 3-channel 224x224 stem: 9.2 ms here against direct's 1.1-1.7). */
    double units = d && d->compute_units ? d->compute_units : 1;
    double outputs = (double)geo.n * (double)geo.m * (double)(geo.out[0] * geo.out[1] * geo.out[2]);
    return conv_padded_tile_cost(&geo, d, fill, 0.01) + outputs * 2e-9 / units;
}

typedef struct oc_state {
    cl_kernel conv;
    cl_mem weights, bias;
    conv_geom geo;
    oc_tile tile;
    conv_padded pd;
    conv_pad_pass pad;
    int64_t ctiles, ptiles;
    int cpu;
} oc_state;

/* WP[g][ct][c][taps][TN] and BP[g][ct * TN], zero beyond mg. */
static weft_status pack(weft_prepare *p, oc_state *s)
{
    const conv_geom *geo = &s->geo;
    const float *w = p->inputs[1].host;
    const float *b = p->input_count > 2 && p->inputs[2].host ? p->inputs[2].host : NULL;
    int64_t taps = conv_geom_taps(geo), tn = (int64_t)s->tile.vw * s->tile.nv, ct = s->ctiles;
    size_t wcount = (size_t)(geo->group * ct * geo->cg * taps * tn);
    size_t bcount = (size_t)(geo->group * ct * tn);
    float *wp, *bp;
    weft_status st = conv_pack_alloc(p, wcount, bcount, &wp, &bp);
    if (st != WEFT_OK)
        return st;
    /* Written in order (each tile's lanes innermost), read down tn rows of
     * W at once: a cache line per float the other way round. */
    int64_t cgt = geo->cg * taps;
    for (int64_t g = 0; g < geo->group; g++)
        for (int64_t tile = 0; tile < ct; tile++) {
            int64_t m0 = g * geo->mg + tile * tn, lanes = geo->mg - tile * tn;
            if (lanes > tn)
                lanes = tn;
            float *dst = wp + (g * ct + tile) * cgt * tn;
            const float *src = w + m0 * cgt;
            for (int64_t k = 0; k < cgt; k++)
                for (int64_t l = 0; l < lanes; l++)
                    dst[k * tn + l] = src[l * cgt + k];
            if (b)
                for (int64_t l = 0; l < lanes; l++)
                    bp[(g * ct + tile) * tn + l] = b[m0 + l];
        }
    return conv_pack_upload(p, wp, wcount, bp, bcount, &s->weights, &s->bias);
}

static weft_status oc_prepare(weft_prepare *p)
{
    weft_status st = conv_prepare_state(p, sizeof(oc_state), offsetof(oc_state, geo));
    if (st != WEFT_OK)
        return st;
    oc_state *s = p->state;
    const conv_geom *geo = &s->geo;
    s->cpu = conv_cpu_class(p->device);
    s->tile = oc_tile_for(geo, p->device, p->variant);
    s->ctiles = ceil_div(geo->mg, (int64_t)s->tile.vw * s->tile.nv);
    s->ptiles = ceil_div(geo->out[1] * geo->out[2], (int64_t)s->tile.tm * s->tile.pg);
    conv_padded_layout(geo, 1, 1, 0, &s->pd);
    int64_t count;
    if (!conv_padded_elements(geo, &s->pd, &count))
        return weft_node_fail(p->node, WEFT_ERR_UNSUPPORTED, "the padded input is too large");
    p->workspace_bytes = (size_t)count * sizeof(float);
    if ((st = pack(p, s)) != WEFT_OK)
        return st;
    weft_options o;
    weft_options_init(&o);
    weft_options_define_int(&o, "TM", s->tile.tm);
    weft_options_define_int(&o, "VW", s->tile.vw);
    weft_options_define_int(&o, "NV", s->tile.nv);
    /* Tiles within one output row index X from one offset (ResNet-18's
     * direct_oc layers, all TM = 7 in rows of 7 to 28: 2-4% faster in the
     * model, 7-10% alone). */
    weft_options_define_int(&o, "ROWTILE", geo->out[2] % s->tile.tm == 0);
    /* prefetching is a hint for CPU caches */
    weft_options_define_int(&o, "PF", s->cpu);
    /* Unrolled for the common widths only: fewer programs to build. */
    weft_options_define_int(&o, "KW", geo->k[2] == 1 || geo->k[2] == 3 ? geo->k[2] : 0);
    /* The residual is an argument, not an option: one program fewer. */
    conv_epilogue act = geo->epi;
    act.residual = 0;
    conv_epilogue_options(&act, &o);
    if ((st = weft_op_kernel(p, "conv_direct_oc", &o, "conv_direct_oc_f32", &s->conv)) != WEFT_OK)
        return st;
    return conv_pad_prepare(p, &s->pd, &s->pad);
}

static weft_status oc_enqueue(weft_run *r)
{
    oc_state *s = r->state;
    const conv_geom *geo = &s->geo;
    const conv_padded *pd = &s->pd;
    weft_status st = conv_pad_enqueue(r, &s->pad, geo, pd);
    if (st != WEFT_OK)
        return st;
    cl_int ptiles = (cl_int)s->ptiles, ctiles = (cl_int)s->ctiles;
    cl_int zcount = (cl_int)(geo->n * geo->group * geo->out[0]);
    cl_int dp = (cl_int)pd->dp, zs = (cl_int)pd->zs, row = (cl_int)pd->row;
    cl_int cps = (cl_int)pd->cps;
    cl_int c = (cl_int)geo->c, cg = (cl_int)geo->cg, mg = (cl_int)geo->mg, m = (cl_int)geo->m;
    cl_int g = (cl_int)geo->group;
    cl_int od = (cl_int)geo->out[0], oh = (cl_int)geo->out[1], ow = (cl_int)geo->out[2];
    cl_int k[3], st3[3], dl[3];
    for (int i = 0; i < 3; i++) {
        k[i] = (cl_int)geo->k[i];
        st3[i] = (cl_int)geo->s[i];
        dl[i] = (cl_int)geo->d[i];
    }
    /* Without a residual the kernel never reads res: any buffer. */
    cl_int resid = geo->epi.residual != 0;
    cl_int pg = s->tile.pg;
    cl_int cb = s->tile.cb > 0 && s->tile.cb < geo->cg ? s->tile.cb : (cl_int)geo->cg;
    cl_mem res = resid ? r->inputs[3].mem : r->outputs[0].mem;
    weft_arg args[] = {WEFT_ARG(r->workspace), WEFT_ARG(s->weights), WEFT_ARG(s->bias),
                       WEFT_ARG(r->outputs[0].mem), WEFT_ARG(res), WEFT_ARG(ptiles),
                       WEFT_ARG(ctiles), WEFT_ARG(zcount), WEFT_ARG(dp), WEFT_ARG(zs),
                       WEFT_ARG(row), WEFT_ARG(cps), WEFT_ARG(c), WEFT_ARG(cg), WEFT_ARG(mg),
                       WEFT_ARG(m), WEFT_ARG(g), WEFT_ARG(od), WEFT_ARG(oh), WEFT_ARG(ow),
                       WEFT_ARG(k[0]), WEFT_ARG(k[1]), WEFT_ARG(k[2]), WEFT_ARG(st3[0]),
                       WEFT_ARG(st3[1]), WEFT_ARG(st3[2]), WEFT_ARG(dl[0]), WEFT_ARG(dl[1]),
                       WEFT_ARG(dl[2]), WEFT_ARG(resid), WEFT_ARG(cb), WEFT_ARG(pg)};
    if ((st = weft_op_set_args(r, s->conv, args, sizeof args / sizeof args[0])) != WEFT_OK)
        return st;
    /* Position tiles fastest: the items of one channel tile run one after
     * another and share its weights in cache. */
    size_t global[3] = {(size_t)ptiles, (size_t)ctiles, (size_t)zcount};
    static const size_t one[3] = {1, 1, 1};
    return weft_op_launch(r, s->conv, 3, global, s->cpu ? one : NULL);
}

static void oc_release(void *state)
{
    free(state);
}

const weft_op_impl weft_impl_conv_direct_oc = {
    .name = "direct_oc",
    .ops = conv_ops,
    .supports = oc_supports,
    .cost = oc_cost,
    .prepare = oc_prepare,
    .enqueue = oc_enqueue,
    .release = oc_release,
    .variant = oc_variant,
};
