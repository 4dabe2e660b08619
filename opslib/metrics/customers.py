"""Customers and loyalty: new vs returning, repeat rates, cohorts, RFM, lapsed regulars.

Definitions (docs/metrics.md, "Monthly"):

* A customer is the order's customer_id, else its email in lower case (a guest checkout),
  as in opslib.metrics.social.count_new_customers; in the frames below the `customer_id`
  column holds that key. Orders with neither are counted as orders and sales in the
  `unknown` row of `new_vs_returning`, and left out of every customer-level figure. Orders are those opslib.metrics.sales counts;
  everything is as of the end of the window (later orders are never seen), so a re-run for
  a past month gives the same figures.
* new customer of a period: their first counted order ever falls in the period.
  returning (for `new_vs_returning`): their first order came before the period.
* returning-customer rate (Shopify's look-back definition): customers who placed an order in
  the period that was not their first order ever — the earlier order may lie anywhere
  before, inside or outside the period — ÷ customers who ordered in the period. A new
  customer who orders twice in the month counts as returning here (as in Shopify).
* 90-day repeat-purchase rate of a month (a cohort rate, a different metric): of the
  customers whose first order fell in that month, the share whose second order came within
  90 days of the first (local days: second order date − first order date ≤ 90). A month is
  reported once its last day + 90 days ≤ D: in October's report, July's new customers.
* cohort retention: of a month's new customers, the share who ordered in each later
  calendar month (month 0 is their first month, 100% by definition).
* RFM: recency = days from the last order to D, frequency = orders, monetary = lifetime
  sales (gross − discounts). R and M are scored 1–5 by where the customer stands among all
  customers: score = 1 + ⌊5 × (customers with a strictly worse value) ÷ customers⌋, so tied
  customers share a score. F is scored by the number of orders itself (FREQUENCY_BANDS):
  1 order → 1, 2 → 2, 3 → 3, 4–5 → 4, 6 or more → 5. Ranks would not do for F: most
  customers of a shop order once, and that one tie fills the low scores, so a store with
  70% one-order customers would jump from F 1 to F 4 and never have F 2 or 3. Segments are
  named from the R and F scores (RFM_SEGMENTS).
* lapse ratio = days since the last order ÷ the customer's usual interval (the median of the
  gaps between their consecutive orders, at least 1 day); a one-order customer uses the
  store's median time to second order. active < 0.8 ≤ at risk ≤ 1.5 < lost.
* CSAT = share of csat scores 4–5; NPS = % promoters (9–10) − % detractors (0–6), −100…100.
* detractor response: nps 0–6, csat or review 1–2. Worst first = lowest score on a 0–1
  scale (nps ÷ 10, csat and review (score − 1) ÷ 4), then newest.
* loyalty tier (settings [loyalty]): the highest tier whose min_spend (gross − discounts)
  and min_orders the customer reaches with their orders up to D (over the last window_days
  days, 0 = every order). Previous tier: the same as of the end of the previous month.

The lists to act on (lapsed_regulars, win_back, detractors, segment_list, vip_list) start with
email, first_name, last_name and end with has_marketing_consent, with the contact rules of
opslib.metrics.outreach (the customer record as of D; a guest's key is their e-mail).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
import numpy as np
import pandas as pd
from ibis import _

from opslib.metrics import outreach
from opslib.metrics.common import SATISFIED_MIN_SCORE, ratio, require, series_ratio
from opslib.metrics.months import history as full_history
from opslib.metrics.months import month_of, month_starts, months_back, order_values
from opslib.metrics.sales import counted_orders
from opslib.store import Window, in_window, local_date

__all__ = [
    "REPEAT_DAYS", "FREQUENCY_BANDS", "AT_RISK_FROM", "LOST_ABOVE", "RFM_SEGMENTS",
    "customer_history", "customer_profiles", "new_vs_returning", "customer_figures",
    "repeat_cohort_month", "repeat_purchase_rate", "cohort_retention", "retention_matrix",
    "frequency_score", "rfm_scores", "rfm_segments", "median_days_to_second_order",
    "lapse_ratios", "lapse_summary", "call_list", "one_time_buyers_not_subscribed",
    "survey_scores", "WIN_BACK_DAYS", "lapsed_regulars", "win_back", "segment_list",
    "detractors", "survey_comments", "tier_of", "loyalty_members", "tier_summary", "vip_list",
    "tier_moves",
]

REPEAT_DAYS = 90
# The fewest orders for a frequency score of 2, 3, 4 and 5 (one order scores 1).
FREQUENCY_BANDS = (2, 3, 4, 6)
AT_RISK_FROM = 0.8
LOST_ABOVE = 1.5
# (segment, recency scores, frequency scores): every R × F pair falls in exactly one.
RFM_SEGMENTS: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("Champions", (5,), (4, 5)),
    ("Loyal customers", (3, 4), (4, 5)),
    ("Potential loyalists", (4, 5), (2, 3)),
    ("New customers", (5,), (1,)),
    ("Promising", (4,), (1,)),
    ("Need attention", (3,), (3,)),
    ("About to sleep", (3,), (1, 2)),
    ("Can't lose them", (1, 2), (5,)),
    ("At risk", (1, 2), (3, 4)),
    ("Hibernating", (1, 2), (1, 2)),
)
_CUSTOMER_COLUMNS = ("customer_id", "name", "email", "phone", "has_marketing_consent")
WIN_BACK_DAYS = (60, 180)  # one-time buyers this many days after their only order
_SCORE_SCALE = {"nps": (0, 10), "csat": (1, 5), "review": (1, 5)}
_SURVEY_COLUMNS = ("response_id", "customer_id", "order_id", "ticket_id", "submitted_at",
                   "kind", "score", "comment")


def customer_history(orders: ibis.Table, order_lines: ibis.Table, *,
                     as_of: Window, history: ibis.Table | None = None) -> ibis.Table:
    """Every counted order of a known customer up to the end of the as-of window.

    Grain: order (an engine expression). Columns: order_values' columns plus
    order_sequence (1 for the customer's first order ever, 2 for the second...) and
    gap_days (days since their previous order; empty for the first).

    `history` is this function's result as of a later day, computed once and shared by
    several figures (every function below takes it): an order's sequence number and gap
    do not depend on later orders, so the history as of the window is its rows up to the
    window's end. (An order's value is then the one known on that later day.)
    """
    if history is not None:
        return history.filter(history.date_day <= as_of.end)
    placed = order_values(orders, order_lines, window=full_history(as_of))
    placed = placed.filter(placed.customer_key.notnull()).drop("customer_id").rename(
        customer_id="customer_key")
    by_customer = ibis.window(group_by="customer_id", order_by=["created_at", "order_id"])
    placed = placed.mutate(order_sequence=ibis.row_number().over(by_customer) + 1,
                           previous_day=placed.date_day.lag().over(by_customer))
    return placed.mutate(gap_days=placed.date_day.delta(placed.previous_day, unit="day"))


def customer_profiles(orders: ibis.Table, order_lines: ibis.Table, *,
                      as_of: Window, history: ibis.Table | None = None) -> ibis.Table:
    """One row per known customer with their order history as of the end of the window.

    Grain: customer (an engine expression). Columns: customer_id, count_orders,
    first_order_date, last_order_date, days_since_last_order (to D), sales_amount_lifetime
    (gross − discounts), usual_interval_days (median gap between consecutive orders; empty
    with one order), days_to_second_order (empty with one order).
    """
    placed = customer_history(orders, order_lines, as_of=as_of, history=history)
    profiles = placed.group_by("customer_id").aggregate(
        count_orders=_.count(), first_order_date=_.date_day.min(),
        last_order_date=_.date_day.max(), sales_amount_lifetime=_.sales_amount.sum(),
        usual_interval_days=_.gap_days.median().cast("float64"),
        days_to_second_order=_.gap_days.max(where=_.order_sequence == 2))
    return profiles.mutate(days_since_last_order=ibis.literal(as_of.end).delta(
        profiles.last_order_date, unit="day"))


def new_vs_returning(orders: ibis.Table, order_lines: ibis.Table, *,
                     window: Window, history: ibis.Table | None = None) -> pd.DataFrame:
    """Orders and sales of the window split by new and returning customers (and unknown).

    Grain: customer type (rows `new`, `returning`, `unknown`, always all three). Columns:
    customer_type, count_customers (empty for `unknown`: orders without customer or email),
    count_orders, sales_amount (gross − discounts), avg_order_value, share_of_sales.
    The rows add up to the window's orders and gross − discounts (opslib.metrics.sales).
    """
    placed = order_values(orders, order_lines, window=window).drop("customer_id").rename(
        customer_id="customer_key")
    firsts = customer_profiles(orders, order_lines, as_of=window, history=history).select(
        "customer_id", "first_order_date")
    joined = placed.left_join(firsts, "customer_id")
    kind = ibis.cases((joined.customer_id.isnull(), "unknown"),
                      (joined.first_order_date >= window.start, "new"), else_="returning")
    frame = joined.mutate(customer_type=kind).group_by("customer_type").aggregate(
        count_customers=_.customer_id.nunique(), count_orders=_.count(),
        sales_amount=_.sales_amount.sum()).to_pandas()
    out = pd.DataFrame({"customer_type": ["new", "returning", "unknown"]}).merge(
        frame, on="customer_type", how="left")
    out["count_orders"] = out.count_orders.fillna(0).astype("int64")
    out["sales_amount"] = out.sales_amount.fillna(0.0).astype("float64")
    customers = out.count_customers.fillna(0).astype("float64")
    out["count_customers"] = customers.where(out.customer_type != "unknown").astype("Int64")
    out["avg_order_value"] = series_ratio(out.sales_amount, out.count_orders)
    out["share_of_sales"] = series_ratio(out.sales_amount,
                                         pd.Series(out.sales_amount.sum(), index=out.index))
    return out


def customer_figures(orders: ibis.Table, *, window: Window,
                     history: ibis.Table | None = None) -> dict[str, float | None]:
    """The window's customer counts and the returning-customer rate (look-back definition).

    Keys: count_customers (known customers who ordered in the window), count_new_customers,
    count_returning_customers (ordered in the window, an order that was not their first
    ever), returning_customer_rate (returning ÷ customers; None without customers).
    `history`: a shared customer_history (see there).
    """
    if history is not None:
        placed = history.filter(history.date_day <= window.end)
    else:
        placed = counted_orders(orders, window=full_history(window))
        placed = placed.mutate(
            customer_id=ibis.coalesce(placed.customer_id, placed.email.lower()))
        placed = placed.filter(placed.customer_id.notnull())
        by_customer = ibis.window(group_by="customer_id", order_by=["created_at", "order_id"])
        placed = placed.mutate(order_sequence=ibis.row_number().over(by_customer) + 1)
    inside = placed.filter(in_window(placed.created_at, window))
    per = inside.group_by("customer_id").aggregate(
        is_new=(_.order_sequence.min() == 1), is_returning=(_.order_sequence.max() > 1))
    row = per.aggregate(
        count_customers=_.count(),
        count_new_customers=_.is_new.sum(),
        count_returning_customers=_.is_returning.sum()).to_pandas().iloc[0]
    counts = {name: int(0 if pd.isna(row[name]) else row[name])
              for name in ("count_customers", "count_new_customers",
                           "count_returning_customers")}
    return {**counts, "returning_customer_rate": ratio(counts["count_returning_customers"],
                                                       counts["count_customers"])}


def repeat_cohort_month(report_end: dt.date, *, zone: str, days: int = REPEAT_DAYS) -> Window:
    """The latest calendar month whose new customers have had `days` days to order again.

    >>> repeat_cohort_month(dt.date(2025, 10, 31), zone="UTC").start
    datetime.date(2025, 7, 1)
    >>> repeat_cohort_month(dt.date(2025, 10, 28), zone="UTC").start
    datetime.date(2025, 6, 1)
    """
    month = month_of(report_end, zone=zone)
    while month.end + dt.timedelta(days=days) > report_end:
        month = months_back(month, 1)
    return month


def repeat_purchase_rate(orders: ibis.Table, order_lines: ibis.Table, *, cohort: Window,
                         days: int = REPEAT_DAYS,
                         history: ibis.Table | None = None) -> dict[str, object]:
    """The `days`-day repeat-purchase rate of the customers first seen in `cohort`.

    Read as of cohort.end + `days` (orders after that cannot change it). Keys: cohort_month
    (its first day), count_new_customers, count_repeat_customers, repeat_purchase_rate
    (None without new customers).
    """
    as_of = Window.of(cohort.end + dt.timedelta(days=days), zone=cohort.zone)
    profiles = customer_profiles(orders, order_lines, as_of=as_of, history=history)
    firsts = profiles.filter(profiles.first_order_date.between(cohort.start, cohort.end))
    row = firsts.aggregate(
        count_new_customers=_.count(),
        count_repeat_customers=(_.days_to_second_order <= days).sum(),
    ).to_pandas().iloc[0]
    new = int(row.count_new_customers)
    repeat = int(0 if pd.isna(row.count_repeat_customers) else row.count_repeat_customers)
    return {"cohort_month": cohort.start, "count_new_customers": new,
            "count_repeat_customers": repeat, "repeat_purchase_rate": ratio(repeat, new)}


def cohort_retention(orders: ibis.Table, order_lines: ibis.Table, *, as_of: Window,
                     months: int = 12, history: ibis.Table | None = None) -> pd.DataFrame:
    """Monthly cohorts of new customers and the share who ordered in each later month.

    Grain: cohort month × months since first order, for the `months` cohorts up to the
    month of D (only months that have begun by D). Columns: cohort_month (first day),
    months_since_first (0, 1, ...), cohort_size, count_active_customers, retention_rate.
    A month with no returning buyer is a row with 0.
    """
    placed = customer_history(orders, order_lines, as_of=as_of, history=history)
    month_index = placed.date_day.year() * 12 + placed.date_day.month() - 1
    placed = placed.mutate(month_index=month_index)
    first = placed.group_by("customer_id").aggregate(cohort_index=_.month_index.min())
    report_index = as_of.end.year * 12 + as_of.end.month - 1
    first = first.filter(first.cohort_index > report_index - months)
    active = placed.select("customer_id", "month_index").distinct().inner_join(
        first, "customer_id")
    counts = active.group_by(["cohort_index", "month_index"]).aggregate(
        count_active_customers=_.customer_id.nunique()).to_pandas()
    sizes = first.group_by("cohort_index").aggregate(cohort_size=_.count()).to_pandas()
    grid = [(c, m) for c in sizes.cohort_index for m in range(int(c), report_index + 1)]
    out = pd.DataFrame(grid, columns=["cohort_index", "month_index"]).merge(
        counts, on=["cohort_index", "month_index"], how="left").merge(sizes, on="cohort_index")
    out["count_active_customers"] = out.count_active_customers.fillna(0).astype("int64")
    out["months_since_first"] = (out.month_index - out.cohort_index).astype("int64")
    out["cohort_month"] = pd.to_datetime({"year": out.cohort_index // 12,
                                          "month": out.cohort_index % 12 + 1, "day": 1})
    out["retention_rate"] = series_ratio(out.count_active_customers, out.cohort_size)
    out = out.sort_values(["cohort_month", "months_since_first"]).reset_index(drop=True)
    return out[["cohort_month", "months_since_first", "cohort_size", "count_active_customers",
                "retention_rate"]].astype({"cohort_size": "int64"})


def retention_matrix(retention: pd.DataFrame) -> pd.DataFrame:
    """A cohort_retention frame as a table: one row per cohort, a column per month after.

    Columns: cohort_month, cohort_size, month_0, month_1, ... (retention rates; empty where
    the month has not come yet).

    >>> r = pd.DataFrame({"cohort_month": pd.to_datetime(["2025-01-01"] * 2 + ["2025-02-01"]),
    ...     "months_since_first": [0, 1, 0], "cohort_size": [4, 4, 2],
    ...     "count_active_customers": [4, 1, 2], "retention_rate": [1.0, 0.25, 1.0]})
    >>> retention_matrix(r).to_dict("records")[0]
    {'cohort_month': Timestamp('2025-01-01 00:00:00'), 'cohort_size': 4, 'month_0': 1.0, 'month_1': 0.25}
    """
    if retention.empty:
        return pd.DataFrame(columns=["cohort_month", "cohort_size", "month_0"])
    wide = retention.pivot(index=["cohort_month", "cohort_size"], columns="months_since_first",
                           values="retention_rate")
    wide.columns = [f"month_{int(m)}" for m in wide.columns]
    return wide.reset_index().sort_values("cohort_month").reset_index(drop=True)


def _score(value: ibis.Value, *, higher_is_better: bool, count: ibis.Value) -> ibis.Value:
    """1 + ⌊5 × (customers with a strictly worse value) ÷ customers⌋ (ties share a score)."""
    order = value if higher_is_better else value.desc()
    worse = ibis.rank().over(ibis.window(order_by=order))  # 0-based rank over ties: min
    return ibis.least((worse * 5 / count).floor().cast("int64") + 1, 5)


def frequency_score(count_orders: ibis.IntegerValue) -> ibis.IntegerValue:
    """1 + the number of FREQUENCY_BANDS the order count reaches (1–5)."""
    reached = ((count_orders >= least).ifelse(1, 0).cast("int64") for least in FREQUENCY_BANDS)
    return sum(reached) + 1


def rfm_scores(orders: ibis.Table, order_lines: ibis.Table, *,
               as_of: Window, history: ibis.Table | None = None) -> ibis.Table:
    """RFM scores and segment of every known customer as of the end of the window.

    Grain: customer (an engine expression; `.to_pandas()` it for a small store).
    Columns: customer_profiles' columns plus recency_score, frequency_score,
    monetary_score (1–5, 5 best) and rfm_segment (RFM_SEGMENTS, from R and F). R and M
    are ranks among the customers, F comes from the order count (see the module).
    """
    profiles = customer_profiles(orders, order_lines, as_of=as_of, history=history)
    count = profiles.customer_id.count().over(ibis.window())
    scored = profiles.mutate(
        recency_score=_score(profiles.days_since_last_order, higher_is_better=False,
                             count=count),
        frequency_score=frequency_score(profiles.count_orders),
        monetary_score=_score(profiles.sales_amount_lifetime, higher_is_better=True,
                              count=count))
    cases = [(scored.recency_score.isin(list(r)) & scored.frequency_score.isin(list(f)), name)
             for name, r, f in RFM_SEGMENTS]
    return scored.mutate(rfm_segment=ibis.cases(*cases, else_="Hibernating"))


def rfm_segments(orders: ibis.Table, order_lines: ibis.Table, *,
                 as_of: Window, history: ibis.Table | None = None) -> pd.DataFrame:
    """Segment sizes and value as of the end of the window, most valuable segment first.

    Grain: RFM segment (every segment, 0 when empty). Columns: rfm_segment,
    count_customers, share_of_customers, sales_amount_lifetime, share_of_sales,
    avg_orders (per customer), avg_days_since_last_order.
    """
    scored = rfm_scores(orders, order_lines, as_of=as_of, history=history)
    frame = scored.group_by("rfm_segment").aggregate(
        count_customers=_.count(), sales_amount_lifetime=_.sales_amount_lifetime.sum(),
        avg_orders=_.count_orders.mean(),
        avg_days_since_last_order=_.days_since_last_order.mean()).to_pandas()
    out = pd.DataFrame({"rfm_segment": [name for name, *_ in RFM_SEGMENTS]}).merge(
        frame, on="rfm_segment", how="left")
    out["count_customers"] = out.count_customers.fillna(0).astype("int64")
    out["sales_amount_lifetime"] = out.sales_amount_lifetime.fillna(0.0).astype("float64")
    total_customers = pd.Series(out.count_customers.sum(), index=out.index)
    total_sales = pd.Series(out.sales_amount_lifetime.sum(), index=out.index)
    out["share_of_customers"] = series_ratio(out.count_customers, total_customers)
    out["share_of_sales"] = series_ratio(out.sales_amount_lifetime, total_sales)
    out = out.sort_values(["sales_amount_lifetime", "rfm_segment"],
                          ascending=[False, True]).reset_index(drop=True)
    return out[["rfm_segment", "count_customers", "share_of_customers",
                "sales_amount_lifetime", "share_of_sales", "avg_orders",
                "avg_days_since_last_order"]].astype({"avg_orders": "float64",
                                                      "avg_days_since_last_order": "float64"})


def median_days_to_second_order(orders: ibis.Table, order_lines: ibis.Table, *,
                                as_of: Window,
                                history: ibis.Table | None = None) -> float | None:
    """The store's median days from a customer's first to second order (None if nobody
    has ordered twice). Customers still waiting for a second order are not in it."""
    profiles = customer_profiles(orders, order_lines, as_of=as_of, history=history)
    value = profiles.days_to_second_order.median().to_pandas()
    return None if value is None or pd.isna(value) else float(value)


def lapse_ratios(orders: ibis.Table, order_lines: ibis.Table, *,
                 as_of: Window, history: ibis.Table | None = None) -> ibis.Table:
    """Every known customer's lapse ratio and status as of the end of the window.

    Grain: customer (an engine expression). Columns: customer_profiles' columns plus
    expected_interval_days (their usual interval, or the store's median time to second
    order for one-order customers; at least 1 day), lapse_ratio and lapse_status
    (`active` < AT_RISK_FROM ≤ `at_risk` ≤ LOST_ABOVE < `lost`). With nobody having
    ordered twice yet, one-order customers have no expected interval and stay `active`.
    """
    profiles = customer_profiles(orders, order_lines, as_of=as_of, history=history)
    store_median = median_days_to_second_order(orders, order_lines, as_of=as_of,
                                               history=history)
    fallback = ibis.literal(store_median, type="float64")
    interval = ibis.greatest(ibis.coalesce(profiles.usual_interval_days, fallback), 1.0)
    lapse = profiles.days_since_last_order.cast("float64") / interval
    status = ibis.cases((lapse > LOST_ABOVE, "lost"), (lapse >= AT_RISK_FROM, "at_risk"),
                        else_="active")
    return profiles.mutate(expected_interval_days=interval, lapse_ratio=lapse,
                           lapse_status=status)


def lapse_summary(orders: ibis.Table, order_lines: ibis.Table, *,
                  as_of: Window, history: ibis.Table | None = None) -> pd.DataFrame:
    """How many customers are active, at risk and lost, and what they have spent.

    Grain: lapse status × customer kind (`one order` / `repeat`). Columns: lapse_status,
    customer_kind, count_customers, sales_amount_lifetime.
    """
    lapsed = lapse_ratios(orders, order_lines, as_of=as_of, history=history)
    kind = ibis.ifelse(lapsed.count_orders > 1, "repeat", "one order")
    frame = lapsed.mutate(customer_kind=kind).group_by(["lapse_status", "customer_kind"]) \
        .aggregate(count_customers=_.count(),
                   sales_amount_lifetime=_.sales_amount_lifetime.sum()).to_pandas()
    grid = pd.MultiIndex.from_product([["active", "at_risk", "lost"], ["repeat", "one order"]],
                                      names=["lapse_status", "customer_kind"]).to_frame(
        index=False)
    out = grid.merge(frame, on=["lapse_status", "customer_kind"], how="left")
    out["count_customers"] = out.count_customers.fillna(0).astype("int64")
    out["sales_amount_lifetime"] = out.sales_amount_lifetime.fillna(0.0).astype("float64")
    return out


def _guest_email(key: ibis.StringValue) -> ibis.StringValue:
    """A guest's key is their email: show it as the contact (masked in HTML like any)."""
    return ibis.ifelse(key.contains("@"), key, ibis.null("string"))


