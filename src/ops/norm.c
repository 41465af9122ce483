/*
 * Normalization layers (cl/norm.cl), float32, ONNX semantics:
 *
 *   batch_norm  BatchNormalization, inference form. With constant
 *               parameters (the usual case) the host folds them once into
 *               a = scale / sqrt(var + eps) and b = B - mean * a per
 *               channel and the kernel is one multiply-add per element;
 *               parameters computed by the graph are read by a kernel that
 *               forms a and b itself.
 *   lrn         LRN across channels, one output element per work-item.
 *   lrn_walk    the same for CPU-class devices: a work-item walks the
 *               channels of 16 adjacent positions, the window's squares in
 *               registers.
 *   normalize   InstanceNormalization, LayerNormalization and
 *               GroupNormalization: X viewed as `segments` runs of `len`
 *               adjacent elements, each normalized with its own mean and
 *               variance (cl/norm.cl explains the corrected two-pass
 *               algorithm). Long runs get one work-group each, short runs
 *               one work-item each; the work-group size comes from the
 *               kernel's limit and the device's local memory, never
 *               assumed.
 *
 * Where each run's scale and bias come from is described by a map
 * (seg_mod, seg_mul, k_div, k_mod): element k of segment seg reads
 * p[(seg % seg_mod) * seg_mul + (k / k_div) % k_mod]. InstanceNormalization's
 * [C] parameters are (C, 1, 1, 1); GroupNormalization's per-channel [C]
 * ones (G, C/G, spatial, C/G) and per-group [G] ones (opset 18)
 * (G, 1, 1, 1); LayerNormalization's Scale and B broadcast over the
 * normalized axes, which a map expresses when their non-1 axes are one
 * contiguous block; other broadcasts of constant parameters are expanded
 * on the host. Divisions in the kernels use magic numbers (div_magic).
 *
 * For tests, WEFT_TEST_MAX_LOCAL=N caps every work-group at N and
 * WEFT_TEST_REDUCE_PATH=rows|group forces normalize's kernel; both are
 * read in prepare through src/ops/rows.h, whose path choice normalize
 * shares with Softmax and ReduceMean (its kernels take other arguments
 * and two floats of local memory per work-item, so it plans the rest
 * itself).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ops/op.h"
#include "ops/rows.h"

/* cl/norm.cl's KERNELS: a program holds one family, so a driver that
 * makes code for every kernel of a program (PoCL, when the disk cache
 * reads its binary) makes it for those the op uses. */
enum { KERNELS_BATCH = 1, KERNELS_LRN = 2, KERNELS_LRN_WALK = 3, KERNELS_STATS = 4 };

/* The work-group size of an element-wise launch: the kernel's limit, at
 * most 64 (and at most WEFT_TEST_MAX_LOCAL). */
static size_t elementwise_local(const weft_prepare *p, cl_kernel kernel)
{
    size_t local = weft_op_local_size(p, kernel, 64), forced = rows_test_max_local();
    return forced && forced < local ? forced : local;
}

/* X float32 with at least min_rank axes and at most 2^31 - 1 elements
 * (the kernels index with uint, and global sizes are rounded up). */
static int x_supported(const weft_graph *g, const weft_node *n, int min_rank, char *why,
                       size_t cap)
{
    for (size_t k = 0; k < n->input_count; k++) {
        const weft_value *v = weft_node_input(g, n, k);
        if (v && v->dtype != WEFT_FLOAT32) {
            snprintf(why, cap, "input %zu ('%s') is %s; only float32 is supported", k, v->name,
                     weft_dtype_name(v->dtype));
            return 0;
        }
    }
    const weft_value *x = weft_node_input(g, n, 0);
    if (!x || x->shape.rank < min_rank) {
        snprintf(why, cap, "input X needs rank >= %d", min_rank);
        return 0;
    }
    if (weft_shape_numel(&x->shape) > (int64_t)INT32_MAX) {
        snprintf(why, cap, "more than 2^31 - 1 elements");
        return 0;
    }
    return 1;
}

