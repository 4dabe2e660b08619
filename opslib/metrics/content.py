"""Product content: the product pages to improve this week, each with its reasons.

Rules (docs/metrics.md, "Weekly"). An active product (SKU) is listed when at least one
reason holds:

* many views, few orders in the window (opslib.metrics.funnel.many_views_few_orders);
* at least MIN_NOT_AS_DESCRIBED returns (2) with reason `not_as_described` requested in the
  SIGNAL_DAYS (28) days to D — a page that promises something the product is not;
* no description (has_description false) or no image (image_count 0), as the catalogue
  says now;
* at least MIN_PRODUCT_QUESTIONS (3) tickets of category `product_question` about the SKU
  opened in the SIGNAL_DAYS days to D — questions the page should answer.

Returns and questions are rare per product, so they are counted over four weeks: one
return does not put a product on the list, and a new problem shows within a week. The list
is ordered by the number of reasons, then by page views.
"""

from __future__ import annotations

import ibis
import pandas as pd
from ibis import _

from opslib.metrics.common import lookback, require
from opslib.metrics.funnel import many_views_few_orders, product_page_results
from opslib.store import Window, in_window

__all__ = ["SIGNAL_DAYS", "MIN_NOT_AS_DESCRIBED", "MIN_PRODUCT_QUESTIONS", "REASONS",
           "products_to_improve", "reason_counts"]

SIGNAL_DAYS = 28
MIN_NOT_AS_DESCRIBED = 2
MIN_PRODUCT_QUESTIONS = 3

_PRODUCT_COLUMNS = ("sku", "title", "category", "status", "has_description", "image_count")
# Reason flag column -> short label (the order the reasons are written in).
REASONS = {
    "is_many_views_few_orders": "many views, few orders",
    "is_not_as_described": "returns 'not as described'",
    "is_missing_description": "no description",
    "is_missing_image": "no image",
    "is_many_questions": "product questions",
}
_COLUMNS = ["sku", "title", "category", "reasons", "count_reasons", "views",
            "view_to_order_rate", "count_returns_not_as_described", "count_product_questions",
            "has_description", "image_count", *REASONS]


def _count_per_sku(rows: ibis.Table, name: str) -> pd.DataFrame:
    rows = rows.filter(rows.sku.notnull())
    return rows.group_by("sku").aggregate(**{name: _.count()}).to_pandas()


def products_to_improve(products: ibis.Table, *, window: Window,
                        product_views_daily: ibis.Table | None = None,
                        orders: ibis.Table | None = None,
                        order_lines: ibis.Table | None = None,
                        returns: ibis.Table | None = None,
                        tickets: ibis.Table | None = None,
                        inventory_snapshots: ibis.Table | None = None,
                        signal_days: int = SIGNAL_DAYS) -> pd.DataFrame:
    """Active products whose page needs work, with the reasons; the worst first.

    Tables other than `products` may be None (the store has no such data): their reason is
    then not checked. Views need product_views_daily, orders and order_lines together;
    with inventory_snapshots, a product out of stock on most days of the window is not
    listed for many views and few orders (opslib.metrics.funnel).
    Grain: SKU. Columns: sku, title, category, reasons (text), count_reasons, views,
    view_to_order_rate, count_returns_not_as_described, count_product_questions,
    has_description, image_count, and one boolean per reason (REASONS).
    """
    require(products, "products", _PRODUCT_COLUMNS)
    catalogue = products.filter(products.status == "active").select(*_PRODUCT_COLUMNS) \
        .to_pandas()
    signal = lookback(window, signal_days)
    frame = catalogue.assign(views=0, view_to_order_rate=float("nan"), is_low_converting=False,
                             store_view_to_order_rate=float("nan"))
    if product_views_daily is not None and orders is not None and order_lines is not None:
        pages = product_page_results(product_views_daily, orders, order_lines, window=window,
                                     inventory_snapshots=inventory_snapshots)
        low = many_views_few_orders(pages)
        frame = frame.drop(columns=["views", "view_to_order_rate"]).merge(
            pages[["sku", "views", "view_to_order_rate"]], on="sku", how="left")
        frame["views"] = frame.views.fillna(0)
        frame["is_low_converting"] = frame.sku.isin(low.sku)
        if len(low):
            frame["store_view_to_order_rate"] = float(low.store_view_to_order_rate.iloc[0])
    counts = {"count_returns_not_as_described": None, "count_product_questions": None}
    if returns is not None:
        require(returns, "returns", ("sku", "reason", "requested_at"))
        asked = returns.filter(in_window(returns.requested_at, signal)
                               & (returns.reason == "not_as_described"))
        counts["count_returns_not_as_described"] = _count_per_sku(
            asked, "count_returns_not_as_described")
    if tickets is not None:
        require(tickets, "tickets", ("sku", "category", "created_at"))
        asked = tickets.filter(in_window(tickets.created_at, signal)
                               & (tickets.category == "product_question"))
        counts["count_product_questions"] = _count_per_sku(asked, "count_product_questions")
    for name, per_sku in counts.items():
        if per_sku is None:
            frame[name] = 0
        else:
            frame = frame.merge(per_sku, on="sku", how="left")
            frame[name] = frame[name].fillna(0)
    frame = frame.astype({"views": "int64", "count_returns_not_as_described": "int64",
                          "count_product_questions": "int64", "image_count": "int64",
                          "has_description": "bool", "view_to_order_rate": "float64"})
    frame["is_many_views_few_orders"] = frame.is_low_converting.astype(bool)
    frame["is_not_as_described"] = frame.count_returns_not_as_described >= MIN_NOT_AS_DESCRIBED
    frame["is_missing_description"] = ~frame.has_description
    frame["is_missing_image"] = frame.image_count == 0
    frame["is_many_questions"] = frame.count_product_questions >= MIN_PRODUCT_QUESTIONS
    frame["count_reasons"] = frame[list(REASONS)].sum(axis=1).astype("int64")
    frame["reasons"] = [_reasons(row, signal_days) for row in frame.itertuples()]
    frame = frame[frame.count_reasons > 0]
    return frame.sort_values(["count_reasons", "views", "sku"],
                             ascending=[False, False, True])[_COLUMNS].reset_index(drop=True)


def _reasons(row, signal_days: int) -> str:
    reasons: list[str] = []
    if row.is_many_views_few_orders:
        reasons.append(f"many views, few orders ({row.views:,} views, "
                       f"{row.view_to_order_rate:.1%} to order vs "
                       f"{row.store_view_to_order_rate:.1%} for the shop)")
    if row.is_not_as_described:
        reasons.append(f"{row.count_returns_not_as_described} returns 'not as described' "
                       f"in {signal_days} days")
    if row.is_missing_description:
        reasons.append("no description")
    if row.is_missing_image:
        reasons.append("no image")
    if row.is_many_questions:
        reasons.append(f"{row.count_product_questions} product questions in {signal_days} days")
    return "; ".join(reasons)


def reason_counts(frame: pd.DataFrame) -> dict[str, int]:
    """How many listed products have each reason (labels from REASONS).

    >>> f = pd.DataFrame({flag: [True, False] for flag in REASONS})
    >>> reason_counts(f)["no image"]
    1
    """
    return {label: int(frame[flag].sum()) for flag, label in REASONS.items()}
