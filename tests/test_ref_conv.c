/*
 * The reference Conv, ConvTranspose, Gemm and MatMul (src/ref/ref_conv.c):
 *  1. small cases worked out by hand (each expected value is derived in a
 *     comment next to it);
 *  2. independent checks over grids of shapes and attributes: Conv against
 *     an im2col + matrix product written here; ConvTranspose through the
 *     adjoint identity <conv(x, W), y> = <x, convT(y, W)>, which holds for
 *     the same W, strides, pads, dilations and group when output_padding
 *     makes convT's output the size of x; Gemm and MatMul against plain
 *     loops written here, with explicit transposes and broadcasting;
 *  3. the errors: status, and a message naming the node and the attribute
 *     or input.
 * The ONNX node conformance cases of the four ops run on the device and on
 * the reference in tests/test_conformance.c.
 * Every output of a direct call is poisoned with NaN first, so an element
 * the reference forgets to write fails the comparison.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "graph/graph.h"
#include "ref/ref.h"
#include "ref_test.h"
#include "test_common.h"

#define DIMS(...) ((const int64_t[]){__VA_ARGS__})
#define F32(...) ((const float[]){__VA_ARGS__})
#define I64(...) ((const int64_t[]){__VA_ARGS__})
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Helpers ------------------------------------------------------------------ */

static weft_host_tensor absent(void)
{
    return (weft_host_tensor){WEFT_FLOAT32, {0}, NULL};
}

/* |got - want| <= atol + rtol * |want| element by element; NaN nowhere. */
static void check_close(const float *got, const float *want, size_t count, double atol,
                        double rtol, const char *label)
{
    for (size_t i = 0; i < count; i++)
        if (!(fabs((double)got[i] - (double)want[i]) <= atol + rtol * fabs((double)want[i])))
            fail_msg("%s: element %zu is %.9g, expected %.9g", label, i, (double)got[i],
                     (double)want[i]);
}

/* Runs node n on in[], into a poisoned output of shape `dims`, and checks
 * it exactly against want[] (hand-computed cases have exact sums). Clears
 * the node's attributes. */
static void expect(weft_node *n, const weft_host_tensor *in, size_t nin, int rank,
                   const int64_t *dims, const float *want, const char *label)
{
    weft_host_tensor out = out_f(rank, dims);
    weft_status st = run(n, in, nin, &out, 1);
    if (st != WEFT_OK)
        fail_msg("%s: %s: %s", label, weft_status_name(st), weft_last_error());
    check_close(out.data, want, (size_t)weft_shape_numel(&out.shape), 0, 0, label);
    free(out.data);
    weft_attrs_clear(&n->attrs);
}

/* Runs node n expecting `status` and a message containing `part` and the
 * node's name. Clears the node's attributes. */
static void expect_fail(weft_node *n, const weft_host_tensor *in, size_t nin, int rank,
                        const int64_t *dims, weft_status status, const char *part)
{
    weft_host_tensor out = out_f(rank, dims);
    assert_weft_status(run(n, in, nin, &out, 1), status, part);
    assert_non_null(strstr(weft_last_error(), "node 'n1'"));
    free(out.data);
    weft_attrs_clear(&n->attrs);
}

static float *random_floats(uint64_t *rng, size_t count)
{
    float *p = malloc(count ? count * sizeof *p : 1);
    assert_non_null(p);
    weft_random_fill(rng, p, count, -1.0f, 1.0f);
    return p;
}

/* ---- 1. Conv by hand ------------------------------------------------------------- */

