/*
 * eltwise — element-wise unary activations and binary ops with numpy
 * broadcasting, float32; the binary ops but PRelu also on int64 (index
 * arithmetic, e.g. PyTorch's MaxPool indices export).
 *
 * -D contract:
 *   OP     the operation: one of the OP_* codes below (default OP_RELU for
 *          unary_f32, OP_ADD for binary_f32)
 *   RANK   binary_* with broadcasting: the collapsed rank (1..6); absent
 *          means both inputs have the output's shape (no index arithmetic)
 *   INT64  1: the binary kernel is binary_i64, on OpenCL C `long`,
 *          wrapping modulo 2^64 like the reference; Div truncates toward
 *          zero (C's rule; ONNX leaves it to the backend) and gives 0 for
 *          a zero divisor (the reference refuses one) instead of trapping
 *
 * Every kernel guards its index, so the host may round the global size up
 * to a multiple of any work-group size it queried. Each work-item reads
 * element i before writing element i, so unary_f32 and binary_f32 are
 * correct in place (y may alias x or a).
 */

/* Unary */
#define OP_RELU 1
#define OP_LEAKY_RELU 2
#define OP_ELU 3
#define OP_SELU 4
#define OP_SIGMOID 5
#define OP_HARD_SIGMOID 6
#define OP_HARD_SWISH 7
#define OP_TANH 8
#define OP_GELU 9
#define OP_GELU_TANH 10
#define OP_SOFTPLUS 11
#define OP_SOFTSIGN 12
#define OP_MISH 13
#define OP_CLIP 14
#define OP_ERF 15
#define OP_SQRT 16
#define OP_EXP 17
#define OP_LOG 18
#define OP_NEG 19
#define OP_ABS 20
/* Binary */
#define OP_ADD 40
#define OP_SUB 41
#define OP_MUL 42
#define OP_DIV 43
#define OP_MAX 44
#define OP_MIN 45
#define OP_PRELU 46

#ifndef OP
#define OP OP_RELU
#endif

/* log(1 + exp(x)) without overflow for large x. */
float softplus(float x)
{
    return x > 20.0f ? x : log1p(exp(x));
}

float unary(float x, float alpha, float beta)
{
#if OP == OP_RELU
    return fmax(x, 0.0f);
#elif OP == OP_LEAKY_RELU
    return x < 0.0f ? alpha * x : x;
#elif OP == OP_ELU
    return x < 0.0f ? alpha * (exp(x) - 1.0f) : x;
#elif OP == OP_SELU
    /* alpha, gamma (passed as beta) */
    return beta * (x <= 0.0f ? alpha * (exp(x) - 1.0f) : x);
#elif OP == OP_SIGMOID
    return 1.0f / (1.0f + exp(-x));
#elif OP == OP_HARD_SIGMOID
    return clamp(alpha * x + beta, 0.0f, 1.0f);
#elif OP == OP_HARD_SWISH
    return x * clamp(x / 6.0f + 0.5f, 0.0f, 1.0f);
#elif OP == OP_TANH
    return tanh(x);
#elif OP == OP_GELU
    return 0.5f * x * (1.0f + erf(x * 0.70710678118654752f));
#elif OP == OP_GELU_TANH
    /* sqrt(2/pi) = 0.7978845608... */
    return 0.5f * x * (1.0f + tanh(0.79788456080286536f * (x + 0.044715f * x * x * x)));
#elif OP == OP_SOFTPLUS
    return softplus(x);
#elif OP == OP_SOFTSIGN
    return x / (1.0f + fabs(x));
#elif OP == OP_MISH
    return x * tanh(softplus(x));
#elif OP == OP_CLIP
    /* alpha = min, beta = max: min(max(x, min), max), so that min > max
     * gives max (Clip-13); NaN passes through as in the reference */
    const float t = x < alpha ? alpha : x;
    return t > beta ? beta : t;
#elif OP == OP_ERF
    return erf(x);
#elif OP == OP_SQRT
    return sqrt(x);
#elif OP == OP_EXP
    return exp(x);
#elif OP == OP_LOG
    return log(x);
#elif OP == OP_NEG
    return -x;
#elif OP == OP_ABS
    return fabs(x);
#else
    return x;
#endif
}

__kernel void unary_f32(__global const float *x, __global float *y, const uint n,
                        const float alpha, const float beta)
{
    const uint i = get_global_id(0);
    if (i < n)
        y[i] = unary(x[i], alpha, beta);
}

#ifndef INT64
#define INT64 0
#endif
#if INT64
typedef long elem;
#define BINARY_KERNEL binary_i64
#else
typedef float elem;
#define BINARY_KERNEL binary_f32
#endif

#if INT64
/* Wrapping modulo 2^64 through ulong, as the reference does; never a trap
 * (x86 faults on LONG_MIN / -1). */
long binary(long a, long b)
{
#if OP == OP_SUB
    return (long)((ulong)a - (ulong)b);
#elif OP == OP_MUL
    return (long)((ulong)a * (ulong)b);
#elif OP == OP_DIV
    return b == 0 ? 0 : b == -1 ? (long)(0UL - (ulong)a) : a / b;
#elif OP == OP_MAX
    return max(a, b);
#elif OP == OP_MIN
    return min(a, b);
#else
    return (long)((ulong)a + (ulong)b);
#endif
}
#else
float binary(float a, float b)
{
#if OP == OP_SUB
    return a - b;
#elif OP == OP_MUL
    return a * b;
#elif OP == OP_DIV
    return a / b;
#elif OP == OP_MAX
    return fmax(a, b);
#elif OP == OP_MIN
    return fmin(a, b);
#elif OP == OP_PRELU
    return a < 0.0f ? b * a : a;
#else
    return a + b;
#endif
}
#endif

/* meta (RANK defined): dims[RANK], then a's strides[RANK], then b's
 * strides[RANK], in elements, 0 where that input is broadcast. */
__kernel void BINARY_KERNEL(__global const elem *a, __global const elem *b, __global elem *y,
                            const uint n, __constant const int *meta)
{
    const uint i = get_global_id(0);
    if (i >= n)
        return;
#ifdef RANK
    uint rest = i, ia = 0, ib = 0;
    for (int d = RANK - 1; d >= 0; d--) {
        /* q and c without '%': LLVM pairs a division with its remainder
         * through a `freeze` that oclgrind's uninitialised-value check
         * cannot follow (oclgrind 21.10). */
        const uint dim = (uint)meta[d];
        const uint q = rest / dim;
        const uint c = rest - q * dim;
        rest = q;
        ia += c * (uint)meta[RANK + d];
        ib += c * (uint)meta[2 * RANK + d];
    }
    y[i] = binary(a[ia], b[ib]);
#else
    y[i] = binary(a[i], b[i]);
#endif
}
