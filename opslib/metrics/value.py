"""Customer value: what a month's new customers bring in over 3, 6 and 12 months, against
what it cost to win them.

Definitions (docs/metrics.md, "Customer value"):

* A cohort is the customers whose first counted order fell in a calendar month (a customer
  as in opslib.metrics.customers). Month 1 is that month, month 3 the cohort month and
  the two after it, and so on (calendar months, like the retention table).
* revenue_per_customer_<n>m = Σ sales after discounts (gross − discounts) of the cohort's
  orders in its first n months ÷ cohort size; gross_profit_per_customer_<n>m subtracts
  their cogs (opslib.metrics.profit; units of unknown cost add no cost). Empty until the
  n-th month has ended by D. Refunds are left out: they are booked by refund date, not by
  customer.
* customer_acquisition_cost = the cohort month's ad spend ÷ its new customers.
* ltv_to_cac_ratio = gross_profit_per_customer_12m ÷ customer_acquisition_cost.
* payback_months = the first month n (1–12, ended by D) whose gross profit per customer
  so far reaches the acquisition cost; empty when it has not (yet).
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
from ibis import _

from opslib.metrics.common import ratio, require, series_ratio
from opslib.metrics.months import history as full_history
from opslib.metrics.sources import order_facts
from opslib.store import Window, in_window, local_date

__all__ = ["VALUE_MONTHS", "cohort_value", "value_figures"]

VALUE_MONTHS = (3, 6, 12)
_SPAN = max(VALUE_MONTHS)


def _month_index(day: ibis.DateValue) -> ibis.IntegerValue:
    return day.year() * 12 + day.month() - 1


def cohort_value(orders: ibis.Table, order_lines: ibis.Table, products: ibis.Table,
                 purchase_orders: ibis.Table | None = None,
                 ad_spend_daily: ibis.Table | None = None, *, as_of: Window,
                 cohorts: int = 13, history: ibis.Table | None = None) -> pd.DataFrame:
    """Value and acquisition cost of the `cohorts` monthly cohorts up to the month of D.

    Grain: cohort month (oldest first). Columns: cohort_month, count_new_customers,
    ad_spend, customer_acquisition_cost, revenue_per_customer_3m / _6m / _12m,
    gross_profit_per_customer_3m / _6m / _12m, ltv_to_cac_ratio, payback_months.
    """
    facts = order_facts(orders, order_lines, products, purchase_orders,
                        window=full_history(as_of), history=history)
    require(orders, "orders", ("created_at",))
    dated = facts.filter(facts.customer_key.notnull()).inner_join(
        orders.select("order_id", "created_at"), "order_id")
    dated = dated.mutate(month_index=_month_index(local_date(dated.created_at, as_of.zone)))
    first = dated.group_by("customer_key").aggregate(cohort_index=_.month_index.min())
    report_index = as_of.end.year * 12 + as_of.end.month - 1
    first = first.filter(first.cohort_index > report_index - cohorts)
    joined = dated.inner_join(first, "customer_key")
    joined = joined.filter(joined.month_index < joined.cohort_index + _SPAN)
    since = (joined.month_index - joined.cohort_index).name("since")
    sums = joined.group_by(["cohort_index", since]).aggregate(
        sales=_.sales_amount.sum(), profit=(_.sales_amount - _.cogs).sum()).to_pandas()
    sizes = first.group_by("cohort_index").aggregate(count_new_customers=_.count()) \
        .to_pandas()
    rows = []
    for cohort in range(report_index - cohorts + 1, report_index + 1):
        size = sizes.loc[sizes.cohort_index == cohort, "count_new_customers"]
        size = int(size.iloc[0]) if len(size) else 0
        mine = sums[sums.cohort_index == cohort].set_index("since")
        months = np.arange(_SPAN)
        sales = mine.sales.reindex(months, fill_value=0.0).astype("float64").cumsum()
        profit = mine.profit.reindex(months, fill_value=0.0).astype("float64").cumsum()
        ended = report_index - cohort + _is_month_end(as_of)  # months ended by D
        per_customer = [ratio(profit.iloc[n - 1], size) if n <= ended else None
                        for n in range(1, _SPAN + 1)]
        row: dict[str, object] = {"cohort_index": cohort, "count_new_customers": size,
                                  "_profit": per_customer}
        for n in VALUE_MONTHS:
            row[f"revenue_per_customer_{n}m"] = ratio(sales.iloc[n - 1], size) \
                if n <= ended else None
            row[f"gross_profit_per_customer_{n}m"] = per_customer[n - 1]
        rows.append(row)
    out = pd.DataFrame(rows)
    out["cohort_month"] = pd.to_datetime({"year": out.cohort_index // 12,
                                          "month": out.cohort_index % 12 + 1, "day": 1})
    out = out.merge(_spend_by_month(ad_spend_daily, as_of, cohorts), on="cohort_index",
                    how="left")
    out["customer_acquisition_cost"] = series_ratio(out.ad_spend, out.count_new_customers)
    out["ltv_to_cac_ratio"] = series_ratio(out.gross_profit_per_customer_12m,
                                           out.customer_acquisition_cost)
    out["payback_months"] = [_payback(p, cac) for p, cac in
                             zip(out._profit, out.customer_acquisition_cost)]
    columns = ["cohort_month", "count_new_customers", "ad_spend", "customer_acquisition_cost"]
    columns += [f"revenue_per_customer_{n}m" for n in VALUE_MONTHS]
    columns += [f"gross_profit_per_customer_{n}m" for n in VALUE_MONTHS]
    columns += ["ltv_to_cac_ratio", "payback_months"]
    numbers = [c for c in columns if c not in ("cohort_month", "count_new_customers")]
    out[numbers] = out[numbers].apply(pd.to_numeric, errors="coerce").astype("float64")
    return out[columns]


def _is_month_end(window: Window) -> int:
    return int((window.end + pd.Timedelta(days=1)).day == 1)


def _payback(profits: list[float | None], cac: float) -> float | None:
    if cac is None or pd.isna(cac):
        return None
    for month, value in enumerate(profits, start=1):
        if value is not None and value >= cac:
            return float(month)
    return None


def _spend_by_month(ad_spend_daily: ibis.Table | None, as_of: Window,
                    cohorts: int) -> pd.DataFrame:
    if ad_spend_daily is None:
        return pd.DataFrame({"cohort_index": pd.Series(dtype="int64"),
                             "ad_spend": pd.Series(dtype="float64")})
    require(ad_spend_daily, "ad_spend_daily", ("date_day", "spend"))
    rows = ad_spend_daily.filter(in_window(ad_spend_daily.date_day, full_history(as_of)))
    frame = rows.group_by(cohort_index=_month_index(rows.date_day)).aggregate(
        ad_spend=_.spend.sum()).to_pandas()
    return frame.astype({"ad_spend": "float64"})


def value_figures(frame: pd.DataFrame) -> dict[str, float | None]:
    """The report month's customer_acquisition_cost, and the ltv_to_cac_ratio and
    payback_months of the newest cohort whose 12 months have ended (None if none has)."""
    latest = frame.iloc[-1] if len(frame) else None
    full = frame[frame.gross_profit_per_customer_12m.notna()]
    older = full.iloc[-1] if len(full) else None

    def get(row, name):
        return None if row is None or pd.isna(row[name]) else float(row[name])

    return {"customer_acquisition_cost": get(latest, "customer_acquisition_cost"),
            "ltv_to_cac_ratio": get(older, "ltv_to_cac_ratio"),
            "payback_months": get(older, "payback_months")}
