#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "runtime/buffers.h"
#include "core/random.h"
#include "runtime/context.h"
#include "runtime/program.h"
#include "runtime/self_check.h"
#include "runtime/sources.h"

#define CHECK_CL(call, what)                                                         \
    do {                                                                             \
        cl_int e_ = (call);                                                          \
        if (e_ != CL_SUCCESS) {                                                      \
            st = weft_fail(WEFT_ERR_OPENCL, "self-check %s on device '%s': %s", what, \
                           ds->cl.info.name, weft_cl_error_name(e_));                \
            goto done;                                                               \
        }                                                                            \
    } while (0)

static size_t round_up(size_t n, size_t m)
{
    return (n + m - 1) / m * m;
}

static weft_status get_kernel(weft_context *ctx, size_t device, const char *kname,
                              cl_kernel *kernel)
{
    cl_program program;
    weft_status st = weft_program_get(ctx, device, "selfcheck", "", &program);
    if (st != WEFT_OK)
        return st;
    cl_int err;
    *kernel = clCreateKernel(program, kname, &err);
    if (!*kernel)
        return weft_fail(WEFT_ERR_OPENCL, "clCreateKernel('%s') on device '%s': %s", kname,
                         ctx->devices[device].cl.info.name, weft_cl_error_name(err));
    return WEFT_OK;
}

static size_t kernel_local_limit(const weft_device_state *ds, cl_kernel kernel)
{
    size_t limit = 0;
    if (clGetKernelWorkGroupInfo(kernel, ds->cl.device, CL_KERNEL_WORK_GROUP_SIZE, sizeof limit,
                                 &limit, NULL) != CL_SUCCESS ||
        limit == 0)
        limit = 1;
    return limit;
}

static weft_status check_device(weft_context *ctx, size_t device)
{
    if (!ctx)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "self-check: context is NULL");
    if (device >= ctx->device_count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                         "self-check: device %zu, but the context has %zu device(s)", device,
                         ctx->device_count);
    return WEFT_OK;
}

weft_status weft_self_check_axpy(weft_context *ctx, size_t device, size_t n, size_t local)
{
    weft_status st = check_device(ctx, device);
    if (st != WEFT_OK)
        return st;
    if (n == 0 || n > UINT32_MAX)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "self-check axpy: n = %zu", n);
    weft_device_state *ds = &ctx->devices[device];
    cl_kernel kernel = NULL;
    cl_mem bx = NULL, by = NULL;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *got = malloc(n * sizeof *got);
    if (!x || !y || !got) {
        st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "self-check axpy: no memory for %zu floats", n);
        goto done;
    }
    uint64_t seed = 0x5eed0001u + n;
    weft_random_fill(&seed, x, n, -1.0f, 1.0f);
    weft_random_fill(&seed, y, n, -1.0f, 1.0f);
    const float a = 0.75f;
    st = get_kernel(ctx, device, "axpy_f32", &kernel);
    if (st != WEFT_OK)
        goto done;
    cl_int err;
    bx = weft_buffer_create(ds->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * sizeof *x, x, &err);
    CHECK_CL(err, "clCreateBuffer");
    by = weft_buffer_create(ds->context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * sizeof *y, y, &err);
    CHECK_CL(err, "clCreateBuffer");
    cl_uint un = (cl_uint)n;
    CHECK_CL(clSetKernelArg(kernel, 0, sizeof a, &a), "clSetKernelArg");
    CHECK_CL(clSetKernelArg(kernel, 1, sizeof bx, &bx), "clSetKernelArg");
    CHECK_CL(clSetKernelArg(kernel, 2, sizeof by, &by), "clSetKernelArg");
    CHECK_CL(clSetKernelArg(kernel, 3, sizeof un, &un), "clSetKernelArg");
    size_t limit = kernel_local_limit(ds, kernel);
    if (local > limit)
        local = limit;
    size_t global = local ? round_up(n, local) : n;
    CHECK_CL(clEnqueueNDRangeKernel(ds->queue, kernel, 1, NULL, &global, local ? &local : NULL,
                                    0, NULL, NULL),
             "axpy_f32 enqueue");
    CHECK_CL(clEnqueueReadBuffer(ds->queue, by, CL_TRUE, 0, n * sizeof *got, got, 0, NULL, NULL),
             "clEnqueueReadBuffer");
    for (size_t i = 0; i < n; i++) {
        float want = fmaf(a, x[i], y[i]);
        /* fma() in OpenCL C is correctly rounded, as is fmaf(): equal bits. */
        if (got[i] != want) {
            st = weft_fail(WEFT_ERR_CHECK_FAILED,
                           "self-check axpy_f32 on device '%s': element %zu of %zu is %.9g, "
                           "expected %.9g",
                           ds->cl.info.name, i, n, (double)got[i], (double)want);
            goto done;
        }
    }
done:
    if (bx)
        weft_buffer_release(bx);
    if (by)
        weft_buffer_release(by);
    if (kernel)
        clReleaseKernel(kernel);
    free(x);
    free(y);
    free(got);
    return st;
}

