# Shared by the shell tests of the `weft` command line (sourced, after the
# test sets weft, out and err): running weft and checking what it printed.
# Each check counts in $checks; each failure prints the outputs and counts
# in $failures.
failures=0 checks=0

fail() {
    echo "FAIL: $*" >&2
    for f in "$out" "$err"; do
        echo "--- $(basename "$f"):" >&2
        sed -n '1,40p' "$f" >&2
    done
    failures=$((failures + 1))
}

# run EXPECTED_STATUS ARGS...: runs weft, output in $out and $err.
run() {
    want=$1
    shift
    checks=$((checks + 1))
    "$weft" "$@" >"$out" 2>"$err"
    status=$?
    if [ "$status" -ne "$want" ]; then
        fail "weft $* exited $status, expected $want"
        return 1
    fi
    return 0
}

# has PATTERN DESCRIPTION: stdout matches the extended regex PATTERN.
has() {
    grep -Eq -- "$1" "$out" || fail "$2: stdout lacks /$1/"
}

# usage_error ARGS...: exit 2, nothing on stdout, stderr is one line
# "weft: ..." followed by a usage text.
usage_error() {
    run 2 "$@" || return
    if [ -s "$out" ]; then
        fail "weft $*: a usage error printed to stdout"
    elif ! sed -n 1p "$err" | grep -q '^weft: .'; then
        fail "weft $*: stderr does not start with a 'weft: ...' error line"
    elif ! sed -n 2p "$err" | grep -q '^usage: weft'; then
        fail "weft $*: the error line is not followed by the usage"
    fi
}

# failure PATTERN ARGS...: exit 1 with exactly one stderr line "weft: ..."
# matching PATTERN.
failure() {
    pattern=$1
    shift
    run 1 "$@" || return
    if [ "$(wc -l <"$err")" -ne 1 ]; then
        fail "weft $*: the error is not one line"
    elif ! grep -Eq -- "^weft: .*$pattern" "$err"; then
        fail "weft $*: stderr lacks /$pattern/"
    fi
}
