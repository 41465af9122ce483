/*
 * `weft demo`: the digits model of examples/digits/ on its held-out
 * images. The files, written by examples/digits/train.py:
 *   digits.onnx       the trained CNN, input [1,1,8,8], output [1,10]
 *   digits_test.bin   little-endian: "WEFTDIG1", uint32 count N, uint32
 *                     channels, height, width; N images of float32 (the
 *                     model's input, already scaled); N uint8 labels;
 *                     N uint8 PyTorch predictions
 *   digits_torch.txt  PyTorch's own result on those images: lines
 *                     "images N", "correct K", "accuracy A"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/model.h"
#include "cli/timing.h"
#include "core/error.h"
#include "core/util.h"

#define TEST_MAX_BYTES ((size_t)64 << 20)
#define WARMUP 5

static const char usage[] =
    "usage: weft demo [DIR] [--device SEL]\n\n"
    "Classifies the held-out handwritten digits of examples/digits/ (or DIR)\n"
    "with the model trained by its train.py, on the best device or SEL, and\n"
    "prints the device, the accuracy next to PyTorch's own accuracy on the same\n"
    "images (they must match) and the latency per image. Exit status 1 when the\n"
    "model cannot run or the accuracies differ.\n\n"
    "  --device SEL   device selector (default: WEFT_DEVICE, else auto)\n";

typedef struct digits {
    uint32_t count, c, h, w;
    const float *images;
    const unsigned char *labels, *torch_pred;
    char *bytes;
} digits;

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static weft_status load_digits(const char *path, digits *d)
{
    size_t size;
    weft_status st = weft_file_read(path, TEST_MAX_BYTES, &d->bytes, &size);
    if (st != WEFT_OK)
        return st;
    const unsigned char *b = (const unsigned char *)d->bytes;
    if (size < 24 || memcmp(b, "WEFTDIG1", 8) != 0)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: not a digits test file (no WEFTDIG1)",
                         path);
    d->count = le32(b + 8);
    d->c = le32(b + 12);
    d->h = le32(b + 16);
    d->w = le32(b + 20);
    uint64_t pixels = (uint64_t)d->c * d->h * d->w;
    if (!d->count || !pixels || d->c > 64 || d->h > 4096 || d->w > 4096 ||
        (size - 24) / (pixels * 4 + 2) != d->count || (size - 24) % (pixels * 4 + 2) != 0)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                         "%s: header says %u images of %ux%ux%u, which does not match its %zu "
                         "bytes",
                         path, d->count, d->c, d->h, d->w, size);
    /* weft_file_read's buffer is malloc'd, so aligned for float. */
    d->images = (const float *)(const void *)(b + 24);
    d->labels = b + 24 + pixels * 4 * d->count;
    d->torch_pred = d->labels + d->count;
    return WEFT_OK;
}

static weft_status load_torch(const char *path, long *images, long *correct)
{
    char *text;
    size_t size;
    weft_status st = weft_file_read(path, 1 << 20, &text, &size);
    if (st != WEFT_OK)
        return st;
    *images = *correct = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        long v;
        if (sscanf(line, "images %ld", &v) == 1)
            *images = v;
        else if (sscanf(line, "correct %ld", &v) == 1)
            *correct = v;
    }
    free(text);
    if (*images < 0 || *correct < 0)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: no 'images N' and 'correct K' lines",
                         path);
    return WEFT_OK;
}

static int argmax(const float *x, int64_t n)
{
    int best = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[best])
            best = (int)i;
    return best;
}

typedef struct demo_result {
    long correct, same_as_torch;
    double *ms;
} demo_result;

/* Every image through the session, one at a time. */
static weft_status classify_all(weft_session *s, const weft_graph *g, const digits *d,
                                demo_result *r)
{
    const weft_value *in = &g->values[g->inputs[0]];
    const weft_shape want = {4, {1, d->c, d->h, d->w}};
    if (g->input_count != 1 || !weft_shape_equal(&in->shape, &want))
        return weft_fail(WEFT_ERR_SHAPE, "the model's input is %s, the test images %s",
                         weft_shape_str(&in->shape).s, weft_shape_str(&want).s);
    weft_cli_tensors out = {0};
    weft_status st = weft_cli_outputs_alloc(s, &out);
    if (st != WEFT_OK)
        return st;
    int64_t classes = weft_cli_numel(&out.t[0]);
    if (out.t[0].dtype != WEFT_FLOAT32 || classes < 10)
        st = weft_fail(WEFT_ERR_SHAPE, "output '%s' does not hold 10 class scores", out.t[0].name);
    size_t pixels = (size_t)d->c * d->h * d->w;
    weft_tensor x = {.name = in->name, .dtype = WEFT_FLOAT32, .rank = 4,
                     .dims = {1, d->c, d->h, d->w}, .size_bytes = pixels * sizeof(float)};
    for (uint32_t i = 0; i < WARMUP + d->count && st == WEFT_OK; i++) {
        uint32_t k = i < WARMUP ? 0 : i - WARMUP;
        x.data = (void *)(d->images + (size_t)k * pixels);
        double t0 = weft_now_ms();
        st = weft_session_run(s, &x, 1, out.t, out.count);
        if (st != WEFT_OK || i < WARMUP)
            continue;
        r->ms[k] = weft_now_ms() - t0;
        int p = argmax(out.t[0].data, classes);
        r->correct += p == d->labels[k];
        r->same_as_torch += p == d->torch_pred[k];
    }
    weft_cli_tensors_free(&out);
    return st;
}

