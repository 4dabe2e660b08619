"""Stock watch: bestsellers running low, stock-outs and what they cost, stock on its way."""

from __future__ import annotations

import datetime as dt

import altair as alt

from opslib import charts
from opslib import display as show
from opslib.store import Store
from opslib.views.base import section
from opslib.views.daily import data
from opslib.views.daily.common import table, tiles

__all__ = ["summary", "bestsellers", "stock_outs", "incoming", "figures"]

_RED = "#c62828"  # the red of flagged table rows
# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("products", "orders", "order_lines", "inventory_snapshots", "purchase_orders")


@section("Stock at a glance")
def summary(store: Store, day: dt.date) -> list:
    """Tiles: SKUs out of stock, sales lost a day, bestsellers low on cover, POs due."""
    empty = data.out_of_stock(store, day)
    cover = data.stock_cover(store, day)
    items = [
        show.Tile("SKUs out of stock", float(len(empty)), "count"),
        show.Tile("Bestsellers out of stock", float(empty.is_bestseller.sum()), "count"),
        show.Tile("Sales lost a day", float(empty.lost_revenue_per_day.sum()), "money"),
        show.Tile(f"Bestsellers under {store.settings.stock.low_cover_days} days of cover",
                  float(cover.is_low_cover.sum()), "count"),
    ]
    if store.has("purchase_orders"):
        incoming = data.incoming_purchase_orders(store, day)
        items.append(show.Tile(f"PO lines due in {data.PO_HORIZON_DAYS} days or late",
                               float(len(incoming)), "count"))
    return [tiles(store, items)]


@section("Bestsellers and their days of cover")
def bestsellers(store: Store, day: dt.date) -> list:
    """The top sellers of the last 28 days; red = out of stock or under the cover threshold."""
    cover = data.stock_cover(store, day)
    rules = store.settings.stock
    if cover.empty:
        return [show.note("Nothing sold in the last 28 days.")]
    cover = cover.assign(needs_stock=cover.is_out_of_stock | cover.is_low_cover)
    return [table(store, cover, highlight="needs_stock",
                  units={"quantity_sold_rolling_28d": "count", "velocity": "number",
                         "available": "count", "incoming": "count", "days_of_cover": "days"}),
            _cover_chart(cover, title=f"Days of cover of the top {rules.bestseller_count} "
                                      f"sellers")]


def _cover_chart(cover, *, title: str) -> charts.Chart:
    """Bars of days of cover, red where the table is red; an out-of-stock SKU, whose bar
    has no length, is labelled "out of stock" at zero."""
    shown = cover.dropna(subset=["days_of_cover"]).assign(
        stock=lambda f: f.needs_stock.map({True: "needs stock", False: "enough cover"}),
        label=lambda f: f.is_out_of_stock.map({True: "out of stock", False: ""}))
    drawn = charts.bar(shown, x="sku", y="days_of_cover", horizontal=True, y_unit="days",
                       height=max(120, 14 * len(shown)), title=title)
    # A layer takes the chart-level settings (title, size, padding) on the whole.
    outer = {key: drawn.altair[key] for key in ("title", "width", "height", "padding")
             if drawn.altair[key] is not alt.Undefined}
    base = drawn.altair.copy(deep=True)
    for key in outer:
        base[key] = alt.Undefined
    # Layers cannot share a sort by value: give the bars' order as a list.
    base.encoding.y.sort = base.data.sort_values(
        ["days_of_cover", "sku"], ascending=[False, True]).sku.tolist()
    bars = base.encode(color=alt.Color(
        "stock:N", title=None, scale=alt.Scale(domain=["needs stock", "enough cover"],
                                               range=[_RED, charts.PALETTE[0]])))
    labels = base.mark_text(align="left", dx=4, color=_RED).encode(text="label:N")
    return charts.to_display(alt.layer(bars, labels).properties(**outer),
                             getattr(drawn, "description", ""))


@section("Out of stock")
def stock_outs(store: Store, day: dt.date) -> list:
    """Active SKUs out of stock, the sales each loses a day; bestsellers in red."""
    return [table(store, data.out_of_stock(store, day), highlight="is_bestseller",
                  units={"price": "money", "available": "count", "incoming": "count",
                         "velocity": "number", "lost_revenue_per_day": "money",
                         "last_in_stock_date": "date"},
                  empty="Every active SKU is in stock.")]


@section("Purchase orders arriving soon")
def incoming(store: Store, day: dt.date) -> list:
    """Open purchase-order lines due in the next two weeks, or late (in red)."""
    return [table(store, data.incoming_purchase_orders(store, day), highlight="is_overdue",
                  units={"quantity": "count", "expected_date": "date",
                         "days_until_expected": "count"},
                  empty=f"No purchase order is due in the next {data.PO_HORIZON_DAYS} days.")]


def figures(store: Store, day: dt.date) -> dict[str, float | None]:
    """count_skus_out_of_stock and count_skus_low_cover (None without stock data)."""
    needed = ("orders", "order_lines", "inventory_snapshots", "products")
    if not all(store.has(t) for t in needed):
        return {"count_skus_out_of_stock": None, "count_skus_low_cover": None}
    return {"count_skus_out_of_stock": float(len(data.out_of_stock(store, day))),
            "count_skus_low_cover": float(data.stock_cover(store, day).is_low_cover.sum())}
