#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/util.h"
#include "runtime/device.h"

#define NO_DEVICE_ADVICE                                                      \
    "no OpenCL device found. Install an OpenCL driver, e.g. PoCL for the "    \
    "CPU on Debian/Ubuntu: apt-get install pocl-opencl-icd ocl-icd-libopencl1" \
    " (check with `clinfo -l`)"

static void platform_string(cl_platform_id p, cl_platform_info what, char *out,
                            size_t cap)
{
    out[0] = '\0';
    if (clGetPlatformInfo(p, what, cap, out, NULL) != CL_SUCCESS)
        snprintf(out, cap, "?");
    out[cap - 1] = '\0';
}

static void device_string(cl_device_id d, cl_device_info what, char *out,
                          size_t cap)
{
    out[0] = '\0';
    if (clGetDeviceInfo(d, what, cap, out, NULL) != CL_SUCCESS)
        snprintf(out, cap, "?");
    out[cap - 1] = '\0';
}

static int device_has_extension(cl_device_id d, const char *ext)
{
    size_t size = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, 0, NULL, &size) != CL_SUCCESS || !size)
        return 0;
    char *list = malloc(size + 1);
    if (!list)
        return 0;
    int found = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, size, list, NULL) == CL_SUCCESS) {
        list[size] = '\0';
        size_t n = strlen(ext);
        for (char *p = strstr(list, ext); p; p = strstr(p + 1, ext))
            if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) {
                found = 1;
                break;
            }
    }
    free(list);
    return found;
}

static void query_device(cl_platform_id p, cl_device_id d, weft_device_info *info)
{
    platform_string(p, CL_PLATFORM_NAME, info->platform_name, sizeof info->platform_name);
    platform_string(p, CL_PLATFORM_VERSION, info->platform_version,
                    sizeof info->platform_version);
    device_string(d, CL_DEVICE_NAME, info->name, sizeof info->name);
    device_string(d, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    device_string(d, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version);
    device_string(d, CL_DEVICE_VERSION, info->opencl_version, sizeof info->opencl_version);
    device_string(d, CL_DEVICE_OPENCL_C_VERSION, info->opencl_c_version,
                  sizeof info->opencl_c_version);

    cl_device_type type = 0;
    cl_uint units = 0, clock = 0;
    cl_ulong global = 0, local = 0, alloc = 0;
    size_t wg = 0;
    cl_bool compiler = CL_FALSE;
    cl_device_fp_config fp64 = 0;
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof clock, &clock, NULL);
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global, &global, NULL);
    clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local, &local, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof alloc, &alloc, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    clGetDeviceInfo(d, CL_DEVICE_COMPILER_AVAILABLE, sizeof compiler, &compiler, NULL);
    if (clGetDeviceInfo(d, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp64, &fp64, NULL) != CL_SUCCESS)
        fp64 = 0;

    if (type & CL_DEVICE_TYPE_GPU)
        info->type = WEFT_DEVICE_GPU;
    else if (type & CL_DEVICE_TYPE_ACCELERATOR)
        info->type = WEFT_DEVICE_ACCELERATOR;
    else if (type & CL_DEVICE_TYPE_CPU)
        info->type = WEFT_DEVICE_CPU;
    else
        info->type = WEFT_DEVICE_OTHER;
    info->compute_units = units;
    info->clock_mhz = clock;
    info->global_mem_bytes = global;
    info->local_mem_bytes = local;
    info->max_alloc_bytes = alloc;
    info->max_work_group_size = wg;
    info->compiler_available = compiler == CL_TRUE;
    info->fp16 = device_has_extension(d, "cl_khr_fp16");
    info->fp64 = fp64 != 0 || device_has_extension(d, "cl_khr_fp64");
}

