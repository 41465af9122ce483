/*
 * Tuning (contract in tuning.h): node keys, the table and its text
 * format, the cache entry, the tuner, and what sessions ask of it.
 */
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/random.h"
#include "core/sha256.h"
#include "core/util.h"
#include "runtime/disk_cache.h"
#include "runtime/session.h"
#include "runtime/tuning.h"

/* Bump when the key text or the file's layout changes. */
#define TUNING_FORMAT 1
/* An import file larger than this is not one weft wrote. */
#define TUNING_FILE_MAX ((size_t)16 << 20)

static atomic_uint_fast64_t timings_done;

uint64_t weft_tuning_timings(void)
{
    return (uint64_t)atomic_load(&timings_done);
}

static double now_s(void)
{
    return weft_now_ms() / 1e3;
}

/* ---- The table ------------------------------------------------------------- */

void weft_tuning_clear(weft_tuning *t)
{
    free(t->entries);
    memset(t, 0, sizeof *t);
}

const weft_tuning_entry *weft_tuning_find(const weft_tuning *t, const char *key)
{
    for (size_t i = 0; t && i < t->count; i++)
        if (strcmp(t->entries[i].key, key) == 0)
            return &t->entries[i];
    return NULL;
}

weft_status weft_tuning_put(weft_tuning *t, const weft_tuning_entry *e)
{
    weft_tuning_entry *old = (weft_tuning_entry *)weft_tuning_find(t, e->key);
    if (old) {
        *old = *e;
        return WEFT_OK;
    }
    if (t->count == t->capacity) {
        size_t cap = t->capacity ? 2 * t->capacity : 32;
        weft_tuning_entry *grown = realloc(t->entries, cap * sizeof *grown);
        if (!grown)
            return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the tuning table");
        t->entries = grown;
        t->capacity = cap;
    }
    t->entries[t->count++] = *e;
    return WEFT_OK;
}

/* ---- Node keys ------------------------------------------------------------- */

static void hash_text(weft_sha256 *h, const char *fmt, ...) WEFT_PRINTF(2, 3);

static void hash_text(weft_sha256 *h, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    weft_sha256_update_field(h, buf);
}

static void hash_value(weft_sha256 *h, const char *role, size_t i, const weft_value *v)
{
    if (!v) {
        hash_text(h, "%s %zu absent", role, i);
        return;
    }
    hash_text(h, "%s %zu %s %s %s", role, i, weft_dtype_name(v->dtype),
              weft_shape_str(&v->shape).s, v->kind == WEFT_VALUE_CONSTANT ? "const" : "tensor");
}

/* Attributes by name, so that the order a front end wrote them in does
 * not matter; floats in full precision. */
void weft_tuning_key(const weft_graph *g, const weft_node *n, char key[65])
{
    weft_sha256 h;
    weft_sha256_init(&h);
    hash_text(&h, "weft tuning key %d", TUNING_FORMAT);
    weft_sha256_update_field(&h, n->op);
    size_t na = n->attrs.count;
    const weft_attr *sorted[64];
    size_t ns = 0;
    for (size_t i = 0; i < na && ns < WEFT_COUNTOF(sorted); i++) {
        const weft_attr *a = &n->attrs.items[i];
        size_t at = ns++;
        while (at > 0 && strcmp(sorted[at - 1]->name, a->name) > 0) {
            sorted[at] = sorted[at - 1];
            at--;
        }
        sorted[at] = a;
    }
    for (size_t i = 0; i < ns; i++) {
        const weft_attr *a = sorted[i];
        weft_sha256_update_field(&h, a->name);
        weft_sha256_update_field(&h, weft_attr_type_name(a->type));
        switch (a->type) {
        case WEFT_ATTR_INT: hash_text(&h, "%lld", (long long)a->i); break;
        case WEFT_ATTR_FLOAT: hash_text(&h, "%.9g", (double)a->f); break;
        case WEFT_ATTR_STRING: weft_sha256_update_field(&h, a->s); break;
        case WEFT_ATTR_INTS:
            hash_text(&h, "%zu", a->count);
            for (size_t k = 0; k < a->count; k++)
                hash_text(&h, "%lld", (long long)a->ints[k]);
            break;
        case WEFT_ATTR_FLOATS:
            hash_text(&h, "%zu", a->count);
            for (size_t k = 0; k < a->count; k++)
                hash_text(&h, "%.9g", (double)a->floats[k]);
            break;
        }
    }
    for (size_t i = 0; i < n->input_count; i++)
        hash_value(&h, "in", i, weft_node_input(g, n, i));
    for (size_t i = 0; i < n->output_count; i++)
        hash_value(&h, "out", i, weft_node_output(g, n, i));
    uint8_t digest[32];
    weft_sha256_final(&h, digest);
    weft_sha256_hex(digest, key);
}

