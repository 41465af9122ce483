/*
 * Device discovery and selection.
 *  (a) weft_device_select over made-up tables: every selector form and
 *      its errors, without any OpenCL device;
 *  (b) real devices: enumeration against contexts made with each form,
 *      WEFT_DEVICE, sane device info;
 *  (c) with two devices (POCL_DEVICES="pthread pthread"), "1" and "0:1";
 *  (d) with no device (WEFT_TEST_EXPECT_NO_DEVICE=1, OpenCL loader pointed
 *      at an empty vendor folder): NO_DEVICE with install advice.
 * tests/CMakeLists.txt registers the binary once per environment.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/device.h"
#include "test_common.h"

static int env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

/* ---- (a) Selection over made-up tables ------------------------------------ */

/* GPU preferred over accelerator over CPU, whatever the table order. */
static const weft_device_info mixed[] = {
    {.platform_index = 0, .device_index = 0, .global_index = 0,
     .name = "Intel(R) Core(TM) i7-9700K CPU", .platform_name = "Intel(R) OpenCL",
     .type = WEFT_DEVICE_CPU, .compute_units = 8, .clock_mhz = 3600},
    {.platform_index = 1, .device_index = 0, .global_index = 1,
     .name = "NVIDIA GeForce GTX 1080", .platform_name = "NVIDIA CUDA",
     .type = WEFT_DEVICE_GPU, .compute_units = 20, .clock_mhz = 1733},
    {.platform_index = 2, .device_index = 0, .global_index = 2,
     .name = "Xilinx Alveo U250", .platform_name = "Xilinx",
     .type = WEFT_DEVICE_ACCELERATOR, .compute_units = 1, .clock_mhz = 300},
};

/* Two GPUs: the later one wins on compute_units * clock (34660 > 27600)
 * although it has fewer compute units. */
static const weft_device_info two_gpus[] = {
    {.platform_index = 0, .device_index = 0, .global_index = 0,
     .name = "Intel(R) UHD Graphics 630", .platform_name = "Intel(R) OpenCL HD Graphics",
     .type = WEFT_DEVICE_GPU, .compute_units = 24, .clock_mhz = 1150},
    {.platform_index = 1, .device_index = 0, .global_index = 1,
     .name = "NVIDIA GeForce GTX 1080", .platform_name = "NVIDIA CUDA",
     .type = WEFT_DEVICE_GPU, .compute_units = 20, .clock_mhz = 1733},
};

/* Only CPUs, all with compute_units * clock = 8000: ties keep the first. */
static const weft_device_info only_cpus[] = {
    {.platform_index = 0, .device_index = 0, .global_index = 0,
     .name = "pthread-cpu-a", .platform_name = "Portable Computing Language",
     .type = WEFT_DEVICE_CPU, .compute_units = 4, .clock_mhz = 2000},
    {.platform_index = 0, .device_index = 1, .global_index = 1,
     .name = "pthread-cpu-b", .platform_name = "Portable Computing Language",
     .type = WEFT_DEVICE_CPU, .compute_units = 8, .clock_mhz = 1000},
    {.platform_index = 1, .device_index = 0, .global_index = 2,
     .name = "Intel(R) Xeon(R) Gold 6130", .platform_name = "Intel(R) OpenCL",
     .type = WEFT_DEVICE_CPU, .compute_units = 16, .clock_mhz = 500},
};

/* Type beats speed in "auto": a slow accelerator over a fast CPU over a
 * huge OTHER device; digits in names that are also valid indices. */
static const weft_device_info ranked[] = {
    {.platform_index = 0, .device_index = 0, .global_index = 0,
     .name = "Custom Board 1", .platform_name = "Vendor X",
     .type = WEFT_DEVICE_OTHER, .compute_units = 1000, .clock_mhz = 9000},
    {.platform_index = 0, .device_index = 1, .global_index = 1,
     .name = "Big CPU 5", .platform_name = "Vendor X",
     .type = WEFT_DEVICE_CPU, .compute_units = 128, .clock_mhz = 4000},
    {.platform_index = 0, .device_index = 2, .global_index = 2,
     .name = "Tiny DSP", .platform_name = "Vendor X",
     .type = WEFT_DEVICE_ACCELERATOR, .compute_units = 1, .clock_mhz = 1},
};

