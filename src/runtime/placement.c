/*
 * Placement of nodes on devices, in three steps:
 *  1. Capability: a node may go only to devices where some implementation
 *     supports it (the session gives those as cost >= 0); forced nodes
 *     (WEFT_PLACEMENT, session option) keep their device.
 *  2. Greedy pass in topological order: each node goes to the device where
 *     it would finish first, given the nodes already placed: start = the
 *     later of "device free" and "every input arrived" (a cross-device
 *     input arrives after latency + bytes x link seconds per byte), finish
 *     = start + the implementation's cost there. Ties go to the device
 *     earlier in the preference order. This list scheduling lets two
 *     independent branches land on two devices and overlap.
 *  3. Local moves: try every node on every other device it can run on and
 *     keep a move when the simulated end-to-end time drops, until a pass
 *     changes nothing (at most 8 passes). It repairs greedy choices that
 *     looked good locally but forced transfers later.
 * Simplifications, on purpose: each edge pays its own transfer (a tensor
 * read by two nodes of one device is charged twice, though sent once), and
 * a transfer does not occupy either device.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/util.h"
#include "runtime/placement.h"

static double simulate(const weft_place_problem *p, const int *device, double *finish,
                       double *free_at, size_t upto)
{
    for (size_t d = 0; d < p->devices; d++)
        free_at[d] = 0;
    double end = 0;
    for (size_t i = 0; i < upto; i++) {
        size_t d = (size_t)device[i];
        double ready = free_at[d];
        for (size_t e = p->edge_start[i]; e < p->edge_start[i + 1]; e++) {
            const weft_place_edge *edge = &p->edges[e];
            size_t from = (size_t)device[edge->from];
            double arrive = finish[edge->from];
            if (from != d)
                arrive += p->latency + edge->bytes * p->link[from * p->devices + d];
            if (arrive > ready)
                ready = arrive;
        }
        finish[i] = ready + p->cost[i * p->devices + d];
        free_at[d] = finish[i];
        if (finish[i] > end)
            end = finish[i];
    }
    return end;
}

double weft_place_makespan(const weft_place_problem *p, const int *device)
{
    double *finish = malloc((p->nodes ? p->nodes : 1) * sizeof *finish);
    double *free_at = malloc((p->devices ? p->devices : 1) * sizeof *free_at);
    double end = finish && free_at ? simulate(p, device, finish, free_at, p->nodes) : 0;
    free(finish);
    free(free_at);
    return end;
}

static int can_run(const weft_place_problem *p, size_t node, size_t d)
{
    return p->cost[node * p->devices + d] >= 0;
}

/* The first device in preference order, at or after rank `from`, that can
 * run the node (wrapping around). */
static int first_capable(const weft_place_problem *p, const size_t *order, size_t node,
                         size_t from)
{
    for (size_t k = 0; k < p->devices; k++) {
        size_t d = order[(from + k) % p->devices];
        if (can_run(p, node, d))
            return (int)d;
    }
    return -1;
}