def _without_guest_keys(keys: pd.Series) -> pd.Series:
    """A guest's key is their email: the id column stays empty (the email column has it)."""
    return keys.where(~keys.astype("string").str.contains("@", regex=False).fillna(False))


def call_list(orders: ibis.Table, order_lines: ibis.Table, customers: ibis.Table, *,
              as_of: Window, min_orders: int = 3,
              history: ibis.Table | None = None) -> pd.DataFrame:
    """Regular customers who have lapsed, most valuable first: the people to call.

    A regular has at least `min_orders` orders; lapsed = lapse status at_risk or lost.
    Grain: customer. Columns: customer_id (empty for a guest known by email), name, email,
    phone (contact details: shown in the owner's report, masked anywhere else), count_orders,
    last_order_date, days_since_last_order, expected_interval_days, lapse_ratio,
    lapse_status, sales_amount_lifetime. Customers missing from the customers table are
    listed with empty contact details.
    """
    require(customers, "customers", _CUSTOMER_COLUMNS)
    lapsed = lapse_ratios(orders, order_lines, as_of=as_of, history=history)
    lapsed = lapsed.filter((lapsed.count_orders >= min_orders) &
                           lapsed.lapse_status.isin(["at_risk", "lost"]))
    joined = lapsed.left_join(customers.select("customer_id", "name", "email", "phone"),
                              "customer_id")
    joined = joined.mutate(email=ibis.coalesce(joined.email, _guest_email(joined.customer_id)))
    frame = joined.select(
        "customer_id", "name", "email", "phone", "count_orders", "last_order_date",
        "days_since_last_order", "expected_interval_days", "lapse_ratio", "lapse_status",
        "sales_amount_lifetime").to_pandas()
    frame["lapse_ratio"] = frame.lapse_ratio.astype("float64").round(2)
    frame["customer_id"] = _without_guest_keys(frame.customer_id)
    frame = frame.sort_values(["sales_amount_lifetime", "customer_id"],
                              ascending=[False, True]).reset_index(drop=True)
    return frame.astype({"count_orders": "int64", "days_since_last_order": "int64",
                         "expected_interval_days": "float64",
                         "sales_amount_lifetime": "float64"})


