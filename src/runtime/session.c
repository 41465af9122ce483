/*
 * Session creation: simplify the graph, choose an implementation per node,
 * assign storages and plan the arena, prepare every node, then allocate.
 * Running: write inputs, enqueue every step in order, read outputs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "runtime/buffers.h"
#include "core/log.h"
#include "core/util.h"
#include "graph/passes.h"
#include "runtime/memplan.h"
#include "runtime/placement.h"
#include "runtime/program.h"
#include "runtime/session.h"
#include "runtime/tuning.h"

void weft_session_options_defaults(weft_session_options *options)
{
    if (options)
        memset(options, 0, sizeof *options);
}

/* ---- Choosing implementations ------------------------------------------- */

static int serves(const weft_op_impl *impl, const char *op)
{
    for (const char *const *o = impl->ops; *o; o++)
        if (strcmp(*o, op) == 0)
            return 1;
    return 0;
}

/* The implementation forced for `op` by a "op:impl,..." list, or NULL.
 * *named is set when the list names the op at all. */
static weft_status forced_impl(const char *force, const char *op, const weft_op_impl **impl,
                               int *named)
{
    *impl = NULL;
    *named = 0;
    if (!force)
        return WEFT_OK;
    const char *p = force;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        if (!colon)
            return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                             "forced implementation '%.*s': expected OP:IMPL", (int)len, p);
        char opname[64], implname[64];
        snprintf(opname, sizeof opname, "%.*s", (int)(colon - p), p);
        snprintf(implname, sizeof implname, "%.*s", (int)(len - (size_t)(colon - p) - 1), colon + 1);
        if (weft_str_ieq(opname, op)) {
            *named = 1;
            for (size_t i = 0; i < weft_op_impl_count; i++)
                if (serves(weft_op_impls[i], op) && weft_str_ieq(weft_op_impls[i]->name, implname))
                    *impl = weft_op_impls[i];
            if (!*impl)
                return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                                 "forced implementation '%s:%s': no implementation '%s' for op %s",
                                 opname, implname, implname, op);
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return WEFT_OK;
}

/* *tuned: the tuned variant when the choice came from the tuning table
 * (tuning.h), else -1. */
static weft_status choose_impl(const weft_session *s, const weft_node *n, const char *force,
                               const weft_op_impl **chosen, int *tuned)
{
    *tuned = -1;
    const weft_device_info *dev = &s->device->cl.info;
    char why[256] = "";
    const weft_op_impl *impl;
    int named;
    weft_status st = forced_impl(force, n->op, &impl, &named);
    if (st != WEFT_OK)
        return st;
    if (impl) {
        if (!impl->supports(s->graph, n, dev, why, sizeof why))
            return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                                  "forced implementation '%s' cannot run it on device '%s': %s",
                                  impl->name, dev->name, why);
        *chosen = impl;
        return WEFT_OK;
    }
    if (!named && weft_tuning_choose(s, (size_t)(s->device - s->context->devices), n, chosen, tuned))
        return WEFT_OK;
    const weft_op_impl *best = NULL;
    double best_cost = 0;
    char reasons[1024] = "";
    size_t candidates = 0;
    for (size_t i = 0; i < weft_op_impl_count; i++) {
        impl = weft_op_impls[i];
        if (!serves(impl, n->op))
            continue;
        candidates++;
        why[0] = '\0';
        if (!impl->supports(s->graph, n, dev, why, sizeof why)) {
            size_t at = strlen(reasons);
            snprintf(reasons + at, sizeof reasons - at, "%s%s: %s", at ? "; " : "", impl->name,
                     why);
            continue;
        }
        double c = impl->cost ? impl->cost(s->graph, n, dev) : 0;
        if (!best || c < best_cost) {
            best = impl;
            best_cost = c;
        }
    }
    if (!best)
        return candidates
                   ? weft_node_fail(n, WEFT_ERR_UNSUPPORTED, "no implementation runs it on device '%s' (%s)",
                                    dev->name, reasons)
                   : weft_node_fail(n, WEFT_ERR_UNSUPPORTED, "no implementation of op %s yet",
                                    n->op);
    *chosen = best;
    return WEFT_OK;
}

/* ---- Storages ------------------------------------------------------------- */

/* WEFT_MEMORY_PLAN=off gives every tensor a buffer of its own and runs
 * nothing in place: a way to tell a planning bug from a kernel bug, and
 * what the oclgrind runs use (oclgrind 21.10 loses track of host writes
 * through sub-buffers and reports their data as uninitialised). */
static int memory_plan_enabled(void)
{
    const char *v = getenv("WEFT_MEMORY_PLAN");
    return !(v && (strcmp(v, "off") == 0 || strcmp(v, "0") == 0));
}

static int new_storage(weft_session *s, weft_storage_kind kind, uint64_t bytes, int first)
{
    weft_storage *st = &s->storages[s->storage_count];
    memset(st, 0, sizeof *st);
    st->kind = kind;
    st->bytes = bytes;
    st->first = first;
    st->last = first;
    return (int)s->storage_count++;
}

static uint64_t value_bytes(const weft_value *v)
{
    return (uint64_t)weft_shape_numel(&v->shape) * weft_dtype_size(v->dtype);
}

/* The cross-device bookkeeping of assign_storages. */
typedef struct storage_plan {
    int *last_use;      /* per value: last step reading it (any device) */
    int *last_use_dev;  /* per value and device */
    int *producer;      /* per value: the step writing it, -1 */
} storage_plan;

/* Value v's storage on device d, made when d has none yet: a graph input
 * or constant gets a buffer of its own there (written at each run or
 * uploaded once); an intermediate gets a copy made before step i, and its
 * source stays pinned for the whole run, so the producer's device never
 * reuses that memory while another queue may still read it. */
static int storage_on(weft_session *s, const storage_plan *sp, int v, size_t d, int i)
{
    const size_t D = s->device_count;
    int *slot = &s->value_on[(size_t)v * D + d];
    if (*slot >= 0)
        return *slot;
    int home = s->value_storage[v];
    if (home < 0 || s->storages[home].dev == d)
        return *slot = home;
    weft_storage_kind kind = s->storages[home].kind;
    int at = new_storage(s, kind, s->storages[home].bytes, kind == WEFT_STORAGE_ARENA ? i : 0);
    weft_storage *src = &s->storages[home], *copy = &s->storages[at];
    copy->dev = d;
    copy->copy_of = home + 1;
    if (kind == WEFT_STORAGE_ARENA) {
        copy->last = sp->last_use_dev[(size_t)v * D + d] > i ? sp->last_use_dev[(size_t)v * D + d] : i;
        src->pinned = 1;
        src->last = (int)s->step_count;
        s->steps[sp->producer[v]].signals = 1;
        s->transfers[s->transfer_count++] = (weft_transfer){
            .step = i, .src = home, .dst = at, .producer = sp->producer[v], .bytes = src->bytes};
    } else {
        copy->last = (int)s->step_count;
        copy->host = src->host;
    }
    return *slot = at;
}

