#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/util.h"
#include "runtime/bundle.h"
#include "runtime/context.h"
#include "runtime/disk_cache.h"
#include "runtime/program.h"
#include "runtime/sources.h"

static void trace(const weft_context *ctx, const char *fmt, ...) WEFT_PRINTF(2, 3);

static void trace(const weft_context *ctx, const char *fmt, ...)
{
    if (!ctx->cache_trace && !weft_log_enabled(WEFT_LOG_DEBUG))
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "weft cache: %s\n", line);
}

/* Every option weft adds for a device, in one place, before the caller's
 * own options. *out is malloc'd. */
static char *device_options(const weft_device_info *info, const char *options)
{
    int major = 0, minor = 0;
    const char *std = "";
    if (sscanf(info->opencl_c_version, "OpenCL C %d.%d", &major, &minor) == 2 &&
        (major > 1 || (major == 1 && minor >= 2)))
        std = "-cl-std=CL1.2";
    size_t n = strlen(std) + strlen(options) + 2;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s%s%s", std, *std && *options ? " " : "", options);
    return out;
}

static void program_key(const weft_device_info *info, const char *source, size_t size,
                        const char *options, uint8_t key[32])
{
    weft_sha256 h;
    weft_sha256_init(&h);
    uint8_t format[4] = {WEFT_CACHE_FORMAT & 0xff, (WEFT_CACHE_FORMAT >> 8) & 0xff, 0, 0};
    weft_sha256_update(&h, format, sizeof format);
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)((uint64_t)size >> (8 * i));
    weft_sha256_update(&h, len, sizeof len);
    weft_sha256_update(&h, source, size);
    weft_sha256_update_field(&h, options);
    weft_sha256_update_field(&h, info->name);
    weft_sha256_update_field(&h, info->vendor);
    weft_sha256_update_field(&h, info->driver_version);
    weft_sha256_update_field(&h, info->platform_version);
    weft_sha256_final(&h, key);
}

static weft_status remember(weft_device_state *ds, const uint8_t key[32], cl_program program)
{
    if (ds->program_count == ds->program_capacity) {
        size_t cap = ds->program_capacity ? 2 * ds->program_capacity : 16;
        weft_program_entry *grown = realloc(ds->programs, cap * sizeof *grown);
        if (!grown)
            return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the program table");
        ds->programs = grown;
        ds->program_capacity = cap;
    }
    memcpy(ds->programs[ds->program_count].key, key, 32);
    ds->programs[ds->program_count].program = program;
    ds->program_count++;
    return WEFT_OK;
}

/* A program from a cached binary, or NULL when the driver refuses it
 * (another driver build, a damaged binary): then the caller rebuilds. */
static cl_program load_binary(weft_device_state *ds, const unsigned char *binary, size_t size,
                              const char *options, const char **why)
{
    cl_int status = CL_SUCCESS, err;
    cl_program program = clCreateProgramWithBinary(ds->context, 1, &ds->cl.device, &size,
                                                   &binary, &status, &err);
    if (!program || err != CL_SUCCESS || status != CL_SUCCESS) {
        *why = "driver refused the binary";
        if (program)
            clReleaseProgram(program);
        return NULL;
    }
    err = clBuildProgram(program, 1, &ds->cl.device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        *why = "driver failed to build the binary";
        clReleaseProgram(program);
        return NULL;
    }
    return program;
}

static void append_build_log(cl_program program, cl_device_id device)
{
    size_t size = 0;
    if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) !=
            CL_SUCCESS ||
        size == 0) {
        weft_fail_append("\n(no build log)");
        return;
    }
    char *log = malloc(size + 1);
    if (!log) {
        weft_fail_append("\n(no memory for the build log)");
        return;
    }
    if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, log, NULL) ==
        CL_SUCCESS) {
        log[size] = '\0';
        weft_fail_append("\nbuild log:\n%s", log);
    }
    free(log);
}

