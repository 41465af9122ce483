/*
 * The memory-bound layers of real networks at 224x224: pooling,
 * unpooling, resizing and normalization of ResNet-18, GoogLeNet and a
 * SegNet-style decoder. For each layer: the kernel time (OpenCL profiling,
 * median of several runs), the bandwidth it reaches counting every input
 * and output byte once, and that as a fraction of this machine's copy
 * bandwidth, measured here first with a plain memcpy.
 *
 * usage: bench_memory_layers [--runs N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "core/random.h"
#include "weft.h"

enum { POOL, GPOOL, BN, LRN, UNPOOL, RESIZE, INORM, GNORM };

typedef struct layer {
    const char *net, *name;
    int kind;
    const char *op;
    int64_t n, c, h, w;
    int k, stride, pad, ceil; /* pools */
    int64_t groups;           /* GroupNormalization */
} layer;

static const layer layers[] = {
    {"resnet18", "maxpool 3x3/2", POOL, "MaxPool", 1, 64, 112, 112, 3, 2, 1, 0, 0},
    {"resnet18", "bn conv1", BN, "BatchNormalization", 1, 64, 112, 112, 0, 0, 0, 0, 0},
    {"resnet18", "bn layer1", BN, "BatchNormalization", 1, 64, 56, 56, 0, 0, 0, 0, 0},
    {"resnet18", "bn layer2", BN, "BatchNormalization", 1, 128, 28, 28, 0, 0, 0, 0, 0},
    {"resnet18", "bn layer4", BN, "BatchNormalization", 1, 512, 7, 7, 0, 0, 0, 0, 0},
    {"resnet18", "global avgpool", GPOOL, "GlobalAveragePool", 1, 512, 7, 7, 0, 0, 0, 0, 0},
    {"googlenet", "maxpool1 3x3/2 ceil", POOL, "MaxPool", 1, 64, 112, 112, 3, 2, 0, 1, 0},
    {"googlenet", "maxpool2 3x3/2 ceil", POOL, "MaxPool", 1, 192, 56, 56, 3, 2, 0, 1, 0},
    {"googlenet", "inception 3x3/1 pool", POOL, "MaxPool", 1, 192, 28, 28, 3, 1, 1, 0, 0},
    {"googlenet", "maxpool3 3x3/2 ceil", POOL, "MaxPool", 1, 480, 28, 28, 3, 2, 0, 1, 0},
    {"googlenet", "global avgpool", GPOOL, "GlobalAveragePool", 1, 1024, 7, 7, 0, 0, 0, 0, 0},
    {"segnet", "maxpool 2x2/2 +indices", POOL, "MaxPool", 1, 64, 224, 224, 2, 2, 0, 0, 0},
    {"segnet", "maxunpool 2x2/2", UNPOOL, "MaxUnpool", 1, 64, 112, 112, 2, 2, 0, 0, 0},
    {"segnet", "bn decoder", BN, "BatchNormalization", 1, 64, 224, 224, 0, 0, 0, 0, 0},
    {"segnet", "lrn 5", LRN, "LRN", 1, 64, 112, 112, 0, 0, 0, 0, 0},
    {"segnet", "resize nearest 2x", RESIZE, "Resize", 1, 64, 112, 112, 0, 0, 0, 0, 0},
    {"segnet", "instance norm", INORM, "InstanceNormalization", 1, 64, 112, 112, 0, 0, 0, 0, 0},
    {"segnet", "group norm 32", GNORM, "GroupNormalization", 1, 64, 112, 112, 0, 0, 0, 0, 32},
};

static void pool_attrs(weft_attrs *a, const layer *l)
{
    int64_t k[2] = {l->k, l->k}, s[2] = {l->stride, l->stride},
            p[4] = {l->pad, l->pad, l->pad, l->pad};
    weft_attrs_set_ints(a, "kernel_shape", k, 2);
    weft_attrs_set_ints(a, "strides", s, 2);
    weft_attrs_set_ints(a, "pads", p, 4);
    if (l->ceil)
        weft_attrs_set_int(a, "ceil_mode", 1);
}

