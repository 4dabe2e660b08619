"""Competitors and trends: are we priced right, what did competitors change, what is moving?"""

from __future__ import annotations

from opslib import charts
from opslib import display as show
from opslib.metrics import competitors
from opslib.store import Store, Window
from opslib.views.base import section
from opslib.views.weekly import common, data

__all__ = ["price_position", "price_changes", "category_trends"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("products", "orders", "order_lines", "competitor_prices")

_PRICE_UNITS = {"competitor_price": "money", "our_price": "money", "price_gap_amount": "money",
                "price_gap_rate": "rate", "observed_date": "date", "previous_date": "date",
                "previous_price": "money", "price_change_amount": "money",
                "price_change_rate": "rate"}
_SUMMARY_UNITS = {"count_skus": "count", "count_cheaper": "count", "count_same": "count",
                  "count_dearer": "count", "median_price_gap_rate": "rate"}


@section("Competitor prices against ours")
def price_position(store: Store, week: Window) -> list:
    """Matched products where competitors are cheaper / the same / dearer, against a week
    before; per competitor; then each product, where the competitor undercuts us most first."""
    position = data.price_position(store, week)
    before = data.price_position(store, data.week_before(week))
    tolerance = competitors.PRICE_TOLERANCE_RATE
    labels = {"cheaper": "Competitor cheaper", "same": "Same price", "dearer": "Competitor dearer"}
    counts = [show.Tile(label, float((position.competitor_is == kind).sum()), "count",
                        float((before.competitor_is == kind).sum()), "a week before")
              for kind, label in labels.items()]
    return [common.tiles(store, counts),
            common.table(store, competitors.position_summary(position), units=_SUMMARY_UNITS,
                         title="By competitor",
                         empty=f"No competitor price seen in the "
                               f"{competitors.PRICE_LOOKBACK_DAYS} days to {week.end}."),
            common.table(store, position, units=_PRICE_UNITS, title="By product",
                         empty="No matched product."),
            show.note(f"Latest price seen in the {competitors.PRICE_LOOKBACK_DAYS} days to "
                      f"{week.end} against our current price. 'Same' means within "
                      f"±{tolerance:.0%} of our price.")]


@section("Price changes seen this week")
def price_changes(store: Store, week: Window) -> list:
    """Every competitor price that changed since its previous observation, biggest cuts first."""
    return [common.table(store, data.price_changes(store, week), units=_PRICE_UNITS,
                         empty="No competitor changed a price this week.")]


_TREND_UNITS = {"gross_sales": "money", "quantity_sold": "count",
                "gross_sales_weekly_avg_prev": "money", "quantity_sold_weekly_avg_prev": "number",
                "change_rate": "rate"}


@section("Categories growing or shrinking")
def category_trends(store: Store, week: Window) -> list:
    """Gross sales per category this week against the weekly average of the four before."""
    frame = data.category_trends(store, week)
    threshold = competitors.TREND_THRESHOLD_RATE
    shown = frame.dropna(subset=["change_rate"])
    parts = [common.table(store, frame, units=_TREND_UNITS,
                          empty="No sales this week or in the four weeks before.")]
    if len(shown):
        parts.append(charts.bar(shown, x="category", y="change_rate", horizontal=True,
                                y_unit="rate", title="Change against the four-week average",
                                height=24 * len(shown)))
    parts.append(show.note(f"Growing: +{threshold:.0%} or more against the average week of the "
                           f"previous {competitors.TREND_WEEKS} weeks; shrinking: "
                           f"−{threshold:.0%} or worse."))
    return parts
