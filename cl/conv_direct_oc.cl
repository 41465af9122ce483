/*
 * conv_direct_oc — Conv as a direct sum with the vector lanes along the
 * output channels (host side: src/ops/conv_direct_oc.c). Float32, any
 * kernel size, stride, padding, dilation and groups over 1 to 3 spatial
 * axes (seen as [D, H, W]).
 *
 * conv_direct puts its vector lanes along an output row, so a 7x7 plane
 * fills 49 of 64 lanes and each weight feeds one row tile. Here each
 * work-item computes pg_n tiles of TM consecutive output positions (of the
 * flattened oh * OW + ow plane) x NV vectors of VW output channels: for
 * each input channel and tap it loads NV weight vectors, broadcasts TM
 * input values and issues TM * NV fma()s, all in registers (no local
 * memory, no barriers). Planes of 7x7, 14x14, 28x28 and 56x56 split into
 * TM = 7 positions exactly, and channel counts of 64k into NV * VW = 64
 * lanes. The reduction runs in blocks of cb input channels, each block
 * over all pg_n tiles, so a block's weights come from L1 pg_n - 1 times.
 *
 * X is read from conv_direct.cl's zero-bordered copy XP in its row layout
 * (FLAT 0: src/ops/conv_pad.h): padded (y, x) of a slice at
 *   y * row + (x mod SW) * cps + x / SW,
 * so output (oh, ow) and tap (kh, kw) read
 *   (oh * SH + kh * DH) * row + ow + col_off(kw)
 * with col_off(kw) = (kw * DW mod SW) * cps + kw * DW / SW: any stride and
 * dilation, no edge tests. Weights are packed by the host as
 *   WP[g][ct][c][kd][kh][kw][NV * VW]   (ct: tile of NV * VW output
 * channels within the group, zeros beyond MG), the bias as BP[g][ct *
 * NV * VW + l]. Then bias, the fused residual (resid), the fused
 * activation and a store of the lanes below MG, one position at a time.
 *
 * -D contract (defaults in brackets):
 *   TM         output positions per work-item [7]
 *   VW         vector width: 4, 8 or 16 [16]
 *   NV         vectors of output channels per work-item [2]
 *   PG_MAX     the most position tiles per work-item (argument pg) [8]
 *   KW         kernel width, a constant; 0: the argument kw_n [3]
 *   PF         1: prefetch the next reduction block (prefetch.cl) [0]
 *   ROWTILE    1: TM divides OW, so a tile's positions are consecutive in
 *              one row of XP [0]
 *   ACT, ACT_ALPHA, ACT_BETA: the activation (conv_epilogue.cl)
 * Extents, strides, dilations, the reduction block cb, the tiles per
 * work-item pg_n (at most PG_MAX) and whether to add
 * the residual (resid: one program serves both, at a uniform branch per
 * stored vector) are arguments. Indices are 32-bit (the
 * host refuses larger tensors). Work-items past the tile counts return.
 */
#ifndef TM
#define TM 7
#endif
#ifndef VW
#define VW 16
#endif
#ifndef NV
#define NV 2
#endif
#ifndef KW
#define KW 3
#endif
#ifndef PG_MAX
#define PG_MAX 8
#endif
#ifndef ROWTILE
#define ROWTILE 0
#endif

#include "conv_epilogue.cl"
#include "prefetch.cl"

/* ptiles: tiles of TM positions over the oh * ow plane; ctiles: tiles of
 * NV * VW channels per group; zcount = N * G * OD (z = (n * G + grp) * OD
 * + od). dp, zs, row, cps: XP's layout. */
