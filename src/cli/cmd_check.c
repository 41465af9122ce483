/*
 * `weft check`: the model on a device against the plain C reference ops
 * (src/ref/) on the host, node by node. Every node output is made a graph
 * output, so both runs return every intermediate; they are compared in
 * topological order and the first node beyond tolerance is reported: the
 * first layer a driver gets wrong.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/job.h"
#include "cli/model.h"
#include "core/error.h"
#include "ref/ref.h"

/* |device - reference| <= ATOL + RTOL * |reference|, as in the conformance
 * test. */
#define ATOL 1e-4
#define RTOL 1e-3

static const char usage[] =
    "usage: weft check MODEL.onnx [--device SEL] [--input NAME=FILE ...]\n\n"
    "Runs the model on a device and with weft's plain C reference ops on the\n"
    "host, compares every node's outputs (|device - reference| <= 1e-4 +\n"
    "1e-3 |reference|; integers exactly) in execution order, and reports the\n"
    "first node that diverges. Exit status 1 when one does.\n\n"
    "  --device SEL      device selector (default: WEFT_DEVICE, else auto)\n"
    "  --devices LIST    several devices in order of preference (\"gpu,cpu\", \"0,1\"):\n"
    "                    each node runs on one of them (see README, multi-device)\n"
    "  --bundle FILE     programs from a bundle made by 'weft compile' (default:\n"
    "                    WEFT_BUNDLE); refused if made for another device/version\n"
    "  --input NAME=FILE an input from a file (see 'weft run --help'); inputs not\n"
    "                    given are uniform random in [-1, 1) with a fixed seed\n";

typedef struct compare {
    int64_t count, bad, first_bad;
    double max_err, dev_at, ref_at; /* at the first bad element, else at max_err */
} compare;

static compare compare_tensor(const weft_tensor *dev, const weft_host_tensor *ref)
{
    compare c = {.first_bad = -1};
    c.count = weft_shape_numel(&ref->shape);
    for (int64_t i = 0; i < c.count; i++) {
        double a, e;
        int ok;
        if (ref->dtype == WEFT_INT64) {
            int64_t x = ((const int64_t *)dev->data)[i], y = ((const int64_t *)ref->data)[i];
            a = (double)x;
            e = (double)y;
            ok = x == y;
        } else {
            a = ((const float *)dev->data)[i];
            e = ((const float *)ref->data)[i];
            ok = (isnan(a) && isnan(e)) || (a == e) || fabs(a - e) <= ATOL + RTOL * fabs(e);
        }
        double err = isnan(a) || isnan(e) ? (ok ? 0 : INFINITY) : fabs(a - e);
        if (!ok && c.bad++ == 0) {
            c.first_bad = i;
            c.dev_at = a;
            c.ref_at = e;
        }
        if (err > c.max_err || (isinf(err) && !isinf(c.max_err)))
            c.max_err = err;
    }
    return c;
}

/* "[0,1,2,3]" of flat index i in shape s. */
static void index_str(const weft_shape *s, int64_t i, char *buf, size_t cap)
{
    int64_t idx[WEFT_MAX_RANK];
    for (int d = s->rank - 1; d >= 0; d--) {
        idx[d] = s->dims[d] ? i % s->dims[d] : 0;
        i = s->dims[d] ? i / s->dims[d] : 0;
    }
    size_t at = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < s->rank && at < cap; d++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%lld", d ? "," : "", (long long)idx[d]);
    if (at < cap)
        snprintf(buf + at, cap - at, "]");
}

/* A copy of g where every node output is a graph output too. */
static weft_status expose_all(const weft_graph *g, weft_graph **out)
{
    weft_graph *c = NULL;
    weft_status st = weft_graph_clone(g, &c);
    for (size_t i = 0; st == WEFT_OK && i < c->node_count; i++) {
        const weft_node *n = &c->nodes[i];
        for (size_t k = 0; st == WEFT_OK && k < n->output_count; k++) {
            weft_value *v = weft_node_output(c, n, k);
            if (v && !v->is_output)
                st = weft_graph_add_output(c, v->name);
        }
    }
    if (st == WEFT_OK)
        st = weft_graph_validate(c);
    if (st != WEFT_OK) {
        weft_graph_release(c);
        return st;
    }
    *out = c;
    return WEFT_OK;
}

static const char *impl_of(weft_session *s, const char *node)
{
    size_t count = 0;
    weft_session_node_count(s, &count);
    for (size_t i = 0; i < count; i++) {
        weft_node_info info;
        if (weft_session_node_info(s, i, &info) == WEFT_OK && strcmp(info.name, node) == 0)
            return info.impl;
    }
    return "(folded)"; /* simplified away: its outputs are constants or aliases */
}

/* Compares node by node in topological order; returns the number of
 * diverging nodes (printing the first in detail). */
