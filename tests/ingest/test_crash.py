"""A crash between writes leaves the previous tables, ledger and raw folder intact."""

from __future__ import annotations

import json

import pytest
from ingest_support import shopify_order, write_shopify_orders

from opslib.ingest import ImportFileError, commit, import_files
from opslib.ingest.ledger import load_ledger
from opslib.schema import read_for_validation, table_path


def _snapshot(data_dir):
    tables = {name: read_for_validation(table_path(data_dir, name)).sort_values(
        list(read_for_validation(table_path(data_dir, name)).columns[:2])).reset_index(drop=True)
        for name in ("orders", "order_lines", "customers", "products")}
    return tables, load_ledger(data_dir).entries


def _orders(*ids):
    return [shopify_order(f"#{i}", i, "2024-05-01 10:00:00 -0400", [(f"SKU-{i}", 1, "9.99")])
            for i in ids]


@pytest.fixture
def store(tmp_path, usd_settings):
    path = write_shopify_orders(tmp_path / "first.csv", _orders("1", "2"))
    import_files("shopify-orders", [path], data_dir=tmp_path / "d", settings=usd_settings)
    return tmp_path / "d"


def test_failure_between_two_table_swaps_rolls_everything_back(store, tmp_path, usd_settings,
                                                               monkeypatch):
    """The third rename fails: the two done are undone at once, nothing new is left."""
    before = _snapshot(store)
    real_move = commit._move
    calls = {"n": 0}

    def failing_move(source, target):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full (simulated)")
        real_move(source, target)

    monkeypatch.setattr(commit, "_move", failing_move)
    path = write_shopify_orders(tmp_path / "second.csv", _orders("2", "3"))
    with pytest.raises(ImportFileError, match="writing the tables: OSError: disk full"):
        import_files("shopify-orders", [path], data_dir=store, settings=usd_settings)
    after = _snapshot(store)
    for name, frame in before[0].items():
        assert after[0][name].equals(frame), name
    assert after[1] == before[1]
    assert not (store / "raw" / "shopify-orders" / "second.csv").exists()
    assert not list(store.glob(".import-*")) and not list(store.rglob("*.old-*"))


def test_a_process_killed_mid_commit_is_undone_before_the_next_import(store, tmp_path,
                                                                      usd_settings,
                                                                      monkeypatch):
    """Simulate death after some renames (no cleanup): the journal restores the old state."""
    before = _snapshot(store)
    real_move = commit._move
    calls = {"n": 0}

    class Killed(BaseException):
        pass

    def dying_move(source, target):
        calls["n"] += 1
        if calls["n"] == 4:
            raise Killed()
        real_move(source, target)

    monkeypatch.setattr(commit, "_move", dying_move)
    monkeypatch.setattr(commit, "_undo", lambda journal, moves: None)  # dies: no clean-up
    monkeypatch.setattr(commit.Transaction, "discard", lambda self: None)
    path = write_shopify_orders(tmp_path / "second.csv", _orders("2", "3"))
    with pytest.raises(Killed):
        import_files("shopify-orders", [path], data_dir=store, settings=usd_settings)
    assert (store / commit.JOURNAL).exists()
    assert json.loads((store / commit.JOURNAL).read_text())  # the plan survived the death
    monkeypatch.undo()
    assert commit.recover(store) is True
    after = _snapshot(store)
    for name, frame in before[0].items():
        assert after[0][name].equals(frame), name
    assert after[1] == before[1]
    report = import_files("shopify-orders", [path], data_dir=store, settings=usd_settings)
    assert report.ok
    assert (report.files[0].rows_loaded, report.files[0].rows_duplicate) == (1, 1)