static weft_status assign_storages(weft_session *s)
{
    weft_graph *g = s->graph;
    const size_t nv = g->value_count, D = s->device_count;
    storage_plan sp = {
        .last_use = malloc((nv ? nv : 1) * sizeof *sp.last_use),
        .last_use_dev = malloc((nv ? nv : 1) * D * sizeof *sp.last_use_dev),
        .producer = malloc((nv ? nv : 1) * sizeof *sp.producer),
    };
    s->value_storage = malloc((nv ? nv : 1) * sizeof *s->value_storage);
    s->value_on = malloc((nv ? nv : 1) * D * sizeof *s->value_on);
    /* At most: one per value and device, plus one workspace per step. */
    s->storages = calloc(nv * D + s->step_count + 1, sizeof *s->storages);
    s->transfers = calloc(nv * D + 1, sizeof *s->transfers);
    int *first_dev = malloc((nv ? nv : 1) * sizeof *first_dev);
    if (!sp.last_use || !sp.last_use_dev || !sp.producer || !s->value_storage || !s->value_on ||
        !s->storages || !s->transfers || !first_dev) {
        free(sp.last_use);
        free(sp.last_use_dev);
        free(sp.producer);
        free(first_dev);
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the memory plan");
    }
    const int end = (int)s->step_count; /* graph outputs live to the end */
    for (size_t v = 0; v < nv; v++) {
        sp.last_use[v] = g->values[v].is_output ? end : -1;
        sp.producer[v] = -1;
        first_dev[v] = -1;
        s->value_storage[v] = -1;
        for (size_t d = 0; d < D; d++) {
            s->value_on[v * D + d] = -1;
            sp.last_use_dev[v * D + d] = -1;
        }
    }
    for (size_t i = 0; i < s->step_count; i++) {
        const weft_node *n = &g->nodes[s->steps[i].node];
        const size_t dev = s->steps[i].dev;
        for (size_t k = 0; k < n->input_count; k++) {
            int v = n->inputs[k];
            if (v < 0)
                continue;
            if (sp.last_use[v] < (int)i)
                sp.last_use[v] = (int)i;
            sp.last_use_dev[(size_t)v * D + dev] = (int)i;
            if (first_dev[v] < 0)
                first_dev[v] = (int)dev;
        }
        for (size_t k = 0; k < n->output_count; k++)
            if (n->outputs[k] >= 0)
                sp.producer[n->outputs[k]] = (int)i;
    }
    for (size_t v = 0; v < nv; v++) {
        weft_value *val = &g->values[v];
        int at = -1;
        if (val->kind == WEFT_VALUE_INPUT) {
            at = new_storage(s, WEFT_STORAGE_INPUT, value_bytes(val), 0);
        } else if (val->kind == WEFT_VALUE_CONSTANT && sp.last_use[v] >= 0) {
            at = new_storage(s, WEFT_STORAGE_CONSTANT, value_bytes(val), 0);
            s->storages[at].host = val->data;
        }
        if (at >= 0) {
            s->storages[at].last = end;
            s->storages[at].dev = first_dev[v] >= 0 ? (size_t)first_dev[v] : 0;
            s->value_storage[v] = at;
        }
    }
    free(first_dev);
    for (size_t i = 0; i < s->step_count; i++) {
        weft_step *step = &s->steps[i];
        const weft_node *n = &g->nodes[step->node];
        for (size_t k = 0; k < n->input_count; k++)
            if (n->inputs[k] >= 0)
                storage_on(s, &sp, n->inputs[k], step->dev, (int)i);
        int in0 = n->input_count > 0 && n->inputs[0] >= 0
                      ? s->value_on[(size_t)n->inputs[0] * D + step->dev]
                      : -1;
        for (size_t k = 0; k < n->output_count; k++) {
            int v = n->outputs[k];
            if (v < 0)
                continue;
            int at = -1;
            if (k == 0 && in0 >= 0 && step->impl->alias) {
                at = in0;
            } else if (k == 0 && in0 >= 0 && step->impl->inplace && memory_plan_enabled()) {
                weft_storage *cand = &s->storages[in0];
                int shared = 0; /* input 0's buffer also feeds a later operand */
                for (size_t j = 1; j < n->input_count; j++)
                    shared |= n->inputs[j] >= 0 &&
                              s->value_on[(size_t)n->inputs[j] * D + step->dev] == in0;
                if (cand->kind == WEFT_STORAGE_ARENA && !cand->pinned && !shared &&
                    cand->last <= (int)i && cand->bytes == value_bytes(&g->values[v]))
                    at = in0;
            }
            if (at < 0) {
                at = new_storage(s, WEFT_STORAGE_ARENA, value_bytes(&g->values[v]), (int)i);
                s->storages[at].dev = step->dev;
            }
            s->value_storage[v] = at;
            if (sp.last_use[v] > s->storages[at].last)
                s->storages[at].last = sp.last_use[v];
            if (sp.last_use[v] < 0 && s->storages[at].last < (int)i)
                s->storages[at].last = (int)i; /* written, never read */
            if (g->values[v].is_output)
                s->storages[at].pinned = 1;
        }
        step->workspace = -1;
    }
    free(sp.last_use);
    free(sp.last_use_dev);
    free(sp.producer);
    return WEFT_OK;
}

static void fill_op_tensors(weft_session *s, weft_step *step)
{
    const weft_graph *g = s->graph;
    const weft_node *n = &g->nodes[step->node];
    for (size_t k = 0; k < n->input_count; k++) {
        weft_op_tensor *t = &step->inputs[k];
        memset(t, 0, sizeof *t);
        const weft_value *v = weft_node_input(g, n, k);
        if (!v)
            continue;
        t->dtype = v->dtype;
        t->shape = v->shape;
        t->host = v->kind == WEFT_VALUE_CONSTANT ? v->data : NULL;
        int at = s->value_on[(size_t)n->inputs[k] * s->device_count + step->dev];
        t->mem = at >= 0 ? s->storages[at].mem : NULL;
    }
    for (size_t k = 0; k < n->output_count; k++) {
        weft_op_tensor *t = &step->outputs[k];
        memset(t, 0, sizeof *t);
        const weft_value *v = weft_node_output(g, n, k);
        if (!v)
            continue;
        t->dtype = v->dtype;
        t->shape = v->shape;
        int at = s->value_storage[n->outputs[k]];
        t->mem = at >= 0 ? s->storages[at].mem : NULL;
    }
}

