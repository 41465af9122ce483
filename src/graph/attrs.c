/* weft_attrs: the attribute sets of the builder API and of nodes. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/util.h"
#include "graph/graph.h"

static void attr_free(weft_attr *a)
{
    free(a->name);
    free(a->s);
    free(a->ints);
    free(a->floats);
    memset(a, 0, sizeof *a);
}

void weft_attrs_clear(weft_attrs *a)
{
    for (size_t i = 0; i < a->count; i++)
        attr_free(&a->items[i]);
    free(a->items);
    memset(a, 0, sizeof *a);
}

weft_status weft_attrs_create(weft_attrs **attrs)
{
    if (!attrs)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_attrs_create: attrs is NULL");
    *attrs = calloc(1, sizeof **attrs);
    return *attrs ? WEFT_OK : weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for attributes");
}

void weft_attrs_release(weft_attrs *attrs)
{
    if (!attrs)
        return;
    weft_attrs_clear(attrs);
    free(attrs);
}

/* The slot for `name`: the existing one emptied, or a new one. */
static weft_status slot(weft_attrs *a, const char *fn, const char *name, weft_attr **out)
{
    if (!a || !name || !*name)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: %s", fn,
                         !a ? "attrs is NULL" : "attribute name is NULL or empty");
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->items[i].name, name) == 0) {
            weft_attr *at = &a->items[i];
            char *keep = at->name;
            at->name = NULL;
            attr_free(at);
            at->name = keep;
            *out = at;
            return WEFT_OK;
        }
    if (a->count == a->capacity) {
        size_t cap = a->capacity ? 2 * a->capacity : 8;
        weft_attr *grown = realloc(a->items, cap * sizeof *grown);
        if (!grown)
            return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for attribute '%s'", name);
        a->items = grown;
        a->capacity = cap;
    }
    weft_attr *at = &a->items[a->count];
    memset(at, 0, sizeof *at);
    if (!(at->name = weft_strdup(name)))
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for attribute '%s'", name);
    a->count++;
    *out = at;
    return WEFT_OK;
}

weft_status weft_attrs_set_int(weft_attrs *attrs, const char *name, int64_t value)
{
    weft_attr *at;
    weft_status st = slot(attrs, "weft_attrs_set_int", name, &at);
    if (st == WEFT_OK) {
        at->type = WEFT_ATTR_INT;
        at->i = value;
    }
    return st;
}

weft_status weft_attrs_set_float(weft_attrs *attrs, const char *name, float value)
{
    weft_attr *at;
    weft_status st = slot(attrs, "weft_attrs_set_float", name, &at);
    if (st == WEFT_OK) {
        at->type = WEFT_ATTR_FLOAT;
        at->f = value;
    }
    return st;
}

weft_status weft_attrs_set_string(weft_attrs *attrs, const char *name, const char *value)
{
    if (!value)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_attrs_set_string: value is NULL");
    weft_attr *at;
    weft_status st = slot(attrs, "weft_attrs_set_string", name, &at);
    if (st != WEFT_OK)
        return st;
    at->type = WEFT_ATTR_STRING;
    if (!(at->s = weft_strdup(value)))
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for attribute '%s'", name);
    return WEFT_OK;
}

