"""Cash: how much money came in and went out, where is the balance going, what is due soon?"""

from __future__ import annotations

from opslib import charts, glossary
from opslib import display as show
from opslib.metrics import cash as cash_metrics
from opslib.store import Store, Window
from opslib.views.base import section
from opslib.views.weekly import common, data

__all__ = ["ROWS", "headline", "by_category", "balance", "payables", "figures"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("purchase_orders", "bank_transactions")

ROWS = glossary.rows(
    "cash_in", "cash_out", "net_cash_flow", "count_transactions",
)
_MONEY = {"cash_in": "money", "cash_out": "money", "net_cash_flow": "money",
          "count_transactions": "count"}


@section("The week against the week before")
def headline(store: Store, week: Window) -> list:
    """Money in, money out and net cash flow against last week and last year."""
    parts = common.comparison(store, week, ROWS, data.cash_week, history="bank_transactions")
    others = data.other_currency_lines(store, week)
    if len(others):
        listed = ", ".join(f"{row.count_transactions} in {row.currency}"
                           for row in others.itertuples())
        parts.append(show.warning(
            f"Bank lines in another currency than {store.settings.store.currency} are not in "
            f"these sums: {listed}.", code="other_currency"))
    return parts


@section("Money in and out by category")
def by_category(store: Store, week: Window) -> list:
    return [common.table(store, data.cash_by_category(store, week), units=_MONEY,
                         empty="No bank lines this week."),
            show.note("Transfers between your own accounts appear on both sides and cancel "
                      "out in the net.")]


@section("Balance over the last eight weeks")
def balance(store: Store, week: Window) -> list:
    """End-of-day balance per account (only days from the first known balance)."""
    frame = data.balances(store, week).dropna(subset=["balance_amount"])
    if frame.empty:
        return [show.note("The bank lines carry no balances, so the balance cannot be shown.")]
    latest = frame[frame.date_day == frame.date_day.max()]
    return [charts.line(frame, x="date_day", y="balance_amount", color="account",
                        y_unit="money", title="Balance at the end of each day", height=200,
                        currency=store.settings.store.currency),
            common.table(store, latest, units={"balance_amount": "money", "date_day": "date"},
                         title="Balance at the end of the week")]


@section("Supplier bills due in the next two weeks")
def payables(store: Store, week: Window) -> list:
    """Purchase orders whose payment falls due in the next 14 days, soonest first."""
    due = data.payables(store, week)
    total = float(due.amount_due.sum())
    return [common.tiles(store, [show.Tile("Due in the next "
                                           f"{cash_metrics.PAYABLES_HORIZON_DAYS} days",
                                           total, "money"),
                                 show.Tile("Purchase orders", float(len(due)), "count")]),
            common.table(store, due, units={"payment_due_date": "date",
                                            "days_until_due": "count", "count_lines": "count",
                                            "quantity": "count", "amount_due": "money"},
                         empty="No supplier bill falls due in the next two weeks.")]


def figures(store: Store, week: Window) -> dict[str, float | None]:
    """cash_in, cash_out, net_cash_flow, each with its _prev_week twin."""
    return common.figures(store, week, ["cash_in", "cash_out", "net_cash_flow"],
                          data.cash_week)
