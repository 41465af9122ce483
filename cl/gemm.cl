/*
 * gemm — the GEMM engine's kernels (host side: src/ops/gemm.c, contract in
 * src/ops/gemm_engine.h). Per batch index (o, i):
 *   C = act(alpha * A * B + bias + beta * D)
 * A [M, K], B [K, N], C [M, N] row-major float32; batch index b of a
 * launch is o * BATCH1 + i with the operand offset o * s0 + i * s1.
 *
 * gemm_main: one work-item computes a TM x (VW * NV) register tile of C
 * from a packed A and a B that is either packed or read in place. The
 * inner loop over K loads NV vectors of B, broadcasts TM scalars of A and
 * issues TM * NV vector fma()s: no local memory, no barriers, so it suits
 * CPU-class devices run with work-groups of one item.
 *   Packed A: panels of TM rows; panel p holds, for each k, rows
 *     p * TM .. p * TM + TM - 1 (zero past M): element (r, k) at
 *     (r / TM) * K * TM + k * TM + r % TM.
 *   Packed B (b_packed 1): panels of TN = VW * NV columns, zero past N:
 *     element (k, c) at (c / TN) * K * TN + k * TN + c % TN.
 *   In-place B (b_packed 0): element (k, c) at k * ldb + c; needs N >= TN.
 *     The last column panel is shifted left to end at column N, so every
 *     load is in bounds and full width; it stores only the columns the
 *     previous panel did not.
 * gemm_local: the GPU-class variant. A work-group of (TS / WPT)^2 items
 *   computes a TS x TS tile of C, each item WPT x WPT of it (rows and
 *   columns strided by TS / WPT, so neighbouring items read neighbouring
 *   local words); TK-deep slices of A and B are staged in local memory
 *   between barriers. A and B are both packed in panels of TS (b_packed
 *   must be 1), so each slice is TS * TK contiguous floats; the slice past
 *   K reads zeros.
 * gemm_pack: writes a packed panel layout (either of the two above) from
 *   any strided matrix: element (r, k) of the source at r * sr + k * sk.
 *   For A, r is a row and k a column of op(A); for B, r is a column and k
 *   a row of op(B).
 * gemm_epilogue: the epilogue alone, in place over C (after CLBlast).
 *
 * -D contract (defaults in brackets):
 *   TM        rows per work-item, 1 to 16 [8]
 *   VW        vector width: 1, 2, 4, 8 or 16 [16]
 *   NV        vectors per row, 1 to 4 [2]
 *   TS TK WPT gemm_local's tile, depth and work per item per axis; TS a
 *             multiple of WPT [64, 16, 4]
 *   ACT       0 none, 1 Relu, 2 LeakyRelu, 3 Clip, 4 Sigmoid, 5 Tanh,
 *             6 HardSwish (weft_gemm_act) [0]
 *   PF        1: gemm_main prefetches its A and B panels ahead (prefetch.cl) [0]
 *   KERNELS   which kernels the program holds: KERNELS_MAIN (gemm_main),
 *             KERNELS_LOCAL (gemm_local), KERNELS_PACK (gemm_pack),
 *             KERNELS_EPILOGUE (gemm_epilogue) or KERNELS_ALL [KERNELS_ALL].
 *             Drivers that make code for every kernel of a program when its
 *             binary is read (PoCL) then make it only for the one used.
 * Extents, strides, offsets, scalars and the epilogue's other parts are
 * arguments (one program serves every bias and addend form: they cost a
 * uniform branch per stored vector, and fewer programs build faster):
 *   b_packed   B in the packed layout (1) or in place (0)
 *   bias_mode  0 none, 1 per row, 2 per column (weft_gemm_bias)
 *   d_mode     the addend D: 0 absent, 1 contiguous columns, 2 one value
 *              per row (column stride 0)
 * Indices are 32-bit.
 */
#ifndef TM
#define TM 8
#endif
#ifndef VW
#define VW 16
#endif
#ifndef NV
#define NV 2
#endif
#ifndef ACT
#define ACT 0
#endif
#ifndef TS
#define TS 64
#endif
#ifndef TK
#define TK 16
#endif
#ifndef WPT
#define WPT 4
#endif
#define KERNELS_ALL 0
#define KERNELS_MAIN 1
#define KERNELS_LOCAL 2
#define KERNELS_PACK 3
#define KERNELS_EPILOGUE 4
#ifndef KERNELS
#define KERNELS KERNELS_ALL
#endif