/* Product of dims [from, to). */
static uint64_t dims_product(const weft_shape *s, int from, int to)
{
    uint64_t p = 1;
    for (int d = from; d < to; d++)
        p *= (uint64_t)s->dims[d];
    return p;
}

/* The magic pair of divisor d for fast_div in cl/norm.cl: floor(n / d) is
 * (n * mul) >> shift for every n < 2^31, with shift = 31 + ceil(log2 d)
 * and mul = ceil(2^shift / d), which is below 2^32 (Granlund and
 * Montgomery, "Division by invariant integers using multiplication", PLDI
 * 1994, theorem 4.2 with N = 31: mul * d - 2^shift < d <= 2^ceil(log2 d)).
 * The kernels index below 2^31 (x_supported). d 0 is taken as 1. */
static void div_magic(uint64_t d, cl_uint magic[2])
{
    if (d == 0)
        d = 1;
    unsigned l = 0;
    while (((uint64_t)1 << l) < d)
        l++;
    uint64_t shift = 31 + l, mul = (((uint64_t)1 << shift) + d - 1) / d;
    magic[0] = (cl_uint)mul;
    magic[1] = (cl_uint)shift;
}

/* Memory-bound: `passes` reads and one write of every element, ~10 GB/s. */
static double stream_cost(const weft_graph *g, const weft_node *n, double passes)
{
    const weft_value *x = weft_node_input(g, n, 0);
    return x ? (double)weft_shape_numel(&x->shape) * 4.0 * (passes + 1.0) / 10e9 : 0;
}

static weft_status no_memory(const weft_prepare *p)
{
    return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", p->node->name);
}

/* A zeroed state of `size` bytes, kept in p->state so that release frees
 * it whatever prepare does next; NULL (the error set) without memory. */
static void *state_new(weft_prepare *p, size_t size)
{
    p->state = calloc(1, size);
    if (!p->state)
        no_memory(p);
    return p->state;
}

/* Sets a 1-D kernel's `count` arguments and launches n work-items. */
static weft_status launch_1d(weft_run *r, cl_kernel kernel, const weft_arg *args, size_t count,
                             size_t n, size_t local)
{
    weft_status st = weft_op_set_args(r, kernel, args, count);
    return st != WEFT_OK ? st : weft_op_launch_1d(r, kernel, n, local);
}

/* ---- BatchNormalization --------------------------------------------------- */

typedef struct batch_norm_state {
    cl_kernel kernel;
    cl_mem ab;        /* folded a[C], b[C]; NULL when the kernel forms them */
    cl_uint count, channels;
    cl_uint inner_magic[2], channel_magic[2]; /* (mul, shift): div_magic */
    float eps;
    size_t local;
} batch_norm_state;

static const char *const batch_norm_ops[] = {"BatchNormalization", NULL};

static int batch_norm_supports(const weft_graph *g, const weft_node *n,
                               const weft_device_info *d, char *why, size_t cap)
{
    (void)d;
    return x_supported(g, n, 2, why, cap);
}

static double batch_norm_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    (void)d;
    return stream_cost(g, n, 1);
}

