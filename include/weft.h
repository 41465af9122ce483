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
     * substring of the device name.
     * A comma-separated list of these ("gpu,cpu", "0,1") opens several
     * devices, in that order of preference: sessions then place each node
     * on one of them (see weft_session_options.placement). NULL also reads
     * WEFT_DEVICES (a list) before WEFT_DEVICE. */
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
    /* An ahead-of-time bundle from `weft compile` (NULL: WEFT_BUNDLE from
     * the environment, else none). Checked here: a damaged bundle, one of
     * another weft version, or one made for none of the context's devices
     * fails context creation. Programs are then taken from it first; on a
     * binary-only device it and the disk cache are the only sources.
     * (WEFT_BINARY_ONLY=1 in the environment sets binary_only.) */
    const char *bundle;
} weft_context_options;

WEFT_API void weft_context_options_defaults(weft_context_options *options);

/* options may be NULL for the defaults. WEFT_ERR_NO_DEVICE names the
 * available devices when the selector matches none. */
WEFT_API weft_status weft_context_create(const weft_context_options *options,
                                         weft_context **context);
WEFT_API void weft_context_release(weft_context *context);

/* Number of devices the context uses (1 today). */
/* (Several when opened with a device list; index 0 is the first listed.) */
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
    uint64_t bundle_hits;   /* loaded from the context's bundle */
} weft_cache_stats;

WEFT_API weft_status weft_context_cache_stats(const weft_context *context,
                                              weft_cache_stats *stats);

/* Program binaries are written to the disk cache after the fact: a program
 * built from source waits until a session of the context has run once
 * (then a background thread of the context writes them, since reading a
 * binary makes some drivers generate code for every kernel), and
 * weft_context_release writes whatever is still waiting. This call returns
 * when every waiting binary is on disk: call it after a first run to keep
 * the saves out of later timings. A binary that cannot be written costs
 * only speed (WEFT_CACHE_TRACE names it), not an error.
 * WEFT_ERR_INVALID_ARGUMENT when context is NULL. */
WEFT_API weft_status weft_context_flush_cache(weft_context *context);

/* Writes an ahead-of-time bundle (what `weft compile` makes): the binary
 * of every program the context holds for device `device_index`, with that
 * device's identity and weft's version, to `path` (replaced atomically).
 * Create the sessions the bundle must serve on a fresh context first: the
 * context holds exactly their programs. *programs and *bytes (each may be
 * NULL) receive the entry count and the file size. WEFT_ERR_IO names the
 * file; WEFT_ERR_OPENCL when the driver gives no binary. */
WEFT_API weft_status weft_context_write_bundle(weft_context *context, size_t device_index,
                                               const char *path, size_t *programs,
                                               uint64_t *bytes);

/* Builds (or loads) every embedded kernel program for the context's device
 * `device_index` and checks a few of them against plain C on random data.
 * WEFT_ERR_CHECK_FAILED names the kernel and the first wrong element. */
WEFT_API weft_status weft_context_self_check(weft_context *context,
                                             size_t device_index);

/* ---- Tensors ------------------------------------------------------------- */

#define WEFT_MAX_RANK 8

/* Element types; the values are ONNX's TensorProto.DataType codes. */
typedef enum weft_dtype {
    WEFT_FLOAT32 = 1,
    WEFT_INT64 = 7
} weft_dtype;

/* A tensor handed to or from a session. For inputs, data is read; for
 * outputs, the caller gives data and size_bytes (its capacity) and the run
 * fills data, dtype, rank and dims. */
typedef struct weft_tensor {
    const char *name;
    weft_dtype dtype;
    int rank;
    int64_t dims[WEFT_MAX_RANK];
    void *data;
    size_t size_bytes;
} weft_tensor;

/* ---- Graphs ---------------------------------------------------------------
 * A graph holds values (named tensors: inputs, constants, node outputs) and
 * nodes (an ONNX op type, attributes, input and output value names). It is
 * built by the functions below or by the ONNX importer; sessions copy what
 * they need, so a graph may be released once sessions are created.
 * A graph is not thread-safe while it is being built.
 */
typedef struct weft_graph weft_graph;
typedef struct weft_attrs weft_attrs;

WEFT_API weft_status weft_graph_create(weft_graph **graph);
WEFT_API void weft_graph_release(weft_graph *graph);

/* A graph input of a fixed shape. dims may be NULL when rank is 0. */
WEFT_API weft_status weft_graph_add_input(weft_graph *graph, const char *name,
                                          weft_dtype dtype, int rank, const int64_t *dims);
