/*
 * The public API's contract on bad input (include/weft.h): NULL or invalid
 * arguments give WEFT_ERR_INVALID_ARGUMENT with a message naming the
 * function or argument, never a crash; *_release(NULL) is a no-op; status
 * names and strings follow WEFT_STATUS_MAP; the version is CMake's.
 *
 * The session functions are declared in weft.h but not implemented yet,
 * so they are not called here (the test would not link).
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "test_common.h"

#ifndef WEFT_TEST_PROJECT_VERSION
#error "WEFT_TEST_PROJECT_VERSION comes from tests/CMakeLists.txt (PROJECT_VERSION)"
#endif

#define STALE_MESSAGE "stale message from an earlier call"

/* Leaves a known message behind, so a call that fails without setting its
 * own message is caught instead of passing on an older one. */
static void poison_last_error(void)
{
    weft_fail(WEFT_ERR_INTERNAL, STALE_MESSAGE);
}

/* `call` must fail with WEFT_ERR_INVALID_ARGUMENT and a fresh, non-empty
 * message containing `part` (the function's or the argument's name). */
#define assert_invalid(call, part)                                                   \
    do {                                                                             \
        poison_last_error();                                                         \
        assert_weft_status(call, WEFT_ERR_INVALID_ARGUMENT, part);                   \
        if (!*weft_last_error() || strstr(weft_last_error(), STALE_MESSAGE))         \
            fail_msg("%s: no message of its own: '%s'", #call, weft_last_error());   \
    } while (0)

/* ---- Status codes and version --------------------------------------------- */

typedef struct status_entry {
    weft_status status;
    int value; /* as written in the map */
    const char *name;
    const char *text;
} status_entry;

static const status_entry all_statuses[] = {
#define STATUS_ENTRY_(name_, value_, text_) \
    {.status = WEFT_##name_, .value = (value_), .name = "WEFT_" #name_, .text = text_},
    WEFT_STATUS_MAP(STATUS_ENTRY_)
#undef STATUS_ENTRY_
};
#define STATUS_COUNT (sizeof all_statuses / sizeof all_statuses[0])

static void test_status_names(void **state)
{
    (void)state;
    assert_int_equal(all_statuses[0].status, WEFT_OK);
    assert_int_equal(WEFT_OK, 0);
    for (size_t i = 0; i < STATUS_COUNT; i++) {
        const status_entry *e = &all_statuses[i];
        assert_int_equal(e->status, e->value);
        assert_string_equal(weft_status_name(e->status), e->name);
        assert_string_equal(weft_status_string(e->status), e->text);
        assert_true(e->text[0] != '\0');
        /* Errors are negative; codes are distinct, so the switch in
         * status.c cannot hide one behind another. */
        if (e->status != WEFT_OK)
            assert_true(e->status < 0);
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(all_statuses[j].status, e->status);
            assert_string_not_equal(all_statuses[j].name, e->name);
        }
    }
}

static void test_status_unknown(void **state)
{
    (void)state;
    static const int unknown[] = {1, 42, -13, -1000, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        weft_status s = (weft_status)unknown[i];
        assert_string_equal(weft_status_name(s), "WEFT_UNKNOWN_STATUS");
        const char *text = weft_status_string(s);
        assert_non_null(text);
        assert_non_null(strstr(text, "unknown"));
        for (size_t k = 0; k < STATUS_COUNT; k++)
            assert_string_not_equal(text, all_statuses[k].text);
    }
}

static void test_version(void **state)
{
    (void)state;
    const char *v = weft_version();
    assert_non_null(v);
    assert_string_equal(v, WEFT_TEST_PROJECT_VERSION);
    unsigned major, minor, patch;
    char extra;
    assert_int_equal(sscanf(v, "%u.%u.%u%c", &major, &minor, &patch, &extra), 3);
}

static void test_device_type_names(void **state)
{
    (void)state;
    assert_string_equal(weft_device_type_name(WEFT_DEVICE_GPU), "GPU");
    assert_string_equal(weft_device_type_name(WEFT_DEVICE_ACCELERATOR), "ACCELERATOR");
    assert_string_equal(weft_device_type_name(WEFT_DEVICE_CPU), "CPU");
    assert_string_equal(weft_device_type_name(WEFT_DEVICE_OTHER), "OTHER");
    assert_string_equal(weft_device_type_name((weft_device_type)0), "OTHER");
    assert_string_equal(weft_device_type_name((weft_device_type)99), "OTHER");
}

/* Messages are per thread: a new thread starts with "", and its failures
 * do not overwrite the message of another thread. */
static void *other_thread(void *arg)
{
    int *ok = arg;
    ok[0] = strcmp(weft_last_error(), "") == 0;
    ok[1] = weft_device_count(NULL) == WEFT_ERR_INVALID_ARGUMENT &&
            strstr(weft_last_error(), "weft_device_count") != NULL;
    return NULL;
}

static void test_last_error_per_thread(void **state)
{
    (void)state;
    poison_last_error();
    int ok[2] = {0, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_thread, ok), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(ok[0]);
    assert_true(ok[1]);
    assert_string_equal(weft_last_error(), STALE_MESSAGE);
}

/* ---- Options and releases ------------------------------------------------------ */

static void test_options_defaults(void **state)
{
    (void)state;
    weft_context_options_defaults(NULL); /* must simply return */

    weft_context_options o;
    memset(&o, 0xa5, sizeof o); /* defaults must overwrite every field */
    weft_context_options_defaults(&o);
    assert_null(o.device);
    assert_null(o.cache_dir);
    assert_int_equal(o.cache, WEFT_CACHE_DEFAULT);
    assert_int_equal(o.binary_only, 0);
    assert_int_equal(o.profiling, 0);
}

static void test_release_null(void **state)
{
    (void)state;
    poison_last_error();
    weft_context_release(NULL);
    weft_graph_release(NULL);
    weft_attrs_release(NULL);
    /* A no-op does not touch the caller's last error either. */
    assert_string_equal(weft_last_error(), STALE_MESSAGE);
}

/* ---- Devices and contexts --------------------------------------------------- */

static void test_device_null(void **state)
{
    (void)state;
    assert_invalid(weft_device_count(NULL), "weft_device_count");
    assert_invalid(weft_device_get_info(0, NULL), "weft_device_get_info");
}

static void test_device_get_info_out_of_range(void **state)
{
    (void)state;
    size_t count = 0;
    assert_weft_ok(weft_device_count(&count));
    assert_true(count > 0);
    weft_device_info info;
    assert_weft_ok(weft_device_get_info(count - 1, &info)); /* the control */
    assert_invalid(weft_device_get_info(count, &info), "weft_device_get_info");
    assert_invalid(weft_device_get_info(SIZE_MAX, &info), "weft_device_get_info");
}

static void test_context_create_invalid(void **state)
{
    (void)state;
    weft_context_options o = test_options(NULL);
    assert_invalid(weft_context_create(&o, NULL), "weft_context_create");
    assert_invalid(weft_context_create(NULL, NULL), "weft_context_create");

    /* Values outside weft_cache_mode; *context is cleared on failure. */
    static const int bad_cache[] = {3, -1, 1000};
    for (size_t i = 0; i < sizeof bad_cache / sizeof bad_cache[0]; i++) {
        o.cache = (weft_cache_mode)bad_cache[i];
        weft_context *ctx = (weft_context *)&o; /* any non-NULL garbage */
        assert_invalid(weft_context_create(&o, &ctx), "options.cache");
        assert_null(ctx);
    }
}

/* Failures after the argument checks (selection) also leave *context NULL. */
static void test_context_create_failure_clears(void **state)
{
    (void)state;
    weft_context_options o = test_options(NULL);
    weft_context *ctx = (weft_context *)&o;
    o.device = "1:x";
    assert_invalid(weft_context_create(&o, &ctx), "1:x");
    assert_null(ctx);

    ctx = (weft_context *)&o;
    o.device = "no-such-device-at-all";
    assert_weft_status(weft_context_create(&o, &ctx), WEFT_ERR_NO_DEVICE, "no-such-device-at-all");
    assert_null(ctx);
}

static int context_setup(void **state)
{
    weft_context_options o = test_options(NULL);
    weft_context *ctx = NULL;
    weft_status st = weft_context_create(&o, &ctx);
    if (st != WEFT_OK) {
        print_error("weft_context_create: %s: %s\n", weft_status_name(st), weft_last_error());
        return -1;
    }
    *state = ctx;
    return 0;
}

static int context_teardown(void **state)
{
    weft_context_release(*state);
    return 0;
}

static void test_context_null(void **state)
{
    weft_context *ctx = *state;
    size_t n;
    weft_device_info info;
    weft_cache_stats stats;
    assert_invalid(weft_context_device_count(NULL, &n), "context is NULL");
    assert_invalid(weft_context_device_count(ctx, NULL), "count is NULL");
    assert_invalid(weft_context_device_info(NULL, 0, &info), "context is NULL");
    assert_invalid(weft_context_device_info(ctx, 0, NULL), "info is NULL");
    assert_invalid(weft_context_cache_stats(NULL, &stats), "context is NULL");
    assert_invalid(weft_context_cache_stats(ctx, NULL), "stats is NULL");
    assert_invalid(weft_context_self_check(NULL, 0), "context is NULL");
}

static void test_context_out_of_range(void **state)
{
    weft_context *ctx = *state;
    size_t n = 0;
    assert_weft_ok(weft_context_device_count(ctx, &n));
    assert_int_equal(n, 1);
    weft_device_info info;
    assert_weft_ok(weft_context_device_info(ctx, n - 1, &info)); /* the control */
    assert_invalid(weft_context_device_info(ctx, n, &info), "weft_context_device_info");
    assert_invalid(weft_context_device_info(ctx, SIZE_MAX, &info), "weft_context_device_info");
    /* Refused by self-check's own argument check ("self-check: device N,
     * but ..."), before any program is looked up. */
    assert_invalid(weft_context_self_check(ctx, n), "self-check: device 1");
    assert_invalid(weft_context_self_check(ctx, SIZE_MAX), "self-check");
}

/* ---- Graphs and attributes --------------------------------------------------- */

static void test_graph_invalid(void **state)
{
    (void)state;
    assert_invalid(weft_graph_create(NULL), "weft_graph_create");
    assert_invalid(weft_graph_validate(NULL), "weft_graph_validate");

    weft_graph *g = NULL;
    assert_weft_ok(weft_graph_create(&g));
    const int64_t dims[2] = {2, 3}, negative[2] = {2, -1};
    const float data[6] = {0};
    assert_invalid(weft_graph_add_input(NULL, "x", WEFT_FLOAT32, 2, dims), "weft_graph_add_input");
    assert_invalid(weft_graph_add_input(g, NULL, WEFT_FLOAT32, 2, dims), "weft_graph_add_input");
    assert_invalid(weft_graph_add_input(g, "", WEFT_FLOAT32, 2, dims), "weft_graph_add_input");
    assert_invalid(weft_graph_add_input(g, "x", (weft_dtype)0, 2, dims), "weft_graph_add_input");
    assert_invalid(weft_graph_add_input(g, "x", WEFT_FLOAT32, -1, dims), "weft_graph_add_input");
    assert_invalid(weft_graph_add_input(g, "x", WEFT_FLOAT32, WEFT_MAX_RANK + 1, dims),
                   "weft_graph_add_input");
    assert_invalid(weft_graph_add_input(g, "x", WEFT_FLOAT32, 2, NULL), "weft_graph_add_input");
    assert_invalid(weft_graph_add_input(g, "x", WEFT_FLOAT32, 2, negative),
                   "weft_graph_add_input");
    assert_invalid(weft_graph_add_constant(NULL, "c", WEFT_FLOAT32, 2, dims, data),
                   "weft_graph_add_constant");
    assert_invalid(weft_graph_add_constant(g, NULL, WEFT_FLOAT32, 2, dims, data),
                   "weft_graph_add_constant");
    assert_invalid(weft_graph_add_constant(g, "c", WEFT_FLOAT32, 2, dims, NULL),
                   "weft_graph_add_constant");
    assert_invalid(weft_graph_add_output(NULL, "y"), "weft_graph_add_output");
    assert_invalid(weft_graph_add_output(g, NULL), "weft_graph_add_output");
    assert_invalid(weft_graph_add_output(g, ""), "weft_graph_add_output");

    const char *in[1] = {"x"}, *out[1] = {"y"};
    assert_invalid(weft_graph_add_node(NULL, "Relu", NULL, in, 1, NULL, out, 1), "graph is NULL");
    assert_invalid(weft_graph_add_node(g, NULL, NULL, in, 1, NULL, out, 1), "op_type is NULL");
    assert_invalid(weft_graph_add_node(g, "Relu", NULL, NULL, 1, NULL, out, 1), "inputs is NULL");
    assert_invalid(weft_graph_add_node(g, "Relu", NULL, in, 1, NULL, NULL, 1), "outputs is NULL");

    /* None of the refused calls left anything in the graph: the valid
     * versions of the same calls still succeed. */
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 2, dims));
    assert_weft_ok(weft_graph_add_constant(g, "c", WEFT_FLOAT32, 2, dims, data));
    weft_graph_release(g);
}

