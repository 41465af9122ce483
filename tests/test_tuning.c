/*
 * Tuning (src/runtime/tuning.c):
 *  - node keys: stable (a clone, attributes in another order), and
 *    changed by a shape, an attribute, a _weft_* attribute, an input's
 *    constness; the file format round-trips and is refused for another
 *    device, driver or weft version, truncated or malformed;
 *  - a small graph (MaxPool, Gemm) tuned at session creation writes the
 *    cache entry; a later context's session takes its choices with no
 *    timing, and agrees with an untuned session (WEFT_TUNING=off) and the
 *    reference;
 *  - budget 0 (or one that is already spent) times nothing;
 *  - a corrupt, foreign or truncated cache entry is ignored; export and
 *    import move results to another cache; an import or tuning_file for
 *    another device, or truncated, is refused;
 *  - every (implementation, variant) candidate of a few Conv and Gemm
 *    nodes, chosen through a tuning file, runs the chosen one and agrees
 *    with the reference, outputs poisoned.
 * Tolerance: float sums against the reference's double, as in
 * tests/test_conv.c: |got - want| <= 1e-4 + 1e-4 |want| (at most 200 terms
 * of |x| < 1).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "core/util.h"
#include "graph/graph.h"
#include "graph/passes.h"
#include "ref/ref.h"
#include "runtime/disk_cache.h"
#include "runtime/session.h"
#include "runtime/tuning.h"
#include "test_common.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void add_random_constant(weft_graph *g, const char *name, int rank, const int64_t *dims,
                                uint64_t seed)
{
    test_add_random_constant(g, name, rank, dims, &seed, -1, 1);
}

/* x [1, c, h, w] -> Conv (m outputs, k x k, stride s, pads k / 2) -> y. */
static weft_graph *conv_graph(int64_t c, int64_t m, int64_t hw, int64_t k, int64_t s,
                              int attrs_reversed)
{
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, (int64_t[]){1, c, hw, hw}));
    add_random_constant(g, "w", 4, (int64_t[]){m, c, k, k}, 3);
    add_random_constant(g, "b", 1, (int64_t[]){m}, 4);
    weft_attrs *a;
    assert_weft_ok(weft_attrs_create(&a));
    const int64_t p = k / 2;
    if (attrs_reversed)
        assert_weft_ok(weft_attrs_set_ints(a, "strides", (int64_t[]){s, s}, 2));
    assert_weft_ok(weft_attrs_set_ints(a, "pads", (int64_t[]){p, p, p, p}, 4));
    if (!attrs_reversed)
        assert_weft_ok(weft_attrs_set_ints(a, "strides", (int64_t[]){s, s}, 2));
    const char *in[] = {"x", "w", "b"}, *out[] = {"y"};
    assert_weft_ok(weft_graph_add_node(g, "Conv", "conv", in, 3, a, out, 1));
    weft_attrs_release(a);
    assert_weft_ok(weft_graph_add_output(g, "y"));
    assert_weft_ok(weft_graph_validate(g));
    return g;
}

/* x [1, 8, 10, 10] -> MaxPool 2x2 -> Flatten -> Gemm (10 x 200, transB) -> y;
 * without_gemm: the pool's output is the graph output. */
static weft_graph *pool_gemm_graph(int without_gemm)
{
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, (int64_t[]){1, 8, 10, 10}));
    weft_attrs *a;
    assert_weft_ok(weft_attrs_create(&a));
    assert_weft_ok(weft_attrs_set_ints(a, "kernel_shape", (int64_t[]){2, 2}, 2));
    assert_weft_ok(weft_attrs_set_ints(a, "strides", (int64_t[]){2, 2}, 2));
    const char *x[] = {"x"}, *p[] = {"p"}, *f[] = {"f"}, *y[] = {"y"};
    assert_weft_ok(weft_graph_add_node(g, "MaxPool", "pool", x, 1, a, without_gemm ? y : p, 1));
    weft_attrs_release(a);
    if (!without_gemm) {
        assert_weft_ok(weft_graph_add_node(g, "Flatten", "flatten", p, 1, NULL, f, 1));
        add_random_constant(g, "w", 2, (int64_t[]){10, 200}, 5);
        add_random_constant(g, "c", 1, (int64_t[]){10}, 6);
        assert_weft_ok(weft_attrs_create(&a));
        assert_weft_ok(weft_attrs_set_int(a, "transB", 1));
        const char *in[] = {"f", "w", "c"};
        assert_weft_ok(weft_graph_add_node(g, "Gemm", "gemm", in, 3, a, y, 1));
        weft_attrs_release(a);
    }
    assert_weft_ok(weft_graph_add_output(g, "y"));
    assert_weft_ok(weft_graph_validate(g));
    return g;
}