weft_status weft_attrs_set_ints(weft_attrs *attrs, const char *name, const int64_t *values,
                                size_t count)
{
    if (!values && count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_attrs_set_ints: values is NULL");
    weft_attr *at;
    weft_status st = slot(attrs, "weft_attrs_set_ints", name, &at);
    if (st != WEFT_OK)
        return st;
    at->type = WEFT_ATTR_INTS;
    at->ints = malloc((count ? count : 1) * sizeof *at->ints);
    if (!at->ints)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for attribute '%s'", name);
    if (count)
        memcpy(at->ints, values, count * sizeof *values);
    at->count = count;
    return WEFT_OK;
}

weft_status weft_attrs_set_floats(weft_attrs *attrs, const char *name, const float *values,
                                  size_t count)
{
    if (!values && count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_attrs_set_floats: values is NULL");
    weft_attr *at;
    weft_status st = slot(attrs, "weft_attrs_set_floats", name, &at);
    if (st != WEFT_OK)
        return st;
    at->type = WEFT_ATTR_FLOATS;
    at->floats = malloc((count ? count : 1) * sizeof *at->floats);
    if (!at->floats)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for attribute '%s'", name);
    if (count)
        memcpy(at->floats, values, count * sizeof *values);
    at->count = count;
    return WEFT_OK;
}

weft_status weft_attrs_copy(weft_attrs *dst, const weft_attrs *src)
{
    memset(dst, 0, sizeof *dst);
    weft_status st = WEFT_OK;
    for (size_t i = 0; src && i < src->count && st == WEFT_OK; i++) {
        const weft_attr *a = &src->items[i];
        switch (a->type) {
        case WEFT_ATTR_INT: st = weft_attrs_set_int(dst, a->name, a->i); break;
        case WEFT_ATTR_FLOAT: st = weft_attrs_set_float(dst, a->name, a->f); break;
        case WEFT_ATTR_STRING: st = weft_attrs_set_string(dst, a->name, a->s); break;
        case WEFT_ATTR_INTS: st = weft_attrs_set_ints(dst, a->name, a->ints, a->count); break;
        case WEFT_ATTR_FLOATS:
            st = weft_attrs_set_floats(dst, a->name, a->floats, a->count);
            break;
        }
    }
    if (st != WEFT_OK)
        weft_attrs_clear(dst);
    return st;
}

/* ---- Lookups on nodes --------------------------------------------------- */

const weft_attr *weft_node_attr(const weft_node *n, const char *name)
{
    for (size_t i = 0; i < n->attrs.count; i++)
        if (strcmp(n->attrs.items[i].name, name) == 0)
            return &n->attrs.items[i];
    return NULL;
}

const char *weft_attr_type_name(weft_attr_type type)
{
    static const char *const names[] = {"int", "float", "string", "ints", "floats"};
    return names[type];
}

static weft_status wrong_type(const weft_node *n, const weft_attr *a, weft_attr_type want)
{
    return weft_fail(WEFT_ERR_GRAPH, "node '%s' (%s): attribute '%s' is of type %s, expected %s",
                     n->name, n->op, a->name, weft_attr_type_name(a->type),
                     weft_attr_type_name(want));
}

weft_status weft_node_attr_int(const weft_node *n, const char *name, int64_t def, int64_t *out)
{
    const weft_attr *a = weft_node_attr(n, name);
    if (!a) {
        *out = def;
        return WEFT_OK;
    }
    if (a->type != WEFT_ATTR_INT)
        return wrong_type(n, a, WEFT_ATTR_INT);
    *out = a->i;
    return WEFT_OK;
}

weft_status weft_node_attr_float(const weft_node *n, const char *name, float def, float *out)
{
    const weft_attr *a = weft_node_attr(n, name);
    if (!a) {
        *out = def;
        return WEFT_OK;
    }
    if (a->type == WEFT_ATTR_INT) { /* 1 where 1.0 was meant */
        *out = (float)a->i;
        return WEFT_OK;
    }
    if (a->type != WEFT_ATTR_FLOAT)
        return wrong_type(n, a, WEFT_ATTR_FLOAT);
    *out = a->f;
    return WEFT_OK;
}

weft_status weft_node_attr_string(const weft_node *n, const char *name, const char *def,
                                  const char **out)
{
    const weft_attr *a = weft_node_attr(n, name);
    if (!a) {
        *out = def;
        return WEFT_OK;
    }
    if (a->type != WEFT_ATTR_STRING)
        return wrong_type(n, a, WEFT_ATTR_STRING);
    *out = a->s;
    return WEFT_OK;
}

weft_status weft_node_attr_ints(const weft_node *n, const char *name, const int64_t **out,
                                size_t *count)
{
    const weft_attr *a = weft_node_attr(n, name);
    *out = NULL;
    *count = 0;
    if (!a)
        return WEFT_OK;
    if (a->type != WEFT_ATTR_INTS)
        return wrong_type(n, a, WEFT_ATTR_INTS);
    *out = a->ints;
    *count = a->count;
    return WEFT_OK;
}

weft_status weft_node_attr_floats(const weft_node *n, const char *name, const float **out,
                                  size_t *count)
{
    const weft_attr *a = weft_node_attr(n, name);
    *out = NULL;
    *count = 0;
    if (!a)
        return WEFT_OK;
    if (a->type != WEFT_ATTR_FLOATS)
        return wrong_type(n, a, WEFT_ATTR_FLOATS);
    *out = a->floats;
    *count = a->count;
    return WEFT_OK;
}
