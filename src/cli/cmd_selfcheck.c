#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/util.h"
#include "weft.h"

static const char usage[] =
    "usage: weft selfcheck [--device SEL]\n\n"
    "Builds every kernel program weft embeds for one device (through the\n"
    "program cache) and checks a few kernels against plain C on random data.\n\n"
    "  --device SEL   device selector (default: WEFT_DEVICE, else auto);\n"
    "                 see 'weft devices --help'\n";

static int run(int argc, char **argv)
{
    weft_context_options options;
    weft_context_options_defaults(&options);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            options.device = argv[++i];
        else if (strcmp(argv[i], "--device") == 0)
            return weft_cli_usage_error(&weft_cmd_selfcheck, "--device needs a selector");
        else
            return weft_cli_usage_error(&weft_cmd_selfcheck, "unknown option '%s'", argv[i]);
    }
    double t0 = weft_now_ms();
    weft_context *ctx;
    weft_status st = weft_context_create(&options, &ctx);
    if (st != WEFT_OK)
        return weft_cli_fail(st);
    weft_device_info info;
    weft_context_device_info(ctx, 0, &info);
    printf("device: %s (%s, %s, %u compute units)\n", info.name,
           weft_device_type_name(info.type), info.platform_name, info.compute_units);
    st = weft_context_self_check(ctx, 0);
    double t1 = weft_now_ms();
    weft_cache_stats stats;
    weft_context_cache_stats(ctx, &stats);
    int rc;
    if (st == WEFT_OK) {
        printf("self-check passed in %.0f ms: programs %llu built, %llu from the disk cache; "
               "axpy and sum correct on 1 to 65537 elements\n",
               t1 - t0, (unsigned long long)stats.builds, (unsigned long long)stats.disk_hits);
        rc = WEFT_EXIT_OK;
    } else {
        rc = weft_cli_fail(st);
    }
    weft_context_release(ctx);
    return rc;
}

const weft_cli_command weft_cmd_selfcheck = {"selfcheck",
                                             "build the kernels and check them on a device",
                                             usage, run};
