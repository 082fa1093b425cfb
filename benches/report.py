#!/usr/bin/env python3
"""The benchmark report: every figure of BENCHMARKS.md, read, compared and printed in one place.

The benchmarks write their results in three forms: criterion's
target/criterion/<group>/<function>/new/estimates.json (scheduler, colors, tcp_echo, churn,
timers), lines printed by a bench or a test (the colors bench's alternating mode, tcp_echo's
and churn's paired modes, tests/task_memory.rs), and the whole-server scripts' JSON
(target/bench/http.json by benches/http.sh, target/bench/hyper.json by benches/hyper_hello.sh,
with the server's CPU time per request). This module turns each
into one "area": its figures, its ratios (each with the goal when one is known) and the
figures it is missing; renders an area as a markdown table; and, for benches/run_all.sh,
gathers every area of one run into target/bench/all.json and writes the results region of
BENCHMARKS.md from it.

  python3 benches/report.py collect --run-dir target/bench/run --out target/bench/all.json
  python3 benches/report.py render [--json F] [--doc BENCHMARKS.md] [--chart benches/http.svg]
                                   [--md target/bench/results.md] [--force]
  python3 benches/report.py table AREA [--json F | --criterion DIR | --log F]   # one table
  python3 benches/report.py http-summary RESULTS OUT DURATION CONNS SERVER_CORE CLIENT_CORE
  python3 benches/report.py hyper-summary RESULTS OUT DURATION CONNS SERVER_CORE CLIENT_CORE
  python3 benches/report.py selftest     # the log parsers against sample lines

`render` refuses to touch BENCHMARKS.md when the run was a QUICK one or lacks figures, unless
--force is given (a forced QUICK region says so at its top, and so does the chart). The
per-benchmark printers (ratios.py, colors_ratios.py, tcp_echo_ratios.py, timers_ratios.py)
print one area's table from target/criterion with this module (churn has no printer of its
own: `report.py table churn`). Python 3 standard library only.
"""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import sys
from collections import defaultdict

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

BEGIN = "<!-- results:begin -->"
END = "<!-- results:end -->"
AREAS = ["scheduler", "colors", "timers", "tcp_echo", "churn", "memory", "web", "hyper"]

# ---------------------------------------------------------------------------------------------
# Reading and formatting


def estimate(root, group, function, since=None):
    """criterion's estimates of one function (ns), or None if absent or older than `since`."""
    path = os.path.join(root, group, function, "new", "estimates.json")
    try:
        if since is not None and os.stat(path).st_mtime < since:
            return None
        with open(path) as f:
            e = json.load(f)
        return {
            "mean_ns": float(e["mean"]["point_estimate"]),
            "mean_lower_ns": float(e["mean"]["confidence_interval"]["lower_bound"]),
            "mean_upper_ns": float(e["mean"]["confidence_interval"]["upper_bound"]),
            "median_ns": float(e["median"]["point_estimate"]),
            "std_dev_ns": float(e["std_dev"]["point_estimate"]),
        }
    except (OSError, KeyError, TypeError, ValueError):
        return None


def mean_ns(root, group, function, since=None):
    """criterion's mean time of one function in ns, or None."""
    e = estimate(root, group, function, since)
    return None if e is None else e["mean_ns"]


def mean_of(e):
    return None if e is None else e["mean_ns"]


def fmt_time(ns):
    if ns is None:
        return "n/a"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if abs(ns) >= scale:
            return f"{ns / scale:.3f} {unit}"
    return f"{ns:.1f} ns"


def fmt_ms(ms):
    return "n/a" if ms is None else f"{ms:.2f} ms"


def fmt_rps(v):
    return "n/a" if v is None else f"{v:,.0f}"


def div(num, den):
    return None if num is None or den is None or den <= 0 else num / den


def fmt_ratio(r, digits=2):
    return "n/a" if r is None else f"{r:.{digits}f}"


def ratio(of, value, goal=None, lo=None, hi=None, digits=2):
    """A ratio with its goal: goal is the text, lo/hi the bounds it is checked against."""
    r = {"of": of, "value": None if value is None else round(value, 4), "digits": digits}
    if goal is not None:
        r["goal"] = goal
        r["met"] = None if value is None else (
            (lo is None or value >= lo) and (hi is None or value <= hi))
    return r


def fmt_goal(r):
    if "goal" not in r:
        return "-"
    met = r.get("met")
    verdict = "n/a" if met is None else ("met" if met else "**NOT met**")
    return f"{r['goal']}: {verdict}"


def bold_ratio(r):
    v = fmt_ratio(r.get("value"), r.get("digits", 2))
    return v if r.get("value") is None else f"**{v}**"


def missing_of(figures, prefix=""):
    """Names of the None leaves of a nested dict of figures."""
    out = []
    for k, v in figures.items():
        if v is None:
            out.append(prefix + k)
        elif isinstance(v, dict) and not any(key.endswith("_ns") for key in v):
            out.extend(missing_of(v, f"{prefix}{k}/"))
    return out


def criterion_command(bench, args=""):
    return f"cargo bench --bench {bench}" + (f" -- {args}" if args else "")


# ---------------------------------------------------------------------------------------------
# Scheduler: benches/scheduler.rs

SCHED = [
    ("spawn_many_local", "10,000 spawns from a task"),
    ("spawn_many_remote", "10,000 spawns from outside"),
    ("yield_many", "200 tasks x 1,000 yields"),
    ("ping_pong", "1,000 spawn + oneshot round trips"),
    ("chained_spawn", "a chain of 1,000 spawns"),
]


def scheduler_area(root, since=None):
    fig = {g: {s: estimate(root, g, s, since) for s in ("hue", "tokio")} for g, _ in SCHED}
    fig["colored_fifo"] = {"hue": estimate(root, "colored_fifo", "hue", since)}
    ratios = {
        g: ratio("tokio / hue", div(mean_of(fig[g]["tokio"]), mean_of(fig[g]["hue"])),
                 ">= 1.0", 1.0)
        for g, _ in SCHED
    }
    ratios["colored_fifo"] = ratio(
        "hue colored_fifo / hue yield_many",
        div(mean_of(fig["colored_fifo"]["hue"]), mean_of(fig["yield_many"]["hue"])))
    return {
        "title": "Scheduler: hue vs tokio on tokio's own workloads",
        "commands": [criterion_command("scheduler")],
        "setup": "Criterion means; 2 workers each (tokio's multi-thread runtime), both in one "
                 "process, every hue task in `Color::fresh()`; workloads mirror tokio's "
                 "`benches/rt_multi_threaded.rs`.",
        "figures": fig, "ratios": ratios, "missing": missing_of(fig),
    }


def scheduler_table(a):
    f, r = a["figures"], a["ratios"]
    out = ["| workload | hue | tokio | tokio/hue | goal |", "|---|---:|---:|---:|---|"]
    for g, what in SCHED:
        out.append(f"| `{g}` ({what}) | {fmt_time(mean_of(f[g]['hue']))} "
                   f"| {fmt_time(mean_of(f[g]['tokio']))} | {bold_ratio(r[g])} "
                   f"| {fmt_goal(r[g])} |")
    fifo = r["colored_fifo"]
    out.append(f"| `colored_fifo` (`yield_many`'s 200 tasks in 8 colors, hue only) "
               f"| {fmt_time(mean_of(f['colored_fifo']['hue']))} | - | - | - |")
    out.append("")
    out.append(f"`colored_fifo` / `yield_many` (both hue): {fmt_ratio(fifo['value'])} "
               "(below 1: 8 colors are cheaper to schedule than 200).")
    return out


# ---------------------------------------------------------------------------------------------
# Colors: benches/colors.rs (criterion, and COLORED_STATE_ALTERNATE)

COLORS = {
    "colored_state": ["hue", "tokio_std_mutex", "tokio_async_mutex"],
    "steal_skewed": ["hue_1_worker", "hue_2_workers", "hue_2_workers_no_steal"],
    "scale_colors": ["hue_1_worker", "hue_2_workers"],
}
ALTERNATE_RE = re.compile(
    r"colored_state alternating, (\d+) rounds: hue median ([\d.]+) ms \(min ([\d.]+)\), "
    r"tokio_std_mutex median ([\d.]+) ms \(min ([\d.]+)\); tokio_std_mutex / hue = ([\d.]+)")


