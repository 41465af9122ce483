/*
 * `weft bench`: wall-clock latency of whole runs, and with --per-layer or
 * --trace the per-node device times from OpenCL profiling events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/job.h"
#include "cli/json.h"
#include "cli/model.h"
#include "cli/timing.h"
#include "core/error.h"
#include "core/util.h"

static const char usage[] =
    "usage: weft bench MODEL.onnx [--device SEL] [--warmup N] [--iters N] [--per-layer]\n"
    "                  [--json FILE] [--trace FILE] [--input NAME=FILE ...]\n\n"
    "Times whole runs of a model (inputs written, every node run, outputs read)\n"
    "and prints the median, min and max latency and the throughput.\n\n"
    "  --device SEL      device selector (default: WEFT_DEVICE, else auto)\n"
    "  --devices LIST    several devices in order of preference (\"gpu,cpu\", \"0,1\"):\n"
    "                    each node runs on one of them (see README, multi-device)\n"
    "  --bundle FILE     programs from a bundle made by 'weft compile' (default:\n"
    "                    WEFT_BUNDLE); refused if made for another device/version\n"
    "  --warmup N        untimed runs first (default 3)\n"
    "  --iters N         timed runs (default 20)\n"
    "  --startup         also the start-up time: model load, inputs, context, session\n"
    "                    creation, the first run and the disk-cache save after it\n"
    "                    (WEFT_LOG=info: more detail)\n"
    "  --per-layer       also a table of the nodes sorted by their mean device time\n"
    "                    (OpenCL profiling), with op, implementation, share of the\n"
    "                    total and GFLOP/s\n"
    "  --json FILE       write the results as JSON\n"
    "  --trace FILE      write Chrome trace-event JSON (chrome://tracing, Perfetto):\n"
    "                    every timed run, and its nodes laid end to end by their\n"
    "                    profiled durations\n"
    "  --input NAME=FILE an input from a file (see 'weft run --help'); inputs not\n"
    "                    given are uniform random in [-1, 1) with a fixed seed\n";

typedef struct bench_opts {
    weft_cli_model_args args;
    const char *json, *trace;
    long warmup, iters;
    int per_layer;
    int startup;
} bench_opts;

typedef struct layer {
    weft_node_info info;
    double mean_ms, flops;
} layer;

typedef struct bench_result {
    char device[512];
    double *wall_ms;   /* iters */
    double *node_ms;   /* iters x node_count, when profiling */
    layer *layers;     /* node_count, in execution order */
    size_t node_count;
    double median, min, max, mean;
    int64_t batch;
    size_t devices;    /* of the context: > 1 adds device columns and rows */
    double first_run_ms;
    double cache_save_ms; /* weft_context_flush_cache after the first run */
} bench_result;

static int cmp_layer_time(const void *a, const void *b)
{
    double x = ((const layer *)a)->mean_ms, y = ((const layer *)b)->mean_ms;
    return x > y ? -1 : x < y;
}

/* bench's own options, into the bench_opts at opts. */
static int own_option(const weft_cli_command *cmd, int argc, char **argv, int *i, void *opts)
{
    bench_opts *o = opts;
    const char *value;
    if (weft_cli_option(argc, argv, i, "--warmup", &value)) {
        if (!weft_cli_parse_int(value, 0, 1000000, &o->warmup))
            return weft_cli_usage_error(cmd, "--warmup needs a count from 0 to 1000000");
    } else if (weft_cli_option(argc, argv, i, "--iters", &value)) {
        if (!weft_cli_parse_int(value, 1, 1000000, &o->iters))
            return weft_cli_usage_error(cmd, "--iters needs a count from 1 to 1000000");
    } else if (strcmp(argv[*i], "--startup") == 0) {
        o->startup = 1;
    } else if (strcmp(argv[*i], "--per-layer") == 0) {
        o->per_layer = 1;
    } else {
        int taken = weft_cli_value_option(cmd, argc, argv, i, "--json", "a file name", &o->json);
        if (taken < 0)
            taken = weft_cli_value_option(cmd, argc, argv, i, "--trace", "a file name", &o->trace);
        return taken;
    }
    return 0;
}

