#include <string.h>

#include "graph/op_kind.h"

const weft_op_kind weft_op_kinds[] = {
#define X(op, min_in, max_in, min_out, max_out, infer) \
    {#op, min_in, max_in, min_out, max_out, infer},
#include "graph/op_kinds.inc"
#undef X
};

const size_t weft_op_kind_count = sizeof weft_op_kinds / sizeof weft_op_kinds[0];

const weft_op_kind *weft_op_kind_find(const char *op)
{
    for (size_t i = 0; i < weft_op_kind_count; i++)
        if (strcmp(weft_op_kinds[i].name, op) == 0)
            return &weft_op_kinds[i];
    return NULL;
}
