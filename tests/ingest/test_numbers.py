"""Numbers: non-finite and out-of-range values are rejected with their own reason, and no
import ever ends in a traceback."""

from __future__ import annotations

import textwrap

import pytest
from click.testing import CliRunner
from ingest_support import shopify_order, write_shopify_orders

from opslib.cli import main
from opslib.ingest import import_files
from opslib.ingest.readers import ImportFileError
from opslib.ingest.rejects import read_rejected
from opslib.schema import read_for_validation, table_path

QUANTITY_RANGE = "-1,000,000,000 to 1,000,000,000"
AMOUNT_RANGE = "-1,000,000,000,000 to 1,000,000,000,000"


def _orders(tmp_path, **line_or_order):
    """Two orders; the first one's second line (line 3) gets the given line values, its
    first row (line 2, which carries the order's fields) the given order fields."""
    quantity = line_or_order.pop("quantity", 1)
    price = line_or_order.pop("price", "10.00")
    first = shopify_order("#1", "1", "2024-05-01 10:00:00 -0400",
                          [("B", 1, "4.00"), ("A", 1, "10.00")],
                          **{"Subtotal": "14.00", "Total": "19.00", **line_or_order})
    first["lines"][1] = ("A", quantity, price)
    second = shopify_order("#2", "2", "2024-05-02 10:00:00 -0400", [("C", 2, "3.00")])
    return write_shopify_orders(tmp_path / "orders.csv", [first, second])


@pytest.mark.parametrize("field, value, rule, names", [
    ("quantity", "99999999999999999999", "out_of_range", QUANTITY_RANGE),
    ("quantity", "1e400", "out_of_range", QUANTITY_RANGE),
    ("quantity", "inf", "not_a_number", "finite"),
    ("price", "Infinity", "not_a_number", "finite"),
    ("price", "1e400", "out_of_range", AMOUNT_RANGE),
    ("price", "1e308", "out_of_range", AMOUNT_RANGE),
    ("price", "NaN", "not_a_number", "finite"),
])
def test_a_line_value_beyond_range_rejects_that_line_only(tmp_path, usd_settings, field,
                                                          value, rule, names):
    """The line is rejected with its own rule and a message naming the accepted range; the
    other lines and orders load."""
    path = _orders(tmp_path, **{field: value})
    report = import_files("shopify-orders", [path], data_dir=tmp_path / "d",
                          settings=usd_settings)
    assert report.ok, report.text()
    rejected = read_rejected(tmp_path / "d")
    assert rejected[["line", "rule"]].values.tolist() == [[3, rule]]
    assert names in rejected.message.iloc[0] and value in rejected.message.iloc[0]
    lines = read_for_validation(table_path(tmp_path / "d", "order_lines"))
    assert sorted(lines.sku) == ["B", "C"]


@pytest.mark.parametrize("value, rule", [("1e308", "out_of_range"), ("1e400", "out_of_range"),
                                         ("-inf", "not_a_number"),
                                         ("99999999999999999999", "out_of_range")])
def test_an_order_total_beyond_range_rejects_the_order(tmp_path, usd_settings, value, rule):
    """An order field (on the order's first row) out of range keeps the whole order out."""
    path = _orders(tmp_path, Total=value)
    report = import_files("shopify-orders", [path], data_dir=tmp_path / "d",
                          settings=usd_settings)
    assert report.ok, report.text()
    rejected = read_rejected(tmp_path / "d")
    assert rejected[["line", "rule"]].values.tolist() == [[2, rule], [3, rule]]
    orders = read_for_validation(table_path(tmp_path / "d", "orders"))
    assert orders.order_id.tolist() == ["2"]


def test_a_computed_value_too_big_for_its_column_is_rejected_not_a_traceback(
        tmp_path, gbp_settings):
    """A mapping expression that overflows a whole-number column (here 3 × 10^19 units)
    rejects the row as out_of_range instead of failing a cast."""
    mapping = tmp_path / "m.toml"
    mapping.write_text(textwrap.dedent("""
        [columns]
        "Day" = "date"
        "Packs" = "int"
        [tables.inventory_snapshots.columns]
        snapshot_date = '"Day"'
        sku = "'TEE'"
        on_hand = '"Packs" * 10000000000.0'
        committed = "0"
        incoming = "0"
    """), encoding="utf-8")
    path = tmp_path / "stock.csv"
    path.write_text("Day,Packs\n2024-03-01,2\n2024-03-02,3000000000\n2024-03-03,0\n",
                    encoding="utf-8")
    report = import_files("csv", [path], data_dir=tmp_path / "d", settings=gbp_settings,
                          mapping=mapping)
    assert report.ok, report.text()
    rejected = read_rejected(tmp_path / "d")
    assert rejected[["line", "rule"]].values.tolist() == [[2, "out_of_range"],
                                                          [3, "out_of_range"]]
    assert QUANTITY_RANGE in rejected.message.iloc[0]


def _snapshot(data_dir):
    """Every file of the data folder (tables, rejects, ledger, raw copies) and its bytes,
    but the lock's note of who last held it."""
    return {str(path.relative_to(data_dir)): path.read_bytes()
            for path in sorted(data_dir.rglob("*")) if path.is_file() and path.name != ".lock"}


@pytest.mark.parametrize("seam", ["_merge", "settle"])
def test_an_unexpected_exception_names_the_file_and_step_and_writes_nothing(
        tmp_path, usd_settings, monkeypatch, seam):
    """A fault inside the import (injected): an ImportFileError naming the file and the step,
    the tables exactly as they were."""
    from opslib.ingest import engine

    data_dir = tmp_path / "d"
    import_files("shopify-orders", [_orders(tmp_path)], data_dir=data_dir,
                 settings=usd_settings)
    before = _snapshot(data_dir)
    assert any(name.startswith("tables") for name in before)

    def broken(*args, **kwargs):
        raise ValueError("injected fault")

    monkeypatch.setattr(engine, seam, broken)
    later = write_shopify_orders(tmp_path / "later.csv", [shopify_order(
        "#3", "3", "2024-05-03 10:00:00 -0400", [("D", 1, "9.00")])])
    with pytest.raises(ImportFileError) as caught:
        import_files("shopify-orders", [later], data_dir=data_dir, settings=usd_settings)
    message = str(caught.value)
    step = "merging its rows" if seam == "_merge" else "checking its rows"
    assert "'later.csv'" in message and step in message and "injected fault" in message
    assert "Nothing was written" in message
    assert _snapshot(data_dir) == before
    assert not (data_dir / "raw" / "shopify-orders" / "later.csv").exists()


def test_the_command_shows_an_unexpected_fault_as_one_line_and_exits_non_zero(
        tmp_path, monkeypatch):
    """`playbook import` with a fault inside: no traceback, exit code not 0."""
    from opslib.ingest import engine

    def broken(*args, **kwargs):
        raise KeyError("injected fault")

    monkeypatch.setattr(engine, "_merge", broken)
    settings = tmp_path / "playbook.toml"
    settings.write_text('[store]\ntimezone = "America/New_York"\ncurrency = "USD"\n',
                        encoding="utf-8")
    result = CliRunner().invoke(main, ["import", "shopify-orders", str(_orders(tmp_path)),
                                       "--data", str(tmp_path / "d"), "--settings",
                                       str(settings)])
    assert result.exit_code != 0
    assert "orders.csv" in result.output and "merging its rows" in result.output
    assert "Traceback" not in result.output
    assert not table_path(tmp_path / "d", "orders").exists()
