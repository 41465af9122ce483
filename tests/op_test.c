#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "graph/graph.h"
#include "op_test.h"
#include "ops/op.h"
#include "ref/ref.h"
#include "runtime/session.h"
#include "test_common.h"

int op_test_setup(void **state)
{
    weft_context_options o = test_options(NULL);
    weft_context *ctx;
    if (weft_context_create(&o, &ctx) != WEFT_OK) {
        fprintf(stderr, "no context: %s\n", weft_last_error());
        return -1;
    }
    *state = ctx;
    return 0;
}

int op_test_teardown(void **state)
{
    weft_context_release(*state);
    return 0;
}

int op_test_open_device(weft_context **ctx, weft_device_info *dev)
{
    if (test_under_oclgrind())
        setenv("WEFT_MEMORY_PLAN", "off", 1);
    weft_context_options o = test_options(NULL);
    if (weft_context_create(&o, ctx) != WEFT_OK) {
        fprintf(stderr, "no context: %s\n", weft_last_error());
        return 1;
    }
    if (weft_context_device_info(*ctx, 0, dev) != WEFT_OK) {
        fprintf(stderr, "no device info: %s\n", weft_last_error());
        weft_context_release(*ctx);
        return 1;
    }
    return 0;
}

const weft_op_impl *op_test_impl(const char *op, const char *name)
{
    for (size_t i = 0; i < weft_op_impl_count; i++)
        if (strcmp(weft_op_impls[i]->ops[0], op) == 0 && strcmp(weft_op_impls[i]->name, name) == 0)
            return weft_op_impls[i];
    fail_msg("no implementation %s:%s", op, name);
    return NULL;
}

void op_test_expect_refusal(const weft_graph *g, const weft_node *n, const weft_op_impl *impl,
                            const weft_device_info *dev, const char *part)
{
    char why[256] = "";
    assert_false(impl->supports(g, n, dev, why, sizeof why));
    if (!strstr(why, part))
        fail_msg("%s refused with '%s', expected '%s'", impl->name, why, part);
}

weft_session *op_test_forced_session(weft_context *ctx, weft_graph *g, const char *op,
                                     const char *impl, const char *label)
{
    char force[96];
    snprintf(force, sizeof force, "%s:%s", op, impl);
    weft_session_options so;
    weft_session_options_defaults(&so);
    so.force_impl = force;
    weft_session *s;
    if (weft_session_create(ctx, g, &so, &s) != WEFT_OK)
        fail_msg("%s [%s]: session: %s", label, impl, weft_last_error());
    assert_weft_ok(weft_session_poison(s, NAN));
    return s;
}

weft_attrs *op_test_attrs(const op_case *c)
{
    weft_attrs *a;
    assert_weft_ok(weft_attrs_create(&a));
    for (int i = 0; i < OP_MAX_ATTRS && c->attrs[i].name; i++) {
        const op_attr *at = &c->attrs[i];
        switch (at->type) {
        case 'i': assert_weft_ok(weft_attrs_set_int(a, at->name, at->i)); break;
        case 'f': assert_weft_ok(weft_attrs_set_float(a, at->name, at->f)); break;
        case 's': assert_weft_ok(weft_attrs_set_string(a, at->name, at->s)); break;
        case 'I': assert_weft_ok(weft_attrs_set_ints(a, at->name, at->ints, (size_t)at->count)); break;
        case 'F':
            assert_weft_ok(weft_attrs_set_floats(a, at->name, at->floats, (size_t)at->count));
            break;
        default: fail_msg("attribute '%s': unknown type '%c'", at->name, at->type);
        }
    }
    return a;
}

size_t op_test_numel(int rank, const int64_t *dims)
{
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    return n;
}