def one_time_buyers_not_subscribed(orders: ibis.Table, order_lines: ibis.Table,
                                   customers: ibis.Table, *, as_of: Window,
                                   since_days: int = 365,
                                   history: ibis.Table | None = None) -> pd.DataFrame:
    """Customers with exactly one order (in the `since_days` to D) and no marketing consent.

    Consent is the customers table's current flag (the contract keeps no history of it).
    Grain: customer. Columns: customer_id (empty for a guest known by email), name, email
    (mask it in HTML), first_order_date,
    sales_amount_lifetime. Newest first. Customers missing from the customers table are
    listed with empty details (their consent is unknown).
    """
    require(customers, "customers", _CUSTOMER_COLUMNS)
    profiles = customer_profiles(orders, order_lines, as_of=as_of, history=history)
    since = as_of.end - dt.timedelta(days=since_days - 1)
    once = profiles.filter((profiles.count_orders == 1) & (profiles.first_order_date >= since))
    joined = once.left_join(customers.select("customer_id", "name", "email",
                                             "has_marketing_consent"), "customer_id")
    joined = joined.filter(~joined.has_marketing_consent.fill_null(False)).mutate(
        email=ibis.coalesce(joined.email, _guest_email(joined.customer_id)))
    frame = joined.select("customer_id", "name", "email", "first_order_date",
                          "sales_amount_lifetime").to_pandas()
    frame = frame.sort_values(["first_order_date", "customer_id"], ascending=[False, True])
    frame["customer_id"] = _without_guest_keys(frame.customer_id)
    return frame.reset_index(drop=True).astype({"sales_amount_lifetime": "float64"})


