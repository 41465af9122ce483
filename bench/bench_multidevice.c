/*
 * One branching model on one device and on two, with each placement's
 * latency: everything on device 0 of a one-device context, everything on
 * device 0 of a two-device context (what the extra device costs when
 * unused), the scheduler's choice ("auto"), and nodes alternating between
 * the devices. Prints the placement the scheduler chose.
 *
 * The model: MODEL.onnx when given (e.g. GoogLeNet from bench/models),
 * else a built graph of two independent conv branches joined by a concat.
 * On PoCL, unless already set, the environment gives two pthread devices
 * with one thread each (POCL_DEVICES="pthread pthread",
 * POCL_MAX_PTHREAD_COUNT=1, PoCL 3.1's name for the thread limit); the
 * one-device baseline is device 0 of the same setting.
 *
 * usage: bench_multidevice [MODEL.onnx] [--runs N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "core/random.h"
#include "weft.h"

static int check(weft_status st, const char *what)
{
    if (st != WEFT_OK)
        fprintf(stderr, "bench_multidevice: %s: %s: %s\n", what, weft_status_name(st),
                weft_last_error());
    return st == WEFT_OK;
}

static uint64_t seed = 3;

static int constant(weft_graph *g, const char *name, int rank, const int64_t *dims)
{
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    float *data = malloc(n * sizeof *data);
    if (!data)
        return 0;
    weft_random_fill(&seed, data, n, -0.05f, 0.05f);
    int ok = check(weft_graph_add_constant(g, name, WEFT_FLOAT32, rank, dims, data), name);
    free(data);
    return ok;
}

/* Two branches of four 3x3 convs (64 channels, 56x56) from one input,
 * concatenated: the work splits evenly across two devices. */
static weft_graph *two_branches(void)
{
    weft_graph *g;
    if (!check(weft_graph_create(&g), "graph"))
        return NULL;
    int ok = check(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, (int64_t[]){1, 64, 56, 56}),
                   "input");
    char prev[2][32] = {"x", "x"};
    for (int b = 0; b < 2 && ok; b++)
        for (int i = 0; i < 4 && ok; i++) {
            char w[32], y[32], node[32];
            snprintf(w, sizeof w, "w%d_%d", b, i);
            snprintf(y, sizeof y, "y%d_%d", b, i);
            snprintf(node, sizeof node, "branch%d_conv%d", b, i);
            weft_conv_attrs a;
            weft_conv_defaults(&a);
            a.pads[0] = a.pads[1] = a.pads[3] = a.pads[4] = 1;
            ok = constant(g, w, 4, (int64_t[]){64, 64, 3, 3}) &&
                 check(weft_graph_add_conv(g, node, prev[b], w, NULL, &a, y), node);
            snprintf(prev[b], sizeof prev[b], "%s", y);
        }
    const char *parts[2] = {prev[0], prev[1]};
    ok = ok && check(weft_graph_add_concat(g, "join", parts, 2, 1, "y"), "concat") &&
         check(weft_graph_add_output(g, "y"), "output");
    if (!ok) {
        weft_graph_release(g);
        return NULL;
    }
    return g;
}

typedef struct variant {
    const char *label;
    weft_context *ctx;
    const char *placement;
    weft_session *s;
    weft_tensor in[4], out;
    size_t nin;
    double *ms;
} variant;

static int prepare(variant *v, const weft_graph *g, int runs)
{
    weft_session_options so;
    weft_session_options_defaults(&so);
    so.placement = v->placement;
    if (!check(weft_session_create(v->ctx, g, &so, &v->s), v->label) ||
        !check(weft_session_input_count(v->s, &v->nin), "inputs") || v->nin > 4)
        return 0;
    uint64_t rs = 11;
    for (size_t i = 0; i < v->nin; i++) {
        if (!check(weft_session_input_info(v->s, i, &v->in[i]), "input info"))
            return 0;
        v->in[i].data = malloc(v->in[i].size_bytes + 1);
        if (!v->in[i].data)
            return 0;
        weft_random_fill(&rs, v->in[i].data, v->in[i].size_bytes / sizeof(float), -1, 1);
    }
    if (!check(weft_session_output_info(v->s, 0, &v->out), "output info"))
        return 0;
    v->out.data = malloc(v->out.size_bytes + 1);
    v->ms = calloc((size_t)runs, sizeof *v->ms);
    return v->out.data && v->ms;
}

