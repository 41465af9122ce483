/*
 * What the model commands (info, run, bench, check, demo) share: option
 * parsing, loading and validating a model, input tensors from files or
 * random data, output buffers, and per-node work counts.
 */
#ifndef WEFT_CLI_MODEL_H
#define WEFT_CLI_MODEL_H

#include <stdint.h>

#include "cli/cli.h"
#include "graph/graph.h"
#include "weft.h"

/* ---- Options -------------------------------------------------------------- */

/* True when argv[*i] is option `name`, as "--name VALUE" or "--name=VALUE";
 * *value is then the value, or NULL when it is missing (a usage error).
 * *i is advanced past a separate value. */
int weft_cli_option(int argc, char **argv, int *i, const char *name, const char **value);
/* Option `name` whose value is required, into *value: -1 when argv[*i] is
 * not `name`, 0 when it was taken, else the exit status of the usage error
 * "NAME needs WHAT". */
int weft_cli_value_option(const weft_cli_command *cmd, int argc, char **argv, int *i,
                          const char *name, const char *what, const char **value);
/* The device options the model commands share: "--device SEL" and its
 * synonym "--devices LIST" (into *device), and with `bundle` set
 * "--bundle FILE" (weft_cli_set_bundle). -1 when argv[*i] is none of
 * them, 0 when it was taken, else the exit status of the usage error. */
int weft_cli_device_option(const weft_cli_command *cmd, int argc, char **argv, int *i,
                           const char **device, int bundle);
/* A decimal integer in [min, max]; 0 when `text` is not one. */
int weft_cli_parse_int(const char *text, long min, long max, long *out);

/* What the model commands take besides their own options: one model, the
 * device options and, where a command reads inputs, "--input NAME=FILE"
 * (spec_count of them in specs). */
typedef struct weft_cli_model_args {
    const char *model, *device;
    char **specs;
    size_t spec_count;
} weft_cli_model_args;

enum {
    WEFT_CLI_ARGS_BUNDLE = 1,         /* "--bundle FILE" too */
    WEFT_CLI_ARGS_INPUTS = 2,         /* "--input NAME=FILE ..." too */
    WEFT_CLI_ARGS_MODEL_OPTIONAL = 4, /* no model is no error: the command decides */
};

/* A command's own options: -1 when argv[*i] is none of them, 0 when it was
 * taken, else the exit status of the usage error (as weft_cli_device_option). */
typedef int (*weft_cli_own_option)(const weft_cli_command *cmd, int argc, char **argv, int *i,
                                   void *opts);

/* Parses argv[1..] of a model command: the shared options of `flags`, the
 * command's `own` (NULL: none; it gets `opts`), and the model; anything
 * else is a usage error. -1 when all was taken (then, with
 * WEFT_CLI_ARGS_INPUTS, release args with weft_cli_model_args_free), else
 * the exit status of the error. */
int weft_cli_model_args_parse(const weft_cli_command *cmd, int argc, char **argv, unsigned flags,
                              weft_cli_own_option own, void *opts, weft_cli_model_args *args);
void weft_cli_model_args_free(weft_cli_model_args *args);

/* ---- Models ---------------------------------------------------------------- */

/* Loads an ONNX model and validates it (every shape inferred). */
weft_status weft_cli_load_model(const char *path, weft_graph **graph);
/* A context on the device `device` (NULL: WEFT_DEVICE, else auto). */
weft_status weft_cli_context(const char *device, int profiling, weft_context **ctx);
/* The bundle (--bundle FILE) every later weft_cli_context loads; NULL:
 * WEFT_BUNDLE, else none. */
void weft_cli_set_bundle(const char *path);
/* "NAME (TYPE, PLATFORM)" of the context's device. */
void weft_cli_device_name(weft_context *ctx, char *buf, size_t cap);
/* The line "device: NAME (TYPE, PLATFORM)" on stdout. */
void weft_cli_print_device(weft_context *ctx);

/* The node named `name`, or NULL. */
const weft_node *weft_cli_find_node(const weft_graph *g, const char *name);
/* Multiply-accumulates of a node (Conv, ConvTranspose, Gemm, MatMul);
 * 0 for other ops. */
uint64_t weft_cli_node_macs(const weft_graph *g, const weft_node *n);
/* Floating-point operations of a node: 2 x MACs where there are MACs,
 * else one per output element read or written (an estimate for
 * GFLOP/s of memory-bound layers). */
double weft_cli_node_flops(const weft_graph *g, const weft_node *n);
/* Elements of every float constant: the model's parameters. */
uint64_t weft_cli_param_count(const weft_graph *g);

/* ---- Tensors ---------------------------------------------------------------- */

/* The graph inputs, each with host data the set owns. */
typedef struct weft_cli_tensors {
    weft_tensor *t;
    size_t count;
} weft_cli_tensors;

/* Inputs for graph g from "NAME=FILE" specs (or "FILE" for a one-input
 * model). FILE is a .npy (float32 or int64, C order) or raw float32 of the
 * input's size. Inputs not given are an error unless random_seed is
 * nonzero: then they are uniform in [-1, 1) from that seed. Errors name
 * the input and file. */
weft_status weft_cli_inputs_load(const weft_graph *g, char *const *specs, size_t spec_count,
                                 uint64_t random_seed, weft_cli_tensors *inputs);
/* Buffers for every output of the session, in its output order. */
weft_status weft_cli_outputs_alloc(const weft_session *s, weft_cli_tensors *outputs);
void weft_cli_tensors_free(weft_cli_tensors *set);

/* Elements of a tensor; -1 when its shape is invalid. */
int64_t weft_cli_numel(const weft_tensor *t);
/* "[1,10]" */
void weft_cli_dims_str(const weft_tensor *t, char *buf, size_t cap);

#endif
