/*
 * Pools and MaxUnpool (cl/pool.cl), with the semantics of the reference
 * (src/ref/ref_pool.c):
 *   pool         MaxPool (and its Indices), AveragePool, LpPool over 1 to 3
 *                spatial axes: one work-item per output element; kernel
 *                extents, strides and dilations are -D constants so the
 *                window loops unroll, extents and pads are arguments.
 *                The choice for devices with many narrow lanes (GPUs).
 *   pool_rows    the same with one work-item per output row: the row's
 *                index arithmetic and tap ranges once, the interior
 *                without checks. The choice for CPU-class devices, where
 *                a work-item per element spends most of its time on
 *                divisions and bounds checks (measured on PoCL: 3-5x).
 *   global_pool  GlobalMaxPool, GlobalAveragePool, GlobalLpPool: each
 *                (n, c) plane reduced by one work-item (short planes, many
 *                of them) or by one work-group (long planes, or few); on
 *                CPU-class devices always one work-item per plane.
 *   max_unpool_rows  MaxUnpool whose windows tile the output, for
 *                CPU-class devices: each output row written once from its
 *                windows; the three passes of max_unpool only when an
 *                index lies outside its window.
 *   max_unpool   MaxUnpool: clear, claim (atomic_max), gather; the last of
 *                repeated indices wins, as in the reference.
 * The host works out the window geometry itself from the attributes
 * (SAME_* pads included) and checks that it gives the output shape that
 * shape inference set. Indices on the device are 32-bit: tensors above
 * 2^31 - 1 elements are refused.
 *
 * For tests, prepare reads WEFT_TEST_MAX_LOCAL=N (caps every work-group
 * at N >= 1 items) and, for the global pools, WEFT_TEST_REDUCE_PATH=
 * rows|group (forces the kernel); both are src/ops/rows.h's, whose plan
 * the global pools share with Softmax and ReduceMean.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ops/op.h"
#include "ops/rows.h"

#define SPATIAL_MAX 3

/* Codes shared with cl/pool.cl. */
enum { POOL_MAX = 0, POOL_AVG = 1, POOL_LP = 2 };
/* cl/pool.cl's KERNELS: a program holds one family, so a driver that
 * makes code for every kernel of a program (PoCL, when the disk cache
 * reads its binary) makes it for those the op uses. */
enum { KERNELS_WINDOW = 1, KERNELS_GLOBAL = 2, KERNELS_UNPOOL = 3 };

/* A work-group size for a 1-D launch of one item per element: at most
 * `cap` (64 keeps several groups per compute unit on small tensors),
 * within the kernel's limit and WEFT_TEST_MAX_LOCAL. */
static size_t pick_local(const weft_prepare *p, cl_kernel kernel, size_t cap)
{
    size_t local = weft_op_local_size(p, kernel, cap), forced = rows_test_max_local();
    return forced && forced < local ? forced : local;
}

static int fits_int32(const weft_shape *s)
{
    int64_t n = weft_shape_numel(s);
    return n >= 0 && n <= INT32_MAX;
}

static int pool_kind(const char *op)
{
    if (strstr(op, "Max"))
        return POOL_MAX;
    if (strstr(op, "Average"))
        return POOL_AVG;
    return POOL_LP;
}

/* ---- Window geometry ------------------------------------------------------- */

typedef struct pool_geom {
    int sp;
    int64_t in[SPATIAL_MAX], out[SPATIAL_MAX];
    int64_t k[SPATIAL_MAX], s[SPATIAL_MAX], d[SPATIAL_MAX];
    int64_t begin[SPATIAL_MAX], end[SPATIAL_MAX];
} pool_geom;

/* An ints attribute of `count` values in [lo, INT32_MAX], `def` when
 * absent; 0 with why filled otherwise. */
