/*
 * The .npy reader and writer of `weft run` (src/cli/npy.c). The header
 * comes from a user's file, so every malformed form must be refused with
 * the field named, never read past the buffer or size an allocation.
 * tests/data/cli/x.npy was written by numpy.save (gen_cli_models.py), an
 * independent writer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/npy.h"
#include "core/util.h"
#include "test_common.h"

/* A .npy image: preamble of version `major`, the header text padded with
 * spaces and '\n' as numpy does, then data_bytes bytes of 0x11. */
static unsigned char *make_npy(int major, const char *header, size_t data_bytes, size_t *size)
{
    size_t pre = major == 1 ? 10 : 12, n = strlen(header);
    size_t total = (pre + n + 1 + 63) / 64 * 64;
    unsigned char *b = malloc(total + data_bytes + 1);
    assert_non_null(b);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = 0;
    size_t len = total - pre;
    b[8] = (unsigned char)(len & 0xff);
    b[9] = (unsigned char)(len >> 8);
    if (major != 1)
        b[10] = b[11] = 0;
    memcpy(b + pre, header, n);
    memset(b + pre + n, ' ', len - n - 1);
    b[total - 1] = '\n';
    memset(b + total, 0x11, data_bytes);
    *size = total + data_bytes;
    return b;
}

static void expect_ok(int major, const char *header, size_t data_bytes, weft_dtype dtype, int rank,
                      const int64_t *dims)
{
    size_t size;
    unsigned char *b = make_npy(major, header, data_bytes, &size);
    weft_npy npy;
    weft_status st = weft_npy_parse(b, size, "t.npy", &npy);
    if (st != WEFT_OK)
        fail_msg("header %s: %s: %s", header, weft_status_name(st), weft_last_error());
    assert_int_equal(npy.dtype, dtype);
    assert_int_equal(npy.rank, rank);
    for (int d = 0; d < rank; d++)
        assert_int_equal(npy.dims[d], dims[d]);
    assert_int_equal(npy.data_bytes, data_bytes);
    assert_int_equal(npy.data_offset, size - data_bytes);
    assert_int_equal(npy.data_offset % 64, 0);
    free(b);
}

static void expect_bad(int major, const char *header, size_t data_bytes, const char *part)
{
    size_t size;
    unsigned char *b = make_npy(major, header, data_bytes, &size);
    weft_npy npy;
    weft_status st = weft_npy_parse(b, size, "t.npy", &npy);
    if (st != WEFT_ERR_INVALID_ARGUMENT)
        fail_msg("header %s: %s, expected WEFT_ERR_INVALID_ARGUMENT", header,
                 weft_status_name(st));
    if (!strstr(weft_last_error(), part) || !strstr(weft_last_error(), "t.npy"))
        fail_msg("header %s: message lacks '%s' or the file name: %s", header, part,
                 weft_last_error());
    free(b);
}

static void test_valid_headers(void **state)
{
    (void)state;
    const int64_t d4[] = {1, 3, 8, 8}, d1[] = {5}, d2[] = {2, 3}, d0[] = {0, 4};
    expect_ok(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 8, 8), }", 768,
              WEFT_FLOAT32, 4, d4);
    expect_ok(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", 20, WEFT_FLOAT32, 1,
              d1);
    /* Rank 0, int64, keys in another order, no trailing comma, double quotes. */
    expect_ok(1, "{'shape': (), 'fortran_order': False, 'descr': '<i8'}", 8, WEFT_INT64, 0, NULL);
    expect_ok(1, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,3)}", 24,
              WEFT_FLOAT32, 2, d2);
    /* Version 2.0 and 3.0 have a 4-byte header length. */
    expect_ok(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24, WEFT_FLOAT32,
              2, d2);
    expect_ok(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", 20, WEFT_FLOAT32, 1,
              d1);
    /* Fortran order is C order when at most one dimension exceeds 1. */
    expect_ok(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (5,), }", 20, WEFT_FLOAT32, 1,
              d1);
    /* An empty array. */
    expect_ok(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", 0, WEFT_FLOAT32,
              2, d0);
}

static void test_malformed_headers(void **state)
{
    (void)state;
    const char *f = "'fortran_order': False";
    char h[256];
    expect_bad(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (5,), }", 20, "'>f4'");
    expect_bad(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }", 40, "'<f8'");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24,
               "Fortran order");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (5,), }", 20,
               "fortran_order");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False}", 4, "no 'shape'");
    expect_bad(1, "{'fortran_order': False, 'shape': (1,)}", 4, "no 'descr'");
    expect_bad(1, "{'descr': '<f4', 'shape': (1,)}", 4, "no 'fortran_order'");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4,
               "unknown key 'x'");
    expect_bad(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4,
               "twice");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 2), }", 8,
               "non-negative integers");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,), }", 8, "shape");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': [1, 2], }", 8,
               "not a tuple");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, }", 8, "shape");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4,
               "more than 8 dimensions");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
               4, "too large");
    /* Dims that fit int64 alone but whose product (or its byte size) overflows. */
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
               4, "too large");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2305843009213693952), }",
               4, "too large");
    expect_bad(1, "{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", 4, "no ',' or '}'");
    expect_bad(1, "{'descr' '<f4', 'fortran_order': False, 'shape': (1,)}", 4, "no ':'");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk", 4,
               "text after the dict");
    expect_bad(1, "['descr', '<f4']", 4, "not a dict");
    expect_bad(1, "{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", 4, "no ',' or '}'");
    expect_bad(1, "{'descr': 'a very long dtype string', 'fortran_order': False, 'shape': (1,)}",
               4, "too long");
    expect_bad(1, "{'descr': '<f\\4', 'fortran_order': False, 'shape': (1,)}", 4, "escapes");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", 4, "no ',' or '}'");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (", 4, "shape");
    /* Data one element short, and one byte too many. */
    snprintf(h, sizeof h, "{'descr': '<f4', %s, 'shape': (2, 3), }", f);
    expect_bad(1, h, 20, "needs 24");
    expect_bad(1, h, 25, "needs 24");
}

