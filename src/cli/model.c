#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/model.h"
#include "cli/npy.h"
#include "core/error.h"
#include "core/random.h"
#include "core/tensor.h"
#include "core/util.h"

/* Input files larger than this are refused before they are read. */
#define INPUT_MAX_BYTES ((size_t)1 << 31)

/* ---- Options -------------------------------------------------------------- */

int weft_cli_option(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *value = a[n + 1] ? a + n + 1 : NULL;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    *value = *i + 1 < argc ? argv[++*i] : NULL;
    return 1;
}

int weft_cli_value_option(const weft_cli_command *cmd, int argc, char **argv, int *i,
                          const char *name, const char *what, const char **value)
{
    if (!weft_cli_option(argc, argv, i, name, value))
        return -1;
    return *value ? 0 : weft_cli_usage_error(cmd, "%s needs %s", name, what);
}

int weft_cli_parse_int(const char *text, long min, long max, long *out)
{
    if (!text || !*text)
        return 0;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || *end || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

/* ---- Models ---------------------------------------------------------------- */

weft_status weft_cli_load_model(const char *path, weft_graph **graph)
{
    *graph = NULL;
    weft_graph *g;
    weft_status st = weft_graph_load_onnx(path, &g);
    if (st != WEFT_OK)
        return st;
    st = weft_graph_validate(g);
    if (st != WEFT_OK) {
        weft_graph_release(g);
        return st;
    }
    *graph = g;
    return WEFT_OK;
}

/* One bundle per process: the commands take one --bundle each. */
static const char *cli_bundle;

void weft_cli_set_bundle(const char *path)
{
    cli_bundle = path;
}

int weft_cli_device_option(const weft_cli_command *cmd, int argc, char **argv, int *i,
                           const char **device, int bundle)
{
    const char *value;
    if (weft_cli_option(argc, argv, i, "--device", &value) ||
        weft_cli_option(argc, argv, i, "--devices", &value)) {
        if (!value)
            return weft_cli_usage_error(cmd, "--device needs a selector");
        *device = value;
        return 0;
    }
    int taken = bundle ? weft_cli_value_option(cmd, argc, argv, i, "--bundle", "a file", &value)
                       : -1;
    if (taken == 0)
        weft_cli_set_bundle(value);
    return taken;
}

/* "--input NAME=FILE", as weft_cli_device_option returns. */
static int input_option(const weft_cli_command *cmd, int argc, char **argv, int *i,
                        weft_cli_model_args *args)
{
    const char *value;
    int taken = weft_cli_value_option(cmd, argc, argv, i, "--input", "NAME=FILE", &value);
    if (taken == 0)
        args->specs[args->spec_count++] = (char *)value;
    return taken;
}

int weft_cli_model_args_parse(const weft_cli_command *cmd, int argc, char **argv, unsigned flags,
                              weft_cli_own_option own, void *opts, weft_cli_model_args *args)
{
    *args = (weft_cli_model_args){0};
    int inputs = (flags & WEFT_CLI_ARGS_INPUTS) != 0;
    /* Every argument could be an input: one slot each is enough. */
    if (inputs && !(args->specs = calloc((size_t)argc, sizeof *args->specs))) {
        fprintf(stderr, "weft: out of memory\n");
        return WEFT_EXIT_FAILURE;
    }
    int rc = -1;
    for (int i = 1; i < argc && rc < 0; i++) {
        int taken = weft_cli_device_option(cmd, argc, argv, &i, &args->device,
                                           (flags & WEFT_CLI_ARGS_BUNDLE) != 0);
        if (taken < 0 && inputs)
            taken = input_option(cmd, argc, argv, &i, args);
        if (taken < 0 && own)
            taken = own(cmd, argc, argv, &i, opts);
        if (taken > 0)
            rc = taken;
        else if (taken == 0)
            continue;
        else if (argv[i][0] == '-')
            rc = weft_cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        else if (args->model)
            rc = weft_cli_usage_error(cmd, "more than one model given");
        else
            args->model = argv[i];
    }
    if (rc < 0 && !args->model && !(flags & WEFT_CLI_ARGS_MODEL_OPTIONAL))
        rc = weft_cli_usage_error(cmd, "no model given");
    if (rc >= 0)
        weft_cli_model_args_free(args);
    return rc;
}

void weft_cli_model_args_free(weft_cli_model_args *args)
{
    free(args->specs);
    args->specs = NULL;
    args->spec_count = 0;
}

weft_status weft_cli_context(const char *device, int profiling, weft_context **ctx)
{
    weft_context_options options;
    weft_context_options_defaults(&options);
    options.device = device;
    options.profiling = profiling;
    options.bundle = cli_bundle;
    return weft_context_create(&options, ctx);
}

void weft_cli_device_name(weft_context *ctx, char *buf, size_t cap)
{
    weft_device_info info;
    if (weft_context_device_info(ctx, 0, &info) != WEFT_OK)
        snprintf(buf, cap, "(unknown device)");
    else
        snprintf(buf, cap, "%s (%s, %s)", info.name, weft_device_type_name(info.type),
                 info.platform_name);
    /* A device list: the others too, by index. */
    size_t count = 1;
    weft_context_device_count(ctx, &count);
    for (size_t d = 1; d < count && weft_context_device_info(ctx, d, &info) == WEFT_OK; d++) {
        size_t at = strlen(buf);
        snprintf(buf + at, cap - at, "%s; device %zu: %s (%s)", d == 1 ? " as device 0" : "", d,
                 info.name, weft_device_type_name(info.type));
    }
}

void weft_cli_print_device(weft_context *ctx)
{
    char name[512];
    weft_cli_device_name(ctx, name, sizeof name);
    printf("device: %s\n", name);
}

const weft_node *weft_cli_find_node(const weft_graph *g, const char *name)
{
    for (size_t i = 0; name && i < g->node_count; i++)
        if (!g->nodes[i].removed && g->nodes[i].name && strcmp(g->nodes[i].name, name) == 0)
            return &g->nodes[i];
    return NULL;
}

static int64_t value_numel(const weft_value *v)
{
    return v && v->shape_known ? weft_shape_numel(&v->shape) : -1;
}

uint64_t weft_cli_node_macs(const weft_graph *g, const weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0), *w = weft_node_input(g, n, 1);
    const weft_value *y = weft_node_output(g, n, 0);
    int64_t ny = value_numel(y), nw = value_numel(w), nx = value_numel(x);
    if (ny < 0 || nw < 0 || nx < 0)
        return 0;
    /* Conv: every output element sums C/group x kernel products, which is
     * numel(W) / M with W [M, C/group, k...]. */
    if (strcmp(n->op, "Conv") == 0 && w->shape.rank >= 1 && w->shape.dims[0] > 0)
        return (uint64_t)ny * (uint64_t)(nw / w->shape.dims[0]);
    /* ConvTranspose scatters every input element over numel(W) / C outputs,
     * W [C, M/group, k...]. */
    if (strcmp(n->op, "ConvTranspose") == 0 && w->shape.rank >= 1 && w->shape.dims[0] > 0)
        return (uint64_t)nx * (uint64_t)(nw / w->shape.dims[0]);
    if (strcmp(n->op, "Gemm") == 0 && x->shape.rank == 2) {
        int64_t trans_a = 0;
        if (weft_node_attr_int(n, "transA", 0, &trans_a) != WEFT_OK)
            return 0;
        return (uint64_t)ny * (uint64_t)x->shape.dims[trans_a ? 0 : 1];
    }
    if (strcmp(n->op, "MatMul") == 0 && x->shape.rank >= 1)
        return (uint64_t)ny * (uint64_t)x->shape.dims[x->shape.rank - 1];
    return 0;
}

