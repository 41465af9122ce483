/*
 * The program cache (src/runtime/program.c, disk_cache.c): memory and disk
 * hits, a second process served from disk, damaged and refused entries
 * rebuilt, unwritable and disabled caches, binary-only mode, build errors
 * and WEFT_CL_DIR, the default cache folder, and one context shared by
 * threads. Every test works in fresh folders from test_tmpdir() and checks
 * the weft_context_cache_stats counters exactly.
 *
 * Run with `--child-cache DIR DEVICE` the binary is the second process of
 * test_second_process instead of the test suite.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"
#include "runtime/context.h"
#include "runtime/disk_cache.h"
#include "runtime/program.h"
#include "runtime/sources.h"
#include "test_common.h"

extern char **environ;

/* The entry layout of disk_cache.c: magic, format, key, size, sha256. */
enum {
    OFF_MAGIC = 0,
    OFF_FORMAT = 8,
    OFF_KEY = 12,
    OFF_SIZE = 44,
    OFF_DIGEST = 52,
    HEADER_SIZE = 84
};

#define PROGRAM "selfcheck"
#define MAX_TEST_FILE ((size_t)64 << 20)

/* This executable, re-run by test_second_process. */
static char self_path[4096];

/* Named in stats failures, so a table-driven test says which row failed. */
static const char *current_case = "";

/* ---- Helpers ------------------------------------------------------------ */

static void check_stats(weft_context *ctx, uint64_t memory_hits, uint64_t disk_hits,
                        uint64_t builds, uint64_t saves, uint64_t rejected, int line)
{
    /* Saves are deferred (test_deferred_* check that): count them all. */
    assert_weft_ok(weft_context_flush_cache(ctx));
    weft_cache_stats s;
    assert_weft_ok(weft_context_cache_stats(ctx, &s));
    if (s.memory_hits != memory_hits || s.disk_hits != disk_hits || s.builds != builds ||
        s.saves != saves || s.rejected != rejected)
        fail_msg("line %d%s%s: cache stats memory_hits=%llu disk_hits=%llu builds=%llu "
                 "saves=%llu rejected=%llu, expected %llu %llu %llu %llu %llu",
                 line, *current_case ? ", case " : "", current_case,
                 (unsigned long long)s.memory_hits, (unsigned long long)s.disk_hits,
                 (unsigned long long)s.builds, (unsigned long long)s.saves,
                 (unsigned long long)s.rejected, (unsigned long long)memory_hits,
                 (unsigned long long)disk_hits, (unsigned long long)builds,
                 (unsigned long long)saves, (unsigned long long)rejected);
}

/* assert_stats(ctx, memory_hits, disk_hits, builds, saves, rejected) */
#define assert_stats(ctx, m, d, b, s, r) check_stats((ctx), (m), (d), (b), (s), (r), __LINE__)

static weft_context *open_with(const weft_context_options *o)
{
    weft_context *ctx = NULL;
    assert_weft_ok(weft_context_create(o, &ctx));
    assert_non_null(ctx);
    return ctx;
}

/* A context whose disk cache is `cache_dir` (NULL: cache off). */
static weft_context *open_ctx(const char *cache_dir)
{
    weft_context_options o = test_options(cache_dir);
    return open_with(&o);
}

/* True when `program` is a built program with selfcheck's kernels; no
 * cmocka asserts, so the threads may call it. */
static int program_usable(cl_program program, const char *kernel_name)
{
    if (!program)
        return 0;
    cl_int err;
    cl_kernel kernel = clCreateKernel(program, kernel_name, &err);
    if (!kernel || err != CL_SUCCESS)
        return 0;
    clReleaseKernel(kernel);
    return 1;
}

static cl_program get_program(weft_context *ctx, const char *options)
{
    cl_program program = NULL;
    assert_weft_ok(weft_program_get(ctx, 0, PROGRAM, options, &program));
    assert_true(program_usable(program, "fill_f32"));
    return program;
}

/* Entries of `dir` whose name ends with `suffix` (NULL: every entry); 0
 * when the folder does not exist. */
static size_t count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d) {
        assert_int_equal(errno, ENOENT);
        return 0;
    }
    size_t n = 0, ns = suffix ? strlen(suffix) : 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        size_t len = strlen(e->d_name);
        if (!suffix || (len >= ns && strcmp(e->d_name + len - ns, suffix) == 0))
            n++;
    }
    closedir(d);
    return n;
}

/* The path of the one entry in `dir` (malloc'd); fails unless the folder
 * holds exactly one file and it is a .bin. */
static char *only_entry(const char *dir)
{
    assert_int_equal(count_files(dir, NULL), 1);
    assert_int_equal(count_files(dir, ".bin"), 1);
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *path = NULL;
    struct dirent *e;
    while (!path && (e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".bin"))
            path = weft_path_join(dir, e->d_name);
    closedir(d);
    assert_non_null(path);
    return path;
}

static unsigned char *read_bytes(const char *path, size_t *size)
{
    char *data = NULL;
    assert_weft_ok(weft_file_read(path, MAX_TEST_FILE, &data, size));
    return (unsigned char *)data;
}

