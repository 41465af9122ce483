#include "cli/job.h"
#include "core/util.h"

weft_status weft_cli_job_load(weft_cli_job *job, const weft_cli_model_args *args,
                              uint64_t random_seed)
{
    double t0 = weft_now_ms();
    weft_status st = weft_cli_load_model(args->model, &job->graph);
    double t1 = weft_now_ms();
    if (st == WEFT_OK)
        st = weft_cli_inputs_load(job->graph, args->specs, args->spec_count, random_seed,
                                  &job->in);
    job->load_ms = t1 - t0;
    job->inputs_ms = weft_now_ms() - t1;
    return st;
}

weft_status weft_cli_job_start(weft_cli_job *job, const weft_graph *g, const char *device,
                               const weft_session_options *options)
{
    double t0 = weft_now_ms();
    weft_status st = weft_cli_context(device, options && options->profiling, &job->ctx);
    double t1 = weft_now_ms();
    if (st == WEFT_OK)
        st = weft_session_create(job->ctx, g, options, &job->session);
    job->context_ms = t1 - t0;
    job->session_ms = weft_now_ms() - t1;
    if (st == WEFT_OK)
        st = weft_cli_outputs_alloc(job->session, &job->out);
    return st;
}

void weft_cli_job_release(weft_cli_job *job)
{
    weft_cli_tensors_free(&job->in);
    weft_cli_tensors_free(&job->out);
    weft_session_release(job->session);
    weft_context_release(job->ctx);
    weft_graph_release(job->graph);
    *job = (weft_cli_job){0};
}
