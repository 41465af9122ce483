#include "ops/op.h"

const weft_op_impl *const weft_op_impls[] = {
#define X(name) &weft_impl_##name,
#include "ops/impls.inc"
#undef X
};

const size_t weft_op_impl_count = sizeof weft_op_impls / sizeof weft_op_impls[0];
