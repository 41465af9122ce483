/*
 * conv_im2col — the column matrix of a Conv for the GEMM path
 * (src/ops/conv_gemm.c): for each image n,
 *   COL[n][r][p] = X[n, c, od*sd - pd + kd*dd, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw]
 * with row r = ((c * KD + kd) * KH + kh) * KW + kw (W's own order, so W
 * [M, C*taps] is the GEMM's A as given) and column p = (od * OH + oh) * OW
 * + ow; taps outside X give 0. Over 1 to 3 spatial axes seen as [D, H, W].
 * Float32; every element of COL is written.
 *
 * No -D options: extents, kernel, strides, dilations and pads are
 * arguments (the pass is memory-bound). Index arithmetic is int (the host
 * refuses a COL above 2^31 - 1 elements); remainders are a - q * b
 * (oclgrind, see cl/pool.cl). A 3-D launch over (od * OH + oh, row, n):
 * each work-item writes one output row's OW consecutive columns, so the
 * index arithmetic is paid once per row rather than per element.
 */
__kernel void conv_im2col_f32(__global const float *x, __global float *col, const int n_n,
                              const int c_n, const int in_d, const int in_h, const int in_w,
                              const int od_n, const int oh_n, const int ow_n, const int kd_n,
                              const int kh_n, const int kw_n, const int sd, const int sh,
                              const int sw, const int dd, const int dh, const int dw,
                              const int pd, const int ph, const int pw)
{
    const int q = get_global_id(0), row = get_global_id(1), n = get_global_id(2);
    const int rows = c_n * kd_n * kh_n * kw_n;
    if (q >= od_n * oh_n || row >= rows || n >= n_n)
        return;
    const int od = q / oh_n, oh = q - od * oh_n;
    int r = row / kw_n;
    const int kw = row - r * kw_n;
    const int t = r / kh_n;
    const int kh = r - t * kh_n;
    const int c = t / kd_n, kd = t - c * kd_n;
    const int z = od * sd - pd + kd * dd, y = oh * sh - ph + kh * dh;
    __global float *dst = col + ((n * rows + row) * od_n * oh_n + q) * ow_n;
    if (z < 0 || z >= in_d || y < 0 || y >= in_h) {
        for (int ow = 0; ow < ow_n; ow++)
            dst[ow] = 0.0f;
        return;
    }
    __global const float *src = x + (((n * c_n + c) * in_d + z) * in_h + y) * in_w;
    const int x0 = kw * dw - pw;
    for (int ow = 0; ow < ow_n; ow++) {
        const int xx = ow * sw + x0;
        dst[ow] = xx >= 0 && xx < in_w ? src[xx] : 0.0f;
    }
}
