/*
 * resize — Resize and Upsample, float32: nearest, N-linear and N-cubic
 * interpolation (with antialias and exclude_outside) over any axes.
 *
 * The host collapses the tensor into RANK axes, each either copied (a run
 * of neighbouring axes that keep their size, merged) or resized, and gives
 * every resized axis a table with one row per output coordinate: TAPSd
 * input offsets (the clamped input index times the axis' input stride)
 * and TAPSd weights. The host computes the rows in double with ONNX's
 * formulas, so that nearest picks exactly the element ONNX picks; this
 * kernel gathers: an output element is
 *   y = sum over one tap per resized axis of (product of the weights) *
 *       x[copied part + sum of the taps' offsets],
 * the tensor product of the per-axis filters, which equals ONNX's
 * separable resize one axis after another. Up to three resized axes (the
 * usual 1-D, 2-D and 3-D spatial resizes) sum in nested loops, one per
 * axis; more resized axes (N and C as well) in one loop over every
 * combination of taps. One work-item per output element.
 *
 * -D contract:
 *   RANK          collapsed axes, 1..8 (default 1)
 *   RESIZED       bit d set when collapsed axis d is resized (default 0)
 *   TAPS0..TAPS7  taps per output coordinate of resized axis d: 1 for
 *                 nearest, 2 linear, 4 cubic, more with antialias
 *                 (default 1)
 *   NR            how many axes are resized, 0..RANK (default 0)
 *   AX0..AX2      with NR <= 3: the collapsed index of the first, second
 *                 and third resized axis (default 0)
 *   WEIGHTED      1 to multiply by the weights; 0 when every weight is 1
 *                 (nearest without exclude_outside) (default 1)
 *   EXTRAPOLATE   1 for tf_crop_and_resize: a row whose first offset is -1
 *                 lies outside the input and gives EXTRAPOLATION (default 0)
 *   EXTRAPOLATION the float written there (default 0.0f)
 *   FH, FW        resize_nearest_rows_f32: the integer factors of the last
 *                 two axes (default 1 and 1)
 *
 * Launch: 3-D, dimension 0 over the last collapsed axis, 1 over the one
 * before (1 when RANK is 1), 2 over all the others flattened. Dimension 0
 * is guarded, so the host may round it up to any work-group size; the
 * other two are exact. meta (__constant int): out dims[RANK], input
 * strides[RANK] (copied axes), table row starts[RANK] (resized axes, in
 * entries of tap_at and tap_w), inner[RANK] (the product of the out dims
 * after d up to axis RANK - 3, for the axes dimension 2 flattens). Every
 * offset fits in 31 bits (the host refuses larger tensors). Coordinates
 * of dimension 2 are split with divisions and no remainder (a / b with
 * a % b makes LLVM emit a `freeze` that oclgrind 21.10 cannot run).
 */
#ifndef RANK
#define RANK 1
#endif
#ifndef FH
#define FH 1
#endif
#ifndef FW
#define FW 1
#endif
#ifndef RESIZED
#define RESIZED 0
#endif
#ifndef TAPS0
#define TAPS0 1
#endif
#ifndef TAPS1
#define TAPS1 1
#endif
#ifndef TAPS2
#define TAPS2 1
#endif
#ifndef TAPS3
#define TAPS3 1
#endif
#ifndef TAPS4
#define TAPS4 1
#endif
#ifndef TAPS5
#define TAPS5 1
#endif
#ifndef TAPS6
#define TAPS6 1
#endif
#ifndef TAPS7
#define TAPS7 1
#endif
#ifndef WEIGHTED
#define WEIGHTED 1
#endif
#ifndef NR
#define NR 0
#endif
#ifndef AX0
#define AX0 0
#endif
#ifndef AX1
#define AX1 0
#endif
#ifndef AX2
#define AX2 0
#endif
#ifndef EXTRAPOLATE
#define EXTRAPOLATE 0
#endif
#ifndef EXTRAPOLATION
#define EXTRAPOLATION 0.0f
#endif

#define IS_RESIZED(d) (((RESIZED) >> (d)) & 1)
/* Taps of collapsed axis d: 1 for a copied one. */
#define TAPS(d)                                                                             \
    (!IS_RESIZED(d) ? 1u                                                                    \
     : (d) == 0     ? (uint)TAPS0                                                           \
     : (d) == 1     ? (uint)TAPS1                                                           \
     : (d) == 2     ? (uint)TAPS2                                                           \
     : (d) == 3     ? (uint)TAPS3                                                           \
     : (d) == 4     ? (uint)TAPS4                                                           \
     : (d) == 5     ? (uint)TAPS5                                                           \
     : (d) == 6     ? (uint)TAPS6                                                           \
                    : (uint)TAPS7)
/* The weight of table entry i: 1 when the host found every weight 1. */
#if WEIGHTED
#define WEIGHT(i) tap_w[i]
#else
#define WEIGHT(i) 1.0f
#endif
/* sum += term over n taps (sums start at 0); with one tap, sum = term, so
 * that nearest copies its element exactly (-0.0 included). n is a
 * constant: the choice costs nothing. */
#define ADD(sum, n, term) ((sum) = (n) == 1 ? (term) : (sum) + (term))
/* Terms of the tensor product: every combination of one tap per axis. */
#define TERMS                                                                               \
    (TAPS(0) * (RANK > 1 ? TAPS(1) : 1u) * (RANK > 2 ? TAPS(2) : 1u) *                      \
     (RANK > 3 ? TAPS(3) : 1u) * (RANK > 4 ? TAPS(4) : 1u) * (RANK > 5 ? TAPS(5) : 1u) *   \
     (RANK > 6 ? TAPS(6) : 1u) * (RANK > 7 ? TAPS(7) : 1u))