/* X = 1..9 as 3x3 below, W = [[1,2],[3,4]]. */
static const float X33[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static const float W22[] = {1, 2, 3, 4};

static void test_conv_2d_by_hand(void **state)
{
    (void)state;
    weft_node n = node("Conv");
    weft_host_tensor in[] = {in_f(4, DIMS(1, 1, 3, 3), X33), in_f(4, DIMS(1, 1, 2, 2), W22),
                             in_f(1, DIMS(1), F32(0.5f))};
    /* No padding, stride 1: each 2x2 window dotted with W:
     * 1+4+12+20 = 37, 2+6+15+24 = 47, 4+10+21+32 = 67, 5+12+24+36 = 77. */
    expect(&n, in, 2, 4, DIMS(1, 1, 2, 2), F32(37, 47, 67, 77), "conv 2x2 valid");
    /* Stride 2, pads 1 all round: windows start at (-1,-1), (-1,1), (1,-1),
     * (1,1) of X. (0,0): only X(0,0)=1 under W(1,1)=4 -> 4; (0,1): X(0,1)=2
     * under 3, X(0,2)=3 under 4 -> 18; (1,0): X(1,0)=4 under 2, X(2,0)=7
     * under 4 -> 36; (1,1): 5+12+24+36 = 77; plus the bias 0.5. */
    set_is(&n, "strides", I64(2, 2), 2);
    set_is(&n, "pads", I64(1, 1, 1, 1), 4);
    set_is(&n, "kernel_shape", I64(2, 2), 2);
    expect(&n, in, 3, 4, DIMS(1, 1, 2, 2), F32(4.5f, 18.5f, 36.5f, 77.5f),
           "conv stride 2 pads 1 bias");
    /* Asymmetric pads [top 1, left 0, bottom 0, right 1]: windows start at
     * row oy-1, column ox; a 3x3 output.
     * row 0 (rows -1,0): X(0,0)*3+X(0,1)*4 = 11, X(0,1)*3+X(0,2)*4 = 18,
     *   X(0,2)*3 = 9;
     * row 1 (rows 0,1): 37, 47, X(0,2)*1+X(1,2)*3 = 21;
     * row 2 (rows 1,2): 67, 77, X(1,2)*1+X(2,2)*3 = 33. */
    set_is(&n, "pads", I64(1, 0, 0, 1), 4);
    expect(&n, in, 2, 4, DIMS(1, 1, 3, 3), F32(11, 18, 9, 37, 47, 21, 67, 77, 33),
           "conv asymmetric pads");
    /* auto_pad VALID: no padding, as the first case */
    set_s(&n, "auto_pad", "VALID");
    expect(&n, in, 2, 4, DIMS(1, 1, 2, 2), F32(37, 47, 67, 77), "conv VALID");
}

static void test_conv_1d_by_hand(void **state)
{
    (void)state;
    weft_node n = node("Conv");
    const float x5[] = {1, 2, 3, 4, 5};
    weft_host_tensor in[] = {in_f(3, DIMS(1, 1, 5), x5), in_f(3, DIMS(1, 1, 3), F32(1, 0, -1))};
    /* pads 1: y[i] = x[i-1] - x[i+1] = -2, -2, -2, -2, 4 - 0 */
    set_is(&n, "pads", I64(1, 1), 2);
    expect(&n, in, 2, 3, DIMS(1, 1, 5), F32(-2, -2, -2, -2, 4), "conv 1-D pads");

    /* dilation 3, W = [1, 1]: y[i] = x[i] + x[i+3] over 7 - 3 = 4 outputs */
    const float x7[] = {1, 2, 3, 4, 5, 6, 7};
    weft_host_tensor dil[] = {in_f(3, DIMS(1, 1, 7), x7), in_f(3, DIMS(1, 1, 2), F32(1, 1))};
    set_is(&n, "dilations", I64(3), 1);
    expect(&n, dil, 2, 3, DIMS(1, 1, 4), F32(5, 7, 9, 11), "conv 1-D dilation");

    /* pads [2, 0]: [0, 0, 1, 2, 3] * [1, 1] = 0, 1, 3, 5 */
    weft_host_tensor asym[] = {in_f(3, DIMS(1, 1, 3), x5), in_f(3, DIMS(1, 1, 2), F32(1, 1))};
    set_is(&n, "pads", I64(2, 0), 2);
    expect(&n, asym, 2, 3, DIMS(1, 1, 4), F32(0, 1, 3, 5), "conv 1-D asymmetric pads");

    /* W = [1, 10] over x = 1..4, stride 1: SAME needs 1 pad. SAME_UPPER puts
     * it at the end: 1+20, 2+30, 3+40, 4+0; SAME_LOWER at the beginning:
     * 0+10, 1+20, 2+30, 3+40; VALID has 3 outputs. */
    weft_host_tensor same[] = {in_f(3, DIMS(1, 1, 4), x5), in_f(3, DIMS(1, 1, 2), F32(1, 10))};
    set_s(&n, "auto_pad", "SAME_UPPER");
    expect(&n, same, 2, 3, DIMS(1, 1, 4), F32(21, 32, 43, 4), "conv SAME_UPPER");
    set_s(&n, "auto_pad", "SAME_LOWER");
    expect(&n, same, 2, 3, DIMS(1, 1, 4), F32(10, 21, 32, 43), "conv SAME_LOWER");
    set_s(&n, "auto_pad", "VALID");
    expect(&n, same, 2, 3, DIMS(1, 1, 3), F32(21, 32, 43), "conv VALID 1-D");

    /* Stride 2 over x = 1..5 with W = [1, 10]: ceil(5/2) = 3 outputs need
     * (3-1)*2 + 2 - 5 = 1 pad. SAME_UPPER: windows at 0, 2, 4 -> 1+20,
     * 3+40, 5+0; SAME_LOWER: at -1, 1, 3 -> 10, 2+30, 4+50. */
    weft_host_tensor s2[] = {in_f(3, DIMS(1, 1, 5), x5), in_f(3, DIMS(1, 1, 2), F32(1, 10))};
    set_s(&n, "auto_pad", "SAME_UPPER");
    set_is(&n, "strides", I64(2), 1);
    expect(&n, s2, 2, 3, DIMS(1, 1, 3), F32(21, 43, 5), "conv SAME_UPPER stride 2");
    set_s(&n, "auto_pad", "SAME_LOWER");
    set_is(&n, "strides", I64(2), 1);
    expect(&n, s2, 2, 3, DIMS(1, 1, 3), F32(10, 32, 54), "conv SAME_LOWER stride 2");

    /* Stride 3, kernel 1 over 5: ceil(5/3) = 2 outputs need (2-1)*3 + 1 - 5
     * = -1 pads, i.e. none: x[0]*2, x[3]*2. */
    weft_host_tensor s3[] = {in_f(3, DIMS(1, 1, 5), x5), in_f(3, DIMS(1, 1, 1), F32(2))};
    set_s(&n, "auto_pad", "SAME_UPPER");
    set_is(&n, "strides", I64(3), 1);
    expect(&n, s3, 2, 3, DIMS(1, 1, 2), F32(2, 8), "conv SAME stride larger than kernel");
}

static void test_conv_groups_by_hand(void **state)
{
    (void)state;
    weft_node n = node("Conv");
    /* Depthwise: channel 0 = 1..4 under W0 = ones -> 10; channel 1 =
     * 10,20,30,40 under W1 = [1,0,0,-1] -> 10 - 40 = -30; bias [1, 2]. */
    weft_host_tensor dw[] = {in_f(4, DIMS(1, 2, 2, 2), F32(1, 2, 3, 4, 10, 20, 30, 40)),
                             in_f(4, DIMS(2, 1, 2, 2), F32(1, 1, 1, 1, 1, 0, 0, -1)),
                             in_f(1, DIMS(2), F32(1, 2))};
    set_i(&n, "group", 2);
    expect(&n, dw, 3, 4, DIMS(1, 2, 1, 1), F32(11, -28), "depthwise");

    /* group 2, 1x1: X = [1,2,3,4]; group 0 (channels 0,1) feeds outputs 0,1
     * with rows [1,1] -> 3 and [1,-1] -> -1; group 1 (channels 2,3) feeds
     * outputs 2,3 with [1,1] -> 7 and [2,0] -> 6. */
    weft_host_tensor g2[] = {in_f(4, DIMS(1, 4, 1, 1), F32(1, 2, 3, 4)),
                             in_f(4, DIMS(4, 2, 1, 1), F32(1, 1, 1, -1, 1, 1, 2, 0))};
    set_i(&n, "group", 2);
    expect(&n, g2, 2, 4, DIMS(1, 4, 1, 1), F32(3, -1, 7, 6), "group 2");
    /* group 1 over the same X with W [2, 4]: [1,1,1,1] -> 10, [1,0,0,-1] -> -3 */
    weft_host_tensor g1[] = {in_f(4, DIMS(1, 4, 1, 1), F32(1, 2, 3, 4)),
                             in_f(4, DIMS(2, 4, 1, 1), F32(1, 1, 1, 1, 1, 0, 0, -1))};
    expect(&n, g1, 2, 4, DIMS(1, 2, 1, 1), F32(10, -3), "group 1 two outputs");

    /* Batch 2: each image on its own: sums 1..4 = 10 and 5..8 = 26. */
    weft_host_tensor b2[] = {in_f(4, DIMS(2, 1, 2, 2), F32(1, 2, 3, 4, 5, 6, 7, 8)),
                             in_f(4, DIMS(1, 1, 2, 2), F32(1, 1, 1, 1))};
    expect(&n, b2, 2, 4, DIMS(2, 1, 1, 1), F32(10, 26), "batch 2");
}

static void test_conv_3d_by_hand(void **state)
{
    (void)state;
    weft_node n = node("Conv");
    const float x[] = {1, 2, 3, 4, 5, 6, 7, 8};
    const float ones[] = {1, 1, 1, 1, 1, 1, 1, 1};
    weft_host_tensor in[] = {in_f(5, DIMS(1, 1, 2, 2, 2), x), in_f(5, DIMS(1, 1, 2, 2, 2), ones)};
    expect(&n, in, 2, 5, DIMS(1, 1, 1, 1, 1), F32(36), "3-D sum");
    /* one pad before depth: the first window sees depth 0 (1..4) only */
    set_is(&n, "pads", I64(1, 0, 0, 0, 0, 0), 6);
    expect(&n, in, 2, 5, DIMS(1, 1, 2, 1, 1), F32(10, 36), "3-D pad before depth");
}

/* ---- 1. ConvTranspose by hand ------------------------------------------------------ */

static void test_conv_transpose_1d_by_hand(void **state)
{
    (void)state;
    weft_node n = node("ConvTranspose");
    /* x = [1, 2], W = [1, 10, 100], stride 2: x[0] writes 1, 10, 100 at 0..2,
     * x[1] writes 2, 20, 200 at 2..4: [1, 10, 102, 20, 200]. */
    weft_host_tensor in[] = {in_f(3, DIMS(1, 1, 2), F32(1, 2)),
                             in_f(3, DIMS(1, 1, 3), F32(1, 10, 100)), in_f(1, DIMS(1), F32(0.5f))};
    set_is(&n, "strides", I64(2), 1);
    expect(&n, in, 2, 3, DIMS(1, 1, 5), F32(1, 10, 102, 20, 200), "convT stride 2");
    /* pads [1, 1] crop one at each end */
    set_is(&n, "strides", I64(2), 1);
    set_is(&n, "pads", I64(1, 1), 2);
    expect(&n, in, 2, 3, DIMS(1, 1, 3), F32(10, 102, 20), "convT pads");
    /* output_padding 1 adds one at the end, reached by nothing: the bias */
    set_is(&n, "strides", I64(2), 1);
    set_is(&n, "output_padding", I64(1), 1);
    expect(&n, in, 3, 3, DIMS(1, 1, 6), F32(1.5f, 10.5f, 102.5f, 20.5f, 200.5f, 0.5f),
           "convT output_padding bias");
    /* output_shape 6: total padding 2*1 + 3 - 6 = -1; NOTSET puts
     * -1 - floor(-1/2) = 0 at the beginning and -1 at the end. */
    set_is(&n, "strides", I64(2), 1);
    set_is(&n, "output_shape", I64(6), 1);
    expect(&n, in, 2, 3, DIMS(1, 1, 6), F32(1, 10, 102, 20, 200, 0), "convT output_shape");
    /* output_shape generates the pads: a 'pads' attribute beside it is
     * not used */
    set_is(&n, "strides", I64(2), 1);
    set_is(&n, "output_shape", I64(6), 1);
    set_is(&n, "pads", I64(1, 1), 2);
    expect(&n, in, 2, 3, DIMS(1, 1, 6), F32(1, 10, 102, 20, 200, 0), "convT output_shape pads");
    /* an empty X with output_shape: nothing reaches the output but the bias */
    weft_host_tensor empty[] = {in_f(3, DIMS(1, 1, 0), F32(0)), in[1], in[2]};
    set_is(&n, "output_shape", I64(3), 1);
    expect(&n, empty, 3, 3, DIMS(1, 1, 3), F32(0.5f, 0.5f, 0.5f), "convT empty X");
    /* the whole output shape, as older exporters write it */
    set_is(&n, "strides", I64(2), 1);
    set_is(&n, "output_shape", I64(1, 1, 6), 3);
    expect(&n, in, 2, 3, DIMS(1, 1, 6), F32(1, 10, 102, 20, 200, 0), "convT full output_shape");
    /* stride 2: the padding that output_shape and auto_pad imply */
    static const struct {
        int64_t output_shape; /* 0: absent */
        const char *auto_pad; /* NULL: NOTSET */
        int64_t size;
        float want[7];
        const char *label;
    } implied[] = {
        /* output_shape 4: total 1. SAME_UPPER: floor(1/2) = 0 at the
         * beginning; SAME_LOWER (and NOTSET): 1 - 0 = 1 at the beginning. */
        {4, "SAME_UPPER", 4, {1, 10, 102, 20}, "convT SAME_UPPER output_shape"},
        {4, "SAME_LOWER", 4, {10, 102, 20, 200}, "convT SAME_LOWER output_shape"},
        {4, NULL, 4, {10, 102, 20, 200}, "convT NOTSET output_shape"},
        /* SAME_UPPER alone asks for 2 * 2 = 4 outputs: as with output_shape 4 */
        {0, "SAME_UPPER", 4, {1, 10, 102, 20}, "convT SAME_UPPER"},
        {0, "SAME_LOWER", 4, {10, 102, 20, 200}, "convT SAME_LOWER"},
        /* output_shape 7 with SAME_UPPER: total -2, floor(-2/2) = -1 at the
         * beginning: one output before the first input lands, one after. */
        {7, "SAME_UPPER", 7, {0, 1, 10, 102, 20, 200, 0}, "convT negative total padding"},
        /* VALID: no padding, 5 outputs */
        {0, "VALID", 5, {1, 10, 102, 20, 200}, "convT VALID"},
    };
    for (size_t i = 0; i < COUNT(implied); i++) {
        set_is(&n, "strides", I64(2), 1);
        if (implied[i].output_shape)
            set_is(&n, "output_shape", &implied[i].output_shape, 1);
        if (implied[i].auto_pad)
            set_s(&n, "auto_pad", implied[i].auto_pad);
        expect(&n, in, 2, 3, DIMS(1, 1, implied[i].size), implied[i].want, implied[i].label);
    }

    /* dilation 2, W = [1, 10], stride 1: x[0] writes 1 at 0 and 10 at 2,
     * x[1] writes 2 at 1 and 20 at 3. */
    weft_host_tensor dil[] = {in_f(3, DIMS(1, 1, 2), F32(1, 2)),
                              in_f(3, DIMS(1, 1, 2), F32(1, 10))};
    set_is(&n, "dilations", I64(2), 1);
    expect(&n, dil, 2, 3, DIMS(1, 1, 4), F32(1, 2, 10, 20), "convT dilation");
}

static void test_conv_transpose_2d_by_hand(void **state)
{
    (void)state;
    weft_node n = node("ConvTranspose");
    /* X = [[1,2],[3,4]], W = ones 2x2. Stride 2: each input fills its own
     * 2x2 block. Stride 1: the overlapping sums. */
    weft_host_tensor in[] = {in_f(4, DIMS(1, 1, 2, 2), F32(1, 2, 3, 4)),
                             in_f(4, DIMS(1, 1, 2, 2), F32(1, 1, 1, 1))};
    set_is(&n, "strides", I64(2, 2), 2);
    expect(&n, in, 2, 4, DIMS(1, 1, 4, 4),
           F32(1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4), "convT 2-D stride 2");
    expect(&n, in, 2, 4, DIMS(1, 1, 3, 3), F32(1, 3, 2, 4, 10, 6, 3, 7, 4), "convT 2-D stride 1");

    /* W [1, 2, 1, 1] = [2, -1]: two output channels, 2X and -X */
    weft_host_tensor two[] = {in_f(4, DIMS(1, 1, 2, 2), F32(1, 2, 3, 4)),
                              in_f(4, DIMS(1, 2, 1, 1), F32(2, -1))};
    expect(&n, two, 2, 4, DIMS(1, 2, 2, 2), F32(2, 4, 6, 8, -1, -2, -3, -4),
           "convT two output channels");

    /* group 2: X channel 0 = 3, channel 1 = 5 (length 1), W [2, 1, 2]:
     * channel 0 -> output 0 with [1, 2]: 3, 6; channel 1 -> output 1 with
     * [10, 20]: 50, 100; bias [1, -1]. */
    weft_host_tensor g2[] = {in_f(3, DIMS(1, 2, 1), F32(3, 5)),
                             in_f(3, DIMS(2, 1, 2), F32(1, 2, 10, 20)),
                             in_f(1, DIMS(2), F32(1, -1))};
    set_i(&n, "group", 2);
    expect(&n, g2, 3, 3, DIMS(1, 2, 2), F32(4, 7, 49, 99), "convT group 2");
}

/* ---- 1. Gemm and MatMul by hand ------------------------------------------------------ */

static void test_gemm_by_hand(void **state)
{
    (void)state;
    weft_node n = node("Gemm");
    /* A = [[1,2,3],[4,5,6]], B = [[1,2],[3,4],[5,6]]: AB = [[22,28],[49,64]] */
    const float a[] = {1, 2, 3, 4, 5, 6}, at[] = {1, 4, 2, 5, 3, 6};
    const float b[] = {1, 2, 3, 4, 5, 6}, bt[] = {1, 3, 5, 2, 4, 6};
    weft_host_tensor in[] = {in_f(2, DIMS(2, 3), a), in_f(2, DIMS(3, 2), b),
                             in_f(1, DIMS(2), F32(1, -1))};
    expect(&n, in, 2, 2, DIMS(2, 2), F32(22, 28, 49, 64), "gemm no C");
    /* alpha 0.5, beta 2, C = [1, -1] per column: [[11+2, 14-2], [24.5+2, 32-2]] */
    set_f(&n, "alpha", 0.5f);
    set_f(&n, "beta", 2.0f);
    expect(&n, in, 3, 2, DIMS(2, 2), F32(13, 12, 26.5f, 30), "gemm alpha beta row C");
    /* the same through transA and transB */
    weft_host_tensor tin[] = {in_f(2, DIMS(3, 2), at), in_f(2, DIMS(2, 3), bt),
                              in_f(1, DIMS(2), F32(1, -1))};
    set_f(&n, "alpha", 0.5f);
    set_f(&n, "beta", 2.0f);
    set_i(&n, "transA", 1);
    set_i(&n, "transB", 1);
    expect(&n, tin, 3, 2, DIMS(2, 2), F32(13, 12, 26.5f, 30), "gemm transA transB");
    /* C a column [2, 1] = [1; -1]: [[11+2, 14+2], [24.5-2, 32-2]] */
    weft_host_tensor col[] = {in_f(2, DIMS(2, 3), a), in_f(2, DIMS(3, 2), b),
                              in_f(2, DIMS(2, 1), F32(1, -1))};
    set_f(&n, "alpha", 0.5f);
    set_f(&n, "beta", 2.0f);
    expect(&n, col, 3, 2, DIMS(2, 2), F32(13, 16, 22.5f, 30), "gemm column C");
    /* C a scalar 3, defaults: AB + 3 */
    weft_host_tensor sc[] = {in_f(2, DIMS(2, 3), a), in_f(2, DIMS(3, 2), b),
                             in_f(0, NULL, F32(3))};
    expect(&n, sc, 3, 2, DIMS(2, 2), F32(25, 31, 52, 67), "gemm scalar C");
    /* C absent given as a NULL entry */
    weft_host_tensor none[] = {in_f(2, DIMS(2, 3), a), in_f(2, DIMS(3, 2), b), absent()};
    set_f(&n, "beta", 7.0f);
    expect(&n, none, 3, 2, DIMS(2, 2), F32(22, 28, 49, 64), "gemm absent C");
}

static void test_matmul_by_hand(void **state)
{
    (void)state;
    weft_node n = node("MatMul");
    const float a[] = {1, 2, 3, 4, 5, 6};
    /* [3] . [3]: 1*4 + 2*5 + 3*6 = 32, a scalar */
    weft_host_tensor vv[] = {in_f(1, DIMS(3), a), in_f(1, DIMS(3), a + 3)};
    expect(&n, vv, 2, 0, NULL, F32(32), "matmul 1-D 1-D");
    /* [2,3] x [3] = [1+4+9, 4+10+18] = [14, 32] */
    weft_host_tensor mv[] = {in_f(2, DIMS(2, 3), a), in_f(1, DIMS(3), F32(1, 2, 3))};
    expect(&n, mv, 2, 1, DIMS(2), F32(14, 32), "matmul 2-D 1-D");
    /* [2] x [2,3] = [1*1+2*4, 1*2+2*5, 1*3+2*6] = [9, 12, 15] */
    weft_host_tensor vm[] = {in_f(1, DIMS(2), F32(1, 2)), in_f(2, DIMS(2, 3), a)};
    expect(&n, vm, 2, 1, DIMS(3), F32(9, 12, 15), "matmul 1-D 2-D");
    /* [2,1,1] x [3,1]: batch [2] of [1,1] x [1,3]: [[1,2,3]]*1 and *2 */
    weft_host_tensor bc[] = {in_f(3, DIMS(2, 1, 1), F32(1, 2)), in_f(2, DIMS(1, 3), F32(1, 2, 3))};
    expect(&n, bc, 2, 3, DIMS(2, 1, 3), F32(1, 2, 3, 2, 4, 6), "matmul batch broadcast");
}

/* ---- 2. Conv against im2col ------------------------------------------------------------ */

/* One Conv configuration. Unused spatial axes keep size, kernel, stride
 * and dilation 1 and no padding, so the loops below always run three. */
typedef struct conv_cfg {
    int sp;
    int64_t n, c, m, group;
    int64_t in[3], k[3], s[3], d[3];
    int64_t pads[6];      /* begins then ends, used when auto_pad is NULL */
    const char *auto_pad; /* NULL: NOTSET */
    int bias;
    int kernel_attr;      /* also give kernel_shape */
} conv_cfg;

/* The padding and output size this test expects (its own reading of the
 * ONNX Conv rules); 0 when the kernel does not fit the padded input. */
static int conv_geometry(const conv_cfg *c, int64_t pb[3], int64_t out[3])
{
    for (int a = 0; a < 3; a++) {
        pb[a] = 0;
        out[a] = 1;
    }
    for (int a = 0; a < c->sp; a++) {
        int64_t dk = c->d[a] * (c->k[a] - 1) + 1, begin = 0, end = 0;
        if (c->auto_pad && strncmp(c->auto_pad, "SAME", 4) == 0) {
            int64_t o = (c->in[a] + c->s[a] - 1) / c->s[a];
            int64_t need = (o - 1) * c->s[a] + dk - c->in[a];
            need = need > 0 ? need : 0;
            end = strcmp(c->auto_pad, "SAME_UPPER") == 0 ? need - need / 2 : need / 2;
            begin = need - end;
        } else if (!c->auto_pad) {
            begin = c->pads[a];
            end = c->pads[a + c->sp];
        }
        int64_t span = c->in[a] + begin + end - dk;
        if (span < 0)
            return 0;
        pb[a] = begin;
        out[a] = span / c->s[a] + 1;
    }
    return 1;
}

/* Conv as im2col + matrix product, per image and group: column r = (input
 * channel, kernel tap) and row p = output position of the matrix
 * cols[r][p] hold the input under tap r for output p (0 in the padding);
 * y[group's m][p] = sum_r W[m][r] * cols[r][p] + B[m]. */
static void conv_im2col(const conv_cfg *c, const float *x, const float *w, const float *b,
                        float *y)
{
    int64_t pb[3], out[3];
    assert_true(conv_geometry(c, pb, out));
    int64_t cg = c->c / c->group, mg = c->m / c->group;
    int64_t taps = c->k[0] * c->k[1] * c->k[2], pos = out[0] * out[1] * out[2];
    int64_t in_size = c->in[0] * c->in[1] * c->in[2];
    double *cols = malloc((size_t)(cg * taps * pos) * sizeof *cols);
    assert_non_null(cols);
    for (int64_t img = 0; img < c->n; img++) {
        for (int64_t g = 0; g < c->group; g++) {
            for (int64_t ch = 0; ch < cg; ch++) {
                const float *plane = x + (img * c->c + g * cg + ch) * in_size;
                for (int64_t k0 = 0; k0 < c->k[0]; k0++)
                for (int64_t k1 = 0; k1 < c->k[1]; k1++)
                for (int64_t k2 = 0; k2 < c->k[2]; k2++) {
                    int64_t r = ch * taps + (k0 * c->k[1] + k1) * c->k[2] + k2;
                    for (int64_t o0 = 0; o0 < out[0]; o0++)
                    for (int64_t o1 = 0; o1 < out[1]; o1++)
                    for (int64_t o2 = 0; o2 < out[2]; o2++) {
                        int64_t i0 = o0 * c->s[0] - pb[0] + k0 * c->d[0];
                        int64_t i1 = o1 * c->s[1] - pb[1] + k1 * c->d[1];
                        int64_t i2 = o2 * c->s[2] - pb[2] + k2 * c->d[2];
                        int inside = i0 >= 0 && i0 < c->in[0] && i1 >= 0 && i1 < c->in[1] &&
                                     i2 >= 0 && i2 < c->in[2];
                        int64_t p = (o0 * out[1] + o1) * out[2] + o2;
                        cols[r * pos + p] =
                            inside ? plane[(i0 * c->in[1] + i1) * c->in[2] + i2] : 0.0;
                    }
                }
            }
            for (int64_t mm = 0; mm < mg; mm++) {
                int64_t m = g * mg + mm;
                const float *wrow = w + m * cg * taps; /* W[m] is [cg, taps] */
                for (int64_t p = 0; p < pos; p++) {
                    double acc = 0;
                    for (int64_t r = 0; r < cg * taps; r++)
                        acc += (double)wrow[r] * cols[r * pos + p];
                    y[(img * c->m + m) * pos + p] = (float)(acc + (b ? b[m] : 0.0));
                }
            }
        }
    }
    free(cols);
}

/* The node of configuration c (Conv or ConvTranspose share attributes). */
static weft_node cfg_node(const char *op, const conv_cfg *c)
{
    weft_node n = node(op);
    int sp = c->sp;
    set_is(&n, "strides", c->s, (size_t)sp);
    set_is(&n, "dilations", c->d, (size_t)sp);
    if (c->group != 1)
        set_i(&n, "group", c->group);
    if (c->kernel_attr)
        set_is(&n, "kernel_shape", c->k, (size_t)sp);
    if (c->auto_pad)
        set_s(&n, "auto_pad", c->auto_pad);
    else
        set_is(&n, "pads", c->pads, 2 * (size_t)sp);
    return n;
}

static weft_shape cfg_shape(const conv_cfg *c, int64_t d0, int64_t d1, const int64_t *spatial)
{
    weft_shape s = {.rank = c->sp + 2, .dims = {d0, d1}};
    for (int a = 0; a < c->sp; a++)
        s.dims[2 + a] = spatial[a];
    return s;
}

typedef struct grid_count {
    int run, refused;
} grid_count;

/* Runs configuration c through the reference and im2col; a kernel that
 * does not fit must be refused with WEFT_ERR_SHAPE. */
static void conv_case(const conv_cfg *c, uint64_t *rng, grid_count *count)
{
    int64_t pb[3], out[3];
    weft_shape xs = cfg_shape(c, c->n, c->c, c->in), ws = cfg_shape(c, c->m, c->c / c->group, c->k);
    int fits = conv_geometry(c, pb, out);
    weft_shape ys = cfg_shape(c, c->n, c->m, fits ? out : c->in);
    size_t nx = (size_t)weft_shape_numel(&xs), nw = (size_t)weft_shape_numel(&ws);
    size_t ny = (size_t)weft_shape_numel(&ys);
    float *x = random_floats(rng, nx), *w = random_floats(rng, nw);
    float *b = random_floats(rng, (size_t)c->m), *want = malloc(ny * sizeof *want);
    assert_non_null(want);
    weft_node n = cfg_node("Conv", c);
    weft_host_tensor in[] = {{WEFT_FLOAT32, xs, x}, {WEFT_FLOAT32, ws, w},
                             in_f(1, &c->m, b)};
    weft_host_tensor y = out_f(ys.rank, ys.dims);
    char label[200];
    snprintf(label, sizeof label,
             "conv sp %d N %lld C %lld M %lld group %lld in %lldx%lldx%lld k %lldx%lldx%lld "
             "s %lldx%lldx%lld d %lldx%lldx%lld pads %lld,%lld,%lld/%lld,%lld,%lld %s",
             c->sp, (long long)c->n, (long long)c->c, (long long)c->m, (long long)c->group,
             (long long)c->in[0], (long long)c->in[1], (long long)c->in[2], (long long)c->k[0],
             (long long)c->k[1], (long long)c->k[2], (long long)c->s[0], (long long)c->s[1],
             (long long)c->s[2], (long long)c->d[0], (long long)c->d[1], (long long)c->d[2],
             (long long)c->pads[0], (long long)c->pads[1], (long long)c->pads[2],
             (long long)c->pads[3], (long long)c->pads[4], (long long)c->pads[5],
             c->auto_pad ? c->auto_pad : "NOTSET");
    weft_status st = run(&n, in, c->bias ? 3 : 2, &y, 1);
    if (!fits) {
        if (st != WEFT_ERR_SHAPE || !strstr(weft_last_error(), "more than the padded input"))
            fail_msg("%s: expected WEFT_ERR_SHAPE, got %s: %s", label, weft_status_name(st),
                     weft_last_error());
        count->refused++;
    } else {
        if (st != WEFT_OK)
            fail_msg("%s: %s: %s", label, weft_status_name(st), weft_last_error());
        conv_im2col(c, x, w, c->bias ? b : NULL, want);
        check_close(y.data, want, ny, 1e-5, 1e-5, label);
        count->run++;
    }
    weft_attrs_clear(&n.attrs);
    free(y.data);
    free(x);
    free(w);
    free(b);
    free(want);
}

/* The pad settings of the grids: none, 1 all round, asymmetric, and the
 * three auto_pad modes. */
static void cfg_pads(conv_cfg *c, int which)
{
    static const char *const modes[] = {NULL, NULL, NULL, "SAME_UPPER", "SAME_LOWER", "VALID"};
    memset(c->pads, 0, sizeof c->pads);
    c->auto_pad = modes[which];
    for (int a = 0; a < c->sp; a++) {
        if (which == 1)
            c->pads[a] = c->pads[a + c->sp] = 1;
        if (which == 2) { /* begin 0/2/1, end 1/0/2 by axis */
            c->pads[a] = (int64_t[]){0, 2, 1}[a];
            c->pads[a + c->sp] = (int64_t[]){1, 0, 2}[a];
        }
    }
}

static void test_conv_grid_2d(void **state)
{
    (void)state;
    static const int64_t cs[] = {1, 3, 4}, ms[] = {1, 2, 6}, sizes[] = {1, 5, 7};
    static const int64_t kernels[][2] = {{1, 1}, {3, 3}, {1, 3}, {3, 1}};
    uint64_t rng = 1;
    grid_count count = {0, 0};
    for (int64_t nb = 1; nb <= 2; nb++)
    for (size_t ci = 0; ci < COUNT(cs); ci++)
    for (size_t mi = 0; mi < COUNT(ms); mi++)
    for (size_t hi = 0; hi < COUNT(sizes); hi++)
    for (size_t wi = 0; wi < COUNT(sizes); wi++)
    for (size_t ki = 0; ki < COUNT(kernels); ki++)
    for (int64_t s = 1; s <= 3; s++)
    for (int pads = 0; pads < 6; pads++)
    for (int64_t d = 1; d <= 2; d++)
    for (int gi = 0; gi < 3; gi++) {
        int64_t c = cs[ci], m = ms[mi], group = (int64_t[]){1, 2, c}[gi];
        if (c % group || m % group || (gi == 2 && (c == 1 || c == 2)))
            continue; /* invalid, or the same as group 1 or 2 */
        /* thin the grid: batch 2 only with the plain pads and no dilation */
        if (nb == 2 && (pads > 1 || d > 1))
            continue;
        conv_cfg cfg = {.sp = 2, .n = nb, .c = c, .m = m, .group = group,
                        .in = {sizes[hi], sizes[wi], 1}, .k = {kernels[ki][0], kernels[ki][1], 1},
                        .s = {s, s == 3 ? 1 : s, 1}, .d = {d, d, 1},
                        .bias = (int)((hi + ki) % 2), .kernel_attr = (int)(wi % 2)};
        cfg_pads(&cfg, pads);
        conv_case(&cfg, &rng, &count);
    }
    print_message("conv 2-D grid: %d cases against im2col, %d refused (kernel > padded input)\n",
                  count.run, count.refused);
    assert_true(count.run > 10000);
}

static void test_conv_grid_1d_3d(void **state)
{
    (void)state;
    uint64_t rng = 2;
    grid_count count = {0, 0};
    /* 1-D */
    for (int64_t c = 1; c <= 4; c += 3)
    for (int64_t len = 1; len <= 9; len += 4)
    for (int64_t k = 1; k <= 3; k++)
    for (int64_t s = 1; s <= 3; s++)
    for (int pads = 0; pads < 6; pads++)
    for (int64_t d = 1; d <= 2; d++)
    for (int64_t group = 1; group <= c; group += c - 1 > 0 ? c - 1 : 1) {
        conv_cfg cfg = {.sp = 1, .n = 1, .c = c, .m = 2 * group, .group = group,
                        .in = {len, 1, 1}, .k = {k, 1, 1}, .s = {s, 1, 1}, .d = {d, 1, 1},
                        .bias = (int)(k % 2), .kernel_attr = (int)(s % 2)};
        cfg_pads(&cfg, pads);
        conv_case(&cfg, &rng, &count);
    }
    /* 3-D */
    static const int64_t ins[][3] = {{3, 4, 5}, {1, 2, 3}};
    static const int64_t ks[][3] = {{2, 1, 3}, {3, 3, 3}, {1, 1, 1}};
    static const int64_t ss[][3] = {{1, 1, 1}, {1, 2, 1}, {2, 2, 2}};
    for (size_t ii = 0; ii < COUNT(ins); ii++)
    for (size_t ki = 0; ki < COUNT(ks); ki++)
    for (size_t si = 0; si < COUNT(ss); si++)
    for (int pads = 0; pads < 6; pads++)
    for (int64_t d = 1; d <= 2; d++)
    for (int64_t group = 1; group <= 2; group++) {
        conv_cfg cfg = {.sp = 3, .n = 1, .c = 2, .m = 4, .group = group,
                        .in = {ins[ii][0], ins[ii][1], ins[ii][2]},
                        .k = {ks[ki][0], ks[ki][1], ks[ki][2]},
                        .s = {ss[si][0], ss[si][1], ss[si][2]}, .d = {d, 1, d},
                        .bias = (int)(si % 2), .kernel_attr = 1};
        cfg_pads(&cfg, pads);
        conv_case(&cfg, &rng, &count);
    }
    print_message("conv 1-D and 3-D grids: %d cases against im2col, %d refused\n", count.run,
                  count.refused);
    assert_true(count.run > 500);
}

/* ---- 2. ConvTranspose: the adjoint of Conv -------------------------------------------- */

/* For conv configuration c (which must fit): x, W, y random with y of
 * conv's output shape; ConvTranspose with the same W, strides, pads,
 * dilations and group, and output_padding = what the conv's floor dropped,
 * maps y back to x's shape; then <conv(x), y> = <x, convT(y)>. With
 * `same`, the ConvTranspose gets c's auto_pad and output_shape = x's
 * spatial size instead of pads and output_padding (only when c's SAME
 * padding was not clamped at 0). Returns 0 when skipped. */
static int adjoint_case(const conv_cfg *c, int same, uint64_t *rng)
{
    int64_t pb[3], out[3], op[3] = {0, 0, 0};
    if (!conv_geometry(c, pb, out))
        return 0;
    for (int a = 0; a < c->sp; a++) {
        int64_t dk = c->d[a] * (c->k[a] - 1) + 1;
        /* x's size minus convT's natural size with these pads */
        int64_t natural = c->s[a] * (out[a] - 1) + dk;
        int64_t begin = pb[a], end;
        if (c->auto_pad && strncmp(c->auto_pad, "SAME", 4) == 0) {
            int64_t need = (out[a] - 1) * c->s[a] + dk - c->in[a];
            if (same && need < 0)
                return 0;
            end = (need > 0 ? need : 0) - begin;
        } else {
            end = c->auto_pad ? 0 : c->pads[a + c->sp];
        }
        op[a] = c->in[a] - (natural - begin - end);
        assert_true(op[a] >= 0 && op[a] < c->s[a]);
    }
    if (same && !(c->auto_pad && strncmp(c->auto_pad, "SAME", 4) == 0))
        return 0;
    weft_shape xs = cfg_shape(c, c->n, c->c, c->in), ws = cfg_shape(c, c->m, c->c / c->group, c->k);
    weft_shape ys = cfg_shape(c, c->n, c->m, out);
    size_t nx = (size_t)weft_shape_numel(&xs), nw = (size_t)weft_shape_numel(&ws);
    size_t ny = (size_t)weft_shape_numel(&ys);
    float *x = random_floats(rng, nx), *w = random_floats(rng, nw), *y = random_floats(rng, ny);

    weft_node conv = cfg_node("Conv", c);
    weft_host_tensor cin[] = {{WEFT_FLOAT32, xs, x}, {WEFT_FLOAT32, ws, w}};
    weft_host_tensor cy = out_f(ys.rank, ys.dims);
    assert_weft_ok(run(&conv, cin, 2, &cy, 1));

    /* ConvTranspose: W is read as [M, C/group, k...] = [its C, its M/group] */
    conv_cfg t = *c;
    if (!same)
        t.auto_pad = NULL; /* explicit pads: the ones conv used */
    for (int a = 0; a < c->sp && !same; a++) {
        int64_t dk = c->d[a] * (c->k[a] - 1) + 1;
        t.pads[a] = pb[a];
        t.pads[a + c->sp] = c->s[a] * (out[a] - 1) + dk + op[a] - c->in[a] - pb[a];
    }
    weft_node ct = cfg_node("ConvTranspose", &t);
    if (same)
        set_is(&ct, "output_shape", c->in, (size_t)c->sp);
    else
        set_is(&ct, "output_padding", op, (size_t)c->sp);
    weft_host_tensor tin[] = {{WEFT_FLOAT32, ys, y}, {WEFT_FLOAT32, ws, w}};
    weft_host_tensor tx = out_f(xs.rank, xs.dims);
    weft_status st = run(&ct, tin, 2, &tx, 1);
    if (st != WEFT_OK)
        fail_msg("convT adjoint (same %d): %s: %s", same, weft_status_name(st),
                 weft_last_error());

    double lhs = 0, rhs = 0, scale = 0;
    for (size_t i = 0; i < ny; i++) {
        double v = (double)((float *)cy.data)[i] * y[i];
        lhs += v;
        scale += fabs(v);
    }
    for (size_t i = 0; i < nx; i++) {
        double v = (double)x[i] * ((float *)tx.data)[i];
        if (isnan(v))
            fail_msg("convT left element %zu unwritten", i);
        rhs += v;
        scale += fabs(v);
    }
    if (!(fabs(lhs - rhs) <= 1e-5 * scale + 1e-9))
        fail_msg("adjoint: <conv(x),y> = %.9g but <x,convT(y)> = %.9g (sp %d, C %lld, M %lld, "
                 "group %lld, in %lld,%lld,%lld, k %lld,%lld,%lld, s %lld,%lld,%lld, d "
                 "%lld,%lld,%lld, auto_pad %s, same %d)",
                 lhs, rhs, c->sp, (long long)c->c, (long long)c->m, (long long)c->group,
                 (long long)c->in[0], (long long)c->in[1], (long long)c->in[2],
                 (long long)c->k[0], (long long)c->k[1], (long long)c->k[2], (long long)c->s[0],
                 (long long)c->s[1], (long long)c->s[2], (long long)c->d[0], (long long)c->d[1],
                 (long long)c->d[2], c->auto_pad ? c->auto_pad : "NOTSET", same);
    weft_attrs_clear(&conv.attrs);
    weft_attrs_clear(&ct.attrs);
    free(cy.data);
    free(tx.data);
    free(x);
    free(w);
    free(y);
    return 1;
}

static void test_conv_transpose_adjoint(void **state)
{
    (void)state;
    static const int64_t sizes[] = {1, 4, 7};
    static const int64_t kernels[][2] = {{1, 1}, {3, 3}, {2, 3}};
    uint64_t rng = 3;
    int done = 0, same_done = 0;
    for (int64_t c = 2; c <= 4; c += 2)
    for (int64_t m = 2; m <= 6; m += 4)
    for (size_t hi = 0; hi < COUNT(sizes); hi++)
    for (size_t wi = 0; wi < COUNT(sizes); wi++)
    for (size_t ki = 0; ki < COUNT(kernels); ki++)
    for (int64_t s = 1; s <= 3; s++)
    for (int pads = 0; pads < 6; pads++)
    for (int64_t d = 1; d <= 2; d++)
    for (int64_t group = 1; group <= 2; group++) {
        conv_cfg cfg = {.sp = 2, .n = 1 + (int64_t)(hi == 1), .c = c, .m = m, .group = group,
                        .in = {sizes[hi], sizes[wi], 1}, .k = {kernels[ki][0], kernels[ki][1], 1},
                        .s = {s, s == 3 ? 2 : s, 1}, .d = {d, 1, 1}};
        cfg_pads(&cfg, pads);
        done += adjoint_case(&cfg, 0, &rng);
        same_done += adjoint_case(&cfg, 1, &rng);
    }
    /* 1-D and 3-D */
    for (int64_t len = 1; len <= 9; len += 2)
    for (int64_t k = 1; k <= 3; k++)
    for (int64_t s = 1; s <= 3; s++)
    for (int pads = 0; pads < 6; pads++)
    for (int64_t d = 1; d <= 2; d++) {
        conv_cfg one = {.sp = 1, .n = 1, .c = 3, .m = 3, .group = 3, .in = {len, 1, 1},
                        .k = {k, 1, 1}, .s = {s, 1, 1}, .d = {d, 1, 1}};
        cfg_pads(&one, pads);
        done += adjoint_case(&one, 0, &rng);
        same_done += adjoint_case(&one, 1, &rng);
        conv_cfg three = {.sp = 3, .n = 1, .c = 2, .m = 2, .group = 1, .in = {len, 3, 2},
                          .k = {k, 2, 1}, .s = {s, 2, 1}, .d = {d, 1, 1}};
        cfg_pads(&three, pads);
        done += adjoint_case(&three, 0, &rng);
        same_done += adjoint_case(&three, 1, &rng);
    }
    print_message("convT adjoint: %d cases with pads and output_padding, %d with auto_pad SAME "
                  "and output_shape\n",
                  done, same_done);
    assert_true(done > 3000 && same_done > 500);
}

/* ConvTranspose's bias: the output without it, plus B[m]. */
static void test_conv_transpose_bias(void **state)
{
    (void)state;
    uint64_t rng = 4;
    float *x = random_floats(&rng, 2 * 4 * 3 * 3), *w = random_floats(&rng, 4 * 3 * 2 * 2);
    const float b[] = {1.5f, -2, 0.25f, 3, -1, 0.5f};
    weft_node n = node("ConvTranspose");
    set_i(&n, "group", 2);
    set_is(&n, "strides", I64(2, 1), 2);
    weft_host_tensor in[] = {in_f(4, DIMS(2, 4, 3, 3), x), in_f(4, DIMS(4, 3, 2, 2), w),
                             in_f(1, DIMS(6), b)};
    weft_host_tensor plain = out_f(4, DIMS(2, 6, 6, 4)), biased = out_f(4, DIMS(2, 6, 6, 4));
    assert_weft_ok(run(&n, in, 2, &plain, 1));
    assert_weft_ok(run(&n, in, 3, &biased, 1));
    for (int64_t i = 0; i < 2 * 6 * 6 * 4; i++) {
        float want = ((float *)plain.data)[i] + b[(i / 24) % 6];
        check_close(&((float *)biased.data)[i], &want, 1, 1e-6, 1e-6, "convT bias");
    }
    weft_attrs_clear(&n.attrs);
    free(plain.data);
    free(biased.data);
    free(x);
    free(w);
}

/* ---- 2. Gemm and MatMul against loops ---------------------------------------------------- */

static void test_gemm_grid(void **state)
{
    (void)state;
    static const int64_t sizes[] = {1, 3, 5};
    uint64_t rng = 5;
    int cases = 0;
    for (size_t mi = 0; mi < COUNT(sizes); mi++)
    for (size_t ki = 0; ki < COUNT(sizes); ki++)
    for (size_t ni = 0; ni < COUNT(sizes); ni++)
    for (int ta = 0; ta <= 1; ta++)
    for (int tb = 0; tb <= 1; tb++)
    for (int cshape = 0; cshape < 8; cshape++) {
        int64_t m = sizes[mi], k = sizes[ki], nn = sizes[ni];
        /* C: absent, [], [1], [N], [1,N], [M,1], [M,N], [1,1] */
        static const int crank[] = {-1, 0, 1, 1, 2, 2, 2, 2};
        int64_t cd[2] = {1, 1};
        if (cshape == 3)
            cd[0] = nn;
        if (cshape == 4)
            cd[1] = nn;
        if (cshape == 5)
            cd[0] = m;
        if (cshape == 6) {
            cd[0] = m;
            cd[1] = nn;
        }
        float alpha = (cshape % 2) ? 0.5f : 1.0f, beta = (cshape % 3) ? -2.0f : 1.0f;
        float *a = random_floats(&rng, (size_t)(m * k)), *b = random_floats(&rng, (size_t)(k * nn));
        float *c = random_floats(&rng, (size_t)(cd[0] * cd[1]));
        float *want = malloc((size_t)(m * nn) * sizeof *want);
        assert_non_null(want);
        /* explicit A' [M, K] and B' [K, N] */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < nn; j++) {
                double acc = 0;
                for (int64_t p = 0; p < k; p++) {
                    float av = ta ? a[p * m + i] : a[i * k + p];
                    float bv = tb ? b[j * k + p] : b[p * nn + j];
                    acc += (double)av * bv;
                }
                double cv = 0;
                if (crank[cshape] == 0)
                    cv = c[0];
                else if (crank[cshape] == 1)
                    cv = c[cd[0] == 1 ? 0 : j];
                else if (crank[cshape] == 2)
                    cv = c[(cd[0] == 1 ? 0 : i) * cd[1] + (cd[1] == 1 ? 0 : j)];
                want[i * nn + j] = (float)(alpha * acc + (crank[cshape] >= 0 ? beta * cv : 0.0));
            }
        weft_node n = node("Gemm");
        set_i(&n, "transA", ta);
        set_i(&n, "transB", tb);
        set_f(&n, "alpha", alpha);
        set_f(&n, "beta", beta);
        weft_host_tensor in[] = {in_f(2, ta ? DIMS(k, m) : DIMS(m, k), a),
                                 in_f(2, tb ? DIMS(nn, k) : DIMS(k, nn), b),
                                 crank[cshape] < 0 ? absent() : in_f(crank[cshape], cd, c)};
        weft_host_tensor y = out_f(2, DIMS(m, nn));
        assert_weft_ok(run(&n, in, 3, &y, 1));
        char label[96];
        snprintf(label, sizeof label, "gemm M %lld K %lld N %lld transA %d transB %d C form %d",
                 (long long)m, (long long)k, (long long)nn, ta, tb, cshape);
        check_close(y.data, want, (size_t)(m * nn), 1e-6, 1e-6, label);
        weft_attrs_clear(&n.attrs);
        free(y.data);
        free(a);
        free(b);
        free(c);
        free(want);
        cases++;
    }
    print_message("gemm grid: %d cases against loops\n", cases);
}

