/*
 * Ahead-of-time bundles: every program binary a session needs on one
 * device, in one file, for devices that cannot compile (FPGA boards,
 * locked-down drivers) and for starts that compile nothing.
 *
 * Layout, integers little-endian:
 *   magic "WEFTBDL\n" | u32 format | u64 file size |
 *   weft version, device name, vendor, driver version, platform version
 *     (each u32 length + bytes, no NUL) |
 *   u32 entry count | per entry: key[32] (the program cache's key),
 *     u64 binary size, binary bytes |
 *   SHA-256 of every byte before it.
 * The file size comes early so a cut file is named as truncated; the
 * digest catches any other damage. Loading checks everything before any
 * entry is used, and refuses the file as a whole.
 */
#ifndef WEFT_RUNTIME_BUNDLE_H
#define WEFT_RUNTIME_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "weft.h"

/* Bump when the layout changes: older bundles are then refused. */
#define WEFT_BUNDLE_FORMAT 1u

typedef struct weft_bundle_entry {
    uint8_t key[32];
    const unsigned char *binary; /* points into the bundle's data */
    size_t size;
} weft_bundle_entry;

typedef struct weft_bundle {
    char *path;
    char *version;               /* weft version that wrote it */
    char *name, *vendor, *driver_version, *platform_version; /* device identity */
    weft_bundle_entry *entries;  /* sorted by key */
    size_t count;
    unsigned char *data;         /* the whole file */
} weft_bundle;

/* Reads and checks a bundle: format, size, digest, bounds, and that
 * this weft version wrote it. WEFT_ERR_IO when the file cannot be read,
 * WEFT_ERR_MODEL_FORMAT when it is not an intact bundle (the message says
 * which check failed), WEFT_ERR_UNSUPPORTED for another weft version or
 * format (both named). The message always names the file. */
weft_status weft_bundle_load(const char *path, weft_bundle **bundle);
void weft_bundle_release(weft_bundle *bundle);

/* True when the bundle was made for a device with this identity (the
 * fields the program cache's key uses). */
int weft_bundle_matches(const weft_bundle *bundle, const weft_device_info *info);

/* The entry of `key`, or NULL. */
const weft_bundle_entry *weft_bundle_find(const weft_bundle *bundle, const uint8_t key[32]);

/* Writes a bundle for device `info` holding `count` entries (in any
 * order; duplicate keys are written once), atomically. WEFT_ERR_IO names
 * the file. *bytes (may be NULL) is the file's size. */
weft_status weft_bundle_write(const char *path, const weft_device_info *info,
                              const weft_bundle_entry *entries, size_t count, uint64_t *bytes);

#endif
