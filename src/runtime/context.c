#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/util.h"
#include "runtime/bundle.h"
#include "runtime/context.h"
#include "runtime/program.h"

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

/* Gives every device a cl_context and a queue. Devices of one platform
 * share a cl_context (so a cross-device edge is one clEnqueueCopyBuffer),
 * unless WEFT_TEST_SEPARATE_CONTEXTS is set: a test hook for the
 * through-the-host transfer path on a machine with one platform. */
static weft_status open_devices(weft_context *ctx)
{
    int separate = env_is_on("WEFT_TEST_SEPARATE_CONTEXTS");
    cl_device_id *ids = malloc(ctx->device_count * sizeof *ids);
    if (!ids)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the device table");
    weft_status st = WEFT_OK;
    for (size_t d = 0; d < ctx->device_count && st == WEFT_OK; d++) {
        weft_device_state *ds = &ctx->devices[d];
        if (ds->context)
            continue; /* shared with an earlier device of its platform */
        cl_uint n = 0;
        for (size_t e = d; e < ctx->device_count; e++)
            if (e == d || (!separate && ctx->devices[e].cl.platform == ds->cl.platform &&
                           !ctx->devices[e].context))
                ids[n++] = ctx->devices[e].cl.device;
        cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                         (cl_context_properties)ds->cl.platform, 0};
        cl_int err;
        cl_context c = clCreateContext(props, n, ids, NULL, NULL, &err);
        if (!c) {
            st = weft_fail(WEFT_ERR_OPENCL, "clCreateContext failed on device '%s': %s",
                           ds->cl.info.name, weft_cl_error_name(err));
            break;
        }
        ds->context = c;
        for (size_t e = d + 1; e < ctx->device_count; e++)
            for (cl_uint k = 1; k < n; k++)
                if (ctx->devices[e].cl.device == ids[k]) {
                    clRetainContext(c);
                    ctx->devices[e].context = c;
                }
    }
    free(ids);
    for (size_t d = 0; d < ctx->device_count && st == WEFT_OK; d++) {
        weft_device_state *ds = &ctx->devices[d];
        cl_command_queue_properties qp = ctx->profiling ? CL_QUEUE_PROFILING_ENABLE : 0;
        cl_int err;
        ds->queue = clCreateCommandQueue(ds->context, ds->cl.device, qp, &err);
        if (!ds->queue)
            st = weft_fail(WEFT_ERR_OPENCL, "clCreateCommandQueue failed on device '%s': %s",
                           ds->cl.info.name, weft_cl_error_name(err));
    }
    return st;
}

/* The bundle of options.bundle, else WEFT_BUNDLE, serves every device
 * whose identity it was made for; one made for none of them is refused.
 * WEFT_BINARY_ONLY=1 forces binary-only mode on every device (to try a
 * bundle before it goes to a board without a compiler);
 * WEFT_TEST_BINARY_ONLY_DEVICE=N (a test hook) on device N alone, as such
 * a board beside a CPU. */