def survey_scores(surveys: ibis.Table, *, window: Window) -> pd.DataFrame:
    """CSAT, NPS and review scores per calendar month of the window.

    Grain: month (every month the window touches). Columns: month_start, count_csat,
    csat_rate (share of csat scores 4–5), count_nps, net_promoter_score (−100…100),
    count_reviews, avg_review_score. Rates are empty in a month without responses.
    """
    require(surveys, "surveys", ("submitted_at", "kind", "score"))
    rows = surveys.filter(in_window(surveys.submitted_at, window))
    day = local_date(rows.submitted_at, window.zone)
    rows = rows.mutate(month_start=day.truncate("M"))
    is_csat, is_nps = rows.kind == "csat", rows.kind == "nps"
    frame = rows.group_by("month_start").aggregate(
        count_csat=is_csat.sum(),
        count_satisfied=(is_csat & (rows.score >= SATISFIED_MIN_SCORE)).sum(),
        count_nps=is_nps.sum(),
        count_promoters=(is_nps & (rows.score >= 9)).sum(),
        count_detractors=(is_nps & (rows.score <= 6)).sum(),
        count_reviews=(rows.kind == "review").sum(),
        avg_review_score=rows.score.mean(where=rows.kind == "review")).to_pandas()
    months = pd.DataFrame({"month_start": pd.to_datetime(month_starts(window))})
    frame["month_start"] = pd.to_datetime(frame.month_start)
    out = months.merge(frame, on="month_start", how="left")
    counts = ["count_csat", "count_satisfied", "count_nps", "count_promoters",
              "count_detractors", "count_reviews"]
    out[counts] = out[counts].fillna(0).astype("int64")
    out["csat_rate"] = series_ratio(out.count_satisfied, out.count_csat)
    out["net_promoter_score"] = 100 * series_ratio(out.count_promoters - out.count_detractors,
                                                   out.count_nps)
    return out[["month_start", "count_csat", "csat_rate", "count_nps", "net_promoter_score",
                "count_reviews", "avg_review_score"]].astype({"avg_review_score": "float64"})


