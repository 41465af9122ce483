/*
 * Folding BatchNormalization (inference form) into the Conv,
 * ConvTranspose or Gemm that produces its input. Per output channel o the
 * BN computes y = a[o] * x + b[o] with
 *   a = scale / sqrt(input_var + epsilon),  b = B - input_mean * a,
 * and since the producer's output channel o is linear in its weights for
 * that channel plus its bias, the product is the same layer with
 *   W'[weights of o] = W[weights of o] * a[o]
 *   bias'[o]         = bias[o] * a[o] + b[o]   (bias 0 when absent).
 * The output channel of a weight is:
 *   Conv           W [M, C/group, k...]: dim 0;
 *   ConvTranspose  W [C, M/group, k...]: group g = c / (C/group), dim 1 j,
 *                  output channel g * (M/group) + j;
 *   Gemm           Y = alpha * A' * B' + beta * C with Y [rows, N]: column
 *                  n of B' = B (transB 0: B [K, N], column n) or B^T
 *                  (transB 1: B [N, K], row n). The new C is
 *                  beta * C * a[n] + b[n] with beta set to 1, of shape [N]
 *                  when C does not vary along the rows, else [rows, N].
 * The fold is exact in real arithmetic; in float32 it rounds differently
 * (one product fewer per output), within a few ulp.
 *
 * It applies only when nothing else can see the difference: the BN's
 * input is the producer's output 0 and is read by the BN alone (not by
 * another node, not a graph output); W, the producer's bias and the four
 * BN parameters are float32 constants of the expected shapes. The new
 * weights and bias are new constants (the old ones may be shared with
 * other nodes); the producer then writes the BN's output, and the BN is
 * marked removed. Run weft_graph_compact afterwards to drop the BN and
 * the values nobody uses any more.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "graph/passes.h"

static int is_float_constant(const weft_value *v)
{
    return v && v->kind == WEFT_VALUE_CONSTANT && v->dtype == WEFT_FLOAT32 && v->data;
}

/* Per-channel a and b of a BN node whose four parameters are float32
 * constants of shape [c]; 0 when it is not one. a, b: c doubles each. */
static int bn_coefficients(const weft_graph *g, const weft_node *bn, int64_t c, double *a,
                           double *b)
{
    const weft_value *p[4];
    for (size_t k = 0; k < 4; k++) {
        p[k] = weft_node_input(g, bn, k + 1);
        if (!is_float_constant(p[k]) || p[k]->shape.rank != 1 || p[k]->shape.dims[0] != c)
            return 0;
    }
    float eps;
    int64_t training;
    if (weft_node_attr_float(bn, "epsilon", 1e-5f, &eps) != WEFT_OK ||
        weft_node_attr_int(bn, "training_mode", 0, &training) != WEFT_OK || training != 0)
        return 0;
    const float *scale = p[0]->data, *bias = p[1]->data, *mean = p[2]->data, *var = p[3]->data;
    for (int64_t o = 0; o < c; o++) {
        a[o] = scale[o] / sqrt((double)var[o] + (double)eps);
        b[o] = bias[o] - (double)mean[o] * a[o];
    }
    return 1;
}

/* A fresh value name "<base>_bn_folded[_N]". */
static void fresh_name(const weft_graph *g, const char *base, char *out, size_t cap)
{
    snprintf(out, cap, "%s_bn_folded", base);
    for (int i = 2; weft_graph_find_value(g, out) >= 0; i++)
        snprintf(out, cap, "%s_bn_folded_%d", base, i);
}

/* New constant from float data (copied); its index in *index. */
static weft_status add_constant(weft_graph *g, const char *base, const weft_shape *shape,
                                const float *data, int *index)
{
    char name[512];
    fresh_name(g, base, name, sizeof name);
    weft_status st = weft_graph_add_constant(g, name, WEFT_FLOAT32, shape->rank, shape->dims, data);
    if (st == WEFT_OK)
        *index = weft_graph_find_value(g, name);
    return st;
}

/* The folded weights and bias of producer p for output channels c, or 0
 * when the producer's kind or inputs do not allow the fold. *w and *bias
 * are malloc'd; bias_shape is the new bias's shape. */
typedef struct folded {
    float *w, *bias;
    weft_shape bias_shape;
} folded;