typedef struct select_case {
    const char *selector;
    weft_status status;
    size_t chosen;       /* when status is WEFT_OK */
    const char *message; /* a part of the message, when not OK */
} select_case;

typedef struct select_table {
    const char *label;
    const weft_device_info *infos;
    size_t count;
    const select_case *cases;
    size_t case_count;
} select_table;

#define OK_(sel, index) {.selector = (sel), .status = WEFT_OK, .chosen = (index)}
#define NO_DEVICE_(sel) \
    {.selector = (sel), .status = WEFT_ERR_NO_DEVICE, .message = "available devices"}
#define MALFORMED_(sel) \
    {.selector = (sel), .status = WEFT_ERR_INVALID_ARGUMENT, .message = "PLATFORM:DEVICE"}

static const select_case mixed_cases[] = {
    OK_(NULL, 1), OK_("", 1), OK_("auto", 1), OK_("AUTO", 1),
    OK_("gpu", 1), OK_("GPU", 1), OK_("cpu", 0), OK_("Cpu", 0),
    OK_("accel", 2), OK_("ACCEL", 2), OK_("accelerator", 2),
    /* Indices in `weft devices` order, not by preference. */
    OK_("0", 0), OK_("1", 1), OK_("2", 2),
    /* An out-of-range index that is in no name either. */
    NO_DEVICE_("3"), NO_DEVICE_("99999999999999999999"),
    /* P:D hits and misses. */
    OK_("0:0", 0), OK_("1:0", 1), OK_("2:0", 2),
    NO_DEVICE_("1:1"), NO_DEVICE_("3:0"),
    /* 2^32 must not wrap around to platform 0. */
    NO_DEVICE_("4294967296:0"), NO_DEVICE_("0:4294967296"),
    MALFORMED_("1:x"), MALFORMED_("1:"), MALFORMED_("1:0x"), MALFORMED_("1:0:0"),
    /* Case-insensitive name substrings; digits that are no valid index. */
    OK_("geforce", 1), OK_("GeForce GTX", 1), OK_("ALVEO", 2), OK_("core(tm)", 0),
    OK_("1080", 1), OK_("9700", 0), OK_("250", 2),
    NO_DEVICE_("radeon"), NO_DEVICE_("-1"), NO_DEVICE_(":0"),
};

static const select_case two_gpu_cases[] = {
    OK_(NULL, 1), OK_("auto", 1), OK_("gpu", 1), OK_("Gpu", 1),
    NO_DEVICE_("cpu"), NO_DEVICE_("accel"),
    OK_("0", 0), OK_("1", 1), NO_DEVICE_("2"),
    OK_("0:0", 0), OK_("1:0", 1), NO_DEVICE_("0:1"),
    OK_("1080", 1), OK_("630", 0), OK_("graphics", 0), OK_("nvidia", 1), OK_("intel", 0),
};

static const select_case cpu_cases[] = {
    OK_(NULL, 0), OK_("auto", 0), OK_("cpu", 0), OK_("CPU", 0),
    NO_DEVICE_("gpu"), NO_DEVICE_("GPU"), NO_DEVICE_("accel"),
    OK_("2", 2), OK_("0:1", 1), OK_("1:0", 2), NO_DEVICE_("1:1"),
    /* The first of several matches, in table order. */
    OK_("pthread", 0), OK_("CPU-B", 1), OK_("xeon", 2), OK_("6130", 2),
    MALFORMED_("0:"), MALFORMED_("0:cpu"),
};

static const select_case ranked_cases[] = {
    OK_("auto", 2), OK_("", 2), OK_("cpu", 1), OK_("accel", 2), NO_DEVICE_("gpu"),
    /* "1" is index 1 although "Custom Board 1" contains it; "5" is no
     * index, so it is a name. */
    OK_("1", 1), OK_("5", 1), OK_("board", 0), OK_("dsp", 2),
};

