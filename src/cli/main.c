#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "weft.h"

static const weft_cli_command *const commands[] = {
    &weft_cmd_devices,
    &weft_cmd_selfcheck,
    &weft_cmd_info,
    &weft_cmd_run,
    &weft_cmd_bench,
    &weft_cmd_check,
    &weft_cmd_demo,
    &weft_cmd_compile,
    &weft_cmd_tune,
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: weft COMMAND [OPTIONS]\n"
            "       weft --version | help [COMMAND]\n\n"
            "commands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\n'weft COMMAND --help' describes a command.\n"
                 "Environment: WEFT_DEVICE (device selector), WEFT_CACHE_DIR, WEFT_CACHE=off,\n"
                 "WEFT_CACHE_TRACE=1, WEFT_CL_DIR (kernel sources), WEFT_LOG=info|debug.\n");
    fprintf(out, "WEFT_BUNDLE (a bundle from 'weft compile'), WEFT_BINARY_ONLY=1.\n");
}

int weft_cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int weft_cli_usage_error(const weft_cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    fputs("weft: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (cmd)
        fputs(cmd->usage, stderr);
    else
        print_usage(stderr);
    return WEFT_EXIT_USAGE;
}

int weft_cli_fail(int status)
{
    fprintf(stderr, "weft: %s: %s\n", weft_status_name((weft_status)status), weft_last_error());
    return WEFT_EXIT_FAILURE;
}

static const weft_cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return weft_cli_usage_error(NULL, "no command given");
    const char *first = argv[1];
    if (strcmp(first, "--version") == 0 || strcmp(first, "-V") == 0 ||
        strcmp(first, "version") == 0) {
        if (argc > 2)
            return weft_cli_usage_error(NULL, "unexpected argument '%s'", argv[2]);
        printf("weft %s\n", weft_version());
        return WEFT_EXIT_OK;
    }
    if (weft_cli_is_help(first) || strcmp(first, "help") == 0) {
        if (argc == 2) {
            print_usage(stdout);
            return WEFT_EXIT_OK;
        }
        const weft_cli_command *cmd = find_command(argv[2]);
        if (!cmd || argc > 3)
            return weft_cli_usage_error(NULL, "unknown command '%s'", argv[2]);
        fputs(cmd->usage, stdout);
        return WEFT_EXIT_OK;
    }
    if (first[0] == '-')
        return weft_cli_usage_error(NULL, "unknown option '%s'", first);
    const weft_cli_command *cmd = find_command(first);
    if (!cmd)
        return weft_cli_usage_error(NULL, "unknown command '%s'", first);
    for (int i = 2; i < argc; i++)
        if (weft_cli_is_help(argv[i])) {
            fputs(cmd->usage, stdout);
            return WEFT_EXIT_OK;
        }
    return cmd->run(argc - 1, argv + 1);
}