static weft_status build_source(weft_device_state *ds, const char *name, const char *source,
                                size_t size, const char *options, cl_program *out)
{
    const weft_device_info *info = &ds->cl.info;
    cl_int err;
    cl_program program = clCreateProgramWithSource(ds->context, 1, &source, &size, &err);
    if (!program)
        return weft_fail(WEFT_ERR_OPENCL,
                         "clCreateProgramWithSource failed for program '%s' on device '%s': %s",
                         name, info->name, weft_cl_error_name(err));
    err = clBuildProgram(program, 1, &ds->cl.device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        weft_fail(WEFT_ERR_BUILD, "program '%s' failed to build on device '%s' (%s) with options '%s': %s",
                  name, info->name, info->platform_name, options, weft_cl_error_name(err));
        append_build_log(program, ds->cl.device);
        clReleaseProgram(program);
        return WEFT_ERR_BUILD;
    }
    /* Some drivers finish compiling only when kernels are created: do it
     * before the binary is read, so the cache stores the finished one. */
    cl_uint nkernels = 0;
    if (clCreateKernelsInProgram(program, 0, NULL, &nkernels) == CL_SUCCESS && nkernels > 0) {
        cl_kernel *kernels = calloc(nkernels, sizeof *kernels);
        if (kernels && clCreateKernelsInProgram(program, nkernels, kernels, NULL) == CL_SUCCESS)
            for (cl_uint i = 0; i < nkernels; i++)
                clReleaseKernel(kernels[i]);
        free(kernels);
    }
    *out = program;
    return WEFT_OK;
}

/* The device binary of a one-device program; *binary is malloc'd.
 * CL_SUCCESS, an OpenCL error, or CL_OUT_OF_HOST_MEMORY; CL_INVALID_BINARY
 * when the driver keeps none. */
static cl_int program_binary(cl_program program, unsigned char **binary, size_t *size)
{
    *binary = NULL;
    *size = 0;
    cl_int err = clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof *size, size, NULL);
    if (err != CL_SUCCESS)
        return err;
    if (*size == 0)
        return CL_INVALID_BINARY;
    if (!(*binary = malloc(*size)))
        return CL_OUT_OF_HOST_MEMORY;
    err = clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof *binary, binary, NULL);
    if (err != CL_SUCCESS) {
        free(*binary);
        *binary = NULL;
    }
    return err;
}

/* Reading the binary is where some drivers generate code for every
 * kernel of the program (PoCL: a work-group function of dynamic size),
 * so it often costs more than the build itself: timed in the trace. */
static void save_binary(const weft_context *ctx, const char *name, const uint8_t key[32],
                        cl_program program, weft_cache_stats *delta)
{
    double t0 = weft_now_ms();
    unsigned char *binary;
    size_t size;
    cl_int err = program_binary(program, &binary, &size);
    if (err != CL_SUCCESS) {
        trace(ctx, "no binary to save for '%s' (%s)", name, weft_cl_error_name(err));
        return;
    }
    if (weft_disk_cache_write(ctx->cache_dir, key, binary, size) == WEFT_OK) {
        delta->saves++;
        trace(ctx, "saved '%s' (%zu bytes) in %.0f ms", name, size, weft_now_ms() - t0);
    } else {
        /* An unwritable cache costs only speed. */
        weft_log(WEFT_LOG_INFO, "program cache: %s", weft_last_error());
        trace(ctx, "save of '%s' failed: %s", name, weft_last_error());
    }
    free(binary);
}

/* The table index of `key`, or -1. Called with ctx->lock held. */
static long find_entry(const weft_device_state *ds, const uint8_t key[32])
{
    for (size_t i = 0; i < ds->program_count; i++)
        if (memcmp(ds->programs[i].key, key, 32) == 0)
            return (long)i;
    return -1;
}

static void add_stats(weft_cache_stats *to, const weft_cache_stats *d)
{
    to->disk_hits += d->disk_hits;
    to->builds += d->builds;
    to->saves += d->saves;
    to->rejected += d->rejected;
    to->bundle_hits += d->bundle_hits;
}

/* The program of `key` from the bundle, the disk cache or its source.
 * Runs without ctx->lock (a build may take seconds, and other threads may
 * build other programs meanwhile): it touches no shared state but the
 * driver's, and counts into *delta. */
