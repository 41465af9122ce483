/*
 * Device discovery and selection. Enumeration asks every platform for
 * every device; selection is a pure function over the resulting table, so
 * its rules are tested with made-up tables as well as real devices.
 */
#ifndef WEFT_RUNTIME_DEVICE_H
#define WEFT_RUNTIME_DEVICE_H

#include "runtime/cl.h"
#include "weft.h"

typedef struct weft_cl_device {
    cl_platform_id platform;
    cl_device_id device;
    weft_device_info info;
} weft_cl_device;

/* Every device of every platform that answers; *devices is malloc'd.
 * WEFT_ERR_NO_DEVICE (with install advice) when there is none. */
weft_status weft_devices_enumerate(weft_cl_device **devices, size_t *count);

/* Chooses a device by selector (see weft_context_options.device; NULL or
 * "" means "auto"). WEFT_ERR_NO_DEVICE lists the devices when nothing
 * matches; WEFT_ERR_INVALID_ARGUMENT for a malformed selector. */
weft_status weft_device_select(const weft_device_info *infos, size_t count,
                               const char *selector, size_t *chosen);

/* A comma-separated list of selectors ("gpu,cpu", "0,1"), each resolved by
 * weft_device_select, in the order given: the preference order of
 * placement. *chosen is malloc'd. A device named twice, or an empty item,
 * is WEFT_ERR_INVALID_ARGUMENT; an item matching no device is
 * WEFT_ERR_NO_DEVICE naming that item. NULL or "" gives the one best
 * device. */
weft_status weft_device_select_list(const weft_device_info *infos, size_t count,
                                    const char *selectors, size_t **chosen, size_t *chosen_count);

#endif
