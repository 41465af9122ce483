/*
 * conv_epilogue — what the convolution kernels (conv_direct, conv_direct_oc,
 * conv_depthwise, conv_transpose) share, pulled in by their `#include
 * "conv_epilogue.cl"` (src/runtime/sources.c): the vector type of width VW,
 * the fused activation applied as results are stored (formulas of
 * cl/eltwise.cl) and where a tap reads conv_direct.cl's padded copy XP.
 *
 * -D contract (the including file may set VW's default first):
 *   VW         vector width: 4, 8 or 16 [4]
 *   ACT        fused activation, src/ops/conv_geom.h's CONV_ACT_* [0 none]
 *   ACT_ALPHA  LeakyRelu alpha, Clip min [0]     ACT_BETA  Clip max [0]
 *   RESID      1: the kernel adds a fused residual (a tensor shaped like
 *              its output, src/ops/conv_geom.h) after the bias, before
 *              `activate` [0]; kernels without a residual argument ignore it
 */
#define ACT_NONE 0
#define ACT_RELU 1
#define ACT_LEAKY_RELU 2
#define ACT_CLIP 3
#define ACT_SIGMOID 4
#define ACT_TANH 5
#define ACT_HARD_SWISH 6

#ifndef VW
#define VW 4
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
#ifndef RESID
#define RESID 0
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define floatv CAT(float, VW)
#define vloadv CAT(vload, VW)
#define vstorev CAT(vstore, VW)

/* The fused epilogue on a vector. */
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

/* Where tap kw of a kernel row starts within a row of XP, whose columns
 * are split by phase (cl/conv_direct.cl): phase (kw * dw) mod sw, cps
 * apart, then (kw * dw) / sw into it. */
inline int xp_col_off(int kw, int dw, int sw, int cps)
{
    const int tx = kw * dw, cq = tx / sw;
    return (tx - cq * sw) * cps + cq;
}
