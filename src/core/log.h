/*
 * Diagnostic log on stderr. The level comes from WEFT_LOG (error, warn,
 * info, debug; default warn), read once.
 */
#ifndef WEFT_CORE_LOG_H
#define WEFT_CORE_LOG_H

#include "core/error.h"

typedef enum weft_log_level {
    WEFT_LOG_ERROR = 0,
    WEFT_LOG_WARN = 1,
    WEFT_LOG_INFO = 2,
    WEFT_LOG_DEBUG = 3
} weft_log_level;

int weft_log_enabled(weft_log_level level);
void weft_log(weft_log_level level, const char *fmt, ...) WEFT_PRINTF(2, 3);

#endif