static void print_placement(weft_session *s, size_t devices)
{
    size_t n = 0;
    weft_session_node_count(s, &n);
    size_t per[8] = {0};
    for (size_t i = 0; i < n; i++) {
        weft_node_info info;
        if (weft_session_node_info(s, i, &info) == WEFT_OK && info.device_index < 8)
            per[info.device_index]++;
    }
    printf("scheduler's placement:");
    for (size_t d = 0; d < devices && d < 8; d++)
        printf(" %zu nodes on device %zu%s", per[d], d, d + 1 < devices ? "," : "\n");
    for (size_t d = 1; d < devices && d < 8; d++) {
        printf("  on device %zu:", d);
        size_t shown = 0;
        for (size_t i = 0; i < n; i++) {
            weft_node_info info;
            if (weft_session_node_info(s, i, &info) == WEFT_OK && info.device_index == d) {
                if (shown++ < 40)
                    printf(" %s", info.name);
            }
        }
        printf("%s\n", shown > 40 ? " ..." : "");
    }
}

int main(int argc, char **argv)
{
    const char *model = NULL;
    int runs = 15;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else
            model = argv[i];
    }
    if (runs < 1)
        runs = 1;
    setenv("POCL_DEVICES", "pthread pthread", 0);
    setenv("POCL_MAX_PTHREAD_COUNT", "1", 0);

    weft_graph *g = NULL;
    if (model) {
        if (!check(weft_graph_load_onnx(model, &g), model))
            return 1;
    } else if (!(g = two_branches())) {
        return 1;
    }
    weft_context_options o1, o2;
    weft_context_options_defaults(&o1);
    weft_context_options_defaults(&o2);
    o1.device = "0";
    o2.device = "0,1";
    weft_context *one = NULL, *two = NULL;
    if (!check(weft_context_create(&o1, &one), "one-device context") ||
        !check(weft_context_create(&o2, &two), "two-device context (needs two OpenCL devices)"))
        return 1;
    weft_device_info d0, d1;
    weft_context_device_info(two, 0, &d0);
    weft_context_device_info(two, 1, &d1);
    printf("model: %s\ndevice 0: %s (%u compute units)\ndevice 1: %s (%u compute units)\n",
           model ? model : "two branches of four 3x3 convs, 64x56x56, concatenated", d0.name,
           d0.compute_units, d1.name, d1.compute_units);
    printf("POCL_DEVICES='%s' POCL_MAX_PTHREAD_COUNT='%s'\n", getenv("POCL_DEVICES"),
           getenv("POCL_MAX_PTHREAD_COUNT"));

    variant v[] = {
        {.label = "one device", .ctx = one, .placement = NULL},
        {.label = "two devices, all on 0", .ctx = two, .placement = "all=0"},
        {.label = "two devices, scheduler (auto)", .ctx = two, .placement = "auto"},
        {.label = "two devices, alternating", .ctx = two, .placement = "alternate"},
    };
    const size_t nv = sizeof v / sizeof *v;
    int ok = 1;
    for (size_t k = 0; k < nv && ok; k++)
        ok = prepare(&v[k], g, runs);
    /* Warm up, then interleaved rounds so drift hits every variant alike. */
    for (int r = -2; r < runs && ok; r++)
        for (size_t k = 0; k < nv && ok; k++) {
            double t0 = 1e3 * bench_now_s();
            ok = check(weft_session_run(v[k].s, v[k].in, v[k].nin, &v[k].out, 1), v[k].label);
            if (r >= 0)
                v[k].ms[r] = 1e3 * bench_now_s() - t0;
        }
    if (ok) {
        /* Every placement computes the same output as the one-device run. */
        for (size_t k = 1; k < nv; k++) {
            const float *a = v[0].out.data, *b = v[k].out.data;
            double worst = 0;
            for (size_t i = 0; i < v[0].out.size_bytes / sizeof(float); i++) {
                double d = a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
                if (!(d <= worst))
                    worst = d;
            }
            if (worst > 1e-4)
                printf("WARNING: %s differs from one device by %g\n", v[k].label, worst);
        }
        printf("\n%-32s %10s %10s %10s %8s\n", "placement", "median ms", "min ms", "max ms",
               "vs one");
        double base = 0;
        for (size_t k = 0; k < nv; k++) {
            qsort(v[k].ms, (size_t)runs, sizeof *v[k].ms, bench_cmp_double);
            double med = runs % 2 ? v[k].ms[runs / 2]
                                  : (v[k].ms[runs / 2 - 1] + v[k].ms[runs / 2]) / 2;
            if (k == 0)
                base = med;
            printf("%-32s %10.2f %10.2f %10.2f %7.2fx\n", v[k].label, med, v[k].ms[0],
                   v[k].ms[runs - 1], med > 0 ? base / med : 0);
        }
        printf("\n");
        print_placement(v[2].s, 2);
    }
    for (size_t k = 0; k < nv; k++) {
        for (size_t i = 0; i < v[k].nin; i++)
            free(v[k].in[i].data);
        free(v[k].out.data);
        free(v[k].ms);
        weft_session_release(v[k].s);
    }
    weft_context_release(one);
    weft_context_release(two);
    weft_graph_release(g);
    return ok ? 0 : 1;
}
