/*
 * norm — normalization layers, float32: BatchNormalization (inference),
 * LRN across channels, and the ops that normalize with statistics of their
 * own input: InstanceNormalization, LayerNormalization, GroupNormalization.
 *
 * -D contract:
 *   LRN_BEFORE, LRN_AFTER  lrn_f32: channels summed before and after the
 *                    element's own, floor((size-1)/2) and ceil((size-1)/2)
 *                    (default 0 and 0: size 1)
 *   LRN_LANES        lrn_walk_f32: adjacent positions per work-item (16)
 *   NORM_LANES       norm_*: adjacent elements per chunk, each with its own
 *                    compensated sum, a power of two (default 4; 16 on
 *                    CPU-class devices)
 *   LRN_BETA         lrn_f32: 1 when beta is 0.75, 2 when 0.5, 3 when 1:
 *                    x / d^beta through rsqrt and sqrt or a division, exact
 *                    to a few ulp and far faster than pow; 0 for any other
 *                    beta (pow) (default 0)
 *   HAS_SCALE, HAS_BIAS    norm_*: 0 when the op has no scale (every scale
 *                    is 1) or no bias (0): LayerNormalization's optional
 *                    Scale and B (default 1 and 1)
 *   PARAM_MODE       norm_*: where the scale and bias of element k of
 *                    segment seg are, for a map m of 8 uints (default 2):
 *                      0  one per segment: (seg % m[0]) * m[1]
 *                      1  one per element of a segment: k
 *                      2  (seg % m[0]) * m[1] + (k / m[2]) % m[3]
 *                    m[4], m[5] and m[6], m[7] being the (mul, shift) of
 *                    m[2] and m[3] for fast_div; the host passes scale's
 *                    map then bias's in a __constant table of 16 uints
 *   WRITE_MEAN, WRITE_INV_STD  norm_*: 1 to write each segment's mean and
 *                    1 / sqrt(var + eps) (LayerNormalization's optional
 *                    outputs Mean and InvStdDev) (default 0 and 0)
 *   KERNELS          which kernels the program holds: KERNELS_BATCH
 *                    (batch_norm_*), KERNELS_LRN (lrn_f32), KERNELS_LRN_WALK
 *                    (lrn_walk_f32), KERNELS_STATS (norm_*) or KERNELS_ALL
 *                    (default KERNELS_ALL). Drivers that make code for every
 *                    kernel of a program when its binary is read (PoCL) then
 *                    make it only for the family used.
 *
 * No vector types anywhere: oclgrind 21.10's uninitialised-memory check
 * crashes on vector kernel arguments and on many float2/float4 operations,
 * so lanes are plain floats (which compilers vectorize) and tables are
 * __constant buffers.
 *
 * The element-wise kernels (batch_norm_*, lrn_f32) take one element per
 * work-item, neighbours adjacent in memory, and guard their index, so the
 * host may round the global size up to any work-group size it queried.
 * Channel indices come from fast_div, never from / or %: vector units and
 * GPUs have no integer division, and with both a / b and a % b LLVM emits
 * a `freeze` that oclgrind 21.10 cannot run.
 *
 * The statistic ops view X as `segments` runs of `len` adjacent elements
 * (an (n, c) plane; the (n, group) block of channels; a row over the
 * normalized axes) and normalize each run on its own:
 *   y = (x - mean) / sqrt(var + eps) * scale + bias.
 * The variance is computed with the corrected two-pass algorithm (Chan,
 * Golub and LeVeque, 1983): pass 1 gives a mean m in float; pass 2 sums the
 * deviations d = x - m and their squares, and
 *   mean = m + sum(d) / len,  var = sum(d^2) / len - (sum(d) / len)^2.
 * d is exact whenever x and m are within a factor of two (Sterbenz), so a
 * large common offset (1e4 + noise) loses nothing, and sum(d) corrects the
 * rounding of m; E[x^2] - E[x]^2 would cancel catastrophically there.
 * Each work-item takes chunks of NORM_LANES adjacent elements (neighbouring
 * work-items neighbouring chunks) and sums them in NORM_LANES lanes with
 * Kahan compensation: the error does not grow with the run length (OpenCL C
 * keeps IEEE order without -cl-unsafe-math-optimizations, which weft never
 * passes), and the independent lanes keep a CPU's adders busy where one
 * dependent chain would leave them waiting.
 *   norm_group_f32  one work-group per segment, tree reductions in local
 *                   memory; correct for any local size, power of two or
 *                   not, including 1, and for runs shorter or longer than
 *                   the work-group.
 *   norm_rows_f32   one work-item per segment (short runs, many of them);
 *                   the index is guarded.
 * Every read of a segment happens before any write to it (behind a barrier
 * with a global fence in the group kernel; in program order in the rows
 * kernel), so both are correct in place (y may alias x).
 */