__kernel void conv_direct_oc_f32(__global const float *xp, __global const float *wpk,
                                 __global const float *bpk, __global float *y,
                                 __global const float *res, const int ptiles, const int ctiles,
                                 const int zcount, const int dp, const int zs, const int row,
                                 const int cps, const int c, const int cg, const int mg,
                                 const int m, const int g, const int od_n, const int oh_n,
                                 const int ow_n, const int kd_n, const int kh_n,
                                 const int kw_arg, const int sd, const int sh, const int sw,
                                 const int dd, const int dh, const int dw, const int resid,
                                 const int cb, const int pg_n)
{
#if KW != 0
    const int kw_n = KW;
    (void)kw_arg;
#else
    const int kw_n = kw_arg;
#endif
    const int pt = get_global_id(0), ct = get_global_id(1), z = get_global_id(2);
    if (pt >= ptiles || ct >= ctiles || z >= zcount)
        return;
    const int q = z / od_n, od = z - q * od_n;
    const int n = q / g, grp = q - n * g;
    const int plane = oh_n * ow_n, taps = kd_n * kh_n * kw_n;
    const int slice = dp * zs;
#if KW != 0
    int col_off[KW];
#pragma unroll
    for (int kw = 0; kw < KW; kw++)
        col_off[kw] = xp_col_off(kw, dw, sw, cps);
#endif
    __global const float *xb = xp + (n * c + grp * cg) * slice + od * sd * zs;
    __global const float *bb = bpk + (grp * ctiles + ct) * (NV * VW);
    const int m0 = ct * (NV * VW);
    /* Y's offset of channel ml of this group at position 0 of the plane. */
    const int ybase = ((n * m + grp * mg) * od_n + od) * plane, cstride = od_n * plane;

    /* The reduction runs in blocks of cb input channels; each block's
     * weights (cb * taps * NV * VW floats) serve all pg_n position tiles of
     * the work-item from L1 before the next block streams in, and the
     * tiles' sums wait in part[] between blocks. With pg_n 1 and cb = cg
     * this is one pass with the sums in registers throughout. */
    /* pg_n an argument, not an option: one program for every layer */
    float part[PG_MAX * TM * NV * VW];
    __global const float *wg = wpk + (grp * ctiles + ct) * cg * taps * (NV * VW);
#pragma unroll 1
    for (int c0 = 0; c0 < cg; c0 += cb) {
        const int c1 = min(c0 + cb, cg);
#pragma unroll 1
        for (int pg = 0; pg < pg_n; pg++) {
            float *pq = part + pg * (TM * NV * VW);
            /* Each position's offset in a slice; positions past the plane
             * repeat the last one (computed, never stored). */
#if ROWTILE
            /* The TM positions lie in one output row (TM divides OW), so
             * they are consecutive in XP's row: one offset, not TM of them
             * in registers. A tile past the plane repeats the last one. */
            const int p0 = min((pt * pg_n + pg) * TM, plane - TM), oh0 = p0 / ow_n;
            const int pix0 = oh0 * sh * row + p0 - oh0 * ow_n;
#else
            int pix[TM];
#pragma unroll
            for (int i = 0; i < TM; i++) {
                const int p = min((pt * pg_n + pg) * TM + i, plane - 1), oh = p / ow_n;
                pix[i] = oh * sh * row + p - oh * ow_n;
            }
#endif
            floatv acc[TM][NV];
#pragma unroll
            for (int i = 0; i < TM; i++)
#pragma unroll
                for (int v = 0; v < NV; v++)
                    acc[i][v] = c0 == 0 ? (floatv)0.0f : vloadv(0, pq + (i * NV + v) * VW);
            __global const float *wt = wg + c0 * taps * (NV * VW);
            /* The next block's weights are fetched a share per pass, so
             * memory streams them while this block computes; without it
             * the first pass waits on memory (ResNet-18's 512-channel
             * layers: 9.4 MB of weights a conv, which other layers evict
             * from L3 between runs). */
            __global const float *nb = wt + (c1 - c0) * taps * (NV * VW);
            /* lines of 16 floats in the next block, and per channel step
             * of this pass (pg_n * (c1 - c0) steps share them) */
            const int nlines = PF ? (min(c1 + cb, cg) - c1) * taps * (NV * VW) / 16 : 0;
            const int steps = pg_n * (c1 - c0), per = (nlines + steps - 1) / steps;
            for (int ci = c0; ci < c1; ci++) {
                __global const float *xc = xb + ci * slice;
                /* once per channel, not per tap: at a tap's 28 fma()s
                 * the index arithmetic was a tenth of the instructions */
                const int l0 = (int)((long)(pg * (c1 - c0) + ci - c0) * nlines / steps);
                for (int l = l0; l < min(l0 + per, nlines); l++)
                    prefetch_line(nb + 16 * l);
                for (int kd = 0; kd < kd_n; kd++) {
                    for (int kh = 0; kh < kh_n; kh++) {
                        __global const float *xr = xc + kd * dd * zs + kh * dh * row;
                        /* Rolled: unrolled, LLVM hoists the taps'
                         * broadcasts and spills the sums (TM 6 ran at
                         * 60% of the speed of TM 7). */
#pragma unroll 1
                        for (int kw = 0; kw < kw_n; kw++) {
#if KW != 0
                            __global const float *xt = xr + col_off[kw];
#else
                            __global const float *xt = xr + xp_col_off(kw, dw, sw, cps);
#endif
                            floatv wv[NV];
#pragma unroll
                            for (int v = 0; v < NV; v++)
                                wv[v] = vloadv(v, wt);
                            wt += NV * VW;
#pragma unroll
                            for (int i = 0; i < TM; i++) {
#if ROWTILE
                                const floatv xv = (floatv)xt[pix0 + i];
#else
                                const floatv xv = (floatv)xt[pix[i]];
#endif
#pragma unroll
                                for (int v = 0; v < NV; v++)
                                    acc[i][v] = fma(xv, wv[v], acc[i][v]);
                            }
                        }
                    }
                }
            }
#pragma unroll
            for (int i = 0; i < TM; i++)
#pragma unroll
                for (int v = 0; v < NV; v++)
                    vstorev(acc[i][v], 0, pq + (i * NV + v) * VW);
        }
    }

    /* The stores are one lane at a time (channels are a plane apart in
     * Y): from part[], in loops that stay rolled, so the compiler does not
     * replicate them TM * NV * VW times (code size, and PoCL's compile
     * time, grow with it). */
#pragma unroll 1
    for (int i = 0; i < pg_n * TM && pt * pg_n * TM + i < plane; i++) {
        const int p = pt * pg_n * TM + i;
#pragma unroll 1
        for (int v = 0; v < NV; v++) {
            const int mv = m0 + v * VW;
            floatv sum = vloadv(0, part + (i * NV + v) * VW) + vloadv(v, bb);
            if (resid) {
                float r[VW];
#pragma unroll 1
                for (int l = 0; l < VW; l++)
                    r[l] = mv + l < mg ? res[ybase + (mv + l) * cstride + p] : 0.0f;
                sum += vloadv(0, r);
            }
            float t[VW];
            vstorev(activate(sum), 0, t);
#pragma unroll 1
            for (int l = 0; l < VW && mv + l < mg; l++)
                y[ybase + (mv + l) * cstride + p] = t[l];
        }
    }
}
