/* `weft compile`: an ahead-of-time bundle of a model's programs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/model.h"
#include "core/error.h"

static const char usage[] =
    "usage: weft compile MODEL.onnx [MODEL.onnx ...] [--device SEL] -o FILE.weftbin\n\n"
    "Builds every program a session of each model needs on one device and\n"
    "writes their binaries, with the device's identity and weft's version, into\n"
    "one bundle file. 'weft run|bench|check --bundle FILE' (or WEFT_BUNDLE=FILE)\n"
    "then loads the programs from it and compiles none; a device without a\n"
    "compiler (or in binary-only mode: WEFT_BINARY_ONLY=1) can run only what a\n"
    "bundle or the disk cache holds. A bundle is refused on another device, by\n"
    "another weft version, or when damaged.\n\n"
    "  --device SEL      device selector (default: WEFT_DEVICE, else auto)\n"
    "  -o, --output FILE the bundle to write (replaced atomically)\n";

static int run(int argc, char **argv)
{
    const char *device = NULL, *output = NULL, *value;
    const char **models = calloc((size_t)argc, sizeof *models);
    size_t model_count = 0;
    if (!models) {
        fprintf(stderr, "weft: out of memory\n");
        return WEFT_EXIT_FAILURE;
    }
    int rc = -1;
    for (int i = 1; i < argc && rc < 0; i++) {
        /* Only --device: a bundle is made for one device. */
        int taken = weft_cli_value_option(&weft_cmd_compile, argc, argv, &i, "--device",
                                          "a selector", &device);
        if (taken >= 0) {
            rc = taken > 0 ? taken : -1;
        } else if (weft_cli_option(argc, argv, &i, "--output", &value) ||
                   weft_cli_option(argc, argv, &i, "-o", &value)) {
            if (!(output = value))
                rc = weft_cli_usage_error(&weft_cmd_compile, "-o needs a file");
        } else if (argv[i][0] == '-') {
            rc = weft_cli_usage_error(&weft_cmd_compile, "unknown option '%s'", argv[i]);
        } else {
            models[model_count++] = argv[i];
        }
    }
    if (rc < 0 && !model_count)
        rc = weft_cli_usage_error(&weft_cmd_compile, "no model given");
    if (rc < 0 && !output)
        rc = weft_cli_usage_error(&weft_cmd_compile, "no output file given (-o FILE)");
    if (rc >= 0) {
        free(models);
        return rc;
    }

    weft_context *ctx = NULL;
    size_t devices = 0, programs = 0;
    uint64_t bytes = 0;
    weft_status st = weft_cli_context(device, 0, &ctx);
    if (st == WEFT_OK)
        st = weft_context_device_count(ctx, &devices);
    if (st == WEFT_OK && devices != 1)
        st = weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                       "a bundle is made for one device, and the selector (--device, else "
                       "WEFT_DEVICES or WEFT_DEVICE) chose %zu: name one with --device",
                       devices);
    /* Each model's session leaves its programs in the context. */
    for (size_t m = 0; m < model_count && st == WEFT_OK; m++) {
        weft_graph *g = NULL;
        weft_session *s = NULL;
        st = weft_cli_load_model(models[m], &g);
        if (st == WEFT_OK)
            st = weft_session_create(ctx, g, NULL, &s);
        weft_session_release(s);
        weft_graph_release(g);
    }
    if (st == WEFT_OK)
        st = weft_context_write_bundle(ctx, 0, output, &programs, &bytes);
    if (st == WEFT_OK) {
        weft_cli_print_device(ctx);
        printf("models: %zu\nprograms: %zu (%llu bytes)\nwrote %s\n", model_count, programs,
               (unsigned long long)bytes, output);
    }
    rc = st == WEFT_OK ? WEFT_EXIT_OK : weft_cli_fail(st);
    weft_context_release(ctx);
    free(models);
    return rc;
}

const weft_cli_command weft_cmd_compile = {"compile", "build a model's programs into a bundle",
                                           usage, run};
