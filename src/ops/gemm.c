/*
 * The GEMM engine (contract in gemm_engine.h), weft's own back end,
 * cl/gemm.cl. A per-device-class table picks the kernel and its tiles:
 *   CPU-class  gemm_main, a register tile per work-item, groups of one.
 *              A is always read from a packed copy (constants packed here
 *              once, others by gemm_pack into the workspace at every run);
 *              B likewise when it is a constant, transposed, or narrower
 *              than one tile, else in place (the common conv case: im2col
 *              or NCHW activations as [K, N] rows). (Computing C^T = B^T
 *              A^T for few columns, N = 49, so that the tiles are less
 *              padding, was measured slower: the run-time pack of B and
 *              the transposed stores cost more than the padding.)
 *   others     gemm_local, local-memory tiles, both operands packed.
 * WEFT_GEMM_TILES overrides the table (tuning, tests). The CLBlast back end
 * is gemm_clblast.c; this file dispatches to it.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ops/gemm_clblast.h"
#include "ops/gemm_engine.h"

static size_t round_up(size_t x, size_t m)
{
    return (x + m - 1) / m * m;
}

/* ---- Tiles per device class ---------------------------------------------------- */

typedef struct gemm_tiles {
    int tm, vw, nv; /* rows, vector width, vectors per row */
    int tm_alt;     /* rows when tm would pad M by more than 1/25 (0: none) */
    int local_one;  /* work-groups of one item */
    int ts;         /* > 0: the local-memory kernel gemm_local with TS x TS tiles */
} gemm_tiles;

/* The table: the first row whose device type matches (0: any), whose
 * vendor string contains `vendor` (NULL: any), whose min_n <= N and
 * whose min_macs <= M * N * K * batches.
 *  CPU-class devices (PoCL, Intel's and AMD's CPU runtimes): gemm_main,
 *   one item per group, 24 float16 accumulators (of 32 AVX-512
 *   registers): 8 x 48 for wide products, else 12 x 32, or 8 x 32 when 12
 *   rows would pad M much (M = 64: 72 rows). The wide tile only from 16M
 *   MACs: its ~10% is then ~12 us a run, and below that a program of its
 *   own costs more (~0.3 s of a cold start; ResNet-18's one such product,
 *   layer2.0's 6.4M-MAC downsample, shares the 12 x 32 program instead). Measured on PoCL, AVX-512,
 *   ResNet-18's im2col shapes (best of 15): 8 x 48 ~10% above 12 x 32 at
 *   N = 784 and 3136 and below it at N = 49 and 196 (padding); 12 x 32
 *   ~10% above 8 x 32 for K >= 1152; 6 x 48, 4 x 64, 16 x 16 slower.
 *  ARM Mali GPUs: gemm_main with 4 x 8 float4 tiles and driver-chosen
 *   groups (Arm's guidance for Mali: vector loads, no local memory, which
 *   is ordinary global memory there). Not measured here.
 *  Other GPUs and the default: gemm_local, 64 x 64 tiles of C per group
 *   of 16 x 16 items with 16-deep slices in local memory, smaller when
 *   the device's work-groups are (the shape of CLBlast's xgemm defaults).
 *   Not measured on a GPU here. */
typedef struct tile_row {
    weft_device_type type; /* 0: any */
    const char *vendor;    /* substring of the vendor name; NULL: any */
    size_t min_n;
    double min_macs;       /* M * N * K * batches */
    gemm_tiles tiles;
} tile_row;

static const tile_row tile_table[] = {
    {WEFT_DEVICE_CPU, NULL, 512, 16e6, {8, 16, 3, 0, 1, 0}},
    {WEFT_DEVICE_CPU, NULL, 0, 0, {12, 16, 2, 8, 1, 0}},
    {WEFT_DEVICE_GPU, "ARM", 0, 0, {4, 4, 2, 0, 0, 0}},
    {0, NULL, 0, 0, {4, 4, 1, 0, 0, 64}},
};

/* A tile spec, "TMxVWxNV" (the register kernel) or "local:TS" (gemm_local),
 * applied to *t; 0 when it is not one. */
