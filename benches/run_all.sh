#!/usr/bin/env bash
# Every benchmark of BENCHMARKS.md in one run, then its results region and chart regenerated.
#
#   benches/run_all.sh                    # the full run (about 15 minutes on the 2-core machine)
#   QUICK=1 benches/run_all.sh            # checks the pipeline in ~2 minutes; numbers mean nothing
#   QUICK=1 FORCE=1 benches/run_all.sh    # ... and writes them into BENCHMARKS.md, marked QUICK
#   AREAS="scheduler memory" benches/run_all.sh   # a subset (BENCHMARKS.md only with FORCE=1)
#
# In order: cargo bench --bench scheduler, colors (criterion, then COLORED_STATE_ALTERNATE
# rounds), timers, tcp_echo (criterion, then TCP_ECHO_PAIRED pairs), churn (criterion, then
# CHURN_PAIRED pairs); the task memory test; the whole-server scripts benches/http.sh and
# benches/hyper_hello.sh (which pin the server and wrk to different cores with taskset and
# install wrk and nginx with apt-get when missing; hyper_hello.sh also reads the server's CPU
# time per request from /proc/PID/stat). Each step's output is in
# target/bench/run/<area>.<step>.log. Then benches/report.py gathers every figure into
# target/bench/all.json (date, commit, knobs, per area the raw figures and ratios
# with their goals), writes the results region alone to target/bench/results.md, and - unless
# the run is QUICK, incomplete, or had a step fail, where FORCE=1 is needed - rewrites the
# region between <!-- results:begin --> and <!-- results:end --> in BENCHMARKS.md and the chart
# benches/http.svg.
#
# Knobs (environment; QUICK=1 changes the defaults shown after the bar):
#   AREAS                    scheduler colors timers tcp_echo churn memory web hyper
#   CRITERION_ARGS           ""  (each bench's own sample settings) | --warm-up-time 0.5
#                            --measurement-time 1 --sample-size 10
#   COLORED_STATE_ALTERNATE  30 | 3    alternated hue/tokio_std_mutex rounds (0: none)
#   TCP_ECHO_PAIRED          30 | 3    alternated hue/tokio tcp_echo pairs (0: none)
#   CHURN_PAIRED             10 | 2    alternated hue/tokio churn pairs (0: none)
#   HTTP_ROUNDS              3 | 1     benches/http.sh rounds (ROUNDS sets HTTP_ and HYPER_)
#   HTTP_DURATION            10s | 2s  per measured wrk run (DURATION sets both)
#   HTTP_WARMUP              2s | 1s   wrk warm-up before each measured run (WARMUP sets both)
#   HTTP_SERVERS             http.sh's default (hue hue_ncopy1 nginx tokio_hyper hue_workers2
#                            hue_ncopy2)
#   HYPER_ROUNDS             6 | 1     benches/hyper_hello.sh rounds (its goals need 6)
#   HYPER_DURATION           10s | 2s
#   HYPER_WARMUP             2s | 1s
#   SERVER_CORE, CLIENT_CORE 1, 0      (passed on to the server scripts)
#   FORCE                    0         1: write BENCHMARKS.md even for a QUICK/incomplete run
set -uo pipefail

cd "$(dirname "$0")/.."
QUICK=${QUICK:-0}
FORCE=${FORCE:-0}
AREAS=${AREAS:-"scheduler colors timers tcp_echo churn memory web hyper"}
if [[ $QUICK == 1 ]]; then
    CRITERION_ARGS=${CRITERION_ARGS-"--warm-up-time 0.5 --measurement-time 1 --sample-size 10"}
    q_alt=3 q_pairs=3 q_churn_pairs=2 q_rounds=1 q_duration=2s q_warmup=1s q_hyper_rounds=1
else
    CRITERION_ARGS=${CRITERION_ARGS-}
    q_alt=30 q_pairs=30 q_churn_pairs=10 q_rounds=3 q_duration=10s q_warmup=2s q_hyper_rounds=6
fi
COLORED_STATE_ALTERNATE=${COLORED_STATE_ALTERNATE:-$q_alt}
TCP_ECHO_PAIRED=${TCP_ECHO_PAIRED:-$q_pairs}
CHURN_PAIRED=${CHURN_PAIRED:-$q_churn_pairs}
HTTP_ROUNDS=${HTTP_ROUNDS:-${ROUNDS:-$q_rounds}}
HTTP_DURATION=${HTTP_DURATION:-${DURATION:-$q_duration}}
HTTP_WARMUP=${HTTP_WARMUP:-${WARMUP:-$q_warmup}}
HTTP_SERVERS=${HTTP_SERVERS:-}
HYPER_ROUNDS=${HYPER_ROUNDS:-${ROUNDS:-$q_hyper_rounds}}
HYPER_DURATION=${HYPER_DURATION:-${DURATION:-$q_duration}}
HYPER_WARMUP=${HYPER_WARMUP:-${WARMUP:-$q_warmup}}
SERVER_CORE=${SERVER_CORE:-1}
CLIENT_CORE=${CLIENT_CORE:-0}