static weft_status allocate_device(weft_session *s, size_t d)
{
    const weft_device_state *ds = &s->context->devices[d];
    const weft_device_info *dev = &ds->cl.info;
    cl_context clctx = ds->context;
    cl_uint align_bits = 0;
    clGetDeviceInfo(ds->cl.device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits,
                    &align_bits, NULL);
    uint64_t align = align_bits >= 8 ? align_bits / 8 : 128;
    if (align < 64)
        align = 64;

    size_t arena_count = 0;
    for (size_t i = 0; i < s->storage_count; i++)
        if (s->storages[i].kind == WEFT_STORAGE_ARENA && s->storages[i].dev == d)
            arena_count++;
    weft_mem_request *req = malloc((arena_count ? arena_count : 1) * sizeof *req);
    uint64_t *offsets = malloc((arena_count ? arena_count : 1) * sizeof *offsets);
    size_t *index = malloc((arena_count ? arena_count : 1) * sizeof *index);
    if (!req || !offsets || !index) {
        free(req);
        free(offsets);
        free(index);
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the memory plan");
    }
    size_t r = 0;
    for (size_t i = 0; i < s->storage_count; i++)
        if (s->storages[i].kind == WEFT_STORAGE_ARENA && s->storages[i].dev == d) {
            req[r] = (weft_mem_request){s->storages[i].bytes, s->storages[i].first,
                                        s->storages[i].last};
            index[r++] = i;
        }
    uint64_t total = 0;
    weft_status st = weft_memplan(req, arena_count, align, offsets, &total);
    if (st == WEFT_OK) {
        s->memory.planned_peak_bytes += total;
        s->memory.live_peak_bytes += weft_memplan_live_peak(req, arena_count);
        for (size_t k = 0; k < arena_count; k++)
            s->storages[index[k]].offset = offsets[k];
    }
    free(req);
    free(offsets);
    free(index);
    if (st != WEFT_OK)
        return st;
    /* One arena with a sub-buffer per tensor, unless it would exceed the
     * device's largest allocation or the plan is off. */
    int use_arena = total <= dev->max_alloc_bytes && memory_plan_enabled();
    if (!use_arena) {
        /* Report what is really allocated: every tensor on its own. */
        s->memory.planned_peak_bytes -= total;
        for (size_t i = 0; i < s->storage_count; i++)
            if (s->storages[i].kind == WEFT_STORAGE_ARENA && s->storages[i].dev == d)
                s->memory.planned_peak_bytes += s->storages[i].bytes;
    }
    if (!use_arena)
        weft_log(WEFT_LOG_INFO, "session: one buffer per tensor (%llu bytes planned, device limit %llu)",
                 (unsigned long long)total, (unsigned long long)dev->max_alloc_bytes);
    cl_int err;
    if (total > 0 && use_arena) {
        s->arenas[d] = weft_buffer_create(clctx, CL_MEM_READ_WRITE, total, NULL, &err);
        if (!s->arenas[d])
            return weft_fail(WEFT_ERR_OPENCL,
                             "cannot allocate %llu bytes for intermediate tensors on device '%s': %s",
                             (unsigned long long)total, dev->name, weft_cl_error_name(err));
    }
    for (size_t i = 0; i < s->storage_count; i++) {
        weft_storage *sto = &s->storages[i];
        if (sto->bytes == 0 || sto->dev != d)
            continue;
        if (sto->kind == WEFT_STORAGE_ARENA && use_arena) {
            sto->mem = weft_buffer_create_sub(s->arenas[d], CL_MEM_READ_WRITE, sto->offset,
                                              sto->bytes, &err);
        } else if (sto->kind == WEFT_STORAGE_ARENA) {
            sto->mem = weft_buffer_create(clctx, CL_MEM_READ_WRITE, sto->bytes, NULL, &err);
        } else if (sto->kind == WEFT_STORAGE_INPUT) {
            sto->mem = weft_buffer_create(clctx, CL_MEM_READ_ONLY, sto->bytes, NULL, &err);
            s->memory.io_bytes += sto->bytes;
        } else {
            sto->mem = weft_buffer_create(clctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sto->bytes,
                                      (void *)sto->host, &err);
            s->memory.constant_bytes += sto->bytes;
        }
        if (!sto->mem)
            return weft_fail(WEFT_ERR_OPENCL, "cannot allocate a %llu-byte buffer on device '%s': %s",
                             (unsigned long long)sto->bytes, dev->name, weft_cl_error_name(err));
    }
    return WEFT_OK;
}

/* Constants that every step reading them consumed at prepare (packed
 * weights) stay on the host: their storage becomes empty, so nothing is
 * allocated or uploaded for them (the device holds the packed copy). */
static void drop_host_only_constants(weft_session *s)
{
    const size_t D = s->device_count;
    for (size_t at = 0; at < s->storage_count; at++) {
        weft_storage *sto = &s->storages[at];
        if (sto->kind != WEFT_STORAGE_CONSTANT)
            continue;
        int read_on_device = 0;
        for (size_t v = 0; v < s->graph->value_count && !read_on_device; v++)
            for (size_t d = 0; d < D; d++)
                read_on_device |= s->graph->values[v].is_output &&
                                  s->value_on[v * D + d] == (int)at;
        for (size_t i = 0; i < s->step_count && !read_on_device; i++) {
            const weft_step *step = &s->steps[i];
            const weft_node *n = &s->graph->nodes[step->node];
            for (size_t k = 0; k < n->input_count; k++) {
                int v = n->inputs[k];
                if (v >= 0 && s->value_on[(size_t)v * D + step->dev] == (int)at &&
                    !(k < 32 && (step->host_only >> k) & 1u))
                    read_on_device = 1;
            }
        }
        if (!read_on_device)
            sto->bytes = 0;
    }
}

/* Per device: its own arena and memory plan. Transfers between two
 * cl_contexts also get a host copy. */
static weft_status allocate(weft_session *s)
{
    drop_host_only_constants(s);
    weft_status st = WEFT_OK;
    for (size_t d = 0; d < s->device_count && st == WEFT_OK; d++)
        st = allocate_device(s, d);
    for (size_t t = 0; t < s->transfer_count && st == WEFT_OK; t++) {
        weft_storage *dst = &s->storages[s->transfers[t].dst];
        const weft_storage *src = &s->storages[s->transfers[t].src];
        if (dst->bytes == 0 ||
            s->context->devices[src->dev].context == s->context->devices[dst->dev].context)
            continue;
        dst->staging = malloc((size_t)dst->bytes);
        if (!dst->staging)
            st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for a %llu-byte transfer",
                           (unsigned long long)dst->bytes);
    }
    return st;
}

/* ---- Create and release ----------------------------------------------- */

/* Frees what placement, storages and prepare made, keeping the steps:
 * for release, and for another try after a node's prepare failed on one
 * device. */