static int read_ints(const weft_node *n, const char *name, size_t count, int64_t def,
                     int64_t lo, int64_t *out, char *why, size_t cap)
{
    const weft_attr *a = weft_node_attr(n, name);
    if (!a) {
        for (size_t i = 0; i < count; i++)
            out[i] = def;
        return 1;
    }
    if (a->type != WEFT_ATTR_INTS || a->count != count)
        return weft_op_refuse(why, cap, "attribute '%s' must be %zu ints", name, count);
    for (size_t i = 0; i < count; i++) {
        if (a->ints[i] < lo || a->ints[i] > INT32_MAX)
            return weft_op_refuse(why, cap, "attribute '%s'[%zu] = %lld is out of range", name, i,
                                  (long long)a->ints[i]);
        out[i] = a->ints[i];
    }
    return 1;
}

static int read_int(const weft_node *n, const char *name, int64_t def, int64_t lo, int64_t hi,
                    int64_t *out, char *why, size_t cap)
{
    const weft_attr *a = weft_node_attr(n, name);
    *out = def;
    if (!a)
        return 1;
    if (a->type != WEFT_ATTR_INT || a->i < lo || a->i > hi)
        return weft_op_refuse(why, cap, "attribute '%s' must be an int in [%lld, %lld]", name,
                              (long long)lo, (long long)hi);
    *out = a->i;
    return 1;
}

/* MaxPool, AveragePool, LpPool: the geometry from the attributes, checked
 * against the output shape y. */
static int pool_geometry(const weft_node *n, const weft_shape *x, const weft_shape *y,
                         pool_geom *g, char *why, size_t cap)
{
    memset(g, 0, sizeof *g);
    if (x->rank < 3 || x->rank > 2 + SPATIAL_MAX)
        return weft_op_refuse(why, cap, "input has %d spatial axes; 1 to 3 are supported",
                              x->rank - 2);
    g->sp = x->rank - 2;
    size_t sp = (size_t)g->sp;
    int64_t pads[2 * SPATIAL_MAX], ceil_mode;
    const weft_attr *ap = weft_node_attr(n, "auto_pad");
    const char *mode = ap && ap->type == WEFT_ATTR_STRING ? ap->s : "NOTSET";
    if (!weft_node_attr(n, "kernel_shape"))
        return weft_op_refuse(why, cap, "attribute 'kernel_shape' is required");
    if (!read_ints(n, "kernel_shape", sp, 1, 1, g->k, why, cap) ||
        !read_ints(n, "strides", sp, 1, 1, g->s, why, cap) ||
        !read_ints(n, "dilations", sp, 1, 1, g->d, why, cap) ||
        !read_ints(n, "pads", 2 * sp, 0, 0, pads, why, cap) ||
        !read_int(n, "ceil_mode", 0, 0, 1, &ceil_mode, why, cap))
        return 0;
    int upper = strcmp(mode, "SAME_UPPER") == 0;
    int same = upper || strcmp(mode, "SAME_LOWER") == 0;
    int valid = strcmp(mode, "VALID") == 0;
    if (!same && !valid && strcmp(mode, "NOTSET") != 0)
        return weft_op_refuse(why, cap, "attribute 'auto_pad' = \"%s\" is unknown", mode);
    for (size_t i = 0; i < sp; i++) {
        int64_t in = x->dims[2 + i], s = g->s[i], dk = (g->k[i] - 1) * g->d[i] + 1, out;
        g->in[i] = in;
        if (same) {
            /* ceil(in / s); the odd pad at the end (UPPER) or start. */
            out = (in + s - 1) / s;
            int64_t total = (out - 1) * s + dk - in;
            total = total > 0 ? total : 0;
            g->begin[i] = upper ? total / 2 : total - total / 2;
            g->end[i] = total - g->begin[i];
        } else {
            g->begin[i] = valid ? 0 : pads[i];
            g->end[i] = valid ? 0 : pads[i + sp];
            int64_t span = in + g->begin[i] + g->end[i] - dk;
            if (span < 0)
                return weft_op_refuse(why, cap,
                                      "the window is larger than the padded input on axis %zu", i);
            out = span / s + 1;
            if (ceil_mode && !valid) {
                out = (span + s - 1) / s + 1;
                if ((out - 1) * s >= in + g->begin[i]) /* would start in the end padding */
                    out--;
            }
        }
        g->out[i] = out;
        if (y->rank != x->rank || y->dims[2 + i] != out)
            return weft_op_refuse(why, cap,
                                  "output shape %s disagrees with the window geometry (%lld "
                                  "on spatial axis %zu)",
                                  weft_shape_str(y).s, (long long)out, i);
        if (in > INT32_MAX || g->begin[i] > INT32_MAX || g->end[i] > INT32_MAX ||
            (out - 1) * s + dk > INT32_MAX)
            return weft_op_refuse(why, cap, "extents above 2^31 - 1 on spatial axis %zu", i);
    }
    return 1;
}

