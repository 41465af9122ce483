/*
 * The `weft` command-line tool: one file per command, each a table entry.
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#ifndef WEFT_CLI_H
#define WEFT_CLI_H

#include <stdio.h>

enum { WEFT_EXIT_OK = 0, WEFT_EXIT_FAILURE = 1, WEFT_EXIT_USAGE = 2 };

typedef struct weft_cli_command {
    const char *name;
    const char *summary;
    const char *usage; /* full --help text */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} weft_cli_command;

extern const weft_cli_command weft_cmd_devices;
extern const weft_cli_command weft_cmd_selfcheck;
extern const weft_cli_command weft_cmd_info;
extern const weft_cli_command weft_cmd_run;
extern const weft_cli_command weft_cmd_bench;
extern const weft_cli_command weft_cmd_check;
extern const weft_cli_command weft_cmd_demo;
extern const weft_cli_command weft_cmd_compile;
extern const weft_cli_command weft_cmd_tune;

/* Prints "weft: <message>" and the command's usage to stderr; returns 2. */
int weft_cli_usage_error(const weft_cli_command *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* True for -h and --help. */
int weft_cli_is_help(const char *arg);
/* Prints "weft: <status name>: <last error>" to stderr; returns 1. */
int weft_cli_fail(int status);

#endif