static void release_prepared(weft_session *s)
{
    for (size_t i = 0; i < s->step_count; i++) {
        weft_step *step = &s->steps[i];
        if (step->impl && step->impl->release)
            step->impl->release(step->state);
        step->state = NULL;
        step->impl = NULL;
        step->signals = 0;
        for (size_t e = 0; e < step->event_count; e++)
            clReleaseEvent(step->events[e]);
        step->event_count = 0;
        if (step->done)
            clReleaseEvent(step->done);
        step->done = NULL;
    }
    for (size_t i = 0; i < s->storage_count; i++) {
        if (s->storages[i].mem)
            weft_buffer_release(s->storages[i].mem);
        free(s->storages[i].staging);
    }
    free(s->storages);
    s->storages = NULL;
    s->storage_count = 0;
    free(s->value_storage);
    s->value_storage = NULL;
    free(s->value_on);
    s->value_on = NULL;
    for (size_t t = 0; t < s->transfer_count; t++)
        if (s->transfers[t].event)
            clReleaseEvent(s->transfers[t].event);
    free(s->transfers);
    s->transfers = NULL;
    s->transfer_count = 0;
    for (size_t d = 0; s->arenas && d < s->device_count; d++) {
        if (s->arenas[d])
            weft_buffer_release(s->arenas[d]);
        s->arenas[d] = NULL;
    }
    for (size_t i = 0; i < s->kernel_count; i++)
        clReleaseKernel(s->kernels[i]);
    s->kernel_count = 0;
    for (size_t i = 0; i < s->upload_count; i++)
        weft_buffer_release(s->uploads[i]);
    s->upload_count = 0;
    memset(&s->memory, 0, sizeof s->memory);
}

void weft_session_release(weft_session *s)
{
    if (!s)
        return;
    release_prepared(s);
    for (size_t i = 0; i < s->step_count; i++) {
        weft_step *step = &s->steps[i];
        free(step->events);
        free(step->inputs);
        free(step->outputs);
    }
    free(s->steps);
    free(s->arenas);
    free(s->kernels);
    free(s->uploads);
    for (size_t d = 0; s->queues && d < s->device_count; d++)
        if (s->queues[d])
            clReleaseCommandQueue(s->queues[d]);
    free(s->queues);
    weft_graph_release(s->graph);
    free(s);
}

static weft_status create_steps(weft_session *s)
{
    int *order;
    size_t count;
    weft_status st = weft_graph_topo_order(s->graph, &order, &count);
    if (st != WEFT_OK)
        return st;
    s->steps = calloc(count ? count : 1, sizeof *s->steps);
    if (!s->steps) {
        free(order);
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the session");
    }
    for (size_t i = 0; i < count && st == WEFT_OK; i++) {
        weft_step *step = &s->steps[i];
        const weft_node *n = &s->graph->nodes[order[i]];
        s->step_count = i + 1;
        step->node = order[i];
        step->workspace = -1;
        step->inputs = calloc(n->input_count ? n->input_count : 1, sizeof *step->inputs);
        step->outputs = calloc(n->output_count ? n->output_count : 1, sizeof *step->outputs);
        if (!step->inputs || !step->outputs)
            st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the session");
    }
    free(order);
    return st;
}

/* ---- Placement ---------------------------------------------------------- */

#define WHY_CAP 512

/* Estimated link between two devices: one copy inside a shared cl_context,
 * a read to the host and a write otherwise (about memcpy speed on a CPU
 * platform; a GPU's PCIe link is of the same order). */
static double link_seconds_per_byte(const weft_context *ctx, size_t from, size_t to)
{
    if (from == to)
        return 0;
    return ctx->devices[from].context == ctx->devices[to].context ? 1.0 / 8e9 : 2.0 / 8e9;
}

/* Chooses every step's device and implementation. why[(i * D + d) *
 * WHY_CAP], when not empty on entry, bans step i from device d (its
 * prepare failed there); on return it holds why each device cannot run
 * each step. */
