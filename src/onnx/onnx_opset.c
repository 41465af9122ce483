/*
 * One ONNX node into the graph (onnx/onnx_import.h): its attributes, and
 * the forms that changed between opsets. Where weft's shape inference
 * already reads both forms of an op (Clip min/max as attributes or inputs,
 * Split/Squeeze/Unsqueeze/ReduceMean axes and split sizes as attributes or
 * inputs, Pad pads as attribute or input, Slice, Upsample 7/9, Resize 10 as
 * two inputs, Reshape allowzero, Dropout ratio) the node passes unchanged.
 * What is rewritten here, from the ONNX operator changelog
 * (onnx/docs/Changelog.md):
 *   - Softmax, LogSoftmax before opset 13 coerce the input to 2-D at
 *     'axis' (default 1) and normalise over everything after it: that is
 *     Flatten(axis) -> op(axis=1) -> Reshape to the input's shape;
 *   - Resize from opset 11 always has roi in input 1, so a two-input node
 *     gets an absent third input to keep it apart from the opset 10 form;
 *   - BatchNormalization's optional outputs (running mean and variance,
 *     saved statistics) exist only in training: asked for, the node is
 *     refused; left unnamed, they are dropped;
 *   - Constant nodes become graph constants.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "graph/op_kind.h"
#include "onnx/onnx_import.h"
#include "onnx/onnx_tensor.h"

/* AttributeProto.AttributeType codes (onnx.proto). */
enum {
    A_FLOAT = 1, A_INT = 2, A_STRING = 3, A_TENSOR = 4, A_GRAPH = 5, A_FLOATS = 6, A_INTS = 7,
    A_STRINGS = 8, A_TENSORS = 9, A_GRAPHS = 10, A_SPARSE_TENSOR = 11, A_SPARSE_TENSORS = 12,
    A_TYPE_PROTO = 13, A_TYPE_PROTOS = 14
};

static const char *attr_type_name(int32_t t)
{
    static const char *const names[] = {"UNDEFINED", "FLOAT",   "INT",           "STRING",
                                        "TENSOR",    "GRAPH",   "FLOATS",        "INTS",
                                        "STRINGS",   "TENSORS", "GRAPHS",        "SPARSE_TENSOR",
                                        "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS"};
    return t >= 0 && t <= A_TYPE_PROTOS ? names[t] : "unknown";
}

/* The attribute's type; files of IR version 1 leave it out, and then the
 * field that holds a value says it (0 when none does). */
static int32_t attr_type(const WeftOnnx__AttributeProto *a)
{
    if (a->has_type && a->type != 0)
        return a->type;
    if (a->has_f) return A_FLOAT;
    if (a->has_i) return A_INT;
    if (a->has_s) return A_STRING;
    if (a->t) return A_TENSOR;
    if (a->n_floats) return A_FLOATS;
    if (a->n_ints) return A_INTS;
    if (a->n_strings) return A_STRINGS;
    if (a->n_tensors) return A_TENSORS;
    return 0;
}

static int is_op(const WeftOnnx__NodeProto *np, const char *op)
{
    return strcmp(np->op_type, op) == 0;
}

static const WeftOnnx__AttributeProto *find_attr(const WeftOnnx__NodeProto *np, const char *name)
{
    for (size_t i = 0; i < np->n_attribute; i++)
        if (np->attribute[i]->name && strcmp(np->attribute[i]->name, name) == 0)
            return np->attribute[i];
    return NULL;
}

static int64_t attr_int(const WeftOnnx__NodeProto *np, const char *name, int64_t def)
{
    const WeftOnnx__AttributeProto *a = find_attr(np, name);
    return a && attr_type(a) == A_INT ? a->i : def;
}

/* Constant's value attributes that weft turns into a constant. */
static int constant_value_attr(const char *name)
{
    return strcmp(name, "value") == 0 || strcmp(name, "value_float") == 0 ||
           strcmp(name, "value_floats") == 0 || strcmp(name, "value_int") == 0 ||
           strcmp(name, "value_ints") == 0;
}

