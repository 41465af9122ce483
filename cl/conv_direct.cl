/*
 * conv_direct — Conv as a direct sum over a register tile, for any kernel
 * size, stride, padding, dilation and groups over 1 to 3 spatial axes
 * (seen as [D, H, W]; 1-D and 2-D have leading axes of size 1). Float32.
 *
 * Two kernels:
 *   conv_pad_f32     copies X into a zero-bordered copy XP (the
 *                    workspace) split by the strides' phases, so that VW
 *                    consecutive outputs read VW consecutive floats for
 *                    every tap and stride: one plain vector load per tap,
 *                    no edge tests, no gathers. Padded position (y, x) of a
 *                    (n, c, z) slice sits in row phase y mod SHS at row
 *                    y / SHS, column phase x mod SW at position x / SW:
 *                      slice + rp * rps + (y / SHS) * row + cp * cps + x / SW
 *                    Row layout (FLAT 0): SHS = 1, rows of SW phases of
 *                    wps (row = SW * wps, cps = wps). Flat layout (FLAT 1):
 *                    SHS = SH and each (rp, cp) phase its own hps x wps
 *                    grid (row = wps, cps = hps * wps, rps = SW * cps), so
 *                    consecutive output rows read consecutive grid rows.
 *                    Output (oh, ow) with tap offsets (th, tw) = (kh * DH,
 *                    kw * DW) reads padded (oh * SH + th, ow * SW + tw).
 *   conv_direct_f32  each work-item computes a tile of KT output channels x
 *                    RT output rows x (NV vectors of VW) output columns of
 *                    one (n, group, depth): for each input channel and tap
 *                    it loads RT * NV input vectors, broadcasts KT weights
 *                    and does KT * RT * NV fma, all in registers (no local
 *                    memory, no barriers). Weights are packed by the host
 *                    into the order the loop reads them:
 *                      WP[g][mt][c][kd][kh][kw][KT]   (mt: tile of KT
 *                    output channels within the group, zero beyond MG),
 *                    and the bias as BP[g][mt * KT + k] (zeros when absent).
 *                    Then bias, the fused residual R (RESID: read with the
 *                    same vector loads as the store), the fused activation
 *                    and a guarded store.
 *
 * -D contract (defaults in brackets):
 *   KW         kernel width, a constant; 0: the argument kw_n [3]
 *   KU         1: the loop over KW is unrolled, 0: it stays rolled [1]
 *   KT         output channels per work-item [4]
 *   RT         output rows per work-item [1]
 *   VW         vector width: 4, 8 or 16 [4]
 *   NV         vectors per row [1]
 *   FLAT       1: the tile is NV * VW consecutive positions j = oh * wps
 *              + ow of the output grid over the flat layout (RT 1), so
 *              small planes (7x7) still fill wide vectors; positions with
 *              ow >= OW are computed and dropped [0]
 *   ACT        fused activation, src/ops/conv_geom.h's CONV_ACT_* [0 none]
 *   ACT_ALPHA  LeakyRelu alpha, Clip min [0]     ACT_BETA  Clip max [0]
 *   RESID      1: add R (the argument res, shaped like Y) before ACT [0]
 *   KERNELS    which kernels the program holds: KERNELS_PAD (conv_pad_f32
 *              alone, for ops that only pad), KERNELS_CONV (conv_direct_f32
 *              alone) or KERNELS_ALL [KERNELS_ALL].
 *              Drivers that make code for every kernel of a program when
 *              its binary is read (PoCL) then make it only for those used.
 * The kernel depth and height, the other strides, the dilations and the extents are
 * arguments (fewer programs to build; they only scale offsets). The host sizes XP so that every tile's reads stay
 * inside it (the right and bottom borders cover the last tile's overhang),
 * and refuses tensors above 2^31 - 1 elements: index arithmetic is int.
 * Work-items beyond the tile counts return (any global rounding is safe).
 */
#ifndef KW
#define KW 3
#endif
#ifndef KU
#define KU 1
#endif
#ifndef KT
#define KT 4
#endif
#ifndef RT
#define RT 1
#endif
#ifndef VW
#define VW 4
#endif
#ifndef NV
#define NV 1
#endif
#ifndef FLAT
#define FLAT 0
#endif
#define KERNELS_ALL 0
#define KERNELS_PAD 1
#define KERNELS_CONV 2
#ifndef KERNELS
#define KERNELS KERNELS_ALL
#endif

#include "conv_epilogue.cl"

/* XP as above from X [N * C, in_d, in_h, in_w]: a 2-D launch over
 * (rp * rows + row < shs * rows, (n * C + c) * dp + z < planes), each
 * work-item writing one grid row in every column phase (work-items of a
 * position each would make too many tiny work-groups on CPUs). */
