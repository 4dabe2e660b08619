"""Goals and pacing: the month to date against the month's goal, and where it will end.

Definitions (docs/metrics.md, "Goals and pacing"):

* `<figure>_mtd` = the figure from the 1st of D's month to D (sums of the daily figures).
* `<figure>_projected` = month to date + an expected value for each day left in the month:
  expected(day) = run rate × weekday factor × last year's shape.
  - run rate = the daily average of the RUN_RATE_DAYS days to D;
  - weekday factor = the weekday's average ÷ the overall average over the WEEKDAY_DAYS days
    to D (1 when that average is 0);
  - last year's shape = (last year's daily average over the days left, 364 days earlier, so
    weekdays line up) ÷ (last year's daily average over the RUN_RATE_DAYS days to D − 364);
    1 when the history does not reach that far back or that average is 0.
* A goal is missed when the projection is below it; days before the store's first order
  count as no history, not as zeros.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis
import pandas as pd
from ibis import _

from opslib.metrics.common import full_calendar, ratio
from opslib.metrics.periods import LAST_YEAR_DAYS
from opslib.metrics.social import first_orders
from opslib.store import Window, local_date

__all__ = ["GOALS", "RUN_RATE_DAYS", "WEEKDAY_DAYS", "history_window", "weekday_factors",
           "project_month", "pace", "daily_new_customers"]

# (playbook.toml key under [goals], figure name, unit)
GOALS = (("net_sales", "net_sales", "money"), ("orders", "count_orders", "count"),
         ("new_customers", "count_new_customers", "count"),
         ("gross_profit", "gross_profit", "money"))
RUN_RATE_DAYS = 28
WEEKDAY_DAYS = 56


def history_window(day: dt.date, *, zone: str) -> Window:
    """The days a projection for D reads: from last year's run-up to D.

    >>> history_window(dt.date(2025, 11, 20), zone="UTC").start
    datetime.date(2024, 9, 27)
    """
    start = min(day.replace(day=1), day - dt.timedelta(days=WEEKDAY_DAYS - 1))
    return Window.of(start - dt.timedelta(days=LAST_YEAR_DAYS), day, zone=zone)


def _mean(values: pd.Series, first: dt.date, last: dt.date) -> float | None:
    """The average over first…last, None when some of those days are not in `values`."""
    days = pd.date_range(first, last)
    if not days.isin(values.index).all():
        return None
    return float(values.loc[days].mean())


def weekday_factors(values: pd.Series, *, day: dt.date) -> dict[int, float]:
    """Each weekday's (0 = Monday) average ÷ the overall average over the WEEKDAY_DAYS
    days to D (the days of `values` there are); 1 where unknown.

    >>> days = pd.Series([2.0, 0, 0, 0, 0, 0, 5], index=pd.date_range("2025-11-24", periods=7))
    >>> weekday_factors(days, day=dt.date(2025, 11, 30))[6]
    5.0
    """
    span = values[(values.index > pd.Timestamp(day - dt.timedelta(days=WEEKDAY_DAYS)))
                  & (values.index <= pd.Timestamp(day))]
    overall = float(span.mean()) if len(span) else 0.0
    means = span.groupby(span.index.day_of_week).mean()
    return {weekday: (float(means[weekday]) / overall if overall and weekday in means.index
                      else 1.0) for weekday in range(7)}


def project_month(values: pd.Series, *, day: dt.date, month: Window) -> dict[str, float]:
    """Month to date and the projection to month end for one daily figure.

    `values` is the figure per local day (a DatetimeIndex; days the history does not cover
    left out), covering history_window(D). Keys: mtd, projected, run_rate, shape.

    A store that sold 10 a day for four weeks, every day alike, on 28 November of a
    30-day month: month to date 280, two days left at 10 a day.

    >>> days = pd.Series(10.0, index=pd.date_range("2025-11-01", "2025-11-28"))
    >>> month = Window.of("2025-11-01", "2025-11-30", zone="UTC")
    >>> project_month(days, day=dt.date(2025, 11, 28), month=month)["projected"]
    300.0
    """
    values = values.astype("float64")
    start = pd.Timestamp(month.start)
    mtd = float(values[(values.index >= start) & (values.index <= pd.Timestamp(day))].sum())
    first = max(day - dt.timedelta(days=RUN_RATE_DAYS - 1), values.index.min().date()) \
        if len(values) else day
    run_rate = _mean(values, first, day) or 0.0
    left = pd.date_range(day + dt.timedelta(days=1), month.end)
    shape = 1.0
    if len(left):
        shift = dt.timedelta(days=LAST_YEAR_DAYS)
        rest = _mean(values, left[0].date() - shift, left[-1].date() - shift)
        before = _mean(values, day - dt.timedelta(days=RUN_RATE_DAYS - 1) - shift, day - shift)
        known = ratio(rest, before)
        shape = 1.0 if known is None else known
    factors = weekday_factors(values, day=day)
    expected = sum(run_rate * factors[d.day_of_week] * shape for d in left)
    return {"mtd": mtd, "projected": mtd + float(expected), "run_rate": run_rate,
            "shape": shape}


def pace(series: Mapping[str, pd.Series], goals: Mapping[str, float | None], *,
         day: dt.date, month: Window) -> pd.DataFrame:
    """One row per figure that has a goal: month to date, goal and projection.

    `series` maps a figure name to its daily values (as project_month reads them).
    Grain: figure (in GOALS order). Columns: figure, goal, mtd, goal_progress_rate (mtd ÷
    goal), projected, projected_vs_goal_rate (projected ÷ goal), is_projected_to_miss.
    """
    rows = []
    for _key, name, _unit in GOALS:
        goal = goals.get(name)
        if goal is None:
            continue
        out = project_month(series[name], day=day, month=month)
        rows.append({"figure": name, "goal": float(goal), "mtd": out["mtd"],
                     "goal_progress_rate": ratio(out["mtd"], goal),
                     "projected": out["projected"],
                     "projected_vs_goal_rate": ratio(out["projected"], goal),
                     "is_projected_to_miss": out["projected"] < float(goal)})
    return pd.DataFrame(rows, columns=["figure", "goal", "mtd", "goal_progress_rate",
                                       "projected", "projected_vs_goal_rate",
                                       "is_projected_to_miss"]).astype(
        {"goal_progress_rate": "float64", "projected_vs_goal_rate": "float64"})


def daily_new_customers(orders: ibis.Table, *, window: Window) -> pd.DataFrame:
    """Customers whose first counted order falls on each local day of the window (a full
    calendar), counted as opslib.metrics.social.count_new_customers counts them.

    Grain: day. Columns: date_day, count_new_customers.
    """
    first = first_orders(orders, window=window)
    frame = first.group_by(date_day=local_date(first.first_at, window.zone)).aggregate(
        count_new_customers=_.count()).to_pandas()
    return full_calendar(frame, window, zero=["count_new_customers"])
