"""Customer service: tickets opened, waiting, answered late; response times; contact rate.

Rules (docs/metrics.md):

* A ticket is open at the end of D when it was created by then and not resolved by then. A
  ticket now `resolved`/`closed` without a resolved_at is taken as resolved at its first
  response (else at creation): the data does not say when.
* It is unanswered at the end of D when no first response had been sent by then. It breaches
  the first-response service level when it has waited longer than `sla_hours`
  (playbook.toml [service] first_response_hours).
* First-response time is measured for the tickets first answered in the window (by the
  response's local day), so a past day's median never changes. Gorgias and Zendesk report
  it by the ticket's creation day instead, which keeps moving while late replies come in.
* Medians and p90 are interpolated between the two nearest values (like a spreadsheet's
  MEDIAN and PERCENTILE).
* Contact rate = tickets opened ÷ orders × 100 (tickets per 100 orders).
* Look-back: tickets created in the TICKET_LOOKBACK_DAYS days to D are read.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
from ibis import _

from opslib.metrics.common import (
    age_bucket, full_calendar, hours_between, lookback, ratio, require, series_ratio, to_local,
)
from opslib.schema import SOCIAL_TICKET_CHANNELS
from opslib.store import Window, in_window, local_date

__all__ = ["TICKET_LOOKBACK_DAYS", "open_tickets", "daily_tickets", "first_response_summary",
           "contact_rate"]

TICKET_LOOKBACK_DAYS = 90

_COLUMNS = ("ticket_id", "channel", "order_id", "subject", "category", "created_at",
            "first_response_at", "resolved_at", "status", "is_escalated")


def open_tickets(tickets: ibis.Table, *, as_of: Window, sla_hours: int,
                 lookback_days: int = TICKET_LOOKBACK_DAYS) -> pd.DataFrame:
    """Tickets open at the end of the day: those past the first-reply deadline first,
    then the others; oldest first within each.

    Grain: ticket. Columns: ticket_id, channel, category, subject, created_at (store time),
    age_days, age_bucket, is_answered, hours_waiting (for an unanswered ticket: hours since
    it came in; empty once answered), is_first_response_breach, is_escalated, is_social.
    """
    require(tickets, "tickets", _COLUMNS)
    end = as_of.hi
    rows = tickets.filter(in_window(tickets.created_at, lookback(as_of, lookback_days)))
    settled_without_time = rows.status.isin(["resolved", "closed"]) & rows.resolved_at.isnull()
    resolved_at = ibis.coalesce(
        rows.resolved_at,
        ibis.ifelse(settled_without_time, ibis.coalesce(rows.first_response_at, rows.created_at),
                    ibis.null("timestamp")))
    rows = rows.filter(resolved_at.isnull() | (resolved_at >= end))
    answered = rows.first_response_at.notnull() & (rows.first_response_at < end)
    waited = hours_between(end, rows.created_at)
    rows = rows.mutate(
        age_days=(waited / 24).floor().cast("int64"),
        is_answered=answered,
        hours_waiting=ibis.ifelse(answered, ibis.null("float64"), waited.round(1)),
        is_first_response_breach=~answered & (waited > sla_hours),
        is_social=rows.channel.isin(list(SOCIAL_TICKET_CHANNELS)),
    )
    frame = rows.mutate(age_bucket=age_bucket(rows.age_days)).select(
        "ticket_id", "channel", "category", "subject", "created_at", "age_days", "age_bucket",
        "is_answered", "hours_waiting", "is_first_response_breach", "is_escalated", "is_social",
    ).order_by([ibis.desc("is_first_response_breach"), "created_at", "ticket_id"]).to_pandas()
    return to_local(frame, as_of.zone, ["created_at"]).astype(
        {"age_days": "int64", "hours_waiting": "float64", "is_answered": "bool",
         "is_first_response_breach": "bool", "is_escalated": "bool", "is_social": "bool"})


def _responses(tickets: ibis.Table, window: Window, sla_hours: int) -> ibis.Table:
    # A first response comes after the ticket: bound the read by the ticket's creation too.
    created_from = Window.of(window.start - dt.timedelta(days=TICKET_LOOKBACK_DAYS),
                             window.end, zone=window.zone)
    answered = tickets.filter(in_window(tickets.created_at, created_from) &
                              in_window(tickets.first_response_at, window))
    hours = hours_between(answered.first_response_at, answered.created_at)
    return answered.mutate(first_response_hours=hours,
                           is_within_sla=ibis.ifelse(hours <= sla_hours, 1, 0))


def daily_tickets(tickets: ibis.Table, *, window: Window, sla_hours: int) -> pd.DataFrame:
    """Tickets per local day (a full calendar).

    Grain: day. Columns: date_day, count_tickets_opened, count_first_responses,
    median_first_response_hours, p90_first_response_hours, first_response_sla_rate (share of
    the day's first responses sent within the service level), count_tickets_resolved.
    Medians and rates are empty on a day without first responses.
    """
    require(tickets, "tickets", _COLUMNS)
    zone = window.zone
    opened = tickets.filter(in_window(tickets.created_at, window))
    by_open = opened.group_by(date_day=local_date(opened.created_at, zone)).aggregate(
        count_tickets_opened=_.count()).to_pandas()
    answered = _responses(tickets, window, sla_hours)
    by_answer = answered.group_by(date_day=local_date(answered.first_response_at, zone)) \
        .aggregate(count_first_responses=_.count(),
                   median_first_response_hours=_.first_response_hours.median(),
                   p90_first_response_hours=_.first_response_hours.quantile(0.9),
                   count_within_sla=_.is_within_sla.sum()).to_pandas()
    resolved = tickets.filter(in_window(tickets.resolved_at, window))
    by_resolve = resolved.group_by(date_day=local_date(resolved.resolved_at, zone)).aggregate(
        count_tickets_resolved=_.count()).to_pandas()
    out = full_calendar(by_open, window, zero=["count_tickets_opened"])
    answers = full_calendar(by_answer, window, zero=["count_first_responses",
                                                     "count_within_sla"])
    answers["first_response_sla_rate"] = series_ratio(answers.count_within_sla,
                                                      answers.count_first_responses)
    out = out.merge(answers.drop(columns="count_within_sla"), on="date_day")
    out = out.merge(full_calendar(by_resolve, window, zero=["count_tickets_resolved"]),
                    on="date_day")
    out = out.astype({"median_first_response_hours": "float64",
                      "p90_first_response_hours": "float64"})
    return out[["date_day", "count_tickets_opened", "count_first_responses",
                "median_first_response_hours", "p90_first_response_hours",
                "first_response_sla_rate", "count_tickets_resolved"]]


def first_response_summary(tickets: ibis.Table, *, window: Window,
                           sla_hours: int) -> dict[str, float | None]:
    """First-response figures over the whole window (medians are not sums of days).

    Keys: count_first_responses, median_first_response_hours, p90_first_response_hours,
    first_response_sla_rate — None where no ticket was answered in the window.
    """
    require(tickets, "tickets", _COLUMNS)
    answered = _responses(tickets, window, sla_hours)
    row = answered.aggregate(
        count_first_responses=_.count(),
        median_first_response_hours=_.first_response_hours.median(),
        p90_first_response_hours=_.first_response_hours.quantile(0.9),
        count_within_sla=_.is_within_sla.sum()).to_pandas().iloc[0]
    count = int(row.count_first_responses)
    return {
        "count_first_responses": count,
        "median_first_response_hours": None if count == 0 else float(
            row.median_first_response_hours),
        "p90_first_response_hours": None if count == 0 else float(row.p90_first_response_hours),
        "first_response_sla_rate": ratio(row.count_within_sla, count),
    }


def contact_rate(count_tickets: int | float | None,
                 count_orders: int | float | None) -> float | None:
    """Tickets per 100 orders; None when there were no orders.

    >>> contact_rate(3, 40), contact_rate(2, 0)
    (7.5, None)
    """
    share = ratio(count_tickets, count_orders)
    return None if share is None else share * 100