/* numpy.matmul written with strides: a 1-D operand promoted, batch dims
 * aligned from the right, a size-1 dim read with stride 0. */
static void matmul_loops(const weft_shape *as, const float *a, const weft_shape *bs,
                         const float *b, weft_shape *ys, float *y)
{
    int64_t ad[WEFT_MAX_RANK], bd[WEFT_MAX_RANK];
    int ar = as->rank, br = bs->rank;
    memcpy(ad, as->dims, sizeof ad);
    memcpy(bd, bs->dims, sizeof bd);
    if (ar == 1) {
        ad[1] = ad[0];
        ad[0] = 1;
        ar = 2;
    }
    if (br == 1) {
        bd[1] = 1;
        br = 2;
    }
    int64_t m = ad[ar - 2], k = ad[ar - 1], nn = bd[br - 1];
    int batch = (ar > br ? ar : br) - 2;
    int64_t dims[WEFT_MAX_RANK], astr[WEFT_MAX_RANK], bstr[WEFT_MAX_RANK];
    int64_t asz = m * k, bsz = k * nn, total = 1;
    for (int i = batch - 1; i >= 0; i--) {
        int ai = i - (batch - (ar - 2)), bi = i - (batch - (br - 2));
        int64_t da = ai >= 0 ? ad[ai] : 1, db = bi >= 0 ? bd[bi] : 1;
        assert_true(da == db || da == 1 || db == 1);
        dims[i] = da > db ? da : db;
        astr[i] = da == 1 ? 0 : asz;
        bstr[i] = db == 1 ? 0 : bsz;
        asz *= da;
        bsz *= db;
        total *= dims[i];
    }
    ys->rank = 0;
    for (int i = 0; i < batch; i++)
        ys->dims[ys->rank++] = dims[i];
    if (as->rank > 1)
        ys->dims[ys->rank++] = m;
    if (bs->rank > 1)
        ys->dims[ys->rank++] = nn;
    for (int64_t t = 0; t < total; t++) {
        int64_t rest = t, ao = 0, bo = 0;
        for (int i = batch - 1; i >= 0; i--) {
            ao += (rest % dims[i]) * astr[i];
            bo += (rest % dims[i]) * bstr[i];
            rest /= dims[i];
        }
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < nn; j++) {
                double acc = 0;
                for (int64_t p = 0; p < k; p++)
                    acc += (double)a[ao + i * k + p] * b[bo + p * nn + j];
                y[(t * m + i) * nn + j] = (float)acc;
            }
    }
}

