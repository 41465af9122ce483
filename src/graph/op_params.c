/* Parameters of ops from attributes and constant inputs (graph/op_params.h). */
#include <stdarg.h>
#include <stdio.h>

#include "graph/infer_util.h"
#include "graph/op_params.h"

weft_status weft_params_fail(const weft_node *n, char *why, size_t cap, weft_status status,
                             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (why) {
        if (cap > 0)
            vsnprintf(why, cap, fmt, ap);
        va_end(ap);
        return status;
    }
    char text[1024];
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return weft_node_fail(n, status, "%s", text);
}

/* " ('NAME')" to follow "input 'what'"; "" for a value without a name
 * (the reference's host tensors). */
typedef struct name_text {
    char s[256];
} name_text;

static name_text value_name(const weft_value *v)
{
    name_text t = {""};
    if (v->name && v->name[0])
        snprintf(t.s, sizeof t.s, " ('%s')", v->name);
    return t;
}

weft_ints_text weft_ints_str(const int64_t *v, size_t count)
{
    weft_ints_text t;
    size_t at = 0;
    t.s[0] = '\0';
    for (size_t i = 0; i <= count && at + 1 < sizeof t.s; i++) {
        int w = i == count
                    ? snprintf(t.s + at, sizeof t.s - at, "]")
                    : snprintf(t.s + at, sizeof t.s - at, "%s%lld", i ? "," : "[", (long long)v[i]);
        at += w > 0 ? (size_t)w : 0;
    }
    if (count == 0)
        snprintf(t.s, sizeof t.s, "[]");
    return t;
}

/* Attribute `name`, which must be of `type` when it is given; *a is NULL
 * when it is absent. */
static weft_status attr_typed(const weft_node *n, const char *name, weft_attr_type type,
                              const weft_attr **a, char *why, size_t cap)
{
    *a = weft_node_attr(n, name);
    if (*a && (*a)->type != type)
        return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH,
                                "attribute '%s' is of type %s, expected %s", name,
                                weft_attr_type_name((*a)->type), weft_attr_type_name(type));
    return WEFT_OK;
}

weft_status weft_params_axis(const weft_node *n, const char *what, int64_t axis, int rank, int *out,
                             char *why, size_t cap)
{
    *out = 0;
    if (axis < -(int64_t)rank || axis >= rank)
        return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH,
                                "%s = %lld is out of range [%d, %d] for an input of rank %d", what,
                                (long long)axis, -rank, rank - 1, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return WEFT_OK;
}

weft_status weft_params_axes(const weft_node *n, const char *what, const int64_t *axes,
                             size_t count, int rank, int *out, char *why, size_t cap)
{
    if (count > (size_t)rank)
        return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH,
                                "%s has %zu axes but the input has rank %d", what, count, rank);
    for (size_t i = 0; i < count; i++) {
        weft_status st = weft_params_axis(n, what, axes[i], rank, &out[i], why, cap);
        if (st != WEFT_OK)
            return st;
        for (size_t k = 0; k < i; k++)
            if (out[k] == out[i])
                return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH, "%s names axis %d twice", what,
                                        out[i]);
    }
    return WEFT_OK;
}

weft_status weft_params_axis_flags(const weft_node *n, const char *what, const int64_t *axes,
                                   size_t count, int rank, int flags[WEFT_MAX_RANK], char *why,
                                   size_t cap)
{
    int ax[WEFT_MAX_RANK];
    weft_status st = weft_params_axes(n, what, axes, count, rank, ax, why, cap);
    if (st != WEFT_OK)
        return st;
    for (int d = 0; d < rank; d++)
        flags[d] = 0;
    for (size_t i = 0; i < count; i++)
        flags[ax[i]] = 1;
    return WEFT_OK;
}

weft_status weft_params_const(const weft_node *n, const weft_value *v, const char *what,
                              weft_dtype dtype, const void **data, size_t *count, int *present,
                              char *why, size_t cap)
{
    *data = NULL;
    *count = 0;
    *present = v != NULL;
    if (!v)
        return WEFT_OK;
    if (v->dtype != dtype)
        return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH, "input '%s'%s is %s, expected %s",
                                what, value_name(v).s, weft_dtype_name(v->dtype),
                                weft_dtype_name(dtype));
    if (v->shape.rank > 1)
        return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH,
                                "input '%s'%s has shape %s, expected 1-D", what, value_name(v).s,
                                weft_shape_str(&v->shape).s);
    const void *d = infer_const_data(v);
    if (!d)
        return weft_params_fail(
            n, why, cap, WEFT_ERR_UNSUPPORTED,
            "input '%s'%s is computed by the graph; weft needs it to be a constant to "
            "infer shapes",
            what, value_name(v).s);
    *data = d;
    *count = (size_t)weft_shape_numel(&v->shape);
    return WEFT_OK;
}