static int parse_tiles(const char *spec, gemm_tiles *t)
{
    int tm, vw, nv, ts;
    if (spec && sscanf(spec, "%dx%dx%d", &tm, &vw, &nv) == 3 && tm >= 1 && tm <= 16 &&
        (vw == 1 || vw == 2 || vw == 4 || vw == 8 || vw == 16) && nv >= 1 && nv <= 4) {
        t->tm = tm;
        t->vw = vw;
        t->nv = nv;
        t->tm_alt = t->ts = 0;
        return 1;
    }
    if (spec && sscanf(spec, "local:%d", &ts) == 1 && (ts == 16 || ts == 32 || ts == 64)) {
        t->ts = ts;
        return 1;
    }
    return 0;
}

/* The tiles tuning tries (weft_gemm_variant), per device class: around
 * the table's rows, within the accumulator budget above on CPU-class
 * devices; register and local-memory tiles on others. */
static const char *const cpu_variants[] = {"8x16x3", "12x16x2", "8x16x2", "6x16x2",
                                           "4x16x4", "16x16x1", NULL};
static const char *const other_variants[] = {"4x4x1", "4x4x2", "8x4x2", "4x8x1",
                                             "local:16", "local:32", "local:64", NULL};

const char *weft_gemm_variant(const weft_device_info *device, int k)
{
    const char *const *list = device->type == WEFT_DEVICE_CPU ? cpu_variants : other_variants;
    for (int i = 1; *list && i < k; i++)
        list++;
    return k >= 1 ? *list : NULL;
}

static gemm_tiles tiles_for(const weft_device_info *d, const weft_gemm_desc *desc, int variant)
{
    size_t m = desc->m, n = desc->n;
    double macs = (double)m * (double)n * (double)desc->k * (double)desc->batch[0] *
                  (double)desc->batch[1];
    gemm_tiles t = {4, 4, 1, 0, 0, 64};
    for (size_t i = 0; i < sizeof tile_table / sizeof *tile_table; i++) {
        const tile_row *row = &tile_table[i];
        if ((!row->type || row->type == d->type) &&
            (!row->vendor || strstr(d->vendor, row->vendor)) && n >= row->min_n &&
            macs >= row->min_macs) {
            t = row->tiles;
            break;
        }
    }
    if (t.tm_alt && round_up(m, (size_t)t.tm) * 25 > m * 26)
        t.tm = t.tm_alt;
    /* A tuned variant, or for tuning by hand and tests WEFT_GEMM_TILES,
     * overrides the table. */
    if (!parse_tiles(weft_gemm_variant(d, variant), &t))
        parse_tiles(getenv("WEFT_GEMM_TILES"), &t);
    return t;
}

/* ---- Descriptions --------------------------------------------------------------- */

void weft_gemm_desc_init(weft_gemm_desc *d, size_t m, size_t n, size_t k)
{
    memset(d, 0, sizeof *d);
    d->m = m;
    d->n = n;
    d->k = k;
    d->batch[0] = d->batch[1] = 1;
    d->a.ld = k;
    d->b.ld = n;
    d->ldc = n;
    d->alpha = 1.0f;
    d->beta = 1.0f;
    d->backend = WEFT_GEMM_WEFT;
}

/* The number of floats an operand's elements span: 1 + its largest index. */
static size_t span(size_t rows, size_t cols, size_t ld, const size_t *bs, const size_t *batch)
{
    return (batch[0] - 1) * bs[0] + (batch[1] - 1) * bs[1] + (rows - 1) * ld + cols;
}

static size_t operand_span(const weft_gemm_operand *o, size_t rows, size_t cols,
                           const size_t *batch)
{
    /* rows x cols is op(X); X itself is transposed when trans */
    return o->trans ? span(cols, rows, o->ld, o->batch_stride, batch)
                    : span(rows, cols, o->ld, o->batch_stride, batch);
}

#define INT_LIMIT ((size_t)INT32_MAX)