void run_op_case(weft_context *ctx, const op_case *c, const char *label)
{
    if (getenv("WEFT_TEST_TRACE"))
        fprintf(stderr, "case: %s\n", label);
    int nout = c->outputs ? c->outputs : 1;
    float atol = c->atol, rtol = c->rtol;
    if (atol == 0 && rtol == 0)
        atol = rtol = 1e-5f;
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    char names[OP_MAX_INPUTS][16], onames[4][16];
    const char *in_names[OP_MAX_INPUTS], *out_names[4];
    void *data[OP_MAX_INPUTS] = {0};
    weft_tensor feeds[OP_MAX_INPUTS];
    size_t nfeeds = 0;
    uint64_t seed = 0x0bad5eedu;
    for (const char *p = label; *p; p++)
        seed = seed * 131 + (unsigned char)*p;
    for (int k = 0; k < c->inputs; k++) {
        const op_input *in = &c->in[k];
        if (in->rank < 0) {
            in_names[k] = "";
            continue;
        }
        snprintf(names[k], sizeof names[k], "in%d", k);
        in_names[k] = names[k];
        weft_dtype dt = in->dtype ? in->dtype : WEFT_FLOAT32;
        size_t n = op_test_numel(in->rank, in->dims);
        data[k] = malloc((n ? n : 1) * 8);
        assert_non_null(data[k]);
        if (dt == WEFT_INT64) {
            assert_non_null(in->i64);
            memcpy(data[k], in->i64, n * sizeof(int64_t));
        } else if (in->f32) {
            memcpy(data[k], in->f32, n * sizeof(float));
        } else {
            float lo = in->lo, hi = in->hi;
            if (lo == 0 && hi == 0)
                lo = -2, hi = 2;
            weft_random_fill(&seed, data[k], n, lo, hi);
        }
        if (in->constant) {
            assert_weft_ok(weft_graph_add_constant(g, names[k], dt, in->rank, in->dims, data[k]));
        } else {
            assert_weft_ok(weft_graph_add_input(g, names[k], dt, in->rank, in->dims));
            weft_tensor *t = &feeds[nfeeds++];
            memset(t, 0, sizeof *t);
            t->name = names[k];
            t->dtype = dt;
            t->rank = in->rank;
            memcpy(t->dims, in->dims, sizeof in->dims);
            t->data = data[k];
            t->size_bytes = n * weft_dtype_size(dt);
        }
    }
    for (int k = 0; k < nout; k++) {
        snprintf(onames[k], sizeof onames[k], "out%d", k);
        out_names[k] = onames[k];
    }
    weft_attrs *attrs = op_test_attrs(c);
    weft_status st = weft_graph_add_node(g, c->op, "node", in_names, (size_t)c->inputs, attrs,
                                         out_names, (size_t)nout);
    weft_attrs_release(attrs);
    if (st != WEFT_OK)
        fail_msg("%s: add_node: %s", label, weft_last_error());
    for (int k = 0; k < nout; k++)
        assert_weft_ok(weft_graph_add_output(g, onames[k]));

    /* The reference, on a validated copy. */
    weft_graph *ref_graph;
    assert_weft_ok(weft_graph_clone(g, &ref_graph));
    if (weft_graph_validate(ref_graph) != WEFT_OK)
        fail_msg("%s: validate: %s", label, weft_last_error());
    weft_host_tensor want[4];
    if (weft_ref_run_graph(ref_graph, feeds, nfeeds, want, (size_t)nout) != WEFT_OK)
        fail_msg("%s: reference: %s", label, weft_last_error());

    weft_session_options so;
    weft_session_options_defaults(&so);
    so.force_impl = c->impl;
    weft_session *s;
    if (weft_session_create(ctx, g, &so, &s) != WEFT_OK)
        fail_msg("%s: session: %s", label, weft_last_error());
    assert_weft_ok(weft_session_poison(s, NAN));
    weft_tensor outs[4];
    for (int k = 0; k < nout; k++) {
        size_t bytes = (size_t)weft_shape_numel(&want[k].shape) * weft_dtype_size(want[k].dtype);
        memset(&outs[k], 0, sizeof outs[k]);
        outs[k].name = onames[k];
        outs[k].data = malloc(bytes ? bytes : 1);
        outs[k].size_bytes = bytes;
        assert_non_null(outs[k].data);
        memset(outs[k].data, 0xff, bytes); /* NaN for floats, -1 for int64 */
    }
    if (weft_session_run(s, feeds, nfeeds, outs, (size_t)nout) != WEFT_OK)
        fail_msg("%s: run: %s", label, weft_last_error());
    for (int k = 0; k < nout; k++) {
        size_t n = (size_t)weft_shape_numel(&want[k].shape);
        assert_int_equal(outs[k].rank, want[k].shape.rank);
        for (int d = 0; d < want[k].shape.rank; d++)
            assert_int_equal(outs[k].dims[d], want[k].shape.dims[d]);
        if (want[k].dtype == WEFT_INT64) {
            const int64_t *got = outs[k].data, *exp = want[k].data;
            for (size_t i = 0; i < n; i++)
                if (got[i] != exp[i])
                    fail_msg("%s: output %d element %zu is %lld, expected %lld", label, k, i,
                             (long long)got[i], (long long)exp[i]);
            continue;
        }
        const float *got = outs[k].data, *exp = want[k].data;
        for (size_t i = 0; i < n; i++) {
            if (isnan(exp[i]) && isnan(got[i]))
                continue;
            if (!(fabsf(got[i] - exp[i]) <= atol + rtol * fabsf(exp[i])))
                fail_msg("%s: output %d element %zu of %zu is %.9g, expected %.9g", label, k, i, n,
                         (double)got[i], (double)exp[i]);
        }
    }
    for (int k = 0; k < nout; k++) {
        free(outs[k].data);
        free(want[k].data);
    }
    for (int k = 0; k < c->inputs; k++)
        free(data[k]);
    weft_session_release(s);
    weft_graph_release(ref_graph);
    weft_graph_release(g);
}

