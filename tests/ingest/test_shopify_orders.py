"""Shopify orders export: line items, order fields, refunds, time zones, statuses."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from ingest_support import shopify_order, write_shopify_orders

from opslib.ingest import import_files
from opslib.ingest.readers import ImportFileError
from opslib.ingest.rejects import read_rejected
from opslib.schema import read_for_validation, table_path, validate_store


def _table(data_dir, name):
    return read_for_validation(table_path(data_dir, name))


def _two_orders():
    return [
        shopify_order("#1001", "5001", "2024-03-09 10:00:00 -0500",
                      [("SKU-A", 2, "10.00"), ("SKU-B", 1, "5.50")],
                      **{"Discount Code": "WELCOME10", "Discount Amount": "2.55",
                         "Total": "27.95"}),
        shopify_order("#1002", "5002", "2024-03-11 10:00:00 -0400", [("SKU-A", 1, "10.00")],
                      **{"Financial Status": "partially_refunded", "Refunded Amount": "4.00",
                         "Fulfillment Status": "fulfilled",
                         "Fulfilled at": "2024-03-12 09:00:00 -0400"}),
    ]


@pytest.mark.parametrize("repeated", [False, True], ids=["native", "third-party"])
def test_order_fields_are_taken_once_whether_on_first_row_or_repeated(tmp_path, usd_settings,
                                                                      repeated):
    """Order totals come from the order, never added across its line rows."""
    path = write_shopify_orders(tmp_path / "orders.csv", _two_orders(),
                                repeat_order_fields=repeated)
    report = import_files("shopify-orders", [path], data_dir=tmp_path / "data",
                          settings=usd_settings)
    assert report.ok, report.text()
    orders = _table(tmp_path / "data", "orders").set_index("order_id")
    assert orders.loc["5001", "total_amount"] == 27.95
    assert orders.loc["5001", "discount_amount"] == 2.55
    assert orders.loc["5001", "shipping_amount"] == 5.0
    assert orders.loc["5001", "subtotal"] == 25.5
    assert orders.loc["5001", "discount_code"] == "WELCOME10"
    assert orders.loc["5001", "customer_id"] == "1001@example.invalid"
    lines = _table(tmp_path / "data", "order_lines")
    assert sorted(zip(lines.order_id, lines.line_number)) == [("5001", 1), ("5001", 2),
                                                               ("5002", 1)]


def test_mixed_offsets_across_daylight_saving_become_utc(tmp_path, usd_settings):
    """-0500 before the March change and -0400 after it are both read exactly."""
    path = write_shopify_orders(tmp_path / "orders.csv", _two_orders())
    import_files("shopify-orders", [path], data_dir=tmp_path / "data", settings=usd_settings)
    created = _table(tmp_path / "data", "orders").set_index("order_id")["created_at"]
    assert created["5001"] == pd.Timestamp("2024-03-09 15:00:00", tz="UTC")
    assert created["5002"] == pd.Timestamp("2024-03-11 14:00:00", tz="UTC")


def test_refund_is_an_order_level_return_and_fulfilment_a_shipment(tmp_path, usd_settings):
    """Refunded Amount → one returns row without SKU; Fulfilled at → a shipment."""
    path = write_shopify_orders(tmp_path / "orders.csv", _two_orders())
    report = import_files("shopify-orders", [path], data_dir=tmp_path / "data",
                          settings=usd_settings)
    returns = _table(tmp_path / "data", "returns")
    assert len(returns) == 1
    row = returns.iloc[0]
    assert (row.order_id, row.refund_amount, row.status) == ("5002", 4.0, "refunded")
    assert pd.isna(row.sku)
    # no refund date in this export: booked on the order date, and the report says so
    assert row.refunded_at == pd.Timestamp("2024-03-11 14:00:00", tz="UTC")
    assert "1 on their order date" in report.text()
    shipments = _table(tmp_path / "data", "shipments")
    assert shipments.shipped_at.tolist() == [pd.Timestamp("2024-03-12 13:00:00", tz="UTC")]
    orders = _table(tmp_path / "data", "orders").set_index("order_id")
    assert orders.loc["5002", "fulfillment_status"] == "fulfilled"
    assert orders.loc["5002", "financial_status"] == "partially_refunded"


def test_refund_date_column_books_the_refund_on_that_date(tmp_path, usd_settings):
    """When the export carries a refund date, the return is booked on it."""
    header = [*__import__("ingest_support").SHOPIFY_ORDER_HEADER, "Refunded at"]
    order = shopify_order("#1003", "5003", "2024-03-01 10:00:00 -0500", [("SKU-A", 1, "10")],
                          **{"Refunded Amount": "10.00", "Financial Status": "refunded",
                             "Refunded at": "2024-03-20 08:30:00 -0400"})
    path = write_shopify_orders(tmp_path / "orders.csv", [order], header=header)
    import_files("shopify-orders", [path], data_dir=tmp_path / "data", settings=usd_settings)
    returns = _table(tmp_path / "data", "returns")
    assert returns.refunded_at.tolist() == [pd.Timestamp("2024-03-20 12:30:00", tz="UTC")]


def test_cancellation_dates_the_refund_when_no_refund_date(tmp_path, usd_settings):
    """A cancelled and refunded order: cancelled_at kept, refund booked on it."""
    order = shopify_order("#1004", "5004", "2024-03-01 10:00:00 -0500", [("SKU-A", 1, "10")],
                          **{"Refunded Amount": "15.00", "Financial Status": "refunded",
                             "Cancelled at": "2024-03-02 11:00:00 -0500"})
    path = write_shopify_orders(tmp_path / "orders.csv", [order])
    import_files("shopify-orders", [path], data_dir=tmp_path / "data", settings=usd_settings)
    orders = _table(tmp_path / "data", "orders")
    assert orders.cancelled_at.tolist() == [pd.Timestamp("2024-03-02 16:00:00", tz="UTC")]
    assert _table(tmp_path / "data", "returns").refunded_at.tolist() == \
        [pd.Timestamp("2024-03-02 16:00:00", tz="UTC")]


def test_negative_quantity_line_is_rejected_and_the_rest_loaded(tmp_path, usd_settings):
    """A line with quantity -2 is rejected (negative_quantity); its order stays."""
    order = shopify_order("#1005", "5005", "2024-03-01 10:00:00 -0500",
                          [("SKU-A", 1, "10.00"), ("SKU-B", -2, "4.00")])
    path = write_shopify_orders(tmp_path / "orders.csv", [order])
    report = import_files("shopify-orders", [path], data_dir=tmp_path / "data",
                          settings=usd_settings)
    assert report.ok
    rejected = read_rejected(tmp_path / "data")
    assert rejected[["line", "column", "raw_value", "rule"]].values.tolist() == \
        [[3, "Lineitem quantity", "-2", "negative_quantity"]]
    assert _table(tmp_path / "data", "order_lines").sku.tolist() == ["SKU-A"]
    assert _table(tmp_path / "data", "orders").subtotal.tolist() == [10.0]


def test_zero_price_line_is_loaded_and_noted(tmp_path, usd_settings):
    """A free item (price 0) is a real sale of 0: loaded, and the report counts it."""
    order = shopify_order("#1006", "5006", "2024-03-01 10:00:00 -0500",
                          [("SKU-A", 1, "10.00"), ("GIFT", 1, "0.00")])
    path = write_shopify_orders(tmp_path / "orders.csv", [order])
    report = import_files("shopify-orders", [path], data_dir=tmp_path / "data",
                          settings=usd_settings)
    assert report.files[0].rows_loaded == 2
    assert "1 order line(s) with price 0 loaded as free items" in report.text()
    assert sorted(_table(tmp_path / "data", "order_lines").unit_price) == [0.0, 10.0]


def test_fulfilled_before_ordered_is_rejected_with_reason(tmp_path, usd_settings):
    """A ship date before the order date rejects the whole order (ship_before_order)."""
    order = shopify_order("#1007", "5007", "2024-03-05 10:00:00 -0500",
                          [("SKU-A", 1, "10"), ("SKU-B", 1, "3")],
                          **{"Fulfillment Status": "fulfilled",
                             "Fulfilled at": "2024-03-01 10:00:00 -0500"})
    ok = shopify_order("#1008", "5008", "2024-03-05 10:00:00 -0500", [("SKU-A", 1, "10")])
    path = write_shopify_orders(tmp_path / "orders.csv", [order, ok])
    report = import_files("shopify-orders", [path], data_dir=tmp_path / "data",
                          settings=usd_settings)
    assert (report.files[0].rows_loaded, report.files[0].rows_rejected) == (1, 2)
    rejected = read_rejected(tmp_path / "data")
    assert rejected.rule.tolist() == ["ship_before_order", "ship_before_order"]
    assert "before it was placed" in rejected.message.iloc[0]
    assert _table(tmp_path / "data", "orders").order_id.tolist() == ["5008"]


def test_bad_number_on_first_row_rejects_the_whole_order(tmp_path, usd_settings):
    """'Total' = 'abc' names the order, the column and the line, for every row of it."""
    order = shopify_order("#1009", "5009", "2024-03-05 10:00:00 -0500",
                          [("SKU-A", 1, "10"), ("SKU-B", 1, "3")], Total="abc")
    path = write_shopify_orders(tmp_path / "orders.csv", [order])
    report = import_files("shopify-orders", [path], data_dir=tmp_path / "data",
                          settings=usd_settings)
    assert report.ok and report.files[0].rows_rejected == 2
    rejected = read_rejected(tmp_path / "data")
    assert rejected.line.tolist() == [2, 3]
    assert set(rejected.rule) == {"not_a_number"}
    assert rejected.message.iloc[1] == ("order #1009: 'Total' = 'abc' (line 2) is not an "
                                        "amount; the whole order is kept out")


@pytest.mark.parametrize("line, rule", [(("SKU-B", 1, "-1"), "negative_amount"),
                                         (("SKU-B", 0, "3"), "negative_quantity")])
def test_a_line_below_its_minimum_names_its_own_defect_in_a_rejected_order(
        tmp_path, usd_settings, line, rule):
    """A negative price (or a zero quantity) on one line of an order whose Total is out of
    range: that line says what is wrong with it; the order's other line gets the order's."""
    order = shopify_order("#1011", "5011", "2024-03-05 10:00:00 -0500",
                          [("SKU-A", 1, "10"), line], Total="99999999999999999999")
    path = write_shopify_orders(tmp_path / "orders.csv", [order])
    report = import_files("shopify-orders", [path], data_dir=tmp_path / "data",
                          settings=usd_settings)
    assert report.ok and report.files[0].rows_rejected == 2
    rejected = read_rejected(tmp_path / "data").sort_values("line")
    assert rejected.rule.tolist() == ["out_of_range", rule]


def test_unknown_financial_status_is_rejected_as_not_allowed(tmp_path, usd_settings):
    """A status outside the contract's list is refused, naming the allowed values."""
    order = shopify_order("#1010", "5010", "2024-03-05 10:00:00 -0500", [("SKU-A", 1, "10")],
                          **{"Financial Status": "mystery"})
    path = write_shopify_orders(tmp_path / "orders.csv", [order])
    import_files("shopify-orders", [path], data_dir=tmp_path / "data", settings=usd_settings)
    rejected = read_rejected(tmp_path / "data")
    assert rejected.rule.tolist() == ["not_allowed"]
    assert "'Financial Status' = 'mystery' is not one of pending" in rejected.message.iloc[0]


