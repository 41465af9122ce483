/* What ops may ask of the runtime (declared in ops/op.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "runtime/buffers.h"
#include "runtime/placement.h"
#include "runtime/program.h"
#include "runtime/session.h"

void weft_options_init(weft_options *o)
{
    o->text[0] = '\0';
    o->overflow = 0;
}

static void append(weft_options *o, const char *fmt, const char *name, const char *value)
{
    size_t at = strlen(o->text);
    int n = snprintf(o->text + at, sizeof o->text - at, fmt, at ? " " : "", name, value);
    if (n < 0 || (size_t)n >= sizeof o->text - at) {
        o->text[at] = '\0';
        o->overflow = 1;
    }
}

void weft_options_define(weft_options *o, const char *name, const char *value)
{
    append(o, "%s-D %s=%s", name, value);
}

void weft_options_define_int(weft_options *o, const char *name, long long value)
{
    char v[32];
    snprintf(v, sizeof v, "%lld", value);
    weft_options_define(o, name, v);
}

void weft_options_define_float(weft_options *o, const char *name, float value)
{
    /* %a keeps every bit; OpenCL C accepts hexadecimal float literals. */
    char v[48];
    snprintf(v, sizeof v, "%af", (double)value);
    weft_options_define(o, name, v);
}

static weft_status grow(void **list, size_t *capacity, size_t count, size_t elem)
{
    if (count < *capacity)
        return WEFT_OK;
    size_t cap = *capacity ? 2 * *capacity : 16;
    void *grown = realloc(*list, cap * elem);
    if (!grown)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the session");
    *list = grown;
    *capacity = cap;
    return WEFT_OK;
}

weft_status weft_op_kernel(weft_prepare *p, const char *program, const weft_options *options,
                           const char *kernel_name, cl_kernel *kernel)
{
    weft_session *s = p->session;
    if (options && options->overflow)
        return weft_node_fail(p->node, WEFT_ERR_INTERNAL, "build options for '%s' too long",
                              program);
    weft_device_state *ds = s->current ? weft_step_device(s, s->current) : s->device;
    size_t device = (size_t)(ds - s->context->devices);
    if (weft_test_hook("WEFT_TEST_BUILD_FAIL", device, p->node->op))
        return weft_node_fail(p->node, WEFT_ERR_BUILD,
                              "building program '%s' on device %zu '%s' failed "
                              "(forced by WEFT_TEST_BUILD_FAIL)",
                              program, device, ds->cl.info.name);
    cl_program prog;
    weft_status st = weft_program_get(s->context, device, program, options ? options->text : "",
                                      &prog);
    if (st == WEFT_ERR_UNSUPPORTED) {
        /* A binary-only device lacks this binary: name the node that needs it. */
        char detail[1024];
        snprintf(detail, sizeof detail, "%s", weft_last_error());
        return weft_node_fail(p->node, st, "%s", detail);
    }
    if (st != WEFT_OK)
        return st;
    st = grow((void **)&s->kernels, &s->kernel_capacity, s->kernel_count, sizeof *s->kernels);
    if (st != WEFT_OK)
        return st;
    cl_int err;
    cl_kernel k = clCreateKernel(prog, kernel_name, &err);
    if (!k)
        return weft_node_fail(p->node, WEFT_ERR_OPENCL, "clCreateKernel('%s') of program '%s' on device '%s': %s",
                              kernel_name, program, ds->cl.info.name, weft_cl_error_name(err));
    s->kernels[s->kernel_count++] = k;
    *kernel = k;
    return WEFT_OK;
}

