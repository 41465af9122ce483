/* The one include of the OpenCL headers: weft's host code uses the 1.2 API. */
#ifndef WEFT_RUNTIME_CL_H
#define WEFT_RUNTIME_CL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif

/* "CL_OUT_OF_RESOURCES" for -5; "CL_UNKNOWN_ERROR(-N)" when not a 1.2 code. */
const char *weft_cl_error_name(cl_int code);

#endif
