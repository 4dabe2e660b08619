"""Writing canonical orders back out as a Shopify orders export (for tests and benchmarks).

The file has Shopify's own shape: one row per line item, the order's fields on its first
row only, times with the store's UTC offset. Importing it with `shopify-orders` gives the
same orders, lines and refunds back (tests/ingest/test_export.py checks the round trip).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["export_shopify_orders", "SHOPIFY_ORDER_COLUMNS"]

SHOPIFY_ORDER_COLUMNS = [
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code",
    "Discount Amount", "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name",
    "Lineitem price", "Lineitem compare at price", "Lineitem sku", "Lineitem requires shipping",
    "Lineitem taxable", "Lineitem fulfillment status", "Billing Name", "Billing City",
    "Billing Zip", "Billing Country", "Shipping City", "Shipping Zip", "Shipping Country",
    "Cancelled at", "Payment Method", "Refunded Amount", "Vendor", "Id", "Source",
    "Lineitem discount",
]
_ORDER_ONLY = {"Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
               "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total",
               "Discount Code", "Discount Amount", "Shipping Method", "Billing Name",
               "Billing City", "Billing Zip", "Billing Country", "Shipping City",
               "Shipping Zip", "Shipping Country", "Cancelled at", "Payment Method",
               "Refunded Amount", "Id", "Source"}
_CHANNEL_SOURCE = {"online_store": "web", "pos": "pos", "draft_order": "shopify_draft_order",
                   "mobile_app": "iphone"}


def _frame(tables, name: str) -> pd.DataFrame | None:
    if isinstance(tables, dict):
        return tables.get(name)
    if not tables.has(name):
        return None
    return tables.table(name).to_pandas()


def _stamp(values: pd.Series, zone: str) -> pd.Series:
    local = pd.to_datetime(values, utc=True).dt.tz_convert(zone)
    return local.dt.strftime("%Y-%m-%d %H:%M:%S %z").fillna("")


def _money(values: pd.Series) -> pd.Series:
    return values.astype("float64").map(lambda v: "" if pd.isna(v) else f"{v:.2f}")


def export_shopify_orders(store_or_tables, path: str | Path, *,
                          zone: str | None = None) -> Path:
    """Write the orders of a Store (or a dict of canonical frames) as a Shopify orders CSV.

    Needs orders and order_lines; returns (refunded amounts), shipments (fulfilment dates),
    products (names of lines without a title, vendors) and customers (names) are used when
    present.
    """
    orders = _frame(store_or_tables, "orders")
    lines = _frame(store_or_tables, "order_lines")
    if orders is None or lines is None:
        raise ValueError("export_shopify_orders needs the orders and order_lines tables")
    zone = zone or getattr(getattr(store_or_tables, "settings", None), "store", None) and \
        store_or_tables.settings.store.timezone or "UTC"
    returns = _frame(store_or_tables, "returns")
    shipments = _frame(store_or_tables, "shipments")
    products = _frame(store_or_tables, "products")
    customers = _frame(store_or_tables, "customers")
    o = orders.set_index("order_id")
    refunded = returns.groupby("order_id").refund_amount.sum() if returns is not None \
        else pd.Series(dtype="float64")
    fulfilled = shipments.groupby("order_id").shipped_at.min() if shipments is not None \
        else pd.Series(dtype="datetime64[us, UTC]")
    method = shipments.groupby("order_id").service.first() if shipments is not None \
        else pd.Series(dtype="object")
    names = customers.set_index("customer_id").name if customers is not None \
        else pd.Series(dtype="object")
    lines = lines.sort_values(["created_at", "order_id", "line_number"])
    if "title" not in lines:  # frames of a store written before lines had titles
        lines = lines.assign(title=None)
    oid = lines.order_id
    first = ~oid.duplicated()
    title = products.set_index("sku").title if products is not None else pd.Series(dtype=object)
    vendor = products.set_index("sku").vendor if products is not None else pd.Series(dtype=object)
    out = pd.DataFrame({
        "Name": oid.map(o.order_number),
        "Email": oid.map(o.email).fillna(""),
        "Financial Status": oid.map(o.financial_status),
        "Paid at": _stamp(oid.map(o.created_at), zone),
        "Fulfillment Status": oid.map(o.fulfillment_status),
        "Fulfilled at": _stamp(oid.map(fulfilled), zone),
        "Accepts Marketing": "no",
        "Currency": oid.map(o.currency),
        "Subtotal": _money(oid.map(o.subtotal - o.discount_amount)),
        "Shipping": _money(oid.map(o.shipping_amount)),
        "Taxes": _money(oid.map(o.tax_amount)),
        "Total": _money(oid.map(o.total_amount)),
        "Discount Code": oid.map(o.discount_code).fillna(""),
        "Discount Amount": _money(oid.map(o.discount_amount)),
        "Shipping Method": oid.map(method).fillna(""),
        "Created at": _stamp(lines.created_at, zone),
        "Lineitem quantity": lines.quantity.astype("int64").astype(str),
        "Lineitem name": lines.title.fillna(lines.sku.map(title)).fillna(lines.sku)
        .fillna("Custom item"),
        "Lineitem price": _money(lines.unit_price),
        "Lineitem compare at price": "",
        "Lineitem sku": lines.sku.fillna(""),
        "Lineitem requires shipping": "true",
        "Lineitem taxable": "true",
        "Lineitem fulfillment status": oid.map(o.fulfillment_status).map(
            {"fulfilled": "fulfilled"}).fillna("pending"),
        "Billing Name": oid.map(o.customer_id).map(names).fillna(""),
        "Billing City": "",
        "Billing Zip": "",
        "Billing Country": oid.map(o.shipping_country).fillna(""),
        "Shipping City": "",
        "Shipping Zip": "",
        "Shipping Country": oid.map(o.shipping_country).fillna(""),
        "Cancelled at": _stamp(oid.map(o.cancelled_at), zone),
        "Payment Method": oid.map(o.payment_method).fillna(""),
        "Refunded Amount": _money(oid.map(refunded).fillna(0.0)),
        "Vendor": lines.sku.map(vendor).fillna(""),
        "Id": oid,
        "Source": oid.map(o.channel).map(lambda c: _CHANNEL_SOURCE.get(c, c)),
        "Lineitem discount": _money(lines.discount_amount),
    })
    for column in _ORDER_ONLY:
        out[column] = out[column].where(first.to_numpy(), "")
    path = Path(path)
    out[SHOPIFY_ORDER_COLUMNS].to_csv(path, index=False, encoding="utf-8")
    return path
