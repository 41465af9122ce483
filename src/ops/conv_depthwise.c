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
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ops/conv_pad.h"

static const char *const conv_ops[] = {"Conv", NULL};

static int dw_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                       char *why, size_t cap)
{
    (void)d;
    conv_geom geo;
    if (!conv_supports_common(g, n, &geo, why, cap))
        return 0;
    if (geo.transpose || geo.group != geo.c || geo.m != geo.c)
        return conv_refuse(why, cap, "not depthwise (group %lld, C %lld, M %lld)",
                           (long long)geo.group, (long long)geo.c, (long long)geo.m);
    return 1;
}

/* Seconds: reading X, writing and reading its padded copy and writing Y
 * at 10 GB/s, or the taps at 4 FMA lanes per compute unit and cycle,
 * whichever is slower. */
static double dw_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    conv_geom geo;
    char why[8];
    if (!conv_geom_read(g, n, &geo, why, sizeof why))
        return 1e30;
    double in = (double)geo.n * (double)geo.c * (double)(geo.in[0] * geo.in[1] * geo.in[2]);
    double out = (double)geo.n * (double)geo.m * (double)(geo.out[0] * geo.out[1] * geo.out[2]);
    double bytes = 4 * (3 * in + out) / 10e9;
    double clock = d && d->clock_mhz ? d->clock_mhz * 1e6 : 1e9;
    double units = d && d->compute_units ? d->compute_units : 1;
    double math = conv_geom_macs(&geo) / (4 * clock * units);
    return bytes > math ? bytes : math;
}

typedef struct dw_state {
    cl_kernel kernel;
    cl_mem weights, bias;
    conv_geom geo;
    int vw, nv, cpu;
    size_t local;
    conv_padded pd;
    conv_pad_pass pad;
} dw_state;

static weft_status dw_prepare(weft_prepare *p)
{
    const weft_node *n = p->node;
    char why[256];
    dw_state *s = calloc(1, sizeof *s);
    if (!s)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", n->name);
    p->state = s;
    conv_geom *geo = &s->geo;
    if (!conv_geom_read(p->graph, n, geo, why, sizeof why))
        return weft_node_fail(n, WEFT_ERR_GRAPH, "%s", why);
    if (!p->inputs[1].host)
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED, "W must be a constant");
    s->cpu = conv_cpu_class(p->device);
    int64_t ow = geo->out[2];
    s->vw = !s->cpu ? 4 : ow > 8 ? 16 : 8;
    /* up to 4 vectors share the tap loop (its overhead was the cost) */
    s->nv = !s->cpu ? 1 : (int)((ow + s->vw - 1) / s->vw > 4 ? 4 : (ow + s->vw - 1) / s->vw);
    conv_padded_layout(geo, s->vw * s->nv, 1, 0, &s->pd);
    int64_t count;
    if (!conv_padded_elements(geo, &s->pd, &count))
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED, "the padded input is too large");
    p->workspace_bytes = (size_t)count * sizeof(float);
    size_t taps = (size_t)conv_geom_taps(geo), c = (size_t)geo->c;
    weft_status st = weft_op_upload(p, p->inputs[1].host, c * taps * sizeof(float), &s->weights);
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
    weft_options_define_int(&o, "KW", geo->k[2] == 3 || geo->k[2] == 5 ? geo->k[2] : 0);
    weft_options_define_int(&o, "VW", s->vw);
    weft_options_define_int(&o, "NV", s->nv);
    conv_epilogue_options(&geo->epi, &o);
    st = weft_op_kernel(p, "conv_depthwise", &o, "conv_depthwise_f32", &s->kernel);
    if (st != WEFT_OK)
        return st;
    weft_options none;
    weft_options_init(&none);
    if ((st = conv_pad_prepare(p, &none, &s->pd, &s->pad)) != WEFT_OK)
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

static weft_status dw_enqueue(weft_run *r)
{
    dw_state *s = r->state;
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