/* Runs warmup + iters times; fills wall_ms and, when profiling, node_ms. */
static weft_status measure(weft_context *ctx, weft_session *s, const bench_opts *o,
                           const weft_cli_tensors *in, weft_cli_tensors *out, int profiling,
                           bench_result *r)
{
    int progress = isatty(STDERR_FILENO);
    double last_shown = 0;
    weft_status st = WEFT_OK;
    long total = o->warmup + o->iters;
    for (long it = 0; it < total && st == WEFT_OK; it++) {
        double t0 = weft_now_ms();
        st = weft_session_run(s, in->t, in->count, out->t, out->count);
        double t1 = weft_now_ms();
        if (it == 0) {
            r->first_run_ms = t1 - t0;
            /* The binaries go to the disk cache now, not during the
             * timed runs (their reading makes the driver compile). */
            if (st == WEFT_OK)
                st = weft_context_flush_cache(ctx);
            r->cache_save_ms = weft_now_ms() - t1;
        }
        long k = it - o->warmup;
        if (st != WEFT_OK || k < 0) {
            /* warmup */
        } else {
            r->wall_ms[k] = t1 - t0;
            for (size_t n = 0; profiling && n < r->node_count && st == WEFT_OK; n++) {
                weft_node_info info;
                st = weft_session_node_info(s, n, &info);
                r->node_ms[(size_t)k * r->node_count + n] = info.time_ms;
            }
        }
        if (progress && (t1 - last_shown > 100 || it + 1 == total)) {
            fprintf(stderr, "\rbench: %s run %ld/%ld", k < 0 ? "warmup" : "timed",
                    k < 0 ? it + 1 : k + 1, k < 0 ? o->warmup : o->iters);
            last_shown = t1;
        }
    }
    if (progress)
        fputs("\r\033[K", stderr);
    return st;
}

static void summarize(const weft_graph *g, weft_session *s, const bench_opts *o, int profiling,
                      const weft_cli_tensors *in, bench_result *r)
{
    size_t n = (size_t)o->iters;
    double *sorted = malloc(n * sizeof *sorted);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += r->wall_ms[i];
    r->mean = sum / (double)n;
    if (sorted) {
        memcpy(sorted, r->wall_ms, n * sizeof *sorted);
        weft_cli_sort_ms(sorted, n);
        r->min = sorted[0];
        r->max = sorted[n - 1];
        r->median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        free(sorted);
    }
    r->batch = in->count && in->t[0].rank >= 1 && in->t[0].dims[0] > 0 ? in->t[0].dims[0] : 1;
    for (size_t k = 0; k < r->node_count; k++) {
        layer *l = &r->layers[k];
        weft_session_node_info(s, k, &l->info);
        const weft_node *node = weft_cli_find_node(g, l->info.name);
        l->flops = node ? weft_cli_node_flops(g, node) : 0;
        double t = 0;
        for (size_t i = 0; profiling && i < n; i++)
            t += r->node_ms[i * r->node_count + k];
        l->mean_ms = t / (double)n;
    }
}

/* "im2col", or "im2col*" / "im2col*8x16x2" when tuning chose it (and its tiles). */
static const char *impl_label(const weft_node_info *info, char *buf, size_t cap)
{
    if (!info->tuned)
        return info->impl;
    snprintf(buf, cap, "%s*%s", info->impl, info->variant ? info->variant : "");
    return buf;
}