static weft_status batch_norm_prepare(weft_prepare *p)
{
    const weft_node *n = p->node;
    const weft_shape *shape = &p->inputs[0].shape;
    float eps;
    weft_status st = weft_node_attr_float(n, "epsilon", 1e-5f, &eps);
    if (st != WEFT_OK)
        return st;
    batch_norm_state *s = state_new(p, sizeof *s);
    if (!s)
        return WEFT_ERR_OUT_OF_MEMORY;
    s->count = (cl_uint)weft_shape_numel(shape);
    s->channels = (cl_uint)shape->dims[1];
    div_magic(dims_product(shape, 2, shape->rank), s->inner_magic);
    div_magic(s->channels, s->channel_magic);
    s->eps = eps;
    int constant = p->input_count >= 5;
    for (size_t k = 1; k < 5 && constant; k++)
        constant = p->inputs[k].host != NULL;
    if (constant && s->channels > 0) {
        const float *scale = p->inputs[1].host, *b = p->inputs[2].host;
        const float *mean = p->inputs[3].host, *var = p->inputs[4].host;
        float *ab = malloc(2 * (size_t)s->channels * sizeof *ab);
        if (!ab)
            return no_memory(p);
        for (cl_uint c = 0; c < s->channels; c++) {
            double a = scale[c] / sqrt((double)var[c] + (double)eps);
            ab[c] = (float)a;
            ab[s->channels + c] = (float)(b[c] - (double)mean[c] * a);
        }
        st = weft_op_upload(p, ab, 2 * (size_t)s->channels * sizeof *ab, &s->ab);
        free(ab);
        if (st != WEFT_OK)
            return st;
    }
    weft_options o;
    weft_options_init(&o);
    weft_options_define_int(&o, "KERNELS", KERNELS_BATCH);
    st = weft_op_kernel(p, "norm", &o, s->ab ? "batch_norm_f32" : "batch_norm_params_f32",
                        &s->kernel);
    if (st == WEFT_OK)
        s->local = elementwise_local(p, s->kernel);
    return st;
}

static weft_status batch_norm_enqueue(weft_run *r)
{
    batch_norm_state *s = r->state;
    if (s->count == 0)
        return WEFT_OK;
    if (s->ab) {
        weft_arg args[] = {WEFT_ARG(r->inputs[0].mem), WEFT_ARG(r->outputs[0].mem),
                           WEFT_ARG(s->ab),           WEFT_ARG(s->count),
                           WEFT_ARG(s->channels),     WEFT_ARG(s->inner_magic[0]),
                           WEFT_ARG(s->inner_magic[1]), WEFT_ARG(s->channel_magic[0]),
                           WEFT_ARG(s->channel_magic[1])};
        return launch_1d(r, s->kernel, args, 9, s->count, s->local);
    }
    weft_arg args[] = {WEFT_ARG(r->inputs[0].mem), WEFT_ARG(r->outputs[0].mem),
                       WEFT_ARG(r->inputs[1].mem), WEFT_ARG(r->inputs[2].mem),
                       WEFT_ARG(r->inputs[3].mem), WEFT_ARG(r->inputs[4].mem),
                       WEFT_ARG(s->count),        WEFT_ARG(s->channels),
                       WEFT_ARG(s->inner_magic[0]), WEFT_ARG(s->inner_magic[1]),
                       WEFT_ARG(s->channel_magic[0]), WEFT_ARG(s->channel_magic[1]),
                       WEFT_ARG(s->eps)};
    return launch_1d(r, s->kernel, args, 13, s->count, s->local);
}

const weft_op_impl weft_impl_batch_norm = {
    .name = "batch_norm",
    .ops = batch_norm_ops,
    .inplace = 1,
    .supports = batch_norm_supports,
    .cost = batch_norm_cost,
    .prepare = batch_norm_prepare,
    .enqueue = batch_norm_enqueue,
    .release = free,
};

/* ---- LRN -------------------------------------------------------------------- */

/* The state of both LRN implementations: what lrn_begin reads, then
 * each one's own launch geometry. */
typedef struct lrn_state {
    cl_kernel kernel;
    float alpha_over_size, beta, bias; /* the scalars both kernels take */
    cl_uint inner, channels;
    cl_uint count, inner_magic[2], channel_magic[2]; /* lrn; (mul, shift): div_magic */
    cl_uint items, blocks, blocks_magic[2];          /* lrn_walk */
    size_t local;
} lrn_state;

static const char *const lrn_ops[] = {"LRN", NULL};

static int lrn_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                        char *why, size_t cap)
{
    (void)d;
    return x_supported(g, n, 2, why, cap);
}

/* LRN's attributes, as both implementations read them: the kernels'
 * scalars and X's channels and inner size in a new state, and the window
 * and beta options of cl/norm.cl in o. */