#ifndef LRN_BEFORE
#define LRN_BEFORE 0
#endif
#ifndef LRN_AFTER
#define LRN_AFTER 0
#endif
#ifndef LRN_BETA
#define LRN_BETA 0
#endif
#ifndef LRN_LANES
#define LRN_LANES 16
#endif
#ifndef NORM_LANES
#define NORM_LANES 4
#endif
#ifndef HAS_SCALE
#define HAS_SCALE 1
#endif
#ifndef HAS_BIAS
#define HAS_BIAS 1
#endif
#ifndef PARAM_MODE
#define PARAM_MODE 2
#endif
#ifndef WRITE_MEAN
#define WRITE_MEAN 0
#endif
#ifndef WRITE_INV_STD
#define WRITE_INV_STD 0
#endif
#define KERNELS_ALL 0
#define KERNELS_BATCH 1
#define KERNELS_LRN 2
#define KERNELS_LRN_WALK 3
#define KERNELS_STATS 4
#ifndef KERNELS
#define KERNELS KERNELS_ALL
#endif
#define HOLDS(family) (KERNELS == KERNELS_ALL || KERNELS == (family))

/* floor(n / d) for n < 2^31, from the host's magic pair (mul, shift) of d:
 * (n * mul) >> shift with shift = 31 + ceil(log2 d), mul = ceil(2^shift / d)
 * < 2^32 (Granlund and Montgomery, PLDI 1994, theorem 4.2 with N = 31):
 * one 32 x 32 -> 64-bit multiply instead of a division. */
uint fast_div(const uint n, const uint mul, const uint shift)
{
    return (uint)(((ulong)n * mul) >> shift);
}

#if HOLDS(KERNELS_BATCH)
/* ---- BatchNormalization ----------------------------------------------------- */

/* Element i of [N, C, inner] is in channel (i / inner) % channels; the
 * magic pairs of inner and channels come as (mul, shift) arguments. */
uint channel_of(const uint i, const uint channels, const uint inner_mul, const uint inner_shift,
                const uint channel_mul, const uint channel_shift)
{
    const uint q = fast_div(i, inner_mul, inner_shift);
    return q - fast_div(q, channel_mul, channel_shift) * channels;
}

/* ab: a[channels] then b[channels], a = scale / sqrt(var + eps) and
 * b = B - mean * a, computed on the host from constant parameters. */
__kernel void batch_norm_f32(__global const float *x, __global float *y,
                             __global const float *ab, const uint count, const uint channels,
                             const uint inner_mul, const uint inner_shift,
                             const uint channel_mul, const uint channel_shift)
{
    const uint i = get_global_id(0);
    if (i >= count)
        return;
    const uint c = channel_of(i, channels, inner_mul, inner_shift, channel_mul, channel_shift);
    y[i] = x[i] * ab[c] + ab[channels + c];
}

