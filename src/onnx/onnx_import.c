/*
 * weft_graph_load_onnx: a ModelProto parsed with protobuf-c (the schema
 * subset in onnx/onnx.proto) and turned into a weft_graph through the
 * builder functions. The walk:
 *   1. parse (the whole file is read first, up to 2 GiB); find the ai.onnx
 *      opset;
 *   2. list every node weft cannot import, and refuse them all at once;
 *   3. initializers become constants, the other graph inputs inputs;
 *   4. structure: each value produced once, each node input defined,
 *      graph outputs defined and distinct;
 *   5. nodes are added (onnx_opset.c rewrites old forms), then outputs;
 *      a cycle is found by the graph's topological sort.
 * A malformed file is WEFT_ERR_MODEL_FORMAT naming the field or node.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/util.h"
#include "onnx/onnx_import.h"
#include "onnx/onnx_tensor.h"

/* ---- Name set (open addressing, FNV-1a) ---------------------------------- */

static size_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

long weft_onnx_names_find(const weft_onnx_names *s, const char *name)
{
    if (!s->capacity)
        return -1;
    for (size_t i = name_hash(name) & (s->capacity - 1);; i = (i + 1) & (s->capacity - 1)) {
        if (!s->keys[i])
            return -1;
        if (strcmp(s->keys[i], name) == 0)
            return (long)i;
    }
}

weft_status weft_onnx_names_add(weft_onnx_names *s, const char *name, int producer, int *added)
{
    *added = 0;
    if (weft_onnx_names_find(s, name) >= 0)
        return WEFT_OK;
    if (2 * (s->count + 1) > s->capacity) {
        size_t cap = s->capacity ? 2 * s->capacity : 64;
        weft_onnx_names grown = {calloc(cap, sizeof *grown.keys), calloc(cap, sizeof(int)), 0,
                                 cap};
        if (!grown.keys || !grown.producer) {
            weft_onnx_names_free(&grown);
            return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the model's value names");
        }
        for (size_t i = 0; i < s->capacity; i++)
            if (s->keys[i]) {
                int dummy;
                weft_onnx_names_add(&grown, s->keys[i], s->producer[i], &dummy);
            }
        weft_onnx_names_free(s);
        *s = grown;
    }
    size_t i = name_hash(name) & (s->capacity - 1);
    while (s->keys[i])
        i = (i + 1) & (s->capacity - 1);
    s->keys[i] = name;
    s->producer[i] = producer;
    s->count++;
    *added = 1;
    return WEFT_OK;
}

void weft_onnx_names_free(weft_onnx_names *s)
{
    free(s->keys);
    free(s->producer);
    memset(s, 0, sizeof *s);
}

/* ---- Shared helpers -------------------------------------------------------- */

void weft_onnx_node_label(const WeftOnnx__NodeProto *np, size_t index, char *buf, size_t cap)
{
    const char *op = np->op_type && *np->op_type ? np->op_type : "no op_type";
    if (np->name && *np->name)
        snprintf(buf, cap, "node '%s' (%s)", np->name, op);
    else
        snprintf(buf, cap, "node #%zu (%s)", index, op);
}

static int default_domain(const char *domain)
{
    return !domain || !*domain || strcmp(domain, "ai.onnx") == 0;
}

int64_t weft_onnx_domain_opset(const WeftOnnx__ModelProto *m, const char *domain)
{
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const WeftOnnx__OperatorSetIdProto *o = m->opset_import[i];
        int same = default_domain(domain) ? default_domain(o->domain)
                                          : o->domain && strcmp(o->domain, domain) == 0;
        if (same)
            return o->has_version ? o->version : 1;
    }
    return -1;
}

const char *weft_onnx_fresh_name(weft_onnx_import *imp, const char *base, const char *suffix)
{
    if (imp->owned_count == imp->owned_capacity) {
        size_t cap = imp->owned_capacity ? 2 * imp->owned_capacity : 16;
        char **grown = realloc(imp->owned, cap * sizeof *grown);
        if (!grown) {
            weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for a value name");
            return NULL;
        }
        imp->owned = grown;
        imp->owned_capacity = cap;
    }
    size_t len = strlen(base) + strlen(suffix) + 32;
    char *name = malloc(len);
    if (!name) {
        weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for a value name");
        return NULL;
    }
    snprintf(name, len, "%s/weft:%s", base, suffix);
    for (unsigned k = 2; weft_onnx_names_find(&imp->mentioned, name) >= 0 ||
                         weft_graph_find_value(imp->g, name) >= 0;
         k++)
        snprintf(name, len, "%s/weft:%s.%u", base, suffix, k);
    imp->owned[imp->owned_count++] = name;
    return name;
}