#include "prefetch.cl"

#define TN (VW * NV)
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#if VW == 1
#define VEC float
#define VLOAD(p) (*(p))
#define VSTORE(v, p) (*(p) = (v))
#else
#define VEC CAT(float, VW)
#define VLOAD(p) CAT(vload, VW)(0, (p))
#define VSTORE(v, p) CAT(vstore, VW)((v), 0, (p))
#endif

/* The activation on a float or a VEC; act_a / act_b are its parameters. */
#if ACT == 1
#define ACTIVATE(x) fmax((x), 0.0f)
#elif ACT == 2
#define ACTIVATE(x) (fmax((x), 0.0f) + act_a * fmin((x), 0.0f))
#elif ACT == 3
#define ACTIVATE(x) fmin(fmax((x), act_a), act_b)
#elif ACT == 4
#define ACTIVATE(x) (1.0f / (1.0f + exp(-(x))))
#elif ACT == 5
#define ACTIVATE(x) tanh(x)
#elif ACT == 6
#define ACTIVATE(x) ((x) * clamp((x) * (1.0f / 6.0f) + 0.5f, 0.0f, 1.0f))
#else
#define ACTIVATE(x) (x)
#endif

/* Batch index b = o * batch1 + i (no %, see cl/pool.cl on `freeze`). */
#define BATCH_OFFSET(b, batch1, s0, s1) \
    (((b) / (batch1)) * (s0) + ((b) - ((b) / (batch1)) * (batch1)) * (s1))

/* The epilogue of the VW elements (row, col ..) of value v. */
inline VEC epilogue_vec(VEC v, int row, int col, int bias_mode, __global const float *bias,
                        int d_mode, __global const float *d, int d_rs, float beta, float act_a,
                        float act_b)
{
    if (bias_mode == 1)
        v += bias[row];
    else if (bias_mode == 2)
        v += VLOAD(bias + col);
    if (d_mode == 1)
        v += beta * VLOAD(d + row * d_rs + col);
    else if (d_mode == 2)
        v += beta * d[row * d_rs];
    (void)act_a;
    (void)act_b;
    return ACTIVATE(v);
}

/* The scalar epilogue of element (row, col) of value v, for the edges. */
inline float epilogue_one(float v, int row, int col, int bias_mode, __global const float *bias,
                          int d_mode, __global const float *d, int d_rs, float beta, float act_a,
                          float act_b)
{
    if (bias_mode == 1)
        v += bias[row];
    else if (bias_mode == 2)
        v += bias[col];
    if (d_mode)
        v += beta * d[row * d_rs + (d_mode == 1 ? col : 0)];
    (void)act_a;
    (void)act_b;
    return ACTIVATE(v);
}

#if KERNELS == KERNELS_ALL || KERNELS == KERNELS_MAIN
/*
 * Global size (ceil(M / TM), ceil(N / TN), batches), any local size (one
 * item per group is what CPU-class devices want).
 * a: packed A of this launch, a_s0/a_s1 its batch strides.
 * b: B (packed or in place), ldb unused when packed.
 * c, d: offsets already include the caller's base offset.
 */
