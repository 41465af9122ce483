#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/job.h"
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

/* --output-dir DIR, into opts (the folder). */
static int own_option(const weft_cli_command *cmd, int argc, char **argv, int *i, void *opts)
{
    return weft_cli_value_option(cmd, argc, argv, i, "--output-dir", "a folder", opts);
}

static int run(int argc, char **argv)
{
    const char *out_dir = NULL;
    weft_cli_model_args args;
    int rc = weft_cli_model_args_parse(&weft_cmd_run, argc, argv,
                                       WEFT_CLI_ARGS_BUNDLE | WEFT_CLI_ARGS_INPUTS, own_option,
                                       &out_dir, &args);
    if (rc >= 0)
        return rc;

    weft_cli_job job = {0};
    weft_status st = weft_cli_job_load(&job, &args, 0);
    if (st == WEFT_OK)
        st = weft_cli_job_start(&job, job.graph, args.device, NULL);
    if (st == WEFT_OK)
        st = weft_session_run(job.session, job.in.t, job.in.count, job.out.t, job.out.count);
    if (st == WEFT_OK) {
        weft_cli_print_device(job.ctx);
        for (size_t i = 0; i < job.out.count; i++)
            print_summary(&job.out.t[i]);
        if (out_dir)
            st = write_outputs(out_dir, &job.out);
    }
    rc = st == WEFT_OK ? WEFT_EXIT_OK : weft_cli_fail(st);
    weft_cli_job_release(&job);
    weft_cli_model_args_free(&args);
    return rc;
}

const weft_cli_command weft_cmd_run = {"run", "run a model on input files", usage, run};