def parse_alternate(text):
    """The colors bench's COLORED_STATE_ALTERNATE summary line, or None."""
    m = None
    for m in ALTERNATE_RE.finditer(text or ""):
        pass
    if m is None:
        return None
    n, hm, hmin, tm, tmin, r = m.groups()
    return {"rounds": int(n), "hue_median_ms": float(hm), "hue_min_ms": float(hmin),
            "tokio_std_mutex_median_ms": float(tm), "tokio_std_mutex_min_ms": float(tmin),
            "tokio_std_mutex_over_hue": float(r)}


def colors_area(root, since=None, alternate_log=None, alternate_wanted=False):
    fig = {g: {s: estimate(root, g, s, since) for s in fs} for g, fs in COLORS.items()}
    st, sk, sc = fig["colored_state"], fig["steal_skewed"], fig["scale_colors"]
    tokios = [(mean_of(st[s]), s) for s in ("tokio_std_mutex", "tokio_async_mutex")
              if st[s] is not None]
    best, best_name = min(tokios) if tokios else (None, "tokio")
    ratios = {
        "colored_state": ratio(f"best tokio ({best_name}) / hue", div(best, mean_of(st["hue"])),
                               ">= 1.0", 1.0),
        "steal_skewed": ratio("hue_1_worker / hue_2_workers",
                              div(mean_of(sk["hue_1_worker"]), mean_of(sk["hue_2_workers"])),
                              ">= 1.8", 1.8),
        "steal_skewed_no_steal": ratio(
            "hue_1_worker / hue_2_workers_no_steal",
            div(mean_of(sk["hue_1_worker"]), mean_of(sk["hue_2_workers_no_steal"])),
            "about 1.0 (0.9-1.1)", 0.9, 1.1),
        "scale_colors": ratio("hue_1_worker / hue_2_workers",
                              div(mean_of(sc["hue_1_worker"]), mean_of(sc["hue_2_workers"])),
                              ">= 1.9", 1.9),
    }
    commands = [criterion_command("colors")]
    if alternate_log is not None or alternate_wanted:
        alt = parse_alternate(alternate_log)
        fig["colored_state_alternating"] = alt
        ratios["colored_state_alternating"] = ratio(
            "tokio_std_mutex / hue",
            None if alt is None else alt["tokio_std_mutex_over_hue"], ">= 1.0", 1.0, digits=3)
    return {
        "title": "Colors: state without locks, stealing, scaling",
        "commands": commands,
        "setup": "Criterion means (flat sampling); 2 workers unless named; `colored_state` "
                 "is 1,000 tasks x 100 operations on 8 shards, hue's `in_color` + `ColorCell` "
                 "against a mutex per shard.",
        "figures": fig, "ratios": ratios, "missing": missing_of(fig),
    }


def colors_table(a):
    f, r = a["figures"], a["ratios"]
    st, sk, sc = f["colored_state"], f["steal_skewed"], f["scale_colors"]
    t = lambda e: fmt_time(mean_of(e))  # noqa: E731
    rows = [
        ("`colored_state`", f"hue {t(st['hue'])}, tokio_std_mutex {t(st['tokio_std_mutex'])}, "
                            f"tokio_async_mutex {t(st['tokio_async_mutex'])}", "colored_state"),
    ]
    alt = f.get("colored_state_alternating", "absent")
    if alt != "absent":
        times = "n/a" if alt is None else (
            f"hue {fmt_ms(alt['hue_median_ms'])}, "
            f"tokio_std_mutex {fmt_ms(alt['tokio_std_mutex_median_ms'])}")
        n = "" if alt is None else f"{alt['rounds']} "
        rows.append((f"`colored_state`, {n}alternated rounds (medians)", times,
                     "colored_state_alternating"))
    rows += [
        ("`steal_skewed`", f"1 worker {t(sk['hue_1_worker'])}, "
                           f"2 workers {t(sk['hue_2_workers'])}", "steal_skewed"),
        ("`steal_skewed`, stealing off", f"1 worker {t(sk['hue_1_worker'])}, 2 workers "
                                         f"without stealing {t(sk['hue_2_workers_no_steal'])}",
         "steal_skewed_no_steal"),
        ("`scale_colors`", f"1 worker {t(sc['hue_1_worker'])}, "
                           f"2 workers {t(sc['hue_2_workers'])}", "scale_colors"),
    ]
    out = ["| workload | times | ratio | value | goal |", "|---|---|---|---:|---|"]
    for name, times, key in rows:
        out.append(f"| {name} | {times} | {r[key]['of']} | {bold_ratio(r[key])} "
                   f"| {fmt_goal(r[key])} |")
    return out


# ---------------------------------------------------------------------------------------------
# Timers: benches/timers.rs

SPREAD_NS = 50e6  # the `timers` deadlines span 0-50 ms


def timers_area(root, since=None):
    fig = {g: {s: estimate(root, g, s, since) for s in ("hue", "tokio")}
           for g in ("timers", "timer_churn", "churn_baseline")}

    def minus(a, b):
        return None if a is None or b is None else a - b

    derived = {
        "timers_beyond_spread": {s: minus(mean_of(fig["timers"][s]), SPREAD_NS)
                                 for s in ("hue", "tokio")},
        "timers_only": {s: minus(mean_of(fig["timer_churn"][s]), mean_of(fig["churn_baseline"][s]))
                        for s in ("hue", "tokio")},
    }
    d = derived

    def tk(e):
        return div(mean_of(e["tokio"]), mean_of(e["hue"]))

    ratios = {
        "timers": ratio("tokio / hue", tk(fig["timers"]), ">= 1.0", 1.0),
        "timers_beyond_spread": ratio(
            "tokio / hue", div(d["timers_beyond_spread"]["tokio"], d["timers_beyond_spread"]["hue"]),
            ">= 1.0", 1.0),
        "timer_churn": ratio("tokio / hue", tk(fig["timer_churn"]), ">= 1.0", 1.0),
        "churn_baseline": ratio("tokio / hue", tk(fig["churn_baseline"])),
        "timers_only": ratio("tokio / hue", div(d["timers_only"]["tokio"], d["timers_only"]["hue"]),
                             ">= 1.0", 1.0),
    }
    return {
        "title": "Timers",
        "commands": [criterion_command("timers")],
        "setup": "Criterion means (flat sampling); 2 workers each, both in one process.",
        "figures": fig, "derived_ns": derived, "ratios": ratios, "missing": missing_of(fig),
    }


def timers_table(a):
    f, d, r = a["figures"], a["derived_ns"], a["ratios"]
    rows = [
        ("`timers` (100,000 sleeps over 0-50 ms, until the last fires)",
         mean_of(f["timers"]["hue"]), mean_of(f["timers"]["tokio"]), "timers"),
        ("`timers`, time beyond the 50 ms spread", d["timers_beyond_spread"]["hue"],
         d["timers_beyond_spread"]["tokio"], "timers_beyond_spread"),
        ("`timer_churn` (1,000,000 `timeout`s made, registered, dropped)",
         mean_of(f["timer_churn"]["hue"]), mean_of(f["timer_churn"]["tokio"]), "timer_churn"),
        ("`churn_baseline` (the same loop without timers)", mean_of(f["churn_baseline"]["hue"]),
         mean_of(f["churn_baseline"]["tokio"]), "churn_baseline"),
        ("`timer_churn` minus `churn_baseline` (the timers alone)", d["timers_only"]["hue"],
         d["timers_only"]["tokio"], "timers_only"),
    ]
    out = ["| workload | hue | tokio | tokio/hue | goal |", "|---|---:|---:|---:|---|"]
    for name, h, t, key in rows:
        out.append(f"| {name} | {fmt_time(h)} | {fmt_time(t)} | {bold_ratio(r[key])} "
                   f"| {fmt_goal(r[key])} |")
    return out