static weft_status obtain(const weft_context *ctx, weft_device_state *ds, const char *name,
                          const char *source, size_t size, const char *options,
                          const uint8_t key[32], weft_cache_stats *delta, int *must_save,
                          cl_program *out)
{
    const weft_device_info *info = &ds->cl.info;
    cl_program program = NULL;
    const char *why = "disk cache off", *bundle_why = "no bundle for this device";
    if (ds->bundle) {
        const weft_bundle_entry *e = weft_bundle_find(ds->bundle, key);
        bundle_why = "not in the bundle";
        if (e && (program = load_binary(ds, e->binary, e->size, options, &bundle_why))) {
            delta->bundle_hits++;
            trace(ctx, "bundle hit '%s' [%s]", name, options);
        } else if (e) {
            trace(ctx, "the bundle's binary of '%s' was refused: %s", name, bundle_why);
        }
    }
    if (!program && ctx->cache_dir) {
        unsigned char *binary;
        size_t bsize;
        weft_disk_lookup found = weft_disk_cache_read(ctx->cache_dir, key, &binary, &bsize, &why);
        if (found == WEFT_DISK_FOUND) {
            program = load_binary(ds, binary, bsize, options, &why);
            free(binary);
            if (program) {
                delta->disk_hits++;
                trace(ctx, "disk hit '%s' [%s]", name, options);
            }
        }
        if (!program && found != WEFT_DISK_ABSENT) {
            delta->rejected++;
            trace(ctx, "rejected the entry of '%s': %s", name, why);
        }
    }
    if (!program) {
        if (ds->binary_only)
            return weft_fail(WEFT_ERR_UNSUPPORTED,
                             "device '%s' runs binaries only and has none for program '%s' "
                             "(%s%s%s; %s%s%s) with options '%s'",
                             info->name, name, bundle_why, ds->bundle ? " " : "",
                             ds->bundle ? ds->bundle->path : "", why, ctx->cache_dir ? " in " : "",
                             ctx->cache_dir ? ctx->cache_dir : "", options);
        double t0 = weft_now_ms();
        weft_status st = build_source(ds, name, source, size, options, &program);
        if (st != WEFT_OK)
            return st;
        delta->builds++;
        trace(ctx, "built '%s' [%s] from source in %.0f ms", name, options, weft_now_ms() - t0);
        if (ctx->cache_dir)
            *must_save = 1;
    }
    *out = program;
    return WEFT_OK;
}

/* ---- Deferred saves ------------------------------------------------------
 * Reading a binary is where PoCL generates code for every kernel, so a
 * program built from source is not saved at once: it waits in
 * ctx->pending until a session has run (then one saver thread per context
 * writes the queue in order), until weft_context_flush_cache, or until the
 * context is released. A binary read after a run also holds the code the
 * driver made for the launches, so a later start skips that too. */

static void start_saver_locked(weft_context *ctx);

/* Queues `program` for saving; 0 when there is no memory for it. Called
 * with ctx->lock held. */
static int queue_save(weft_context *ctx, const char *name, const uint8_t key[32],
                      cl_program program)
{
    if (ctx->pending_count == ctx->pending_capacity) {
        size_t cap = ctx->pending_capacity ? 2 * ctx->pending_capacity : 16;
        weft_pending_save *grown = realloc(ctx->pending, cap * sizeof *grown);
        if (!grown)
            return 0;
        ctx->pending = grown;
        ctx->pending_capacity = cap;
    }
    char *copy = malloc(strlen(name) + 1);
    if (!copy)
        return 0;
    strcpy(copy, name);
    if (clRetainProgram(program) != CL_SUCCESS) {
        free(copy);
        return 0;
    }
    weft_pending_save *p = &ctx->pending[ctx->pending_count++];
    memcpy(p->key, key, 32);
    p->program = program;
    p->name = copy;
    if (ctx->saves_started)
        start_saver_locked(ctx);
    return 1;
}

/* Writes the oldest pending binary, unlocking while the driver works.
 * Called with ctx->lock held and ctx->pending_count > 0. */