static int fold_weights(const weft_graph *g, const weft_node *p, int64_t c, const double *a,
                        const double *b, folded *f, weft_status *st)
{
    *st = WEFT_OK;
    const weft_value *w = weft_node_input(g, p, 1), *bv = weft_node_input(g, p, 2);
    if (!is_float_constant(w) || (bv && !is_float_constant(bv)))
        return 0;
    const float *wd = w->data, *bd = bv ? bv->data : NULL;
    int64_t wn = weft_shape_numel(&w->shape);
    int conv = strcmp(p->op, "Conv") == 0, convt = strcmp(p->op, "ConvTranspose") == 0;
    int64_t transb = 0, group = 1;
    float beta = 1.0f;
    const weft_value *y = weft_node_output(g, p, 0);
    if (!y || !y->shape_known || y->shape.rank < 2 || y->shape.dims[1] != c)
        return 0;
    int64_t rows = y->shape.dims[0];
    if (conv || convt) {
        if (w->shape.rank < 3 || weft_node_attr_int(p, "group", 1, &group) != WEFT_OK ||
            group < 1)
            return 0;
        if (conv && w->shape.dims[0] != c)
            return 0;
        if (convt && (w->shape.dims[0] % group != 0 || w->shape.dims[1] * group != c))
            return 0;
        if (bv && (bv->shape.rank != 1 || bv->shape.dims[0] != c))
            return 0;
        f->bias_shape = (weft_shape){.rank = 1, .dims = {c}};
    } else if (strcmp(p->op, "Gemm") == 0) {
        if (w->shape.rank != 2 || weft_node_attr_int(p, "transB", 0, &transb) != WEFT_OK ||
            weft_node_attr_float(p, "beta", 1.0f, &beta) != WEFT_OK ||
            w->shape.dims[transb ? 0 : 1] != c || y->shape.rank != 2)
            return 0;
        if (bv && (bv->shape.rank > 2 || (bv->shape.rank >= 1 &&
                                          bv->shape.dims[bv->shape.rank - 1] != c &&
                                          bv->shape.dims[bv->shape.rank - 1] != 1) ||
                   (bv->shape.rank == 2 && bv->shape.dims[0] != rows && bv->shape.dims[0] != 1)))
            return 0;
        /* C varies along the rows only when it is [rows, *] with rows > 1. */
        int by_row = bv && bv->shape.rank == 2 && bv->shape.dims[0] != 1;
        f->bias_shape = by_row ? (weft_shape){.rank = 2, .dims = {rows, c}}
                               : (weft_shape){.rank = 1, .dims = {c}};
    } else {
        return 0;
    }
    int64_t bn = weft_shape_numel(&f->bias_shape);
    f->w = malloc((size_t)(wn ? wn : 1) * sizeof *f->w);
    f->bias = malloc((size_t)(bn ? bn : 1) * sizeof *f->bias);
    if (!f->w || !f->bias) {
        free(f->w);
        free(f->bias);
        *st = weft_node_fail(p, WEFT_ERR_OUT_OF_MEMORY, "no memory to fold a BatchNormalization");
        return 0;
    }
    if (conv || convt) {
        /* Conv: [M, ...] rows of `inner` weights; ConvTranspose: [C, M/group,
         * k...], `inner` weights per (c, j). */
        int64_t inner = 1;
        for (int d = conv ? 1 : 2; d < w->shape.rank; d++)
            inner *= w->shape.dims[d];
        int64_t cin_per_group = convt ? w->shape.dims[0] / group : 1;
        int64_t m_per_group = convt ? w->shape.dims[1] : 1;
        for (int64_t i = 0; i < wn; i++) {
            int64_t o;
            if (conv) {
                o = i / inner;
            } else {
                int64_t j = (i / inner) % m_per_group, ci = i / (inner * m_per_group);
                o = (ci / cin_per_group) * m_per_group + j;
            }
            f->w[i] = (float)(wd[i] * a[o]);
        }
        for (int64_t o = 0; o < c; o++)
            f->bias[o] = (float)((bd ? bd[o] : 0.0) * a[o] + b[o]);
        return 1;
    }
    /* Gemm */
    for (int64_t i = 0; i < wn; i++) {
        int64_t o = transb ? i / w->shape.dims[1] : i % c;
        f->w[i] = (float)(wd[i] * a[o]);
    }
    for (int64_t i = 0; i < bn; i++) {
        int64_t o = i % c, r = i / c;
        double cv = 0;
        if (bv) {
            int rank = bv->shape.rank;
            int64_t col = rank >= 1 && bv->shape.dims[rank - 1] != 1 ? o : 0;
            int64_t row = rank == 2 && bv->shape.dims[0] != 1 ? r : 0;
            cv = bd[rank == 2 ? row * bv->shape.dims[1] + col : col];
        }
        f->bias[i] = (float)((double)beta * cv * a[o] + b[o]);
    }
    return 1;
}