# ---------------------------------------------------------------------------------------------
# tcp_echo: benches/tcp_echo.rs (criterion, and TCP_ECHO_PAIRED)

ROUND_TRIPS = 64 * 100  # per iteration: CONNECTIONS x ROUND_TRIPS in benches/tcp_echo.rs
PAIR_RE = re.compile(r"^\s*(\d+)\s+hue\s+([\d.]+) ms\s+tokio\s+([\d.]+) ms\s+tokio/hue ([\d.]+)",
                     re.M)
PAIRED_RE = re.compile(r"paired, (\d+) pairs: median hue ([\d.]+) ms, median tokio ([\d.]+) ms, "
                       r"median of tokio/hue per pair ([\d.]+)")


def parse_paired(text):
    """tcp_echo's TCP_ECHO_PAIRED output: every pair and the medians, or None."""
    m = None
    for m in PAIRED_RE.finditer(text or ""):
        pass
    if m is None:
        return None
    n, h, k, r = m.groups()
    pairs = [{"hue_ms": float(ph), "tokio_ms": float(pk)}
             for _, ph, pk, _ in PAIR_RE.findall(text)][-int(n):]
    return {"pairs": int(n), "hue_median_ms": float(h), "tokio_median_ms": float(k),
            "median_tokio_over_hue": float(r), "each_pair": pairs}


def tcp_echo_area(root, since=None, paired_log=None, paired_wanted=False):
    fig = {"tcp_echo": {s: estimate(root, "tcp_echo", s, since) for s in ("hue", "tokio")}}
    c = fig["tcp_echo"]
    ratios = {"tcp_echo": ratio("tokio / hue", div(mean_of(c["tokio"]), mean_of(c["hue"])),
                                ">= 1.0", 1.0)}
    if paired_log is not None or paired_wanted:
        p = parse_paired(paired_log)
        fig["tcp_echo_paired"] = p
        ratios["tcp_echo_paired"] = ratio(
            "median of tokio/hue per pair", None if p is None else p["median_tokio_over_hue"],
            ">= 1.0", 1.0)
    return {
        "title": "Sockets: tcp_echo",
        "commands": [criterion_command("tcp_echo")],
        "setup": "64 loopback connections x 100 round trips of 1 KiB, client and server in one "
                 "process, 2 workers per runtime.",
        "figures": fig, "ratios": ratios, "missing": missing_of(fig),
    }


def tcp_echo_table(a):
    f, r = a["figures"], a["ratios"]
    c = f["tcp_echo"]
    per = lambda ns: None if ns is None else ns / ROUND_TRIPS  # noqa: E731
    h, t = mean_of(c["hue"]), mean_of(c["tokio"])
    out = ["| workload | hue | tokio | tokio/hue | goal |", "|---|---:|---:|---:|---|",
           f"| `tcp_echo`, criterion means | {fmt_time(h)} | {fmt_time(t)} "
           f"| {bold_ratio(r['tcp_echo'])} | {fmt_goal(r['tcp_echo'])} |",
           f"| `tcp_echo`, per round trip | {fmt_time(per(h))} | {fmt_time(per(t))} | | |"]
    if "tcp_echo_paired" in f:
        p = f["tcp_echo_paired"]
        n = "" if p is None else f"{p['pairs']} "
        out.append(
            f"| `tcp_echo`, {n}alternated pairs (medians; ratio: median of per-pair ratios) "
            f"| {fmt_ms(None if p is None else p['hue_median_ms'])} "
            f"| {fmt_ms(None if p is None else p['tokio_median_ms'])} "
            f"| {bold_ratio(r['tcp_echo_paired'])} | {fmt_goal(r['tcp_echo_paired'])} |")
    return out


# ---------------------------------------------------------------------------------------------
# Connection churn: benches/churn.rs (criterion, and CHURN_PAIRED)

CHURN_CONNECTIONS = 10_000  # per iteration: CONNECTIONS in benches/churn.rs


def churn_area(root, since=None, paired_log=None, paired_wanted=False):
    fig = {"churn": {s: estimate(root, "churn", s, since) for s in ("hue", "tokio")}}
    c = fig["churn"]
    ratios = {"churn": ratio("tokio / hue", div(mean_of(c["tokio"]), mean_of(c["hue"])),
                             ">= 1.0", 1.0)}
    if paired_log is not None or paired_wanted:
        # The same output format as tcp_echo's paired mode.
        p = parse_paired(paired_log)
        fig["churn_paired"] = p
        ratios["churn_paired"] = ratio(
            "median of tokio/hue per pair", None if p is None else p["median_tokio_over_hue"],
            ">= 1.0", 1.0)
    return {
        "title": "Connection churn",
        "commands": [criterion_command("churn")],
        "setup": "One iteration: 10,000 loopback connections, 64 at a time, each opened, one "
                 "64-byte request and reply, closed with a reset; the server gives each "
                 "connection a task in a fresh color (tokio: `tokio::spawn`), the 64 clients are "
                 "tasks in the same runtime; 2 workers per runtime, both in one process.",
        "figures": fig, "ratios": ratios, "missing": missing_of(fig),
    }


def churn_table(a):
    f, r = a["figures"], a["ratios"]
    c = f["churn"]
    per = lambda ns: None if ns is None else ns / CHURN_CONNECTIONS  # noqa: E731
    h, t = mean_of(c["hue"]), mean_of(c["tokio"])
    out = ["| workload | hue | tokio | tokio/hue | goal |", "|---|---:|---:|---:|---|",
           f"| `churn`, criterion means (10,000 connections) | {fmt_time(h)} | {fmt_time(t)} "
           f"| {bold_ratio(r['churn'])} | {fmt_goal(r['churn'])} |",
           f"| `churn`, per connection | {fmt_time(per(h))} | {fmt_time(per(t))} | | |"]
    if "churn_paired" in f:
        p = f["churn_paired"]
        n = "" if p is None else f"{p['pairs']} "
        out.append(
            f"| `churn`, {n}alternated pairs (medians; ratio: median of per-pair ratios) "
            f"| {fmt_ms(None if p is None else p['hue_median_ms'])} "
            f"| {fmt_ms(None if p is None else p['tokio_median_ms'])} "
            f"| {bold_ratio(r['churn_paired'])} | {fmt_goal(r['churn_paired'])} |")
    return out


# ---------------------------------------------------------------------------------------------
# Task memory: tests/task_memory.rs

MEMORY_RE = re.compile(
    # (not anchored: the harness prints "test NAME ... " before a test's first line)
    r"(?<!\S)(hue|tokio)\s+(?!live:)(\S*spawn.*?)\s+([\d.]+) bytes/task\s+([\d.]+) "
    r"allocations/task\s+\((\d+) bytes, (\d+) allocations, (\d+) spawns\)")
# The live rows: 200,000 tasks each parked forever after one poll, one case per process, net
# heap bytes per task and the spawn time, e.g.
#   hue  live: spawn_colored(Color::fresh(), pending)  120.9 bytes/task   1.00 allocations/task
#   (17620000 bytes, 200000 allocations, 200000 spawns)  spawn 472 ns/task     (one line)
LIVE_RE = re.compile(
    r"(?<!\S)(hue|tokio)\s+live:\s*(\S.*?)\s+([\d.]+) bytes/task\s+([\d.]+) "
    r"allocations/task\s+\((\d+) bytes, (\d+) allocations, (\d+) spawns\)"
    r"(?:\s+spawn ([\d.]+) ns/task)?")
LIVE_ROWS = [
    ("hue_inherited", "hue `spawn(pending)` (inherited color)"),
    ("hue_fresh", "hue `spawn_colored(Color::fresh(), pending)`"),
    ("hue_named_each", "hue `spawn_colored(Color::new(i), pending)` (one task per named color)"),
    ("hue_named_64", "hue `spawn_colored(Color::new(i % 64), pending)` (64 named colors)"),
    ("tokio", "tokio `tokio::spawn(pending)`"),
]
# The live cases with a goal: a hue task in a color of its own (a lone color).
LIVE_GOALS = ("hue_fresh", "hue_named_each")
TOKIO_TASK_BYTES = 128.0  # what tokio::spawn(async {}) requests (the table's tokio row)
MEMORY_ROWS = [
    ("hue_inherited", "hue `spawn(async {})` (inherited color)"),
    ("hue_fresh", "hue `spawn_colored(Color::fresh(), async {})`"),
    ("tokio", "tokio `tokio::spawn(async {})`"),
]


