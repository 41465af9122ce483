#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/json.h"
#include "runtime/device.h"
#include "weft.h"

static const char usage[] =
    "usage: weft devices [--json]\n\n"
    "Lists every OpenCL device. '*' marks the device weft chooses by default\n"
    "(WEFT_DEVICE, else a GPU, then an accelerator, then a CPU; among equals\n"
    "the most compute units x clock). The index, P:D or a name substring\n"
    "selects a device: WEFT_DEVICE=1, WEFT_DEVICE=0:1, WEFT_DEVICE=pthread.\n\n"
    "  --json   one JSON object per device, in an array\n";

static void print_mib(char *buf, size_t cap, uint64_t bytes)
{
    if (bytes >= (uint64_t)1 << 30)
        snprintf(buf, cap, "%.1fG", (double)bytes / (1 << 30));
    else if (bytes >= 1 << 20)
        snprintf(buf, cap, "%.0fM", (double)bytes / (1 << 20));
    else
        snprintf(buf, cap, "%.0fK", (double)bytes / 1024);
}

static void print_table(const weft_device_info *infos, size_t count, size_t chosen)
{
    printf("  #  P:D  %-11s %-36s %4s %5s %7s %6s %7s %5s %4s %4s %4s  %s\n", "TYPE", "NAME",
           "CU", "MHz", "GLOBAL", "LOCAL", "ALLOC", "WG", "FP16", "FP64", "CC", "OPENCL / DRIVER / PLATFORM");
    for (size_t i = 0; i < count; i++) {
        const weft_device_info *d = &infos[i];
        char global[16], local[16], alloc[16], pd[16];
        print_mib(global, sizeof global, d->global_mem_bytes);
        print_mib(local, sizeof local, d->local_mem_bytes);
        print_mib(alloc, sizeof alloc, d->max_alloc_bytes);
        snprintf(pd, sizeof pd, "%u:%u", d->platform_index, d->device_index);
        printf("%c%2zu  %-4s %-11s %-36.36s %4u %5u %7s %6s %7s %5zu %4s %4s %4s  %s / %s / %s\n",
               i == chosen ? '*' : ' ', i, pd, weft_device_type_name(d->type), d->name,
               d->compute_units, d->clock_mhz, global, local, alloc, d->max_work_group_size,
               d->fp16 ? "yes" : "no", d->fp64 ? "yes" : "no",
               d->compiler_available ? "yes" : "no", d->opencl_version, d->driver_version,
               d->platform_name);
    }
}

static void json_field(const char *name, const char *value, int last)
{
    printf("    \"%s\": ", name);
    weft_json_string(stdout, value);
    printf("%s\n", last ? "" : ",");
}

static void print_json(const weft_device_info *infos, size_t count, size_t chosen)
{
    printf("[\n");
    for (size_t i = 0; i < count; i++) {
        const weft_device_info *d = &infos[i];
        printf("  {\n    \"index\": %zu,\n    \"platform_index\": %u,\n"
               "    \"device_index\": %u,\n    \"default\": %s,\n",
               i, d->platform_index, d->device_index, i == chosen ? "true" : "false");
        json_field("type", weft_device_type_name(d->type), 0);
        json_field("name", d->name, 0);
        json_field("vendor", d->vendor, 0);
        json_field("platform", d->platform_name, 0);
        json_field("platform_version", d->platform_version, 0);
        json_field("driver_version", d->driver_version, 0);
        json_field("opencl_version", d->opencl_version, 0);
        json_field("opencl_c_version", d->opencl_c_version, 0);
        printf("    \"compute_units\": %u,\n    \"clock_mhz\": %u,\n"
               "    \"global_mem_bytes\": %llu,\n    \"local_mem_bytes\": %llu,\n"
               "    \"max_alloc_bytes\": %llu,\n    \"max_work_group_size\": %zu,\n"
               "    \"fp16\": %s,\n    \"fp64\": %s,\n    \"compiler_available\": %s\n  }%s\n",
               d->compute_units, d->clock_mhz, (unsigned long long)d->global_mem_bytes,
               (unsigned long long)d->local_mem_bytes, (unsigned long long)d->max_alloc_bytes,
               d->max_work_group_size, d->fp16 ? "true" : "false", d->fp64 ? "true" : "false",
               d->compiler_available ? "true" : "false", i + 1 < count ? "," : "");
    }
    printf("]\n");
}

static int run(int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else
            return weft_cli_usage_error(&weft_cmd_devices, "unknown option '%s'", argv[i]);
    }
    size_t count = 0;
    weft_status st = weft_device_count(&count);
    if (st != WEFT_OK)
        return weft_cli_fail(st);
    weft_device_info *infos = calloc(count, sizeof *infos);
    if (!infos) {
        fprintf(stderr, "weft: out of memory\n");
        return WEFT_EXIT_FAILURE;
    }
    for (size_t i = 0; i < count && st == WEFT_OK; i++)
        st = weft_device_get_info(i, &infos[i]);
    size_t chosen = count; /* none marked when WEFT_DEVICE matches nothing */
    if (st == WEFT_OK && weft_device_select(infos, count, getenv("WEFT_DEVICE"), &chosen) != WEFT_OK)
        chosen = count;
    if (st == WEFT_OK) {
        if (json)
            print_json(infos, count, chosen);
        else
            print_table(infos, count, chosen);
    }
    free(infos);
    return st == WEFT_OK ? WEFT_EXIT_OK : weft_cli_fail(st);
}

const weft_cli_command weft_cmd_devices = {"devices", "list the OpenCL devices", usage, run};
