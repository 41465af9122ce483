/*
 * The GEMM engine's CLBlast back end: CLBlastSgemm (row-major, CLBlast's
 * own transposes and leading dimensions) on the session's queue, once per
 * batch index, then cl/gemm.cl's gemm_epilogue in place when the product
 * has a bias, an addend D or an activation. Constants are uploaded as
 * they are (CLBlast packs internally). The event CLBlast returns (that of
 * its last kernel) counts in the session's per-node profile; kernels it
 * enqueues before that one (padding, transposes) are not timed.
 */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "ops/gemm_clblast.h"

#ifndef WEFT_CLBLAST

int weft_gemm_clblast_available(char *why, size_t why_size)
{
    snprintf(why, why_size, "weft was built without CLBlast (configure with -DWEFT_CLBLAST=ON)");
    return 0;
}

weft_status weft_gemm_clblast_prepare(weft_prepare *p, const weft_gemm_desc *desc,
                                      weft_gemm_plan *plan)
{
    (void)desc;
    (void)plan;
    return weft_node_fail(p->node, WEFT_ERR_UNSUPPORTED, "weft was built without CLBlast");
}

weft_status weft_gemm_clblast_enqueue(weft_run *r, const weft_gemm_plan *plan,
                                      const weft_gemm_buffers *buffers)
{
    (void)plan;
    (void)buffers;
    return weft_node_fail(r->node, WEFT_ERR_UNSUPPORTED, "weft was built without CLBlast");
}

#else

#include <clblast_c.h>

int weft_gemm_clblast_available(char *why, size_t why_size)
{
    (void)why;
    (void)why_size;
    return 1;
}

static size_t extent(const weft_gemm_operand *o, size_t rows, size_t cols, const size_t *batch)
{
    size_t r = o->trans ? cols : rows, c = o->trans ? rows : cols;
    return (batch[0] - 1) * o->batch_stride[0] + (batch[1] - 1) * o->batch_stride[1] +
           (r - 1) * o->ld + c;
}

weft_status weft_gemm_clblast_prepare(weft_prepare *p, const weft_gemm_desc *d,
                                      weft_gemm_plan *plan)
{
    weft_status st;
    plan->a_const = d->a.host != NULL;
    plan->b_const = d->b.host != NULL;
    if (plan->a_const &&
        (st = weft_op_upload(p, d->a.host, extent(&d->a, d->m, d->k, d->batch) * sizeof(float),
                             &plan->a_pack)) != WEFT_OK)
        return st;
    if (plan->b_const &&
        (st = weft_op_upload(p, d->b.host, extent(&d->b, d->k, d->n, d->batch) * sizeof(float),
                             &plan->b_pack)) != WEFT_OK)
        return st;
    if (d->bias || d->has_d || d->act) {
        weft_options o;
        weft_options_init(&o);
        weft_options_define_int(&o, "ACT", d->act);
        weft_options_define_int(&o, "KERNELS", WEFT_GEMM_KERNELS_EPILOGUE);
        if ((st = weft_op_kernel(p, "gemm", &o, "gemm_epilogue", &plan->epilogue)) != WEFT_OK)
            return st;
    }
    return WEFT_OK;
}

static weft_status enqueue_epilogue(weft_run *r, const weft_gemm_plan *plan,
                                    const weft_gemm_buffers *bf)
{
    const weft_gemm_desc *d = &plan->desc;
    cl_int m = (cl_int)d->m, n = (cl_int)d->n, b1 = (cl_int)d->batch[1];
    cl_int coff = (cl_int)bf->c_off, cld = (cl_int)d->ldc, cs0 = (cl_int)d->c_batch_stride[0],
           cs1 = (cl_int)d->c_batch_stride[1];
    cl_int biasoff = (cl_int)bf->bias_off, doff = (cl_int)bf->d_off,
           drs = (cl_int)d->d_row_stride, ds0 = (cl_int)d->d_batch_stride[0],
           ds1 = (cl_int)d->d_batch_stride[1];
    float beta = d->beta, aa = d->act_alpha, ab = d->act_beta;
    cl_int bias_mode = (cl_int)d->bias, d_mode = weft_gemm_d_mode(d);
    weft_arg args[] = {WEFT_ARG(m),         WEFT_ARG(n),       WEFT_ARG(b1),     WEFT_ARG(bf->c),
                       WEFT_ARG(coff),      WEFT_ARG(cld),     WEFT_ARG(cs0),    WEFT_ARG(cs1),
                       WEFT_ARG(bias_mode), WEFT_ARG(bf->bias), WEFT_ARG(biasoff), WEFT_ARG(d_mode),
                       WEFT_ARG(bf->d),     WEFT_ARG(doff),    WEFT_ARG(drs),    WEFT_ARG(ds0),
                       WEFT_ARG(ds1),       WEFT_ARG(beta),    WEFT_ARG(aa),     WEFT_ARG(ab)};
    weft_status st = weft_op_set_args(r, plan->epilogue, args, sizeof args / sizeof *args);
    if (st != WEFT_OK)
        return st;
    size_t global[3] = {d->n, d->m, d->batch[0] * d->batch[1]};
    return weft_op_launch(r, plan->epilogue, 3, global, NULL);
}

weft_status weft_gemm_clblast_enqueue(weft_run *r, const weft_gemm_plan *plan,
                                      const weft_gemm_buffers *bf)
{
    const weft_gemm_desc *d = &plan->desc;
    cl_mem a = plan->a_const ? plan->a_pack : bf->a, b = plan->b_const ? plan->b_pack : bf->b;
    size_t a_off = plan->a_const ? 0 : bf->a_off, b_off = plan->b_const ? 0 : bf->b_off;
    cl_command_queue queue = r->queue;
    for (size_t o = 0; o < d->batch[0]; o++)
        for (size_t i = 0; i < d->batch[1]; i++) {
            cl_event event = NULL;
            CLBlastStatusCode code = CLBlastSgemm(
                CLBlastLayoutRowMajor, d->a.trans ? CLBlastTransposeYes : CLBlastTransposeNo,
                d->b.trans ? CLBlastTransposeYes : CLBlastTransposeNo, d->m, d->n, d->k,
                d->alpha, a, a_off + o * d->a.batch_stride[0] + i * d->a.batch_stride[1],
                d->a.ld, b, b_off + o * d->b.batch_stride[0] + i * d->b.batch_stride[1], d->b.ld,
                0.0f, bf->c, bf->c_off + o * d->c_batch_stride[0] + i * d->c_batch_stride[1],
                d->ldc, &queue, &event);
            weft_status st = weft_op_add_event(r, event);
            if (st != WEFT_OK)
                return st;
            if (code != CLBlastSuccess)
                return weft_node_fail(r->node, WEFT_ERR_OPENCL,
                                      "CLBlastSgemm %zux%zux%zu failed with CLBlast status %d%s%s",
                                      d->m, d->n, d->k, (int)code, code < 0 ? " " : "",
                                      code < 0 ? weft_cl_error_name((cl_int)code) : "");
        }
    return plan->epilogue ? enqueue_epilogue(r, plan, bf) : WEFT_OK;
}

#endif