def memory_key(system, what):
    key = "tokio" if system == "tokio" else ("hue_fresh" if "fresh" in what else "hue_inherited")
    return key + ("_batch" if what.rstrip().endswith("batch") else "")


def live_key(system, what):
    """The live case of a `live:` line's description (after `live:`)."""
    if system == "tokio":
        return "tokio"
    if "fresh" in what:
        return "hue_fresh"
    if "Color::new" in what:
        return "hue_named_64" if "%" in what or "64 named" in what else "hue_named_each"
    if what.startswith("spawn("):
        return "hue_inherited"
    return "hue_" + (re.sub(r"[^a-z0-9]+", "_", what.lower()).strip("_") or "other")


def parse_live(text):
    """The live rows of the task_memory test's output, by case (see LIVE_ROWS)."""
    live = {}
    for system, what, _, _, b, n, spawns, ns in LIVE_RE.findall(text or ""):
        b, n, spawns = int(b), int(n), int(spawns)
        live[live_key(system, what)] = {
            "description": f"{system} live: {what.strip()}",
            "bytes": b, "allocations": n, "spawns": spawns,
            "bytes_per_task": b / spawns, "allocations_per_task": n / spawns,
            "spawn_ns_per_task": float(ns) if ns else None}
    return live


def memory_area(text, status=None):
    fig = {k: None for k, _ in MEMORY_ROWS}
    fig.update({k + "_batch": None for k, _ in MEMORY_ROWS})
    for system, what, _, _, b, n, spawns in MEMORY_RE.findall(text or ""):
        b, n, spawns = int(b), int(n), int(spawns)
        fig[memory_key(system, what)] = {
            "bytes": b, "allocations": n, "spawns": spawns,
            "bytes_per_task": b / spawns, "allocations_per_task": n / spawns}

    def per(k, field):
        return None if fig[k] is None else fig[k][field]

    ratios = {
        "hue_inherited_bytes": ratio("bytes per task", per("hue_inherited", "bytes_per_task"),
                                     "<= 128", None, 128.0, digits=1),
        "hue_inherited_allocations": ratio("allocations per task",
                                           per("hue_inherited", "allocations_per_task"),
                                           "exactly 1", 1.0, 1.0, digits=3),
        "hue_fresh_bytes": ratio("bytes per task", per("hue_fresh", "bytes_per_task"), "<= 128",
                                 None, 128.0, digits=1),
        "hue_fresh_allocations": ratio("allocations per task",
                                       per("hue_fresh", "allocations_per_task"), "<= 1.05", None,
                                       1.05, digits=3),
        "tokio_over_hue_inherited_bytes": ratio(
            "tokio bytes / hue bytes", div(per("tokio", "bytes_per_task"),
                                           per("hue_inherited", "bytes_per_task"))),
        "tokio_over_hue_fresh_bytes": ratio(
            "tokio bytes / hue bytes", div(per("tokio", "bytes_per_task"),
                                           per("hue_fresh", "bytes_per_task"))),
    }
    missing = missing_of(fig)
    live = {k: None for k, _ in LIVE_ROWS}
    live.update(parse_live(text))
    fig["live"] = live
    # The spawn time is optional on a line, but the goals need it.
    missing += [f"live/{k}" for k, _ in LIVE_ROWS if live[k] is None]
    missing += [f"live/{k}/spawn_ns_per_task" for k in LIVE_GOALS + ("tokio",)
                if live[k] is not None and live[k]["spawn_ns_per_task"] is None]

    def lper(k, field):
        return None if live.get(k) is None else live[k][field]

    for k, _ in LIVE_ROWS:
        if k == "tokio":
            continue
        goal = k in LIVE_GOALS
        ratios[f"live_{k}_bytes"] = ratio(
            "bytes per task", lper(k, "bytes_per_task"),
            *(("<= 128 (tokio's)", None, TOKIO_TASK_BYTES) if goal else ()), digits=1)
        ratios[f"live_tokio_over_{k}_bytes"] = ratio(
            "tokio bytes / hue bytes", div(lper("tokio", "bytes_per_task"),
                                           lper(k, "bytes_per_task")))
        ratios[f"live_tokio_over_{k}_spawn_ns"] = ratio(
            "tokio spawn ns / hue spawn ns", div(lper("tokio", "spawn_ns_per_task"),
                                                 lper(k, "spawn_ns_per_task")),
            *((">= 1.0", 1.0) if goal else ()))
    return {
        "title": "Task memory",
        "commands": ["cargo test --release --test task_memory -- --nocapture --test-threads=1"],
        "setup": "A counting global allocator counts what the spawn call alone requests, on a "
                 "1-worker runtime, after 1,000 warm-up spawns, over 1,000 spawns (each child "
                 "awaited before the next); `batch`: 1,000 spawns back to back, queue growth "
                 "included. Live tasks: 200,000 tasks each parked forever after one poll, each "
                 "case in its own process on 2 workers; the net heap bytes per live task and "
                 "the time per spawn call.",
        "test_status": status,
        "figures": fig, "ratios": ratios, "missing": missing,
    }


def memory_table(a):
    f, r = a["figures"], a["ratios"]
    goals = {"hue_inherited": ("hue_inherited_bytes", "hue_inherited_allocations"),
             "hue_fresh": ("hue_fresh_bytes", "hue_fresh_allocations")}
    vs = {"hue_inherited": "tokio_over_hue_inherited_bytes",
          "hue_fresh": "tokio_over_hue_fresh_bytes"}
    out = ["| spawn | bytes per task | allocations per task | tokio bytes / these | "
           "burst of 1,000: bytes, allocations per task | goal |",
           "|---|---:|---:|---:|---:|---|"]
    for key, label in MEMORY_ROWS:
        e, b = f[key], f[key + "_batch"]
        bytes_ = "n/a" if e is None else f"{e['bytes_per_task']:.1f}"
        allocs = "n/a" if e is None else f"{e['allocations_per_task']:.3f}"
        burst = "n/a" if b is None else \
            f"{b['bytes_per_task']:.1f}, {b['allocations_per_task']:.3f}"
        ratio_cell = bold_ratio(r[vs[key]]) if key in vs else "-"
        goal = "-"
        if key in goals:
            gb, ga = (r[g] for g in goals[key])
            goal = f"bytes {fmt_goal(gb)}; allocations {fmt_goal(ga)}"
        out.append(f"| {label} | {bytes_} | {allocs} | {ratio_cell} | {burst} | {goal} |")
    live = f.get("live")
    if live is not None:  # (an all.json from before the live rows has none)
        out += ["", "Live tasks (200,000 parked after one poll, each case in its own process, "
                "2 workers):", "",
                "| live task | bytes per task | allocations per task | tokio bytes / these "
                "| spawn ns per task | tokio ns / these | goal |",
                "|---|---:|---:|---:|---:|---:|---|"]
        for key, label in LIVE_ROWS:
            e = live.get(key)
            bytes_ = "n/a" if e is None else f"{e['bytes_per_task']:.1f}"
            allocs = "n/a" if e is None else f"{e['allocations_per_task']:.3f}"
            ns = "n/a" if e is None or e["spawn_ns_per_task"] is None else \
                f"{e['spawn_ns_per_task']:.0f}"
            if key == "tokio":
                out.append(f"| {label} | {bytes_} | {allocs} | - | {ns} | - | - |")
                continue
            rb, rt = r[f"live_tokio_over_{key}_bytes"], r[f"live_tokio_over_{key}_spawn_ns"]
            goal = "-"
            if key in LIVE_GOALS:
                goal = (f"bytes {fmt_goal(r[f'live_{key}_bytes'])}; "
                        f"spawn time {fmt_goal(rt)}")
            out.append(f"| {label} | {bytes_} | {allocs} | {bold_ratio(rb)} | {ns} "
                       f"| {bold_ratio(rt)} | {goal} |")
    if a.get("test_status") not in (None, 0, "0"):
        out.append("")
        out.append(f"**The test failed (exit status {a['test_status']}).**")
    return out


