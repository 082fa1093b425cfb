#!/usr/bin/env python3
"""Print hue-vs-tokio ratios from the last `cargo bench --bench scheduler` run.

Reads target/criterion/<group>/<system>/new/estimates.json (mean.point_estimate, in ns)
and prints a markdown table. tokio/hue > 1 means hue is faster on that workload.
Usage: python3 benches/ratios.py [criterion_dir]   (default: target/criterion)
"""

import json
import os
import sys

GROUPS = ["spawn_many_local", "spawn_many_remote", "yield_many", "ping_pong", "chained_spawn"]


def mean_ns(root, group, system):
    path = os.path.join(root, group, system, "new", "estimates.json")
    try:
        with open(path) as f:
            return float(json.load(f)["mean"]["point_estimate"])
    except (OSError, KeyError, ValueError):
        return None


def fmt_time(ns):
    if ns is None:
        return "n/a"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3f} {unit}"
    return f"{ns:.1f} ns"


def fmt_ratio(num, den):
    return "n/a" if num is None or den is None or den == 0 else f"{num / den:.2f}"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(os.path.dirname(here), "target", "criterion")
    root = sys.argv[1] if len(sys.argv) > 1 else default
    if not os.path.isdir(root):
        sys.exit(f"no criterion results at {root}; run `cargo bench --bench scheduler` first")

    print("| group | hue | tokio | tokio/hue |")
    print("|---|---:|---:|---:|")
    for group in GROUPS:
        hue, tokio = mean_ns(root, group, "hue"), mean_ns(root, group, "tokio")
        print(f"| {group} | {fmt_time(hue)} | {fmt_time(tokio)} | {fmt_ratio(tokio, hue)} |")

    fifo, yields = mean_ns(root, "colored_fifo", "hue"), mean_ns(root, "yield_many", "hue")
    print()
    print("| hue: colored_fifo (8 colors) | hue: yield_many (200 colors) | colored_fifo/yield_many |")
    print("|---:|---:|---:|")
    print(f"| {fmt_time(fifo)} | {fmt_time(yields)} | {fmt_ratio(fifo, yields)} |")
    print()
    print(
        "tokio/hue > 1: hue faster. colored_fifo/yield_many: > 1 is the cost of serializing"
        " 200 tasks into 8 colors; < 1 means 8 colors were cheaper to schedule than 200."
    )


if __name__ == "__main__":
    main()
