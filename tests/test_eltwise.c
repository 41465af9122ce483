/*
 * Element-wise ops (src/ops/eltwise.c, cl/eltwise.cl) against src/ref over
 * a grid of shapes: ranks 0 to 5, odd and size-1 dims, and numpy
 * broadcasting corner cases. Also run under oclgrind.
 */
#include <stdio.h>
#include <string.h>

#include "op_test.h"
#include "test_common.h"

typedef struct shape {
    int rank;
    int64_t dims[5];
} shape;

static const shape unary_shapes[] = {
    {0, {0}}, {1, {1}}, {1, {7}}, {2, {3, 5}}, {3, {2, 1, 9}}, {4, {1, 3, 7, 5}}, {5, {2, 1, 3, 1, 4}},
    {1, {1031}},
};

static const struct {
    const char *op;
    float lo, hi;             /* input range where the op is defined */
    op_attr attrs[2];
} unary_ops[] = {
    {"Relu", 0, 0, {{0}}},
    {"LeakyRelu", 0, 0, {{.name = "alpha", .type = 'f', .f = 0.3f}}},
    {"LeakyRelu", 0, 0, {{0}}},
    {"Elu", 0, 0, {{.name = "alpha", .type = 'f', .f = 0.7f}}},
    {"Selu", 0, 0, {{0}}},
    {"Sigmoid", -20, 20, {{0}}},
    {"HardSigmoid", -5, 5, {{.name = "alpha", .type = 'f', .f = 0.3f}, {.name = "beta", .type = 'f', .f = 0.4f}}},
    {"HardSwish", -5, 5, {{0}}},
    {"Tanh", 0, 0, {{0}}},
    {"Gelu", 0, 0, {{0}}},
    {"Gelu", 0, 0, {{.name = "approximate", .type = 's', .s = "tanh"}}},
    {"Softplus", -30, 30, {{0}}},
    {"Softsign", 0, 0, {{0}}},
    {"Mish", -10, 10, {{0}}},
    {"Clip", 0, 0, {{.name = "min", .type = 'f', .f = -0.5f}, {.name = "max", .type = 'f', .f = 1.25f}}},
    {"Erf", 0, 0, {{0}}},
    {"Sqrt", 0.01f, 10, {{0}}},
    {"Exp", -10, 10, {{0}}},
    {"Log", 0.01f, 100, {{0}}},
    {"Neg", 0, 0, {{0}}},
    {"Abs", 0, 0, {{0}}},
};

static void test_unary_grid(void **state)
{
    for (size_t o = 0; o < sizeof unary_ops / sizeof *unary_ops; o++)
        for (size_t s = 0; s < sizeof unary_shapes / sizeof *unary_shapes; s++) {
            op_case c = {.op = unary_ops[o].op, .inputs = 1};
            c.in[0].rank = unary_shapes[s].rank;
            memcpy(c.in[0].dims, unary_shapes[s].dims, sizeof unary_shapes[s].dims);
            c.in[0].lo = unary_ops[o].lo;
            c.in[0].hi = unary_ops[o].hi;
            memcpy(c.attrs, unary_ops[o].attrs, sizeof unary_ops[o].attrs);
            /* OpenCL allows exp/tanh/erf a few ulp (OpenCL 1.2, 7.4); the
             * compositions (Gelu, Mish, Selu) add a few more. */
            c.atol = 2e-6f;
            c.rtol = 2e-5f;
            char label[96];
            snprintf(label, sizeof label, "%s #%zu shape %zu", c.op, o, s);
            run_op_case(*state, &c, label);
        }
}

/* Clip with bounds as constant inputs (opset 11+), one bound absent, and
 * min > max. */
static void test_clip_inputs(void **state)
{
    static const float lo = -0.25f, hi = 0.5f;
    op_case both = {.op = "Clip", .inputs = 3,
                    .in = {{.rank = 2, .dims = {4, 9}},
                           {.rank = 0, .constant = 1, .f32 = &lo},
                           {.rank = 0, .constant = 1, .f32 = &hi}}};
    run_op_case(*state, &both, "clip min+max inputs");
    op_case max_only = {.op = "Clip", .inputs = 3,
                        .in = {{.rank = 2, .dims = {4, 9}}, {.rank = -1},
                               {.rank = 0, .constant = 1, .f32 = &hi}}};
    run_op_case(*state, &max_only, "clip max input only");
    /* min > max: every element becomes max (Clip-13). */
    static const float above = 0.75f, below = -0.75f;
    op_case crossed = {.op = "Clip", .inputs = 3,
                       .in = {{.rank = 2, .dims = {4, 9}},
                              {.rank = 0, .constant = 1, .f32 = &above},
                              {.rank = 0, .constant = 1, .f32 = &below}}};
    run_op_case(*state, &crossed, "clip min > max");
}

/* The integer binary ops on int64 graph inputs, broadcast and not, with
 * values that overflow int32 and negative ones (Div truncates toward 0). */
