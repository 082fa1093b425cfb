#!/usr/bin/env python3
"""Print the results of the last `cargo bench --bench tcp_echo` run, with the ratio and goal.

Reads target/criterion/tcp_echo/<system>/new/estimates.json (mean.point_estimate, in ns) and
prints the markdown table BENCHMARKS.md shows (benches/report.py renders it): hue's and
tokio's mean time per iteration (64 connections x 100 round trips of 1 KiB), the time per
round trip, and tokio/hue (> 1: hue faster; goal >= 1.0). (The TCP_ECHO_PAIRED figure is
printed by the bench itself; benches/run_all.sh puts it in the table too.)
Usage: python3 benches/tcp_echo_ratios.py [criterion_dir]   (default: target/criterion)
"""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import print_criterion_area  # noqa: E402

if __name__ == "__main__":
    sys.exit(print_criterion_area("tcp_echo"))
