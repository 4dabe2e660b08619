"""What the weekly pages share: the week against the week before and the same week last year.

A page's figures come from a loader `(store, window) -> {name: value}`; `three_weeks` runs
it for the week, the week before and — where the data reach back that far — the same week
last year; `comparison` shows the result as tiles (against the week before) and a table
(with last year). `figures` turns the same numbers into the `opslib.record` names, each
with its `_prev_week` twin.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from opslib import display as show
from opslib.errors import MissingTableError
from opslib.metrics import periods
from opslib.store import Store, Window
from opslib.views.weekly import data

__all__ = ["Figures", "Loader", "three_weeks", "comparison", "figures", "safely",
           "table", "tiles"]

Figures = Mapping[str, float | int | None]
Loader = Callable[[Store, Window], Figures]


def table(store: Store, frame: pd.DataFrame, *, title: str | None = None,
          units: dict[str, str] | None = None, empty: str = "Nothing to show.",
          highlight: str | None = None, mask: Sequence[str] = (),
          limit: int = 200) -> show.Block:
    """display.table in the store's currency; true/false columns read yes/no."""
    flags = [c for c in frame.columns if c != highlight and pd.api.types.is_bool_dtype(frame[c])]
    if flags:
        frame = frame.assign(**{c: frame[c].map({True: "yes", False: "no"}) for c in flags})
        units = {**(units or {}), **dict.fromkeys(flags, "text")}
    return show.table(frame, title=title, units=units, empty=empty, highlight=highlight,
                      mask=mask, currency=store.settings.store.currency, limit=limit)


def tiles(store: Store, items: Sequence[show.Tile]) -> show.Block:
    """display.tiles in the store's currency."""
    return show.tiles(items, currency=store.settings.store.currency)


def safely(loader: Loader, store: Store, window: Window, names: Sequence[str]) -> dict:
    """The loader's figures, or every name None when a table it needs is absent."""
    try:
        return dict(loader(store, window))
    except MissingTableError:
        return dict.fromkeys(names)


def _history_tables(store: Store, history: str | Sequence[str]) -> list[str]:
    names = [history] if isinstance(history, str) else list(history)
    return [name for name in names if store.has(name)]


def three_weeks(store: Store, week: Window, loader: Loader, *,
                history: str | Sequence[str]) -> tuple[dict, dict, dict | None]:
    """The loader's figures for the week, the week before, and last year (None if no data).

    Last year needs the data of every present table in `history` to start on or before
    that week's first day.
    """
    this = dict(loader(store, week))
    before = dict(loader(store, data.week_before(week)))
    year_window = data.week_last_year(week)
    tables = _history_tables(store, history)
    reaches = bool(tables) and all(data.has_history(store, t, year_window) for t in tables)
    last_year = dict(loader(store, year_window)) if reaches else None
    return this, before, last_year


def comparison(store: Store, week: Window, rows: Sequence[tuple[str, str, str]],
               loader: Loader, *, history: str | Sequence[str]) -> list:
    """Tiles against the week before, then the table with last year and a note on history.

    `history` names the table(s) whose data must reach back a year (see three_weeks).
    """
    this, before, last_year = three_weeks(store, week, loader, history=history)
    frame = periods.compare_periods(rows, this, before, last_year)
    items = [show.Tile(r.label, _number(r.value), r.unit, _number(r.value_prev), "last week")
             for r in frame.itertuples()]
    parts: list = [tiles(store, items), _table(store, frame)]
    if last_year is None:
        year = data.week_last_year(week)
        starts = [data.history_start(store, t) for t in _history_tables(store, history)]
        starts = [day for day in starts if day is not None]
        since = f"the data start on {max(starts)}" if starts else "there is no data yet"
        parts.append(show.note(f"No comparison with the same week last year "
                               f"({year.start} to {year.end}): {since}."))
    return parts


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _table(store: Store, frame: pd.DataFrame) -> show.Block:
    """The comparison table, each figure in its own unit (columns as in compare_periods)."""
    currency = store.settings.store.currency
    shown = pd.DataFrame({"kpi": frame.label})
    for column in ("value", "value_prev", "value_last_year"):
        shown[column] = [show.format_value(_number(v), u, currency=currency)
                         for v, u in zip(frame[column], frame.unit)]
    for column in ("change_vs_prev", "change_vs_last_year"):
        shown[column] = [show.format_value(_number(v), "rate") for v in frame[column]]
    shown = shown[["kpi", "value", "value_prev", "change_vs_prev", "value_last_year",
                   "change_vs_last_year"]]
    return table(store, shown, units={c: "text" for c in shown.columns})


def figures(store: Store, week: Window, names: Sequence[str], loader: Loader
            ) -> dict[str, float | None]:
    """{name: this week, name_prev_week: the week before} for the run summary.

    A name is None when undefined or when its data are absent.
    """
    this = safely(loader, store, week, names)
    before = safely(loader, store, data.week_before(week), names)
    out: dict[str, float | None] = {}
    for name in names:
        out[name] = _number(this.get(name))
        out[f"{name}_prev_week"] = _number(before.get(name))
    return out
