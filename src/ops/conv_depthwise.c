/*
 * Conv, depthwise (cl/conv_depthwise.cl): group == C == M, so each output
 * channel is one channel's own filter. Memory-bound with little arithmetic
 * per load: every run first writes the zero-bordered, phase-split copy of
 * X of conv_pad.h (direct's), so that each tap of VW outputs is one vector
 * load with no edge tests. (Measured through PoCL: reading X in place and
 * testing the border taps ran at 2-8 GB/s; see the README for this one.)
 * A work-item computes a whole output plane in tiles of NV (up to 4)
 * vectors of VW (16 for rows above 8 outputs, else 8; 4 off CPUs); on
 * CPU-class devices work-groups hold several planes when planes are small,
 * so that each group is worth its start-up. Weights and bias are uploaded
 * once as given (bias zeros when absent). Any kernel size, stride,
 * padding, dilation, 1 to 3 spatial axes; the fused epilogue of
 * conv_geom.h.
 *
 * On CPU-class devices, for the common shapes (dilation 1, W stride 1 or 2,
 * kernels up to 7x7, depth planes independent, rows that fit the private
 * slots; dw_rows_layout) the rows kernel instead reads X in place: each
 * input row is copied once into a private zero-bordered ring of KH rows
 * (phase-split for stride 2), so the taps are still vector loads with no
 * edge tests, without the padded copy's extra pass over memory (measured
 * 2-2.3x on MobileNetV2's large layers: bench/NOTES.md). For tests,
 * WEFT_TEST_DW_PATH=rows|padded forces either kernel where it applies.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ops/conv_pad.h"

/* cl/conv_depthwise.cl's KERNELS: a program holds the one kernel used, so
 * a driver that makes code for every kernel of a program (PoCL, when the
 * disk cache reads its binary) makes it for that one. */
enum { KERNELS_PLANE = 1, KERNELS_ROWS = 2 };

static const char *const conv_ops[] = {"Conv", NULL};

static int dw_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                       char *why, size_t cap)
{
    (void)d;
    conv_geom geo;
    if (!conv_supports_common(g, n, &geo, why, cap))
        return 0;
    if (geo.transpose || geo.group != geo.c || geo.m != geo.c)
        return weft_op_refuse(why, cap, "not depthwise (group %lld, C %lld, M %lld)",
                           (long long)geo.group, (long long)geo.c, (long long)geo.m);
    if (geo.epi.residual)
        return weft_op_refuse(why, cap, "no fused residual (input 3) in the depthwise kernel yet");
    return 1;
}

/* The rows kernel's layout (conv_depthwise_rows_f32): VW outputs per
 * tile, slots of rowcap floats holding SW phases pstride apart; units of
 * band_rows output rows of one plane, per units a work-item. */
typedef struct dw_rows {
    int vw;
    cl_int pstride, rowcap, tiles, units, per, bands, band_rows;
    size_t items;
} dw_rows;

/* Work-items (work-groups of one) the rows kernel aims at: enough for
 * the threads to balance, few enough that each is worth its start. */
#define DW_ROWS_ITEMS 256
/* The most floats of the KH row slots together (private memory). */
#define DW_ROWS_CAP 4096

/* Whether the rows kernel runs geo (planes independent along D, dilation
 * 1, W stride 1 or 2, kernel at most 7 x 7, rows that fit a slot), and its
 * layout when it does. */
static int dw_rows_layout(const conv_geom *geo, dw_rows *r)
{
    if (geo->k[0] != 1 || geo->s[0] != 1 || geo->pad[0] != 0 || geo->d[0] != 1 ||
        geo->d[1] != 1 || geo->d[2] != 1 || geo->s[2] > 2 || geo->k[1] > 7 || geo->k[2] > 7 ||
        geo->pad[2] > 8)
        return 0;
    int64_t ow = geo->out[2], sw = geo->s[2];
    if (geo->n * geo->c * geo->out[0] < 1 || geo->out[1] < 1 || ow < 1)
        return 0;
    /* the width that wastes fewer lanes of the last tile, 16 on ties */
    int64_t w16 = (ow + 15) / 16 * 16 - ow, w8 = (ow + 7) / 8 * 8 - ow;
    r->vw = w16 <= w8 ? 16 : 8;
    int64_t tiles = (ow + r->vw - 1) / r->vw;
    int64_t ps = tiles * r->vw + (geo->k[2] - 1) / sw, held = (geo->pad[2] + geo->in[2] + sw - 1) / sw;
    if (held > ps)
        ps = held;
    int64_t cap = 16;
    while (cap < sw * ps)
        cap *= 2;
    if (cap * geo->k[1] > DW_ROWS_CAP)
        return 0;
    r->pstride = (cl_int)ps;
    r->rowcap = (cl_int)cap;
    r->tiles = (cl_int)tiles;
    int64_t planes = geo->n * geo->c * geo->out[0], oh = geo->out[1];
    int64_t bands = (DW_ROWS_ITEMS + planes - 1) / planes;
    if (bands > oh)
        bands = oh;
    if (bands < 1)
        bands = 1;
    r->band_rows = (cl_int)((oh + bands - 1) / bands);
    r->bands = (cl_int)((oh + r->band_rows - 1) / r->band_rows);
    int64_t units = planes * r->bands;
    r->units = (cl_int)units;
    r->per = (cl_int)(units > DW_ROWS_ITEMS ? units / DW_ROWS_ITEMS : 1);
    r->items = (size_t)((units + r->per - 1) / r->per);
    return 1;
}