OUT=target/bench
RUN=$OUT/run
rm -rf "$RUN"
mkdir -p "$RUN"

for area in $AREAS; do
    case $area in
        scheduler | colors | timers | tcp_echo | churn | memory | web | hyper) ;;
        *) echo "unknown area $area (scheduler colors timers tcp_echo churn memory web hyper)" >&2
           exit 2 ;;
    esac
done
wants() { [[ " $AREAS " == *" $1 "* ]]; }

# shellcheck source=benches/bench_lib.sh
. benches/bench_lib.sh   # (the script has cd'd to the repository root)

# The whole-server tools first, so a missing one fails now and not after the criterion runs.
if wants web || wants hyper; then
    if wants web; then install_missing wrk nginx; else install_missing wrk; fi
    command -v taskset >/dev/null || { echo "taskset not found (util-linux)" >&2; exit 1; }
    if [[ $(nproc) -lt 2 ]]; then
        echo "the server benchmarks need 2 cores (server on $SERVER_CORE, wrk on $CLIENT_CORE)" >&2
        exit 1
    fi
fi

meta() { printf '%s\t%s\n' "$1" "$2" >>"$RUN/meta.tsv"; }
meta start "$(date +%s)"
meta quick "$QUICK"
meta areas "$AREAS"
meta commit "$(git rev-parse HEAD 2>/dev/null || echo unknown)"
meta branch "$(git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)"
meta rustc "$(rustc --version 2>/dev/null || echo unknown)"
meta load "$(cut -d' ' -f1-3 /proc/loadavg)"
git status --porcelain --untracked-files=no >"$RUN/git_status.txt" 2>/dev/null || true
for knob in QUICK CRITERION_ARGS COLORED_STATE_ALTERNATE TCP_ECHO_PAIRED CHURN_PAIRED \
    HTTP_ROUNDS HTTP_DURATION HTTP_WARMUP HTTP_SERVERS HYPER_ROUNDS HYPER_DURATION HYPER_WARMUP \
    SERVER_CORE CLIENT_CORE; do
    meta "knob.$knob" "${!knob}"
done
load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
    echo "warning: load average $load: the machine is not quiet, numbers will be noisy" >&2
fi

# A step runs in a session of its own, so that an interrupted run can stop it with everything
# it started (cargo, the bench binary, a server, wrk) by its process group.
CHILD=
stop_child() {
    if [[ -n $CHILD ]]; then
        kill -TERM -- "-$CHILD" 2>/dev/null || kill -TERM "$CHILD" 2>/dev/null
        wait "$CHILD" 2>/dev/null
        CHILD=
    fi
}
trap stop_child EXIT
trap 'echo "interrupted" >&2; stop_child; exit 130' INT
trap 'stop_child; exit 143' TERM

FAILED=()
# step AREA STEP DISPLAY COMMAND...: runs COMMAND, its output shown and kept in
# $RUN/AREA.STEP.log, and records its exit status, times and load in $RUN/steps.tsv. DISPLAY is
# the command as BENCHMARKS.md shows it.
step() {
    local area=$1 name=$2 display=$3
    shift 3
    local log=$RUN/$area.$name.log start end lb la rc tee_pid
    echo
    echo "=== $area: $display"
    start=$(date +%s)
    lb=$(cut -d' ' -f1 /proc/loadavg)
    exec 3> >(tee "$log")
    tee_pid=$!
    setsid "$@" >&3 2>&1 </dev/null &
    CHILD=$!
    exec 3>&-
    wait "$CHILD"
    rc=$?
    CHILD=
    wait "$tee_pid" 2>/dev/null
    end=$(date +%s)
    la=$(cut -d' ' -f1 /proc/loadavg)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$area" "$name" "$rc" "$start" "$end" "$lb" "$la" \
        "$display" >>"$RUN/steps.tsv"
    if ((rc != 0)); then
        echo "=== $area: $name FAILED (exit status $rc), see $log" >&2
        FAILED+=("$area.$name")
    else
        echo "=== $area: $name done in $((end - start)) s"
    fi
}

