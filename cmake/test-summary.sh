#!/bin/sh
# usage: test-summary.sh BUILD_DIR... — the closing lines of `make test`.
# Reads the ctest.log each `make test` step leaves in its build folder, prints
# a line per folder and then "test: N passed, N failed[, N skipped]". A folder
# without a finished ctest.log (its build failed, or ctest was stopped)
# counts as one failure. Exits 1 when anything failed.
set -u
passed=0 failed=0 skipped=0
echo "== summary"
for dir; do
    log=$dir/ctest.log
    line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" 2>/dev/null | tail -n 1)
    if [ -z "$line" ]; then
        echo "$dir/: no ctest result (the build or ctest failed before the end)"
        failed=$((failed + 1))
        continue
    fi
    total=$(echo "$line" | sed -E 's/.* out of ([0-9]+).*/\1/')
    nfail=$(echo "$line" | sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/')
    nskip=$(grep -cE '^[[:space:]]*[0-9]+ - .* \(Skipped\)$' "$log")
    secs=$(sed -nE 's/^Total Test time \(real\) = *([0-9.]+) sec.*/\1/p' "$log" | tail -n 1)
    npass=$((total - nfail - nskip))
    echo "$dir/: $total tests, $npass passed, $nfail failed, $nskip skipped (${secs:-?} s)"
    # The ONNX node conformance count of tests/test_conformance.c.
    [ -f "$dir/conformance.txt" ] && echo "$dir/: $(cat "$dir/conformance.txt")"
    passed=$((passed + npass)) failed=$((failed + nfail)) skipped=$((skipped + nskip))
done
if [ -n "${WEFT_TEST_SECONDS:-}" ]; then
    echo "make test took $((WEFT_TEST_SECONDS / 60)) min $((WEFT_TEST_SECONDS % 60)) s"
fi
if [ "$skipped" -gt 0 ]; then
    echo "test: $passed passed, $failed failed, $skipped skipped"
else
    echo "test: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
