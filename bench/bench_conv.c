/*
 * Convolution and GEMM speed on the conv layers of ResNet-18 and
 * MobileNetV2 (batch 1, 224x224), against the machine's own limits.
 *
 *  1. The machine: FP32 peak measured with an FMA loop in C on every core
 *     (this file is built -O3 -march=native so the loop is vector code),
 *     and copy bandwidth (memcpy on every core).
 *  2. Each layer's im2col GEMM, C[K_out, H*W] = W[K_out, C*R*S] * X[C*R*S,
 *     H*W], run by CLBlast's plain SGEMM (its own queue on the same device,
 *     wall-clock of several calls) and by weft's GEMM engine (a one-node
 *     MatMul session with constant weights, forced to "tiled", kernel
 *     time from profiling events): GFLOP/s, fraction of peak, ratio.
 *  3. Every registered implementation of Conv (src/ops/impls.inc) on each
 *     layer through a one-node session, as bench_ops does; one that does
 *     not support a layer is skipped with its reason.
 * Figures are medians of --runs runs (default 7) after a warm-up run.
 *
 * Layer shapes from the torchvision architecture definitions
 * (torchvision/models/resnet.py: BasicBlock, layers [2, 2, 2, 2];
 * torchvision/models/mobilenetv2.py: inverted_residual_setting t, c, n, s
 * = [1,16,1,1], [6,24,2,2], [6,32,3,2], [6,64,4,2], [6,96,3,1],
 * [6,160,3,2], [6,320,1,1], stem 3x3/2 to 32, last 1x1 to 1280); each
 * distinct layer once.
 *
 * usage: bench_conv [--runs N] [--only SUBSTRING]
 * (sets POCL_AFFINITY=1 unless the environment has it)
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "core/random.h"
#include "ops/op.h"
#include "runtime/cl.h"
#include "weft.h"

#ifdef WEFT_CLBLAST
#include <clblast_c.h>
#endif

typedef struct layer {
    const char *name;
    int c, k, h, r, s, pad, groups; /* in channels, out channels, input H = W, kernel, stride */
} layer;