static void test_matmul_grid(void **state)
{
    (void)state;
    /* (A dims, B dims) with K = 3 where it matters */
    static const struct {
        int ar, br;
        int64_t a[5], b[5];
    } cases[] = {
        {1, 1, {3}, {3}},
        {1, 2, {3}, {3, 4}},
        {2, 1, {2, 3}, {3}},
        {2, 2, {2, 3}, {3, 4}},
        {2, 2, {1, 1}, {1, 5}},
        {3, 2, {2, 2, 3}, {3, 4}},
        {2, 3, {2, 3}, {5, 3, 4}},
        {3, 1, {2, 4, 3}, {3}},
        {1, 3, {3}, {2, 3, 4}},
        {4, 3, {2, 1, 2, 3}, {3, 3, 4}},
        {3, 4, {1, 2, 3}, {4, 1, 3, 2}},
        {4, 4, {2, 1, 1, 3}, {1, 3, 3, 2}},
        {5, 2, {1, 2, 1, 2, 3}, {3, 1}},
    };
    uint64_t rng = 6;
    for (size_t i = 0; i < COUNT(cases); i++) {
        weft_shape as = shape_of(cases[i].ar, cases[i].a), bs = shape_of(cases[i].br, cases[i].b);
        float *a = random_floats(&rng, (size_t)weft_shape_numel(&as));
        float *b = random_floats(&rng, (size_t)weft_shape_numel(&bs));
        float want[256];
        weft_shape ys;
        matmul_loops(&as, a, &bs, b, &ys, want);
        assert_true(weft_shape_numel(&ys) <= (int64_t)COUNT(want));
        weft_node n = node("MatMul");
        weft_host_tensor in[] = {{WEFT_FLOAT32, as, a}, {WEFT_FLOAT32, bs, b}};
        weft_host_tensor y = out_f(ys.rank, ys.dims);
        assert_weft_ok(run(&n, in, 2, &y, 1));
        char label[64];
        snprintf(label, sizeof label, "matmul case %zu", i);
        check_close(y.data, want, (size_t)weft_shape_numel(&ys), 1e-6, 1e-6, label);
        free(y.data);
        free(a);
        free(b);
    }
}

