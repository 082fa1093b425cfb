#!/usr/bin/env python3
"""Print the results of the last `cargo bench --bench timers` run, with ratios and goals.

Reads target/criterion/<group>/<function>/new/estimates.json (mean.point_estimate, in ns)
and prints the markdown table BENCHMARKS.md shows (benches/report.py renders it):
  timers:       tokio / hue, and the same for the time beyond the 50 ms the last deadline
                is away from the start (what the timers themselves cost); goal >= 1.0
  timer_churn:  tokio / hue (goal >= 1.0), and the same for timer_churn - churn_baseline
                (the loop without timeouts), i.e. the price of 1,000,000 registered and
                cancelled timers
Ratios above 1 mean hue is faster.
Usage: python3 benches/timers_ratios.py [criterion_dir]   (default: target/criterion)
"""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import print_criterion_area  # noqa: E402

if __name__ == "__main__":
    sys.exit(print_criterion_area("timers"))
