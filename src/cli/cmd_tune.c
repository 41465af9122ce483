/*
 * `weft tune`: times the candidate implementations and tile variants of
 * every distinct node of a model on the device (src/runtime/tuning.h),
 * keeps the fastest in the tuning cache, and exports or imports the
 * results as a file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/model.h"
#include "core/error.h"
#include "graph/passes.h"
#include "runtime/tuning.h"

static const char usage[] =
    "usage: weft tune MODEL.onnx [--budget SECONDS] [--device SEL] [--retune]\n"
    "                 [--export FILE] [--import FILE]\n"
    "       weft tune --export FILE | --import FILE [--device SEL]\n\n"
    "Times every implementation and tile variant that supports each distinct\n"
    "node of the model (op, attributes, shapes) on the device, costliest first,\n"
    "and keeps the fastest in the tuning cache (beside the program cache), which\n"
    "later sessions on this device read without timing anything. Prints per node\n"
    "the candidates' median times and the winner.\n\n"
    "  --budget SECONDS  time to spend (default 60); nodes left when it runs out\n"
    "                    stay untuned (run again to go on)\n"
    "  --device SEL      device selector (default: WEFT_DEVICE, else auto)\n"
    "  --retune          time nodes the cache already has too\n"
    "  --import FILE     first merge a tuning file (from --export on a machine\n"
    "                    with the same device) into the cache; refused if made\n"
    "                    for another device or weft version\n"
    "  --export FILE     last write the device's tuning cache to FILE\n"
    "Environment: WEFT_TUNING=off makes sessions ignore the tuning cache.\n";

typedef struct tune_opts {
    weft_cli_model_args args;
    const char *export_path, *import_path;
    double budget;
    int retune;
} tune_opts;

/* tune's own options, into the tune_opts at opts. */
static int own_option(const weft_cli_command *cmd, int argc, char **argv, int *i, void *opts)
{
    tune_opts *o = opts;
    const char *value;
    if (weft_cli_option(argc, argv, i, "--budget", &value)) {
        char *end = NULL;
        o->budget = value ? strtod(value, &end) : -1;
        if (!value || end == value || *end || !isfinite(o->budget) || o->budget < 0 ||
            o->budget > 1e6)
            return weft_cli_usage_error(cmd, "--budget needs seconds from 0 to 1000000");
    } else if (strcmp(argv[*i], "--retune") == 0) {
        o->retune = 1;
    } else {
        int taken = weft_cli_value_option(cmd, argc, argv, i, "--export", "a file name",
                                          &o->export_path);
        if (taken < 0)
            taken = weft_cli_value_option(cmd, argc, argv, i, "--import", "a file name",
                                          &o->import_path);
        return taken;
    }
    return 0;
}

static void print_node(const weft_tune_node *n)
{
    static const char *const states[] = {"untuned (budget ran out)", "tuned", "from the cache"};
    printf("%s '%s' %s: %s\n", n->op, n->name, n->shape, states[n->state]);
    if (n->uses > 1)
        printf("  (%zu nodes of this shape)\n", n->uses);
    for (size_t c = 0; c < n->candidate_count; c++) {
        const weft_tune_candidate *k = &n->candidates[c];
        if (n->state == 2 && (int)c != n->winner)
            continue;
        char ms[32];
        if (k->ms >= 0)
            snprintf(ms, sizeof ms, "%10.3f ms", k->ms);
        else
            snprintf(ms, sizeof ms, "%13s", n->state == 1 ? "failed" : "-");
        printf("  %-18s %-12s %s%s\n", k->impl, k->variant, ms,
               (int)c == n->winner ? "  <- winner" : "");
    }
}

static weft_status tune_model(weft_context *ctx, const tune_opts *o)
{
    weft_graph *g = NULL, *simple = NULL;
    weft_tuning table = {0};
    weft_tune_report report = {0};
    /* The graph as a session sees it: the keys are of fused nodes. */
    weft_status st = weft_cli_load_model(o->args.model, &g);
    if (st == WEFT_OK)
        st = weft_graph_clone(g, &simple);
    if (st == WEFT_OK)
        st = weft_graph_simplify(simple);
    if (st == WEFT_OK)
        st = weft_tuning_load(ctx, 0, &table);
    size_t before = table.count;
    if (st == WEFT_OK)
        st = weft_tuning_tune(ctx, 0, simple, o->budget, o->retune, &table, &report);
    if (st == WEFT_OK) {
        for (size_t i = 0; i < report.count; i++)
            print_node(&report.nodes[i]);
        printf("%zu distinct nodes with several candidates: %zu tuned, %zu from the cache, "
               "%zu left untuned; %.1f s\n",
               report.count, report.tuned, report.cached, report.untuned, report.seconds);
        if (table.count > before || o->retune) {
            st = weft_tuning_save(ctx, 0, &table);
            if (st == WEFT_OK)
                printf("saved to the tuning cache\n");
        }
    }
    weft_tune_report_release(&report);
    weft_tuning_clear(&table);
    weft_graph_release(simple);
    weft_graph_release(g);
    return st;
}

static int run(int argc, char **argv)
{
    tune_opts o = {.budget = 60};
    /* --export and --import alone need no model. */
    int rc = weft_cli_model_args_parse(&weft_cmd_tune, argc, argv, WEFT_CLI_ARGS_MODEL_OPTIONAL,
                                       own_option, &o, &o.args);
    if (rc < 0 && !o.args.model && !o.export_path && !o.import_path)
        rc = weft_cli_usage_error(&weft_cmd_tune, "no model given");
    if (rc >= 0)
        return rc;
    weft_context *ctx = NULL;
    weft_status st = weft_cli_context(o.args.device, 0, &ctx);
    if (st == WEFT_OK)
        weft_cli_print_device(ctx);
    if (st == WEFT_OK && o.import_path) {
        st = weft_tuning_import(ctx, 0, o.import_path);
        if (st == WEFT_OK)
            printf("imported '%s' into the tuning cache\n", o.import_path);
    }
    if (st == WEFT_OK && o.args.model)
        st = tune_model(ctx, &o);
    if (st == WEFT_OK && o.export_path) {
        st = weft_tuning_export(ctx, 0, o.export_path);
        if (st == WEFT_OK)
            printf("exported the tuning cache to '%s'\n", o.export_path);
    }
    weft_context_release(ctx);
    return st == WEFT_OK ? WEFT_EXIT_OK : weft_cli_fail(st);
}

const weft_cli_command weft_cmd_tune = {"tune", "time implementations per node, keep the fastest",
                                        usage, run};