static const weft_node *node_named(const weft_graph *g, const char *name)
{
    for (size_t i = 0; i < g->node_count; i++)
        if (!g->nodes[i].removed && strcmp(g->nodes[i].name, name) == 0)
            return &g->nodes[i];
    fail_msg("no node '%s'", name);
    return NULL;
}

/* A simplified copy of g: the graph tuning keys and candidates are of. */
static weft_graph *simplified(const weft_graph *g)
{
    weft_graph *simple;
    assert_weft_ok(weft_graph_clone(g, &simple));
    assert_weft_ok(weft_graph_simplify(simple));
    return simple;
}

static void key_of(const weft_graph *g, const char *node, char key[65])
{
    weft_tuning_key(g, node_named(g, node), key);
}

/* The graph's only input, random, and its only output against the
 * reference: the session's output (poisoned first) within tolerance.
 * Returns the output (malloc'd) for comparisons between sessions. */
static float *run_and_check(weft_session *s, const weft_graph *g, const char *label)
{
    weft_tensor in_info, out_info;
    assert_weft_ok(weft_session_input_info(s, 0, &in_info));
    assert_weft_ok(weft_session_output_info(s, 0, &out_info));
    size_t nin = in_info.size_bytes / sizeof(float), nout = out_info.size_bytes / sizeof(float);
    float *x = malloc(nin * sizeof *x), *got = malloc(nout * sizeof *got);
    assert_non_null(x);
    assert_non_null(got);
    uint64_t seed = 99;
    weft_random_fill(&seed, x, nin, -1, 1);
    weft_tensor in = in_info;
    in.data = x;
    weft_tensor out = {.name = out_info.name, .data = got, .size_bytes = out_info.size_bytes};
    assert_weft_ok(weft_session_poison(s, NAN));
    if (weft_session_run(s, &in, 1, &out, 1) != WEFT_OK)
        fail_msg("%s: run: %s", label, weft_last_error());
    weft_host_tensor want;
    assert_weft_ok(weft_ref_run_graph(g, &in, 1, &want, 1));
    const float *e = want.data;
    for (size_t i = 0; i < nout; i++)
        if (!(fabsf(got[i] - e[i]) <= 1e-4f + 1e-4f * fabsf(e[i])))
            fail_msg("%s: element %zu of %zu is %.9g, expected %.9g", label, i, nout,
                     (double)got[i], (double)e[i]);
    free(want.data);
    free(x);
    return got;
}

static weft_session *session(weft_context *ctx, const weft_graph *g, double tune_seconds,
                             const char *tuning_file)
{
    weft_session_options o;
    weft_session_options_defaults(&o);
    o.tune_seconds = tune_seconds;
    o.tuning_file = tuning_file;
    weft_session *s;
    assert_weft_ok(weft_session_create(ctx, g, &o, &s));
    return s;
}

/* How many of the session's nodes took a tuned choice. */
static size_t tuned_nodes(const weft_session *s)
{
    size_t n = 0, count = 0;
    assert_weft_ok(weft_session_node_count(s, &count));
    for (size_t i = 0; i < count; i++) {
        weft_node_info info;
        assert_weft_ok(weft_session_node_info(s, i, &info));
        n += info.tuned != 0;
    }
    return n;
}

static weft_device_info device_of(weft_context *ctx)
{
    weft_device_info d;
    assert_weft_ok(weft_context_device_info(ctx, 0, &d));
    return d;
}

static void write_file(const char *path, const char *text, size_t size)
{
    assert_weft_ok(weft_file_write_atomic(path, text, size));
}

/* ---- Keys and the format -------------------------------------------------------- */

