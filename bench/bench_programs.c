/*
 * Program creation time for every embedded kernel program, three ways:
 *   cold    — empty weft cache and POCL_KERNEL_CACHE=0: compiled from source;
 *   disk    — a new process with the weft disk cache filled: loaded binaries;
 *   memory  — the same context asking again: the in-memory table.
 * Each way runs in child processes (a fresh driver each time), repeated,
 * and the median is reported.
 *
 * usage: bench_programs [--repeat N]
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "core/util.h"
#include "runtime/program.h"
#include "runtime/sources.h"
#include "weft.h"

extern char **environ;

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Child: one context on `dir`, every program fetched twice; writes
 * "context_ms\n" then "first_ms second_ms" per program to `out`. */
static int child(const char *dir, const char *out)
{
    weft_context_options o;
    weft_context_options_defaults(&o);
    o.cache_dir = dir;
    o.cache = WEFT_CACHE_ON;
    double t0 = 1e3 * bench_now_s();
    weft_context *ctx;
    if (weft_context_create(&o, &ctx) != WEFT_OK) {
        fprintf(stderr, "bench_programs: %s\n", weft_last_error());
        return 1;
    }
    double t1 = 1e3 * bench_now_s();
    FILE *f = fopen(out, "w");
    if (!f) {
        weft_context_release(ctx);
        return 1;
    }
    fprintf(f, "%.6f\n", t1 - t0);
    int rc = 0;
    for (size_t i = 0; i < weft_cl_source_count && rc == 0; i++) {
        cl_program p;
        double a = 1e3 * bench_now_s();
        weft_status st = weft_program_get(ctx, 0, weft_cl_sources[i].name, "", &p);
        double b = 1e3 * bench_now_s();
        if (st == WEFT_OK)
            st = weft_program_get(ctx, 0, weft_cl_sources[i].name, "", &p);
        double c = 1e3 * bench_now_s();
        if (st != WEFT_OK) {
            fprintf(stderr, "bench_programs: %s\n", weft_last_error());
            rc = 1;
        }
        fprintf(f, "%.6f %.6f\n", b - a, c - b);
    }
    weft_cache_stats s;
    weft_context_cache_stats(ctx, &s);
    fprintf(f, "%llu %llu\n", (unsigned long long)s.builds, (unsigned long long)s.disk_hits);
    fclose(f);
    weft_context_release(ctx);
    return rc;
}

static int run_child(const char *self, const char *dir, const char *out)
{
    char *argv[] = {(char *)self, "--child", (char *)dir, (char *)out, NULL};
    pid_t pid;
    if (posix_spawn(&pid, self, NULL, NULL, argv, environ) != 0)
        return -1;
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return 0;
}

typedef struct {
    double context_ms;
    double first_ms[64], second_ms[64];
    unsigned long long builds, disk_hits;
} sample;

static int read_sample(const char *path, size_t n, sample *s)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int ok = fscanf(f, "%lf", &s->context_ms) == 1;
    for (size_t i = 0; i < n && ok; i++)
        ok = fscanf(f, "%lf %lf", &s->first_ms[i], &s->second_ms[i]) == 2;
    ok = ok && fscanf(f, "%llu %llu", &s->builds, &s->disk_hits) == 2;
    fclose(f);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--child") == 0)
        return child(argv[2], argv[3]);
    int repeat = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_programs [--repeat N]\n");
            return 2;
        }
    }
    if (repeat < 1 || repeat > 50)
        repeat = 5;
    size_t n = weft_cl_source_count;
    if (n > 64)
        n = 64;
    /* The driver's own cache would make "cold" warm. */
    setenv("POCL_KERNEL_CACHE", "0", 1);

    char root[] = "/tmp/weft-bench-programs-XXXXXX";
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) {
        fprintf(stderr, "bench_programs: cannot find its own executable\n");
        return 1;
    }
    self[len] = '\0';

    static sample cold[50], disk[50];
    char dir[4200], out[4300];
    for (int r = 0; r < repeat; r++) {
        snprintf(dir, sizeof dir, "%s/cache-%d", root, r);
        snprintf(out, sizeof out, "%s/cold-%d.txt", root, r);
        if (run_child(self, dir, out) != 0 || read_sample(out, n, &cold[r]) != 0 ||
            cold[r].builds != n) {
            fprintf(stderr, "bench_programs: cold run %d failed\n", r);
            return 1;
        }
        snprintf(out, sizeof out, "%s/disk-%d.txt", root, r);
        if (run_child(self, dir, out) != 0 || read_sample(out, n, &disk[r]) != 0 ||
            disk[r].builds != 0 || disk[r].disk_hits != n) {
            fprintf(stderr, "bench_programs: warm run %d failed or built from source\n", r);
            return 1;
        }
    }

    weft_device_info info;
    weft_context *ctx;
    if (weft_context_create(NULL, &ctx) == WEFT_OK) {
        weft_context_device_info(ctx, 0, &info);
        printf("device: %s (%s)\n", info.name, info.platform_name);
        weft_context_release(ctx);
    }
    printf("program creation, median of %d runs (cold: empty caches, POCL_KERNEL_CACHE=0)\n\n",
           repeat);
    printf("%-16s %12s %12s %14s %10s\n", "program", "cold ms", "disk ms", "memory us",
           "cold/disk");
    double v[50], w[50], m[50];
    double total_cold = 0, total_disk = 0;
    for (size_t i = 0; i < n; i++) {
        for (int r = 0; r < repeat; r++) {
            v[r] = cold[r].first_ms[i];
            w[r] = disk[r].first_ms[i];
            m[r] = disk[r].second_ms[i] * 1e3;
        }
        double c = median(v, repeat), d = median(w, repeat), mem = median(m, repeat);
        total_cold += c;
        total_disk += d;
        printf("%-16s %12.1f %12.2f %14.2f %9.0fx\n", weft_cl_sources[i].name, c, d, mem,
               d > 0 ? c / d : 0);
    }
    for (int r = 0; r < repeat; r++) {
        v[r] = cold[r].context_ms;
        w[r] = disk[r].context_ms;
    }
    printf("%-16s %12.1f %12.2f\n", "all programs", total_cold, total_disk);
    printf("%-16s %12.1f %12.2f   (context creation, for scale)\n", "context", median(v, repeat),
           median(w, repeat));

    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_programs: could not remove %s\n", root);
    return 0;
}
