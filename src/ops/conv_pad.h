/*
 * The zero-bordered, phase-split copy of a Conv's X that the register-tile
 * kernels read (cl/conv_direct.cl's conv_pad_f32 writes it into the
 * node's workspace; its layout is documented there): conv_direct and
 * conv_depthwise both read every tap of VW outputs as one vector load from
 * it, for any stride, with no edge tests.
 */
#ifndef WEFT_OPS_CONV_PAD_H
#define WEFT_OPS_CONV_PAD_H

#include "ops/conv_geom.h"

typedef struct conv_padded {
    int64_t tiles_w, tiles_h;   /* tiles of cols x rt outputs (flat: of cols positions) */
    int64_t dp, wps;
    int64_t rows, shs;          /* grid rows per row phase; row phases */
    int64_t row, cps, rps, zs;  /* strides: row, column phase, row phase, z slice */
} conv_padded;

/* The layout for tiles of `cols` output columns and `rt` rows (flat: of
 * `cols` consecutive positions of the output grid, rt 1). */
void conv_padded_layout(const conv_geom *geo, int64_t cols, int64_t rt, int flat,
                        conv_padded *p);

/* Floats of the copy; 0 when it would exceed 2^31 - 1 (the kernels index
 * with int). */
int conv_padded_elements(const conv_geom *geo, const conv_padded *p, int64_t *count);

/* For supports(): whether the copy (conv_padded_layout's arguments) and
 * weights packed in tiles of `lanes` output channels (tiles per group)
 * stay within the kernels' int indices; 0 with why filled if not. */
int conv_padded_fits(const conv_geom *geo, int64_t cols, int64_t rt, int flat, int64_t tiles,
                     int64_t lanes, char *why, size_t cap);

/* Seconds for a register-tile conv reading the copy (conv_direct,
 * direct_oc): the MACs at a share of an assumed peak (CPU class: 16 FMA
 * lanes per compute unit and cycle, 60% of it, 35% for 1x1 kernels; other
 * classes: 32 lanes, other_eff of it), times `fill` (the share of the
 * tile's lanes that hold outputs), lower when each output's reduction is
 * too short to keep the registers busy, plus the padding pass at 10 GB/s. */
double conv_padded_tile_cost(const conv_geom *geo, const weft_device_info *d, double fill,
                             double other_eff);

typedef struct conv_pad_pass {
    cl_kernel kernel;
    size_t local;
} conv_pad_pass;

/* The pad kernel, always from the one program of cl/conv_direct.cl built
 * with KERNELS = CONV_DIRECT_KERNELS_PAD alone (the kernel reads no other
 * -D): every conv shares its code, which drivers such as PoCL generate
 * once per program. */
weft_status conv_pad_prepare(weft_prepare *p, const conv_padded *pd, conv_pad_pass *pass);

/* cl/conv_direct.cl's KERNELS: a program of conv_pad_f32 alone, and one of
 * conv_direct_f32 alone (a driver that makes code for every kernel of a
 * program then makes none it will not run). */
enum { CONV_DIRECT_KERNELS_PAD = 1, CONV_DIRECT_KERNELS_CONV = 2 };

/* Writes the copy of r->inputs[0] into r->workspace (from offset 0). */
weft_status conv_pad_enqueue(weft_run *r, const conv_pad_pass *pass, const conv_geom *geo,
                             const conv_padded *pd);

#endif
