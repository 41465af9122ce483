/*
 * Kernel sources: the .cl files of cl/, embedded into the library at build
 * time (cmake/embed_cl.cmake). WEFT_CL_DIR names a folder whose NAME.cl
 * files replace the embedded copies, for kernel work without rebuilding.
 */
#ifndef WEFT_RUNTIME_SOURCES_H
#define WEFT_RUNTIME_SOURCES_H

#include <stddef.h>

#include "weft.h"

typedef struct weft_cl_source {
    const char *name; /* file name without ".cl" */
    const char *text;
    size_t size;
} weft_cl_source;

/* The embedded table (generated). */
extern const weft_cl_source weft_cl_sources[];
extern const size_t weft_cl_source_count;

/* The source of program `name`: from WEFT_CL_DIR when the file is there,
 * else embedded, with every line `#include "OTHER.cl"` replaced by OTHER's
 * source (found the same way). *text is malloc'd and NUL-terminated.
 * WEFT_ERR_INVALID_ARGUMENT for an unknown name or a malformed include,
 * WEFT_ERR_IO for an unreadable override. */
weft_status weft_source_load(const char *name, char **text, size_t *size);

#endif
