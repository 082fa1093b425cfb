#!/usr/bin/env python3
"""Print the results of the last `cargo bench --bench timers` run, with ratios and goals.

Reads target/criterion/<group>/<function>/new/estimates.json (mean.point_estimate, in ns)
and prints a markdown table (each system's mean time), then the ratios:
  timers:       overhead = mean - 50 ms (the deadlines' spread, which both systems must wait)
                tokio overhead / hue overhead   (> 1: hue's timers cost less; goal >= 1.0)
                tokio / hue                     (the plain ratio of the times)
  timer_churn:  tokio / hue                     (> 1: hue faster; goal >= 1.0)
                the same for the timers' own cost: timer_churn - churn_baseline (the loop
                without timeouts), i.e. the price of 1,000,000 registered and cancelled timers
Usage: python3 benches/timers_ratios.py [criterion_dir]   (default: target/criterion)
"""

import os
import sys

# Shared with the other scripts: reading criterion's estimates and formatting times.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ratios import fmt_time, mean_ns  # noqa: E402

SPREAD_NS = 50e6  # the `timers` deadlines span 0-50 ms
GROUPS = ["timers", "timer_churn", "churn_baseline"]
SYSTEMS = ["hue", "tokio"]


def ratio(num, den):
    return None if num is None or den is None or den <= 0 else num / den


def fmt_ratio(r):
    return "n/a" if r is None else f"{r:.2f}"


def verdict(r, goal):
    if r is None:
        return "n/a"
    return "met" if r >= goal else "NOT met"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(os.path.dirname(here), "target", "criterion")
    root = sys.argv[1] if len(sys.argv) > 1 else default
    if not os.path.isdir(root):
        sys.exit(f"no criterion results at {root}; run `cargo bench --bench timers` first")

    means = {g: {s: mean_ns(root, g, s) for s in SYSTEMS} for g in GROUPS}
    overhead = {
        s: None if means["timers"][s] is None else means["timers"][s] - SPREAD_NS
        for s in SYSTEMS
    }

    print("| group | hue | tokio | hue overhead | tokio overhead |")
    print("|---|---:|---:|---:|---:|")
    t = means["timers"]
    print(
        f"| timers | {fmt_time(t['hue'])} | {fmt_time(t['tokio'])} "
        f"| {fmt_time(overhead['hue'])} | {fmt_time(overhead['tokio'])} |"
    )
    ch = means["timer_churn"]
    base = means["churn_baseline"]
    timer_cost = {
        s: None if ch[s] is None or base[s] is None else ch[s] - base[s] for s in SYSTEMS
    }
    print(f"| timer_churn | {fmt_time(ch['hue'])} | {fmt_time(ch['tokio'])} | | |")
    print(f"| churn_baseline | {fmt_time(base['hue'])} | {fmt_time(base['tokio'])} | | |")
    print(
        f"| timer_churn - churn_baseline | {fmt_time(timer_cost['hue'])} "
        f"| {fmt_time(timer_cost['tokio'])} | | |"
    )
    print()

    rows = [
        ("timers", "tokio overhead / hue overhead", ratio(overhead["tokio"], overhead["hue"]),
         1.0),
        ("timers", "tokio / hue", ratio(t["tokio"], t["hue"]), 1.0),
        ("timer_churn", "tokio / hue", ratio(ch["tokio"], ch["hue"]), 1.0),
        ("timer_churn", "timers only: tokio / hue", ratio(timer_cost["tokio"], timer_cost["hue"]),
         1.0),
    ]
    print("| group | ratio | value | goal | |")
    print("|---|---|---:|---|---|")
    for group, name, r, goal in rows:
        print(f"| {group} | {name} | {fmt_ratio(r)} | >= {goal:.1f} | {verdict(r, goal)} |")
    print()
    print("Ratios above 1 mean hue is faster (hue <= tokio is the goal). The timers overhead")
    print("is the mean time minus the 50 ms the last deadline is away from the start.")


if __name__ == "__main__":
    main()
