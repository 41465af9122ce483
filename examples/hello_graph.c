/* Builds y = softmax(relu(x * w + b)) with weft's C API, runs it on the
 * best OpenCL device present, and prints the result. */
#include <stdio.h>
#include <weft.h>

#define CHECK(call)                                                                 \
    do {                                                                            \
        weft_status s_ = (call);                                                    \
        if (s_ != WEFT_OK) {                                                        \
            fprintf(stderr, "%s: %s\n", weft_status_name(s_), weft_last_error());   \
            return 1;                                                               \
        }                                                                           \
    } while (0)

int main(void)
{
    const int64_t shape[2] = {2, 4};
    const float w[4] = {1.0f, -2.0f, 0.5f, 3.0f}, b[4] = {0.1f, 0.2f, 0.3f, 0.4f};

    weft_graph *g;
    CHECK(weft_graph_create(&g));
    CHECK(weft_graph_add_input(g, "x", WEFT_FLOAT32, 2, shape));
    CHECK(weft_graph_add_constant(g, "w", WEFT_FLOAT32, 1, &shape[1], w));
    CHECK(weft_graph_add_constant(g, "b", WEFT_FLOAT32, 1, &shape[1], b));
    const char *mul_in[] = {"x", "w"}, *add_in[] = {"xw", "b"};
    const char *xw = "xw", *z = "z", *r = "r", *y = "y";
    CHECK(weft_graph_add_node(g, "Mul", "scale", mul_in, 2, NULL, &xw, 1));
    CHECK(weft_graph_add_node(g, "Add", "shift", add_in, 2, NULL, &z, 1));
    CHECK(weft_graph_add_activation(g, "relu", WEFT_ACT_RELU, 0, 0, "z", "r"));
    weft_attrs *axis;
    CHECK(weft_attrs_create(&axis));
    CHECK(weft_attrs_set_int(axis, "axis", -1));
    CHECK(weft_graph_add_node(g, "Softmax", "softmax", &r, 1, axis, &y, 1));
    weft_attrs_release(axis);
    CHECK(weft_graph_add_output(g, "y"));

    weft_context *ctx;
    weft_session *s;
    CHECK(weft_context_create(NULL, &ctx));
    CHECK(weft_session_create(ctx, g, NULL, &s));
    weft_graph_release(g);

    float x[8] = {1, 2, 3, 4, -1, -2, -3, -4}, out[8];
    weft_tensor in = {.name = "x", .dtype = WEFT_FLOAT32, .rank = 2, .dims = {2, 4},
                      .data = x, .size_bytes = sizeof x};
    weft_tensor res = {.name = "y", .data = out, .size_bytes = sizeof out};
    CHECK(weft_session_run(s, &in, 1, &res, 1));

    weft_device_info info;
    CHECK(weft_context_device_info(ctx, 0, &info));
    printf("on %s:\n", info.name);
    for (int i = 0; i < 2; i++)
        printf("  y[%d] = %.4f %.4f %.4f %.4f\n", i, out[4 * i], out[4 * i + 1],
               out[4 * i + 2], out[4 * i + 3]);
    weft_session_release(s);
    weft_context_release(ctx);
    return 0;
}