static const layer layers[] = {
    /* ResNet-18 */
    {"resnet18 conv1 7x7/2", 3, 64, 224, 7, 2, 3, 1},
    {"resnet18 layer1 3x3", 64, 64, 56, 3, 1, 1, 1},
    {"resnet18 layer2.0 3x3/2", 64, 128, 56, 3, 2, 1, 1},
    {"resnet18 layer2 3x3", 128, 128, 28, 3, 1, 1, 1},
    {"resnet18 layer2.0 down 1x1/2", 64, 128, 56, 1, 2, 0, 1},
    {"resnet18 layer3.0 3x3/2", 128, 256, 28, 3, 2, 1, 1},
    {"resnet18 layer3 3x3", 256, 256, 14, 3, 1, 1, 1},
    {"resnet18 layer3.0 down 1x1/2", 128, 256, 28, 1, 2, 0, 1},
    {"resnet18 layer4.0 3x3/2", 256, 512, 14, 3, 2, 1, 1},
    {"resnet18 layer4 3x3", 512, 512, 7, 3, 1, 1, 1},
    {"resnet18 layer4.0 down 1x1/2", 256, 512, 14, 1, 2, 0, 1},
    /* MobileNetV2 */
    {"mobilenetv2 stem 3x3/2", 3, 32, 224, 3, 2, 1, 1},
    {"mobilenetv2 b1 dw 3x3 32", 32, 32, 112, 3, 1, 1, 32},
    {"mobilenetv2 b1 project 32>16", 32, 16, 112, 1, 1, 0, 1},
    {"mobilenetv2 b2 expand 16>96", 16, 96, 112, 1, 1, 0, 1},
    {"mobilenetv2 b2 dw 3x3/2 96", 96, 96, 112, 3, 2, 1, 96},
    {"mobilenetv2 b2 project 96>24", 96, 24, 56, 1, 1, 0, 1},
    {"mobilenetv2 b2 expand 24>144", 24, 144, 56, 1, 1, 0, 1},
    {"mobilenetv2 b2 dw 3x3 144", 144, 144, 56, 3, 1, 1, 144},
    {"mobilenetv2 b2 project 144>24", 144, 24, 56, 1, 1, 0, 1},
    {"mobilenetv2 b3 dw 3x3/2 144", 144, 144, 56, 3, 2, 1, 144},
    {"mobilenetv2 b3 project 144>32", 144, 32, 28, 1, 1, 0, 1},
    {"mobilenetv2 b3 expand 32>192", 32, 192, 28, 1, 1, 0, 1},
    {"mobilenetv2 b3 dw 3x3 192", 192, 192, 28, 3, 1, 1, 192},
    {"mobilenetv2 b3 project 192>32", 192, 32, 28, 1, 1, 0, 1},
    {"mobilenetv2 b4 dw 3x3/2 192", 192, 192, 28, 3, 2, 1, 192},
    {"mobilenetv2 b4 project 192>64", 192, 64, 14, 1, 1, 0, 1},
    {"mobilenetv2 b4 expand 64>384", 64, 384, 14, 1, 1, 0, 1},
    {"mobilenetv2 b4 dw 3x3 384", 384, 384, 14, 3, 1, 1, 384},
    {"mobilenetv2 b4 project 384>64", 384, 64, 14, 1, 1, 0, 1},
    {"mobilenetv2 b5 project 384>96", 384, 96, 14, 1, 1, 0, 1},
    {"mobilenetv2 b5 expand 96>576", 96, 576, 14, 1, 1, 0, 1},
    {"mobilenetv2 b5 dw 3x3 576", 576, 576, 14, 3, 1, 1, 576},
    {"mobilenetv2 b5 project 576>96", 576, 96, 14, 1, 1, 0, 1},
    {"mobilenetv2 b6 dw 3x3/2 576", 576, 576, 14, 3, 2, 1, 576},
    {"mobilenetv2 b6 project 576>160", 576, 160, 7, 1, 1, 0, 1},
    {"mobilenetv2 b6 expand 160>960", 160, 960, 7, 1, 1, 0, 1},
    {"mobilenetv2 b6 dw 3x3 960", 960, 960, 7, 3, 1, 1, 960},
    {"mobilenetv2 b6 project 960>160", 960, 160, 7, 1, 1, 0, 1},
    {"mobilenetv2 b7 project 960>320", 960, 320, 7, 1, 1, 0, 1},
    {"mobilenetv2 last 1x1 320>1280", 320, 1280, 7, 1, 1, 0, 1},
};

#define LAYERS (sizeof layers / sizeof *layers)
#define RUNS_MAX 64

/* The median of n samples; *best gets the fastest (on a shared machine
 * the one least disturbed). */
static double median(double *t, int n, double *best)
{
    qsort(t, (size_t)n, sizeof *t, bench_cmp_double);
    *best = t[0];
    return t[n / 2];
}

static int out_size(const layer *l)
{
    return (l->h + 2 * l->pad - l->r) / l->s + 1;
}

/* The im2col GEMM of a layer: M = K_out, N = out pixels, K = C * R * S. */
static void gemm_shape(const layer *l, size_t *m, size_t *n, size_t *k)
{
    int o = out_size(l);
    *m = (size_t)l->k;
    *n = (size_t)o * (size_t)o;
    *k = (size_t)l->c / (size_t)l->groups * (size_t)l->r * (size_t)l->r;
}

/* ---- The machine ------------------------------------------------------------------ */

#define FMA_ACC 12
#define FMA_LANES 16
#define FMA_ITERS 100000000L

typedef struct fma_job {
    float seed, out;
    double seconds;
} fma_job;

/* FMA_ACC independent chains of FMA_LANES-float vectors (GCC's vector
 * extension; the file is built with -ffp-contract=fast so a * b + c is one
 * fma): enough chains to cover the FMA latency on two pipes. */
typedef float fma_vec __attribute__((vector_size(FMA_LANES * sizeof(float))));

static void *fma_worker(void *arg)
{
    fma_job *job = arg;
    fma_vec x[FMA_ACC], m, c;
    for (int l = 0; l < FMA_LANES; l++) {
        m[l] = 0.999999f;
        c[l] = 1e-7f * job->seed;
    }
    for (int a = 0; a < FMA_ACC; a++)
        for (int l = 0; l < FMA_LANES; l++)
            x[a][l] = job->seed + (float)(a * FMA_LANES + l);
    double t = bench_now_s();
    for (long it = 0; it < FMA_ITERS; it++)
        for (int a = 0; a < FMA_ACC; a++)
            x[a] = x[a] * m + c;
    job->seconds = bench_now_s() - t;
    float s = 0;
    for (int a = 0; a < FMA_ACC; a++)
        for (int l = 0; l < FMA_LANES; l++)
            s += x[a][l];
    job->out = s;
    return NULL;
}

