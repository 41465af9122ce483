/*
 * Program builds from several threads on one context (src/runtime/
 * program.c): a build runs without the context's lock, a second thread
 * asking for a program being built waits for it instead of building it
 * again, a failed build leaves nothing behind and is reported by every
 * thread that asked for it, and sessions prepared on several threads at
 * once compute what one prepared alone does.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "runtime/context.h"
#include "runtime/program.h"
#include "test_common.h"

#define THREADS 4
#define SETS 6
#define ROUNDS 3

typedef struct job {
    weft_context *ctx;
    pthread_barrier_t *start;
    int first;                 /* the set this thread asks for first */
    const char *name;          /* a program name, or NULL for selfcheck sets */
    const char *source;
    weft_status status[SETS * ROUNDS];
    cl_program program[SETS * ROUNDS];
    char message[SETS * ROUNDS][512];
} job;

static void scale_options(int set, char *out, size_t size)
{
    snprintf(out, size, "-D SCALE=%d.0f", set + 2);
}

/* No cmocka asserts here: they may only fail on the main thread. */
static void *ask_sets(void *arg)
{
    job *j = arg;
    pthread_barrier_wait(j->start);
    for (int i = 0; i < SETS * ROUNDS; i++) {
        int set = (j->first + i) % SETS;
        char options[64];
        scale_options(set, options, sizeof options);
        j->program[i] = NULL;
        j->status[i] = weft_program_get(j->ctx, 0, "selfcheck", options, &j->program[i]);
    }
    return NULL;
}

/* y = SCALE * x through scale_f32 of `program`: 1 when right. */
static int scales_by(weft_context *ctx, cl_program program, float scale)
{
    enum { N = 64 };
    float x[N], y[N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)i - 20.0f;
        y[i] = NAN;
    }
    cl_context clctx = ctx->devices[0].context;
    cl_command_queue q = ctx->devices[0].queue;
    cl_int err;
    cl_kernel k = clCreateKernel(program, "scale_f32", &err);
    cl_mem bx = clCreateBuffer(clctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof x, x, &err);
    cl_mem by = clCreateBuffer(clctx, CL_MEM_WRITE_ONLY, sizeof y, NULL, &err);
    cl_uint n = N;
    size_t global = N;
    int ok = k && bx && by && clSetKernelArg(k, 0, sizeof bx, &bx) == CL_SUCCESS &&
             clSetKernelArg(k, 1, sizeof by, &by) == CL_SUCCESS &&
             clSetKernelArg(k, 2, sizeof n, &n) == CL_SUCCESS &&
             clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL) == CL_SUCCESS &&
             clEnqueueReadBuffer(q, by, CL_TRUE, 0, sizeof y, y, 0, NULL, NULL) == CL_SUCCESS;
    for (int i = 0; ok && i < N; i++)
        ok = y[i] == scale * x[i];
    if (k)
        clReleaseKernel(k);
    if (bx)
        clReleaseMemObject(bx);
    if (by)
        clReleaseMemObject(by);
    return ok;
}

/* The THREADS jobs, zeroed, each on ctx; static: they are large. */
static job *new_jobs(weft_context *ctx)
{
    static job jobs[THREADS];
    memset(jobs, 0, sizeof jobs);
    for (int t = 0; t < THREADS; t++)
        jobs[t].ctx = ctx;
    return jobs;
}

static void run_threads(job *jobs, int count, void *(*fn)(void *))
{
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, (unsigned)count), 0);
    pthread_t threads[THREADS];
    for (int t = 0; t < count; t++) {
        jobs[t].start = &start;
        assert_int_equal(pthread_create(&threads[t], NULL, fn, &jobs[t]), 0);
    }
    for (int t = 0; t < count; t++)
        assert_int_equal(pthread_join(threads[t], NULL), 0);
    pthread_barrier_destroy(&start);
}

/* THREADS threads ask for SETS programs ROUNDS times each, in different
 * orders: every set is built once and saved once, every call gets that
 * set's program, and the program computes with that set's option. */
