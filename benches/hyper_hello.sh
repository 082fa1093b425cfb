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

if ! command -v wrk >/dev/null; then
    echo "installing wrk with apt-get" >&2
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
command -v taskset >/dev/null || { echo "taskset not found" >&2; exit 1; }

cargo build --release --example hyper_hello
mkdir -p "$OUT"
"$BIN" --self-test --workers 1 >/dev/null
"$BIN" --self-test --workers 1 --runtime tokio >/dev/null

SERVER_PID=
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT

# shellcheck source=benches/bench_lib.sh
. benches/bench_lib.sh   # (the script has cd'd to the repository root)

RESULTS=$(mktemp)
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

python3 - "$RESULTS" "$OUT" "$DURATION" "$CONNECTIONS" "$SERVER_CORE" "$CLIENT_CORE" <<'EOF'
import json, sys, statistics, datetime, platform, os
results, out, duration, conns, score, ccore = sys.argv[1:7]
runs = []
for line in open(results):
    rnd, system, rps, p50, p99, errors = (line.rstrip("\n").split("\t") + [""])[:6]
    runs.append({"round": int(rnd), "system": system, "requests_per_sec": float(rps),
                 "latency_p50": p50, "latency_p99": p99, "errors": errors.strip()})
mean = {s: statistics.mean(r["requests_per_sec"] for r in runs if r["system"] == s)
        for s in ("hue", "tokio")}
ratio = mean["hue"] / mean["tokio"]
doc = {
    "benchmark": "hyper_hello",
    "description": "hyper 1 + hyper-util auto builder serving 'Hello, world!' (HTTP/1.1 keep-alive)",
    "command": f"wrk -t1 -c{conns} -d{duration} (taskset -c {ccore}); server --workers 1 (taskset -c {score})",
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "host": platform.node(), "cpus": os.cpu_count(),
    "runs": runs,
    "mean_requests_per_sec": mean,
    "ratio_hue_over_tokio": ratio,
}
json.dump(doc, open(f"{out}/hyper.json", "w"), indent=2)
with open(f"{out}/hyper.md", "w") as f:
    f.write("# hyper \"Hello, world!\": hue vs tokio\n\n")
    f.write(f"`{doc['command']}`, {doc['date']}\n\n")
    f.write("| round | system | requests/s | p50 | p99 | errors |\n|---|---|---:|---:|---:|---|\n")
    for r in runs:
        f.write(f"| {r['round']} | {r['system']} | {r['requests_per_sec']:,.0f} | {r['latency_p50']} "
                f"| {r['latency_p99']} | {r['errors'] or '-'} |\n")
    f.write(f"\n| system | mean requests/s |\n|---|---:|\n")
    for s, v in mean.items():
        f.write(f"| {s} | {v:,.0f} |\n")
    f.write(f"\n**ratio hue/tokio: {ratio:.3f}**\n")
print(open(f"{out}/hyper.md").read())
EOF
rm -f "$RESULTS"