/* ---- MaxPool, AveragePool, LpPool -------------------------------------------------- */

typedef struct pool_state {
    cl_kernel kernel;
    int indices;
    int rows; /* pool_rows_f32: one work-item per output row */
    cl_int in[SPATIAL_MAX], begin[SPATIAL_MAX], end[SPATIAL_MAX]; /* D, H, W */
    cl_uint out[SPATIAL_MAX];
    size_t local;          /* pool_rows_f32 */
    size_t local0, local1; /* pool_f32: along W and H */
} pool_state;

static const char *const pool_ops[] = {"MaxPool", "AveragePool", "LpPool", NULL};

static int pool_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                         char *why, size_t cap)
{
    (void)d;
    const weft_value *x = weft_node_input(g, n, 0), *y = weft_node_output(g, n, 0);
    const weft_value *idx = weft_node_output(g, n, 1);
    if (!x || x->dtype != WEFT_FLOAT32 || !y)
        return weft_op_refuse(why, cap, "only float32 input is supported");
    if (idx && idx->dtype != WEFT_INT64)
        return weft_op_refuse(why, cap, "output 'Indices' must be int64");
    if (!fits_int32(&x->shape) || !fits_int32(&y->shape))
        return weft_op_refuse(why, cap, "more than 2^31 - 1 elements");
    int64_t p;
    if (pool_kind(n->op) == POOL_LP && !read_int(n, "p", 2, 1, INT32_MAX, &p, why, cap))
        return 0;
    pool_geom geom;
    return pool_geometry(n, &x->shape, &y->shape, &geom, why, cap);
}

/* Memory-bound at ~10 GB/s for reading X and writing Y (and Indices),
 * plus ~1e10 taps per second, for the kernel that suits the device; the
 * other one is taken 6x slower (measured on PoCL for pool_f32 on a CPU). */
static double pool_time(const weft_graph *g, const weft_node *n, int suits)
{
    const weft_value *x = weft_node_input(g, n, 0), *y = weft_node_output(g, n, 0);
    int64_t taps = 1;
    const int64_t *k;
    size_t count;
    if (weft_node_attr_ints(n, "kernel_shape", &k, &count) == WEFT_OK)
        for (size_t i = 0; i < count; i++)
            taps *= k[i];
    double outs = y ? (double)weft_shape_numel(&y->shape) : 0;
    double t = ((x ? (double)weft_shape_numel(&x->shape) : 0) + 3 * outs) * 4.0 / 10e9 +
               outs * (double)taps / 1e10;
    return suits ? t : 6 * t;
}

static double pool_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    return pool_time(g, n, d->type != WEFT_DEVICE_CPU);
}

static double pool_rows_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    return pool_time(g, n, d->type == WEFT_DEVICE_CPU);
}