double weft_cli_node_flops(const weft_graph *g, const weft_node *n)
{
    uint64_t macs = weft_cli_node_macs(g, n);
    if (macs)
        return 2.0 * (double)macs;
    /* Pools and reductions touch every input element once; other ops
     * every output element. */
    const weft_value *x = weft_node_input(g, n, 0), *y = weft_node_output(g, n, 0);
    int64_t nx = value_numel(x), ny = value_numel(y);
    return (double)(nx > ny ? nx : ny > 0 ? ny : 0);
}

uint64_t weft_cli_param_count(const weft_graph *g)
{
    uint64_t count = 0;
    for (size_t i = 0; i < g->value_count; i++) {
        const weft_value *v = &g->values[i];
        int64_t n = value_numel(v);
        if (v->kind == WEFT_VALUE_CONSTANT && v->dtype == WEFT_FLOAT32 && n > 0)
            count += (uint64_t)n;
    }
    return count;
}

/* ---- Tensors ---------------------------------------------------------------- */

int64_t weft_cli_numel(const weft_tensor *t)
{
    weft_shape s = {.rank = t->rank};
    if (t->rank < 0 || t->rank > WEFT_MAX_RANK)
        return -1;
    memcpy(s.dims, t->dims, sizeof(int64_t) * (size_t)t->rank);
    return weft_shape_numel(&s);
}