/* The parameters as tensors computed by the graph. */
__kernel void batch_norm_params_f32(__global const float *x, __global float *y,
                                    __global const float *scale, __global const float *bias,
                                    __global const float *mean, __global const float *var,
                                    const uint count, const uint channels,
                                    const uint inner_mul, const uint inner_shift,
                                    const uint channel_mul, const uint channel_shift,
                                    const float eps)
{
    const uint i = get_global_id(0);
    if (i >= count)
        return;
    const uint c = channel_of(i, channels, inner_mul, inner_shift, channel_mul, channel_shift);
    const float a = scale[c] / sqrt(var[c] + eps);
    y[i] = (x[i] - mean[c]) * a + bias[c];
}

#endif

/* ---- LRN ---------------------------------------------------------------------- */

#if HOLDS(KERNELS_LRN) || HOLDS(KERNELS_LRN_WALK)
/* x / d^beta (LRN_BETA says how). */
float lrn_apply(const float xv, const float d, const float beta)
{
#if LRN_BETA == 1
    /* d^-0.75 = d^-0.5 * d^-0.25 */
    (void)beta;
    const float r = rsqrt(d);
    return xv * (r * sqrt(r));
#elif LRN_BETA == 2
    (void)beta;
    return xv * rsqrt(d);
#elif LRN_BETA == 3
    (void)beta;
    return xv / d;
#else
    return xv / pow(d, beta);
#endif
}

#endif

#if HOLDS(KERNELS_LRN)
/* y = x / (bias + alpha_over_size * square_sum) ^ beta, the square sum over
 * channels [c - LRN_BEFORE, c + LRN_AFTER] clipped to [0, channels - 1].
 * Reads neighbouring channels: not in place. */
__kernel void lrn_f32(__global const float *x, __global float *y, const uint count,
                      const uint inner, const uint channels, const uint inner_mul,
                      const uint inner_shift, const uint channel_mul, const uint channel_shift,
                      const float alpha_over_size, const float beta, const float bias)
{
    const uint i = get_global_id(0);
    if (i >= count)
        return;
    const uint q = fast_div(i, inner_mul, inner_shift); /* n * channels + c */
    const uint c = q - fast_div(q, channel_mul, channel_shift) * channels;
    const uint base = (q - c) * inner + (i - q * inner); /* channel 0, same n and position */
    const uint first = c >= LRN_BEFORE ? c - LRN_BEFORE : 0;
    const uint last = min(channels - 1, c + LRN_AFTER);
    float sum = 0.0f;
    for (uint j = first; j <= last; j++) {
        const float v = x[base + j * inner];
        sum += v * v;
    }
    y[i] = lrn_apply(x[i], bias + alpha_over_size * sum, beta);
}

#endif

#define LRN_WIN (LRN_BEFORE + LRN_AFTER + 1)

#if HOLDS(KERNELS_LRN_WALK)
/* The same LRN for CPU-class devices: work-item g takes LRN_LANES adjacent
 * positions of image n = g / blocks (blocks = ceil(inner / LRN_LANES),
 * (mul, shift) its magic pair) and walks the channels, keeping the squares
 * of the window's LRN_WIN channels in registers: one load of X per element
 * (twice in all: the square, then the element itself from the cache)
 * instead of one per window term, and one division per work-item. Terms
 * outside [0, channels) are zeros, which leave each sum as lrn_f32's. The
 * last block of a row shorter than LRN_LANES goes one position at a time.
 * items: work-items with work. Not in place. */