static weft_status prepare_pool(weft_prepare *p, int rows)
{
    const weft_node *n = p->node;
    char why[256];
    pool_geom g;
    int kind = pool_kind(n->op);
    int64_t flag = 0, power = 2;
    if (!pool_geometry(n, &p->inputs[0].shape, &p->outputs[0].shape, &g, why, sizeof why) ||
        (kind == POOL_MAX && !read_int(n, "storage_order", 0, 0, 1, &flag, why, sizeof why)) ||
        (kind == POOL_AVG &&
         !read_int(n, "count_include_pad", 0, 0, 1, &flag, why, sizeof why)) ||
        (kind == POOL_LP && !read_int(n, "p", 2, 1, INT32_MAX, &power, why, sizeof why)))
        return weft_node_fail(n, WEFT_ERR_GRAPH, "%s", why);
    pool_state *s = calloc(1, sizeof *s);
    if (!s)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", n->name);
    p->state = s;
    s->rows = rows;
    s->indices = kind == POOL_MAX && p->output_count > 1 && weft_node_output(p->graph, n, 1);
    /* The 3-D view: 1-D and 2-D pools get leading axes of size 1. */
    int64_t k[SPATIAL_MAX], st[SPATIAL_MAX], dl[SPATIAL_MAX];
    int lead = SPATIAL_MAX - g.sp;
    for (int i = 0; i < SPATIAL_MAX; i++) {
        int from = i - lead;
        k[i] = from >= 0 ? g.k[from] : 1;
        st[i] = from >= 0 ? g.s[from] : 1;
        dl[i] = from >= 0 ? g.d[from] : 1;
        s->in[i] = (cl_int)(from >= 0 ? g.in[from] : 1);
        s->out[i] = (cl_uint)(from >= 0 ? g.out[from] : 1);
        s->begin[i] = (cl_int)(from >= 0 ? g.begin[from] : 0);
        s->end[i] = (cl_int)(from >= 0 ? g.end[from] : 0);
    }
    weft_options o;
    weft_options_init(&o);
    weft_options_define_int(&o, "POOL", kind);
    static const char *const names[3][3] = {
        {"KD", "KH", "KW"}, {"SD", "SH", "SW"}, {"DD", "DH", "DW"}};
    for (int i = 0; i < SPATIAL_MAX; i++) {
        weft_options_define_int(&o, names[0][i], k[i]);
        weft_options_define_int(&o, names[1][i], st[i]);
        weft_options_define_int(&o, names[2][i], dl[i]);
    }
    if (kind == POOL_AVG)
        weft_options_define_int(&o, "COUNT_PAD", flag);
    if (kind == POOL_LP)
        weft_options_define_int(&o, "P", power);
    if (s->indices) {
        weft_options_define_int(&o, "INDICES", 1);
        weft_options_define_int(&o, "COL_MAJOR", flag);
    }
    weft_options_define_int(&o, "KERNELS", KERNELS_WINDOW);
    weft_status status =
        weft_op_kernel(p, "pool", &o, rows ? "pool_rows_f32" : "pool_f32", &s->kernel);
    if (status != WEFT_OK)
        return status;
    s->local = pick_local(p, s->kernel, rows ? 8 : 64);
    /* pool_f32: up to 16 along W (a vector's worth), the rest along H. */
    size_t l0 = 1, l1 = 1;
    while (l0 < 16 && l0 < (size_t)s->out[2] && 2 * l0 <= s->local)
        l0 *= 2;
    while (l0 * l1 * 2 <= s->local && l1 < (size_t)s->out[1])
        l1 *= 2;
    s->local0 = l0;
    s->local1 = l1;
    return WEFT_OK;
}

static weft_status pool_prepare(weft_prepare *p)
{
    return prepare_pool(p, 0);
}

static weft_status pool_rows_prepare(weft_prepare *p)
{
    return prepare_pool(p, 1);
}