/* The current message, re-reported as a model-format error after prefix
 * (it is copied first: weft_fail writes over it). */
static weft_status as_model_format(const char *prefix)
{
    char copy[WEFT_ERROR_CAPACITY / 2];
    snprintf(copy, sizeof copy, "%s", weft_last_error());
    return weft_fail(WEFT_ERR_MODEL_FORMAT, "%s: %s", prefix, copy);
}

/* ---- The walk ---------------------------------------------------------------- */

static weft_status find_opset(weft_onnx_import *imp)
{
    int64_t v = weft_onnx_domain_opset(imp->model, "");
    if (v < 0)
        return weft_fail(WEFT_ERR_MODEL_FORMAT,
                         "model.opset_import has no entry for the ai.onnx domain");
    if (v < WEFT_ONNX_MIN_OPSET)
        return weft_fail(WEFT_ERR_UNSUPPORTED,
                         "the model uses ai.onnx opset %lld; weft reads opsets %d to %d",
                         (long long)v, WEFT_ONNX_MIN_OPSET, WEFT_ONNX_MAX_OPSET);
    if (v > WEFT_ONNX_MAX_OPSET)
        weft_log(WEFT_LOG_WARN,
                 "onnx: the model uses ai.onnx opset %lld, newer than %d; its ops are read by "
                 "the opset %d rules",
                 (long long)v, WEFT_ONNX_MAX_OPSET, WEFT_ONNX_MAX_OPSET);
    imp->opset = v;
    return WEFT_OK;
}

static weft_status mention(weft_onnx_import *imp, const char *name)
{
    int added;
    return name && *name ? weft_onnx_names_add(&imp->mentioned, name, -1, &added) : WEFT_OK;
}

/* Every name the model uses, so that translations make up fresh ones;
 * and a node without an op type is malformed. */
static weft_status collect_names(weft_onnx_import *imp, const WeftOnnx__GraphProto *gp)
{
    weft_status st = WEFT_OK;
    for (size_t i = 0; i < gp->n_input && st == WEFT_OK; i++)
        st = mention(imp, gp->input[i]->name);
    for (size_t i = 0; i < gp->n_output && st == WEFT_OK; i++)
        st = mention(imp, gp->output[i]->name);
    for (size_t i = 0; i < gp->n_initializer && st == WEFT_OK; i++)
        st = mention(imp, gp->initializer[i]->name);
    for (size_t i = 0; i < gp->n_node && st == WEFT_OK; i++) {
        const WeftOnnx__NodeProto *np = gp->node[i];
        if (!np->op_type || !*np->op_type)
            return weft_fail(WEFT_ERR_MODEL_FORMAT, "graph.node[%zu]%s%s%s has no op_type", i,
                             np->name ? " ('" : "", np->name ? np->name : "",
                             np->name ? "')" : "");
        for (size_t k = 0; k < np->n_input && st == WEFT_OK; k++)
            st = mention(imp, np->input[k]);
        for (size_t k = 0; k < np->n_output && st == WEFT_OK; k++)
            st = mention(imp, np->output[k]);
    }
    return st;
}

/* Every unsupported node of the model in one message. */
static weft_status check_supported(const weft_onnx_import *imp, const WeftOnnx__GraphProto *gp)
{
    size_t bad = 0, shown = 0, len = 0;
    char list[WEFT_ERROR_CAPACITY / 2];
    list[0] = '\0';
    for (size_t i = 0; i < gp->n_node; i++) {
        char why[512];
        if (!weft_onnx_node_unsupported(imp, gp->node[i], i, why, sizeof why))
            continue;
        bad++;
        if (len + strlen(why) + 64 < sizeof list) {
            len += (size_t)snprintf(list + len, sizeof list - len, "\n  %s", why);
            shown++;
        }
    }
    if (!bad)
        return WEFT_OK;
    if (shown < bad)
        snprintf(list + len, sizeof list - len, "\n  ... and %zu more", bad - shown);
    return weft_fail(WEFT_ERR_UNSUPPORTED, "the model has %zu node%s weft cannot import:%s", bad,
                     bad == 1 ? "" : "s", list);
}