/* ---- 3. Errors ----------------------------------------------------------------------------- */

static void test_conv_errors(void **state)
{
    (void)state;
    static float buf[4 * 4 * 4 * 3];
    weft_node n = node("Conv");
    weft_host_tensor in[] = {in_f(4, DIMS(1, 3, 4, 4), buf), in_f(4, DIMS(2, 3, 3, 3), buf),
                             in_f(1, DIMS(2), buf)};
    const int64_t *ydims = DIMS(1, 2, 2, 2);

    /* the plain case works, so each error below is the one change */
    expect_fail(&n, in, 3, 4, DIMS(1, 2, 3, 3), WEFT_ERR_SHAPE, "output 0 has shape");
    set_i(&n, "group", 2);
    expect_fail(&n, in, 3, 4, ydims, WEFT_ERR_SHAPE, "attribute 'group' = 2 does not divide");
    set_i(&n, "group", 0);
    expect_fail(&n, in, 3, 4, ydims, WEFT_ERR_GRAPH, "attribute 'group' = 0");
    set_f(&n, "group", 1.0f);
    expect_fail(&n, in, 3, 4, ydims, WEFT_ERR_GRAPH, "group");
    set_is(&n, "kernel_shape", I64(3, 2), 2);
    expect_fail(&n, in, 3, 4, ydims, WEFT_ERR_SHAPE, "attribute 'kernel_shape'[1] = 2");
    set_is(&n, "strides", I64(1), 1);
    expect_fail(&n, in, 3, 4, ydims, WEFT_ERR_GRAPH, "attribute 'strides' has 1 values");
    set_is(&n, "strides", I64(1, 0), 2);
    expect_fail(&n, in, 3, 4, ydims, WEFT_ERR_GRAPH, "attribute 'strides'[1] = 0");
    set_is(&n, "dilations", I64(-1, 1), 2);
    expect_fail(&n, in, 3, 4, ydims, WEFT_ERR_GRAPH, "attribute 'dilations'[0] = -1");
    set_is(&n, "pads", I64(0, 0, -1, 0), 4);
    expect_fail(&n, in, 3, 4, ydims, WEFT_ERR_GRAPH, "attribute 'pads'[2] = -1");
    set_is(&n, "pads", I64(0, 0, 0), 3);
    expect_fail(&n, in, 3, 4, ydims, WEFT_ERR_GRAPH, "attribute 'pads' has 3 values");
    set_s(&n, "auto_pad", "SAME");
    expect_fail(&n, in, 3, 4, ydims, WEFT_ERR_GRAPH, "attribute 'auto_pad' = \"SAME\"");
    set_s(&n, "auto_pad", "SAME_UPPER");
    set_is(&n, "pads", I64(1, 1, 1, 1), 4);
    expect_fail(&n, in, 3, 4, ydims, WEFT_ERR_GRAPH, "attribute 'pads' cannot be used");
    set_is(&n, "dilations", I64(2, 1), 2);
    expect_fail(&n, in, 3, 4, ydims, WEFT_ERR_SHAPE, "attribute 'dilations' 2");

    weft_host_tensor bad_b[] = {in[0], in[1], in_f(1, DIMS(3), buf)};
    expect_fail(&n, bad_b, 3, 4, ydims, WEFT_ERR_SHAPE, "input 'B' has shape [3]");
    weft_host_tensor bad_w[] = {in[0], in_f(4, DIMS(2, 2, 3, 3), buf)};
    expect_fail(&n, bad_w, 2, 4, ydims, WEFT_ERR_SHAPE, "input 'W' of shape [2,2,3,3]");
    weft_host_tensor w_rank[] = {in[0], in_f(3, DIMS(2, 3, 3), buf)};
    expect_fail(&n, w_rank, 2, 4, ydims, WEFT_ERR_SHAPE, "input 'W' has shape [2,3,3]");
    weft_host_tensor x_rank[] = {in_f(2, DIMS(1, 3), buf), in[1]};
    expect_fail(&n, x_rank, 2, 4, ydims, WEFT_ERR_SHAPE, "input 'X' has shape [1,3]");
    weft_host_tensor x_4d[] = {in_f(6, DIMS(1, 1, 1, 1, 1, 1), buf),
                               in_f(6, DIMS(1, 1, 1, 1, 1, 1), buf)};
    expect_fail(&n, x_4d, 2, 6, DIMS(1, 1, 1, 1, 1, 1), WEFT_ERR_UNSUPPORTED,
                "4 spatial axes");
    weft_host_tensor x_int[] = {{WEFT_INT64, shape_of(4, DIMS(1, 3, 4, 4)), buf}, in[1]};
    expect_fail(&n, x_int, 2, 4, ydims, WEFT_ERR_GRAPH, "input 0 ('X') is int64");
    expect_fail(&n, in, 1, 4, ydims, WEFT_ERR_INVALID_ARGUMENT, "input 1 ('W') is absent");
    /* the kernel larger than the padded input */
    weft_host_tensor small[] = {in_f(4, DIMS(1, 3, 2, 4), buf), in[1]};
    set_is(&n, "pads", I64(0, 0, 0, 0), 4);
    expect_fail(&n, small, 2, 4, ydims, WEFT_ERR_SHAPE, "on spatial axis 0 the kernel spans 3");
}