static weft_status pool_enqueue(weft_run *r)
{
    pool_state *s = r->state;
    const weft_shape *y = &r->outputs[0].shape;
    cl_uint planes = (cl_uint)(y->dims[0] * y->dims[1]);
    cl_uint rows = planes * s->out[0] * s->out[1];
    weft_arg args[17];
    size_t a = 0;
    args[a++] = WEFT_ARG(r->inputs[0].mem);
    args[a++] = WEFT_ARG(r->outputs[0].mem);
    if (s->indices)
        args[a++] = WEFT_ARG(r->outputs[1].mem);
    if (s->rows)
        args[a++] = WEFT_ARG(rows);
    for (int i = 0; i < SPATIAL_MAX; i++)
        args[a++] = WEFT_ARG(s->in[i]);
    for (int i = 0; i < SPATIAL_MAX; i++)
        args[a++] = WEFT_ARG(s->out[i]);
    if (!s->rows)
        args[a++] = WEFT_ARG(planes);
    for (int i = 0; i < SPATIAL_MAX; i++)
        args[a++] = WEFT_ARG(s->begin[i]);
    for (int i = 0; i < SPATIAL_MAX; i++)
        args[a++] = WEFT_ARG(s->end[i]);
    weft_status st = weft_op_set_args(r, s->kernel, args, a);
    if (st != WEFT_OK || s->rows)
        return st != WEFT_OK ? st : weft_op_launch_1d(r, s->kernel, rows, s->local);
    if (planes == 0 || s->out[0] == 0 || s->out[1] == 0 || s->out[2] == 0)
        return WEFT_OK;
    /* W, H, then the (n, c, d) planes; groups of local0 x local1 items. */
    const size_t local[3] = {s->local0, s->local1, 1};
    const size_t global[3] = {(s->out[2] + local[0] - 1) / local[0] * local[0],
                              (s->out[1] + local[1] - 1) / local[1] * local[1],
                              (size_t)planes * s->out[0]};
    return weft_op_launch(r, s->kernel, 3, global, local);
}

const weft_op_impl weft_impl_pool = {
    .name = "pool",
    .ops = pool_ops,
    .supports = pool_supports,
    .cost = pool_cost,
    .prepare = pool_prepare,
    .enqueue = pool_enqueue,
    .release = free,
};

const weft_op_impl weft_impl_pool_rows = {
    .name = "pool_rows",
    .ops = pool_ops,
    .supports = pool_supports,
    .cost = pool_rows_cost,
    .prepare = pool_rows_prepare,
    .enqueue = pool_enqueue,
    .release = free,
};

/* ---- Global pools -------------------------------------------------------------- */

typedef struct global_state {
    rows_plan plan;
    cl_uint planes, len;
} global_state;

static const char *const global_ops[] = {"GlobalMaxPool", "GlobalAveragePool", "GlobalLpPool",
                                         NULL};

static int global_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                           char *why, size_t cap)
{
    (void)d;
    if (!rows_check_input(g, n, why, cap))
        return 0;
    if (weft_node_input(g, n, 0)->shape.rank < 3)
        return weft_op_refuse(why, cap, "the input has no spatial axes");
    int64_t p;
    if (pool_kind(n->op) == POOL_LP && !read_int(n, "p", 2, 1, INT32_MAX, &p, why, cap))
        return 0;
    return 1;
}

static double global_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    (void)d;
    const weft_value *x = weft_node_input(g, n, 0);
    return x ? (double)weft_shape_numel(&x->shape) * 4.0 / 10e9 : 0;
}

/* On CPU-class devices a work-group runs on one thread (PoCL: its
 * work-items looped), so a work-group per plane gains no parallelism over
 * a work-item per plane and pays for its barriers (measured on PoCL for
 * 512 planes of 49: 0.11 ms against 0.015). WEFT_TEST_REDUCE_PATH, when
 * set, still forces either kernel. */
static int global_rows_on_cpu(const weft_prepare *p)
{
    const char *force = getenv("WEFT_TEST_REDUCE_PATH");
    return p->device->type == WEFT_DEVICE_CPU && !(force && *force);
}

