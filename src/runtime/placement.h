/*
 * Placement: which of a context's devices runs each node of a session.
 * The session states the problem (per node and device an estimated cost,
 * or "cannot run there"; the edges between nodes with their bytes; the
 * link cost between devices) and gets one device per node back. Pure
 * functions, no OpenCL, so the algorithm is tested on made-up problems.
 */
#ifndef WEFT_RUNTIME_PLACEMENT_H
#define WEFT_RUNTIME_PLACEMENT_H

#include <stddef.h>

#include "weft.h"

typedef struct weft_place_edge {
    size_t from;     /* the producing node (an earlier index) */
    double bytes;
} weft_place_edge;

typedef struct weft_place_problem {
    size_t nodes, devices;
    const double *cost;        /* nodes x devices, seconds; < 0: cannot run there */
    const size_t *edge_start;  /* nodes + 1: node i reads edges[edge_start[i] .. [i+1]) */
    const weft_place_edge *edges;
    const double *link;        /* devices x devices, seconds per byte from -> to */
    double latency;            /* seconds per transfer */
} weft_place_problem;

typedef enum weft_place_mode {
    WEFT_PLACE_AUTO,       /* minimise the estimated end-to-end time */
    WEFT_PLACE_FIRST,      /* the first device (in preference order) that can run it */
    WEFT_PLACE_ALTERNATE   /* node i on device i mod D when it can: tests, benchmarks */
} weft_place_mode;

/* Chooses device[i] for every node with device[i] < 0 on input (the
 * others are forced and kept). order lists the devices by preference.
 * Every node must have at least one device it can run on. */
void weft_place(const weft_place_problem *p, weft_place_mode mode, const size_t *order,
                int *device);

/* The estimated end-to-end seconds of a placement (list scheduling: each
 * device runs its nodes in order, a node starts when its device is free
 * and its inputs have arrived). */
double weft_place_makespan(const weft_place_problem *p, const int *device);

/* Parses a placement: comma-separated items "auto", "first", "alternate",
 * "all=D" or "NODE=D" (a node name after weft's simplifications). forced[i]
 * gets D or stays -1. WEFT_ERR_INVALID_ARGUMENT names a malformed item or
 * a device index out of range; a node name that matches no node is only
 * logged (fused nodes disappear). */
weft_status weft_place_parse(const char *spec, size_t devices, const char *const *names,
                             size_t count, weft_place_mode *mode, int *forced);

/* Test hooks: true when environment variable `env` (a list like
 * "device0:Conv,device1:Relu") names this device index and op. */
int weft_test_hook(const char *env, size_t device, const char *op);

#endif