/* Seconds: reading X, writing and reading its padded copy (none for the
 * rows kernel of CPU-class devices) and writing Y at 10 GB/s, or the taps
 * at 4 FMA lanes per compute unit and cycle, whichever is slower. */
static double dw_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    conv_geom geo;
    char why[8];
    if (!conv_geom_read(g, n, &geo, why, sizeof why))
        return 1e30;
    dw_rows rl;
    int rows = conv_cpu_class(d) && dw_rows_layout(&geo, &rl);
    double in = (double)geo.n * (double)geo.c * (double)(geo.in[0] * geo.in[1] * geo.in[2]);
    double out = (double)geo.n * (double)geo.m * (double)(geo.out[0] * geo.out[1] * geo.out[2]);
    double bytes = 4 * ((rows ? 1 : 3) * in + out) / 10e9;
    double clock = d && d->clock_mhz ? d->clock_mhz * 1e6 : 1e9;
    double units = d && d->compute_units ? d->compute_units : 1;
    double math = conv_geom_macs(&geo) / (4 * clock * units);
    return bytes > math ? bytes : math;
}

typedef struct dw_state {
    cl_kernel kernel;
    cl_mem weights, bias;
    conv_geom geo;
    int vw, nv, cpu, rows;
    size_t local;
    conv_padded pd;
    conv_pad_pass pad;
    dw_rows rl;
} dw_state;

static weft_status dw_prepare(weft_prepare *p)
{
    const weft_node *n = p->node;
    weft_status st = conv_prepare_state(p, sizeof(dw_state), offsetof(dw_state, geo));
    if (st != WEFT_OK)
        return st;
    dw_state *s = p->state;
    conv_geom *geo = &s->geo;
    s->cpu = conv_cpu_class(p->device);
    /* For tests, WEFT_TEST_DW_PATH=rows|padded forces the kernel (rows
     * where its layout allows). */
    const char *force = getenv("WEFT_TEST_DW_PATH");
    int want_rows = force && strcmp(force, "rows") == 0   ? 1
                    : force && strcmp(force, "padded") == 0 ? 0
                                                            : s->cpu;
    s->rows = want_rows && dw_rows_layout(geo, &s->rl);
    int64_t ow = geo->out[2];
    s->vw = !s->cpu ? 4 : ow > 8 ? 16 : 8;
    /* up to 4 vectors share the tap loop (its overhead was the cost) */
    s->nv = !s->cpu ? 1 : (int)((ow + s->vw - 1) / s->vw > 4 ? 4 : (ow + s->vw - 1) / s->vw);
    conv_padded_layout(geo, s->vw * s->nv, 1, 0, &s->pd);
    int64_t count;
    if (!s->rows && !conv_padded_elements(geo, &s->pd, &count))
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED, "the padded input is too large");
    p->workspace_bytes = s->rows ? 0 : (size_t)count * sizeof(float);
    size_t taps = (size_t)conv_geom_taps(geo), c = (size_t)geo->c;
    st = weft_op_upload(p, p->inputs[1].host, c * taps * sizeof(float), &s->weights);
    if (st != WEFT_OK)
        return st;
    const float *b = p->input_count > 2 && p->inputs[2].host ? p->inputs[2].host : NULL;
    float *zeros = NULL;
    if (!b) {
        zeros = calloc(c, sizeof *zeros);
        if (!zeros)
            return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", n->name);
    }
    st = weft_op_upload(p, b ? b : zeros, c * sizeof(float), &s->bias);
    free(zeros);
    if (st != WEFT_OK)
        return st;
    weft_options o;
    weft_options_init(&o);
    if (s->rows) {
        weft_options_define_int(&o, "KW", geo->k[2]);
        weft_options_define_int(&o, "KH", geo->k[1]);
        weft_options_define_int(&o, "SW", geo->s[2]);
        weft_options_define_int(&o, "ROWCAP", s->rl.rowcap);
        weft_options_define_int(&o, "VW", s->rl.vw);
        conv_epilogue_options(&geo->epi, &o);
        weft_options_define_int(&o, "KERNELS", KERNELS_ROWS);
        st = weft_op_kernel(p, "conv_depthwise", &o, "conv_depthwise_rows_f32", &s->kernel);
        if (st == WEFT_OK)
            s->local = weft_op_local_size(p, s->kernel, 1);
        return st;
    }
    weft_options_define_int(&o, "KW", geo->k[2] == 3 || geo->k[2] == 5 ? geo->k[2] : 0);
    weft_options_define_int(&o, "VW", s->vw);
    weft_options_define_int(&o, "NV", s->nv);
    conv_epilogue_options(&geo->epi, &o);
    weft_options_define_int(&o, "KERNELS", KERNELS_PLANE);
    st = weft_op_kernel(p, "conv_depthwise", &o, "conv_depthwise_f32", &s->kernel);
    if (st != WEFT_OK)
        return st;
    if ((st = conv_pad_prepare(p, &s->pd, &s->pad)) != WEFT_OK)
        return st;
    /* Planes per work-group: about 4096 outputs' worth, at most 64 planes,
     * fewer when that would leave under 4 groups per compute unit. */
    double plane = (double)(geo->out[0] * geo->out[1] * geo->out[2]);
    double planes = (double)(geo->n * geo->c * geo->out[0]);
    double units = p->device->compute_units ? p->device->compute_units : 1;
    size_t local = plane >= 4096 ? 1 : (size_t)(4096 / plane);
    while (local > 1 && planes / (double)local < 4 * units)
        local /= 2;
    s->local = weft_op_local_size(p, s->kernel, !s->cpu || local > 64 ? 64 : local);
    return WEFT_OK;
}