static void test_distinct_programs(void **state)
{
    (void)state;
    char *dir = test_tmpdir("distinct");
    weft_context_options o = test_options(dir);
    weft_context *ctx;
    assert_weft_ok(weft_context_create(&o, &ctx));
    job *jobs = new_jobs(ctx);
    for (int t = 0; t < THREADS; t++)
        jobs[t].first = (t * SETS) / THREADS;
    run_threads(jobs, THREADS, ask_sets);

    cl_program seen[SETS] = {NULL};
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < SETS * ROUNDS; i++) {
            int set = (jobs[t].first + i) % SETS;
            if (jobs[t].status[i] != WEFT_OK)
                fail_msg("thread %d call %d (set %d) returned %s", t, i, set,
                         weft_status_name(jobs[t].status[i]));
            assert_non_null(jobs[t].program[i]);
            if (!seen[set]) {
                seen[set] = jobs[t].program[i];
                if (!scales_by(ctx, seen[set], (float)(set + 2)))
                    fail_msg("set %d: scale_f32 does not scale by %d", set, set + 2);
            }
            assert_ptr_equal(jobs[t].program[i], seen[set]);
        }
    for (int a = 0; a < SETS; a++)
        for (int b = a + 1; b < SETS; b++)
            assert_ptr_not_equal(seen[a], seen[b]);
    weft_cache_stats s;
    assert_weft_ok(weft_context_flush_cache(ctx)); /* saves are deferred */
    assert_weft_ok(weft_context_cache_stats(ctx, &s));
    if (s.builds != SETS || s.saves != SETS || s.disk_hits != 0 || s.rejected != 0 ||
        s.memory_hits != (uint64_t)THREADS * SETS * ROUNDS - SETS)
        fail_msg("stats: builds=%llu saves=%llu disk_hits=%llu rejected=%llu memory_hits=%llu",
                 (unsigned long long)s.builds, (unsigned long long)s.saves,
                 (unsigned long long)s.disk_hits, (unsigned long long)s.rejected,
                 (unsigned long long)s.memory_hits);
    weft_context_release(ctx);
    test_rmtree(dir);
    free(dir);
}

static const char broken_source[] =
    "__kernel void broken_f32(__global float *y) { y[0] = undeclared_name; }\n";
static const char good_source[] = "__kernel void good_f32(__global float *y) { y[0] = VALUE; }\n";

/* Thread 0 and 1 ask for the broken program, the others for good ones. */
static void *ask_one(void *arg)
{
    job *j = arg;
    pthread_barrier_wait(j->start);
    for (int i = 0; i < ROUNDS; i++) {
        char options[64];
        snprintf(options, sizeof options, "-D VALUE=%d.0f", j->first);
        size_t size = strlen(j->source);
        j->program[i] = NULL;
        j->status[i] = weft_program_get_source(j->ctx, 0, j->name, j->source, size,
                                               j->name[0] == 'b' ? "" : options, &j->program[i]);
        snprintf(j->message[i], sizeof j->message[i], "%s",
                 j->status[i] == WEFT_OK ? "" : weft_last_error());
    }
    return NULL;
}

/* A program that fails to build fails for every thread and every call
 * that asks for it, named in each message, without a hang or an entry
 * left behind; builds of other programs meanwhile succeed. */
static void test_failure_among_builds(void **state)
{
    (void)state;
    weft_context_options o = test_options(NULL);
    weft_context *ctx;
    assert_weft_ok(weft_context_create(&o, &ctx));
    job *jobs = new_jobs(ctx);
    for (int t = 0; t < THREADS; t++) {
        jobs[t].first = t;
        jobs[t].name = t < 2 ? "broken_program" : "good_program";
        jobs[t].source = t < 2 ? broken_source : good_source;
    }
    run_threads(jobs, THREADS, ask_one);
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < ROUNDS; i++) {
            if (t < 2) {
                if (jobs[t].status[i] != WEFT_ERR_BUILD || jobs[t].program[i])
                    fail_msg("thread %d call %d: %s, expected WEFT_ERR_BUILD", t, i,
                             weft_status_name(jobs[t].status[i]));
                if (!strstr(jobs[t].message[i], "broken_program") ||
                    !strstr(jobs[t].message[i], "undeclared_name"))
                    fail_msg("thread %d call %d: message lacks the program or its log: %s", t,
                             i, jobs[t].message[i]);
            } else if (jobs[t].status[i] != WEFT_OK || !jobs[t].program[i]) {
                fail_msg("thread %d call %d: %s: %s", t, i, weft_status_name(jobs[t].status[i]),
                         jobs[t].message[i]);
            }
        }
    /* The good programs (two option sets) are in the table; the broken
     * one is not, so the failure is not cached either. */
    assert_int_equal(ctx->devices[0].program_count, 2);
    for (size_t i = 0; i < ctx->devices[0].program_count; i++)
        assert_non_null(ctx->devices[0].programs[i].program);
    weft_cache_stats s;
    assert_weft_ok(weft_context_cache_stats(ctx, &s));
    assert_int_equal(s.builds, 2);
    assert_int_equal(s.memory_hits, 2 * ROUNDS - 2);
    weft_context_release(ctx);
}

/* ---- Sessions prepared on several threads ------------------------------- */

/* x[1,3,12,12] -> 3x3 conv (8 maps) -> ReLU -> 2x2 max pool -> + itself
 * -> global average pool: several op families, so several programs. */
