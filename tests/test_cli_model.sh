#!/bin/sh
# usage: test_cli_model.sh WEFT DATA_DIR DIGITS_DIR
# The model commands of `weft` (info, run, bench, check, demo) on the small
# models of tests/data/cli (gen_cli_models.py) and the digits demo model:
# exit codes (0 ok, 1 failure, 2 usage error), one-line errors, the
# content of each report, .npy and JSON outputs, and `weft check` finding a
# kernel made wrong on purpose (a copy of cl/eltwise.cl whose ReLU adds
# 0.25, through WEFT_CL_DIR). Run by ctest with WEFT_CACHE_DIR set.
set -u
weft=$1 data=$2 digits=$3
tmp=${WEFT_TEST_TMP:-${TMPDIR:-/tmp}/weft-test-cli-model}
rm -rf "$tmp" && mkdir -p "$tmp" || exit 1
out=$tmp/stdout err=$tmp/stderr
two=$data/two_inputs.onnx one=$data/one_input.onnx
unset WEFT_DEVICE WEFT_CL_DIR WEFT_IMPL
. "$(dirname "$0")/cli_lib.sh"

if ! "$weft" devices >/dev/null 2>&1; then
    echo "test_cli_model: skipped: no OpenCL device ('weft devices' fails)"
    exit 77
fi

# ---- help and usage errors --------------------------------------------------
for cmd in info run bench check demo; do
    run 0 "$cmd" --help && has "^usage: weft $cmd" "weft $cmd --help"
    run 0 help "$cmd" && has "^usage: weft $cmd" "weft help $cmd"
    usage_error "$cmd" --bogus
done
run 0 help && has '^  info ' 'weft help lists info'
for cmd in info run bench check; do
    usage_error "$cmd"
    usage_error "$cmd" "$two" "$two"
    usage_error "$cmd" "$two" --device
done
usage_error run "$two" --input
usage_error run "$two" --output-dir
usage_error bench "$two" --iters 0
usage_error bench "$two" --iters x
usage_error bench "$two" --warmup -1
usage_error bench "$two" --json
usage_error demo a b

# ---- failures: one line, exit 1 ------------------------------------------------
failure "WEFT_ERR_IO.*no-such.onnx" info "$tmp/no-such.onnx"
failure "WEFT_ERR_IO.*no-such.onnx" run "$tmp/no-such.onnx"
failure "WEFT_ERR_IO.*no-such.onnx" bench "$tmp/no-such.onnx"
failure "WEFT_ERR_IO.*no-such.onnx" check "$tmp/no-such.onnx"
printf 'not a model' >"$tmp/junk.onnx"
failure "WEFT_ERR_MODEL_FORMAT" info "$tmp/junk.onnx"
# (the library's message goes on to list the devices)
if run 1 info "$two" --device nomatch; then
    grep -q "^weft: WEFT_ERR_NO_DEVICE: .*'nomatch'" "$err" || fail "info --device nomatch"
fi
failure "input 'y' .* is not given" run "$two" --input "x=$data/x.npy"
failure "names no model input" run "$two" --input "z=$data/x.npy"
failure "names no model input" run "$two" --input "$data/x.npy"
failure "given twice" run "$two" --input "x=$data/x.npy" --input "x=$data/x.npy" \
    --input "y=$data/y.npy"
failure "WEFT_ERR_IO.*missing.npy" run "$one" --input "$tmp/missing.npy"
# Raw float32 of the wrong size, and a .npy of the wrong shape.
head -c 100 /dev/zero >"$tmp/short.raw"
failure "WEFT_ERR_SHAPE.*100 bytes of raw float32.*384 bytes" run "$one" --input "$tmp/short.raw"
printf '\223NUMPY\001\000\020\000{"descr": 1}    \n' >"$tmp/bad.npy"
failure "WEFT_ERR_INVALID_ARGUMENT.*bad.npy: malformed .npy header" run "$one" --input "$tmp/bad.npy"
head -c 228 "$data/x.npy" >"$tmp/trunc.npy"
failure "WEFT_ERR_INVALID_ARGUMENT.*trunc.npy: .npy data is 100 bytes.*needs 384" run "$one" --input "$tmp/trunc.npy"
failure "WEFT_ERR_IO.*digits_test.bin" demo "$tmp"

