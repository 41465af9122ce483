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
 * (oclgrind, see cl/pool.cl). One work-item per element of COL,
 * consecutive items along p.
 */
__kernel void conv_im2col_f32(__global const float *x, __global float *col, const int total,
                              const int c_n, const int in_d, const int in_h, const int in_w,
                              const int od_n, const int oh_n, const int ow_n, const int kd_n,
                              const int kh_n, const int kw_n, const int sd, const int sh,
                              const int sw, const int dd, const int dh, const int dw,
                              const int pd, const int ph, const int pw)
{
    const int i = get_global_id(0);
    if (i >= total)
        return;
    const int pixels = od_n * oh_n * ow_n;
    int q = i / pixels;
    const int p = i - q * pixels;
    const int rows = c_n * kd_n * kh_n * kw_n;
    const int n = q / rows, row = q - n * rows;
    q = p / ow_n;
    const int ow = p - q * ow_n;
    const int od = q / oh_n, oh = q - od * oh_n;
    q = row / kw_n;
    const int kw = row - q * kw_n;
    int r = q / kh_n;
    const int kh = q - r * kh_n;
    const int c = r / kd_n, kd = r - c * kd_n;
    const int z = od * sd - pd + kd * dd, y = oh * sh - ph + kh * dh, xx = ow * sw - pw + kw * dw;
    const int inside = z >= 0 && z < in_d && y >= 0 && y < in_h && xx >= 0 && xx < in_w;
    col[i] = inside ? x[(((n * c_n + c) * in_d + z) * in_h + y) * in_w + xx] : 0.0f;
}