void op_test_force(const char *max_local, const char *path)
{
    if (max_local)
        setenv("WEFT_TEST_MAX_LOCAL", max_local, 1);
    else
        unsetenv("WEFT_TEST_MAX_LOCAL");
    if (path)
        setenv("WEFT_TEST_REDUCE_PATH", path, 1);
    else
        unsetenv("WEFT_TEST_REDUCE_PATH");
}

int op_test_unforce(void **state)
{
    (void)state;
    op_test_force(NULL, NULL);
    return 0;
}

void op_test_in_place(weft_context *ctx, weft_graph *g, int rank, const int64_t *dims,
                      uint64_t seed, float atol, float rtol, const char *op, const char *what)
{
    size_t n = op_test_numel(rank, dims);
    float *data = malloc(n * sizeof *data), *got = malloc(n * sizeof *got);
    assert_non_null(data);
    assert_non_null(got);
    weft_random_fill(&seed, data, n, -3, 3);
    weft_tensor in = {.name = "x", .dtype = WEFT_FLOAT32, .rank = rank, .data = data,
                      .size_bytes = n * sizeof *data};
    memcpy(in.dims, dims, (size_t)rank * sizeof *dims);

    weft_graph *ref_graph;
    assert_weft_ok(weft_graph_clone(g, &ref_graph));
    assert_weft_ok(weft_graph_validate(ref_graph));
    weft_host_tensor want;
    assert_weft_ok(weft_ref_run_graph(ref_graph, &in, 1, &want, 1));

    weft_session *s;
    assert_weft_ok(weft_session_create(ctx, g, NULL, &s));
    weft_memory_stats mem;
    assert_weft_ok(weft_session_memory(s, &mem));
    if (mem.planned_peak_bytes >= 2 * n * sizeof(float))
        fail_msg("%s %s: the arena holds %llu bytes, so %s did not run in place", op, what,
                 (unsigned long long)mem.planned_peak_bytes, op);
    assert_weft_ok(weft_session_poison(s, NAN));
    weft_tensor out = {.name = "y", .data = got, .size_bytes = n * sizeof *got};
    assert_weft_ok(weft_session_run(s, &in, 1, &out, 1));
    const float *w = want.data;
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - w[i]) <= atol + rtol * fabsf(w[i])))
            fail_msg("%s in place %s: element %zu of %zu is %.9g, expected %.9g", op, what, i, n,
                     (double)got[i], (double)w[i]);
    free(want.data);
    free(data);
    free(got);
    weft_session_release(s);
    weft_graph_release(ref_graph);
    weft_graph_release(g);
}