__kernel void gemm_main(int M, int N, int K, int batch1, __global const float *a, int a_off,
                        int a_s0, int a_s1, int b_packed, __global const float *b, int b_off,
                        int ldb, int b_s0, int b_s1, __global float *c, int c_off, int ldc,
                        int c_s0, int c_s1, int bias_mode, __global const float *bias,
                        int bias_off, int d_mode, __global const float *d, int d_off, int d_rs,
                        int d_s0, int d_s1, float alpha, float beta, float act_a, float act_b)
{
    int rp = get_global_id(0), cp = get_global_id(1), bt = get_global_id(2);
    int row0 = rp * TM;
    if (row0 >= M || cp * TN >= N)
        return;
    __global const float *ap = a + a_off + BATCH_OFFSET(bt, batch1, a_s0, a_s1) + rp * K * TM;
    /* columns col0.. are computed, those from `first` on stored */
    int first = cp * TN, col0 = b_packed ? first : min(first, N - TN);
    __global const float *bp = b + b_off + BATCH_OFFSET(bt, batch1, b_s0, b_s1) +
                               (b_packed ? cp * K * TN : col0);
    int bstep = b_packed ? TN : ldb;

    VEC acc[TM][NV];
#pragma unroll
    for (int r = 0; r < TM; r++)
#pragma unroll
        for (int v = 0; v < NV; v++)
            acc[r][v] = (VEC)(0.0f);

    /* A's panel is read once, in order, and for constant A (weights) from
     * memory: a line 2 KB ahead per step keeps it streaming (ResNet-18's
     * Winograd products at K = 256: 0.78 -> 0.61 ms). B's row 8 steps
     * ahead likewise, for constant B (its classifier, 2 MB of weights:
     * 0.157 -> 0.115 ms; neutral where B is an activation in cache). */
    const int ahead = 512 / TM;
    for (int k = 0; k < K; k++) {
        if (k + ahead < K)
            prefetch_line(ap + ahead * TM);
        if (k + 8 < K) {
            prefetch_line(bp + 8 * bstep);
            prefetch_line(bp + 8 * bstep + TN - 1);
        }
        VEC bv[NV];
#pragma unroll
        for (int v = 0; v < NV; v++)
            bv[v] = VLOAD(bp + v * VW);
#pragma unroll
        for (int r = 0; r < TM; r++) {
            float av = ap[r];
#pragma unroll
            for (int v = 0; v < NV; v++)
                acc[r][v] = fma((VEC)(av), bv[v], acc[r][v]);
        }
        ap += TM;
        bp += bstep;
    }

    int cb = c_off + BATCH_OFFSET(bt, batch1, c_s0, c_s1);
    int db = d_off + BATCH_OFFSET(bt, batch1, d_s0, d_s1);
    __global const float *bias_p = bias + bias_off;
    if (row0 + TM <= M && col0 == first && first + TN <= N) {
        /* An inner tile: whole vectors only. */
#pragma unroll
        for (int r = 0; r < TM; r++) {
            int row = row0 + r;
#pragma unroll
            for (int v = 0; v < NV; v++) {
                int col = col0 + v * VW;
                VSTORE(epilogue_vec(alpha * acc[r][v], row, col, bias_mode, bias_p, d_mode,
                                    d + db, d_rs, beta, act_a, act_b),
                       c + cb + row * ldc + col);
            }
        }
        return;
    }
    /* An edge tile (rows past M, columns past N, or the shifted last panel
     * whose first columns the previous panel stored): the same per vector
     * from a private copy, element by element where a vector is cut, in
     * loops that stay rolled, so the compiler does not replicate the
     * scalar epilogue TM * NV * VW times (code size, and PoCL's compile
     * time, grow with it). */
    float tile[TM * TN];
#pragma unroll
    for (int r = 0; r < TM; r++)
#pragma unroll
        for (int v = 0; v < NV; v++)
            VSTORE(alpha * acc[r][v], tile + r * TN + v * VW);
#pragma unroll 1
    for (int r = 0; r < TM && row0 + r < M; r++) {
        int row = row0 + r;
#pragma unroll 1
        for (int v = 0; v < NV; v++) {
            int col = col0 + v * VW;
            if (col >= first && col + VW <= N) {
                VSTORE(epilogue_vec(VLOAD(tile + r * TN + v * VW), row, col, bias_mode, bias_p,
                                    d_mode, d + db, d_rs, beta, act_a, act_b),
                       c + cb + row * ldc + col);
            } else {
#pragma unroll 1
                for (int l = 0; l < VW; l++)
                    if (col + l >= first && col + l < N)
                        c[cb + row * ldc + col + l] =
                            epilogue_one(tile[r * TN + v * VW + l], row, col + l, bias_mode,
                                         bias_p, d_mode, d + db, d_rs, beta, act_a, act_b);
            }
        }
    }
}
#endif

#if KERNELS == KERNELS_ALL || KERNELS == KERNELS_LOCAL
/*
 * Global size (ceil(N / TS) * RT, ceil(M / TS) * RT, batches) with RT =
 * TS / WPT, local size (RT, RT, 1). Arguments as gemm_main's.
 */