void weft_place(const weft_place_problem *p, weft_place_mode mode, const size_t *order,
                int *device)
{
    int *forced = malloc((p->nodes ? p->nodes : 1) * sizeof *forced);
    double *finish = malloc((p->nodes ? p->nodes : 1) * sizeof *finish);
    double *free_at = malloc((p->devices ? p->devices : 1) * sizeof *free_at);
    int degrade = !forced || !finish || !free_at; /* no memory: plain fallback order */
    for (size_t i = 0; i < p->nodes; i++) {
        if (forced)
            forced[i] = device[i] >= 0;
        if (device[i] >= 0)
            continue;
        if (mode == WEFT_PLACE_FIRST || degrade) {
            device[i] = first_capable(p, order, i, 0);
        } else if (mode == WEFT_PLACE_ALTERNATE) {
            device[i] = first_capable(p, order, i, i % p->devices);
        } else {
            /* Greedy: the device where the node finishes first. */
            int best = -1;
            double best_finish = 0;
            for (size_t k = 0; k < p->devices; k++) {
                size_t d = order[k];
                if (!can_run(p, i, d))
                    continue;
                device[i] = (int)d;
                simulate(p, device, finish, free_at, i + 1);
                if (best < 0 || finish[i] < best_finish * (1 - 1e-9)) {
                    best = (int)d;
                    best_finish = finish[i];
                }
            }
            device[i] = best;
        }
    }
    if (mode == WEFT_PLACE_AUTO && !degrade && p->devices > 1) {
        double best = simulate(p, device, finish, free_at, p->nodes);
        for (int pass = 0, moved = 1; moved && pass < 8; pass++) {
            moved = 0;
            for (size_t i = 0; i < p->nodes; i++) {
                if (forced[i])
                    continue;
                for (size_t k = 0; k < p->devices; k++) {
                    int d = (int)order[k];
                    if (d == device[i] || !can_run(p, i, (size_t)d))
                        continue;
                    int was = device[i];
                    device[i] = d;
                    double t = simulate(p, device, finish, free_at, p->nodes);
                    if (t < best * (1 - 1e-9)) {
                        best = t;
                        moved = 1;
                    } else {
                        device[i] = was;
                    }
                }
            }
        }
    }
    free(forced);
    free(finish);
    free(free_at);
}

static int parse_index(const char *s, size_t len, size_t *value)
{
    if (len == 0 || len > 6)
        return 0;
    size_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *value = v;
    return 1;
}

weft_status weft_place_parse(const char *spec, size_t devices, const char *const *names,
                             size_t count, weft_place_mode *mode, int *forced)
{
    *mode = WEFT_PLACE_AUTO;
    for (size_t i = 0; i < count; i++)
        forced[i] = -1;
    if (!spec)
        return WEFT_OK;
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        char item[256];
        snprintf(item, sizeof item, "%.*s", (int)len, p);
        if (!eq) {
            if (weft_str_ieq(item, "auto"))
                *mode = WEFT_PLACE_AUTO;
            else if (weft_str_ieq(item, "first"))
                *mode = WEFT_PLACE_FIRST;
            else if (weft_str_ieq(item, "alternate"))
                *mode = WEFT_PLACE_ALTERNATE;
            else if (len > 0)
                return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                                 "placement '%s': item '%.*s' is none of auto, first, alternate, "
                                 "all=DEVICE, NODE=DEVICE",
                                 spec, (int)len, p);
        } else {
            size_t name_len = (size_t)(eq - p), d;
            if (!parse_index(eq + 1, len - name_len - 1, &d))
                return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                                 "placement '%s': '%.*s' needs a device index after '='", spec,
                                 (int)len, p);
            if (d >= devices)
                return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                                 "placement '%s': device %zu, but the context has %zu device(s)",
                                 spec, d, devices);
            item[name_len < sizeof item ? name_len : sizeof item - 1] = '\0';
            int all = weft_str_ieq(item, "all"), hit = 0;
            for (size_t i = 0; i < count; i++)
                if (all || (strlen(names[i]) == name_len && memcmp(names[i], p, name_len) == 0)) {
                    forced[i] = (int)d;
                    hit = 1;
                }
            if (!hit)
                weft_log(WEFT_LOG_WARN, "placement '%s': no node is named '%.*s'", spec,
                         (int)name_len, p);
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return WEFT_OK;
}

int weft_test_hook(const char *env, size_t device, const char *op)
{
    const char *v = getenv(env);
    if (!v || !*v)
        return 0;
    char want[96];
    snprintf(want, sizeof want, "device%zu:%s", device, op);
    size_t wl = strlen(want);
    for (const char *p = v; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[96];
        snprintf(item, sizeof item, "%.*s", (int)len, p);
        if (len == wl && weft_str_ieq(item, want))
            return 1;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}