static void test_attrs_invalid(void **state)
{
    (void)state;
    assert_invalid(weft_attrs_create(NULL), "weft_attrs_create");

    weft_attrs *a = NULL;
    assert_weft_ok(weft_attrs_create(&a));
    const int64_t ints[2] = {1, 2};
    const float floats[2] = {1.0f, 2.0f};
    assert_invalid(weft_attrs_set_int(NULL, "k", 1), "weft_attrs_set_int");
    assert_invalid(weft_attrs_set_int(a, NULL, 1), "weft_attrs_set_int");
    assert_invalid(weft_attrs_set_int(a, "", 1), "weft_attrs_set_int");
    assert_invalid(weft_attrs_set_float(NULL, "k", 1.0f), "weft_attrs_set_float");
    assert_invalid(weft_attrs_set_float(a, NULL, 1.0f), "weft_attrs_set_float");
    assert_invalid(weft_attrs_set_string(NULL, "k", "v"), "weft_attrs_set_string");
    assert_invalid(weft_attrs_set_string(a, NULL, "v"), "weft_attrs_set_string");
    assert_invalid(weft_attrs_set_string(a, "k", NULL), "weft_attrs_set_string");
    assert_invalid(weft_attrs_set_ints(NULL, "k", ints, 2), "weft_attrs_set_ints");
    assert_invalid(weft_attrs_set_ints(a, NULL, ints, 2), "weft_attrs_set_ints");
    assert_invalid(weft_attrs_set_ints(a, "k", NULL, 2), "weft_attrs_set_ints");
    assert_invalid(weft_attrs_set_floats(NULL, "k", floats, 2), "weft_attrs_set_floats");
    assert_invalid(weft_attrs_set_floats(a, NULL, floats, 2), "weft_attrs_set_floats");
    assert_invalid(weft_attrs_set_floats(a, "k", NULL, 2), "weft_attrs_set_floats");
    /* An empty list may come without a pointer. */
    assert_weft_ok(weft_attrs_set_ints(a, "k", NULL, 0));
    assert_weft_ok(weft_attrs_set_floats(a, "f", NULL, 0));
    weft_attrs_release(a);
}

int main(void)
{
    const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_status_unknown),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_device_type_names),
        cmocka_unit_test(test_last_error_per_thread),
        cmocka_unit_test(test_options_defaults),
        cmocka_unit_test(test_release_null),
        cmocka_unit_test(test_device_null),
        cmocka_unit_test(test_device_get_info_out_of_range),
        cmocka_unit_test(test_context_create_invalid),
        cmocka_unit_test(test_context_create_failure_clears),
        cmocka_unit_test(test_graph_invalid),
        cmocka_unit_test(test_attrs_invalid),
    };
    /* These need a context on a real device. */
    const struct CMUnitTest with_context[] = {
        cmocka_unit_test(test_context_null),
        cmocka_unit_test(test_context_out_of_range),
    };
    int failed = cmocka_run_group_tests_name("api", plain, NULL, NULL);
    failed += cmocka_run_group_tests_name("api_context", with_context, context_setup,
                                          context_teardown);
    return failed;
}