static void test_malformed_preamble(void **state)
{
    (void)state;
    size_t size;
    weft_npy npy;
    unsigned char *b = make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4,
                                &size);
    /* Every truncation of a valid file is refused. */
    for (size_t cut = 0; cut < size; cut++)
        assert_int_equal(weft_npy_parse(b, cut, "t.npy", &npy), WEFT_ERR_INVALID_ARGUMENT);
    assert_weft_ok(weft_npy_parse(b, size, "t.npy", &npy));
    /* A header length past the end of the file. */
    unsigned char len0 = b[8], len1 = b[9];
    b[8] = 0xff;
    b[9] = 0x7f;
    assert_weft_status(weft_npy_parse(b, size, "t.npy", &npy), WEFT_ERR_INVALID_ARGUMENT,
                       "runs past the end");
    b[8] = len0;
    b[9] = len1;
    /* Unknown versions and a wrong magic. */
    b[6] = 4;
    assert_weft_status(weft_npy_parse(b, size, "t.npy", &npy), WEFT_ERR_INVALID_ARGUMENT,
                       "version 4.0");
    b[6] = 1;
    b[1] = 'n';
    assert_weft_status(weft_npy_parse(b, size, "t.npy", &npy), WEFT_ERR_INVALID_ARGUMENT,
                       "not a .npy file");
    assert_false(weft_npy_is_npy(b, size));
    assert_weft_status(weft_npy_parse(NULL, 0, NULL, &npy), WEFT_ERR_INVALID_ARGUMENT,
                       "not a .npy file");
    free(b);
    /* A 4-byte length (version 2) beyond the file. */
    b = make_npy(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4, &size);
    b[11] = 0x10;
    assert_weft_status(weft_npy_parse(b, size, "t.npy", &npy), WEFT_ERR_INVALID_ARGUMENT,
                       "runs past the end");
    free(b);
}

static void test_round_trip(void **state)
{
    (void)state;
    char *dir = test_tmpdir("npy");
    char *path = weft_path_join(dir, "a.npy");
    const int64_t dims[3] = {2, 3, 5};
    float x[30];
    for (int i = 0; i < 30; i++)
        x[i] = (float)i * 0.5f - 3.0f;
    assert_weft_ok(weft_npy_write(path, WEFT_FLOAT32, 3, dims, x));
    char *bytes;
    size_t size;
    weft_npy npy;
    assert_weft_ok(weft_file_read(path, 1 << 20, &bytes, &size));
    assert_weft_ok(weft_npy_parse(bytes, size, path, &npy));
    assert_int_equal(npy.rank, 3);
    assert_int_equal(npy.dims[2], 5);
    assert_int_equal(npy.data_offset % 64, 0);
    assert_memory_equal(bytes + npy.data_offset, x, sizeof x);
    free(bytes);
    /* int64, rank 0 and rank 1 (numpy's "(N,)" form). */
    const int64_t v[4] = {-1, 0, 1, INT64_MAX}, n4 = 4;
    assert_weft_ok(weft_npy_write(path, WEFT_INT64, 1, &n4, v));
    assert_weft_ok(weft_file_read(path, 1 << 20, &bytes, &size));
    assert_non_null(strstr(bytes + 10, "'shape': (4,)"));
    assert_weft_ok(weft_npy_parse(bytes, size, path, &npy));
    assert_int_equal(npy.dtype, WEFT_INT64);
    assert_memory_equal(bytes + npy.data_offset, v, sizeof v);
    free(bytes);
    assert_weft_ok(weft_npy_write(path, WEFT_FLOAT32, 0, NULL, x));
    assert_weft_ok(weft_file_read(path, 1 << 20, &bytes, &size));
    assert_weft_ok(weft_npy_parse(bytes, size, path, &npy));
    assert_int_equal(npy.rank, 0);
    assert_int_equal(npy.data_bytes, 4);
    free(bytes);
    /* A folder that does not exist. */
    char *missing = weft_path_join(dir, "no/such/dir/a.npy");
    assert_int_equal(weft_npy_write(missing, WEFT_FLOAT32, 3, dims, x), WEFT_ERR_IO);
    free(missing);
    free(path);
    test_rmtree(dir);
    free(dir);
}

/* A file numpy.save wrote. */
static void test_numpy_file(void **state)
{
    (void)state;
    const char *data = getenv("WEFT_TEST_DATA_DIR");
    if (!data)
        fail_msg("WEFT_TEST_DATA_DIR is not set (ctest sets it to tests/data)");
    char *path = weft_path_join(data, "cli/x.npy");
    char *bytes;
    size_t size;
    weft_npy npy;
    assert_weft_ok(weft_file_read(path, 1 << 20, &bytes, &size));
    assert_weft_ok(weft_npy_parse(bytes, size, path, &npy));
    assert_int_equal(npy.dtype, WEFT_FLOAT32);
    assert_int_equal(npy.rank, 4);
    const int64_t want[4] = {1, 6, 4, 4};
    for (int d = 0; d < 4; d++)
        assert_int_equal(npy.dims[d], want[d]);
    /* gen_cli_models.py draws the elements from [-1, 1). */
    const float *x = (const float *)(const void *)(bytes + npy.data_offset);
    for (int i = 0; i < 96; i++)
        assert_true(x[i] >= -1.0f && x[i] < 1.0f);
    free(bytes);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_headers),
        cmocka_unit_test(test_malformed_headers),
        cmocka_unit_test(test_malformed_preamble),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_numpy_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