static weft_status global_prepare(weft_prepare *p)
{
    const weft_node *n = p->node;
    const weft_shape *x = &p->inputs[0].shape;
    char why[256];
    int kind = pool_kind(n->op);
    int64_t power = 2;
    if (kind == POOL_LP && !read_int(n, "p", 2, 1, INT32_MAX, &power, why, sizeof why))
        return weft_node_fail(n, WEFT_ERR_GRAPH, "%s", why);
    global_state *s = calloc(1, sizeof *s);
    if (!s)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", n->name);
    p->state = s;
    uint64_t len = 1;
    for (int i = 2; i < x->rank; i++)
        len *= (uint64_t)x->dims[i];
    s->planes = (cl_uint)(x->dims[0] * x->dims[1]);
    s->len = (cl_uint)len;
    weft_options o;
    weft_options_init(&o);
    weft_options_define_int(&o, "POOL", kind);
    if (kind == POOL_LP)
        weft_options_define_int(&o, "P", power);
    weft_options_define_int(&o, "KERNELS", KERNELS_GLOBAL);
    if (!global_rows_on_cpu(p))
        return rows_prepare(p, "pool", "global", &o, s->planes, len, &s->plan);
    s->plan.group = 0;
    weft_status st = weft_op_kernel(p, "pool", &o, "global_rows_f32", &s->plan.kernel);
    if (st != WEFT_OK)
        return st;
    /* Groups enough for every compute unit when planes are few. */
    size_t local = rows_local(p, s->plan.kernel, 0, len), cu = p->device->compute_units;
    if (cu > 1 && s->planes < local * cu)
        local = s->planes > cu ? (s->planes + cu - 1) / cu : 1;
    s->plan.local = local;
    return WEFT_OK;
}

/* Planes are contiguous: the stride from one to the next is len. */
static weft_status global_enqueue(weft_run *r)
{
    global_state *s = r->state;
    return rows_enqueue(r, &s->plan, s->planes, WEFT_ARG(s->len), WEFT_ARG(s->len));
}

const weft_op_impl weft_impl_global_pool = {
    .name = "global_pool",
    .ops = global_ops,
    .supports = global_supports,
    .cost = global_cost,
    .prepare = global_prepare,
    .enqueue = global_enqueue,
    .release = free,
};

/* ---- MaxUnpool --------------------------------------------------------------------- */

typedef struct unpool_state {
    cl_kernel clear, claim, gather;
    cl_uint count, total;
    size_t local_out, local_in;
} unpool_state;

static const char *const unpool_ops[] = {"MaxUnpool", NULL};

static int unpool_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                           char *why, size_t cap)
{
    (void)d;
    const weft_value *x = weft_node_input(g, n, 0), *i = weft_node_input(g, n, 1);
    const weft_value *y = weft_node_output(g, n, 0);
    if (!x || x->dtype != WEFT_FLOAT32 || !y)
        return weft_op_refuse(why, cap, "only float32 input is supported");
    if (!i || i->dtype != WEFT_INT64)
        return weft_op_refuse(why, cap, "input 'I' must be int64");
    if (!fits_int32(&x->shape) || !fits_int32(&y->shape))
        return weft_op_refuse(why, cap, "more than 2^31 - 1 elements");
    return 1;
}

static double unpool_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    (void)d;
    const weft_value *x = weft_node_input(g, n, 0), *y = weft_node_output(g, n, 0);
    /* Three passes over Y (write, then read and write) and one over X and
     * I (12 bytes per element), at ~10 GB/s. */
    return ((y ? 3.0 * (double)weft_shape_numel(&y->shape) : 0) +
            (x ? 3.0 * (double)weft_shape_numel(&x->shape) : 0)) * 4.0 / 10e9;
}

