/*
 * The cl/selfcheck.cl kernels against plain C over sizes and forced
 * work-group sizes (including ones a small Mali-class device would allow).
 * Registered twice: on the default device and under oclgrind.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "runtime/context.h"
#include "runtime/program.h"
#include "runtime/self_check.h"
#include "test_common.h"

static int setup(void **state)
{
    weft_context_options o = test_options(NULL);
    weft_context *ctx;
    assert_weft_ok(weft_context_create(&o, &ctx));
    *state = ctx;
    return 0;
}

static int teardown(void **state)
{
    weft_context_release(*state);
    return 0;
}

static void test_self_check(void **state)
{
    assert_weft_ok(weft_context_self_check(*state, 0));
}

static void test_axpy_sizes(void **state)
{
    static const size_t sizes[] = {1, 2, 3, 17, 64, 255, 1025};
    static const size_t locals[] = {0, 1, 3, 64};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (size_t l = 0; l < sizeof locals / sizeof *locals; l++)
            assert_weft_ok(weft_self_check_axpy(*state, 0, sizes[i], locals[l]));
}

static void test_sum_work_group_sizes(void **state)
{
    /* Local sizes: powers of two, odd ones, and 64/128 as on small GPUs;
     * element counts below, at and above one work-group. */
    static const size_t sizes[] = {1, 5, 64, 129, 1000, 4099};
    static const size_t locals[] = {1, 2, 7, 64, 100, 128};
    static const size_t groups[] = {1, 3};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (size_t l = 0; l < sizeof locals / sizeof *locals; l++)
            for (size_t g = 0; g < sizeof groups / sizeof *groups; g++)
                assert_weft_ok(weft_self_check_sum(*state, 0, sizes[i], locals[l], groups[g]));
}

/* -D options reach the kernel, and each option set is its own program. */
static void test_options_define(void **state)
{
    weft_context *ctx = *state;
    weft_device_state *ds = &ctx->devices[0];
    const size_t n = 37;
    float x[37], y[37];
    uint64_t seed = 42;
    weft_random_fill(&seed, x, n, -2.0f, 2.0f);
    static const char *const options[] = {"", "-D SCALE=2.5f", "-D SCALE=-3.0f"};
    static const float scales[] = {1.0f, 2.5f, -3.0f};
    cl_program seen[3];
    for (int k = 0; k < 3; k++) {
        cl_program program;
        assert_weft_ok(weft_program_get(ctx, 0, "selfcheck", options[k], &program));
        seen[k] = program;
        cl_int err;
        cl_kernel kernel = clCreateKernel(program, "scale_f32", &err);
        assert_int_equal(err, CL_SUCCESS);
        cl_mem bx = clCreateBuffer(ds->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                   sizeof x, x, &err);
        assert_int_equal(err, CL_SUCCESS);
        cl_mem by = clCreateBuffer(ds->context, CL_MEM_WRITE_ONLY, sizeof y, NULL, &err);
        assert_int_equal(err, CL_SUCCESS);
        const float poison = NAN;
        assert_int_equal(clEnqueueFillBuffer(ds->queue, by, &poison, sizeof poison, 0, sizeof y,
                                             0, NULL, NULL),
                         CL_SUCCESS);
        cl_uint un = (cl_uint)n;
        clSetKernelArg(kernel, 0, sizeof bx, &bx);
        clSetKernelArg(kernel, 1, sizeof by, &by);
        clSetKernelArg(kernel, 2, sizeof un, &un);
        size_t global = n;
        assert_int_equal(clEnqueueNDRangeKernel(ds->queue, kernel, 1, NULL, &global, NULL, 0,
                                                NULL, NULL),
                         CL_SUCCESS);
        assert_int_equal(clEnqueueReadBuffer(ds->queue, by, CL_TRUE, 0, sizeof y, y, 0, NULL,
                                             NULL),
                         CL_SUCCESS);
        for (size_t i = 0; i < n; i++)
            assert_float_equal(y[i], x[i] * scales[k], 0.0f);
        clReleaseMemObject(bx);
        clReleaseMemObject(by);
        clReleaseKernel(kernel);
    }
    assert_ptr_not_equal(seen[0], seen[1]);
    assert_ptr_not_equal(seen[1], seen[2]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_check),
        cmocka_unit_test(test_axpy_sizes),
        cmocka_unit_test(test_sum_work_group_sizes),
        cmocka_unit_test(test_options_define),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