#define RT (TS / WPT)
__kernel void gemm_local(int M, int N, int K, int batch1, __global const float *a, int a_off,
                         int a_s0, int a_s1, int b_packed, __global const float *b, int b_off,
                         int ldb, int b_s0, int b_s1, __global float *c, int c_off, int ldc,
                         int c_s0, int c_s1, int bias_mode, __global const float *bias,
                         int bias_off, int d_mode, __global const float *d, int d_off, int d_rs,
                         int d_s0, int d_s1, float alpha, float beta, float act_a, float act_b)
{
    __local float as[TK * TS], bs[TK * TS];
    int tx = get_local_id(0), ty = get_local_id(1);
    int ct = get_group_id(0), rt = get_group_id(1), bt = get_global_id(2);
    __global const float *ap = a + a_off + BATCH_OFFSET(bt, batch1, a_s0, a_s1) + rt * K * TS;
    __global const float *bp = b + b_off + BATCH_OFFSET(bt, batch1, b_s0, b_s1) + ct * K * TS;
    (void)b_packed;
    (void)ldb;
    float acc[WPT][WPT];
    for (int i = 0; i < WPT; i++)
        for (int j = 0; j < WPT; j++)
            acc[i][j] = 0.0f;
    int lid = ty * RT + tx;
    for (int k0 = 0; k0 < K; k0 += TK) {
        /* the slice: TK rows of TS floats, contiguous in both packs */
        int avail = min(TK, K - k0) * TS;
        for (int e = lid; e < TK * TS; e += RT * RT) {
            as[e] = e < avail ? ap[k0 * TS + e] : 0.0f;
            bs[e] = e < avail ? bp[k0 * TS + e] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TK; kk++) {
            float av[WPT], bv[WPT];
            for (int w = 0; w < WPT; w++) {
                av[w] = as[kk * TS + ty + w * RT];
                bv[w] = bs[kk * TS + tx + w * RT];
            }
            for (int i = 0; i < WPT; i++)
                for (int j = 0; j < WPT; j++)
                    acc[i][j] = fma(av[i], bv[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    int cb = c_off + BATCH_OFFSET(bt, batch1, c_s0, c_s1);
    __global const float *dp = d + d_off + BATCH_OFFSET(bt, batch1, d_s0, d_s1);
    for (int i = 0; i < WPT; i++) {
        int row = rt * TS + ty + i * RT;
        for (int j = 0; j < WPT; j++) {
            int col = ct * TS + tx + j * RT;
            if (row < M && col < N)
                c[cb + row * ldc + col] =
                    epilogue_one(alpha * acc[i][j], row, col, bias_mode, bias + bias_off, d_mode,
                                 dp, d_rs, beta, act_a, act_b);
        }
    }
}
#endif

#if KERNELS == KERNELS_ALL || KERNELS == KERNELS_PACK
/*
 * Packs rows 0..rows-1 (and zeros up to the panel edge) of a strided
 * source into panels of T rows: dst[(r / T) * K * T + k * T + r % T] =
 * src[r * sr + k * sk]. One work-item writes the T contiguous floats of
 * one (k, panel); neighbouring items take neighbouring k. Global size
 * (K, ceil(rows / T), batches). Destination batch strides are d_s0 /
 * d_s1, the source's s0 / s1.
 */
__kernel void gemm_pack(int rows, int K, int T, int batch1, __global const float *src, int src_off,
                        int sr, int sk, int s0, int s1, __global float *dst, int dst_off,
                        int d_s0, int d_s1)
{
    int k = get_global_id(0), p = get_global_id(1), bt = get_global_id(2);
    if (k >= K || p * T >= rows)
        return;
    __global const float *from = src + src_off + BATCH_OFFSET(bt, batch1, s0, s1) + k * sk;
    __global float *to = dst + dst_off + BATCH_OFFSET(bt, batch1, d_s0, d_s1) + p * K * T + k * T;
    for (int q = 0; q < T; q++) {
        int r = p * T + q;
        to[q] = r < rows ? from[r * sr] : 0.0f;
    }
}
#endif

#if KERNELS == KERNELS_ALL || KERNELS == KERNELS_EPILOGUE
/*
 * The epilogue alone over C in place, C holding alpha * A * B already.
 * Global size (N, M, batches).
 */
__kernel void gemm_epilogue(int M, int N, int batch1, __global float *c, int c_off, int ldc,
                            int c_s0, int c_s1, int bias_mode, __global const float *bias,
                            int bias_off, int d_mode, __global const float *d, int d_off,
                            int d_rs, int d_s0, int d_s1, float beta, float act_a, float act_b)
{
    int col = get_global_id(0), row = get_global_id(1), bt = get_global_id(2);
    if (col >= N || row >= M)
        return;
    int ci = c_off + BATCH_OFFSET(bt, batch1, c_s0, c_s1) + row * ldc + col;
    c[ci] = epilogue_one(c[ci], row, col, bias_mode, bias + bias_off, d_mode,
                         d + d_off + BATCH_OFFSET(bt, batch1, d_s0, d_s1), d_rs, beta, act_a,
                         act_b);
}
#endif