static weft_status unpool_prepare(weft_prepare *p)
{
    const weft_node *n = p->node;
    unpool_state *s = calloc(1, sizeof *s);
    if (!s)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", n->name);
    p->state = s;
    s->count = (cl_uint)weft_shape_numel(&p->inputs[0].shape);
    s->total = (cl_uint)weft_shape_numel(&p->outputs[0].shape);
    weft_options o;
    weft_options_init(&o);
    weft_options_define_int(&o, "KERNELS", KERNELS_UNPOOL);
    weft_status st = weft_op_kernel(p, "pool", &o, "unpool_clear_i32", &s->clear);
    if (st == WEFT_OK)
        st = weft_op_kernel(p, "pool", &o, "unpool_claim_i32", &s->claim);
    if (st == WEFT_OK)
        st = weft_op_kernel(p, "pool", &o, "unpool_gather_i32", &s->gather);
    if (st != WEFT_OK)
        return st;
    size_t a = pick_local(p, s->clear, 64), b = pick_local(p, s->gather, 64);
    s->local_out = a < b ? a : b;
    s->local_in = pick_local(p, s->claim, 64);
    return WEFT_OK;
}

static weft_status unpool_enqueue(weft_run *r)
{
    unpool_state *s = r->state;
    cl_mem x = r->inputs[0].mem, idx = r->inputs[1].mem, y = r->outputs[0].mem;
    weft_arg clear[] = {WEFT_ARG(y), WEFT_ARG(s->total)};
    weft_arg claim[] = {WEFT_ARG(idx), WEFT_ARG(y), WEFT_ARG(s->count), WEFT_ARG(s->total)};
    weft_arg gather[] = {WEFT_ARG(x), WEFT_ARG(y), WEFT_ARG(s->total)};
    weft_status st = weft_op_set_args(r, s->clear, clear, 2);
    if (st == WEFT_OK)
        st = weft_op_launch_1d(r, s->clear, s->total, s->local_out);
    if (st == WEFT_OK)
        st = weft_op_set_args(r, s->claim, claim, 4);
    if (st == WEFT_OK)
        st = weft_op_launch_1d(r, s->claim, s->count, s->local_in);
    if (st == WEFT_OK)
        st = weft_op_set_args(r, s->gather, gather, 3);
    if (st == WEFT_OK)
        st = weft_op_launch_1d(r, s->gather, s->total, s->local_out);
    return st;
}

const weft_op_impl weft_impl_max_unpool = {
    .name = "max_unpool",
    .ops = unpool_ops,
    .supports = unpool_supports,
    .cost = unpool_cost,
    .prepare = unpool_prepare,
    .enqueue = unpool_enqueue,
    .release = free,
};

/* max_unpool_rows: windows that tile the output (cl/pool.cl's
 * unpool_window_f32), for CPU-class devices; the three passes run only
 * when an index lies outside its window. */

typedef struct unpool_rows_state {
    cl_kernel clear, window, stray;
    cl_uint rows, in_w, count, total;
    size_t local_stray;
} unpool_rows_state;

/* 2-D, kernel_shape == strides, no pads, and Y exactly the kernel times
 * X's extents (output_shape, when given, the same). */
static int unpool_rows_supports(const weft_graph *g, const weft_node *n,
                                const weft_device_info *d, char *why, size_t cap)
{
    if (!unpool_supports(g, n, d, why, cap))
        return 0;
    const weft_value *x = weft_node_input(g, n, 0), *y = weft_node_output(g, n, 0);
    int64_t k[2], s[2], pads[4];
    if (x->shape.rank != 4 || y->shape.rank != 4)
        return weft_op_refuse(why, cap, "not 2-D");
    if (!read_ints(n, "kernel_shape", 2, 1, 1, k, why, cap) ||
        !read_ints(n, "strides", 2, 1, 1, s, why, cap) ||
        !read_ints(n, "pads", 4, 0, 0, pads, why, cap))
        return 0;
    if (k[0] != s[0] || k[1] != s[1] || pads[0] || pads[1] || pads[2] || pads[3] ||
        k[0] > 16 || k[1] > 16)
        return weft_op_refuse(why, cap,
                              "windows that do not tile the output (kernel_shape != strides, "
                              "pads, or a kernel above 16)");
    if (y->shape.dims[2] != x->shape.dims[2] * k[0] || y->shape.dims[3] != x->shape.dims[3] * k[1])
        return weft_op_refuse(why, cap, "an output_shape other than the windows' own");
    return 1;
}