weft_status weft_self_check_sum(weft_context *ctx, size_t device, size_t n, size_t local,
                                size_t groups)
{
    weft_status st = check_device(ctx, device);
    if (st != WEFT_OK)
        return st;
    if (n == 0 || n > UINT32_MAX)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "self-check sum: n = %zu", n);
    weft_device_state *ds = &ctx->devices[device];
    cl_kernel kernel = NULL;
    cl_mem bx = NULL, bp = NULL;
    float *x = malloc(n * sizeof *x), *partial = NULL;
    if (!x) {
        st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "self-check sum: no memory for %zu floats", n);
        goto done;
    }
    uint64_t seed = 0x5eed0002u + n;
    weft_random_fill(&seed, x, n, -1.0f, 1.0f);
    st = get_kernel(ctx, device, "sum_f32", &kernel);
    if (st != WEFT_OK)
        goto done;
    size_t limit = kernel_local_limit(ds, kernel);
    if (local == 0)
        local = limit < 256 ? limit : 256;
    if (local > limit)
        local = limit;
    /* Local memory must hold one float per work-item. */
    if (local * sizeof(float) > ds->cl.info.local_mem_bytes && ds->cl.info.local_mem_bytes)
        local = (size_t)(ds->cl.info.local_mem_bytes / sizeof(float));
    if (groups == 0)
        groups = (n + local - 1) / local < 64 ? (n + local - 1) / local : 64;
    partial = malloc(groups * sizeof *partial);
    if (!partial) {
        st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "self-check sum: no memory");
        goto done;
    }
    cl_int err;
    bx = weft_buffer_create(ds->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * sizeof *x, x, &err);
    CHECK_CL(err, "clCreateBuffer");
    bp = weft_buffer_create(ds->context, CL_MEM_READ_WRITE, groups * sizeof *partial, NULL, &err);
    CHECK_CL(err, "clCreateBuffer");
    /* Poison, so a group that writes nothing is caught. */
    const float poison = NAN;
    CHECK_CL(clEnqueueFillBuffer(ds->queue, bp, &poison, sizeof poison, 0, groups * sizeof poison,
                                 0, NULL, NULL),
             "clEnqueueFillBuffer");
    cl_uint un = (cl_uint)n;
    CHECK_CL(clSetKernelArg(kernel, 0, sizeof bx, &bx), "clSetKernelArg");
    CHECK_CL(clSetKernelArg(kernel, 1, sizeof un, &un), "clSetKernelArg");
    CHECK_CL(clSetKernelArg(kernel, 2, sizeof bp, &bp), "clSetKernelArg");
    CHECK_CL(clSetKernelArg(kernel, 3, local * sizeof(float), NULL), "clSetKernelArg");
    size_t global = groups * local;
    CHECK_CL(clEnqueueNDRangeKernel(ds->queue, kernel, 1, NULL, &global, &local, 0, NULL, NULL),
             "sum_f32 enqueue");
    CHECK_CL(clEnqueueReadBuffer(ds->queue, bp, CL_TRUE, 0, groups * sizeof *partial, partial, 0,
                                 NULL, NULL),
             "clEnqueueReadBuffer");
    double got = 0, want = 0, magnitude = 0;
    for (size_t g = 0; g < groups; g++)
        got += partial[g];
    for (size_t i = 0; i < n; i++) {
        want += x[i];
        magnitude += fabs(x[i]);
    }
    /* float accumulation over at most n terms: error bound ~ n * eps * sum|x|;
     * a log-depth tree keeps it far smaller, so allow 1e-5 * sum|x|. */
    if (!(fabs(got - want) <= 1e-5 * magnitude + 1e-6))
        st = weft_fail(WEFT_ERR_CHECK_FAILED,
                       "self-check sum_f32 on device '%s' (n %zu, local %zu, groups %zu): got "
                       "%.9g, expected %.9g",
                       ds->cl.info.name, n, local, groups, got, want);
done:
    if (bx)
        weft_buffer_release(bx);
    if (bp)
        weft_buffer_release(bp);
    if (kernel)
        clReleaseKernel(kernel);
    free(x);
    free(partial);
    return st;
}

weft_status weft_context_self_check(weft_context *context, size_t device_index)
{
    weft_status st = check_device(context, device_index);
    if (st != WEFT_OK)
        return st;
    /* Every embedded program must build with its default -D values. */
    for (size_t i = 0; i < weft_cl_source_count; i++) {
        cl_program program;
        st = weft_program_get(context, device_index, weft_cl_sources[i].name, "", &program);
        if (st != WEFT_OK)
            return st;
    }
    static const size_t sizes[] = {1, 7, 1000, 65537};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0] && st == WEFT_OK; i++) {
        st = weft_self_check_axpy(context, device_index, sizes[i], 0);
        if (st == WEFT_OK)
            st = weft_self_check_sum(context, device_index, sizes[i], 0, 0);
    }
    return st;
}