# ---- info -----------------------------------------------------------------------
# A session that cannot be created: the model is still described, then the
# error (one line), exit 1.
export WEFT_IMPL=relu:nonesuch
if run 1 info "$two"; then
    has '^nodes: 8$' 'info when no session can be made'
    [ "$(wc -l <"$err")" -eq 1 ] && grep -q "^weft: .*'nonesuch'" "$err" ||
        fail "info with WEFT_IMPL=relu:nonesuch: not one error line naming it"
fi
unset WEFT_IMPL
if run 0 info "$two"; then
    has '^inputs:' 'info'
    has '^  x +float32 +\[1,6,4,4\]' 'info: input x'
    has '^  y +float32 +\[1,6,4,4\]' 'info: input y'
    has '^  probs +float32 +\[1,6\]' 'info: output'
    has '^nodes: 8$' 'info: node count'
    has '^  Add +2$' 'info: two Adds'
    has '^  BatchNormalization +1$' 'info: one BatchNormalization'
    # shift 6 + four BatchNormalization vectors of 6
    has '^parameters: 30$' 'info: parameters'
    has '^MACs per run: 0$' 'info: MACs'
    has '^device: ' 'info: device'
    has '^ +7 +softmax +Softmax +softmax +\[1,6\] ' 'info: placement of the softmax'
fi
if run 0 info "$digits/digits.onnx"; then
    # Conv MACs: 8x8x16 outputs x 9 (stem), x 144 (block_a, block_b), 4x4x32
    # x 144 (head); Gemm 32 x 10: 9216 + 2 x 147456 + 73728 + 320.
    has '^MACs per run: 378176 ' 'info digits: MACs'
    # Conv weights and biases, BatchNormalization, Gemm:
    # 144+16 + 2x(2304+16) + 4x16 + 4608+32 + 320+10
    has '^parameters: 9834 ' 'info digits: parameters'
    has '^  Conv +4$' 'info digits: four Convs'
fi

# ---- run ------------------------------------------------------------------------
if run 0 run "$two" --input "x=$data/x.npy" --input "y=$data/y.npy" --output-dir "$tmp/out"; then
    has '^probs: float32\[1,6\]  min [0-9.e-]+  max [0-9.e-]+  mean 0.166667$' 'run: summary'
    has '^  top-5: [0-5] \(' 'run: top-5'
    [ -f "$tmp/out/probs.npy" ] || fail "run: no $tmp/out/probs.npy"
    # numpy computes the same model (gen_cli_models.py) independently.
    if /usr/bin/python3 -c 'import numpy, onnx' 2>/dev/null; then
        py=/usr/bin/python3
    elif python3 -c 'import numpy, onnx' 2>/dev/null; then
        py=python3
    else
        py=
        echo "note: no python3 with numpy and onnx: run's output is not recomputed" >&2
    fi
    if [ -n "$py" ] && ! "$py" - "$two" "$data" "$tmp/out/probs.npy" >"$tmp/py.log" 2>&1 <<'EOF'; then
import sys
import numpy as np
import onnx
from onnx import numpy_helper
model = onnx.load(sys.argv[1])
w = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
x = np.load(sys.argv[2] + "/x.npy").astype(np.float64)
y = np.load(sys.argv[2] + "/y.npy").astype(np.float64)
r = np.maximum(x + y + w["shift"], 0)
p = r.reshape(1, 6, 2, 2, 2, 2).max(axis=(3, 5))
c = lambda k: w[k].reshape(1, 6, 1, 1)
n = (p - c("bn_mean")) / np.sqrt(c("bn_var") + 1e-5) * c("bn_scale") + c("bn_bias")
g = n.mean(axis=(2, 3))
e = np.exp(g - g.max())
want = e / e.sum()
got = np.load(sys.argv[3])
assert got.dtype == np.float32 and got.shape == (1, 6), (got.dtype, got.shape)
err = np.abs(got - want).max()
assert err <= 1e-5, f"max |err| {err}: {got} vs {want}"
EOF
        fail "run: probs.npy differs from numpy's result ($(tail -n 1 "$tmp/py.log"))"
    fi
