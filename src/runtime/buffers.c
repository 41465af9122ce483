#include <stdatomic.h>

#include "runtime/buffers.h"

static atomic_llong live;

cl_mem weft_buffer_create(cl_context ctx, cl_mem_flags flags, size_t bytes, void *host,
                          cl_int *err)
{
    cl_mem m = clCreateBuffer(ctx, flags, bytes, host, err);
    if (m)
        atomic_fetch_add(&live, 1);
    return m;
}

cl_mem weft_buffer_create_sub(cl_mem parent, cl_mem_flags flags, size_t origin, size_t bytes,
                              cl_int *err)
{
    cl_buffer_region region = {origin, bytes};
    cl_mem m = clCreateSubBuffer(parent, flags, CL_BUFFER_CREATE_TYPE_REGION, &region, err);
    if (m)
        atomic_fetch_add(&live, 1);
    return m;
}

void weft_buffer_release(cl_mem mem)
{
    if (mem && clReleaseMemObject(mem) == CL_SUCCESS)
        atomic_fetch_sub(&live, 1);
}

int64_t weft_buffer_live_count(void)
{
    return (int64_t)atomic_load(&live);
}