static weft_status check_desc(const weft_node *n, const weft_gemm_desc *d)
{
    const char *bad = NULL;
    if (!d->m || !d->n || !d->k)
        bad = "m, n and k must be >= 1";
    else if (!d->batch[0] || !d->batch[1])
        bad = "batch counts must be >= 1";
    else if ((d->a.trans ? d->a.ld < d->m : d->a.ld < d->k) ||
             (d->b.trans ? d->b.ld < d->k : d->b.ld < d->n) || d->ldc < d->n)
        bad = "a leading dimension is smaller than its row";
    else if (d->has_d && d->d_col_stride > 1)
        bad = "D's column stride must be 0 or 1";
    else if ((unsigned)d->bias > WEFT_GEMM_BIAS_COL || (unsigned)d->act > WEFT_GEMM_ACT_HARD_SWISH)
        bad = "unknown bias or activation code";
    else if (operand_span(&d->a, d->m, d->k, d->batch) > INT_LIMIT ||
             operand_span(&d->b, d->k, d->n, d->batch) > INT_LIMIT ||
             span(d->m, d->n, d->ldc, d->c_batch_stride, d->batch) > INT_LIMIT ||
             (d->has_d && span(d->m, d->n * d->d_col_stride, d->d_row_stride, d->d_batch_stride,
                               d->batch) > INT_LIMIT) ||
             d->batch[0] * d->batch[1] > INT_LIMIT || (d->m + 64) * d->k > INT_LIMIT ||
             (d->n + 64) * d->k > INT_LIMIT)
        bad = "a matrix spans more than 2^31 - 1 floats";
    if (bad)
        return weft_node_fail(n, WEFT_ERR_INVALID_ARGUMENT, "GEMM %zux%zux%zu: %s", d->m, d->n,
                              d->k, bad);
    return WEFT_OK;
}

int weft_gemm_backend_available(weft_gemm_backend backend, const weft_device_info *device,
                                char *why, size_t why_size)
{
    if (backend == WEFT_GEMM_WEFT)
        return 1;
    /* CLBlast compiles its kernels from source at run time: a device
     * without a compiler (an FPGA board running from a bundle) cannot. */
    if (device && !device->compiler_available) {
        snprintf(why, why_size, "CLBlast compiles its kernels at run time and device '%s' has no compiler",
                 device->name);
        return 0;
    }
    return weft_gemm_clblast_available(why, why_size);
}

/* ---- Packing -------------------------------------------------------------------- */

/* Packed panels of T rows of a rows x K view of an operand: how many
 * distinct matrices (a zero batch stride shares one) and their strides. */
static size_t pack_layout(const weft_gemm_operand *o, const size_t *batch, size_t rows, size_t K,
                          size_t T, size_t *stride, size_t *count1)
{
    size_t one = (rows + T - 1) / T * T * K;
    size_t c1 = o->batch_stride[1] ? batch[1] : 1, c0 = o->batch_stride[0] ? batch[0] : 1;
    stride[1] = o->batch_stride[1] ? one : 0;
    stride[0] = o->batch_stride[0] ? c1 * one : 0;
    *count1 = c1;
    return c0 * c1 * one;
}

/* The source strides of element (r, k) of the rows x K view: for A, r is
 * a row of op(A); for B, r is a column of op(B). */
static void view_strides(const weft_gemm_operand *o, int is_b, size_t *sr, size_t *sk)
{
    int along_rows = is_b ? o->trans : !o->trans; /* r indexes X's rows */
    *sr = along_rows ? o->ld : 1;
    *sk = along_rows ? 1 : o->ld;
}

static weft_status pack_constant(weft_prepare *p, const weft_gemm_operand *o, int is_b,
                                 const size_t *batch, size_t rows, size_t K, size_t T,
                                 size_t *stride, cl_mem *out)
{
    size_t c1, total = pack_layout(o, batch, rows, K, T, stride, &c1), sr, sk;
    size_t c0 = o->batch_stride[0] ? batch[0] : 1;
    view_strides(o, is_b, &sr, &sk);
    if (total > INT_LIMIT)
        return weft_node_fail(p->node, WEFT_ERR_UNSUPPORTED,
                              "GEMM: a packed constant above 2^31 - 1 floats");
    float *buf = calloc(total, sizeof *buf);
    if (!buf)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory to pack a GEMM operand of node '%s'",
                         p->node->name);
    for (size_t b0 = 0; b0 < c0; b0++)
        for (size_t b1 = 0; b1 < c1; b1++) {
            const float *src = o->host + b0 * o->batch_stride[0] + b1 * o->batch_stride[1];
            float *dst = buf + b0 * stride[0] + b1 * stride[1];
            for (size_t r = 0; r < rows; r++)
                for (size_t k = 0; k < K; k++)
                    dst[(r / T) * K * T + k * T + r % T] = src[r * sr + k * sk];
        }
    weft_status st = weft_op_upload(p, buf, total * sizeof *buf, out);
    free(buf);
    return st;
}

/* ---- Prepare ---------------------------------------------------------------------- */

