/*
 * libFuzzer target for the ONNX importer: any bytes through
 * weft_graph_load_onnx_memory. A success must give a graph and a failure
 * none, with a message; ASan (built in) catches the rest, and libFuzzer's
 * -malloc_limit_mb catches an allocation sized by an unchecked field.
 * Built and run by tests/fuzz/CMakeLists.txt (see its header).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "weft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    weft_graph *g = NULL;
    weft_status st = weft_graph_load_onnx_memory(data, size, &g);
    if ((st == WEFT_OK) != (g != NULL) || (st != WEFT_OK && !*weft_last_error()))
        abort();
    /* Loaded graphs go on through validation and shape inference, which
     * read what the importer let through. */
    if (g)
        (void)weft_graph_validate(g);
    weft_graph_release(g);
    return 0;
}
