"""The bank account: payouts in, suppliers, carriers, ads, rent, payroll, software, tax out.

Card payments are paid out two working days after the sales day, net of refunds, and their
fees are charged once a month (on the month's last working day);
PayPal and Klarna weekly; marketplaces every two weeks net of commission. Suppliers are paid
on each purchase order's due date, carriers weekly, ad platforms weekly or monthly, tax
quarterly (VAT) or monthly (US sales tax). Fixed costs scale with the business. The
running balance starts from an opening balance of about six weeks of sales.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from opslib.demo.ledger import PAYMENT_METHODS, Ledger
from opslib.demo.plan import World

__all__ = ["bank_transactions"]

ACCOUNT = "Business current account"
CARD_FEE = 0.021
PAYPAL_FEE = 0.029
KLARNA_FEE = 0.033
MARKETPLACE_COMMISSION = 0.15
# Monthly software and bank fees by size tier: (daily orders up to, {item: amount}).
SOFTWARE = ((20, {"Shop platform subscription": 39.0, "Email marketing": 45.0,
                  "Helpdesk": 60.0, "Accounting software": 30.0, "Bank account fee": 12.5}),
            (200, {"Shop platform subscription": 105.0, "Email marketing": 150.0,
                   "Helpdesk": 120.0, "Accounting software": 30.0, "Bank account fee": 25.0}),
            (float("inf"), {"Shop platform subscription": 399.0, "Email marketing": 720.0,
                            "Helpdesk": 600.0, "Accounting software": 60.0,
                            "Bank account fee": 60.0}))


def bank_transactions(world: World, ledger: Ledger, purchase_orders: pd.DataFrame,
                      ads: pd.DataFrame) -> pd.DataFrame:
    """bank_transactions with a consistent running balance (booked up to `until`)."""
    cal = world.calendar
    n_days = cal.n_days
    days = cal.days
    lines: list[pd.DataFrame] = []

    def add(dates, cents, counterparty, description, category) -> None:
        dates = np.asarray(dates, dtype="datetime64[D]")
        lines.append(pd.DataFrame({
            "booked_date": dates, "cents": np.round(np.asarray(cents)).astype(np.int64),
            "counterparty": counterparty, "description": description, "category": category}))

    paid = pd.DataFrame(ledger.payments[:n_days], columns=PAYMENT_METHODS, index=days)
    refunded = pd.DataFrame(ledger.refunds[:n_days], columns=PAYMENT_METHODS, index=days)
    cards = paid["card"] + paid["apple_pay"]
    card = cards - refunded["card"] - refunded["apple_pay"]
    card = card[card != 0]
    add(np.busday_offset(card.index.to_numpy("datetime64[D]"), 2, roll="forward",
                         holidays=cal.holidays), card, "Shopify Payments",
        "Payout for sales of " + card.index.strftime("%Y-%m-%d"), "payout")
    card_fees = (cards * CARD_FEE).groupby(pd.DatetimeIndex(cards.index).to_period("M")).sum()
    month_ends = card_fees.index.to_timestamp(how="end").to_numpy("datetime64[D]")
    add(np.busday_offset(month_ends, 0, roll="backward", holidays=cal.holidays), -card_fees,
        "Shopify Payments", "Card processing fees " + card_fees.index.strftime("%B %Y"),
        "fees")
    for method, fee, pay_weekday, name in (("paypal", PAYPAL_FEE, 1, "PayPal"),
                                           ("klarna", KLARNA_FEE, 3, "Klarna")):
        net = _by_week(paid[method] * (1 - fee) - refunded[method])
        add(net.index.to_numpy("datetime64[D]") + 7 + pay_weekday, net, name,
            f"{name} transfer, week of " + net.index.strftime("%Y-%m-%d"), "payout")
    market = paid["marketplace"] * (1 - MARKETPLACE_COMMISSION) - refunded["marketplace"]
    fortnight = market.groupby(np.arange(n_days) // 14).sum()
    ends = days[np.minimum(np.arange(len(fortnight)) * 14 + 13, n_days - 1)]
    add(ends + 7, fortnight.to_numpy(), "Marketplace settlements",
        "Settlement for the two weeks to " + pd.DatetimeIndex(ends).strftime("%Y-%m-%d"),
        "payout")
    transfers = paid["bank_transfer"][paid["bank_transfer"] > 0]
    add(np.busday_offset(transfers.index.to_numpy("datetime64[D]"), 1, roll="forward",
                         holidays=cal.holidays), transfers, "Customer bank transfers",
        "Order payments by bank transfer", "other")
    direct = refunded["bank_transfer"] + refunded["gift_card"]
    direct = direct[direct > 0]
    add(direct.index.to_numpy("datetime64[D]"), -direct, "Customer refunds",
        "Refunds paid by bank transfer", "refund")

    po = purchase_orders.assign(cents=np.round(purchase_orders["quantity"]
                                               * purchase_orders["unit_cost"] * 100))
    bills = po.groupby(["po_id", "supplier", "payment_due_date"], as_index=False)["cents"].sum()
    add(np.busday_offset(bills["payment_due_date"].to_numpy("datetime64[D]"), 0,
                         roll="forward", holidays=cal.holidays), -bills["cents"],
        bills["supplier"].to_numpy(object), "Invoice " + bills["po_id"], "supplier")
    for c, carrier in enumerate(world.locale.carriers):
        cost = _by_week(pd.Series(ledger.shipping_cost[:n_days, c], index=days))
        add(cost.index.to_numpy("datetime64[D]") + 9, -cost, carrier.name,
            "Shipping invoice, week of " + cost.index.strftime("%Y-%m-%d"), "shipping")
    spend = ads.assign(cents=ads["spend"] * 100).groupby(["platform", "date_day"])["cents"].sum()
    for platform, series in spend.groupby(level=0):
        series = series.droplevel(0)
        series.index = pd.DatetimeIndex(series.index)
        if platform == "meta":
            billed = _by_week(series)
            add(billed.index.to_numpy("datetime64[D]") + 7, -billed, "Meta Platforms",
                "Meta ads, week of " + billed.index.strftime("%Y-%m-%d"), "ads")
        else:
            billed = series.groupby(series.index.to_period("M")).sum()
            first = billed.index.to_timestamp().to_numpy("datetime64[D]")
            due = (first.astype("datetime64[M]") + 1).astype("datetime64[D]") + 2
            add(due, -billed, platform.title() + " Ads",
                platform.title() + " ads " + billed.index.strftime("%B %Y"), "ads")
    _fixed_costs(world, paid.sum(axis=1), add)
    _tax(world, pd.Series(ledger.tax[:n_days], index=days), add)

    frame = pd.concat(lines, ignore_index=True)
    frame = frame[(frame["booked_date"] >= days[0]) & (frame["booked_date"] <= days[-1])
                  & (frame["cents"] != 0)]
    frame = frame.sort_values(["booked_date", "category", "counterparty", "description"],
                              kind="stable", ignore_index=True)
    opening = int(round(paid.iloc[:42].sum().sum()))
    return pd.DataFrame({
        "transaction_id": [f"BT{i:07d}" for i in range(1, len(frame) + 1)],
        "account": ACCOUNT,
        "booked_date": frame["booked_date"],
        "amount": frame["cents"] / 100,
        "balance_after": (opening + frame["cents"].cumsum()) / 100,
        "currency": world.currency,
        "counterparty": frame["counterparty"],
        "description": frame["description"],
        "category": frame["category"],
    })


def _by_week(series: pd.Series) -> pd.Series:
    """Daily values summed per week, indexed by the week's Monday; empty weeks dropped."""
    index = pd.DatetimeIndex(series.index)
    monday = index - pd.to_timedelta(index.day_of_week, unit="D")
    weekly = series.groupby(monday).sum()
    return weekly[weekly != 0]


