"""Re-importing is a no-op; an overlapping later export updates orders in place."""

from __future__ import annotations

import pandas as pd
from ingest_support import shopify_order, write_shopify_orders

from opslib.config import Settings
from opslib.ingest import import_files, import_raw_folder
from opslib.ingest.ledger import load_ledger
from opslib.schema import read_for_validation, table_path, validate_store


def _table(data_dir, name):
    return read_for_validation(table_path(data_dir, name))


def _order(number, order_id, **fields):
    return shopify_order(number, order_id, "2024-05-01 10:00:00 -0400",
                         [("SKU-A", 1, "20.00"), ("SKU-B", 2, "5.00")], **fields)


def test_same_file_twice_is_a_no_op(tmp_path, usd_settings):
    """The second import changes nothing and says why."""
    path = write_shopify_orders(tmp_path / "orders.csv", [_order("#1", "101")])
    import_files("shopify-orders", [path], data_dir=tmp_path / "d", settings=usd_settings)
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "d" / "tables").rglob("*")}
    copy = tmp_path / "renamed.csv"
    copy.write_bytes(path.read_bytes())
    report = import_files("shopify-orders", [copy], data_dir=tmp_path / "d",
                          settings=usd_settings)
    assert report.ok
    assert report.files[0].skipped.startswith("identical to 'orders.csv' imported")
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "d" / "tables").rglob("*")}
    assert before == after
    assert len(load_ledger(tmp_path / "d").entries) == 1


def test_overlapping_export_updates_changed_orders_without_duplicates(tmp_path, usd_settings):
    """Order 101 unchanged (duplicates skipped), 102 now refunded (updated), 103 new."""
    first = write_shopify_orders(tmp_path / "export1.csv", [
        _order("#1", "101"), _order("#2", "102")])
    import_files("shopify-orders", [first], data_dir=tmp_path / "d", settings=usd_settings)
    second = write_shopify_orders(tmp_path / "export2.csv", [
        _order("#1", "101"),
        _order("#2", "102", **{"Financial Status": "refunded", "Refunded Amount": "35.00",
                               "Cancelled at": "2024-05-03 09:00:00 -0400"}),
        _order("#3", "103")])
    report = import_files("shopify-orders", [second], data_dir=tmp_path / "d",
                          settings=usd_settings)
    result = report.files[0]
    assert report.ok, report.text()
    assert (result.rows_read, result.rows_loaded, result.rows_duplicate) == (6, 4, 2)
    orders = _table(tmp_path / "d", "orders").set_index("order_id")
    assert sorted(orders.index) == ["101", "102", "103"]
    assert orders.loc["102", "financial_status"] == "refunded"
    assert orders.loc["102", "cancelled_at"] == pd.Timestamp("2024-05-03 13:00", tz="UTC")
    assert len(_table(tmp_path / "d", "order_lines")) == 6
    returns = _table(tmp_path / "d", "returns")
    assert returns[["order_id", "refund_amount"]].values.tolist() == [["102", 35.0]]
    assert validate_store(tmp_path / "d")[1] == []


def test_upsert_is_on_the_platform_id_not_the_order_number(tmp_path, usd_settings):
    """Two stores' exports reuse '#1' with different ids: two orders. Same id renumbered:
    one order, renumbered."""
    a = write_shopify_orders(tmp_path / "a.csv", [_order("#1", "101")])
    b = write_shopify_orders(tmp_path / "b.csv", [_order("#1", "999"),
                                                  _order("#1-EDIT", "101")])
    import_files("shopify-orders", [a, b], data_dir=tmp_path / "d", settings=usd_settings)
    orders = _table(tmp_path / "d", "orders").set_index("order_id")
    assert sorted(orders.index) == ["101", "999"]
    assert orders.loc["101", "order_number"] == "#1-EDIT"


def test_removed_line_disappears_when_the_order_is_exported_again(tmp_path, usd_settings):
    """Order lines are replaced order by order (an edited order loses its removed line)."""
    a = write_shopify_orders(tmp_path / "a.csv", [_order("#1", "101")])
    edited = shopify_order("#1", "101", "2024-05-01 10:00:00 -0400", [("SKU-A", 1, "20.00")])
    b = write_shopify_orders(tmp_path / "b.csv", [edited])
    import_files("shopify-orders", [a, b], data_dir=tmp_path / "d", settings=usd_settings)
    assert _table(tmp_path / "d", "order_lines").sku.tolist() == ["SKU-A"]


def test_raw_folder_imports_only_new_files(tmp_path, usd_settings):
    """Files dropped in data/raw/<source>/ go in once; the ledger remembers them."""
    raw = tmp_path / "d" / "raw" / "shopify-orders"
    raw.mkdir(parents=True)
    write_shopify_orders(raw / "may.csv", [_order("#1", "101")])
    first = import_raw_folder(tmp_path / "d", settings=usd_settings)
    assert first.ok and [f.file for f in first.files] == ["may.csv"]
    assert import_raw_folder(tmp_path / "d", settings=usd_settings).files == []
    write_shopify_orders(raw / "june.csv", [_order("#2", "102")])
    third = import_raw_folder(tmp_path / "d", settings=usd_settings)
    assert [f.file for f in third.files] == ["june.csv"]
    assert sorted(_table(tmp_path / "d", "orders").order_id) == ["101", "102"]
    assert sorted(p.name for p in raw.iterdir()) == ["june.csv", "may.csv"]  # not copied twice


def test_raw_folder_reports_a_bad_file_and_imports_the_others(tmp_path):
    """A file that cannot be imported makes the report fail; the rest still go in."""
    settings = Settings.from_dict({"store": {"currency": "USD"}})
    orders = tmp_path / "d" / "raw" / "shopify-orders"
    customers = tmp_path / "d" / "raw" / "shopify-customers"
    orders.mkdir(parents=True)
    customers.mkdir(parents=True)
    write_shopify_orders(orders / "ok.csv", [_order("#1", "101")])
    (customers / "broken.csv").write_text("Name,Phone\nx,1\n", encoding="utf-8")
    report = import_raw_folder(tmp_path / "d", settings=settings)
    assert not report.ok
    assert "required column 'Email' is missing" in report.text()
    assert _table(tmp_path / "d", "orders").order_id.tolist() == ["101"]
