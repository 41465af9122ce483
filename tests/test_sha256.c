/*
 * weft_sha256_* (src/core/sha256.h): the program cache keys its binaries
 * with it, so a wrong digest means stale or mixed-up programs.
 *
 * Vectors:
 *  - "abc", the 448-bit "abcdbcdecdef...nopq" message and one million 'a':
 *    FIPS 180-2, Appendix B.1, B.2 and B.3 (the same messages and digests
 *    are in NIST's "Examples with Intermediate Values" for FIPS 180-4,
 *    https://csrc.nist.gov/projects/cryptographic-standards-and-guidelines/example-values).
 *  - the empty message: NIST CAVP SHAVS, SHA256ShortMsg.rsp, "Len = 0".
 *  - runs of 'a' around the 55/56/64-byte padding boundaries and the
 *    131-byte message below: computed with Python's hashlib.sha256
 *    (OpenSSL), an independent implementation.
 */
#include <stdlib.h>
#include <string.h>

#include "core/sha256.h"
#include "test_common.h"

static void hex_of(const void *data, size_t size, char hex[65])
{
    uint8_t digest[32];
    weft_sha256_digest(data, size, digest);
    weft_sha256_hex(digest, hex);
}

static void hex_of_state(weft_sha256 *h, char hex[65])
{
    uint8_t digest[32];
    weft_sha256_final(h, digest);
    weft_sha256_hex(digest, hex);
}

typedef struct vector {
    const char *message;
    const char *digest;
} vector;

static void test_fips_vectors(void **state)
{
    (void)state;
    static const vector vectors[] = {
        {.message = "abc",
         .digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {.message = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         .digest = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {.message = "",
         .digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    };
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        char hex[65];
        hex_of(vectors[i].message, strlen(vectors[i].message), hex);
        assert_string_equal(hex, vectors[i].digest);

        /* The same through init/update/final, one byte at a time. */
        weft_sha256 h;
        weft_sha256_init(&h);
        for (const char *p = vectors[i].message; *p; p++)
            weft_sha256_update(&h, p, 1);
        hex_of_state(&h, hex);
        assert_string_equal(hex, vectors[i].digest);
    }
}

static void test_million_a(void **state)
{
    (void)state;
    static const char want[] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    const size_t n = 1000000;
    char *a = malloc(n);
    assert_non_null(a);
    memset(a, 'a', n);
    char hex[65];
    hex_of(a, n, hex);
    assert_string_equal(hex, want);

    /* In uneven chunks (997 is prime, so the 64-byte blocks never line up). */
    weft_sha256 h;
    weft_sha256_init(&h);
    for (size_t off = 0; off < n; off += 997)
        weft_sha256_update(&h, a + off, n - off < 997 ? n - off : 997);
    hex_of_state(&h, hex);
    assert_string_equal(hex, want);
    free(a);
}

/* Lengths where the padding (0x80, zeros, 64-bit length) fits in the last
 * block or spills into a new one. */
static void test_padding_boundaries(void **state)
{
    (void)state;
    static const struct {
        size_t length;
        const char *digest;
    } cases[] = {
        {.length = 55,
         .digest = "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {.length = 56,
         .digest = "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {.length = 63,
         .digest = "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {.length = 64,
         .digest = "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {.length = 65,
         .digest = "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
        {.length = 119,
         .digest = "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
        {.length = 120,
         .digest = "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
    };
    char a[128];
    memset(a, 'a', sizeof a);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char hex[65];
        hex_of(a, cases[i].length, hex);
        if (strcmp(hex, cases[i].digest) != 0)
            fail_msg("%zu x 'a': got %s, expected %s", cases[i].length, hex, cases[i].digest);
    }
}

/* A 131-byte message (two full blocks and a partial one, with zero and
 * high bytes) split in two at every offset 0..131 gives the one-shot digest. */
static void test_incremental_splits(void **state)
{
    (void)state;
    static const char want[] = "4c14830d5f17552093a46de0f6884f8f3010789462dab3db3d1cc679575e01ad";
    uint8_t msg[131];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 7 + 3);
    char one_shot[65];
    hex_of(msg, sizeof msg, one_shot);
    assert_string_equal(one_shot, want);

    for (size_t split = 0; split <= sizeof msg; split++) {
        weft_sha256 h;
        weft_sha256_init(&h);
        weft_sha256_update(&h, msg, split);
        weft_sha256_update(&h, msg + split, sizeof msg - split);
        char hex[65];
        hex_of_state(&h, hex);
        if (strcmp(hex, one_shot) != 0)
            fail_msg("split at %zu: got %s, expected %s", split, hex, one_shot);

        /* Three pieces with an empty update between them. */
        weft_sha256_init(&h);
        weft_sha256_update(&h, msg, split / 2);
        weft_sha256_update(&h, msg, 0);
        weft_sha256_update(&h, msg + split / 2, split - split / 2);
        weft_sha256_update(&h, msg + split, sizeof msg - split);
        hex_of_state(&h, hex);
        if (strcmp(hex, one_shot) != 0)
            fail_msg("three-way split at %zu/%zu: got %s", split / 2, split, hex);
    }
}

static void fields_hex(const char *a, const char *b, char hex[65])
{
    weft_sha256 h;
    weft_sha256_init(&h);
    weft_sha256_update_field(&h, a);
    weft_sha256_update_field(&h, b);
    hex_of_state(&h, hex);
}

/* Cache keys are sequences of fields; their boundaries must count. */
static void test_update_field(void **state)
{
    (void)state;
    char ab_c[65], a_bc[65], again[65], abc_empty[65], empty_abc[65];
    fields_hex("ab", "c", ab_c);
    fields_hex("a", "bc", a_bc);
    fields_hex("ab", "c", again);
    fields_hex("abc", "", abc_empty);
    fields_hex("", "abc", empty_abc);
    assert_string_not_equal(ab_c, a_bc);
    assert_string_equal(ab_c, again);
    assert_string_not_equal(abc_empty, empty_abc);
    assert_string_not_equal(abc_empty, ab_c);

    /* A field is not the plain bytes of the string. */
    char plain[65];
    hex_of("abc", 3, plain);
    weft_sha256 h;
    weft_sha256_init(&h);
    weft_sha256_update_field(&h, "abc");
    char field[65];
    hex_of_state(&h, field);
    assert_string_not_equal(field, plain);
}

static void test_hex_format(void **state)
{
    (void)state;
    uint8_t digest[32];
    for (int i = 0; i < 32; i++)
        digest[i] = (uint8_t)(i * 8 + 7); /* 0x07, 0x0f, ... 0xff */
    char hex[65];
    memset(hex, 'X', sizeof hex);
    weft_sha256_hex(digest, hex);
    assert_int_equal(hex[64], '\0');
    assert_string_equal(hex, "070f171f272f373f474f575f676f777f878f979fa7afb7bfc7cfd7dfe7eff7ff");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_vectors),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_padding_boundaries),
        cmocka_unit_test(test_incremental_splits),
        cmocka_unit_test(test_update_field),
        cmocka_unit_test(test_hex_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