/* Replaces the file's contents in place, as a damaged disk would. */
static void write_bytes(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (size)
        assert_int_equal(fwrite(data, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
}

static char *join(const char *a, const char *b)
{
    char *path = weft_path_join(a, b);
    assert_non_null(path);
    return path;
}

/* Fills `dir` with the entry for (selfcheck, options): one build, one save. */
static void warm(const char *dir, const char *options)
{
    weft_context *ctx = open_ctx(dir);
    get_program(ctx, options);
    assert_stats(ctx, 0, 0, 1, 1, 0);
    weft_context_release(ctx);
}

/* A fresh context on `dir` loads (selfcheck, options) from disk. */
static void expect_disk_hit(const char *dir, const char *options)
{
    weft_context *ctx = open_ctx(dir);
    get_program(ctx, options);
    assert_stats(ctx, 0, 1, 0, 0, 0);
    weft_context_release(ctx);
}

/* A fresh context on `dir` rejects the entry, rebuilds and saves it; the
 * new entry then serves the next context. */
static void expect_rebuild(const char *dir, const char *options)
{
    weft_context *ctx = open_ctx(dir);
    get_program(ctx, options);
    assert_stats(ctx, 0, 0, 1, 1, 1);
    weft_context_release(ctx);
    assert_int_equal(count_files(dir, NULL), 1); /* replaced, no temp file left */
    expect_disk_hit(dir, options);
}

/* A malloc'd copy of the embedded selfcheck.cl, whatever WEFT_CL_DIR says. */
static char *embedded_selfcheck(size_t *size)
{
    for (size_t i = 0; i < weft_cl_source_count; i++)
        if (strcmp(weft_cl_sources[i].name, PROGRAM) == 0) {
            char *text = malloc(weft_cl_sources[i].size + 1);
            assert_non_null(text);
            memcpy(text, weft_cl_sources[i].text, weft_cl_sources[i].size);
            text[weft_cl_sources[i].size] = '\0';
            *size = weft_cl_sources[i].size;
            return text;
        }
    fail_msg("no embedded %s.cl", PROGRAM);
    return NULL;
}

/* selfcheck.cl plus `extra`, malloc'd. */
static char *selfcheck_plus(const char *extra, size_t *size)
{
    size_t base = 0;
    char *text = embedded_selfcheck(&base);
    size_t n = strlen(extra);
    char *grown = realloc(text, base + n + 1);
    assert_non_null(grown);
    memcpy(grown + base, extra, n + 1);
    *size = base + n;
    return grown;
}

/* ---- Environment saved around the tests that change it ------------------- */

static const char *const saved_names[] = {"WEFT_CACHE", "WEFT_CACHE_DIR", "XDG_CACHE_HOME",
                                          "HOME", "WEFT_CL_DIR"};
#define SAVED_COUNT (sizeof saved_names / sizeof *saved_names)

/* Teardown restores these even when the test failed half-way. */
static int save_env(void **state)
{
    char **values = calloc(SAVED_COUNT, sizeof *values);
    if (!values)
        return -1;
    for (size_t i = 0; i < SAVED_COUNT; i++) {
        const char *v = getenv(saved_names[i]);
        values[i] = v ? weft_strdup(v) : NULL;
    }
    *state = values;
    return 0;
}

static int restore_env(void **state)
{
    char **values = *state;
    int rc = 0;
    for (size_t i = 0; i < SAVED_COUNT; i++) {
        if (values[i] ? setenv(saved_names[i], values[i], 1) : unsetenv(saved_names[i]))
            rc = -1;
        free(values[i]);
    }
    free(values);
    return rc;
}

/* ---- 1. Memory ------------------------------------------------------------ */

static void test_memory_hit(void **state)
{
    (void)state;
    char *dir = test_tmpdir("memory");
    weft_context *ctx = open_ctx(dir);
    cl_program first = get_program(ctx, "");
    assert_stats(ctx, 0, 0, 1, 1, 0);
    assert_int_equal(count_files(dir, ".bin"), 1);
    cl_program second = get_program(ctx, "");
    assert_ptr_equal(first, second); /* the same object, not a reload */
    assert_stats(ctx, 1, 0, 1, 1, 0);
    assert_int_equal(count_files(dir, NULL), 1);
    weft_context_release(ctx);
    test_rmtree(dir);
    free(dir);
}

/* ---- 2. A second process ---------------------------------------------------- */

/* Exit status of a child that sees another device than its parent. */
#define CHILD_OTHER_DEVICE 77

/* The child: exit 0 only when the warm cache in `dir` serves the program
 * without a build. */
static int child_main(const char *dir, const char *parent_device)
{
    weft_context_options o = test_options(dir);
    weft_context *ctx = NULL;
    weft_status st = weft_context_create(&o, &ctx);
    if (st != WEFT_OK) {
        fprintf(stderr, "child: weft_context_create: %s: %s\n", weft_status_name(st),
                weft_last_error());
        return 2;
    }
    /* The key hashes the device name, which PoCL derives from CPUID: under
     * valgrind the parent sees another CPU than a child run natively. */
    weft_device_info info;
    if (weft_context_device_info(ctx, 0, &info) != WEFT_OK) {
        fprintf(stderr, "child: weft_context_device_info: %s\n", weft_last_error());
        weft_context_release(ctx);
        return 2;
    }
    if (strcmp(info.name, parent_device) != 0) {
        fprintf(stderr, "child: device '%s', the parent's '%s'\n", info.name, parent_device);
        weft_context_release(ctx);
        return CHILD_OTHER_DEVICE;
    }
    int rc = 0;
    cl_program program = NULL;
    st = weft_program_get(ctx, 0, PROGRAM, "", &program);
    weft_cache_stats s = {0};
    weft_context_cache_stats(ctx, &s);
    if (st != WEFT_OK) {
        fprintf(stderr, "child: weft_program_get: %s: %s\n", weft_status_name(st),
                weft_last_error());
        rc = 2;
    } else if (!program_usable(program, "fill_f32")) {
        fprintf(stderr, "child: the program from the disk cache has no fill_f32 kernel\n");
        rc = 2;
    } else if (s.builds != 0 || s.disk_hits != 1 || s.memory_hits != 0 || s.saves != 0 ||
               s.rejected != 0) {
        fprintf(stderr,
                "child: expected one disk hit and nothing else, got memory_hits=%llu "
                "disk_hits=%llu builds=%llu saves=%llu rejected=%llu\n",
                (unsigned long long)s.memory_hits, (unsigned long long)s.disk_hits,
                (unsigned long long)s.builds, (unsigned long long)s.saves,
                (unsigned long long)s.rejected);
        rc = 1;
    }
    weft_context_release(ctx);
    return rc;
}

static void test_second_process(void **state)
{
    (void)state;
    char *dir = test_tmpdir("process");
    weft_context *ctx = open_ctx(dir);
    get_program(ctx, "");
    assert_stats(ctx, 0, 0, 1, 1, 0);
    weft_device_info info;
    assert_weft_ok(weft_context_device_info(ctx, 0, &info));
    weft_context_release(ctx); /* released before the child starts */
    /* posix_spawn, not fork: this process has OpenCL threads running. */
    char flag[] = "--child-cache";
    char *argv[] = {self_path, flag, dir, info.name, NULL};
    fflush(NULL);
    pid_t pid;
    int rc = posix_spawn(&pid, self_path, NULL, NULL, argv, environ);
    if (rc != 0)
        fail_msg("posix_spawn %s: %s", self_path, strerror(rc));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_OTHER_DEVICE) {
        test_rmtree(dir);
        free(dir);
        print_message("skipped: the child sees another device, so another cache key "
                      "(valgrind without --trace-children=yes?)\n");
        skip();
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the child %s (see its output above)",
                 WIFEXITED(status) ? "failed" : "died of a signal");
    assert_int_equal(count_files(dir, NULL), 1); /* the child wrote nothing */
    test_rmtree(dir);
    free(dir);
}

/* ---- 3. Damaged entries ------------------------------------------------------ */

typedef enum damage { CUT, FLIP, APPEND, EMPTY } damage;

static void test_corrupt_entries(void **state)
{
    (void)state;
    /* One warm entry, copied damaged into a fresh folder per case. */
    char *warm_dir = test_tmpdir("corrupt-warm");
    warm(warm_dir, "");
    char *good_path = only_entry(warm_dir);
    size_t size = 0;
    unsigned char *good = read_bytes(good_path, &size);
    assert_true(size > HEADER_SIZE + 16);
    const char *file_name = strrchr(good_path, '/') + 1;
    const size_t payload = size - HEADER_SIZE;

    const struct {
        const char *what;
        damage how;
        size_t at; /* the length kept (CUT) or the byte flipped (FLIP) */
    } cases[] = {
        {"cut to half", CUT, size / 2},
        {"cut inside the header", CUT, HEADER_SIZE / 2},
        {"cut after the header", CUT, HEADER_SIZE},
        {"cut by one byte", CUT, size - 1},
        {"a byte appended", APPEND, 0},
        {"zero-length file", EMPTY, 0},
        {"payload byte flipped", FLIP, HEADER_SIZE + payload / 2},
        {"last payload byte flipped", FLIP, size - 1},
        {"size byte flipped", FLIP, OFF_SIZE},
        {"size high byte flipped", FLIP, OFF_SIZE + 7},
        {"key byte flipped", FLIP, OFF_KEY + 5},
        {"checksum byte flipped", FLIP, OFF_DIGEST + 31},
        {"wrong magic", FLIP, OFF_MAGIC},
        {"other format", FLIP, OFF_FORMAT},
    };
    unsigned char *bad = malloc(size + 1);
    assert_non_null(bad);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        current_case = cases[c].what;
        memcpy(bad, good, size);
        size_t n = size;
        switch (cases[c].how) {
        case CUT: n = cases[c].at; break;
        case FLIP: bad[cases[c].at] ^= 0x5a; break;
        case APPEND: bad[n++] = 0; break;
        case EMPTY: n = 0; break;
        }
        char *dir = test_tmpdir("corrupt");
        char *path = join(dir, file_name);
        write_bytes(path, bad, n);
        expect_rebuild(dir, "");
        test_rmtree(dir);
        free(path);
        free(dir);
    }
    current_case = "";
    free(bad);
    free(good);
    free(good_path);
    test_rmtree(warm_dir);
    free(warm_dir);
}

