/*
 * The GEMM engine: batched single-precision matrix products with a fused
 * epilogue, for the Gemm and MatMul ops and for the convolutions that
 * reduce to a GEMM (1x1, im2col, Winograd's batched products).
 *
 * For every batch index (o, i), o < batch[0], i < batch[1]:
 *
 *   C[o,i] = act(alpha * op(A[o,i]) * op(B[o,i]) + bias + beta * D[o,i])
 *
 * with op(A) [M, K], op(B) [K, N], C [M, N]. All matrices are row-major
 * float32 in device buffers; an operand's element (r, c) is at
 * base + o * batch_stride[0] + i * batch_stride[1] + r * ld + c, counted in
 * floats. A batch stride of 0 shares one matrix among the batch (weights).
 *   bias  optional vector: M floats added per row (a conv's per-output-
 *         channel bias, C being [K_out, H*W]) or N per column; shared by
 *         every batch index; not scaled by beta.
 *   D     optional addend, beta times: element (r, c) of batch (o, i) at
 *         o * batch_stride[0] + i * batch_stride[1] + r * row_stride +
 *         c * col_stride, col_stride 0 or 1; zero strides broadcast it.
 *         Serves Gemm's C input (any unidirectional broadcast) and a fused
 *         residual add (D laid out like C, beta = 1). Only one of the two
 *         per product.
 *   act   applied last, per element.
 * C must not overlap A, B or D. Sizes and strides must stay below 2^31
 * floats per buffer (the kernels index with 32-bit ints).
 *
 * Life: weft_gemm_prepare in the op's prepare (picks tiles for the device,
 * builds kernels, packs constant operands once into the layout the inner
 * loop reads and uploads them, states its workspace), weft_gemm_enqueue in
 * the op's enqueue (any number of times), weft_gemm_plan_release in the
 * op's release. A plan is plain data owned by the caller (embed it in the
 * op's state); its kernels and uploaded buffers belong to the session.
 *
 * Two back ends: WEFT_GEMM_WEFT (cl/gemm.cl: register tiles, vector loads,
 * no local memory on CPU-class devices; local-memory tiles on others) and
 * WEFT_GEMM_CLBLAST (CLBlast's SGEMM on the session's queue, the epilogue
 * in a second kernel; only when weft was built with WEFT_CLBLAST; its own
 * kernels leave no event in the session's per-node profile).
 * weft_gemm_backend_available says whether a back end can run here.
 */
#ifndef WEFT_OPS_GEMM_ENGINE_H
#define WEFT_OPS_GEMM_ENGINE_H

#include <stddef.h>

#include "ops/op.h"

typedef enum weft_gemm_backend {
    WEFT_GEMM_WEFT = 0,
    WEFT_GEMM_CLBLAST = 1
} weft_gemm_backend;

/* Codes shared with cl/gemm.cl (-D GEMM_ACT). */
typedef enum weft_gemm_act {
    WEFT_GEMM_ACT_NONE = 0,
    WEFT_GEMM_ACT_RELU = 1,
    WEFT_GEMM_ACT_LEAKY_RELU = 2, /* x < 0 ? act_alpha * x : x */
    WEFT_GEMM_ACT_CLIP = 3,       /* min(max(x, act_alpha), act_beta); ReLU6 is (0, 6) */
    WEFT_GEMM_ACT_SIGMOID = 4,
    WEFT_GEMM_ACT_TANH = 5,
    WEFT_GEMM_ACT_HARD_SWISH = 6  /* x * clip(x / 6 + 1 / 2, 0, 1) (ONNX HardSwish) */
} weft_gemm_act;

/* The activation a fusion pass attached to node n (src/graph/
 * pass_fuse_activation.c): _weft_activation "Relu", "LeakyRelu", "Clip",
 * "Sigmoid", "Tanh" or "HardSwish"; _weft_alpha (LeakyRelu's alpha
 * [0.01], Clip's min [-inf]); _weft_beta (Clip's max [+inf]). *act is
 * WEFT_GEMM_ACT_NONE without one. Returns 0 with why filled when the
 * attributes name nothing the epilogues apply. Every kernel with the fused
 * epilogue (the GEMM engine, the convolutions) reads them through this. */
int weft_fused_activation(const weft_node *n, weft_gemm_act *act, float *alpha, float *beta,
                          char *why, size_t cap);

