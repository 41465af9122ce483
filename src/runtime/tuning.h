/*
 * Tuning: for every node whose op has more than one candidate on a device
 * (an implementation that supports the node, in its own tiles or in one
 * of its variants, weft_op_impl.variant), time each candidate on a graph
 * of that node alone and keep the fastest. Nothing here knows what an op
 * is: a node is its key, a SHA-256 over a canonical text of its op,
 * attributes (weft's own _weft_* included), input and output types and
 * shapes and which inputs are constants.
 *
 * Times are wall-clock medians of whole runs of the one-node graph (so
 * CLBlast's kernels count too); a candidate other than the one the cost
 * estimates choose wins only when it is 5% faster also in a second timing.
 *
 * Results persist per device in the program cache's folder, as one disk
 * cache entry (disk_cache.h: written atomically, checked on reading)
 * keyed like the program binaries by the device's name, vendor, driver
 * and platform versions, plus weft's version. Its payload is the export
 * format, a text file that serves every machine with the same device:
 *
 *   weft-tuning 1
 *   weft VERSION
 *   device NAME
 *   vendor VENDOR
 *   driver DRIVER_VERSION
 *   platform PLATFORM_VERSION
 *   KEY IMPL VARIANT MS        (one line per node key; VARIANT "-" is the
 *                               implementation's own choice)
 *
 * A cache entry that fails a check or names another device is ignored
 * with a warning; a file to import that does is refused.
 */
#ifndef WEFT_RUNTIME_TUNING_H
#define WEFT_RUNTIME_TUNING_H

#include <stddef.h>
#include <stdint.h>

#include "ops/op.h"
#include "runtime/context.h"

typedef struct weft_tuning_entry {
    char key[65];
    char impl[48];
    char variant[48];   /* "-": the implementation's own tiles */
    double ms;          /* the winner's measured time */
} weft_tuning_entry;

typedef struct weft_tuning {
    weft_tuning_entry *entries;
    size_t count, capacity;
} weft_tuning;

/* Frees the entries; the table is empty and usable again. */
void weft_tuning_clear(weft_tuning *t);
const weft_tuning_entry *weft_tuning_find(const weft_tuning *t, const char *key);
/* Adds or replaces the entry of e->key. */
weft_status weft_tuning_put(weft_tuning *t, const weft_tuning_entry *e);

/* The node's key: 64 hex digits. */
void weft_tuning_key(const weft_graph *g, const weft_node *n, char key[65]);

/* The tuning file text for device `dev` (malloc'd), and its parser:
 * WEFT_ERR_IO naming `what` and the line when malformed, when it is for
 * another device or another weft version (both named). Entries are added
 * to *t. */
char *weft_tuning_format(const weft_tuning *t, const weft_device_info *dev, size_t *size);
weft_status weft_tuning_parse(const char *text, size_t size, const weft_device_info *dev,
                              const char *what, weft_tuning *t);

/* The cache entry of the context's device `device`, added to *t: absent,
 * corrupt or foreign (a warning) add nothing; never fails but for memory. */
weft_status weft_tuning_load(weft_context *ctx, size_t device, weft_tuning *t);
/* Merges *t into the cache entry (re-read first) and writes it. An
 * unwritable or disabled cache is WEFT_ERR_IO / WEFT_ERR_UNSUPPORTED. */
weft_status weft_tuning_save(weft_context *ctx, size_t device, const weft_tuning *t);

/* What the tuner did, per distinct node key, for reports. */
typedef struct weft_tune_candidate {
    char impl[48];
    char variant[48];
    double ms;          /* median; < 0: it failed or was not run */
} weft_tune_candidate;

typedef struct weft_tune_node {
    char key[65];
    char name[96];      /* the first node with this key */
    char op[32];
    char shape[160];    /* input shapes, for reports */
    size_t uses;        /* nodes of the graph with this key */
    int state;          /* 0 untuned (budget), 1 tuned now, 2 from the cache */
    weft_tune_candidate *candidates;
    size_t candidate_count;
    int winner;         /* index in candidates, -1 */
} weft_tune_node;

typedef struct weft_tune_report {
    weft_tune_node *nodes;
    size_t count;
    size_t tuned, cached, untuned;
    double seconds;
} weft_tune_report;

void weft_tune_report_release(weft_tune_report *r);

/* Tunes the nodes of graph g (already simplified, as a session sees it)
 * on the context's device `device` within budget_s seconds, costliest
 * first; nodes of *t are skipped unless retune. Results are added to *t
 * (and not saved). report may be NULL. */
weft_status weft_tuning_tune(weft_context *ctx, size_t device, const weft_graph *g,
                             double budget_s, int retune, weft_tuning *t,
                             weft_tune_report *report);

/* Candidate timings done in this process (for tests). */
uint64_t weft_tuning_timings(void);

/* ---- For session.c ------------------------------------------------------- */

struct weft_session;

/* At session creation, after the graph is simplified: loads the cache of
 * every device of the context and, for the preferred device
 * (options->device_index), options->tuning_file and tuning when
 * options->tune_seconds > 0; keeps the tables in the session. Off with
 * WEFT_TUNING=off. */
weft_status weft_tuning_session_begin(struct weft_session *s, const weft_session_options *options);
/* The tuned implementation and variant of node n on the context's device
 * `device`: 1 and *impl, *variant set; 0 when none (or it no longer
 * supports n). */
int weft_tuning_choose(const struct weft_session *s, size_t device, const weft_node *n,
                       const weft_op_impl **impl, int *variant);
/* Frees the table (after the steps are chosen); NULL-safe. */
void weft_tuning_session_end(struct weft_session *s);

#endif