static void test_conv_transpose_errors(void **state)
{
    (void)state;
    static float buf[64];
    weft_node n = node("ConvTranspose");
    weft_host_tensor in[] = {in_f(3, DIMS(1, 2, 3), buf), in_f(3, DIMS(2, 1, 2), buf),
                             in_f(1, DIMS(1), buf)};
    const int64_t *ydims = DIMS(1, 1, 4);
    expect_fail(&n, in, 3, 3, DIMS(1, 1, 5), WEFT_ERR_SHAPE, "output 0 has shape [1,1,5]");
    weft_host_tensor bad_w[] = {in[0], in_f(3, DIMS(3, 1, 2), buf)};
    expect_fail(&n, bad_w, 2, 3, ydims, WEFT_ERR_SHAPE, "has 3 input channels but X");
    set_i(&n, "group", 3);
    expect_fail(&n, in, 2, 3, ydims, WEFT_ERR_SHAPE, "attribute 'group' = 3 does not divide");
    set_i(&n, "group", 2); /* M = 1 * 2: a bias of 1 no longer fits */
    expect_fail(&n, in, 3, 3, DIMS(1, 2, 4), WEFT_ERR_SHAPE, "input 'B' has shape [1]");
    set_is(&n, "output_shape", I64(4, 4), 2);
    expect_fail(&n, in, 2, 3, ydims, WEFT_ERR_GRAPH, "attribute 'output_shape' has 2 values");
    set_is(&n, "output_shape", I64(0), 1);
    expect_fail(&n, in, 2, 3, ydims, WEFT_ERR_GRAPH, "attribute 'output_shape' = 0");
    set_is(&n, "output_padding", I64(-1), 1);
    expect_fail(&n, in, 2, 3, ydims, WEFT_ERR_GRAPH, "attribute 'output_padding'[0] = -1");
    set_is(&n, "pads", I64(2, 2), 2);
    expect_fail(&n, in, 2, 3, ydims, WEFT_ERR_SHAPE, "attribute 'pads' (2 + 2) remove");
    set_s(&n, "auto_pad", "VALID");
    set_is(&n, "pads", I64(1, 0), 2);
    expect_fail(&n, in, 2, 3, ydims, WEFT_ERR_GRAPH, "attribute 'pads' cannot be used");
    set_is(&n, "kernel_shape", I64(3), 1);
    expect_fail(&n, in, 2, 3, ydims, WEFT_ERR_SHAPE, "attribute 'kernel_shape'[0] = 3");
}