# ---------------------------------------------------------------------------------------------
# Web server: benches/http.sh (target/bench/http.json)

HTTP_ORDER = ["hue", "hue_ncopy1", "nginx", "tokio_hyper", "hue_workers2", "hue_ncopy2",
              "hue_workers2_nosteal"]
HTTP_LABEL = {
    "hue": "hue `--workers 1`",
    "hue_ncopy1": "hue `--ncopy 1`",
    "nginx": "nginx (1 worker, sendfile)",
    "tokio_hyper": "tokio + hyper (current thread)",
    "hue_workers2": "hue `--workers 2` (unpinned)*",
    "hue_ncopy2": "hue `--ncopy 2` (unpinned)*",
    "hue_workers2_nosteal": "hue `--workers 2 --steal off` (unpinned)*",
}
HTTP_SIZE = {"1k": "1 KiB", "64k": "64 KiB"}


def http_summary(results, duration, conns, score, ccore):
    """http.json's content from http.sh's results.tsv (round, file, server, rps, errors)."""
    runs = defaultdict(lambda: defaultdict(list))
    errors = defaultdict(list)
    with open(results) as fh:
        for line in fh:
            rnd, file, server, rps, err = (line.rstrip("\n").split("\t") + [""])[:5]
            runs[file][server].append(float(rps))
            if err:
                errors[server].append(f"{file} round {rnd}: {err}")
    # The best run of each: on a shared machine, other work only ever slows a run down, so the
    # best run is the closest to what the server can do (every run is kept under "runs").
    data = {f: {s: round(max(v), 1) for s, v in runs[f].items()} for f in runs}
    data["runs"] = {f: {s: v for s, v in runs[f].items()} for f in runs}
    data["errors"] = dict(errors)
    data["setup"] = {
        "wrk": f"-t1 -c{conns} -d{duration}, pinned to core {ccore}",
        "pinned": f"hue, hue_ncopy1, nginx, tokio_hyper: one worker pinned to core {score}",
        "unpinned": "hue_workers2, hue_ncopy2: two workers, unpinned (share the cores with wrk)",
        "figure": "requests/s, the best of the rounds (all runs under runs)",
    }
    data["date"] = now()
    return data


def web_area(http):
    files = [f for f in ("1k", "64k") if http and f in http]
    servers = [s for s in HTTP_ORDER if any(s in http[f] for f in files)] if http else []
    best = {f: {s: http[f].get(s) for s in servers} for f in files}
    ratios = {}
    for f in files:
        n = best[f].get("nginx")
        for s in servers:
            ratios[f"{f}_{s}_over_nginx"] = ratio(f"{s} / nginx", div(best[f].get(s), n))
    d = best.get("1k", {})
    # The goals benches/http.sh states: on the 1 KiB file.
    ratios["1k_hue_over_nginx"] = ratio("hue / nginx, 1 KiB", div(d.get("hue"), d.get("nginx")),
                                        ">= 1.0", 1.0)
    ratios["1k_hue_over_tokio_hyper"] = ratio(
        "hue / tokio+hyper, 1 KiB", div(d.get("hue"), d.get("tokio_hyper")), ">= 1.0", 1.0)
    ratios["1k_workers2_over_ncopy2"] = ratio(
        "hue --workers 2 / --ncopy 2, 1 KiB", div(d.get("hue_workers2"), d.get("hue_ncopy2")),
        ">= 1.0", 1.0)
    fig = {"best_requests_per_sec": best,
           "runs": (http or {}).get("runs", {}), "errors": (http or {}).get("errors", {}),
           "setup": (http or {}).get("setup", {})}
    missing = [] if files else ["http.json"]
    missing += [f"{f}/{s}" for f in files for s in servers if best[f].get(s) is None]
    return {
        "title": "Web server: hue vs nginx vs tokio + hyper",
        "commands": ["benches/http.sh"],
        "setup": "Servers with one worker pinned to one core, `wrk -t1 -c64` pinned to the "
                 "other, rounds alternating the servers, each started fresh and warmed up; "
                 "each figure is the best of its runs (all listed). The `--workers 2` / "
                 "`--ncopy 2` rows are unpinned and share the two cores with wrk: compare them "
                 "only with each other.",
        "figures": fig, "ratios": ratios, "missing": missing,
    }


def web_table(a):
    best, runs = a["figures"]["best_requests_per_sec"], a["figures"]["runs"]
    r = a["ratios"]
    files = list(best)
    servers = [s for s in HTTP_ORDER if any(s in best[f] for f in files)]
    out = ["| server | " + " | ".join(f"{HTTP_SIZE.get(f, f)} req/s | / nginx | runs"
                                     for f in files) + " |",
           "|---|" + "---:|---:|---|" * len(files)]
    for s in servers:
        cells = []
        for f in files:
            cells.append(fmt_rps(best[f].get(s)))
            cells.append(bold_ratio(r[f"{f}_{s}_over_nginx"]))
            cells.append(", ".join(f"{x / 1000:.0f}k" for x in runs.get(f, {}).get(s, [])))
        out.append(f"| {HTTP_LABEL.get(s, s)} | " + " | ".join(cells) + " |")
    out.append("")
    for key in ("1k_hue_over_nginx", "1k_hue_over_tokio_hyper", "1k_workers2_over_ncopy2"):
        out.append(f"- {r[key]['of']}: {bold_ratio(r[key])} (goal {fmt_goal(r[key])})")
    for s, errs in a["figures"].get("errors", {}).items():
        out.append(f"- {s} reported errors: " + "; ".join(errs))
    out.append("")
    out.append("\\* unpinned: two workers sharing the machine's two cores with wrk.")
    return out


# ---------------------------------------------------------------------------------------------
# hyper "Hello, world": benches/hyper_hello.sh (target/bench/hyper.json)


HYPER_SYSTEMS = ("hue", "tokio")
HYPER_GOAL_ROUNDS = 6  # the goals are judged over at least this many alternating rounds


def wrk_seconds(text):
    """wrk's duration as it prints it ("10.00s", "1.00m", "999.00ms") in seconds, or None."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", (text or "").strip())
    if m is None:
        return None
    return float(m.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}[
        m.group(2)]


def hyper_stats(runs):
    """Per system: the median and mean of requests/s and of the server's CPU us per request."""
    def of(system, field, f):
        v = [r[field] for r in runs if r["system"] == system and r.get(field) is not None]
        return round(f(v), 4) if v else None
    return {
        f"{stat}_{field}": {s: of(s, field, fn) for s in HYPER_SYSTEMS}
        for field in ("requests_per_sec", "cpu_us_per_request")
        for stat, fn in (("median", statistics.median), ("mean", statistics.mean))
    }


