/*
 * Ops that only reinterpret a tensor's shape — Reshape, Flatten, Squeeze,
 * Unsqueeze, and Identity/Dropout when a pass could not remove them: the
 * output is the input's buffer, so nothing runs.
 */
#include "ops/op.h"

static const char *const alias_ops[] = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity",
                                        "Dropout", NULL};

static int alias_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                          char *why, size_t cap)
{
    (void)g, (void)d, (void)why, (void)cap;
    /* A Dropout mask would need its own buffer; shape inference refuses it. */
    return n->output_count == 1 || n->outputs[1] < 0;
}

static double alias_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    (void)g, (void)n, (void)d;
    return 0;
}

const weft_op_impl weft_impl_alias = {
    .name = "alias",
    .ops = alias_ops,
    .alias = 1,
    .supports = alias_supports,
    .cost = alias_cost,
};