static weft_status place_steps(weft_session *s, const char *force, const char *spec,
                               size_t preferred, char *why)
{
    const size_t D = s->device_count, n = s->step_count, nv = s->graph->value_count;
    weft_context *ctx = s->context;
    const weft_op_impl **impls = calloc(n * D + 1, sizeof *impls);
    int *variants = calloc(n * D + 1, sizeof *variants);
    double *cost = malloc((n * D + 1) * sizeof *cost);
    double *link = malloc(D * D * sizeof *link);
    size_t *edge_start = malloc((n + 1) * sizeof *edge_start);
    int *device = malloc((n + 1) * sizeof *device);
    int *forced = malloc((n + 1) * sizeof *forced);
    int *producer = malloc((nv + 1) * sizeof *producer);
    const char **names = malloc((n + 1) * sizeof *names);
    size_t *order = malloc(D * sizeof *order);
    size_t edge_count = 0;
    for (size_t i = 0; i < n; i++)
        edge_count += s->graph->nodes[s->steps[i].node].input_count;
    weft_place_edge *edges = malloc((edge_count + 1) * sizeof *edges);
    weft_status st = WEFT_OK;
    if (!impls || !variants || !cost || !link || !edge_start || !device || !forced || !producer || !names ||
        !order || !edges) {
        st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory to place the session");
        goto out;
    }
    weft_device_state *keep = s->device;
    for (size_t i = 0; i < n && st == WEFT_OK; i++) {
        const weft_node *node = &s->graph->nodes[s->steps[i].node];
        names[i] = node->name;
        for (size_t d = 0; d < D; d++) {
            char *w = &why[(i * D + d) * WHY_CAP];
            cost[i * D + d] = -1;
            if (*w)
                continue; /* banned: its prepare failed there */
            if (weft_test_hook("WEFT_TEST_REFUSE", d, node->op)) {
                snprintf(w, WHY_CAP, "refused by WEFT_TEST_REFUSE");
                continue;
            }
            /* choose_impl plans for s->device. */
            s->device = &ctx->devices[d];
            const weft_op_impl *impl = NULL;
            int variant = -1;
            st = choose_impl(s, node, force, &impl, &variant);
            s->device = keep;
            if (st == WEFT_ERR_UNSUPPORTED && D > 1) {
                snprintf(w, WHY_CAP, "%s", weft_last_error());
                st = WEFT_OK;
                continue;
            }
            if (st != WEFT_OK)
                break;
            impls[i * D + d] = impl;
            variants[i * D + d] = variant;
            /* A launch costs something even when the estimate says 0. */
            cost[i * D + d] = impl->alias || !impl->enqueue
                                  ? 0
                                  : 10e-6 + (impl->cost ? impl->cost(s->graph, node,
                                                                     &ctx->devices[d].cl.info)
                                                        : 0);
            if (cost[i * D + d] < 0)
                cost[i * D + d] = 0;
        }
    }
    if (st != WEFT_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        size_t d = 0;
        while (d < D && cost[i * D + d] < 0)
            d++;
        if (d < D)
            continue;
        const weft_node *node = &s->graph->nodes[s->steps[i].node];
        if (D == 1) { /* e.g. a build failure banned its only device */
            st = weft_fail(WEFT_ERR_UNSUPPORTED, "%s", why);
            goto out;
        }
        st = weft_node_fail(node, WEFT_ERR_UNSUPPORTED, "no device of the context can run it:");
        for (d = 0; d < D; d++)
            weft_fail_append("\n  device %zu '%s': %s", d, ctx->devices[d].cl.info.name,
                             &why[(i * D + d) * WHY_CAP]);
        goto out;
    }

    weft_place_mode mode;
    st = weft_place_parse(spec, D, names, n, &mode, forced);
    if (st != WEFT_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        device[i] = forced[i];
        if (forced[i] >= 0 && cost[i * D + (size_t)forced[i]] < 0) {
            st = weft_node_fail(&s->graph->nodes[s->steps[i].node], WEFT_ERR_UNSUPPORTED,
                                "placement '%s' puts it on device %d '%s', which cannot run it: %s",
                                spec, forced[i], ctx->devices[forced[i]].cl.info.name,
                                &why[(i * D + (size_t)forced[i]) * WHY_CAP]);
            goto out;
        }
    }
    for (size_t v = 0; v < nv; v++)
        producer[v] = -1;
    size_t e = 0;
    for (size_t i = 0; i < n; i++) {
        const weft_node *node = &s->graph->nodes[s->steps[i].node];
        edge_start[i] = e;
        for (size_t k = 0; k < node->input_count; k++) {
            int v = node->inputs[k];
            if (v >= 0 && producer[v] >= 0)
                edges[e++] = (weft_place_edge){(size_t)producer[v],
                                               (double)value_bytes(&s->graph->values[v])};
        }
        for (size_t k = 0; k < node->output_count; k++)
            if (node->outputs[k] >= 0)
                producer[node->outputs[k]] = (int)i;
    }
    edge_start[n] = e;
    for (size_t a = 0; a < D; a++)
        for (size_t b = 0; b < D; b++)
            link[a * D + b] = link_seconds_per_byte(ctx, a, b);
    order[0] = preferred;
    for (size_t d = 0, k = 1; d < D; d++)
        if (d != preferred)
            order[k++] = d;
    weft_place_problem prob = {.nodes = n, .devices = D, .cost = cost, .edge_start = edge_start,
                               .edges = edges, .link = link, .latency = 20e-6};
    weft_place(&prob, mode, order, device);

    size_t moved = 0;
    for (size_t i = 0; i < n; i++) {
        weft_step *step = &s->steps[i];
        step->dev = (size_t)device[i];
        step->impl = impls[i * D + step->dev];
        step->variant = variants[i * D + step->dev];
        step->tuned = step->variant >= 0;
        if (!step->tuned)
            step->variant = 0;
        step->fallback[0] = '\0';
        if (step->dev != preferred && forced[i] < 0 && cost[i * D + preferred] < 0) {
            const weft_node *node = &s->graph->nodes[step->node];
            snprintf(step->fallback, sizeof step->fallback, "%s",
                     &why[(i * D + preferred) * WHY_CAP]);
            weft_log(WEFT_LOG_INFO, "session: node '%s' (%s) runs on device %zu '%s' instead of device %zu: %s",
                     node->name, node->op, step->dev, ctx->devices[step->dev].cl.info.name,
                     preferred, step->fallback);
            moved++;
        }
    }
    if (D > 1)
        weft_log(WEFT_LOG_INFO, "session: %zu nodes on %zu devices (placement %s), %zu fell back, "
                 "estimated %.3f ms",
                 n, D, spec ? spec : "auto", moved, 1e3 * weft_place_makespan(&prob, device));
out:
    free(impls);
    free(variants);
    free(cost);
    free(link);
    free(edge_start);
    free(device);
    free(forced);
    free(producer);
    free(names);
    free(order);
    free(edges);
    return st;
}

/* WEFT_LOG=info tells how long preparing took and how much of it went
 * to getting programs (the rest: packing and uploading weights). */
static weft_status prepare_steps(weft_session *s)
{
    double t0 = weft_now_ms();
    double program_ms = weft_program_ms(s->context);
    weft_cache_stats before, after;
    weft_context_cache_stats(s->context, &before);
    weft_status st = WEFT_OK;
    for (size_t i = 0; i < s->step_count && st == WEFT_OK; i++) {
        weft_step *step = &s->steps[i];
        const weft_node *n = &s->graph->nodes[step->node];
        fill_op_tensors(s, step);
        if (!step->impl->prepare)
            continue;
        weft_prepare p = {
            .graph = s->graph,
            .node = n,
            .device = &weft_step_device(s, step)->cl.info,
            .inputs = step->inputs,
            .input_count = n->input_count,
            .outputs = step->outputs,
            .output_count = n->output_count,
            .session = s,
            .variant = step->variant,
        };
        s->current = step;
        st = step->impl->prepare(&p);
        step->state = p.state;
        step->workspace_bytes = p.workspace_bytes;
        step->host_only = p.host_only;
        if (st == WEFT_OK && p.workspace_bytes > 0) {
            int at = new_storage(s, WEFT_STORAGE_ARENA, p.workspace_bytes, (int)i);
            step->workspace = at;
            s->storages[at].dev = step->dev;
        }
        if (st != WEFT_OK)
            s->failed_step = (int)i;
    }
    s->current = NULL;
    double t1 = weft_now_ms();
    program_ms = weft_program_ms(s->context) - program_ms;
    weft_context_cache_stats(s->context, &after);
    weft_log(WEFT_LOG_INFO,
             "session: prepared %zu steps in %.0f ms, %.0f ms of it getting programs (%llu "
             "built, %llu from disk or bundle, %llu from memory)",
             s->step_count, t1 - t0, program_ms,
             (unsigned long long)(after.builds - before.builds),
             (unsigned long long)(after.disk_hits + after.bundle_hits - before.disk_hits -
                                  before.bundle_hits),
             (unsigned long long)(after.memory_hits - before.memory_hits));
    return st;
}

