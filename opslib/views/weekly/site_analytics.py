"""Site analytics: where did visitors come from, where did they drop out, what did not sell?"""

from __future__ import annotations

from opslib import charts, glossary
from opslib import display as show
from opslib.metrics import funnel, web
from opslib.store import Store, Window
from opslib.views.base import section
from opslib.views.weekly import common, data

__all__ = ["ROWS", "week_figures", "headline", "sources", "funnel_steps", "product_pages",
           "figures"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("products", "orders", "order_lines", "returns", "web_traffic_daily",
         "product_views_daily", "ad_spend_daily", "inventory_snapshots")

ROWS = glossary.rows(
    "count_sessions", "bounce_rate", "add_to_cart_rate", "checkout_rate", "site_order_rate",
    "conversion_rate",
)


def week_figures(store: Store, window: Window) -> dict[str, float | None]:
    """Sessions, bounce and funnel rates for any window (conversion needs orders)."""
    totals = data.site_week(store, window)
    sessions = totals["count_sessions"]
    orders = None
    if store.has("orders") and store.has("order_lines"):
        orders = data.kpi_week(store, window)["count_orders"]
    return {"count_sessions": sessions, "bounce_rate": totals["bounce_rate"],
            "add_to_cart_rate": web.conversion_rate(totals["add_to_cart_sessions"], sessions),
            "checkout_rate": web.conversion_rate(totals["checkout_sessions"], sessions),
            "site_order_rate": web.conversion_rate(totals["orders"], sessions),
            "conversion_rate": web.conversion_rate(orders, sessions)}


@section("The week against the week before")
def headline(store: Store, week: Window) -> list:
    """Sessions, bounce rate and the funnel rates against last week and last year."""
    return common.comparison(store, week, ROWS, week_figures, history="web_traffic_daily")


_SOURCE_UNITS = {"count_sessions": "count", "session_share": "rate", "bounce_rate": "rate",
                 "add_to_cart_rate": "rate", "checkout_rate": "rate", "orders": "count",
                 "order_rate": "rate"}


@section("Sessions by source and medium")
def sources(store: Store, week: Window) -> list:
    frame = data.traffic_by_source(store, week)
    return [common.table(store, frame, units=_SOURCE_UNITS, empty="No sessions this week.")]


@section("The funnel")
def funnel_steps(store: Store, week: Window) -> list:
    """Sessions → added to cart → reached checkout → ordered, with the rate at each step."""
    steps = funnel.funnel_steps(data.site_week(store, week))
    return [common.table(store, steps, units={"count_sessions": "count", "step_rate": "rate",
                                              "rate_of_sessions": "rate"}),
            charts.bar(steps, x="step", y="count_sessions", y_unit="count",
                       title="Sessions reaching each step", height=160),
            show.note("Step rate = ÷ the step before. The last step counts the orders the "
                      "analytics tool tied to a session; the conversion rate above divides "
                      "all the shop's orders by sessions.")]


_PAGE_UNITS = {"views": "count", "add_to_carts": "count", "count_orders": "count",
               "days_out_of_stock": "count",
               "quantity_sold": "count", "add_to_cart_rate": "rate",
               "view_to_order_rate": "rate", "store_view_to_order_rate": "rate"}


@section("Products with many views and few orders")
def product_pages(store: Store, week: Window) -> list:
    """Pages among the most viewed whose views turn into orders at under half the shop's rate."""
    pages = data.product_pages(store, week)
    low = funnel.many_views_few_orders(pages).drop(columns="is_mostly_out_of_stock")
    return [common.table(store, low, units=_PAGE_UNITS,
                         empty="No much-viewed product page sold at under half the shop's "
                               "rate this week."),
            show.note(f"Many views: at least the {funnel.HIGH_VIEWS_QUANTILE:.0%} quantile of "
                      f"the week's product views and at least {funnel.MIN_VIEWS} views; few "
                      f"orders: under {funnel.LOW_CONVERSION_FACTOR:.0%} of the shop's "
                      f"view-to-order rate."),
            *common.out_of_stock_note(pages, week)]


def figures(store: Store, week: Window) -> dict[str, float | None]:
    """count_sessions with its _prev_week twin."""
    return common.figures(store, week, ["count_sessions"], week_figures)