weft_status weft_params_const_ints(const weft_node *n, const weft_value *v, const char *what,
                                   weft_ints *out, char *why, size_t cap)
{
    const void *d;
    weft_status st =
        weft_params_const(n, v, what, WEFT_INT64, &d, &out->count, &out->present, why, cap);
    out->v = d;
    return st;
}

weft_status weft_params_ints(const weft_node *n, const char *attr, size_t i, const weft_value *v,
                             weft_ints *out, char *why, size_t cap)
{
    const weft_attr *a = weft_node_attr(n, attr);
    if (!a)
        return weft_params_const_ints(n, v, attr, out, why, cap);
    if (v)
        return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH,
                                "'%s' is given both as an attribute (older opsets) and as "
                                "input %zu%s; give one",
                                attr, i, value_name(v).s);
    weft_status st = attr_typed(n, attr, WEFT_ATTR_INTS, &a, why, cap);
    if (st != WEFT_OK)
        return st;
    out->v = a->ints;
    out->count = a->count;
    out->present = 1;
    return WEFT_OK;
}

weft_status weft_params_perm(const weft_node *n, const weft_value *x, int perm[WEFT_MAX_RANK],
                             char *why, size_t cap)
{
    int rank = x->shape.rank;
    const weft_attr *a;
    weft_status st = attr_typed(n, "perm", WEFT_ATTR_INTS, &a, why, cap);
    if (st != WEFT_OK)
        return st;
    if (!a) {
        for (int i = 0; i < rank; i++)
            perm[i] = rank - 1 - i;
        return WEFT_OK;
    }
    int seen[WEFT_MAX_RANK] = {0};
    int ok = a->count == (size_t)rank;
    for (size_t i = 0; i < a->count && ok; i++) {
        ok = a->ints[i] >= 0 && a->ints[i] < rank && !seen[a->ints[i]];
        if (ok) {
            seen[a->ints[i]] = 1;
            perm[i] = (int)a->ints[i];
        }
    }
    if (!ok)
        return weft_params_fail(
            n, why, cap, WEFT_ERR_GRAPH,
            "attribute 'perm' = %s is not a permutation of the %d axes of input 'data'%s",
            weft_ints_str(a->ints, a->count).s, rank, value_name(x).s);
    return WEFT_OK;
}

weft_status weft_params_reduce_axes(const weft_node *n, int rank, const weft_value *v, int64_t noop,
                                    int reduce[WEFT_MAX_RANK], char *why, size_t cap)
{
    weft_ints axes;
    weft_status st = weft_params_ints(n, "axes", 1, v, &axes, why, cap);
    if (st != WEFT_OK)
        return st;
    if (axes.count > 0)
        return weft_params_axis_flags(n, "'axes'", axes.v, axes.count, rank, reduce, why, cap);
    for (int d = 0; d < rank; d++)
        reduce[d] = !noop;
    return WEFT_OK;
}

weft_status weft_params_shape_range(const weft_node *n, int rank, int64_t *start, int64_t *end,
                                    char *why, size_t cap)
{
    const weft_attr *a, *b;
    weft_status st = attr_typed(n, "start", WEFT_ATTR_INT, &a, why, cap);
    if (st != WEFT_OK || (st = attr_typed(n, "end", WEFT_ATTR_INT, &b, why, cap)) != WEFT_OK)
        return st;
    int64_t r = rank;
    *start = a ? a->i : 0;
    *end = b ? b->i : r;
    *start = *start < 0 ? *start + r : *start;
    *end = *end < 0 ? *end + r : *end;
    *start = *start < 0 ? 0 : *start > r ? r : *start;
    *end = *end < 0 ? 0 : *end > r ? r : *end;
    if (*end < *start)
        *end = *start;
    return WEFT_OK;
}

/* ---- Slice --------------------------------------------------------------- */

/* Slice on one axis of size dim (step != 0): the first index taken and
 * how many, by the rules in op_params.h. */
static void slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *first,
                       int64_t *count)
{
    *first = 0;
    *count = 0;
    if (start < 0)
        start += dim;
    if (end < 0)
        end += dim;
    /* count = ceil(distance / |step|), written so that no step overflows */
    if (step > 0) {
        start = start < 0 ? 0 : start > dim ? dim : start;
        end = end < 0 ? 0 : end > dim ? dim : end;
        if (end > start) {
            *first = start;
            *count = (end - start - 1) / step + 1;
        }
    } else if (dim > 0) { /* with dim 0, [0, dim - 1] is empty */
        start = start < 0 ? 0 : start > dim - 1 ? dim - 1 : start;
        end = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
        /* -INT64_MIN overflows; a step that large takes one element anyway. */
        int64_t mag = step == INT64_MIN ? INT64_MAX : -step;
        if (start > end) {
            *first = start;
            *count = (start - end - 1) / mag + 1;
        }
    }
}

