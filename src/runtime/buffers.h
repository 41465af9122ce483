/*
 * Every device buffer weft creates goes through these, so the number of
 * live ones is known: tests use it to show that runs allocate nothing and
 * that releasing a session frees everything.
 */
#ifndef WEFT_RUNTIME_BUFFERS_H
#define WEFT_RUNTIME_BUFFERS_H

#include <stdint.h>

#include "runtime/cl.h"

cl_mem weft_buffer_create(cl_context ctx, cl_mem_flags flags, size_t bytes, void *host,
                          cl_int *err);
cl_mem weft_buffer_create_sub(cl_mem parent, cl_mem_flags flags, size_t origin, size_t bytes,
                              cl_int *err);
void weft_buffer_release(cl_mem mem);
/* Buffers created and not yet released, over the whole process. */
int64_t weft_buffer_live_count(void);

#endif