__kernel void lrn_walk_f32(__global const float *x, __global float *y, const uint items,
                           const uint inner, const uint channels, const uint blocks,
                           const uint blocks_mul, const uint blocks_shift,
                           const float alpha_over_size, const float beta, const float bias)
{
    const uint g = get_global_id(0);
    if (g >= items)
        return;
    const uint n = fast_div(g, blocks_mul, blocks_shift), p0 = (g - n * blocks) * LRN_LANES;
    __global const float *xs = x + n * channels * inner + p0;
    __global float *ys = y + n * channels * inner + p0;
    if (p0 + LRN_LANES > inner) {
        for (uint p = 0; p0 + p < inner; p++)
            for (uint c = 0; c < channels; c++) {
                const uint first = c >= LRN_BEFORE ? c - LRN_BEFORE : 0;
                const uint last = min(channels - 1, c + LRN_AFTER);
                float sum = 0.0f;
                for (uint j = first; j <= last; j++) {
                    const float v = xs[j * inner + p];
                    sum += v * v;
                }
                ys[c * inner + p] = lrn_apply(xs[c * inner + p], bias + alpha_over_size * sum,
                                              beta);
            }
        return;
    }
    /* win[k]: the squares of channel c - LRN_BEFORE + k */
    float win[LRN_WIN][LRN_LANES];
#pragma unroll
    for (int k = 0; k < LRN_WIN; k++) {
        const int ch = k - LRN_BEFORE;
        const int in = ch >= 0 && ch < (int)channels;
        for (int l = 0; l < LRN_LANES; l++) {
            const float v = in ? xs[ch * (int)inner + l] : 0.0f;
            win[k][l] = v * v;
        }
    }
    for (uint c = 0; c < channels; c++) {
        float sum[LRN_LANES];
        for (int l = 0; l < LRN_LANES; l++)
            sum[l] = 0.0f;
#pragma unroll
        for (int k = 0; k < LRN_WIN; k++)
            for (int l = 0; l < LRN_LANES; l++)
                sum[l] += win[k][l];
        __global const float *xc = xs + c * inner;
        __global float *yc = ys + c * inner;
        for (int l = 0; l < LRN_LANES; l++)
            yc[l] = lrn_apply(xc[l], bias + alpha_over_size * sum[l], beta);
#pragma unroll
        for (int k = 0; k + 1 < LRN_WIN; k++)
            for (int l = 0; l < LRN_LANES; l++)
                win[k][l] = win[k + 1][l];
        const uint next = c + 1 + LRN_AFTER;
        const int in = next < channels;
        for (int l = 0; l < LRN_LANES; l++) {
            const float v = in ? xs[next * inner + l] : 0.0f;
            win[LRN_WIN - 1][l] = v * v;
        }
    }
}

#endif

/* ---- Statistics: InstanceNormalization, LayerNormalization, GroupNormalization - */
#if HOLDS(KERNELS_STATS)

/* One Kahan-compensated step: sum += v, comp keeping what rounding lost. */
#define KAHAN(sum, comp, v)                    \
    do {                                       \
        const float t_ = (v) - (comp);         \
        const float u_ = (sum) + t_;           \
        (comp) = (u_ - (sum)) - t_;            \
        (sum) = u_;                            \
    } while (0)

/* The lanes' sums added pairwise. */
float lanes_total(float *v)
{
    for (int w = NORM_LANES / 2; w >= 1; w /= 2)
        for (int l = 0; l < w; l++)
            v[l] += v[l + w];
    return v[0];
}

/* This work-item's chunks are those starting at k = NORM_LANES * first,
 * then every NORM_LANES * step elements. A loop over the whole chunks
 * leaves k at the one chunk that ends past len, when this work-item has it
 * (k < len then). Each lane of a chunk has its own compensated sum; the
 * lanes are plain floats in fixed-count loops, which compilers turn into
 * vectors (16 lanes on CPU-class devices: one AVX-512 register, where 4
 * scalar lanes left the adders waiting on their dependent additions). */

/* Sum of the elements of this work-item's chunks of the run. */
float run_sum(__global const float *x, const uint base, const uint len, const uint first,
              const uint step)
{
    float s[NORM_LANES], c[NORM_LANES];
    for (int l = 0; l < NORM_LANES; l++)
        s[l] = c[l] = 0.0f;
    uint k = NORM_LANES * first;
    for (; k + NORM_LANES <= len; k += NORM_LANES * step) {
        __global const float *p = x + base + k;
        for (int l = 0; l < NORM_LANES; l++)
            KAHAN(s[l], c[l], p[l]);
    }
    for (uint j = k; j < len && j < k + NORM_LANES; j++)
        KAHAN(s[j - k], c[j - k], x[base + j]);
    return lanes_total(s);
}