#define TABLE_(infos_, cases_)                                                             \
    {.label = #infos_, .infos = (infos_), .count = sizeof(infos_) / sizeof((infos_)[0]),  \
     .cases = (cases_), .case_count = sizeof(cases_) / sizeof((cases_)[0])}

static const select_table tables[] = {
    TABLE_(mixed, mixed_cases),
    TABLE_(two_gpus, two_gpu_cases),
    TABLE_(only_cpus, cpu_cases),
    TABLE_(ranked, ranked_cases),
};

static void check_case(const select_table *t, const select_case *c)
{
    const char *shown = c->selector ? c->selector : "(null)";
    size_t chosen = SIZE_MAX;
    weft_status st = weft_device_select(t->infos, t->count, c->selector, &chosen);
    if (st != c->status)
        fail_msg("%s, selector '%s': %s, expected %s: %s", t->label, shown,
                 weft_status_name(st), weft_status_name(c->status), weft_last_error());
    if (st == WEFT_OK) {
        if (chosen != c->chosen)
            fail_msg("%s, selector '%s': chose %zu (%s), expected %zu (%s)", t->label, shown,
                     chosen, chosen < t->count ? t->infos[chosen].name : "?", c->chosen,
                     t->infos[c->chosen].name);
        return;
    }
    const char *msg = weft_last_error();
    if (!strstr(msg, c->message))
        fail_msg("%s, selector '%s': message lacks '%s': %s", t->label, shown, c->message, msg);
    /* Errors quote the selector, so the user sees what was not understood. */
    if (c->selector && !strstr(msg, c->selector))
        fail_msg("%s, selector '%s': message does not quote it: %s", t->label, shown, msg);
    if (st == WEFT_ERR_NO_DEVICE)
        for (size_t i = 0; i < t->count; i++)
            if (!strstr(msg, t->infos[i].name))
                fail_msg("%s, selector '%s': message does not list '%s': %s", t->label, shown,
                         t->infos[i].name, msg);
}

static void test_select_tables(void **state)
{
    (void)state;
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (size_t c = 0; c < tables[t].case_count; c++)
            check_case(&tables[t], &tables[t].cases[c]);
}

/* An empty table is the no-driver situation: install advice, whatever the
 * selector. */
static void test_select_empty_table(void **state)
{
    (void)state;
    static const char *const selectors[] = {NULL, "auto", "gpu", "0", "0:0", "pocl"};
    for (size_t i = 0; i < sizeof selectors / sizeof selectors[0]; i++) {
        size_t chosen;
        assert_weft_status(weft_device_select(NULL, 0, selectors[i], &chosen),
                           WEFT_ERR_NO_DEVICE, "pocl");
    }
}

/* ---- (b) Real devices ------------------------------------------------------ */

typedef struct real_devices {
    weft_device_info *infos;
    size_t count;
} real_devices;

static int real_setup(void **state)
{
    real_devices *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    weft_status st = weft_device_count(&r->count);
    if (st != WEFT_OK) {
        print_error("weft_device_count: %s: %s\n", weft_status_name(st), weft_last_error());
        free(r);
        return -1;
    }
    r->infos = calloc(r->count, sizeof *r->infos);
    if (!r->infos) {
        free(r);
        return -1;
    }
    for (size_t i = 0; i < r->count; i++)
        if ((st = weft_device_get_info(i, &r->infos[i])) != WEFT_OK) {
            print_error("weft_device_get_info(%zu): %s\n", i, weft_last_error());
            free(r->infos);
            free(r);
            return -1;
        }
    *state = r;
    return 0;
}

static int real_teardown(void **state)
{
    real_devices *r = *state;
    if (r)
        free(r->infos);
    free(r);
    return 0;
}

static void assert_same_device(const weft_device_info *got, const weft_device_info *want,
                               const char *selector)
{
    if (got->global_index != want->global_index || got->platform_index != want->platform_index ||
        got->device_index != want->device_index || strcmp(got->name, want->name) != 0 ||
        strcmp(got->platform_name, want->platform_name) != 0 || got->type != want->type ||
        got->compute_units != want->compute_units ||
        got->global_mem_bytes != want->global_mem_bytes)
        fail_msg("selector '%s': context has #%u [%u:%u] %s, expected #%u [%u:%u] %s",
                 selector ? selector : "(null)", got->global_index, got->platform_index,
                 got->device_index, got->name, want->global_index, want->platform_index,
                 want->device_index, want->name);
}