static void save_next_locked(weft_context *ctx)
{
    weft_pending_save item = ctx->pending[0];
    memmove(&ctx->pending[0], &ctx->pending[1], (ctx->pending_count - 1) * sizeof item);
    ctx->pending_count--;
    ctx->saving++;
    pthread_mutex_unlock(&ctx->lock);
    weft_cache_stats delta = {0};
    save_binary(ctx, item.name, item.key, item.program, &delta);
    clReleaseProgram(item.program);
    free(item.name);
    pthread_mutex_lock(&ctx->lock);
    add_stats(&ctx->stats, &delta);
    ctx->saving--;
    pthread_cond_broadcast(&ctx->saves_done);
}

static void *saver_main(void *arg)
{
    weft_context *ctx = arg;
    pthread_mutex_lock(&ctx->lock);
    while (ctx->pending_count > 0)
        save_next_locked(ctx);
    ctx->saver_active = 0;
    pthread_cond_broadcast(&ctx->saves_done);
    pthread_mutex_unlock(&ctx->lock);
    return NULL;
}

/* Starts the saver unless it runs already. An earlier saver that left its
 * loop has nothing left to do but return, so joining it here is short.
 * Called with ctx->lock held. */
static void start_saver_locked(weft_context *ctx)
{
    if (ctx->saver_active || ctx->pending_count == 0)
        return;
    if (ctx->saver_joinable) {
        pthread_join(ctx->saver, NULL);
        ctx->saver_joinable = 0;
    }
    int err = pthread_create(&ctx->saver, NULL, saver_main, ctx);
    if (err != 0) {
        /* The queue then waits for a flush or the release. */
        trace(ctx, "no saver thread (%s): saves wait for the flush", strerror(err));
        return;
    }
    ctx->saver_active = 1;
    ctx->saver_joinable = 1;
}

void weft_program_saves_start(weft_context *ctx)
{
    pthread_mutex_lock(&ctx->lock);
    ctx->saves_started = 1;
    start_saver_locked(ctx);
    pthread_mutex_unlock(&ctx->lock);
}

void weft_program_saves_flush(weft_context *ctx)
{
    pthread_mutex_lock(&ctx->lock);
    /* This thread saves beside the saver rather than only waiting for it. */
    while (ctx->pending_count > 0 || ctx->saving > 0 || ctx->saver_active) {
        if (ctx->pending_count > 0)
            save_next_locked(ctx);
        else
            pthread_cond_wait(&ctx->saves_done, &ctx->lock);
    }
    int join = ctx->saver_joinable;
    pthread_t saver = ctx->saver; /* a later start may replace ctx->saver */
    ctx->saver_joinable = 0;
    pthread_mutex_unlock(&ctx->lock);
    if (join)
        pthread_join(saver, NULL);
}

/* The memory table first; on a miss this thread reserves the key (an
 * entry with a NULL program) and obtains the program unlocked, so that a
 * second thread asking for the same program waits for this build instead
 * of repeating it, while threads asking for other programs go on. After a
 * failure the entry is dropped and a waiter tries for itself. */
static weft_status get_program(weft_context *ctx, weft_device_state *ds, const char *name,
                               const char *source, size_t size, const char *options,
                               cl_program *out)
{
    uint8_t key[32];
    program_key(&ds->cl.info, source, size, options, key);
    pthread_mutex_lock(&ctx->lock);
    long at;
    while ((at = find_entry(ds, key)) >= 0 && !ds->programs[at].program)
        pthread_cond_wait(&ctx->program_ready, &ctx->lock);
    if (at >= 0) {
        ctx->stats.memory_hits++;
        *out = ds->programs[at].program;
        pthread_mutex_unlock(&ctx->lock);
        return WEFT_OK;
    }
    weft_status st = remember(ds, key, NULL);
    pthread_mutex_unlock(&ctx->lock);
    if (st != WEFT_OK)
        return st;

    weft_cache_stats delta = {0};
    cl_program program = NULL;
    double t0 = weft_now_ms();
    int must_save = 0;
    st = obtain(ctx, ds, name, source, size, options, key, &delta, &must_save, &program);

    pthread_mutex_lock(&ctx->lock);
    ctx->program_ms += weft_now_ms() - t0;
    at = find_entry(ds, key); /* only this thread removes or fills it */
    if (st == WEFT_OK) {
        ds->programs[at].program = program;
        *out = program;
    } else {
        memmove(&ds->programs[at], &ds->programs[at + 1],
                (ds->program_count - (size_t)at - 1) * sizeof *ds->programs);
        ds->program_count--;
    }
    add_stats(&ctx->stats, &delta);
    pthread_cond_broadcast(&ctx->program_ready);
    int queued = st == WEFT_OK && must_save && queue_save(ctx, name, key, program);
    pthread_mutex_unlock(&ctx->lock);
    if (st == WEFT_OK && must_save && !queued) {
        /* No memory for the queue: save now rather than never. */
        weft_cache_stats saved = {0};
        save_binary(ctx, name, key, program, &saved);
        pthread_mutex_lock(&ctx->lock);
        add_stats(&ctx->stats, &saved);
        pthread_mutex_unlock(&ctx->lock);
    }
    return st;
}