static weft_status lrn_begin(weft_prepare *p, weft_options *o, lrn_state **out)
{
    const weft_node *n = p->node;
    const weft_shape *shape = &p->inputs[0].shape;
    int64_t size = 0;
    float alpha, beta, bias;
    weft_status st;
    if ((st = weft_node_attr_int(n, "size", 0, &size)) != WEFT_OK ||
        (st = weft_node_attr_float(n, "alpha", 1e-4f, &alpha)) != WEFT_OK ||
        (st = weft_node_attr_float(n, "beta", 0.75f, &beta)) != WEFT_OK ||
        (st = weft_node_attr_float(n, "bias", 1.0f, &bias)) != WEFT_OK)
        return st;
    if (size < 1 || size > INT32_MAX)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'size' = %lld must be positive",
                              (long long)size);
    lrn_state *s = *out = state_new(p, sizeof *s);
    if (!s)
        return WEFT_ERR_OUT_OF_MEMORY;
    /* ONNX divides alpha by size before scaling the square sum. */
    s->alpha_over_size = (float)((double)alpha / (double)size);
    s->beta = beta;
    s->bias = bias;
    s->channels = (cl_uint)shape->dims[1];
    s->inner = (cl_uint)dims_product(shape, 2, shape->rank);
    weft_options_init(o);
    weft_options_define_int(o, "LRN_BEFORE", (size - 1) / 2);
    weft_options_define_int(o, "LRN_AFTER", size / 2);
    /* The betas of common models (AlexNet and GoogLeNet 0.75) without pow. */
    weft_options_define_int(o, "LRN_BETA", beta == 0.75f ? 1 : beta == 0.5f ? 2 : beta == 1.0f ? 3 : 0);
    return WEFT_OK;
}

static double lrn_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    (void)d;
    /* The window's other reads hit the cache. */
    return stream_cost(g, n, 1.5);
}

static weft_status lrn_prepare(weft_prepare *p)
{
    lrn_state *s;
    weft_options o;
    weft_status st = lrn_begin(p, &o, &s);
    if (st != WEFT_OK)
        return st;
    s->count = (cl_uint)weft_shape_numel(&p->inputs[0].shape);
    div_magic(s->inner, s->inner_magic);
    div_magic(s->channels, s->channel_magic);
    weft_options_define_int(&o, "KERNELS", KERNELS_LRN);
    st = weft_op_kernel(p, "norm", &o, "lrn_f32", &s->kernel);
    if (st == WEFT_OK)
        s->local = elementwise_local(p, s->kernel);
    return st;
}

static weft_status lrn_enqueue(weft_run *r)
{
    lrn_state *s = r->state;
    if (s->count == 0)
        return WEFT_OK;
    weft_arg args[] = {WEFT_ARG(r->inputs[0].mem), WEFT_ARG(r->outputs[0].mem),
                       WEFT_ARG(s->count),        WEFT_ARG(s->inner),
                       WEFT_ARG(s->channels),     WEFT_ARG(s->inner_magic[0]),
                       WEFT_ARG(s->inner_magic[1]), WEFT_ARG(s->channel_magic[0]),
                       WEFT_ARG(s->channel_magic[1]), WEFT_ARG(s->alpha_over_size),
                       WEFT_ARG(s->beta),         WEFT_ARG(s->bias)};
    return launch_1d(r, s->kernel, args, 12, s->count, s->local);
}

const weft_op_impl weft_impl_lrn = {
    .name = "lrn",
    .ops = lrn_ops,
    .supports = lrn_supports,
    .cost = lrn_cost,
    .prepare = lrn_prepare,
    .enqueue = lrn_enqueue,
    .release = free,
};

/* lrn_walk: the channel walk of cl/norm.cl's lrn_walk_f32 (CPU-class
 * devices: one load per element instead of one per window term, in
 * work-groups of one work-item that each run LRN_LANES positions). */

#define LRN_WALK_LANES 16

static double lrn_walk_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    /* one pass where a walk suits the device, else far slower than lrn */
    return stream_cost(g, n, d && d->type == WEFT_DEVICE_CPU ? 1.0 : 8.0);
}