# ---------------------------------------------------------------------------------------
# Lists to act on and loyalty tiers


def _with_contacts(frame: pd.DataFrame, customers: ibis.Table, *, as_of: Window,
                   phone: bool = False) -> pd.DataFrame:
    """Per-customer rows (`customer_id` = the customer key, a guest's being their e-mail)
    with the contact columns first (opslib.metrics.outreach.with_contacts: the customer
    record as of D, found by id, else by e-mail) and has_marketing_consent last; `phone`
    adds the customer's phone after the names."""
    keys = frame.customer_id.astype(object)
    guest = keys.astype("string").str.contains("@", regex=False).fillna(False).astype(bool)
    email = frame["email"] if "email" in frame else pd.Series(None, index=frame.index)
    base = frame.assign(customer_id=keys.where(~guest, None),
                        email=email.astype(object).where(email.notna(), keys.where(guest)))
    out = outreach.with_contacts(base, customers, as_of=as_of)
    if phone:
        ids = out.customer_id.dropna().unique().tolist()
        known = customers.filter(customers.customer_id.isin(ids or [""])).select(
            "customer_id", "phone").to_pandas().set_index("customer_id").phone
        out.insert(3, "phone", out.customer_id.map(known).astype(object))
        out["phone"] = out.phone.where(out.phone.notna(), None)
    return out.reset_index(drop=True)


