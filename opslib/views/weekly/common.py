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
from opslib.metrics import flags, funnel, periods
from opslib.store import Store, Window
from opslib.views.weekly import data

__all__ = ["Figures", "Loader", "three_weeks", "comparison", "figures", "safely",
           "table", "tiles", "out_of_stock_note"]

Figures = Mapping[str, float | int | None]
Loader = Callable[[Store, Window], Figures]


def out_of_stock_note(pages: pd.DataFrame | None, week: Window) -> list[show.Block]:
    """A note naming the much-viewed pages that sold little because the product was out
    of stock most of the week (left out of "many views, few orders"); none when none."""
    if pages is None:
        return []
    left = funnel.many_views_few_orders(pages, out_of_stock=True)
    if left.empty:
        return []
    named = "; ".join(
        f"{row.sku}{f' {row.title}' if isinstance(row.title, str) else ''} ({row.views:,} "
        f"views, out of stock {row.days_out_of_stock} of {week.days} days)"
        for row in left.itertuples())
    return [show.note(f"Left out of \"many views, few orders\" because they were out of "
                      f"stock most of the week (restock them, the page is not the problem): "
                      f"{named}.")]


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
    targets = store.settings.targets
    frame = flags.flag_periods(periods.compare_periods(rows, this, before, last_year),
                               alert_band=targets.alert_band, bands=targets.bands)
    items = [show.Tile(r.label, _number(r.value), r.unit, _number(r.value_prev), "last week",
                       flagged=bool(r.is_flagged)) for r in frame.itertuples()]
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
    """The comparison table, each figure in its own unit (columns as in compare_periods);
    flagged figures (opslib.metrics.flags) in red, with the reason."""
    currency = store.settings.store.currency
    shown = pd.DataFrame({"Figure": frame.label})
    for column, header in (("value", "This week"), ("value_prev", "Week before"),
                           ("value_last_year", "Same week last year")):
        shown[header] = [show.format_value(_number(v), u, currency=currency)
                         for v, u in zip(frame[column], frame.unit)]
    for base, header in (("value_prev", "Change on the week before"),
                         ("value_last_year", "Change on last year")):
        shown[header] = [show.change(_number(v), _number(b), unit=u, currency=currency)
                         for v, b, u in zip(frame.value, frame[base], frame.unit)]
    shown["Flag"] = frame.flag_reason.to_numpy()
    shown["is_flagged"] = frame.is_flagged.to_numpy()
    shown = shown[["Figure", "This week", "Week before", "Change on the week before",
                   "Same week last year", "Change on last year", "Flag", "is_flagged"]]
    return table(store, shown, units={c: "text" for c in shown.columns if c != "is_flagged"},
                 highlight="is_flagged")


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
