/*
 * A model made ready to run, the same way for run, check and bench: the
 * graph and its inputs first, then a context, a session and the output
 * buffers, each step timed (bench --startup reports them).
 */
#ifndef WEFT_CLI_JOB_H
#define WEFT_CLI_JOB_H

#include "cli/model.h"

typedef struct weft_cli_job {
    weft_graph *graph;
    weft_cli_tensors in, out;
    weft_context *ctx;
    weft_session *session;
    double load_ms, inputs_ms, context_ms, session_ms; /* wall clock of each step */
} weft_cli_job;

/* Loads args->model and its inputs (random ones from random_seed when
 * nonzero: see weft_cli_inputs_load). */
weft_status weft_cli_job_load(weft_cli_job *job, const weft_cli_model_args *args,
                              uint64_t random_seed);
/* A context on `device` (the profiling one when options ask for profiling),
 * a session of g (job->graph, or a graph made from it that outlives the
 * job's use of it) and buffers for its outputs. options: NULL for the
 * defaults. */
weft_status weft_cli_job_start(weft_cli_job *job, const weft_graph *g, const char *device,
                               const weft_session_options *options);
/* Releases all the job holds; a job never loaded is fine too. */
void weft_cli_job_release(weft_cli_job *job);

#endif