int weft_onnx_node_unsupported(const weft_onnx_import *imp, const WeftOnnx__NodeProto *np,
                               size_t index, char *why, size_t cap)
{
    char who[320];
    if (np->name && *np->name)
        snprintf(who, sizeof who, "node '%s'", np->name);
    else
        snprintf(who, sizeof who, "node #%zu", index);
    const char *domain = np->domain && *np->domain ? np->domain : "ai.onnx";
    int64_t opset = weft_onnx_domain_opset(imp->model, np->domain);
    if (strcmp(domain, "ai.onnx") != 0) {
        if (opset < 0)
            snprintf(why, cap, "%s (%s, domain '%s', which model.opset_import does not list): "
                     "weft supports the ai.onnx domain only", np->op_type, who, domain);
        else
            snprintf(why, cap, "%s (%s, domain '%s' opset %lld): weft supports the ai.onnx "
                     "domain only", np->op_type, who, domain, (long long)opset);
        return 1;
    }
    int n = snprintf(why, cap, "%s (%s, opset %lld): ", np->op_type, who, (long long)opset);
    char *rest = why + (n > 0 && (size_t)n < cap ? (size_t)n : 0);
    size_t left = cap - (size_t)(rest - why);
    if (!weft_op_kind_find(np->op_type)) {
        snprintf(rest, left, "op type not supported");
        return 1;
    }
    for (size_t i = 0; i < np->n_attribute; i++) {
        const WeftOnnx__AttributeProto *a = np->attribute[i];
        int32_t t = attr_type(a);
        const char *name = a->name ? a->name : "";
        if (is_op(np, "Constant")) {
            if (!constant_value_attr(name)) {
                snprintf(rest, left, "attribute '%s' is not supported (weft reads value, "
                         "value_float(s) and value_int(s))", name);
                return 1;
            }
            continue;
        }
        if (t == A_FLOAT || t == A_INT || t == A_STRING || t == A_FLOATS || t == A_INTS || t == 0)
            continue;
        snprintf(rest, left, "attribute '%s' of type %s is not supported", name,
                 attr_type_name(t));
        return 1;
    }
    if (is_op(np, "BatchNormalization")) {
        if (attr_int(np, "training_mode", 0) != 0) {
            snprintf(rest, left, "attribute 'training_mode' = 1: weft runs BatchNormalization "
                     "in inference mode only");
            return 1;
        }
        for (size_t k = 1; k < np->n_output; k++)
            if (*np->output[k]) {
                snprintf(rest, left, "output %zu ('%s') is a training output (running or saved "
                         "statistics); weft runs BatchNormalization in inference mode only",
                         k, np->output[k]);
                return 1;
            }
    }
    return 0;
}

