/*
 * The op registry (src/ops/impls.inc) against the op kinds
 * (src/graph/op_kinds.inc) and the reference (src/ref): every
 * implementation is well formed and serves known op kinds, and every op
 * kind that the graph/session issue promises runs somewhere — on a
 * device, as a view, or folded on the host.
 */
#include <string.h>

#include "graph/op_kind.h"
#include "ops/op.h"
#include "ref/ref.h"
#include "test_common.h"

static void test_impls_well_formed(void **state)
{
    (void)state;
    assert_true(weft_op_impl_count > 0);
    for (size_t i = 0; i < weft_op_impl_count; i++) {
        const weft_op_impl *impl = weft_op_impls[i];
        assert_non_null(impl->name);
        assert_non_null(impl->ops);
        assert_non_null(impl->ops[0]);
        assert_non_null(impl->supports);
        /* A view runs nothing; everything else must enqueue. */
        if (impl->alias)
            assert_null(impl->enqueue);
        else
            assert_non_null(impl->enqueue);
        for (const char *const *op = impl->ops; *op; op++) {
            if (!weft_op_kind_find(*op))
                fail_msg("implementation '%s' serves unknown op '%s'", impl->name, *op);
            /* Names are unique per op, so WEFT_IMPL=op:name is unambiguous. */
            for (size_t j = 0; j < i; j++)
                for (const char *const *o = weft_op_impls[j]->ops; *o; o++)
                    if (strcmp(*o, *op) == 0 && strcmp(weft_op_impls[j]->name, impl->name) == 0)
                        fail_msg("two implementations named '%s' serve %s", impl->name, *op);
        }
    }
}

static int served(const char *op)
{
    for (size_t i = 0; i < weft_op_impl_count; i++)
        for (const char *const *o = weft_op_impls[i]->ops; *o; o++)
            if (strcmp(*o, op) == 0)
                return 1;
    return 0;
}

static void test_promised_ops_run(void **state)
{
    (void)state;
    /* The ops of the graph/session issue. Shape and Constant are always
     * folded on the host, so they need a reference, not a kernel. */
    static const char *const device_ops[] = {
        "Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Relu", "LeakyRelu", "PRelu", "Elu",
        "Selu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Gelu", "Softplus", "Softsign",
        "Mish", "Clip", "Erf", "Sqrt", "Exp", "Log", "Neg", "Abs", "Softmax", "LogSoftmax",
        "Concat", "Split", "Slice", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze",
        "Pad", "DepthToSpace", "SpaceToDepth", "ReduceMean", "Identity", "Dropout",
    };
    for (size_t i = 0; i < sizeof device_ops / sizeof *device_ops; i++) {
        if (!weft_op_kind_find(device_ops[i]))
            fail_msg("%s is not an op kind", device_ops[i]);
        if (!served(device_ops[i]))
            fail_msg("no implementation runs %s", device_ops[i]);
        if (!weft_ref_find(device_ops[i]))
            fail_msg("%s has no C reference", device_ops[i]);
    }
    assert_non_null(weft_ref_find("Shape"));
    assert_non_null(weft_ref_find("Constant"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_impls_well_formed),
        cmocka_unit_test(test_promised_ops_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
