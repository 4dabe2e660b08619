"""Morning run: `playbook run daily` against the naive loop, on the same store and date.

The naive loop is what a cron job without the runner would do: for each daily notebook,
the `papermill` command, then `jupyter nbconvert --to html --no-input`, one after the
other. Both sides run as commands from a fresh process, alternating, on the same kernel,
date and settings, each on a fresh private copy of the same store (copied untimed, so no
other process can change it mid-run). Both sides must have recorded the same figures
(run.json from `playbook run`, the executed notebooks of the naive loop) before the
timings count. Memory is the peak of the whole process tree (kernels included).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path

import nbformat

from benchmarks.common import BIN, Measured, alternate, measure, playbook, spread
from opslib.config import load_settings
from opslib.runs.reports import collect_outputs
from opslib.runs.runner import KERNEL_NAME, ensure_kernel, find_notebooks, settings_toml

TARGET = 3.0


def _private_copy(data: Path, work: Path) -> Path:
    copy = Path(tempfile.mkdtemp(prefix="bench-morning-", dir=work))
    shutil.copytree(data / "tables", copy / "data" / "tables")
    return copy


def naive(data: Path, day: dt.date, settings_file: Path, work: Path) -> tuple[Measured, dict]:
    """papermill then nbconvert, per notebook, one after another; the figures recorded."""
    folder = _private_copy(data, work)
    total = Measured(0.0, 0.0, 0.0, 0)
    figures: dict = {}
    try:
        for notebook in find_notebooks("daily"):
            target = folder / f"{notebook.stem}.ipynb"
            for command in (
                    [str(BIN / "papermill"), str(notebook), str(target), "-k", KERNEL_NAME,
                     "-p", "data_dir", str(folder / "data"), "-p", "report_date", str(day),
                     "-p", "settings_file", str(settings_file), "--no-progress-bar",
                     "--log-level", "ERROR"],
                    [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input",
                     str(target)]):
                step = measure(command)
                total.seconds += step.seconds
                total.peak_rss_mb = max(total.peak_rss_mb, step.peak_rss_mb)
                total.peak_pss_mb = max(total.peak_pss_mb, step.peak_pss_mb)
            figures.update(collect_outputs(nbformat.read(target, as_version=4))[0])
        return total, figures
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def runner(data: Path, day: dt.date, settings_file: Path, work: Path) -> tuple[Measured, dict]:
    """`playbook run daily` as a command; the figures of its run.json."""
    folder = _private_copy(data, work)
    try:
        measured = measure(playbook("run", "daily", "--data", str(folder / "data"), "--out",
                                    str(folder / "out"), "--date", str(day), "--settings",
                                    str(settings_file)))
        return measured, json.loads((folder / "out" / "daily" / str(day) / "run.json")
                                    .read_text())["kpis"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def compare(data: Path, *, day: dt.date, work: Path, reps: int):
    ensure_kernel()
    settings_file = work / "playbook.toml"
    settings_file.write_text(settings_toml(load_settings(None)), encoding="utf-8")
    sides = {"naive": lambda rep: naive(data, day, settings_file, work),
             "runner": lambda rep: runner(data, day, settings_file, work)}
    return alternate(sides, reps, label="morning")


def report(sides, *, orders: int, day: dt.date, reps: int) -> str:
    ratio = sides.median("naive") / sides.median("runner")
    notebooks = len(find_notebooks("daily"))
    return "\n".join([
        f"{notebooks} daily notebooks, store of {orders:,} orders, date {day}; {reps} "
        "repetitions, alternating; the same figures on both sides every time.", "",
        "| side | wall time, s, median (min–max) | peak memory, PSS / Σ RSS, MB |",
        "|---|---|---|",
        *[f"| {side} | {spread(sides.seconds(side))} | {sides.peak_pss(side):,.0f} / "
          f"{sides.peak_rss(side):,.0f} |" for side in ("naive", "runner")], "",
        f"* naive ÷ runner = {ratio:.1f}× (target ≥ {TARGET:.0f}×): "
        f"{'met' if ratio >= TARGET else 'MISSED'}"])