weft_status weft_program_get_source(weft_context *ctx, size_t device, const char *name,
                                    const char *source, size_t size, const char *options,
                                    cl_program *program)
{
    if (!ctx || !name || !source || !program)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_program_get_source: NULL argument");
    if (device >= ctx->device_count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "program '%s': no device %zu in the context",
                         name, device);
    weft_device_state *ds = &ctx->devices[device];
    char *full = device_options(&ds->cl.info, options ? options : "");
    if (!full)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for build options");
    weft_status st = get_program(ctx, ds, name, source, size, full, program);
    free(full);
    return st;
}

double weft_program_ms(weft_context *ctx)
{
    pthread_mutex_lock(&ctx->lock);
    double ms = ctx->program_ms;
    pthread_mutex_unlock(&ctx->lock);
    return ms;
}

weft_status weft_program_get(weft_context *ctx, size_t device, const char *name,
                             const char *options, cl_program *program)
{
    if (!ctx || !name || !program)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_program_get: NULL argument");
    char *source;
    size_t size;
    weft_status st = weft_source_load(name, &source, &size);
    if (st != WEFT_OK)
        return st;
    st = weft_program_get_source(ctx, device, name, source, size, options, program);
    free(source);
    return st;
}

weft_status weft_program_binaries(weft_context *ctx, size_t device, weft_bundle_entry **entries,
                                  size_t *count)
{
    *entries = NULL;
    *count = 0;
    if (device >= ctx->device_count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "no device %zu in the context", device);
    weft_device_state *ds = &ctx->devices[device];
    pthread_mutex_lock(&ctx->lock);
    /* Programs other threads are still building: wait for them to land
     * (or fail and leave the table). */
    for (size_t i = 0; i < ds->program_count; i++)
        if (!ds->programs[i].program) {
            pthread_cond_wait(&ctx->program_ready, &ctx->lock);
            i = (size_t)-1;
        }
    weft_status st = WEFT_OK;
    weft_bundle_entry *list = calloc(ds->program_count ? ds->program_count : 1, sizeof *list);
    size_t n = 0;
    if (!list)
        st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the program binaries");
    for (size_t i = 0; st == WEFT_OK && i < ds->program_count; i++) {
        if (!ds->programs[i].program)
            continue; /* another thread is building it */
        unsigned char *binary;
        cl_int err = program_binary(ds->programs[i].program, &binary, &list[n].size);
        if (err != CL_SUCCESS) {
            st = weft_fail(WEFT_ERR_OPENCL, "cannot read a program binary on device '%s': %s",
                           ds->cl.info.name, weft_cl_error_name(err));
            break;
        }
        memcpy(list[n].key, ds->programs[i].key, 32);
        list[n++].binary = binary;
    }
    pthread_mutex_unlock(&ctx->lock);
    if (st != WEFT_OK) {
        weft_program_binaries_free(list, n);
        return st;
    }
    *entries = list;
    *count = n;
    return WEFT_OK;
}

void weft_program_binaries_free(weft_bundle_entry *entries, size_t count)
{
    for (size_t i = 0; entries && i < count; i++)
        free((void *)entries[i].binary);
    free(entries);
}
