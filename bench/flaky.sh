#!/usr/bin/env bash
# The test suite three times while another process keeps both cores busy; any failure is
# reported (with its run number) and makes the script fail.
#
#     bench/flaky.sh [runs]        (default 3)
#
# The load is two busy loops at the same priority as the tests, so every timing assumption in
# a test meets a machine that gives it half the CPU it expected.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
make venv >/dev/null

load_pids=()
for _ in 1 2; do
    .venv/bin/python -c "while True: pass" &
    load_pids+=("$!")
done
stop_load() { kill "${load_pids[@]}" 2>/dev/null; wait "${load_pids[@]}" 2>/dev/null; }
trap stop_load EXIT

failed=0
for run in $(seq 1 "$runs"); do
    log=$(mktemp -t arbridge-flaky-XXXX.log)
    started=$(date +%s)
    if make pytest >"$log" 2>&1; then
        echo "run $run: passed in $(( $(date +%s) - started )) s"
    else
        failed=$((failed + 1))
        echo "run $run: FAILED in $(( $(date +%s) - started )) s (log: $log)"
        grep -E "^(FAILED|ERROR) " "$log" | sed 's/^/    /'
    fi
done
echo "$failed of $runs runs failed under load"
exit $(( failed > 0 ))