/* ---- The text format -------------------------------------------------------- */

/* A device string on one line: line breaks become spaces. */
static void one_line(const char *s, char *out, size_t cap)
{
    snprintf(out, cap, "%s", s);
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

typedef struct header_line {
    const char *tag;
    char value[160];
} header_line;

enum { HEADER_LINES = 5 };

static void header_of(const weft_device_info *dev, header_line h[HEADER_LINES])
{
    static const char *const tags[HEADER_LINES] = {"weft", "device", "vendor", "driver",
                                                   "platform"};
    const char *values[HEADER_LINES] = {weft_version(), dev->name, dev->vendor,
                                        dev->driver_version, dev->platform_version};
    for (int i = 0; i < HEADER_LINES; i++) {
        h[i].tag = tags[i];
        one_line(values[i], h[i].value, sizeof h[i].value);
    }
}

char *weft_tuning_format(const weft_tuning *t, const weft_device_info *dev, size_t *size)
{
    header_line h[HEADER_LINES];
    header_of(dev, h);
    size_t cap = 64 + HEADER_LINES * 180 + t->count * 200;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t at = (size_t)snprintf(out, cap, "weft-tuning %d\n", TUNING_FORMAT);
    for (int i = 0; i < HEADER_LINES; i++)
        at += (size_t)snprintf(out + at, cap - at, "%s %s\n", h[i].tag, h[i].value);
    for (size_t i = 0; i < t->count; i++) {
        const weft_tuning_entry *e = &t->entries[i];
        at += (size_t)snprintf(out + at, cap - at, "%s %s %s %.6g\n", e->key, e->impl,
                               e->variant, e->ms);
    }
    *size = at;
    return out;
}

static int is_key(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return 0;
    return n == 64;
}

weft_status weft_tuning_parse(const char *text, size_t size, const weft_device_info *dev,
                              const char *what, weft_tuning *t)
{
    header_line want[HEADER_LINES];
    header_of(dev, want);
    weft_tuning got = {0};
    weft_status st = WEFT_OK;
    size_t line_no = 0, pos = 0;
    char line[512];
    while (pos < size && st == WEFT_OK) {
        const char *start = text + pos;
        const char *end = memchr(start, '\n', size - pos);
        size_t len = end ? (size_t)(end - start) : size - pos;
        pos += len + 1;
        line_no++;
        if (!end)
            st = weft_fail(WEFT_ERR_IO, "%s: line %zu is not terminated (truncated?)", what,
                           line_no);
        else if (len >= sizeof line || memchr(start, '\0', len))
            st = weft_fail(WEFT_ERR_IO, "%s: line %zu is not text of a tuning file", what,
                           line_no);
        if (st != WEFT_OK)
            break;
        if (len > 0 && start[len - 1] == '\r')
            len--; /* a file edited on Windows */
        memcpy(line, start, len);
        line[len] = '\0';
        if (line_no == 1) {
            int format = 0;
            char rest = 0;
            if (sscanf(line, "weft-tuning %d%c", &format, &rest) != 1 || format != TUNING_FORMAT)
                st = weft_fail(WEFT_ERR_IO, "%s: not a weft tuning file (format %d)", what,
                               TUNING_FORMAT);
        } else if (line_no <= 1 + HEADER_LINES) {
            const header_line *w = &want[line_no - 2];
            size_t tl = strlen(w->tag);
            if (strncmp(line, w->tag, tl) != 0 || line[tl] != ' ')
                st = weft_fail(WEFT_ERR_IO, "%s: line %zu should name the %s", what, line_no,
                               w->tag);
            else if (strcmp(line + tl + 1, w->value) != 0)
                st = weft_fail(WEFT_ERR_IO,
                               "%s is for another %s: '%s', not this %s '%s'%s%s%s; tune on "
                               "this device instead",
                               what, strcmp(w->tag, "weft") == 0 ? "weft version" : w->tag,
                               line + tl + 1, w->tag, w->value,
                               strcmp(w->tag, "device") ? " (device '" : "",
                               strcmp(w->tag, "device") ? dev->name : "",
                               strcmp(w->tag, "device") ? "')" : "");
        } else if (len > 0) {
            weft_tuning_entry e;
            char key[80], extra[2];
            int fields = sscanf(line, "%79s %47s %47s %lf %1s", key, e.impl, e.variant, &e.ms,
                                extra);
            if (fields != 4 || !is_key(key) || !isfinite(e.ms) || e.ms < 0)
                st = weft_fail(WEFT_ERR_IO,
                               "%s: line %zu is not 'KEY IMPLEMENTATION VARIANT MS': '%.80s'",
                               what, line_no, line);
            else {
                memcpy(e.key, key, 65);
                st = weft_tuning_put(&got, &e);
            }
        }
    }
    if (st == WEFT_OK && line_no < 1 + HEADER_LINES)
        st = weft_fail(WEFT_ERR_IO, "%s: the header is incomplete (truncated?)", what);
    for (size_t i = 0; i < got.count && st == WEFT_OK; i++)
        st = weft_tuning_put(t, &got.entries[i]);
    weft_tuning_clear(&got);
    return st;
}

/* ---- The cache entry --------------------------------------------------------- */

static void cache_key(const weft_device_info *dev, uint8_t key[32])
{
    weft_sha256 h;
    weft_sha256_init(&h);
    hash_text(&h, "weft tuning cache %d", TUNING_FORMAT);
    weft_sha256_update_field(&h, weft_version());
    weft_sha256_update_field(&h, dev->name);
    weft_sha256_update_field(&h, dev->vendor);
    weft_sha256_update_field(&h, dev->driver_version);
    weft_sha256_update_field(&h, dev->platform_version);
    weft_sha256_final(&h, key);
}

weft_status weft_tuning_load(weft_context *ctx, size_t device, weft_tuning *t)
{
    if (!ctx->cache_dir || device >= ctx->device_count)
        return WEFT_OK;
    const weft_device_info *dev = &ctx->devices[device].cl.info;
    uint8_t key[32];
    cache_key(dev, key);
    unsigned char *payload = NULL;
    size_t size = 0;
    const char *why = "";
    weft_disk_lookup found = weft_disk_cache_read(ctx->cache_dir, key, &payload, &size, &why);
    if (found == WEFT_DISK_CORRUPT)
        weft_log(WEFT_LOG_WARN, "tuning cache in '%s': ignoring the entry of device '%s': %s",
                 ctx->cache_dir, dev->name, why);
    if (found != WEFT_DISK_FOUND)
        return WEFT_OK;
    weft_status st = weft_tuning_parse((const char *)payload, size, dev, "the tuning cache entry", t);
    free(payload);
    if (st == WEFT_ERR_OUT_OF_MEMORY)
        return st;
    if (st != WEFT_OK)
        weft_log(WEFT_LOG_WARN, "tuning cache in '%s': ignored: %s", ctx->cache_dir,
                 weft_last_error());
    return WEFT_OK;
}

weft_status weft_tuning_save(weft_context *ctx, size_t device, const weft_tuning *t)
{
    if (device >= ctx->device_count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "tuning: no device %zu in the context",
                         device);
    const weft_device_info *dev = &ctx->devices[device].cl.info;
    if (!ctx->cache_dir)
        return weft_fail(WEFT_ERR_UNSUPPORTED,
                         "the cache is off (WEFT_CACHE=off or options): tuning results of "
                         "device '%s' cannot be kept", dev->name);
    weft_tuning merged = {0};
    weft_status st = weft_tuning_load(ctx, device, &merged);
    for (size_t i = 0; i < t->count && st == WEFT_OK; i++)
        st = weft_tuning_put(&merged, &t->entries[i]);
    size_t size = 0;
    char *text = st == WEFT_OK ? weft_tuning_format(&merged, dev, &size) : NULL;
    if (st == WEFT_OK && !text)
        st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the tuning cache entry");
    if (st == WEFT_OK) {
        uint8_t key[32];
        cache_key(dev, key);
        st = weft_disk_cache_write(ctx->cache_dir, key, (const unsigned char *)text, size);
    }
    free(text);
    weft_tuning_clear(&merged);
    return st;
}

/* ---- Candidates ---------------------------------------------------------------- */

static int serves(const weft_op_impl *impl, const char *op)
{
    for (const char *const *o = impl->ops; *o; o++)
        if (strcmp(*o, op) == 0)
            return 1;
    return 0;
}

static const char *variant_name(const weft_op_impl *impl, const weft_device_info *dev, int k)
{
    return k == 0 ? "-" : impl->variant ? impl->variant(dev, k) : NULL;
}

/* The variant index of `name`, -1 when the implementation has none such. */
static int variant_index(const weft_op_impl *impl, const weft_device_info *dev, const char *name)
{
    const char *v;
    for (int k = 0; (v = variant_name(impl, dev, k)) != NULL; k++)
        if (strcmp(v, name) == 0)
            return k;
    return -1;
}

typedef struct candidate {
    const weft_op_impl *impl;
    int variant;
} candidate;

/* Every (implementation, variant) that supports n; *cost the cheapest
 * estimate among them, *preferred the index of that implementation in its
 * own tiles (what choose_impl takes without tuning). *list is malloc'd. */
static weft_status candidates_of(const weft_graph *g, const weft_node *n,
                                 const weft_device_info *dev, candidate **list, size_t *count,
                                 double *cost, size_t *preferred)
{
    *preferred = 0;
    size_t cap = 16, c = 0;
    candidate *out = malloc(cap * sizeof *out);
    if (!out)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for tuning candidates");
    *cost = 0;
    for (size_t i = 0; i < weft_op_impl_count; i++) {
        const weft_op_impl *impl = weft_op_impls[i];
        char why[256];
        if (!serves(impl, n->op) || !impl->supports(g, n, dev, why, sizeof why))
            continue;
        double e = impl->cost ? impl->cost(g, n, dev) : 0;
        if (c == 0 || e < *cost) {
            *cost = e;
            *preferred = c;
        }
        for (int k = 0; variant_name(impl, dev, k); k++) {
            if (c == cap) {
                candidate *grown = realloc(out, 2 * cap * sizeof *grown);
                if (!grown) {
                    free(out);
                    return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for tuning candidates");
                }
                out = grown;
                cap *= 2;
            }
            out[c++] = (candidate){impl, k};
        }
    }
    *list = out;
    *count = c;
    return WEFT_OK;
}

/* ---- Timing one candidate ------------------------------------------------------- */

/* The session a candidate runs in takes this choice for its node, set by
 * the tuner on its own thread around weft_session_create. */
static _Thread_local const weft_op_impl *fixed_impl;
static _Thread_local int fixed_variant;

typedef struct weft_tuning_use {
    weft_tuning *tables;  /* per context device */
    size_t count;
    size_t entries;       /* in all tables */
    const weft_op_impl *fixed;
    int fixed_variant;
} weft_tuning_use;

/* Node n alone: constants copied, the other inputs graph inputs. */
static weft_status one_node_graph(const weft_graph *g, const weft_node *n, weft_graph **out)
{
    weft_graph *one;
    weft_status st = weft_graph_create(&one);
    if (st != WEFT_OK)
        return st;
    const char *inputs[64], *outputs[16];
    if (n->input_count > WEFT_COUNTOF(inputs) || n->output_count > WEFT_COUNTOF(outputs)) {
        weft_graph_release(one);
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED, "too many inputs or outputs to tune");
    }
    for (size_t i = 0; i < n->input_count && st == WEFT_OK; i++) {
        const weft_value *v = weft_node_input(g, n, i);
        inputs[i] = v ? v->name : NULL;
        if (!v || weft_graph_find_value(one, v->name) >= 0)
            continue;
        const int64_t *dims = v->shape.dims;
        if (v->kind == WEFT_VALUE_CONSTANT)
            st = weft_graph_add_constant(one, v->name, v->dtype, v->shape.rank, dims, v->data);
        else
            st = weft_graph_add_input(one, v->name, v->dtype, v->shape.rank, dims);
    }
    for (size_t i = 0; i < n->output_count; i++) {
        const weft_value *v = weft_node_output(g, n, i);
        outputs[i] = v ? v->name : NULL;
    }
    if (st == WEFT_OK)
        st = weft_graph_add_node(one, n->op, n->name, inputs, n->input_count, &n->attrs, outputs,
                                 n->output_count);
    for (size_t i = 0; i < n->output_count && st == WEFT_OK; i++)
        if (outputs[i])
            st = weft_graph_add_output(one, outputs[i]);
    if (st != WEFT_OK) {
        weft_graph_release(one);
        return st;
    }
    *out = one;
    return WEFT_OK;
}

