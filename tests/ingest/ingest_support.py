"""Helpers of the import tests: the real-data folder and hand-made Shopify exports."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"


def need_realdata(folder: str) -> Path:
    """The real-data folder; fails under CI when absent, skips on a plain local run."""
    path = REALDATA / folder
    if not path.is_dir():
        message = f"real data folder {path} is missing"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must have ../shared/realdata)")
        pytest.skip(message)
    return path


def usd_settings_file(folder: Path) -> str:
    """A playbook.toml for a US store in `folder`, for commands run with --settings."""
    path = folder / "playbook.toml"
    path.write_text('[store]\ntimezone = "America/New_York"\ncurrency = "USD"\n',
                    encoding="utf-8")
    return str(path)


SHOPIFY_ORDER_HEADER = [
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code",
    "Discount Amount", "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name",
    "Lineitem price", "Lineitem sku", "Lineitem discount", "Billing Name", "Billing City",
    "Billing Zip", "Billing Country", "Shipping Zip", "Shipping Country", "Cancelled at",
    "Payment Method", "Refunded Amount", "Vendor", "Id", "Source", "Phone",
]
_ORDER_FIELDS = {"Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
                 "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total",
                 "Discount Code", "Discount Amount", "Shipping Method", "Billing Name",
                 "Billing City", "Billing Zip", "Billing Country", "Shipping Zip",
                 "Shipping Country", "Cancelled at", "Payment Method", "Refunded Amount", "Id",
                 "Source", "Phone"}


def shopify_order(name: str, order_id: str, created: str, lines: list[tuple], **fields) -> dict:
    """One order for `write_shopify_orders`: lines are (sku, quantity, price)."""
    gross = sum(float(q) * float(p) for _, q, p in lines)
    base = {"Name": name, "Id": order_id, "Email": f"{name.strip('#')}@example.invalid",
            "Financial Status": "paid", "Fulfillment Status": "unfulfilled",
            "Accepts Marketing": "no", "Currency": "USD", "Subtotal": f"{gross:.2f}",
            "Shipping": "5.00", "Taxes": "0.00", "Total": f"{gross + 5:.2f}",
            "Discount Amount": "0.00", "Shipping Method": "Standard", "Created at": created,
            "Billing Name": "Person A", "Billing City": "Boston", "Billing Country": "US",
            "Shipping Country": "US", "Payment Method": "Stripe", "Refunded Amount": "0.00",
            "Source": "web"}
    base.update(fields)
    return {"fields": base, "lines": lines}


def write_shopify_orders(path: Path, orders: list[dict], *, repeat_order_fields: bool = False,
                         header: list[str] | None = None, encoding: str = "utf-8") -> Path:
    """A Shopify orders export: one row per line item, order fields on the first row only
    (as Shopify writes it) or on every row (as some third-party exporters do)."""
    header = header or SHOPIFY_ORDER_HEADER
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for order in orders:
            for index, (sku, quantity, price) in enumerate(order["lines"]):
                row = dict(order["fields"])
                if index and not repeat_order_fields:
                    row = {k: ("" if k in _ORDER_FIELDS else v) for k, v in row.items()}
                row.update({"Lineitem quantity": str(quantity), "Lineitem price": str(price),
                            "Lineitem sku": sku, "Lineitem name": f"Item {sku}",
                            "Lineitem discount": "0.00", "Vendor": "Acme"})
                writer.writerow([row.get(column, "") for column in header])
    return path