static void test_binary_int64(void **state)
{
    static const char *const ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum"};
    int64_t a[36], b[9];
    for (int i = 0; i < 36; i++)
        a[i] = (i % 2 ? -1 : 1) * ((int64_t)i * 987654321 + 5);
    for (int i = 0; i < 9; i++)
        b[i] = (i % 3 == 0 ? -1 : 1) * (i + 2); /* never 0 */
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        op_case same = {.op = ops[k], .inputs = 2,
                        .in = {{.rank = 2, .dims = {4, 9}, .dtype = WEFT_INT64, .i64 = a},
                               {.rank = 2, .dims = {4, 9}, .dtype = WEFT_INT64, .i64 = a}}};
        op_case bcast = {.op = ops[k], .inputs = 2,
                         .in = {{.rank = 2, .dims = {4, 9}, .dtype = WEFT_INT64, .i64 = a},
                                {.rank = 1, .dims = {9}, .dtype = WEFT_INT64, .i64 = b}}};
        char label[64];
        snprintf(label, sizeof label, "%s int64", ops[k]);
        run_op_case(*state, &same, label);
        snprintf(label, sizeof label, "%s int64 broadcast", ops[k]);
        run_op_case(*state, &bcast, label);
    }
}

static const struct {
    shape a, b;
} binary_shapes[] = {
    {{1, {7}}, {1, {7}}},
    {{3, {2, 3, 5}}, {3, {2, 3, 5}}},
    {{3, {2, 3, 5}}, {1, {5}}},          /* trailing broadcast */
    {{3, {2, 3, 5}}, {0, {0}}},          /* scalar */
    {{0, {0}}, {3, {2, 3, 5}}},          /* scalar first */
    {{4, {2, 3, 4, 5}}, {4, {1, 3, 1, 1}}}, /* per-channel bias */
    {{4, {2, 1, 4, 1}}, {4, {1, 3, 1, 5}}}, /* both broadcast */
    {{2, {1, 1}}, {5, {2, 1, 3, 1, 4}}},    /* rank difference both ways */
    {{5, {2, 3, 1, 5, 7}}, {3, {3, 1, 7}}},
    {{2, {31, 33}}, {2, {31, 1}}},
};

/* Whether `from` broadcasts to `to` without growing `to`. */
static int broadcasts_to(const shape *from, const shape *to)
{
    if (from->rank > to->rank)
        return 0;
    for (int i = 0; i < from->rank; i++) {
        int64_t f = from->dims[from->rank - 1 - i], t = to->dims[to->rank - 1 - i];
        if (f != 1 && f != t)
            return 0;
    }
    return 1;
}

static void test_binary_grid(void **state)
{
    static const char *const ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "PRelu"};
    for (size_t o = 0; o < sizeof ops / sizeof *ops; o++)
        for (size_t s = 0; s < sizeof binary_shapes / sizeof *binary_shapes; s++) {
            /* PRelu's slope broadcasts to X only one way. */
            if (strcmp(ops[o], "PRelu") == 0 && !broadcasts_to(&binary_shapes[s].b, &binary_shapes[s].a))
                continue;
            op_case c = {.op = ops[o], .inputs = 2};
            c.in[0].rank = binary_shapes[s].a.rank;
            memcpy(c.in[0].dims, binary_shapes[s].a.dims, sizeof binary_shapes[s].a.dims);
            c.in[1].rank = binary_shapes[s].b.rank;
            memcpy(c.in[1].dims, binary_shapes[s].b.dims, sizeof binary_shapes[s].b.dims);
            if (strcmp(ops[o], "Div") == 0)
                c.in[1].lo = 0.5f, c.in[1].hi = 3.0f; /* keep away from 0 */
            char label[96];
            snprintf(label, sizeof label, "%s shapes %zu", ops[o], s);
            run_op_case(*state, &c, label);
        }
}

static void test_variadic(void **state)
{
    static const char *const ops[] = {"Sum", "Max", "Min"};
    for (size_t o = 0; o < 3; o++) {
        op_case one = {.op = ops[o], .inputs = 1, .in = {{.rank = 2, .dims = {3, 4}}}};
        run_op_case(*state, &one, ops[o]);
        op_case four = {.op = ops[o], .inputs = 4,
                        .in = {{.rank = 2, .dims = {3, 4}}, {.rank = 1, .dims = {4}},
                               {.rank = 2, .dims = {3, 1}}, {.rank = 0}}};
        run_op_case(*state, &four, ops[o]);
        /* The first operand broadcasts up to the output. */
        op_case grow = {.op = ops[o], .inputs = 3,
                        .in = {{.rank = 1, .dims = {4}}, {.rank = 2, .dims = {3, 4}},
                               {.rank = 2, .dims = {3, 4}}}};
        run_op_case(*state, &grow, ops[o]);
    }
}

/* A constant operand (a bias) goes through the constant-buffer path. */
static void test_constant_operand(void **state)
{
    op_case c = {.op = "Add", .inputs = 2,
                 .in = {{.rank = 4, .dims = {1, 3, 5, 5}},
                        {.rank = 4, .dims = {1, 3, 1, 1}, .constant = 1}}};
    run_op_case(*state, &c, "add constant bias");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unary_grid),
        cmocka_unit_test(test_clip_inputs),
        cmocka_unit_test(test_binary_int64),
        cmocka_unit_test(test_binary_grid),
        cmocka_unit_test(test_variadic),
        cmocka_unit_test(test_constant_operand),
    };
    return cmocka_run_group_tests(tests, op_test_setup, op_test_teardown);
}
