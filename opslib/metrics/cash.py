"""Cash: bank money in and out by category, net cash flow, balances, supplier bills due.

Rules (docs/metrics.md, "Weekly"):

* A bank line counts on its booked_date. cash in = Σ amount of lines with amount > 0;
  cash out = Σ −amount of lines with amount < 0 (shown as a positive number); net cash flow
  = cash in − cash out. Transfers between the shop's own accounts (category `transfer`)
  appear on both sides and cancel out in the net.
* Only lines in the store currency are summed (money in two currencies cannot be added);
  lines in another currency are counted apart by `other_currency_lines` so a report can say
  so — none is dropped without a word.
* The balance at the end of a day, per account, is the balance_after of the day's last
  line. Bank exports list a day's lines in either order and carry no sequence number, so
  the last line is found from the balances themselves: it is the line no other line of the
  same day continues from (whose balance before — balance_after − amount — equals it). If
  the lines do not form such a chain, the line with the highest transaction_id is taken.
  A day is only read this way when every one of its lines carries a balance; a day with a
  line without one, or without lines, carries the day before's balance forward with the
  day's net flow. Days before the first known balance (in the BALANCE_LOOKBACK_DAYS before
  the window) have none.
* Supplier bills due: purchase-order lines ordered by the end of D, not draft or cancelled,
  whose payment_due_date falls in the next PAYABLES_HORIZON_DAYS days (D+1 … D+14);
  amount due = Σ quantity × unit_cost per purchase order. The data do not say whether a
  bill was paid early, so an early payment still shows until its due date.
"""

from __future__ import annotations

import ibis
import pandas as pd
from ibis import _

from opslib.metrics.common import full_calendar, next_days, require
from opslib.store import Window, in_window

__all__ = ["BALANCE_LOOKBACK_DAYS", "PAYABLES_HORIZON_DAYS", "daily_cash", "cash_totals",
           "cash_by_category", "other_currency_lines", "daily_balance", "payables_due"]

BALANCE_LOOKBACK_DAYS = 92
PAYABLES_HORIZON_DAYS = 14

_COLUMNS = ("transaction_id", "account", "booked_date", "amount", "balance_after", "currency",
            "category")
_PO_COLUMNS = ("po_id", "supplier", "sku", "quantity", "unit_cost", "ordered_at",
               "payment_due_date", "status")
_FLOWS = ("cash_in", "cash_out", "net_cash_flow")


def _lines(bank_transactions: ibis.Table, window: Window, currency: str) -> ibis.Table:
    require(bank_transactions, "bank_transactions", _COLUMNS)
    rows = bank_transactions.filter(in_window(bank_transactions.booked_date, window))
    return rows.filter(rows.currency == currency)


def _flow_metrics(rows: ibis.Table) -> dict[str, ibis.Value]:
    return {"cash_in": ibis.ifelse(rows.amount > 0, rows.amount, 0.0).sum(),
            "cash_out": ibis.ifelse(rows.amount < 0, -rows.amount, 0.0).sum(),
            "count_transactions": rows.count()}