static weft_status lrn_walk_prepare(weft_prepare *p)
{
    lrn_state *s;
    weft_options o;
    weft_status st = lrn_begin(p, &o, &s);
    if (st != WEFT_OK)
        return st;
    s->blocks = (s->inner + LRN_WALK_LANES - 1) / LRN_WALK_LANES;
    s->items = (cl_uint)(p->inputs[0].shape.dims[0] * (int64_t)s->blocks);
    if (s->channels == 0)
        s->items = 0;
    div_magic(s->blocks ? s->blocks : 1, s->blocks_magic);
    weft_options_define_int(&o, "LRN_LANES", LRN_WALK_LANES);
    weft_options_define_int(&o, "KERNELS", KERNELS_LRN_WALK);
    st = weft_op_kernel(p, "norm", &o, "lrn_walk_f32", &s->kernel);
    if (st == WEFT_OK)
        s->local = weft_op_local_size(p, s->kernel, 1);
    return st;
}

static weft_status lrn_walk_enqueue(weft_run *r)
{
    lrn_state *s = r->state;
    if (s->items == 0)
        return WEFT_OK;
    weft_arg args[] = {WEFT_ARG(r->inputs[0].mem), WEFT_ARG(r->outputs[0].mem),
                       WEFT_ARG(s->items),         WEFT_ARG(s->inner),
                       WEFT_ARG(s->channels),      WEFT_ARG(s->blocks),
                       WEFT_ARG(s->blocks_magic[0]), WEFT_ARG(s->blocks_magic[1]),
                       WEFT_ARG(s->alpha_over_size), WEFT_ARG(s->beta),
                       WEFT_ARG(s->bias)};
    return launch_1d(r, s->kernel, args, 11, s->items, s->local);
}

const weft_op_impl weft_impl_lrn_walk = {
    .name = "lrn_walk",
    .ops = lrn_ops,
    .supports = lrn_supports,
    .cost = lrn_walk_cost,
    .prepare = lrn_walk_prepare,
    .enqueue = lrn_walk_enqueue,
    .release = free,
};

/* ---- InstanceNormalization, LayerNormalization, GroupNormalization ------------ */

/* A parameter map (PARAM_MODE in cl/norm.cl): (seg_mod, seg_mul, k_div,
 * k_mod), and the division magic of k_div and k_mod. */
typedef struct param_map {
    cl_uint map[4], magic[4];
} param_map;

/* How a node's X splits into runs and where their parameters come from. */
typedef struct norm_geometry {
    uint64_t segments, len;
    float eps;
    int has_scale, has_bias;
    int mode;               /* PARAM_MODE of cl/norm.cl */
    param_map smap, bmap;
    int expand_scale, expand_bias; /* constants to broadcast on the host */
    weft_shape normalized;  /* LayerNormalization: X[axis:] */
} norm_geometry;

/* The map and magic of (seg_mod, seg_mul, k_div, k_mod). */
static param_map map4(uint64_t seg_mod, uint64_t seg_mul, uint64_t k_div, uint64_t k_mod)
{
    param_map m = {{(cl_uint)seg_mod, (cl_uint)seg_mul, (cl_uint)k_div, (cl_uint)k_mod}, {0}};
    div_magic(k_div, &m.magic[0]);
    div_magic(k_mod, &m.magic[2]);
    return m;
}

/* LayerNormalization: the map of parameter shape `ps`, broadcast over the
 * normalized shape `nd` (right-aligned). It exists when ps's axes that
 * are not 1 form one block that matches nd there: the parameter then
 * varies with (k / inner) % block, inner being the size of nd after the
 * block. */
static int broadcast_map(const weft_shape *nd, const weft_shape *ps, param_map *m)
{
    int r = nd->rank, first = -1, last = -1;
    int64_t pd[WEFT_MAX_RANK];
    for (int i = 0; i < r; i++) {
        int j = i - (r - ps->rank);
        pd[i] = j >= 0 ? ps->dims[j] : 1;
        if (pd[i] != 1) {
            if (first < 0)
                first = i;
            last = i;
        }
    }
    if (first < 0) {
        *m = map4(1, 0, 1, 1); /* one value for everything */
        return 1;
    }
    for (int i = first; i <= last; i++)
        if (pd[i] != nd->dims[i])
            return 0; /* a broadcast axis inside the block */
    uint64_t inner = 1, block = 1;
    for (int i = last + 1; i < r; i++)
        inner *= (uint64_t)nd->dims[i];
    for (int i = first; i <= last; i++)
        block *= (uint64_t)pd[i];
    *m = map4(1, 0, inner, block);
    return 1;
}