# Build everything first, so that no benchmark's time includes a build.
echo "=== building"
benches=()
for b in scheduler colors timers tcp_echo churn; do wants "$b" && benches+=(--bench "$b"); done
wants web && benches+=(--bench http_tokio_hyper)
if ((${#benches[@]})); then cargo bench --no-run "${benches[@]}" || exit 1; fi
examples=()
wants web && examples+=(--example web_server)
wants hyper && examples+=(--example hyper_hello)
if ((${#examples[@]})); then cargo build --release "${examples[@]}" || exit 1; fi
if wants memory; then cargo test --release --test task_memory --no-run || exit 1; fi

# The criterion benches run without the alternating modes' variables, which would replace
# criterion's groups.
crit() {
    local bench=$1 display="cargo bench --bench $1"
    [[ -n $CRITERION_ARGS ]] && display+=" -- $CRITERION_ARGS"
    # shellcheck disable=SC2086  # CRITERION_ARGS is a list of flags
    step "$bench" criterion "$display" env -u COLORED_STATE_ALTERNATE -u TCP_ECHO_PAIRED \
        -u CHURN_PAIRED cargo bench --bench "$bench" -- $CRITERION_ARGS
}

for area in scheduler colors timers tcp_echo churn memory web hyper; do
    wants "$area" || continue
    case $area in
        scheduler | timers) crit "$area" ;;
        colors)
            crit colors
            if ((COLORED_STATE_ALTERNATE > 0)); then
                step colors alternate \
                    "COLORED_STATE_ALTERNATE=$COLORED_STATE_ALTERNATE cargo bench --bench colors -- colored_state" \
                    env COLORED_STATE_ALTERNATE="$COLORED_STATE_ALTERNATE" \
                    cargo bench --bench colors -- colored_state
            fi
            ;;
        tcp_echo)
            crit tcp_echo
            if ((TCP_ECHO_PAIRED > 0)); then
                step tcp_echo paired "TCP_ECHO_PAIRED=$TCP_ECHO_PAIRED cargo bench --bench tcp_echo" \
                    env TCP_ECHO_PAIRED="$TCP_ECHO_PAIRED" cargo bench --bench tcp_echo
            fi
            ;;
        churn)
            crit churn
            if ((CHURN_PAIRED > 0)); then
                step churn paired "CHURN_PAIRED=$CHURN_PAIRED cargo bench --bench churn" \
                    env CHURN_PAIRED="$CHURN_PAIRED" cargo bench --bench churn
            fi
            ;;
        memory)
            step memory test "cargo test --release --test task_memory -- --nocapture --test-threads=1" \
                cargo test --release --test task_memory -- --nocapture --test-threads=1
            ;;
        web)
            rm -f "$OUT/http.json"
            servers=()
            [[ -n $HTTP_SERVERS ]] && servers=(SERVERS="$HTTP_SERVERS")
            display="ROUNDS=$HTTP_ROUNDS DURATION=$HTTP_DURATION WARMUP=$HTTP_WARMUP"
            [[ -n $HTTP_SERVERS ]] && display+=" SERVERS=\"$HTTP_SERVERS\""
            step web http "$display benches/http.sh" \
                env ROUNDS="$HTTP_ROUNDS" DURATION="$HTTP_DURATION" WARMUP="$HTTP_WARMUP" \
                SERVER_CORE="$SERVER_CORE" CLIENT_CORE="$CLIENT_CORE" "${servers[@]}" \
                bash benches/http.sh
            [[ -f $OUT/http.json ]] && cp "$OUT/http.json" "$RUN/http.json"
            ;;
        hyper)
            rm -f "$OUT/hyper.json"
            step hyper wrk \
                "ROUNDS=$HYPER_ROUNDS DURATION=$HYPER_DURATION WARMUP=$HYPER_WARMUP benches/hyper_hello.sh" \
                env ROUNDS="$HYPER_ROUNDS" DURATION="$HYPER_DURATION" WARMUP="$HYPER_WARMUP" \
                SERVER_CORE="$SERVER_CORE" CLIENT_CORE="$CLIENT_CORE" bash benches/hyper_hello.sh
            [[ -f $OUT/hyper.json ]] && cp "$OUT/hyper.json" "$RUN/hyper.json"
            ;;
    esac
done
meta end "$(date +%s)"

echo
echo "=== report"
python3 benches/report.py collect --run-dir "$RUN" --out "$OUT/all.json" || exit 1
force=()
[[ $FORCE == 1 ]] && force=(--force)
python3 benches/report.py render --json "$OUT/all.json" --md "$OUT/results.md" "${force[@]}"
render=$?
cat "$OUT/results.md"
if ((${#FAILED[@]})); then
    echo "failed steps: ${FAILED[*]} (logs in $RUN)" >&2
    exit 1
fi
if ((render == 3)) && [[ $QUICK == 1 ]]; then
    exit 0   # a QUICK run is not meant to land in BENCHMARKS.md
fi
exit "$render"
