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
 *               combination (pairwise.cl) [8]
 *   KERNELS     which kernels the program holds: KERNELS_WINDOW (pool_f32,
 *               pool_rows_f32), KERNELS_GLOBAL (global_*), KERNELS_UNPOOL
 *               (unpool_*) or KERNELS_ALL [KERNELS_ALL]. Drivers that make
 *               code for every kernel of a program when its binary is read
 *               (PoCL) then make it only for the family used.
 * Extents, pads and counts are kernel arguments.
 *
 * Kernels (each guards its index, so global sizes may be rounded up to
 * any work-group size; none assumes a work-group size):
 *   pool_f32            one work-item per output element, consecutive
 *                       work-items on consecutive outputs along W (for
 *                       devices with many narrow lanes).
 *   pool_rows_f32       the same pools, one work-item per output row
 *                       along W (for CPU-class devices); without Indices
 *                       its interior is separable (D and H taps first).
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
 *   unpool_window_f32,  MaxUnpool for CPU-class devices when the windows
 *   unpool_stray_*      tile the output: each output row written once
 *                       from its windows' indices; the three passes above
 *                       (in one work-group) only when an index lies
 *                       outside its window.
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
#define KERNELS_ALL 0
#define KERNELS_WINDOW 1
#define KERNELS_GLOBAL 2
#define KERNELS_UNPOOL 3
#ifndef KERNELS
#define KERNELS KERNELS_ALL
#endif

#include "pairwise.cl"

