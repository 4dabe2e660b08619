"""Competitors and trends: their prices against ours, their price changes, our categories.

Rules (docs/metrics.md, "Weekly"):

* Price position: for each competitor and matched SKU, the latest price observed in the
  PRICE_LOOKBACK_DAYS days to D, against our current price (products.price; the contract
  keeps no price history). The competitor is `cheaper` when its price is more than
  PRICE_TOLERANCE_RATE (2%) of our price below ours, `dearer` when more than 2% above, else
  `same` — so £19.99 against £20.00 is the same price, and a 2% gap is within rounding of
  a promotion or a .99 ending. price_gap_rate = (their price − ours) ÷ ours.
* Price changes seen in the window: every pair of consecutive observations of a competitor
  and SKU (within PRICE_LOOKBACK_DAYS) whose later one falls in the window and whose price
  differs by at least a cent.
* Category trend: gross sales per category in the window against the weekly average of
  the four weeks before it (the previous 28 days ÷ 4). growing when the change is at least
  +TREND_THRESHOLD_RATE (15%), shrinking at −15% or worse, steady between; a category that
  sold nothing in the previous four weeks is `new`. Orders are counted as in daily sales
  (opslib.metrics.sales.counted_lines), so the week's figure is the sum of its days.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd

from opslib.metrics.common import lookback, require, series_ratio
from opslib.metrics.sales import counted_lines
from opslib.store import Window, in_window

__all__ = ["PRICE_LOOKBACK_DAYS", "PRICE_TOLERANCE_RATE", "TREND_THRESHOLD_RATE",
           "TREND_WEEKS", "UNKNOWN_CATEGORY", "position_of", "trend_of", "price_position",
           "position_summary", "price_changes", "category_trends"]

PRICE_LOOKBACK_DAYS = 28
PRICE_TOLERANCE_RATE = 0.02
TREND_THRESHOLD_RATE = 0.15
TREND_WEEKS = 4
UNKNOWN_CATEGORY = "(not in the catalogue)"

_PRICE_COLUMNS = ("observed_date", "competitor", "sku", "price", "note")
_PRODUCT_COLUMNS = ("sku", "title", "category", "price")
_POSITIONS = ("cheaper", "same", "dearer")


def _observations(competitor_prices: ibis.Table, window: Window) -> ibis.Table:
    require(competitor_prices, "competitor_prices", _PRICE_COLUMNS)
    span = lookback(window, PRICE_LOOKBACK_DAYS + window.days - 1)
    return competitor_prices.filter(in_window(competitor_prices.observed_date, span))


def _catalogue(products: ibis.Table) -> ibis.Table:
    require(products, "products", _PRODUCT_COLUMNS)
    return products.select("sku", "title", "category", our_price=products.price)


def position_of(gap_rate: float | None, *, tolerance: float = PRICE_TOLERANCE_RATE) -> str | None:
    """cheaper / same / dearer for a competitor whose price is `gap_rate` away from ours.

    >>> position_of(-0.05), position_of(-0.02), position_of(0.019), position_of(0.1)
    ('cheaper', 'same', 'same', 'dearer')
    """
    if gap_rate is None or pd.isna(gap_rate):
        return None
    if gap_rate < -tolerance:
        return "cheaper"
    if gap_rate > tolerance:
        return "dearer"
    return "same"


def price_position(competitor_prices: ibis.Table, products: ibis.Table, *, as_of: Window,
                   tolerance: float = PRICE_TOLERANCE_RATE) -> pd.DataFrame:
    """Each competitor's latest price per matched SKU against ours, biggest undercut first.

    Grain: competitor × SKU seen in the PRICE_LOOKBACK_DAYS days to D. Columns: sku, title,
    category, competitor, observed_date, competitor_price, our_price, price_gap_amount
    (theirs − ours), price_gap_rate (÷ ours), competitor_is (cheaper / same / dearer; empty
    when the SKU is not in our catalogue or has no price), note.
    """
    rows = _observations(competitor_prices, lookback(as_of, 1))
    latest = rows.mutate(rank=ibis.row_number().over(
        group_by=[rows.competitor, rows.sku], order_by=ibis.desc(rows.observed_date)))
    latest = latest.filter(latest["rank"] == 0)
    joined = latest.left_join(_catalogue(products), "sku")
    frame = joined.select(
        "sku", "title", "category", "competitor", "observed_date",
        competitor_price=joined.price, our_price=joined.our_price, note=joined.note,
    ).to_pandas()
    frame = frame.astype({"competitor_price": "float64", "our_price": "float64"})
    frame["observed_date"] = pd.to_datetime(frame.observed_date)
    frame["price_gap_amount"] = frame.competitor_price - frame.our_price
    frame["price_gap_rate"] = series_ratio(frame.price_gap_amount, frame.our_price)
    frame["competitor_is"] = [position_of(rate, tolerance=tolerance)
                              for rate in frame.price_gap_rate]
    columns = ["sku", "title", "category", "competitor", "observed_date", "competitor_price",
               "our_price", "price_gap_amount", "price_gap_rate", "competitor_is", "note"]
    return frame[columns].sort_values(["price_gap_rate", "sku", "competitor"],
                                      na_position="last").reset_index(drop=True)


def position_summary(position: pd.DataFrame) -> pd.DataFrame:
    """Per competitor: how many matched SKUs are cheaper, the same and dearer there.

    Grain: competitor. Columns: competitor, count_skus, count_cheaper, count_same,
    count_dearer, median_price_gap_rate.

    >>> p = pd.DataFrame({"competitor": ["A", "A", "B"], "competitor_is": ["cheaper", "same",
    ...     "dearer"], "price_gap_rate": [-0.1, 0.0, 0.2]})
    >>> row = position_summary(p).iloc[0]
    >>> row.competitor, int(row.count_cheaper), int(row.count_same), float(row.median_price_gap_rate)
    ('A', 1, 1, -0.05)
    """
    rows = []
    for competitor, group in position.groupby("competitor", sort=True):
        row = {"competitor": competitor, "count_skus": int(len(group))}
        for name in _POSITIONS:
            row[f"count_{name}"] = int((group.competitor_is == name).sum())
        row["median_price_gap_rate"] = float(group.price_gap_rate.median()) \
            if group.price_gap_rate.notna().any() else float("nan")
        rows.append(row)
    columns = ["competitor", "count_skus", *[f"count_{n}" for n in _POSITIONS],
               "median_price_gap_rate"]
    return pd.DataFrame(rows, columns=columns)


def price_changes(competitor_prices: ibis.Table, products: ibis.Table, *,
                  window: Window) -> pd.DataFrame:
    """Competitor price changes observed in the window, biggest cuts first.

    Grain: observation that changed a price. Columns: competitor, sku, title,
    previous_date, previous_price, observed_date, competitor_price, price_change_amount,
    price_change_rate (÷ previous price), our_price, note.
    """
    rows = _observations(competitor_prices, window)
    ordered = rows.mutate(
        previous_price=rows.price.lag().over(group_by=[rows.competitor, rows.sku],
                                             order_by=rows.observed_date),
        previous_date=rows.observed_date.lag().over(group_by=[rows.competitor, rows.sku],
                                                    order_by=rows.observed_date))
    changed = ordered.filter(in_window(ordered.observed_date, window)
                             & ordered.previous_price.notnull()
                             & ((ordered.price - ordered.previous_price).abs() >= 0.005))
    joined = changed.left_join(_catalogue(products), "sku")
    frame = joined.select(
        "competitor", "sku", "title", "previous_date", "previous_price", "observed_date",
        competitor_price=joined.price, our_price=joined.our_price, note=joined.note,
    ).to_pandas()
    frame = frame.astype({"previous_price": "float64", "competitor_price": "float64",
                          "our_price": "float64"})
    for column in ("previous_date", "observed_date"):
        frame[column] = pd.to_datetime(frame[column])
    frame["price_change_amount"] = frame.competitor_price - frame.previous_price
    frame["price_change_rate"] = series_ratio(frame.price_change_amount, frame.previous_price)
    columns = ["competitor", "sku", "title", "previous_date", "previous_price",
               "observed_date", "competitor_price", "price_change_amount",
               "price_change_rate", "our_price", "note"]
    return frame[columns].sort_values(["price_change_rate", "competitor", "sku",
                                       "observed_date"]).reset_index(drop=True)


def trend_of(change_rate: float | None, *, threshold: float = TREND_THRESHOLD_RATE) -> str:
    """growing / steady / shrinking for a change against the previous weeks' average.

    >>> [trend_of(r) for r in (0.15, 0.149, -0.2, None)]
    ['growing', 'steady', 'shrinking', 'new']
    """
    if change_rate is None or pd.isna(change_rate):
        return "new"
    if change_rate >= threshold:
        return "growing"
    if change_rate <= -threshold:
        return "shrinking"
    return "steady"


def _by_category(orders: ibis.Table, order_lines: ibis.Table, products: ibis.Table,
                 window: Window) -> ibis.Table:
    lines = counted_lines(orders, order_lines, window=window)
    catalogue = _catalogue(products).select("sku", "category")
    joined = lines.left_join(catalogue, lines.sku == catalogue.sku)
    return joined.group_by(category=ibis.coalesce(joined.category, UNKNOWN_CATEGORY)).aggregate(
        gross_sales=joined.line_gross.sum(), quantity_sold=joined.quantity.sum())


def category_trends(orders: ibis.Table, order_lines: ibis.Table, products: ibis.Table, *,
                    window: Window, weeks: int = TREND_WEEKS,
                    threshold: float = TREND_THRESHOLD_RATE) -> pd.DataFrame:
    """Gross sales per category in the window against the average of the weeks before.

    Grain: category (every category that sold in either period; lines whose SKU is not in
    the catalogue form the UNKNOWN_CATEGORY row). Columns: category, gross_sales,
    quantity_sold, gross_sales_weekly_avg_prev (the `weeks` × window length before,
    ÷ weeks), quantity_sold_weekly_avg_prev, change_rate, trend. Biggest growth first.
    """
    before = Window.of(window.start - dt.timedelta(days=window.days * weeks),
                       window.start - dt.timedelta(days=1), zone=window.zone)
    now = _by_category(orders, order_lines, products, window).to_pandas()
    prev = _by_category(orders, order_lines, products, before).to_pandas().rename(
        columns={"gross_sales": "gross_sales_prev", "quantity_sold": "quantity_sold_prev"})
    frame = now.merge(prev, on="category", how="outer")
    for column in ("gross_sales", "gross_sales_prev"):
        frame[column] = frame[column].fillna(0).astype("float64")
    for column in ("quantity_sold", "quantity_sold_prev"):
        frame[column] = frame[column].fillna(0).astype("int64")
    frame["gross_sales_weekly_avg_prev"] = frame.gross_sales_prev / weeks
    frame["quantity_sold_weekly_avg_prev"] = frame.quantity_sold_prev / weeks
    frame["change_rate"] = series_ratio(frame.gross_sales, frame.gross_sales_weekly_avg_prev) - 1
    frame["trend"] = [trend_of(rate, threshold=threshold) for rate in frame.change_rate]
    columns = ["category", "gross_sales", "quantity_sold", "gross_sales_weekly_avg_prev",
               "quantity_sold_weekly_avg_prev", "change_rate", "trend"]
    return frame[columns].sort_values(["change_rate", "category"], ascending=[False, True],
                                      na_position="first").reset_index(drop=True)
