"""Service follow-up: old unresolved tickets, customers to call back, CSAT, contact reasons.

Rules (docs/metrics.md, "Weekly"):

* Open at the end of D is the daily rule (opslib.metrics.support.open_tickets, with its
  look-back). A ticket is unresolved for more than N days when it is open at the end of D
  and came in more than N × 24 hours before D ended; N is playbook.toml
  [service] unresolved_after_days.
* A customer is to be called back when, at the end of D, they have a ticket unresolved for
  more than N days, or an open escalated ticket, or when they gave a CSAT score of
  CALLBACK_CSAT_MAX (2) or less in the window. Tickets and scores without a customer cannot
  be called back; they stay in the unresolved list.
* CSAT = share of csat scores of 4 or 5 among the csat scores submitted in the window (by
  submitted_at). Zendesk's CSAT is the same kind of share (good ÷ all ratings, on its
  good/bad scale); Gorgias reports the average 1–5 score instead.
* Tickets per product and per category count tickets opened (created_at) in the window and
  in the same number of days before it. A ticket without a SKU is not about a product and
  only counts per category.
* Contact rate = tickets opened ÷ counted orders × 100, per week (opslib.metrics.support).
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
from ibis import _

from opslib.metrics.common import SATISFIED_MIN_SCORE, full_calendar, ratio, require, \
    series_ratio
from opslib.metrics.periods import by_week
from opslib.metrics.support import contact_rate, open_tickets
from opslib.store import Window, in_window, local_date

__all__ = ["CALLBACK_CSAT_MAX", "SATISFIED_MIN_SCORE", "unresolved_tickets",
           "customers_to_call_back", "daily_csat", "csat_totals", "tickets_by",
           "weekly_contact_rate"]

CALLBACK_CSAT_MAX = 2

_TICKET_COLUMNS = ("ticket_id", "customer_id", "order_id", "sku")
_SURVEY_COLUMNS = ("response_id", "customer_id", "ticket_id", "submitted_at", "kind", "score",
                   "comment")


def _open_with_links(tickets: ibis.Table, *, as_of: Window, sla_hours: int) -> pd.DataFrame:
    """Open tickets at the end of D (the daily rule) with customer, order, SKU and hours open."""
    require(tickets, "tickets", _TICKET_COLUMNS)
    open_now = open_tickets(tickets, as_of=as_of, sla_hours=sla_hours)
    ids = open_now.ticket_id.tolist()
    links = tickets.filter(tickets.ticket_id.isin(ids)).select(
        "ticket_id", "customer_id", "order_id", "sku").to_pandas() if ids else \
        pd.DataFrame({c: pd.Series(dtype="object") for c in _TICKET_COLUMNS})
    frame = open_now.merge(links, on="ticket_id", how="left")
    hours = (as_of.hi - pd.to_datetime(frame.created_at, utc=True)) / pd.Timedelta(hours=1)
    return frame.assign(hours_open=hours.astype("float64"),
                        days_open=(hours / 24).round(1).astype("float64"))


_UNRESOLVED_COLUMNS = ["ticket_id", "channel", "category", "subject", "customer_id", "order_id",
                       "sku", "created_at", "days_open", "is_answered", "is_escalated"]


def unresolved_tickets(tickets: ibis.Table, *, as_of: Window, after_days: int,
                       sla_hours: int) -> pd.DataFrame:
    """Tickets open at the end of D that came in more than `after_days` days before, oldest first.

    Grain: ticket. Columns: ticket_id, channel, category, subject, customer_id, order_id,
    sku, created_at (store time), days_open (to the end of D, one decimal), is_answered,
    is_escalated.
    """
    frame = _open_with_links(tickets, as_of=as_of, sla_hours=sla_hours)
    old = frame[frame.hours_open > after_days * 24]
    return old[_UNRESOLVED_COLUMNS].reset_index(drop=True)


def _low_scores(surveys: ibis.Table, tickets: ibis.Table, window: Window) -> pd.DataFrame:
    require(surveys, "surveys", _SURVEY_COLUMNS)
    low = surveys.filter(in_window(surveys.submitted_at, window) & (surveys.kind == "csat")
                         & (surveys.score <= CALLBACK_CSAT_MAX))
    rated = tickets.select(t_id=tickets.ticket_id, t_customer=tickets.customer_id)
    joined = low.left_join(rated, low.ticket_id == rated.t_id)
    return joined.select(
        customer_id=ibis.coalesce(joined.customer_id, joined.t_customer),
        score=joined.score).to_pandas()


def customers_to_call_back(tickets: ibis.Table, surveys: ibis.Table | None = None,
                           customers: ibis.Table | None = None, *, as_of: Window,
                           window: Window, after_days: int, sla_hours: int) -> pd.DataFrame:
    """Customers to phone this week, with why; the longest waiting first.

    `as_of` is D (for open tickets), `window` the week (for low CSAT scores); `surveys`
    and `customers` may be None when the store has no such data. Grain: customer.
    Columns: customer_id, name, email, phone, reasons (text), count_open_tickets (old or
    escalated), max_days_open, lowest_csat_score.
    """
    frame = _open_with_links(tickets, as_of=as_of, sla_hours=sla_hours)
    frame = frame.assign(is_old=frame.hours_open > after_days * 24)
    flagged = frame[(frame.is_old | frame.is_escalated) & frame.customer_id.notna()]
    per_customer = flagged.groupby("customer_id").agg(
        count_old=("is_old", "sum"), count_escalated=("is_escalated", "sum"),
        count_open_tickets=("ticket_id", "count"), max_days_open=("days_open", "max"))
    low = _low_scores(surveys, tickets, window).dropna(subset=["customer_id"]) \
        if surveys is not None else pd.DataFrame({"customer_id": [], "score": []})
    lowest = low.groupby("customer_id").score.min().rename("lowest_csat_score")
    out = per_customer.join(lowest, how="outer").reset_index()
    out = out.fillna({"count_old": 0, "count_escalated": 0, "count_open_tickets": 0})
    out["reasons"] = [_reasons(row, after_days) for row in out.itertuples()]
    out = out.merge(_contacts(customers, out.customer_id.tolist()), on="customer_id",
                    how="left")
    out = out.astype({"count_open_tickets": "int64", "max_days_open": "float64",
                      "lowest_csat_score": "Int64"})
    columns = ["customer_id", "name", "email", "phone", "reasons", "count_open_tickets",
               "max_days_open", "lowest_csat_score"]
    return out[columns].sort_values(["max_days_open", "lowest_csat_score", "customer_id"],
                                    ascending=[False, True, True], na_position="last") \
        .reset_index(drop=True)


def _reasons(row, after_days: int) -> str:
    reasons = []
    if row.count_old:
        reasons.append(f"{int(row.count_old)} ticket(s) open more than {after_days} days")
    if row.count_escalated:
        reasons.append(f"{int(row.count_escalated)} escalated ticket(s) open")
    if pd.notna(row.lowest_csat_score):
        reasons.append(f"CSAT score {int(row.lowest_csat_score)} this week")
    return "; ".join(reasons)


def _contacts(customers: ibis.Table | None, ids: list[str]) -> pd.DataFrame:
    empty = pd.DataFrame({c: pd.Series(dtype="object")
                          for c in ("customer_id", "name", "email", "phone")})
    if customers is None or not ids:
        return empty
    require(customers, "customers", ("customer_id", "name", "email", "phone"))
    return customers.filter(customers.customer_id.isin(ids)).select(
        "customer_id", "name", "email", "phone").to_pandas()


def daily_csat(surveys: ibis.Table, *, window: Window) -> pd.DataFrame:
    """CSAT scores submitted per local day (a full calendar).

    Grain: day. Columns: date_day, count_csat_responses, count_csat_satisfied (scores 4–5),
    csat_rate (empty on a day without scores).
    """
    require(surveys, "surveys", _SURVEY_COLUMNS)
    rows = surveys.filter(in_window(surveys.submitted_at, window) & (surveys.kind == "csat"))
    frame = rows.group_by(date_day=local_date(rows.submitted_at, window.zone)).aggregate(
        count_csat_responses=_.count(),
        count_csat_satisfied=(_.score >= SATISFIED_MIN_SCORE).sum()).to_pandas()
    out = full_calendar(frame, window, zero=["count_csat_responses", "count_csat_satisfied"])
    out["csat_rate"] = series_ratio(out.count_csat_satisfied, out.count_csat_responses)
    return out[["date_day", "count_csat_responses", "count_csat_satisfied", "csat_rate"]]


def csat_totals(daily: pd.DataFrame) -> dict[str, float | int | None]:
    """The window's CSAT from a daily_csat frame: the share of the summed counts.

    >>> csat_totals(pd.DataFrame({"count_csat_responses": [3, 1], "count_csat_satisfied": [2, 1]}))
    {'count_csat_responses': 4, 'count_csat_satisfied': 3, 'csat_rate': 0.75}
    """
    responses = int(daily.count_csat_responses.sum())
    satisfied = int(daily.count_csat_satisfied.sum())
    return {"count_csat_responses": responses, "count_csat_satisfied": satisfied,
            "csat_rate": ratio(satisfied, responses)}


def tickets_by(tickets: ibis.Table, products: ibis.Table | None = None, *, window: Window,
               by: str) -> pd.DataFrame:
    """Tickets opened in the window and in the same number of days before, per `by`.

    `by` is "category" or "sku" (tickets without a SKU are left out of the per-product view;
    `products` adds the title). Grain: category or SKU. Columns: the key (plus title for
    SKUs), count_tickets_opened, count_tickets_opened_prev, change (difference). Most
    tickets first.
    """
    if by not in ("category", "sku"):
        raise ValueError(f"by must be 'category' or 'sku', found {by!r}")
    require(tickets, "tickets", ("ticket_id", "created_at", by))
    before = window.shift(-window.days)
    frames = []
    for name, span in (("count_tickets_opened", window), ("count_tickets_opened_prev", before)):
        rows = tickets.filter(in_window(tickets.created_at, span))
        if by == "sku":
            rows = rows.filter(rows.sku.notnull())
        frames.append(rows.group_by(by).aggregate(**{name: _.count()}).to_pandas()
                      .set_index(by))
    frame = frames[0].join(frames[1], how="outer").fillna(0).astype("int64").reset_index()
    frame["change"] = frame.count_tickets_opened - frame.count_tickets_opened_prev
    keys = [by]
    if by == "sku" and products is not None:
        require(products, "products", ("sku", "title"))
        skus = frame.sku.tolist()
        titles = products.filter(products.sku.isin(skus)).select("sku", "title").to_pandas() \
            if skus else pd.DataFrame(columns=["sku", "title"])
        frame = frame.merge(titles, on="sku", how="left")
        keys.append("title")
    frame = frame.sort_values(["count_tickets_opened", "count_tickets_opened_prev", by],
                              ascending=[False, False, True])
    return frame[[*keys, "count_tickets_opened", "count_tickets_opened_prev", "change"]] \
        .reset_index(drop=True)


def weekly_contact_rate(tickets_daily: pd.DataFrame, sales_daily: pd.DataFrame, *,
                        last_day: dt.date) -> pd.DataFrame:
    """Contact rate per seven-day week ending on `last_day`'s weekday, oldest week first.

    `tickets_daily` is a support.daily_tickets frame and `sales_daily` a sales.daily_sales
    frame over the same whole weeks. Grain: week. Columns: week_start, week_end,
    count_tickets_opened, count_orders, tickets_per_100_orders (the contact rate).

    >>> days = pd.date_range("2025-06-02", periods=14)
    >>> t = pd.DataFrame({"date_day": days, "count_tickets_opened": [1] * 14})
    >>> s = pd.DataFrame({"date_day": days, "count_orders": [10] * 7 + [0] * 7})
    >>> weekly_contact_rate(t, s, last_day=dt.date(2025, 6, 15)).tickets_per_100_orders.tolist()
    [10.0, nan]
    """
    frame = tickets_daily[["date_day", "count_tickets_opened"]].merge(
        sales_daily[["date_day", "count_orders"]], on="date_day", how="outer")
    weeks = by_week(frame.fillna(0), last_day=last_day,
                    sums=["count_tickets_opened", "count_orders"])
    weeks["tickets_per_100_orders"] = [contact_rate(t, o) for t, o in
                                       zip(weeks.count_tickets_opened, weeks.count_orders)]
    weeks = weeks.astype({"count_tickets_opened": "int64", "count_orders": "int64",
                          "tickets_per_100_orders": "float64"})
    return weeks[["week_start", "week_end", "count_tickets_opened", "count_orders",
                  "tickets_per_100_orders"]]