static weft_status prepare_weft(weft_prepare *p, const weft_gemm_desc *d, weft_gemm_plan *plan)
{
    gemm_tiles t = tiles_for(p->device, d, p->variant);
    weft_status st;
    if (t.ts) {
        /* gemm_local when the device takes its work-groups, else the
         * register kernel with the small tiles */
        while (t.ts > 16 && ((size_t)(t.ts / 4) * (size_t)(t.ts / 4) > p->device->max_work_group_size ||
                             (d->m <= (size_t)t.ts / 2 && d->n <= (size_t)t.ts / 2)))
            t.ts /= 2;
        weft_options o;
        weft_options_init(&o);
        weft_options_define_int(&o, "TS", t.ts);
        weft_options_define_int(&o, "TK", 16);
        weft_options_define_int(&o, "WPT", 4);
        weft_options_define_int(&o, "ACT", d->act);
        weft_options_define_int(&o, "KERNELS", WEFT_GEMM_KERNELS_LOCAL);
        if ((st = weft_op_kernel(p, "gemm", &o, "gemm_local", &plan->main)) != WEFT_OK)
            return st;
        if (weft_op_max_local(p, plan->main) >= (size_t)(t.ts / 4) * (size_t)(t.ts / 4)) {
            plan->local_rt = t.ts / 4;
            t.tm = t.vw = t.ts;
            t.nv = 1;
        } else {
            plan->main = NULL;
            t = (gemm_tiles){4, 4, 1, 0, 0, 0};
        }
    }
    /* Narrow products take narrower tiles rather than compute padding,
     * unless the padding is cheaper than a program to build: below ~4M
     * padded MACs (~20 us here) the table's tile is kept (a Gemm at batch
     * 1, like ResNet-18's classifier, then shares a program already built
     * for a conv instead of compiling its own: ~0.3 s of a cold start). */
    double batches = (double)d->batch[0] * (double)d->batch[1];
    if ((double)((size_t)t.tm - (d->m < (size_t)t.tm ? d->m : (size_t)t.tm)) * (double)d->n *
            (double)d->k * batches >= 4e6)
        while (!plan->local_rt && t.tm > 1 && d->m <= (size_t)t.tm / 2)
            t.tm /= 2;
    while (!plan->local_rt && t.nv > 1 && d->n < (size_t)(t.vw * t.nv))
        t.nv--;
    while (!plan->local_rt && t.vw > 1 && d->n <= (size_t)t.vw / 2)
        t.vw /= 2;
    size_t tn = (size_t)(t.vw * t.nv);
    plan->tm = t.tm;
    plan->tn = (int)tn;
    plan->a_packed = 1;
    plan->a_const = d->a.host != NULL;
    plan->b_const = d->b.host != NULL;
    plan->b_packed = plan->b_const || d->b.trans || d->n < tn || plan->local_rt;

    size_t ws = 0, c1;
    if (plan->a_const) {
        if ((st = pack_constant(p, &d->a, 0, d->batch, d->m, d->k, (size_t)t.tm,
                                plan->a_pack_stride, &plan->a_pack)) != WEFT_OK)
            return st;
    } else {
        plan->a_ws_off = 0;
        ws = round_up(pack_layout(&d->a, d->batch, d->m, d->k, (size_t)t.tm, plan->a_pack_stride,
                                  &c1),
                      16);
    }
    if (plan->b_const) {
        if ((st = pack_constant(p, &d->b, 1, d->batch, d->n, d->k, tn, plan->b_pack_stride,
                                &plan->b_pack)) != WEFT_OK)
            return st;
    } else if (plan->b_packed) {
        plan->b_ws_off = ws;
        ws += round_up(pack_layout(&d->b, d->batch, d->n, d->k, tn, plan->b_pack_stride, &c1), 16);
    }
    if (ws > INT_LIMIT)
        return weft_node_fail(p->node, WEFT_ERR_UNSUPPORTED,
                              "GEMM %zux%zux%zu: packed operands above 2^31 - 1 floats", d->m,
                              d->n, d->k);
    plan->workspace_bytes = ws * sizeof(float);

    weft_options o;
    weft_options_init(&o);
    weft_options_define_int(&o, "TM", t.tm);
    weft_options_define_int(&o, "VW", t.vw);
    weft_options_define_int(&o, "NV", t.nv);
    weft_options_define_int(&o, "ACT", d->act);
    weft_options_define_int(&o, "KERNELS", WEFT_GEMM_KERNELS_MAIN);
    /* prefetching is a hint for CPU caches */
    weft_options_define_int(&o, "PF", p->device->type == WEFT_DEVICE_CPU);
    if (!plan->main && (st = weft_op_kernel(p, "gemm", &o, "gemm_main", &plan->main)) != WEFT_OK)
        return st;
    if (!plan->a_const || (plan->b_packed && !plan->b_const)) {
        weft_options pack;
        weft_options_init(&pack);
        weft_options_define_int(&pack, "KERNELS", WEFT_GEMM_KERNELS_PACK);
        if ((st = weft_op_kernel(p, "gemm", &pack, "gemm_pack", &plan->pack_a)) != WEFT_OK)
            return st;
        plan->pack_b = plan->pack_a;
    }
    plan->local_one = t.local_one;
    return WEFT_OK;
}

