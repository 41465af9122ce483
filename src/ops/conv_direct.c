/*
 * Conv, direct (cl/conv_direct.cl): every kernel size, stride, padding
 * (asymmetric and auto_pad), dilation and group count over 1 to 3 spatial
 * axes, with the fused bias + residual + activation epilogue of conv_geom.h.
 *
 * Each run first writes the zero-bordered copy of X of conv_pad.h into the
 * workspace, split by the strides' phases, so that the main kernel reads
 * every tap of VW outputs as one vector load, for any stride, without
 * edge tests; then each work-item computes a register tile of KT output
 * channels x RT rows x NV * VW columns. Weights are packed at prepare into
 * the order the inner loop reads them.
 *
 * The tile comes from a per-device-class table (conv_tile below):
 *   CPU class  float16 vectors and about
 *              16 vector accumulators per work-item, work-groups of one
 *              work-item: the compiler keeps the tile in registers and the
 *              many small groups spread over the cores (measured through
 *              PoCL: see the README). Planes of at most 8 columns use flat
 *              tiles (FLAT in cl/conv_direct.cl): 32 consecutive positions
 *              of the padded output grid; stems (at most 4 input
 *              channels) a tile of 24 accumulators (conv_stem_tile);
 *   default    (GPUs and anything else) small tiles (4 channels x 4
 *              columns), the work-group size left to the driver. A local-
 *              memory variant for GPUs is future work.
 * WEFT_CONV_TILE="KT,RT,VW,NV[,FLAT[,ROLL]]" overrides the table (tests,
 * tuning; FLAT is dropped where it does not fit; ROLL 1: the kernel width
 * a constant, its loop rolled, as the stem tile's).
 */
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ops/conv_pad.h"

typedef struct conv_tile {
    int kt, rt, vw, nv;
    int flat; /* the tile runs along the padded output grid (FLAT) */
    int roll; /* KW the kernel's width, its loop rolled (KU 0; conv_stem_tile) */
} conv_tile;

/* Accumulator vectors per work-item on CPU-class devices: with AVX-512's
 * 32 registers, 16 accumulators leave room for the loaded inputs and the
 * broadcast weights. */
#define CPU_ACCUMULATORS 16

/* The output channels per work-item, from few values (each is a program
 * to build): mg itself up to 1, then 4 up to 7, else `most`. */
static int pick_kt(int64_t mg, int most)
{
    return mg <= 1 ? 1 : mg < 8 || most < 8 ? (most < 4 ? most : 4) : most;
}

/* FLAT tiles hold one grid row at a time. */
static int flat_fits(const conv_tile *t)
{
    return t->rt == 1;
}

/* A tile spec "KT,RT,VW,NV[,FLAT[,ROLL]]" (WEFT_CONV_TILE, the variants). */
static int parse_tile(const char *e, conv_tile *t)
{
    conv_tile f = {0};
    int fields =
        e ? sscanf(e, "%d,%d,%d,%d,%d,%d", &f.kt, &f.rt, &f.vw, &f.nv, &f.flat, &f.roll) : 0;
    if (fields < 4 || f.kt < 1 || f.kt > 32 || f.rt < 1 || f.rt > 32 || f.nv < 1 || f.nv > 8 ||
        (f.vw != 4 && f.vw != 8 && f.vw != 16))
        return 0;
    f.flat = fields >= 5 && f.flat && flat_fits(&f);
    f.roll = fields == 6 && f.roll;
    *t = f;
    return 1;
}

/* The tiles tuning tries (variant k is entry k - 1), per device class:
 * around the table's choices below. */
static const char *const cpu_variants[] = {"8,2,16,1", "8,1,16,2", "4,4,16,1", "4,2,16,2",
                                           "16,1,16,1", "8,1,16,2,1", "4,1,16,2,1", NULL};
static const char *const other_variants[] = {"4,1,4,1", "4,2,4,1", "4,1,4,2", "8,1,4,1",
                                             "4,1,8,1", "2,2,4,2", NULL};