/* Sums of d = x - m (*sum_d) and of d^2 (*sum_d2) over the same elements. */
void run_deviations(__global const float *x, const uint base, const uint len, const uint first,
                    const uint step, const float m, float *sum_d, float *sum_d2)
{
    float s[NORM_LANES], c[NORM_LANES], q[NORM_LANES], e[NORM_LANES];
    for (int l = 0; l < NORM_LANES; l++)
        s[l] = c[l] = q[l] = e[l] = 0.0f;
    uint k = NORM_LANES * first;
    for (; k + NORM_LANES <= len; k += NORM_LANES * step) {
        __global const float *p = x + base + k;
        for (int l = 0; l < NORM_LANES; l++) {
            const float d = p[l] - m;
            KAHAN(s[l], c[l], d);
            KAHAN(q[l], e[l], d * d);
        }
    }
    for (uint j = k; j < len && j < k + NORM_LANES; j++) {
        const float d = x[base + j] - m;
        KAHAN(s[j - k], c[j - k], d);
        KAHAN(q[j - k], e[j - k], d * d);
    }
    *sum_d = lanes_total(s);
    *sum_d2 = lanes_total(q);
}

/* The parameter of element k; m: the map's 8 uints (PARAM_MODE above),
 * seg_part being (seg % m[0]) * m[1]. */
float param_at(__global const float *p, __constant const uint *m, const uint seg_part,
               const uint k)
{
#if PARAM_MODE == 0
    (void)m;
    (void)k;
    return p[seg_part];
#elif PARAM_MODE == 1
    (void)m;
    (void)seg_part;
    return p[k];
#else
    const uint q = fast_div(k, m[4], m[5]);
    return p[seg_part + q - fast_div(q, m[6], m[7]) * m[3]];
#endif
}

/* y for element j of segment seg (at base), given the float mean m, the
 * correction c = sum(d) / len and inv_std. */
float normalized(__global const float *x, __global const float *scale,
                 __global const float *bias, __constant const uint *maps, const uint sseg,
                 const uint bseg, const uint base, const uint j, const float m, const float c,
                 const float inv_std)
{
    float v = ((x[base + j] - m) - c) * inv_std;
#if HAS_SCALE
    v *= param_at(scale, maps, sseg, j);
#endif
#if HAS_BIAS
    v += param_at(bias, maps + 8, bseg, j);
#endif
    return v;
}

/* Writes y for this work-item's chunks of segment seg. */
void run_write(__global const float *x, __global float *y, __global const float *scale,
               __global const float *bias, __constant const uint *maps, const uint seg,
               const uint base, const uint len, const uint first, const uint step,
               const float m, const float c, const float inv_std)
{
    const uint sseg = (seg % maps[0]) * maps[1], bseg = (seg % maps[8]) * maps[9];
    uint k = NORM_LANES * first;
#if PARAM_MODE == 0
    /* Constant over the segment: one multiply-add per element. */
    const float a = (HAS_SCALE ? param_at(scale, maps, sseg, 0) : 1.0f) * inv_std;
    const float b = HAS_BIAS ? param_at(bias, maps + 8, bseg, 0) : 0.0f;
    for (; k + NORM_LANES <= len; k += NORM_LANES * step) {
        __global const float *p = x + base + k;
        __global float *q = y + base + k;
        float v[NORM_LANES];
        for (int l = 0; l < NORM_LANES; l++)
            v[l] = p[l];
        for (int l = 0; l < NORM_LANES; l++)
            q[l] = ((v[l] - m) - c) * a + b;
    }
    for (uint j = k; j < len && j < k + NORM_LANES; j++)
        y[base + j] = ((x[base + j] - m) - c) * a + b;
#else
    for (; k + NORM_LANES <= len; k += NORM_LANES * step) {
        float v[NORM_LANES];
        for (int l = 0; l < NORM_LANES; l++)
            v[l] = normalized(x, scale, bias, maps, sseg, bseg, base, k + l, m, c, inv_std);
        for (int l = 0; l < NORM_LANES; l++)
            y[base + k + l] = v[l];
    }
    for (uint j = k; j < len && j < k + NORM_LANES; j++)
        y[base + j] = normalized(x, scale, bias, maps, sseg, bseg, base, j, m, c, inv_std);
#endif
}

