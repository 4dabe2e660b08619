"""What every benchmark shares: demo stores, timed commands, memory of a process tree, tables.

* `demo_store` generates a demo store once per (size, years, date, seed) under the work
  folder and reuses it; a store is moved into place only once complete.
* `measure` runs a command and returns its wall time and the peak memory of its whole
  process tree (the command, its kernels and any other child), sampled every 0.1 s.
* `alternate` runs several sides in the same invocation, rotating their order every
  repetition, and refuses the timings unless every side produced the same result.
* `summary` and `ratio` turn the timings into the Markdown the docs quote.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

BIN = Path(sys.executable).parent
MB = 2**20


def playbook(*args: str) -> list[str]:
    """The `playbook` command of this environment, with arguments."""
    return [str(BIN / "playbook"), *args]


def demo_store(work: Path, size: str, years: int, until: dt.date, seed: int = 7,
               zone: str | None = None) -> Path:
    """A demo store folder for (size, years, until, seed[, time zone]), generated on first
    use (`zone`: the store's time zone, default the settings' default)."""
    name = f"{size}-{years}y-{until}-s{seed}" + (f"-{zone.replace('/', '_')}" if zone else "")
    folder = work / "stores" / name
    if not folder.exists():
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        print(f"generating the {size} demo store, {years} years to {until} ...", flush=True)
        settings = []
        if zone:
            partial.mkdir(parents=True)
            (partial / "playbook.toml").write_text(f'[store]\ntimezone = "{zone}"\n',
                                                   encoding="utf-8")
            settings = ["--settings", str(partial / "playbook.toml")]
        subprocess.run(playbook("demo", "--size", size, "--years", str(years), "--until",
                                str(until), "--seed", str(seed), "--data", str(partial),
                                *settings), check=True, stdout=subprocess.DEVNULL)
        partial.rename(folder)
    return folder


def count_rows(data: Path, table: str) -> int:
    """Rows of one table of a store folder (from the Parquet footers, nothing else read)."""
    import pyarrow.dataset as ds

    return ds.dataset(data / "tables" / f"{table}.parquet").count_rows()


@dataclass
class Measured:
    """One run of a command: wall time, peak memory of its process tree, what it printed."""

    seconds: float
    peak_rss_mb: float  # Σ resident size over the tree at its highest sample
    peak_pss_mb: float  # Σ proportional size: shared pages split between the processes
    peak_processes: int
    stdout: str = ""
    compute_seconds: float | None = None  # the work itself, when a side reports it


class TreeMemory(threading.Thread):
    """Samples the memory of a process and all its descendants until stopped.

    RSS counts pages shared between processes (forked kernels, shared libraries) once per
    process, so its sum is an upper bound; PSS splits each shared page between the
    processes that map it, so its sum is the memory the tree really holds.
    """

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_rss = self.peak_pss = 0.0
        self.peak_processes = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def sample(self) -> None:
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        rss = pss = 0
        for process in processes:
            try:
                info = process.memory_full_info()
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
        self.peak_rss = max(self.peak_rss, rss / MB)
        self.peak_pss = max(self.peak_pss, pss / MB)
        self.peak_processes = max(self.peak_processes, len(processes))

    def stop(self) -> None:
        self._halt.set()
        self.join()


def measure(command: Sequence[str], *, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> Measured:
    """Run a command to the end; its wall time and the peak memory of its process tree."""
    started = time.perf_counter()
    process = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, cwd=cwd)
    sampler = TreeMemory(process.pid)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    sampler.stop()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n"
                           f"{stdout[-3000:]}\n{stderr[-3000:]}")
    return Measured(seconds, sampler.peak_rss, sampler.peak_pss, sampler.peak_processes,
                    stdout)


@dataclass
class Sides:
    """Timings (and memory) per side of a comparison."""

    runs: dict[str, list[Measured]] = field(default_factory=dict)

    def seconds(self, side: str) -> list[float]:
        return [m.seconds for m in self.runs[side]]

    def median(self, side: str) -> float:
        return statistics.median(self.seconds(side))

    def peak_pss(self, side: str) -> float:
        return max(m.peak_pss_mb for m in self.runs[side])

    def peak_rss(self, side: str) -> float:
        return max(m.peak_rss_mb for m in self.runs[side])


def alternate(sides: dict[str, Callable[[int], tuple[Measured, object]]], reps: int, *,
              same: Callable[[object, object], bool] | None = None,
              label: str = "") -> Sides:
    """Run every side `reps` times, rotating the order; results must agree every time.

    Each side is a function of the repetition number returning (Measured, result). The
    results of one repetition are compared with the first side's (`same`, default ==);
    a difference stops the benchmark: timings of sides that disagree mean nothing.
    """
    names = list(sides)
    out = Sides({name: [] for name in names})
    for rep in range(reps):
        shift = rep % len(names)
        order = names[shift:] + names[:shift]
        results = {}
        for name in order:
            measured, results[name] = sides[name](rep)
            out.runs[name].append(measured)
        first = results[names[0]]
        for name in names[1:]:
            equal = same(first, results[name]) if same else first == results[name]
            if not equal:
                raise SystemExit(f"{label}: '{names[0]}' and '{name}' gave different results "
                                 f"in repetition {rep + 1}; the timings are void")
        print(f"  {label} rep {rep + 1}/{reps}: " + ", ".join(
            f"{name} {out.runs[name][-1].seconds:.1f} s" for name in names), flush=True)
    return out


def spread(values: Sequence[float]) -> str:
    """'median (min–max)' with one decimal.

    >>> spread([3.0, 1.0, 2.0])
    '2.0 (1.0–3.0)'
    """
    return f"{statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f})"


def machine() -> str:
    """One line on the machine and software the numbers come from."""
    import duckdb
    import ibis
    import pandas

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
            f"{psutil.virtual_memory().total / 2**30:.0f} GB RAM; Python "
            f"{platform.python_version()}, pandas {pandas.__version__}, Ibis "
            f"{ibis.__version__}, DuckDB {duckdb.__version__}; load average at the end "
            f"{load}")