static const char *direct_variant(const weft_device_info *d, int k)
{
    const char *const *list = conv_cpu_class(d) ? cpu_variants : other_variants;
    for (int i = 1; *list && i < k; i++)
        list++;
    return k >= 1 ? *list : NULL;
}

/* A network's first conv (at most 4 input channels: RGB, gray, RGBA)
 * over rows wider than a vector. Its reduction is short (3 * 49 for a
 * 7x7 kernel), so the work-item's tile carries the speed: 8 channels x 3
 * rows x 16 columns, 24 accumulators fed by 3 vector loads and 8
 * broadcasts per tap (3 x 16 columns fill 112-wide rows exactly, where two
 * vectors per row leave a quarter of the last tile empty), and the loop
 * over a row of taps left rolled over a constant width (KU 0) so that
 * LLVM keeps the sums in registers. ResNet-18's 7x7/2 stem on PoCL
 * (AVX-512, 2 cores, bench/bench_conv): 0.90-1.0 ms, 1.25-1.35 with the
 * general CPU tile. */
static int conv_stem_tile(const conv_geom *geo)
{
    return geo->cg * geo->k[0] <= 4 && geo->out[2] > 16 && geo->out[1] > 1 && geo->mg >= 8;
}

static conv_tile conv_tile_for(const conv_geom *geo, const weft_device_info *d, int variant)
{
    conv_tile t = {0};
    if (parse_tile(direct_variant(d, variant), &t) || parse_tile(getenv("WEFT_CONV_TILE"), &t))
        return t;
    if (!conv_cpu_class(d))
        return (conv_tile){.kt = pick_kt(geo->mg, 4), .rt = 1, .vw = 4, .nv = 1};
    if (conv_stem_tile(geo))
        return (conv_tile){.kt = 8, .rt = 3, .vw = 16, .nv = 1, .roll = 1};
    int64_t ow = geo->out[2];
    t.kt = pick_kt(geo->mg, 8);
    /* Rows of at most 8 outputs: flat tiles of two vectors of 16 along
     * the phase grid (a 7x7 plane fills 49 of 64 lanes, not 7 of 16). */
    t.vw = 16;
    t.nv = 2;
    t.rt = 1;
    if (ow <= 8) {
        t.flat = 1;
        return t;
    }
    /* Columns: one vector of 16 up to 16, two beyond (weights reused
     * across more vectors). */
    t.nv = ow <= 16 ? 1 : 2;
    /* Rows: the rest of the accumulator budget (one for 1-D). */
    t.rt = geo->out[1] == 1 ? 1 : CPU_ACCUMULATORS / (t.kt * t.nv);
    return t;
}

/* ---- The implementation --------------------------------------------------------- */

static const char *const conv_ops[] = {"Conv", NULL};

static int direct_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                           char *why, size_t cap)
{
    conv_geom geo;
    if (!conv_supports_common(g, n, &geo, why, cap))
        return 0;
    if (geo.transpose)
        return weft_op_refuse(why, cap, "not a Conv");
    conv_tile t = conv_tile_for(&geo, d, 0);
    return conv_padded_fits(&geo, t.vw * t.nv, t.rt, t.flat, (geo.mg + t.kt - 1) / t.kt, t.kt,
                            why, cap);
}

/* Seconds: conv_padded_tile_cost with the share of the tile that holds
 * outputs (tiles compute junk past the plane: a 7x7 plane fills 49 of 64
 * lanes of flat tiles, 28 columns 28 of 32); 10% of the peak on other
 * device classes. */
static double direct_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    conv_geom geo;
    char why[8];
    if (!conv_geom_read(g, n, &geo, why, sizeof why))
        return 1e30;
    conv_tile t = conv_tile_for(&geo, d, 0);
    conv_padded p;
    conv_padded_layout(&geo, t.vw * t.nv, t.rt, t.flat, &p);
    double fill = (double)(geo.out[1] * geo.out[2]) /
                  (double)(p.tiles_w * p.tiles_h * t.vw * t.nv * (t.flat ? 1 : t.rt));
    return conv_padded_tile_cost(&geo, d, fill, 0.1);
}

