"""Service follow-up: which customers are still waiting, who to call, and were they happy?"""

from __future__ import annotations

from opslib import charts, glossary
from opslib import display as show
from opslib.errors import MissingTableError
from opslib.metrics import customers
from opslib.store import Store, Window
from opslib.views.base import section
from opslib.views.weekly import common, data

__all__ = ["ROWS", "week_figures", "headline", "unresolved", "call_back", "by_category",
           "by_product", "contact_rate", "figures", "comments"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("customers", "products", "orders", "order_lines", "returns", "tickets",
         "web_traffic_daily", "ad_spend_daily", "surveys")

ROWS = glossary.rows(
    "count_tickets_opened", "count_csat_responses", "csat_rate",
)


def week_figures(store: Store, window: Window) -> dict[str, float | None]:
    """Tickets opened and CSAT for any window; None where the data are absent."""
    out = common.safely(data.tickets_week, store, window, ["count_tickets_opened"])
    out.update(common.safely(data.csat_week, store, window,
                             ["count_csat_responses", "csat_rate"]))
    return out


@section("The week against the week before")
def headline(store: Store, week: Window) -> list:
    """Tickets opened and CSAT against last week and last year."""
    if not store.has("tickets") and not store.has("surveys"):
        raise MissingTableError("tickets")
    parts = common.comparison(store, week, ROWS, week_figures, history=("tickets", "surveys"))
    return parts + [show.no_data(t, section="Service follow-up")
                    for t in ("tickets", "surveys") if not store.has(t)]


_TICKET_COLUMNS = ["ticket_id", "channel", "category", "subject", "order_id", "sku",
                   "created_at", "days_open", "is_answered", "is_escalated"]


@section("Tickets unresolved for more than N days")
def unresolved(store: Store, week: Window) -> list:
    """Open at the end of the week and older than [service] unresolved_after_days."""
    days = store.settings.service.unresolved_after_days
    frame = data.unresolved(store, week)
    return [common.table(store, frame[_TICKET_COLUMNS], units={"days_open": "days"},
                         title=f"Open for more than {days} days, oldest first",
                         empty=f"No ticket has been open for more than {days} days.")]


@section("Customers to call back")
def call_back(store: Store, week: Window) -> list:
    """Customers with an old or escalated open ticket, or a CSAT score of 1–2 this week."""
    frame = data.call_back(store, week)
    no_customer = data.unresolved(store, week).customer_id.isna().sum()
    parts = [common.table(store, frame, units={"max_days_open": "days",
                                               "count_open_tickets": "count",
                                               "lowest_csat_score": "count"},
                          empty="Nobody to call back this week.")]
    if no_customer:
        parts.append(show.note(f"{no_customer} old ticket(s) have no known customer; answer "
                               f"them in the helpdesk (see the list above)."))
    return parts


COMMENT_ROWS = 50


@section("What customers wrote this week")
def comments(store: Store, week: Window) -> list:
    """Survey and review comments of the week, detractors (nps 0–6, csat or review 1–2)
    first and in red, worst first; shown as plain text."""
    frame = customers.survey_comments(store.table("surveys"), window=week)
    return [common.table(store, frame, highlight="is_detractor", limit=COMMENT_ROWS,
                         units={"submitted_date": "date", "score": "count"},
                         empty="No comment this week.")]


PRODUCT_ROWS = 15  # the per-product table shows the products with the most tickets
_BY_UNITS = {"count_tickets_opened": "count", "count_tickets_opened_prev": "count",
             "change": "count"}


@section("Tickets per category")
def by_category(store: Store, week: Window) -> list:
    return [common.table(store, data.tickets_by(store, week, "category"), units=_BY_UNITS,
                         empty="No tickets this week or the week before.")]


@section("Tickets per product")
def by_product(store: Store, week: Window) -> list:
    """Products customers wrote about, most tickets first (tickets without a product left out)."""
    return [common.table(store, data.tickets_by(store, week, "sku"), units=_BY_UNITS,
                         limit=PRODUCT_ROWS,
                         empty="No ticket named a product this week or the week before.")]


@section("Contact rate, last eight weeks")
def contact_rate(store: Store, week: Window) -> list:
    """Tickets per 100 orders, week by week."""
    frame = data.contact_rate_trend(store, week)
    return [charts.line(frame, x="week_end", y="tickets_per_100_orders",
                        title="Tickets per 100 orders (weeks ending on the report's weekday)",
                        height=160),
            common.table(store, frame, units={"week_start": "date", "week_end": "date",
                                              "count_tickets_opened": "count",
                                              "count_orders": "count",
                                              "tickets_per_100_orders": "number"})]


def figures(store: Store, week: Window) -> dict[str, float | None]:
    """csat_rate with its _prev_week twin."""
    return common.figures(store, week, ["csat_rate"], week_figures)