/* Host tensors for a session's inputs (random) and outputs. */
typedef struct io_set {
    weft_tensor *in, *out;
    size_t nin, nout;
} io_set;

static void io_release(io_set *io)
{
    for (size_t i = 0; io->in && i < io->nin; i++)
        free(io->in[i].data);
    for (size_t i = 0; io->out && i < io->nout; i++)
        free(io->out[i].data);
    free(io->in);
    free(io->out);
    memset(io, 0, sizeof *io);
}

static weft_status io_make(const weft_session *s, io_set *io)
{
    memset(io, 0, sizeof *io);
    weft_session_input_count(s, &io->nin);
    weft_session_output_count(s, &io->nout);
    io->in = calloc(io->nin + 1, sizeof *io->in);
    io->out = calloc(io->nout + 1, sizeof *io->out);
    if (!io->in || !io->out)
        goto oom;
    uint64_t seed = 0x7475;
    for (size_t i = 0; i < io->nin; i++) {
        weft_session_input_info(s, i, &io->in[i]);
        io->in[i].data = calloc(1, io->in[i].size_bytes + 1);
        if (!io->in[i].data)
            goto oom;
        /* int64 inputs stay zero: valid as indices */
        if (io->in[i].dtype == WEFT_FLOAT32)
            weft_random_fill(&seed, io->in[i].data, io->in[i].size_bytes / sizeof(float), -1, 1);
    }
    for (size_t i = 0; i < io->nout; i++) {
        weft_session_output_info(s, i, &io->out[i]);
        io->out[i].data = malloc(io->out[i].size_bytes + 1);
        if (!io->out[i].data)
            goto oom;
    }
    return WEFT_OK;
oom:
    io_release(io);
    return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for tuning data");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median milliseconds of whole runs of candidate c on graph `one`; < 0
 * when it cannot run there. A first timed run far slower than `best` is
 * the answer itself: it cannot win. */
static double time_candidate(weft_context *ctx, size_t device, const weft_graph *one,
                             const candidate *c, double best)
{
    weft_session_options o;
    weft_session_options_defaults(&o);
    o.device_index = device;
    /* The candidate must run where it is being tuned, whatever
     * WEFT_PLACEMENT says and however many devices the context has. */
    char placement[32];
    snprintf(placement, sizeof placement, "all=%zu", device);
    o.placement = placement;
    weft_session *s = NULL;
    fixed_impl = c->impl;
    fixed_variant = c->variant;
    weft_status st = weft_session_create(ctx, one, &o, &s);
    fixed_impl = NULL;
    fixed_variant = 0;
    if (st != WEFT_OK) {
        weft_log(WEFT_LOG_INFO, "tuning: %s/%s cannot run: %s", c->impl->name,
                 variant_name(c->impl, &ctx->devices[device].cl.info, c->variant),
                 weft_last_error());
        return -1;
    }
    atomic_fetch_add(&timings_done, 1);
    io_set io;
    double result = -1;
    /* WEFT_IMPL may have overruled the choice: then this is no timing of it. */
    weft_node_info info;
    if (weft_session_node_info(s, 0, &info) == WEFT_OK && strcmp(info.impl, c->impl->name) == 0 &&
        io_make(s, &io) == WEFT_OK) {
        double times[25];
        size_t runs = 0;
        /* The first run may finish compiling (PoCL builds a kernel's
         * work-group function at its first launch): untimed. */
        st = weft_session_run(s, io.in, io.nin, io.out, io.nout);
        double t0 = now_s();
        if (st == WEFT_OK)
            st = weft_session_run(s, io.in, io.nin, io.out, io.nout);
        double probe = (now_s() - t0) * 1e3;
        if (st == WEFT_OK && best > 0 && probe > 4 * best) {
            result = probe;
        } else if (st == WEFT_OK) {
            /* At least 5 runs, more for short ones: up to 25 or ~30 ms. */
            double spent = 0;
            while (st == WEFT_OK && runs < WEFT_COUNTOF(times) && (runs < 5 || spent < 30)) {
                t0 = now_s();
                st = weft_session_run(s, io.in, io.nin, io.out, io.nout);
                times[runs] = (now_s() - t0) * 1e3;
                spent += times[runs++];
            }
            if (st == WEFT_OK) {
                qsort(times, runs, sizeof *times, cmp_double);
                result = times[runs / 2];
            }
        }
        io_release(&io);
    }
    weft_session_release(s);
    return result;
}

/* ---- The tuner ---------------------------------------------------------------- */

void weft_tune_report_release(weft_tune_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->count; i++)
        free(r->nodes[i].candidates);
    free(r->nodes);
    memset(r, 0, sizeof *r);
}

