"""What every report page shares: the report context, sections, and the setup call.

A notebook's one setup cell calls `open_report(...)`: it resolves the settings, the data
folder (default: the workspace's data/, found from the folder the notebook runs in, see
opslib.workspace) and the report date (default: yesterday in the store's time zone), opens
the store, shows the title
line and warns when the data looks stale. Section builders take `(store, day)` and return a
`Section`: a list of display objects shown in order (tiles, tables, charts, notes). A
section whose table is absent shows a "no data" note instead, and the page goes on. Staff
pages reuse the same builders.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from IPython.display import display

from opslib import display as show
from opslib.config import Settings, load_settings
from opslib.errors import BadParameter, MissingTableError
from opslib.store import Store, Window, in_window
from opslib.workspace import folder_or_workspace

__all__ = ["Report", "Section", "section", "load_report", "open_report", "report_window",
           "CADENCES", "STALE_LOOKBACK_DAYS"]

CADENCES = ("daily", "weekly", "monthly")
STALE_LOOKBACK_DAYS = 60


@dataclass(frozen=True)
class Report:
    """One report: the store, its settings, the cadence and the last day D it covers."""

    store: Store
    day: dt.date
    cadence: str

    @property
    def settings(self) -> Settings:
        return self.store.settings

    @property
    def window(self) -> Window:
        """The days the report covers: D; D−6…D; or the calendar month of D."""
        return report_window(self.day, cadence=self.cadence, zone=self.store.zone)


def report_window(day: dt.date, *, cadence: str, zone: str) -> Window:
    """The window a cadence's report for day D covers.

    >>> report_window(dt.date(2025, 11, 30), cadence="weekly", zone="UTC").start
    datetime.date(2025, 11, 24)
    >>> report_window(dt.date(2025, 11, 30), cadence="monthly", zone="UTC").start
    datetime.date(2025, 11, 1)
    """
    _check_cadence(cadence)
    if cadence == "weekly":
        return Window.of(day - dt.timedelta(days=6), day, zone=zone)
    if cadence == "monthly":
        return Window.of(day.replace(day=1), day, zone=zone)
    return Window.of(day, zone=zone)


def _check_cadence(cadence: str) -> None:
    if cadence not in CADENCES:
        raise BadParameter("report cadence", expected=f"one of {', '.join(CADENCES)}",
                           found=repr(cadence), fix="Use daily, weekly or monthly.")


class Section:
    """Display objects shown one after the other (one notebook output each)."""

    def __init__(self, parts: Sequence[object]) -> None:
        self.parts = list(parts)

    def _ipython_display_(self) -> None:
        for part in self.parts:
            display(part)

    def __repr__(self) -> str:
        return f"<Section of {len(self.parts)} part(s)>"


def section(title: str) -> Callable[[Callable[..., object]], Callable[..., Section]]:
    """Decorate a section builder: absent tables become a "no data" note for this section.

    The builder returns one display object or a list of them.
    """
    def wrap(builder: Callable[..., object]) -> Callable[..., Section]:
        @functools.wraps(builder)
        def build(store: Store, day: dt.date, *args, **kwargs) -> Section:
            try:
                parts = builder(store, day, *args, **kwargs)
            except MissingTableError as err:
                return Section([show.no_data(err.table or "required", section=title)])
            return Section(parts if isinstance(parts, (list, tuple)) else [parts])
        build.title = title  # type: ignore[attr-defined]
        return build
    return wrap


def _parse_day(report_date: str | dt.date | None, settings: Settings) -> dt.date:
    if report_date is None or report_date == "":
        return settings.yesterday()
    if isinstance(report_date, dt.date):
        return report_date
    try:
        return dt.date.fromisoformat(str(report_date))
    except ValueError:
        raise BadParameter("notebook parameter report_date",
                           expected="a date written YYYY-MM-DD, e.g. 2025-11-29",
                           found=repr(report_date),
                           fix="Pass -p report_date YYYY-MM-DD, or leave it empty for "
                               "yesterday.") from None


def load_report(*, data_dir: str | Path | None = None, report_date: str | dt.date | None = None,
                settings_file: str | Path | None = None, cadence: str = "daily") -> Report:
    """Resolve settings, data folder and date, open the store; display nothing (for pages
    and tests). `data_dir` None means the workspace's data/."""
    _check_cadence(cadence)
    settings = load_settings(settings_file)
    day = _parse_day(report_date, settings)
    return Report(Store.open(folder_or_workspace(data_dir, "data"), settings), day, cadence)


def open_report(*, data_dir: str | Path | None = None, report_date: str | dt.date | None = None,
                settings_file: str | Path | None = None, cadence: str = "daily") -> Report:
    """The setup call of a report notebook: load it, show its title line and warnings."""
    report = load_report(data_dir=data_dir, report_date=report_date,
                         settings_file=settings_file, cadence=cadence)
    display(title_line(report))
    for warning in freshness_warnings(report):
        display(warning)
    return report


def title_line(report: Report) -> show.Block:
    """'<store> · daily report for Sunday 30 November 2025 (Europe/London, GBP)'."""
    window = report.window
    start, end = window.start, window.end
    if window.days == 1:
        period = f"{report.day:%A} {report.day.day} {report.day:%B %Y}"
    elif start.month == end.month:
        period = f"{start.day}–{end.day} {end:%B %Y}"
    else:
        period = f"{start.day} {start:%B} to {end.day} {end:%B %Y}"
    store = report.settings.store
    text = (f"{store.name} · {report.cadence} report for {period} "
            f"(figures as of the end of the day, {store.timezone} time; {store.currency})")
    return show.Block(f'<div class="opslib-caption">{html.escape(text)}</div>')


def freshness_warnings(report: Report) -> list[show.Block]:
    """A warning when the day is not over yet, or the newest order is too old (stale data)."""
    out = []
    today = report.settings.today()
    if report.day >= today:
        out.append(show.warning(
            f"The report date {report.day} is not over yet in the store's time zone (today is "
            f"{today}): the figures are incomplete. Reports are meant for a finished day.",
            code="incomplete_day"))
    if not report.store.has("orders"):
        return out
    newest = newest_order_day(report.store, report.day)
    limit = report.settings.runs.stale_after_days
    if newest is None:
        out.append(show.warning(
            f"No orders in the {STALE_LOOKBACK_DAYS} days to {report.day}: the data looks "
            f"stale. Import the latest exports (or check the report date).", code="stale_data"))
    elif (report.day - newest).days > limit:
        out.append(show.warning(
            f"The newest order is from {newest}, {(report.day - newest).days} days before the "
            f"report date {report.day} (more than runs.stale_after_days = {limit}): the data "
            f"may be stale. Import the latest exports.", code="stale_data"))
    return out


def newest_order_day(store: Store, day: dt.date) -> dt.date | None:
    """The local day of the newest order placed by the end of D (looking back 60 days)."""
    orders = store.table("orders")
    span = Window.of(day - dt.timedelta(days=STALE_LOOKBACK_DAYS - 1), day, zone=store.zone)
    newest = orders.filter(in_window(orders.created_at, span)).created_at.max().execute()
    if newest is None or newest != newest:  # None or NaT
        return None
    return newest.tz_convert(store.zone).date()