static void print_layers(const bench_result *r)
{
    layer *sorted = malloc((r->node_count ? r->node_count : 1) * sizeof *sorted);
    if (!sorted)
        return;
    memcpy(sorted, r->layers, r->node_count * sizeof *sorted);
    qsort(sorted, r->node_count, sizeof *sorted, cmp_layer_time);
    double total = 0;
    for (size_t k = 0; k < r->node_count; k++)
        total += sorted[k].mean_ms;
    int w = 5;
    for (size_t k = 0; k < r->node_count; k++)
        if ((int)strlen(sorted[k].info.name) > w)
            w = (int)strlen(sorted[k].info.name);
    printf("\nper layer (mean device time over the timed runs, from OpenCL profiling):\n");
    printf("  %-*s %-18s %-12s %10s %7s %9s%s\n", w, "NODE", "OP", "IMPL", "TIME ms", "SHARE",
           "GFLOP/s", r->devices > 1 ? "  DEV" : "");
    for (size_t k = 0; k < r->node_count; k++) {
        const layer *l = &sorted[k];
        char label[96];
        printf("  %-*s %-18s %-12s %10.4f %6.1f%% %9.2f", w, l->info.name, l->info.op,
               impl_label(&l->info, label, sizeof label), l->mean_ms, total > 0 ? 100 * l->mean_ms / total : 0,
               l->mean_ms > 0 ? l->flops / (l->mean_ms * 1e6) : 0);
        if (r->devices > 1)
            printf("  %3zu", l->info.device_index);
        printf("\n");
    }
    printf("  %-*s %-18s %-12s %10.4f %6.1f%%\n", w, "total", "", "", total, 100.0);
    for (size_t k = 0; k < r->node_count; k++)
        if (sorted[k].info.tuned) {
            printf("  (* chosen by tuning, with its tile variant: see 'weft tune')\n");
            break;
        }
    free(sorted);
}

/* The last timed run as one row per device queue: its nodes by start
 * time, each with its start and end in ms from the run's first kernel
 * (OpenCL profiling). Devices of one platform share a clock. */
static void print_timeline(weft_context *ctx, const bench_result *r)
{
    printf("\ntimeline of the last run (one row per device queue; node start-end ms):\n");
    for (size_t d = 0; d < r->devices; d++) {
        weft_device_info info;
        if (weft_context_device_info(ctx, d, &info) != WEFT_OK)
            break;
        printf("  device %zu (%s):", d, info.name);
        double after = -1;
        for (;;) {
            /* the next node of this device by start time */
            const layer *next = NULL;
            for (size_t k = 0; k < r->node_count; k++) {
                const layer *l = &r->layers[k];
                if (l->info.device_index != d || l->info.end_ms <= 0 || l->info.start_ms <= after)
                    continue;
                if (!next || l->info.start_ms < next->info.start_ms)
                    next = l;
            }
            if (!next)
                break;
            printf(" %s [%.3f-%.3f]", next->info.name, next->info.start_ms, next->info.end_ms);
            after = next->info.start_ms;
        }
        printf("\n");
    }
}

/* Where a start goes: the first run includes the driver's code generation
 * at first launch (PoCL makes a work-group function per kernel and local
 * size then), so it is often far slower than the runs after it. */
static void print_startup(weft_context *ctx, double load_ms, double inputs_ms,
                          double context_ms, double session_ms, double first_ms,
                          double save_ms)
{
    weft_cache_stats c = {0};
    weft_context_cache_stats(ctx, &c);
    printf("\nstart-up (ms): load %.1f, inputs %.1f, context %.1f, session %.1f, first run "
           "%.1f, cache save %.1f; total %.1f\n",
           load_ms, inputs_ms, context_ms, session_ms, first_ms, save_ms,
           load_ms + inputs_ms + context_ms + session_ms + first_ms + save_ms);
    printf("programs: %llu built, %llu from disk, %llu from the bundle, %llu from memory, "
           "%llu saved, %llu rejected\n",
           (unsigned long long)c.builds, (unsigned long long)c.disk_hits,
           (unsigned long long)c.bundle_hits, (unsigned long long)c.memory_hits,
           (unsigned long long)c.saves, (unsigned long long)c.rejected);
}

/* Their errors are one "weft: ..." line on stderr, as every failure of the tool. */
static FILE *open_output(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "weft: cannot write '%s'\n", path);
    return f;
}

/* 1 when everything reached the file. */
static int close_output(FILE *f, const char *path)
{
    int ok = !ferror(f);
    ok &= fclose(f) == 0;
    if (!ok)
        fprintf(stderr, "weft: writing '%s' failed\n", path);
    return ok;
}