/* FLOPs of all threads over the span from the first start to the last
 * end, so that threads the OS did not run side by side do not count as
 * simultaneous; best of three. */
static double fp32_peak(int threads)
{
    pthread_t tid[64];
    fma_job jobs[64];
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = bench_now_s();
        for (int i = 0; i < threads; i++) {
            jobs[i] = (fma_job){.seed = 1.0f + (float)i};
            pthread_create(&tid[i], NULL, fma_worker, &jobs[i]);
        }
        for (int i = 0; i < threads; i++)
            pthread_join(tid[i], NULL);
        double flops = 2.0 * FMA_ACC * FMA_LANES * (double)FMA_ITERS * threads / (bench_now_s() - t0);
        if (flops > best)
            best = flops;
    }
    if (jobs[0].out == 12345.0f)
        printf(" "); /* keeps the result alive */
    return best / 1e9;
}

typedef struct copy_job {
    char *a, *b;
    size_t n;
    double seconds;
} copy_job;

static void *copy_worker(void *arg)
{
    copy_job *job = arg;
    double t = bench_now_s();
    memcpy(job->b, job->a, job->n);
    job->seconds = bench_now_s() - t;
    return NULL;
}

/* GB/s read + written by memcpy on `threads` threads at once. */
static double copy_bandwidth(int threads)
{
    size_t n = (size_t)64 << 20;
    pthread_t tid[64];
    copy_job jobs[64];
    for (int i = 0; i < threads; i++) {
        jobs[i] = (copy_job){.a = malloc(n), .b = malloc(n), .n = n};
        if (!jobs[i].a || !jobs[i].b)
            return 0;
        memset(jobs[i].a, 1, n);
        memset(jobs[i].b, 2, n);
    }
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        for (int i = 0; i < threads; i++)
            pthread_create(&tid[i], NULL, copy_worker, &jobs[i]);
        double slowest = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(tid[i], NULL);
            if (jobs[i].seconds > slowest)
                slowest = jobs[i].seconds;
        }
        double gbs = 2.0 * (double)n * threads / slowest / 1e9;
        if (gbs > best)
            best = gbs;
    }
    for (int i = 0; i < threads; i++) {
        free(jobs[i].a);
        free(jobs[i].b);
    }
    return best;
}

/* ---- CLBlast's plain SGEMM ----------------------------------------------------------- */

#ifdef WEFT_CLBLAST
typedef struct clblast_env {
    cl_context context;
    cl_command_queue queue;
} clblast_env;

/* A context and queue of its own on the device weft chose (by name). */
static int clblast_open(const weft_device_info *info, clblast_env *env)
{
    cl_platform_id plats[16];
    cl_uint np = 0;
    clGetPlatformIDs(16, plats, &np);
    for (cl_uint p = 0; p < np; p++) {
        cl_device_id devs[16];
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 16, devs, &nd) != CL_SUCCESS)
            continue;
        for (cl_uint d = 0; d < nd; d++) {
            char name[256] = "";
            clGetDeviceInfo(devs[d], CL_DEVICE_NAME, sizeof name, name, NULL);
            if (strcmp(name, info->name) != 0)
                continue;
            cl_int err;
            env->context = clCreateContext(NULL, 1, &devs[d], NULL, NULL, &err);
            if (!env->context)
                return -1;
            env->queue = clCreateCommandQueue(env->context, devs[d], 0, &err);
            return env->queue ? 0 : -1;
        }
    }
    return -1;
}