static weft_graph *small_graph(void)
{
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    int64_t xd[4] = {1, 3, 12, 12}, wd[4] = {8, 3, 3, 3}, bd[1] = {8};
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, xd));
    float w[8 * 3 * 3 * 3], b[8];
    for (size_t i = 0; i < WEFT_COUNTOF(w); i++)
        w[i] = (float)((int)(i * 7 % 11) - 5) / 8.0f;
    for (size_t i = 0; i < WEFT_COUNTOF(b); i++)
        b[i] = (float)i / 4.0f - 1.0f;
    assert_weft_ok(weft_graph_add_constant(g, "w", WEFT_FLOAT32, 4, wd, w));
    assert_weft_ok(weft_graph_add_constant(g, "b", WEFT_FLOAT32, 1, bd, b));
    weft_conv_attrs c;
    weft_conv_defaults(&c);
    c.pads[0] = c.pads[1] = c.pads[2] = c.pads[3] = 1;
    assert_weft_ok(weft_graph_add_conv(g, "conv", "x", "w", "b", &c, "c"));
    assert_weft_ok(weft_graph_add_activation(g, "relu", WEFT_ACT_RELU, NAN, NAN, "c", "r"));
    weft_pool_attrs p;
    weft_pool_defaults(&p);
    p.kernel_shape[0] = p.kernel_shape[1] = 2;
    p.strides[0] = p.strides[1] = 2;
    assert_weft_ok(weft_graph_add_pool(g, "pool", WEFT_POOL_MAX, "r", &p, "m"));
    assert_weft_ok(weft_graph_add_add(g, "add", "m", "m", "a"));
    weft_pool_attrs gp;
    weft_pool_defaults(&gp);
    assert_weft_ok(weft_graph_add_pool(g, "gap", WEFT_POOL_GLOBAL_AVERAGE, "a", &gp, "y"));
    assert_weft_ok(weft_graph_add_output(g, "y"));
    return g;
}

enum { XN = 3 * 12 * 12, YN = 8 };

typedef struct session_job {
    weft_context *ctx;
    const weft_graph *graph;
    pthread_barrier_t *start;
    weft_status status;
    char message[512];
    float y[YN];
} session_job;

static weft_status create_and_run(weft_context *ctx, const weft_graph *g, float *y)
{
    static float x[XN];
    for (int i = 0; i < XN; i++)
        x[i] = (float)((i * 13) % 17) / 8.0f - 1.0f;
    weft_session *s;
    weft_status st = weft_session_create(ctx, g, NULL, &s);
    if (st != WEFT_OK)
        return st;
    weft_tensor in = {.name = "x", .dtype = WEFT_FLOAT32, .rank = 4,
                      .dims = {1, 3, 12, 12}, .data = x, .size_bytes = sizeof x};
    weft_tensor out = {.name = "y", .data = y, .size_bytes = YN * sizeof *y};
    st = weft_session_run(s, &in, 1, &out, 1);
    weft_session_release(s);
    return st;
}

static void *session_main(void *arg)
{
    session_job *j = arg;
    pthread_barrier_wait(j->start);
    j->status = create_and_run(j->ctx, j->graph, j->y);
    snprintf(j->message, sizeof j->message, "%s", j->status == WEFT_OK ? "" : weft_last_error());
    return NULL;
}

static void test_sessions_on_threads(void **state)
{
    (void)state;
    weft_graph *g = small_graph();
    weft_context_options o = test_options(NULL);

    float alone[YN];
    weft_context *ctx;
    assert_weft_ok(weft_context_create(&o, &ctx));
    assert_weft_ok(create_and_run(ctx, g, alone));
    weft_cache_stats single;
    assert_weft_ok(weft_context_cache_stats(ctx, &single));
    weft_context_release(ctx);
    assert_true(single.builds >= 3); /* conv, element-wise and pool programs at least */

    assert_weft_ok(weft_context_create(&o, &ctx));
    enum { N = 2 };
    static session_job jobs[N];
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, N), 0);
    pthread_t threads[N];
    for (int t = 0; t < N; t++) {
        memset(&jobs[t], 0, sizeof jobs[t]);
        jobs[t].ctx = ctx;
        jobs[t].graph = g;
        jobs[t].start = &start;
        assert_int_equal(pthread_create(&threads[t], NULL, session_main, &jobs[t]), 0);
    }
    for (int t = 0; t < N; t++)
        assert_int_equal(pthread_join(threads[t], NULL), 0);
    pthread_barrier_destroy(&start);
    for (int t = 0; t < N; t++) {
        if (jobs[t].status != WEFT_OK)
            fail_msg("session on thread %d: %s: %s", t, weft_status_name(jobs[t].status),
                     jobs[t].message);
        /* The same kernels on the same data: the very same bits. */
        assert_memory_equal(jobs[t].y, alone, sizeof alone);
    }
    weft_cache_stats both;
    assert_weft_ok(weft_context_cache_stats(ctx, &both));
    /* Each distinct program built once for the two sessions together. */
    assert_int_equal(both.builds, single.builds);
    weft_context_release(ctx);
    weft_graph_release(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distinct_programs),
        cmocka_unit_test(test_failure_among_builds),
        cmocka_unit_test(test_sessions_on_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
