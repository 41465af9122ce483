/*
 * The inside of a weft_session: the simplified graph, one step per node
 * that runs (with its implementation and state), and the storages that
 * hold tensors on the device. A storage is a graph input buffer, a
 * constant buffer, or a slot of the intermediate arena; several values may
 * share one (in-place ops, reshapes).
 */
#ifndef WEFT_RUNTIME_SESSION_H
#define WEFT_RUNTIME_SESSION_H

#include "ops/op.h"
#include "runtime/context.h"

typedef enum weft_storage_kind {
    WEFT_STORAGE_ARENA,
    WEFT_STORAGE_INPUT,
    WEFT_STORAGE_CONSTANT
} weft_storage_kind;

typedef struct weft_storage {
    weft_storage_kind kind;
    uint64_t bytes;
    int first, last;      /* steps during which it must hold its data */
    int pinned;           /* holds a graph output: no in-place reuse */
    uint64_t offset;      /* in the arena */
    const void *host;     /* constants: the data */
    cl_mem mem;           /* NULL for an empty tensor */
} weft_storage;

typedef struct weft_step {
    int node;
    const weft_op_impl *impl;
    void *state;
    weft_op_tensor *inputs, *outputs;
    size_t workspace_bytes;
    int workspace;        /* storage index, -1 when none */
    cl_event *events;     /* profiling: this run's launches */
    size_t event_count, event_capacity;
    double time_ms;
} weft_step;

struct weft_session {
    weft_context *context;
    weft_device_state *device;
    cl_command_queue queue;
    int profiling;
    weft_graph *graph;
    weft_step *steps;
    size_t step_count;
    int *value_storage;   /* per value: storage index or -1 */
    weft_storage *storages;
    size_t storage_count;
    cl_mem arena;
    cl_kernel *kernels;   /* owned, from weft_op_kernel */
    size_t kernel_count, kernel_capacity;
    cl_mem *uploads;      /* owned, from weft_op_upload */
    size_t upload_count, upload_capacity;
    weft_memory_stats memory;
    weft_step *current;   /* the step being prepared or run */
};

/* Fills every intermediate and input buffer with `value`'s bit pattern, so
 * a test can tell elements a kernel never wrote (tests only). */
weft_status weft_session_poison(weft_session *s, float value);

#endif