typedef struct tune_job {
    int node;
    char key[65];
    size_t uses;
    double cost;          /* estimate of one use */
    size_t preferred;     /* the candidate the cost estimates choose */
    candidate *cands;
    size_t count;
} tune_job;

static int cmp_job(const void *a, const void *b)
{
    const tune_job *x = a, *y = b;
    double cx = x->cost * (double)x->uses, cy = y->cost * (double)y->uses;
    return cx > cy ? -1 : cx < cy;
}

static void describe(const weft_graph *g, const weft_node *n, weft_tune_node *out)
{
    snprintf(out->name, sizeof out->name, "%s", n->name);
    snprintf(out->op, sizeof out->op, "%s", n->op);
    size_t at = 0;
    out->shape[0] = '\0';
    for (size_t i = 0; i < n->input_count && at < sizeof out->shape; i++) {
        const weft_value *v = weft_node_input(g, n, i);
        if (v)
            at += (size_t)snprintf(out->shape + at, sizeof out->shape - at, "%s%s%s",
                                   at ? " " : "", weft_shape_str(&v->shape).s,
                                   v->kind == WEFT_VALUE_CONSTANT ? "c" : "");
    }
}

weft_status weft_tuning_tune(weft_context *ctx, size_t device, const weft_graph *g,
                             double budget_s, int retune, weft_tuning *t,
                             weft_tune_report *report)
{
    if (report)
        memset(report, 0, sizeof *report);
    if (device >= ctx->device_count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "tuning: no device %zu in the context",
                         device);
    const weft_device_info *dev = &ctx->devices[device].cl.info;
    double start = now_s();
    tune_job *jobs = calloc(g->node_count + 1, sizeof *jobs);
    if (!jobs)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory to tune");
    size_t njobs = 0;
    weft_status st = WEFT_OK;
    for (size_t i = 0; i < g->node_count && st == WEFT_OK; i++) {
        const weft_node *n = &g->nodes[i];
        if (n->removed)
            continue;
        char key[65];
        weft_tuning_key(g, n, key);
        tune_job *same = NULL;
        for (size_t j = 0; j < njobs && !same; j++)
            if (strcmp(jobs[j].key, key) == 0)
                same = &jobs[j];
        if (same) {
            same->uses++;
            continue;
        }
        tune_job *job = &jobs[njobs];
        double cost = 0;
        st = candidates_of(g, n, dev, &job->cands, &job->count, &cost, &job->preferred);
        if (st != WEFT_OK)
            break;
        if (job->count < 2) {
            free(job->cands);
            job->cands = NULL;
            continue;
        }
        job->node = (int)i;
        memcpy(job->key, key, 65);
        job->uses = 1;
        job->cost = cost;
        njobs++;
    }
    qsort(jobs, njobs, sizeof *jobs, cmp_job);
    if (st == WEFT_OK && report) {
        report->nodes = calloc(njobs + 1, sizeof *report->nodes);
        if (!report->nodes)
            st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the tuning report");
        else
            report->count = njobs;
    }
    int out_of_time = 0;
    for (size_t j = 0; j < njobs && st == WEFT_OK; j++) {
        tune_job *job = &jobs[j];
        const weft_node *n = &g->nodes[job->node];
        weft_tune_node *rn = report ? &report->nodes[j] : NULL;
        if (rn) {
            memcpy(rn->key, job->key, 65);
            rn->uses = job->uses;
            rn->winner = -1;
            describe(g, n, rn);
            rn->candidates = calloc(job->count, sizeof *rn->candidates);
            if (!rn->candidates) {
                st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the tuning report");
                break;
            }
            rn->candidate_count = job->count;
            for (size_t c = 0; c < job->count; c++) {
                snprintf(rn->candidates[c].impl, sizeof rn->candidates[c].impl, "%s",
                         job->cands[c].impl->name);
                snprintf(rn->candidates[c].variant, sizeof rn->candidates[c].variant, "%s",
                         variant_name(job->cands[c].impl, dev, job->cands[c].variant));
                rn->candidates[c].ms = -1;
            }
        }
        const weft_tuning_entry *known = weft_tuning_find(t, job->key);
        if (known && !retune) {
            if (rn) {
                rn->state = 2;
                for (size_t c = 0; c < rn->candidate_count; c++)
                    if (strcmp(rn->candidates[c].impl, known->impl) == 0 &&
                        strcmp(rn->candidates[c].variant, known->variant) == 0) {
                        rn->winner = (int)c;
                        rn->candidates[c].ms = known->ms;
                    }
                report->cached++;
            }
            continue;
        }
        if (out_of_time || now_s() - start >= budget_s) {
            out_of_time = 1;
            if (report)
                report->untuned++;
            continue;
        }
        weft_graph *one = NULL;
        st = one_node_graph(g, n, &one);
        if (st != WEFT_OK)
            break;
        double best = -1, preferred_ms = -1;
        size_t winner = 0, done = 0;
        for (size_t c = 0; c < job->count; c++) {
            if (now_s() - start >= budget_s) {
                out_of_time = 1;
                break;
            }
            double ms = time_candidate(ctx, device, one, &job->cands[c], best);
            done++;
            if (rn)
                rn->candidates[c].ms = ms;
            if (c == job->preferred)
                preferred_ms = ms;
            if (ms >= 0 && (best < 0 || ms < best)) {
                best = ms;
                winner = c;
            }
        }
        /* Wall-clock times on a shared machine are noisy: a winner other
         * than the estimates' own choice must beat it by 5% also in a
         * second timing of both, so that noise does not replace it. */
        if (done == job->count && best >= 0 && winner != job->preferred && preferred_ms >= 0) {
            double w2 = time_candidate(ctx, device, one, &job->cands[winner], -1);
            double p2 = time_candidate(ctx, device, one, &job->cands[job->preferred], -1);
            double w = w2 >= 0 && w2 < best ? w2 : best;
            double pref = p2 >= 0 && p2 < preferred_ms ? p2 : preferred_ms;
            if (w < 0.95 * pref) {
                best = w;
            } else {
                winner = job->preferred;
                best = pref;
            }
        }
        weft_graph_release(one);
        /* Only a node whose every candidate ran has a result. */
        if (done == job->count && best >= 0) {
            weft_tuning_entry e;
            memcpy(e.key, job->key, 65);
            snprintf(e.impl, sizeof e.impl, "%s", job->cands[winner].impl->name);
            snprintf(e.variant, sizeof e.variant, "%s",
                     variant_name(job->cands[winner].impl, dev, job->cands[winner].variant));
            e.ms = best;
            st = weft_tuning_put(t, &e);
            if (rn) {
                rn->state = 1;
                rn->winner = (int)winner;
                report->tuned++;
            }
        } else if (report) {
            report->untuned++;
        }
    }
    for (size_t j = 0; j < njobs; j++)
        free(jobs[j].cands);
    free(jobs);
    if (report)
        report->seconds = now_s() - start;
    if (out_of_time)
        weft_log(WEFT_LOG_INFO, "tuning: the budget of %.3g s ran out; some nodes stay untuned",
                 budget_s);
    return st;
}