weft_status weft_gemm_prepare(weft_prepare *p, const weft_gemm_desc *desc, weft_gemm_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    weft_status st = check_desc(p->node, desc);
    if (st != WEFT_OK)
        return st;
    char why[256];
    if (!weft_gemm_backend_available(desc->backend, p->device, why, sizeof why))
        return weft_node_fail(p->node, WEFT_ERR_UNSUPPORTED, "GEMM back end: %s", why);
    st = desc->backend == WEFT_GEMM_CLBLAST ? weft_gemm_clblast_prepare(p, desc, plan)
                                            : prepare_weft(p, desc, plan);
    plan->desc = *desc;
    plan->desc.a.host = plan->desc.b.host = NULL;
    if (st != WEFT_OK)
        weft_gemm_plan_release(plan);
    return st;
}

void weft_gemm_plan_release(weft_gemm_plan *plan)
{
    if (plan)
        memset(plan, 0, sizeof *plan); /* kernels and buffers are the session's */
}

cl_int weft_gemm_d_mode(const weft_gemm_desc *d)
{
    return d->has_d ? (d->d_col_stride ? 1 : 2) : 0;
}

/* ---- Enqueue ---------------------------------------------------------------------- */

/* gemm_pack of one operand into the workspace. */
static weft_status enqueue_pack(weft_run *r, const weft_gemm_plan *plan, cl_kernel k,
                                const weft_gemm_operand *o, int is_b, cl_mem src, size_t src_off,
                                size_t rows, size_t T, const size_t *pstride, cl_mem ws,
                                size_t ws_off)
{
    const weft_gemm_desc *d = &plan->desc;
    size_t sr, sk;
    view_strides(o, is_b, &sr, &sk);
    size_t c1 = o->batch_stride[1] ? d->batch[1] : 1, c0 = o->batch_stride[0] ? d->batch[0] : 1;
    cl_int a_rows = (cl_int)rows, a_k = (cl_int)d->k, a_t = (cl_int)T, a_b1 = (cl_int)c1;
    cl_int a_off = (cl_int)src_off, a_sr = (cl_int)sr, a_sk = (cl_int)sk;
    cl_int a_s0 = (cl_int)o->batch_stride[0], a_s1 = (cl_int)o->batch_stride[1];
    cl_int a_doff = (cl_int)ws_off, a_d0 = (cl_int)pstride[0], a_d1 = (cl_int)pstride[1];
    weft_arg args[] = {WEFT_ARG(a_rows), WEFT_ARG(a_k),  WEFT_ARG(a_t),  WEFT_ARG(a_b1),
                       WEFT_ARG(src),    WEFT_ARG(a_off), WEFT_ARG(a_sr), WEFT_ARG(a_sk),
                       WEFT_ARG(a_s0),   WEFT_ARG(a_s1), WEFT_ARG(ws),   WEFT_ARG(a_doff),
                       WEFT_ARG(a_d0),   WEFT_ARG(a_d1)};
    weft_status st = weft_op_set_args(r, k, args, sizeof args / sizeof *args);
    if (st != WEFT_OK)
        return st;
    size_t global[3] = {d->k, (rows + T - 1) / T, c0 * c1};
    return weft_op_launch(r, k, 3, global, NULL);
}