/* Folds BN node bn into its producer when allowed; *done says whether. */
static weft_status fold_one(weft_graph *g, size_t bn_index, int *done)
{
    *done = 0;
    weft_node *bn = &g->nodes[bn_index];
    if (bn->input_count < 5 || bn->inputs[0] < 0 || bn->output_count < 1 || bn->outputs[0] < 0)
        return WEFT_OK;
    for (size_t k = 1; k < bn->output_count; k++)
        if (bn->outputs[k] >= 0)
            return WEFT_OK; /* training outputs */
    int xv = bn->inputs[0];
    const weft_value *x = &g->values[xv];
    if (x->kind != WEFT_VALUE_NODE || x->producer < 0 || x->dtype != WEFT_FLOAT32 ||
        weft_value_uses(g, xv) != 1)
        return WEFT_OK;
    int pi = x->producer;
    const weft_node *p = &g->nodes[pi];
    if (p->removed || p->output_count < 1 || p->outputs[0] != xv || !x->shape_known ||
        x->shape.rank < 2)
        return WEFT_OK;
    int64_t c = x->shape.dims[1];
    double *a = malloc((size_t)(c ? c : 1) * sizeof *a), *b = malloc((size_t)(c ? c : 1) * sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        return weft_node_fail(bn, WEFT_ERR_OUT_OF_MEMORY, "no memory to fold it");
    }
    folded f = {0};
    weft_status st = WEFT_OK;
    int ok = bn_coefficients(g, bn, c, a, b) && fold_weights(g, p, c, a, b, &f, &st);
    free(a);
    free(b);
    if (!ok)
        return st;
    /* New constants; adding values may move g->values, so keep indices. */
    int w_index = -1, b_index = -1;
    char w_base[256], b_base[256];
    snprintf(w_base, sizeof w_base, "%s", g->values[p->inputs[1]].name);
    snprintf(b_base, sizeof b_base, "%s", p->input_count > 2 && p->inputs[2] >= 0
                                              ? g->values[p->inputs[2]].name
                                              : g->values[p->inputs[1]].name);
    if (!(p->input_count > 2 && p->inputs[2] >= 0))
        snprintf(b_base + strlen(b_base), sizeof b_base - strlen(b_base), "_bias");
    const weft_shape w_shape = g->values[p->inputs[1]].shape;
    st = add_constant(g, w_base, &w_shape, f.w, &w_index);
    if (st == WEFT_OK)
        st = add_constant(g, b_base, &f.bias_shape, f.bias, &b_index);
    free(f.w);
    free(f.bias);
    if (st != WEFT_OK)
        return st;
    weft_node *pn = &g->nodes[pi];
    if (pn->input_count < 3) {
        int *grown = realloc(pn->inputs, 3 * sizeof *grown);
        if (!grown)
            return weft_node_fail(pn, WEFT_ERR_OUT_OF_MEMORY, "no memory to fold a "
                                  "BatchNormalization into it");
        for (size_t k = pn->input_count; k < 3; k++)
            grown[k] = -1;
        pn->inputs = grown;
        pn->input_count = 3;
    }
    if (strcmp(pn->op, "Gemm") == 0 && (st = weft_attrs_set_float(&pn->attrs, "beta", 1.0f)) !=
                                           WEFT_OK)
        return st;
    pn->inputs[1] = w_index;
    pn->inputs[2] = b_index;
    /* The producer now writes the BN's output; the old output is dropped
     * by compaction. */
    int yv = g->nodes[bn_index].outputs[0];
    pn->outputs[0] = yv;
    g->values[yv].producer = pi;
    g->values[yv].kind = WEFT_VALUE_NODE;
    g->values[xv].producer = -1;
    g->values[xv].kind = WEFT_VALUE_UNDEFINED;
    g->nodes[bn_index].removed = 1;
    *done = 1;
    return WEFT_OK;
}

weft_status weft_pass_fold_batch_norm(weft_graph *g, size_t *changed)
{
    *changed = 0;
    for (size_t i = 0; i < g->node_count; i++) {
        if (g->nodes[i].removed || strcmp(g->nodes[i].op, "BatchNormalization") != 0)
            continue;
        int done;
        weft_status st = fold_one(g, i, &done);
        if (st != WEFT_OK)
            return st;
        *changed += (size_t)done;
    }
    return WEFT_OK;
}
