"""Returns and refunds: what is open, which refunds are due, what came back.

As of the end of a day D (`as_of` is D's Window):

* A return is open from the moment it was requested until it is settled. It is settled when
  the money went back (refunded_at), or — for a return now `rejected` or `closed`, which
  carry no closing time — from its last recorded event (received_at, else requested_at).
* A refund is due when an open return asks for money back (resolution `refund`, or not yet
  decided) and either the item was received by the end of D, or there is no item to wait
  for (an order-level refund without a SKU).
* Look-back: returns requested in the RETURN_LOOKBACK_DAYS days to D are read; an older
  return still open is treated as forgotten and no longer listed (settle it in the shop).

Returns money for sales is booked on the refund date (see opslib.metrics.sales).
"""

from __future__ import annotations

import ibis
import pandas as pd
from ibis import _

from opslib.metrics.common import age_bucket, full_calendar, hours_between, lookback, require, \
    to_local
from opslib.metrics.fulfilment import with_order_numbers
from opslib.store import Window, in_window, local_date

__all__ = ["RETURN_LOOKBACK_DAYS", "open_returns", "refunds_due", "returns_received",
           "daily_returns"]

RETURN_LOOKBACK_DAYS = 120

_COLUMNS = ("return_id", "order_id", "sku", "quantity", "reason", "requested_at",
            "received_at", "refunded_at", "refund_amount", "resolution", "status")


def _open_at_end(returns: ibis.Table, *, as_of: Window, lookback_days: int) -> ibis.Table:
    require(returns, "returns", _COLUMNS)
    end = as_of.hi
    asked = returns.filter(in_window(returns.requested_at, lookback(as_of, lookback_days)))
    closed_without_time = asked.status.isin(["rejected", "closed"])
    settled_at = ibis.coalesce(
        asked.refunded_at,
        ibis.ifelse(closed_without_time,
                    ibis.coalesce(asked.received_at, asked.requested_at), ibis.null("timestamp")))
    still_open = settled_at.isnull() | (settled_at >= end)
    received = asked.received_at.notnull() & (asked.received_at < end)
    wants_money = asked.resolution.isnull() | (asked.resolution == "refund")
    return asked.filter(still_open).mutate(
        is_received=received,
        is_refund_due=wants_money & (received | asked.sku.isnull()),
    )


def open_returns(returns: ibis.Table, orders: ibis.Table, *, as_of: Window,
                 lookback_days: int = RETURN_LOOKBACK_DAYS) -> pd.DataFrame:
    """Returns open at the end of the day, oldest first.

    Grain: return line. Columns: return_id, order_number, sku, quantity, reason,
    requested_at (store time), age_days (whole days since requested), age_bucket,
    stage (`awaiting item`, `received`, `no item`), refund_amount, is_refund_due.
    """
    end = as_of.hi
    open_now = _open_at_end(returns, as_of=as_of, lookback_days=lookback_days)
    age_days = (hours_between(end, open_now.requested_at) / 24).floor().cast("int64")
    stage = ibis.cases((open_now.is_received, "received"),
                       (open_now.sku.isnull(), "no item"), else_="awaiting item")
    numbered = with_order_numbers(open_now.mutate(age_days=age_days, stage=stage), orders,
                                  window=lookback(as_of, lookback_days))
    frame = numbered.mutate(age_bucket=age_bucket(numbered.age_days)).select(
        "return_id", "order_number", "sku", "quantity", "reason", "requested_at", "age_days",
        "age_bucket", "stage", "refund_amount", "is_refund_due",
    ).order_by(["requested_at", "return_id"]).to_pandas()
    return to_local(frame, as_of.zone, ["requested_at"]).astype(
        {"age_days": "int64", "refund_amount": "float64", "is_refund_due": "bool"})


def refunds_due(returns: ibis.Table, orders: ibis.Table, *, as_of: Window,
                lookback_days: int = RETURN_LOOKBACK_DAYS) -> pd.DataFrame:
    """Money to send back: open returns received (or with no item) and not refunded.

    Grain: return line. Columns: return_id, order_number, sku, quantity, reason,
    received_at (store time; empty when there is no item), days_waiting (since received,
    else since requested), refund_amount. Longest waiting first.
    """
    end = as_of.hi
    due = _open_at_end(returns, as_of=as_of, lookback_days=lookback_days)
    due = due.filter(due.is_refund_due)
    waiting_since = ibis.coalesce(due.received_at, due.requested_at)
    due = due.mutate(days_waiting=(hours_between(end, waiting_since) / 24).round(1))
    frame = with_order_numbers(due, orders, window=lookback(as_of, lookback_days)).select(
        "return_id", "order_number", "sku", "quantity", "reason", "received_at",
        "days_waiting", "refund_amount",
    ).order_by([ibis.desc("days_waiting"), "return_id"]).to_pandas()
    return to_local(frame, as_of.zone, ["received_at"]).astype(
        {"days_waiting": "float64", "refund_amount": "float64"})


def returns_received(returns: ibis.Table, orders: ibis.Table, *,
                     window: Window) -> pd.DataFrame:
    """Items that came back in the window (to inspect, restock and refund).

    Grain: return line. Columns: return_id, order_number, sku, quantity, reason,
    received_at (store time), refund_amount, is_refunded (by the end of the window).
    """
    require(returns, "returns", _COLUMNS)
    back = returns.filter(in_window(returns.received_at, window))
    back = back.mutate(is_refunded=back.refunded_at.notnull() & (back.refunded_at < window.hi))
    frame = with_order_numbers(back, orders, window=window,
                               days_before=RETURN_LOOKBACK_DAYS * 2).select(
        "return_id", "order_number", "sku", "quantity", "reason", "received_at",
        "refund_amount", "is_refunded",
    ).order_by(["received_at", "return_id"]).to_pandas()
    return to_local(frame, window.zone, ["received_at"]).astype(
        {"refund_amount": "float64", "is_refunded": "bool"})


def daily_returns(returns: ibis.Table, *, window: Window) -> pd.DataFrame:
    """Return events per local day (a full calendar).

    Grain: day. Columns: date_day, count_returns_requested, count_returns_received,
    count_refunds, returns_amount (money refunded that day, as booked in net sales).
    """
    require(returns, "returns", _COLUMNS)
    zone = window.zone
    frames = []
    for column, count_name in (("requested_at", "count_returns_requested"),
                               ("received_at", "count_returns_received"),
                               ("refunded_at", "count_refunds")):
        rows = returns.filter(in_window(returns[column], window))
        metrics = {count_name: _.count()}
        if column == "refunded_at":
            metrics["returns_amount"] = _.refund_amount.fill_null(0).sum()
        frames.append(rows.group_by(date_day=local_date(rows[column], zone))
                      .aggregate(**metrics).to_pandas())
    out = full_calendar(frames[0], window, zero=["count_returns_requested"])
    out = out.merge(full_calendar(frames[1], window, zero=["count_returns_received"]),
                    on="date_day")
    refunds = full_calendar(frames[2], window, zero=["count_refunds", "returns_amount"])
    out = out.merge(refunds.astype({"returns_amount": "float64"}), on="date_day")
    return out[["date_day", "count_returns_requested", "count_returns_received",
                "count_refunds", "returns_amount"]]