/* ---- 4. A binary the driver refuses ---------------------------------------- */

static void test_refused_binary(void **state)
{
    (void)state;
    char *dir = test_tmpdir("refused");
    warm(dir, "");
    char *path = only_entry(dir);
    size_t size = 0;
    unsigned char *entry = read_bytes(path, &size);
    uint8_t key[32];
    memcpy(key, entry + OFF_KEY, sizeof key);
    /* A well-formed entry under the right key whose payload is no program. */
    unsigned char garbage[4096];
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < sizeof garbage; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        garbage[i] = (unsigned char)x;
    }
    assert_weft_ok(weft_disk_cache_write(dir, key, garbage, sizeof garbage));
    assert_int_equal(count_files(dir, NULL), 1); /* it replaced the good one */
    /* The disk layer accepts it, so any rejection is the driver's. */
    unsigned char *payload = NULL;
    size_t payload_size = 0;
    const char *why = NULL;
    assert_int_equal(weft_disk_cache_read(dir, key, &payload, &payload_size, &why),
                     WEFT_DISK_FOUND);
    assert_int_equal(payload_size, sizeof garbage);
    free(payload);
    expect_rebuild(dir, "");
    free(entry);
    free(path);
    test_rmtree(dir);
    free(dir);
}

/* ---- 5. Unwritable cache folders -------------------------------------------- */

