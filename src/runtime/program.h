/*
 * Kernel programs for a context's devices, compiled at run time and
 * cached: in memory per context and device, and on disk as program
 * binaries keyed by SHA-256 over (cache format, source, options, device
 * name, vendor, driver version, platform version). Ops ask for a program
 * by its cl/ file name and -D options; the runtime owns the result.
 * Lookup order: memory, the context's bundle (runtime/bundle.h: binaries
 * under the same keys), the disk cache, and last the compiler, which a
 * binary-only device does not have.
 */
#ifndef WEFT_RUNTIME_PROGRAM_H
#define WEFT_RUNTIME_PROGRAM_H

#include "runtime/cl.h"
#include "weft.h"

/* A built program for device `device` of the context, from the kernel
 * source `name` (cl/NAME.cl) and build options. The context owns it: do
 * not release it. WEFT_ERR_BUILD carries the device, options and build
 * log; WEFT_ERR_UNSUPPORTED names the program when a binary-only device
 * has no binary for it. */
weft_status weft_program_get(weft_context *ctx, size_t device, const char *name,
                             const char *options, cl_program *program);

/* The same for source text made by the caller; `name` is used in
 * messages only. */
weft_status weft_program_get_source(weft_context *ctx, size_t device, const char *name,
                                    const char *source, size_t size, const char *options,
                                    cl_program *program);

/* Milliseconds the context has spent loading and building programs (not
 * memory hits), summed over threads: for start-up breakdowns. */
double weft_program_ms(weft_context *ctx);

/* Deferred disk-cache saves (see program.c). _start: a session has run,
 * so pending binaries are now written by the context's saver thread.
 * _flush: returns when every pending binary is written (or failed, which
 * is traced) and no saver thread is left. */
void weft_program_saves_start(weft_context *ctx);
void weft_program_saves_flush(weft_context *ctx);

struct weft_bundle_entry;

/* The key and binary of every program the context holds for `device`,
 * for `weft compile`'s bundle. *entries and each entry's binary are
 * malloc'd: free them with weft_program_binaries_free. WEFT_ERR_OPENCL
 * when the driver gives a binary up. */
weft_status weft_program_binaries(weft_context *ctx, size_t device,
                                  struct weft_bundle_entry **entries, size_t *count);
void weft_program_binaries_free(struct weft_bundle_entry *entries, size_t count);

#endif