static int is_identity(param_map m, uint64_t len)
{
    return m.map[2] == 1 && m.map[3] == len;
}

static int norm_geometry_of(const weft_graph *g, const weft_node *n, norm_geometry *geo,
                            char *why, size_t cap)
{
    memset(geo, 0, sizeof *geo);
    const weft_value *x = weft_node_input(g, n, 0);
    const weft_shape *s = &x->shape;
    const weft_value *scale = weft_node_input(g, n, 1), *bias = weft_node_input(g, n, 2);
    geo->has_scale = scale != NULL;
    geo->has_bias = bias != NULL;
    geo->smap = geo->bmap = map4(1, 0, 1, 1);
    if (weft_node_attr_float(n, "epsilon", 1e-5f, &geo->eps) != WEFT_OK) {
        snprintf(why, cap, "attribute 'epsilon' is not a float");
        return 0;
    }
    if (strcmp(n->op, "InstanceNormalization") == 0) {
        uint64_t c = (uint64_t)s->dims[1];
        geo->segments = (uint64_t)s->dims[0] * c;
        geo->len = dims_product(s, 2, s->rank);
        geo->smap = geo->bmap = map4(c ? c : 1, 1, 1, 1);
        geo->mode = 0;
        return 1;
    }
    if (strcmp(n->op, "GroupNormalization") == 0) {
        int64_t groups;
        if (weft_node_attr_int(n, "num_groups", 0, &groups) != WEFT_OK || groups < 1 ||
            s->dims[1] % groups != 0) {
            snprintf(why, cap, "attribute 'num_groups' does not divide the channels");
            return 0;
        }
        uint64_t c = (uint64_t)s->dims[1], per = c / (uint64_t)groups;
        uint64_t spatial = dims_product(s, 2, s->rank);
        geo->segments = (uint64_t)s->dims[0] * (uint64_t)groups;
        geo->len = per * spatial;
        int per_channel = scale && weft_shape_numel(&scale->shape) == (int64_t)c;
        if (!per_channel || per == 1) {
            geo->smap = geo->bmap = map4((uint64_t)groups, 1, 1, 1);
            geo->mode = 0;
        } else {
            geo->smap = geo->bmap = map4((uint64_t)groups, per, spatial ? spatial : 1, per);
            geo->mode = 2;
        }
        return 1;
    }
    /* LayerNormalization */
    int64_t axis;
    if (weft_node_attr_int(n, "axis", -1, &axis) != WEFT_OK || axis < -s->rank ||
        axis >= s->rank) {
        snprintf(why, cap, "attribute 'axis' is out of range for rank %d", s->rank);
        return 0;
    }
    int ax = (int)(axis < 0 ? axis + s->rank : axis);
    geo->segments = dims_product(s, 0, ax);
    geo->len = dims_product(s, ax, s->rank);
    geo->normalized.rank = s->rank - ax;
    for (int d = 0; d < geo->normalized.rank; d++)
        geo->normalized.dims[d] = s->dims[ax + d];
    const weft_value *params[2] = {scale, bias};
    param_map *maps[2] = {&geo->smap, &geo->bmap};
    int *expand[2] = {&geo->expand_scale, &geo->expand_bias};
    static const char *const names[2] = {"Scale", "B"};
    for (int i = 0; i < 2; i++) {
        if (!params[i])
            continue;
        if (broadcast_map(&geo->normalized, &params[i]->shape, maps[i]))
            continue;
        if (params[i]->kind != WEFT_VALUE_CONSTANT) {
            snprintf(why, cap,
                     "input '%s' ('%s') broadcasts over non-adjacent normalized axes and is not "
                     "a constant",
                     names[i], params[i]->name);
            return 0;
        }
        *expand[i] = 1;
        *maps[i] = map4(1, 0, 1, geo->len);
    }
    geo->mode = (!scale || is_identity(geo->smap, geo->len)) &&
                        (!bias || is_identity(geo->bmap, geo->len))
                    ? 1
                    : 2;
    return 1;
}

