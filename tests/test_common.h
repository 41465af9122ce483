/*
 * Shared by the cmocka tests: cmocka's headers in the order it needs,
 * a scratch folder per test, and helpers to run weft calls that must
 * succeed with their message shown when they do not.
 */
#ifndef WEFT_TEST_COMMON_H
#define WEFT_TEST_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "weft.h"

/* Fails the test with weft's message unless the call returned WEFT_OK. */
#define assert_weft_ok(call)                                                         \
    do {                                                                             \
        weft_status s_ = (call);                                                     \
        if (s_ != WEFT_OK)                                                           \
            fail_msg("%s returned %s: %s", #call, weft_status_name(s_), weft_last_error()); \
    } while (0)

/* Asserts a status and that the message contains `part` (case-sensitive). */
#define assert_weft_status(call, status, part)                                       \
    do {                                                                             \
        weft_status s_ = (call);                                                     \
        if (s_ != (status))                                                          \
            fail_msg("%s returned %s, expected %s: %s", #call, weft_status_name(s_),  \
                     weft_status_name(status), weft_last_error());                   \
        if ((part) && !strstr(weft_last_error(), (part)))                            \
            fail_msg("%s: message lacks '%s': %s", #call, (const char *)(part),      \
                     weft_last_error());                                             \
    } while (0)

/* Adds float32 constant `name` of these dims to g, uniform in [lo, hi)
 * drawn from *seed (which advances). */
void test_add_random_constant(weft_graph *g, const char *name, int rank, const int64_t *dims,
                              uint64_t *seed, float lo, float hi);

/* A fresh, empty folder under WEFT_TEST_TMP (or /tmp), unique per call;
 * malloc'd path. */
char *test_tmpdir(const char *label);
/* rm -rf, for scratch folders. */
void test_rmtree(const char *path);
/* True when running under oclgrind (WEFT_UNDER_OCLGRIND set by ctest). */
int test_under_oclgrind(void);
/* Context options for tests: default device, disk cache in `cache_dir`
 * (NULL: cache off). */
weft_context_options test_options(const char *cache_dir);

#endif
