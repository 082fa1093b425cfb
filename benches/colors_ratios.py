#!/usr/bin/env python3
"""Print the results of the last `cargo bench --bench colors` run, with ratios and goals.

Reads target/criterion/<group>/<function>/new/estimates.json (mean.point_estimate, in ns)
and prints the markdown table BENCHMARKS.md shows (benches/report.py renders it): each
group's mean times and its ratio:
  colored_state: best tokio / hue                       (> 1: hue faster; goal >= 1.0)
  steal_skewed:  hue_1_worker / hue_2_workers           (goal >= 1.8)
                 hue_1_worker / hue_2_workers_no_steal  (expected about 1.0)
  scale_colors:  hue_1_worker / hue_2_workers           (goal >= 1.9)
(The COLORED_STATE_ALTERNATE figure is printed by the bench itself; benches/run_all.sh puts
it in the table too.)
Usage: python3 benches/colors_ratios.py [criterion_dir]   (default: target/criterion)
"""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import print_criterion_area  # noqa: E402

if __name__ == "__main__":
    sys.exit(print_criterion_area("colors"))