static weft_status dw_rows_enqueue(weft_run *r, const dw_state *s)
{
    const conv_geom *geo = &s->geo;
    const dw_rows *rl = &s->rl;
    cl_int v[] = {rl->units,         rl->per,           rl->bands,         rl->band_rows,
                  (cl_int)geo->c,    (cl_int)geo->in[0], (cl_int)geo->in[1], (cl_int)geo->in[2],
                  (cl_int)geo->out[1], (cl_int)geo->out[2], (cl_int)geo->s[1], (cl_int)geo->pad[1],
                  (cl_int)geo->pad[2], rl->pstride,    rl->tiles};
    enum { V = sizeof v / sizeof v[0] };
    weft_arg args[4 + V];
    args[0] = WEFT_ARG(r->inputs[0].mem);
    args[1] = WEFT_ARG(s->weights);
    args[2] = WEFT_ARG(s->bias);
    args[3] = WEFT_ARG(r->outputs[0].mem);
    for (int i = 0; i < V; i++)
        args[4 + i] = WEFT_ARG(v[i]);
    weft_status st = weft_op_set_args(r, s->kernel, args, 4 + V);
    if (st != WEFT_OK)
        return st;
    return weft_op_launch_1d(r, s->kernel, rl->items, s->local);
}

static weft_status dw_enqueue(weft_run *r)
{
    dw_state *s = r->state;
    if (s->rows)
        return dw_rows_enqueue(r, s);
    const conv_geom *geo = &s->geo;
    const conv_padded *pd = &s->pd;
    weft_status st = conv_pad_enqueue(r, &s->pad, geo, pd);
    if (st != WEFT_OK)
        return st;
    cl_int v[24];
    int a = 0;
    cl_int zcount = (cl_int)(geo->n * geo->c * geo->out[0]);
    v[a++] = (cl_int)pd->tiles_w;
    v[a++] = zcount;
    v[a++] = (cl_int)geo->c;
    for (int i = 0; i < 3; i++)
        v[a++] = (cl_int)geo->out[i];
    for (int i = 0; i < 3; i++)
        v[a++] = (cl_int)geo->k[i];
    for (int i = 0; i < 3; i++)
        v[a++] = (cl_int)geo->s[i];
    for (int i = 0; i < 3; i++)
        v[a++] = (cl_int)geo->d[i];
    v[a++] = (cl_int)pd->dp;
    v[a++] = (cl_int)pd->zs;
    v[a++] = (cl_int)pd->row;
    v[a++] = (cl_int)pd->cps;
    weft_arg args[4 + 24];
    args[0] = WEFT_ARG(r->workspace);
    args[1] = WEFT_ARG(s->weights);
    args[2] = WEFT_ARG(s->bias);
    args[3] = WEFT_ARG(r->outputs[0].mem);
    for (int i = 0; i < a; i++)
        args[4 + i] = WEFT_ARG(v[i]);
    st = weft_op_set_args(r, s->kernel, args, (size_t)(4 + a));
    if (st != WEFT_OK)
        return st;
    return weft_op_launch_1d(r, s->kernel, (size_t)zcount, s->local);
}

static void dw_release(void *state)
{
    free(state);
}

const weft_op_impl weft_impl_conv_depthwise = {
    .name = "depthwise",
    .ops = conv_ops,
    .supports = dw_supports,
    .cost = dw_cost,
    .prepare = dw_prepare,
    .enqueue = dw_enqueue,
    .release = dw_release,
};