def _with_net(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.astype({"cash_in": "float64", "cash_out": "float64",
                        "count_transactions": "int64"})
    out["net_cash_flow"] = out.cash_in - out.cash_out
    return out


def daily_cash(bank_transactions: ibis.Table, *, window: Window,
               currency: str) -> pd.DataFrame:
    """Money in and out of the bank per booked day (a full calendar).

    Grain: day. Columns: date_day, cash_in, cash_out (positive), net_cash_flow,
    count_transactions; 0 on a day without lines. Only lines in `currency` are summed.

    >>> lines = ibis.memtable(pd.DataFrame({"transaction_id": ["a", "b", "c"],
    ...     "account": "main", "booked_date": pd.to_datetime(["2025-06-02"] * 3).date,
    ...     "amount": [120.0, -45.5, -4.5], "balance_after": None, "currency": "GBP",
    ...     "category": ["payout", "supplier", "fees"]}))
    >>> daily_cash(lines, window=Window.of("2025-06-01", "2025-06-02", zone="UTC"),
    ...            currency="GBP")[["cash_in", "cash_out", "net_cash_flow"]].values.tolist()
    [[0.0, 0.0, 0.0], [120.0, 50.0, 70.0]]
    """
    rows = _lines(bank_transactions, window, currency)
    frame = rows.group_by(date_day=rows.booked_date).aggregate(**_flow_metrics(rows)) \
        .to_pandas()
    frame = full_calendar(frame, window, zero=["cash_in", "cash_out", "count_transactions"])
    return _with_net(frame)[["date_day", *_FLOWS, "count_transactions"]]


def cash_totals(daily: pd.DataFrame) -> dict[str, float | int]:
    """The window's figures from a daily_cash frame (all are sums of days).

    >>> cash_totals(pd.DataFrame({"cash_in": [10.0, 5.0], "cash_out": [2.0, 0.0],
    ...     "net_cash_flow": [8.0, 5.0], "count_transactions": [2, 1]}))
    {'cash_in': 15.0, 'cash_out': 2.0, 'net_cash_flow': 13.0, 'count_transactions': 3}
    """
    out: dict[str, float | int] = {name: float(daily[name].sum()) for name in _FLOWS}
    out["count_transactions"] = int(daily.count_transactions.sum())
    return out


def cash_by_category(bank_transactions: ibis.Table, *, window: Window,
                     currency: str) -> pd.DataFrame:
    """Money in and out per category over the window, the biggest movements first.

    Grain: category (only categories with lines). Columns: category, cash_in, cash_out,
    net_cash_flow, count_transactions.
    """
    rows = _lines(bank_transactions, window, currency)
    frame = _with_net(rows.group_by("category").aggregate(**_flow_metrics(rows)).to_pandas())
    frame = frame.assign(moved=frame.cash_in + frame.cash_out)
    frame = frame.sort_values(["moved", "category"], ascending=[False, True])
    return frame[["category", *_FLOWS, "count_transactions"]].reset_index(drop=True)


def other_currency_lines(bank_transactions: ibis.Table, *, window: Window,
                         currency: str) -> pd.DataFrame:
    """Lines of the window in a currency other than `currency` (left out of the sums).

    Grain: currency. Columns: currency, count_transactions, cash_in, cash_out (each in its
    own currency).
    """
    require(bank_transactions, "bank_transactions", _COLUMNS)
    rows = bank_transactions.filter(in_window(bank_transactions.booked_date, window))
    rows = rows.filter(rows.currency != currency)
    frame = rows.group_by("currency").aggregate(**_flow_metrics(rows)).to_pandas()
    frame = frame.astype({"cash_in": "float64", "cash_out": "float64",
                          "count_transactions": "int64"})
    return frame[["currency", "count_transactions", "cash_in", "cash_out"]] \
        .sort_values("currency").reset_index(drop=True)


def _closing_balances(rows: ibis.Table) -> ibis.Table:
    """Per account and day whose lines all carry a balance, the balance after the last."""
    complete = rows.group_by(["account", "booked_date"]).aggregate(
        missing=rows.balance_after.isnull().sum())
    complete = complete.filter(complete.missing == 0).select("account", "booked_date")
    known = rows.semi_join(complete, ["account", "booked_date"])
    known = known.mutate(
        after_cents=(known.balance_after * 100).round().cast("int64"),
        before_cents=((known.balance_after - known.amount) * 100).round().cast("int64"))
    follower = known.select(f_id=known.transaction_id, f_account=known.account,
                            f_day=known.booked_date, f_before=known.before_cents)
    last = known.anti_join(follower, [
        known.account == follower.f_account, known.booked_date == follower.f_day,
        known.after_cents == follower.f_before, known.transaction_id != follower.f_id])
    chained = last.group_by(["account", "booked_date"]).aggregate(
        chain_balance=last.balance_after.argmax(last.transaction_id))
    by_id = known.group_by(["account", "booked_date"]).aggregate(
        id_balance=known.balance_after.argmax(known.transaction_id))
    joined = by_id.left_join(chained, ["account", "booked_date"])
    return joined.select(account=joined.account, date_day=joined.booked_date,
                         closing_balance=ibis.coalesce(joined.chain_balance,
                                                       joined.id_balance))


def daily_balance(bank_transactions: ibis.Table, *, window: Window, currency: str,
                  lookback_days: int = BALANCE_LOOKBACK_DAYS) -> pd.DataFrame:
    """The balance of each account at the end of every day of the window.

    Grain: day × account (accounts in `currency` with lines in the window or the
    `lookback_days` before it). Columns: date_day, account, balance_amount — empty until
    the first day whose balance is known.

    >>> lines = ibis.memtable(pd.DataFrame({"transaction_id": ["t2", "t1"],
    ...     "account": "main", "booked_date": pd.to_datetime(["2025-06-01"] * 2).date,
    ...     "amount": [-20.0, 50.0], "balance_after": [130.0, 150.0], "currency": "GBP",
    ...     "category": ["fees", "payout"]}))
    >>> daily_balance(lines, window=Window.of("2025-06-01", "2025-06-02", zone="UTC"),
    ...               currency="GBP").balance_amount.tolist()
    [130.0, 130.0]
    """
    span = Window.of(window.start - pd.Timedelta(days=lookback_days).to_pytimedelta(),
                     window.end, zone=window.zone)
    rows = _lines(bank_transactions, span, currency)
    flows = rows.group_by(["account", rows.booked_date.name("date_day")]).aggregate(
        net_amount=rows.amount.sum())
    closing = _closing_balances(rows)
    days = flows.left_join(closing, ["account", "date_day"]) \
        .select("account", "date_day", "net_amount", "closing_balance").to_pandas()
    out = []
    for account, group in days.groupby("account", sort=True):
        calendar = full_calendar(group.drop(columns="account"), span, zero=["net_amount"])
        balance: float | None = None
        values = []
        for net, closing_value in zip(calendar.net_amount, calendar.closing_balance):
            if pd.notna(closing_value):
                balance = float(closing_value)
            elif balance is not None:
                balance += float(net)
            values.append(balance)
        calendar = calendar.assign(account=account, balance_amount=values)
        out.append(calendar[calendar.date_day >= pd.Timestamp(window.start)])
    columns = ["date_day", "account", "balance_amount"]
    if not out:
        return pd.DataFrame({"date_day": pd.Series(dtype="datetime64[ns]"),
                             "account": pd.Series(dtype="object"),
                             "balance_amount": pd.Series(dtype="float64")})
    frame = pd.concat(out, ignore_index=True)[columns]
    return frame.astype({"balance_amount": "float64"}).sort_values(
        ["date_day", "account"]).reset_index(drop=True)


def payables_due(purchase_orders: ibis.Table, *, as_of: Window,
                 days: int = PAYABLES_HORIZON_DAYS) -> pd.DataFrame:
    """Supplier bills falling due in the `days` days after D, soonest first.

    Grain: purchase order. Columns: payment_due_date, days_until_due, po_id, supplier,
    count_lines, quantity, amount_due (Σ quantity × unit_cost).
    """
    require(purchase_orders, "purchase_orders", _PO_COLUMNS)
    horizon = next_days(as_of, days)
    rows = purchase_orders.filter(
        in_window(purchase_orders.payment_due_date, horizon)
        & (purchase_orders.ordered_at < as_of.hi)
        & ~purchase_orders.status.isin(["draft", "cancelled"]))
    frame = rows.group_by(["payment_due_date", "po_id", "supplier"]).aggregate(
        count_lines=_.count(), quantity=_.quantity.sum(),
        amount_due=(_.quantity * _.unit_cost).sum()).to_pandas()
    due = pd.to_datetime(frame.payment_due_date)
    frame = frame.assign(payment_due_date=due,
                         days_until_due=(due - pd.Timestamp(as_of.end)).dt.days)
    frame = frame.astype({"count_lines": "int64", "quantity": "int64",
                          "amount_due": "float64", "days_until_due": "int64"})
    return frame[["payment_due_date", "days_until_due", "po_id", "supplier", "count_lines",
                  "quantity", "amount_due"]].sort_values(
        ["payment_due_date", "supplier", "po_id"]).reset_index(drop=True)