/* A constant (initializer); data is copied. */
WEFT_API weft_status weft_graph_add_constant(weft_graph *graph, const char *name,
                                             weft_dtype dtype, int rank, const int64_t *dims,
                                             const void *data);
/* Marks a value, by name, as a graph output. */
WEFT_API weft_status weft_graph_add_output(weft_graph *graph, const char *name);

/* Attributes for weft_graph_add_node, with ONNX names and types. Setting a
 * name twice replaces the value. */
WEFT_API weft_status weft_attrs_create(weft_attrs **attrs);
WEFT_API void weft_attrs_release(weft_attrs *attrs);
WEFT_API weft_status weft_attrs_set_int(weft_attrs *attrs, const char *name, int64_t value);
WEFT_API weft_status weft_attrs_set_float(weft_attrs *attrs, const char *name, float value);
WEFT_API weft_status weft_attrs_set_string(weft_attrs *attrs, const char *name,
                                           const char *value);
WEFT_API weft_status weft_attrs_set_ints(weft_attrs *attrs, const char *name,
                                         const int64_t *values, size_t count);
WEFT_API weft_status weft_attrs_set_floats(weft_attrs *attrs, const char *name,
                                           const float *values, size_t count);

/* Adds a node of ONNX op type op_type. node_name may be NULL (a name is
 * made up). An absent optional input is NULL or "". attrs may be NULL and
 * is copied. Unknown op types are WEFT_ERR_UNSUPPORTED; structural errors
 * (cycles, values produced twice) are found by validation. */
WEFT_API weft_status weft_graph_add_node(weft_graph *graph, const char *op_type,
                                         const char *node_name, const char *const *inputs,
                                         size_t input_count, const weft_attrs *attrs,
                                         const char *const *outputs, size_t output_count);

/* ---- Typed builders for the main layer kinds ------------------------------
 * Each fills attributes from a struct (start from the *_defaults values)
 * and calls weft_graph_add_node. name may be NULL; an optional input
 * (bias, C) may be NULL.
 */
typedef enum weft_auto_pad {
    WEFT_AUTO_PAD_NOTSET = 0,  /* use pads */
    WEFT_AUTO_PAD_SAME_UPPER,
    WEFT_AUTO_PAD_SAME_LOWER,
    WEFT_AUTO_PAD_VALID
} weft_auto_pad;

typedef struct weft_conv_attrs {
    int spatial_rank;          /* 1, 2 or 3 (default 2) */
    int64_t kernel_shape[3];   /* all 0: taken from the weights */
    int64_t strides[3];        /* default 1 */
    int64_t dilations[3];      /* default 1 */
    int64_t pads[6];           /* begins then ends, ONNX order; default 0 */
    int64_t group;             /* default 1 */
    weft_auto_pad auto_pad;
} weft_conv_attrs;

WEFT_API void weft_conv_defaults(weft_conv_attrs *attrs);
WEFT_API weft_status weft_graph_add_conv(weft_graph *graph, const char *name, const char *x,
                                         const char *w, const char *bias,
                                         const weft_conv_attrs *attrs, const char *y);

typedef enum weft_pool_kind {
    WEFT_POOL_MAX,
    WEFT_POOL_AVERAGE,
    WEFT_POOL_LP,
    WEFT_POOL_GLOBAL_MAX,
    WEFT_POOL_GLOBAL_AVERAGE
} weft_pool_kind;

typedef struct weft_pool_attrs {
    int spatial_rank;          /* 1, 2 or 3 (default 2) */
    int64_t kernel_shape[3];   /* required for windowed pools */
    int64_t strides[3];        /* default 1 */
    int64_t dilations[3];      /* default 1 */
    int64_t pads[6];
    weft_auto_pad auto_pad;
    int ceil_mode;
    int count_include_pad;     /* average pooling */
    int64_t p;                 /* Lp pooling (default 2) */
} weft_pool_attrs;

WEFT_API void weft_pool_defaults(weft_pool_attrs *attrs);
WEFT_API weft_status weft_graph_add_pool(weft_graph *graph, const char *name,
                                         weft_pool_kind kind, const char *x,
                                         const weft_pool_attrs *attrs, const char *y);