weft_status weft_params_slice(const weft_node *n, const weft_value *const in[WEFT_SLICE_INPUTS],
                              weft_slice *s, char *why, size_t cap)
{
    const weft_shape *x = &in[0]->shape;
    int rank = x->rank;
    weft_ints starts, ends, axes, steps;
    weft_status st;
    if ((st = weft_params_ints(n, "starts", 1, in[1], &starts, why, cap)) != WEFT_OK ||
        (st = weft_params_ints(n, "ends", 2, in[2], &ends, why, cap)) != WEFT_OK ||
        (st = weft_params_ints(n, "axes", 3, in[3], &axes, why, cap)) != WEFT_OK ||
        (st = weft_params_const_ints(n, in[4], "steps", &steps, why, cap)) != WEFT_OK)
        return st;
    if (!starts.present || !ends.present)
        return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH,
                                "'%s' is required (an input since opset 10, an attribute before)",
                                starts.present ? "ends" : "starts");
    size_t k = starts.count;
    if (ends.count != k)
        return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH,
                                "'starts' has %zu values but 'ends' has %zu", k, ends.count);
    if (axes.present && axes.count != k)
        return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH,
                                "'axes' has %zu values but 'starts' has %zu", axes.count, k);
    if (steps.present && steps.count != k)
        return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH,
                                "'steps' has %zu values but 'starts' has %zu", steps.count, k);
    if (k > (size_t)rank)
        return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH,
                                "'starts' has %zu values but the data has rank %d", k, rank);
    int ax[WEFT_MAX_RANK];
    if (axes.present) {
        if ((st = weft_params_axes(n, "'axes'", axes.v, k, rank, ax, why, cap)) != WEFT_OK)
            return st;
    } else {
        for (size_t i = 0; i < k; i++)
            ax[i] = (int)i;
    }
    for (int d = 0; d < rank; d++) {
        s->first[d] = 0;
        s->step[d] = 1;
        s->count[d] = x->dims[d];
    }
    for (size_t i = 0; i < k; i++) {
        int64_t step = steps.present ? steps.v[i] : 1;
        if (step == 0)
            return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH, "'steps'[%zu] is 0", i);
        s->step[ax[i]] = step;
        slice_axis(x->dims[ax[i]], starts.v[i], ends.v[i], step, &s->first[ax[i]],
                   &s->count[ax[i]]);
    }
    return WEFT_OK;
}

/* ---- Pad ----------------------------------------------------------------- */

weft_status weft_params_pad(const weft_node *n, const weft_value *const in[WEFT_PAD_INPUTS],
                            weft_pad *p, char *why, size_t cap)
{
    const weft_shape *x = &in[0]->shape;
    int rank = x->rank;
    weft_ints pads, axes;
    weft_status st;
    if ((st = weft_params_ints(n, "pads", 1, in[1], &pads, why, cap)) != WEFT_OK ||
        (st = weft_params_const_ints(n, in[3], "axes", &axes, why, cap)) != WEFT_OK)
        return st;
    if (!pads.present)
        return weft_params_fail(
            n, why, cap, WEFT_ERR_GRAPH,
            "'pads' is required (an input since opset 11, an attribute before)");
    int ax[WEFT_MAX_RANK];
    size_t count = (size_t)rank;
    if (axes.present) {
        count = axes.count;
        if ((st = weft_params_axes(n, "input 'axes'", axes.v, count, rank, ax, why, cap)) !=
            WEFT_OK)
            return st;
    } else {
        for (int i = 0; i < rank; i++)
            ax[i] = i;
    }
    if (pads.count != 2 * count)
        return weft_params_fail(
            n, why, cap, WEFT_ERR_GRAPH,
            "'pads' has %zu values, expected %zu (a begin and an end for each of %zu "
            "axes)",
            pads.count, 2 * count, count);
    p->out = *x;
    for (int d = 0; d < rank; d++)
        p->begin[d] = p->end[d] = 0;
    for (size_t i = 0; i < count; i++) {
        int64_t d = x->dims[ax[i]], b = pads.v[i], e = pads.v[i + count], r;
        if (!infer_add(d, b, &r) || !infer_add(r, e, &r) || r < 0)
            return weft_params_fail(
                n, why, cap, WEFT_ERR_SHAPE,
                "'pads' %lld and %lld on axis %d of size %lld give an invalid size", (long long)b,
                (long long)e, ax[i], (long long)d);
        p->begin[ax[i]] = b;
        p->end[ax[i]] = e;
        p->out.dims[ax[i]] = r;
    }
    return WEFT_OK;
}
