/*
 * The padded copy of X for the register-tile conv kernels (conv_pad.h).
 */
#include "ops/conv_pad.h"

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

void conv_padded_layout(const conv_geom *geo, int64_t cols, int64_t rt, int flat,
                        conv_padded *p)
{
    int64_t sh = geo->s[1], sw = geo->s[2];
    int64_t reach_h = (geo->k[1] - 1) * geo->d[1], reach_w = (geo->k[2] - 1) * geo->d[2];
    p->dp = max64(geo->pad[0] + geo->in[0],
                  (geo->out[0] - 1) * geo->s[0] + (geo->k[0] - 1) * geo->d[0] + 1);
    /* every column phase holds the positions the last tile reaches */
    if (flat) {
        p->wps = geo->out[2] + reach_w / sw;
        p->tiles_w = (geo->out[1] * p->wps + cols - 1) / cols;
        p->tiles_h = 1;
        /* grid rows of each phase: as many as the last tile's reads reach */
        int64_t last = p->tiles_w * cols - 1 + reach_h / sh * p->wps + reach_w / sw;
        p->rows = last / p->wps + 1;
        p->shs = sh;
        p->row = p->wps;
        p->cps = p->rows * p->wps;
        p->rps = sw * p->cps;
        p->zs = sh * p->rps;
        return;
    }
    p->tiles_w = (geo->out[2] + cols - 1) / cols;
    p->tiles_h = (geo->out[1] + rt - 1) / rt;
    int64_t owt = p->tiles_w * cols, oht = p->tiles_h * rt;
    p->wps = owt + reach_w / sw;
    p->rows = max64(geo->pad[1] + geo->in[1], (oht - 1) * sh + reach_h + 1);
    p->shs = 1;
    p->row = sw * p->wps;
    p->cps = p->wps;
    p->rps = 0;
    p->zs = p->rows * p->row;
}

int conv_padded_elements(const conv_geom *geo, const conv_padded *p, int64_t *count)
{
    double e = (double)geo->n * (double)geo->c * (double)p->dp * (double)p->zs;
    *count = (int64_t)e;
    return e <= (double)INT32_MAX;
}

int conv_padded_fits(const conv_geom *geo, int64_t cols, int64_t rt, int flat, int64_t tiles,
                     int64_t lanes, char *why, size_t cap)
{
    conv_padded p;
    int64_t count;
    conv_padded_layout(geo, cols, rt, flat, &p);
    if (!conv_padded_elements(geo, &p, &count))
        return weft_op_refuse(why, cap, "the padded input would exceed 2^31 - 1 elements");
    if ((double)geo->group * (double)tiles * (double)lanes * (double)geo->cg *
            (double)conv_geom_taps(geo) > (double)INT32_MAX)
        return weft_op_refuse(why, cap, "the packed weights would exceed 2^31 - 1 elements");
    return 1;
}

double conv_padded_tile_cost(const conv_geom *geo, const weft_device_info *d, double fill,
                             double other_eff)
{
    int cpu = conv_cpu_class(d);
    double lanes = cpu ? 16 : 32, clock = d && d->clock_mhz ? d->clock_mhz * 1e6 : 1e9;
    double units = d && d->compute_units ? d->compute_units : 1;
    /* measured on PoCL (AVX-512): ~200 GFLOP/s on 3x3 layers, ~140 on 1x1
     * ones, where the padding pass and the loop overhead weigh more */
    double eff = cpu ? (conv_geom_taps(geo) > 1 ? 0.6 : 0.35) : other_eff;
    double reduction = (double)geo->cg * (double)conv_geom_taps(geo);
    if (reduction < 64)
        eff *= reduction / 64;
    eff *= fill;
    double bytes = 8.0 * (double)geo->n * (double)geo->c * (double)(geo->in[0] * geo->in[1] * geo->in[2]);
    return conv_geom_macs(geo) / (lanes * clock * units * eff) + bytes / 10e9;
}

weft_status conv_pad_prepare(weft_prepare *p, const conv_padded *pd, conv_pad_pass *pass)
{
    weft_options pad;
    weft_options_init(&pad);
    weft_options_define_int(&pad, "KERNELS", CONV_DIRECT_KERNELS_PAD);
    weft_status st = weft_op_kernel(p, "conv_direct", &pad, "conv_pad_f32", &pass->kernel);
    if (st != WEFT_OK)
        return st;
    /* work-groups of up to 16 rows; fewer when there are few rows */
    pass->local = weft_op_local_size(p, pass->kernel, 16);
    while (pass->local > 1 && (int64_t)pass->local / 2 >= pd->shs * pd->rows)
        pass->local /= 2;
    return WEFT_OK;
}

weft_status conv_pad_enqueue(weft_run *r, const conv_pad_pass *pass, const conv_geom *geo,
                             const conv_padded *pd)
{
    cl_int in_d = (cl_int)geo->in[0], in_h = (cl_int)geo->in[1], in_w = (cl_int)geo->in[2];
    cl_int dp = (cl_int)pd->dp, wps = (cl_int)pd->wps, rows = (cl_int)pd->rows;
    cl_int shs = (cl_int)pd->shs, row = (cl_int)pd->row, cps = (cl_int)pd->cps;
    cl_int rps = (cl_int)pd->rps, zs = (cl_int)pd->zs, sw = (cl_int)geo->s[2];
    cl_int pdd = (cl_int)geo->pad[0], ph = (cl_int)geo->pad[1], pw = (cl_int)geo->pad[2];
    cl_int planes = (cl_int)(geo->n * geo->c * pd->dp);
    weft_arg args[] = {WEFT_ARG(r->inputs[0].mem), WEFT_ARG(r->workspace), WEFT_ARG(wps),
                       WEFT_ARG(rows), WEFT_ARG(shs), WEFT_ARG(planes), WEFT_ARG(in_d),
                       WEFT_ARG(in_h), WEFT_ARG(in_w), WEFT_ARG(dp), WEFT_ARG(sw),
                       WEFT_ARG(zs), WEFT_ARG(row), WEFT_ARG(cps), WEFT_ARG(rps),
                       WEFT_ARG(pdd), WEFT_ARG(ph), WEFT_ARG(pw)};
    weft_status st = weft_op_set_args(r, pass->kernel, args, sizeof args / sizeof args[0]);
    if (st != WEFT_OK)
        return st;
    /* work-groups of consecutive rows, the global size rounded up to them:
     * the kernel skips the extra items */
    size_t l = pass->local;
    size_t global[2] = {((size_t)(shs * rows) + l - 1) / l * l, (size_t)planes};
    size_t local[2] = {l, 1};
    return weft_op_launch(r, pass->kernel, 2, global, local);
}