static void test_unwritable_below_file(void **state)
{
    (void)state;
    char *dir = test_tmpdir("unwritable");
    char *file = join(dir, "plain-file");
    write_bytes(file, "x", 1);
    /* A folder path through a regular file: never creatable, even by root. */
    char *cache = join(file, "cache");
    weft_context *ctx = open_ctx(cache);
    get_program(ctx, "");
    assert_stats(ctx, 0, 0, 1, 0, 0);
    get_program(ctx, ""); /* the memory cache still works */
    assert_stats(ctx, 1, 0, 1, 0, 0);
    weft_context_release(ctx);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 1);
    assert_int_equal(count_files(dir, NULL), 1);
    test_rmtree(dir);
    free(cache);
    free(file);
    free(dir);
}

static void test_unwritable_readonly_folder(void **state)
{
    (void)state;
    if (geteuid() == 0) {
        print_message("skipped: root writes into a 0555 folder anyway; "
                      "test_unwritable_below_file covers root\n");
        skip();
    }
    char *dir = test_tmpdir("readonly");
    assert_int_equal(chmod(dir, 0555), 0);
    weft_context *ctx = open_ctx(dir);
    get_program(ctx, "");
    assert_stats(ctx, 0, 0, 1, 0, 0);
    weft_context_release(ctx);
    assert_int_equal(count_files(dir, NULL), 0);
    assert_int_equal(chmod(dir, 0700), 0);
    test_rmtree(dir);
    free(dir);
}

/* ---- 6. Cache off ------------------------------------------------------------ */

/* Two contexts with these options: each builds, neither writes to `dir`. */
static void expect_no_disk_cache(const weft_context_options *o, const char *dir)
{
    for (int round = 0; round < 2; round++) {
        weft_context *ctx = open_with(o);
        get_program(ctx, "");
        assert_stats(ctx, 0, 0, 1, 0, 0);
        weft_context_release(ctx);
        assert_int_equal(count_files(dir, NULL), 0);
    }
}

static void test_cache_off(void **state)
{
    (void)state;
    char *dir = test_tmpdir("off");
    assert_int_equal(unsetenv("WEFT_CACHE"), 0);
    weft_context_options o = test_options(dir);
    o.cache = WEFT_CACHE_OFF;
    expect_no_disk_cache(&o, dir);

    assert_int_equal(setenv("WEFT_CACHE", "off", 1), 0);
    o.cache = WEFT_CACHE_DEFAULT;
    expect_no_disk_cache(&o, dir);

    /* Control: the same options without WEFT_CACHE=off do write, so the
     * environment variable is what turned the cache off. */
    assert_int_equal(unsetenv("WEFT_CACHE"), 0);
    weft_context *ctx = open_with(&o);
    get_program(ctx, "");
    assert_stats(ctx, 0, 0, 1, 1, 0);
    weft_context_release(ctx);
    assert_int_equal(count_files(dir, ".bin"), 1);
    test_rmtree(dir);
    free(dir);
}

/* ---- 7. Binary-only mode ------------------------------------------------------ */

static void test_binary_only(void **state)
{
    (void)state;
    char *warm_dir = test_tmpdir("binonly-warm");
    warm(warm_dir, "");
    weft_context_options o = test_options(warm_dir);
    o.binary_only = 1;
    weft_context *ctx = open_with(&o);
    get_program(ctx, "");
    assert_stats(ctx, 0, 1, 0, 0, 0);
    /* Warm for "" only: other options have no binary. */
    cl_program program = NULL;
    assert_weft_status(weft_program_get(ctx, 0, PROGRAM, "-D SCALE=3.0f", &program),
                       WEFT_ERR_UNSUPPORTED, "-D SCALE=3.0f");
    assert_null(program);
    assert_stats(ctx, 0, 1, 0, 0, 0);
    weft_context_release(ctx);
    assert_int_equal(count_files(warm_dir, NULL), 1);

    /* Cold: nothing to load, and compiling is not allowed. */
    char *cold_dir = test_tmpdir("binonly-cold");
    o.cache_dir = cold_dir;
    ctx = open_with(&o);
    assert_weft_status(weft_program_get(ctx, 0, PROGRAM, "-D SCALE=3.0f", &program),
                       WEFT_ERR_UNSUPPORTED, "'" PROGRAM "'");
    assert_non_null(strstr(weft_last_error(), "-D SCALE=3.0f"));
    assert_null(program);
    assert_stats(ctx, 0, 0, 0, 0, 0);
    weft_context_release(ctx);
    assert_int_equal(count_files(cold_dir, NULL), 0);

    test_rmtree(cold_dir);
    test_rmtree(warm_dir);
    free(cold_dir);
    free(warm_dir);
}

/* ---- 8. Build errors and WEFT_CL_DIR ------------------------------------------ */

static const char broken_source[] = "__kernel void broken(__global float *y)\n"
                                    "{\n"
                                    "    y[0] = weft_undeclared_name;\n"
                                    "}\n";
#define BROKEN_OPTIONS "-D WEFT_BROKEN_OPTION=1"

/* The message names the device and the options and carries the build log
 * (the compiler's "error" and the identifier it complains about). */