static void test_dense_errors(void **state)
{
    (void)state;
    static float buf[64];
    weft_node n = node("Gemm");
    weft_host_tensor in[] = {in_f(2, DIMS(2, 3), buf), in_f(2, DIMS(3, 4), buf),
                             in_f(1, DIMS(3), buf)};
    const int64_t *ydims = DIMS(2, 4);
    expect_fail(&n, in, 3, 2, ydims, WEFT_ERR_SHAPE, "input 'C' of shape [3] does not broadcast");
    set_i(&n, "transB", 1);
    expect_fail(&n, in, 2, 2, ydims, WEFT_ERR_SHAPE, "inner dimensions differ");
    set_i(&n, "transA", 2);
    expect_fail(&n, in, 2, 2, ydims, WEFT_ERR_GRAPH, "attribute 'transA' = 2");
    set_s(&n, "alpha", "1");
    expect_fail(&n, in, 2, 2, ydims, WEFT_ERR_GRAPH, "alpha");
    weft_host_tensor c3[] = {in[0], in[1], in_f(3, DIMS(1, 2, 4), buf)};
    expect_fail(&n, c3, 3, 2, ydims, WEFT_ERR_SHAPE, "input 'C' of shape [1,2,4]");
    weft_host_tensor a3[] = {in_f(3, DIMS(1, 2, 3), buf), in[1]};
    expect_fail(&n, a3, 2, 2, ydims, WEFT_ERR_SHAPE, "must both be matrices");
    weft_host_tensor ai[] = {{WEFT_INT64, shape_of(2, DIMS(2, 3)), buf}, in[1]};
    expect_fail(&n, ai, 2, 2, ydims, WEFT_ERR_UNSUPPORTED, "is int64; the reference runs Gemm");
    expect_fail(&n, in, 2, 2, DIMS(4, 2), WEFT_ERR_SHAPE, "output 0 has shape [4,2]");

    weft_node mm = node("MatMul");
    weft_host_tensor s[] = {in_f(0, NULL, buf), in[1]};
    expect_fail(&mm, s, 2, 1, DIMS(4), WEFT_ERR_SHAPE, "input 'A' is a scalar");
    weft_host_tensor k[] = {in_f(2, DIMS(2, 4), buf), in[1]};
    expect_fail(&mm, k, 2, 2, ydims, WEFT_ERR_SHAPE, "inner dimensions differ");
    weft_host_tensor batch[] = {in_f(3, DIMS(2, 2, 3), buf), in_f(3, DIMS(3, 3, 4), buf)};
    expect_fail(&mm, batch, 2, 3, DIMS(2, 2, 4), WEFT_ERR_SHAPE, "do not broadcast");
    weft_host_tensor bi[] = {in[0], {WEFT_INT64, shape_of(2, DIMS(3, 4)), buf}};
    expect_fail(&mm, bi, 2, 2, ydims, WEFT_ERR_UNSUPPORTED, "input 1 ('B') is int64");
    expect_fail(&mm, in, 2, 3, DIMS(1, 2, 4), WEFT_ERR_SHAPE, "output 0 has shape [1,2,4]");
}

