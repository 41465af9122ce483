#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/model.h"

static const char usage[] =
    "usage: weft info MODEL.onnx [--device SEL]\n\n"
    "Describes a model: its inputs and outputs with shapes, the number of nodes\n"
    "of each op type, the parameters (elements of float constants), the\n"
    "multiply-accumulates of one run, and the implementation and device each\n"
    "node gets on the chosen device (after weft's graph simplifications).\n\n"
    "  --device SEL   device selector (default: WEFT_DEVICE, else auto);\n"
    "                 see 'weft devices --help'\n"
    "  --devices LIST several devices in order of preference (\"gpu,cpu\", \"0,1\"):\n"
    "                 the DEVICE column says where each node runs, and why when\n"
    "                 it fell back from the first device\n";

static void print_values(const weft_graph *g, const char *title, const int *list, size_t count)
{
    printf("%s:\n", title);
    for (size_t i = 0; i < count; i++) {
        const weft_value *v = &g->values[list[i]];
        printf("  %-24s %-8s %s\n", v->name, weft_dtype_name(v->dtype),
               v->shape_known ? weft_shape_str(&v->shape).s : "(unknown)");
    }
}

/* Node count per op type, in order of first appearance. */
static void print_op_counts(const weft_graph *g)
{
    printf("nodes: %zu\n", g->node_count);
    char *done = calloc(g->node_count ? g->node_count : 1, 1);
    for (size_t i = 0; done && i < g->node_count; i++) {
        if (done[i])
            continue;
        size_t count = 0;
        for (size_t j = i; j < g->node_count; j++)
            if (!done[j] && strcmp(g->nodes[j].op, g->nodes[i].op) == 0) {
                done[j] = 1;
                count++;
            }
        printf("  %-24s %zu\n", g->nodes[i].op, count);
    }
    free(done);
}

static void print_scaled(const char *label, double v, const char *unit)
{
    const char *suffix = "";
    double s = v;
    if (v >= 1e9) {
        s = v / 1e9;
        suffix = " G";
    } else if (v >= 1e6) {
        s = v / 1e6;
        suffix = " M";
    } else if (v >= 1e3) {
        s = v / 1e3;
        suffix = " K";
    }
    if (*suffix)
        printf("%s: %.0f (%.2f%s%s)\n", label, v, s, suffix, unit);
    else
        printf("%s: %.0f\n", label, v);
}

/* Which implementation and device every node of the session gets. */
static void print_placement(const weft_graph *g, weft_session *s)
{
    size_t count = 0;
    weft_session_node_count(s, &count);
    int w = 4;
    for (size_t i = 0; i < count; i++) {
        weft_node_info info;
        if (weft_session_node_info(s, i, &info) == WEFT_OK && (int)strlen(info.name) > w)
            w = (int)strlen(info.name);
    }
    printf("placement (%zu nodes run):\n", count);
    printf("  %3s  %-*s %-18s %-12s %-14s %10s  %s\n", "#", w, "NODE", "OP", "IMPL", "OUTPUT",
           "MACs", "DEVICE");
    for (size_t i = 0; i < count; i++) {
        weft_node_info info;
        if (weft_session_node_info(s, i, &info) != WEFT_OK)
            break;
        const weft_node *n = weft_cli_find_node(g, info.name);
        const weft_value *y = n ? weft_node_output(g, n, 0) : NULL;
        printf("  %3zu  %-*s %-18s %-12s %-14s %10llu  %zu %s\n", i, w, info.name, info.op,
               info.impl, y && y->shape_known ? weft_shape_str(&y->shape).s : "-",
               n ? (unsigned long long)weft_cli_node_macs(g, n) : 0ull, info.device_index,
               info.device);
        if (info.fallback_reason && *info.fallback_reason)
            printf("  %3s  fell back to device %zu: %s\n", "", info.device_index,
                   info.fallback_reason);
    }
}

static int run(int argc, char **argv)
{
    weft_cli_model_args args;
    int rc = weft_cli_model_args_parse(&weft_cmd_info, argc, argv, 0, NULL, NULL, &args);
    if (rc >= 0)
        return rc;
    const char *model = args.model;

    weft_graph *g;
    weft_status st = weft_cli_load_model(model, &g);
    if (st != WEFT_OK)
        return weft_cli_fail(st);
    printf("model: %s\n", model);
    print_values(g, "inputs", g->inputs, g->input_count);
    print_values(g, "outputs", g->outputs, g->output_count);
    print_op_counts(g);
    uint64_t macs = 0;
    for (size_t i = 0; i < g->node_count; i++)
        macs += weft_cli_node_macs(g, &g->nodes[i]);
    print_scaled("parameters", (double)weft_cli_param_count(g), "");
    print_scaled("MACs per run", (double)macs, "");

    weft_context *ctx = NULL;
    weft_session *s = NULL;
    st = weft_cli_context(args.device, 0, &ctx);
    if (st == WEFT_OK) {
        weft_cli_print_device(ctx);
        st = weft_session_create(ctx, g, NULL, &s);
    }
    rc = WEFT_EXIT_OK;
    if (st == WEFT_OK) {
        weft_memory_stats mem;
        print_placement(g, s);
        if (weft_session_memory(s, &mem) == WEFT_OK)
            printf("device memory: %.1f KiB weights, %.1f KiB intermediates (peak live %.1f KiB)\n",
                   mem.constant_bytes / 1024.0, mem.planned_peak_bytes / 1024.0,
                   mem.live_peak_bytes / 1024.0);
    } else {
        fflush(stdout);
        rc = weft_cli_fail(st);
    }
    weft_session_release(s);
    weft_context_release(ctx);
    weft_graph_release(g);
    return rc;
}

const weft_cli_command weft_cmd_info = {"info", "describe a model and where its nodes run", usage,
                                        run};
