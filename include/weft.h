/*
 * weft — convolutional-network inference on any OpenCL device.
 *
 * The whole public C API. Conventions:
 *  - every function returns a weft_status (0 is WEFT_OK, errors are
 *    negative); objects come back through a trailing out-parameter;
 *  - after a failure, weft_last_error() gives a message for the calling
 *    thread that names the device, program, option or argument involved;
 *  - weft_*_release(NULL) is a no-op;
 *  - no function aborts the process, and a failed call leaks nothing.
 *
 * Thread safety: a weft_context may be shared between threads; its program
 * cache is internally locked. Status and message queries are per thread.
 */
#ifndef WEFT_H
#define WEFT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(WEFT_SHARED_BUILD)
#define WEFT_API __declspec(dllexport)
#elif defined(__GNUC__)
#define WEFT_API __attribute__((visibility("default")))
#else
#define WEFT_API
#endif

/* ---- Status codes ------------------------------------------------------
 * One list generates the enum, weft_status_name() and weft_status_string().
 * X(name, value, description)
 */
#define WEFT_STATUS_MAP(X)                                                   \
    X(OK, 0, "success")                                                      \
    X(ERR_INVALID_ARGUMENT, -1, "invalid argument")                          \
    X(ERR_OUT_OF_MEMORY, -2, "out of host memory")                           \
    X(ERR_NO_DEVICE, -3, "no matching OpenCL device")                        \
    X(ERR_OPENCL, -4, "OpenCL call failed")                                  \
    X(ERR_BUILD, -5, "OpenCL program failed to build")                       \
    X(ERR_UNSUPPORTED, -6, "unsupported on this device or configuration")    \
    X(ERR_IO, -7, "file input/output failed")                                \
    X(ERR_SHAPE, -8, "tensor shape mismatch")                                \
    X(ERR_MODEL_FORMAT, -9, "malformed model")                               \
    X(ERR_GRAPH, -10, "invalid graph")                                       \
    X(ERR_CHECK_FAILED, -11, "result check failed")                          \
    X(ERR_INTERNAL, -12, "internal error")

typedef enum weft_status {
#define WEFT_STATUS_ENUM_(name, value, text) WEFT_##name = value,
    WEFT_STATUS_MAP(WEFT_STATUS_ENUM_)
#undef WEFT_STATUS_ENUM_
} weft_status;

/* "WEFT_ERR_BUILD" for WEFT_ERR_BUILD; "WEFT_UNKNOWN_STATUS" otherwise. */
WEFT_API const char *weft_status_name(weft_status status);
/* A short static description of the status code. */
WEFT_API const char *weft_status_string(weft_status status);
/* The detailed message of the last failure on the calling thread ("" when
 * none). Valid until the next weft call on this thread. */
WEFT_API const char *weft_last_error(void);
/* "MAJOR.MINOR.PATCH". */
WEFT_API const char *weft_version(void);

/* ---- Devices ----------------------------------------------------------- */

typedef enum weft_device_type {
    WEFT_DEVICE_GPU = 1,
    WEFT_DEVICE_ACCELERATOR = 2,
    WEFT_DEVICE_CPU = 3,
    WEFT_DEVICE_OTHER = 4
} weft_device_type;

typedef struct weft_device_info {
    unsigned platform_index;      /* index in the system's platform list */
    unsigned device_index;        /* index within its platform */
    unsigned global_index;        /* index in weft_device_count() order */
    char platform_name[128];
    char platform_version[128];
    char name[128];
    char vendor[128];
    char driver_version[128];
    char opencl_version[128];     /* CL_DEVICE_VERSION */
    char opencl_c_version[128];   /* CL_DEVICE_OPENCL_C_VERSION */
    weft_device_type type;
    unsigned compute_units;
    unsigned clock_mhz;
    uint64_t global_mem_bytes;
    uint64_t local_mem_bytes;
    uint64_t max_alloc_bytes;
    size_t max_work_group_size;
    int fp16;                     /* cl_khr_fp16 */
    int fp64;                     /* cl_khr_fp64 or a double FP config */
    int compiler_available;       /* CL_DEVICE_COMPILER_AVAILABLE */
} weft_device_info;

/* "GPU", "ACCELERATOR", "CPU" or "OTHER". */
WEFT_API const char *weft_device_type_name(weft_device_type type);

/* Every OpenCL device on the system, in platform then device order; a
 * platform that fails to answer is skipped (noted in the log).
 * WEFT_ERR_NO_DEVICE when there is none, with install advice. */
WEFT_API weft_status weft_device_count(size_t *count);
WEFT_API weft_status weft_device_get_info(size_t global_index,
                                          weft_device_info *info);

/* ---- Context ------------------------------------------------------------
 * A context owns the OpenCL platform, device, cl_context and queue of the
 * device it selected, and a program cache in memory and on disk.
 */
typedef struct weft_context weft_context;

typedef enum weft_cache_mode {
    WEFT_CACHE_DEFAULT = 0, /* on, unless WEFT_CACHE=off */
    WEFT_CACHE_ON = 1,
    WEFT_CACHE_OFF = 2
} weft_cache_mode;

typedef struct weft_context_options {
    /* Device selector; NULL means WEFT_DEVICE from the environment, else
     * "auto". Forms: "auto", "gpu", "cpu", "accel", an index from
     * `weft devices`, "P:D" (platform:device), or a case-insensitive
     * substring of the device name. */
    const char *device;
    /* Disk cache folder; NULL means WEFT_CACHE_DIR, else
     * $XDG_CACHE_HOME/weft, else ~/.cache/weft. */
    const char *cache_dir;
    weft_cache_mode cache;
    /* Load programs only from binaries, never compile source (the mode of
     * devices without a compiler, forced here for testing). */
    int binary_only;
    /* Create queues with profiling enabled. */
    int profiling;
} weft_context_options;

WEFT_API void weft_context_options_defaults(weft_context_options *options);

/* options may be NULL for the defaults. WEFT_ERR_NO_DEVICE names the
 * available devices when the selector matches none. */
WEFT_API weft_status weft_context_create(const weft_context_options *options,
                                         weft_context **context);
WEFT_API void weft_context_release(weft_context *context);

/* Number of devices the context uses (1 today). */
WEFT_API weft_status weft_context_device_count(const weft_context *context,
                                               size_t *count);
WEFT_API weft_status weft_context_device_info(const weft_context *context,
                                              size_t index,
                                              weft_device_info *info);

/* Counters of the program cache since the context was created. */
typedef struct weft_cache_stats {
    uint64_t memory_hits;   /* served from this context's memory */
    uint64_t disk_hits;     /* loaded from a disk cache binary */
    uint64_t builds;        /* compiled from source */
    uint64_t saves;         /* binaries written to disk */
    uint64_t rejected;      /* disk entries found corrupt or stale */
} weft_cache_stats;

WEFT_API weft_status weft_context_cache_stats(const weft_context *context,
                                              weft_cache_stats *stats);

/* Builds (or loads) every embedded kernel program for the context's device
 * `device_index` and checks a few of them against plain C on random data.
 * WEFT_ERR_CHECK_FAILED names the kernel and the first wrong element. */
WEFT_API weft_status weft_context_self_check(weft_context *context,
                                             size_t device_index);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_H */