def hyper_summary(results, duration, conns, score, ccore):
    """hyper.json's content from hyper_hello.sh's results (round, system, rps, p50, p99, errors,
    requests, wrk duration, the server's utime+stime ticks over the measured run, CLK_TCK)."""
    runs = []
    ticks_per_sec = None
    with open(results) as fh:
        for line in fh:
            rnd, system, rps, p50, p99, errors, requests, wrk_time, ticks, clk = (
                line.rstrip("\n").split("\t") + [""] * 10)[:10]
            requests = int(requests) if requests.strip() else None
            cpu = int(ticks) / int(clk) if ticks.strip() and clk.strip() else None
            ticks_per_sec = int(clk) if clk.strip() else ticks_per_sec
            runs.append({"round": int(rnd), "system": system, "requests_per_sec": float(rps),
                         "latency_p50": p50, "latency_p99": p99, "errors": errors.strip(),
                         "requests": requests, "wrk_seconds": wrk_seconds(wrk_time),
                         "server_cpu_seconds": cpu,
                         "cpu_us_per_request": None if cpu is None or not requests
                         else round(cpu * 1e6 / requests, 4)})
    rps = {s: [r["requests_per_sec"] for r in runs if r["system"] == s] for s in HYPER_SYSTEMS}
    st = hyper_stats(runs)
    mean = st["mean_requests_per_sec"]
    return {
        "benchmark": "hyper_hello",
        "description": "hyper 1 + hyper-util auto builder serving 'Hello, world!' "
                       "(HTTP/1.1 keep-alive)",
        "command": f"wrk -t1 -c{conns} -d{duration} (taskset -c {ccore}); "
                   f"server --workers 1 (taskset -c {score})",
        "date": now(), "host": platform.node(), "cpus": os.cpu_count(),
        "rounds": max((r["round"] for r in runs), default=0),
        "clock_ticks_per_sec": ticks_per_sec,
        "cpu_time": "the server process's utime+stime (/proc/PID/stat) over the measured wrk "
                    "run, divided by the requests wrk completed in it",
        "runs": runs,
        "mean_requests_per_sec": mean,
        "best_requests_per_sec": {s: max(v) if v else None for s, v in rps.items()},
        "ratio_hue_over_tokio": div(mean["hue"], mean["tokio"]),
        "median_requests_per_sec": st["median_requests_per_sec"],
        "median_cpu_us_per_request": st["median_cpu_us_per_request"],
        "mean_cpu_us_per_request": st["mean_cpu_us_per_request"],
        "ratio_hue_over_tokio_median_requests_per_sec": div(
            st["median_requests_per_sec"]["hue"], st["median_requests_per_sec"]["tokio"]),
        "ratio_tokio_over_hue_median_cpu_us_per_request": div(
            st["median_cpu_us_per_request"]["tokio"], st["median_cpu_us_per_request"]["hue"]),
    }


def hyper_area(hyper):
    h = hyper or {}
    runs = h.get("runs", [])
    st = hyper_stats(runs)
    mean = h.get("mean_requests_per_sec", st["mean_requests_per_sec"])
    rounds = h.get("rounds", max((r["round"] for r in runs), default=0))
    med, cpu = st["median_requests_per_sec"], st["median_cpu_us_per_request"]
    goal = f">= 1.0 over >= {HYPER_GOAL_ROUNDS} rounds"
    ratios = {
        "hue_over_tokio": ratio("hue / tokio (means)", div(mean.get("hue"), mean.get("tokio")),
                                digits=2),
        "hue_over_tokio_median_rps": ratio(
            "hue / tokio (median req/s)", div(med["hue"], med["tokio"]), goal, 1.0),
        "tokio_over_hue_median_cpu_per_request": ratio(
            "tokio / hue (median CPU per request)", div(cpu["tokio"], cpu["hue"]), goal, 1.0),
    }
    if rounds < HYPER_GOAL_ROUNDS:  # too few rounds to judge: no verdict
        for k in ("hue_over_tokio_median_rps", "tokio_over_hue_median_cpu_per_request"):
            ratios[k]["met"] = None
            ratios[k]["note"] = (f"{rounds} round{'' if rounds == 1 else 's'}, the goal "
                                 f"needs {HYPER_GOAL_ROUNDS}")
    fig = {"mean_requests_per_sec": mean, "runs": runs, "wrk": h.get("command"),
           "rounds": rounds,
           "median_requests_per_sec": med,
           "median_cpu_us_per_request": cpu,
           "mean_cpu_us_per_request": st["mean_cpu_us_per_request"]}
    missing = [s for s in HYPER_SYSTEMS if mean.get(s) is None]
    missing += [f"cpu_us_per_request/{s}" for s in HYPER_SYSTEMS
                if mean.get(s) is not None and cpu[s] is None]
    return {
        "title": 'hyper "Hello, world": hue vs tokio',
        "commands": ["benches/hyper_hello.sh"],
        "setup": "The same binary (`examples/hyper_hello.rs`) on either runtime, 1 worker pinned "
                 "to one core, `wrk -t1 -c64` pinned to the other, rounds alternating, each "
                 "server started fresh and warmed up. Per run: requests/s, and the server's CPU "
                 "time per request (its utime+stime from `/proc/PID/stat` over the measured wrk "
                 "run, divided by the requests wrk completed); per system the median and mean "
                 f"of the runs. The goals are judged over at least {HYPER_GOAL_ROUNDS} rounds.",
        "figures": fig, "ratios": ratios, "missing": missing,
    }


def fmt_us(v):
    return "n/a" if v is None else f"{v:.2f} µs"


def hyper_table(a):
    f, r = a["figures"], a["ratios"]
    med = f.get("median_requests_per_sec", {})
    cmed, cmean = f.get("median_cpu_us_per_request", {}), f.get("mean_cpu_us_per_request", {})
    out = ["| system | median req/s | mean req/s | median CPU per request "
           "| mean CPU per request | req/s per run | CPU µs/request per run | p50 per run "
           "| p99 per run |", "|---|---:|---:|---:|---:|---|---|---|---|"]
    errors = []
    for s in HYPER_SYSTEMS:
        runs = [x for x in f["runs"] if x["system"] == s]
        rates = ", ".join(f"{x['requests_per_sec'] / 1000:.0f}k" for x in runs)
        cpus = ", ".join("?" if x.get("cpu_us_per_request") is None
                         else f"{x['cpu_us_per_request']:.2f}" for x in runs)
        p50 = ", ".join(x["latency_p50"] or "?" for x in runs)
        p99 = ", ".join(x["latency_p99"] or "?" for x in runs)
        errors += [f"- {s} round {x['round']} reported errors: {x['errors']}"
                   for x in runs if x.get("errors")]
        out.append(f"| {s} | {fmt_rps(med.get(s))} | {fmt_rps(f['mean_requests_per_sec'].get(s))} "
                   f"| {fmt_us(cmed.get(s))} | {fmt_us(cmean.get(s))} | {rates} | {cpus} "
                   f"| {p50} | {p99} |")
    out.append("")
    for key in ("hue_over_tokio_median_rps", "tokio_over_hue_median_cpu_per_request"):
        x = r.get(key)
        if x is None:  # (an all.json from before these ratios)
            continue
        note = f"; {x['note']}" if x.get("note") else ""
        out.append(f"- {x['of']}: {bold_ratio(x)} (goal {fmt_goal(x)}{note})")
    out.append(f"- hue / tokio (means): {bold_ratio(r['hue_over_tokio'])} (no goal)")
    out += errors
    return out


TABLES = {"scheduler": scheduler_table, "colors": colors_table, "timers": timers_table,
          "tcp_echo": tcp_echo_table, "churn": churn_table, "memory": memory_table,
          "web": web_table, "hyper": hyper_table}

# ---------------------------------------------------------------------------------------------
# One run: collect (target/bench/run -> all.json) and render (all.json -> BENCHMARKS.md)


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def read_json(path):
    text = read(path)
    return None if text is None else json.loads(text)


def read_tsv(path):
    text = read(path) or ""
    return [line.split("\t") for line in text.splitlines() if line]