static int write_json(const char *path, const bench_opts *o, const bench_result *r,
                      int profiling)
{
    FILE *f = open_output(path);
    if (!f)
        return 0;
    fprintf(f, "{\n  \"model\": ");
    weft_json_string(f, o->args.model);
    fprintf(f, ",\n  \"device\": ");
    weft_json_string(f, r->device);
    fprintf(f,
            ",\n  \"warmup\": %ld,\n  \"iters\": %ld,\n  \"batch\": %lld,\n"
            "  \"latency_ms\": {\"median\": %.6f, \"min\": %.6f, \"max\": %.6f, \"mean\": %.6f},\n"
            "  \"throughput_per_s\": %.3f,\n  \"runs_ms\": [",
            o->warmup, o->iters, (long long)r->batch, r->median, r->min, r->max, r->mean,
            r->median > 0 ? (double)r->batch * 1e3 / r->median : 0);
    for (long i = 0; i < o->iters; i++)
        fprintf(f, "%s%.6f", i ? ", " : "", r->wall_ms[i]);
    fprintf(f, "],\n  \"layers\": [");
    double total = 0;
    for (size_t k = 0; k < r->node_count; k++)
        total += r->layers[k].mean_ms;
    for (size_t k = 0; k < r->node_count; k++) {
        const layer *l = &r->layers[k];
        fprintf(f, "%s\n    {\"name\": ", k ? "," : "");
        weft_json_string(f, l->info.name);
        fprintf(f, ", \"op\": ");
        weft_json_string(f, l->info.op);
        fprintf(f, ", \"impl\": ");
        weft_json_string(f, l->info.impl);
        fprintf(f, ", \"tuned\": %s", l->info.tuned ? "true" : "false");
        fprintf(f, ", \"flops\": %.0f", l->flops);
        if (profiling)
            fprintf(f, ", \"time_ms\": %.6f, \"share\": %.6f, \"gflops\": %.4f", l->mean_ms,
                    total > 0 ? l->mean_ms / total : 0,
                    l->mean_ms > 0 ? l->flops / (l->mean_ms * 1e6) : 0);
        fprintf(f, "}");
    }
    fprintf(f, "%s]\n}\n", r->node_count ? "\n  " : "");
    return close_output(f, path);
}

/* Chrome trace-event format: "X" (complete) events in microseconds. Device
 * start times are not known, only durations, so the nodes of a run are
 * placed end to end from the run's start. */
static int write_trace(const char *path, const bench_opts *o, const bench_result *r)
{
    FILE *f = open_output(path);
    if (!f)
        return 0;
    fprintf(f, "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n");
    fprintf(f, "  {\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 1, \"args\": {\"name\": ");
    weft_json_string(f, o->args.model);
    fprintf(f, "}},\n  {\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": 1, "
               "\"args\": {\"name\": \"weft_session_run (wall clock)\"}},\n");
    fprintf(f, "  {\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": 2, "
               "\"args\": {\"name\": ");
    weft_json_string(f, r->device);
    fprintf(f, "}}");
    /* Several devices: one row (tid 2 + device index) per device queue. */
    for (size_t d = 1; d < r->devices; d++)
        fprintf(f, ",\n  {\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": %zu, "
                   "\"args\": {\"name\": \"device %zu queue\"}}",
                2 + d, d);
    double ts = 0;
    for (long i = 0; i < o->iters; i++) {
        fprintf(f, ",\n  {\"name\": \"run %ld\", \"cat\": \"run\", \"ph\": \"X\", \"pid\": 1, "
                   "\"tid\": 1, \"ts\": %.3f, \"dur\": %.3f}",
                i, ts * 1e3, r->wall_ms[i] * 1e3);
        double at = ts, at_dev[16];
        for (size_t d = 0; d < 16; d++)
            at_dev[d] = ts;
        for (size_t k = 0; k < r->node_count; k++) {
            const layer *l = &r->layers[k];
            double dur = r->node_ms[(size_t)i * r->node_count + k];
            size_t dev = l->info.device_index < 16 ? l->info.device_index : 15;
            if (r->devices > 1)
                at = at_dev[dev];
            fprintf(f, ",\n  {\"name\": ");
            weft_json_string(f, l->info.name);
            fprintf(f, ", \"cat\": ");
            weft_json_string(f, l->info.op);
            fprintf(f, ", \"ph\": \"X\", \"pid\": 1, \"tid\": %zu, \"ts\": %.3f, \"dur\": %.3f, "
                       "\"args\": {\"impl\": ",
                    2 + (r->devices > 1 ? dev : 0), at * 1e3, dur * 1e3);
            weft_json_string(f, l->info.impl);
            fprintf(f, ", \"flops\": %.0f}}", l->flops);
            at += dur;
            at_dev[dev] = at;
        }
        ts += r->wall_ms[i];
    }
    fprintf(f, "\n]}\n");
    return close_output(f, path);
}