def lapsed_regulars(orders: ibis.Table, order_lines: ibis.Table, customers: ibis.Table, *,
                    as_of: Window, history: ibis.Table | None = None) -> pd.DataFrame:
    """The call list (call_list) as an action list: email, first_name, last_name, phone,
    then call_list's columns and has_marketing_consent."""
    frame = call_list(orders, order_lines, customers, as_of=as_of, history=history)
    return _with_contacts(frame.drop(columns=["name", "phone"]), customers, as_of=as_of,
                          phone=True)


def win_back(orders: ibis.Table, order_lines: ibis.Table, customers: ibis.Table, *,
             as_of: Window, days: tuple[int, int] = WIN_BACK_DAYS,
             history: ibis.Table | None = None) -> pd.DataFrame:
    """One-time buyers whose only order was `days[0]`–`days[1]` days before D.

    Grain: customer. Columns: email, first_name, last_name, customer_id, first_order_date,
    days_since_last_order, sales_amount_lifetime, has_marketing_consent. Most recent first
    (the likeliest to come back), then the most valuable.
    """
    profiles = customer_profiles(orders, order_lines, as_of=as_of, history=history)
    once = profiles.filter((profiles.count_orders == 1)
                           & profiles.days_since_last_order.between(*days))
    frame = once.select("customer_id", "first_order_date", "days_since_last_order",
                        "sales_amount_lifetime").to_pandas()
    frame = frame.sort_values(["days_since_last_order", "sales_amount_lifetime", "customer_id"],
                              ascending=[True, False, True])
    return _with_contacts(frame, customers, as_of=as_of).astype(
        {"days_since_last_order": "int64", "sales_amount_lifetime": "float64"})


def segment_list(orders: ibis.Table, order_lines: ibis.Table, customers: ibis.Table, *,
                 as_of: Window, history: ibis.Table | None = None) -> pd.DataFrame:
    """Every known customer with their RFM scores and segment: the audience file.

    Grain: customer. Columns: email, first_name, last_name, customer_id, rfm_segment,
    recency_score, frequency_score, monetary_score, count_orders, first_order_date,
    last_order_date, days_since_last_order, sales_amount_lifetime, has_marketing_consent.
    In RFM_SEGMENTS order (Champions first), the most valuable first within a segment.
    """
    scored = rfm_scores(orders, order_lines, as_of=as_of, history=history).select(
        "customer_id", "rfm_segment", "recency_score", "frequency_score", "monetary_score",
        "count_orders", "first_order_date", "last_order_date", "days_since_last_order",
        "sales_amount_lifetime").to_pandas()
    rank = {name: i for i, (name, *_) in enumerate(RFM_SEGMENTS)}
    scored = scored.assign(rank=scored.rfm_segment.map(rank)).sort_values(
        ["rank", "sales_amount_lifetime", "customer_id"], ascending=[True, False, True]) \
        .drop(columns="rank")
    return _with_contacts(scored, customers, as_of=as_of).astype(
        {"recency_score": "int64", "frequency_score": "int64", "monetary_score": "int64",
         "count_orders": "int64", "days_since_last_order": "int64",
         "sales_amount_lifetime": "float64"})


