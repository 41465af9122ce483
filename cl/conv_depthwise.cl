/*
 * conv_depthwise — Conv with groups == C == M (one filter per channel),
 * any kernel size, stride, padding and dilation over 1 to 3 spatial axes
 * (seen as [D, H, W]). Float32. Memory-bound, with little arithmetic per
 * load, so the per-tap overhead is what counts: the kernel reads the
 * zero-bordered, phase-split copy of X that cl/conv_direct.cl's
 * conv_pad_f32 writes (layout documented there, row layout: SHS 1), where
 * every tap of VW outputs is one vector load with no edge tests, for any
 * stride. (A first version read X in place and tested border taps; the
 * tests cost more than the copy saves.) Each work-item walks one output
 * plane (n, c, depth) row by row in tiles of NV vectors of VW columns,
 * then bias, the fused activation (src/ops/conv_geom.h) and the store.
 *
 * conv_depthwise_rows_f32 (CPU-class devices, below) reads X in place
 * instead, through private zero-bordered copies of its rows.
 *
 * -D contract (defaults in brackets):
 *   KW         kernel width, unrolled; 0: the argument kw_n (and no rows
 *              kernel) [3]
 *   VW         vector width: 4, 8 or 16 [8]
 *   NV         vectors per tile along a row (sharing the tap loop) [1]
 *   KH, SW     conv_depthwise_rows_f32: kernel height, W stride (1 or 2) [3, 1]
 *   ROWCAP     conv_depthwise_rows_f32: floats of a private row slot [64]
 *   ACT        fused activation, conv_geom.h's CONV_ACT_* [0 none]
 *   ACT_ALPHA  LeakyRelu alpha, Clip min [0]     ACT_BETA  Clip max [0]
 *   KERNELS    which kernels the program holds: KERNELS_PLANE
 *              (conv_depthwise_f32), KERNELS_ROWS (conv_depthwise_rows_f32)
 *              or KERNELS_ALL [KERNELS_ALL]. Drivers that make code for
 *              every kernel of a program when its binary is read (PoCL)
 *              then make it only for the one used.
 * Weights W [C, 1, KD, KH, KW] and bias B [C] (zeros when absent) as
 * given. Index arithmetic is int: the host refuses tensors above 2^31 - 1
 * elements. Work-items beyond zcount return.
 */
#ifndef KW
#define KW 3
#endif
#ifndef VW
#define VW 8
#endif
#ifndef NV
#define NV 1
#endif
#ifndef KH
#define KH 3
#endif
#ifndef SW
#define SW 1
#endif
#ifndef ROWCAP
#define ROWCAP 64
#endif
#define KERNELS_ALL 0
#define KERNELS_PLANE 1
#define KERNELS_ROWS 2
#ifndef KERNELS
#define KERNELS KERNELS_ALL
#endif

#include "conv_epilogue.cl"

#if KERNELS == KERNELS_ALL || KERNELS == KERNELS_PLANE
/* One work-item per output plane (n, c, od) < zcount = N * C * OD, which
 * it walks row by row; the host groups several planes per work-group when
 * planes are small. dp, zs, row, cps: XP's layout. */
__kernel void conv_depthwise_f32(__global const float *xp, __global const float *w,
                                 __global const float *bias, __global float *y,
                                 const int tiles_w, const int zcount, const int c_n,
                                 const int od_n, const int oh_n, const int ow_n, const int kd_n,
                                 const int kh_n, const int kw_arg, const int sd, const int sh,
                                 const int sw, const int dd, const int dh, const int dw,
                                 const int dp, const int zs, const int row, const int cps)
{
#if KW != 0
    const int kw_n = KW;
    (void)kw_arg;
#else
    const int kw_n = kw_arg;
#endif
    const int z = get_global_id(0);
    if (z >= zcount)
        return;
    const int nc = z / od_n, od = z - nc * od_n;
    const int ch = nc - (nc / c_n) * c_n;
    __global const float *xs = xp + nc * dp * zs + od * sd * zs;
    __global const float *wc = w + ch * kd_n * kh_n * kw_n;
    __global float *yc = y + (nc * od_n + od) * oh_n * ow_n;
    const float b = bias[ch];
    /* the taps' offsets along a row, the same everywhere */
#if KW != 0
    int col_off[KW];
#pragma unroll
    for (int kw = 0; kw < KW; kw++)
        col_off[kw] = xp_col_off(kw, dw, sw, cps);
#endif
    for (int oh = 0; oh < oh_n; oh++) {
        __global const float *xo = xs + oh * sh * row;
        for (int tw = 0; tw < tiles_w; tw++) {
            const int ow0 = tw * (VW * NV);
            floatv acc[NV];
#pragma unroll
            for (int v = 0; v < NV; v++)
                acc[v] = (floatv)0.0f;
            for (int kd = 0; kd < kd_n; kd++) {
                for (int kh = 0; kh < kh_n; kh++) {
                    __global const float *xr = xo + kd * dd * zs + kh * dh * row + ow0;
                    __global const float *wr = wc + (kd * kh_n + kh) * kw_n;
#if KW != 0 /* a loop of unknown count cannot unroll (and says so) */
#pragma unroll
#endif
                    for (int kw = 0; kw < kw_n; kw++) {
#if KW != 0
                        __global const float *xt = xr + col_off[kw];
#else
                        __global const float *xt = xr + xp_col_off(kw, dw, sw, cps);
#endif
                        const floatv wk = (floatv)wr[kw];
#pragma unroll
                        for (int v = 0; v < NV; v++)
                            acc[v] = fma(wk, vloadv(0, xt + v * VW), acc[v]);
                    }
                }
            }
            __global float *yr = yc + oh * ow_n;
#pragma unroll
            for (int v = 0; v < NV; v++) {
                const int ov = ow0 + v * VW;
                const floatv val = activate(acc[v] + b);
                if (ov + VW <= ow_n) {
                    vstorev(val, 0, yr + ov);
                } else {
                    float t[VW];
                    vstorev(val, 0, t);
                    for (int i = 0; i < VW && ov + i < ow_n; i++)
                        yr[ov + i] = t[i];
                }
            }
        }
    }
}