static weft_status define(weft_onnx_import *imp, weft_onnx_names *defined, const char *name,
                          int producer, const char *what)
{
    int added;
    weft_status st = weft_onnx_names_add(defined, name, producer, &added);
    if (st != WEFT_OK || added)
        return st;
    int prev = defined->producer[weft_onnx_names_find(defined, name)];
    const WeftOnnx__GraphProto *gp = imp->model->graph;
    char label[320] = "a graph input or initializer";
    if (prev >= 0)
        weft_onnx_node_label(gp->node[prev], (size_t)prev, label, sizeof label);
    return weft_fail(WEFT_ERR_MODEL_FORMAT, "%s: value '%s' is already defined by %s", what, name,
                     label);
}

/* gp is imp->model's graph, unpacked with weft_onnx_allocator: the
 * initializers' raw_data buffers move into the graph. */
static weft_status add_initializers(weft_onnx_import *imp, WeftOnnx__GraphProto *gp,
                                    weft_onnx_names *defined)
{
    for (size_t i = 0; i < gp->n_initializer; i++) {
        WeftOnnx__TensorProto *tp = gp->initializer[i];
        char what[320];
        if (!tp->name || !*tp->name)
            return weft_fail(WEFT_ERR_MODEL_FORMAT, "graph.initializer[%zu] has no name", i);
        snprintf(what, sizeof what, "initializer '%s'", tp->name);
        weft_status st = define(imp, defined, tp->name, -1, what);
        if (st != WEFT_OK)
            return st;
        weft_onnx_tensor t;
        if ((st = weft_onnx_tensor_take_proto(tp, imp->base_dir, what, &t)) != WEFT_OK)
            return st;
        st = weft_graph_add_constant_owned(imp->g, tp->name, t.dtype, t.shape.rank, t.shape.dims,
                                           t.data);
        t.data = NULL;
        weft_onnx_tensor_free(&t);
        if (st == WEFT_ERR_INVALID_ARGUMENT)
            st = as_model_format(what);
        if (st != WEFT_OK)
            return st;
    }
    return WEFT_OK;
}

/* A graph input that is not an initializer: a float or int64 tensor of a
 * fixed shape. */
