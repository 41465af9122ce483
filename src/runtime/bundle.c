#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/error.h"
#include "core/sha256.h"
#include "core/util.h"
#include "runtime/bundle.h"
#include "runtime/context.h"
#include "runtime/program.h"

static const char MAGIC[8] = {'W', 'E', 'F', 'T', 'B', 'D', 'L', '\n'};

enum {
    OFF_FORMAT = 8,
    OFF_FILE_SIZE = 12,
    OFF_FIELDS = 20,
    DIGEST_SIZE = 32,
    ENTRY_HEAD = 32 + 8
};

/* Larger files are not bundles we wrote: refused before being read. */
#define MAX_BUNDLE_BYTES ((size_t)2 << 30)
/* Identity strings come from 128-byte device info fields. */
#define MAX_FIELD 1024

/* ---- Reading --------------------------------------------------------------- */

/* A bounded view of the checked file. */
typedef struct reader {
    const unsigned char *p;
    size_t left;
} reader;

static int take(reader *r, size_t n, const unsigned char **at)
{
    if (n > r->left)
        return 0;
    *at = r->p;
    r->p += n;
    r->left -= n;
    return 1;
}

static int take_field(reader *r, char **out)
{
    const unsigned char *at;
    if (!take(r, 4, &at))
        return 0;
    uint32_t n = weft_le_get32(at);
    if (n > MAX_FIELD || !take(r, n, &at) || memchr(at, '\0', n))
        return 0;
    *out = malloc(n + 1);
    if (!*out)
        return 0;
    memcpy(*out, at, n);
    (*out)[n] = '\0';
    return 1;
}

static int key_cmp(const void *a, const void *b)
{
    return memcmp(((const weft_bundle_entry *)a)->key, ((const weft_bundle_entry *)b)->key, 32);
}

/* The fields and entries of a file whose size and digest are correct;
 * NULL (and the check that failed in *why) when a length points outside
 * it: a hostile file may carry a valid digest. */
static const char *parse(weft_bundle *b, size_t n)
{
    reader r = {b->data + OFF_FIELDS, n - OFF_FIELDS - DIGEST_SIZE};
    char **fields[] = {&b->version, &b->name, &b->vendor, &b->driver_version,
                       &b->platform_version};
    for (size_t i = 0; i < WEFT_COUNTOF(fields); i++)
        if (!take_field(&r, fields[i]))
            return "a header string runs past the end or is too long";
    const unsigned char *at;
    if (!take(&r, 4, &at))
        return "the entry count runs past the end";
    uint32_t count = weft_le_get32(at);
    if (count > r.left / ENTRY_HEAD)
        return "the entry count is larger than the file can hold";
    b->entries = calloc(count ? count : 1, sizeof *b->entries);
    if (!b->entries)
        return "no memory for the entry table";
    for (uint32_t i = 0; i < count; i++) {
        weft_bundle_entry *e = &b->entries[i];
        if (!take(&r, ENTRY_HEAD, &at))
            return "an entry header runs past the end";
        memcpy(e->key, at, 32);
        uint64_t size = weft_le_get64(at + 32);
        if (size == 0 || size > r.left || !take(&r, (size_t)size, &e->binary))
            return "an entry's binary size is zero or runs past the end";
        e->size = (size_t)size;
        b->count++;
    }
    if (r.left)
        return "bytes after the last entry";
    qsort(b->entries, b->count, sizeof *b->entries, key_cmp);
    for (size_t i = 1; i < b->count; i++)
        if (memcmp(b->entries[i - 1].key, b->entries[i].key, 32) == 0)
            return "two entries have the same key";
    return NULL;
}

/* The check a damaged file fails first, in *why: WEFT_ERR_MODEL_FORMAT,
 * or WEFT_ERR_UNSUPPORTED for another format (checked before the digest,
 * which another format may place elsewhere); WEFT_OK when intact. */
static weft_status check_frame(const unsigned char *p, size_t n, char *why, size_t cap)
{
    const char *bad = NULL;
    uint64_t declared = n >= OFF_FIELDS ? weft_le_get64(p + OFF_FILE_SIZE) : 0;
    uint32_t format = n >= OFF_FIELDS ? weft_le_get32(p + OFF_FORMAT) : 0;
    uint8_t digest[32];
    if (n == 0)
        bad = "the file is empty";
    else if (memcmp(p, MAGIC, n < sizeof MAGIC ? n : sizeof MAGIC) != 0)
        bad = "not a weft bundle (wrong magic)";
    else if (n < OFF_FIELDS)
        bad = "truncated header";
    else if (format != WEFT_BUNDLE_FORMAT) {
        snprintf(why, cap, "bundle format %u, this weft reads format %u; make it again with "
                 "'weft compile'", (unsigned)format, WEFT_BUNDLE_FORMAT);
        return WEFT_ERR_UNSUPPORTED;
    } else if (declared != n) {
        snprintf(why, cap, "%s: the file has %zu bytes, its header says %llu",
                 n < declared ? "truncated" : "size mismatch", n, (unsigned long long)declared);
        return WEFT_ERR_MODEL_FORMAT;
    } else if (n < OFF_FIELDS + DIGEST_SIZE)
        bad = "truncated header";
    else {
        weft_sha256_digest(p, n - DIGEST_SIZE, digest);
        if (memcmp(digest, p + n - DIGEST_SIZE, DIGEST_SIZE) != 0)
            bad = "checksum mismatch (the file is damaged)";
    }
    if (!bad)
        return WEFT_OK;
    snprintf(why, cap, "%s", bad);
    return WEFT_ERR_MODEL_FORMAT;
}

