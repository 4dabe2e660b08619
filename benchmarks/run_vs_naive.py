"""Morning run: `playbook run daily` against the naive loop, on the same store and date.

The naive loop is what a cron job without the runner would do: for each daily notebook,
the `papermill` command, then `jupyter nbconvert --to html`, one after the other. Both
sides run as commands from a fresh process, alternating (the order swaps every repetition),
on the same kernel, date and settings, each on a fresh private copy of the same store.
Before any timing counts, both sides must have
recorded the same figures (run.json from `playbook run`, the executed notebooks of the
naive loop).

    python benchmarks/run_vs_naive.py --data /path/to/medium/data --date 2025-11-30 --reps 5

Prints the median, spread (min–max) and the ratio naive ÷ runner.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from opslib.config import load_settings
from opslib.reports import collect_outputs
from opslib.runner import KERNEL_NAME, NOTEBOOKS_DIR, ensure_kernel, find_notebooks, \
    settings_toml

BIN = Path(sys.executable).parent


def naive(notebooks: list[Path], *, data: Path, date: str, settings_file: Path,
          out: Path) -> dict:
    """papermill then nbconvert, per notebook, one after another; return the figures."""
    figures: dict = {}
    for notebook in notebooks:
        target = out / f"{notebook.stem}.ipynb"
        subprocess.run([str(BIN / "papermill"), str(notebook), str(target), "-k", KERNEL_NAME,
                        "-p", "data_dir", str(data), "-p", "report_date", date,
                        "-p", "settings_file", str(settings_file), "--no-progress-bar",
                        "--log-level", "ERROR"], check=True, capture_output=True)
        subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input",
                        str(target)], check=True, capture_output=True)
        figures.update(collect_outputs(nbformat.read(target, as_version=4))[0])
    return figures


def runner(*, data: Path, date: str, settings_file: Path, out: Path, jobs: int | None) -> dict:
    """`playbook run daily` as a command; return the figures of its run.json."""
    command = [str(BIN / "playbook"), "run", "daily", "--data", str(data), "--out", str(out),
               "--date", date, "--settings", str(settings_file)]
    if jobs:
        command += ["--jobs", str(jobs)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"playbook run failed:\n{done.stdout}\n{done.stderr}")
    return json.loads((out / "daily" / date / "run.json").read_text())["kpis"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="demo or real data folder")
    parser.add_argument("--date", required=True, help="report date YYYY-MM-DD")
    parser.add_argument("--reps", type=int, default=5, help="repetitions of each side")
    parser.add_argument("--jobs", type=int, default=None, help="--jobs for playbook run")
    parser.add_argument("--settings", type=Path, default=None, help="playbook.toml")
    args = parser.parse_args()

    ensure_kernel()
    notebooks = find_notebooks("daily")
    if not notebooks:
        raise SystemExit(f"no notebooks in {NOTEBOOKS_DIR / 'daily'}")
    work = Path(tempfile.mkdtemp(prefix="bench-run-"))
    settings_file = work / "playbook.toml"
    settings_file.write_text(settings_toml(load_settings(args.settings)), encoding="utf-8")
    times: dict[str, list[float]] = {"naive": [], "runner": []}
    try:
        for rep in range(args.reps):
            order = ["naive", "runner"] if rep % 2 == 0 else ["runner", "naive"]
            figures = {}
            for side in order:
                out = work / f"{side}-{rep}"
                out.mkdir()
                # A private copy of the store for each run (not timed): no other process
                # can change it mid-benchmark, and both sides start from the same bytes.
                data = out / "data"
                shutil.copytree(args.data / "tables", data / "tables")
                start = time.perf_counter()
                if side == "naive":
                    figures[side] = naive(notebooks, data=data, date=args.date,
                                          settings_file=settings_file, out=out)
                else:
                    figures[side] = runner(data=data, date=args.date, jobs=args.jobs,
                                           settings_file=settings_file, out=out)
                times[side].append(time.perf_counter() - start)
                shutil.rmtree(out)
            if figures["naive"] != figures["runner"]:
                raise SystemExit("the two sides recorded different figures; timings void:\n"
                                 f"naive:  {figures['naive']}\nrunner: {figures['runner']}")
            print(f"rep {rep + 1}: naive {times['naive'][-1]:.1f} s, "
                  f"runner {times['runner'][-1]:.1f} s ({len(figures['runner'])} figures "
                  f"identical)", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    naive_median = statistics.median(times["naive"])
    runner_median = statistics.median(times["runner"])
    print(f"\nMachine: {platform.platform()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; {len(notebooks)} daily notebooks, date {args.date}")
    print("| side | median (s) | min–max (s) |\n|---|---|---|")
    for side in ("naive", "runner"):
        print(f"| {side} | {statistics.median(times[side]):.1f} | "
              f"{min(times[side]):.1f}–{max(times[side]):.1f} |")
    print(f"\nratio naive ÷ runner (medians): {naive_median / runner_median:.2f}×")


if __name__ == "__main__":
    main()
