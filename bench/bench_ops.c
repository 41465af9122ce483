/*
 * Speed of every op implementation in the registry (src/ops/impls.inc) on
 * one representative layer-sized case each: median time of several runs,
 * and the bandwidth it reaches (bytes read and written once). These ops
 * are memory-bound, so the copy bandwidth measured here in C is the peer.
 *
 * usage: bench_ops [--runs N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "core/random.h"
#include "ops/op.h"
#include "weft.h"

typedef struct bench_case {
    const char *op;
    int inputs;
    int rank[3];
    int64_t dims[3][4];
    const char *attr;       /* one int-list attribute, or NULL */
    int64_t values[4];
    int count;
    int outputs;
} bench_case;

/* A ResNet-sized activation: 1 x 64 x 112 x 112 floats (3.2 MB). */
#define ACT {1, 64, 112, 112}

static const bench_case cases[] = {
    {.op = "Relu", .inputs = 1, .rank = {4}, .dims = {ACT}},
    {.op = "Sigmoid", .inputs = 1, .rank = {4}, .dims = {ACT}},
    {.op = "Add", .inputs = 2, .rank = {4, 4}, .dims = {ACT, ACT}},
    {.op = "Mul", .inputs = 2, .rank = {4, 4}, .dims = {ACT, {1, 64, 1, 1}}},
    {.op = "Concat", .inputs = 2, .rank = {4, 4}, .dims = {ACT, ACT}, .attr = "axis", .values = {1}, .count = -1},
    {.op = "Split", .inputs = 1, .rank = {4}, .dims = {ACT}, .attr = "axis", .values = {1}, .count = -1, .outputs = 2},
    {.op = "Transpose", .inputs = 1, .rank = {4}, .dims = {ACT}, .attr = "perm", .values = {0, 2, 3, 1}, .count = 4},
    {.op = "Softmax", .inputs = 1, .rank = {2}, .dims = {{64, 12544}}},
    {.op = "ReduceMean", .inputs = 1, .rank = {4}, .dims = {ACT}, .attr = "axes", .values = {2, 3}, .count = 2},
    {.op = "DepthToSpace", .inputs = 1, .rank = {4}, .dims = {ACT}, .attr = "blocksize", .values = {2}, .count = -1},
};

static size_t numel(int rank, const int64_t *d)
{
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= (size_t)d[i];
    return n;
}

