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
#include "runtime/session.h"

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

static weft_status choose_impl(const weft_session *s, const weft_node *n, const char *force,
                               const weft_op_impl **chosen)
{
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

static weft_status assign_storages(weft_session *s)
{
    weft_graph *g = s->graph;
    size_t nv = g->value_count;
    int *last_use = malloc((nv ? nv : 1) * sizeof *last_use);
    s->value_storage = malloc((nv ? nv : 1) * sizeof *s->value_storage);
    /* At most: one per value, plus one workspace per step. */
    s->storages = calloc(nv + s->step_count + 1, sizeof *s->storages);
    if (!last_use || !s->value_storage || !s->storages) {
        free(last_use);
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the memory plan");
    }
    const int end = (int)s->step_count; /* graph outputs live to the end */
    for (size_t v = 0; v < nv; v++) {
        last_use[v] = g->values[v].is_output ? end : -1;
        s->value_storage[v] = -1;
    }
    for (size_t i = 0; i < s->step_count; i++) {
        const weft_node *n = &g->nodes[s->steps[i].node];
        for (size_t k = 0; k < n->input_count; k++)
            if (n->inputs[k] >= 0 && last_use[n->inputs[k]] < (int)i)
                last_use[n->inputs[k]] = (int)i;
    }
    for (size_t v = 0; v < nv; v++) {
        weft_value *val = &g->values[v];
        if (val->kind == WEFT_VALUE_INPUT) {
            int at = new_storage(s, WEFT_STORAGE_INPUT, value_bytes(val), 0);
            s->storages[at].last = end;
            s->value_storage[v] = at;
        } else if (val->kind == WEFT_VALUE_CONSTANT && last_use[v] >= 0) {
            int at = new_storage(s, WEFT_STORAGE_CONSTANT, value_bytes(val), 0);
            s->storages[at].last = end;
            s->storages[at].host = val->data;
            s->value_storage[v] = at;
        }
    }
    for (size_t i = 0; i < s->step_count; i++) {
        weft_step *step = &s->steps[i];
        const weft_node *n = &g->nodes[step->node];
        int in0 = n->input_count > 0 && n->inputs[0] >= 0 ? s->value_storage[n->inputs[0]] : -1;
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
                    shared |= n->inputs[j] >= 0 && s->value_storage[n->inputs[j]] == in0;
                if (cand->kind == WEFT_STORAGE_ARENA && !cand->pinned && !shared &&
                    cand->last <= (int)i && cand->bytes == value_bytes(&g->values[v]))
                    at = in0;
            }
            if (at < 0)
                at = new_storage(s, WEFT_STORAGE_ARENA, value_bytes(&g->values[v]), (int)i);
            s->value_storage[v] = at;
            if (last_use[v] > s->storages[at].last)
                s->storages[at].last = last_use[v];
            if (last_use[v] < 0 && s->storages[at].last < (int)i)
                s->storages[at].last = (int)i; /* written, never read */
            if (g->values[v].is_output)
                s->storages[at].pinned = 1;
        }
        step->workspace = -1;
    }
    free(last_use);
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
        int at = s->value_storage[n->inputs[k]];
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