/* Median seconds of one SGEMM of m x n x k (row-major, no transposes). */
static double clblast_time(clblast_env *env, size_t m, size_t n, size_t k, int runs,
                           double *best)
{
    cl_int err;
    size_t bytes[3] = {m * k * 4, k * n * 4, m * n * 4};
    cl_mem buf[3];
    float *host = malloc(bytes[0] > bytes[1] ? bytes[0] : bytes[1]);
    uint64_t seed = 7;
    for (int i = 0; i < 3; i++) {
        buf[i] = clCreateBuffer(env->context, CL_MEM_READ_WRITE, bytes[i], NULL, &err);
        if (i < 2) {
            weft_random_fill(&seed, host, bytes[i] / 4, -1, 1);
            clEnqueueWriteBuffer(env->queue, buf[i], CL_TRUE, 0, bytes[i], host, 0, NULL, NULL);
        }
    }
    free(host);
    double t[RUNS_MAX];
    int ok = 1;
    /* several calls per sample, so that one call's launch does not dominate */
    int reps = m * n * k < 20000000 ? 8 : 2;
    for (int r = -1; r < runs && ok; r++) {
        clFinish(env->queue);
        double t0 = bench_now_s();
        for (int q = 0; q < reps && ok; q++)
            ok = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, m, n,
                              k, 1.0f, buf[0], 0, k, buf[1], 0, n, 0.0f, buf[2], 0, n,
                              &env->queue, NULL) == CLBlastSuccess;
        clFinish(env->queue);
        if (r >= 0)
            t[r] = (bench_now_s() - t0) / reps;
    }
    for (int i = 0; i < 3; i++)
        clReleaseMemObject(buf[i]);
    return ok ? median(t, runs, best) : -1;
}
#endif

/* ---- Sessions ------------------------------------------------------------------------ */

/* Median kernel seconds of the one node of graph g under `force`
 * (profiling events), or -1 with *why filled. */
static double session_time(weft_context *ctx, weft_graph *g, const char *force,
                           const weft_tensor *feed, int runs, double *best, char *why, size_t cap)
{
    weft_session_options so;
    weft_session_options_defaults(&so);
    so.force_impl = force;
    so.profiling = 1;
    weft_session *s = NULL;
    if (weft_session_create(ctx, g, &so, &s) != WEFT_OK) {
        snprintf(why, cap, "%s", weft_last_error());
        return -1;
    }
    weft_tensor out;
    weft_status st = weft_session_output_info(s, 0, &out);
    out.data = malloc(out.size_bytes);
    double t[RUNS_MAX];
    for (int r = -1; r < runs && st == WEFT_OK; r++) {
        st = weft_session_run(s, feed, 1, &out, 1);
        weft_node_info info;
        if (st == WEFT_OK)
            st = weft_session_node_info(s, 0, &info);
        if (st == WEFT_OK && r >= 0)
            t[r] = info.time_ms / 1e3;
    }
    if (st != WEFT_OK)
        snprintf(why, cap, "%s", weft_last_error());
    free(out.data);
    weft_session_release(s);
    return st == WEFT_OK ? median(t, runs, best) : -1;
}

/* MatMul(W [m, k] constant, X [k, n]) under "MatMul:impl". */
static double engine_time(weft_context *ctx, const char *impl, size_t m, size_t n, size_t k,
                          int runs, double *best, char *why, size_t cap)
{
    weft_graph *g;
    weft_graph_create(&g);
    float *w = malloc(m * k * sizeof *w), *x = malloc(k * n * sizeof *x);
    uint64_t seed = 3;
    weft_random_fill(&seed, w, m * k, -1, 1);
    weft_random_fill(&seed, x, k * n, -1, 1);
    int64_t dw[2] = {(int64_t)m, (int64_t)k}, dx[2] = {(int64_t)k, (int64_t)n};
    const char *in[2] = {"w", "x"}, *y = "y";
    weft_graph_add_constant(g, "w", WEFT_FLOAT32, 2, dw, w);
    weft_graph_add_input(g, "x", WEFT_FLOAT32, 2, dx);
    weft_status st = weft_graph_add_node(g, "MatMul", "gemm", in, 2, NULL, &y, 1);
    if (st == WEFT_OK)
        st = weft_graph_add_output(g, "y");
    weft_tensor feed = {.name = "x", .dtype = WEFT_FLOAT32, .rank = 2, .dims = {dx[0], dx[1]},
                        .data = x, .size_bytes = k * n * sizeof *x};
    char force[64];
    snprintf(force, sizeof force, "MatMul:%s", impl);
    double t = st == WEFT_OK ? session_time(ctx, g, force, &feed, runs, best, why, cap) : -1;
    if (st != WEFT_OK)
        snprintf(why, cap, "%s", weft_last_error());
    weft_graph_release(g);
    free(w);
    free(x);
    return t;
}