static void test_keys(void **state)
{
    (void)state;
    weft_graph *a = conv_graph(8, 16, 10, 3, 1, 0), *same = conv_graph(8, 16, 10, 3, 1, 1);
    weft_graph *shape = conv_graph(8, 16, 12, 3, 1, 0), *stride = conv_graph(8, 16, 10, 3, 2, 0);
    weft_graph *clone;
    assert_weft_ok(weft_graph_clone(a, &clone));
    char ka[65], kb[65];
    key_of(a, "conv", ka);
    assert_int_equal(strlen(ka), 64);
    key_of(clone, "conv", kb);
    assert_string_equal(ka, kb);
    key_of(same, "conv", kb);
    assert_string_equal(ka, kb);
    key_of(shape, "conv", kb);
    assert_string_not_equal(ka, kb);
    key_of(stride, "conv", kb);
    assert_string_not_equal(ka, kb);
    /* a fusion pass's attribute */
    weft_node *n = (weft_node *)node_named(clone, "conv");
    weft_attrs *extra;
    assert_weft_ok(weft_attrs_create(&extra));
    assert_weft_ok(weft_attrs_copy(extra, &n->attrs));
    assert_weft_ok(weft_attrs_set_string(extra, "_weft_activation", "Relu"));
    weft_attrs_clear(&n->attrs);
    assert_weft_ok(weft_attrs_copy(&n->attrs, extra));
    weft_attrs_release(extra);
    key_of(clone, "conv", kb);
    assert_string_not_equal(ka, kb);
    /* the weights a graph input instead of a constant */
    weft_graph *input_w;
    assert_weft_ok(weft_graph_create(&input_w));
    assert_weft_ok(weft_graph_add_input(input_w, "x", WEFT_FLOAT32, 4, (int64_t[]){1, 8, 10, 10}));
    assert_weft_ok(weft_graph_add_input(input_w, "w", WEFT_FLOAT32, 4, (int64_t[]){16, 8, 3, 3}));
    add_random_constant(input_w, "b", 1, (int64_t[]){16}, 4);
    weft_attrs *at;
    assert_weft_ok(weft_attrs_create(&at));
    assert_weft_ok(weft_attrs_set_ints(at, "pads", (int64_t[]){1, 1, 1, 1}, 4));
    assert_weft_ok(weft_attrs_set_ints(at, "strides", (int64_t[]){1, 1}, 2));
    const char *in[] = {"x", "w", "b"}, *out[] = {"y"};
    assert_weft_ok(weft_graph_add_node(input_w, "Conv", "conv", in, 3, at, out, 1));
    weft_attrs_release(at);
    assert_weft_ok(weft_graph_add_output(input_w, "y"));
    assert_weft_ok(weft_graph_validate(input_w));
    key_of(input_w, "conv", kb);
    assert_string_not_equal(ka, kb);
    weft_graph_release(input_w);
    weft_graph_release(clone);
    weft_graph_release(a);
    weft_graph_release(same);
    weft_graph_release(shape);
    weft_graph_release(stride);
}

static weft_tuning_entry entry(char c, const char *impl, const char *variant, double ms)
{
    weft_tuning_entry e;
    memset(e.key, c, 64);
    e.key[64] = '\0';
    snprintf(e.impl, sizeof e.impl, "%s", impl);
    snprintf(e.variant, sizeof e.variant, "%s", variant);
    e.ms = ms;
    return e;
}

/* Parsing `text` for `dev` must fail with a message holding `part`. */
static void refused(const char *text, size_t size, const weft_device_info *dev, const char *part)
{
    weft_tuning t = {0};
    assert_weft_status(weft_tuning_parse(text, size, dev, "the file", &t), WEFT_ERR_IO, part);
    assert_int_equal(t.count, 0);
}