def test_order_in_another_currency_is_rejected(tmp_path, usd_settings):
    """Amounts in EUR cannot be added to USD: currency_mismatch."""
    orders = [shopify_order("#1011", "5011", "2024-03-05 10:00:00 -0500", [("A", 1, "10")]),
              shopify_order("#1012", "5012", "2024-03-05 10:00:00 -0500", [("A", 1, "10")],
                            Currency="EUR")]
    path = write_shopify_orders(tmp_path / "orders.csv", orders)
    import_files("shopify-orders", [path], data_dir=tmp_path / "data", settings=usd_settings)
    assert read_rejected(tmp_path / "data").rule.tolist() == ["currency_mismatch"]


def test_file_entirely_in_another_currency_stops_with_a_fix(tmp_path, gbp_settings):
    """Every order in USD while the store says GBP: an error, nothing written."""
    path = write_shopify_orders(tmp_path / "orders.csv", _two_orders())
    with pytest.raises(ImportFileError, match="every order is in USD, but the store currency "
                                              "is GBP"):
        import_files("shopify-orders", [path], data_dir=tmp_path / "data",
                     settings=gbp_settings)
    assert not (tmp_path / "data" / "tables").exists()


def test_missing_required_column_stops_before_anything_is_written(tmp_path, usd_settings):
    """The error names the missing column and lists the columns found."""
    from ingest_support import SHOPIFY_ORDER_HEADER

    header = [c for c in SHOPIFY_ORDER_HEADER if c != "Lineitem quantity"]
    good = write_shopify_orders(tmp_path / "good.csv", _two_orders())
    bad = write_shopify_orders(tmp_path / "bad.csv", _two_orders(), header=header)
    with pytest.raises(ImportFileError) as caught:
        import_files("shopify-orders", [good, bad], data_dir=tmp_path / "data",
                     settings=usd_settings)
    message = str(caught.value)
    assert "'bad.csv': required column 'Lineitem quantity' is missing" in message
    assert "columns found: Name, Email, Financial Status" in message
    assert caught.value.column == "Lineitem quantity"
    assert not (tmp_path / "data" / "tables").exists()  # not even good.csv went in