static int report(const char *dir, const digits *d, demo_result *r, long torch_images,
                  long torch_correct)
{
    printf("held-out images: %u of %ux%u\n", d->count, d->h, d->w);
    printf("accuracy (weft):    %ld/%u = %.2f%%\n", r->correct, d->count,
           100.0 * (double)r->correct / d->count);
    printf("accuracy (PyTorch): %ld/%ld = %.2f%% (%s/digits_torch.txt)\n", torch_correct,
           torch_images, torch_images ? 100.0 * (double)torch_correct / (double)torch_images : 0,
           dir);
    printf("predictions equal to PyTorch's: %ld/%u\n", r->same_as_torch, d->count);
    weft_cli_sort_ms(r->ms, d->count);
    double sum = 0;
    for (uint32_t i = 0; i < d->count; i++)
        sum += r->ms[i];
    printf("latency per image: median %.3f ms, mean %.3f ms, min %.3f ms (batch 1, %u runs "
           "after %d warmup)\n",
           r->ms[d->count / 2], sum / d->count, r->ms[0], d->count, WARMUP);
    if (torch_images != (long)d->count || torch_correct != r->correct) {
        fprintf(stderr, "weft: the accuracy differs from PyTorch's (%ld vs %ld correct of %u)\n",
                r->correct, torch_correct, d->count);
        return WEFT_EXIT_FAILURE;
    }
    printf("the accuracy matches PyTorch's\n");
    return WEFT_EXIT_OK;
}

static int run(int argc, char **argv)
{
    const char *dir = NULL, *device = NULL;
    for (int i = 1; i < argc; i++) {
        int taken = weft_cli_value_option(&weft_cmd_demo, argc, argv, &i, "--device",
                                          "a selector", &device);
        if (taken > 0)
            return taken;
        if (taken == 0)
            continue;
        if (argv[i][0] == '-') {
            return weft_cli_usage_error(&weft_cmd_demo, "unknown option '%s'", argv[i]);
        } else if (dir) {
            return weft_cli_usage_error(&weft_cmd_demo, "more than one folder given");
        } else {
            dir = argv[i];
        }
    }
    if (!dir)
        dir = "examples/digits";
    char *model = weft_path_join(dir, "digits.onnx");
    char *test = weft_path_join(dir, "digits_test.bin");
    char *torch = weft_path_join(dir, "digits_torch.txt");
    digits d = {0};
    demo_result r = {0};
    long torch_images = 0, torch_correct = 0;
    weft_graph *g = NULL;
    weft_context *ctx = NULL;
    weft_session *s = NULL;
    weft_status st = model && test && torch
                         ? WEFT_OK
                         : weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the paths");
    if (st == WEFT_OK)
        st = load_digits(test, &d);
    if (st == WEFT_OK)
        st = load_torch(torch, &torch_images, &torch_correct);
    if (st == WEFT_OK && !(r.ms = calloc(d.count, sizeof *r.ms)))
        st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the timings");
    if (st == WEFT_OK)
        st = weft_cli_load_model(model, &g);
    if (st == WEFT_OK)
        st = weft_cli_context(device, 0, &ctx);
    if (st == WEFT_OK) {
        weft_cli_print_device(ctx);
        printf("model: %s (%zu nodes, %llu parameters)\n", model, g->node_count,
               (unsigned long long)weft_cli_param_count(g));
        fflush(stdout);
        st = weft_session_create(ctx, g, NULL, &s);
    }
    if (st == WEFT_OK)
        st = classify_all(s, g, &d, &r);
    int rc = st == WEFT_OK ? report(dir, &d, &r, torch_images, torch_correct) : weft_cli_fail(st);
    weft_session_release(s);
    weft_context_release(ctx);
    weft_graph_release(g);
    free(r.ms);
    free(d.bytes);
    free(model);
    free(test);
    free(torch);
    return rc;
}

const weft_cli_command weft_cmd_demo = {"demo",
                                        "classify the held-out digits of examples/digits",
                                        usage, run};
