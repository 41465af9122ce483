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

weft_status weft_source_load(const char *name, char **text, size_t *size)
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
