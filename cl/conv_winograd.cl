/*
 * conv_winograd — the input and output transforms of Winograd's minimal
 * filtering F(MxM, 3x3) for a 2-D Conv with a 3x3 kernel, stride 1,
 * dilation 1, one group (host side: src/ops/conv_winograd.c, which also
 * transforms the filters and runs the batched product in between).
 *
 * Transform matrices: A. Lavin and S. Gray, "Fast Algorithms for
 * Convolutional Neural Networks", arXiv:1509.09308 (2015), section 4:
 * F(2x2, 3x3) with points 0, 1, -1 (and infinity), F(4x4, 3x3) with
 * points 0, 1, -1, 2, -2 (and infinity). With an input tile d (T x T,
 * T = M + 2) and a filter g, the output tile is A^T [(G g G^T) . (B^T d
 * B)] A. (Checked against the direct sum in exact arithmetic; the tests
 * check them against src/ref.)
 *   M 2: B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 *        A^T = [1 1 1 0; 0 1 -1 -1]
 *   M 4: B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
 *               0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
 *        A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 *
 * Tiles: the output plane [OH, OW] is cut into th x tw tiles of M x M
 * (th = ceil(OH / M), tw = ceil(OW / M)); tile (ty, tx) reads the input
 * rows ty * M - ph .. + T - 1 and columns tx * M - pw .. + T - 1 (zero
 * outside X). Tile index p = (n * th + ty) * tw + tx, P = N * th * tw.
 *   V  [T * T][C][P]  the transformed input (the product's B operands)
 *   MM [T * T][K][P]  the products U V (one [K, P] matrix per position)
 * Both kernels run one work-item per tile row of one image and channel,
 * walking the row VT tiles at a time (the last VT of a row shifted left
 * to end at the row's end, recomputing a few tiles, when the row has at
 * least VT): the tiles' columns of each of the T (or M) rows are
 * gathered (scattered) element by element (the input's from the row's
 * floats read once into registers), every transform step is a VT-wide
 * vector operation. No local memory, no barriers: any work-group size is
 * correct (CPU-class devices run groups of one). At the borders of X (or
 * Y), and for rows of fewer than VT tiles, the accesses are tested
 * element by element. (Element by element rather than wide loads
 * taken apart with swizzles: oclgrind 21.10's uninitialised-value checks
 * mistrack lane 11 of a shuffle, which vload16 and vstore16 make, and
 * crash on gathers of lanes from several vectors; PoCL's compiler
 * recombines the scalar accesses, measured as fast.)
 *
 * -D contract (defaults in brackets):
 *   M          output tile: 2 or 4 [4]; the tiles per vector, VT, follow
 *              (16 / M: 8 for M 2, 4 for M 4)
 *   ACT, ACT_ALPHA, ACT_BETA  the fused activation (conv_epilogue.cl):
 *              wino_output_f32 adds the bias, then the residual r (Y's
 *              shape) when its argument resid is 1, then activates
 *   KERNELS    which kernels the program holds: KERNELS_INPUT (wino_input_f32,
 *              which depends on M alone, so one program serves every
 *              epilogue), KERNELS_OUTPUT (wino_output_f32) or KERNELS_ALL
 *              [KERNELS_ALL]
 * Extents and pads are arguments. Indices are int (the host refuses
 * tensors of 2^31 elements or more).
 */
#ifndef M
#define M 4
#endif

#define KERNELS_ALL 0
#define KERNELS_INPUT 1
#define KERNELS_OUTPUT 2
#ifndef KERNELS
#define KERNELS KERNELS_ALL
#endif
#define HAS_INPUT (KERNELS == KERNELS_ALL || KERNELS == KERNELS_INPUT)
#define HAS_OUTPUT (KERNELS == KERNELS_ALL || KERNELS == KERNELS_OUTPUT)

#define T (M + 2)
#if M == 4
#define VT 4
#elif M == 2
#define VT 8
#else
#error "M must be 2 or 4"
#endif

/* The epilogue works on the vectors of VT tiles. */
#define VW VT
#include "conv_epilogue.cl"
#define floatt CAT(float, VT)
#define vloadt CAT(vload, VT)
#define vstoret CAT(vstore, VT)
/* Floats of input one row of VT tiles covers. */
#define SPAN (M * VT + 2)

#if HAS_INPUT
/* out = B^T in, on vectors of VT tiles. */
inline void input_1d(const floatt *x, floatt *o)
{
#if M == 4
    o[0] = 4.0f * x[0] - 5.0f * x[2] + x[4];
    o[1] = x[3] + x[4] - 4.0f * (x[1] + x[2]);
    o[2] = x[4] - x[3] + 4.0f * (x[1] - x[2]);
    o[3] = x[4] - x[2] + 2.0f * (x[3] - x[1]);
    o[4] = x[4] - x[2] + 2.0f * (x[1] - x[3]);
    o[5] = 4.0f * x[1] - 5.0f * x[3] + x[5];
#else
    o[0] = x[0] - x[2];
    o[1] = x[1] + x[2];
    o[2] = x[2] - x[1];
    o[3] = x[1] - x[3];
#endif
}