static void test_format(void **state)
{
    (void)state;
    weft_device_info dev;
    memset(&dev, 0, sizeof dev);
    snprintf(dev.name, sizeof dev.name, "Some GPU");
    snprintf(dev.vendor, sizeof dev.vendor, "Vendor");
    snprintf(dev.driver_version, sizeof dev.driver_version, "1.2.3");
    snprintf(dev.platform_version, sizeof dev.platform_version, "OpenCL 1.2 X");
    weft_tuning t = {0};
    weft_tuning_entry e1 = entry('a', "direct", "8,2,16,1", 1.5), e2 = entry('b', "im2col", "-", 0.25);
    assert_weft_ok(weft_tuning_put(&t, &e1));
    assert_weft_ok(weft_tuning_put(&t, &e2));
    size_t size;
    char *text = weft_tuning_format(&t, &dev, &size);
    assert_non_null(text);
    weft_tuning back = {0};
    assert_weft_ok(weft_tuning_parse(text, size, &dev, "the file", &back));
    assert_int_equal(back.count, 2);
    const weft_tuning_entry *f = weft_tuning_find(&back, e1.key);
    assert_non_null(f);
    assert_string_equal(f->impl, "direct");
    assert_string_equal(f->variant, "8,2,16,1");
    assert_true(fabs(f->ms - 1.5) < 1e-9);
    assert_string_equal(weft_tuning_find(&back, e2.key)->impl, "im2col");
    weft_tuning_clear(&back);

    weft_device_info other = dev;
    snprintf(other.name, sizeof other.name, "Another GPU");
    refused(text, size, &other, "another device: 'Some GPU'");
    other = dev;
    snprintf(other.driver_version, sizeof other.driver_version, "1.2.4");
    refused(text, size, &other, "another driver");
    /* truncated: mid-header, mid-entry, and the last line cut */
    refused(text, 30, &dev, "line");
    refused(text, size - 10, &dev, "truncated");
    refused(text, 12, &dev, "truncated");
    refused("", 0, &dev, "truncated");
    /* another weft version, garbage, a malformed entry */
    char *copy = malloc(size + 256);
    assert_non_null(copy);
    const char *at = strstr(text, "weft ");
    assert_non_null(at);
    size_t head = (size_t)(at - text);
    int n = snprintf(copy, size + 256, "%.*sweft 0.0.0-other\n%s", (int)head, text,
                     strchr(at, '\n') + 1);
    refused(copy, (size_t)n, &dev, "another weft version");
    const char *garbage = "PK\x03\x04 not a tuning file\n";
    refused(garbage, strlen(garbage), &dev, "not a weft tuning file");
    n = snprintf(copy, size + 256, "%szz direct - 1\n", text);
    refused(copy, (size_t)n, &dev, "is not 'KEY");
    n = snprintf(copy, size + 256, "%s%s direct - -1\n", text, e1.key);
    refused(copy, (size_t)n, &dev, "is not 'KEY");
    free(copy);
    free(text);
    weft_tuning_clear(&t);
}

/* ---- Tuning and reuse ---------------------------------------------------------- */

/* What the cache tests start from: a fresh cache folder, a context on it
 * and the pool and Gemm graph. */
typedef struct cached {
    char *cache;
    weft_context_options co;
    weft_context *ctx;
    weft_graph *g;
} cached;

static void cached_open(cached *c, const char *label, int without_gemm)
{
    c->cache = test_tmpdir(label);
    c->co = test_options(c->cache);
    c->g = pool_gemm_graph(without_gemm);
    assert_weft_ok(weft_context_create(&c->co, &c->ctx));
}

static void cached_close(cached *c)
{
    weft_context_release(c->ctx);
    weft_graph_release(c->g);
    test_rmtree(c->cache);
    free(c->cache);
}