def collect(run_dir, criterion_root):
    """all.json's content from run_all.sh's run directory."""
    meta = dict(read_tsv(os.path.join(run_dir, "meta.tsv")))
    knobs = {k[len("knob."):]: v for k, v in meta.items() if k.startswith("knob.")}
    steps = defaultdict(list)
    for area, step, rc, start, end, lb, la, command in read_tsv(os.path.join(run_dir, "steps.tsv")):
        steps[area].append({"step": step, "exit_status": int(rc), "start": int(start),
                            "end": int(end), "load_before": float(lb), "load_after": float(la),
                            "command": command})
    status = [line for line in (read(os.path.join(run_dir, "git_status.txt")) or "").splitlines()
              if line.strip()]
    # The run's own outputs are not "uncommitted changes to the measured code".
    dirty = [line[3:] for line in status
             if line[3:] not in ("BENCHMARKS.md", "benches/http.svg")]

    areas = {}
    for area, ss in steps.items():
        since = min(s["start"] for s in ss)
        log = lambda step: read(os.path.join(run_dir, f"{area}.{step}.log"))  # noqa: E731
        wanted = lambda step: any(s["step"] == step for s in ss)  # noqa: E731
        if area == "scheduler":
            a = scheduler_area(criterion_root, since)
        elif area == "colors":
            a = colors_area(criterion_root, since, log("alternate"), wanted("alternate"))
        elif area == "timers":
            a = timers_area(criterion_root, since)
        elif area == "tcp_echo":
            a = tcp_echo_area(criterion_root, since, log("paired"), wanted("paired"))
        elif area == "churn":
            a = churn_area(criterion_root, since, log("paired"), wanted("paired"))
        elif area == "memory":
            a = memory_area(log("test"), next(s["exit_status"] for s in ss))
        elif area == "web":
            a = web_area(read_json(os.path.join(run_dir, "http.json")))
        elif area == "hyper":
            a = hyper_area(read_json(os.path.join(run_dir, "hyper.json")))
        else:
            continue
        a["commands"] = [s["command"] for s in ss]
        a["steps"] = ss
        a["seconds"] = max(s["end"] for s in ss) - since
        failed = [s for s in ss if s["exit_status"] != 0]
        a["status"] = "ok" if not failed else "failed: " + ", ".join(
            f"{s['step']} exited with {s['exit_status']}" for s in failed)
        areas[area] = a

    start = int(meta.get("start", "0") or 0)
    end = int(meta.get("end", "0") or 0)
    return {
        "schema": 1,
        "generator": "benches/run_all.sh",
        "quick": meta.get("quick") == "1",
        "date": datetime.datetime.fromtimestamp(start, datetime.timezone.utc)
        .isoformat(timespec="seconds"),
        "seconds": end - start if end else None,
        "commit": meta.get("commit"),
        "branch": meta.get("branch"),
        "uncommitted_changes": dirty,
        "host": platform.node(), "cpus": os.cpu_count(), "kernel": platform.release(),
        "rustc": meta.get("rustc"),
        "load_average_at_start": meta.get("load"),
        "knobs": knobs,
        "areas_requested": meta.get("areas", "").split(),
        "areas": {k: areas[k] for k in AREAS if k in areas},
    }


def fmt_seconds(s):
    if s is None:
        return "?"
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


HEADINGS = {
    "scheduler": "Scheduler: hue vs tokio on tokio's own workloads",
    "colors": "Colors: state without locks, stealing, scaling",
    "timers": "Timers: hue vs tokio",
    "tcp_echo": "Sockets: loopback echo, hue vs tokio",
    "churn": "Connection churn: hue vs tokio",
    "memory": "Task memory: what a spawn allocates",
    "web": "Web server: hue vs nginx vs tokio + hyper",
    "hyper": 'hyper "Hello, world": hue vs tokio',
}


def region(doc):
    """The results region's markdown for all.json's content `doc`."""
    out = [BEGIN,
           "<!-- Generated by benches/report.py from target/bench/all.json (written by "
           "benches/run_all.sh). Do not edit by hand: rerun the script. -->", ""]
    if doc["quick"]:
        out += ["> **QUICK RUN (`QUICK=1`): short criterion times, one short round per server. "
                "These numbers only show that the pipeline works; they are not results: do not "
                "quote them.** A full run (`benches/run_all.sh`) replaces this region.", ""]
    commit = (doc.get("commit") or "unknown")[:10]
    dirty = doc.get("uncommitted_changes") or []
    knobs = " ".join(f"{k}={v!r}" if " " in v else f"{k}={v}"
                     for k, v in sorted(doc.get("knobs", {}).items()) if v and k != "QUICK")
    dirty_text = ", ".join(f"`{d}`" for d in dirty[:4]) + (
        f" and {len(dirty) - 4} more files" if len(dirty) > 4 else "")
    out.append(f"Run of {doc['date']}, commit `{commit}`"
               + (f" plus uncommitted changes to {dirty_text}" if dirty else "")
               + f" ({doc.get('branch')}), {doc.get('cpus')} CPUs, {doc.get('rustc')}: "
               f"`{'QUICK=1 ' if doc['quick'] else ''}benches/run_all.sh` took "
               f"{fmt_seconds(doc.get('seconds'))}, with `{knobs}`; load average at the start "
               f"{doc.get('load_average_at_start')}.")
    out.append("")
    out.append("Unless a table says otherwise, ratios are `peer time / hue time` or `hue rate / "
               "peer rate`: above 1.0, hue is faster. Compare ratios within one run; absolute "
               "figures move by tens of percent between runs on this shared machine.")
    out.append("")
    for area in AREAS:
        a = doc["areas"].get(area)
        if a is None:
            why = ("the run has no figures for it" if area in doc.get("areas_requested", AREAS)
                   else f"not in this run's AREAS ({' '.join(doc.get('areas_requested', []))})")
            out += [f"### {HEADINGS[area]}", "", f"**Not measured: {why}.**", ""]
            continue
        out += [f"### {HEADINGS[area]}", ""]
        cmds = "; ".join(f"`{c}`" for c in a["commands"])
        out.append(f"{cmds} ({fmt_seconds(a.get('seconds'))}, load average "
                   f"{a['steps'][0]['load_before']:.2f} before). {a['setup']}")
        if a.get("status", "ok") != "ok":
            out.append(f"**{a['status']}.**")
        if a.get("missing"):
            out.append(f"**Missing figures: {', '.join(a['missing'])}.**")
        out.append("")
        out += TABLES[area](a)
        if area == "web":
            out += ["", "![requests/s](benches/http.svg)"]
        out.append("")
    out.append(END)
    return "\n".join(out)


def replace_region(text, new_region):
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"no {BEGIN} ... {END} region")
    return text[:start] + new_region + text[end + len(END):]


def write_chart(doc, path):
    import http_chart  # noqa: E402  (benches/http_chart.py)
    web = doc["areas"].get("web")
    if web is None or not web["figures"]["best_requests_per_sec"]:
        return False
    note = "QUICK RUN: not results, do not quote" if doc["quick"] else None
    svg = http_chart.render(web["figures"]["best_requests_per_sec"], note=note)
    with open(path, "w") as f:
        f.write(svg)
    return True


def render(args):
    doc = read_json(args.json)
    if doc is None:
        sys.exit(f"no {args.json}: run benches/run_all.sh first")
    text = region(doc)
    if args.md:
        with open(args.md, "w") as f:
            f.write(text + "\n")
        print(f"wrote {args.md}")
    missing = {a: v["missing"] for a, v in doc["areas"].items() if v.get("missing")}
    failed = {a: v["status"] for a, v in doc["areas"].items() if v.get("status", "ok") != "ok"}
    absent = [a for a in AREAS if a not in doc["areas"]]
    reasons = []
    if doc["quick"]:
        reasons.append("it is a QUICK run")
    if missing:
        reasons.append("figures are missing: " + "; ".join(f"{a}: {', '.join(m)}"
                                                          for a, m in missing.items()))
    if failed:
        reasons.append("steps failed: " + "; ".join(f"{a}: {s}" for a, s in failed.items()))
    if absent:
        reasons.append("areas not run: " + ", ".join(absent))
    if reasons and not args.force:
        print(f"not writing {args.doc}: " + "; and ".join(reasons) + " (FORCE=1 / --force "
              "writes it anyway, marked)", file=sys.stderr)
        return 3
    if not args.doc:
        return 0
    with open(args.doc) as f:
        old = f.read()
    with open(args.doc, "w") as f:
        f.write(replace_region(old, text))
    print(f"wrote the results region of {args.doc}")
    if args.chart and write_chart(doc, args.chart):
        print(f"wrote {args.chart}")
    return 0