weft_status weft_session_create(weft_context *context, const weft_graph *graph,
                                const weft_session_options *options, weft_session **session)
{
    if (!context || !graph || !session)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_session_create: %s is NULL",
                         !context ? "context" : !graph ? "graph" : "session");
    *session = NULL;
    weft_session_options defaults;
    if (!options) {
        weft_session_options_defaults(&defaults);
        options = &defaults;
    }
    if (options->device_index >= context->device_count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                         "weft_session_create: device %zu, but the context has %zu device(s)",
                         options->device_index, context->device_count);
    weft_session *s = calloc(1, sizeof *s);
    if (!s)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for a session");
    s->context = context;
    s->device = &context->devices[options->device_index];
    s->profiling = options->profiling || context->profiling;
    const char *force = options->force_impl ? options->force_impl : getenv("WEFT_IMPL");
    if (force && !*force)
        force = NULL;
    const char *placement = options->placement ? options->placement : getenv("WEFT_PLACEMENT");
    if (placement && !*placement)
        placement = NULL;
    s->device_count = context->device_count;
    s->failed_step = -1;
    s->queues = calloc(s->device_count, sizeof *s->queues);
    s->arenas = calloc(s->device_count, sizeof *s->arenas);

    weft_status st = s->queues && s->arenas
                         ? weft_graph_clone(graph, &s->graph)
                         : weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for a session");
    if (st == WEFT_OK)
        st = weft_graph_simplify(s->graph);
    if (st == WEFT_OK)
        st = weft_tuning_session_begin(s, options);
    if (st == WEFT_OK)
        st = create_steps(s);
    char *why = NULL;
    if (st == WEFT_OK && !(why = calloc(s->step_count * s->device_count + 1, WHY_CAP)))
        st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for a session");
    /* A node whose program fails to build (or has no binary) on its device
     * is banned there and everything is placed again: the programs built
     * so far come back from the context's memory cache. */
    while (st == WEFT_OK) {
        st = place_steps(s, force, placement, options->device_index, why);
        if (st == WEFT_OK)
            st = assign_storages(s);
        s->failed_step = -1;
        if (st == WEFT_OK)
            st = prepare_steps(s);
        if (st == WEFT_OK || s->device_count < 2 || s->failed_step < 0 ||
            (st != WEFT_ERR_BUILD && st != WEFT_ERR_UNSUPPORTED))
            break;
        weft_step *failed = &s->steps[s->failed_step];
        snprintf(&why[((size_t)s->failed_step * s->device_count + failed->dev) * WHY_CAP], WHY_CAP,
                 "%s", weft_last_error());
        release_prepared(s);
        st = WEFT_OK;
    }
    weft_tuning_session_end(s);
    free(why);
    if (st == WEFT_OK)
        st = allocate(s);
    for (size_t d = 0; d < s->device_count && st == WEFT_OK; d++) {
        const weft_device_state *ds = &context->devices[d];
        cl_int err;
        s->queues[d] = clCreateCommandQueue(ds->context, ds->cl.device,
                                            s->profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
        if (!s->queues[d])
            st = weft_fail(WEFT_ERR_OPENCL, "clCreateCommandQueue on device '%s': %s",
                           ds->cl.info.name, weft_cl_error_name(err));
    }
    if (st == WEFT_OK)
        s->queue = s->queues[options->device_index];
    if (st != WEFT_OK) {
        weft_session_release(s);
        return st;
    }
    for (size_t i = 0; i < s->step_count; i++)
        fill_op_tensors(s, &s->steps[i]);
    *session = s;
    return WEFT_OK;
}

/* ---- Running ------------------------------------------------------------ */

/* A node's time is the sum of its kernels' START -> END: on an in-order
 * queue every kernel is queued at once, so from QUEUED a node would also
 * count the time it waited for the nodes before it. */
static weft_status collect_profile(weft_session *s)
{
    cl_ulong base = 0;
    for (size_t i = 0; i < s->step_count; i++)
        for (size_t e = 0; e < s->steps[i].event_count; e++) {
            cl_ulong start = 0;
            clGetEventProfilingInfo(s->steps[i].events[e], CL_PROFILING_COMMAND_START,
                                    sizeof start, &start, NULL);
            if (start && (!base || start < base))
                base = start;
        }
    for (size_t i = 0; i < s->step_count; i++) {
        weft_step *step = &s->steps[i];
        cl_ulong total = 0, first = 0, last = 0;
        for (size_t e = 0; e < step->event_count; e++) {
            cl_ulong start = 0, end = 0;
            clGetEventProfilingInfo(step->events[e], CL_PROFILING_COMMAND_START, sizeof start,
                                    &start, NULL);
            clGetEventProfilingInfo(step->events[e], CL_PROFILING_COMMAND_END, sizeof end, &end,
                                    NULL);
            if (end > start)
                total += end - start;
            if (start && (!first || start < first))
                first = start;
            if (end > last)
                last = end;
            clReleaseEvent(step->events[e]);
        }
        step->time_ms = (double)total / 1e6;
        step->start_ms = first >= base && first ? (double)(first - base) / 1e6 : 0;
        step->end_ms = last >= base && last ? (double)(last - base) / 1e6 : 0;
        step->event_count = 0;
    }
    return WEFT_OK;
}

static char *shape_text(const weft_shape *sh, char *buf, size_t cap)
{
    return weft_shape_format(sh, buf, cap);
}

static weft_status check_input(const weft_value *v, const weft_tensor *t)
{
    weft_shape given = {.rank = t->rank};
    if (t->rank < 0 || t->rank > WEFT_MAX_RANK)
        return weft_fail(WEFT_ERR_SHAPE, "input '%s': rank %d is out of range", v->name, t->rank);
    for (int i = 0; i < t->rank; i++)
        given.dims[i] = t->dims[i];
    char a[128], b[128];
    if (t->dtype != v->dtype || !weft_shape_equal(&given, &v->shape))
        return weft_fail(WEFT_ERR_SHAPE, "input '%s': given %s%s, the graph expects %s%s", v->name,
                         weft_dtype_name(t->dtype), shape_text(&given, a, sizeof a),
                         weft_dtype_name(v->dtype), shape_text(&v->shape, b, sizeof b));
    if (!t->data && value_bytes(v) > 0)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "input '%s' has no data", v->name);
    return WEFT_OK;
}

static int find_io(const weft_graph *g, const int *list, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(g->values[list[i]].name, name) == 0)
            return list[i];
    return -1;
}

/* Between two cl_contexts a copy goes through the host: the read's
 * completion releases the write on the other queue through a user event,
 * so no host thread waits for it. */
static void CL_CALLBACK transfer_read_done(cl_event read, cl_int status, void *user)
{
    (void)read;
    cl_event ready = user;
    clSetUserEventStatus(ready, status < 0 ? status : CL_COMPLETE);
    clReleaseEvent(ready);
}

/* Device quirks of cross-device edges, in one place. PoCL's "basic"
 * driver runs a command in whichever thread completes the command's last
 * dependency; when that is a pthread-driver worker or an event callback,
 * PoCL 3.1 deadlocks on its event lock (seen: pocl_broadcast ->
 * pocl_exec_command -> pocl_update_event_running). Edges touching such a
 * device are therefore synchronised on the host: the copy is enqueued
 * once the producer has finished, with no cross-queue event wait. */
static int host_synchronised(const weft_device_info *a, const weft_device_info *b)
{
    const weft_device_info *d[2] = {a, b};
    for (int i = 0; i < 2; i++)
        if (strstr(d[i]->platform_name, "Portable Computing Language") &&
            strncmp(d[i]->name, "basic", 5) == 0)
            return 1;
    return 0;
}

