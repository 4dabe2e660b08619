"""Product content: which product pages should we improve this week, and why?"""

from __future__ import annotations

from opslib import display as show
from opslib.metrics import content, funnel
from opslib.store import Store, Window
from opslib.views.base import section
from opslib.views.weekly import common, data

__all__ = ["LIST_ROWS", "to_improve", "summary"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("products", "orders", "order_lines", "returns", "tickets", "product_views_daily",
         "inventory_snapshots")

LIST_ROWS = 15  # a short list: the products with the most reasons first
_UNITS = {"count_reasons": "count", "views": "count", "view_to_order_rate": "rate",
          "count_returns_not_as_described": "count", "count_product_questions": "count",
          "image_count": "count"}


@section("Products to improve this week")
def to_improve(store: Store, week: Window) -> list:
    """Active products with a weak page, the most reasons first, then the most viewed."""
    frame = data.products_to_improve(store, week)
    absent = [t for t in ("product_views_daily", "returns", "tickets") if not store.has(t)]
    shown = frame.drop(columns=list(content.REASONS))
    pages = data.product_pages(store, week) if "product_views_daily" not in absent else None
    return [common.table(store, shown, units=_UNITS, limit=LIST_ROWS,
                         empty="No product page needs work this week."),
            *common.out_of_stock_note(pages, week),
            *[show.no_data(t, section="Products to improve") for t in absent]]


@section("How the list is made")
def summary(store: Store, week: Window) -> list:
    """The rules behind the list, with the products per reason this week and last week."""
    counts = content.reason_counts(data.products_to_improve(store, week))
    before = content.reason_counts(data.products_to_improve(store, data.week_before(week)))
    days = content.SIGNAL_DAYS
    return [common.tiles(store, [show.Tile(label, float(n), "count", float(before[label]),
                                           "last week")
                                 for label, n in counts.items()]),
            show.note(f"Many views, few orders: among the week's most viewed pages (at least "
                      f"{funnel.MIN_VIEWS} views) with under {funnel.LOW_CONVERSION_FACTOR:.0%} "
                      f"of the shop's view-to-order rate. Returns: at least "
                      f"{content.MIN_NOT_AS_DESCRIBED} 'not as described' in {days} days. "
                      f"Questions: at least {content.MIN_PRODUCT_QUESTIONS} product questions "
                      f"in {days} days. Description and images: as the catalogue is now.")]
