#!/usr/bin/env python3
"""Draw target/bench/http.json (written by benches/http.sh) as an SVG bar chart.

One group of bars per file (1 KiB, 64 KiB), one bar per server, labelled with requests/s and
the ratio to nginx. Plain SVG, no plotting library needed. benches/report.py draws the chart
of a whole run (benches/run_all.sh) with `render`.
Usage: python3 benches/http_chart.py [http.json] [http.svg]
"""

import json
import sys

ORDER = ["hue", "hue_ncopy1", "nginx", "tokio_hyper", "hue_workers2", "hue_ncopy2"]
LABELS = {
    "hue": "hue --workers 1",
    "hue_ncopy1": "hue --ncopy 1",
    "nginx": "nginx",
    "tokio_hyper": "tokio + hyper",
    "hue_workers2": "hue --workers 2*",
    "hue_ncopy2": "hue --ncopy 2*",
}
COLORS = {
    "hue": "#d9480f",
    "hue_ncopy1": "#f08c00",
    "nginx": "#2b8a3e",
    "tokio_hyper": "#1971c2",
    "hue_workers2": "#e8590c",
    "hue_ncopy2": "#fab005",
}
FILES = [("1k", "1 KiB file"), ("64k", "64 KiB file")]


def render(data, note=None):
    """The chart's SVG text for `data` ({"1k": {server: rps}, "64k": {...}}); `note`, if
    given, is added to the title (benches/report.py marks a QUICK run's chart with it)."""
    servers = [s for s in ORDER if any(s in data.get(f, {}) for f, _ in FILES)]
    files = [(f, t) for f, t in FILES if f in data]

    bar, gap, group_gap = 46, 10, 60
    left, top, height = 70, 50 + (20 if note else 0), 300
    group_w = len(servers) * (bar + gap)
    width = left + len(files) * (group_w + group_gap) + 20
    legend_h = 24 * ((len(servers) + 2) // 3)
    total_h = top + height + 60 + legend_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total_h}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{total_h}" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
        "Static file server, requests/s (wrk -t1 -c64; higher is better)</text>",
    ]
    if note:
        out.append(f'<text x="{width / 2}" y="40" text-anchor="middle" font-size="14" '
                   f'font-weight="bold" fill="#c92a2a">{note}</text>')
    for gi, (f, title) in enumerate(files):
        values = data[f]
        peak = max(values.get(s, 0) for s in servers) or 1
        x0 = left + gi * (group_w + group_gap)
        out.append(f'<line x1="{x0 - 5}" y1="{top + height}" x2="{x0 + group_w}" '
                   f'y2="{top + height}" stroke="#333"/>')
        out.append(f'<text x="{x0 + group_w / 2}" y="{top + height + 22}" text-anchor="middle" '
                   f'font-weight="bold">{title}</text>')
        nginx = values.get("nginx")
        for si, s in enumerate(servers):
            v = values.get(s)
            if v is None:
                continue
            h = height * v / peak
            x = x0 + si * (bar + gap)
            y = top + height - h
            out.append(f'<rect x="{x}" y="{y:.1f}" width="{bar}" height="{h:.1f}" '
                       f'fill="{COLORS.get(s, "#868e96")}"/>')
            out.append(f'<text x="{x + bar / 2}" y="{y - 16:.1f}" text-anchor="middle">'
                       f'{v / 1000:.0f}k</text>')
            if nginx:
                out.append(f'<text x="{x + bar / 2}" y="{y - 3:.1f}" text-anchor="middle" '
                           f'fill="#555">{v / nginx:.2f}x</text>')
    ly = top + height + 44
    for i, s in enumerate(servers):
        lx = left + (i % 3) * 210
        y = ly + 24 * (i // 3)
        out.append(f'<rect x="{lx}" y="{y}" width="14" height="14" fill="{COLORS.get(s)}"/>')
        out.append(f'<text x="{lx + 20}" y="{y + 12}">{LABELS.get(s, s)}</text>')
    out.append(f'<text x="{left}" y="{total_h - 6}" fill="#555">x: ratio to nginx. '
               "* two workers, unpinned, sharing the two cores with wrk.</text>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "target/bench/http.json"
    dst = sys.argv[2] if len(sys.argv) > 2 else "target/bench/http.svg"
    with open(src) as fh:
        data = json.load(fh)
    with open(dst, "w") as fh:
        fh.write(render(data))


if __name__ == "__main__":
    main()