static void check_build_message(weft_context *ctx, const char *program_name)
{
    weft_device_info info;
    assert_weft_ok(weft_context_device_info(ctx, 0, &info));
    const char *parts[] = {info.name, program_name, BROKEN_OPTIONS, "error",
                           "weft_undeclared_name"};
    char *message = weft_strdup(weft_last_error());
    assert_non_null(message);
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        if (!strstr(message, parts[i])) {
            print_message("build failure message: %s\n", message);
            free(message);
            fail_msg("the build failure message lacks '%s'", parts[i]);
        }
    free(message);
}

static void test_build_errors(void **state)
{
    (void)state;
    char *dir = test_tmpdir("build-error");
    char *cl_dir = test_tmpdir("cl-dir");
    char *cl_file = join(cl_dir, PROGRAM ".cl");
    weft_context *ctx = open_ctx(dir);
    cl_program program = NULL;

    /* Broken source text from the caller. */
    assert_weft_status(weft_program_get_source(ctx, 0, "broken_text", broken_source,
                                               strlen(broken_source), BROKEN_OPTIONS, &program),
                       WEFT_ERR_BUILD, "build");
    check_build_message(ctx, "broken_text");
    assert_null(program);

    /* A broken selfcheck.cl in WEFT_CL_DIR replaces the embedded one. */
    write_bytes(cl_file, broken_source, strlen(broken_source));
    assert_int_equal(setenv("WEFT_CL_DIR", cl_dir, 1), 0);
    assert_weft_status(weft_program_get(ctx, 0, PROGRAM, BROKEN_OPTIONS, &program),
                       WEFT_ERR_BUILD, "build");
    check_build_message(ctx, PROGRAM);
    assert_null(program);
    assert_stats(ctx, 0, 0, 0, 0, 0);
    assert_int_equal(count_files(dir, NULL), 0);

    /* A valid modified selfcheck.cl is used: its extra kernel exists. */
    size_t size = 0;
    char *modified = selfcheck_plus("\n__kernel void weft_test_extra(__global float *y)\n"
                                    "{\n    y[0] = 7.0f;\n}\n",
                                    &size);
    write_bytes(cl_file, modified, size);
    free(modified);
    program = get_program(ctx, "");
    assert_true(program_usable(program, "weft_test_extra"));
    assert_stats(ctx, 0, 0, 1, 1, 0);

    /* Without WEFT_CL_DIR the embedded copy, which lacks it, comes back. */
    assert_int_equal(unsetenv("WEFT_CL_DIR"), 0);
    cl_program embedded = get_program(ctx, "");
    assert_ptr_not_equal(embedded, program);
    assert_false(program_usable(embedded, "weft_test_extra"));
    assert_stats(ctx, 0, 0, 2, 2, 0);

    /* An unknown name, with and without WEFT_CL_DIR. */
    program = NULL;
    assert_weft_status(weft_program_get(ctx, 0, "no_such_program", "", &program),
                       WEFT_ERR_INVALID_ARGUMENT, "no_such_program");
    assert_int_equal(setenv("WEFT_CL_DIR", cl_dir, 1), 0);
    assert_weft_status(weft_program_get(ctx, 0, "no_such_program", "", &program),
                       WEFT_ERR_INVALID_ARGUMENT, "no_such_program");
    assert_null(program);
    assert_stats(ctx, 0, 0, 2, 2, 0);

    weft_context_release(ctx);
    test_rmtree(cl_dir);
    test_rmtree(dir);
    free(cl_file);
    free(cl_dir);
    free(dir);
}

/* ---- 9. One entry per source and options ----------------------------------- */

static void test_distinct_entries(void **state)
{
    (void)state;
    char *dir = test_tmpdir("distinct");
    /* The same kernels and length, other bytes: the key must hash the
     * text itself, not just its size. */
    size_t size = 0;
    char *variant = embedded_selfcheck(&size);
    char *word = strstr(variant, "selfcheck"); /* in the opening comment */
    assert_non_null(word);
    memcpy(word, "SELFCHECK", 9);
    const char *const options[] = {"", "-D SCALE=2.0f"};

    weft_context *ctx = open_ctx(dir);
    cl_program a = get_program(ctx, options[0]);
    cl_program b = get_program(ctx, options[1]);
    assert_ptr_not_equal(a, b);
    assert_weft_ok(weft_context_flush_cache(ctx));
    assert_int_equal(count_files(dir, ".bin"), 2);
    cl_program c = NULL;
    assert_weft_ok(weft_program_get_source(ctx, 0, "selfcheck_variant", variant, size,
                                           options[0], &c));
    assert_ptr_not_equal(c, a);
    assert_ptr_not_equal(c, b);
    assert_weft_ok(weft_context_flush_cache(ctx));
    assert_int_equal(count_files(dir, ".bin"), 3);
    assert_stats(ctx, 0, 0, 3, 3, 0);
    weft_context_release(ctx);

    /* A second context of this process: all three from disk. */
    ctx = open_ctx(dir);
    get_program(ctx, options[0]);
    get_program(ctx, options[1]);
    assert_weft_ok(weft_program_get_source(ctx, 0, "selfcheck_variant", variant, size,
                                           options[0], &c));
    assert_true(program_usable(c, "fill_f32"));
    assert_stats(ctx, 0, 3, 0, 0, 0);
    weft_context_release(ctx);
    assert_int_equal(count_files(dir, NULL), 3);

    free(variant);
    test_rmtree(dir);
    free(dir);
}

/* ---- 10. The default cache folder ------------------------------------------- */

/* A context with no cache_dir option builds once; `where` (relative to
 * `root`) then holds the one entry. */
