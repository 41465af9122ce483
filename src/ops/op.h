/*
 * The op-implementation interface. Each file in src/ops/ defines
 * `const weft_op_impl weft_impl_NAME` entries, listed once in impls.inc,
 * which feeds the registry, the tests and bench/. The planner asks every
 * implementation of a node's op type whether it supports the node on the
 * device, and takes the cheapest; nothing else knows what an op is.
 *
 * An implementation's life in a session:
 *   supports  pure: may this implementation run this node on this device?
 *             When not, it writes why into `why`.
 *   cost      estimated seconds on this device, to choose among several.
 *   prepare   once per session: get kernels (program + -D options), upload
 *             transformed weights, state the workspace it needs, keep its
 *             private state in p->state.
 *   enqueue   every run: set kernel arguments and launch on r->queue.
 *   release   frees p->state (NULL-safe); kernels and uploaded buffers got
 *             through the weft_op_* helpers belong to the session.
 */
#ifndef WEFT_OPS_OP_H
#define WEFT_OPS_OP_H

#include <stddef.h>

#include "graph/graph.h"
#include "runtime/cl.h"

/* A tensor as an op sees it on the device: its buffer (a sub-buffer of the
 * session's arena, or a buffer of its own), type and shape. For constant
 * values, host points at the data (weights to transform in prepare). */
typedef struct weft_op_tensor {
    cl_mem mem;
    weft_dtype dtype;
    weft_shape shape;
    const void *host;
} weft_op_tensor;

typedef struct weft_prepare {
    const weft_graph *graph;
    const weft_node *node;
    const weft_device_info *device;
    const weft_op_tensor *inputs;  /* mem is NULL in prepare: buffers come later */
    size_t input_count;
    const weft_op_tensor *outputs;
    size_t output_count;
    void *state;                   /* out: the implementation's own */
    size_t workspace_bytes;        /* out: scratch needed during enqueue */
    struct weft_session *session;  /* for the weft_op_* helpers */
    /* 0: the implementation's own choice of tiles (its table); k >= 1:
     * its variant k (see weft_op_impl.variant), chosen by tuning. */
    int variant;
    /* out: bit k set when input k is a constant this implementation
     * consumed here (packed, transformed) and never reads on the device;
     * a constant no step reads on the device is not uploaded. */
    unsigned host_only;
} weft_prepare;

typedef struct weft_run {
    const weft_node *node;
    void *state;
    const weft_op_tensor *inputs;  /* absent optional inputs have mem NULL */
    size_t input_count;
    const weft_op_tensor *outputs;
    size_t output_count;
    cl_mem workspace;              /* NULL when none was asked for */
    cl_command_queue queue;
    struct weft_session *session;
} weft_run;

typedef struct weft_op_impl {
    const char *name;              /* "unary", "direct", "winograd_f4x4" */
    const char *const *ops;        /* op types it serves, NULL-terminated */
    /* Output 0 may share input 0's buffer when input 0 dies at this node
     * (element-wise ops); the kernel must be correct in place. */
    int inplace;
    /* Output 0 always is input 0's buffer, reinterpreted (Reshape and
     * friends): enqueue may be NULL, nothing runs. */
    int alias;
    int (*supports)(const weft_graph *g, const weft_node *n, const weft_device_info *device,
                    char *why, size_t why_size);
    double (*cost)(const weft_graph *g, const weft_node *n, const weft_device_info *device);
    weft_status (*prepare)(weft_prepare *p);
    weft_status (*enqueue)(weft_run *r);
    void (*release)(void *state);
    /* Optional, for tuning (src/runtime/tuning.c): the name of variant k
     * (k = 1, 2, ...: a tile choice prepare takes as p->variant) on this
     * device, NULL past the last. NULL: no variants. */
    const char *(*variant)(const weft_device_info *device, int k);
} weft_op_impl;

/* ---- The registry ------------------------------------------------------- */

#define X(name) extern const weft_op_impl weft_impl_##name;
#include "ops/impls.inc"
#undef X

extern const weft_op_impl *const weft_op_impls[];
extern const size_t weft_op_impl_count;

/* ---- What ops may ask of the runtime ------------------------------------ */

/* Kernel-build options in a stable order: "-D NAME=VALUE ..." */
typedef struct weft_options {
    char text[1024];
    int overflow;
} weft_options;

void weft_options_init(weft_options *o);
void weft_options_define(weft_options *o, const char *name, const char *value);
void weft_options_define_int(weft_options *o, const char *name, long long value);
void weft_options_define_float(weft_options *o, const char *name, float value);

/* A kernel of program cl/PROGRAM.cl built with `options`, for this node;
 * the session owns and releases it. */
weft_status weft_op_kernel(weft_prepare *p, const char *program, const weft_options *options,
                           const char *kernel_name, cl_kernel *kernel);
/* A read-only device buffer holding `bytes` of `data`, owned by the
 * session (for transformed weights and small parameter tables). */
weft_status weft_op_upload(weft_prepare *p, const void *data, size_t bytes, cl_mem *buffer);
/* The largest work-group this kernel may use on the node's device. */
size_t weft_op_max_local(const weft_prepare *p, cl_kernel kernel);
/* The work-group size of a 1-D launch: weft_op_max_local, at most cap. */
size_t weft_op_local_size(const weft_prepare *p, cl_kernel kernel, size_t cap);

typedef struct weft_arg {
    size_t size;
    const void *value; /* NULL with size > 0: __local memory of that size */
} weft_arg;
#define WEFT_ARG(x) ((weft_arg){sizeof(x), &(x)})
#define WEFT_LOCAL(bytes) ((weft_arg){(bytes), NULL})

/* Sets arguments 0..count-1; an error names the node, kernel and index. */
weft_status weft_op_set_args(weft_run *r, cl_kernel kernel, const weft_arg *args, size_t count);
/* Launches a kernel for the node (recording its profiling event when the
 * session profiles). local may be NULL. */
weft_status weft_op_launch(weft_run *r, cl_kernel kernel, cl_uint dims, const size_t *global,
                           const size_t *local);
/* A 1-D launch of n work-items in groups of `local`: the global size is n
 * rounded up to a multiple of local, so the kernel must skip the
 * work-items at n and above. Nothing runs when n is 0. */
weft_status weft_op_launch_1d(weft_run *r, cl_kernel kernel, size_t n, size_t local);
/* Counts a command enqueued by a library on r->queue (CLBlast) in the
 * node's profile; takes the event over (released at once without
 * profiling). NULL is ignored. */
weft_status weft_op_add_event(weft_run *r, cl_event event);

/* For supports(): writes why the node is not supported into why (cap
 * bytes) and returns 0, so that `return weft_op_refuse(why, cap, ...);`
 * ends a check. */
int weft_op_refuse(char *why, size_t cap, const char *fmt, ...) WEFT_PRINTF(3, 4);

#endif