/* |v|^P, and its inverse s^(1/P) for s >= 0. */
float lp_term(float v)
{
#if P == 1
    return fabs(v);
#elif P == 2
    return v * v;
#else
    /* Repeated products: pown is a library call, slow on some devices. */
    const float a = fabs(v);
    float t = a;
    for (int k = 1; k < P; k++)
        t *= a;
    return t;
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

/* max_nan lane by lane. */
float8 max_nan8(float8 m, float8 v)
{
    return select(m, v, isnan(v) | (v > m));
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
#if KERNELS == KERNELS_ALL || KERNELS == KERNELS_WINDOW
__kernel void pool_f32(__global const float *x, __global float *y,
#if INDICES
                       __global long *indices,
#endif
                       const int in_d, const int in_h, const int in_w, const uint out_d,
                       const uint out_h, const uint out_w, const uint planes, const int pad_d,
                       const int pad_h, const int pad_w, const int end_d, const int end_h,
                       const int end_w)
{
    const uint ow = get_global_id(0), oh = get_global_id(1), z = get_global_id(2);
    if (ow >= out_w || oh >= out_h || z >= planes * out_d)
        return;
    /* No division in 1-D and 2-D pools (the branch is uniform). */
    const uint nc = out_d == 1 ? z : z / out_d;
    const uint od = z - nc * out_d;
    const uint i = (z * out_h + oh) * out_w + ow;
    const int d0 = (int)od * SD - pad_d, h0 = (int)oh * SH - pad_h, w0 = (int)ow * SW - pad_w;
    const uint plane = (uint)in_d * (uint)in_h * (uint)in_w;
    __global const float *xp = x + nc * plane;

    /* Every tap is read, at a coordinate clamped into the input, and
     * taps outside it are dropped by a select: straight-line code that
     * vectorises across work-items, with no branch on the data. */
#if POOL == POOL_MAX
    float best = -INFINITY;
#if INDICES
    int best_at = -1;
#endif
#else
    float sum = 0.0f;
#endif
    for (int a = 0; a < KD; a++) {
        const int pz = d0 + a * DD;
        const int in_z = pz >= 0 && pz < in_d;
        const int cz = clamp(pz, 0, in_d - 1);
        for (int b = 0; b < KH; b++) {
            const int py = h0 + b * DH;
            const int in_zy = in_z && py >= 0 && py < in_h;
            const int cy = clamp(py, 0, in_h - 1);
            __global const float *row = xp + (cz * in_h + cy) * in_w;
            for (int c = 0; c < KW; c++) {
                const int px = w0 + c * DW;
                const int inside = in_zy && px >= 0 && px < in_w;
                const float v = row[clamp(px, 0, in_w - 1)];
#if POOL == POOL_MAX && INDICES
                /* The first tap in scan order holding the maximum (the
                 * first NaN when there is one). */
                const int take = inside && (best_at < 0 || (!isnan(best) && (isnan(v) || v > best)));
#if COL_MAJOR
                const int here = pz + (py + px * in_h) * in_d;
#else
                const int here = (pz * in_h + py) * in_w + px;
#endif
                best_at = take ? here : best_at;
                best = take ? v : best;
#elif POOL == POOL_MAX
                best = inside ? max_nan(best, v) : best;
#elif POOL == POOL_AVG
                sum += inside ? v : 0.0f;
#else
                sum += inside ? lp_term(v) : 0.0f;
#endif
            }
        }
    }
#if POOL == POOL_MAX
    y[i] = best;
#if INDICES
    indices[i] = best_at < 0 ? -1L : (long)nc * (long)plane + (long)best_at;
#endif
#elif POOL == POOL_AVG
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
}
#endif

/* ---- Windowed pools, a row per work-item ------------------------------------ */

/* The taps a of a window axis with lo <= first + a * step < hi, as the
 * range [*a0, *a1) of a < K. */
void axis_taps(int K, int first, int step, int lo, int hi, int *a0, int *a1)
{
    int b = 0, e = K;
    if (first < lo)
        b = (lo - first + step - 1) / step;
    if (first + (K - 1) * step >= hi)
        e = first >= hi ? 0 : (hi - 1 - first) / step + 1;
    *a0 = b;
    *a1 = e > b ? e : b;
}

/* One output of pool_rows_f32 whose window has the W taps [c0, c1) and
 * the row's D and H taps; *best_at is the index pool_f32 computes (-1
 * without taps). */
float window_value(__global const float *xp, int in_h, int in_w, int in_d, int d0, int h0, int w0,
                   int a0, int a1, int b0, int b1, int c0, int c1, int *best_at)
{
#if POOL == POOL_MAX
    float best = -INFINITY;
    int at = -1;
    for (int a = a0; a < a1; a++) {
        const int pz = d0 + a * DD;
        for (int b = b0; b < b1; b++) {
            const int py = h0 + b * DH;
            __global const float *row = xp + (pz * in_h + py) * in_w;
            for (int c = c0; c < c1; c++) {
                const int px = w0 + c * DW;
                const float v = row[px];
#if INDICES
                /* The first tap in scan order holding the maximum (the first
                 * NaN when there is one). */
                const int take = at < 0 || (!isnan(best) && (isnan(v) || v > best));
#if COL_MAJOR
                const int here = pz + (py + px * in_h) * in_d;
#else
                const int here = (pz * in_h + py) * in_w + px;
#endif
                at = take ? here : at;
                best = take ? v : best;
#else
                best = max_nan(best, v);
#endif
            }
        }
    }
    *best_at = at;
    return best;
#else
    (void)in_d;
    (void)best_at;
    float sum = 0.0f;
    for (int a = a0; a < a1; a++) {
        const int pz = d0 + a * DD;
        for (int b = b0; b < b1; b++) {
            __global const float *row = xp + (pz * in_h + h0 + b * DH) * in_w;
            for (int c = c0; c < c1; c++) {
#if POOL == POOL_AVG
                sum += row[w0 + c * DW];
#else
                sum += lp_term(row[w0 + c * DW]);
#endif
            }
        }
    }
    return sum;
#endif
}

/* Eight outputs of a row's interior, 8 apart in the row's taps: the
 * taps (p)[0], (p)[SW], ..., (p)[7 * SW], which the compiler turns into
 * vector loads and shuffles (SW is a constant). */
#define TAPS8(p)                                                                   \
    ((float8)((p)[0], (p)[SW], (p)[2 * SW], (p)[3 * SW], (p)[4 * SW], (p)[5 * SW], \
              (p)[6 * SW], (p)[7 * SW]))

/* Without Indices, when the eight outputs span at most 32 input columns
 * (SEP_COLS), the interior is separable: each column the eight outputs
 * read is combined over the D and H taps first, in float8 loads, then
 * each output over its W taps from those columns (the same maximum, and
 * the same sum up to the order of its terms), so an input element is read
 * once per output row rather than once per window holding it (measured on
 * PoCL, ResNet-18's 3x3 s2 MaxPool: 0.34 -> 0.21 ms with the border loop
 * below). The columns go lane by lane (.s0 ... .s7) into private scalars
 * that the outputs index with constants; the compiler makes the shuffles.
 * (Not swizzles such as .even/.odd: oclgrind 21.10's uninitialised-value
 * check mistracks the lanes of their shuffles.) The last column is the
 * last output's last tap: nothing is read outside the interior. */
#define SEP_COLS (7 * SW + (KW - 1) * DW + 1)
#define ROWS_SEPARABLE (!INDICES && SEP_COLS <= 32)
#define SEP_VECS ((SEP_COLS + 7) / 8)
#define SEP_AT(i) min(8 * (i), SEP_COLS - 8)

float8 lp_term8(float8 v)
{
#if P == 1
    return fabs(v);
#elif P == 2
    return v * v;
#else
    const float8 a = fabs(v);
    float8 t = a;
    for (int k = 1; k < P; k++)
        t *= a;
    return t;
#endif
}

float8 lp_root8(float8 s)
{
#if P == 1
    return s;
#elif P == 2
    return sqrt(s);
#else
    return rootn(s, (int8)(P));
#endif
}

/* Outputs [lo, hi) of a row of pool_rows_f32 (hi - lo >= 8; every W tap
 * inside the input), eight at a time; the last eight may overlap the
 * previous ones, which are written again with the same values. Inlined
 * twice: with the row's D and H tap ranges, and with the whole window as
 * constants for the rows that have every tap inside. */
void row_interior8(__global const float *xp, __global float *yr,
#if INDICES
                   __global long *irow, const long base,
#endif
                   const int in_d, const int in_h, const int in_w, const int d0, const int h0,
                   const int pad_w, const int a0, const int a1, const int b0, const int b1,
                   const int lo, const int hi, const int count_dh)
{
    (void)in_d;
    (void)count_dh;
    for (int ow = lo; ow < hi; ow += 8) {
        ow = min(ow, hi - 8);
        const int w0 = ow * SW - pad_w;
#if ROWS_SEPARABLE
#if POOL == POOL_MAX
#define INIT (-INFINITY)
#define COMBINE_TAP(acc, v) acc = max_nan(acc, v)
#define COMBINE_TAP8(acc, v) acc = max_nan8(acc, v)
#else
#define INIT 0.0f
#define COMBINE_TAP(acc, v) acc += v
#define COMBINE_TAP8(acc, v) acc += v
#endif
        /* The columns as SEP_VECS float8 loads, at 0, 8, ... and the last
         * one ending at the last column (overlapping the one before). */
        float8 colv[SEP_VECS];
#pragma unroll
        for (int i = 0; i < SEP_VECS; i++)
            colv[i] = (float8)(INIT);
        for (int a = a0; a < a1; a++) {
            const int pz = d0 + a * DD;
            for (int b = b0; b < b1; b++) {
                __global const float *row = xp + (pz * in_h + h0 + b * DH) * in_w + w0;
#pragma unroll
                for (int i = 0; i < SEP_VECS; i++) {
#if POOL == POOL_LP
                    const float8 v = lp_term8(vload8(0, row + SEP_AT(i)));
#else
                    const float8 v = vload8(0, row + SEP_AT(i));
#endif
                    COMBINE_TAP8(colv[i], v);
                }
            }
        }
        /* Lane by lane into scalars, which the outputs index. */
        float cols[SEP_COLS];
#pragma unroll
        for (int i = 0; i < SEP_VECS; i++) {
            float *c = cols + SEP_AT(i);
            c[0] = colv[i].s0, c[1] = colv[i].s1, c[2] = colv[i].s2, c[3] = colv[i].s3;
            c[4] = colv[i].s4, c[5] = colv[i].s5, c[6] = colv[i].s6, c[7] = colv[i].s7;
        }
#if POOL == POOL_AVG
        const float count = (float)(count_dh * KW);
#endif
#pragma unroll
        for (int k = 0; k < 8; k++) {
            float acc = INIT;
#pragma unroll
            for (int c = 0; c < KW; c++)
                COMBINE_TAP(acc, cols[k * SW + c * DW]);
#if POOL == POOL_MAX
            yr[ow + k] = acc;
#elif POOL == POOL_AVG
            yr[ow + k] = count > 0.0f ? acc / count : NAN;
#else
            yr[ow + k] = lp_root(acc);
#endif
        }
#undef INIT
#undef COMBINE_TAP
#undef COMBINE_TAP8
#else /* !ROWS_SEPARABLE: each tap of the eight outputs in turn */
#if POOL == POOL_MAX
        float8 best = (float8)(-INFINITY);
#if INDICES
        int8 at = (int8)(-1);
        const int8 lane = (int8)(0, 1, 2, 3, 4, 5, 6, 7) * SW + w0;
#endif
#else
        float8 sum = (float8)(0.0f);
#endif
        for (int a = a0; a < a1; a++) {
            const int pz = d0 + a * DD;
            for (int b = b0; b < b1; b++) {
                const int py = h0 + b * DH;
                __global const float *row = xp + (pz * in_h + py) * in_w + w0;
                for (int c = 0; c < KW; c++) {
                    const float8 v = TAPS8(row + c * DW);
#if POOL == POOL_MAX && INDICES
                    const int8 take =
                        (at < 0) | ((isnan(best) == 0) & (isnan(v) | (v > best)));
                    const int8 px = lane + c * DW;
#if COL_MAJOR
                    const int8 here = pz + (py + px * in_h) * in_d;
#else
                    const int8 here = (pz * in_h + py) * in_w + px;
#endif
                    at = select(at, here, take);
                    best = select(best, v, take);
#elif POOL == POOL_MAX
                    best = max_nan8(best, v);
#elif POOL == POOL_AVG
                    sum += v;
#else
                    sum += lp_term8(v);
#endif
                }
            }
        }
#if POOL == POOL_MAX
        vstore8(best, 0, yr + ow);
#if INDICES
        const long8 at64 = convert_long8(at);
        vstore8(select(at64 + base, (long8)(-1L), at64 < 0), 0,
                irow + ow);
#endif
#elif POOL == POOL_AVG
        const int count = count_dh * KW;
        vstore8(count > 0 ? sum / (float)count : (float8)(NAN), 0, yr + ow);
#else
        vstore8(lp_root8(sum), 0, yr + ow);
#endif
#endif /* ROWS_SEPARABLE */
    }
}

/* The same pools as pool_f32, for CPU-class devices: one work-item per
 * output row (n, c, od, oh). The row's index arithmetic and its D and H
 * tap ranges are worked out once; its interior (outputs whose W taps are
 * all inside the input) runs eight outputs at a time in float8 with no
 * checks, and the borders one at a time. rows: N * C * out_d * out_h; the
 * other arguments are pool_f32's. */
#if KERNELS == KERNELS_ALL || KERNELS == KERNELS_WINDOW
__kernel void pool_rows_f32(__global const float *x, __global float *y,
#if INDICES
                            __global long *indices,
#endif
                            const uint rows, const int in_d, const int in_h, const int in_w,
                            const uint out_d, const uint out_h, const uint out_w, const int pad_d,
                            const int pad_h, const int pad_w, const int end_d, const int end_h,
                            const int end_w)
{
    const uint r = get_global_id(0);
    if (r >= rows)
        return;
    const uint q = r / out_h;
    const uint oh = r - q * out_h;
    const uint nc = q / out_d;
    const uint od = q - nc * out_d;
    const int d0 = (int)od * SD - pad_d, h0 = (int)oh * SH - pad_h;
    const uint plane = (uint)in_d * (uint)in_h * (uint)in_w;
    __global const float *xp = x + nc * plane;
    __global float *yr = y + r * out_w;
    int a0, a1, b0, b1;
    axis_taps(KD, d0, DD, 0, in_d, &a0, &a1);
    axis_taps(KH, h0, DH, 0, in_h, &b0, &b1);
#if POOL == POOL_AVG
    int cd0, cd1, ch0, ch1;
#if COUNT_PAD
    axis_taps(KD, d0, DD, -pad_d, in_d + end_d, &cd0, &cd1);
    axis_taps(KH, h0, DH, -pad_h, in_h + end_h, &ch0, &ch1);
#else
    cd0 = a0, cd1 = a1, ch0 = b0, ch1 = b1;
#endif
    const int count_dh = (cd1 - cd0) * (ch1 - ch0);
#else
    const int count_dh = 0;
#endif
    /* Outputs [lo, hi) have every W tap inside the input. */
    const int span = (KW - 1) * DW;
    int lo = pad_w > 0 ? (pad_w + SW - 1) / SW : 0;
    int hi = in_w - 1 - span + pad_w >= 0 ? (in_w - 1 - span + pad_w) / SW + 1 : 0;
    hi = min(hi, (int)out_w);
    lo = min(lo, hi);

    /* The interior, eight outputs at a time. */
    const int vectors = hi - lo >= 8;
#if INDICES
#define INTERIOR_ARGS(a0, a1, b0, b1)                                                  \
    xp, yr, indices + r * out_w, (long)nc * (long)plane, in_d, in_h, in_w, d0, h0, pad_w, \
        a0, a1, b0, b1, lo, hi, count_dh
#else
#define INTERIOR_ARGS(a0, a1, b0, b1)                                                  \
    xp, yr, in_d, in_h, in_w, d0, h0, pad_w, a0, a1, b0, b1, lo, hi, count_dh
#endif
    if (vectors && a0 == 0 && a1 == KD && b0 == 0 && b1 == KH)
        row_interior8(INTERIOR_ARGS(0, KD, 0, KH));
    else if (vectors)
        row_interior8(INTERIOR_ARGS(a0, a1, b0, b1));
#undef INTERIOR_ARGS

    /* The rest of the interior and the borders, one at a time: [0, lo)
     * and [hi, out_w) after the vectors, else the whole row (not a walk
     * over the interior with a test per output: on a CPU that cost more
     * than the borders). */
    const int skip_from = vectors ? lo : (int)out_w, skip_to = vectors ? hi : (int)out_w;
    for (int o = 0; o < (int)out_w; o++) {
        if (o == skip_from)
            o = skip_to;
        if (o >= (int)out_w)
            break;
        const int w0 = o * SW - pad_w;
        int c0, c1, at = -1;
        axis_taps(KW, w0, DW, 0, in_w, &c0, &c1);
        const float v = window_value(xp, in_h, in_w, in_d, d0, h0, w0, a0, a1, b0, b1, c0, c1, &at);
#if POOL == POOL_MAX
        yr[o] = v;
#if INDICES
        indices[r * out_w + o] = at < 0 ? -1L : (long)nc * (long)plane + (long)at;
#endif
#elif POOL == POOL_AVG
        int cw0 = c0, cw1 = c1;
#if COUNT_PAD
        axis_taps(KW, w0, DW, -pad_w, in_w + end_w, &cw0, &cw1);
#endif
        const int count = count_dh * (cw1 - cw0);
        yr[o] = count > 0 ? v / (float)count : NAN;
#else
        yr[o] = lp_root(v);
#endif
    }
}
#endif

/* ---- Global pools ----------------------------------------------------------- */


#if POOL == POOL_MAX
#define COMBINE(a, b) max_nan((a), (b))
#else
#define COMBINE(a, b) ((a) + (b))
#endif

/* This work-item's part of a plane: the elements x[first + j * step] for
 * j < count, sums in pairwise order (pairwise.cl). */
float plane_part(__global const float *x, uint first, uint count, uint step)
{
#if POOL == POOL_MAX
    float m = -INFINITY;
    for (uint j = 0; j < count; j++)
        m = max_nan(m, x[first + j * step]);
    return m;
#else
    pairwise p = pairwise_start();
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
        pairwise_push(&p, s);
    }
    return pairwise_total(&p);
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
#if KERNELS == KERNELS_ALL || KERNELS == KERNELS_GLOBAL
__kernel void global_rows_f32(__global const float *x, __global float *y, const uint planes,
                              const uint len, const uint stride)
{
    const uint i = get_global_id(0);
    if (i >= planes)
        return;
    y[i] = plane_finish(plane_part(x, i * stride, len, 1), len);
}
#endif

/* scratch: get_local_size(0) floats. Launched with N * C work-groups. */
#if KERNELS == KERNELS_ALL || KERNELS == KERNELS_GLOBAL
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
#endif

/* ---- MaxUnpool -------------------------------------------------------------- */

/* y: the output viewed as int, total elements. */
#if KERNELS == KERNELS_ALL || KERNELS == KERNELS_UNPOOL
__kernel void unpool_clear_i32(__global int *y, const uint total)
{
    const uint i = get_global_id(0);
    if (i < total)
        y[i] = -1;
}
#endif

/* count: elements of X and I. The largest i claiming an output wins. */
#if KERNELS == KERNELS_ALL || KERNELS == KERNELS_UNPOOL
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
#endif

/* x: X's float bits viewed as int; y: the output viewed as int. */
#if KERNELS == KERNELS_ALL || KERNELS == KERNELS_UNPOOL
__kernel void unpool_gather_i32(__global const int *x, __global int *y, const uint total)
{
    const uint i = get_global_id(0);
    if (i >= total)
        return;
    const int claim = y[i];
    y[i] = claim >= 0 ? x[claim] : 0;
}
#endif

/* MaxUnpool whose windows tile the output (2-D, kernel KH x KW == strides,
 * no pads, Y exactly KH x KW times X's extents: the host checks), for
 * CPU-class devices: one work-item per input row r = (n, c, ih) < rows
 * writes output rows r * KH .. r * KH + KH - 1 whole, in order: each
 * output takes X of its window's element when that element's index is
 * it, else 0. That is the claim result whenever every index lies in its
 * own window (MaxPool's with kernel == strides do), since no output then
 * has another claimant. A row with an index outside its window (repeated,
 * out of range, from elsewhere) sets *stray, and unpool_stray_i32 redoes
 * the whole output with the three passes. */
#if KERNELS == KERNELS_ALL || KERNELS == KERNELS_UNPOOL
__kernel void unpool_window_f32(__global const float *x, __global const long *indices,
                                __global float *y, volatile __global int *stray,
                                const uint rows, const uint in_w)
{
    const uint r = get_global_id(0);
    if (r >= rows)
        return;
    const uint out_w = in_w * KW;
    __global const float *xr = x + r * in_w;
    __global const long *ir = indices + r * in_w;
    uint hits = 0; /* indices found in their window (one row of it at most each) */
    for (int a = 0; a < KH; a++) {
        const uint row = (r * KH + a) * out_w;
        __global float *yr = y + row;
        for (uint iw = 0; iw < in_w; iw++) {
            const long at = ir[iw] - (long)(row + iw * KW);
            const float v = xr[iw];
            hits += at >= 0 && at < KW;
#pragma unroll
            for (int b = 0; b < KW; b++)
                yr[iw * KW + b] = at == b ? v : 0.0f;
        }
    }
    if (hits != in_w)
        atomic_or(stray, 1);
}
#endif

/* unpool_window_f32's flag, cleared before it runs: one work-item. */
#if KERNELS == KERNELS_ALL || KERNELS == KERNELS_UNPOOL
__kernel void unpool_stray_clear_i32(__global int *stray)
{
    if (get_global_id(0) == 0)
        stray[0] = 0;
}
#endif

/* After unpool_window_f32: nothing unless *stray; then the three passes
 * of unpool_*_i32 over the whole output by this one work-group, barriers
 * between them (slow, and only for indices that MaxPool with kernel ==
 * strides never gives). x and y as int, as there. */
#if KERNELS == KERNELS_ALL || KERNELS == KERNELS_UNPOOL
__kernel void unpool_stray_i32(__global const int *x, __global const long *indices,
                               volatile __global int *y, __global const int *stray,
                               const uint count, const uint total)
{
    if (stray[0] == 0)
        return;
    const uint l = get_local_id(0), step = get_local_size(0);
    for (uint i = l; i < total; i += step)
        y[i] = -1;
    barrier(CLK_GLOBAL_MEM_FENCE);
    for (uint i = l; i < count; i += step) {
        const long j = indices[i];
        if (j >= 0 && j < (long)total)
            atomic_max(&y[j], (int)i);
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
    for (uint i = l; i < total; i += step) {
        const int claim = y[i];
        y[i] = claim >= 0 ? x[claim] : 0;
    }
}
#endif