void weft_cli_dims_str(const weft_tensor *t, char *buf, size_t cap)
{
    weft_shape s = {.rank = t->rank > 0 && t->rank <= WEFT_MAX_RANK ? t->rank : 0};
    memcpy(s.dims, t->dims, sizeof(int64_t) * (size_t)s.rank);
    weft_shape_format(&s, buf, cap);
}

void weft_cli_tensors_free(weft_cli_tensors *set)
{
    for (size_t i = 0; set->t && i < set->count; i++)
        free(set->t[i].data);
    free(set->t);
    set->t = NULL;
    set->count = 0;
}

/* The file's bytes as input v: a .npy of the same dtype and shape, or raw
 * float32 of exactly the input's size. */
static weft_status read_input(const weft_value *v, const char *path, weft_tensor *t)
{
    char *bytes;
    size_t size;
    weft_status st = weft_file_read(path, INPUT_MAX_BYTES, &bytes, &size);
    if (st != WEFT_OK)
        return st;
    size_t want = (size_t)weft_shape_numel(&v->shape) * weft_dtype_size(v->dtype);
    size_t offset = 0;
    if (weft_npy_is_npy(bytes, size)) {
        weft_npy npy;
        st = weft_npy_parse(bytes, size, path, &npy);
        weft_shape given = {.rank = npy.rank};
        memcpy(given.dims, npy.dims, sizeof npy.dims);
        if (st == WEFT_OK && (npy.dtype != v->dtype || !weft_shape_equal(&given, &v->shape)))
            st = weft_fail(WEFT_ERR_SHAPE, "input '%s': %s holds %s%s, the model expects %s%s",
                           v->name, path, weft_dtype_name(npy.dtype), weft_shape_str(&given).s,
                           weft_dtype_name(v->dtype), weft_shape_str(&v->shape).s);
        offset = npy.data_offset;
    } else if (v->dtype != WEFT_FLOAT32) {
        st = weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                       "input '%s' is %s: give it as a .npy file (%s is not one)", v->name,
                       weft_dtype_name(v->dtype), path);
    } else if (size != want) {
        st = weft_fail(WEFT_ERR_SHAPE,
                       "input '%s': %s is %zu bytes of raw float32, the model expects %s = %zu "
                       "bytes",
                       v->name, path, size, weft_shape_str(&v->shape).s, want);
    }
    if (st == WEFT_OK) {
        /* Moved to the front so that t->data is the malloc'd block. */
        memmove(bytes, bytes + offset, want);
        t->data = bytes;
        t->size_bytes = want;
    } else {
        free(bytes);
    }
    return st;
}

