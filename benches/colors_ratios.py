#!/usr/bin/env python3
"""Print the results of the last `cargo bench --bench colors` run, with ratios and goals.

Reads target/criterion/<group>/<function>/new/estimates.json (mean.point_estimate, in ns)
and prints one markdown table per group (each function's mean time), then the ratios:
  colored_state: best tokio / hue                       (> 1: hue faster; goal >= 1.0)
  steal_skewed:  hue_1_worker / hue_2_workers           (goal >= 1.8)
                 hue_1_worker / hue_2_workers_no_steal  (expected about 1.0)
  scale_colors:  hue_1_worker / hue_2_workers           (goal >= 1.9)
Usage: python3 benches/colors_ratios.py [criterion_dir]   (default: target/criterion)
"""

import os
import sys

# Shared with the scheduler script: reading criterion's estimates and formatting times.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ratios import fmt_time, mean_ns  # noqa: E402

GROUPS = {
    "colored_state": ["hue", "tokio_std_mutex", "tokio_async_mutex"],
    "steal_skewed": ["hue_1_worker", "hue_2_workers", "hue_2_workers_no_steal"],
    "scale_colors": ["hue_1_worker", "hue_2_workers"],
}


def ratio(num, den):
    return None if num is None or den is None or den == 0 else num / den


def fmt_ratio(r):
    return "n/a" if r is None else f"{r:.2f}"


def verdict(r, lo, hi=None):
    if r is None:
        return "n/a"
    ok = r >= lo and (hi is None or r <= hi)
    return "met" if ok else "NOT met"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(os.path.dirname(here), "target", "criterion")
    root = sys.argv[1] if len(sys.argv) > 1 else default
    if not os.path.isdir(root):
        sys.exit(f"no criterion results at {root}; run `cargo bench --bench colors` first")

    means = {g: {f: mean_ns(root, g, f) for f in fs} for g, fs in GROUPS.items()}

    print("| group | function | mean |")
    print("|---|---|---:|")
    for group, functions in GROUPS.items():
        for function in functions:
            print(f"| {group} | {function} | {fmt_time(means[group][function])} |")
    print()

    state = means["colored_state"]
    tokios = [(state[f], f) for f in ("tokio_std_mutex", "tokio_async_mutex") if state[f] is not None]
    best_tokio, best_name = min(tokios) if tokios else (None, "tokio")
    skew = means["steal_skewed"]
    scale = means["scale_colors"]
    rows = [
        ("colored_state", f"best tokio ({best_name}) / hue", ratio(best_tokio, state["hue"]),
         ">= 1.0", (1.0, None)),
        ("steal_skewed", "hue_1_worker / hue_2_workers",
         ratio(skew["hue_1_worker"], skew["hue_2_workers"]), ">= 1.8", (1.8, None)),
        ("steal_skewed", "hue_1_worker / hue_2_workers_no_steal",
         ratio(skew["hue_1_worker"], skew["hue_2_workers_no_steal"]), "about 1.0 (0.9-1.1)",
         (0.9, 1.1)),
        ("scale_colors", "hue_1_worker / hue_2_workers",
         ratio(scale["hue_1_worker"], scale["hue_2_workers"]), ">= 1.9", (1.9, None)),
    ]
    print("| group | ratio | value | goal | |")
    print("|---|---|---:|---|---|")
    for group, name, r, goal, (lo, hi) in rows:
        print(f"| {group} | {name} | {fmt_ratio(r)} | {goal} | {verdict(r, lo, hi)} |")


if __name__ == "__main__":
    main()
