/*
 * Graph passes: each a function over a validated graph (shapes inferred)
 * that marks nodes removed or rewires them; weft_graph_compact() then
 * drops what was removed. Each reports how many nodes it changed.
 */
#ifndef WEFT_GRAPH_PASSES_H
#define WEFT_GRAPH_PASSES_H

#include "graph/graph.h"

/* Constant results larger than this stay nodes: folding trades device
 * work for host memory and start-up time. */
#define WEFT_FOLD_MAX_BYTES ((size_t)16 << 20)

/* How many times value v is read by live nodes, a graph output counting
 * as one read. */
size_t weft_value_uses(const weft_graph *g, int v);

/* Identity, and Dropout at inference (its mask unused), bypassed: their
 * consumers read the input directly. Kept when the output is a graph
 * output. */
weft_status weft_pass_remove_identity(weft_graph *g, size_t *changed);

/* Nodes whose outputs nobody uses (transitively), removed. */
weft_status weft_pass_remove_dead(weft_graph *g, size_t *changed);

/* Nodes computable on the host now — every input constant, or a Shape of
 * a tensor whose shape is known — replaced by constants, computed with the
 * reference ops. Results above max_bytes stay nodes. */
weft_status weft_pass_fold_constants(weft_graph *g, size_t max_bytes, size_t *changed);

/* One node of the folding pass, for validation to fold as it infers:
 * whether it can fold (and its results fit in max_bytes), and folding it
 * (its outputs become constants, the node is marked removed). */
int weft_node_foldable(const weft_graph *g, const weft_node *n, size_t max_bytes);
weft_status weft_fold_node(weft_graph *g, weft_node *n);

/* BatchNormalization (inference form) folded into the Conv,
 * ConvTranspose or Gemm producing its input, when only the BN reads that
 * output and the weights, bias and BN parameters are float32 constants:
 * new weights and bias become new constants, the producer writes the
 * BN's output and the BN is marked removed (pass_fold_batch_norm.c). */
weft_status weft_pass_fold_batch_norm(weft_graph *g, size_t *changed);

/* A residual Add(a, b) — same-shape float32 operands, no broadcasting —
 * fused into the Conv producing a (or else b) when only the Add reads that
 * output and the conv has no fused activation yet: the conv gets the other
 * operand as its internal input 3 and the attribute _weft_residual = 1,
 * computes act(conv + bias + residual) and writes the Add's output; the
 * Add is marked removed (pass_fuse_residual.c). Runs before
 * weft_pass_fuse_activation, so that a Relu after the Add fuses too. */
weft_status weft_pass_fuse_residual(weft_graph *g, size_t *changed);

/* An activation (Relu, LeakyRelu, Clip with constant bounds, Sigmoid,
 * Tanh, HardSwish) folded into the Conv, ConvTranspose, Gemm or MatMul
 * producing its input, when only it reads that output: the producer gets
 * the attributes _weft_activation (the activation's op type), _weft_alpha
 * and _weft_beta (LeakyRelu's alpha; Clip's min and max), which its
 * kernels apply in their epilogue and the reference after the op, and
 * writes the activation's output; the activation is marked removed
 * (pass_fuse_activation.c). */
weft_status weft_pass_fuse_activation(weft_graph *g, size_t *changed);

/* The usual sequence before planning: validate, the passes above, compact,
 * validate again. */
weft_status weft_graph_simplify(weft_graph *g);

#endif