typedef struct normalize_state {
    cl_kernel kernel;
    int group;                /* one work-group per segment */
    cl_uint segments, len;
    float eps;
    cl_mem maps;              /* scale's map and magic, then bias's: 16 uints */
    cl_mem scale, bias;       /* host-expanded parameters, or NULL */
    int mean_out, inv_std_out;
    size_t local;
} normalize_state;

static const char *const normalize_ops[] = {"InstanceNormalization", "LayerNormalization",
                                            "GroupNormalization", NULL};

static int normalize_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                              char *why, size_t cap)
{
    (void)d;
    norm_geometry geo;
    return x_supported(g, n, 1, why, cap) && norm_geometry_of(g, n, &geo, why, cap);
}

static double normalize_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    (void)d;
    return stream_cost(g, n, 3);
}

/* Constant parameter `v` broadcast to the normalized shape, uploaded. */
static weft_status upload_expanded(weft_prepare *p, const weft_op_tensor *v,
                                   const weft_shape *normalized, cl_mem *out)
{
    int64_t len = weft_shape_numel(normalized), idx[WEFT_MAX_RANK];
    float *full = malloc((size_t)(len ? len : 1) * sizeof *full);
    if (!full)
        return no_memory(p);
    const float *src = v->host;
    int lead = normalized->rank - v->shape.rank;
    for (int64_t k = 0; k < len; k++) {
        int64_t rest = k, at = 0;
        for (int d = normalized->rank - 1; d >= 0; d--) {
            idx[d] = rest % normalized->dims[d];
            rest /= normalized->dims[d];
        }
        for (int d = 0; d < v->shape.rank; d++)
            at = at * v->shape.dims[d] + (v->shape.dims[d] == 1 ? 0 : idx[lead + d]);
        full[k] = src[at];
    }
    weft_status st = weft_op_upload(p, full, (size_t)len * sizeof *full, out);
    free(full);
    return st;
}

static weft_status normalize_prepare(weft_prepare *p)
{
    const weft_node *n = p->node;
    norm_geometry geo;
    char why[256];
    if (!norm_geometry_of(p->graph, n, &geo, why, sizeof why))
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED, "%s", why);
    normalize_state *s = state_new(p, sizeof *s);
    if (!s)
        return WEFT_ERR_OUT_OF_MEMORY;
    s->segments = (cl_uint)geo.segments;
    s->len = (cl_uint)geo.len;
    s->eps = geo.eps;
    s->mean_out = weft_node_output(p->graph, n, 1) != NULL;
    s->inv_std_out = weft_node_output(p->graph, n, 2) != NULL;
    cl_uint maps[16];
    memcpy(maps, geo.smap.map, sizeof geo.smap.map);
    memcpy(maps + 4, geo.smap.magic, sizeof geo.smap.magic);
    memcpy(maps + 8, geo.bmap.map, sizeof geo.bmap.map);
    memcpy(maps + 12, geo.bmap.magic, sizeof geo.bmap.magic);
    weft_status st = weft_op_upload(p, maps, sizeof maps, &s->maps);
    if (st == WEFT_OK && geo.expand_scale)
        st = upload_expanded(p, &p->inputs[1], &geo.normalized, &s->scale);
    if (st == WEFT_OK && geo.expand_bias)
        st = upload_expanded(p, &p->inputs[2], &geo.normalized, &s->bias);
    if (st != WEFT_OK)
        return st;
    /* Two floats of __local memory per work-item for the group kernel. */
    size_t mem_cap = (size_t)(p->device->local_mem_bytes / 2 / (2 * sizeof(float)));
    s->group = mem_cap >= 1 && rows_use_group(p, geo.segments, geo.len);
    weft_options o;
    weft_options_init(&o);
    weft_options_define_int(&o, "HAS_SCALE", geo.has_scale);
    weft_options_define_int(&o, "HAS_BIAS", geo.has_bias);
    weft_options_define_int(&o, "PARAM_MODE", geo.mode);
    weft_options_define_int(&o, "WRITE_MEAN", s->mean_out);
    weft_options_define_int(&o, "WRITE_INV_STD", s->inv_std_out);
    /* 16 lanes per chunk where a work-item's loops become vector code */
    int lanes = p->device->type == WEFT_DEVICE_CPU ? 16 : 4;
    weft_options_define_int(&o, "NORM_LANES", lanes);
    weft_options_define_int(&o, "KERNELS", KERNELS_STATS);
    st = weft_op_kernel(p, "norm", &o, s->group ? "norm_group_f32" : "norm_rows_f32", &s->kernel);
    if (st != WEFT_OK)
        return st;
    size_t local = weft_op_max_local(p, s->kernel), forced = rows_test_max_local();
    if (forced && forced < local)
        local = forced;
    if (s->group) {
        /* Each work-item takes chunks of `lanes` elements; at least 4
         * chunks each (when there are that many) keeps the reduction tree
         * small beside the work, and more work-items than chunks would
         * idle. */
        uint64_t chunks = (geo.len + (uint64_t)lanes - 1) / (uint64_t)lanes;
        uint64_t want = chunks >= 16 ? chunks / 4 : chunks;
        if (local > 256)
            local = 256;
        if (local > mem_cap)
            local = mem_cap;
        if (local > want)
            local = want ? (size_t)want : 1;
    } else if (local > 64) {
        local = 64;
    }
    s->local = local;
    return WEFT_OK;
}