/* ---- Sessions --------------------------------------------------------------------- */

static int tuning_disabled(void)
{
    const char *v = getenv("WEFT_TUNING");
    return v && (weft_str_ieq(v, "off") || strcmp(v, "0") == 0 || weft_str_ieq(v, "no") ||
                 weft_str_ieq(v, "false"));
}

weft_status weft_tuning_session_begin(weft_session *s, const weft_session_options *options)
{
    s->tuning = NULL;
    if (!fixed_impl && tuning_disabled())
        return WEFT_OK;
    weft_context *ctx = s->context;
    weft_tuning_use *use = calloc(1, sizeof *use);
    if (use)
        use->tables = calloc(ctx->device_count + 1, sizeof *use->tables);
    if (!use || !use->tables) {
        free(use);
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the tuning table");
    }
    use->count = ctx->device_count;
    s->tuning = use;
    if (fixed_impl) {
        use->fixed = fixed_impl;
        use->fixed_variant = fixed_variant;
        return WEFT_OK;
    }
    weft_status st = WEFT_OK;
    for (size_t d = 0; d < use->count && st == WEFT_OK; d++)
        st = weft_tuning_load(ctx, d, &use->tables[d]);
    /* The file and tuning serve the preferred device. */
    size_t device = options->device_index < use->count ? options->device_index : 0;
    weft_tuning *table = &use->tables[device];
    if (st == WEFT_OK && options->tuning_file && *options->tuning_file) {
        char *text = NULL;
        size_t size = 0;
        st = weft_file_read(options->tuning_file, TUNING_FILE_MAX, &text, &size);
        if (st == WEFT_OK) {
            char what[512];
            snprintf(what, sizeof what, "tuning file '%s'", options->tuning_file);
            st = weft_tuning_parse(text, size, &ctx->devices[device].cl.info, what, table);
        }
        free(text);
    }
    if (st == WEFT_OK && options->tune_seconds > 0) {
        size_t before = table->count;
        st = weft_tuning_tune(ctx, device, s->graph, options->tune_seconds, 0, table, NULL);
        if (st == WEFT_OK && table->count > before && ctx->cache_dir &&
            weft_tuning_save(ctx, device, table) != WEFT_OK)
            weft_log(WEFT_LOG_INFO, "tuning cache: %s", weft_last_error());
    }
    for (size_t d = 0; d < use->count; d++)
        use->entries += use->tables[d].count;
    if (st == WEFT_OK && use->entries == 0)
        weft_tuning_session_end(s);
    return st;
}