/* A variance rounded below 0 is 0; NaN (an empty run, NaN in the data)
 * stays NaN, as in the reference (fmax would turn it into 0). */
float clamp_variance(const float v)
{
    return v < 0.0f ? 0.0f : v;
}

/* The sums of every work-item's a and b, in a tree that halves the active
 * range, rounding up so that odd sizes lose nothing. scratch: 2 floats per
 * work-item. Every work-item of the group must call it; all get the
 * results. */
void group_sum(float *a, float *b, __local float *scratch)
{
    const uint lid = get_local_id(0), nl = get_local_size(0);
    scratch[lid] = *a;
    scratch[nl + lid] = *b;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint active = nl; active > 1;) {
        const uint next = (active + 1) / 2;
        if (lid < active - next) {
            scratch[lid] += scratch[lid + next];
            scratch[nl + lid] += scratch[nl + lid + next];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        active = next;
    }
    *a = scratch[0];
    *b = scratch[nl];
    /* Every work-item has read the results before scratch is reused; the
     * global fence also orders this segment's reads before in-place
     * writes. */
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
}

/* maps: 16 uints (PARAM_MODE above). scratch: 2 * get_local_size(0)
 * floats. Launched with `segments` work-groups. mean_out and inv_std_out
 * are written only with WRITE_MEAN / WRITE_INV_STD (the host passes y
 * otherwise); scale and bias read only with HAS_SCALE / HAS_BIAS. */
__kernel void norm_group_f32(__global const float *x, __global float *y,
                             __global const float *scale, __global const float *bias,
                             __global float *mean_out, __global float *inv_std_out,
                             const uint len, const float eps, __constant const uint *maps,
                             __local float *scratch)
{
    const uint seg = get_group_id(0), lid = get_local_id(0), nl = get_local_size(0);
    const uint base = seg * len;
    const float n = (float)len;
    float sum = run_sum(x, base, len, lid, nl), unused = 0.0f;
    group_sum(&sum, &unused, scratch);
    const float m = sum / n;
    float sum_d, sum_d2;
    run_deviations(x, base, len, lid, nl, m, &sum_d, &sum_d2);
    group_sum(&sum_d, &sum_d2, scratch);
    const float c = sum_d / n;
    const float inv_std = rsqrt(clamp_variance(sum_d2 / n - c * c) + eps);
    if (lid == 0) {
#if WRITE_MEAN
        mean_out[seg] = m + c;
#endif
#if WRITE_INV_STD
        inv_std_out[seg] = inv_std;
#endif
    }
    run_write(x, y, scale, bias, maps, seg, base, len, lid, nl, m, c, inv_std);
}

/* One work-item per segment; global size rounded up, index guarded. */
__kernel void norm_rows_f32(__global const float *x, __global float *y,
                            __global const float *scale, __global const float *bias,
                            __global float *mean_out, __global float *inv_std_out,
                            const uint len, const float eps, __constant const uint *maps,
                            const uint segments)
{
    const uint seg = get_global_id(0);
    if (seg >= segments)
        return;
    const uint base = seg * len;
    const float n = (float)len;
    const float m = run_sum(x, base, len, 0, 1) / n;
    float sum_d, sum_d2;
    run_deviations(x, base, len, 0, 1, m, &sum_d, &sum_d2);
    const float c = sum_d / n;
    const float inv_std = rsqrt(clamp_variance(sum_d2 / n - c * c) + eps);
#if WRITE_MEAN
    mean_out[seg] = m + c;
#endif
#if WRITE_INV_STD
    inv_std_out[seg] = inv_std;
#endif
    run_write(x, y, scale, bias, maps, seg, base, len, 0, 1, m, c, inv_std);
}
#endif
