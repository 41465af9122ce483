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
 * -D contract (defaults in brackets):
 *   KW         kernel width, unrolled; 0: the argument kw_n [3]
 *   VW         vector width: 4, 8 or 16 [8]
 *   NV         vectors per tile along a row (sharing the tap loop) [1]
 *   ACT        fused activation, conv_geom.h's CONV_ACT_* [0 none]
 *   ACT_ALPHA  LeakyRelu alpha, Clip min [0]     ACT_BETA  Clip max [0]
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

#include "conv_epilogue.cl"

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
    for (int kw = 0; kw < KW; kw++) {
        const int tx = kw * dw, cq = tx / sw;
        col_off[kw] = (tx - cq * sw) * cps + cq;
    }
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
                        const int tx = kw * dw, cq = tx / sw;
                        __global const float *xt = xr + (tx - cq * sw) * cps + cq;
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