def _score_share(kind: pd.Series, score: pd.Series) -> pd.Series:
    """A score on a 0–1 scale (0 worst), whatever the kind's range."""
    low = kind.map({k: lo for k, (lo, _) in _SCORE_SCALE.items()}).astype("float64")
    high = kind.map({k: hi for k, (_, hi) in _SCORE_SCALE.items()}).astype("float64")
    return (score.astype("float64") - low) / (high - low)


def _responses(surveys: ibis.Table, window: Window) -> pd.DataFrame:
    """The window's survey responses, worst first (then newest), with is_detractor."""
    require(surveys, "surveys", _SURVEY_COLUMNS)
    rows = surveys.filter(in_window(surveys.submitted_at, window))
    frame = rows.mutate(submitted_date=local_date(rows.submitted_at, window.zone)).select(
        "response_id", "customer_id", "order_id", "ticket_id", "submitted_at",
        "submitted_date", "kind", "score", "comment").to_pandas()
    frame["score"] = frame.score.astype("int64")
    frame["is_detractor"] = (frame.score <= frame.kind.map(outreach.LOW_SCORES)
                             .astype("float64")).astype(bool)
    frame["share"] = _score_share(frame.kind, frame.score)
    return frame.sort_values(["share", "submitted_at", "response_id"],
                             ascending=[True, False, True]).reset_index(drop=True)


def detractors(surveys: ibis.Table, orders: ibis.Table, customers: ibis.Table, *,
               window: Window) -> pd.DataFrame:
    """Responses of the window scoring nps 0–6 or csat/review 1–2, worst first: whom to call.

    The customer is the response's customer_id, else the rated order's customer (or its
    email for a guest). Grain: response. Columns: email, first_name, last_name, phone,
    customer_id, submitted_date, kind, score, comment, order_id, ticket_id,
    has_marketing_consent. Responses without a known customer are kept (contacts empty).
    """
    require(orders, "orders", ("order_id", "customer_id", "email"))
    low = _responses(surveys, window)
    low = low[low.is_detractor]
    rated = orders.filter(orders.order_id.isin(low.order_id.dropna().tolist())).select(
        "order_id", order_customer="customer_id", order_email="email").to_pandas()
    low = low.merge(rated.assign(order_id=rated.order_id.astype(object)),
                    on="order_id", how="left")
    key = low.customer_id.astype(object).where(low.customer_id.notna(), low.order_customer)
    frame = low.assign(customer_id=key, email=low.order_email.where(key.isna(), None))[
        ["customer_id", "email", "submitted_date", "kind", "score", "comment", "order_id",
         "ticket_id"]]
    return _with_contacts(frame, customers, as_of=Window.of(window.end, zone=window.zone),
                          phone=True).astype({"score": "int64"})


def survey_comments(surveys: ibis.Table, *, window: Window) -> pd.DataFrame:
    """What customers wrote in the window: responses with a comment, detractors first.

    Grain: response. Columns: submitted_date, kind, score, is_detractor, comment,
    order_id, ticket_id. Worst score first (on a 0–1 scale across kinds), then newest.
    Comments are shown as text, escaped (never as HTML).
    """
    frame = _responses(surveys, window)
    written = frame.comment.astype("string").str.strip().fillna("") != ""
    frame = frame[written].sort_values("is_detractor", ascending=False, kind="stable")
    return frame[["submitted_date", "kind", "score", "is_detractor", "comment", "order_id",
                  "ticket_id"]].reset_index(drop=True).astype({"score": "int64"})


def tier_of(count_orders: pd.Series, spend: pd.Series, tiers: Sequence) -> pd.Series:
    """The highest of `tiers` (lowest first; each with name, min_spend, min_orders) whose
    thresholds are both reached; None below the first.

    >>> from opslib.config import LoyaltyTier
    >>> tiers = [LoyaltyTier("Bronze", 0, 1), LoyaltyTier("Gold", 100, 3)]
    >>> tier_of(pd.Series([1, 3, 5, 0]), pd.Series([500.0, 100.0, 99.0, 0.0]), tiers).tolist()
    ['Bronze', 'Gold', 'Bronze', None]
    """
    out = pd.Series([None] * len(count_orders), index=count_orders.index, dtype=object)
    for tier in tiers:
        out[(spend >= tier.min_spend) & (count_orders >= tier.min_orders)] = tier.name
    return out


def _tier_counts(placed: ibis.Table, end: dt.date, window_days: int) -> ibis.Table:
    counted = placed.filter(placed.date_day <= end)
    if window_days:
        counted = counted.filter(counted.date_day > end - dt.timedelta(days=window_days))
    return counted.group_by("customer_id").aggregate(count_orders=_.count(),
                                                     spend_amount=_.sales_amount.sum())


