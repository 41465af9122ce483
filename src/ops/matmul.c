/*
 * Gemm and MatMul on the GEMM engine (gemm_engine.h), one implementation
 * per back end: "tiled" (weft's kernel) and "clblast" (CLBlast's SGEMM).
 * Both follow the reference (src/ref/ref_conv.c):
 *   Gemm    Y = alpha * A' * B' + beta * C; C's unidirectional broadcast
 *           becomes the engine's addend D with zero strides.
 *   MatMul  numpy.matmul: 1-D operands promoted, the batch axes broadcast.
 *           Batch axes whose strides chain are merged; the engine takes two
 *           levels, further outer levels are a loop of enqueues here.
 * Constant operands (weights) are handed to the engine to pack once.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ops/gemm_engine.h"

#define LEVELS_MAX WEFT_MAX_RANK

typedef struct mm_state {
    weft_gemm_plan plan;
    int a_packed, b_packed; /* handed to the engine as constants */
    /* MatMul batch levels beyond the engine's two, outermost first */
    int outer;
    size_t count[LEVELS_MAX], sa[LEVELS_MAX], sb[LEVELS_MAX], sc[LEVELS_MAX];
} mm_state;

static const char *const dense_ops[] = {"Gemm", "MatMul", NULL};

static int fits(const weft_value *v)
{
    return v && weft_shape_numel(&v->shape) >= 0 && weft_shape_numel(&v->shape) <= INT32_MAX;
}

static weft_status read_activation(const weft_node *n, weft_gemm_desc *d)
{
    char why[160];
    if (!weft_fused_activation(n, &d->act, &d->act_alpha, &d->act_beta, why, sizeof why))
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED, "%s", why);
    return WEFT_OK;
}

static int dense_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                          weft_gemm_backend backend, char *why, size_t cap)
{
    weft_gemm_act act;
    float alpha, beta;
    if (!weft_gemm_backend_available(backend, d, why, cap) ||
        !weft_fused_activation(n, &act, &alpha, &beta, why, cap))
        return 0;
    size_t count = strcmp(n->op, "Gemm") == 0 ? 3 : 2;
    for (size_t i = 0; i < count; i++) {
        const weft_value *v = weft_node_input(g, n, i);
        if (i == 2 && !v)
            continue;
        if (!v || v->dtype != WEFT_FLOAT32)
            return weft_op_refuse(why, cap, "only float32 inputs are supported");
        if (!fits(v))
            return weft_op_refuse(why, cap, "an input has more than 2^31 - 1 elements");
    }
    const weft_value *y = weft_node_output(g, n, 0);
    if (!y || !fits(y))
        return weft_op_refuse(why, cap, "the output has more than 2^31 - 1 elements");
    if (weft_shape_numel(&y->shape) == 0)
        return weft_op_refuse(why, cap, "an empty output");
    const weft_value *a = weft_node_input(g, n, 0);
    int64_t k = a->shape.rank ? a->shape.dims[a->shape.rank - 1] : 0;
    if (strcmp(n->op, "Gemm") == 0) {
        int64_t ta = 0;
        weft_node_attr_int(n, "transA", 0, &ta);
        k = a->shape.rank == 2 ? a->shape.dims[ta ? 0 : 1] : 0;
    }
    if (k <= 0)
        return weft_op_refuse(why, cap, "an empty inner dimension K");
    return 1;
}

/* ---- Descriptions from the node ------------------------------------------------ */

static weft_status gemm_desc(const weft_prepare *p, weft_gemm_desc *d)
{
    const weft_node *n = p->node;
    int64_t ta, tb;
    float alpha, beta;
    weft_status st;
    if ((st = weft_node_attr_int(n, "transA", 0, &ta)) != WEFT_OK ||
        (st = weft_node_attr_int(n, "transB", 0, &tb)) != WEFT_OK ||
        (st = weft_node_attr_float(n, "alpha", 1.0f, &alpha)) != WEFT_OK ||
        (st = weft_node_attr_float(n, "beta", 1.0f, &beta)) != WEFT_OK)
        return st;
    const weft_shape *as = &p->inputs[0].shape, *bs = &p->inputs[1].shape;
    const weft_shape *ys = &p->outputs[0].shape;
    size_t m = (size_t)ys->dims[0], nn = (size_t)ys->dims[1];
    size_t k = (size_t)as->dims[ta ? 0 : 1];
    weft_gemm_desc_init(d, m, nn, k);
    d->a.trans = (int)ta;
    d->a.ld = (size_t)as->dims[1];
    d->a.host = p->inputs[0].host;
    d->b.trans = (int)tb;
    d->b.ld = (size_t)bs->dims[1];
    d->b.host = p->inputs[1].host;
    d->alpha = alpha;
    if (p->input_count > 2 && weft_node_input(p->graph, n, 2)) {
        /* C lines up with [M, N] from the right; size-1 axes broadcast */
        const weft_shape *cs = &p->inputs[2].shape;
        int64_t rows = cs->rank == 2 ? cs->dims[0] : 1;
        int64_t cols = cs->rank >= 1 ? cs->dims[cs->rank - 1] : 1;
        if (p->inputs[2].host && beta == 1.0f && (rows == 1) != (cols == 1)) {
            /* a constant vector: the bias, read once per row or column */
            d->bias = rows == 1 ? WEFT_GEMM_BIAS_COL : WEFT_GEMM_BIAS_ROW;
        } else {
            d->has_d = 1;
            d->beta = beta;
            d->d_row_stride = rows == 1 ? 0 : (size_t)cols;
            d->d_col_stride = cols == 1 ? 0 : 1;
        }
    }
    return WEFT_OK;
}