typedef struct direct_state {
    cl_kernel conv;
    cl_mem weights, bias;
    conv_geom geo;
    conv_tile tile;
    conv_padded pd;
    conv_pad_pass pad;
    int64_t mt;
    int cpu;
    cl_int kd, kh, kw, st[3], dl[3];
} direct_state;

/* WP[g][mt][c][taps][KT] and BP[g][mt * KT], zero beyond mg. */
static weft_status pack(weft_prepare *p, direct_state *s)
{
    const conv_geom *geo = &s->geo;
    const float *w = p->inputs[1].host;
    const float *b = p->input_count > 2 && p->inputs[2].host ? p->inputs[2].host : NULL;
    int64_t taps = conv_geom_taps(geo), kt = s->tile.kt, mt = s->mt;
    size_t wcount = (size_t)(geo->group * mt * geo->cg * taps * kt);
    size_t bcount = (size_t)(geo->group * mt * kt);
    float *wp, *bp;
    weft_status st = conv_pack_alloc(p, wcount, bcount, &wp, &bp);
    if (st != WEFT_OK)
        return st;
    for (int64_t g = 0; g < geo->group; g++)
        for (int64_t ml = 0; ml < geo->mg; ml++) {
            int64_t m = g * geo->mg + ml, tile = ml / kt, k = ml % kt;
            if (b)
                bp[(g * mt + tile) * kt + k] = b[m];
            for (int64_t c = 0; c < geo->cg; c++)
                for (int64_t t = 0; t < taps; t++)
                    wp[(((g * mt + tile) * geo->cg + c) * taps + t) * kt + k] =
                        w[(m * geo->cg + c) * taps + t];
        }
    return conv_pack_upload(p, wp, wcount, bp, bcount, &s->weights, &s->bias);
}

static weft_status direct_prepare(weft_prepare *p)
{
    const weft_node *n = p->node;
    weft_status st = conv_prepare_state(p, sizeof(direct_state), offsetof(direct_state, geo));
    if (st != WEFT_OK)
        return st;
    direct_state *s = p->state;
    s->cpu = conv_cpu_class(p->device);
    s->kd = (cl_int)s->geo.k[0];
    s->kh = (cl_int)s->geo.k[1];
    s->kw = (cl_int)s->geo.k[2];
    for (int i = 0; i < 3; i++) {
        s->st[i] = (cl_int)s->geo.s[i];
        s->dl[i] = (cl_int)s->geo.d[i];
    }
    s->tile = conv_tile_for(&s->geo, p->device, p->variant);
    conv_padded_layout(&s->geo, s->tile.vw * s->tile.nv, s->tile.rt, s->tile.flat, &s->pd);
    s->mt = (s->geo.mg + s->tile.kt - 1) / s->tile.kt;
    int64_t count;
    if (!conv_padded_elements(&s->geo, &s->pd, &count))
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED, "the padded input is too large");
    p->workspace_bytes = (size_t)count * sizeof(float);
    st = pack(p, s);
    if (st != WEFT_OK)
        return st;
    weft_options o;
    weft_options_init(&o);
    /* Unrolled for the common widths only: fewer programs to build; the
     * rolled ones' width a constant. */
    int kw_fixed = s->geo.k[2] == 1 || s->geo.k[2] == 3;
    weft_options_define_int(&o, "KW", kw_fixed || s->tile.roll ? s->geo.k[2] : 0);
    weft_options_define_int(&o, "KU", !s->tile.roll);
    weft_options_define_int(&o, "KT", s->tile.kt);
    weft_options_define_int(&o, "RT", s->tile.rt);
    weft_options_define_int(&o, "VW", s->tile.vw);
    weft_options_define_int(&o, "NV", s->tile.nv);
    weft_options_define_int(&o, "FLAT", s->tile.flat);
    conv_epilogue_options(&s->geo.epi, &o);
    weft_options_define_int(&o, "KERNELS", CONV_DIRECT_KERNELS_CONV);
    st = weft_op_kernel(p, "conv_direct", &o, "conv_direct_f32", &s->conv);
    if (st == WEFT_OK)
        st = conv_pad_prepare(p, &s->pd, &s->pad);
    return st;
}

