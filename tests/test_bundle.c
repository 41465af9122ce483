/*
 * Ahead-of-time bundles (src/runtime/bundle.c and the program cache's use
 * of them): a bundle made from one session serves a fresh binary-only
 * context that compiles nothing, with the same results as a normal session
 * and as src/ref; a partial bundle leaves the uncovered nodes to another
 * device, or fails naming the node and program; and every damaged or
 * foreign bundle is refused at context creation with a message saying
 * which check failed: another device, another weft version, cut at many
 * lengths, a byte flipped at many offsets, hostile lengths under a valid
 * checksum, an empty or missing file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/random.h"
#include "core/sha256.h"
#include "core/util.h"
#include "graph/graph.h"
#include "ref/ref.h"
#include "runtime/bundle.h"
#include "test_common.h"

/* The layout of bundle.h: magic, format, file size, then five strings. */
enum { OFF_FORMAT = 8, OFF_FILE_SIZE = 12, OFF_FIELDS = 20, DIGEST = 32 };

#define INPUT_ELEMS (1 * 3 * 9 * 9)

static char *work_dir;

/* ---- Graphs and runs -------------------------------------------------------- */

/* x -> Conv 3x3 (+ ReLU, fused) -> "r"; with `full`, -> MaxPool 2x2/2 ->
 * Sigmoid -> "y": the covered part of a partial bundle and the whole. */
static weft_graph *make_graph(int full)
{
    static float w[4 * 3 * 3 * 3], b[4];
    uint64_t seed = 77;
    weft_random_fill(&seed, w, WEFT_COUNTOF(w), -1, 1);
    weft_random_fill(&seed, b, WEFT_COUNTOF(b), -1, 1);
    const int64_t xs[4] = {1, 3, 9, 9}, ws[4] = {4, 3, 3, 3}, bs[1] = {4};
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, xs));
    assert_weft_ok(weft_graph_add_constant(g, "w", WEFT_FLOAT32, 4, ws, w));
    assert_weft_ok(weft_graph_add_constant(g, "b", WEFT_FLOAT32, 1, bs, b));
    weft_conv_attrs ca;
    weft_conv_defaults(&ca);
    for (int i = 0; i < 4; i++)
        ca.pads[i] = 1;
    assert_weft_ok(weft_graph_add_conv(g, "conv", "x", "w", "b", &ca, "c"));
    assert_weft_ok(weft_graph_add_activation(g, "relu", WEFT_ACT_RELU, 0, 0, "c", "r"));
    if (full) {
        weft_pool_attrs pa;
        weft_pool_defaults(&pa);
        pa.kernel_shape[0] = pa.kernel_shape[1] = 2;
        pa.strides[0] = pa.strides[1] = 2;
        assert_weft_ok(weft_graph_add_pool(g, "pool", WEFT_POOL_MAX, "r", &pa, "p"));
        assert_weft_ok(weft_graph_add_activation(g, "sigmoid", WEFT_ACT_SIGMOID, 0, 0, "p", "y"));
    }
    assert_weft_ok(weft_graph_add_output(g, full ? "y" : "r"));
    assert_weft_ok(weft_graph_validate(g));
    return g;
}

static void fill_input(float *x)
{
    uint64_t seed = 4242;
    weft_random_fill(&seed, x, INPUT_ELEMS, -2, 2);
}

/* Runs session s once; *out is malloc'd, *n its elements. */
static void run_session(weft_session *s, float **out, size_t *n)
{
    float x[INPUT_ELEMS];
    fill_input(x);
    weft_tensor in = {.name = "x", .dtype = WEFT_FLOAT32, .rank = 4, .dims = {1, 3, 9, 9},
                      .data = x, .size_bytes = sizeof x};
    weft_tensor res;
    assert_weft_ok(weft_session_output_info(s, 0, &res));
    res.data = malloc(res.size_bytes);
    assert_non_null(res.data);
    memset(res.data, 0xff, res.size_bytes); /* NaN: unwritten elements show */
    assert_weft_ok(weft_session_run(s, &in, 1, &res, 1));
    *out = res.data;
    *n = res.size_bytes / sizeof(float);
}

/* The same in a new session of g on ctx. */
static void run_graph(weft_context *ctx, const weft_graph *g, float **out, size_t *n)
{
    weft_session *s;
    assert_weft_ok(weft_session_create(ctx, g, NULL, &s));
    run_session(s, out, n);
    weft_session_release(s);
}