/* MatMul: the batch axes as levels (count, strides of A, B and Y),
 * size-1 output axes dropped and chained neighbours merged. */
static weft_status matmul_desc(const weft_prepare *p, weft_gemm_desc *d, mm_state *s)
{
    weft_shape sa = p->inputs[0].shape, sb = p->inputs[1].shape;
    if (sa.rank == 1)
        sa = (weft_shape){.rank = 2, .dims = {1, sa.dims[0]}};
    if (sb.rank == 1)
        sb = (weft_shape){.rank = 2, .dims = {sb.dims[0], 1}};
    size_t m = (size_t)sa.dims[sa.rank - 2], k = (size_t)sa.dims[sa.rank - 1];
    size_t nn = (size_t)sb.dims[sb.rank - 1];
    int ra = sa.rank - 2, rb = sb.rank - 2, r = ra > rb ? ra : rb;
    size_t cnt[LEVELS_MAX], xa[LEVELS_MAX], xb[LEVELS_MAX], xc[LEVELS_MAX];
    size_t ea = m * k, eb = k * nn, ec = m * nn;
    int levels = 0;
    /* innermost batch axis first */
    size_t la[LEVELS_MAX], lb[LEVELS_MAX], lc[LEVELS_MAX], ln[LEVELS_MAX];
    for (int i = 0; i < r; i++) {
        int64_t da = i < ra ? sa.dims[ra - 1 - i] : 1, db = i < rb ? sb.dims[rb - 1 - i] : 1;
        size_t c = (size_t)(da > db ? da : db);
        if (c != 1) {
            ln[levels] = c;
            la[levels] = da == 1 ? 0 : ea;
            lb[levels] = db == 1 ? 0 : eb;
            lc[levels] = ec;
            levels++;
        }
        ea *= (size_t)da;
        eb *= (size_t)db;
        ec *= c;
    }
    /* merge level j + 1 into j when its strides continue j's */
    int out = 0;
    for (int j = 0; j < levels; j++) {
        if (out > 0 && la[j] == xa[out - 1] * cnt[out - 1] && lb[j] == xb[out - 1] * cnt[out - 1] &&
            lc[j] == xc[out - 1] * cnt[out - 1]) {
            cnt[out - 1] *= ln[j];
            continue;
        }
        cnt[out] = ln[j];
        xa[out] = la[j];
        xb[out] = lb[j];
        xc[out] = lc[j];
        out++;
    }
    weft_gemm_desc_init(d, m, nn, k);
    /* the engine's inner level is levels[0], its outer levels[1]; the rest
     * loop here, outermost first */
    if (out > 0) {
        d->batch[1] = cnt[0];
        d->a.batch_stride[1] = xa[0];
        d->b.batch_stride[1] = xb[0];
        d->c_batch_stride[1] = xc[0];
    }
    if (out > 1) {
        d->batch[0] = cnt[1];
        d->a.batch_stride[0] = xa[1];
        d->b.batch_stride[0] = xb[1];
        d->c_batch_stride[0] = xc[1];
    }
    s->outer = out > 2 ? out - 2 : 0;
    for (int j = 0; j < s->outer; j++) {
        int from = out - 1 - j;
        s->count[j] = cnt[from];
        s->sa[j] = xa[from];
        s->sb[j] = xb[from];
        s->sc[j] = xc[from];
    }
    /* constants are packed per plan, which covers two levels only */
    d->a.host = s->outer ? NULL : p->inputs[0].host;
    d->b.host = s->outer ? NULL : p->inputs[1].host;
    return WEFT_OK;
}

