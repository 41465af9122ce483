#!/bin/sh
# usage: test_cli.sh WEFT VERSION
# The `weft` command line: exit codes (0 ok, 1 failure, 2 usage error),
# usage and error text, the device table and JSON against clinfo, and the
# self-check. Run by ctest with WEFT_CACHE_DIR set to a folder of its own.
set -u
weft=$1 version=$2
tmp=${WEFT_TEST_TMP:-${TMPDIR:-/tmp}/weft-test-cli}
rm -rf "$tmp" && mkdir -p "$tmp" || exit 1
out=$tmp/stdout err=$tmp/stderr
# A disk cache of its own, so the second selfcheck below must hit it.
export WEFT_CACHE_DIR="$tmp/cache"
unset WEFT_CACHE WEFT_DEVICE
. "$(dirname "$0")/cli_lib.sh"

# help_text ARGS... -- PATTERN: exit 0 with usage text matching PATTERN on stdout.
help_text() {
    pattern=$1
    shift
    run 0 "$@" || return
    if ! grep -q "$pattern" "$out"; then
        fail "weft $*: stdout lacks '$pattern'"
    elif [ -s "$err" ]; then
        fail "weft $*: help wrote to stderr"
    fi
}

# ---- version, help, usage errors --------------------------------------
if run 0 --version; then
    [ "$(cat "$out")" = "weft $version" ] || fail "weft --version: expected 'weft $version'"
fi
help_text '^usage: weft COMMAND' help
help_text '^usage: weft COMMAND' --help
help_text '^usage: weft devices' devices --help
help_text '^usage: weft selfcheck' selfcheck --help
help_text '^usage: weft devices' help devices

usage_error frobnicate
usage_error devices --bogus
usage_error selfcheck --bogus
usage_error --bogus
usage_error
usage_error selfcheck --device

# ---- devices, compared with clinfo -------------------------------------
# Device names as clinfo lists them ("  `-- Device #0: NAME"), one a line.
names=$tmp/clinfo-names
if command -v clinfo >/dev/null 2>&1; then
    clinfo -l 2>/dev/null | sed -n 's/^.*Device #[0-9][0-9]*: //p' >"$names"
else
    echo "note: clinfo not found, device names not compared" >&2
    : >"$names"
fi

if command -v clinfo >/dev/null 2>&1 && [ ! -s "$names" ]; then
    # No OpenCL device here: only the clean failure can be checked.
    if run 1 devices && ! grep -q 'WEFT_ERR_NO_DEVICE' "$err"; then
        fail "weft devices without any device: no WEFT_ERR_NO_DEVICE message"
    fi
    echo "test_cli: no OpenCL device, so only $checks checks ran ($failures failed)"
    [ "$failures" -eq 0 ] && exit 77
    exit 1
fi

if run 0 devices; then
    grep -q '^  #  P:D  TYPE' "$out" || fail "weft devices: no table header"
    grep -q '^\*' "$out" || fail "weft devices: no row marked '*' as the default"
    # The NAME column holds 36 characters.
    while IFS= read -r name; do
        short=$(printf '%.36s' "$name")
        grep -qF -- "$short" "$out" || fail "weft devices: clinfo's device '$name' is missing"
    done <"$names"
fi

if run 0 devices --json; then
    if ! python3 -m json.tool "$out" >/dev/null 2>"$err"; then
        fail "weft devices --json: not valid JSON"
    elif ! python3 - "$out" "$names" 2>"$err" <<'EOF'; then
import json, sys
devices = json.load(open(sys.argv[1]))
expected = [l.rstrip("\n") for l in open(sys.argv[2]) if l.strip()]
keys = {"index": int, "platform_index": int, "device_index": int, "default": bool,
        "type": str, "name": str, "vendor": str, "platform": str,
        "platform_version": str, "driver_version": str, "opencl_version": str,
        "opencl_c_version": str, "compute_units": int, "clock_mhz": int,
        "global_mem_bytes": int, "local_mem_bytes": int, "max_alloc_bytes": int,
        "max_work_group_size": int, "fp16": bool, "fp64": bool,
        "compiler_available": bool}
assert isinstance(devices, list) and devices, "not a non-empty array"
for i, d in enumerate(devices):
    missing = sorted(set(keys) - set(d))
    assert not missing, f"device {i} lacks {missing}"
    for k, t in keys.items():
        assert type(d[k]) is t, f"device {i}: {k} is {type(d[k]).__name__}, not {t.__name__}"
    assert d["index"] == i, f"device {i} has index {d['index']}"
    assert d["type"] in ("GPU", "ACCELERATOR", "CPU", "OTHER"), d["type"]
    assert d["compute_units"] > 0 and d["global_mem_bytes"] > 0, f"device {i}: empty sizes"
assert sum(d["default"] for d in devices) == 1, "not exactly one default device"
names = [d["name"] for d in devices]
for n in expected:
    assert n in names, f"clinfo's device {n!r} not in {names}"
EOF
        fail "weft devices --json: unexpected content ($(tail -n 1 "$err"))"
    fi
fi

# ---- selfcheck ------------------------------------------------------------
export WEFT_DEVICE=nomatch
if run 1 selfcheck; then
    grep -q "nomatch" "$err" || fail "WEFT_DEVICE=nomatch selfcheck: the selector is not named"
    while IFS= read -r name; do
        grep -qF -- "$name" "$err" ||
            fail "WEFT_DEVICE=nomatch selfcheck: device '$name' not listed"
    done <"$names"
fi
unset WEFT_DEVICE
run 1 selfcheck --device nomatch

if run 0 selfcheck; then
    grep -q '^self-check passed' "$out" || fail "weft selfcheck: no 'self-check passed' line"
fi
# Again, now from the disk cache filled by the run above.
if run 0 selfcheck; then
    grep -q 'programs 0 built' "$out" || fail "weft selfcheck: the second run did not use the disk cache"
fi

echo "test_cli: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