/* One Conv node (weights and bias constants) under "Conv:impl". */
static double conv_time(weft_context *ctx, const char *impl, const layer *l, int runs,
                        double *best, char *why, size_t cap)
{
    weft_graph *g;
    weft_graph_create(&g);
    size_t cg = (size_t)(l->c / l->groups), wn = (size_t)l->k * cg * (size_t)(l->r * l->r);
    size_t xn = (size_t)l->c * (size_t)l->h * (size_t)l->h;
    float *w = malloc(wn * sizeof *w), *b = malloc((size_t)l->k * sizeof *b),
          *x = malloc(xn * sizeof *x);
    uint64_t seed = 5;
    weft_random_fill(&seed, w, wn, -1, 1);
    weft_random_fill(&seed, b, (size_t)l->k, -1, 1);
    weft_random_fill(&seed, x, xn, -1, 1);
    int64_t dw[4] = {l->k, (int64_t)cg, l->r, l->r}, db[1] = {l->k};
    int64_t dx[4] = {1, l->c, l->h, l->h};
    weft_graph_add_constant(g, "w", WEFT_FLOAT32, 4, dw, w);
    weft_graph_add_constant(g, "b", WEFT_FLOAT32, 1, db, b);
    weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, dx);
    weft_attrs *a;
    weft_attrs_create(&a);
    int64_t ks[2] = {l->r, l->r}, st2[2] = {l->s, l->s}, pads[4] = {l->pad, l->pad, l->pad, l->pad};
    weft_attrs_set_ints(a, "kernel_shape", ks, 2);
    weft_attrs_set_ints(a, "strides", st2, 2);
    weft_attrs_set_ints(a, "pads", pads, 4);
    weft_attrs_set_int(a, "group", l->groups);
    const char *in[3] = {"x", "w", "b"}, *y = "y";
    weft_status st = weft_graph_add_node(g, "Conv", "conv", in, 3, a, &y, 1);
    weft_attrs_release(a);
    if (st == WEFT_OK)
        st = weft_graph_add_output(g, "y");
    weft_tensor feed = {.name = "x", .dtype = WEFT_FLOAT32, .rank = 4,
                        .dims = {1, l->c, l->h, l->h}, .data = x, .size_bytes = xn * sizeof *x};
    char force[64];
    snprintf(force, sizeof force, "Conv:%s", impl);
    double t = st == WEFT_OK ? session_time(ctx, g, force, &feed, runs, best, why, cap) : -1;
    if (st != WEFT_OK)
        snprintf(why, cap, "%s", weft_last_error());
    weft_graph_release(g);
    free(w);
    free(b);
    free(x);
    return t;
}

