"""A Shopify-format export of the demo store imports back to the same figures."""

from __future__ import annotations

import pytest

from opslib.ingest import import_files
from opslib.ingest.export import export_shopify_orders
from opslib.schema import read_for_validation, table_path


def test_round_trip_of_the_demo_store(small_demo_store, small_demo_dir, demo_settings,
                                      tmp_path):
    """Orders, lines, gross sales and refunds survive export → import unchanged."""
    path = export_shopify_orders(small_demo_store, tmp_path / "orders_export.csv")
    report = import_files("shopify-orders", [path], data_dir=tmp_path / "d",
                          settings=demo_settings)
    assert report.ok, report.text()
    original = {n: read_for_validation(table_path(small_demo_dir, n))
                for n in ("orders", "order_lines", "returns")}
    back = {n: read_for_validation(table_path(tmp_path / "d", n))
            for n in ("orders", "order_lines", "returns")}
    assert report.files[0].rows_read == len(original["order_lines"])
    assert len(back["orders"]) == len(original["orders"])
    assert len(back["order_lines"]) == len(original["order_lines"])
    gross = (original["order_lines"].quantity * original["order_lines"].unit_price).sum()
    assert (back["order_lines"].quantity * back["order_lines"].unit_price).sum() == \
        pytest.approx(gross, abs=0.01 * len(original["order_lines"]))
    assert back["orders"].total_amount.sum() == pytest.approx(
        original["orders"].total_amount.sum(), abs=0.01 * len(original["orders"]))
    assert back["returns"].refund_amount.sum() == pytest.approx(
        original["returns"].refund_amount.sum(), abs=0.01 * len(original["returns"]))
    key = ["order_id", "line_number"]
    # line titles, gift wrapping (no SKU) included, go out as "Lineitem name" and come back
    assert back["order_lines"].sort_values(key).title.tolist() == \
        original["order_lines"].sort_values(key).title.tolist()
    # Shopify writes whole seconds
    assert back["order_lines"].sort_values(key).created_at.tolist() == \
        original["order_lines"].sort_values(key).created_at.dt.floor("s").tolist()
