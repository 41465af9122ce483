#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/util.h"

int weft_str_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

int weft_str_icontains(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *h = haystack; *h; h++) {
        size_t i = 0;
        while (i < n && h[i] &&
               tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

char *weft_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

char *weft_path_join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *path = malloc(na + nb + 2);
    if (!path)
        return NULL;
    memcpy(path, a, na);
    size_t at = na;
    if (na == 0 || a[na - 1] != '/')
        path[at++] = '/';
    memcpy(path + at, b, nb + 1);
    return path;
}

int weft_mkdirs(const char *path)
{
    char *copy = weft_strdup(path);
    if (!copy)
        return ENOMEM;
    int err = 0;
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
            err = errno;
            break;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    if (!err) {
        struct stat st;
        if (stat(path, &st) != 0)
            err = errno;
        else if (!S_ISDIR(st.st_mode))
            err = ENOTDIR;
    }
    free(copy);
    return err;
}

weft_status weft_file_read(const char *path, size_t max_bytes, char **data,
                           size_t *size)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return weft_fail(WEFT_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    weft_status st = WEFT_OK;
    char *buf = NULL;
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
        st = weft_fail(WEFT_ERR_IO, "cannot seek in '%s'", path);
    } else if ((unsigned long)len > max_bytes) {
        st = weft_fail(WEFT_ERR_IO, "'%s' is %ld bytes, more than the limit of %zu",
                       path, len, max_bytes);
    } else if (!(buf = malloc((size_t)len + 1))) {
        st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the %ld bytes of '%s'",
                       len, path);
    } else if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
        st = weft_fail(WEFT_ERR_IO, "short read of '%s'", path);
    }
    fclose(f);
    if (st != WEFT_OK) {
        free(buf);
        return st;
    }
    buf[len] = '\0';
    *data = buf;
    *size = (size_t)len;
    return WEFT_OK;
}

weft_status weft_file_write_atomic(const char *path, const void *data,
                                   size_t size)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory to write '%s'", path);
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp-XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        weft_status st = weft_fail(WEFT_ERR_IO, "cannot create a temporary file beside '%s': %s",
                                   path, strerror(errno));
        free(tmp);
        return st;
    }
    const char *p = data;
    size_t left = size;
    int err = 0;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            err = errno;
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err && rename(tmp, path) != 0)
        err = errno;
    if (err) {
        unlink(tmp);
        free(tmp);
        return weft_fail(WEFT_ERR_IO, "cannot write '%s': %s", path, strerror(err));
    }
    free(tmp);
    return WEFT_OK;
}

double weft_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