int weft_tuning_choose(const weft_session *s, size_t device, const weft_node *n,
                       const weft_op_impl **impl, int *variant)
{
    const weft_tuning_use *use = s->tuning;
    if (!use || device >= use->count)
        return 0;
    const weft_device_info *dev = &s->context->devices[device].cl.info;
    char why[256];
    if (use->fixed) {
        if (!serves(use->fixed, n->op) || !use->fixed->supports(s->graph, n, dev, why, sizeof why))
            return 0;
        *impl = use->fixed;
        *variant = use->fixed_variant;
        return 1;
    }
    if (use->tables[device].count == 0)
        return 0;
    char key[65];
    weft_tuning_key(s->graph, n, key);
    const weft_tuning_entry *e = weft_tuning_find(&use->tables[device], key);
    if (!e)
        return 0;
    for (size_t i = 0; i < weft_op_impl_count; i++) {
        const weft_op_impl *cand = weft_op_impls[i];
        if (!serves(cand, n->op) || strcmp(cand->name, e->impl) != 0)
            continue;
        int k = variant_index(cand, dev, e->variant);
        if (k < 0 || !cand->supports(s->graph, n, dev, why, sizeof why))
            return 0;
        *impl = cand;
        *variant = k;
        return 1;
    }
    return 0;
}

