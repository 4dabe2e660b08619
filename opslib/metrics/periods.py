"""Periods: a week (or any window) against the one before and the same one last year.

Rules (docs/metrics.md, "Weekly"):

* The previous period is the same number of days right before (the week before a week).
* The same period last year is the window moved back LAST_YEAR_DAYS = 364 days (52 whole
  weeks), so it starts on the same weekday: a Monday–Sunday week is compared with a
  Monday–Sunday week, and weekday and weekend trade are not mixed up. (The ISO week of the
  year before would be the same thing except in years with 53 ISO weeks, where it drifts a
  week; 364 days never does.)
* A period's figures are the sums of its days; a ratio is the ratio of the sums (never the
  average of daily ratios), with the numerator and denominator of opslib.metrics.kpis.
* change = (value − base) ÷ |base|; empty when the base is 0 or unknown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import pandas as pd

from opslib.metrics.common import ratio
from opslib.metrics.kpis import KPIS
from opslib.store import Window

__all__ = ["LAST_YEAR_DAYS", "previous_period", "same_period_last_year", "change",
           "kpi_totals", "compare_periods", "by_week"]

LAST_YEAR_DAYS = 364


def previous_period(window: Window) -> Window:
    """The same number of days right before the window.

    >>> previous_period(Window.of("2025-11-24", "2025-11-30", zone="UTC")).start
    datetime.date(2025, 11, 17)
    """
    return window.shift(-window.days)


def same_period_last_year(window: Window) -> Window:
    """The window 364 days (52 weeks) earlier: the same weekdays a year before.

    >>> w = same_period_last_year(Window.of("2025-11-24", "2025-11-30", zone="UTC"))
    >>> w.start, w.start.strftime("%A")
    (datetime.date(2024, 11, 25), 'Monday')
    """
    return window.shift(-LAST_YEAR_DAYS)


def change(value: float | None, base: float | None) -> float | None:
    """(value − base) ÷ |base|; None when either is unknown or the base is 0.

    >>> change(120, 100), change(80, -100), change(5, 0)
    (0.2, 1.8, None)
    """
    if value is None or base is None or pd.isna(value) or pd.isna(base) or base == 0:
        return None
    return (float(value) - float(base)) / abs(float(base))


def kpi_totals(daily: pd.DataFrame) -> dict[str, float | None]:
    """The period's KPIs from a kpis.daily_kpis frame: sums, and ratios of the sums.

    A KPI whose source table is absent (all days empty) is None.

    >>> days = pd.DataFrame({"count_orders": [3, 1], "count_sessions": [100, 100],
    ...     "net_sales": [50.0, 10.0], "quantity_sold": [4, 1], "returns_amount": [0.0, 5.0],
    ...     "ad_spend": [10.0, 10.0], "sales_after_discounts": [60.0, 20.0],
    ...     "conversion_rate": [0.03, 0.01], "avg_order_value": [20.0, 20.0],
    ...     "blended_roas": [6.0, 2.0]})
    >>> t = kpi_totals(days)
    >>> t["count_orders"], t["conversion_rate"], t["avg_order_value"], t["blended_roas"]
    (4, 0.02, 20.0, 4.0)
    """
    sums: dict[str, float | None] = {}
    for column in ("count_orders", "count_sessions", "net_sales", "quantity_sold",
                   "returns_amount", "ad_spend", "sales_after_discounts"):
        values = daily[column]
        sums[column] = None if values.isna().all() else float(values.sum())
    out: dict[str, float | None] = {}
    for kpi in KPIS:
        if kpi.numerator:
            out[kpi.name] = ratio(sums[kpi.numerator], sums[kpi.denominator])
        else:
            out[kpi.name] = sums[kpi.name]
    for name in ("count_orders", "count_sessions", "quantity_sold"):
        out[name] = None if out[name] is None else int(out[name])
    return out


def compare_periods(rows: Sequence[tuple[str, str, str]], current: Mapping[str, object],
                    previous: Mapping[str, object],
                    last_year: Mapping[str, object] | None = None) -> pd.DataFrame:
    """A table of figures: this period, the one before, the same one last year, changes.

    `rows` are (name, label, unit) in display order; the mappings give each name's value
    (None = unknown); `last_year` None means the history does not reach back that far.
    Grain: figure. Columns: kpi, label, unit, value, value_prev, change_vs_prev,
    value_last_year, change_vs_last_year.

    >>> row = compare_periods([("count_orders", "Orders", "count")], {"count_orders": 12},
    ...                       {"count_orders": 10}).iloc[0]
    >>> float(row.value), float(row.value_prev), float(row.change_vs_prev)
    (12.0, 10.0, 0.2)
    >>> float(row.value_last_year)
    nan
    """
    out = []
    for name, label, unit in rows:
        value = current.get(name)
        before = previous.get(name)
        year = None if last_year is None else last_year.get(name)
        out.append({"kpi": name, "label": label, "unit": unit, "value": value,
                    "value_prev": before, "change_vs_prev": change(value, before),
                    "value_last_year": year, "change_vs_last_year": change(value, year)})
    frame = pd.DataFrame(out, columns=["kpi", "label", "unit", "value", "value_prev",
                                       "change_vs_prev", "value_last_year",
                                       "change_vs_last_year"])
    numbers = ["value", "value_prev", "change_vs_prev", "value_last_year",
               "change_vs_last_year"]
    frame[numbers] = frame[numbers].apply(pd.to_numeric, errors="coerce").astype("float64")
    return frame


def by_week(daily: pd.DataFrame, *, last_day: dt.date, sums: Sequence[str]) -> pd.DataFrame:
    """Sum a daily frame into seven-day weeks ending on `last_day`'s weekday.

    Grain: week (oldest first; a week only partly covered by `daily` sums what is there).
    Columns: week_start, week_end, then `sums`.

    >>> days = pd.DataFrame({"date_day": pd.date_range("2025-11-17", periods=14),
    ...                      "count_orders": range(14)})
    >>> by_week(days, last_day=dt.date(2025, 11, 30), sums=["count_orders"]).count_orders.tolist()
    [21, 70]
    """
    end = pd.Timestamp(last_day)
    back = (end - pd.to_datetime(daily.date_day)).dt.days
    week_end = end - pd.to_timedelta((back // 7) * 7, unit="D")
    frame = daily.assign(week_end=week_end).groupby("week_end", sort=True)[list(sums)] \
        .sum().reset_index()
    frame.insert(0, "week_start", frame.week_end - pd.Timedelta(days=6))
    return frame