static void test_tune_then_reuse(void **state)
{
    (void)state;
    cached c;
    cached_open(&c, "tune-cache", 0);
    weft_context *ctx = c.ctx;
    weft_graph *g = c.g;

    uint64_t before = weft_tuning_timings();
    weft_session *s = session(ctx, g, 120, NULL);
    uint64_t timed = weft_tuning_timings() - before;
    assert_true(timed >= 2);
    assert_true(tuned_nodes(s) >= 1);
    float *tuned_out = run_and_check(s, g, "tuned");
    weft_session_release(s);
    weft_context_release(ctx);

    /* the cache entry: one tuning file among the program binaries */
    weft_tuning t = {0};
    assert_weft_ok(weft_context_create(&c.co, &c.ctx));
    ctx = c.ctx;
    assert_weft_ok(weft_tuning_load(ctx, 0, &t));
    assert_true(t.count >= 1);
    weft_graph *simple = simplified(g);
    char key[65];
    key_of(simple, "gemm", key);
    const weft_tuning_entry *e = weft_tuning_find(&t, key);
    assert_non_null(e);

    /* a later context: the choices with no timing */
    before = weft_tuning_timings();
    s = session(ctx, g, 0, NULL);
    assert_int_equal(weft_tuning_timings(), before);
    assert_true(tuned_nodes(s) >= 1);
    size_t count = 0;
    assert_weft_ok(weft_session_node_count(s, &count));
    int saw_gemm = 0;
    for (size_t i = 0; i < count; i++) {
        weft_node_info info;
        assert_weft_ok(weft_session_node_info(s, i, &info));
        if (strcmp(info.name, "gemm") == 0) {
            saw_gemm = 1;
            assert_true(info.tuned);
            assert_string_equal(info.impl, e->impl);
            assert_string_equal(info.variant ? info.variant : "-", e->variant);
        }
    }
    assert_true(saw_gemm);
    float *again = run_and_check(s, g, "from the cache");
    weft_session_release(s);
    /* tuning again finds everything in the cache */
    s = session(ctx, g, 120, NULL);
    assert_int_equal(weft_tuning_timings(), before);
    weft_session_release(s);

    /* WEFT_TUNING=off: no tuned node, same results */
    setenv("WEFT_TUNING", "off", 1);
    s = session(ctx, g, 120, NULL);
    unsetenv("WEFT_TUNING");
    assert_int_equal(weft_tuning_timings(), before);
    assert_int_equal(tuned_nodes(s), 0);
    float *plain = run_and_check(s, g, "untuned");
    for (size_t i = 0; i < 10; i++) {
        assert_true(fabsf(plain[i] - again[i]) <= 1e-4f + 1e-4f * fabsf(plain[i]));
        assert_true(fabsf(plain[i] - tuned_out[i]) <= 1e-4f + 1e-4f * fabsf(plain[i]));
    }
    weft_session_release(s);
    free(plain);
    free(again);
    free(tuned_out);
    weft_tuning_clear(&t);
    weft_graph_release(simple);
    cached_close(&c);
}

static void test_budget_zero(void **state)
{
    (void)state;
    cached c;
    cached_open(&c, "budget", 0);
    weft_context *ctx = c.ctx;
    weft_graph *g = c.g;
    uint64_t before = weft_tuning_timings();
    weft_session *s = session(ctx, g, 0, NULL);
    assert_int_equal(tuned_nodes(s), 0);
    weft_session_release(s);
    weft_graph *simple = simplified(g);
    weft_tuning t = {0};
    weft_tune_report r;
    assert_weft_ok(weft_tuning_tune(ctx, 0, simple, 0, 0, &t, &r));
    assert_true(r.count >= 1);
    assert_int_equal(r.untuned, r.count);
    assert_int_equal(r.tuned, 0);
    assert_int_equal(t.count, 0);
    weft_tune_report_release(&r);
    assert_weft_ok(weft_tuning_tune(ctx, 0, simple, 1e-12, 0, &t, NULL));
    assert_int_equal(t.count, 0);
    assert_int_equal(weft_tuning_timings(), before);
    weft_graph_release(simple);
    cached_close(&c);
}

/* ---- Damaged and foreign files --------------------------------------------------- */

/* The tuning entry among the cache folder's files: its path (malloc'd) and
 * the whole file. */
static char *find_tuning_entry(const char *dir, char **data, size_t *size)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "ls '%s'", dir);
    FILE *ls = popen(cmd, "r");
    assert_non_null(ls);
    char name[300];
    char *found = NULL;
    while (!found && fgets(name, sizeof name, ls)) {
        name[strcspn(name, "\n")] = '\0';
        char *path = weft_path_join(dir, name);
        assert_non_null(path);
        char *d = NULL;
        size_t n = 0;
        if (weft_file_read(path, (size_t)1 << 30, &d, &n) == WEFT_OK && n > 84 + 12 &&
            memcmp(d + 84, "weft-tuning ", 12) == 0) {
            found = path;
            *data = d;
            *size = n;
        } else {
            free(d);
            free(path);
        }
    }
    pclose(ls);
    if (!found)
        fail_msg("no tuning entry in %s", dir);
    return found;
}