static weft_status direct_enqueue(weft_run *r)
{
    direct_state *s = r->state;
    const conv_geom *geo = &s->geo;
    const conv_padded *pd = &s->pd;
    weft_status st = conv_pad_enqueue(r, &s->pad, geo, pd);
    if (st != WEFT_OK)
        return st;
    cl_int dp = (cl_int)pd->dp, wps = (cl_int)pd->wps, shs = (cl_int)pd->shs;
    cl_int row = (cl_int)pd->row, cps = (cl_int)pd->cps, rps = (cl_int)pd->rps;
    cl_int zs = (cl_int)pd->zs;
    cl_int tiles_w = (cl_int)pd->tiles_w, tiles_h = (cl_int)pd->tiles_h;
    cl_int zcount = (cl_int)(geo->n * geo->group * s->mt * geo->out[0]);
    cl_int c = (cl_int)geo->c, cg = (cl_int)geo->cg, mg = (cl_int)geo->mg, m = (cl_int)geo->m;
    cl_int mt = (cl_int)s->mt, g = (cl_int)geo->group;
    cl_int od = (cl_int)geo->out[0], oh = (cl_int)geo->out[1], ow = (cl_int)geo->out[2];
    /* Without a residual (RESID 0) the kernel never reads res: any buffer. */
    cl_mem res = geo->epi.residual ? r->inputs[3].mem : r->outputs[0].mem;
    weft_arg args[] = {WEFT_ARG(r->workspace), WEFT_ARG(s->weights), WEFT_ARG(s->bias),
                       WEFT_ARG(r->outputs[0].mem), WEFT_ARG(tiles_w), WEFT_ARG(tiles_h),
                       WEFT_ARG(zcount), WEFT_ARG(dp), WEFT_ARG(zs), WEFT_ARG(row), WEFT_ARG(c),
                       WEFT_ARG(cg), WEFT_ARG(mg), WEFT_ARG(m), WEFT_ARG(mt), WEFT_ARG(g),
                       WEFT_ARG(od), WEFT_ARG(oh), WEFT_ARG(ow), WEFT_ARG(s->kd),
                       WEFT_ARG(s->st[0]), WEFT_ARG(s->st[1]), WEFT_ARG(s->st[2]),
                       WEFT_ARG(s->dl[0]), WEFT_ARG(s->dl[1]), WEFT_ARG(s->dl[2]),
                       WEFT_ARG(s->kh), WEFT_ARG(s->kw), WEFT_ARG(wps), WEFT_ARG(cps),
                       WEFT_ARG(rps), WEFT_ARG(shs), WEFT_ARG(res)};
    st = weft_op_set_args(r, s->conv, args, sizeof args / sizeof args[0]);
    if (st != WEFT_OK)
        return st;
    size_t global[3] = {(size_t)tiles_w, (size_t)tiles_h, (size_t)zcount};
    static const size_t one[3] = {1, 1, 1};
    return weft_op_launch(r, s->conv, 3, global, s->cpu ? one : NULL);
}

static void direct_release(void *state)
{
    free(state);
}

const weft_op_impl weft_impl_conv_direct = {
    .name = "direct",
    .ops = conv_ops,
    .supports = direct_supports,
    .cost = direct_cost,
    .prepare = direct_prepare,
    .enqueue = direct_enqueue,
    .release = direct_release,
    .variant = direct_variant,
};