static void expect_entry_in(const char *root, const char *where)
{
    weft_context_options o = test_options(NULL);
    o.cache = WEFT_CACHE_ON; /* on, but the folder left to the environment */
    weft_context *ctx = open_with(&o);
    get_program(ctx, "");
    assert_stats(ctx, 0, 0, 1, 1, 0);
    weft_context_release(ctx);
    char *dir = join(root, where);
    assert_int_equal(count_files(dir, NULL), 1);
    assert_int_equal(count_files(dir, ".bin"), 1);
    free(dir);
}

static void test_default_folder(void **state)
{
    (void)state;
    char *root = test_tmpdir("default");
    char *cache_env = join(root, "env");
    char *xdg = join(root, "xdg");
    char *home = join(root, "home");

    /* WEFT_CACHE_DIR wins over XDG_CACHE_HOME and HOME. */
    assert_int_equal(setenv("WEFT_CACHE_DIR", cache_env, 1), 0);
    assert_int_equal(setenv("XDG_CACHE_HOME", xdg, 1), 0);
    assert_int_equal(setenv("HOME", home, 1), 0);
    expect_entry_in(cache_env, ".");
    assert_int_equal(count_files(xdg, NULL), 0);
    assert_int_equal(count_files(home, NULL), 0);

    /* Then $XDG_CACHE_HOME/weft. */
    assert_int_equal(unsetenv("WEFT_CACHE_DIR"), 0);
    expect_entry_in(xdg, "weft");
    assert_int_equal(count_files(home, NULL), 0);

    /* Then $HOME/.cache/weft. */
    assert_int_equal(unsetenv("XDG_CACHE_HOME"), 0);
    expect_entry_in(home, ".cache/weft");

    /* With none of them there is no disk cache, but programs still build. */
    assert_int_equal(unsetenv("HOME"), 0);
    weft_context_options o = test_options(NULL);
    o.cache = WEFT_CACHE_ON;
    weft_context *ctx = open_with(&o);
    get_program(ctx, "");
    assert_stats(ctx, 0, 0, 1, 0, 0);
    weft_context_release(ctx);
    assert_int_equal(count_files(cache_env, NULL), 1);
    assert_int_equal(count_files(xdg, NULL), 1);

    test_rmtree(root);
    free(home);
    free(xdg);
    free(cache_env);
    free(root);
}

/* ---- 11. Threads ------------------------------------------------------------ */

#define THREAD_CALLS 50
#define OPTION_SETS 3

static const char *const thread_options[OPTION_SETS] = {"", "-D SCALE=2.0f",
                                                        "-D SCALE=-0.5f"};

typedef struct thread_job {
    weft_context *ctx;
    pthread_barrier_t *start;
    int first_set;
    weft_status status[THREAD_CALLS];
    cl_program program[THREAD_CALLS];
} thread_job;

/* No cmocka asserts here: they may only fail on the main thread. */
static void *thread_main(void *arg)
{
    thread_job *job = arg;
    pthread_barrier_wait(job->start);
    for (int i = 0; i < THREAD_CALLS; i++) {
        job->program[i] = NULL;
        job->status[i] = weft_program_get(job->ctx, 0, PROGRAM,
                                          thread_options[(job->first_set + i) % OPTION_SETS],
                                          &job->program[i]);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    char *dir = test_tmpdir("threads");
    weft_context *ctx = open_ctx(dir);
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
    static thread_job jobs[2];
    pthread_t threads[2];
    for (int t = 0; t < 2; t++) {
        jobs[t].ctx = ctx;
        jobs[t].start = &start;
        jobs[t].first_set = t; /* the threads ask in different orders */
        assert_int_equal(pthread_create(&threads[t], NULL, thread_main, &jobs[t]), 0);
    }
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_join(threads[t], NULL), 0);
    pthread_barrier_destroy(&start);

    /* One program per option set, shared by every call that asked for it. */
    cl_program seen[OPTION_SETS] = {NULL};
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < THREAD_CALLS; i++) {
            int set = (jobs[t].first_set + i) % OPTION_SETS;
            if (jobs[t].status[i] != WEFT_OK)
                fail_msg("thread %d call %d returned %s", t, i,
                         weft_status_name(jobs[t].status[i]));
            assert_non_null(jobs[t].program[i]);
            if (!seen[set]) {
                assert_true(program_usable(jobs[t].program[i], "scale_f32"));
                seen[set] = jobs[t].program[i];
            }
            assert_ptr_equal(jobs[t].program[i], seen[set]);
        }
    assert_ptr_not_equal(seen[0], seen[1]);
    assert_ptr_not_equal(seen[0], seen[2]);
    assert_ptr_not_equal(seen[1], seen[2]);
    assert_stats(ctx, 2 * THREAD_CALLS - OPTION_SETS, 0, OPTION_SETS, OPTION_SETS, 0);
    weft_context_release(ctx);
    assert_int_equal(count_files(dir, NULL), OPTION_SETS);
    test_rmtree(dir);
    free(dir);
}

/* ---- Deferred saves ------------------------------------------------------- */

/* x -> Sigmoid -> y over 2x8 floats: a session with one kernel program. */
static weft_graph *sigmoid_graph(void)
{
    const int64_t dims[2] = {2, 8};
    weft_graph *g = NULL;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 2, dims));
    assert_weft_ok(weft_graph_add_activation(g, "sig", WEFT_ACT_SIGMOID, 0, 0, "x", "y"));
    assert_weft_ok(weft_graph_add_output(g, "y"));
    assert_weft_ok(weft_graph_validate(g));
    return g;
}

