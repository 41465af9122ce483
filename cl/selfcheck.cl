/*
 * selfcheck — small kernels that show a device computes correctly and
 * that the program cache, options and work-group queries work.
 *
 * -D contract (all optional):
 *   SCALE  factor applied by scale_f32 (default 1.0f)
 *
 * Work-group sizes are the host's choice, from the kernel's own limit;
 * sum_f32 is correct for any local size, power of two or not.
 */
#ifndef SCALE
#define SCALE 1.0f
#endif

__kernel void fill_f32(__global float *y, const float value, const uint n)
{
    const uint i = get_global_id(0);
    if (i < n)
        y[i] = value;
}

__kernel void axpy_f32(const float a, __global const float *x, __global float *y, const uint n)
{
    const uint i = get_global_id(0);
    if (i < n)
        y[i] = fma(a, x[i], y[i]);
}

__kernel void scale_f32(__global const float *x, __global float *y, const uint n)
{
    const uint i = get_global_id(0);
    if (i < n)
        y[i] = x[i] * SCALE;
}

/* One partial sum per work-group: each work-item adds a grid-strided
 * range, then the group halves its active range until one value is left.
 * Rounding (active + 1) / 2 keeps odd sizes correct. */
__kernel void sum_f32(__global const float *x, const uint n, __global float *partial,
                      __local float *scratch)
{
    const uint lid = get_local_id(0);
    const uint stride = get_global_size(0);
    float acc = 0.0f;
    for (uint i = get_global_id(0); i < n; i += stride)
        acc += x[i];
    scratch[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint active = get_local_size(0); active > 1;) {
        const uint next = (active + 1) / 2;
        if (lid < active - next)
            scratch[lid] += scratch[lid + next];
        barrier(CLK_LOCAL_MEM_FENCE);
        active = next;
    }
    if (lid == 0)
        partial[get_group_id(0)] = scratch[0];
}