#endif

/* ---- CPU-class devices: rows from a private zero-bordered copy ------------------ */

#if KW != 0 && (KERNELS == KERNELS_ALL || KERNELS == KERNELS_ROWS)
/* (the rows kernel needs the kernel width as a constant) */

/* Input row src (iw_n floats) into dst, a slot of SW phases pstride apart:
 * padded column pc = col + pl goes to phase pc % SW, element pc / SW, so
 * that tap kw of outputs ow.. is the vector at phase kw % SW, element
 * ow + kw / SW. Writes only the row's own columns: the zeros around them,
 * written once, stay. Stride 2 deinterleaves 16 columns at a time. The
 * copies are unrolled loops of scalars, which the compiler turns into
 * vector moves and shuffles: oclgrind 21.10 leaves private memory written
 * by vstoreN marked uninitialised. */
void dw_load_row(__global const float *src, float *dst, const int iw_n, const int pl,
                 const int pstride)
{
    int col = 0;
#if SW == 1
    float *d = dst + pl;
    for (; col + 16 <= iw_n; col += 16)
#pragma unroll
        for (int q = 0; q < 16; q++)
            d[col + q] = src[col + q];
#elif SW == 2
    float *de = dst + (pl & 1) * pstride + (pl >> 1);
    float *dd = dst + ((pl + 1) & 1) * pstride + ((pl + 1) >> 1);
    for (; col + 16 <= iw_n; col += 16)
#pragma unroll
        for (int q = 0; q < 8; q++) {
            de[col / 2 + q] = src[col + 2 * q];
            dd[col / 2 + q] = src[col + 2 * q + 1];
        }
#endif
    for (; col < iw_n; col++) {
        const int pc = col + pl, q = pc / SW;
        dst[(pc - q * SW) * pstride + q] = src[col];
    }
}

/* Depthwise 2-D (or 1-D, or 3-D with a depth kernel of 1 and no depth
 * padding: planes are then independent) with dilation 1, W stride SW (1 or
 * 2), kernel KH x KW, reading X in place. A unit is a band of band_rows
 * output rows of one plane (n, c, d); work-item g takes units [g * per,
 * g * per + per) (work-groups of one work-item: the host makes enough of
 * them). Input rows are copied once per band into a ring of KH slots of
 * ROWCAP floats in private memory, with zeros for the padding, so every
 * tap of VW outputs is one vector load and only rows outside the input are
 * tested (and skipped). pstride: floats per phase of a slot; tiles: VW
 * tiles per output row. */
__kernel void conv_depthwise_rows_f32(__global const float *x, __global const float *w,
                                      __global const float *bias, __global float *y,
                                      const int units, const int per, const int bands,
                                      const int band_rows, const int c_n, const int d_n,
                                      const int ih_n, const int iw_n, const int oh_n,
                                      const int ow_n, const int sh, const int pt,
                                      const int pl, const int pstride, const int tiles)
{
    float buf[KH * ROWCAP];
    for (int i = 0; i < KH * ROWCAP; i++)
        buf[i] = 0.0f;
    const int u0 = get_global_id(0) * per;
    const int u1 = min(u0 + per, units);
    for (int u = u0; u < u1; u++) {
        const int plane = u / bands, band = u - plane * bands;
        const int nc = plane / d_n, ch = nc - (nc / c_n) * c_n;
        float wk[KH * KW];
#pragma unroll
        for (int i = 0; i < KH * KW; i++)
            wk[i] = w[ch * (KH * KW) + i];
        const float b = bias[ch];
        __global const float *xs = x + plane * ih_n * iw_n;
        __global float *ys = y + plane * oh_n * ow_n;
        const int oh0 = band * band_rows, oh1 = min(oh0 + band_rows, oh_n);
        int next = oh0 * sh - pt; /* the first row not yet in the ring */
        for (int oh = oh0; oh < oh1; oh++) {
            const int ih0 = oh * sh - pt;
            for (int ih = max(next, ih0); ih < ih0 + KH; ih++)
                if (ih >= 0 && ih < ih_n)
                    dw_load_row(xs + ih * iw_n, buf + (ih % KH) * ROWCAP, iw_n, pl, pstride);
            next = ih0 + KH;
            __global float *yr = ys + oh * ow_n;
            for (int t = 0; t < tiles; t++) {
                const int ow0 = t * VW;
                floatv acc = (floatv)0.0f;
#pragma unroll
                for (int kh = 0; kh < KH; kh++) {
                    const int ih = ih0 + kh;
                    if (ih < 0 || ih >= ih_n)
                        continue;
                    const float *r = buf + (ih % KH) * ROWCAP + ow0;
#pragma unroll
                    for (int kw = 0; kw < KW; kw++)
                        acc = fma((floatv)wk[kh * KW + kw],
                                  vloadv(0, r + (kw % SW) * pstride + kw / SW), acc);
                }
                const floatv val = activate(acc + b);
                if (ow0 + VW <= ow_n) {
                    vstorev(val, 0, yr + ow0);
                } else {
                    float tmp[VW];
                    vstorev(val, 0, tmp);
                    for (int i = 0; ow0 + i < ow_n; i++)
                        yr[ow0 + i] = tmp[i];
                }
            }
        }
    }
}

#endif