/* Builds the layer's graph; *timed is the name of the node to time. */
static weft_status build(const layer *l, weft_graph *g, const char **timed)
{
    int64_t dims[4] = {l->n, l->c, l->h, l->w}, cdim[1] = {l->c};
    weft_status st = weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, dims);
    float *ones = malloc((size_t)l->c * sizeof *ones), *small = malloc((size_t)l->c * sizeof *small);
    for (int64_t i = 0; i < l->c; i++)
        ones[i] = 1.0f + 0.01f * (float)i, small[i] = 0.1f * (float)(i % 7);
    weft_attrs *a;
    weft_attrs_create(&a);
    const char *x = "x", *y = "y";
    *timed = "layer";
    switch (l->kind) {
    case POOL:
        pool_attrs(a, l);
        if (strstr(l->name, "indices")) {
            const char *outs[2] = {"y", "idx"};
            if (st == WEFT_OK)
                st = weft_graph_add_node(g, l->op, "layer", &x, 1, a, outs, 2);
            if (st == WEFT_OK)
                st = weft_graph_add_output(g, "idx");
        } else if (st == WEFT_OK) {
            st = weft_graph_add_node(g, l->op, "layer", &x, 1, a, &y, 1);
        }
        break;
    case GPOOL:
        if (st == WEFT_OK)
            st = weft_graph_add_node(g, l->op, "layer", &x, 1, NULL, &y, 1);
        break;
    case BN: {
        const char *in[5] = {"x", "scale", "bias", "mean", "var"};
        st = st ? st : weft_graph_add_constant(g, "scale", WEFT_FLOAT32, 1, cdim, ones);
        st = st ? st : weft_graph_add_constant(g, "bias", WEFT_FLOAT32, 1, cdim, small);
        st = st ? st : weft_graph_add_constant(g, "mean", WEFT_FLOAT32, 1, cdim, small);
        st = st ? st : weft_graph_add_constant(g, "var", WEFT_FLOAT32, 1, cdim, ones);
        st = st ? st : weft_graph_add_node(g, l->op, "layer", in, 5, NULL, &y, 1);
        break;
    }
    case INORM:
    case GNORM: {
        const char *in[3] = {"x", "scale", "bias"};
        st = st ? st : weft_graph_add_constant(g, "scale", WEFT_FLOAT32, 1, cdim, ones);
        st = st ? st : weft_graph_add_constant(g, "bias", WEFT_FLOAT32, 1, cdim, small);
        if (l->kind == GNORM)
            weft_attrs_set_int(a, "num_groups", l->groups);
        st = st ? st : weft_graph_add_node(g, l->op, "layer", in, 3, a, &y, 1);
        break;
    }
    case LRN:
        weft_attrs_set_int(a, "size", 5);
        st = st ? st : weft_graph_add_node(g, l->op, "layer", &x, 1, a, &y, 1);
        break;
    case UNPOOL: /* built by build_unpool */
        break;
    case RESIZE: {
        const float scales[4] = {1, 1, 2, 2};
        const int64_t four[1] = {4};
        weft_attrs_set_string(a, "mode", "nearest");
        st = st ? st : weft_graph_add_constant(g, "scales", WEFT_FLOAT32, 1, four, scales);
        const char *in[3] = {"x", "", "scales"};
        st = st ? st : weft_graph_add_node(g, l->op, "layer", in, 3, a, &y, 1);
        break;
    }
    }
    weft_attrs_release(a);
    free(ones);
    free(small);
    if (st == WEFT_OK)
        st = weft_graph_add_output(g, "y");
    return st;
}

/* MaxUnpool needs real indices: MaxPool(2x2/2) then MaxUnpool, timing the
 * unpool node alone. */
static weft_status build_unpool(const layer *l, weft_graph *g, const char **timed)
{
    int64_t dims[4] = {l->n, l->c, l->h * 2, l->w * 2};
    weft_status st = weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, dims);
    weft_attrs *a;
    weft_attrs_create(&a);
    pool_attrs(a, l);
    const char *x = "x", *pooled[2] = {"p", "idx"}, *in[2] = {"p", "idx"}, *y = "y";
    st = st ? st : weft_graph_add_node(g, "MaxPool", "pool", &x, 1, a, pooled, 2);
    st = st ? st : weft_graph_add_node(g, "MaxUnpool", "layer", in, 2, a, &y, 1);
    st = st ? st : weft_graph_add_output(g, "y");
    weft_attrs_release(a);
    *timed = "layer";
    return st;
}