static double unpool_rows_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    const weft_value *x = weft_node_input(g, n, 0), *y = weft_node_output(g, n, 0);
    /* One pass over X, I (12 bytes per element) and Y at ~10 GB/s on
     * CPU-class devices; elsewhere a work-item per row is far slower. */
    double t = ((y ? (double)weft_shape_numel(&y->shape) : 0) +
                (x ? 3.0 * (double)weft_shape_numel(&x->shape) : 0)) * 4.0 / 10e9;
    return d && d->type == WEFT_DEVICE_CPU ? t : 8 * t;
}

static weft_status unpool_rows_prepare(weft_prepare *p)
{
    const weft_node *n = p->node;
    unpool_rows_state *s = calloc(1, sizeof *s);
    if (!s)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", n->name);
    p->state = s;
    const weft_shape *x = &p->inputs[0].shape, *y = &p->outputs[0].shape;
    s->count = (cl_uint)weft_shape_numel(x);
    s->total = (cl_uint)weft_shape_numel(y);
    s->rows = (cl_uint)(x->dims[0] * x->dims[1] * x->dims[2]);
    s->in_w = (cl_uint)x->dims[3];
    p->workspace_bytes = sizeof(cl_int); /* the stray flag */
    weft_options o;
    weft_options_init(&o);
    weft_options_define_int(&o, "KH", y->dims[2] / (x->dims[2] ? x->dims[2] : 1));
    weft_options_define_int(&o, "KW", y->dims[3] / (x->dims[3] ? x->dims[3] : 1));
    weft_options_define_int(&o, "KERNELS", KERNELS_UNPOOL);
    weft_status st = weft_op_kernel(p, "pool", &o, "unpool_stray_clear_i32", &s->clear);
    if (st == WEFT_OK)
        st = weft_op_kernel(p, "pool", &o, "unpool_window_f32", &s->window);
    if (st == WEFT_OK)
        st = weft_op_kernel(p, "pool", &o, "unpool_stray_i32", &s->stray);
    if (st == WEFT_OK)
        s->local_stray = pick_local(p, s->stray, 256);
    return st;
}

static weft_status unpool_rows_enqueue(weft_run *r)
{
    unpool_rows_state *s = r->state;
    if (s->count == 0 || s->total == 0)
        return WEFT_OK;
    cl_mem x = r->inputs[0].mem, idx = r->inputs[1].mem, y = r->outputs[0].mem;
    cl_mem flag = r->workspace;
    weft_arg clear[] = {WEFT_ARG(flag)};
    weft_arg window[] = {WEFT_ARG(x), WEFT_ARG(idx), WEFT_ARG(y), WEFT_ARG(flag),
                         WEFT_ARG(s->rows), WEFT_ARG(s->in_w)};
    weft_arg stray[] = {WEFT_ARG(x), WEFT_ARG(idx), WEFT_ARG(y), WEFT_ARG(flag),
                        WEFT_ARG(s->count), WEFT_ARG(s->total)};
    weft_status st = weft_op_set_args(r, s->clear, clear, 1);
    if (st == WEFT_OK)
        st = weft_op_launch_1d(r, s->clear, 1, 1);
    if (st == WEFT_OK)
        st = weft_op_set_args(r, s->window, window, 6);
    if (st == WEFT_OK)
        st = weft_op_launch_1d(r, s->window, s->rows, 1);
    if (st == WEFT_OK)
        st = weft_op_set_args(r, s->stray, stray, 6);
    if (st == WEFT_OK)
        st = weft_op_launch_1d(r, s->stray, s->local_stray, s->local_stray);
    return st;
}

const weft_op_impl weft_impl_max_unpool_rows = {
    .name = "max_unpool_rows",
    .ops = unpool_ops,
    .supports = unpool_rows_supports,
    .cost = unpool_rows_cost,
    .prepare = unpool_rows_prepare,
    .enqueue = unpool_rows_enqueue,
    .release = free,
};
