"""Cash metrics on a tiny hand-built bank history (zone Europe/London, store currency GBP)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from handbuilt import at

from opslib.errors import SchemaViolation
from opslib.metrics import cash
from opslib.store import Window

ZONE = "Europe/London"
WEEK = Window.of("2025-06-02", "2025-06-04", zone=ZONE)


def _line(transaction_id, account, day, amount, balance, category, currency="GBP"):
    return {"transaction_id": transaction_id, "account": account, "booked_date": day,
            "amount": amount, "balance_after": balance, "currency": currency,
            "category": category}


@pytest.fixture
def bank(tiny_store):
    """main: t0 1 Jun +1,000 (balance 1,000, before the window).
    2 Jun: t2 +500 payout (→ 1,500) then t1 −120 supplier (→ 1,380) — the last line of the
    day has the *lower* id, and the rows are stored last-first.
    3 Jun: t3 −30 fees (→ 1,350), t4 −200 transfer to savings with no balance.
    savings: s1 3 Jun +200 transfer (→ 5,200).
    usd: u1 3 Jun +99 USD payout (another currency).
    main: t9 9 Jun +1,000 (after the window)."""
    rows = [
        _line("t0", "main", "2025-06-01", 1000.0, 1000.0, "payout"),
        _line("t1", "main", "2025-06-02", -120.0, 1380.0, "supplier"),
        _line("t2", "main", "2025-06-02", 500.0, 1500.0, "payout"),
        _line("t3", "main", "2025-06-03", -30.0, 1350.0, "fees"),
        _line("t4", "main", "2025-06-03", -200.0, None, "transfer"),
        _line("s1", "savings", "2025-06-03", 200.0, 5200.0, "transfer"),
        _line("u1", "usd", "2025-06-03", 99.0, 99.0, "payout", currency="USD"),
        _line("t9", "main", "2025-06-09", 1000.0, 3150.0, "payout"),
    ]
    return tiny_store({"bank_transactions": rows})


def test_daily_cash_golden_values(bank):
    """2 Jun: in 500, out 120, net 380, 2 lines. 3 Jun: in 200 (savings), out 30 + 200 = 230,
    net −30, 3 lines (the USD line is not summed). 4 Jun: no lines, zeros."""
    frame = cash.daily_cash(bank.table("bank_transactions"), window=WEEK, currency="GBP")
    assert frame.date_day.dt.strftime("%m-%d").tolist() == ["06-02", "06-03", "06-04"]
    assert frame.cash_in.tolist() == [500.0, 200.0, 0.0]
    assert frame.cash_out.tolist() == [120.0, 230.0, 0.0]
    assert frame.net_cash_flow.tolist() == [380.0, -30.0, 0.0]
    assert frame.count_transactions.tolist() == [2, 3, 0]


def test_cash_totals_are_the_sums_of_the_days(bank):
    """Week: in 500 + 200 = 700, out 120 + 230 = 350, net 350, 5 lines."""
    daily = cash.daily_cash(bank.table("bank_transactions"), window=WEEK, currency="GBP")
    assert cash.cash_totals(daily) == {"cash_in": 700.0, "cash_out": 350.0,
                                       "net_cash_flow": 350.0, "count_transactions": 5}


def test_cash_by_category_biggest_movement_first(bank):
    """payout in 500 (moved 500); transfer in 200 and out 200, net 0 (moved 400); supplier
    out 120; fees out 30."""
    frame = cash.cash_by_category(bank.table("bank_transactions"), window=WEEK,
                                  currency="GBP")
    assert frame.category.tolist() == ["payout", "transfer", "supplier", "fees"]
    assert frame.cash_in.tolist() == [500.0, 200.0, 0.0, 0.0]
    assert frame.cash_out.tolist() == [0.0, 200.0, 120.0, 30.0]
    assert frame.net_cash_flow.tolist() == [500.0, 0.0, -120.0, -30.0]
    assert frame.count_transactions.tolist() == [1, 2, 1, 1]


def test_lines_in_another_currency_are_counted_apart(bank):
    """The one USD line: 1 line, 99 in, nothing out — not in the GBP sums, not dropped."""
    frame = cash.other_currency_lines(bank.table("bank_transactions"), window=WEEK,
                                      currency="GBP")
    assert frame.to_dict("records") == [{"currency": "USD", "count_transactions": 1,
                                         "cash_in": 99.0, "cash_out": 0.0}]


def test_daily_balance_follows_the_chain_of_balances(bank):
    """main 2 Jun: t2 leaves 1,500, t1 continues from 1,500 to 1,380, so 1,380 closes the
    day (the highest id, t2, would say 1,500). main 3 Jun: t4 has no balance, so the day
    carries: 1,380 − 30 − 200 = 1,150; 4 Jun no lines: 1,150. savings: nothing known on
    2 Jun (empty), 5,200 from 3 Jun. The USD account is not in GBP."""
    frame = cash.daily_balance(bank.table("bank_transactions"), window=WEEK, currency="GBP")
    got = {(d.strftime("%m-%d"), a): b for d, a, b in frame.itertuples(index=False)}
    assert set(got) == {(d, a) for d in ("06-02", "06-03", "06-04")
                        for a in ("main", "savings")}
    assert got[("06-02", "main")] == 1380.0
    assert got[("06-03", "main")] == pytest.approx(1150.0)
    assert got[("06-04", "main")] == pytest.approx(1150.0)
    assert math.isnan(got[("06-02", "savings")])
    assert got[("06-03", "savings")] == got[("06-04", "savings")] == 5200.0


def test_balance_without_a_chain_takes_the_highest_id(tiny_store):
    """x1 +10 (→ 110) and x2 −10 (→ 100) on one day: each continues from the other, so the
    order cannot be told from the balances; the highest id, x2, closes the day at 100."""
    store = tiny_store({"bank_transactions": [
        _line("x1", "main", "2025-06-02", 10.0, 110.0, "payout"),
        _line("x2", "main", "2025-06-02", -10.0, 100.0, "refund")]})
    frame = cash.daily_balance(store.table("bank_transactions"),
                               window=Window.of("2025-06-02", zone=ZONE), currency="GBP")
    assert frame.balance_amount.tolist() == [100.0]


def test_payables_due_in_the_next_two_weeks(tiny_store):
    """D = 4 Jun. P1 due 7 Jun: 10 × 2.50 + 4 × 5 = 45 (2 lines, 14 units, 3 days). P2 due
    18 Jun (D + 14, the last day counted), received: 100. Left out: P3 due 19 Jun (D + 15),
    P4 due on D itself, P5 draft, P6 cancelled, P7 placed after D."""
    def po(po_id, sku, quantity, cost, due, status="ordered", ordered="2025-05-20 10:00"):
        return {"po_id": po_id, "supplier": f"S-{po_id}", "sku": sku, "quantity": quantity,
                "unit_cost": cost, "ordered_at": at(ordered), "payment_due_date": due,
                "status": status}
    store = tiny_store({"purchase_orders": [
        po("P1", "A", 10, 2.5, "2025-06-07"), po("P1", "B", 4, 5.0, "2025-06-07"),
        po("P2", "A", 1, 100.0, "2025-06-18", status="received"),
        po("P3", "A", 1, 1.0, "2025-06-19"), po("P4", "A", 1, 1.0, "2025-06-04"),
        po("P5", "A", 1, 1.0, "2025-06-06", status="draft"),
        po("P6", "A", 1, 1.0, "2025-06-06", status="cancelled"),
        po("P7", "A", 1, 1.0, "2025-06-06", ordered="2025-06-05 09:00"),
    ]})
    frame = cash.payables_due(store.table("purchase_orders"),
                              as_of=Window.of("2025-06-04", zone=ZONE))
    assert frame.po_id.tolist() == ["P1", "P2"]
    assert frame.days_until_due.tolist() == [3, 14]
    assert frame.count_lines.tolist() == [2, 1]
    assert frame.quantity.tolist() == [14, 1]
    assert frame.amount_due.tolist() == [45.0, 100.0]
    assert frame.payment_due_date.tolist() == [pd.Timestamp("2025-06-07"),
                                               pd.Timestamp("2025-06-18")]


def test_an_empty_week_gives_zeros_not_gaps(bank):
    """No lines from 5 to 8 June: four rows of zeros; no category rows."""
    quiet = Window.of("2025-06-05", "2025-06-08", zone=ZONE)
    daily = cash.daily_cash(bank.table("bank_transactions"), window=quiet, currency="GBP")
    assert len(daily) == 4 and daily.count_transactions.sum() == 0
    assert cash.cash_totals(daily)["net_cash_flow"] == 0.0
    assert cash.cash_by_category(bank.table("bank_transactions"), window=quiet,
                                 currency="GBP").empty


def test_a_table_without_the_contract_columns_is_refused(bank):
    """A table lacking `category` raises a SchemaViolation naming it."""
    table = bank.table("bank_transactions").drop("category")
    with pytest.raises(SchemaViolation, match="category"):
        cash.daily_cash(table, window=WEEK, currency="GBP")