static void test_damaged_cache(void **state)
{
    (void)state;
    cached c;
    cached_open(&c, "damaged", 1);
    weft_context *ctx = c.ctx;
    weft_graph *g = c.g;
    weft_session *s = session(ctx, g, 60, NULL);
    weft_session_release(s);
    s = session(ctx, g, 0, NULL);
    assert_int_equal(tuned_nodes(s), 1);
    weft_session_release(s);

    char *data;
    size_t size;
    char *path = find_tuning_entry(c.cache, &data, &size);
    uint64_t before = weft_tuning_timings();
    /* a flipped byte: the checksum fails */
    data[size - 3] ^= 0x20;
    write_file(path, data, size);
    s = session(ctx, g, 0, NULL);
    assert_int_equal(tuned_nodes(s), 0);
    weft_session_release(s);
    data[size - 3] ^= 0x20;
    /* truncated */
    write_file(path, data, size - 5);
    s = session(ctx, g, 0, NULL);
    assert_int_equal(tuned_nodes(s), 0);
    weft_session_release(s);
    /* a whole, checked entry whose text names another device */
    char *payload = data + 84;
    size_t psize = size - 84;
    char *dev_line = strstr(payload, "\ndevice ");
    assert_non_null(dev_line);
    dev_line[8] = dev_line[8] == 'X' ? 'Y' : 'X';
    uint8_t key[32];
    memcpy(key, data + 12, 32);
    assert_weft_ok(weft_disk_cache_write(c.cache, key, (unsigned char *)payload, psize));
    s = session(ctx, g, 0, NULL);
    assert_int_equal(tuned_nodes(s), 0);
    weft_session_release(s);
    assert_int_equal(weft_tuning_timings(), before);
    free(data);
    free(path);
    cached_close(&c);
}

static void test_export_import(void **state)
{
    (void)state;
    char *cache_a = test_tmpdir("export-a"), *cache_b = test_tmpdir("export-b");
    char *dir = test_tmpdir("export-files");
    char *file = weft_path_join(dir, "tuning.txt"), *bad = weft_path_join(dir, "bad.txt");
    weft_graph *g = pool_gemm_graph(1);
    weft_context_options oa = test_options(cache_a), ob = test_options(cache_b);
    weft_context *a, *b;
    assert_weft_ok(weft_context_create(&oa, &a));
    weft_session_release(session(a, g, 60, NULL));
    assert_weft_ok(weft_tuning_export(a, 0, file));
    weft_context_release(a);

    assert_weft_ok(weft_context_create(&ob, &b));
    weft_session *s = session(b, g, 0, NULL);
    assert_int_equal(tuned_nodes(s), 0);
    weft_session_release(s);
    uint64_t before = weft_tuning_timings();
    assert_weft_ok(weft_tuning_import(b, 0, file));
    s = session(b, g, 0, NULL);
    assert_int_equal(tuned_nodes(s), 1);
    weft_session_release(s);

    /* the same file given to a session on a context with no cache */
    weft_context_options none = test_options(NULL);
    weft_context *c;
    assert_weft_ok(weft_context_create(&none, &c));
    s = session(c, g, 0, file);
    assert_int_equal(tuned_nodes(s), 1);
    weft_session_release(s);
    assert_int_equal(weft_tuning_timings(), before);

    /* another device, truncated, missing: refused, by import and sessions */
    char *text;
    size_t size;
    assert_weft_ok(weft_file_read(file, 1 << 20, &text, &size));
    char *dev_line = strstr(text, "\ndevice ");
    assert_non_null(dev_line);
    const char first = dev_line[8];
    dev_line[8] = first == 'X' ? 'Y' : 'X';
    write_file(bad, text, size);
    assert_weft_status(weft_tuning_import(b, 0, bad), WEFT_ERR_IO, "another device");
    weft_session_options so;
    weft_session_options_defaults(&so);
    so.tuning_file = bad;
    assert_weft_status(weft_session_create(c, g, &so, &s), WEFT_ERR_IO, "another device");
    assert_null(s);
    dev_line[8] = first;
    write_file(bad, text, size - 4);
    assert_weft_status(weft_tuning_import(b, 0, bad), WEFT_ERR_IO, "truncated");
    assert_weft_status(weft_session_create(c, g, &so, &s), WEFT_ERR_IO, "truncated");
    remove(bad);
    assert_weft_status(weft_tuning_import(b, 0, bad), WEFT_ERR_IO, "");
    /* a context with no cache cannot keep an import */
    assert_weft_status(weft_tuning_import(c, 0, file), WEFT_ERR_UNSUPPORTED, "cache is off");
    free(text);
    weft_context_release(c);
    weft_context_release(b);
    weft_graph_release(g);
    free(file);
    free(bad);
    test_rmtree(dir);
    test_rmtree(cache_a);
    test_rmtree(cache_b);
    free(dir);
    free(cache_a);
    free(cache_b);
}

