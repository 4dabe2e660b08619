"""Customers and loyalty: who is new, who comes back, who has lapsed, what they think,
and the lists to act on (lapsed_regulars, win_back, detractors, segments, vip)."""

from __future__ import annotations

import datetime as dt
import functools

import altair as alt
import pandas as pd

from opslib import charts
from opslib import display as show
from opslib.exports import action_list
from opslib.metrics import customers, outreach
from opslib.metrics.months import month_of, trailing_months
from opslib.store import Store, Window
from opslib.views.base import section
from opslib.views.monthly import data
from opslib.views.monthly.common import (
    comparison_table, comparison_tiles, periods, recorded, table, three_months,
)

__all__ = ["HEADLINE", "CALL_LIST_ROWS", "headline", "new_and_returning", "cohorts",
           "segments", "call_list", "not_subscribed", "surveys", "figures", "lists",
           "win_back", "loyalty_tiers", "vip", "detractors", "comments", "audience"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("customers", "orders", "order_lines", "surveys")

HEADLINE = (
    ("count_customers", "Customers who ordered", "count"),
    ("count_new_customers", "New customers", "count"),
    ("returning_customer_rate", "Returning-customer rate", "rate"),
    ("repeat_purchase_rate_90d", "90-day repeat-purchase rate", "rate"),
)
CALL_LIST_ROWS = 50


def _figures(store: Store, window: Window, day: dt.date) -> dict:
    return {**data.customer_figures(store, window, day),
            **data.repeat_figures(store, window, day)}


@section("Customers at a glance")
def headline(store: Store, day: dt.date) -> list:
    """New customers, the returning-customer rate and the cohort repeat rate, named apart."""
    values = three_months(store, day, lambda s, w: _figures(s, w, day))
    cohort = values[0]["cohort_month"]
    return [comparison_tiles(store, values, HEADLINE),
            comparison_table(store, day, values, HEADLINE),
            show.note(
                "Returning-customer rate (Shopify's look-back definition): customers who "
                "ordered this month and had ordered before at any time ÷ all customers who "
                "ordered this month. 90-day repeat-purchase rate: of the customers whose "
                f"first order was in {cohort:%B %Y} (the latest month whose 90 days have "
                "passed), the share who ordered again within 90 days.")]


@section("New and returning customers")
def new_and_returning(store: Store, day: dt.date) -> list:
    """Orders and sales (gross − discounts) of new, returning and unknown customers."""
    now = periods(store, day)[0]
    frame = customers.new_vs_returning(store.table("orders"), store.table("order_lines"),
                                       window=now, history=data.customer_history(store, day))
    return [table(store, frame, units={"count_customers": "count", "count_orders": "count",
                                       "sales_amount": "money", "avg_order_value": "money",
                                       "share_of_sales": "rate"})]


def _heatmap(frame) -> charts.Chart:
    shown = frame.assign(cohort=frame.cohort_month.dt.strftime("%b %Y"))
    order = shown.sort_values("cohort_month").cohort.unique().tolist()
    chart = alt.Chart(shown).mark_rect().encode(
        x=alt.X("months_since_first:O", title="Months since first order"),
        y=alt.Y("cohort:O", title=None, sort=order),
        color=alt.Color("retention_rate:Q", title="Ordered", scale=alt.Scale(scheme="blues"),
                        legend=alt.Legend(format=".0%")),
        tooltip=["cohort", "months_since_first", alt.Tooltip("retention_rate:Q", format=".0%")])
    one_on = shown[shown.months_since_first == 1].retention_rate.mean()
    described = (f"Heat map of cohort retention: for each month's new customers, from "
                 f"{order[0]} to {order[-1]}, the share who ordered in each later month"
                 + (f"; {one_on:.0%} on average one month on." if one_on == one_on else "."))
    return charts.to_display(chart.properties(title="Cohort retention", width=480,
                                              height=18 * shown.cohort.nunique() + 20),
                             described)


@section("Cohort retention")
def cohorts(store: Store, day: dt.date) -> list:
    """Of each month's new customers, the share who ordered in each later month."""
    frame = customers.cohort_retention(store.table("orders"), store.table("order_lines"),
                                       as_of=store.window(day), months=data.COHORT_MONTHS,
                                       history=data.customer_history(store, day))
    if frame.empty:
        return [show.note("No customer orders in the last 12 months.")]
    matrix = customers.retention_matrix(frame)
    units = {c: "rate" for c in matrix.columns if c.startswith("month_")}
    return [table(store, matrix, units={"cohort_month": "month", "cohort_size": "count",
                                        **units}), _heatmap(frame)]


@section("RFM segments")
def segments(store: Store, day: dt.date) -> list:
    """Customers by recency and frequency scores (1–5), with their lifetime value."""
    frame = customers.rfm_segments(store.table("orders"), store.table("order_lines"),
                                   as_of=store.window(day),
                                   history=data.customer_history(store, day))
    return [table(store, frame, units={"count_customers": "count", "share_of_customers": "rate",
                                       "sales_amount_lifetime": "money", "share_of_sales": "rate",
                                       "avg_orders": "number",
                                       "avg_days_since_last_order": "days"}),
            charts.bar(frame, x="rfm_segment", y="count_customers", horizontal=True,
                       y_unit="count", title="Customers per segment", height=200)]


@section("Call list: regulars who have lapsed")
def call_list(store: Store, day: dt.date) -> list:
    """Customers with 3+ orders now at risk or lost, most valuable first, with the email and
    phone to reach them (this is the owner's report; staff pages never show it)."""
    return [_list(store, "lapsed_regulars", lists(store, day)["lapsed_regulars"],
                  empty="No regular customer has lapsed."),
            show.note("Lapse ratio = days since the last order ÷ the customer's usual "
                      "interval between orders: at risk from 0.8, lost above 1.5. The "
                      "contact details are shown in full so you can call or write to them: "
                      "keep this report to yourself.")]


@section("One-time buyers not on the newsletter")
def not_subscribed(store: Store, day: dt.date) -> list:
    """Customers of the last year with one order and no marketing consent, newest first."""
    t = store.table
    frame = customers.one_time_buyers_not_subscribed(
        t("orders"), t("order_lines"), t("customers"), as_of=store.window(day),
        history=data.customer_history(store, day))
    return [show.note(f"{len(frame):,} one-time buyers of the last 12 months are not on "
                      f"the newsletter."),
            table(store, frame, mask=("email",), limit=CALL_LIST_ROWS,
                  units={"first_order_date": "date", "sales_amount_lifetime": "money"},
                  empty="Every one-time buyer of the last year is on the newsletter.")]


@section("Survey scores")
def surveys(store: Store, day: dt.date) -> list:
    """CSAT, NPS and review scores per month over 13 months."""
    window = Window.of(trailing_months(month_of(day, zone=store.zone), data.TREND_MONTHS).start,
                       day, zone=store.zone)
    frame = customers.survey_scores(store.table("surveys"), window=window)
    return [table(store, frame, units={"month_start": "month", "count_csat": "count",
                                       "csat_rate": "rate", "count_nps": "count",
                                       "net_promoter_score": "number", "count_reviews": "count",
                                       "avg_review_score": "number"}),
            charts.line(frame.dropna(subset=["csat_rate"]), x="month_start", y="csat_rate",
                        y_unit="rate", title="CSAT (share of scores 4–5)", height=150)]


def figures(store: Store, day: dt.date) -> dict[str, float | None]:
    """count_new_customers, returning_customer_rate, repeat_purchase_rate_90d (each with
    _prev_month and _prev_year)."""
    values = three_months(store, day, lambda s, w: _figures(s, w, day))
    return recorded(values, ("count_new_customers", "returning_customer_rate",
                             "repeat_purchase_rate_90d"))


_LIST_UNITS = {"count_orders": "count", "last_order_date": "date", "first_order_date": "date",
               "days_since_last_order": "count", "expected_interval_days": "days",
               "lapse_ratio": "ratio", "sales_amount_lifetime": "money",
               "has_marketing_consent": "yesno", "submitted_date": "date", "score": "count",
               "recency_score": "count", "frequency_score": "count",
               "monetary_score": "count", "spend_amount": "money", "sales_amount": "money",
               "is_detractor": "yesno"}
MARKETING_LISTS = ("win_back", "segments", "vip")


def _list(store: Store, name: str, frame: pd.DataFrame, *, limit: int = CALL_LIST_ROWS,
          empty: str) -> show.Block:
    return action_list(name, frame, units=_LIST_UNITS, limit=limit, empty=empty,
                       currency=store.settings.store.currency)


@functools.lru_cache(maxsize=16)
def _members(store: Store, day: dt.date) -> pd.DataFrame:
    loyalty = store.settings.loyalty
    return customers.loyalty_members(
        store.table("orders"), store.table("order_lines"), as_of=store.window(day),
        tiers=loyalty.tiers, window_days=loyalty.window_days,
        history=data.customer_history(store, day))


@functools.lru_cache(maxsize=16)
def _lists(store: Store, day: dt.date) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    t, as_of = store.table, store.window(day)
    history = data.customer_history(store, day)
    tiers = store.settings.loyalty.tiers
    found = {
        "lapsed_regulars": customers.lapsed_regulars(t("orders"), t("order_lines"),
                                                     t("customers"), as_of=as_of,
                                                     history=history),
        "win_back": customers.win_back(t("orders"), t("order_lines"), t("customers"),
                                       as_of=as_of, history=history),
        "detractors": customers.detractors(t("surveys"), t("orders"), t("customers"),
                                           window=month_of(day, zone=store.zone)),
        "segments": customers.segment_list(t("orders"), t("order_lines"), t("customers"),
                                           as_of=as_of, history=history),
        "vip": customers.vip_list(_members(store, day), t("customers"), tiers=tiers,
                                  as_of=as_of),
    }
    left_out = {}
    for name in MARKETING_LISTS:
        found[name], left_out[name] = outreach.consented(found[name])
    return found, left_out


def lists(store: Store, day: dt.date) -> dict[str, pd.DataFrame]:
    """The month's lists to act on, by name, as written to lists/<name>.csv: the service
    lists (lapsed_regulars, detractors) with a consent column, the marketing lists
    (win_back, segments, vip) holding only customers with marketing consent."""
    return _lists(store, day)[0]


def _left_out(store: Store, day: dt.date, name: str) -> show.Block:
    count = _lists(store, day)[1][name]
    return show.note(f"{count:,} customer(s) without marketing consent were left out of "
                     f"this list (a marketing list holds only subscribed customers).")


@section("Win back one-time buyers")
def win_back(store: Store, day: dt.date) -> list:
    """One-time buyers 60–180 days after their only order, most recent first."""
    low, high = customers.WIN_BACK_DAYS
    return [_list(store, "win_back", lists(store, day)["win_back"],
                  empty=f"No subscribed customer ordered once {low}–{high} days ago."),
            _left_out(store, day, "win_back")]


@section("Loyalty tiers")
def loyalty_tiers(store: Store, day: dt.date) -> list:
    """Customers, sales and repeat rate per tier, and who moved up or down this month."""
    loyalty = store.settings.loyalty
    members = _members(store, day)
    summary = customers.tier_summary(members, tiers=loyalty.tiers,
                                     month=month_of(day, zone=store.zone))
    moves = customers.tier_moves(members, store.table("customers"), tiers=loyalty.tiers,
                                 as_of=store.window(day))
    currency = store.settings.store.currency
    rules = "; ".join(f"{t.name}: {t.min_orders}+ orders and "
                      f"{show.format_value(t.min_spend, 'money', currency=currency)}+"
                      for t in loyalty.tiers)
    span = f"in the last {loyalty.window_days} days" if loyalty.window_days else "to date"
    return [table(store, summary, units={"count_customers": "count",
                                         "share_of_customers": "rate",
                                         "count_moved_up": "count", "count_moved_down": "count",
                                         "sales_amount": "money", "share_of_sales": "rate",
                                         "repeat_rate": "rate"}),
            show.note(f"Tiers by spend (gross − discounts) and orders {span} ({rules}), "
                      f"set in playbook.toml [loyalty]. Moves compare the tier on "
                      f"{day:%-d %B} with the tier at the end of the previous month."),
            table(store, moves, title="Moved up or down this month", limit=CALL_LIST_ROWS,
                  units=_LIST_UNITS, empty="Nobody moved between tiers this month.")]


@section("VIP list: the top tier")
def vip(store: Store, day: dt.date) -> list:
    """Subscribed customers of the top loyalty tier, highest spend first."""
    top = store.settings.loyalty.tiers[-1].name
    return [_list(store, "vip", lists(store, day)["vip"],
                  empty=f"No subscribed customer is in the {top} tier."),
            _left_out(store, day, "vip")]


@section("Detractors to call")
def detractors(store: Store, day: dt.date) -> list:
    """This month's NPS 0–6 and CSAT or review 1–2, worst first, with their comments."""
    return [_list(store, "detractors", lists(store, day)["detractors"],
                  empty="No low score this month."),
            show.note("Call or write to them: the contact details are shown in full "
                      "(keep this report to yourself). Consent says whether they also "
                      "receive marketing.")]


@section("What customers wrote")
def comments(store: Store, day: dt.date) -> list:
    """Survey and review comments of the month, detractors first, shown as plain text."""
    frame = customers.survey_comments(store.table("surveys"),
                                      window=month_of(day, zone=store.zone))
    return [table(store, frame, limit=CALL_LIST_ROWS, highlight="is_detractor",
                  title="Comments (red: detractors)", units=_LIST_UNITS,
                  empty="No comment this month.")]


@section("Audience file: every customer by RFM segment")
def audience(store: Store, day: dt.date) -> list:
    """Subscribed customers with their RFM scores and segment, for targeted offers."""
    return [_list(store, "segments", lists(store, day)["segments"], limit=20,
                  empty="No subscribed customer."),
            _left_out(store, day, "segments")]