static void assert_matches_ref(const weft_graph *g, const float *got, size_t n)
{
    float x[INPUT_ELEMS];
    fill_input(x);
    weft_tensor in = {.name = "x", .dtype = WEFT_FLOAT32, .rank = 4, .dims = {1, 3, 9, 9},
                      .data = x, .size_bytes = sizeof x};
    weft_host_tensor want;
    assert_weft_ok(weft_ref_run_graph(g, &in, 1, &want, 1));
    assert_int_equal(weft_shape_numel(&want.shape), (int64_t)n);
    const float *exp = want.data;
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - exp[i]) <= 1e-4f * (1 + fabsf(exp[i]))))
            fail_msg("element %zu: %.9g, expected %.9g", i, (double)got[i], (double)exp[i]);
    free(want.data);
}

static weft_cache_stats stats_of(weft_context *ctx)
{
    weft_cache_stats s;
    assert_weft_ok(weft_context_cache_stats(ctx, &s));
    return s;
}

/* Options with the disk cache off, so only the bundle or the compiler can
 * serve a program. */
static weft_context_options bundle_options(const char *bundle, int binary_only)
{
    weft_context_options o = test_options(NULL);
    o.bundle = bundle;
    o.binary_only = binary_only;
    return o;
}

/* A bundle of g's programs on `device` (a selector; NULL: the default)
 * in work_dir/NAME; *programs its entry count. */
static char *make_bundle(const weft_graph *g, const char *device, const char *name,
                         size_t *programs)
{
    char *path = weft_path_join(work_dir, name);
    assert_non_null(path);
    weft_context_options o = bundle_options(NULL, 0);
    o.device = device;
    weft_context *ctx;
    assert_weft_ok(weft_context_create(&o, &ctx));
    float *out;
    size_t n;
    run_graph(ctx, g, &out, &n);
    free(out);
    uint64_t bytes = 0;
    assert_weft_ok(weft_context_write_bundle(ctx, 0, path, programs, &bytes));
    /* A fresh context without a cache built each program once: all of them
     * are in the bundle. */
    assert_int_equal(*programs, stats_of(ctx).builds);
    assert_true(*programs > 0);
    assert_true(bytes > *programs * 40);
    weft_context_release(ctx);
    return path;
}

/* ---- Files ---------------------------------------------------------------------- */

static unsigned char *read_all(const char *path, size_t *n)
{
    char *data;
    assert_weft_ok(weft_file_read(path, (size_t)1 << 30, &data, n));
    return (unsigned char *)data;
}

