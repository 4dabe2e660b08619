"""Small helpers the daily pages share: tables in the store's currency, safe look-ups."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TypeVar

import pandas as pd

from opslib import display as show
from opslib.errors import MissingTableError
from opslib.store import Store

__all__ = ["table", "tiles", "attempt", "weekday_before"]

T = TypeVar("T")


def table(store: Store, frame: pd.DataFrame, *, title: str | None = None,
          units: dict[str, str] | None = None, empty: str = "Nothing to show.",
          highlight: str | None = None, mask: Sequence[str] = ()) -> show.Block:
    """display.table in the store's currency."""
    return show.table(frame, title=title, units=units, empty=empty, highlight=highlight,
                      mask=mask, currency=store.settings.store.currency)


def tiles(store: Store, items: Sequence[show.Tile]) -> show.Block:
    """display.tiles in the store's currency."""
    return show.tiles(items, currency=store.settings.store.currency)


def attempt(load: Callable[[], T], *, section: str, notes: list) -> T | None:
    """Run a loader; on an absent table, add a "no data" note to `notes` and return None."""
    try:
        return load()
    except MissingTableError as err:
        notes.append(show.no_data(err.table or "required", section=section))
        return None


def weekday_before(day: dt.date) -> str:
    """'last Sunday' for a Sunday: the comparison label of a same-weekday delta."""
    return f"last {day:%A}"