fi
# One-input model: "--input FILE", a raw float32 file.
if [ -n "${py:-}" ]; then
    "$py" -c "import numpy as np; np.load('$data/x.npy').tofile('$tmp/x.raw')"
    if run 0 run "$one" --input "$tmp/x.raw"; then
        has '^probs: float32\[1,6\]' 'run raw input'
    fi
fi
if run 0 run "$one" --input "x=$data/x.npy"; then
    has '^  top-5: ' 'run one input'
fi

# ---- bench ----------------------------------------------------------------------
if run 0 bench "$two" --warmup 1 --iters 5 --per-layer --json "$tmp/bench.json" \
    --trace "$tmp/trace.json"; then
    has '^latency: median [0-9.]+ ms, min [0-9.]+ ms, max [0-9.]+ ms$' 'bench: latency'
    has '^throughput: [0-9.]+ inferences/s \(batch 1\)$' 'bench: throughput'
    has '^  NODE +OP +IMPL +TIME ms +SHARE +GFLOP/s$' 'bench: per-layer header'
    has '^  softmax +Softmax +softmax +[0-9.]+ +[0-9.]+% +[0-9.]+$' 'bench: per-layer row'
    has '^  total .* 100.0%$' 'bench: per-layer total'
    [ -s "$err" ] && fail "bench: stderr is not a terminal, yet something was written to it"
    if [ -n "${py:-}" ] && ! "$py" - "$tmp/bench.json" "$tmp/trace.json" >"$tmp/py.log" 2>&1 <<'EOF'; then
import json, sys
b = json.load(open(sys.argv[1]))
assert b["iters"] == 5 and b["warmup"] == 1 and len(b["runs_ms"]) == 5, b
lat = b["latency_ms"]
assert lat["min"] <= lat["median"] <= lat["max"], lat
assert len(b["layers"]) == 8, len(b["layers"])
assert {l["op"] for l in b["layers"]} >= {"Add", "Relu", "MaxPool", "Softmax"}
assert abs(sum(l["share"] for l in b["layers"]) - 1) < 1e-3
t = json.load(open(sys.argv[2]))
ev = [e for e in t["traceEvents"] if e["ph"] == "X"]
assert len([e for e in ev if e["cat"] == "run"]) == 5
assert len([e for e in ev if e["tid"] == 2]) == 5 * 8
assert all(e["dur"] >= 0 and e["ts"] >= 0 for e in ev)
EOF
        fail "bench --json/--trace: unexpected content ($(tail -n 1 "$tmp/py.log"))"
    fi
fi
# On a terminal (util-linux script gives one), a progress line on stderr.
if command -v script >/dev/null 2>&1; then
    checks=$((checks + 1))
    script -qc "'$weft' bench '$one' --warmup 1 --iters 3 >/dev/null" /dev/null >"$err" 2>&1
    grep -q 'bench: timed run 3/3' "$err" || fail "bench on a terminal: no progress line"
else
    echo "note: no 'script' command: bench's progress line on a terminal is not checked" >&2
fi
if run 0 bench "$one" --iters 3; then
    grep -q 'per layer' "$out" && fail "bench without --per-layer printed the table"
fi

# ---- check ----------------------------------------------------------------------
if run 0 check "$two"; then
    has '^inputs: random in \[-1, 1\) \(seed 1\)$' 'check: random inputs'
    has '^ +4 +bn +BatchNormalization +batch_norm +[0-9.e-]+ +ok$' 'check: the bn row'
    has '^all 8 nodes match the reference' 'check: verdict'
fi
if run 0 check "$two" --input "x=$data/x.npy" --input "y=$data/y.npy"; then
    has '^inputs: from files$' 'check with files'