static weft_status add_input(weft_onnx_import *imp, const WeftOnnx__ValueInfoProto *vi, size_t i,
                             weft_onnx_names *defined)
{
    if (!vi->name || !*vi->name)
        return weft_fail(WEFT_ERR_MODEL_FORMAT, "graph.input[%zu] has no name", i);
    /* Inputs that are also initializers are constants (IR < 4 lists them). */
    int at = weft_graph_find_value(imp->g, vi->name);
    if (at >= 0 && imp->g->values[at].kind == WEFT_VALUE_CONSTANT)
        return WEFT_OK;
    char what[320];
    snprintf(what, sizeof what, "graph input '%s'", vi->name);
    const WeftOnnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != WEFT_ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return weft_fail(tp ? WEFT_ERR_UNSUPPORTED : WEFT_ERR_MODEL_FORMAT,
                         "%s: %s", what,
                         tp ? "is not a tensor (sequences, maps and optionals are not supported)"
                            : "has no type");
    const WeftOnnx__TypeProto__Tensor *tt = tp->tensor_type;
    char tn[24];
    int32_t code = tt->has_elem_type ? tt->elem_type : 0;
    if (code != WEFT_ONNX_FLOAT && code != WEFT_ONNX_INT64)
        return weft_fail(code ? WEFT_ERR_UNSUPPORTED : WEFT_ERR_MODEL_FORMAT,
                         "%s: elem_type %s%s", what, weft_onnx_dtype_name(code, tn),
                         code ? " is not supported (weft inputs are FLOAT or INT64)" : "");
    if (!tt->shape)
        return weft_fail(WEFT_ERR_UNSUPPORTED,
                         "%s has no shape; weft needs every input's shape fixed", what);
    if (tt->shape->n_dim > WEFT_MAX_RANK)
        return weft_fail(WEFT_ERR_UNSUPPORTED, "%s: rank %zu; weft supports up to %d", what,
                         tt->shape->n_dim, WEFT_MAX_RANK);
    int64_t dims[WEFT_MAX_RANK];
    for (size_t d = 0; d < tt->shape->n_dim; d++) {
        const WeftOnnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
        if (dim->value_case != WEFT_ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            return weft_fail(WEFT_ERR_UNSUPPORTED,
                             "%s: dim %zu is %s%s%s; weft needs every input's shape fixed "
                             "(export the model with a fixed shape)",
                             what, d, dim->value_case ? "symbolic ('" : "unknown",
                             dim->value_case ? dim->dim_param : "", dim->value_case ? "')" : "");
        if (dim->dim_value < 0)
            return weft_fail(WEFT_ERR_MODEL_FORMAT, "%s: dim %zu = %lld is negative", what, d,
                             (long long)dim->dim_value);
        dims[d] = dim->dim_value;
    }
    weft_status st = define(imp, defined, vi->name, -1, what);
    if (st == WEFT_OK)
        st = weft_graph_add_input(imp->g, vi->name, weft_onnx_dtype(code), (int)tt->shape->n_dim,
                                  dims);
    if (st == WEFT_ERR_INVALID_ARGUMENT || st == WEFT_ERR_SHAPE)
        st = as_model_format(what);
    return st;
}

/* Each value produced once, every node input and graph output defined. */
static weft_status check_structure(weft_onnx_import *imp, weft_onnx_names *defined)
{
    const WeftOnnx__GraphProto *gp = imp->model->graph;
    weft_status st;
    for (size_t i = 0; i < gp->n_node; i++) {
        const WeftOnnx__NodeProto *np = gp->node[i];
        char label[320];
        weft_onnx_node_label(np, i, label, sizeof label);
        for (size_t k = 0; k < np->n_output; k++)
            if (*np->output[k] && (st = define(imp, defined, np->output[k], (int)i, label)) !=
                                      WEFT_OK)
                return st;
    }
    for (size_t i = 0; i < gp->n_node; i++) {
        const WeftOnnx__NodeProto *np = gp->node[i];
        for (size_t k = 0; k < np->n_input; k++)
            if (*np->input[k] && weft_onnx_names_find(defined, np->input[k]) < 0) {
                char label[320];
                weft_onnx_node_label(np, i, label, sizeof label);
                return weft_fail(WEFT_ERR_MODEL_FORMAT,
                                 "%s: input %zu '%s' is not a graph input, an initializer or "
                                 "the output of any node",
                                 label, k, np->input[k]);
            }
    }
    if (gp->n_output == 0)
        return weft_fail(WEFT_ERR_MODEL_FORMAT,
                         "graph.output is empty: the model computes nothing");
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *name = gp->output[i]->name;
        if (!name || !*name)
            return weft_fail(WEFT_ERR_MODEL_FORMAT, "graph.output[%zu] has no name", i);
        if (weft_onnx_names_find(defined, name) < 0)
            return weft_fail(WEFT_ERR_MODEL_FORMAT,
                             "graph.output[%zu] '%s' is not a graph input, an initializer or the "
                             "output of any node",
                             i, name);
        for (size_t j = 0; j < i; j++)
            if (gp->output[j]->name && strcmp(gp->output[j]->name, name) == 0)
                return weft_fail(WEFT_ERR_MODEL_FORMAT,
                                 "graph.output[%zu] '%s' repeats graph.output[%zu]", i, name, j);
    }
    return WEFT_OK;
}

