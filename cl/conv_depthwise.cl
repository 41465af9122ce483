/*
 * conv_depthwise — Conv with groups == C == M (one filter per channel),
 * any kernel size, stride, padding and dilation over 1 to 3 spatial axes
 * (seen as [D, H, W]). Float32. Memory-bound: the kernel reads X in place
 * (no padded copy) and each work-item computes one output plane (n, c,
 * depth) in vectors of VW columns. A vector whose taps all fall inside X
 * reads them as plain (vector) loads; one on the border tests each tap.
 * Then bias, the fused activation (src/ops/conv_geom.h) and the store.
 *
 * -D contract (defaults in brackets):
 *   KW         kernel width, unrolled; 0: the argument kw_n [3]
 *   SW         stride along W when 1 or 2 (vector loads); 0: the argument
 *              sw, gathered [1]
 *   VW         vector width: 4, 8 or 16 [8]
 *   NV         vectors per tile along a row (sharing the tap loop) [1]
 *   ACT        fused activation, conv_geom.h's CONV_ACT_* [0 none]
 *   ACT_ALPHA  LeakyRelu alpha, Clip min [0]     ACT_BETA  Clip max [0]
 * Weights W [C, 1, KD, KH, KW] and bias B [C] (zeros when absent) as
 * given. Index arithmetic is int: the host refuses tensors above 2^31 - 1
 * elements. Work-items beyond the tile counts return.
 */
#define ACT_NONE 0
#define ACT_RELU 1
#define ACT_LEAKY_RELU 2
#define ACT_CLIP 3
#define ACT_SIGMOID 4
#define ACT_TANH 5
#define ACT_HARD_SWISH 6

#ifndef KW
#define KW 3
#endif
#ifndef SW
#define SW 1
#endif
#ifndef VW
#define VW 8
#endif
#ifndef NV
#define NV 1
#endif
#ifndef ACT
#define ACT ACT_NONE
#endif
#ifndef ACT_ALPHA
#define ACT_ALPHA 0.0f
#endif
#ifndef ACT_BETA
#define ACT_BETA 0.0f
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define floatv CAT(float, VW)
#define vloadv CAT(vload, VW)
#define vstorev CAT(vstore, VW)
#if VW == 4
#define LANES 0, 1, 2, 3
#elif VW == 8
#define LANES 0, 1, 2, 3, 4, 5, 6, 7
#else
#define LANES 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
#endif

/* The fused epilogue on a vector (formulas of cl/eltwise.cl). */
floatv activate(floatv v)
{
#if ACT == ACT_RELU
    return fmax(v, (floatv)0.0f);
#elif ACT == ACT_LEAKY_RELU
    return fmax(v, (floatv)0.0f) + ACT_ALPHA * fmin(v, (floatv)0.0f);
#elif ACT == ACT_CLIP
    return fmin(fmax(v, (floatv)(ACT_ALPHA)), (floatv)(ACT_BETA));
#elif ACT == ACT_SIGMOID
    return 1.0f / (1.0f + exp(-v));
#elif ACT == ACT_TANH
    return tanh(v);
#elif ACT == ACT_HARD_SWISH
    return v * clamp(v / 6.0f + 0.5f, 0.0f, 1.0f);
#else
    return v;
#endif
}

/* p[0], p[sw], ..., p[(VW-1) sw], all inside X; with SW 2 also p[2 VW -
 * 1] (the host's interior test counts it). */
floatv load_row(__global const float *p, const int sw)
{
#if SW == 1
    (void)sw;
    return vloadv(0, p);
#elif SW == 2 && VW == 16
    (void)sw;
    return (float16)(vload16(0, p).even, vload16(0, p + 16).even);
#elif SW == 2 && VW == 8
    (void)sw;
    return vload16(0, p).even;
#elif SW == 2 && VW == 4
    (void)sw;
    return vload8(0, p).even;
#else
    float t[VW];
    for (int i = 0; i < VW; i++)
        t[i] = p[i * sw];
    return vloadv(0, t);
#endif
}

/* p[x0], ..., p[x0 + VW - 1] of a row of in_w >= VW floats where some
 * may lie outside [0, in_w): those read 0. One in-bounds vector load,
 * its lanes moved into place by a shuffle (no per-lane branches). */
floatv load_row_shifted(__global const float *row, const int x0, const int in_w)
{
    const int base = clamp(x0, 0, in_w - VW);
    const floatv v = vloadv(0, row + base);
    const CAT(int, VW) lane = (CAT(int, VW))(LANES) + x0;
    const CAT(int, VW) at = clamp(lane - base, 0, VW - 1);
    const floatv moved = shuffle(v, CAT(convert_uint, VW)(at));
    return select((floatv)0.0f, moved, lane >= 0 && lane < in_w);
}