weft_status weft_devices_enumerate(weft_cl_device **devices, size_t *count)
{
    *devices = NULL;
    *count = 0;
    cl_uint nplat = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &nplat);
    if (err != CL_SUCCESS || nplat == 0) {
        weft_log(WEFT_LOG_INFO, "clGetPlatformIDs: %s, %u platforms",
                 weft_cl_error_name(err), nplat);
        return weft_fail(WEFT_ERR_NO_DEVICE, NO_DEVICE_ADVICE);
    }
    cl_platform_id *plats = calloc(nplat, sizeof *plats);
    if (!plats)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for %u platforms", nplat);
    err = clGetPlatformIDs(nplat, plats, NULL);
    if (err != CL_SUCCESS) {
        free(plats);
        return weft_fail(WEFT_ERR_NO_DEVICE, "clGetPlatformIDs failed (%s); " NO_DEVICE_ADVICE,
                         weft_cl_error_name(err));
    }

    weft_cl_device *list = NULL;
    size_t n = 0;
    weft_status st = WEFT_OK;
    for (cl_uint p = 0; p < nplat && st == WEFT_OK; p++) {
        cl_uint ndev = 0;
        err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &ndev);
        if (err != CL_SUCCESS || ndev == 0) {
            weft_log(WEFT_LOG_INFO, "platform %u skipped: clGetDeviceIDs gave %s, %u devices",
                     p, weft_cl_error_name(err), ndev);
            continue;
        }
        cl_device_id *ids = calloc(ndev, sizeof *ids);
        weft_cl_device *grown = realloc(list, (n + ndev) * sizeof *list);
        if (!ids || !grown) {
            free(ids);
            if (grown)
                list = grown;
            st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the device list");
            break;
        }
        list = grown;
        err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, ndev, ids, NULL);
        if (err != CL_SUCCESS) {
            weft_log(WEFT_LOG_INFO, "platform %u skipped: clGetDeviceIDs gave %s", p,
                     weft_cl_error_name(err));
            free(ids);
            continue;
        }
        for (cl_uint d = 0; d < ndev; d++) {
            weft_cl_device *dev = &list[n];
            memset(dev, 0, sizeof *dev);
            dev->platform = plats[p];
            dev->device = ids[d];
            query_device(plats[p], ids[d], &dev->info);
            dev->info.platform_index = p;
            dev->info.device_index = d;
            dev->info.global_index = (unsigned)n;
            n++;
        }
        free(ids);
    }
    free(plats);
    if (st == WEFT_OK && n == 0)
        st = weft_fail(WEFT_ERR_NO_DEVICE, NO_DEVICE_ADVICE);
    if (st != WEFT_OK) {
        free(list);
        return st;
    }
    *devices = list;
    *count = n;
    return WEFT_OK;
}

static int type_rank(weft_device_type t)
{
    switch (t) {
    case WEFT_DEVICE_GPU: return 0;
    case WEFT_DEVICE_ACCELERATOR: return 1;
    case WEFT_DEVICE_CPU: return 2;
    default: return 3;
    }
}

/* True when a should be preferred over b among devices allowed by a filter. */
static int better(const weft_device_info *a, const weft_device_info *b)
{
    int ra = type_rank(a->type), rb = type_rank(b->type);
    if (ra != rb)
        return ra < rb;
    uint64_t pa = (uint64_t)a->compute_units * a->clock_mhz;
    uint64_t pb = (uint64_t)b->compute_units * b->clock_mhz;
    return pa > pb;
}

static int parse_uint(const char *s, const char **end, unsigned long *value)
{
    if (!isdigit((unsigned char)*s))
        return 0;
    char *e;
    *value = strtoul(s, &e, 10);
    *end = e;
    return 1;
}

static weft_status no_match(const weft_device_info *infos, size_t count,
                            const char *selector, const char *why)
{
    weft_fail(WEFT_ERR_NO_DEVICE, "device selector '%s' %s; available devices:", selector, why);
    for (size_t i = 0; i < count; i++)
        weft_fail_append("\n  %zu  [%u:%u] %s (%s, %s)", i, infos[i].platform_index,
                         infos[i].device_index, infos[i].name,
                         weft_device_type_name(infos[i].type), infos[i].platform_name);
    return WEFT_ERR_NO_DEVICE;
}

