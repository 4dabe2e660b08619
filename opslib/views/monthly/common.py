"""What the monthly pages share: the month and its two comparison months, tables, tiles.

A month report for D covers the 1st of D's month to D. It is compared with the month before
and the same month last year: whole months when D is the last day of its month (the usual
run, on the 1st for the month before), otherwise the same days of those months (1st to D's
day, or their last day), so a month-to-date is never set against a whole month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from opslib import display as show
from opslib.metrics import flags
from opslib.metrics.months import COMPARISONS, month_of, previous_month, same_month_last_year
from opslib.store import Store, Window
from opslib.views.base import report_window
from opslib.views.monthly import data

__all__ = ["Figures", "periods", "month_label", "three_months", "comparison_table",
           "comparison_tiles", "flag", "recorded", "table", "tiles"]

Figures = Mapping[str, float | int | None]
PERIOD_LABELS = ("this month", "month before", "same month last year")


def periods(store: Store, day: dt.date) -> tuple[Window, Window, Window]:
    """(the month to D, the month before, the same month last year), as described above."""
    current = report_window(day, cadence="monthly", zone=store.zone)
    whole = month_of(day, zone=store.zone)
    others = []
    for month in (previous_month(whole), same_month_last_year(whole)):
        if current.end == whole.end:
            others.append(month)
        else:
            last = min(month.start + dt.timedelta(days=current.days - 1), month.end)
            others.append(Window.of(month.start, last, zone=store.zone))
    return current, others[0], others[1]


def month_label(window: Window) -> str:
    """'November 2025', or '1–15 November 2025' for part of a month."""
    whole = month_of(window.start, zone=window.zone)
    name = f"{window.start:%B %Y}"
    return name if window.end == whole.end else f"{window.start.day}–{window.end.day} {name}"


def three_months(store: Store, day: dt.date,
                 load: Callable[[Store, Window], Figures]) -> list[Figures]:
    """`load` for the month, the month before and the same month last year.

    A comparison month that ends before the store's first order has no figures (every
    value None), not zeros: the shop's history does not reach back that far.
    """
    current, *others = periods(store, day)
    first = data.first_order_day(store)
    values = [load(store, current)]
    for window in others:
        values.append({name: None for name in values[0]} if first is None or
                      window.end < first else load(store, window))
    return values


def recorded(values: Sequence[Figures], names: Sequence[str]) -> dict[str, float | None]:
    """The record names: each name, then `_prev_month` and `_prev_year` twins."""
    return {name + suffix: _number(figures.get(name))
            for name in names for suffix, figures in zip(COMPARISONS, values)}


def _number(value: object) -> float | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return float(value)


def comparison_tiles(store: Store, values: Sequence[Figures],
                     rows: Sequence[tuple[str, str, str]]) -> show.Block:
    """A tile per (name, label, unit): this month against the month before; red when
    flagged (opslib.metrics.flags)."""
    return tiles(store, [show.Tile(label, _number(values[0].get(name)), unit,
                                   _number(values[1].get(name)), "month before",
                                   flagged=bool(flag(store, name, values)))
                         for name, label, unit in rows])


def flag(store: Store, name: str, values: Sequence[Figures]) -> str:
    """Why figure `name` is flagged against the month before and last year ('' if not)."""
    now, before, last_year = (_number(v.get(name)) for v in values)
    targets = store.settings.targets
    return flags.flag_reason(name, now, _change(now, before), _change(now, last_year),
                             alert_band=targets.alert_band, bands=targets.bands)


def comparison_table(store: Store, day: dt.date, values: Sequence[Figures],
                     rows: Sequence[tuple[str, str, str]]) -> show.Block:
    """A table: each figure this month, the month before, last year, the changes, and why
    it is flagged (flagged rows in red)."""
    currency = store.settings.store.currency
    labels = [month_label(w) for w in periods(store, day)]
    out = []
    for name, label, unit in rows:
        now, before, last_year = (_number(v.get(name)) for v in values)
        out.append({"Figure": label,
                    **{f"{period[:1].upper()}{period[1:]} ({text})":
                       show.format_value(value, unit, currency=currency)
                       for period, text, value in zip(PERIOD_LABELS, labels,
                                                      (now, before, last_year))},
                    "Change on the month before": show.change(now, before, unit=unit,
                                                              currency=currency),
                    "Change on last year": show.change(now, last_year, unit=unit,
                                                       currency=currency),
                    "Flag": flag(store, name, values)})
    frame = pd.DataFrame(out)
    frame["is_flagged"] = frame.Flag != ""
    return table(store, frame, units={c: "text" for c in frame.columns if c != "is_flagged"},
                 highlight="is_flagged")


def _change(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or base == 0:
        return None
    return (value - base) / abs(base)


def table(store: Store, frame: pd.DataFrame, *, title: str | None = None,
          units: dict[str, str] | None = None, empty: str = "Nothing to show.",
          highlight: str | None = None, mask: Sequence[str] = (),
          limit: int = 200) -> show.Block:
    """display.table in the store's currency."""
    return show.table(frame, title=title, units=units, empty=empty, highlight=highlight,
                      mask=mask, currency=store.settings.store.currency, limit=limit)


def tiles(store: Store, items: Sequence[show.Tile]) -> show.Block:
    """display.tiles in the store's currency."""
    return show.tiles(items, currency=store.settings.store.currency)