/* One run of a session of g; no cmocka asserts (threads call it). */
static weft_status run_sigmoid(weft_context *ctx, const weft_graph *g, int runs)
{
    float x[16], y[16];
    for (int i = 0; i < 16; i++)
        x[i] = (float)i / 4 - 2;
    weft_tensor in = {.name = "x", .dtype = WEFT_FLOAT32, .rank = 2, .dims = {2, 8},
                      .data = x, .size_bytes = sizeof x};
    weft_tensor out = {.name = "y", .dtype = WEFT_FLOAT32, .rank = 2, .dims = {2, 8},
                       .data = y, .size_bytes = sizeof y};
    weft_session *s = NULL;
    weft_status st = weft_session_create(ctx, g, NULL, &s);
    for (int r = 0; r < runs && st == WEFT_OK; r++)
        st = weft_session_run(s, &in, 1, &out, 1);
    weft_session_release(s);
    return st;
}

static weft_cache_stats stats_now(weft_context *ctx)
{
    weft_cache_stats s;
    assert_weft_ok(weft_context_cache_stats(ctx, &s));
    return s;
}

/* Nothing is written while the session is created; the run starts the
 * saver, and after the flush every build is on disk, once. */
static void test_deferred_after_run(void **state)
{
    (void)state;
    char *dir = test_tmpdir("deferred_run");
    weft_context *ctx = open_ctx(dir);
    weft_graph *g = sigmoid_graph();
    weft_session *s = NULL;
    assert_weft_ok(weft_session_create(ctx, g, NULL, &s));
    weft_cache_stats before = stats_now(ctx);
    assert_true(before.builds >= 1);
    assert_int_equal(before.saves, 0);
    assert_int_equal(count_files(dir, ".bin"), 0);
    weft_session_release(s);
    assert_weft_ok(run_sigmoid(ctx, g, 1));
    assert_weft_ok(weft_context_flush_cache(ctx));
    weft_cache_stats after = stats_now(ctx);
    assert_int_equal(after.builds, before.builds);
    assert_int_equal(after.saves, after.builds);
    assert_int_equal(count_files(dir, ".bin"), after.builds);
    assert_int_equal(count_files(dir, NULL), after.builds); /* no temp file left */
    assert_weft_ok(weft_context_flush_cache(ctx)); /* nothing pending: a no-op */
    assert_int_equal(stats_now(ctx).saves, after.saves);
    weft_context_release(ctx);
    /* A second context is served from disk alone. */
    ctx = open_ctx(dir);
    assert_weft_ok(run_sigmoid(ctx, g, 1));
    weft_cache_stats warm = stats_now(ctx);
    assert_int_equal(warm.builds, 0);
    assert_int_equal(warm.disk_hits, after.builds);
    weft_context_release(ctx);
    assert_weft_status(weft_context_flush_cache(NULL), WEFT_ERR_INVALID_ARGUMENT, "NULL");
    weft_graph_release(g);
    test_rmtree(dir);
    free(dir);
}

/* A context released before any run still fills the cache. */
static void test_deferred_release_without_run(void **state)
{
    (void)state;
    char *dir = test_tmpdir("deferred_release");
    weft_context *ctx = open_ctx(dir);
    cl_program program = NULL;
    assert_weft_ok(weft_program_get(ctx, 0, PROGRAM, "", &program));
    assert_int_equal(stats_now(ctx).saves, 0);
    assert_int_equal(count_files(dir, NULL), 0);
    weft_context_release(ctx);
    assert_int_equal(count_files(dir, ".bin"), 1);
    expect_disk_hit(dir, "");
    test_rmtree(dir);
    free(dir);
}

/* WEFT_CACHE=off: runs, flushes and the release write nothing. */
static void test_deferred_cache_off(void **state)
{
    (void)state;
    char *dir = test_tmpdir("deferred_off");
    assert_int_equal(setenv("WEFT_CACHE", "off", 1), 0);
    weft_context_options o = test_options(dir);
    o.cache = WEFT_CACHE_DEFAULT; /* test_options turns it on */
    weft_context *ctx = open_with(&o);
    weft_graph *g = sigmoid_graph();
    assert_weft_ok(run_sigmoid(ctx, g, 2));
    assert_weft_ok(weft_context_flush_cache(ctx));
    weft_cache_stats s = stats_now(ctx);
    assert_true(s.builds >= 1);
    assert_int_equal(s.saves, 0);
    weft_context_release(ctx);
    assert_int_equal(count_files(dir, NULL), 0);
    /* Control: the same with the cache on does write. */
    assert_int_equal(unsetenv("WEFT_CACHE"), 0);
    ctx = open_with(&o);
    assert_weft_ok(run_sigmoid(ctx, g, 1));
    weft_context_release(ctx);
    assert_int_equal(count_files(dir, ".bin"), s.builds);
    weft_graph_release(g);
    test_rmtree(dir);
    free(dir);
}

#define SAVER_THREADS 4

typedef struct saver_job {
    weft_context *ctx;
    const weft_graph *g;
    pthread_barrier_t *start;
    int index;
    weft_status status;
} saver_job;

/* Sessions run (starting and feeding the saver) while other programs are
 * built and flushes come from several threads. */
static void *saver_thread(void *arg)
{
    saver_job *job = arg;
    pthread_barrier_wait(job->start);
    job->status = run_sigmoid(job->ctx, job->g, 2);
    for (int i = 0; job->status == WEFT_OK && i < OPTION_SETS; i++) {
        cl_program program = NULL;
        job->status = weft_program_get(job->ctx, 0, PROGRAM,
                                       thread_options[(job->index + i) % OPTION_SETS], &program);
        if (job->status == WEFT_OK && job->index % 2)
            job->status = weft_context_flush_cache(job->ctx);
    }
    return NULL;
}