int main(int argc, char **argv)
{
    int runs;
    if (bench_parse_runs(argc, argv, "bench_memory_layers", 9, 99, &runs) != 0)
        return 2;
    weft_context_options o;
    weft_context_options_defaults(&o);
    o.profiling = 1;
    weft_context *ctx;
    if (weft_context_create(&o, &ctx) != WEFT_OK) {
        fprintf(stderr, "bench_memory_layers: %s\n", weft_last_error());
        return 1;
    }
    weft_device_info info;
    weft_context_device_info(ctx, 0, &info);
    double copy = bench_copy_bandwidth(7);
    printf("device: %s; copy bandwidth %.1f GB/s (memcpy of 64 MiB, read + write, best of 7)\n",
           info.name, copy);
    printf("kernel time from OpenCL profiling, median of %d runs; bytes = inputs + outputs once\n\n",
           runs);
    printf("%-10s %-24s %-16s %9s %9s %8s %8s\n", "net", "layer", "input", "MB", "us", "GB/s",
           "of copy");
    int failed = 0;
    for (size_t i = 0; i < sizeof layers / sizeof *layers; i++) {
        const layer *l = &layers[i];
        weft_graph *g;
        weft_graph_create(&g);
        const char *timed;
        weft_status st = l->kind == UNPOOL ? build_unpool(l, g, &timed) : build(l, g, &timed);
        weft_session *s = NULL;
        if (st == WEFT_OK)
            st = weft_session_create(ctx, g, NULL, &s);
        if (st != WEFT_OK) {
            printf("%-10s %-24s %s\n", l->net, l->name, weft_last_error());
            weft_graph_release(g);
            failed = 1;
            continue;
        }
        weft_tensor in;
        weft_session_input_info(s, 0, &in);
        in.data = malloc(in.size_bytes);
        uint64_t seed = 3;
        weft_random_fill(&seed, in.data, in.size_bytes / 4, -1, 1);
        size_t nout;
        weft_session_output_count(s, &nout);
        weft_tensor out[2];
        for (size_t k = 0; k < nout; k++) {
            weft_session_output_info(s, k, &out[k]);
            out[k].data = malloc(out[k].size_bytes);
        }
        double t[100];
        double bytes = 0;
        size_t nodes;
        weft_session_node_count(s, &nodes);
        for (int r = 0; r < runs + 1 && st == WEFT_OK; r++) {
            st = weft_session_run(s, &in, 1, out, nout);
            for (size_t k = 0; k < nodes && st == WEFT_OK; k++) {
                weft_node_info ni;
                weft_session_node_info(s, k, &ni);
                if (strcmp(ni.name, timed) == 0 && r > 0)
                    t[r - 1] = ni.time_ms;
            }
        }
        /* Bytes: the timed node's inputs and outputs. */
        double elems = (double)(l->n * l->c * l->h * l->w);
        double out_elems = (double)out[0].size_bytes / 4;
        bytes = 4 * elems + 4 * out_elems;
        if (l->kind == POOL && nout == 2)
            bytes += (double)out[1].size_bytes;
        if (l->kind == UNPOOL)
            bytes = 4 * elems + 8 * elems + (double)out[0].size_bytes; /* x, indices, y */
        if (st == WEFT_OK) {
            qsort(t, (size_t)runs, sizeof *t, bench_cmp_double);
            double ms = t[runs / 2], gbs = bytes / (ms / 1e3) / 1e9;
            char shape[48];
            snprintf(shape, sizeof shape, "%lldx%lldx%lldx%lld", (long long)l->n, (long long)l->c,
                     (long long)l->h, (long long)l->w);
            printf("%-10s %-24s %-16s %9.1f %9.0f %8.1f %7.0f%%\n", l->net, l->name, shape,
                   bytes / 1e6, ms * 1e3, gbs, 100 * gbs / copy);
        } else {
            printf("%-10s %-24s %s\n", l->net, l->name, weft_last_error());
            failed = 1;
        }
        free(in.data);
        for (size_t k = 0; k < nout; k++)
            free(out[k].data);
        weft_session_release(s);
        weft_graph_release(g);
    }
    weft_context_release(ctx);
    return failed;
}