static weft_status normalize_enqueue(weft_run *r)
{
    normalize_state *s = r->state;
    if (s->segments == 0 || (s->len == 0 && !s->mean_out && !s->inv_std_out))
        return WEFT_OK;
    cl_mem y = r->outputs[0].mem;
    /* Buffers the kernel does not read (-D HAS_* and WRITE_* say so) get y. */
    cl_mem scale = s->scale ? s->scale : r->input_count > 1 && r->inputs[1].mem ? r->inputs[1].mem : y;
    cl_mem bias = s->bias ? s->bias : r->input_count > 2 && r->inputs[2].mem ? r->inputs[2].mem : y;
    cl_mem mean = s->mean_out ? r->outputs[1].mem : y;
    cl_mem inv_std = s->inv_std_out ? r->outputs[2].mem : y;
    weft_status st;
    if (s->group) {
        weft_arg args[] = {WEFT_ARG(r->inputs[0].mem), WEFT_ARG(y),
                           WEFT_ARG(scale),           WEFT_ARG(bias),
                           WEFT_ARG(mean),            WEFT_ARG(inv_std),
                           WEFT_ARG(s->len),          WEFT_ARG(s->eps),
                           WEFT_ARG(s->maps),
                           WEFT_LOCAL(s->local * 2 * sizeof(float))};
        st = weft_op_set_args(r, s->kernel, args, 10);
        size_t global = (size_t)s->segments * s->local;
        if (st == WEFT_OK)
            st = weft_op_launch(r, s->kernel, 1, &global, &s->local);
    } else {
        weft_arg args[] = {WEFT_ARG(r->inputs[0].mem), WEFT_ARG(y),
                           WEFT_ARG(scale),           WEFT_ARG(bias),
                           WEFT_ARG(mean),            WEFT_ARG(inv_std),
                           WEFT_ARG(s->len),          WEFT_ARG(s->eps),
                           WEFT_ARG(s->maps),
                           WEFT_ARG(s->segments)};
        st = launch_1d(r, s->kernel, args, 10, s->segments, s->local);
    }
    return st;
}

const weft_op_impl weft_impl_normalize = {
    .name = "normalize",
    .ops = normalize_ops,
    .inplace = 1,
    .supports = normalize_supports,
    .cost = normalize_cost,
    .prepare = normalize_prepare,
    .enqueue = normalize_enqueue,
    .release = free,
};