/* The same where some of them may lie outside [0, in_w): those read 0.
 * x0: the column of the first. */
floatv load_row_edge(__global const float *row, const int x0, const int sw, const int in_w)
{
    float t[VW];
    for (int i = 0; i < VW; i++) {
        const int xx = x0 + i * sw;
        t[i] = xx >= 0 && xx < in_w ? row[xx] : 0.0f;
    }
    return vloadv(0, t);
}

/* One work-item per output plane (n, c, od) < zcount = N * C * OD, which
 * it walks row by row in vectors of VW columns: a plane is enough work to
 * hide a work-group's start-up on CPUs, and the host groups several planes
 * per work-group when planes are small. */
__kernel void conv_depthwise_f32(__global const float *x, __global const float *w,
                                 __global const float *bias, __global float *y,
                                 const int tiles_w, const int zcount, const int c_n,
                                 const int in_d, const int in_h, const int in_w, const int od_n,
                                 const int oh_n, const int ow_n, const int kd_n, const int kh_n,
                                 const int kw_arg, const int sd, const int sh, const int sw_arg,
                                 const int dd, const int dh, const int dw, const int pd,
                                 const int ph, const int pw)
{
#if KW != 0
    const int kw_n = KW;
    (void)kw_arg;
#else
    const int kw_n = kw_arg;
#endif
#if SW != 0
    const int sw = SW;
    (void)sw_arg;
#else
    const int sw = sw_arg;
#endif
    const int z = get_global_id(0);
    if (z >= zcount)
        return;
    const int nc = z / od_n, od = z - nc * od_n;
    const int ch = nc - (nc / c_n) * c_n;
    const int z0 = od * sd - pd;
    __global const float *xc = x + nc * in_d * in_h * in_w;
    __global const float *wc = w + ch * kd_n * kh_n * kw_n;
    __global float *yc = y + (nc * od_n + od) * oh_n * ow_n;
    const float b = bias[ch];
    /* border vectors of unit stride in rows of at least VW: shuffled */
    const int shift = sw == 1 && in_w >= VW;
    for (int oh = 0; oh < oh_n; oh++) {
        const int y0 = oh * sh - ph;
        const int rows_in = y0 >= 0 && y0 + (kh_n - 1) * dh < in_h;
        for (int tw = 0; tw < tiles_w; tw++) {
            const int ow0 = tw * (VW * NV), x0 = ow0 * sw - pw;
            /* every tap of the tile's outputs inside X? */
            const int inside = rows_in && x0 >= 0 &&
                               x0 + (VW * NV - 1) * sw + (kw_n - 1) * dw + (SW == 2) < in_w;
            floatv acc[NV];
#pragma unroll
            for (int v = 0; v < NV; v++)
                acc[v] = (floatv)0.0f;
            if (inside && kd_n == 1 && z0 >= 0 && z0 < in_d) {
                /* interior (the bulk): plain loads, no tests */
                __global const float *xr = xc + (z0 * in_h + y0) * in_w + x0;
                for (int kh = 0; kh < kh_n; kh++) {
#if KW != 0 /* a loop of unknown count cannot unroll (and says so) */
#pragma unroll
#endif
                    for (int kw = 0; kw < kw_n; kw++) {
                        const floatv wk = (floatv)wc[kh * kw_n + kw];
#pragma unroll
                        for (int v = 0; v < NV; v++)
                            acc[v] = fma(wk, load_row(xr + kw * dw + v * (VW * sw), sw), acc[v]);
                    }
                    xr += dh * in_w;
                }
            } else {
                for (int kd = 0; kd < kd_n; kd++) {
                    const int zz = z0 + kd * dd;
                    if (zz < 0 || zz >= in_d)
                        continue;
                    __global const float *xz = xc + zz * in_h * in_w;
                    for (int kh = 0; kh < kh_n; kh++) {
                        const int yy = y0 + kh * dh;
                        if (yy < 0 || yy >= in_h)
                            continue;
                        __global const float *xr = xz + yy * in_w;
                        __global const float *wr = wc + (kd * kh_n + kh) * kw_n;
                        for (int kw = 0; kw < kw_n; kw++) {
                            const floatv wk = (floatv)wr[kw];
                            for (int v = 0; v < NV; v++) {
                                const int xv = x0 + v * (VW * sw) + kw * dw;
                                const int in_v = xv >= 0 && xv + (VW - 1) * sw + (SW == 2) < in_w;
                                const floatv t = in_v    ? load_row(xr + xv, sw)
                                                 : shift ? load_row_shifted(xr, xv, in_w)
                                                         : load_row_edge(xr, xv, sw, in_w);
                                acc[v] = fma(wk, t, acc[v]);
                            }
                        }
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
