"""Two writers at once: one lock per data folder, the second waits (saying why) and merges.

Every writer here is a real process (tests/ingest/writer_child.py), so the lock is the
operating system's and the races are the ones two shells or two cron jobs would have.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from ingest_support import shopify_order, usd_settings_file as _settings, \
    write_shopify_orders

from opslib.cli import main
from opslib.datalock import DataLocked, data_lock, holder
from opslib.ingest import commit, import_files
from opslib.ingest.ledger import load_ledger
from opslib.schema import read_for_validation, table_path

CHILD = Path(__file__).with_name("writer_child.py")


def _orders_file(path: Path, *ids: int) -> Path:
    return write_shopify_orders(path, [
        shopify_order(f"#{i}", str(i), "2024-05-01 10:00:00 -0400", [(f"SKU-{i}", 1, "9.99")])
        for i in ids])


def _wait_for(marker: Path, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not marker.exists():
        if process.poll() is not None:
            pytest.fail(f"writer ended early: {process.communicate()}")
        assert time.monotonic() < deadline, "the writer never reached its marker"
        time.sleep(0.05)


def _import_args(tmp_path: Path, data: Path, path: Path) -> list[str]:
    return ["import", "shopify-orders", str(path), "--data", str(data),
            "--settings", _settings(tmp_path)]


def _files(data: Path) -> dict[str, bytes]:
    """Every file of the data folder, byte for byte (the lock itself aside)."""
    return {p.relative_to(data).as_posix(): p.read_bytes() for p in sorted(data.rglob("*"))
            if p.is_file() and p.name != ".lock"}


def _order_ids(data: Path) -> set[str]:
    return set(read_for_validation(table_path(data, "orders")).order_id)


def _child(*args: str, wait: float = 60, stderr=subprocess.PIPE) -> subprocess.Popen:
    env = dict(os.environ, PLAYBOOK_LOCK_WAIT=str(wait))
    return subprocess.Popen([sys.executable, str(CHILD), *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=stderr)


def _until_waiting(log: Path, process: subprocess.Popen, release: Path) -> None:
    """Let the paused first writer go on once the second says it waits (or has ended: the
    old code's second writer never waited)."""
    deadline = time.monotonic() + 60
    while "waiting for" not in log.read_text() and process.poll() is None:
        assert time.monotonic() < deadline, "the second writer neither waited nor ended"
        time.sleep(0.05)
    release.touch()


@pytest.mark.parametrize("first", ["a", "b"])
def test_two_imports_at_once_both_land_whichever_arrives_first(tmp_path, first):
    """The first import pauses inside its commit (tables read, result staged); the second,
    started meanwhile, waits for it (naming it), then merges into its result: both files'
    orders are stored, whichever file came first."""
    data = tmp_path / "d"
    files = {"a": _orders_file(tmp_path / "a.csv", 1, 2), "b": _orders_file(tmp_path / "b.csv", 3)}
    second = "b" if first == "a" else "a"
    marker, release, log = tmp_path / "committing", tmp_path / "release", tmp_path / "two.err"
    one = _child("slow-import", str(marker), str(release), "--",
                 *_import_args(tmp_path, data, files[first]))
    _wait_for(marker, one)
    with open(log, "w") as err:
        two = _child("slow-import", "-", "-", "--",
                     *_import_args(tmp_path, data, files[second]), stderr=err)
        _until_waiting(log, two, release)
        out_two, _ = two.communicate(timeout=120)
    out_one, err_one = one.communicate(timeout=120)
    err_two = log.read_text()
    assert one.returncode == 0 and two.returncode == 0, (err_one, err_two)
    assert "waiting for the import of shopify-orders " + files[first].name in err_two
    assert f"process {one.pid}" in err_two
    assert _order_ids(data) == {"1", "2", "3"}
    assert {e.file for e in load_ledger(data).entries} == {"a.csv", "b.csv"}


def test_the_second_writer_stops_after_the_wait_and_changes_nothing(tmp_path):
    """A lock held past PLAYBOOK_LOCK_WAIT: exit 2 naming the holder; the store is as it was."""
    data = tmp_path / "d"
    done = CliRunner().invoke(main, _import_args(tmp_path, data,
                                                 _orders_file(tmp_path / "a.csv", 1)))
    assert done.exit_code == 0, done.output
    before = _files(data)
    marker = tmp_path / "held"
    keeper = _child("hold-lock", str(marker), "30", str(data))
    _wait_for(marker, keeper)
    try:
        late = subprocess.run([sys.executable, str(CHILD), "slow-import", "-", "-", "--",
                               *_import_args(tmp_path, data, _orders_file(tmp_path / "b.csv",
                                                                          2))],
                              env=dict(os.environ, PLAYBOOK_LOCK_WAIT="1"), text=True,
                              capture_output=True, timeout=60)
    finally:
        keeper.kill()
        keeper.wait()
    assert late.returncode == 2, late
    assert "still in use by the test holding the lock started by process " \
           f"{keeper.pid}" in late.stderr
    assert "nothing was changed" in late.stderr and "Traceback" not in late.stderr
    assert _files(data) == before
    assert _order_ids(data) == {"1"}


def test_recover_never_clears_a_live_imports_staging_folder(tmp_path, capsys):
    """recover() called while an import is staged and committing waits for it, so that
    import still lands (it used to delete the staging folder under it)."""
    data = tmp_path / "d"
    marker, release = tmp_path / "committing", tmp_path / "release"
    one = _child("slow-import", str(marker), str(release), "--",
                 *_import_args(tmp_path, data, _orders_file(tmp_path / "a.csv", 1, 2)))
    _wait_for(marker, one)
    assert list(data.glob(".import-staging-*"))  # the live import's staged result
    recovering = threading.Thread(target=commit.recover, args=(data,))
    recovering.start()
    said = ""
    deadline = time.monotonic() + 60
    while "waiting for the import of shopify-orders a.csv" not in said and \
            recovering.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
        said += capsys.readouterr().err
    release.touch()
    recovering.join(timeout=120)
    out, err = one.communicate(timeout=120)
    assert "waiting for the import of shopify-orders a.csv" in said
    assert one.returncode == 0, err
    assert _order_ids(data) == {"1", "2"}


def test_overlapping_runs_import_each_dropped_file_once(tmp_path):
    """A daily and a weekly run starting together: the second's import step waits for the
    first's and finds nothing left to import (no file counted twice)."""
    data = tmp_path / "d"
    raw = data / "raw" / "shopify-orders"
    raw.mkdir(parents=True)
    _orders_file(raw / "a.csv", 1, 2)
    _orders_file(raw / "b.csv", 3)
    marker, release, log = tmp_path / "committing", tmp_path / "release", tmp_path / "weekly.err"
    daily = _child("slow-raw", str(marker), str(release), str(data), _settings(tmp_path))
    _wait_for(marker, daily)
    with open(log, "w") as err:
        weekly = _child("slow-raw", "-", "-", str(data), _settings(tmp_path), stderr=err)
        _until_waiting(log, weekly, release)
        out_weekly, _ = weekly.communicate(timeout=120)
    out_daily, err_daily = daily.communicate(timeout=120)
    assert daily.returncode == 0 and weekly.returncode == 0, (err_daily, log.read_text())
    assert "waiting for the import of the files dropped into raw/" in log.read_text()
    assert out_daily.count("rows read") == 2, out_daily
    assert "Nothing to import" in out_weekly and "rows read" not in out_weekly, out_weekly
    assert _order_ids(data) == {"1", "2", "3"}
    assert sorted(e.file for e in load_ledger(data).entries) == ["a.csv", "b.csv"]


def test_demo_swaps_its_tables_in_only_under_the_lock(tmp_path, monkeypatch):
    """`playbook demo` waits for the lock to replace tables/, and stops without touching them
    when it is not freed in time."""
    from opslib.demo.writer import StagedStore
    from opslib.schema import TABLES

    data = tmp_path / "d"
    marker = tmp_path / "held"
    keeper = _child("hold-lock", str(marker), "30", str(data))
    _wait_for(marker, keeper)
    try:
        with StagedStore(data) as store:
            for name in TABLES:
                store.write(name, TABLES[name].arrow_schema().empty_table().to_pandas())
            monkeypatch.setenv("PLAYBOOK_LOCK_WAIT", "1")
            with pytest.raises(DataLocked, match="test holding the lock"):
                store.commit()
    finally:
        keeper.kill()
        keeper.wait()
    assert not (data / "tables").exists()


def test_the_lock_is_reentrant_in_a_thread_and_exclusive_across_threads(tmp_path):
    """An import recovering first takes the lock twice; another thread must still wait."""
    got = []
    with data_lock(tmp_path, "outer", wait=0):
        with data_lock(tmp_path, "inner", wait=0):
            assert holder(tmp_path)["what"] == "outer"

        def other():
            try:
                with data_lock(tmp_path, "other", wait=0.3, echo=got.append):
                    got.append("entered")
            except DataLocked as err:
                got.append(err)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert "entered" not in got and isinstance(got[-1], DataLocked)
    assert any("waiting for the outer started by process" in str(g) for g in got)
    with data_lock(tmp_path, "after", wait=0):
        assert holder(tmp_path)["pid"] == os.getpid()


def test_a_bad_wait_setting_is_a_clear_error(tmp_path, monkeypatch):
    """PLAYBOOK_LOCK_WAIT must be a number of seconds."""
    monkeypatch.setenv("PLAYBOOK_LOCK_WAIT", "ten")
    with pytest.raises(DataLocked, match="PLAYBOOK_LOCK_WAIT.*'ten'"):
        with data_lock(tmp_path, "x"):
            pass


def test_an_import_in_process_takes_the_lock(tmp_path, usd_settings, monkeypatch):
    """import_files waits for the lock like the command does (library callers too)."""
    data = tmp_path / "d"
    path = _orders_file(tmp_path / "a.csv", 1)
    monkeypatch.setenv("PLAYBOOK_LOCK_WAIT", "0.3")
    errors = []

    def late():
        try:
            import_files("shopify-orders", [path], data_dir=data, settings=usd_settings)
        except DataLocked as err:
            errors.append(err)

    with data_lock(data, "holder"):
        thread = threading.Thread(target=late)
        thread.start()
        thread.join(timeout=60)
    assert errors and not table_path(data, "orders").exists()
