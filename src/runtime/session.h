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
    size_t dev;           /* which context device holds it */
    void *staging;        /* a transfer's host copy between two cl_contexts */
    int copy_of;          /* 1 + the storage it copies (on another device), 0 */
} weft_storage;

/* A cross-device edge: before step `step` runs, storage src (on the
 * producer's device) is copied into dst (on the step's device). */
typedef struct weft_transfer {
    int step;
    int src, dst;
    int producer;         /* the step that wrote src, whose `done` event it waits for */
    uint64_t bytes;
    cl_event event;       /* this run's copy (profiling) */
} weft_transfer;

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
    size_t dev;           /* which context device runs it */
    char fallback[256];   /* why it left its preferred device; "" when it did not */
    int signals;          /* a later step on another device reads its output */
    cl_event done;        /* this run: a marker after its commands (when signals) */
    double start_ms, end_ms; /* profiling: first START, last END since the run's first START */
    int variant;          /* tiles given to prepare: 0 the implementation's own, k its variant k */
    int tuned;            /* impl and variant came from the tuning table (tuning.h) */
    unsigned host_only;   /* from prepare: inputs it never reads on the device */
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
    cl_kernel *kernels;   /* owned, from weft_op_kernel */
    size_t kernel_count, kernel_capacity;
    cl_mem *uploads;      /* owned, from weft_op_upload */
    size_t upload_count, upload_capacity;
    weft_memory_stats memory;
    weft_step *current;   /* the step being prepared or run */
    /* Several devices (placement.c chooses each step's dev): one queue and
     * one arena per device; value_on[v * device_count + d] is value v's
     * storage on device d (its home, or a copy), -1 when d never reads it. */
    size_t device_count;
    cl_command_queue *queues;
    cl_mem *arenas;
    int *value_on;
    weft_transfer *transfers;
    size_t transfer_count;
    int failed_step;      /* prepare: the step that failed, -1 */
    struct weft_tuning_use *tuning; /* tuned choices while steps are chosen (tuning.c) */
};

/* The device state of a step. */
static inline weft_device_state *weft_step_device(const struct weft_session *s,
                                                  const weft_step *step)
{
    return &s->context->devices[step->dev];
}

/* Fills every intermediate and input buffer with `value`'s bit pattern, so
 * a test can tell elements a kernel never wrote (tests only). */
weft_status weft_session_poison(weft_session *s, float value);

#endif