/* ---- Every candidate runs right ------------------------------------------------- */

static int serves(const weft_op_impl *impl, const char *op)
{
    for (const char *const *o = impl->ops; *o; o++)
        if (strcmp(*o, op) == 0)
            return 1;
    return 0;
}

/* Each (implementation, variant) that supports node `node` of g, chosen
 * through a tuning file, runs and agrees with the reference. */
static void check_candidates(weft_context *ctx, const weft_graph *g, const char *node,
                             const char *file)
{
    weft_device_info dev = device_of(ctx);
    weft_graph *simple = simplified(g);
    const weft_node *n = node_named(simple, node);
    char key[65];
    weft_tuning_key(simple, n, key);
    size_t tried = 0;
    for (size_t i = 0; i < weft_op_impl_count; i++) {
        const weft_op_impl *impl = weft_op_impls[i];
        char why[256];
        if (!serves(impl, n->op) || !impl->supports(simple, n, &dev, why, sizeof why))
            continue;
        for (int k = 0; k == 0 || (impl->variant && impl->variant(&dev, k)); k++) {
            const char *vname = k == 0 ? "-" : impl->variant(&dev, k);
            weft_tuning t = {0};
            weft_tuning_entry e;
            memcpy(e.key, key, 65);
            snprintf(e.impl, sizeof e.impl, "%s", impl->name);
            snprintf(e.variant, sizeof e.variant, "%s", vname);
            e.ms = 1;
            assert_weft_ok(weft_tuning_put(&t, &e));
            size_t size;
            char *text = weft_tuning_format(&t, &dev, &size);
            assert_non_null(text);
            write_file(file, text, size);
            free(text);
            weft_tuning_clear(&t);
            char label[160];
            snprintf(label, sizeof label, "%s %s/%s", node, impl->name, vname);
            weft_session *s = session(ctx, g, 0, file);
            weft_node_info info;
            size_t count = 0, at = 0;
            assert_weft_ok(weft_session_node_count(s, &count));
            do
                assert_weft_ok(weft_session_node_info(s, at++, &info));
            while (strcmp(info.name, node) != 0 && at < count);
            if (strcmp(info.impl, impl->name) != 0 || !info.tuned ||
                strcmp(info.variant ? info.variant : "-", vname) != 0)
                fail_msg("%s: the session ran %s/%s", label, info.impl,
                         info.variant ? info.variant : "-");
            free(run_and_check(s, g, label));
            weft_session_release(s);
            tried++;
        }
    }
    assert_true(tried >= 2);
    weft_graph_release(simple);
}

static void test_every_candidate(void **state)
{
    (void)state;
    char *cache = test_tmpdir("candidates");
    char *file = weft_path_join(cache, "one.txt");
    weft_context_options co = test_options(cache);
    weft_context *ctx;
    assert_weft_ok(weft_context_create(&co, &ctx));
    weft_graph *g3 = conv_graph(8, 12, 10, 3, 1, 0), *g1 = conv_graph(16, 8, 9, 1, 2, 0);
    check_candidates(ctx, g3, "conv", file);
    check_candidates(ctx, g1, "conv", file);
    weft_graph *gg = pool_gemm_graph(0);
    check_candidates(ctx, gg, "gemm", file);
    weft_graph_release(g3);
    weft_graph_release(g1);
    weft_graph_release(gg);
    weft_context_release(ctx);
    free(file);
    test_rmtree(cache);
    free(cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_tune_then_reuse),
        cmocka_unit_test(test_budget_zero),
        cmocka_unit_test(test_damaged_cache),
        cmocka_unit_test(test_export_import),
        cmocka_unit_test(test_every_candidate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