typedef enum weft_activation {
    WEFT_ACT_RELU,
    WEFT_ACT_LEAKY_RELU,       /* alpha (default 0.01) */
    WEFT_ACT_ELU,              /* alpha (1) */
    WEFT_ACT_SELU,             /* alpha, gamma as beta (ONNX defaults) */
    WEFT_ACT_SIGMOID,
    WEFT_ACT_HARD_SIGMOID,     /* alpha (0.2), beta (0.5) */
    WEFT_ACT_HARD_SWISH,
    WEFT_ACT_TANH,
    WEFT_ACT_GELU,             /* alpha != 0: the tanh approximation */
    WEFT_ACT_SOFTPLUS,
    WEFT_ACT_SOFTSIGN,
    WEFT_ACT_MISH,
    WEFT_ACT_CLIP              /* alpha = min, beta = max (ReLU6: 0, 6) */
} weft_activation;

/* alpha and beta as listed above; NaN keeps the op's default. */
WEFT_API weft_status weft_graph_add_activation(weft_graph *graph, const char *name,
                                               weft_activation activation, float alpha,
                                               float beta, const char *x, const char *y);

WEFT_API weft_status weft_graph_add_batch_norm(weft_graph *graph, const char *name,
                                               const char *x, const char *scale,
                                               const char *bias, const char *mean,
                                               const char *var, float epsilon, const char *y);

WEFT_API weft_status weft_graph_add_concat(weft_graph *graph, const char *name,
                                           const char *const *inputs, size_t input_count,
                                           int64_t axis, const char *y);
WEFT_API weft_status weft_graph_add_add(weft_graph *graph, const char *name, const char *a,
                                        const char *b, const char *y);

typedef struct weft_gemm_attrs {
    float alpha, beta;         /* default 1, 1 */
    int trans_a, trans_b;
} weft_gemm_attrs;

WEFT_API void weft_gemm_defaults(weft_gemm_attrs *attrs);
WEFT_API weft_status weft_graph_add_gemm(weft_graph *graph, const char *name, const char *a,
                                         const char *b, const char *c,
                                         const weft_gemm_attrs *attrs, const char *y);

/* Checks the graph and infers every shape: acyclic, each value produced
 * once, inputs defined, outputs reachable, attributes in range.
 * WEFT_ERR_GRAPH or WEFT_ERR_SHAPE name the node, op and attribute. */
WEFT_API weft_status weft_graph_validate(weft_graph *graph);

/* ---- ONNX models ------------------------------------------------------------ */

/* Reads the ONNX model file at path (opsets 7 and newer of the ai.onnx
 * domain) into a new graph, which the caller releases. Initializers become
 * constants, the other graph inputs inputs of a fixed shape (float32 or
 * int64), and ops whose form changed between opsets are rewritten into the
 * one weft reads. External data files are read from the model's folder;
 * a location outside it, or a file shorter than its offset + length, is
 * refused. Returns WEFT_ERR_UNSUPPORTED listing every node weft cannot
 * import (op type, node name, opset), WEFT_ERR_MODEL_FORMAT naming the
 * field or node of a malformed file, WEFT_ERR_IO when it cannot be read.
 * *graph is NULL after a failure. */
WEFT_API weft_status weft_graph_load_onnx(const char *path, weft_graph **graph);
/* The same for a model already in memory (size bytes, copied as needed;
 * at most 2 GiB). Such a model cannot use external data. */
WEFT_API weft_status weft_graph_load_onnx_memory(const void *bytes, size_t size,
                                                 weft_graph **graph);

/* ---- Sessions -------------------------------------------------------------
 * A session is a graph compiled for one device of a context: validated,
 * simplified, every node given an implementation, programs built (through
 * the program cache), constants uploaded and intermediate buffers planned.
 * On a context with several devices each node is placed on one of them
 * (weft_session_options.placement); a tensor crossing devices is copied,
 * with events, so that independent branches run at the same time.
 *
 * Thread safety: a session runs on one thread at a time; several sessions,
 * on one context or several, may run at the same time from different
 * threads. A graph may be released once its sessions are created.
 */
typedef struct weft_session weft_session;