/* The node's attributes as weft attributes; names must be distinct. */
static weft_status convert_attrs(const WeftOnnx__NodeProto *np, const char *label,
                                 weft_attrs *out)
{
    for (size_t i = 0; i < np->n_attribute; i++) {
        const WeftOnnx__AttributeProto *a = np->attribute[i];
        if (!a->name || !*a->name)
            return weft_fail(WEFT_ERR_MODEL_FORMAT, "%s: attribute[%zu] has no name", label, i);
        for (size_t j = 0; j < i; j++)
            if (np->attribute[j]->name && strcmp(np->attribute[j]->name, a->name) == 0)
                return weft_fail(WEFT_ERR_MODEL_FORMAT, "%s: attribute '%s' is given twice",
                                 label, a->name);
        weft_status st;
        switch (attr_type(a)) {
        case A_FLOAT: st = weft_attrs_set_float(out, a->name, a->f); break;
        case A_INT: st = weft_attrs_set_int(out, a->name, a->i); break;
        case A_FLOATS: st = weft_attrs_set_floats(out, a->name, a->floats, a->n_floats); break;
        case A_INTS: st = weft_attrs_set_ints(out, a->name, a->ints, a->n_ints); break;
        case A_STRING: {
            /* A STRING attribute without its field holds "". */
            if (a->s.len && memchr(a->s.data, '\0', a->s.len))
                return weft_fail(WEFT_ERR_MODEL_FORMAT,
                                 "%s: attribute '%s' holds a string with a NUL byte", label,
                                 a->name);
            char *text = malloc(a->s.len + 1);
            if (!text)
                return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for attribute '%s'",
                                 a->name);
            if (a->s.len)
                memcpy(text, a->s.data, a->s.len);
            text[a->s.len] = '\0';
            st = weft_attrs_set_string(out, a->name, text);
            free(text);
            break;
        }
        case 0:
            /* An empty list keeps no field set: accept it as empty ints. */
            if (a->has_type)
                return weft_fail(WEFT_ERR_MODEL_FORMAT, "%s: attribute '%s' has no value",
                                 label, a->name);
            st = weft_attrs_set_ints(out, a->name, NULL, 0);
            break;
        default: /* refused before the walk (weft_onnx_node_unsupported) */
            return weft_fail(WEFT_ERR_UNSUPPORTED, "%s: attribute '%s' of type %s", label,
                             a->name, attr_type_name(attr_type(a)));
        }
        if (st != WEFT_OK)
            return st;
    }
    return WEFT_OK;
}

static weft_status add(weft_onnx_import *imp, const char *op, const char *name,
                       const char *const *inputs, size_t n_in, const weft_attrs *attrs,
                       const char *const *outputs, size_t n_out)
{
    return weft_graph_add_node(imp->g, op, name && *name ? name : NULL, inputs, n_in, attrs,
                               outputs, n_out);
}

/* A Constant node's value as a graph constant. */
static weft_status add_constant(weft_onnx_import *imp, const WeftOnnx__NodeProto *np,
                                const char *label)
{
    if (np->n_output != 1 || !*np->output[0])
        return weft_fail(WEFT_ERR_MODEL_FORMAT, "%s: a Constant has exactly one output", label);
    if (np->n_attribute != 1)
        return weft_fail(WEFT_ERR_MODEL_FORMAT,
                         "%s: a Constant takes exactly one value attribute, it has %zu", label,
                         np->n_attribute);
    const WeftOnnx__AttributeProto *a = np->attribute[0];
    const char *y = np->output[0];
    const char *name = a->name ? a->name : "";
    int32_t t = attr_type(a);
    char what[400];
    snprintf(what, sizeof what, "%s: attribute '%s'", label, name);
    if (strcmp(name, "value") == 0 && t == A_TENSOR && a->t) {
        weft_onnx_tensor v;
        weft_status st = weft_onnx_tensor_from_proto(a->t, imp->base_dir, what, &v);
        if (st != WEFT_OK)
            return st;
        st = weft_graph_add_constant(imp->g, y, v.dtype, v.shape.rank, v.shape.dims, v.data);
        weft_onnx_tensor_free(&v);
        return st;
    }
    int64_t n_floats = (int64_t)a->n_floats, n_ints = (int64_t)a->n_ints;
    if (strcmp(name, "value_float") == 0 && t == A_FLOAT)
        return weft_graph_add_constant(imp->g, y, WEFT_FLOAT32, 0, NULL, &a->f);
    if (strcmp(name, "value_int") == 0 && t == A_INT)
        return weft_graph_add_constant(imp->g, y, WEFT_INT64, 0, NULL, &a->i);
    if (strcmp(name, "value_floats") == 0 && (t == A_FLOATS || t == 0))
        return weft_graph_add_constant(imp->g, y, WEFT_FLOAT32, 1, &n_floats, a->floats);
    if (strcmp(name, "value_ints") == 0 && (t == A_INTS || t == 0))
        return weft_graph_add_constant(imp->g, y, WEFT_INT64, 1, &n_ints, a->ints);
    return weft_fail(WEFT_ERR_MODEL_FORMAT, "%s is of type %s, which does not fit its name", what,
                     attr_type_name(t));
}

