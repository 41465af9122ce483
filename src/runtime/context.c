#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/util.h"
#include "runtime/context.h"

void weft_context_options_defaults(weft_context_options *options)
{
    if (!options)
        return;
    memset(options, 0, sizeof *options);
    options->cache = WEFT_CACHE_DEFAULT;
}

static int env_is_off(const char *name)
{
    const char *v = getenv(name);
    return v && (weft_str_ieq(v, "off") || weft_str_ieq(v, "0") || weft_str_ieq(v, "no") ||
                 weft_str_ieq(v, "false"));
}

static int env_is_on(const char *name)
{
    const char *v = getenv(name);
    return v && *v && !env_is_off(name);
}

/* The disk cache folder by precedence: option, WEFT_CACHE_DIR,
 * $XDG_CACHE_HOME/weft, ~/.cache/weft. NULL when off or undeterminable. */
static weft_status resolve_cache_dir(const weft_context_options *o, char **dir)
{
    *dir = NULL;
    if (o->cache == WEFT_CACHE_OFF || (o->cache == WEFT_CACHE_DEFAULT && env_is_off("WEFT_CACHE")))
        return WEFT_OK;
    const char *env;
    if (o->cache_dir && *o->cache_dir)
        *dir = weft_strdup(o->cache_dir);
    else if ((env = getenv("WEFT_CACHE_DIR")) && *env)
        *dir = weft_strdup(env);
    else if ((env = getenv("XDG_CACHE_HOME")) && *env)
        *dir = weft_path_join(env, "weft");
    else if ((env = getenv("HOME")) && *env)
        *dir = weft_path_join(env, ".cache/weft");
    else {
        weft_log(WEFT_LOG_INFO, "no HOME nor cache folder set: program disk cache off");
        return WEFT_OK;
    }
    if (!*dir)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the cache path");
    return WEFT_OK;
}

static weft_status open_device(weft_device_state *ds, int profiling)
{
    const weft_device_info *info = &ds->cl.info;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                     (cl_context_properties)ds->cl.platform, 0};
    cl_int err;
    ds->context = clCreateContext(props, 1, &ds->cl.device, NULL, NULL, &err);
    if (!ds->context)
        return weft_fail(WEFT_ERR_OPENCL, "clCreateContext failed on device '%s': %s",
                         info->name, weft_cl_error_name(err));
    cl_command_queue_properties qp = profiling ? CL_QUEUE_PROFILING_ENABLE : 0;
    ds->queue = clCreateCommandQueue(ds->context, ds->cl.device, qp, &err);
    if (!ds->queue)
        return weft_fail(WEFT_ERR_OPENCL, "clCreateCommandQueue failed on device '%s': %s",
                         info->name, weft_cl_error_name(err));
    return WEFT_OK;
}

weft_status weft_context_create(const weft_context_options *options, weft_context **context)
{
    if (!context)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_context_create: context is NULL");
    *context = NULL;
    weft_context_options defaults;
    if (!options) {
        weft_context_options_defaults(&defaults);
        options = &defaults;
    }
    if (options->cache != WEFT_CACHE_DEFAULT && options->cache != WEFT_CACHE_ON &&
        options->cache != WEFT_CACHE_OFF)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                         "weft_context_create: options.cache is %d, not a weft_cache_mode",
                         (int)options->cache);

    const char *selector = options->device;
    if (!selector)
        selector = getenv("WEFT_DEVICE");

    weft_cl_device *all = NULL;
    size_t count = 0;
    weft_status st = weft_devices_enumerate(&all, &count);
    if (st != WEFT_OK)
        return st;
    weft_device_info *infos = malloc(count * sizeof *infos);
    if (!infos) {
        free(all);
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the device table");
    }
    for (size_t i = 0; i < count; i++)
        infos[i] = all[i].info;
    size_t chosen = 0;
    st = weft_device_select(infos, count, selector, &chosen);
    free(infos);
    if (st != WEFT_OK) {
        free(all);
        return st;
    }

    weft_context *ctx = calloc(1, sizeof *ctx);
    weft_device_state *ds = calloc(1, sizeof *ds);
    if (!ctx || !ds) {
        free(ctx);
        free(ds);
        free(all);
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for a context");
    }
    ds->cl = all[chosen];
    free(all);
    ds->binary_only = options->binary_only || !ds->cl.info.compiler_available;
    ctx->devices = ds;
    ctx->device_count = 1;
    ctx->profiling = options->profiling != 0;
    ctx->cache_trace = env_is_on("WEFT_CACHE_TRACE");
    if (pthread_mutex_init(&ctx->lock, NULL) != 0) {
        free(ds);
        free(ctx);
        return weft_fail(WEFT_ERR_INTERNAL, "pthread_mutex_init failed");
    }
    st = resolve_cache_dir(options, &ctx->cache_dir);
    if (st == WEFT_OK)
        st = open_device(ds, ctx->profiling);
    if (st != WEFT_OK) {
        weft_context_release(ctx);
        return st;
    }
    weft_log(WEFT_LOG_INFO, "device '%s' (%s), program cache %s%s", ds->cl.info.name,
             ds->cl.info.platform_name, ctx->cache_dir ? ctx->cache_dir : "off",
             ds->binary_only ? ", binary-only" : "");
    *context = ctx;
    return WEFT_OK;
}

void weft_context_release(weft_context *ctx)
{
    if (!ctx)
        return;
    if (ctx->cache_trace)
        fprintf(stderr,
                "weft cache: %llu memory hits, %llu disk hits, %llu builds, %llu saves, "
                "%llu rejected\n",
                (unsigned long long)ctx->stats.memory_hits,
                (unsigned long long)ctx->stats.disk_hits, (unsigned long long)ctx->stats.builds,
                (unsigned long long)ctx->stats.saves, (unsigned long long)ctx->stats.rejected);
    for (size_t d = 0; d < ctx->device_count; d++) {
        weft_device_state *ds = &ctx->devices[d];
        for (size_t i = 0; i < ds->program_count; i++)
            clReleaseProgram(ds->programs[i].program);
        free(ds->programs);
        if (ds->queue)
            clReleaseCommandQueue(ds->queue);
        if (ds->context)
            clReleaseContext(ds->context);
    }
    free(ctx->devices);
    free(ctx->cache_dir);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
}

weft_status weft_context_device_count(const weft_context *context, size_t *count)
{
    if (!context || !count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_context_device_count: %s is NULL",
                         !context ? "context" : "count");
    *count = context->device_count;
    return WEFT_OK;
}

weft_status weft_context_device_info(const weft_context *context, size_t index,
                                     weft_device_info *info)
{
    if (!context || !info)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_context_device_info: %s is NULL",
                         !context ? "context" : "info");
    if (index >= context->device_count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                         "weft_context_device_info: index %zu, but the context has %zu device(s)",
                         index, context->device_count);
    *info = context->devices[index].cl.info;
    return WEFT_OK;
}

weft_status weft_context_cache_stats(const weft_context *context, weft_cache_stats *stats)
{
    if (!context || !stats)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_context_cache_stats: %s is NULL",
                         !context ? "context" : "stats");
    weft_context *ctx = (weft_context *)context; /* the lock is not logical state */
    pthread_mutex_lock(&ctx->lock);
    *stats = ctx->stats;
    pthread_mutex_unlock(&ctx->lock);
    return WEFT_OK;
}
