/* Status names, strings and the per-thread last-error message. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

static _Thread_local char last_error[WEFT_ERROR_CAPACITY];

const char *weft_status_name(weft_status status)
{
    switch (status) {
#define WEFT_STATUS_NAME_(name, value, text) \
    case WEFT_##name:                        \
        return "WEFT_" #name;
        WEFT_STATUS_MAP(WEFT_STATUS_NAME_)
#undef WEFT_STATUS_NAME_
    }
    return "WEFT_UNKNOWN_STATUS";
}

const char *weft_status_string(weft_status status)
{
    switch (status) {
#define WEFT_STATUS_TEXT_(name, value, text) \
    case WEFT_##name:                        \
        return text;
        WEFT_STATUS_MAP(WEFT_STATUS_TEXT_)
#undef WEFT_STATUS_TEXT_
    }
    return "unknown status";
}

const char *weft_last_error(void)
{
    return last_error;
}

static void append_v(const char *fmt, va_list ap)
{
    size_t used = strlen(last_error);
    if (used + 1 >= sizeof last_error)
        return;
    int n = vsnprintf(last_error + used, sizeof last_error - used, fmt, ap);
    if (n >= 0 && (size_t)n >= sizeof last_error - used) {
        static const char note[] = "\n[message truncated]";
        memcpy(last_error + sizeof last_error - sizeof note, note, sizeof note);
    }
}

weft_status weft_fail(weft_status status, const char *fmt, ...)
{
    va_list ap;
    last_error[0] = '\0';
    va_start(ap, fmt);
    append_v(fmt, ap);
    va_end(ap);
    return status;
}

void weft_fail_append(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    append_v(fmt, ap);
    va_end(ap);
}