#if KERNELS != KERNELS_CONV
__kernel void conv_pad_f32(__global const float *x, __global float *xp, const int wps,
                           const int rows, const int shs, const int planes, const int in_d,
                           const int in_h, const int in_w, const int dp, const int sw,
                           const int zs, const int row, const int cps, const int rps,
                           const int pd, const int ph, const int pw)
{
    const int q = get_global_id(0), r = get_global_id(1);
    if (q >= shs * rows || r >= planes)
        return;
    const int rp = q / rows, rq = q - rp * rows;
    const int nc = r / dp, zz = r - nc * dp;
    const int sy = rq * shs + rp - ph, sz = zz - pd;
    const int row_in = sy >= 0 && sy < in_h && sz >= 0 && sz < in_d;
    __global const float *src =
        x + ((nc * in_d + (row_in ? sz : 0)) * in_h + (row_in ? sy : 0)) * in_w;
    __global float *dst = xp + r * zs + rp * rps + rq * row;
    for (int cp = 0; cp < sw; cp++) {
        __global float *d = dst + cp * cps;
        /* Positions lo .. hi - 1 read X (sx = pos * sw + cp - pw in [0,
         * in_w)), the rest is border: three plain loops, not a test per
         * element (ResNet-18's layer2.0 copy: 0.11 -> 0.08 ms on PoCL). */
        const int last = in_w - 1 + pw - cp; /* pos * sw <= last */
        int lo = row_in ? (pw - cp + sw - 1) / sw : wps;
        int hi = row_in && last >= 0 ? last / sw + 1 : 0;
        lo = clamp(lo, 0, wps);
        hi = clamp(hi, lo, wps);
        for (int pos = 0; pos < lo; pos++)
            d[pos] = 0.0f;
        for (int pos = lo; pos < hi; pos++)
            d[pos] = src[pos * sw + cp - pw];
        for (int pos = hi; pos < wps; pos++)
            d[pos] = 0.0f;
    }
}
#endif

#if KERNELS != KERNELS_PAD
/* tiles_w, tiles_h: tiles along W and H; zcount = N * G * MT * OD;
 * dp, zs, row, cps, rps, shs, wps: XP's layout as above.
 * c: X's channels; cg: per group; mg, m: output channels per group and in
 * all; mt: channel tiles per group; g: groups. */