static void test_deferred_threads(void **state)
{
    (void)state;
    char *dir = test_tmpdir("deferred_threads");
    weft_context *ctx = open_ctx(dir);
    weft_graph *g = sigmoid_graph();
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, SAVER_THREADS), 0);
    static saver_job jobs[SAVER_THREADS];
    pthread_t threads[SAVER_THREADS];
    for (int t = 0; t < SAVER_THREADS; t++) {
        jobs[t] = (saver_job){.ctx = ctx, .g = g, .start = &start, .index = t};
        assert_int_equal(pthread_create(&threads[t], NULL, saver_thread, &jobs[t]), 0);
    }
    for (int t = 0; t < SAVER_THREADS; t++)
        assert_int_equal(pthread_join(threads[t], NULL), 0);
    pthread_barrier_destroy(&start);
    for (int t = 0; t < SAVER_THREADS; t++)
        if (jobs[t].status != WEFT_OK)
            fail_msg("thread %d: %s: %s", t, weft_status_name(jobs[t].status),
                     weft_last_error());
    assert_weft_ok(weft_context_flush_cache(ctx));
    weft_cache_stats s = stats_now(ctx);
    assert_true(s.builds >= 1 + OPTION_SETS); /* the sigmoid program(s) and selfcheck's */
    assert_int_equal(s.saves, s.builds);      /* each once: no double saves */
    assert_int_equal(s.disk_hits, 0);
    assert_int_equal(count_files(dir, ".bin"), s.builds);
    weft_context_release(ctx);
    assert_int_equal(count_files(dir, NULL), s.builds);
    weft_graph_release(g);
    test_rmtree(dir);
    free(dir);
}

/* ---- Includes between kernel files ------------------------------------------ */

/* `#include "NAME.cl"` lines are replaced by NAME's source, from WEFT_CL_DIR
 * or embedded; malformed, missing and endless includes are refused. */
static void test_source_includes(void **state)
{
    (void)state;
    char *dir = test_tmpdir("includes");
    char *a = join(dir, "weft_a.cl"), *b = join(dir, "weft_b.cl"), *c = join(dir, "weft_c.cl");
    char *loop = join(dir, "weft_loop.cl"), *bad = join(dir, "weft_bad.cl");
    static const char ta[] = "// a\n#include \"weft_b.cl\"\nint a;\n";
    static const char tb[] = "#include \"weft_c.cl\"\nint b;"; /* no final newline */
    static const char tc[] = "int c;\n";
    static const char tl[] = "#include \"weft_loop.cl\"\n";
    static const char tbad[] = "#include \"weft_c\"\n";
    write_bytes(a, ta, strlen(ta));
    write_bytes(b, tb, strlen(tb));
    write_bytes(c, tc, strlen(tc));
    write_bytes(loop, tl, strlen(tl));
    write_bytes(bad, tbad, strlen(tbad));
    assert_int_equal(setenv("WEFT_CL_DIR", dir, 1), 0);
    char *text;
    size_t size;
    assert_weft_ok(weft_source_load("weft_a", &text, &size));
    assert_string_equal(text, "// a\nint c;\nint b;\nint a;\n");
    assert_int_equal(size, strlen(text));
    free(text);
    assert_weft_status(weft_source_load("weft_loop", &text, &size), WEFT_ERR_INVALID_ARGUMENT,
                       "nested");
    assert_null(text);
    assert_weft_status(weft_source_load("weft_bad", &text, &size), WEFT_ERR_INVALID_ARGUMENT,
                       "#include \"NAME.cl\"");
    remove(c);
    assert_weft_status(weft_source_load("weft_a", &text, &size), WEFT_ERR_INVALID_ARGUMENT,
                       "weft_c");
    assert_int_equal(unsetenv("WEFT_CL_DIR"), 0);
    /* The embedded convolution kernels get their shared epilogue. */
    assert_weft_ok(weft_source_load("conv_direct", &text, &size));
    assert_null(strstr(text, "\n#include \""));
    assert_non_null(strstr(text, "floatv activate(floatv v)"));
    free(text);
    test_rmtree(dir);
    free(a);
    free(b);
    free(c);
    free(loop);
    free(bad);
    free(dir);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--child-cache") == 0)
        return child_main(argv[2], argv[3]);
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (n > 0)
        self_path[n] = '\0';
    else
        snprintf(self_path, sizeof self_path, "%s", argv[0]);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_hit),
        cmocka_unit_test(test_second_process),
        cmocka_unit_test(test_corrupt_entries),
        cmocka_unit_test(test_refused_binary),
        cmocka_unit_test(test_unwritable_below_file),
        cmocka_unit_test(test_unwritable_readonly_folder),
        cmocka_unit_test_setup_teardown(test_cache_off, save_env, restore_env),
        cmocka_unit_test(test_binary_only),
        cmocka_unit_test_setup_teardown(test_build_errors, save_env, restore_env),
        cmocka_unit_test(test_distinct_entries),
        cmocka_unit_test_setup_teardown(test_default_folder, save_env, restore_env),
        cmocka_unit_test(test_threads),
        cmocka_unit_test_setup_teardown(test_source_includes, save_env, restore_env),
        cmocka_unit_test(test_deferred_after_run),
        cmocka_unit_test(test_deferred_release_without_run),
        cmocka_unit_test_setup_teardown(test_deferred_cache_off, save_env, restore_env),
        cmocka_unit_test(test_deferred_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