static int run(int argc, char **argv)
{
    bench_opts o = {.warmup = 3, .iters = 20};
    int rc = weft_cli_model_args_parse(&weft_cmd_bench, argc, argv,
                                       WEFT_CLI_ARGS_BUNDLE | WEFT_CLI_ARGS_INPUTS, own_option,
                                       &o, &o.args);
    if (rc >= 0)
        return rc;
    int profiling = o.per_layer || o.trace;
    weft_cli_job job = {0};
    bench_result r = {.wall_ms = NULL};
    weft_session_options so;
    weft_session_options_defaults(&so);
    so.profiling = profiling;
    weft_status st = weft_cli_job_load(&job, &o.args, 1);
    if (st == WEFT_OK)
        st = weft_cli_job_start(&job, job.graph, o.args.device, &so);
    weft_context *ctx = job.ctx;
    weft_session *s = job.session;
    if (st == WEFT_OK)
        st = weft_session_node_count(s, &r.node_count);
    if (st == WEFT_OK) {
        weft_cli_device_name(ctx, r.device, sizeof r.device);
        weft_context_device_count(ctx, &r.devices);
        r.wall_ms = calloc((size_t)o.iters, sizeof *r.wall_ms);
        r.node_ms = calloc((size_t)o.iters * (r.node_count ? r.node_count : 1), sizeof *r.node_ms);
        r.layers = calloc(r.node_count ? r.node_count : 1, sizeof *r.layers);
        if (!r.wall_ms || !r.node_ms || !r.layers)
            st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the timings of %ld runs",
                           o.iters);
    }
    if (st == WEFT_OK)
        st = measure(ctx, s, &o, &job.in, &job.out, profiling, &r);
    if (st == WEFT_OK) {
        summarize(job.graph, s, &o, profiling, &job.in, &r);
        printf("model: %s\ndevice: %s\n", o.args.model, r.device);
        printf("runs: %ld timed after %ld warmup%s\n", o.iters, o.warmup,
               profiling ? " (profiling on)" : "");
        printf("latency: median %.3f ms, min %.3f ms, max %.3f ms\n", r.median, r.min, r.max);
        printf("throughput: %.1f inferences/s (batch %lld)\n",
               r.median > 0 ? (double)r.batch * 1e3 / r.median : 0, (long long)r.batch);
        if (o.startup)
            print_startup(ctx, job.load_ms, job.inputs_ms, job.context_ms, job.session_ms,
                          r.first_run_ms, r.cache_save_ms);
        if (o.per_layer)
            print_layers(&r);
        if (o.trace)
            print_timeline(ctx, &r);
        rc = WEFT_EXIT_OK;
        if (o.json && !write_json(o.json, &o, &r, profiling))
            rc = WEFT_EXIT_FAILURE;
        if (o.trace && !write_trace(o.trace, &o, &r))
            rc = WEFT_EXIT_FAILURE;
    } else {
        rc = weft_cli_fail(st);
    }
    free(r.wall_ms);
    free(r.node_ms);
    free(r.layers);
    weft_cli_job_release(&job);
    weft_cli_model_args_free(&o.args);
    return rc;
}

const weft_cli_command weft_cmd_bench = {"bench", "time a model, whole and per layer", usage,
                                         run};