__kernel void conv_direct_f32(__global const float *xp, __global const float *wpk,
                              __global const float *bpk, __global float *y, const int tiles_w,
                              const int tiles_h, const int zcount, const int dp, const int zs,
                              const int row, const int c, const int cg, const int mg, const int m,
                              const int mt, const int g, const int od_n, const int oh_n,
                              const int ow_n, const int kd_n, const int sd, const int sh,
                              const int sw, const int dd, const int dh, const int dw,
                              const int kh_n, const int kw_arg, const int wps, const int cps,
                              const int rps, const int shs, __global const float *res)
{
#if KW != 0
    const int kw_n = KW;
    (void)kw_arg;
#else
    const int kw_n = kw_arg;
#endif
#if !FLAT
    (void)wps;
#endif
#if !RESID
    (void)res;
#endif
    const int taps = kd_n * kh_n * kw_n;
    const int tw = get_global_id(0), th = get_global_id(1), z = get_global_id(2);
    if (tw >= tiles_w || th >= tiles_h || z >= zcount)
        return;
    /* z = ((n * G + grp) * MT + tile) * OD + od */
    const int q1 = z / od_n, od = z - q1 * od_n;
    const int q2 = q1 / mt, tile = q1 - q2 * mt;
    const int n = q2 / g, grp = q2 - n * g;
    const int ow0 = tw * (VW * NV), oh0 = th * RT;
    const int plane = dp * zs;
    __global const float *xb = xp + (n * c + grp * cg) * plane + od * sd * zs + oh0 * sh * row + ow0;
    __global const float *wb = wpk + (grp * mt + tile) * cg * (taps * KT);

    floatv acc[KT][RT][NV];
#pragma unroll
    for (int k = 0; k < KT; k++)
#pragma unroll
        for (int r = 0; r < RT; r++)
#pragma unroll
            for (int v = 0; v < NV; v++)
                acc[k][r][v] = (floatv)0.0f;

    /* Offsets of the taps inside a slice, the same for every channel:
     * the divisions stay out of the channel loop. */
#if KW != 0
    int col_off[KW];
#pragma unroll
    for (int kw = 0; kw < KW; kw++)
        col_off[kw] = xp_col_off(kw, dw, sw, cps);
#endif
    for (int ci = 0; ci < cg; ci++) {
        __global const float *xc = xb + ci * plane;
        __global const float *wc = wb + ci * (taps * KT);
        for (int kd = 0; kd < kd_n; kd++) {
            for (int kh = 0; kh < kh_n; kh++) {
#if FLAT
                const int ty = kh * dh, rq = ty / shs;
                __global const float *xr = xc + kd * dd * zs + (ty - rq * shs) * rps + rq * row;
#else
                (void)shs;
                (void)rps;
                __global const float *xr = xc + kd * dd * zs + kh * dh * row;
#endif
#if KW != 0 && KU /* a loop of unknown count cannot unroll (and says so) */
#pragma unroll
#elif KW != 0
                /* Rolled (KU 0): unrolled, LLVM hoists the taps' broadcasts
                 * out of wide rows and spills the sums. */
#pragma unroll 1
#endif
                for (int kw = 0; kw < kw_n; kw++) {
#if KW != 0
                    __global const float *xt = xr + col_off[kw];
#else
                    __global const float *xt = xr + xp_col_off(kw, dw, sw, cps);
#endif
                    __global const float *wt = wc + ((kd * kh_n + kh) * kw_n + kw) * KT;
                    floatv xv[RT][NV];
#pragma unroll
                    for (int r = 0; r < RT; r++)
#pragma unroll
                        for (int v = 0; v < NV; v++)
                            xv[r][v] = vloadv(0, xt + r * sh * row + v * VW);
#pragma unroll
                    for (int k = 0; k < KT; k++) {
                        const floatv wk = (floatv)wt[k];
#pragma unroll
                        for (int r = 0; r < RT; r++)
#pragma unroll
                            for (int v = 0; v < NV; v++)
                                acc[k][r][v] = fma(wk, xv[r][v], acc[k][r][v]);
                    }
                }
            }
        }
    }

    __global const float *bb = bpk + (grp * mt + tile) * KT;
    /* The epilogue from a private copy, in loops that stay rolled, so the
     * compiler does not replicate its edge cases KT * RT * NV times (code
     * size, and PoCL's compile time, grow with it). */
    float out[KT * RT * NV * VW];
#pragma unroll
    for (int k = 0; k < KT; k++)
#pragma unroll
        for (int r = 0; r < RT; r++)
#pragma unroll
            for (int v = 0; v < NV; v++)
                vstorev(acc[k][r][v], 0, out + ((k * RT + r) * NV + v) * VW);
#if FLAT
    /* Flat tile: output (oh, ow) is position oh * wps + ow of the padded
     * grid; positions with ow >= ow_n (or beyond the last row) are junk. */
    int dst[NV * VW];
    for (int e = 0; e < NV * VW; e++) {
        const int j = ow0 + e, row = j / wps, col = j - row * wps;
        dst[e] = col < ow_n && row < oh_n ? row * ow_n + col : -1;
    }
#endif
#pragma unroll 1
    for (int k = 0; k < KT && tile * KT + k < mg; k++) {
        const int ml = tile * KT + k;
        const float bias = bb[k];
        const int yoff = ((n * m + grp * mg + ml) * od_n + od) * oh_n * ow_n;
        __global float *yk = y + yoff;
#if RESID
        __global const float *rk = res + yoff;
#endif
#if FLAT
#pragma unroll 1
        for (int v = 0; v < NV; v++) {
            floatv sum = vloadv(0, out + (k * NV + v) * VW) + bias;
#if RESID
            float q[VW];
            for (int i = 0; i < VW; i++)
                q[i] = dst[v * VW + i] >= 0 ? rk[dst[v * VW + i]] : 0.0f;
            sum += vloadv(0, q);
#endif
            float t[VW];
            vstorev(activate(sum), 0, t);
            for (int i = 0; i < VW; i++)
                if (dst[v * VW + i] >= 0)
                    yk[dst[v * VW + i]] = t[i];
        }
#else
#pragma unroll 1
        for (int r = 0; r < RT && oh0 + r < oh_n; r++) {
            const int oh = oh0 + r;
            __global float *yr = yk + oh * ow_n;
#pragma unroll 1
            for (int v = 0; v < NV; v++) {
                const int ow = ow0 + v * VW;
                floatv sum = vloadv(0, out + ((k * RT + r) * NV + v) * VW) + bias;
                if (ow + VW <= ow_n) {
#if RESID
                    sum += vloadv(0, rk + oh * ow_n + ow);
#endif
                    vstorev(activate(sum), 0, yr + ow);
                } else {
                    float t[VW];
#if RESID
                    for (int i = 0; i < VW; i++)
                        t[i] = ow + i < ow_n ? rk[oh * ow_n + ow + i] : 0.0f;
                    sum += vloadv(0, t);
#endif
                    vstorev(activate(sum), 0, t);
                    for (int i = 0; i < VW && ow + i < ow_n; i++)
                        yr[ow + i] = t[i];
                }
            }
        }
#endif
    }
}
#endif