static int run_case(weft_context *ctx, const bench_case *c, const char *impl, int runs,
                    double *ms, double *gbs)
{
    weft_graph *g;
    weft_graph_create(&g);
    const char *in[3] = {"a", "b", "c"}, *out[2] = {"y0", "y1"};
    float *data[3] = {0};
    weft_tensor feeds[3];
    size_t bytes = 0;
    uint64_t seed = 1;
    for (int k = 0; k < c->inputs; k++) {
        size_t n = numel(c->rank[k], c->dims[k]);
        data[k] = malloc(n * sizeof(float));
        weft_random_fill(&seed, data[k], n, -1, 1);
        weft_graph_add_input(g, in[k], WEFT_FLOAT32, c->rank[k], c->dims[k]);
        feeds[k] = (weft_tensor){.name = in[k], .dtype = WEFT_FLOAT32, .rank = c->rank[k],
                                 .data = data[k], .size_bytes = n * sizeof(float)};
        memcpy(feeds[k].dims, c->dims[k], sizeof c->dims[k]);
        bytes += n * sizeof(float);
    }
    weft_attrs *a;
    weft_attrs_create(&a);
    if (c->attr && c->count < 0)
        weft_attrs_set_int(a, c->attr, c->values[0]);
    else if (c->attr)
        weft_attrs_set_ints(a, c->attr, c->values, (size_t)c->count);
    int nout = c->outputs ? c->outputs : 1;
    weft_status st = weft_graph_add_node(g, c->op, NULL, in, (size_t)c->inputs, a, out, (size_t)nout);
    weft_attrs_release(a);
    for (int k = 0; k < nout && st == WEFT_OK; k++)
        st = weft_graph_add_output(g, out[k]);
    char force[96];
    snprintf(force, sizeof force, "%s:%s", c->op, impl);
    weft_session_options so;
    weft_session_options_defaults(&so);
    so.force_impl = force;
    weft_session *s = NULL;
    if (st == WEFT_OK)
        st = weft_session_create(ctx, g, &so, &s);
    weft_tensor outs[2];
    for (int k = 0; k < nout && st == WEFT_OK; k++) {
        st = weft_session_output_info(s, (size_t)k, &outs[k]);
        outs[k].data = malloc(outs[k].size_bytes + 1);
        bytes += outs[k].size_bytes;
    }
    double t[64];
    for (int r = 0; r < runs + 2 && st == WEFT_OK; r++) {
        double t0 = bench_now_s();
        st = weft_session_run(s, feeds, (size_t)c->inputs, outs, (size_t)nout);
        if (r >= 2)
            t[r - 2] = (bench_now_s() - t0) * 1e3; /* ms; two warm-up runs */
    }
    if (st == WEFT_OK) {
        qsort(t, (size_t)runs, sizeof *t, bench_cmp_double);
        *ms = t[runs / 2];
        *gbs = (double)bytes / (*ms / 1e3) / 1e9;
    } else {
        fprintf(stderr, "bench_ops: %s: %s\n", c->op, weft_last_error());
    }
    for (int k = 0; k < nout && s; k++)
        free(outs[k].data);
    for (int k = 0; k < c->inputs; k++)
        free(data[k]);
    weft_session_release(s);
    weft_graph_release(g);
    return st == WEFT_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    int runs;
    if (bench_parse_runs(argc, argv, "bench_ops", 15, 64, &runs) != 0)
        return 2;
    weft_context *ctx;
    if (weft_context_create(NULL, &ctx) != WEFT_OK) {
        fprintf(stderr, "bench_ops: %s\n", weft_last_error());
        return 1;
    }
    weft_device_info info;
    weft_context_device_info(ctx, 0, &info);
    double copy = bench_copy_bandwidth(5);
    printf("device: %s; host copy bandwidth %.1f GB/s (memcpy, read + write)\n", info.name, copy);
    printf("median of %d runs, end to end (upload, kernels, download)\n\n", runs);
    printf("%-14s %-16s %-22s %10s %8s %8s\n", "impl", "op", "input", "ms", "GB/s", "of copy");
    int failed = 0;
    for (size_t i = 0; i < weft_op_impl_count; i++) {
        const weft_op_impl *impl = weft_op_impls[i];
        if (impl->alias)
            continue; /* runs nothing */
        int found = 0;
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
            int serves = 0;
            for (const char *const *o = impl->ops; *o; o++)
                serves |= strcmp(*o, cases[c].op) == 0;
            if (!serves)
                continue;
            found = 1;
            char shape[64];
            snprintf(shape, sizeof shape, "%lldx%lldx%lldx%lld", (long long)cases[c].dims[0][0],
                     (long long)cases[c].dims[0][1], (long long)cases[c].dims[0][2],
                     (long long)cases[c].dims[0][3]);
            if (cases[c].rank[0] == 2)
                snprintf(shape, sizeof shape, "%lldx%lld", (long long)cases[c].dims[0][0],
                         (long long)cases[c].dims[0][1]);
            double ms = 0, gbs = 0;
            if (run_case(ctx, &cases[c], impl->name, runs, &ms, &gbs) != 0) {
                failed = 1;
                continue;
            }
            printf("%-14s %-16s %-22s %10.2f %8.1f %7.0f%%\n", impl->name, cases[c].op, shape, ms,
                   gbs, 100 * gbs / copy);
        }
        if (!found)
            printf("%-14s (no bench case yet)\n", impl->name);
    }
    weft_context_release(ctx);
    return failed;
}