weft_status weft_device_select(const weft_device_info *infos, size_t count,
                               const char *selector, size_t *chosen)
{
    if (!selector || !*selector)
        selector = "auto";
    if (count == 0)
        return weft_fail(WEFT_ERR_NO_DEVICE, NO_DEVICE_ADVICE);

    int want_type = 0; /* 0: any */
    if (weft_str_ieq(selector, "gpu"))
        want_type = WEFT_DEVICE_GPU;
    else if (weft_str_ieq(selector, "cpu"))
        want_type = WEFT_DEVICE_CPU;
    else if (weft_str_ieq(selector, "accel") || weft_str_ieq(selector, "accelerator"))
        want_type = WEFT_DEVICE_ACCELERATOR;
    if (want_type || weft_str_ieq(selector, "auto")) {
        size_t best = count;
        for (size_t i = 0; i < count; i++) {
            if (want_type && (int)infos[i].type != want_type)
                continue;
            if (best == count || better(&infos[i], &infos[best]))
                best = i;
        }
        if (best == count)
            return no_match(infos, count, selector, "matches no device of that type");
        *chosen = best;
        return WEFT_OK;
    }

    unsigned long a, b;
    const char *end;
    if (parse_uint(selector, &end, &a)) {
        if (*end == '\0' && a < count) {
            *chosen = (size_t)a;
            return WEFT_OK;
        }
        if (*end == ':') {
            if (!parse_uint(end + 1, &end, &b) || *end != '\0')
                return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                                 "device selector '%s': expected PLATFORM:DEVICE, two indices",
                                 selector);
            for (size_t i = 0; i < count; i++)
                if (infos[i].platform_index == a && infos[i].device_index == b) {
                    *chosen = i;
                    return WEFT_OK;
                }
            return no_match(infos, count, selector, "names no platform:device pair");
        }
    }

    /* A name substring; the first device in `weft devices` order wins.
     * Digits that are no valid index may still be part of a name ("1080"). */
    for (size_t i = 0; i < count; i++)
        if (weft_str_icontains(infos[i].name, selector)) {
            *chosen = i;
            return WEFT_OK;
        }
    return no_match(infos, count, selector, "matches no device index or name");
}

weft_status weft_device_select_list(const weft_device_info *infos, size_t count,
                                    const char *selectors, size_t **chosen, size_t *chosen_count)
{
    *chosen = NULL;
    *chosen_count = 0;
    if (!selectors)
        selectors = "";
    size_t items = 1;
    for (const char *c = selectors; *c; c++)
        items += *c == ',';
    size_t *list = malloc(items * sizeof *list);
    if (!list)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the device list");
    size_t n = 0;
    const char *p = selectors;
    for (size_t k = 0; k < items; k++) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[256];
        snprintf(item, sizeof item, "%.*s", (int)len, p);
        if (items > 1 && len == 0) {
            free(list);
            return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "device list '%s': an empty item",
                             selectors);
        }
        /* In a list, digits are always an index (not part of a name). */
        size_t digits = strspn(item, "0123456789");
        if (items > 1 && digits == len && strtoul(item, NULL, 10) >= count) {
            free(list);
            return no_match(infos, count, selectors, "names a device index that does not exist");
        }
        size_t at = 0;
        weft_status st = weft_device_select(infos, count, item, &at);
        if (st != WEFT_OK) {
            free(list);
            if (items == 1)
                return st;
            char *why = weft_strdup(weft_last_error());
            weft_fail(st, "device list '%s': %s", selectors, why ? why : "");
            free(why);
            return st;
        }
        for (size_t j = 0; j < n; j++)
            if (list[j] == at) {
                free(list);
                return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                                 "device list '%s': '%s' names device %zu (%s) again", selectors,
                                 item, at, infos[at].name);
            }
        list[n++] = at;
        p += len + (end ? 1 : 0);
    }
    *chosen = list;
    *chosen_count = n;
    return WEFT_OK;
}

const char *weft_device_type_name(weft_device_type type)
{
    switch (type) {
    case WEFT_DEVICE_GPU: return "GPU";
    case WEFT_DEVICE_ACCELERATOR: return "ACCELERATOR";
    case WEFT_DEVICE_CPU: return "CPU";
    default: return "OTHER";
    }
}

weft_status weft_device_count(size_t *count)
{
    if (!count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_device_count: count is NULL");
    weft_cl_device *devices;
    weft_status st = weft_devices_enumerate(&devices, count);
    if (st == WEFT_OK)
        free(devices);
    return st;
}

weft_status weft_device_get_info(size_t global_index, weft_device_info *info)
{
    if (!info)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_device_get_info: info is NULL");
    weft_cl_device *devices;
    size_t count;
    weft_status st = weft_devices_enumerate(&devices, &count);
    if (st != WEFT_OK)
        return st;
    if (global_index >= count) {
        free(devices);
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                         "weft_device_get_info: index %zu, but there are %zu devices",
                         global_index, count);
    }
    *info = devices[global_index].info;
    free(devices);
    return WEFT_OK;
}
