/*
 * pool — MaxPool (with Indices), AveragePool and LpPool over 1 to 3
 * spatial axes; GlobalMaxPool, GlobalAveragePool and GlobalLpPool; and
 * MaxUnpool. float32 data, int64 indices (OpenCL C `long`).
 *
 * A windowed pool sees its input as [N * C, D, H, W]: 1-D and 2-D pools
 * have leading spatial axes of size 1 (kernel 1, stride 1, dilation 1, no
 * padding). Tap (a, b, c) of the window of output (od, oh, ow) reads input
 * (od * SD - pd + a * DD, oh * SH - ph + b * DH, ow * SW - pw + c * DW);
 * taps outside the input read nothing. The semantics are those of the C
 * reference (src/ref/ref_pool.c), which documents the ONNX rules; in
 * short, MaxPool propagates NaN and its index is the first tap in scan
 * order holding the maximum.
 *
 * -D contract (defaults in brackets):
 *   POOL        POOL_MAX, POOL_AVG or POOL_LP [POOL_MAX]
 *   KD KH KW    kernel extents [1]
 *   SD SH SW    strides [1]
 *   DD DH DW    dilations [1]
 *   COUNT_PAD   AveragePool: divide by the taps inside the padded extent
 *               (count_include_pad 1) instead of those inside the input [0]
 *   P           LpPool and GlobalLpPool: the integer p >= 1 [2]
 *   INDICES     MaxPool: pool_f32 also writes Indices [0]
 *   COL_MAJOR   Indices column-major over the spatial axes
 *               (storage_order 1) [0]
 *   PAIR_BLOCK  global pools: terms summed in order before pairwise
 *               combination [8]
 * Extents, pads and counts are kernel arguments.
 *
 * Kernels (each guards its index, so global sizes may be rounded up to
 * any work-group size; none assumes a work-group size):
 *   pool_f32            one work-item per output element, consecutive
 *                       work-items on consecutive outputs along W.
 *   global_rows_f32     global pools: one work-item per (n, c) plane.
 *   global_group_f32    global pools: one work-group per plane, a tree
 *                       reduction in local memory, correct for any local
 *                       size (1 included) and any plane size (1 included,
 *                       larger than the work-group too).
 *   unpool_clear_i32,   MaxUnpool in three passes over the output viewed
 *   unpool_claim_i32,   as int: every element set to -1; each element i
 *   unpool_gather_i32   of X claims output I[i] with atomic_max(i), so the
 *                       last of repeated indices wins, as in the
 *                       reference, without a race; then every output
 *                       element takes the bits of X[claim], or 0 (+0.0f)
 *                       when unclaimed. Indices outside the output are
 *                       skipped (the reference refuses them).
 * Index arithmetic is 32-bit: the host refuses tensors above 2^31 - 1
 * elements. Remainders are written as a - q * b rather than a % b: with
 * both / and %, LLVM emits a `freeze` that oclgrind cannot run.
 */
#define POOL_MAX 0
#define POOL_AVG 1
#define POOL_LP 2

#ifndef POOL
#define POOL POOL_MAX
#endif
#ifndef KD
#define KD 1
#endif
#ifndef KH
#define KH 1
#endif
#ifndef KW
#define KW 1
#endif
#ifndef SD
#define SD 1
#endif
#ifndef SH
#define SH 1
#endif
#ifndef SW
#define SW 1
#endif
#ifndef DD
#define DD 1
#endif
#ifndef DH
#define DH 1
#endif
#ifndef DW
#define DW 1
#endif
#ifndef COUNT_PAD
#define COUNT_PAD 0
#endif
#ifndef P
#define P 2
#endif
#ifndef INDICES
#define INDICES 0
#endif
#ifndef COL_MAJOR
#define COL_MAJOR 0
#endif
#ifndef PAIR_BLOCK
#define PAIR_BLOCK 8
#endif

/* |v|^P, and its inverse s^(1/P) for s >= 0. */
float lp_term(float v)
{
#if P == 1
    return fabs(v);
#elif P == 2
    return v * v;
#else
    return pown(fabs(v), P);
#endif
}

float lp_root(float s)
{
#if P == 1
    return s;
#elif P == 2
    return sqrt(s);
#else
    return rootn(s, P);
#endif
}

/* The maximum with NaN propagating from either side, so that the result
 * does not depend on the order of the taps or of a reduction tree. */
float max_nan(float m, float v)
{
    return isnan(v) || v > m ? v : m;
}

