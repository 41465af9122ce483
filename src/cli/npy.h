/*
 * NumPy .npy files, the array format of `weft run`: a magic, a version, a
 * header that is a Python dict literal ({'descr': '<f4', 'fortran_order':
 * False, 'shape': (1, 3, 8, 8), }) and the raw elements. Only what weft's
 * tensors can hold is accepted: little-endian float32 ('<f4') or int64
 * ('<i8'), C order, rank <= WEFT_MAX_RANK. The header comes from the file,
 * so every field is checked before anything is sized by it.
 * (Format: numpy.lib.format, "The .npy format", versions 1.0 to 3.0.)
 */
#ifndef WEFT_CLI_NPY_H
#define WEFT_CLI_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "weft.h"

typedef struct weft_npy {
    weft_dtype dtype;
    int rank;
    int64_t dims[WEFT_MAX_RANK];
    size_t data_offset; /* where the elements start in the file */
    size_t data_bytes;  /* numel * element size; the file holds exactly that */
} weft_npy;

/* True when bytes start with the .npy magic. */
int weft_npy_is_npy(const void *bytes, size_t size);

/* Parses the header of a whole file's bytes. WEFT_ERR_INVALID_ARGUMENT
 * naming `what` (a file name, for the message) and the offending field when
 * the file is malformed, truncated, of another dtype or order, or its data
 * size does not match the shape. */
weft_status weft_npy_parse(const void *bytes, size_t size, const char *what, weft_npy *npy);

/* Writes a C-order array as a version 1.0 .npy file (atomically).
 * WEFT_ERR_IO when it cannot be written. */
weft_status weft_npy_write(const char *path, weft_dtype dtype, int rank, const int64_t *dims,
                           const void *data);

#endif
