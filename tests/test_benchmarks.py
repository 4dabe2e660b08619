"""The benchmark harness measures what it claims, and its quick mode runs end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.common import Measured, alternate, measure

ROOT = Path(__file__).resolve().parents[1]


def test_the_process_tree_peak_includes_children():
    """A parent that holds 50 MB starts a child that holds 300 MB: the tree's peak holds
    both, while the parent alone never goes near it."""
    child = "b = bytearray(300 * 2**20); import time; time.sleep(1.5)"
    parent = (f"import subprocess, sys; a = bytearray(50 * 2**20); "
              f"subprocess.run([sys.executable, '-c', {child!r}], check=True)")
    measured = measure([sys.executable, "-c", parent])
    assert measured.peak_processes >= 2
    assert measured.peak_pss_mb > 350
    assert measured.peak_rss_mb >= measured.peak_pss_mb * 0.99
    assert measured.seconds >= 1.5


def test_a_failing_command_is_an_error_not_a_timing():
    with pytest.raises(RuntimeError, match="failed"):
        measure([sys.executable, "-c", "raise SystemExit(3)"])


def test_sides_that_disagree_void_the_timings():
    def side(result):
        return lambda rep: (Measured(0.1, 1.0, 1.0, 1), result)

    with pytest.raises(SystemExit, match="different results"):
        alternate({"a": side(1), "b": side(2)}, 2, label="test")
    agreed = alternate({"a": side(1), "b": side(1)}, 3, label="test")
    assert agreed.seconds("a") == [0.1, 0.1, 0.1]


def test_the_order_of_the_sides_rotates_every_repetition():
    calls = []

    def side(name):
        return lambda rep: (calls.append(name), (Measured(0.0, 0.0, 0.0, 1), None))[1]

    alternate({"a": side("a"), "b": side("b"), "c": side("c")}, 3, label="test")
    assert calls == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]


@pytest.mark.slow
def test_quick_engine_and_import_benchmarks_run_and_report(tmp_path):
    """`python -m benchmarks engine import --quick`: the comparisons (Spark too) run, check
    their sides agree, and write the results with a verdict per target."""
    done = subprocess.run([sys.executable, "-m", "benchmarks", "engine", "import", "--quick",
                           "--reps", "1", "--work", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    results = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert "the two 29-row frames equal every time" in results
    assert "compute time: pandas ÷ ibis" in results and "memory: pandas ÷ ibis" in results
    assert "Spark local[2] against DuckDB" in results and "the figures equal every time" \
        in results
    assert "rows read 20,000 = loaded 20,000 + rejected 0" in results
    assert "Machine: " in results