void weft_tuning_session_end(weft_session *s)
{
    weft_tuning_use *use = s ? s->tuning : NULL;
    if (!use)
        return;
    for (size_t d = 0; d < use->count; d++)
        weft_tuning_clear(&use->tables[d]);
    free(use->tables);
    free(use);
    s->tuning = NULL;
}

/* ---- Public: export and import ----------------------------------------------------- */

static weft_status device_of(weft_context *ctx, size_t device, const char *fn,
                             const char *path)
{
    if (!ctx || !path)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                         !ctx ? "context" : "path");
    if (device >= ctx->device_count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: device %zu, but the context has %zu",
                         fn, device, ctx->device_count);
    return WEFT_OK;
}

weft_status weft_tuning_export(weft_context *ctx, size_t device, const char *path)
{
    weft_status st = device_of(ctx, device, "weft_tuning_export", path);
    if (st != WEFT_OK)
        return st;
    weft_tuning t = {0};
    st = weft_tuning_load(ctx, device, &t);
    size_t size = 0;
    char *text = st == WEFT_OK ? weft_tuning_format(&t, &ctx->devices[device].cl.info, &size)
                               : NULL;
    if (st == WEFT_OK && !text)
        st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the tuning file");
    if (st == WEFT_OK)
        st = weft_file_write_atomic(path, text, size);
    free(text);
    weft_tuning_clear(&t);
    return st;
}

weft_status weft_tuning_import(weft_context *ctx, size_t device, const char *path)
{
    weft_status st = device_of(ctx, device, "weft_tuning_import", path);
    if (st != WEFT_OK)
        return st;
    char *text = NULL;
    size_t size = 0;
    weft_tuning t = {0};
    st = weft_file_read(path, TUNING_FILE_MAX, &text, &size);
    if (st == WEFT_OK) {
        char what[512];
        snprintf(what, sizeof what, "tuning file '%s'", path);
        st = weft_tuning_parse(text, size, &ctx->devices[device].cl.info, what, &t);
    }
    if (st == WEFT_OK)
        st = weft_tuning_save(ctx, device, &t);
    free(text);
    weft_tuning_clear(&t);
    return st;
}
