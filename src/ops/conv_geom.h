/*
 * Geometry and epilogue of Conv and ConvTranspose nodes, shared by every
 * convolution implementation (src/ops/conv_*.c).
 *
 * The ONNX size rules are those of shape inference (graph/infer_util.h:
 * infer_window_attrs reads strides, dilations, pads and auto_pad,
 * infer_window_out gives a Conv's output size); what this file adds is the
 * padding in effect at the beginning of each axis — the split of a SAME_*
 * total, ConvTranspose's pads generated from output_shape — which shape
 * inference never needs. Formulas: onnx.ai/onnx/operators, Conv-22 and
 * ConvTranspose-22, as summarised in src/ref/ref_conv.c. The result is
 * checked against the output shape shape inference set.
 *
 * Geometry is kept as a 3-D view [D, H, W]: 1-D and 2-D convolutions get
 * leading axes of size 1 (kernel 1, stride 1, dilation 1, no padding), so
 * one kernel serves 1 to 3 spatial axes.
 *
 * The fused epilogue: a graph pass that fuses an activation into the conv
 * producing its input sets internal attributes on the Conv node (nothing
 * else in the graph changes; the names start with "_weft_" so they cannot
 * clash with ONNX's):
 *   _weft_activation  string: "Relu", "LeakyRelu", "Clip", "Sigmoid",
 *                     "Tanh" or "HardSwish" (absent: none)
 *   _weft_alpha       float: LeakyRelu's alpha [0.01]; Clip's min [-inf]
 *   _weft_beta        float: Clip's max [+inf] (ReLU6: alpha 0, beta 6)
 * The kernels apply bias, then the activation, before the one store.
 *
 * The fused residual: a pass that fuses a residual Add into the Conv
 * producing one of its operands (src/graph/pass_fuse_residual.c) gives the
 * Conv an internal input 3, R, a float32 tensor of exactly Y's shape, and
 * the attribute
 *   _weft_residual    int: 1 (shape inference refuses input 3 without it)
 * so that Y = act(conv(X) + B + R): the residual is added after the bias
 * and before the fused activation. conv_geom_read sets epi.residual; an
 * implementation that does not add R must refuse the node in supports().
 */
#ifndef WEFT_OPS_CONV_GEOM_H
#define WEFT_OPS_CONV_GEOM_H

#include <stdint.h>

#include "graph/graph.h"
#include "ops/op.h"

/* Codes shared with the kernels' ACT option (cl/conv_*.cl). */
enum {
    CONV_ACT_NONE = 0,
    CONV_ACT_RELU = 1,
    CONV_ACT_LEAKY_RELU = 2,
    CONV_ACT_CLIP = 3,
    CONV_ACT_SIGMOID = 4,
    CONV_ACT_TANH = 5,
    CONV_ACT_HARD_SWISH = 6
};

typedef struct conv_epilogue {
    int act;           /* CONV_ACT_* */
    float alpha, beta;
    int residual;      /* input 3 is added before the activation (RESID 1) */
} conv_epilogue;

typedef struct conv_geom {
    int spatial;       /* 1 to 3 */
    int transpose;     /* ConvTranspose */
    int64_t n, c, m;   /* batch, input and output channels */
    int64_t group, cg, mg; /* groups; input and output channels per group */
    int has_bias;
    /* The 3-D view, index 0 = D, 1 = H, 2 = W. */
    int64_t in[3], out[3], k[3], s[3], d[3];
    int64_t pad[3];    /* padding in effect at the beginning */
    int64_t pad_end[3];/* Conv: at the end (0 for the leading axes) */
    conv_epilogue epi;
} conv_geom;

/* The geometry of Conv or ConvTranspose node n from its attributes and
 * the shapes of its values (inferred already), checked against output 0's
 * shape; extents, pads and products that kernels index with 32-bit
 * integers must stay below 2^31. 0 with why filled otherwise; the graph
 * is not changed and no error is recorded for a validated graph. */
int conv_geom_read(const weft_graph *g, const weft_node *n, conv_geom *geo, char *why,
                   size_t cap);

/* The MACs of the node (N * M * out pixels * C/group * taps). */
double conv_geom_macs(const conv_geom *geo);

/* Elements of the kernel (taps) and the reduction length of one output. */
int64_t conv_geom_taps(const conv_geom *geo);

/* The 18 geometry arguments the im2col and transposed-conv kernels take,
 * in their order: in, out, k, s, d, pad, each [D, H, W]. Returns 18. */
int conv_geom_window_args(const conv_geom *geo, cl_int v[18]);

/* Emits the epilogue's -D options: ACT, ACT_ALPHA, ACT_BETA, and RESID 1
 * with a residual (absent otherwise). */
void conv_epilogue_options(const conv_epilogue *e, weft_options *o);

/* For supports(): the common checks of every conv implementation —
 * float32 data, constant weights (and bias) to pack at prepare — then the
 * geometry. */
int conv_supports_common(const weft_graph *g, const weft_node *n, conv_geom *geo, char *why,
                         size_t cap);

/* The host arrays of a kernel's packed weights (wcount floats) and bias
 * (bcount), zeroed (tiles pad with zeros); WEFT_ERR_OUT_OF_MEMORY naming
 * the node, with nothing held. */
weft_status conv_pack_alloc(const weft_prepare *p, size_t wcount, size_t bcount, float **wp,
                            float **bp);
/* Uploads both arrays into *w and *b, and frees them either way. */
weft_status conv_pack_upload(weft_prepare *p, float *wp, size_t wcount, float *bp, size_t bcount,
                             cl_mem *w, cl_mem *b);

/* The first step of every conv implementation's prepare: a zeroed state
 * of `size` bytes in p->state (the session releases it through the
 * implementation's release, also on failure), the node's geometry read
 * into the conv_geom at `geo_offset` in it (offsetof), and the weights
 * checked to be a constant the implementation can pack (and marked
 * host-only: no conv implementation reads W on the device). */
weft_status conv_prepare_state(weft_prepare *p, size_t size, size_t geo_offset);


/* The device class the tile tables key on: 1 for CPU-class devices
 * (large per-work-item register tiles, no local memory), 0 otherwise. */
int conv_cpu_class(const weft_device_info *d);

#endif