static weft_status dense_prepare(weft_prepare *p, weft_gemm_backend backend)
{
    mm_state *s = calloc(1, sizeof *s);
    if (!s)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", p->node->name);
    p->state = s;
    weft_gemm_desc d;
    weft_status st = strcmp(p->node->op, "Gemm") == 0 ? gemm_desc(p, &d)
                                                       : matmul_desc(p, &d, s);
    if (st == WEFT_OK)
        st = read_activation(p->node, &d);
    if (st != WEFT_OK)
        return st;
    d.backend = backend;
    s->a_packed = d.a.host != NULL;
    s->b_packed = d.b.host != NULL;
    if ((st = weft_gemm_prepare(p, &d, &s->plan)) != WEFT_OK)
        return st;
    p->host_only |= (s->a_packed ? 1u : 0u) | (s->b_packed ? 2u : 0u);
    p->workspace_bytes = s->plan.workspace_bytes;
    return WEFT_OK;
}

static weft_status tiled_prepare(weft_prepare *p)
{
    return dense_prepare(p, WEFT_GEMM_WEFT);
}

static weft_status clblast_prepare(weft_prepare *p)
{
    return dense_prepare(p, WEFT_GEMM_CLBLAST);
}

static weft_status dense_enqueue(weft_run *r)
{
    const mm_state *s = r->state;
    /* the engine keeps its own copies of constants: their buffers are not
     * passed (as the contract allows, and as convolutions do) */
    weft_gemm_buffers bf = {.a = s->a_packed ? NULL : r->inputs[0].mem,
                            .b = s->b_packed ? NULL : r->inputs[1].mem,
                            .c = r->outputs[0].mem,
                            .d = s->plan.desc.has_d ? r->inputs[2].mem : NULL,
                            .bias = s->plan.desc.bias ? r->inputs[2].mem : NULL,
                            .workspace = r->workspace};
    size_t total = 1, idx[LEVELS_MAX] = {0};
    for (int j = 0; j < s->outer; j++)
        total *= s->count[j];
    for (size_t e = 0; e < total; e++) {
        size_t rest = e;
        bf.a_off = bf.b_off = bf.c_off = 0;
        for (int j = s->outer - 1; j >= 0; j--) {
            idx[j] = rest % s->count[j];
            rest /= s->count[j];
            bf.a_off += idx[j] * s->sa[j];
            bf.b_off += idx[j] * s->sb[j];
            bf.c_off += idx[j] * s->sc[j];
        }
        weft_status st = weft_gemm_enqueue(r, &s->plan, &bf);
        if (st != WEFT_OK)
            return st;
    }
    return WEFT_OK;
}

static void dense_release(void *state)
{
    mm_state *s = state;
    if (s)
        weft_gemm_plan_release(&s->plan);
    free(s);
}

/* ---- Cost: the engine's estimate of the node's product ------------------------ */

static double dense_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                         weft_gemm_backend backend)
{
    const weft_value *a = weft_node_input(g, n, 0), *b = weft_node_input(g, n, 1);
    const weft_value *y = weft_node_output(g, n, 0);
    if (!a || !b || !y || a->shape.rank < 1)
        return 1.0;
    int64_t k = a->shape.dims[a->shape.rank - 1];
    if (strcmp(n->op, "Gemm") == 0) {
        int64_t ta = 0;
        weft_node_attr_int(n, "transA", 0, &ta);
        k = a->shape.dims[ta ? 0 : 1];
    }
    int64_t out = weft_shape_numel(&y->shape);
    int64_t cols = y->shape.rank ? y->shape.dims[y->shape.rank - 1] : 1;
    weft_gemm_desc desc;
    weft_gemm_desc_init(&desc, (size_t)(out / (cols ? cols : 1)), (size_t)cols, (size_t)k);
    desc.backend = backend;
    return weft_gemm_cost(&desc, d);
}

static int tiled_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                          char *why, size_t cap)
{
    return dense_supports(g, n, d, WEFT_GEMM_WEFT, why, cap);
}

static int clblast_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                            char *why, size_t cap)
{
    return dense_supports(g, n, d, WEFT_GEMM_CLBLAST, why, cap);
}

static double tiled_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    return dense_cost(g, n, d, WEFT_GEMM_WEFT);
}

static double clblast_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    return dense_cost(g, n, d, WEFT_GEMM_CLBLAST);
}

const weft_op_impl weft_impl_gemm_tiled = {
    .name = "tiled",
    .ops = dense_ops,
    .supports = tiled_supports,
    .cost = tiled_cost,
    .prepare = tiled_prepare,
    .enqueue = dense_enqueue,
    .release = dense_release,
    .variant = weft_gemm_variant,
};

const weft_op_impl weft_impl_gemm_clblast = {
    .name = "clblast",
    .ops = dense_ops,
    .supports = clblast_supports,
    .cost = clblast_cost,
    .prepare = clblast_prepare,
    .enqueue = dense_enqueue,
    .release = dense_release,
};
