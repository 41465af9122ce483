#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/random.h"
#include "core/util.h"
#include "test_common.h"

char *test_tmpdir(const char *label)
{
    static unsigned counter;
    const char *base = getenv("WEFT_TEST_TMP");
    char root[1024];
    snprintf(root, sizeof root, "%s", base && *base ? base : "/tmp/weft-test");
    if (weft_mkdirs(root) != 0)
        fail_msg("cannot create %s", root);
    char path[1200];
    snprintf(path, sizeof path, "%s/%s-%ld-%u", root, label, (long)getpid(), counter++);
    test_rmtree(path);
    if (weft_mkdirs(path) != 0)
        fail_msg("cannot create %s", path);
    return weft_strdup(path);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    chmod(path, 0700); /* a test may leave a read-only folder */
    return remove(path);
}

void test_rmtree(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        chmod(path, 0700);
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void test_add_random_constant(weft_graph *g, const char *name, int rank, const int64_t *dims,
                              uint64_t *seed, float lo, float hi)
{
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    float *data = malloc((n ? n : 1) * sizeof *data);
    assert_non_null(data);
    weft_random_fill(seed, data, n, lo, hi);
    assert_weft_ok(weft_graph_add_constant(g, name, WEFT_FLOAT32, rank, dims, data));
    free(data);
}

int test_under_oclgrind(void)
{
    const char *v = getenv("WEFT_UNDER_OCLGRIND");
    return v && *v && strcmp(v, "0") != 0;
}

weft_context_options test_options(const char *cache_dir)
{
    weft_context_options o;
    weft_context_options_defaults(&o);
    o.cache_dir = cache_dir;
    o.cache = cache_dir ? WEFT_CACHE_ON : WEFT_CACHE_OFF;
    return o;
}
