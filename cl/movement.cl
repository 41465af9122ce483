/*
 * movement — data movement without arithmetic: Concat and Split
 * (copy_blocks), Slice, Transpose, DepthToSpace and SpaceToDepth (gather),
 * and constant-mode Pad (pad_constant). Elements are copied as bit
 * patterns, so one kernel serves every data type of a given size.
 *
 * -D contract:
 *   ELEM   the element type: uint for 4-byte elements (float32), uint2 for
 *          8-byte ones (int64; uint2 needs no 64-bit integer support)
 *          (default uint)
 *   RANK   gather and pad_constant: the rank of the collapsed index space,
 *          1..8 (default 1)
 *
 * Extents, offsets and strides are kernel arguments or a small __constant
 * table; every count fits in 31 bits (the host refuses larger tensors).
 * Offsets that may step backwards (negative strides) are summed in uint,
 * whose wrap-around is defined, and are exact once they land in range.
 * Every kernel guards its index, so the host may round the global size up
 * to a multiple of any work-group size it queried.
 */

#ifndef ELEM
#define ELEM uint
#endif

#ifndef RANK
#define RANK 1
#endif

/* Index arithmetic takes one division per dim and no remainder:
 * coordinate d of element i is i / inner[d] - (i / inner[d-1]) * dims[d],
 * where inner[d] is the product of the dims after d. (A division and a
 * remainder of the same operands is also what oclgrind 21.10 cannot
 * check: LLVM rewrites the pair with a `freeze` it does not support.) */

/* n = rows * cols elements: y[r * y_row + y_off + c] = x[r * x_row + x_off + c].
 * Concat copies each input into its column block of the output; Split
 * copies a column block of the input into each output. */
__kernel void copy_blocks(__global const ELEM *x, __global ELEM *y, const uint n, const uint cols,
                          const uint x_row, const uint x_off, const uint y_row, const uint y_off)
{
    const size_t gid = get_global_id(0);
    if (gid >= n)
        return;
    const uint i = (uint)gid, r = i / cols, c = i - r * cols;
    y[r * y_row + y_off + c] = x[r * x_row + x_off + c];
}

/* y[i] = x[base + sum_d coord_d(i) * stride_d], with i's coordinates taken
 * in the output's row-major index space.
 * meta: dims[RANK] (output extents), strides[RANK] (signed, in input
 * elements), inner[RANK] (product of the dims after each; the last unused). */
__kernel void gather(__global const ELEM *x, __global ELEM *y, const uint n, const int base,
                     __constant const int *meta)
{
    const size_t gid = get_global_id(0);
    if (gid >= n)
        return;
    const uint i = (uint)gid;
    uint outer = 0, at = (uint)base;
    for (int d = 0; d < RANK - 1; d++) {
        const uint q = i / (uint)meta[2 * RANK + d];
        at += (q - outer * (uint)meta[d]) * (uint)meta[RANK + d];
        outer = q;
    }
    at += (i - outer * (uint)meta[RANK - 1]) * (uint)meta[2 * RANK - 1];
    y[i] = x[at];
}

/* Constant-mode padding, negative pads cropping:
 * y[i] = x[coord(i) - begin] where that lies inside x, else value[0].
 * meta: out dims[RANK], begin pads[RANK] (negative crops), input
 * dims[RANK], input strides[RANK], inner[RANK] (product of the out dims
 * after each; the last unused). */
__kernel void pad_constant(__global const ELEM *x, __global ELEM *y, const uint n,
                           __constant const int *meta, __global const ELEM *value)
{
    const size_t gid = get_global_id(0);
    if (gid >= n)
        return;
    const uint i = (uint)gid;
    uint outer = 0, at = 0;
    int inside = 1;
    for (int d = 0; d < RANK; d++) {
        const uint q = d == RANK - 1 ? i : i / (uint)meta[4 * RANK + d];
        const int c = (int)(q - outer * (uint)meta[d]) - meta[RANK + d];
        inside &= c >= 0 && c < meta[2 * RANK + d];
        at += (uint)c * (uint)meta[3 * RANK + d];
        outer = q;
    }
    if (inside)
        y[i] = x[at];
    else
        y[i] = value[0];
}
