#include "weft.h"

#ifndef WEFT_VERSION_STRING
#error "WEFT_VERSION_STRING comes from CMake's project() version"
#endif

const char *weft_version(void)
{
    return WEFT_VERSION_STRING;
}
