"""The daily KPI set across domains, and each day against its usual level.

`daily_kpis` joins the daily frames of sales, web and ads (report-sized, already aggregated
in the engine); `compare_kpis` sets day D against the same weekday a week before and the
average of the four same weekdays before it, and flags values outside their alert band.

* Sums and counts are compared with their plain average; ratios (conversion rate, AOV,
  blended ROAS) with the ratio of the four days' sums, so a quiet day weighs less.
* A KPI with a band in playbook.toml (`[targets.bands.<kpi>]` low/high) is flagged outside
  it; any other KPI when it is more than `alert_band` (a fraction) away from its four-week
  average. No average (or an average of 0) → no flag.
* blended ROAS = (gross sales − discounts) ÷ all ad spend: the order revenue every channel
  brought, not the platforms' attributed revenue. Returns are left out (a refund booked
  today belongs to older orders); Triple Whale's "MER" divides total sales instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from opslib.metrics.common import ratio, series_ratio

__all__ = ["Kpi", "KPIS", "daily_kpis", "compare_kpis", "COMPARE_DAYS"]

COMPARE_DAYS = 28  # the four same weekdays before D lie within the 28 days before it


@dataclass(frozen=True)
class Kpi:
    """A KPI: report column, label, display unit, and for a ratio its two sums."""

    name: str
    label: str
    unit: str
    numerator: str | None = None
    denominator: str | None = None


KPIS: tuple[Kpi, ...] = (
    Kpi("count_sessions", "Sessions", "count"),
    Kpi("conversion_rate", "Conversion rate", "rate", "count_orders", "count_sessions"),
    Kpi("count_orders", "Orders", "count"),
    Kpi("net_sales", "Net sales", "money"),
    Kpi("avg_order_value", "Average order value (after discounts)", "money",
        "sales_after_discounts", "count_orders"),
    Kpi("quantity_sold", "Units sold", "count"),
    Kpi("returns_amount", "Returns", "money"),
    Kpi("ad_spend", "Ad spend", "money"),
    Kpi("blended_roas", "Blended ROAS", "ratio", "sales_after_discounts", "ad_spend"),
)


def daily_kpis(sales: pd.DataFrame, traffic: pd.DataFrame | None = None,
               ads: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per day: the KPI columns (plus gross_sales, discounts, sales_after_discounts).

    `sales` is a daily_sales frame; `traffic` a daily_traffic frame and `ads` a
    daily_ad_spend frame over the same days, or None when the store has no such data
    (their KPIs are then empty).

    >>> s = pd.DataFrame({"date_day": pd.to_datetime(["2024-01-01"]), "count_orders": [4],
    ...     "gross_sales": [100.0], "discounts": [10.0], "net_sales": [90.0],
    ...     "quantity_sold": [6], "returns_amount": [0.0]})
    >>> t = pd.DataFrame({"date_day": pd.to_datetime(["2024-01-01"]), "count_sessions": [200]})
    >>> a = pd.DataFrame({"date_day": pd.to_datetime(["2024-01-01"]), "ad_spend": [30.0]})
    >>> row = daily_kpis(s, t, a).iloc[0]
    >>> float(row.conversion_rate), float(row.avg_order_value), float(row.blended_roas)
    (0.02, 22.5, 3.0)
    """
    frame = sales[["date_day", "count_orders", "gross_sales", "discounts", "net_sales",
                   "quantity_sold", "returns_amount"]].copy()
    frame["sales_after_discounts"] = frame.gross_sales - frame.discounts
    frame["count_sessions"] = _column(frame, traffic, "count_sessions")
    frame["ad_spend"] = _column(frame, ads, "ad_spend")
    for kpi in KPIS:
        if kpi.numerator:
            frame[kpi.name] = series_ratio(frame[kpi.numerator], frame[kpi.denominator])
    return frame[["date_day", *[k.name for k in KPIS], "gross_sales", "discounts",
                  "sales_after_discounts"]]


def _column(frame: pd.DataFrame, other: pd.DataFrame | None, column: str) -> pd.Series:
    if other is None:
        return pd.Series(float("nan"), index=frame.index, dtype="float64")
    values = frame[["date_day"]].merge(other[["date_day", column]], on="date_day", how="left")
    return pd.Series(values[column].to_numpy(dtype="float64"), index=frame.index)


def compare_kpis(daily: pd.DataFrame, *, day: dt.date, alert_band: float,
                 bands: dict[str, dict[str, float]] | None = None) -> pd.DataFrame:
    """Day D against the same weekday last week and the average of the last four.

    `daily` is a daily_kpis frame covering at least the COMPARE_DAYS days before D.
    Grain: KPI. Columns: kpi, label, unit, value, same_weekday_last_week,
    avg_last_4_same_weekdays, change_vs_last_week, change_vs_avg (fractions), is_flagged.
    """
    bands = bands or {}
    rows = daily.set_index(pd.to_datetime(daily.date_day))
    target = pd.Timestamp(day)
    if target not in rows.index:
        raise ValueError(f"the daily frame has no row for {day}")
    earlier = [target - pd.Timedelta(days=7 * k) for k in range(1, 5)]
    missing = [d.date() for d in earlier if d not in rows.index]
    if missing:
        raise ValueError(f"the daily frame must cover the 4 same weekdays before {day}; "
                         f"missing {missing}")
    today, last_week, four = rows.loc[target], rows.loc[earlier[0]], rows.loc[earlier]
    out = []
    for kpi in KPIS:
        value = _number(today[kpi.name])
        before = _number(last_week[kpi.name])
        if kpi.numerator:
            average = ratio(_total(four[kpi.numerator]), _total(four[kpi.denominator]))
        else:
            average = _total(four[kpi.name])
            average = None if average is None else average / 4
        out.append({
            "kpi": kpi.name, "label": kpi.label, "unit": kpi.unit, "value": value,
            "same_weekday_last_week": before, "avg_last_4_same_weekdays": average,
            "change_vs_last_week": _change(value, before),
            "change_vs_avg": _change(value, average),
            "is_flagged": _flagged(value, average, bands.get(kpi.name), alert_band),
        })
    return pd.DataFrame(out).astype({"value": "float64", "same_weekday_last_week": "float64",
                                     "avg_last_4_same_weekdays": "float64",
                                     "change_vs_last_week": "float64",
                                     "change_vs_avg": "float64", "is_flagged": "bool"})


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _total(values: pd.Series) -> float | None:
    return None if values.isna().any() else float(values.sum())


def _change(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or base == 0:
        return None
    return (value - base) / abs(base)


def _flagged(value: float | None, average: float | None, band: dict[str, float] | None,
             alert_band: float) -> bool:
    if value is None:
        return False
    if band:
        return value < band.get("low", float("-inf")) or value > band.get("high", float("inf"))
    change = _change(value, average)
    return change is not None and abs(change) > alert_band