/* Shape inference and the reference agree on the output shape of a few
 * odd configurations (validate infers it; run_graph would refuse a
 * mismatch). */
static void test_graph_shapes(void **state)
{
    (void)state;
    weft_graph *g;
    weft_attrs *a;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_attrs_create(&a));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, DIMS(1, 2, 5, 7)));
    static float w1[2 * 1 * 3 * 2], w2[2 * 3 * 2 * 3];
    for (size_t i = 0; i < COUNT(w1); i++)
        w1[i] = (float)i;
    for (size_t i = 0; i < COUNT(w2); i++)
        w2[i] = 1.0f / (float)(i + 1);
    assert_weft_ok(weft_graph_add_constant(g, "w1", WEFT_FLOAT32, 4, DIMS(2, 1, 3, 2), w1));
    assert_weft_ok(weft_graph_add_constant(g, "w2", WEFT_FLOAT32, 4, DIMS(2, 3, 2, 3), w2));
    assert_weft_ok(weft_attrs_set_int(a, "group", 2));
    assert_weft_ok(weft_attrs_set_ints(a, "strides", I64(2, 3), 2));
    assert_weft_ok(weft_attrs_set_ints(a, "dilations", I64(1, 2), 2));
    assert_weft_ok(weft_attrs_set_string(a, "auto_pad", "SAME_LOWER"));
    assert_weft_ok(weft_graph_add_node(g, "Conv", "conv", (const char *[]){"x", "w1"}, 2, a,
                                       (const char *[]){"h"}, 1));
    weft_attrs_release(a);
    assert_weft_ok(weft_attrs_create(&a));
    assert_weft_ok(weft_attrs_set_ints(a, "strides", I64(3, 2), 2));
    assert_weft_ok(weft_attrs_set_ints(a, "output_padding", I64(2, 1), 2));
    assert_weft_ok(weft_attrs_set_ints(a, "pads", I64(0, 1, 2, 0), 4));
    assert_weft_ok(weft_graph_add_node(g, "ConvTranspose", "up", (const char *[]){"h", "w2"}, 2,
                                       a, (const char *[]){"y"}, 1));
    weft_attrs_release(a);
    assert_weft_ok(weft_graph_add_output(g, "y"));
    assert_weft_ok(weft_graph_validate(g));
    float x[70];
    for (size_t i = 0; i < COUNT(x); i++)
        x[i] = (float)i / 10.0f;
    weft_tensor feed = {.name = "x", .dtype = WEFT_FLOAT32, .rank = 4, .dims = {1, 2, 5, 7},
                        .data = x, .size_bytes = sizeof x};
    weft_host_tensor y = {0};
    assert_weft_ok(weft_ref_run_graph(g, &feed, 1, &y, 1));
    /* conv: [1, 2, ceil(5/2), ceil(7/3)] = [1, 2, 3, 3]; convT: W2 is
     * [C = 2, M/group = 3, ...], so 3 channels of stride * (in - 1) +
     * output_padding + kernel - pads = 3*2 + 2 + 2 - (0 + 2) = 8 and
     * 2*2 + 1 + 3 - (1 + 0) = 7 */
    weft_shape want = shape_of(4, DIMS(1, 3, 8, 7));
    assert_true(weft_shape_equal(&y.shape, &want));
    for (int64_t i = 0; i < weft_shape_numel(&want); i++)
        assert_false(isnan(((float *)y.data)[i]));
    free(y.data);
    weft_graph_release(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_2d_by_hand),
        cmocka_unit_test(test_conv_1d_by_hand),
        cmocka_unit_test(test_conv_groups_by_hand),
        cmocka_unit_test(test_conv_3d_by_hand),
        cmocka_unit_test(test_conv_transpose_1d_by_hand),
        cmocka_unit_test(test_conv_transpose_2d_by_hand),
        cmocka_unit_test(test_gemm_by_hand),
        cmocka_unit_test(test_matmul_by_hand),
        cmocka_unit_test(test_conv_grid_2d),
        cmocka_unit_test(test_conv_grid_1d_3d),
        cmocka_unit_test(test_conv_transpose_adjoint),
        cmocka_unit_test(test_conv_transpose_bias),
        cmocka_unit_test(test_gemm_grid),
        cmocka_unit_test(test_matmul_grid),
        cmocka_unit_test(test_conv_errors),
        cmocka_unit_test(test_conv_transpose_errors),
        cmocka_unit_test(test_dense_errors),
        cmocka_unit_test(test_graph_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