static weft_status allocate(weft_session *s)
{
    const weft_device_info *dev = &s->device->cl.info;
    cl_context clctx = s->device->context;
    cl_uint align_bits = 0;
    clGetDeviceInfo(s->device->cl.device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits,
                    &align_bits, NULL);
    uint64_t align = align_bits >= 8 ? align_bits / 8 : 128;
    if (align < 64)
        align = 64;

    size_t arena_count = 0;
    for (size_t i = 0; i < s->storage_count; i++)
        if (s->storages[i].kind == WEFT_STORAGE_ARENA)
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
        if (s->storages[i].kind == WEFT_STORAGE_ARENA) {
            req[r] = (weft_mem_request){s->storages[i].bytes, s->storages[i].first,
                                        s->storages[i].last};
            index[r++] = i;
        }
    uint64_t total = 0;
    weft_status st = weft_memplan(req, arena_count, align, offsets, &total);
    if (st == WEFT_OK) {
        s->memory.planned_peak_bytes = total;
        s->memory.live_peak_bytes = weft_memplan_live_peak(req, arena_count);
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
        s->memory.planned_peak_bytes = 0;
        for (size_t i = 0; i < s->storage_count; i++)
            if (s->storages[i].kind == WEFT_STORAGE_ARENA)
                s->memory.planned_peak_bytes += s->storages[i].bytes;
    }
    if (!use_arena)
        weft_log(WEFT_LOG_INFO, "session: one buffer per tensor (%llu bytes planned, device limit %llu)",
                 (unsigned long long)total, (unsigned long long)dev->max_alloc_bytes);
    cl_int err;
    if (total > 0 && use_arena) {
        s->arena = weft_buffer_create(clctx, CL_MEM_READ_WRITE, total, NULL, &err);
        if (!s->arena)
            return weft_fail(WEFT_ERR_OPENCL,
                             "cannot allocate %llu bytes for intermediate tensors on device '%s': %s",
                             (unsigned long long)total, dev->name, weft_cl_error_name(err));
    }
    for (size_t i = 0; i < s->storage_count; i++) {
        weft_storage *sto = &s->storages[i];
        if (sto->bytes == 0)
            continue;
        if (sto->kind == WEFT_STORAGE_ARENA && use_arena) {
            sto->mem = weft_buffer_create_sub(s->arena, CL_MEM_READ_WRITE, sto->offset,
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

/* ---- Create and release ----------------------------------------------- */

void weft_session_release(weft_session *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->step_count; i++) {
        weft_step *step = &s->steps[i];
        if (step->impl && step->impl->release)
            step->impl->release(step->state);
        for (size_t e = 0; e < step->event_count; e++)
            clReleaseEvent(step->events[e]);
        free(step->events);
        free(step->inputs);
        free(step->outputs);
    }
    free(s->steps);
    for (size_t i = 0; i < s->storage_count; i++)
        if (s->storages[i].mem)
            weft_buffer_release(s->storages[i].mem);
    free(s->storages);
    free(s->value_storage);
    if (s->arena)
        weft_buffer_release(s->arena);
    for (size_t i = 0; i < s->kernel_count; i++)
        clReleaseKernel(s->kernels[i]);
    free(s->kernels);
    for (size_t i = 0; i < s->upload_count; i++)
        weft_buffer_release(s->uploads[i]);
    free(s->uploads);
    if (s->queue)
        clReleaseCommandQueue(s->queue);
    weft_graph_release(s->graph);
    free(s);
}

static weft_status create_steps(weft_session *s, const char *force)
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
        else
            st = choose_impl(s, n, force, &step->impl);
    }
    free(order);
    return st;
}

static weft_status prepare_steps(weft_session *s)
{
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
            .device = &s->device->cl.info,
            .inputs = step->inputs,
            .input_count = n->input_count,
            .outputs = step->outputs,
            .output_count = n->output_count,
            .session = s,
        };
        s->current = step;
        st = step->impl->prepare(&p);
        step->state = p.state;
        step->workspace_bytes = p.workspace_bytes;
        if (st == WEFT_OK && p.workspace_bytes > 0) {
            int at = new_storage(s, WEFT_STORAGE_ARENA, p.workspace_bytes, (int)i);
            step->workspace = at;
        }
    }
    s->current = NULL;
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

    weft_status st = weft_graph_clone(graph, &s->graph);
    if (st == WEFT_OK)
        st = weft_graph_simplify(s->graph);
    if (st == WEFT_OK)
        st = create_steps(s, force);
    if (st == WEFT_OK)
        st = assign_storages(s);
    if (st == WEFT_OK)
        st = prepare_steps(s);
    if (st == WEFT_OK)
        st = allocate(s);
    if (st == WEFT_OK) {
        cl_int err;
        s->queue = clCreateCommandQueue(s->device->context, s->device->cl.device,
                                        s->profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
        if (!s->queue)
            st = weft_fail(WEFT_ERR_OPENCL, "clCreateCommandQueue on device '%s': %s",
                           s->device->cl.info.name, weft_cl_error_name(err));
    }
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
    for (size_t i = 0; i < s->step_count; i++) {
        weft_step *step = &s->steps[i];
        cl_ulong total = 0;
        for (size_t e = 0; e < step->event_count; e++) {
            cl_ulong start = 0, end = 0;
            clGetEventProfilingInfo(step->events[e], CL_PROFILING_COMMAND_START, sizeof start,
                                    &start, NULL);
            clGetEventProfilingInfo(step->events[e], CL_PROFILING_COMMAND_END, sizeof end, &end,
                                    NULL);
            if (end > start)
                total += end - start;
            clReleaseEvent(step->events[e]);
        }
        step->time_ms = (double)total / 1e6;
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

static weft_status enqueue_all(weft_session *s)
{
    weft_status st = WEFT_OK;
    for (size_t i = 0; i < s->step_count && st == WEFT_OK; i++) {
        weft_step *step = &s->steps[i];
        const weft_node *n = &s->graph->nodes[step->node];
        if (!step->impl->enqueue)
            continue;
        weft_run r = {
            .node = n,
            .state = step->state,
            .inputs = step->inputs,
            .input_count = n->input_count,
            .outputs = step->outputs,
            .output_count = n->output_count,
            .workspace = step->workspace >= 0 ? s->storages[step->workspace].mem : NULL,
            .queue = s->queue,
            .session = s,
        };
        s->current = step;
        st = step->impl->enqueue(&r);
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
        const weft_storage *sto = &s->storages[s->value_storage[v]];
        if (sto->mem)
            err = clEnqueueWriteBuffer(s->queue, sto->mem, CL_FALSE, 0, sto->bytes, inputs[i].data,
                                       0, NULL, NULL);
        if (err != CL_SUCCESS)
            st = weft_fail(WEFT_ERR_OPENCL, "writing input '%s' to device '%s': %s", inputs[i].name,
                           s->device->cl.info.name, weft_cl_error_name(err));
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
            err = clEnqueueReadBuffer(s->queue, sto->mem, CL_FALSE, 0, value_bytes(val), t->data, 0,
                                      NULL, NULL);
        if (err != CL_SUCCESS)
            st = weft_fail(WEFT_ERR_OPENCL, "reading output '%s' from device '%s': %s", val->name,
                           s->device->cl.info.name, weft_cl_error_name(err));
    }
    /* Always wait: the queue may still read the caller's input memory. */
    err = clFinish(s->queue);
    if (st == WEFT_OK && err != CL_SUCCESS)
        st = weft_fail(WEFT_ERR_OPENCL, "running on device '%s': %s", s->device->cl.info.name,
                       weft_cl_error_name(err));
    if (s->profiling)
        collect_profile(s);
    free(out_values);
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
        err = clEnqueueWriteBuffer(s->queue, sto->mem, CL_TRUE, 0, n * sizeof value, fill, 0,
                                   NULL, NULL);
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
    info->device = s->device->cl.info.name;
    info->time_ms = step->time_ms;
    return WEFT_OK;
}