static weft_status enqueue_transfer(weft_session *s, weft_transfer *t)
{
    const weft_storage *src = &s->storages[t->src];
    weft_storage *dst = &s->storages[t->dst];
    if (!src->mem || !dst->mem)
        return WEFT_OK;
    cl_command_queue q = s->queues[dst->dev];
    cl_event wait = s->steps[t->producer].done;
    if (t->event)
        clReleaseEvent(t->event);
    t->event = NULL;
    cl_event *out = s->profiling ? &t->event : NULL;
    cl_int err = CL_SUCCESS;
    if (host_synchronised(&s->context->devices[src->dev].cl.info,
                          &s->context->devices[dst->dev].cl.info)) {
        /* The producer's queue is in order: finishing it finishes the producer. */
        err = clFinish(s->queues[src->dev]);
        if (err == CL_SUCCESS && !dst->staging)
            err = clEnqueueCopyBuffer(q, src->mem, dst->mem, 0, 0, (size_t)t->bytes, 0, NULL,
                                      out);
        else if (err == CL_SUCCESS)
            err = clEnqueueReadBuffer(s->queues[src->dev], src->mem, CL_TRUE, 0,
                                      (size_t)t->bytes, dst->staging, 0, NULL, NULL);
        if (err == CL_SUCCESS && dst->staging)
            err = clEnqueueWriteBuffer(q, dst->mem, CL_FALSE, 0, (size_t)t->bytes, dst->staging,
                                       0, NULL, out);
    } else if (!dst->staging) {
        /* One cl_context: the copy waits on the producer's marker. */
        err = clEnqueueCopyBuffer(q, src->mem, dst->mem, 0, 0, (size_t)t->bytes, wait ? 1 : 0,
                                  wait ? &wait : NULL, out);
    } else {
        /* The read is on the producer's in-order queue, after it. */
        cl_event read = NULL, ready = NULL;
        err = clEnqueueReadBuffer(s->queues[src->dev], src->mem, CL_FALSE, 0, (size_t)t->bytes,
                                  dst->staging, 0, NULL, &read);
        if (err == CL_SUCCESS)
            ready = clCreateUserEvent(s->context->devices[dst->dev].context, &err);
        if (err == CL_SUCCESS) {
            clRetainEvent(ready); /* the callback's reference */
            err = clSetEventCallback(read, CL_COMPLETE, transfer_read_done, ready);
            if (err != CL_SUCCESS) {
                clSetUserEventStatus(ready, err);
                clReleaseEvent(ready);
            }
        }
        if (err == CL_SUCCESS)
            err = clFlush(s->queues[src->dev]);
        if (err == CL_SUCCESS)
            err = clEnqueueWriteBuffer(q, dst->mem, CL_FALSE, 0, (size_t)t->bytes, dst->staging,
                                       1, &ready, out);
        if (read)
            clReleaseEvent(read);
        if (ready)
            clReleaseEvent(ready);
    }
    if (err != CL_SUCCESS)
        return weft_fail(WEFT_ERR_OPENCL, "copying %llu bytes from device %zu '%s' to device %zu '%s': %s",
                         (unsigned long long)t->bytes, src->dev,
                         s->context->devices[src->dev].cl.info.name, dst->dev,
                         s->context->devices[dst->dev].cl.info.name, weft_cl_error_name(err));
    return WEFT_OK;
}

/* Each device runs its steps in order on its own in-order queue; a step
 * reading another device's output first gets a copy that waits for the
 * producer's marker event, so independent branches on two devices overlap. */
static weft_status enqueue_all(weft_session *s)
{
    weft_status st = WEFT_OK;
    size_t t = 0;
    for (size_t i = 0; i < s->step_count && st == WEFT_OK; i++) {
        weft_step *step = &s->steps[i];
        const weft_node *n = &s->graph->nodes[step->node];
        for (; t < s->transfer_count && s->transfers[t].step == (int)i && st == WEFT_OK; t++)
            st = enqueue_transfer(s, &s->transfers[t]);
        if (st != WEFT_OK)
            break;
        if (step->impl->enqueue) {
            weft_run r = {
                .node = n,
                .state = step->state,
                .inputs = step->inputs,
                .input_count = n->input_count,
                .outputs = step->outputs,
                .output_count = n->output_count,
                .workspace = step->workspace >= 0 ? s->storages[step->workspace].mem : NULL,
                .queue = s->queues[step->dev],
                .session = s,
            };
            s->current = step;
            st = step->impl->enqueue(&r);
        }
        if (st == WEFT_OK && step->signals) {
            if (step->done)
                clReleaseEvent(step->done);
            step->done = NULL;
            cl_int err = clEnqueueMarkerWithWaitList(s->queues[step->dev], 0, NULL, &step->done);
            if (err != CL_SUCCESS)
                st = weft_node_fail(n, WEFT_ERR_OPENCL, "marker on device %zu: %s", step->dev,
                                    weft_cl_error_name(err));
        }
    }
    s->current = NULL;
    return st;
}