/* The table row start of collapsed axis d, kept in scalars row0..row7:
 * private arrays indexed in loops kept PoCL from vectorising across
 * work-items (5 to 25 times slower). */
#define ROW(d)                                                                              \
    ((d) == 0 ? row0 : (d) == 1 ? row1 : (d) == 2 ? row2 : (d) == 3 ? row3                 \
     : (d) == 4 ? row4 : (d) == 5 ? row5 : (d) == 6 ? row6 : row7)
/* Coordinate d: dimension 0 walks the last axis, 1 the one before, 2
 * the others flattened; meta[3 * RANK + d] is the product of the output
 * dims after d up to axis RANK - 3. */
#define COORD(d)                                                                            \
    ((d) == RANK - 1 ? ox                                                                   \
     : (d) == RANK - 2 ? oy                                                                 \
     : (d) == 0 ? oz / (uint)meta[3 * RANK]                                                 \
                : oz / (uint)meta[3 * RANK + (d)] -                                         \
                      oz / (uint)meta[3 * RANK + (d) - 1] * (uint)meta[(d)])
#define AXIS(d)                                                                             \
    {                                                                                       \
        const uint c = COORD(d);                                                            \
        out_at = out_at * (uint)meta[(d)] + c;                                              \
        if (IS_RESIZED(d))                                                                  \
            row##d = (uint)meta[2 * RANK + (d)] + c * TAPS(d);                              \
        else                                                                                \
            base += c * (uint)meta[RANK + (d)];                                             \
    }

__kernel void resize_f32(__global const float *x, __global float *y,
                         __global const int *tap_at, __global const float *tap_w,
                         __constant const int *meta)
{
    const uint ox = (uint)get_global_id(0), oy = (uint)get_global_id(1),
               oz = (uint)get_global_id(2);
    if (ox >= (uint)meta[RANK - 1])
        return;
    uint out_at = 0, base = 0;
    uint row0 = 0, row1 = 0, row2 = 0, row3 = 0, row4 = 0, row5 = 0, row6 = 0, row7 = 0;
    AXIS(0)
#if RANK > 1
    AXIS(1)
#endif
#if RANK > 2
    AXIS(2)
#endif
#if RANK > 3
    AXIS(3)
#endif
#if RANK > 4
    AXIS(4)
#endif
#if RANK > 5
    AXIS(5)
#endif
#if RANK > 6
    AXIS(6)
#endif
#if RANK > 7
    AXIS(7)
#endif
#if EXTRAPOLATE
    for (int d = 0; d < RANK; d++)
        if (IS_RESIZED(d) && tap_at[ROW(d)] < 0) {
            y[out_at] = EXTRAPOLATION;
            return;
        }
#endif
#if NR == 0
    const float acc = x[base];
#elif NR <= 3
    /* One loop per resized axis, innermost the last: straight code that
     * compilers unroll and vectorise across work-items. */
    float acc = 0.0f;
    const uint r0 = ROW(AX0);
    for (uint j0 = 0; j0 < TAPS(AX0); j0++) {
        const uint a0 = base + (uint)tap_at[r0 + j0];
#if NR == 1
        const float s0 = x[a0];
#else
        const uint r1 = ROW(AX1);
        float s0 = 0.0f;
        for (uint j1 = 0; j1 < TAPS(AX1); j1++) {
            const uint a1 = a0 + (uint)tap_at[r1 + j1];
#if NR == 2
            const float s1 = x[a1];
#else
            const uint r2 = ROW(AX2);
            float s1 = 0.0f;
            for (uint j2 = 0; j2 < TAPS(AX2); j2++)
                ADD(s1, TAPS(AX2), WEIGHT(r2 + j2) * x[a1 + (uint)tap_at[r2 + j2]]);
#endif
            ADD(s0, TAPS(AX1), WEIGHT(r1 + j1) * s1);
        }
#endif
        ADD(acc, TAPS(AX0), WEIGHT(r0 + j0) * s0);
    }
#else
    /* More resized axes: one loop over every combination of taps, the
     * digits of t (the last axis fastest) picking one tap per axis. */
    float acc = 0.0f;
    for (uint t = 0; t < TERMS; t++) {
        uint digits = t, at = base;
        float w = 1.0f;
        for (int d = RANK - 1; d >= 0; d--) {
            if (!IS_RESIZED(d))
                continue;
            const uint q = digits / TAPS(d), j = digits - q * TAPS(d);
            digits = q;
            at += (uint)tap_at[ROW(d) + j];
            w *= WEIGHT(ROW(d) + j);
        }
        ADD(acc, TERMS, w * x[at]);
    }
#endif
    y[out_at] = acc;
}

/* Nearest upsampling by integer factors FH x FW of the last two axes
 * (FH 1: the last only), for CPU-class devices: work-item r < rows takes
 * input row r (planes times in_h of them) and writes its FH output rows,
 * each element FW times. The host uses it only where ONNX's pick for
 * output (oy, ox) is input (oy / FH, ox / FW): it checks its own tables. */
__kernel void resize_nearest_rows_f32(__global const float *x, __global float *y,
                                      const uint rows, const uint in_w)
{
    const uint r = get_global_id(0);
    if (r >= rows)
        return;
    const uint out_w = in_w * FW;
    __global const float *xr = x + r * in_w;
    __global float *y0 = y + r * FH * out_w;
    for (uint i = 0; i < in_w; i++) {
        const float v = xr[i];
#pragma unroll
        for (int b = 0; b < FW; b++)
            y0[i * FW + b] = v;
    }
    for (int a = 1; a < FH; a++)
        for (uint i = 0; i < out_w; i++)
            y0[a * out_w + i] = y0[i];
}
