#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/log.h"
#include "core/util.h"
#include "runtime/sources.h"

/* A kernel file larger than this is a mistake, not a kernel. */
#define MAX_SOURCE_BYTES (4u << 20)

static weft_status load_file(const char *name, char **text, size_t *size)
{
    *text = NULL;
    *size = 0;
    const char *dir = getenv("WEFT_CL_DIR");
    if (dir && *dir) {
        size_t n = strlen(name);
        char *file = malloc(n + 4);
        if (!file)
            return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for a path");
        memcpy(file, name, n);
        memcpy(file + n, ".cl", 4);
        char *path = weft_path_join(dir, file);
        free(file);
        if (!path)
            return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for a path");
        struct stat st;
        if (stat(path, &st) == 0) {
            weft_log(WEFT_LOG_DEBUG, "program '%s' from %s", name, path);
            weft_status s = weft_file_read(path, MAX_SOURCE_BYTES, text, size);
            free(path);
            return s;
        }
        free(path);
    }
    for (size_t i = 0; i < weft_cl_source_count; i++) {
        if (strcmp(weft_cl_sources[i].name, name) != 0)
            continue;
        char *copy = malloc(weft_cl_sources[i].size + 1);
        if (!copy)
            return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for program '%s'", name);
        memcpy(copy, weft_cl_sources[i].text, weft_cl_sources[i].size);
        copy[weft_cl_sources[i].size] = '\0';
        *text = copy;
        *size = weft_cl_sources[i].size;
        return WEFT_OK;
    }
    return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "no kernel program named '%s'%s%s%s", name,
                     dir && *dir ? " (nor " : "", dir && *dir ? dir : "",
                     dir && *dir ? "/<name>.cl)" : "");
}

/* Kernel files share code through lines `#include "NAME.cl"`, replaced
 * here by NAME's source (which may include in turn, a few levels deep):
 * the embedded copies are not files a compiler could find, and the
 * program cache keys on the text after this. */
#define MAX_INCLUDE_DEPTH 4

static weft_status expand(const char *name, int depth, char **text, size_t *size)
{
    if (depth > MAX_INCLUDE_DEPTH)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                         "kernel program '%s': includes nested more than %d deep", name,
                         MAX_INCLUDE_DEPTH);
    char *src;
    size_t n;
    weft_status st = load_file(name, &src, &n);
    if (st != WEFT_OK)
        return st;
    static const char directive[] = "#include \"";
    char *out = NULL;
    size_t len = 0, cap = 0;
    for (const char *line = src; *line && st == WEFT_OK;) {
        const char *end = strchr(line, '\n');
        size_t line_len = end ? (size_t)(end - line) + 1 : strlen(line);
        const char *piece = line;
        size_t piece_len = line_len;
        char *included = NULL;
        if (strncmp(line, directive, sizeof directive - 1) == 0) {
            const char *file = line + sizeof directive - 1;
            const char *close = memchr(file, '"', line_len - (sizeof directive - 1));
            if (!close || close - file < 4 || close - file > 64 || memcmp(close - 3, ".cl", 3)) {
                st = weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                               "kernel program '%s': expected #include \"NAME.cl\"", name);
                break;
            }
            char inc[64];
            memcpy(inc, file, (size_t)(close - file) - 3);
            inc[close - file - 3] = '\0';
            size_t inc_len;
            if ((st = expand(inc, depth + 1, &included, &inc_len)) != WEFT_OK)
                break;
            piece = included;
            piece_len = inc_len;
        }
        char *grown = out;
        if (len + piece_len + 2 > cap) {
            cap = 2 * (len + piece_len + 2) > n + 1 ? 2 * (len + piece_len + 2) : n + 1;
            grown = realloc(out, cap);
        }
        if (!grown) {
            st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for program '%s'", name);
        } else {
            out = grown;
            memcpy(out + len, piece, piece_len);
            len += piece_len;
            if (included && (piece_len == 0 || piece[piece_len - 1] != '\n'))
                out[len++] = '\n';
        }
        free(included);
        line += line_len;
    }
    free(src);
    if (st != WEFT_OK) {
        free(out);
        return st;
    }
    if (!out && !(out = malloc(1)))
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for program '%s'", name);
    out[len] = '\0';
    *text = out;
    *size = len;
    return WEFT_OK;
}

weft_status weft_source_load(const char *name, char **text, size_t *size)
{
    *text = NULL;
    *size = 0;
    return expand(name, 0, text, size);
}
