/*
 * The inside of a weft_context: per device, its OpenCL objects and the
 * programs built for it; for the whole context, the program cache's
 * settings and counters. One mutex guards the program tables and counters,
 * so sessions on several threads may share a context.
 */
#ifndef WEFT_RUNTIME_CONTEXT_H
#define WEFT_RUNTIME_CONTEXT_H

#include <pthread.h>
#include <stdint.h>

#include "runtime/device.h"

typedef struct weft_program_entry {
    uint8_t key[32];
    /* NULL while one thread builds it; the others wait on program_ready. */
    cl_program program;
} weft_program_entry;

typedef struct weft_device_state {
    weft_cl_device cl;
    cl_context context;
    cl_command_queue queue;
    int binary_only;            /* forced, or the device has no compiler */
    weft_program_entry *programs;
    size_t program_count, program_capacity;
    const struct weft_bundle *bundle; /* the context's bundle when made for this device */
} weft_device_state;

/* A built program whose binary is still to be written to the disk cache
 * (see runtime/program.c: saves wait for the first run). */
typedef struct weft_pending_save {
    uint8_t key[32];
    cl_program program; /* retained for the saver */
    char *name;
} weft_pending_save;

struct weft_context {
    weft_device_state *devices;
    size_t device_count;
    char *cache_dir;            /* NULL: no disk cache */
    int profiling;
    int cache_trace;            /* WEFT_CACHE_TRACE */
    pthread_mutex_t lock;
    /* Broadcast when a program another thread was building is done (or
     * failed): its waiters then look again (see runtime/program.c). */
    pthread_cond_t program_ready;
    double program_ms;          /* spent getting programs not in memory */
    weft_cache_stats stats;
    struct weft_bundle *bundle; /* options.bundle or WEFT_BUNDLE, checked; NULL: none */
    /* Deferred disk-cache saves, under `lock`: the queue, how many are
     * being written right now, and the background saver thread. */
    weft_pending_save *pending;
    size_t pending_count, pending_capacity, saving;
    int saves_started;          /* a session has run: save in the background */
    int saver_active;           /* the saver thread is in its loop */
    int saver_joinable;         /* a saver thread was started and not joined */
    pthread_t saver;
    pthread_cond_t saves_done;  /* broadcast when a save ends or the saver stops */
};

#endif