weft_status weft_op_upload(weft_prepare *p, const void *data, size_t bytes, cl_mem *buffer)
{
    weft_session *s = p->session;
    weft_status st = grow((void **)&s->uploads, &s->upload_capacity, s->upload_count,
                          sizeof *s->uploads);
    if (st != WEFT_OK)
        return st;
    weft_device_state *ds = s->current ? weft_step_device(s, s->current) : s->device;
    cl_int err;
    cl_mem m = weft_buffer_create(ds->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                              bytes ? bytes : 4, (void *)data, &err);
    if (!m)
        return weft_node_fail(p->node, WEFT_ERR_OPENCL, "uploading %zu bytes to device '%s': %s",
                              bytes, ds->cl.info.name, weft_cl_error_name(err));
    s->uploads[s->upload_count++] = m;
    s->memory.constant_bytes += bytes;
    *buffer = m;
    return WEFT_OK;
}

size_t weft_op_max_local(const weft_prepare *p, cl_kernel kernel)
{
    size_t limit = 0;
    const weft_session *s = p->session;
    const weft_device_state *ds = s->current ? weft_step_device(s, s->current) : s->device;
    if (clGetKernelWorkGroupInfo(kernel, ds->cl.device, CL_KERNEL_WORK_GROUP_SIZE,
                                 sizeof limit, &limit, NULL) != CL_SUCCESS ||
        limit == 0)
        limit = 1;
    return limit;
}

size_t weft_op_local_size(const weft_prepare *p, cl_kernel kernel, size_t cap)
{
    size_t limit = weft_op_max_local(p, kernel);
    return limit < cap ? limit : cap;
}

weft_status weft_op_set_args(weft_run *r, cl_kernel kernel, const weft_arg *args, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        cl_int err = clSetKernelArg(kernel, (cl_uint)i, args[i].size, args[i].value);
        if (err != CL_SUCCESS) {
            char name[128] = "?";
            clGetKernelInfo(kernel, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL);
            return weft_node_fail(r->node, WEFT_ERR_OPENCL, "kernel '%s' argument %zu: %s", name, i,
                                  weft_cl_error_name(err));
        }
    }
    return WEFT_OK;
}

weft_status weft_op_launch(weft_run *r, cl_kernel kernel, cl_uint dims, const size_t *global,
                           const size_t *local)
{
    weft_session *s = r->session;
    for (cl_uint d = 0; d < dims; d++)
        if (global[d] == 0)
            return WEFT_OK; /* an empty tensor: nothing to do */
    weft_step *step = s->current;
    cl_event event = NULL;
    if (s->profiling && step) {
        weft_status st = grow((void **)&step->events, &step->event_capacity, step->event_count,
                              sizeof *step->events);
        if (st != WEFT_OK)
            return st;
    }
    cl_int err = clEnqueueNDRangeKernel(r->queue, kernel, dims, NULL, global, local, 0, NULL,
                                        s->profiling && step ? &event : NULL);
    if (err != CL_SUCCESS) {
        char name[128] = "?";
        clGetKernelInfo(kernel, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL);
        return weft_node_fail(r->node, WEFT_ERR_OPENCL, "enqueue of kernel '%s' on device '%s': %s",
                              name, step ? weft_step_device(s, step)->cl.info.name : s->device->cl.info.name,
                              weft_cl_error_name(err));
    }
    if (event)
        step->events[step->event_count++] = event;
    return WEFT_OK;
}

weft_status weft_op_launch_1d(weft_run *r, cl_kernel kernel, size_t n, size_t local)
{
    size_t global = (n + local - 1) / local * local;
    return weft_op_launch(r, kernel, 1, &global, &local);
}

weft_status weft_op_add_event(weft_run *r, cl_event event)
{
    weft_session *s = r->session;
    weft_step *step = s->current;
    if (!event)
        return WEFT_OK;
    if (!s->profiling || !step) {
        clReleaseEvent(event);
        return WEFT_OK;
    }
    weft_status st =
        grow((void **)&step->events, &step->event_capacity, step->event_count, sizeof *step->events);
    if (st != WEFT_OK) {
        clReleaseEvent(event);
        return st;
    }
    step->events[step->event_count++] = event;
    return WEFT_OK;
}

int weft_op_refuse(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return 0;
}