weft_status weft_bundle_load(const char *path, weft_bundle **bundle)
{
    if (!path || !bundle)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_bundle_load: %s is NULL",
                         !path ? "path" : "bundle");
    *bundle = NULL;
    char *data;
    size_t n;
    weft_status st = weft_file_read(path, MAX_BUNDLE_BYTES, &data, &n);
    if (st != WEFT_OK) {
        char detail[1024];
        snprintf(detail, sizeof detail, "%s", weft_last_error());
        return weft_fail(st, "cannot read the bundle: %s", detail);
    }
    const unsigned char *p = (const unsigned char *)data;
    char why[160];
    st = check_frame(p, n, why, sizeof why);
    if (st != WEFT_OK) {
        free(data);
        return weft_fail(st, "bundle '%s' refused: %s", path, why);
    }
    weft_bundle *b = calloc(1, sizeof *b);
    if (!b) {
        free(data);
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for a bundle");
    }
    b->data = (unsigned char *)data;
    b->path = weft_strdup(path);
    const char *bad = b->path ? parse(b, n) : "no memory for the path";
    if (bad)
        st = weft_fail(WEFT_ERR_MODEL_FORMAT, "bundle '%s' refused: %s", path, bad);
    else if (strcmp(b->version, weft_version()) != 0)
        st = weft_fail(WEFT_ERR_UNSUPPORTED,
                       "bundle '%s' refused: made by weft %s, this is weft %s; make it again "
                       "with this version's 'weft compile'",
                       path, b->version, weft_version());
    if (st != WEFT_OK) {
        weft_bundle_release(b);
        return st;
    }
    *bundle = b;
    return WEFT_OK;
}

void weft_bundle_release(weft_bundle *b)
{
    if (!b)
        return;
    free(b->path);
    free(b->version);
    free(b->name);
    free(b->vendor);
    free(b->driver_version);
    free(b->platform_version);
    free(b->entries);
    free(b->data);
    free(b);
}

int weft_bundle_matches(const weft_bundle *b, const weft_device_info *info)
{
    return strcmp(b->name, info->name) == 0 && strcmp(b->vendor, info->vendor) == 0 &&
           strcmp(b->driver_version, info->driver_version) == 0 &&
           strcmp(b->platform_version, info->platform_version) == 0;
}

const weft_bundle_entry *weft_bundle_find(const weft_bundle *b, const uint8_t key[32])
{
    weft_bundle_entry probe;
    memcpy(probe.key, key, 32);
    return b->count ? bsearch(&probe, b->entries, b->count, sizeof *b->entries, key_cmp) : NULL;
}

/* ---- Writing --------------------------------------------------------------- */

static unsigned char *put_field(unsigned char *p, const char *s)
{
    size_t n = strlen(s);
    weft_le_put32(p, (uint32_t)n);
    memcpy(p + 4, s, n);
    return p + 4 + n;
}

weft_status weft_bundle_write(const char *path, const weft_device_info *info,
                              const weft_bundle_entry *entries, size_t count, uint64_t *bytes)
{
    const char *fields[] = {weft_version(), info->name, info->vendor, info->driver_version,
                            info->platform_version};
    weft_bundle_entry *sorted = malloc((count ? count : 1) * sizeof *sorted);
    if (!sorted)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the bundle's entry table");
    if (count)
        memcpy(sorted, entries, count * sizeof *sorted);
    qsort(sorted, count, sizeof *sorted, key_cmp);
    size_t kept = 0;
    size_t n = OFF_FIELDS + 4 + DIGEST_SIZE;
    for (size_t i = 0; i < WEFT_COUNTOF(fields); i++)
        n += 4 + strlen(fields[i]);
    for (size_t i = 0; i < count; i++) {
        if (kept && memcmp(sorted[kept - 1].key, sorted[i].key, 32) == 0)
            continue;
        sorted[kept++] = sorted[i];
        n += ENTRY_HEAD + sorted[i].size;
    }
    unsigned char *file = malloc(n);
    if (!file) {
        free(sorted);
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for a %zu-byte bundle", n);
    }
    memcpy(file, MAGIC, sizeof MAGIC);
    weft_le_put32(file + OFF_FORMAT, WEFT_BUNDLE_FORMAT);
    weft_le_put64(file + OFF_FILE_SIZE, n);
    unsigned char *p = file + OFF_FIELDS;
    for (size_t i = 0; i < WEFT_COUNTOF(fields); i++)
        p = put_field(p, fields[i]);
    weft_le_put32(p, (uint32_t)kept);
    p += 4;
    for (size_t i = 0; i < kept; i++) {
        memcpy(p, sorted[i].key, 32);
        weft_le_put64(p + 32, sorted[i].size);
        memcpy(p + ENTRY_HEAD, sorted[i].binary, sorted[i].size);
        p += ENTRY_HEAD + sorted[i].size;
    }
    weft_sha256_digest(file, n - DIGEST_SIZE, p);
    free(sorted);
    weft_status st = weft_file_write_atomic(path, file, n);
    free(file);
    if (st == WEFT_OK && bytes)
        *bytes = n;
    return st;
}

weft_status weft_context_write_bundle(weft_context *ctx, size_t device, const char *path,
                                      size_t *programs, uint64_t *bytes)
{
    if (!ctx || !path)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_context_write_bundle: %s is NULL",
                         !ctx ? "context" : "path");
    if (device >= ctx->device_count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                         "weft_context_write_bundle: device %zu, but the context has %zu",
                         device, ctx->device_count);
    weft_bundle_entry *entries;
    size_t count;
    weft_status st = weft_program_binaries(ctx, device, &entries, &count);
    if (st != WEFT_OK)
        return st;
    st = weft_bundle_write(path, &ctx->devices[device].cl.info, entries, count, bytes);
    weft_program_binaries_free(entries, count);
    if (st == WEFT_OK && programs)
        *programs = count;
    return st;
}