static weft_status enqueue_weft(weft_run *r, const weft_gemm_plan *plan,
                                const weft_gemm_buffers *bf)
{
    const weft_gemm_desc *d = &plan->desc;
    weft_status st;
    cl_mem a = plan->a_pack, b = bf->b;
    size_t a_off = 0, b_off = bf->b_off;
    if ((!plan->a_const || (plan->b_packed && !plan->b_const)) && !bf->workspace)
        return weft_node_fail(r->node, WEFT_ERR_INTERNAL, "GEMM: the workspace is missing");
    if (!plan->a_const) {
        a = bf->workspace;
        a_off = bf->workspace_off + plan->a_ws_off;
        if ((st = enqueue_pack(r, plan, plan->pack_a, &d->a, 0, bf->a, bf->a_off, d->m,
                               (size_t)plan->tm, plan->a_pack_stride, a, a_off)) != WEFT_OK)
            return st;
    }
    size_t ldb = d->b.ld, b_s[2] = {d->b.batch_stride[0], d->b.batch_stride[1]};
    if (plan->b_const) {
        b = plan->b_pack;
        b_off = 0;
    } else if (plan->b_packed) {
        b = bf->workspace;
        b_off = bf->workspace_off + plan->b_ws_off;
        if ((st = enqueue_pack(r, plan, plan->pack_b, &d->b, 1, bf->b, bf->b_off, d->n,
                               (size_t)plan->tn, plan->b_pack_stride, b, b_off)) != WEFT_OK)
            return st;
    }
    if (plan->b_packed) {
        b_s[0] = plan->b_pack_stride[0];
        b_s[1] = plan->b_pack_stride[1];
    }
    cl_int m = (cl_int)d->m, n = (cl_int)d->n, k = (cl_int)d->k, b1 = (cl_int)d->batch[1];
    cl_int aoff = (cl_int)a_off, as0 = (cl_int)plan->a_pack_stride[0],
           as1 = (cl_int)plan->a_pack_stride[1];
    cl_int boff = (cl_int)b_off, bld = (cl_int)ldb, bs0 = (cl_int)b_s[0], bs1 = (cl_int)b_s[1];
    cl_int coff = (cl_int)bf->c_off, cld = (cl_int)d->ldc, cs0 = (cl_int)d->c_batch_stride[0],
           cs1 = (cl_int)d->c_batch_stride[1];
    cl_int biasoff = (cl_int)bf->bias_off, doff = (cl_int)bf->d_off,
           drs = (cl_int)d->d_row_stride, ds0 = (cl_int)d->d_batch_stride[0],
           ds1 = (cl_int)d->d_batch_stride[1];
    float alpha = d->alpha, beta = d->beta, aa = d->act_alpha, ab = d->act_beta;
    cl_int bpk = plan->b_packed, bias_mode = (cl_int)d->bias, d_mode = weft_gemm_d_mode(d);
    weft_arg args[] = {WEFT_ARG(m),         WEFT_ARG(n),      WEFT_ARG(k),       WEFT_ARG(b1),
                       WEFT_ARG(a),         WEFT_ARG(aoff),   WEFT_ARG(as0),     WEFT_ARG(as1),
                       WEFT_ARG(bpk),       WEFT_ARG(b),      WEFT_ARG(boff),    WEFT_ARG(bld),
                       WEFT_ARG(bs0),       WEFT_ARG(bs1),    WEFT_ARG(bf->c),   WEFT_ARG(coff),
                       WEFT_ARG(cld),       WEFT_ARG(cs0),    WEFT_ARG(cs1),     WEFT_ARG(bias_mode),
                       WEFT_ARG(bf->bias),  WEFT_ARG(biasoff), WEFT_ARG(d_mode), WEFT_ARG(bf->d),
                       WEFT_ARG(doff),      WEFT_ARG(drs),    WEFT_ARG(ds0),     WEFT_ARG(ds1),
                       WEFT_ARG(alpha),     WEFT_ARG(beta),   WEFT_ARG(aa),      WEFT_ARG(ab)};
    if ((st = weft_op_set_args(r, plan->main, args, sizeof args / sizeof *args)) != WEFT_OK)
        return st;
    size_t mt = (d->m + (size_t)plan->tm - 1) / (size_t)plan->tm;
    size_t nt = (d->n + (size_t)plan->tn - 1) / (size_t)plan->tn;
    if (plan->local_rt) {
        size_t rt = (size_t)plan->local_rt;
        size_t global[3] = {nt * rt, mt * rt, d->batch[0] * d->batch[1]}, local[3] = {rt, rt, 1};
        return weft_op_launch(r, plan->main, 3, global, local);
    }
    size_t global[3] = {mt, nt, d->batch[0] * d->batch[1]};
    size_t one[3] = {1, 1, 1};
    return weft_op_launch(r, plan->main, 3, global, plan->local_one ? one : NULL);
}

