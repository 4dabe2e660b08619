"""Flags on weekly and monthly figures: a period's value against the period before and the
same period last year, with the bands of `[targets]`.

Rule (docs/metrics.md, "Flags"): a figure with a band (`[targets.bands.<name>]`, low
and/or high) is flagged when its value leaves the band; any other figure when it moved
more than `alert_band` (a fraction) against the period before or against the same period
last year. An unknown value or change raises no flag. The daily KPIs use the same bands
against their four-week average (opslib.metrics.kpis).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

__all__ = ["flag_reason", "flag_periods"]


def _known(value: object) -> bool:
    return value is not None and not pd.isna(value)


def flag_reason(name: str, value: float | None, change_vs_prev: float | None,
                change_vs_last_year: float | None, *, alert_band: float,
                bands: Mapping[str, Mapping[str, float]]) -> str:
    """Why a figure is flagged ('' when it is not).

    >>> flag_reason("net_sales", 80.0, -0.35, 0.1, alert_band=0.3, bands={})
    'down 35% vs the period before'
    >>> flag_reason("conversion_rate", 0.005, 0.0, None, alert_band=0.3,
    ...             bands={"conversion_rate": {"low": 0.01}})
    'below the band (low 0.01)'
    >>> flag_reason("count_orders", 10.0, 0.2, None, alert_band=0.3, bands={})
    ''
    """
    band = bands.get(name)
    if band:
        if not _known(value):
            return ""
        if "low" in band and value < band["low"]:
            return f"below the band (low {band['low']:g})"
        if "high" in band and value > band["high"]:
            return f"above the band (high {band['high']:g})"
        return ""
    reasons = []
    for change, against in ((change_vs_prev, "the period before"),
                            (change_vs_last_year, "last year")):
        if _known(change) and abs(change) > alert_band:
            reasons.append(f"{'up' if change > 0 else 'down'} {abs(change):.0%} vs {against}")
    return "; ".join(reasons)


def flag_periods(frame: pd.DataFrame, *, alert_band: float,
                 bands: Mapping[str, Mapping[str, float]] | None = None) -> pd.DataFrame:
    """A periods.compare_periods frame with is_flagged and flag_reason added (a copy).

    Grain: figure. The `kpi` column names the figure a band belongs to.
    """
    bands = bands or {}
    reasons = [flag_reason(row.kpi, row.value, row.change_vs_prev, row.change_vs_last_year,
                           alert_band=alert_band, bands=bands)
               for row in frame.itertuples()]
    return frame.assign(flag_reason=pd.Series(reasons, index=frame.index, dtype="object"),
                        is_flagged=pd.Series([bool(r) for r in reasons], index=frame.index,
                                             dtype="bool"))
