#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static int configured_level(void)
{
    /* Re-read each time: cheap, and tests may change WEFT_LOG. */
    const char *env = getenv("WEFT_LOG");
    if (!env || !*env)
        return WEFT_LOG_WARN;
    for (int i = 0; i < 4; i++)
        if (weft_str_ieq(env, level_names[i]))
            return i;
    if (weft_str_ieq(env, "off"))
        return -1;
    return WEFT_LOG_WARN;
}

int weft_log_enabled(weft_log_level level)
{
    return (int)level <= configured_level();
}

void weft_log(weft_log_level level, const char *fmt, ...)
{
    if (!weft_log_enabled(level))
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "weft %s: %s\n", level_names[level], line);
}