static int serves(const weft_op_impl *impl, const char *op)
{
    for (const char *const *o = impl->ops; *o; o++)
        if (strcmp(*o, op) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int runs = 7;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_conv [--runs N] [--only SUBSTRING]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > RUNS_MAX)
        runs = 7;
    /* PoCL pins its worker threads with this; without it the timings are
     * bimodal (the measurements). Set before PoCL starts, unless
     * the caller chose. */
    setenv("POCL_AFFINITY", "1", 0);
    weft_context *ctx;
    if (weft_context_create(NULL, &ctx) != WEFT_OK) {
        fprintf(stderr, "bench_conv: %s\n", weft_last_error());
        return 1;
    }
    weft_device_info info;
    weft_context_device_info(ctx, 0, &info);
    int threads = info.type == WEFT_DEVICE_CPU && info.compute_units ? (int)info.compute_units : 1;
    if (threads > 64)
        threads = 64;
    double peak = fp32_peak(threads), copy = copy_bandwidth(threads);
    printf("device: %s (%u compute units)\n", info.name, info.compute_units);
    printf("host FP32 peak %.1f GFLOP/s (FMA loop on %d threads); copy bandwidth %.1f GB/s "
           "(memcpy on %d threads, read + write)\n",
           peak, threads, copy, threads);
    if (strstr(info.platform_name, "Portable"))
        printf("POCL_AFFINITY=%s (1 pins PoCL's threads; timings are bimodal without it)\n",
               getenv("POCL_AFFINITY"));
    printf("medians of %d runs; GEMM: C[M, N] = W[M, K] X[K, N] (the layer's im2col product)\n\n",
           runs);

#ifdef WEFT_CLBLAST
    clblast_env env = {0};
    int have_clblast = clblast_open(&info, &env) == 0;
    if (!have_clblast)
        printf("CLBlast: no context on '%s'; its column is empty\n", info.name);
#else
    int have_clblast = 0;
    printf("CLBlast: weft was built without it (WEFT_CLBLAST=OFF); its column is empty\n");
#endif
    printf("(GFLOP/s of the median run, and of the fastest in brackets)\n");
    printf("%-32s %5s %6s %5s | %7s %7s %5s | %7s %7s %5s %6s\n", "layer", "M", "N", "K",
           "CLBlast", "(best)", "peak", "weft", "(best)", "peak", "ratio");
    for (size_t i = 0; i < LAYERS; i++) {
        const layer *l = &layers[i];
        if (only && !strstr(l->name, only))
            continue;
        if (l->groups != 1) {
            printf("%-32s (depthwise: no single GEMM)\n", l->name);
            continue;
        }
        size_t m, n, k;
        gemm_shape(l, &m, &n, &k);
        double flops = 2.0 * (double)m * (double)n * (double)k, cb = -1, cbest = 0, wbest = 0;
#ifdef WEFT_CLBLAST
        if (have_clblast)
            cb = clblast_time(&env, m, n, k, runs, &cbest);
#endif
        char why[512] = "";
        double tw = engine_time(ctx, "tiled", m, n, k, runs, &wbest, why, sizeof why);
        double gc = cb > 0 ? flops / cb / 1e9 : 0, gw = tw > 0 ? flops / tw / 1e9 : 0;
        double gcb = cb > 0 ? flops / cbest / 1e9 : 0, gwb = tw > 0 ? flops / wbest / 1e9 : 0;
        printf("%-32s %5zu %6zu %5zu | %7.1f (%5.1f) %4.0f%% | %7.1f (%5.1f) %4.0f%% %5.1fx\n",
               l->name, m, n, k, gc, gcb, 100 * gc / peak, gw, gwb, 100 * gw / peak,
               gc > 0 ? gw / gc : 0);
        if (tw < 0)
            printf("    weft: %s\n", why);
        fflush(stdout);
    }
#ifdef WEFT_CLBLAST
    if (have_clblast) {
        clReleaseCommandQueue(env.queue);
        clReleaseContext(env.context);
    }
#endif
    (void)have_clblast;

    printf("\nConv implementations (one-node sessions, kernel time; GFLOP/s counts 2 x MACs; "
           "depthwise also as GB/s of its input + output vs copy)\n");
    printf("%-32s %-20s %8s %8s %8s %5s %7s\n", "layer", "impl", "ms", "GFLOP/s", "(best)",
           "peak", "GB/s");
    for (size_t i = 0; i < LAYERS; i++) {
        const layer *l = &layers[i];
        if (only && !strstr(l->name, only))
            continue;
        size_t m, n, k;
        gemm_shape(l, &m, &n, &k);
        double flops = 2.0 * (double)m * (double)n * (double)k;
        double bytes = 4.0 * ((double)l->c * l->h * l->h + (double)m * n);
        for (size_t j = 0; j < weft_op_impl_count; j++) {
            const weft_op_impl *impl = weft_op_impls[j];
            if (!serves(impl, "Conv"))
                continue;
            char why[512] = "";
            double best = 0, t = conv_time(ctx, impl->name, l, runs, &best, why, sizeof why);
            if (t < 0) {
                printf("%-32s %-20s skipped: %s\n", l->name, impl->name, why);
                continue;
            }
            double gf = flops / t / 1e9;
            /* Only the last of CLBlast's kernels per product is in the node's
             * profile (src/ops/gemm_clblast.c) */
            printf("%-32s %-20s %8.3f %8.1f (%6.1f) %4.0f%% %7.1f%s\n", l->name, impl->name,
                   t * 1e3, gf, flops / best / 1e9, 100 * gf / peak, bytes / t / 1e9,
                   strstr(impl->name, "clblast") ? "  (CLBlast: its last kernel only)" : "");
            fflush(stdout);
        }
    }
    weft_context_release(ctx);
    return 0;
}