weft_status weft_gemm_enqueue(weft_run *r, const weft_gemm_plan *plan,
                              const weft_gemm_buffers *buffers)
{
    const weft_gemm_desc *d = &plan->desc;
    if ((d->bias && !buffers->bias) || (d->has_d && !buffers->d) || !buffers->c ||
        (!plan->a_const && !buffers->a) || (!plan->b_const && !buffers->b))
        return weft_node_fail(r->node, WEFT_ERR_INTERNAL, "GEMM: a buffer the plan needs is NULL");
    if (d->backend == WEFT_GEMM_CLBLAST)
        return weft_gemm_clblast_enqueue(r, plan, buffers);
    return enqueue_weft(r, plan, buffers);
}

/* ---- Cost --------------------------------------------------------------------------- */

/* FLOPs at a per-device-class rate, plus the bytes once at a bandwidth and
 * a launch. Rates: the fraction of a guessed peak (compute units x clock
 * x 32 flops per cycle on CPUs, 128 on GPUs) measured for each back end
 * on PoCL here (weft ~0.5, CLBlast ~0.05); on GPUs CLBlast's tuned
 * kernels are taken to be the faster until weft has a local-memory
 * variant. */
double weft_gemm_cost(const weft_gemm_desc *d, const weft_device_info *device)
{
    int cpu = device->type == WEFT_DEVICE_CPU;
    double units = device->compute_units ? device->compute_units : 1;
    double hz = (device->clock_mhz ? device->clock_mhz : 1000) * 1e6;
    double peak = units * hz * (cpu ? 32.0 : 128.0);
    double eff = d->backend == WEFT_GEMM_CLBLAST ? (cpu ? 0.05 : 0.4) : (cpu ? 0.5 : 0.1);
    double batches = (double)d->batch[0] * (double)d->batch[1];
    double flops = 2.0 * (double)d->m * (double)d->n * (double)d->k * batches;
    double bytes = 4.0 * batches * ((double)d->m * d->k + (double)d->k * d->n + 2.0 * d->m * d->n);
    return flops / (peak * eff) + bytes / (cpu ? 10e9 : 100e9) + 10e-6;
}

int weft_fused_activation(const weft_node *n, weft_gemm_act *act, float *alpha, float *beta,
                          char *why, size_t cap)
{
    static const struct {
        const char *name;
        weft_gemm_act act;
        float alpha, beta;
    } acts[] = {
        {"Relu", WEFT_GEMM_ACT_RELU, 0, 0},
        {"LeakyRelu", WEFT_GEMM_ACT_LEAKY_RELU, 0.01f, 0},
        {"Clip", WEFT_GEMM_ACT_CLIP, -INFINITY, INFINITY},
        {"Sigmoid", WEFT_GEMM_ACT_SIGMOID, 0, 0},
        {"Tanh", WEFT_GEMM_ACT_TANH, 0, 0},
        {"HardSwish", WEFT_GEMM_ACT_HARD_SWISH, 0, 0},
    };
    *act = WEFT_GEMM_ACT_NONE;
    *alpha = *beta = 0;
    const weft_attr *a = weft_node_attr(n, "_weft_activation");
    if (!a)
        return 1;
    const weft_attr *al = weft_node_attr(n, "_weft_alpha"), *be = weft_node_attr(n, "_weft_beta");
    if (a->type != WEFT_ATTR_STRING || (al && al->type != WEFT_ATTR_FLOAT) ||
        (be && be->type != WEFT_ATTR_FLOAT)) {
        snprintf(why, cap, "attribute '_weft_activation' must be a string, '_weft_alpha' and "
                 "'_weft_beta' floats");
        return 0;
    }
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        if (strcmp(a->s, acts[i].name) != 0)
            continue;
        *act = acts[i].act;
        *alpha = al ? al->f : acts[i].alpha;
        *beta = be ? be->f : acts[i].beta;
        return 1;
    }
    snprintf(why, cap, "attribute '_weft_activation' = \"%s\" is not an activation the fused "
             "epilogue applies",
             a->s);
    return 0;
}