/* Taps of a window axis inside [lo, hi): a < K with lo <= first + a * step < hi. */
#define AXIS_COUNT(count, K, first, step, lo, hi)                                  \
    do {                                                                           \
        for (int a_ = 0; a_ < (K); a_++) {                                         \
            const int at_ = (first) + a_ * (step);                                 \
            count += at_ >= (lo) && at_ < (hi);                                    \
        }                                                                          \
    } while (0)

/* in_d, in_h, in_w: input extents; out_*: output extents; pad_*: pads at
 * the beginning; end_*: pads at the end (for COUNT_PAD). total: N * C *
 * out_d * out_h * out_w. */
__kernel void pool_f32(__global const float *x, __global float *y,
#if INDICES
                       __global long *indices,
#endif
                       const uint total, const int in_d, const int in_h, const int in_w,
                       const uint out_d, const uint out_h, const uint out_w, const int pad_d,
                       const int pad_h, const int pad_w, const int end_d, const int end_h,
                       const int end_w)
{
    const uint i = get_global_id(0);
    if (i >= total)
        return;
    const uint q = i / out_w;
    const uint ow = i - q * out_w;
    const uint r = q / out_h;
    const uint oh = q - r * out_h;
    const uint nc = r / out_d;
    const uint od = r - nc * out_d;
    const int d0 = (int)od * SD - pad_d, h0 = (int)oh * SH - pad_h, w0 = (int)ow * SW - pad_w;
    const uint plane = (uint)in_d * (uint)in_h * (uint)in_w;
    __global const float *xp = x + nc * plane;

#if POOL == POOL_MAX
    /* The maximum, NaN propagating; -inf for a window with no tap inside
     * the input. A select per tap, which vectorises across work-items. */
    float best = -INFINITY;
    for (int a = 0; a < KD; a++) {
        const int pz = d0 + a * DD;
        if (pz < 0 || pz >= in_d)
            continue;
        for (int b = 0; b < KH; b++) {
            const int py = h0 + b * DH;
            if (py < 0 || py >= in_h)
                continue;
            for (int c = 0; c < KW; c++) {
                const int px = w0 + c * DW;
                if (px < 0 || px >= in_w)
                    continue;
                best = max_nan(best, xp[(pz * in_h + py) * in_w + px]);
            }
        }
    }
    y[i] = best;
#if INDICES
    /* Its index: the first tap in scan order that holds it (the first NaN
     * when it is NaN), found by a second pass in reverse order where each
     * match replaces the previous one — selects again, no branch on data.
     * The second pass reads the same taps, now in cache. */
    int best_at = -1;
    const int best_nan = isnan(best);
    for (int a = KD - 1; a >= 0; a--) {
        const int pz = d0 + a * DD;
        if (pz < 0 || pz >= in_d)
            continue;
        for (int b = KH - 1; b >= 0; b--) {
            const int py = h0 + b * DH;
            if (py < 0 || py >= in_h)
                continue;
            for (int c = KW - 1; c >= 0; c--) {
                const int px = w0 + c * DW;
                if (px < 0 || px >= in_w)
                    continue;
                const float v = xp[(pz * in_h + py) * in_w + px];
#if COL_MAJOR
                const int at = pz + (py + px * in_h) * in_d;
#else
                const int at = (pz * in_h + py) * in_w + px;
#endif
                best_at = (v == best) | (best_nan & isnan(v)) ? at : best_at;
            }
        }
    }
    indices[i] = best_at < 0 ? -1L : (long)nc * (long)plane + (long)best_at;
#endif

#else /* POOL_AVG, POOL_LP */
    float sum = 0.0f;
    for (int a = 0; a < KD; a++) {
        const int pz = d0 + a * DD;
        if (pz < 0 || pz >= in_d)
            continue;
        for (int b = 0; b < KH; b++) {
            const int py = h0 + b * DH;
            if (py < 0 || py >= in_h)
                continue;
            for (int c = 0; c < KW; c++) {
                const int px = w0 + c * DW;
                if (px < 0 || px >= in_w)
                    continue;
                const float v = xp[(pz * in_h + py) * in_w + px];
#if POOL == POOL_AVG
                sum += v;
#else
                sum += lp_term(v);
#endif
            }
        }
    }
#if POOL == POOL_AVG
    int cd = 0, ch = 0, cw = 0;
#if COUNT_PAD
    AXIS_COUNT(cd, KD, d0, DD, -pad_d, in_d + end_d);
    AXIS_COUNT(ch, KH, h0, DH, -pad_h, in_h + end_h);
    AXIS_COUNT(cw, KW, w0, DW, -pad_w, in_w + end_w);
#else
    AXIS_COUNT(cd, KD, d0, DD, 0, in_d);
    AXIS_COUNT(ch, KH, h0, DH, 0, in_h);
    AXIS_COUNT(cw, KW, w0, DW, 0, in_w);
#endif
    const int count = cd * ch * cw;
    y[i] = count > 0 ? sum / (float)count : NAN;
#else
    y[i] = lp_root(sum);
#endif
#endif
}