#endif

#if HAS_OUTPUT
/* out = A^T in. */
inline void output_1d(const floatt *x, floatt *o)
{
#if M == 4
    const floatt s12 = x[1] + x[2], d12 = x[1] - x[2];
    const floatt s34 = x[3] + x[4], d34 = x[3] - x[4];
    o[0] = x[0] + s12 + s34;
    o[1] = d12 + 2.0f * d34;
    o[2] = s12 + 4.0f * s34;
    o[3] = d12 + 8.0f * d34 + x[5];
#else
    o[0] = x[0] + x[1] + x[2];
    o[1] = x[1] - x[2] - x[3];
#endif
}

#endif

/* Element-wise access for the partial vectors, lane by lane (no private
 * arrays indexed at run time: the work-item's state stays in registers). */
#if VT == 4
#define LANEST(X) X(0, 0) X(1, 1) X(2, 2) X(3, 3)
#else
#define LANEST(X) X(0, 0) X(1, 1) X(2, 2) X(3, 3) X(4, 4) X(5, 5) X(6, 6) X(7, 7)
#endif
/* Column j of VT tiles of a row: tile t's column j is L(t * M + j). */
#if M == 4
#define GATHER(j, L) (float4)(L((j)), L(M + (j)), L(2 * M + (j)), L(3 * M + (j)))
#else
#define GATHER(j, L) (float8)(L((j)), L(M + (j)), L(2 * M + (j)), L(3 * M + (j)), \
                              L(4 * M + (j)), L(5 * M + (j)), L(6 * M + (j)), L(7 * M + (j)))
#endif

/* The rows of a tile, spelled out: loops over rows whose bodies branch
 * (borders) are not always unrolled, and a row array indexed by a loop
 * variable then lives on the stack. */
#if M == 4
#define EACH_ROW(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define EACH_OUT(X) X(0) X(1) X(2) X(3)
#else
#define EACH_ROW(X) X(0) X(1) X(2) X(3)
#define EACH_OUT(X) X(0) X(1)
#endif

#if HAS_INPUT
/* Input row sy of VT tiles from column sx0 on, B^T applied along it. */
inline void input_row(__global const float *xp, const int sy, const int h, const int w,
                      const int sx0, const int inside, floatt *e)
{
    floatt xr[T];
    if (sy < 0 || sy >= h) {
#pragma unroll
        for (int j = 0; j < T; j++)
            xr[j] = (floatt)0.0f;
    } else {
        __global const float *row = xp + sy * w + sx0;
        /* The SPAN floats the VT tiles read, each read (and at the
         * borders tested) once, then gathered into the tiles' columns
         * from registers: the tiles overlap by two columns, and gathering
         * straight from X read and tested those twice (ResNet-18's 14x14
         * F(2x2) input transforms: 0.107 -> 0.086 ms). */
        float seg[SPAN];
        if (inside) {
#pragma unroll
            for (int c = 0; c < SPAN; c++)
                seg[c] = row[c];
        } else {
#pragma unroll
            for (int c = 0; c < SPAN; c++)
                seg[c] = sx0 + c >= 0 && sx0 + c < w ? row[c] : 0.0f;
        }
#define LOAD(c) seg[c]
#pragma unroll
        for (int j = 0; j < T; j++)
            xr[j] = GATHER(j, LOAD);
#undef LOAD
    }
    input_1d(xr, e);
}

/* V from X [N, C, H, W]: global (th, N * C). */
__kernel void wino_input_f32(__global const float *x, __global float *v, const int c_n,
                             const int h, const int w, const int th, const int tw, const int ph,
                             const int pw, const int p_n, const int planes)
{
    const int ty = get_global_id(0), nc = get_global_id(1);
    if (ty >= th || nc >= planes)
        return;
    const int n = nc / c_n, c = nc - n * c_n;
    __global const float *xp = x + nc * h * w;
    const int plane = c_n * p_n; /* V's stride between positions */
    __global float *vp = v + c * p_n + (n * th + ty) * tw;
    const int sy0 = ty * M - ph;
    for (int t = 0; t < tw; t += VT) {
        const int t0 = tw >= VT && t + VT > tw ? tw - VT : t;
        const int sx0 = t0 * M - pw;
        const int inside = sx0 >= 0 && sx0 + SPAN <= w;
        floatt e[T][T]; /* e[i][j]: row i of the tiles, B^T applied along it */
#define INPUT_ROW(i) input_row(xp, sy0 + (i), h, w, sx0, inside, e[i]);
        EACH_ROW(INPUT_ROW)
#undef INPUT_ROW
        const int valid = min(VT, tw - t0);
#pragma unroll
        for (int j = 0; j < T; j++) {
            floatt col[T], o[T];
#pragma unroll
            for (int i = 0; i < T; i++)
                col[i] = e[i][j];
            input_1d(col, o);
            __global float *dst = vp + j * plane + t0;
#pragma unroll
            for (int i = 0; i < T; i++) {
                __global float *d = dst + i * T * plane;
                if (valid == VT) {
                    vstoret(o[i], 0, d);
                } else {
#define STORE_LANE(q, h) if ((q) < valid) d[q] = o[i].s##h;
                    LANEST(STORE_LANE)
#undef STORE_LANE
                }
            }
        }
    }
}

