#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/model.h"
#include "cli/npy.h"
#include "core/error.h"
#include "core/util.h"

static const char usage[] =
    "usage: weft run MODEL.onnx [--input NAME=FILE ...] [--output-dir DIR] [--device SEL]\n\n"
    "Runs a model once and prints each output's shape, min, max and mean, and\n"
    "the top 5 entries of a 1-D or [1,N] output.\n\n"
    "  --input NAME=FILE  the input NAME from FILE: a .npy (float32, or int64 for\n"
    "                     int64 inputs; C order) or raw little-endian float32 of\n"
    "                     the input's size (the shape comes from the model). For a\n"
    "                     model with one input, --input FILE is enough. Every\n"
    "                     input must be given.\n"
    "  --output-dir DIR   also write each output as DIR/NAME.npy (DIR is created)\n"
    "  --device SEL       device selector (default: WEFT_DEVICE, else auto)\n"
    "  --devices LIST     several devices in order of preference (\"gpu,cpu\", \"0,1\"):\n"
    "                     each node runs on one of them (see README, multi-device)\n"
    "  --bundle FILE      programs from a bundle made by 'weft compile' (default:\n"
    "                     WEFT_BUNDLE); refused if made for another device/version\n";

static void print_summary(const weft_tensor *t)
{
    char dims[128];
    weft_cli_dims_str(t, dims, sizeof dims);
    int64_t n = weft_cli_numel(t);
    printf("%s: %s%s", t->name, weft_dtype_name(t->dtype), dims);
    if (n <= 0) {
        printf("\n");
        return;
    }
    double lo = 0, hi = 0, sum = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = t->dtype == WEFT_FLOAT32 ? ((const float *)t->data)[i]
                                            : (double)((const int64_t *)t->data)[i];
        lo = i == 0 || v < lo ? v : lo;
        hi = i == 0 || v > hi ? v : hi;
        sum += v;
    }
    printf("  min %.6g  max %.6g  mean %.6g\n", lo, hi, sum / (double)n);
    int vector = t->rank == 1 || (t->rank == 2 && t->dims[0] == 1);
    if (!vector || t->dtype != WEFT_FLOAT32)
        return;
    /* Top 5 by selection: outputs are class scores, a few thousand at most. */
    const float *x = t->data;
    int64_t top[5];
    int k = 0;
    for (; k < 5 && k < n; k++) {
        int64_t best = -1;
        for (int64_t i = 0; i < n; i++) {
            int taken = 0;
            for (int j = 0; j < k; j++)
                taken |= top[j] == i;
            if (!taken && (best < 0 || x[i] > x[best]))
                best = i;
        }
        top[k] = best;
    }
    printf("  top-%d:", k);
    for (int j = 0; j < k; j++)
        printf("%s %lld (%.6g)", j ? "," : "", (long long)top[j], x[top[j]]);
    printf("\n");
}

/* DIR/NAME.npy, with characters other than [A-Za-z0-9._-] of NAME as '_'. */
static char *output_path(const char *dir, const char *name)
{
    size_t n = strlen(name);
    char *file = malloc(n + 5);
    if (!file)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        file[i] = ok && !(i == 0 && c == '.') ? c : '_';
    }
    memcpy(file + n, ".npy", 5);
    char *path = weft_path_join(dir, file);
    free(file);
    return path;
}

static weft_status write_outputs(const char *dir, const weft_cli_tensors *out)
{
    if (weft_mkdirs(dir) != 0)
        return weft_fail(WEFT_ERR_IO, "cannot create the output folder '%s'", dir);
    for (size_t i = 0; i < out->count; i++) {
        const weft_tensor *t = &out->t[i];
        char *path = output_path(dir, t->name);
        if (!path)
            return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for a path");
        weft_status st = weft_npy_write(path, t->dtype, t->rank, t->dims, t->data);
        if (st == WEFT_OK)
            printf("wrote %s\n", path);
        free(path);
        if (st != WEFT_OK)
            return st;
    }
    return WEFT_OK;
}

static int run(int argc, char **argv)
{
    const char *model = NULL, *device = NULL, *out_dir = NULL, *value;
    char **specs = calloc((size_t)argc, sizeof *specs);
    size_t spec_count = 0;
    if (!specs) {
        fprintf(stderr, "weft: out of memory\n");
        return WEFT_EXIT_FAILURE;
    }
    int rc = -1;
    for (int i = 1; i < argc && rc < 0; i++) {
        int taken = weft_cli_device_option(&weft_cmd_run, argc, argv, &i, &device, 1);
        if (taken >= 0) {
            if (taken > 0)
                rc = taken;
        } else if (weft_cli_option(argc, argv, &i, "--input", &value)) {
            if (!value)
                rc = weft_cli_usage_error(&weft_cmd_run, "--input needs NAME=FILE");
            else
                specs[spec_count++] = (char *)value;
        } else if (weft_cli_option(argc, argv, &i, "--output-dir", &value)) {
            if (!(out_dir = value))
                rc = weft_cli_usage_error(&weft_cmd_run, "--output-dir needs a folder");
        } else if (argv[i][0] == '-') {
            rc = weft_cli_usage_error(&weft_cmd_run, "unknown option '%s'", argv[i]);
        } else if (model) {
            rc = weft_cli_usage_error(&weft_cmd_run, "more than one model given");
        } else {
            model = argv[i];
        }
    }
    if (rc < 0 && !model)
        rc = weft_cli_usage_error(&weft_cmd_run, "no model given");
    if (rc >= 0) {
        free(specs);
        return rc;
    }

    weft_graph *g = NULL;
    weft_context *ctx = NULL;
    weft_session *s = NULL;
    weft_cli_tensors in = {0}, out = {0};
    weft_status st = weft_cli_load_model(model, &g);
    if (st == WEFT_OK)
        st = weft_cli_inputs_load(g, specs, spec_count, 0, &in);
    if (st == WEFT_OK)
        st = weft_cli_context(device, 0, &ctx);
    if (st == WEFT_OK)
        st = weft_session_create(ctx, g, NULL, &s);
    if (st == WEFT_OK)
        st = weft_cli_outputs_alloc(s, &out);
    if (st == WEFT_OK)
        st = weft_session_run(s, in.t, in.count, out.t, out.count);
    if (st == WEFT_OK) {
        char name[512];
        weft_cli_device_name(ctx, name, sizeof name);
        printf("device: %s\n", name);
        for (size_t i = 0; i < out.count; i++)
            print_summary(&out.t[i]);
        if (out_dir)
            st = write_outputs(out_dir, &out);
    }
    rc = st == WEFT_OK ? WEFT_EXIT_OK : weft_cli_fail(st);
    weft_cli_tensors_free(&in);
    weft_cli_tensors_free(&out);
    weft_session_release(s);
    weft_context_release(ctx);
    weft_graph_release(g);
    free(specs);
    return rc;
}

const weft_cli_command weft_cmd_run = {"run", "run a model on input files", usage, run};