/* Creates a context with `selector` and checks it uses infos[want]. */
static void check_context_device(const real_devices *r, const char *selector, size_t want)
{
    weft_context_options o = test_options(NULL);
    o.device = selector;
    weft_context *ctx = NULL;
    weft_status st = weft_context_create(&o, &ctx);
    if (st != WEFT_OK)
        fail_msg("selector '%s': weft_context_create: %s: %s", selector ? selector : "(null)",
                 weft_status_name(st), weft_last_error());
    size_t n = 0;
    weft_device_info info;
    assert_weft_ok(weft_context_device_count(ctx, &n));
    assert_int_equal(n, 1);
    assert_weft_ok(weft_context_device_info(ctx, 0, &info));
    weft_context_release(ctx);
    assert_same_device(&info, &r->infos[want], selector);
}

static void test_enumeration(void **state)
{
    const real_devices *r = *state;
    assert_true(r->count > 0);
    for (size_t i = 0; i < r->count; i++) {
        const weft_device_info *d = &r->infos[i];
        assert_int_equal(d->global_index, i);
        /* Platform then device order, devices numbered from 0 within a
         * platform. */
        if (i > 0) {
            const weft_device_info *p = &r->infos[i - 1];
            if (d->platform_index == p->platform_index)
                assert_int_equal(d->device_index, p->device_index + 1);
            else
                assert_true(d->platform_index > p->platform_index && d->device_index == 0);
        } else {
            assert_int_equal(d->device_index, 0);
        }
    }
    size_t again = 0;
    assert_weft_ok(weft_device_count(&again));
    assert_int_equal(again, r->count);
}

/* Every selector form gives the device enumeration says it should. */
static void test_context_selectors(void **state)
{
    const real_devices *r = *state;
    const weft_device_info *first = &r->infos[0];

    check_context_device(r, "0", 0);
    char pd[32];
    snprintf(pd, sizeof pd, "%u:%u", first->platform_index, first->device_index);
    check_context_device(r, pd, 0);

    /* Keyword forms: the table rules are tested above, so the pure
     * function is the oracle here. */
    static const char *const keywords[] = {"cpu", "gpu", "accel", "auto", NULL};
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++) {
        size_t want;
        if (weft_device_select(r->infos, r->count, keywords[k], &want) == WEFT_OK) {
            check_context_device(r, keywords[k], want);
        } else {
            /* No device of that type here (e.g. "gpu" on PoCL). */
            weft_context_options o = test_options(NULL);
            o.device = keywords[k];
            weft_context *ctx = (weft_context *)&o;
            assert_weft_status(weft_context_create(&o, &ctx), WEFT_ERR_NO_DEVICE, first->name);
            assert_null(ctx);
        }
    }

    /* A piece from the middle of the real name, starting at a letter so it
     * cannot be read as an index, and the whole name with every letter's
     * case flipped. The first device (in index order) with that name wins. */
    size_t len = strlen(first->name);
    assert_true(len > 0);
    size_t start = len / 3;
    while (start < len && !isalpha((unsigned char)first->name[start]))
        start++;
    if (start == len) /* no letter after the first third */
        start = 0;
    while (start < len && !isalpha((unsigned char)first->name[start]))
        start++;
    if (start == len)
        fail_msg("device name '%s' has no letter to select it by", first->name);
    char part[16];
    snprintf(part, sizeof part, "%.*s", (int)(len - start < 8 ? len - start : 8),
             first->name + start);
    check_context_device(r, part, 0);

    char flipped[sizeof first->name];
    for (size_t i = 0; i <= len; i++) {
        unsigned char ch = (unsigned char)first->name[i];
        flipped[i] = (char)(islower(ch) ? toupper(ch) : tolower(ch));
    }
    if (strcmp(flipped, first->name) == 0)
        print_message("device name '%s' has no letters: case flip not exercised\n", first->name);
    check_context_device(r, flipped, 0);
}

