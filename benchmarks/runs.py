"""Growth with history and scale: `playbook run` on stores of 1, 3 and 6 years.

For each volume (medium ≈ 56 orders a day, large ≈ 1,200 a day in the last year) the demo
generator makes stores with 1, 3 and 6 years of history ending on the same date, so the
report date's day, week and month have the same volume and only the history behind them
grows. Each cadence (daily, weekly, monthly) runs as the real command, the three stores
alternating (the order rotates every repetition). A run counts only if every notebook
finished ok. Memory is the peak of the whole process tree: the command and its kernels.

The daily run reads one day (and the 28 days its comparisons need), so its time should
not follow the history: the target is 6-year time ≤ 1.5 × 1-year time. Weekly and monthly
also read their period (and last year's for the monthly comparison); the loyalty review
reads every customer's whole history by definition.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path

from benchmarks.common import Measured, Sides, alternate, count_rows, demo_store, measure, \
    playbook, spread

YEARS = (1, 3, 6)
CADENCES = ("daily", "weekly", "monthly")
DAILY_GROWTH_TARGET = 1.5
MEMORY_TARGET_MB = 4096


def run_once(data: Path, cadence: str, date: dt.date) -> tuple[Measured, int]:
    """`playbook run CADENCE` on a store, into a throw-away folder; (measure, notebooks ok)."""
    out = Path(tempfile.mkdtemp(prefix=f"bench-{cadence}-"))
    try:
        measured = measure(playbook("run", cadence, "--data", str(data), "--out", str(out),
                                    "--date", str(date)))
        report = json.loads(next(out.glob(f"{cadence}/*/run.json")).read_text())
        bad = [n["name"] for n in report["notebooks"] if n["status"] != "ok"]
        if report["status"] != "ok" or bad:
            raise SystemExit(f"{cadence} on {data}: notebooks failed: {bad}")
        return measured, len(report["notebooks"])
    finally:
        shutil.rmtree(out, ignore_errors=True)


def growth(work: Path, *, sizes: tuple[str, ...], date: dt.date, reps: int) -> dict:
    """{size: {cadence: Sides keyed '1y', '3y', '6y'}} and {size: {years: orders}}."""
    results: dict[str, dict[str, Sides]] = {}
    orders: dict[str, dict[int, int]] = {}
    for size in sizes:
        stores = {f"{y}y": demo_store(work, size, y, date) for y in YEARS}
        orders[size] = {y: count_rows(stores[f"{y}y"], "orders") for y in YEARS}
        results[size] = {}
        for cadence in CADENCES:
            sides = {name: (lambda rep, data=data, cadence=cadence:
                            run_once(data, cadence, date)) for name, data in stores.items()}
            # Different stores give different figures; what must agree is the work done:
            # every notebook of the cadence ran ok on each store.
            results[size][cadence] = alternate(sides, reps, label=f"{size} {cadence}")
    return {"runs": results, "orders": orders}


def report(found: dict, *, date: dt.date, reps: int) -> str:
    """Markdown: the growth table per size, the scale table, and the targets' verdicts."""
    runs, orders = found["runs"], found["orders"]
    lines = [f"Report date {date}; {reps} repetitions per store, the three stores "
             "alternating; wall time of the command, median (min–max) in seconds.", ""]
    lines += ["| volume | cadence | 1 year | 3 years | 6 years | 6 y ÷ 1 y |",
              "|---|---|---|---|---|---|"]
    verdicts = []
    for size, by_cadence in runs.items():
        counts = orders[size]
        for cadence, sides in by_cadence.items():
            ratio = sides.median("6y") / sides.median("1y")
            lines.append(f"| {size} ({counts[1]:,} / {counts[3]:,} / {counts[6]:,} orders) "
                         f"| {cadence} | " + " | ".join(spread(sides.seconds(f"{y}y"))
                                                         for y in YEARS)
                         + f" | {ratio:.2f}× |")
            if cadence == "daily":
                verdicts.append(f"daily, {size}: 6-year ÷ 1-year = {ratio:.2f}× (target ≤ "
                                f"{DAILY_GROWTH_TARGET}×): "
                                f"{'met' if ratio <= DAILY_GROWTH_TARGET else 'MISSED'}")
    lines += ["", "Peak memory of the whole process tree (command and kernels), the highest of "
              "the repetitions, MB: PSS (shared pages split between processes) / RSS summed "
              "over the processes (counts shared pages once per process).", ""]
    lines += ["| volume | history | orders | daily | weekly | monthly |",
              "|---|---|---|---|---|---|"]
    for size, by_cadence in runs.items():
        for years in YEARS:
            side = f"{years}y"
            cells = [f"{by_cadence[c].peak_pss(side):,.0f} / {by_cadence[c].peak_rss(side):,.0f}"
                     for c in CADENCES]
            lines.append(f"| {size} | {years} y | {orders[size][years]:,} | "
                         + " | ".join(cells) + " |")
            worst = max(by_cadence[c].peak_pss(side) for c in CADENCES)
            if orders[size][years] >= 1_000_000:
                verdicts.append(f"{size} {years} y ({orders[size][years]:,} orders): peak "
                                f"{worst:,.0f} MB (target < {MEMORY_TARGET_MB:,} MB): "
                                f"{'met' if worst < MEMORY_TARGET_MB else 'MISSED'}")
    lines += ["", *[f"* {v}" for v in verdicts]]
    return "\n".join(lines)