static weft_status attach_bundle(weft_context *ctx, const weft_context_options *o)
{
    for (size_t d = 0; d < ctx->device_count && env_is_on("WEFT_BINARY_ONLY"); d++)
        ctx->devices[d].binary_only = 1;
    long only;
    const char *hook = getenv("WEFT_TEST_BINARY_ONLY_DEVICE");
    if (hook && *hook && sscanf(hook, "%ld", &only) == 1 && only >= 0 &&
        (size_t)only < ctx->device_count)
        ctx->devices[only].binary_only = 1;
    /* The ops see a binary-only device as one without a compiler, so that
     * what compiles at run time (CLBlast) declines it. */
    for (size_t d = 0; d < ctx->device_count; d++)
        if (ctx->devices[d].binary_only)
            ctx->devices[d].cl.info.compiler_available = 0;
    const char *path = o->bundle && *o->bundle ? o->bundle : getenv("WEFT_BUNDLE");
    if (!path || !*path)
        return WEFT_OK;
    weft_status st = weft_bundle_load(path, &ctx->bundle);
    if (st != WEFT_OK)
        return st;
    const weft_bundle *b = ctx->bundle;
    size_t matched = 0;
    for (size_t d = 0; d < ctx->device_count; d++)
        if (weft_bundle_matches(b, &ctx->devices[d].cl.info)) {
            ctx->devices[d].bundle = b;
            matched++;
        }
    if (matched) {
        weft_log(WEFT_LOG_INFO, "bundle '%s': %zu programs for '%s', serving %zu device(s)",
                 path, b->count, b->name, matched);
        return WEFT_OK;
    }
    const weft_device_info *i = &ctx->devices[0].cl.info;
    return weft_fail(WEFT_ERR_NO_DEVICE,
                     "bundle '%s' refused: it was made for device '%s' (vendor '%s', driver "
                     "'%s', platform '%s'), not for '%s' (vendor '%s', driver '%s', platform "
                     "'%s')%s; make it on this device with 'weft compile --device'",
                     path, b->name, b->vendor, b->driver_version, b->platform_version, i->name,
                     i->vendor, i->driver_version, i->platform_version,
                     ctx->device_count > 1 ? " nor any other device of the context" : "");
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

    /* A list of selectors: the option, else WEFT_DEVICES, else WEFT_DEVICE. */
    const char *selector = options->device;
    if (!selector)
        selector = getenv("WEFT_DEVICES");
    if (!selector || !*selector)
        selector = options->device ? options->device : getenv("WEFT_DEVICE");

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
    size_t *chosen = NULL, chosen_count = 0;
    st = weft_device_select_list(infos, count, selector, &chosen, &chosen_count);
    free(infos);
    if (st != WEFT_OK) {
        free(all);
        return st;
    }

    weft_context *ctx = calloc(1, sizeof *ctx);
    weft_device_state *ds = calloc(chosen_count, sizeof *ds);
    if (!ctx || !ds) {
        free(ctx);
        free(ds);
        free(all);
        free(chosen);
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for a context");
    }
    for (size_t d = 0; d < chosen_count; d++) {
        ds[d].cl = all[chosen[d]];
        ds[d].binary_only = options->binary_only || !ds[d].cl.info.compiler_available;
    }
    free(all);
    free(chosen);
    ctx->devices = ds;
    ctx->device_count = chosen_count;
    ctx->profiling = options->profiling != 0;
    ctx->cache_trace = env_is_on("WEFT_CACHE_TRACE");
    if (pthread_mutex_init(&ctx->lock, NULL) != 0) {
        free(ds);
        free(ctx);
        return weft_fail(WEFT_ERR_INTERNAL, "pthread_mutex_init failed");
    }
    if (pthread_cond_init(&ctx->program_ready, NULL) != 0) {
        pthread_mutex_destroy(&ctx->lock);
        free(ds);
        free(ctx);
        return weft_fail(WEFT_ERR_INTERNAL, "pthread_cond_init failed");
    }
    if (pthread_cond_init(&ctx->saves_done, NULL) != 0) {
        pthread_cond_destroy(&ctx->program_ready);
        pthread_mutex_destroy(&ctx->lock);
        free(ds);
        free(ctx);
        return weft_fail(WEFT_ERR_INTERNAL, "pthread_cond_init failed");
    }
    st = resolve_cache_dir(options, &ctx->cache_dir);
    if (st == WEFT_OK)
        st = open_devices(ctx);
    if (st != WEFT_OK) {
        weft_context_release(ctx);
        return st;
    }
    st = attach_bundle(ctx, options);
    if (st != WEFT_OK) {
        weft_context_release(ctx);
        return st;
    }
    for (size_t d = 1; d < ctx->device_count; d++)
        weft_log(WEFT_LOG_INFO, "device %zu: '%s' (%s)%s%s", d, ds[d].cl.info.name,
                 ds[d].cl.info.platform_name,
                 ds[d].context == ds[0].context ? ", sharing device 0's cl_context" : "",
                 ds[d].binary_only ? ", binary-only" : "");
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
    /* Released before any run, or mid-save: the cache still gets them. */
    weft_program_saves_flush(ctx);
    free(ctx->pending);
    if (ctx->cache_trace)
        fprintf(stderr,
                "weft cache: %llu memory hits, %llu disk hits, %llu builds, %llu saves, "
                "%llu rejected\n",
                (unsigned long long)ctx->stats.memory_hits,
                (unsigned long long)ctx->stats.disk_hits, (unsigned long long)ctx->stats.builds,
                (unsigned long long)ctx->stats.saves, (unsigned long long)ctx->stats.rejected);
    if (ctx->cache_trace && ctx->bundle)
        fprintf(stderr, "weft cache: %llu bundle hits from '%s'\n",
                (unsigned long long)ctx->stats.bundle_hits, ctx->bundle->path);
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
    weft_bundle_release(ctx->bundle);
    pthread_mutex_destroy(&ctx->lock);
    pthread_cond_destroy(&ctx->program_ready);
    pthread_cond_destroy(&ctx->saves_done);
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

weft_status weft_context_flush_cache(weft_context *context)
{
    if (!context)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_context_flush_cache: context is NULL");
    weft_program_saves_flush(context);
    return WEFT_OK;
}