def table(args):
    if args.json:
        doc = read_json(args.json)
        a = doc["areas"].get(args.area)
        if a is None:
            sys.exit(f"{args.json} has no area {args.area}")
    else:
        root = args.criterion
        if args.area in ("scheduler", "colors", "timers", "tcp_echo", "churn") \
                and not os.path.isdir(root):
            sys.exit(f"no criterion results at {root}; run `cargo bench --bench "
                     f"{args.area}` first")
        a = {
            "scheduler": lambda: scheduler_area(root),
            "colors": lambda: colors_area(root),
            "timers": lambda: timers_area(root),
            "tcp_echo": lambda: tcp_echo_area(root),
            "churn": lambda: churn_area(root),
            "memory": lambda: memory_area(sys.stdin.read() if args.log == "-" else read(args.log))
            if args.log else None,
            "web": lambda: web_area(server_json("http.json", "benches/http.sh")),
            "hyper": lambda: hyper_area(server_json("hyper.json", "benches/hyper_hello.sh")),
        }.get(args.area)
        a = a and a()
        if a is None:
            sys.exit("memory: from a run's JSON (--json target/bench/all.json) or the test's "
                     "output (--log FILE, - for stdin)")
    print("\n".join(TABLES[args.area](a)))
    return 0


def server_json(name, script):
    doc = read_json(os.path.join(REPO, "target/bench", name))
    if doc is None:
        sys.exit(f"no target/bench/{name}; run {script} first")
    return doc


def print_criterion_area(area, argv=None):
    """What the per-benchmark printers (ratios.py, ...) do: one area from target/criterion."""
    argv = sys.argv[1:] if argv is None else argv
    root = argv[0] if argv else os.path.join(REPO, "target", "criterion")
    return table(argparse.Namespace(json=None, criterion=root, area=area, log=None))


SELFTEST_MEMORY = """\
test steady ... hue  spawn(async {}) [inherited color]   80.0 bytes/task   1.00 allocations/task  \
(80000 bytes, 1000 allocations, 1000 spawns)
hue  spawn_colored(Color::fresh(), async {}) batch   128.1 bytes/task   1.10 allocations/task  \
(128100 bytes, 1102 allocations, 1000 spawns)
hue  live: spawn(pending) [inherited color]             88.1 bytes/task   1.00 allocations/task  \
(17620000 bytes, 200000 allocations, 200000 spawns)  spawn 98 ns/task
hue  live: spawn_colored(Color::fresh(), pending)      120.9 bytes/task   1.00 allocations/task  \
(24180000 bytes, 200000 allocations, 200000 spawns)  spawn 472 ns/task
hue  live: spawn_colored(Color::new(i), pending) [one task per named color]   130.0 bytes/task   \
1.00 allocations/task  (26000000 bytes, 200000 allocations, 200000 spawns)  spawn 300 ns/task
hue  live: spawn_colored(Color::new(i % 64), pending) [64 named colors]   88.0 bytes/task   \
1.00 allocations/task  (17600000 bytes, 200000 allocations, 200000 spawns)
tokio live: tokio::spawn(pending)   128.0 bytes/task   1.00 allocations/task  \
(25600000 bytes, 200000 allocations, 200000 spawns)  spawn 350 ns/task
"""


def selftest():
    """Checks the parsers on sample lines in the formats the benches and the test print."""
    a = memory_area(SELFTEST_MEMORY, 0)
    f, live, r = a["figures"], a["figures"]["live"], a["ratios"]
    assert f["hue_inherited"]["bytes_per_task"] == 80.0, f
    assert f["hue_fresh_batch"]["allocations"] == 1102, f
    assert f["hue_fresh"] is None and f["tokio"] is None, "a live: line taken for today's rows"
    assert live["hue_inherited"]["bytes"] == 17620000, live
    assert live["hue_inherited"]["spawn_ns_per_task"] == 98.0, live
    assert abs(live["hue_fresh"]["bytes_per_task"] - 120.9) < 1e-9, live
    assert live["hue_named_each"]["spawn_ns_per_task"] == 300.0, live
    assert live["hue_named_64"]["spawns"] == 200000, live
    assert live["hue_named_64"]["spawn_ns_per_task"] is None, live
    assert live["tokio"]["bytes_per_task"] == 128.0, live
    assert r["live_hue_fresh_bytes"]["met"] is True, r
    assert r["live_hue_named_each_bytes"]["met"] is False, r
    assert r["live_tokio_over_hue_fresh_spawn_ns"]["met"] is False, r
    assert r["live_tokio_over_hue_named_each_spawn_ns"]["met"] is True, r
    assert "live/hue_named_64/spawn_ns_per_task" not in a["missing"], a["missing"]
    assert set(a["missing"]) == {"hue_fresh", "tokio", "hue_inherited_batch", "tokio_batch"}, \
        a["missing"]
    memory_table(a)
    p = parse_paired("  0  hue   169.38 ms  tokio   169.25 ms  tokio/hue 1.00\n"
                     "  1  hue   170.00 ms  tokio   180.00 ms  tokio/hue 1.06\n"
                     "paired, 2 pairs: median hue 169.38 ms, median tokio 169.25 ms, median of "
                     "tokio/hue per pair 1.00\n")
    assert p["pairs"] == 2 and p["each_pair"][1] == {"hue_ms": 170.0, "tokio_ms": 180.0}, p
    churn_table(churn_area("/nonexistent", paired_log=None, paired_wanted=True))
    print("report.py selftest: ok")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect", help="gather one run of benches/run_all.sh into all.json")
    c.add_argument("--run-dir", default=os.path.join(REPO, "target/bench/run"))
    c.add_argument("--criterion", default=os.path.join(REPO, "target/criterion"))
    c.add_argument("--out", default=os.path.join(REPO, "target/bench/all.json"))
    r = sub.add_parser("render", help="write BENCHMARKS.md's results region from all.json")
    r.add_argument("--json", default=os.path.join(REPO, "target/bench/all.json"))
    r.add_argument("--doc", default=os.path.join(REPO, "BENCHMARKS.md"))
    r.add_argument("--chart", default=os.path.join(REPO, "benches/http.svg"))
    r.add_argument("--md", help="also write the region alone to this file (always, quick or not)")
    r.add_argument("--force", action="store_true",
                   help="write BENCHMARKS.md even for a QUICK or incomplete run")
    t = sub.add_parser("table", help="print one area's table")
    t.add_argument("area", choices=AREAS)
    t.add_argument("--json", help="from this all.json (default: from target/criterion etc.)")
    t.add_argument("--criterion", default=os.path.join(REPO, "target/criterion"))
    t.add_argument("--log", help="memory: the output of the task_memory test (- for stdin)")
    for name, script in (("http-summary", "http.sh"), ("hyper-summary", "hyper_hello.sh")):
        s = sub.add_parser(name, help=f"used by benches/{script}: results TSV -> JSON + table")
        for arg in ("results", "out", "duration", "conns", "server_core", "client_core"):
            s.add_argument(arg)
    sub.add_parser("selftest", help="check the log parsers on sample lines")
    args = p.parse_args()

    if args.cmd == "selftest":
        return selftest()

    if args.cmd == "collect":
        doc = collect(args.run_dir, args.criterion)
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        print(f"wrote {args.out}")
        return 0
    if args.cmd == "render":
        return render(args)
    if args.cmd == "table":
        return table(args)
    if args.cmd == "http-summary":
        data = http_summary(args.results, args.duration, args.conns, args.server_core,
                            args.client_core)
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "http.json"), "w") as f:
            json.dump(data, f, indent=2)
        lines = web_table(web_area(data))
        lines.insert(0, f"wrk {data['setup']['wrk']}; {data['setup']['pinned']}. Each figure is "
                        "the best of its runs (all listed), the rounds alternating the servers, "
                        "each server started fresh and warmed up. Ratios > 1: faster than nginx.")
        lines.insert(1, "")
        with open(os.path.join(args.out, "http.md"), "w") as f:
            f.write("\n".join(lines) + "\n")
        print("\n".join(lines))
        return 0
    if args.cmd == "hyper-summary":
        data = hyper_summary(args.results, args.duration, args.conns, args.server_core,
                             args.client_core)
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "hyper.json"), "w") as f:
            json.dump(data, f, indent=2)
        lines = ['# hyper "Hello, world!": hue vs tokio', "",
                 f"`{data['command']}`, {data['date']}", ""] + hyper_table(hyper_area(data))
        with open(os.path.join(args.out, "hyper.md"), "w") as f:
            f.write("\n".join(lines) + "\n")
        print("\n".join(lines))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
