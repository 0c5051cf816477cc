"""What every benchmark prints the same way: runs, spread, a table, one JSON line.

A benchmark measures `--runs` times (3 by default) and reports each run's
figures, their median and their spread (max - min), then the same as one
JSON object on the last line (with the commit, date, machine and load
average), which is what README.rst's table is written from.
"""

import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def percentile(values, fraction):
    """The nearest-rank percentile of `values` (0 when there are none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def spread(values):
    """{"runs": [...], "median": m, "spread": max - min} of one figure."""
    values = [round(v, 3) for v in values]
    return {
        "runs": values,
        "median": round(statistics.median(values), 3) if values else 0.0,
        "spread": round(max(values) - min(values), 3) if values else 0.0,
    }


def load_average():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def context():
    """Commit, UTC date, machine and load average of a run."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "commit": commit or "unknown",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average": load_average(),
    }


def fmt(value):
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def table(title, headers, rows):
    """A plain-text table: `rows` are lists of values, formatted by `fmt`."""
    cells = [[fmt(v) for v in row] for row in rows]
    widths = [
        max(len(str(h)), *(len(r[i]) for r in cells)) if cells else len(str(h))
        for i, h in enumerate(headers)
    ]
    lines = [f"\n{title}\n"]
    pairs = zip(headers, widths, strict=True)
    lines.append("  ".join(str(h).ljust(w) for h, w in pairs))
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def json_line(benchmark, figures):
    """The last line of a benchmark: its figures and the run's context."""
    line = json.dumps({"benchmark": benchmark, **context(), **figures})
    print(line, flush=True)
    return line