static void write_all(const char *path, const unsigned char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Offset of header string i (0 version, 1 name, ...: its length word). */
static size_t field_at(const unsigned char *p, int i)
{
    size_t at = OFF_FIELDS;
    while (i-- > 0)
        at += 4 + weft_le_get32(p + at);
    return at;
}

/* Makes the size field and the digest agree with the bytes again, so that
 * only the check under test can refuse the file. */
static void reseal(unsigned char *p, size_t n)
{
    weft_le_put64(p + OFF_FILE_SIZE, n);
    weft_sha256_digest(p, n - DIGEST, p + n - DIGEST);
}

/* Context creation with bundle `path` must fail with `status` and a
 * message holding `part` and the path. */
static void assert_refused(const char *path, weft_status status, const char *part, const char *what)
{
    weft_context_options o = bundle_options(path, 1);
    weft_context *ctx = NULL;
    weft_status st = weft_context_create(&o, &ctx);
    if (st != status || !strstr(weft_last_error(), part) || !strstr(weft_last_error(), path))
        fail_msg("%s: %s with '%s', expected %s with '%s' and the path", what,
                 weft_status_name(st), weft_last_error(), weft_status_name(status), part);
    assert_null(ctx);
}

/* ---- Tests ---------------------------------------------------------------------- */

static char *full_bundle;
static size_t full_programs;

static int setup(void **state)
{
    (void)state;
    work_dir = test_tmpdir("bundle");
    weft_graph *g = make_graph(1);
    full_bundle = make_bundle(g, NULL, "full.weftbin", &full_programs);
    weft_graph_release(g);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(full_bundle);
    test_rmtree(work_dir);
    free(work_dir);
    return 0;
}

/* A binary-only context with the bundle compiles nothing and computes what
 * a normal session and the reference compute. */
static void test_binary_only_runs_from_bundle(void **state)
{
    (void)state;
    weft_graph *g = make_graph(1);
    weft_context_options plain = bundle_options(NULL, 0);
    weft_context *ctx;
    assert_weft_ok(weft_context_create(&plain, &ctx));
    float *normal;
    size_t n;
    run_graph(ctx, g, &normal, &n);
    weft_context_release(ctx);
    assert_matches_ref(g, normal, n);

    for (int binary_only = 1; binary_only >= 0; binary_only--) {
        weft_context_options o = bundle_options(full_bundle, binary_only);
        assert_weft_ok(weft_context_create(&o, &ctx));
        float *got;
        size_t m;
        run_graph(ctx, g, &got, &m);
        weft_cache_stats s = stats_of(ctx);
        assert_int_equal(s.builds, 0);
        assert_int_equal(s.disk_hits, 0);
        assert_int_equal(s.bundle_hits, full_programs);
        assert_int_equal(m, n);
        /* The same binaries: the same bits. */
        assert_memory_equal(got, normal, n * sizeof *got);
        free(got);
        weft_context_release(ctx);
    }
    free(normal);

    /* WEFT_BUNDLE does what the option does. */
    setenv("WEFT_BUNDLE", full_bundle, 1);
    weft_context_options o = bundle_options(NULL, 1);
    assert_weft_ok(weft_context_create(&o, &ctx));
    float *got;
    run_graph(ctx, g, &got, &n);
    assert_int_equal(stats_of(ctx).bundle_hits, full_programs);
    free(got);
    weft_context_release(ctx);
    unsetenv("WEFT_BUNDLE");
    weft_graph_release(g);
}

/* Without the bundle a binary-only context has nothing to run; with a
 * bundle of only the convolution, the pool is named with its program. */
static void test_missing_program_names_node(void **state)
{
    (void)state;
    weft_graph *full = make_graph(1), *part = make_graph(0);
    weft_context_options o = bundle_options(NULL, 1);
    weft_context *ctx;
    assert_weft_ok(weft_context_create(&o, &ctx));
    weft_session *s = NULL;
    assert_weft_status(weft_session_create(ctx, full, NULL, &s), WEFT_ERR_UNSUPPORTED,
                       "node 'conv' (Conv)");
    assert_null(s);
    weft_context_release(ctx);

    size_t programs;
    char *partial = make_bundle(part, NULL, "partial.weftbin", &programs);
    assert_true(programs < full_programs);
    o = bundle_options(partial, 1);
    assert_weft_ok(weft_context_create(&o, &ctx));
    /* The covered graph runs from it... */
    float *got;
    size_t n;
    run_graph(ctx, part, &got, &n);
    assert_matches_ref(part, got, n);
    free(got);
    assert_int_equal(stats_of(ctx).builds, 0);
    /* ...the whole one stops at the pool, naming node, program and bundle. */
    assert_weft_status(weft_session_create(ctx, full, NULL, &s), WEFT_ERR_UNSUPPORTED,
                       "node 'pool' (MaxPool)");
    assert_non_null(strstr(weft_last_error(), "program 'pool'"));
    assert_non_null(strstr(weft_last_error(), "not in the bundle"));
    assert_non_null(strstr(weft_last_error(), partial));
    assert_null(s);
    assert_int_equal(stats_of(ctx).builds, 0);
    weft_context_release(ctx);

    /* A device that compiles fills the gap from source. */
    o = bundle_options(partial, 0);
    assert_weft_ok(weft_context_create(&o, &ctx));
    run_graph(ctx, full, &got, &n);
    assert_matches_ref(full, got, n);
    free(got);
    weft_cache_stats st = stats_of(ctx);
    assert_int_equal(st.bundle_hits, programs);
    assert_int_equal(st.builds, full_programs - programs);
    weft_context_release(ctx);
    free(partial);
    weft_graph_release(full);
    weft_graph_release(part);
}

/* The two devices of the two-device cases: WEFT_TEST_BUNDLE_DEVICES
 * ("A,B", selectors) or "0,1"; 0 (and a skip) when there are fewer than
 * two. */
static int two_devices(char *first, size_t first_cap, char *second, size_t second_cap)
{
    size_t count = 0;
    assert_weft_ok(weft_device_count(&count));
    if (count < 2) {
        printf("skipped: %zu OpenCL device(s), two are needed (POCL_DEVICES=\"pthread "
               "pthread\")\n", count);
        return 0;
    }
    const char *list = getenv("WEFT_TEST_BUNDLE_DEVICES");
    if (!list || !*list)
        list = "0,1";
    const char *comma = strchr(list, ',');
    assert_non_null(comma);
    snprintf(first, first_cap, "%.*s", (int)(comma - list), list);
    snprintf(second, second_cap, "%s", comma + 1);
    return 1;
}

/* Two devices, device 0 binary-only with a bundle of the convolution only
 * (made on device 0): the convolution runs on device 0, every other node
 * falls back to device 1 saying why, and the result is device 0's alone
 * (bit for bit when both devices are one model of device, as with
 * POCL_DEVICES="pthread pthread": the bundle then serves both; with two
 * kinds, as "pthread basic", it serves device 0 only). */
static void test_partial_bundle_two_devices(void **state)
{
    (void)state;
    char first[64], second[64], list[130];
    if (!two_devices(first, sizeof first, second, sizeof second))
        skip();
    snprintf(list, sizeof list, "%s,%s", first, second);
    weft_graph *full = make_graph(1), *part = make_graph(0);
    size_t programs;
    char *partial = make_bundle(part, first, "partial-two.weftbin", &programs);
    weft_context_options o = bundle_options(NULL, 0);
    o.device = first;
    weft_context *ctx;
    assert_weft_ok(weft_context_create(&o, &ctx));
    float *want;
    size_t n;
    run_graph(ctx, full, &want, &n);
    weft_context_release(ctx);

    o = bundle_options(partial, 0);
    o.device = list;
    setenv("WEFT_TEST_BINARY_ONLY_DEVICE", "0", 1);
    weft_status st = weft_context_create(&o, &ctx);
    unsetenv("WEFT_TEST_BINARY_ONLY_DEVICE");
    assert_weft_ok(st);
    weft_device_info d0, d1;
    assert_weft_ok(weft_context_device_info(ctx, 0, &d0));
    assert_weft_ok(weft_context_device_info(ctx, 1, &d1));
    weft_session_options so;
    weft_session_options_defaults(&so);
    so.placement = "first"; /* device 0 wherever it can */
    weft_session *s;
    assert_weft_ok(weft_session_create(ctx, full, &so, &s));
    size_t nodes, on0 = 0, on1 = 0;
    assert_weft_ok(weft_session_node_count(s, &nodes));
    for (size_t i = 0; i < nodes; i++) {
        weft_node_info info;
        assert_weft_ok(weft_session_node_info(s, i, &info));
        if (strcmp(info.name, "conv") == 0) {
            assert_int_equal(info.device_index, 0);
            assert_string_equal(info.fallback_reason, "");
            on0++;
        } else {
            if (info.device_index != 1 || !strstr(info.fallback_reason, "runs binaries only") ||
                !strstr(info.fallback_reason, "not in the bundle"))
                fail_msg("node '%s' on device %zu, reason '%s'", info.name, info.device_index,
                         info.fallback_reason);
            on1++;
        }
    }
    assert_int_equal(on0, 1);
    assert_true(on1 >= 1);
    weft_cache_stats cs = stats_of(ctx);
    assert_int_equal(cs.bundle_hits, programs);
    float *got;
    size_t m;
    run_session(s, &got, &m);
    weft_session_release(s);
    cs = stats_of(ctx);
    assert_int_equal(cs.bundle_hits, programs);
    assert_int_equal(cs.builds, full_programs - programs); /* device 1's share only */
    assert_int_equal(m, n);
    assert_memory_equal(got, want, n * sizeof *got);
    assert_matches_ref(full, got, n);
    free(got);
    free(want);
    weft_context_release(ctx);
    free(partial);
    weft_graph_release(full);
    weft_graph_release(part);
}

/* A bundle made on a truly different device (POCL_DEVICES="pthread
 * basic") is refused on the other one, naming both. */
static void test_refuses_real_other_device(void **state)
{
    (void)state;
    char first[64], second[64];
    if (!two_devices(first, sizeof first, second, sizeof second))
        skip();
    weft_context_options o = bundle_options(NULL, 0);
    weft_device_info a, b;
    weft_context *ctx;
    o.device = first;
    assert_weft_ok(weft_context_create(&o, &ctx));
    assert_weft_ok(weft_context_device_info(ctx, 0, &a));
    weft_context_release(ctx);
    o.device = second;
    assert_weft_ok(weft_context_create(&o, &ctx));
    assert_weft_ok(weft_context_device_info(ctx, 0, &b));
    weft_context_release(ctx);
    if (strcmp(a.name, b.name) == 0 && strcmp(a.driver_version, b.driver_version) == 0) {
        printf("skipped: both devices are '%s'; POCL_DEVICES=\"pthread basic\" gives two "
               "kinds\n", a.name);
        skip();
    }
    weft_graph *g = make_graph(0);
    size_t programs;
    char *path = make_bundle(g, second, "made-on-second.weftbin", &programs);
    o = bundle_options(path, 1);
    o.device = first;
    ctx = NULL;
    weft_status st = weft_context_create(&o, &ctx);
    if (st != WEFT_ERR_NO_DEVICE || !strstr(weft_last_error(), a.name) ||
        !strstr(weft_last_error(), b.name) || !strstr(weft_last_error(), path))
        fail_msg("%s: %s", weft_status_name(st), weft_last_error());
    assert_null(ctx);
    free(path);
    weft_graph_release(g);
}

static void test_refuses_other_device(void **state)
{
    (void)state;
    size_t n;
    unsigned char *p = read_all(full_bundle, &n);
    size_t at = field_at(p, 1);
    uint32_t len = weft_le_get32(p + at);
    assert_true(len > 0);
    char real[256];
    memcpy(real, p + at + 4, len);
    real[len] = '\0';
    memset(p + at + 4, 'Z', len);
    reseal(p, n);
    char *path = weft_path_join(work_dir, "other-device.weftbin");
    write_all(path, p, n);
    char fake[256];
    memset(fake, 'Z', len);
    fake[len] = '\0';
    assert_refused(path, WEFT_ERR_NO_DEVICE, fake, "other device");
    assert_non_null(strstr(weft_last_error(), real));
    /* Another driver version of the same device is another device too. */
    memcpy(p + at + 4, real, len);
    at = field_at(p, 3);
    assert_true(weft_le_get32(p + at) > 0);
    p[at + 4] ^= 0x20;
    reseal(p, n);
    write_all(path, p, n);
    assert_refused(path, WEFT_ERR_NO_DEVICE, "driver", "other driver");
    free(path);
    free(p);
}

static void test_refuses_other_version(void **state)
{
    (void)state;
    size_t n;
    unsigned char *p = read_all(full_bundle, &n);
    size_t at = field_at(p, 0);
    uint32_t len = weft_le_get32(p + at);
    assert_int_equal(len, strlen(weft_version()));
    for (uint32_t i = 0; i < len; i++) {
        unsigned char *c = p + at + 4 + i;
        if (*c >= '0' && *c <= '9')
            *c = *c == '9' ? '8' : '9';
    }
    char fake[64];
    memcpy(fake, p + at + 4, len);
    fake[len] = '\0';
    assert_string_not_equal(fake, weft_version());
    reseal(p, n);
    char *path = weft_path_join(work_dir, "other-version.weftbin");
    write_all(path, p, n);
    assert_refused(path, WEFT_ERR_UNSUPPORTED, fake, "other version");
    assert_non_null(strstr(weft_last_error(), weft_version()));
    /* Another format number. */
    free(p);
    p = read_all(full_bundle, &n);
    weft_le_put32(p + OFF_FORMAT, WEFT_BUNDLE_FORMAT + 1);
    reseal(p, n);
    write_all(path, p, n);
    assert_refused(path, WEFT_ERR_UNSUPPORTED, "bundle format", "other format");
    free(path);
    free(p);
}

static void test_refuses_truncated(void **state)
{
    (void)state;
    size_t n;
    unsigned char *p = read_all(full_bundle, &n);
    char *path = weft_path_join(work_dir, "cut.weftbin");
    size_t cases = 0;
    /* Every length through the header, then a spread through the entries. */
    for (size_t len = 1; len < n; len += len < 96 ? 1 : n / 40 + 1) {
        write_all(path, p, len);
        char what[64];
        snprintf(what, sizeof what, "cut to %zu of %zu bytes", len, n);
        assert_refused(path, WEFT_ERR_MODEL_FORMAT, "truncated", what);
        cases++;
    }
    write_all(path, p, n - 1);
    assert_refused(path, WEFT_ERR_MODEL_FORMAT, "truncated", "one byte short");
    write_all(path, p, 0);
    assert_refused(path, WEFT_ERR_MODEL_FORMAT, "empty", "empty file");
    assert_true(cases > 100);
    free(path);
    free(p);
}

static void test_refuses_flipped_byte(void **state)
{
    (void)state;
    size_t n;
    unsigned char *p = read_all(full_bundle, &n);
    char *path = weft_path_join(work_dir, "flipped.weftbin");
    for (size_t at = 0; at < n; at += at < 96 ? 1 : n / 40 + 1) {
        p[at] ^= 0x10;
        write_all(path, p, n);
        p[at] ^= 0x10;
        char what[64];
        snprintf(what, sizeof what, "byte %zu of %zu flipped", at, n);
        if (at < OFF_FORMAT)
            assert_refused(path, WEFT_ERR_MODEL_FORMAT, "wrong magic", what);
        else if (at < OFF_FILE_SIZE)
            assert_refused(path, WEFT_ERR_UNSUPPORTED, "bundle format", what);
        else if (at < OFF_FIELDS)
            assert_refused(path, WEFT_ERR_MODEL_FORMAT, "the file has", what);
        else
            assert_refused(path, WEFT_ERR_MODEL_FORMAT, "checksum mismatch", what);
    }
    /* The last byte (of the digest) too. */
    p[n - 1] ^= 0x01;
    write_all(path, p, n);
    assert_refused(path, WEFT_ERR_MODEL_FORMAT, "checksum mismatch", "last byte flipped");
    free(path);
    free(p);
}

/* Lengths that point past the end under a valid checksum (a crafted
 * file): refused by the bounds checks, not by the digest. */
static void test_refuses_hostile_lengths(void **state)
{
    (void)state;
    size_t n;
    unsigned char *orig = read_all(full_bundle, &n);
    unsigned char *p = malloc(n + 8);
    assert_non_null(p);
    char *path = weft_path_join(work_dir, "hostile.weftbin");
    size_t count_at = field_at(orig, 5);
    assert_int_equal(weft_le_get32(orig + count_at), full_programs);
    const struct {
        size_t at;
        uint32_t value;
        const char *part;
    } cases[] = {
        {field_at(orig, 0), 0x7fffffffu, "header string"},
        {field_at(orig, 4), 0xffffffffu, "header string"},
        {count_at, 0xffffffffu, "entry count is larger"},
        {count_at, (uint32_t)full_programs + 1, "past the end"},
        {count_at + 4 + 32, 0xffffffffu, "binary size"},   /* low word of entry 0's size */
        {count_at + 4 + 36, 0x00010000u, "binary size"},   /* high word */
        {count_at + 4 + 32, 0, "binary size"},
    };
    for (size_t i = 0; i < WEFT_COUNTOF(cases); i++) {
        memcpy(p, orig, n);
        weft_le_put32(p + cases[i].at, cases[i].value);
        reseal(p, n);
        write_all(path, p, n);
        char what[64];
        snprintf(what, sizeof what, "hostile case %zu", i);
        assert_refused(path, WEFT_ERR_MODEL_FORMAT, cases[i].part, what);
    }
    /* One entry fewer than there are: bytes left over. */
    memcpy(p, orig, n);
    weft_le_put32(p + count_at, (uint32_t)full_programs - 1);
    reseal(p, n);
    write_all(path, p, n);
    assert_refused(path, WEFT_ERR_MODEL_FORMAT, "bytes after the last entry", "count - 1");
    /* Bytes appended before the digest. */
    memcpy(p, orig, n - DIGEST);
    memset(p + n - DIGEST, 0, 8);
    reseal(p, n + 8);
    write_all(path, p, n + 8);
    assert_refused(path, WEFT_ERR_MODEL_FORMAT, "bytes after the last entry", "appended");
    /* Two entries under one key. */
    if (full_programs >= 2) {
        memcpy(p, orig, n);
        size_t second = count_at + 4 + 40 + (size_t)weft_le_get32(p + count_at + 4 + 32);
        memcpy(p + second, p + count_at + 4, 32);
        reseal(p, n);
        write_all(path, p, n);
        assert_refused(path, WEFT_ERR_MODEL_FORMAT, "same key", "duplicate key");
    }
    free(path);
    free(p);
    free(orig);
}

/* An intact bundle whose first binary the driver cannot use: a compiling
 * device builds that program from source, a binary-only one says why. */
static void test_driver_refuses_binary(void **state)
{
    (void)state;
    size_t n;
    unsigned char *p = read_all(full_bundle, &n);
    size_t entry = field_at(p, 5) + 4;
    uint32_t size = weft_le_get32(p + entry + 32);
    memset(p + entry + 40, 0x55, size);
    reseal(p, n);
    char *path = weft_path_join(work_dir, "garbage-binary.weftbin");
    write_all(path, p, n);
    free(p);
    weft_graph *g = make_graph(1);
    weft_context_options o = bundle_options(path, 1);
    weft_context *ctx;
    assert_weft_ok(weft_context_create(&o, &ctx));
    weft_session *s = NULL;
    assert_weft_status(weft_session_create(ctx, g, NULL, &s), WEFT_ERR_UNSUPPORTED,
                       "the binary");
    assert_non_null(strstr(weft_last_error(), "runs binaries only"));
    assert_int_equal(stats_of(ctx).builds, 0);
    weft_context_release(ctx);

    o = bundle_options(path, 0);
    assert_weft_ok(weft_context_create(&o, &ctx));
    float *got;
    run_graph(ctx, g, &got, &n);
    assert_matches_ref(g, got, n);
    free(got);
    weft_cache_stats st = stats_of(ctx);
    assert_int_equal(st.builds, 1);
    assert_int_equal(st.bundle_hits, full_programs - 1);
    weft_context_release(ctx);
    weft_graph_release(g);
    free(path);
}

static void test_refuses_missing_and_foreign_files(void **state)
{
    (void)state;
    char *path = weft_path_join(work_dir, "does-not-exist.weftbin");
    assert_refused(path, WEFT_ERR_IO, "cannot read the bundle", "missing file");
    free(path);
    /* A program cache entry is not a bundle. */
    path = weft_path_join(work_dir, "foreign.weftbin");
    write_all(path, (const unsigned char *)"WEFTPRG\n\1\0\0\0", 12);
    assert_refused(path, WEFT_ERR_MODEL_FORMAT, "wrong magic", "cache entry");
    free(path);
    /* The bundle loader alone, on NULLs. */
    weft_bundle *b = NULL;
    assert_weft_status(weft_bundle_load(NULL, &b), WEFT_ERR_INVALID_ARGUMENT, "NULL");
    weft_bundle_release(NULL);
    weft_context *ctx;
    weft_context_options o = bundle_options(NULL, 0);
    assert_weft_ok(weft_context_create(&o, &ctx));
    assert_weft_status(weft_context_write_bundle(ctx, 5, "x", NULL, NULL),
                       WEFT_ERR_INVALID_ARGUMENT, "device 5");
    assert_weft_status(weft_context_write_bundle(ctx, 0, NULL, NULL, NULL),
                       WEFT_ERR_INVALID_ARGUMENT, "path");
    /* An unwritable destination names the file. */
    char *bad = weft_path_join(full_bundle, "below-a-file.weftbin");
    assert_weft_status(weft_context_write_bundle(ctx, 0, bad, NULL, NULL), WEFT_ERR_IO,
                       "below-a-file");
    free(bad);
    /* An empty context makes an empty bundle, which loads. */
    path = weft_path_join(work_dir, "empty.weftbin");
    size_t programs = 99;
    assert_weft_ok(weft_context_write_bundle(ctx, 0, path, &programs, NULL));
    assert_int_equal(programs, 0);
    weft_context_release(ctx);
    o = bundle_options(path, 1);
    assert_weft_ok(weft_context_create(&o, &ctx));
    weft_context_release(ctx);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_only_runs_from_bundle),
        cmocka_unit_test(test_missing_program_names_node),
        cmocka_unit_test(test_partial_bundle_two_devices),
        cmocka_unit_test(test_refuses_real_other_device),
        cmocka_unit_test(test_refuses_other_device),
        cmocka_unit_test(test_refuses_other_version),
        cmocka_unit_test(test_refuses_truncated),
        cmocka_unit_test(test_refuses_flipped_byte),
        cmocka_unit_test(test_refuses_hostile_lengths),
        cmocka_unit_test(test_driver_refuses_binary),
        cmocka_unit_test(test_refuses_missing_and_foreign_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
