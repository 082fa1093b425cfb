#!/usr/bin/env python3
"""Print the results of the last `cargo bench --bench tcp_echo` run, with the ratio and goal.

Reads target/criterion/tcp_echo/<system>/new/estimates.json (mean.point_estimate, in ns) and
prints a markdown table: hue's and tokio's mean time per iteration (64 connections x 100
round trips of 1 KiB), the time per round trip, and tokio/hue (> 1: hue faster; goal >= 1.0).
Usage: python3 benches/tcp_echo_ratios.py [criterion_dir]   (default: target/criterion)
"""

import os
import sys

# Shared with the other scripts: reading criterion's estimates and formatting times.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ratios import fmt_time, mean_ns  # noqa: E402

GROUP = "tcp_echo"
ROUND_TRIPS = 64 * 100  # per iteration: CONNECTIONS x ROUND_TRIPS in benches/tcp_echo.rs


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(os.path.dirname(here), "target", "criterion")
    root = sys.argv[1] if len(sys.argv) > 1 else default
    if not os.path.isdir(root):
        sys.exit(f"no criterion results at {root}; run `cargo bench --bench tcp_echo` first")

    hue, tokio = mean_ns(root, GROUP, "hue"), mean_ns(root, GROUP, "tokio")
    per_trip = lambda ns: None if ns is None else ns / ROUND_TRIPS  # noqa: E731
    if hue is None or tokio is None or hue == 0:
        ratio, verdict = "n/a", "n/a"
    else:
        r = tokio / hue
        ratio, verdict = f"{r:.2f}", "met" if r >= 1.0 else "NOT met"

    print("| group | hue | tokio | hue per round trip | tokio per round trip | tokio/hue | goal |")
    print("|---|---:|---:|---:|---:|---:|---|")
    print(
        f"| {GROUP} | {fmt_time(hue)} | {fmt_time(tokio)} | {fmt_time(per_trip(hue))} "
        f"| {fmt_time(per_trip(tokio))} | {ratio} | >= 1.0 ({verdict}) |"
    )
    print()
    print("tokio/hue > 1: hue faster. One iteration: 64 loopback connections x 100 round trips"
          " of 1 KiB, client and server in one process, 2 workers per runtime.")


if __name__ == "__main__":
    main()