typedef enum weft_gemm_bias {
    WEFT_GEMM_BIAS_NONE = 0,
    WEFT_GEMM_BIAS_ROW = 1, /* M floats: bias[r] added to row r */
    WEFT_GEMM_BIAS_COL = 2  /* N floats: bias[c] added to column c */
} weft_gemm_bias;

typedef struct weft_gemm_operand {
    /* 0: op(X) = X, element (r, c) of op(X) at r * ld + c.
     * 1: op(X) = X^T, element (r, c) of op(X) at c * ld + r. */
    int trans;
    size_t ld;
    size_t batch_stride[2];
    /* Non-NULL: the operand is a constant whose floats are here (as the
     * strides above describe them), packed and uploaded by prepare; the
     * buffer passed to enqueue for it is then ignored (may be NULL). Read
     * during prepare only. */
    const float *host;
} weft_gemm_operand;

typedef struct weft_gemm_desc {
    size_t m, n, k;          /* each >= 1 */
    size_t batch[2];         /* each >= 1 ({1, 1} for one product) */
    weft_gemm_operand a, b;
    size_t ldc;              /* >= n */
    size_t c_batch_stride[2];
    float alpha;
    weft_gemm_bias bias;
    int has_d;               /* D present */
    float beta;
    size_t d_row_stride, d_col_stride, d_batch_stride[2];
    weft_gemm_act act;
    float act_alpha, act_beta;
    weft_gemm_backend backend;
} weft_gemm_desc;

/* A desc for one product C[M, N] = A[M, K] * B[K, N], all contiguous,
 * alpha 1, no epilogue, back end WEFT_GEMM_WEFT: set what differs. */
void weft_gemm_desc_init(weft_gemm_desc *d, size_t m, size_t n, size_t k);

/* The buffers of one enqueue. Offsets count floats. The workspace, when
 * the plan asks for one (plan->workspace_bytes > 0), must hold that many
 * bytes from workspace_off floats on; it is scratch, dead after the call. */
typedef struct weft_gemm_buffers {
    cl_mem a, b, c, bias, d, workspace;
    size_t a_off, b_off, c_off, bias_off, d_off, workspace_off;
} weft_gemm_buffers;

/* Everything below is the engine's own: read only workspace_bytes. */
typedef struct weft_gemm_plan {
    weft_gemm_desc desc;     /* host pointers cleared */
    size_t workspace_bytes;
    int tm, tn;              /* register tile of one work-item (weft back end) */
    int a_packed, b_packed;  /* operand read from a packed copy */
    int a_const, b_const;    /* ... uploaded once by prepare */
    cl_mem a_pack, b_pack;   /* the uploaded constants (packed for the weft back end) */
    size_t a_pack_stride[2], b_pack_stride[2]; /* per batch index, floats */
    size_t a_ws_off, b_ws_off;                 /* run-time packs in the workspace, floats */
    cl_kernel main, pack_a, pack_b, epilogue;
    int local_one;           /* launch work-groups of one item */
    int local_rt;            /* > 0: gemm_local, work-groups of local_rt^2 items */
} weft_gemm_plan;

/* Whether `backend` can run on this device: 0 with why filled when not
 * (CLBlast not built in). */
int weft_gemm_backend_available(weft_gemm_backend backend, const weft_device_info *device,
                                char *why, size_t why_size);

/* Checks desc (WEFT_ERR_INVALID_ARGUMENT naming the node and the field
 * when inconsistent), chooses tiles, builds the kernels and uploads packed
 * constants through p. On failure the plan holds nothing to release. */
weft_status weft_gemm_prepare(weft_prepare *p, const weft_gemm_desc *desc, weft_gemm_plan *plan);

/* Enqueues the product on r->queue (kernels, and CLBlast's own when that
 * back end). Nothing is waited for. */
weft_status weft_gemm_enqueue(weft_run *r, const weft_gemm_plan *plan,
                              const weft_gemm_buffers *buffers);

/* Estimated seconds for the product on this device with this back end
 * (FLOPs and bytes against a per-device-class rate). */
double weft_gemm_cost(const weft_gemm_desc *desc, const weft_device_info *device);

/* NULL-safe; frees nothing the session owns. */
void weft_gemm_plan_release(weft_gemm_plan *plan);

/* The engine's tile variants for tuning (weft_op_impl.variant): the name
 * of variant k >= 1 on this device, NULL past the last. weft_gemm_prepare
 * takes p->variant as one of these (0: the table's choice), so an
 * implementation with variants of its own clears it before calling. */
const char *weft_gemm_variant(const weft_device_info *device, int k);

#endif
