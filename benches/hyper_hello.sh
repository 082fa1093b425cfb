#!/usr/bin/env bash
# hyper "Hello, world!" on hue vs on tokio: the same binary (examples/hyper_hello.rs), the same
# hyper service and hyper-util `auto` builder; only the runtime differs (`--runtime hue|tokio`).
#
#   benches/hyper_hello.sh                  # 6 rounds of 10 s each: hue, tokio, hue, tokio, ...
#   ROUNDS=3 DURATION=20s benches/hyper_hello.sh
#
# Each server runs with 1 worker pinned to core $SERVER_CORE (default 1); wrk (-t1 -c64) is
# pinned to core $CLIENT_CORE (default 0); each server is started fresh and warmed up (WARMUP)
# before its measured run. Besides requests/s, each measured run gives the server's CPU time
# per request: its utime+stime (/proc/PID/stat fields 14 and 15, in clock ticks) read just
# before and just after the measured wrk run, divided by the requests wrk completed in it.
# Results: target/bench/hyper.json (every run; per system the median and mean requests/s and
# CPU us per request; hue/tokio of the median requests/s and tokio/hue of the median CPU per
# request, both with the goal >= 1.0, judged over at least 6 rounds) and target/bench/hyper.md
# (a table). Installs wrk with apt-get if it is missing (needs root); needs taskset. Run it on a
# quiet machine.
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-6}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
WARMUP=${WARMUP:-2s}
SERVER_CORE=${SERVER_CORE:-1}
CLIENT_CORE=${CLIENT_CORE:-0}
PORT=${PORT:-3917}
OUT=target/bench
BIN=target/release/examples/hyper_hello

# shellcheck source=benches/bench_lib.sh
. benches/bench_lib.sh   # (the script has cd'd to the repository root)
install_missing wrk
command -v taskset >/dev/null || { echo "taskset not found" >&2; exit 1; }

cargo build --release --example hyper_hello
mkdir -p "$OUT"
"$BIN" --self-test --workers 1 >/dev/null
"$BIN" --self-test --workers 1 --runtime tokio >/dev/null

CLK_TCK=$(getconf CLK_TCK)

# cpu_ticks PID: the process's utime + stime so far, in clock ticks (all its threads). The
# fields are counted after the command name's closing parenthesis, which may hold spaces.
cpu_ticks() {
    local stat rest
    stat=$(<"/proc/$1/stat") || return 1
    rest=${stat##*) }
    # shellcheck disable=SC2086  # split into fields on purpose
    set -- $rest
    # $1 is field 3 (state), so utime (field 14) is ${12} and stime (field 15) ${13}.
    echo $((${12} + ${13}))
}

SERVER_PID=
RESULTS=$(mktemp)
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -f "$RESULTS"
}
trap cleanup EXIT

for round in $(seq 1 "$ROUNDS"); do
    for system in hue tokio; do
        taskset -c "$SERVER_CORE" "$BIN" "127.0.0.1:$PORT" --workers 1 --runtime "$system" >/dev/null &
        SERVER_PID=$!
        wait_listening
        taskset -c "$CLIENT_CORE" wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" "http://127.0.0.1:$PORT/" >/dev/null
        ticks_before=$(cpu_ticks "$SERVER_PID")
        report=$(taskset -c "$CLIENT_CORE" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency \
            "http://127.0.0.1:$PORT/")
        ticks_after=$(cpu_ticks "$SERVER_PID")
        ticks=$((ticks_after - ticks_before))
        rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$report")
        # "  1234567 requests in 10.00s, 150.70MB read"
        requests=$(awk '$2 == "requests" && $3 == "in" {print $1}' <<<"$report")
        wrk_time=$(awk '$2 == "requests" && $3 == "in" {sub(/,$/, "", $4); print $4}' <<<"$report")
        cpu_us=$(awk -v t="$ticks" -v hz="$CLK_TCK" -v n="$requests" \
            'BEGIN { if (n > 0) printf "%.2f", t / hz * 1e6 / n; else print "?" }')
        p50=$(awk '$1 == "50%" {print $2}' <<<"$report")
        p99=$(awk '$1 == "99%" {print $2}' <<<"$report")
        errors=$(grep -E "Socket errors|Non-2xx" <<<"$report" | tr '\n' ' ' || true)
        kill "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$system" "$rps" "$p50" \
            "$p99" "$errors" "$requests" "$wrk_time" "$ticks" "$CLK_TCK" >>"$RESULTS"
        printf 'round %s %-5s %12s req/s  %s us CPU/request  p50 %s  p99 %s %s\n' "$round" \
            "$system" "$rps" "$cpu_us" "$p50" "$p99" "$errors"
    done
done

# hyper.json and hyper.md (the table BENCHMARKS.md shows, from benches/report.py).
python3 benches/report.py hyper-summary "$RESULTS" "$OUT" "$DURATION" "$CONNECTIONS" \
    "$SERVER_CORE" "$CLIENT_CORE"
