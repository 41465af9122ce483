/* Minimal JSON output helpers for the CLI's --json modes. */
#ifndef WEFT_CLI_JSON_H
#define WEFT_CLI_JSON_H

#include <stdio.h>

/* Writes s as a JSON string literal, quotes included. */
void weft_json_string(FILE *out, const char *s);

#endif