static weft_status import(weft_onnx_import *imp, WeftOnnx__ModelProto *m)
{
    WeftOnnx__GraphProto *gp = m->graph;
    if (!gp)
        return weft_fail(WEFT_ERR_MODEL_FORMAT, "model.graph is missing");
    weft_status st;
    if ((st = find_opset(imp)) != WEFT_OK || (st = collect_names(imp, gp)) != WEFT_OK ||
        (st = check_supported(imp, gp)) != WEFT_OK || (st = weft_graph_create(&imp->g)) != WEFT_OK)
        return st;
    weft_onnx_names defined = {0};
    st = add_initializers(imp, gp, &defined);
    for (size_t i = 0; i < gp->n_input && st == WEFT_OK; i++)
        st = add_input(imp, gp->input[i], i, &defined);
    if (st == WEFT_OK)
        st = check_structure(imp, &defined);
    weft_onnx_names_free(&defined);
    for (size_t i = 0; i < gp->n_node && st == WEFT_OK; i++) {
        /* The builder's argument checks (e.g. over 1024 inputs) are about
         * the file here. */
        if ((st = weft_onnx_add_node(imp, gp->node[i], i)) == WEFT_ERR_INVALID_ARGUMENT) {
            char label[320];
            weft_onnx_node_label(gp->node[i], i, label, sizeof label);
            st = as_model_format(label);
        }
    }
    for (size_t i = 0; i < gp->n_output && st == WEFT_OK; i++)
        st = weft_graph_add_output(imp->g, gp->output[i]->name);
    if (st != WEFT_OK)
        return st;
    int *order = NULL;
    size_t count = 0;
    st = weft_graph_topo_order(imp->g, &order, &count);
    free(order);
    if (st == WEFT_ERR_GRAPH)
        st = as_model_format("model graph");
    return st;
}

/* Parses bytes and imports them; base_dir is the model's folder (NULL for
 * a model in memory). */
static weft_status load(const void *bytes, size_t size, const char *base_dir, const char *what,
                        weft_graph **graph)
{
    WeftOnnx__ModelProto *m = weft_onnx__model_proto__unpack(&weft_onnx_allocator, size, bytes);
    if (!m)
        return weft_fail(WEFT_ERR_MODEL_FORMAT,
                         "%s is not a valid ONNX model: the protobuf is truncated or malformed "
                         "(a field of the wrong wire type, or a length past the end)",
                         what);
    weft_onnx_import imp = {.model = m, .base_dir = base_dir};
    weft_status st = import(&imp, m);
    if (st != WEFT_OK) {
        weft_graph_release(imp.g);
        imp.g = NULL;
    }
    weft_onnx_names_free(&imp.mentioned);
    for (size_t i = 0; i < imp.owned_count; i++)
        free(imp.owned[i]);
    free(imp.owned);
    weft_onnx__model_proto__free_unpacked(m, &weft_onnx_allocator);
    *graph = imp.g;
    return st;
}

weft_status weft_graph_load_onnx_memory(const void *bytes, size_t size, weft_graph **graph)
{
    if (graph)
        *graph = NULL;
    if (!graph || (!bytes && size))
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_graph_load_onnx_memory: %s is NULL",
                         graph ? "bytes" : "graph");
    if (size > WEFT_ONNX_MAX_FILE_BYTES)
        return weft_fail(WEFT_ERR_MODEL_FORMAT,
                         "the model is %zu bytes, more than the 2 GiB a protobuf may hold (keep "
                         "large weights in external data)",
                         size);
    return load(bytes ? bytes : "", size, NULL, "the model in memory", graph);
}

weft_status weft_graph_load_onnx(const char *path, weft_graph **graph)
{
    if (graph)
        *graph = NULL;
    if (!graph || !path)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_graph_load_onnx: %s is NULL",
                         graph ? "path" : "graph");
    char *data;
    size_t size;
    /* Read, not mapped: a mapped file that another process truncates
     * raises SIGBUS, and a model file must never crash the caller. */
    weft_status st = weft_file_read(path, WEFT_ONNX_MAX_FILE_BYTES, &data, &size);
    if (st != WEFT_OK)
        return st;
    /* External data files are resolved against the model's folder. */
    size_t len = strlen(path);
    char *dir = malloc(len + 2);
    if (dir)
        memcpy(dir, path, len + 1);
    if (!dir) {
        free(data);
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for a path");
    }
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    char what[512];
    snprintf(what, sizeof what, "'%s'", path);
    st = load(data, size, dir, what, graph);
    free(dir);
    free(data);
    return st;
}
