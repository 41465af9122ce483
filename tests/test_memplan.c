/*
 * The memory planner on the lifetimes of typical graph shapes: the planned
 * arena must stay within 1.1x of the most bytes alive at once, and no two
 * tensors alive at the same step may overlap.
 */
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "runtime/memplan.h"
#include "test_common.h"

static void check_plan(const weft_mem_request *req, size_t n, double max_ratio)
{
    uint64_t *off = malloc(n * sizeof *off), total = 0;
    assert_non_null(off);
    assert_weft_ok(weft_memplan(req, n, 64, off, &total));
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(off[i] % 64, 0);
        assert_true(off[i] + req[i].bytes <= total);
        for (size_t j = i + 1; j < n; j++) {
            int overlap_time = !(req[i].last < req[j].first || req[j].last < req[i].first);
            int overlap_space = off[i] < off[j] + req[j].bytes && off[j] < off[i] + req[i].bytes;
            if (overlap_time && overlap_space)
                fail_msg("tensors %zu and %zu overlap in time and space", i, j);
        }
    }
    uint64_t live = weft_memplan_live_peak(req, n);
    assert_true(total >= live);
    if ((double)total > max_ratio * (double)live)
        fail_msg("planned %llu bytes, live peak %llu: ratio %.3f > %.2f",
                 (unsigned long long)total, (unsigned long long)live,
                 (double)total / (double)live, max_ratio);
    free(off);
}

/* A chain: tensor i is produced at step i and read at step i+1. */
static void test_chain(void **state)
{
    (void)state;
    weft_mem_request req[50];
    uint64_t seed = 7;
    for (int i = 0; i < 50; i++)
        req[i] = (weft_mem_request){64 * (1 + weft_random_next(&seed) % 4096), i, i + 1};
    check_plan(req, 50, 1.1);
}

/* A diamond: x feeds two branches of three steps each, joined at the end. */
static void test_diamond(void **state)
{
    (void)state;
    weft_mem_request req[] = {
        {1 << 20, 0, 4},  /* x, read by both branches' first nodes (steps 1 and 4) */
        {1 << 20, 1, 2}, {1 << 20, 2, 3}, {1 << 20, 3, 7}, /* branch a */
        {1 << 20, 4, 5}, {1 << 20, 5, 6}, {1 << 20, 6, 7}, /* branch b */
        {1 << 20, 7, 8},  /* join */
    };
    check_plan(req, sizeof req / sizeof req[0], 1.1);
}

/* A UNet: an encoder halving the size at each level, a decoder doubling
 * it, and skip connections that keep each encoder level alive until the
 * decoder level of the same size reads it. */
static void test_unet(void **state)
{
    (void)state;
    enum { LEVELS = 5 };
    weft_mem_request req[4 * LEVELS + 2];
    size_t n = 0;
    int step = 0;
    uint64_t size = (uint64_t)64 << 20;
    int skip_of[LEVELS];
    for (int l = 0; l < LEVELS; l++, size /= 4) {
        req[n++] = (weft_mem_request){size, step, step + 1}; /* conv a */
        skip_of[l] = (int)n;
        req[n++] = (weft_mem_request){size, step + 1, 0};    /* conv b: the skip */
        step += 2;
    }
    req[n++] = (weft_mem_request){size, step, step + 1};     /* bottleneck */
    step++;
    for (int l = LEVELS - 1; l >= 0; l--) {
        size *= 4;
        req[skip_of[l]].last = step;                         /* read by the concat */
        req[n++] = (weft_mem_request){size, step, step + 1}; /* upsampled + concat */
        req[n++] = (weft_mem_request){size, step + 1, step + 2};
        step += 2;
    }
    req[n - 1].last = step;
    check_plan(req, n, 1.1);
}

/* Random lifetimes: the plan is valid (never overlapping), whatever it costs. */
static void test_random_valid(void **state)
{
    (void)state;
    uint64_t seed = 99;
    for (int round = 0; round < 20; round++) {
        weft_mem_request req[40];
        for (int i = 0; i < 40; i++) {
            int first = (int)(weft_random_next(&seed) % 30);
            req[i] = (weft_mem_request){1 + weft_random_next(&seed) % 100000, first,
                                        first + (int)(weft_random_next(&seed) % 10)};
        }
        check_plan(req, 40, 1e9);
    }
}

static void test_empty_and_alignment(void **state)
{
    (void)state;
    uint64_t total = 1, off[1];
    assert_weft_ok(weft_memplan(NULL, 0, 64, off, &total));
    assert_int_equal(total, 0);
    weft_mem_request one = {10, 0, 0};
    assert_weft_status(weft_memplan(&one, 1, 48, off, &total), WEFT_ERR_INTERNAL, "power of two");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_diamond),
        cmocka_unit_test(test_unet),
        cmocka_unit_test(test_random_valid),
        cmocka_unit_test(test_empty_and_alignment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
