"""A tiny store with product page views and orders, shared by the funnel and content tests."""

from __future__ import annotations

from collections.abc import Callable

from handbuilt import at

from opslib.store import Store


def pages_store(tiny_store: Callable[..., Store], **extra: list[dict]) -> Store:
    """Views in the week: A 200 + 200 = 400 (20 carts), B 300, C 100, D 60, E 0; F only on
    9 Jun. Counted orders containing: A 1 (a second, cancelled the same day, does not count),
    B 12, C 4, D 3 — 20 orders over 860 views. `extra` adds (or replaces) tables."""
    views = [{"date_day": "2025-06-02", "sku": "A", "views": 200, "add_to_carts": 10},
             {"date_day": "2025-06-03", "sku": "A", "views": 200, "add_to_carts": 10},
             {"date_day": "2025-06-04", "sku": "B", "views": 300, "add_to_carts": 30},
             {"date_day": "2025-06-04", "sku": "C", "views": 100, "add_to_carts": 9},
             {"date_day": "2025-06-05", "sku": "D", "views": 60, "add_to_carts": 6},
             {"date_day": "2025-06-05", "sku": "E", "views": 0, "add_to_carts": 0},
             {"date_day": "2025-06-09", "sku": "F", "views": 900, "add_to_carts": 0}]
    orders, lines = [], []
    sold = ["A"] + ["B"] * 12 + ["C"] * 4 + ["D"] * 3
    for number, sku in enumerate(sold + ["A"]):
        order_id = f"o{number}"
        cancelled = at("2025-06-04 12:00") if number == len(sold) else None
        orders.append({"order_id": order_id, "order_number": f"#{number}",
                       "created_at": at("2025-06-04 10:00"), "cancelled_at": cancelled})
        lines.append({"order_id": order_id, "line_number": 1, "sku": sku, "quantity": 2,
                      "unit_price": 5.0, "created_at": at("2025-06-04 10:00")})
    products = [{"sku": s, "title": f"Product {s}"} for s in "ABCDEF"]
    return tiny_store({"product_views_daily": views, "orders": orders, "order_lines": lines,
                       "products": products, **extra})