weft_status weft_session_run(weft_session *s, const weft_tensor *inputs, size_t input_count,
                             weft_tensor *outputs, size_t output_count)
{
    if (!s || (!inputs && input_count) || (!outputs && output_count))
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_session_run: %s is NULL",
                         !s ? "session" : !outputs && output_count ? "outputs" : "inputs");
    const weft_graph *g = s->graph;
    if (input_count != g->input_count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_session_run: %zu inputs given, the graph has %zu",
                         input_count, g->input_count);
    for (size_t i = 0; i < input_count; i++) {
        if (!inputs[i].name)
            return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_session_run: input %zu has no name", i);
        int v = find_io(g, g->inputs, g->input_count, inputs[i].name);
        if (v < 0)
            return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_session_run: '%s' is not a graph input",
                             inputs[i].name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(inputs[j].name, inputs[i].name) == 0)
                return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_session_run: input '%s' given twice",
                                 inputs[i].name);
        weft_status st = check_input(&g->values[v], &inputs[i]);
        if (st != WEFT_OK)
            return st;
    }
    int *out_values = malloc((output_count ? output_count : 1) * sizeof *out_values);
    if (!out_values)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory to run");
    weft_status st = WEFT_OK;
    for (size_t i = 0; i < output_count && st == WEFT_OK; i++) {
        int v = outputs[i].name ? find_io(g, g->outputs, g->output_count, outputs[i].name) : -1;
        out_values[i] = v;
        if (v < 0)
            st = weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_session_run: output %zu ('%s') is not a graph output",
                           i, outputs[i].name ? outputs[i].name : "(null)");
        else if (outputs[i].size_bytes < value_bytes(&g->values[v]) ||
                 (!outputs[i].data && value_bytes(&g->values[v]) > 0))
            st = weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                           "weft_session_run: output '%s' needs %llu bytes, %zu given",
                           outputs[i].name, (unsigned long long)value_bytes(&g->values[v]),
                           outputs[i].data ? outputs[i].size_bytes : 0);
    }
    cl_int err = CL_SUCCESS;
    for (size_t i = 0; i < input_count && st == WEFT_OK; i++) {
        int v = find_io(g, g->inputs, g->input_count, inputs[i].name);
        int home = s->value_storage[v];
        /* The input's buffer, and its own buffer on every other device reading it. */
        for (size_t k = 0; k < s->storage_count && st == WEFT_OK; k++) {
            const weft_storage *sto = &s->storages[k];
            if ((int)k != home && sto->copy_of != home + 1)
                continue;
            if (sto->mem)
                err = clEnqueueWriteBuffer(s->queues[sto->dev], sto->mem, CL_FALSE, 0, sto->bytes,
                                           inputs[i].data, 0, NULL, NULL);
            if (err != CL_SUCCESS)
                st = weft_fail(WEFT_ERR_OPENCL, "writing input '%s' to device '%s': %s",
                               inputs[i].name, s->context->devices[sto->dev].cl.info.name,
                               weft_cl_error_name(err));
        }
    }
    if (st == WEFT_OK)
        st = enqueue_all(s);
    for (size_t i = 0; i < output_count && st == WEFT_OK; i++) {
        const weft_value *val = &g->values[out_values[i]];
        const weft_storage *sto = &s->storages[s->value_storage[out_values[i]]];
        weft_tensor *t = &outputs[i];
        t->dtype = val->dtype;
        t->rank = val->shape.rank;
        for (int d = 0; d < val->shape.rank; d++)
            t->dims[d] = val->shape.dims[d];
        if (sto->kind == WEFT_STORAGE_CONSTANT)
            memcpy(t->data, sto->host, (size_t)sto->bytes);
        else if (sto->mem)
            err = clEnqueueReadBuffer(s->queues[sto->dev], sto->mem, CL_FALSE, 0, value_bytes(val),
                                      t->data, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            st = weft_fail(WEFT_ERR_OPENCL, "reading output '%s' from device '%s': %s", val->name,
                           s->context->devices[sto->dev].cl.info.name, weft_cl_error_name(err));
    }
    /* Always wait: the queues may still read the caller's input memory.
     * Every queue is flushed first, since one may wait for another. */
    for (size_t d = 0; d < s->device_count; d++)
        clFlush(s->queues[d]);
    for (size_t d = 0; d < s->device_count; d++) {
        err = clFinish(s->queues[d]);
        if (st == WEFT_OK && err != CL_SUCCESS)
            st = weft_fail(WEFT_ERR_OPENCL, "running on device '%s': %s",
                           s->context->devices[d].cl.info.name, weft_cl_error_name(err));
    }
    if (s->profiling)
        collect_profile(s);
    free(out_values);
    /* The programs have now made their launch code: their binaries carry
     * it into the disk cache (runtime/program.c, deferred saves). */
    if (st == WEFT_OK)
        weft_program_saves_start(s->context);
    return st;
}

weft_status weft_session_poison(weft_session *s, float value)
{
    /* Written from a host copy rather than with clEnqueueFillBuffer, which
     * oclgrind 21.10 records wrongly (later kernel writes to the buffer are
     * then reported as uninitialised). */
    cl_int err = CL_SUCCESS;
    for (size_t i = 0; i < s->storage_count && err == CL_SUCCESS; i++) {
        const weft_storage *sto = &s->storages[i];
        if (!sto->mem || sto->kind == WEFT_STORAGE_CONSTANT)
            continue;
        size_t n = (size_t)(sto->bytes / sizeof value);
        float *fill = malloc(n * sizeof value + 1);
        if (!fill)
            return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory to poison buffers");
        for (size_t k = 0; k < n; k++)
            fill[k] = value;
        err = clEnqueueWriteBuffer(s->queues[sto->dev], sto->mem, CL_TRUE, 0, n * sizeof value,
                                   fill, 0, NULL, NULL);
        free(fill);
    }
    return err == CL_SUCCESS ? WEFT_OK
                             : weft_fail(WEFT_ERR_OPENCL, "poisoning buffers: %s",
                                         weft_cl_error_name(err));
}

/* ---- Queries ---------------------------------------------------------- */

static weft_status io_info(const weft_session *s, const int *list, size_t count, size_t index,
                           weft_tensor *info, const char *fn)
{
    if (!s || !info)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, !s ? "session" : "info");
    if (index >= count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: index %zu, but there are %zu", fn, index,
                         count);
    const weft_value *v = &s->graph->values[list[index]];
    memset(info, 0, sizeof *info);
    info->name = v->name;
    info->dtype = v->dtype;
    info->rank = v->shape.rank;
    for (int d = 0; d < v->shape.rank; d++)
        info->dims[d] = v->shape.dims[d];
    info->size_bytes = value_bytes(v);
    return WEFT_OK;
}

weft_status weft_session_input_count(const weft_session *s, size_t *count)
{
    if (!s || !count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_session_input_count: %s is NULL",
                         !s ? "session" : "count");
    *count = s->graph->input_count;
    return WEFT_OK;
}

weft_status weft_session_output_count(const weft_session *s, size_t *count)
{
    if (!s || !count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_session_output_count: %s is NULL",
                         !s ? "session" : "count");
    *count = s->graph->output_count;
    return WEFT_OK;
}

weft_status weft_session_input_info(const weft_session *s, size_t index, weft_tensor *info)
{
    return io_info(s, s ? s->graph->inputs : NULL, s ? s->graph->input_count : 0, index, info,
                   "weft_session_input_info");
}

weft_status weft_session_output_info(const weft_session *s, size_t index, weft_tensor *info)
{
    return io_info(s, s ? s->graph->outputs : NULL, s ? s->graph->output_count : 0, index, info,
                   "weft_session_output_info");
}

weft_status weft_session_memory(const weft_session *s, weft_memory_stats *stats)
{
    if (!s || !stats)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_session_memory: %s is NULL",
                         !s ? "session" : "stats");
    *stats = s->memory;
    return WEFT_OK;
}

weft_status weft_session_node_count(const weft_session *s, size_t *count)
{
    if (!s || !count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_session_node_count: %s is NULL",
                         !s ? "session" : "count");
    *count = s->step_count;
    return WEFT_OK;
}

weft_status weft_session_node_info(const weft_session *s, size_t index, weft_node_info *info)
{
    if (!s || !info)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_session_node_info: %s is NULL",
                         !s ? "session" : "info");
    if (index >= s->step_count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                         "weft_session_node_info: index %zu, but the session runs %zu nodes", index,
                         s->step_count);
    const weft_step *step = &s->steps[index];
    const weft_node *n = &s->graph->nodes[step->node];
    info->name = n->name;
    info->op = n->op;
    info->impl = step->impl->name;
    info->device = weft_step_device(s, step)->cl.info.name;
    info->device_index = step->dev;
    info->fallback_reason = step->fallback;
    info->start_ms = step->start_ms;
    info->end_ms = step->end_ms;
    info->time_ms = step->time_ms;
    info->tuned = step->tuned;
    info->variant = step->variant > 0 && step->impl->variant
                        ? step->impl->variant(&weft_step_device(s, step)->cl.info, step->variant)
                        : NULL;
    return WEFT_OK;
}
