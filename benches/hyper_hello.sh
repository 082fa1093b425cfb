#!/usr/bin/env bash
# hyper "Hello, world!" on hue vs on tokio: the same binary (examples/hyper_hello.rs), the same
# hyper service and hyper-util `auto` builder; only the runtime differs (`--runtime hue|tokio`).
#
#   benches/hyper_hello.sh                  # 2 rounds of 10 s each: hue, tokio, hue, tokio
#   ROUNDS=3 DURATION=20s benches/hyper_hello.sh
#
# Each server runs with 1 worker pinned to core $SERVER_CORE (default 1); wrk (-t1 -c64) is
# pinned to core $CLIENT_CORE (default 0). Results: target/bench/hyper.json (requests/s of each
# run, the mean per system, the ratio hue/tokio) and target/bench/hyper.md (a table).
# Installs wrk with apt-get if it is missing (needs root); needs taskset. Run it on a quiet machine.
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-2}
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
        report=$(taskset -c "$CLIENT_CORE" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency \
            "http://127.0.0.1:$PORT/")
        rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$report")
        p50=$(awk '$1 == "50%" {print $2}' <<<"$report")
        p99=$(awk '$1 == "99%" {print $2}' <<<"$report")
        errors=$(grep -E "Socket errors|Non-2xx" <<<"$report" | tr '\n' ' ' || true)
        kill "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$system" "$rps" "$p50" "$p99" "$errors" >>"$RESULTS"
        printf 'round %s %-5s %12s req/s  p50 %s  p99 %s %s\n' "$round" "$system" "$rps" "$p50" "$p99" "$errors"
    done
done

# hyper.json and hyper.md (the table BENCHMARKS.md shows, from benches/report.py).
python3 benches/report.py hyper-summary "$RESULTS" "$OUT" "$DURATION" "$CONNECTIONS" \
    "$SERVER_CORE" "$CLIENT_CORE"