def test_placeholders_satisfy_foreign_keys_and_the_store_validates(tmp_path, usd_settings):
    """SKUs and customers seen only in orders get placeholder rows: the store passes."""
    path = write_shopify_orders(tmp_path / "orders.csv", _two_orders())
    import_files("shopify-orders", [path], data_dir=tmp_path / "data", settings=usd_settings)
    counts, violations = validate_store(tmp_path / "data")
    assert violations == []
    products = _table(tmp_path / "data", "products").set_index("sku")
    assert sorted(products.index) == ["SKU-A", "SKU-B"]
    assert products.loc["SKU-A", "category"] == "uncategorised"
    customers = _table(tmp_path / "data", "customers")
    assert sorted(customers.customer_id) == ["1001@example.invalid", "1002@example.invalid"]


def test_raw_export_is_kept_as_dropped(tmp_path, usd_settings):
    """The imported file is copied, byte for byte, to data/raw/shopify-orders/."""
    path = write_shopify_orders(tmp_path / "orders.csv", _two_orders())
    import_files("shopify-orders", [path], data_dir=tmp_path / "data", settings=usd_settings)
    kept = tmp_path / "data" / "raw" / "shopify-orders" / "orders.csv"
    assert kept.read_bytes() == path.read_bytes()


def test_every_line_keeps_its_lineitem_name_as_title(tmp_path, usd_settings):
    """A hand-written export with gift wrap, a tip and typed-in items (no SKU): each line's
    title is its "Lineitem name" exactly as written (quotes, markup, a leading '=')."""
    path = Path(__file__).parent / "fixtures" / "shopify_custom_lines.csv"
    report = import_files("shopify-orders", [path], data_dir=tmp_path / "data",
                          settings=usd_settings)
    assert report.ok and report.files[0].rows_loaded == 6, report.text()
    lines = _table(tmp_path / "data", "order_lines").sort_values(["order_id", "line_number"])
    assert [(o, n, None if pd.isna(s) else s, t) for o, n, s, t in zip(
        lines.order_id, lines.line_number, lines.sku, lines.title)] == [
        ("7100", 1, "MUG-BLU", "Ceramic Mug - Blue"),
        ("7101", 1, "MUG-BLU", "Ceramic Mug - Blue"),
        ("7101", 2, None, "Gift wrap"), ("7101", 3, None, "Tip"),
        ("7102", 1, None, 'Engraved tag "Rex" <b>bold</b>, brass'),
        ("7102", 2, None, "=2+2 custom sticker")]
    assert validate_store(tmp_path / "data")[1] == []