typedef struct weft_session_options {
    size_t device_index;     /* which of the context's devices (default 0) */
    int profiling;           /* record per-node times (weft_session_profile) */
    /* Forced implementations, "op:impl[,op:impl...]" (e.g. "relu:unary");
     * NULL means WEFT_IMPL from the environment. A forced implementation
     * that cannot run a node makes session creation fail with the reason. */
    const char *force_impl;
    /* With several devices in the context: which node runs where. NULL
     * means WEFT_PLACEMENT from the environment, else "auto". Items,
     * comma-separated: "auto" (minimise the estimated end-to-end time),
     * "first" (each node on the first device able to run it, starting at
     * device_index), "alternate" (node i on device i mod N where it can run:
     * for tests and benchmarks), "all=D" or "NODE=D" (forced; session
     * creation fails when device D cannot run that node). A node its
     * preferred device cannot run (no implementation, program build
     * failure, missing binary) falls back to the next device in the list;
     * weft_node_info.fallback_reason says why. device_index is the
     * preferred device (default 0, the first listed). */
    const char *placement;
    /* Tuning (`weft tune`): > 0 times, at creation and within this many
     * seconds, every implementation and tile variant that supports each
     * node the tuning cache lacks an answer for, keeps the fastest and
     * saves it in the cache (beside the program cache); 0 uses the cache
     * only. Tuned choices come after forced implementations and before
     * cost estimates. WEFT_TUNING=off ignores the cache and the budget. */
    double tune_seconds;
    /* A tuning file (weft_tuning_export) whose answers come before the
     * cache's. A file made for another device or weft version fails
     * session creation, naming both. NULL: none. */
    const char *tuning_file;
} weft_session_options;

WEFT_API void weft_session_options_defaults(weft_session_options *options);

/* options may be NULL. Errors name the node, op, attribute or device. */
WEFT_API weft_status weft_session_create(weft_context *context, const weft_graph *graph,
                                         const weft_session_options *options,
                                         weft_session **session);
WEFT_API void weft_session_release(weft_session *session);

/* Runs the graph once. inputs are matched to graph inputs by name, each
 * with the declared dtype and shape (WEFT_ERR_SHAPE names the input and
 * both shapes otherwise). outputs are matched by name too; their data must
 * hold size_bytes >= the output's size. */
WEFT_API weft_status weft_session_run(weft_session *session, const weft_tensor *inputs,
                                      size_t input_count, weft_tensor *outputs,
                                      size_t output_count);

/* Graph inputs and outputs: name, dtype, rank and dims (data NULL,
 * size_bytes the tensor's size). Names stay valid while the session lives. */
WEFT_API weft_status weft_session_input_count(const weft_session *session, size_t *count);
WEFT_API weft_status weft_session_input_info(const weft_session *session, size_t index,
                                             weft_tensor *info);
WEFT_API weft_status weft_session_output_count(const weft_session *session, size_t *count);
WEFT_API weft_status weft_session_output_info(const weft_session *session, size_t index,
                                              weft_tensor *info);

typedef struct weft_memory_stats {
    uint64_t planned_peak_bytes; /* bytes allocated for intermediate tensors */
    uint64_t live_peak_bytes;    /* the most bytes of intermediates alive at once */
    uint64_t constant_bytes;     /* weights and other constants on the device */
    uint64_t io_bytes;           /* graph input buffers */
} weft_memory_stats;

WEFT_API weft_status weft_session_memory(const weft_session *session, weft_memory_stats *stats);

/* One entry per node that runs, in execution order. */
typedef struct weft_node_info {
    const char *name;
    const char *op;
    const char *impl;
    const char *device;
    double time_ms;              /* last run's kernel time (start to end, summed); 0 unless profiling */
    size_t device_index;         /* which of the context's devices runs it */
    /* Why the node is not on its preferred device (the reason that device
     * gave), or "" when it is there or placement chose another by cost. */
    const char *fallback_reason;
    double start_ms, end_ms;     /* profiling: its first kernel's start and last kernel's end,
                                    from the run's first start (one timeline per platform) */
    int tuned;                   /* impl (and variant) came from the tuning cache or file */
    const char *variant;         /* the tuned tile variant, NULL for the implementation's own */
} weft_node_info;

WEFT_API weft_status weft_session_node_count(const weft_session *session, size_t *count);
WEFT_API weft_status weft_session_node_info(const weft_session *session, size_t index,
                                            weft_node_info *info);

/* ---- Tuning -------------------------------------------------------------------
 * Tuning results (see weft_session_options.tune_seconds) live in the
 * cache folder, one entry per device (name, vendor, driver and platform
 * versions) and weft version. They move between machines with the same
 * device as a small text file.
 */
/* Writes the tuning cache entry of the context's device `device_index`
 * to `path` (replaced atomically); a device without one gives a file
 * with no entries. WEFT_ERR_IO names the file. */
WEFT_API weft_status weft_tuning_export(weft_context *context, size_t device_index,
                                        const char *path);
/* Merges the tuning file at `path` into the cache entry of device
 * `device_index`. WEFT_ERR_IO refuses a malformed or truncated file, or
 * one made for another device or weft version (naming both);
 * WEFT_ERR_UNSUPPORTED when the context's cache is off. */
WEFT_API weft_status weft_tuning_import(weft_context *context, size_t device_index,
                                        const char *path);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_H */