def loyalty_members(orders: ibis.Table, order_lines: ibis.Table, *, as_of: Window,
                    tiers: Sequence, window_days: int = 0,
                    history: ibis.Table | None = None) -> pd.DataFrame:
    """Every known customer's loyalty tier at D and at the end of the previous month.

    Grain: customer (with an order up to D). Columns: customer_id, count_orders,
    spend_amount (what the tier counts: orders and gross − discounts over the last
    `window_days` days to D, every order if 0), loyalty_tier, previous_tier, tier_move
    (`up`, `down`, `new`: no tier before and one now, or empty), first_order_date,
    last_order_date, sales_amount (gross − discounts from the 1st of D's month to D).
    """
    placed = customer_history(orders, order_lines, as_of=as_of, history=history)
    month_start = month_of(as_of.end, zone=as_of.zone).start
    before_end = month_start - dt.timedelta(days=1)
    dates = placed.group_by("customer_id").aggregate(
        first_order_date=_.date_day.min(), last_order_date=_.date_day.max(),
        sales_amount=_.sales_amount.sum(where=_.date_day >= month_start)).to_pandas()
    now = _tier_counts(placed, as_of.end, window_days).to_pandas()
    before = _tier_counts(placed, before_end, window_days).to_pandas()
    now["loyalty_tier"] = tier_of(now.count_orders, now.spend_amount, tiers)
    before["previous_tier"] = tier_of(before.count_orders, before.spend_amount, tiers)
    out = dates.merge(now, on="customer_id", how="left").merge(
        before[["customer_id", "previous_tier"]], on="customer_id", how="left")
    rank = {tier.name: i for i, tier in enumerate(tiers)}
    was = out.previous_tier.map(rank).astype("float64").fillna(-1)
    is_ = out.loyalty_tier.map(rank).astype("float64").fillna(-1)
    out["tier_move"] = np.select([(was < 0) & (is_ >= 0), is_ > was, is_ < was],
                                 ["new", "up", "down"], "")
    out["count_orders"] = out.count_orders.fillna(0).astype("int64")
    out["spend_amount"] = out.spend_amount.fillna(0.0).astype("float64")
    out["sales_amount"] = out.sales_amount.fillna(0.0).astype("float64")
    out = out.astype({"loyalty_tier": object, "previous_tier": object})
    out = out.where(out.notna(), None).astype({"count_orders": "int64"})
    return out[["customer_id", "count_orders", "spend_amount", "loyalty_tier",
                "previous_tier", "tier_move", "first_order_date", "last_order_date",
                "sales_amount"]].sort_values("customer_id").reset_index(drop=True)


def tier_summary(members: pd.DataFrame, *, tiers: Sequence, month: Window) -> pd.DataFrame:
    """Customers, moves, sales and repeat rate per tier at D (highest tier first).

    Grain: tier (every tier, 0 when empty; a `No tier` row when some customers are below
    the first). Columns: loyalty_tier, count_customers, share_of_customers,
    count_moved_up (moved up into it this month, new members included), count_moved_down,
    sales_amount (their gross − discounts in the month to D), share_of_sales, repeat_rate
    (of its customers who had ordered before the month, the share who ordered in it).
    """
    names = [tier.name for tier in reversed(tiers)]
    frame = members.assign(loyalty_tier=members.loyalty_tier.where(
        members.loyalty_tier.notna(), "No tier"))
    if (frame.loyalty_tier == "No tier").any():
        names.append("No tier")
    start = pd.Timestamp(month.start)
    earlier = pd.to_datetime(frame.first_order_date) < start
    came_back = earlier & (pd.to_datetime(frame.last_order_date) >= start)
    frame = frame.assign(up=frame.tier_move.isin(["up", "new"]),
                         down=frame.tier_move == "down", earlier=earlier, came_back=came_back)
    per = frame.groupby("loyalty_tier").agg(
        count_customers=("customer_id", "count"), count_moved_up=("up", "sum"),
        count_moved_down=("down", "sum"), sales_amount=("sales_amount", "sum"),
        count_earlier=("earlier", "sum"), count_came_back=("came_back", "sum"))
    out = per.reindex(names).fillna(0).rename_axis("loyalty_tier").reset_index()
    counts = ["count_customers", "count_moved_up", "count_moved_down"]
    out[counts] = out[counts].astype("int64")
    out["sales_amount"] = out.sales_amount.astype("float64")
    out["share_of_customers"] = series_ratio(
        out.count_customers, pd.Series(out.count_customers.sum(), index=out.index))
    out["share_of_sales"] = series_ratio(
        out.sales_amount, pd.Series(out.sales_amount.sum(), index=out.index))
    out["repeat_rate"] = series_ratio(out.count_came_back, out.count_earlier)
    return out[["loyalty_tier", "count_customers", "share_of_customers", "count_moved_up",
                "count_moved_down", "sales_amount", "share_of_sales", "repeat_rate"]]


def vip_list(members: pd.DataFrame, customers: ibis.Table, *, tiers: Sequence,
             as_of: Window) -> pd.DataFrame:
    """The customers of the top tier, highest spend first.

    Grain: customer. Columns: email, first_name, last_name, customer_id, loyalty_tier,
    count_orders, spend_amount, last_order_date, tier_move, has_marketing_consent.
    """
    top = members[members.loyalty_tier == tiers[-1].name].sort_values(
        ["spend_amount", "customer_id"], ascending=[False, True])
    return _with_contacts(top[["customer_id", "loyalty_tier", "count_orders", "spend_amount",
                               "last_order_date", "tier_move"]], customers, as_of=as_of)


def tier_moves(members: pd.DataFrame, customers: ibis.Table, *, tiers: Sequence,
               as_of: Window) -> pd.DataFrame:
    """Customers whose tier went up or down this month (new members left out), the highest
    tier first. Columns: email, first_name, last_name, customer_id, previous_tier,
    loyalty_tier, tier_move, spend_amount, has_marketing_consent."""
    rank = {tier.name: i for i, tier in enumerate(tiers)}
    moved = members[members.tier_move.isin(["up", "down"])]
    moved = moved.assign(rank=moved.loyalty_tier.map(rank).astype("float64").fillna(-1)) \
        .sort_values(["rank", "spend_amount", "customer_id"], ascending=[False, False, True])
    return _with_contacts(moved[["customer_id", "previous_tier", "loyalty_tier", "tier_move",
                                 "spend_amount"]], customers, as_of=as_of)