fi
if run 0 check "$digits/digits.onnx"; then
    has '^all 15 nodes match the reference' 'check digits'
fi
# A ReLU that adds 0.25: check must name the relu node as the first to
# diverge, and pass the two Adds before it.
mkdir -p "$tmp/badcl"
sed 's/return fmax(x, 0.0f);/return fmax(x, 0.0f) + 0.25f;/' \
    "$(dirname "$0")/../cl/eltwise.cl" >"$tmp/badcl/eltwise.cl"
if grep -q '0.25f' "$tmp/badcl/eltwise.cl"; then
    export WEFT_CL_DIR="$tmp/badcl" WEFT_CACHE=off
    if run 1 check "$two"; then
        has '^ +1 +add_shift +Add .* ok$' 'check with a wrong ReLU: the Add before it'
        has "^first divergence: node 'relu' \(Relu, implementation unary\), output 'relu' element \[0,0,0,0\]" \
            'check with a wrong ReLU: the first divergence'
        has 'DIVERGES' 'check with a wrong ReLU'
    fi
    unset WEFT_CL_DIR WEFT_CACHE
else
    fail "cl/eltwise.cl no longer has 'return fmax(x, 0.0f);': update this test's sabotage"
fi

# ---- demo -----------------------------------------------------------------------
if run 0 demo "$digits"; then
    has '^device: ' 'demo: device'
    has '^accuracy \(weft\): +[0-9]+/[0-9]+ = [0-9.]+%$' 'demo: accuracy'
    has '^the accuracy matches PyTorch' 'demo: verdict'
    has '^latency per image: median [0-9.]+ ms' 'demo: latency'
fi

# ---- tune -----------------------------------------------------------------------
# A few seconds of tuning on the digits model (its own cache folder): the
# per-node report, a second run finding the results in the cache, export
# and import, a file for another device refused, bench marking tuned nodes.
usage_error tune
usage_error tune "$digits/digits.onnx" --budget soon
usage_error tune "$digits/digits.onnx" --frobnicate
saved_cache=${WEFT_CACHE_DIR:-}
export WEFT_CACHE_DIR="$tmp/tune-cache"
if run 0 tune "$digits/digits.onnx" --budget 15 --export "$tmp/tuning.txt"; then
    has '^device: ' 'tune: device'
    has "^Conv '/stem/stem.0/Conv' \[1,1,8,8\] \[16,1,3,3\]c \[16\]c: " 'tune: a node with its shapes'
    has '^  direct +- ' 'tune: the default candidate of a Conv'
    has '^6 distinct nodes with several candidates: [0-9]+ tuned, 0 from the cache, [0-9]+ left untuned' \
        'tune: the summary'
    has "^exported the tuning cache to '" 'tune: export'
fi
if run 0 tune "$digits/digits.onnx" --budget 0; then
    has '^6 distinct nodes with several candidates: 0 tuned, [0-9]+ from the cache' 'tune again: cached'
fi
# (Nodes whose candidates all ran within the budget have results: at least
# the first unless the device compiles very slowly.)
if grep -Eq '^[0-9a-f]{64} ' "$tmp/tuning.txt" 2>/dev/null; then
    if run 0 bench "$digits/digits.onnx" --per-layer --iters 2 --warmup 1; then
        has '\*' 'bench --per-layer: a tuned node marked'
    fi
    export WEFT_CACHE_DIR="$tmp/tune-cache-2"
    if run 0 tune --import "$tmp/tuning.txt"; then
        has "^imported '" 'tune --import'
    fi
    sed 's/^device .*/device Some Other Device/' "$tmp/tuning.txt" >"$tmp/other.txt"
    failure 'WEFT_ERR_IO.*another device' tune --import "$tmp/other.txt"
fi
failure 'WEFT_ERR_IO' tune --import "$tmp/no-such-file.txt"
if [ -n "$saved_cache" ]; then export WEFT_CACHE_DIR="$saved_cache"; else unset WEFT_CACHE_DIR; fi

echo "test_cli_model: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
