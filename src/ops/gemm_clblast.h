/*
 * The CLBlast back end of the GEMM engine (gemm_engine.h), for gemm.c
 * only. Without WEFT_CLBLAST at build time, available() says so and the
 * others fail with WEFT_ERR_UNSUPPORTED.
 */
#ifndef WEFT_OPS_GEMM_CLBLAST_H
#define WEFT_OPS_GEMM_CLBLAST_H

#include "ops/gemm_engine.h"

/* The addend's mode for the kernels' d_mode argument (cl/gemm.cl). */
cl_int weft_gemm_d_mode(const weft_gemm_desc *desc);

/* cl/gemm.cl's KERNELS: each program holds the one kernel its caller
 * uses, so a driver that makes code for every kernel of a program (PoCL,
 * when the disk cache reads its binary) makes it for that one only. */
enum { WEFT_GEMM_KERNELS_MAIN = 1, WEFT_GEMM_KERNELS_LOCAL = 2, WEFT_GEMM_KERNELS_PACK = 3,
       WEFT_GEMM_KERNELS_EPILOGUE = 4 };

int weft_gemm_clblast_available(char *why, size_t why_size);
weft_status weft_gemm_clblast_prepare(weft_prepare *p, const weft_gemm_desc *desc,
                                      weft_gemm_plan *plan);
weft_status weft_gemm_clblast_enqueue(weft_run *r, const weft_gemm_plan *plan,
                                      const weft_gemm_buffers *buffers);

#endif