static weft_status random_input(const weft_value *v, uint64_t seed, weft_tensor *t)
{
    size_t numel = (size_t)weft_shape_numel(&v->shape);
    size_t bytes = numel * weft_dtype_size(v->dtype);
    t->data = calloc(bytes ? bytes : 1, 1);
    if (!t->data)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for input '%s'", v->name);
    t->size_bytes = bytes;
    /* int64 inputs (indices, shapes) stay 0: random values would be out of
     * range for whatever they index. */
    if (v->dtype == WEFT_FLOAT32)
        weft_random_fill(&seed, t->data, numel, -1.0f, 1.0f);
    return WEFT_OK;
}

/* The graph input a spec names: "NAME=FILE", or "FILE" alone when the
 * graph has a single input. */
static int spec_input(const weft_graph *g, const char *spec, const char **path)
{
    const char *eq = strchr(spec, '=');
    for (size_t k = 0; eq && k < g->input_count; k++) {
        const char *name = g->values[g->inputs[k]].name;
        if (strlen(name) == (size_t)(eq - spec) && strncmp(name, spec, (size_t)(eq - spec)) == 0) {
            *path = eq + 1;
            return (int)k;
        }
    }
    if (g->input_count == 1 && !eq) {
        *path = spec;
        return 0;
    }
    return -1;
}

weft_status weft_cli_inputs_load(const weft_graph *g, char *const *specs, size_t spec_count,
                                 uint64_t random_seed, weft_cli_tensors *inputs)
{
    inputs->count = g->input_count;
    inputs->t = calloc(g->input_count ? g->input_count : 1, sizeof *inputs->t);
    if (!inputs->t)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the inputs");
    weft_status st = WEFT_OK;
    for (size_t i = 0; i < spec_count && st == WEFT_OK; i++) {
        const char *path = NULL;
        int k = spec_input(g, specs[i], &path);
        if (k < 0) {
            char names[512] = "";
            for (size_t j = 0; j < g->input_count; j++) {
                size_t at = strlen(names);
                snprintf(names + at, sizeof names - at, "%s'%s'", j ? ", " : "",
                         g->values[g->inputs[j]].name);
            }
            st = weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                           "--input '%s' names no model input (NAME=FILE; the inputs are %s)",
                           specs[i], g->input_count ? names : "none");
        } else if (inputs->t[k].data) {
            st = weft_fail(WEFT_ERR_INVALID_ARGUMENT, "input '%s' is given twice",
                           g->values[g->inputs[k]].name);
        } else {
            st = read_input(&g->values[g->inputs[k]], path, &inputs->t[k]);
        }
    }
    for (size_t k = 0; k < g->input_count && st == WEFT_OK; k++) {
        const weft_value *v = &g->values[g->inputs[k]];
        weft_tensor *t = &inputs->t[k];
        if (!t->data) {
            if (!random_seed)
                st = weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                               "input '%s' (%s%s) is not given: --input %s=FILE", v->name,
                               weft_dtype_name(v->dtype), weft_shape_str(&v->shape).s, v->name);
            else
                st = random_input(v, random_seed + k, t);
        }
        t->name = v->name;
        t->dtype = v->dtype;
        t->rank = v->shape.rank;
        memcpy(t->dims, v->shape.dims, sizeof t->dims);
    }
    if (st != WEFT_OK)
        weft_cli_tensors_free(inputs);
    return st;
}

weft_status weft_cli_outputs_alloc(const weft_session *s, weft_cli_tensors *outputs)
{
    size_t count = 0;
    weft_status st = weft_session_output_count(s, &count);
    if (st != WEFT_OK)
        return st;
    outputs->count = count;
    outputs->t = calloc(count ? count : 1, sizeof *outputs->t);
    if (!outputs->t)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the outputs");
    for (size_t i = 0; i < count && st == WEFT_OK; i++) {
        weft_tensor *t = &outputs->t[i];
        st = weft_session_output_info(s, i, t);
        if (st == WEFT_OK && !(t->data = calloc(t->size_bytes ? t->size_bytes : 1, 1)))
            st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for output '%s'", t->name);
    }
    if (st != WEFT_OK)
        weft_cli_tensors_free(outputs);
    return st;
}