/* ---- Global pools ----------------------------------------------------------- */


#if POOL == POOL_MAX
#define COMBINE(a, b) max_nan((a), (b))
#else
#define COMBINE(a, b) ((a) + (b))
#endif

/* This work-item's part of a plane: the elements x[first + j * step] for
 * j < count. Sums run in pairwise order (blocks of PAIR_BLOCK terms, then
 * combined like a binary counter), so rounding grows with PAIR_BLOCK +
 * log2(count) rather than with count; 32 levels cover any uint count. */
float plane_part(__global const float *x, uint first, uint count, uint step)
{
#if POOL == POOL_MAX
    float m = -INFINITY;
    for (uint j = 0; j < count; j++)
        m = max_nan(m, x[first + j * step]);
    return m;
#else
    float stack[32];
    uint top = 0, blocks = 0;
    for (uint k = 0; k < count; k += PAIR_BLOCK) {
        const uint end = min(count, k + PAIR_BLOCK);
        float s = 0.0f;
        for (uint j = k; j < end; j++) {
#if POOL == POOL_AVG
            s += x[first + j * step];
#else
            s += lp_term(x[first + j * step]);
#endif
        }
        for (uint b = blocks; b & 1u; b >>= 1)
            s += stack[--top];
        stack[top++] = s;
        blocks++;
    }
    float total = 0.0f;
    while (top > 0)
        total += stack[--top];
    return total;
#endif
}

/* The pooled value from the combination of a whole plane of len elements. */
float plane_finish(float v, uint len)
{
#if POOL == POOL_AVG
    return v / (float)len; /* NaN for an empty plane */
#elif POOL == POOL_LP
    return lp_root(v);
#else
    (void)len;
    return v;
#endif
}

/* planes: N * C; len: elements per plane; stride: elements from one
 * plane's start to the next (len for a contiguous tensor). The arguments
 * follow src/ops/rows.h's convention for a reduction's two kernels. */
__kernel void global_rows_f32(__global const float *x, __global float *y, const uint planes,
                              const uint len, const uint stride)
{
    const uint i = get_global_id(0);
    if (i >= planes)
        return;
    y[i] = plane_finish(plane_part(x, i * stride, len, 1), len);
}

/* scratch: get_local_size(0) floats. Launched with N * C work-groups. */
__kernel void global_group_f32(__global const float *x, __global float *y, const uint len,
                               const uint stride, __local float *scratch)
{
    const uint lid = get_local_id(0), nl = get_local_size(0), plane = get_group_id(0);
    /* This work-item's elements: lid, lid + nl, ... below len. */
    const uint count = lid < len ? (len - lid + nl - 1) / nl : 0;
    scratch[lid] = plane_part(x, plane * stride + lid, count, nl);
    barrier(CLK_LOCAL_MEM_FENCE);
    /* A tree that halves the active range, rounding up so that odd sizes
     * lose nothing. */
    for (uint active = nl; active > 1;) {
        const uint next = (active + 1) / 2;
        if (lid < active - next)
            scratch[lid] = COMBINE(scratch[lid], scratch[lid + next]);
        barrier(CLK_LOCAL_MEM_FENCE);
        active = next;
    }
    if (lid == 0)
        y[plane] = plane_finish(scratch[0], len);
}

/* ---- MaxUnpool -------------------------------------------------------------- */

/* y: the output viewed as int, total elements. */
__kernel void unpool_clear_i32(__global int *y, const uint total)
{
    const uint i = get_global_id(0);
    if (i < total)
        y[i] = -1;
}

/* count: elements of X and I. The largest i claiming an output wins. */
__kernel void unpool_claim_i32(__global const long *indices, volatile __global int *y,
                               const uint count, const uint total)
{
    const uint i = get_global_id(0);
    if (i >= count)
        return;
    const long j = indices[i];
    if (j >= 0 && j < (long)total)
        atomic_max(&y[j], (int)i);
}

/* x: X's float bits viewed as int; y: the output viewed as int. */
__kernel void unpool_gather_i32(__global const int *x, __global int *y, const uint total)
{
    const uint i = get_global_id(0);
    if (i >= total)
        return;
    const int claim = y[i];
    y[i] = claim >= 0 ? x[claim] : 0;
}
