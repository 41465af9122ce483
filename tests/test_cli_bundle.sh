#!/bin/sh
# usage: test_cli_bundle.sh WEFT MODEL.onnx INPUT OTHER.onnx
# `weft compile` and the --bundle option of run, bench and check: a bundle
# made from a model serves a run with the disk cache off that compiles
# nothing and prints what a normal run prints; WEFT_BUNDLE does the same;
# in binary-only mode (WEFT_BINARY_ONLY=1) a bundle of two models serves
# both, and a model the bundle lacks fails naming the node and program; a
# damaged bundle, a missing one and usage errors fail with one line.
set -u
weft=$1 model=$2 input=$3 other=$4
tmp=${WEFT_TEST_TMP:-${TMPDIR:-/tmp}/weft-test-cli-bundle}
rm -rf "$tmp" && mkdir -p "$tmp" || exit 1
out=$tmp/stdout err=$tmp/stderr bundle=$tmp/model.weftbin
unset WEFT_DEVICE WEFT_DEVICES WEFT_CL_DIR WEFT_IMPL WEFT_BUNDLE WEFT_CACHE_TRACE WEFT_BINARY_ONLY
. "$(dirname "$0")/cli_lib.sh"

if ! "$weft" devices >/dev/null 2>&1; then
    echo "test_cli_bundle: skipped: no OpenCL device ('weft devices' fails)"
    exit 77
fi

run 0 compile --help && has '^usage: weft compile' 'compile --help'
run 0 help && has '^  compile ' 'help lists compile'
usage_error compile
usage_error compile "$model"
usage_error compile "$model" -o
usage_error compile "$model" -o "$bundle" --bogus
for cmd in run bench check; do
    usage_error "$cmd" "$model" --bundle
    run 0 "$cmd" --help && has '--bundle FILE' "$cmd --help"
done

# ---- compile, then run from the bundle ---------------------------------------
if run 0 compile "$model" -o "$bundle"; then
    has '^device: ' 'compile: device'
    has '^programs: [1-9][0-9]* \([1-9][0-9]* bytes\)$' 'compile: count and bytes'
    has "^wrote $bundle\$" 'compile: file'
    programs=$(sed -n 's/^programs: \([0-9]*\) .*/\1/p' "$out")
    bytes=$(sed -n 's/^programs: [0-9]* (\([0-9]*\) bytes)$/\1/p' "$out")
    [ "$(wc -c <"$bundle")" -eq "$bytes" ] || fail "compile: the file is not $bytes bytes"
else
    programs=0
fi

WEFT_CACHE=off run 0 run "$model" --input "$input" && cp "$out" "$tmp/plain.txt"
if WEFT_CACHE=off WEFT_CACHE_TRACE=1 run 0 run "$model" --input "$input" --bundle "$bundle"; then
    cmp -s "$out" "$tmp/plain.txt" || fail "run --bundle printed another result"
    grep -q ' 0 builds' "$err" || fail "run --bundle compiled programs"
    hits=$(grep -c '^weft cache: bundle hit' "$err")
    [ "$hits" -eq "$programs" ] || fail "run --bundle: $hits bundle hits, expected $programs"
    grep -q "^weft cache: $programs bundle hits from '$bundle'" "$err" ||
        fail "run --bundle: no bundle hit count at the end"
fi
if WEFT_CACHE=off WEFT_CACHE_TRACE=1 WEFT_BUNDLE=$bundle run 0 run "$model" --input "$input"; then
    cmp -s "$out" "$tmp/plain.txt" || fail "WEFT_BUNDLE run printed another result"
    grep -q ' 0 builds' "$err" || fail "WEFT_BUNDLE run compiled programs"
fi
WEFT_CACHE=off run 0 check "$model" --bundle "$bundle"
WEFT_CACHE=off run 0 bench "$model" --bundle "$bundle" --warmup 0 --iters 1

# ---- binary-only mode: only the bundle serves ------------------------------------
WEFT_CACHE=off WEFT_BINARY_ONLY=1 failure "node '.*' \(.*\): device '.*' runs binaries only and has none for program '" \
    run "$model" --input "$input"
if run 0 compile "$model" "$other" -o "$tmp/two.weftbin"; then
    has '^models: 2$' 'compile of two models'
    both=$(sed -n 's/^programs: \([0-9]*\) .*/\1/p' "$out")
    [ "$both" -ge "$programs" ] || fail "two models: $both programs, fewer than one model's $programs"
fi
if WEFT_CACHE=off WEFT_BINARY_ONLY=1 run 0 run "$model" --input "$input" --bundle "$tmp/two.weftbin"; then
    cmp -s "$out" "$tmp/plain.txt" || fail "binary-only run printed another result"
fi
WEFT_CACHE=off WEFT_BINARY_ONLY=1 run 0 check "$other" --bundle "$tmp/two.weftbin"
# A bundle of the other model only lacks programs the first one needs.
if run 0 compile "$other" -o "$tmp/other.weftbin"; then
    WEFT_CACHE=off WEFT_BINARY_ONLY=1 failure "node '.*program '.*not in the bundle" \
        run "$model" --input "$input" --bundle "$tmp/other.weftbin"
fi

# ---- refusals ------------------------------------------------------------------
failure "WEFT_ERR_IO.*cannot read the bundle" run "$model" --input "$input" --bundle "$tmp/missing.weftbin"
head -c 100 "$bundle" >"$tmp/cut.weftbin"
failure "WEFT_ERR_MODEL_FORMAT.*cut.weftbin' refused: truncated" run "$model" --input "$input" --bundle "$tmp/cut.weftbin"
: >"$tmp/empty.weftbin"
failure "refused: the file is empty" check "$model" --bundle "$tmp/empty.weftbin"
failure "refused: not a weft bundle" bench "$model" --bundle "$model"

echo "test_cli_bundle: $checks checks, $failures failures"
[ "$failures" -eq 0 ]
