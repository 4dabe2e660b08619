"""An import killed during its commit: check, serve and the run's import step put the store
back as it was before that import (under the lock) and say so; nothing reads as absent.

The imports here are real processes killed with os._exit in the middle of the commit
(tests/ingest/writer_child.py), as `kill -9` would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from ingest_support import shopify_order, usd_settings_file as _settings, \
    write_shopify_orders

from opslib.cli import main
from opslib.ingest import commit
from opslib.ingest.ledger import load_ledger
from opslib.schema import read_for_validation, table_path

CHILD = Path(__file__).with_name("writer_child.py")
KEPT = ("orders", "order_lines", "customers", "products")


def _orders_file(path: Path, *ids: int) -> Path:
    return write_shopify_orders(path, [
        shopify_order(f"#{i}", str(i), "2024-05-01 10:00:00 -0400",
                      [(f"SKU-{i}", 1, "9.99"), (f"SKU-{i}b", 2, "1.50")]) for i in ids])


def _import(tmp_path: Path, data: Path, path: Path):
    return CliRunner().invoke(main, ["import", "shopify-orders", str(path), "--data", str(data),
                                     "--settings", _settings(tmp_path)])


def _files(data: Path) -> dict[str, bytes]:
    """Every file of the data folder, byte for byte (the lock and the log aside)."""
    return {p.relative_to(data).as_posix(): p.read_bytes() for p in sorted(data.rglob("*"))
            if p.is_file() and p.name not in (".lock", "import.log")}


def _tables(data: Path) -> dict[str, list]:
    out = {}
    for name in KEPT:
        frame = read_for_validation(table_path(data, name))
        out[name] = sorted(map(tuple, frame.astype(str).to_numpy().tolist()))
    return out


def _child_import(tmp_path: Path, data: Path, path: Path, *how: str):
    """The import run by a child in tmp_path with a relative --data, as from a shell there
    (the recovery happens from another folder, with the absolute path)."""
    return subprocess.run([sys.executable, str(CHILD), *how, "--", "import", "shopify-orders",
                           str(path), "--data", os.path.relpath(data, tmp_path),
                           "--settings", _settings(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)


def _killed_import(tmp_path: Path, data: Path, path: Path, *how: str) -> None:
    done = _child_import(tmp_path, data, path, *how)
    assert done.returncode == 9, done


@pytest.fixture
def store(tmp_path):
    data = tmp_path / "d"
    assert _import(tmp_path, data, _orders_file(tmp_path / "first.csv", 1, 2)).exit_code == 0
    return data


def test_check_after_a_kill_mid_commit_puts_order_lines_back(store, tmp_path):
    """The issue's case: order_lines left only as .order_lines.parquet.old-*. `check` undoes
    the import, says so, and reports every table present as before: never 'absent'."""
    before = _files(store)
    second = _orders_file(tmp_path / "second.csv", 2, 3)
    _killed_import(tmp_path, store, second, "die-after-move", ".order_lines.parquet.old-")
    assert not table_path(store, "order_lines").exists()  # the state the issue found
    result = CliRunner().invoke(main, ["check", "--data", str(store)])
    assert result.exit_code == 0, result.output
    assert "An interrupted import was found and undone" in result.output
    assert "raw/shopify-orders/second.csv" in result.output  # which file to import again
    assert "order_lines: absent" not in result.output
    assert "ok    order_lines: 4 rows" in result.output
    assert _files(store) == before
    again = _import(tmp_path, store, second)
    assert again.exit_code == 0 and "rows read 4 = loaded 2 + rejected 0 + " \
        "duplicates skipped 2" in again.output, again.output


@pytest.mark.parametrize("kill_at", range(1, 13))
def test_a_kill_at_any_rename_is_undone_and_the_import_can_be_redone(store, tmp_path, kill_at):
    """Killed just before any rename of the commit (or not at all, past the last one):
    after `check` the folder is byte for byte as before the import (or as the finished
    import left it), and importing the file again gives the tables of an import never
    interrupted."""
    before = _files(store)
    reference = tmp_path / "reference"
    shutil.copytree(store, reference)
    second = _orders_file(tmp_path / "second.csv", 2, 3)
    assert _import(tmp_path, reference, second).exit_code == 0
    done = _child_import(tmp_path, store, second, "die-at-move", str(kill_at))
    assert done.returncode in (0, 9), done
    result = CliRunner().invoke(main, ["check", "--data", str(store)])
    assert result.exit_code == 0, result.output
    assert all(f"ok    {name}: " in result.output for name in KEPT), result.output
    assert not list(store.rglob(".*.old-*")) and not (store / commit.JOURNAL).exists()
    assert not list(store.glob(".import-staging-*"))
    if done.returncode == 9:
        assert "undone" in result.output
        assert _files(store) == before
        assert _import(tmp_path, store, second).exit_code == 0
    assert _tables(store) == _tables(reference)
    assert [e.file for e in load_ledger(store).entries] == ["first.csv", "second.csv"]


def test_check_waits_for_a_live_commit_instead_of_reporting_its_half_state(store, tmp_path):
    """An import paused right after setting order_lines aside (alive, holding the lock):
    `check` waits for it and then sees its complete result, undoing nothing."""
    marker = tmp_path / "paused"
    second = _orders_file(tmp_path / "second.csv", 3)
    live = subprocess.Popen([sys.executable, str(CHILD), "pause-after-move",
                             ".order_lines.parquet.old-", str(marker), "2", "--", "import",
                             "shopify-orders", str(second), "--data", str(store),
                             "--settings", _settings(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not marker.exists():
        assert live.poll() is None, live.communicate()
        time.sleep(0.05)
    result = CliRunner().invoke(main, ["check", "--data", str(store)])
    live.communicate(timeout=120)
    assert live.returncode == 0
    assert result.exit_code == 0 and "undone" not in result.output, result.output
    assert "ok    order_lines: 6 rows" in result.output and "ok    orders: 3 rows" in \
        result.output


def test_serve_finishes_the_recovery_before_pages_read_anything(store, tmp_path, monkeypatch):
    """`playbook serve` after a killed import: the pages start on the complete old tables."""
    import opslib.serve.server

    _killed_import(tmp_path, store, _orders_file(tmp_path / "second.csv", 3),
                   "die-after-move", ".order_lines.parquet.old-")
    seen = {}

    def fake_serve(data_dir, **kwargs):
        seen["order_lines"] = len(read_for_validation(table_path(data_dir, "order_lines")))

    monkeypatch.setattr(opslib.serve.server, "serve", fake_serve)
    result = CliRunner().invoke(main, ["serve", "--data", str(store)])
    assert result.exit_code == 0, result.output
    assert "undone" in result.output and seen == {"order_lines": 4}


def test_the_run_import_step_undoes_it_and_says_so(store, tmp_path):
    """The run's import step (before any notebook reads) puts the tables back and its line
    in the run's output says an import had stopped half-way."""
    from opslib.config import load_settings
    from opslib.runs.runner import import_dropped_files

    before = _files(store)
    _killed_import(tmp_path, store, _orders_file(tmp_path / "second.csv", 3),
                   "die-after-move", ".orders.parquet.old-")
    text = import_dropped_files(store, settings=load_settings(_settings(tmp_path)))
    assert "stopped half-way" in text and "undone" in text, text
    assert {k: v for k, v in _files(store).items() if k != "import.log"} == before


def test_a_demo_killed_between_its_two_renames_gets_its_tables_back(store, tmp_path):
    """`playbook demo` dies after setting tables/ aside: `check` puts the old tables/ back."""
    before = _files(store)
    done = subprocess.run([sys.executable, str(CHILD), "demo-swap-die", str(store)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 9, done
    assert not (store / "tables").exists()
    result = CliRunner().invoke(main, ["check", "--data", str(store)])
    assert result.exit_code == 0 and "set aside by `playbook demo`" in result.output, \
        result.output
    after = _files(store)
    assert {k: v for k, v in after.items() if not k.startswith(".demo-staging-")} == before


def test_a_set_aside_table_without_journal_is_put_back(store, tmp_path):
    """A previous version whose table is missing is restored even with no journal left."""
    lines = table_path(store, "order_lines")
    os.replace(lines, lines.with_name(f".{lines.name}.old-0123456789"))
    result = CliRunner().invoke(main, ["check", "--data", str(store)])
    assert result.exit_code == 0 and "ok    order_lines: 4 rows" in result.output, \
        result.output
    assert "undone" in result.output