static void test_context_bad_selectors(void **state)
{
    const real_devices *r = *state;
    static const struct {
        const char *selector;
        weft_status status;
    } cases[] = {
        {.selector = "no-such-device-anywhere", .status = WEFT_ERR_NO_DEVICE},
        {.selector = "1:x", .status = WEFT_ERR_INVALID_ARGUMENT},
        {.selector = "4096:4096", .status = WEFT_ERR_NO_DEVICE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        weft_context_options o = test_options(NULL);
        o.device = cases[i].selector;
        weft_context *ctx = (weft_context *)&o;
        assert_weft_status(weft_context_create(&o, &ctx), cases[i].status, cases[i].selector);
        assert_null(ctx);
        if (cases[i].status == WEFT_ERR_NO_DEVICE)
            for (size_t d = 0; d < r->count; d++)
                assert_non_null(strstr(weft_last_error(), r->infos[d].name));
    }
}

/* The context reports what the device really is. */
static void test_context_info_sane(void **state)
{
    const real_devices *r = *state;
    for (size_t i = 0; i < r->count; i++) {
        char index[32];
        snprintf(index, sizeof index, "%zu", i);
        weft_context_options o = test_options(NULL);
        o.device = index;
        weft_context *ctx = NULL;
        assert_weft_ok(weft_context_create(&o, &ctx));
        weft_device_info d;
        assert_weft_ok(weft_context_device_info(ctx, 0, &d));
        weft_context_release(ctx);

        assert_true(d.name[0] != '\0' && strcmp(d.name, "?") != 0);
        assert_true(d.platform_name[0] != '\0' && strcmp(d.platform_name, "?") != 0);
        assert_int_equal(strncmp(d.opencl_version, "OpenCL ", 7), 0);
        assert_true(d.compute_units > 0);
        assert_true(d.max_work_group_size > 0);
        assert_true(d.global_mem_bytes > 0);
        assert_true(d.local_mem_bytes > 0);
        assert_true(d.max_alloc_bytes > 0 && d.max_alloc_bytes <= d.global_mem_bytes);
        assert_true(d.type >= WEFT_DEVICE_GPU && d.type <= WEFT_DEVICE_OTHER);
        /* PoCL's host devices (pthread, basic, cpu) are CPUs. */
        if (strstr(d.platform_name, "Portable Computing Language") &&
            (strncmp(d.name, "pthread", 7) == 0 || strncmp(d.name, "basic", 5) == 0 ||
             strncmp(d.name, "cpu", 3) == 0))
            assert_int_equal(d.type, WEFT_DEVICE_CPU);
        assert_same_device(&d, &r->infos[i], index);
    }
}

/* WEFT_DEVICE is read when options.device is NULL, and only then. main()
 * unsets it; this test sets it and its teardown unsets it again, also
 * after a failure. */
static int env_teardown(void **state)
{
    (void)state;
    unsetenv("WEFT_DEVICE");
    return 0;
}

static void test_weft_device_env(void **state)
{
    const real_devices *r = *state;
    weft_context_options o = test_options(NULL);
    weft_context *ctx = NULL;

    /* A selector that matches nothing proves the variable is read. */
    assert_int_equal(setenv("WEFT_DEVICE", "weft-test-no-such-device", 1), 0);
    o.device = NULL;
    assert_weft_status(weft_context_create(&o, &ctx), WEFT_ERR_NO_DEVICE,
                       "weft-test-no-such-device");
    assert_null(ctx);
    assert_weft_status(weft_context_create(NULL, &ctx), WEFT_ERR_NO_DEVICE,
                       "weft-test-no-such-device");
    assert_null(ctx);

    /* options.device wins over it, "" (auto) included. */
    check_context_device(r, "0", 0);
    o.device = "";
    assert_weft_ok(weft_context_create(&o, &ctx));
    weft_context_release(ctx);
    ctx = NULL;

    /* A valid value is used: the last device, so with two devices it is
     * not what "auto" would give. */
    char last[32];
    snprintf(last, sizeof last, "%zu", r->count - 1);
    assert_int_equal(setenv("WEFT_DEVICE", last, 1), 0);
    o.device = NULL;
    assert_weft_ok(weft_context_create(&o, &ctx));
    weft_device_info info;
    assert_weft_ok(weft_context_device_info(ctx, 0, &info));
    weft_context_release(ctx);
    assert_same_device(&info, &r->infos[r->count - 1], "WEFT_DEVICE");
    if (r->count > 1)
        check_context_device(r, "0", 0); /* explicit "0" still overrides */
}

/* ---- (c) Two devices ---------------------------------------------------------- */

static void test_second_device(void **state)
{
    const real_devices *r = *state;
    /* The second device of platform 0, as POCL_DEVICES="pthread pthread"
     * gives; the CMake registration with that variable sets
     * WEFT_TEST_MIN_DEVICES=2 so this cannot be skipped silently there. */
    size_t second = r->count;
    for (size_t i = 0; i < r->count; i++)
        if (r->infos[i].platform_index == 0 && r->infos[i].device_index == 1)
            second = i;
    const char *min = getenv("WEFT_TEST_MIN_DEVICES");
    if (r->count < 2 || second != 1) {
        if (min && strtoul(min, NULL, 10) >= 2)
            fail_msg("WEFT_TEST_MIN_DEVICES=%s but there are %zu device(s) and platform 0 has "
                     "%s second device; is POCL_DEVICES=\"pthread pthread\" honoured?",
                     min, r->count, second == r->count ? "no" : "a misplaced");
        printf("skipped: needs a second device on platform 0 (found %zu device(s)); run with "
               "POCL_DEVICES=\"pthread pthread\"\n",
               r->count);
        skip();
    }
    check_context_device(r, "1", 1);
    check_context_device(r, "0:1", 1);
    check_context_device(r, "0", 0);
    check_context_device(r, "0:0", 0);
}

/* ---- (d) No device ---------------------------------------------------------------- */

static void test_no_device(void **state)
{
    (void)state;
    size_t count = 0;
    assert_weft_status(weft_device_count(&count), WEFT_ERR_NO_DEVICE, "pocl");
    assert_non_null(strstr(weft_last_error(), "OpenCL driver"));

    weft_device_info info;
    assert_weft_status(weft_device_get_info(0, &info), WEFT_ERR_NO_DEVICE, "pocl");

    static const char *const selectors[] = {NULL, "auto", "cpu", "0", "0:0"};
    for (size_t i = 0; i < sizeof selectors / sizeof selectors[0]; i++) {
        weft_context_options o = test_options(NULL);
        o.device = selectors[i];
        weft_context *ctx = (weft_context *)&o;
        assert_weft_status(weft_context_create(&o, &ctx), WEFT_ERR_NO_DEVICE, "pocl");
        assert_null(ctx);
    }
    weft_context *ctx = (weft_context *)&info;
    assert_weft_status(weft_context_create(NULL, &ctx), WEFT_ERR_NO_DEVICE, "pocl");
    assert_null(ctx);
}

int main(void)
{
    const struct CMUnitTest selection[] = {
        cmocka_unit_test(test_select_tables),
        cmocka_unit_test(test_select_empty_table),
    };
    const struct CMUnitTest real[] = {
        cmocka_unit_test(test_enumeration),
        cmocka_unit_test(test_context_selectors),
        cmocka_unit_test(test_context_bad_selectors),
        cmocka_unit_test(test_context_info_sane),
        cmocka_unit_test_teardown(test_weft_device_env, env_teardown),
        cmocka_unit_test(test_second_device),
    };
    const struct CMUnitTest none[] = {
        cmocka_unit_test(test_no_device),
    };
    /* Selectors are given explicitly below; a WEFT_DEVICE from the caller's
     * shell would change what NULL and "auto" choose. */
    unsetenv("WEFT_DEVICE");
    int failed = cmocka_run_group_tests_name("device_select", selection, NULL, NULL);
    /* One binary, two worlds: the registration says which one it is in. */
    if (env_flag("WEFT_TEST_EXPECT_NO_DEVICE"))
        failed += cmocka_run_group_tests_name("no_device", none, NULL, NULL);
    else
        failed += cmocka_run_group_tests_name("real_devices", real, real_setup, real_teardown);
    return failed;
}
