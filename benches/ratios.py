#!/usr/bin/env python3
"""Print hue-vs-tokio ratios from the last `cargo bench --bench scheduler` run.

Reads target/criterion/<group>/<system>/new/estimates.json (mean.point_estimate, in ns)
and prints the markdown table BENCHMARKS.md shows (benches/report.py renders it):
tokio/hue > 1 means hue is faster on that workload (goal: >= 1.0 on each), and
colored_fifo/yield_many (both hue) < 1 means 8 colors were cheaper to schedule than 200.
Usage: python3 benches/ratios.py [criterion_dir]   (default: target/criterion)
"""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import fmt_time, mean_ns, print_criterion_area  # noqa: E402,F401 (re-exported)

if __name__ == "__main__":
    sys.exit(print_criterion_area("scheduler"))
