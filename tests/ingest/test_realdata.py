"""The real exports in ../shared/realdata import completely, checked against pandas."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from ingest_support import need_realdata

from opslib.ingest import import_files
from opslib.ingest.rejects import read_rejected
from opslib.schema import read_for_validation, table_path, validate_store

pytestmark = pytest.mark.realdata
MAPPINGS = Path(__file__).resolve().parents[2] / "examples" / "mappings"


def _table(data_dir, name):
    return read_for_validation(table_path(data_dir, name))


def _raw(path: Path, **kw) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, **kw)


def test_shopify_orders_export(tmp_path, usd_settings):
    """811 line rows → 409 orders; gross sales and refunds match a pandas count."""
    path = need_realdata("shopify_enavant") / "orders_export_1.csv"
    report = import_files("shopify-orders", [path], data_dir=tmp_path, settings=usd_settings)
    result = report.files[0]
    assert report.ok and result.adds_up, report.text()
    raw = _raw(path)
    first_rows = raw[raw["Financial Status"] != ""]
    assert result.rows_read == len(raw) == 811
    assert (result.rows_loaded, result.rows_rejected) == (len(raw), 0)
    orders, lines = _table(tmp_path, "orders"), _table(tmp_path, "order_lines")
    returns = _table(tmp_path, "returns")
    assert len(orders) == raw["Id"].replace("", None).nunique() == 409
    assert len(lines) == len(raw)
    # every line keeps its "Lineitem name", the only name of the 134 lines without a SKU
    assert sorted(lines.title) == sorted(raw["Lineitem name"])
    no_sku = raw["Lineitem sku"] == ""
    assert int(no_sku.sum()) == int(lines.sku.isna().sum()) == 134
    assert sorted(lines.title[lines.sku.isna()]) == sorted(raw.loc[no_sku, "Lineitem name"])
    gross = (raw["Lineitem quantity"].astype(int) * raw["Lineitem price"].astype(float)).sum()
    assert (lines.quantity * lines.unit_price).sum() == pytest.approx(gross, abs=0.005)
    assert orders.total_amount.sum() == pytest.approx(first_rows["Total"].astype(float).sum())
    refunded = first_rows["Refunded Amount"].astype(float)
    assert len(returns) == int((refunded > 0).sum())
    assert returns.refund_amount.sum() == pytest.approx(refunded.sum())
    assert int(orders.cancelled_at.notna().sum()) == int((first_rows["Cancelled at"] != "")
                                                         .sum())
    assert int((orders.fulfillment_status == "fulfilled").sum()) == \
        int((first_rows["Fulfillment Status"] == "fulfilled").sum())
    # -0400 and -0500 offsets: the first order's time converts exactly
    first = orders.set_index("order_number").loc["#1411", "created_at"]
    assert first == pd.Timestamp("2022-01-11 09:32:30", tz="UTC")
    assert validate_store(tmp_path)[1] == []


def test_shopify_customers_after_orders(tmp_path, usd_settings):
    """Customers key on the email; rows without one are rejected with the reason."""
    folder = need_realdata("shopify_enavant")
    import_files("shopify-orders", [folder / "orders_export_1.csv"], data_dir=tmp_path,
                 settings=usd_settings)
    path = folder / "customers_export_1.csv"
    report = import_files("shopify-customers", [path], data_dir=tmp_path,
                          settings=usd_settings)
    result = report.files[0]
    assert report.ok, report.text()
    raw = _raw(path)
    no_email = int((raw["Email"] == "").sum())
    assert result.rows_rejected == no_email == 28
    assert result.rows_loaded + result.rows_duplicate == len(raw) - no_email
    rejected = read_rejected(tmp_path)
    assert set(rejected.rule) == {"missing_value"}
    customers = _table(tmp_path, "customers").set_index("customer_id")
    emails = set(raw.loc[raw["Email"] != "", "Email"].str.lower())
    assert emails <= set(customers.index)
    # a buyer's creation date is their first order, not the day of the import
    orders = _table(tmp_path, "orders")
    first_order = orders.groupby("customer_id").created_at.min()
    assert (customers.loc[first_order.index, "created_at"] == first_order).all()
    assert validate_store(tmp_path)[1] == []


def test_superstore_through_its_mapping(tmp_path, usd_settings):
    """9,994 lines: the 42 shipped before ordered are rejected, the rest loaded."""
    path = need_realdata("superstore") / "Sample - Superstore.csv"
    report = import_files("csv", [path], data_dir=tmp_path, settings=usd_settings,
                          mapping=MAPPINGS / "superstore.toml")
    result = report.files[0]
    assert report.ok, report.text()
    raw = _raw(path)
    order_date = pd.to_datetime(raw["Order Date"], format="%m/%d/%Y")
    ship_date = pd.to_datetime(raw["Ship Date"], format="%m/%d/%Y")
    good = raw[ship_date >= order_date]
    assert result.rejected_by_rule == {"ship_before_order": 42}
    assert (result.rows_read, result.rows_loaded) == (9994, len(good))
    orders, lines = _table(tmp_path, "orders"), _table(tmp_path, "order_lines")
    assert len(orders) == good["Order ID"].nunique()
    assert len(lines) == len(good)
    sales, discount = good["Sales"].astype(float), good["Discount"].astype(float)
    list_price_total = (sales / (1 - discount)).sum()
    assert orders.subtotal.sum() == pytest.approx(list_price_total, abs=1.0)
    assert orders.total_amount.sum() == pytest.approx(sales.sum(), abs=0.5)
    assert (lines.quantity * lines.unit_price).sum() == pytest.approx(list_price_total,
                                                                      rel=1e-4)
    assert len(_table(tmp_path, "customers")) == good["Customer ID"].nunique()
    assert "Konftel 250 Conference phone - Charcoal black" in \
        set(_table(tmp_path, "products").title)  # non-breaking spaces normalised
    assert lines.title.notna().all()  # mapped from Product Name
    assert validate_store(tmp_path)[1] == []


def test_uci_online_retail_through_its_mapping(tmp_path, gbp_settings):
    """';' file, two date formats, 'NA' customers are guests (not Namibia), free items."""
    path = need_realdata("online_retail_uci") / "online_retail_sample.csv"
    report = import_files("csv", [path], data_dir=tmp_path, settings=gbp_settings,
                          mapping=MAPPINGS / "uci-online-retail.toml")
    result = report.files[0]
    assert report.ok, report.text()
    raw = _raw(path, sep=";")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (5000, 5000, 0)
    orders, lines = _table(tmp_path, "orders"), _table(tmp_path, "order_lines")
    assert len(orders) == raw["InvoiceNo"].nunique()
    gross = (raw["Quantity"].astype(int) * raw["UnitPrice"].astype(float)).sum()
    assert (lines.quantity * lines.unit_price).sum() == pytest.approx(gross, abs=0.01)
    guests = raw.groupby("InvoiceNo")["CustomerID"].first().eq("NA").sum()
    assert int(orders.customer_id.isna().sum()) == int(guests)
    customers = _table(tmp_path, "customers")
    assert "NA" not in set(customers.customer_id)
    assert len(customers) == raw.loc[raw["CustomerID"] != "NA", "CustomerID"].nunique()
    assert int((lines.unit_price == 0).sum()) == int((raw["UnitPrice"].astype(float) == 0)
                                                     .sum())
    # both date forms: 12/06/2010 10:08 and 2/20/11 11:39 (London time, GMT in winter)
    by_id = orders.set_index("order_id").created_at
    assert by_id["537240"] == pd.Timestamp("2010-12-06 10:08", tz="UTC")
    assert by_id["544447"] == pd.Timestamp("2011-02-20 11:39", tz="UTC")
    assert set(orders.shipping_country.dropna()) >= {"GB", "IE", "DE", "FR"}
    assert validate_store(tmp_path)[1] == []
