/* Classifies one input with an ONNX model through weft's C API:
 *   classify MODEL.onnx INPUT.f32
 * INPUT.f32 holds the model's (single) input as raw little-endian float32;
 * the model's first output is taken as class scores. Prints the device,
 * the best class and its score. */
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>

static int read_input(const char *path, void *data, size_t size)
{
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(data, 1, size, f) : 0;
    int extra = f ? fgetc(f) != EOF : 0;
    if (f)
        fclose(f);
    if (got != size || extra) {
        fprintf(stderr, "classify: %s must hold exactly %zu bytes of float32\n", path, size);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: classify MODEL.onnx INPUT.f32\n");
        return 2;
    }
    weft_graph *graph = NULL;
    weft_context *ctx = NULL;
    weft_session *session = NULL;
    weft_tensor in, out;
    weft_device_info device;

    weft_status st = weft_graph_load_onnx(argv[1], &graph);
    if (st == WEFT_OK)
        st = weft_context_create(NULL, &ctx); /* the best device, or WEFT_DEVICE */
    if (st == WEFT_OK)
        st = weft_session_create(ctx, graph, NULL, &session);
    weft_graph_release(graph); /* the session keeps what it needs */
    if (st == WEFT_OK)
        st = weft_session_input_info(session, 0, &in);   /* name, shape, size_bytes */
    if (st == WEFT_OK)
        st = weft_session_output_info(session, 0, &out);
    float *x = st == WEFT_OK ? malloc(in.size_bytes) : NULL;
    float *scores = st == WEFT_OK ? malloc(out.size_bytes) : NULL;
    if (st == WEFT_OK && (!x || !scores))
        st = WEFT_ERR_OUT_OF_MEMORY;
    int bad_input = st == WEFT_OK && !read_input(argv[2], x, in.size_bytes);
    if (bad_input)
        st = WEFT_ERR_IO;
    in.data = x;
    out.data = scores;
    if (st == WEFT_OK)
        st = weft_session_run(session, &in, 1, &out, 1);
    if (st == WEFT_OK)
        st = weft_context_device_info(ctx, 0, &device);
    if (st == WEFT_OK) {
        size_t n = out.size_bytes / sizeof(float), best = 0;
        for (size_t i = 1; i < n; i++)
            if (scores[i] > scores[best])
                best = i;
        printf("on %s: class %zu (score %.4f)\n", device.name, best, scores[best]);
    } else if (!bad_input) {
        fprintf(stderr, "classify: %s: %s\n", weft_status_name(st), weft_last_error());
    }
    free(x);
    free(scores);
    weft_session_release(session);
    weft_context_release(ctx);
    return st == WEFT_OK ? 0 : 1;
}