def _fixed_costs(world: World, revenue: pd.Series, add) -> None:
    """Rent (set each January), payroll (monthly, follows the last quarter's sales),
    software and bank fees (monthly, by size)."""
    cal = world.calendar
    months = pd.period_range(cal.start, cal.until, freq="M")
    first_days = months.to_timestamp().to_numpy("datetime64[D]")
    monthly = revenue.groupby(pd.DatetimeIndex(revenue.index).to_period("M")).sum() / 100
    trailing = monthly.rolling(3, min_periods=1).mean().reindex(months).ffill().to_numpy()
    opening_month = monthly.iloc[0] * 30 / max(1, pd.Period(cal.start, "M").days_in_month
                                               - cal.start.day + 1)
    previous = np.r_[opening_month, trailing[:-1]]
    year_start = pd.Series(previous, index=months).groupby(months.year).transform("first")
    rent = np.round(year_start.to_numpy() * 0.05 / 50) * 50 * 100
    add(np.busday_offset(first_days, 0, roll="forward", holidays=cal.holidays), -rent,
        "Unit 4 Landlord Ltd", "Rent " + months.strftime("%B %Y"), "rent")
    payroll = np.round(previous * 0.15 / 10) * 10 * 100
    payday = np.busday_offset(first_days + 27, 0, roll="backward", holidays=cal.holidays)
    add(payday, -payroll, "Payroll", "Salaries " + months.strftime("%B %Y"), "payroll")
    tier = next(items for limit, items in SOFTWARE if world.size.daily_orders <= limit)
    for item, amount in tier.items():
        category = "fees" if item == "Bank account fee" else "software"
        when = first_days + (4 if category == "software" else 0)
        if category == "fees":
            when = np.busday_offset((first_days.astype("datetime64[M]") + 1).astype(
                "datetime64[D]") - 1, 0, roll="backward", holidays=cal.holidays)
        add(when, np.full(len(months), -amount * 100), item,
            item + " " + months.strftime("%B %Y"), category)


def _tax(world: World, tax: pd.Series, add) -> None:
    """VAT returns quarterly (paid 1 month and 7 days after the quarter, net of input tax),
    or US sales tax monthly (paid on the 20th of the next month)."""
    index = pd.DatetimeIndex(tax.index)
    if world.locale.vat_name == "VAT":
        owed = tax.groupby(index.to_period("Q")).sum() * 0.7
        due = (owed.index.end_time.normalize() + pd.DateOffset(months=1, days=7))
        add(due.to_numpy("datetime64[D]"), -owed, "HMRC",
            "VAT return " + owed.index.strftime("%Y Q%q"), "tax")
    else:
        owed = tax.groupby(index.to_period("M")).sum()
        due = owed.index.end_time.normalize() + pd.DateOffset(days=20)
        add(due.to_numpy("datetime64[D]"), -owed, "State Department of Revenue",
            "Sales tax " + owed.index.strftime("%B %Y"), "tax")
