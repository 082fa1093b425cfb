#!/usr/bin/env bash
# The paper's web server benchmark: hue's examples/web_server against nginx and a tokio + hyper
# static server with the same in-memory cache (benches/http_tokio_hyper.rs), on a 1 KiB and a
# 64 KiB file. Run by hand on a quiet machine, not in CI.
#
#   benches/http.sh                          # 2 rounds of 10 s per file and server
#   ROUNDS=3 DURATION=20s benches/http.sh
#   SERVERS="hue nginx" benches/http.sh      # a subset
#
# Servers (each started fresh for each run, warmed up, then measured):
#   hue           examples/web_server --workers 1   (pinned to core $SERVER_CORE)
#   hue_ncopy1    examples/web_server --ncopy 1     (pinned; the same thing, as a check)
#   nginx         worker_processes 1, sendfile on, access_log off, keep-alive (pinned)
#   tokio_hyper   benches/http_tokio_hyper.rs, tokio's current-thread runtime (pinned)
#   hue_workers2  examples/web_server --workers 2   (unpinned: shares the cores with wrk)
#   hue_ncopy2    examples/web_server --ncopy 2     (unpinned: shares the cores with wrk)
# and, only if named in SERVERS: hue_workers2_nosteal (--workers 2 --steal off, unpinned).
# wrk -t1 -c64 -d$DURATION runs pinned to core $CLIENT_CORE; rounds alternate the servers.
#
# Writes target/bench/http.json ({"1k": {"hue": rps, ...}, "64k": {...}, "runs": ...,
# "errors": ...}),
# target/bench/http.md (a table with ratios to nginx) and target/bench/http.svg (a bar chart,
# by benches/http_chart.py). Installs wrk and nginx with apt-get if they are missing.
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-64}
SERVER_CORE=${SERVER_CORE:-1}
CLIENT_CORE=${CLIENT_CORE:-0}
PORT=${PORT:-8631}
SERVERS=${SERVERS:-"hue hue_ncopy1 nginx tokio_hyper hue_workers2 hue_ncopy2"}
FILES=${FILES:-"1k 64k"}
OUT=target/bench
WORK=$OUT/http
ROOT=$PWD/$WORK/root

# shellcheck source=benches/bench_lib.sh
. benches/bench_lib.sh   # (the script has cd'd to the repository root)
install_missing wrk nginx
command -v taskset >/dev/null || { echo "taskset not found (util-linux)" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

if [[ $(nproc) -lt 2 ]]; then
    echo "needs at least 2 cores (server on $SERVER_CORE, wrk on $CLIENT_CORE)" >&2
    exit 1
fi
load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
    echo "warning: load average $load: the machine is not quiet, numbers will be noisy" >&2
fi

cargo build --release --example web_server
cargo bench --bench http_tokio_hyper --no-run
HUE=target/release/examples/web_server
HYPER=$(ls -t target/release/deps/http_tokio_hyper-* | grep -v '\.d$' | head -1)

# The docroot: a 1 KiB and a 64 KiB file.
rm -rf "$WORK"
mkdir -p "$ROOT" "$WORK/nginx"
head -c 1024 /dev/urandom >"$ROOT/1k.bin"
head -c 65536 /dev/urandom >"$ROOT/64k.bin"
chmod -R a+rX "$WORK"

cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $PWD/$WORK/nginx/nginx.pid;
error_log $PWD/$WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 100000000;
    open_file_cache max=1000 inactive=60s;
    default_type application/octet-stream;
    client_body_temp_path $PWD/$WORK/nginx/body;
    proxy_temp_path $PWD/$WORK/nginx/proxy;
    fastcgi_temp_path $PWD/$WORK/nginx/fastcgi;
    uwsgi_temp_path $PWD/$WORK/nginx/uwsgi;
    scgi_temp_path $PWD/$WORK/nginx/scgi;
    server {
        listen 127.0.0.1:$PORT;
        root $ROOT;
    }
}
EOF

SERVER_PID=
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}
trap cleanup EXIT

start_server() {
    local pin=(taskset -c "$SERVER_CORE")
    local args=(--addr "127.0.0.1:$PORT" --root "$ROOT")
    case $1 in
        hue) "${pin[@]}" "$HUE" "${args[@]}" --workers 1 >"$WORK/$1.log" 2>&1 & ;;
        hue_ncopy1) "${pin[@]}" "$HUE" "${args[@]}" --ncopy 1 >"$WORK/$1.log" 2>&1 & ;;
        hue_workers2) "$HUE" "${args[@]}" --workers 2 >"$WORK/$1.log" 2>&1 & ;;
        hue_ncopy2) "$HUE" "${args[@]}" --ncopy 2 >"$WORK/$1.log" 2>&1 & ;;
        hue_workers2_nosteal) "$HUE" "${args[@]}" --workers 2 --steal off >"$WORK/$1.log" 2>&1 & ;;
        tokio_hyper) "${pin[@]}" "$HYPER" "${args[@]}" --workers 1 >"$WORK/$1.log" 2>&1 & ;;
        nginx) "${pin[@]}" "$NGINX" -p "$PWD/$WORK/nginx" -c "$PWD/$WORK/nginx/nginx.conf" \
            >"$WORK/$1.log" 2>&1 & ;;
        *) echo "unknown server $1" >&2; exit 1 ;;
    esac
    SERVER_PID=$!
    wait_listening
}

RESULTS=$WORK/results.tsv
: >"$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
    for file in $FILES; do
        for server in $SERVERS; do
            start_server "$server"
            url="http://127.0.0.1:$PORT/$file.bin"
            curl -sf -o /dev/null "$url" || { echo "$server: GET $url failed" >&2; exit 1; }
            taskset -c "$CLIENT_CORE" wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" "$url" >/dev/null
            report=$(taskset -c "$CLIENT_CORE" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" "$url")
            cleanup
            rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$report")
            errors=$(grep -E 'Non-2xx|Socket errors' <<<"$report" | tr -s ' ' | paste -sd';' || true)
            printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$file" "$server" "$rps" "${errors:-}" >>"$RESULTS"
            printf 'round %s  %-4s %-13s %12s req/s %s\n' "$round" "$file" "$server" "$rps" "${errors:-}"
            [[ -n "$errors" ]] && echo "  warning: $server reported errors: $errors" >&2
        done
    done
done

# http.json, http.md (the table BENCHMARKS.md shows, from benches/report.py) and the chart.
python3 benches/report.py http-summary "$RESULTS" "$OUT" "$DURATION" "$CONNECTIONS" \
    "$SERVER_CORE" "$CLIENT_CORE"

python3 benches/http_chart.py "$OUT/http.json" "$OUT/http.svg"
echo "wrote $OUT/http.json, $OUT/http.md, $OUT/http.svg"