#endif

#if HAS_OUTPUT
/* Row i of the products of VT tiles (T positions, plane apart; `valid`
 * of the VT tiles exist), A^T applied along it. */
inline void product_row(__global const float *src, const int plane, const int valid, floatt *f)
{
    floatt mr[T];
#pragma unroll
    for (int j = 0; j < T; j++) {
        __global const float *p = src + j * plane;
        if (valid == VT) {
            mr[j] = vloadt(0, p);
        } else {
            floatt m = (floatt)0.0f;
#define LOAD_LANE(q, h) if ((q) < valid) m.s##h = p[q];
            LANEST(LOAD_LANE)
#undef LOAD_LANE
            mr[j] = m;
        }
    }
    output_1d(mr, f);
}

/* Output row oy from column ox0 on, o[j] its column j of the VT tiles:
 * bias, residual, activation on the vectors, then stored lane by lane
 * into the row (tile t's column j at t * M + j). */
inline void output_row(const floatt *o, const float b, __global float *yp,
                       __global const float *rp, const int oy, const int oh, const int ow,
                       const int ox0, const int resid)
{
    if (oy >= oh)
        return;
    __global float *dst = yp + oy * ow + ox0;
    __global const float *res = rp + oy * ow + ox0;
#define LOAD(c) res[c]
#define LOAD_GUARDED(c) (ox0 + (c) < ow ? res[c] : 0.0f)
    const int inside = ox0 + M * VT <= ow;
#pragma unroll
    for (int j = 0; j < M; j++) {
        floatt v = o[j] + b;
        if (inside) {
            if (resid)
                v += GATHER(j, LOAD);
            v = activate(v);
#define STORE_LANE(t, h) dst[(t) * M + j] = v.s##h;
            LANEST(STORE_LANE)
#undef STORE_LANE
        } else {
            if (resid)
                v += GATHER(j, LOAD_GUARDED);
            v = activate(v);
#define STORE_LANE(t, h) if (ox0 + (t) * M + j < ow) dst[(t) * M + j] = v.s##h;
            LANEST(STORE_LANE)
#undef STORE_LANE
        }
    }
#undef LOAD
#undef LOAD_GUARDED
}

/* Y [N, K, OH, OW] from MM (mm_off floats into mm): global (th, N * K).
 * bias: K floats when has_bias; r: the residual when resid, Y's shape
 * (an argument, not an option: one program serves both). */
__kernel void wino_output_f32(__global const float *mm, const int mm_off,
                              __global const float *bias, __global const float *r,
                              __global float *y, const int k_n, const int oh, const int ow,
                              const int th, const int tw, const int p_n, const int planes,
                              const int has_bias, const int resid)
{
    const int ty = get_global_id(0), nk = get_global_id(1);
    if (ty >= th || nk >= planes)
        return;
    const int n = nk / k_n, k = nk - n * k_n;
    const float b = has_bias ? bias[k] : 0.0f;
    const int plane = k_n * p_n;
    __global const float *mp = mm + mm_off + k * p_n + (n * th + ty) * tw;
    __global float *yp = y + nk * oh * ow;
    __global const float *rp = r + nk * oh * ow;
    for (int t = 0; t < tw; t += VT) {
        const int t0 = tw >= VT && t + VT > tw ? tw - VT : t; /* as in wino_input_f32 */
        const int valid = min(VT, tw - t0);
        floatt f[T][M]; /* f[i][j]: row i of the products, A^T applied along it */
#define PRODUCT_ROW(i) product_row(mp + (i) * T * plane + t0, plane, valid, f[i]);
        EACH_ROW(PRODUCT_ROW)
#undef PRODUCT_ROW
        floatt o[M][M]; /* o[i][j]: output row i, column j of the tiles */
#pragma unroll
        for (int j = 0; j < M; j++) {
            floatt col[T], out[M];
#pragma unroll
            for (int i = 0; i < T; i++)
                col[i] = f[i][j];
            output_1d(col, out);
#pragma unroll
            for (int i = 0; i < M; i++)
                o[i][j] = out[i];
        }
#define OUTPUT_ROW(i) output_row(o[i], b, yp, rp, ty * M + (i), oh, ow, t0 * M, resid);
        EACH_OUT(OUTPUT_ROW)
#undef OUTPUT_ROW
    }
}
#endif
