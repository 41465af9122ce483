/*
 * conv_transpose — ConvTranspose as a gather: each work-item owns KT
 * output channels x VW output positions along W of one (n, od, oh) and
 * sums what reaches them. Input position i with kernel offset k lands on output
 * i * stride - pad + k * dilation, so output o takes, per axis, the
 * offsets k with t = o + pad - k * dilation >= 0, t a multiple of the
 * stride and t / stride inside X — found by walking k, with no
 * zero-stuffed copy of X. The VW positions of a work-item are of one
 * phase along W, ow = phase + SW * (j0 + lane): they take the same
 * offsets kw, and offset kw reads the VW consecutive inputs from
 * j0 + (phase + pad - kw * dilation) / SW — one vector load (tested per
 * lane at the borders) feeding KT fma. Any stride, pads (negative ones
 * from output_shape included), output_padding, dilation and groups over 1
 * to 3 spatial axes ([D, H, W]). Float32.
 *
 * Weights are packed by the host as WP[g][mt][kd][kh][kw][c][KT] (mt: a
 * tile of KT output channels of the group, zero beyond M/group); bias as
 * BP[g][mt * KT + k] (zeros when absent). Then the fused activation
 * (src/ops/conv_geom.h) and guarded (strided) stores.
 *
 * -D contract (defaults in brackets):
 *   KT         output channels per work-item [4]
 *   VW         positions per work-item: 4, 8 or 16 [8]
 *   ACT        fused activation, conv_geom.h's CONV_ACT_* [0 none]
 *   ACT_ALPHA  LeakyRelu alpha, Clip min [0]     ACT_BETA  Clip max [0]
 * Extents, strides, dilations and pads are arguments. Index arithmetic is
 * int (the host refuses tensors above 2^31 - 1 elements); remainders are
 * a - q * b (oclgrind, see cl/pool.cl).
 */
#ifndef KT
#define KT 4
#endif
#ifndef VW
#define VW 8
#endif

#include "conv_epilogue.cl"

/* The input index along one axis reached from output o with offset k:
 * >= 0, or -1 when none. */
int source(const int o, const int k, const int pad, const int s, const int d, const int in)
{
    const int t = o + pad - k * d;
    if (t < 0)
        return -1;
    const int q = t / s;
    return q * s == t && q < in ? q : -1;
}

/* p[x0], ..., p[x0 + VW - 1] with those outside [0, in_w) read as 0. */
floatv load_edge(__global const float *p, const int x0, const int in_w)
{
    float t[VW];
    for (int i = 0; i < VW; i++)
        t[i] = x0 + i >= 0 && x0 + i < in_w ? p[x0 + i] : 0.0f;
    return vloadv(0, t);
}

/* total = N * G * MT * OD * OH * (sw * jt): jt tiles of VW positions per
 * phase along W, of nj = ceil(OW / sw) positions each. */
__kernel void conv_transpose_f32(__global const float *x, __global const float *wpk,
                                 __global const float *bpk, __global float *y, const int total,
                                 const int cg, const int mg, const int g_n, const int mt_n,
                                 const int in_d, const int in_h, const int in_w, const int od_n,
                                 const int oh_n, const int ow_n, const int kd_n, const int kh_n,
                                 const int kw_n, const int sd, const int sh, const int sw,
                                 const int dd, const int dh, const int dw, const int pd,
                                 const int ph, const int pw, const int jt)
{
    const int i = get_global_id(0);
    if (i >= total)
        return;
    int q = i / (sw * jt);
    const int wi = i - q * (sw * jt), phase = wi / jt, j0 = (wi - phase * jt) * VW;
    int r = q / oh_n;
    const int oh = q - r * oh_n;
    q = r / od_n;
    const int od = r - q * od_n;
    r = q / mt_n;
    const int tile = q - r * mt_n;
    const int n = r / g_n, grp = r - n * g_n;
    const int plane = in_d * in_h * in_w;
    __global const float *xg = x + (n * g_n + grp) * cg * plane;
    __global const float *wg = wpk + (grp * mt_n + tile) * kd_n * kh_n * kw_n * cg * KT;
    floatv acc[KT];
#pragma unroll
    for (int k = 0; k < KT; k++)
        acc[k] = (floatv)0.0f;
    for (int kd = 0; kd < kd_n; kd++) {
        const int iz = source(od, kd, pd, sd, dd, in_d);
        if (iz < 0)
            continue;
        for (int kh = 0; kh < kh_n; kh++) {
            const int iy = source(oh, kh, ph, sh, dh, in_h);
            if (iy < 0)
                continue;
            __global const float *xr = xg + (iz * in_h + iy) * in_w;
            for (int kw = 0; kw < kw_n; kw++) {
                /* the phase's inputs for offset kw: t / sw + j0 when exact */
                const int t = phase + pw - kw * dw, qd = t / sw;
                if (qd * sw != t)
                    continue;
                const int x0 = j0 + qd;
                if (x0 >= in_w || x0 + VW <= 0)
                    continue;
                const int inside = x0 >= 0 && x0 + VW <= in_w;
                __global const float *wp = wg + ((kd * kh_n + kh) * kw_n + kw) * cg * KT;
                for (int c = 0; c < cg; c++) {
                    __global const float *xc = xr + c * plane;
                    const floatv xv = inside ? vloadv(0, xc + x0) : load_edge(xc, x0, in_w);
#pragma unroll
                    for (int k = 0; k < KT; k++)
                        acc[k] = fma((floatv)wp[c * KT + k], xv, acc[k]);
                }
            }
        }
    }
    __global const float *bb = bpk + (grp * mt_n + tile) * KT;
    const int m = grp * mg + tile * KT;
    for (int k = 0; k < KT; k++) {
        if (tile * KT + k >= mg)
            break;
        float t[VW];
        vstorev(activate(acc[k] + bb[k]), 0, t);
        __global float *yr = y + (((n * g_n * mg + m + k) * od_n + od) * oh_n + oh) * ow_n;
        for (int l = 0; l < VW; l++) {
            const int ow = phase + sw * (j0 + l);
            if (ow < ow_n)
                yr[ow] = t[l];
        }
    }
}
