#!/bin/sh
# usage: run_oclgrind.sh OCLGRIND LOGFILE PROGRAM [ARGS...]
# Runs PROGRAM under oclgrind's API, data-race and uninitialised-memory
# checks. oclgrind 21.10 exits 0 even when it reports an error, so any
# text in its log fails the test.
set -u
oclgrind=$1 log=$2
shift 2
rm -f "$log"
"$oclgrind" --log "$log" --check-api --data-races --uninitialized "$@"
status=$?
if [ -s "$log" ]; then
    echo "oclgrind reported errors ($log):" >&2
    cat "$log" >&2
    exit 1
fi
exit $status