static int compare_all(const weft_graph *g, weft_session *s, const weft_cli_tensors *dev,
                       const weft_host_tensor *ref, size_t *compared)
{
    int *order = NULL;
    size_t count = 0;
    if (weft_graph_topo_order(g, &order, &count) != WEFT_OK)
        return -1;
    int diverging = 0;
    char first[1024] = "";
    int w = 4;
    for (size_t p = 0; p < count; p++)
        if ((int)strlen(g->nodes[order[p]].name) > w)
            w = (int)strlen(g->nodes[order[p]].name);
    printf("  %3s  %-*s %-18s %-12s %10s  %s\n", "#", w, "NODE", "OP", "IMPL", "MAX |ERR|",
           "RESULT");
    *compared = 0;
    for (size_t p = 0; p < count; p++) {
        const weft_node *n = &g->nodes[order[p]];
        compare worst = {.first_bad = -1};
        const char *bad_output = NULL;
        const weft_host_tensor *bad_ref = NULL;
        for (size_t k = 0; k < n->output_count; k++) {
            const weft_value *v = weft_node_output(g, n, k);
            if (!v)
                continue;
            size_t o = 0, d = 0;
            while (o < g->output_count && strcmp(g->values[g->outputs[o]].name, v->name) != 0)
                o++;
            while (d < dev->count && strcmp(dev->t[d].name, v->name) != 0)
                d++;
            if (o == g->output_count || d == dev->count)
                continue;
            compare c = compare_tensor(&dev->t[d], &ref[o]);
            if (c.bad && !bad_output) {
                bad_output = v->name;
                bad_ref = &ref[o];
                worst.first_bad = c.first_bad;
                worst.dev_at = c.dev_at;
                worst.ref_at = c.ref_at;
            }
            worst.bad += c.bad;
            worst.count += c.count;
            if (c.max_err > worst.max_err)
                worst.max_err = c.max_err;
        }
        (*compared)++;
        char result[64];
        if (worst.bad)
            snprintf(result, sizeof result, "DIVERGES (%lld of %lld elements)",
                     (long long)worst.bad, (long long)worst.count);
        else
            snprintf(result, sizeof result, "ok");
        printf("  %3zu  %-*s %-18s %-12s %10.3g  %s\n", p, w, n->name, n->op, impl_of(s, n->name),
               worst.max_err, result);
        if (worst.bad && diverging++ == 0) {
            char idx[8 + WEFT_MAX_RANK * 22];
            index_str(&bad_ref->shape, worst.first_bad, idx, sizeof idx);
            snprintf(first, sizeof first,
                     "first divergence: node '%s' (%s, implementation %s), output '%s' element "
                     "%s: device %.9g, reference %.9g\n",
                     n->name, n->op, impl_of(s, n->name), bad_output, idx, worst.dev_at,
                     worst.ref_at);
        }
    }
    fputs(first, stdout);
    free(order);
    return diverging;
}

static int run(int argc, char **argv)
{
    weft_cli_model_args args;
    int rc = weft_cli_model_args_parse(&weft_cmd_check, argc, argv,
                                       WEFT_CLI_ARGS_BUNDLE | WEFT_CLI_ARGS_INPUTS, NULL, NULL,
                                       &args);
    if (rc >= 0)
        return rc;

    weft_cli_job job = {0};
    weft_graph *all = NULL;
    weft_host_tensor *ref = NULL;
    weft_status st = weft_cli_job_load(&job, &args, 1);
    if (st == WEFT_OK)
        st = expose_all(job.graph, &all);
    if (st == WEFT_OK && !(ref = calloc(all->output_count ? all->output_count : 1, sizeof *ref)))
        st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the reference outputs");
    if (st == WEFT_OK)
        st = weft_ref_run_graph(all, job.in.t, job.in.count, ref, all->output_count);
    if (st == WEFT_OK)
        st = weft_cli_job_start(&job, all, args.device, NULL);
    const weft_cli_tensors *in = &job.in, *dev = &job.out;
    if (st == WEFT_OK)
        st = weft_session_run(job.session, in->t, in->count, dev->t, dev->count);
    if (st == WEFT_OK) {
        size_t spec_count = args.spec_count;
        printf("model: %s\n", args.model);
        weft_cli_print_device(job.ctx);
        printf("inputs: %s\n", !in->count                ? "none"
                               : spec_count == in->count ? "from files"
                               : spec_count ? "from files, the rest random in [-1, 1) (seed 1)"
                                            : "random in [-1, 1) (seed 1)");
        size_t compared = 0;
        int diverging = compare_all(all, job.session, dev, ref, &compared);
        if (diverging < 0) {
            rc = weft_cli_fail(WEFT_ERR_INTERNAL);
        } else if (diverging) {
            printf("%d of %zu nodes diverge beyond |err| <= %g + %g |ref| (the nodes after the "
                   "first read its output, so they may only inherit its error)\n",
                   diverging, compared, ATOL, RTOL);
            rc = WEFT_EXIT_FAILURE;
        } else {
            printf("all %zu nodes match the reference (|err| <= %g + %g |ref|)\n", compared,
                   ATOL, RTOL);
            rc = WEFT_EXIT_OK;
        }
    } else {
        rc = weft_cli_fail(st);
    }
    for (size_t i = 0; ref && all && i < all->output_count; i++)
        free(ref[i].data);
    free(ref);
    /* The job's session may still read `all`: it goes first. */
    weft_cli_job_release(&job);
    weft_graph_release(all);
    weft_cli_model_args_free(&args);
    return rc;
}

const weft_cli_command weft_cmd_check = {"check",
                                         "compare a model on a device with the C reference, "
                                         "layer by layer",
                                         usage, run};