/* Softmax / LogSoftmax before opset 13 (see the top of the file). */
static weft_status add_softmax_2d(weft_onnx_import *imp, const WeftOnnx__NodeProto *np,
                                  weft_attrs *attrs)
{
    int64_t axis = attr_int(np, "axis", 1);
    if (axis == -1 || np->n_input != 1 || np->n_output != 1 || !*np->output[0]) {
        /* Over the last axis both readings agree; a malformed node is left
         * to validation to report. */
        weft_status st = weft_attrs_set_int(attrs, "axis", axis);
        return st != WEFT_OK ? st
                             : add(imp, np->op_type, np->name, (const char *const *)np->input,
                                   np->n_input, attrs, (const char *const *)np->output,
                                   np->n_output);
    }
    const char *x = np->input[0], *y = np->output[0];
    const char *flat = weft_onnx_fresh_name(imp, y, "flatten");
    const char *norm = flat ? weft_onnx_fresh_name(imp, y, "2d") : NULL;
    const char *shape = norm ? weft_onnx_fresh_name(imp, y, "shape") : NULL;
    if (!shape)
        return WEFT_ERR_OUT_OF_MEMORY;
    const char *base = np->name && *np->name ? np->name : y;
    char names[3][512];
    snprintf(names[0], sizeof names[0], "%s/weft:flatten", base);
    snprintf(names[1], sizeof names[1], "%s/weft:shape", base);
    snprintf(names[2], sizeof names[2], "%s/weft:reshape", base);
    weft_attrs *fa = NULL;
    weft_status st = weft_attrs_create(&fa);
    if (st == WEFT_OK)
        st = weft_attrs_set_int(fa, "axis", axis);
    if (st == WEFT_OK)
        st = add(imp, "Flatten", names[0], &x, 1, fa, &flat, 1);
    weft_attrs_release(fa);
    if (st == WEFT_OK)
        st = weft_attrs_set_int(attrs, "axis", 1);
    if (st == WEFT_OK)
        st = add(imp, np->op_type, np->name && *np->name ? np->name : NULL, &flat, 1, attrs,
                 &norm, 1);
    if (st == WEFT_OK)
        st = add(imp, "Shape", names[1], &x, 1, NULL, &shape, 1);
    const char *pair[2] = {norm, shape};
    if (st == WEFT_OK)
        st = add(imp, "Reshape", names[2], pair, 2, NULL, &y, 1);
    return st;
}

weft_status weft_onnx_add_node(weft_onnx_import *imp, const WeftOnnx__NodeProto *np,
                               size_t index)
{
    char label[320];
    weft_onnx_node_label(np, index, label, sizeof label);
    if (is_op(np, "Constant"))
        return add_constant(imp, np, label);
    weft_attrs *attrs = NULL;
    weft_status st = weft_attrs_create(&attrs);
    if (st == WEFT_OK)
        st = convert_attrs(np, label, attrs);
    const char *const *in = (const char *const *)np->input;
    const char *const *out = (const char *const *)np->output;
    size_t n_in = np->n_input, n_out = np->n_output;
    if (st != WEFT_OK) {
        /* nothing to add */
    } else if ((is_op(np, "Softmax") || is_op(np, "LogSoftmax")) && imp->opset < 13) {
        st = add_softmax_2d(imp, np, attrs);
    } else if (is_op(np, "Resize") && imp->opset >= 11 && n_in == 2) {
        const char *three[3] = {in[0], in[1], ""};
        st = add(imp, np->op_type, np->name, three, 3, attrs, out, n_out);
    } else {
        if (is_op(np, "BatchNormalization") && n_out > 1)
            n_out = 1; /* the others are unnamed (weft_onnx_node_unsupported) */
        st = add(imp, np->op_type, np->name, in, n_in, attrs, out, n_out);
    }
    weft_attrs_release(attrs);
    return st;
}
