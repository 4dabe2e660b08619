"""The staff pages' runtime: one page object per kernel, controls checked on the server.

A staff page notebook (opslib/serve/staff_pages/) has one setup cell, `page = StaffPage.open(...)`,
then `page.controls(...)` and one `page.show(builder)` per section, where a builder is a
daily view `(store, day) -> Section` (opslib.views.daily) or one of the staff sections
below. Each section is shown in its own output area and drawn again when a control changes.

Rules:

* The data folder and settings come from the server (PLAYBOOK_DATA, PLAYBOOK_SETTINGS),
  never from the URL or the browser.
* Every value a browser sends is checked again here, against bounds and choices computed
  on the server (`checked_day`, `checked_choice`): a tampered value is refused, the control
  is put back and the page says so. A value only ever becomes an Ibis literal in a filter;
  it never reaches a file path, SQL text or eval.
* A filter (ticket channel, calendar channel, product category) narrows the store's tables
  before the views run, so the views are reused unchanged.
* An error in a section shows a short message with a reference; the traceback goes to the
  server log only. Python warnings go to the log too, not to the page.
* The page kernel reads report-sized data: DuckDB with one thread and a memory cap. When the
  data files change (a new import), the next redraw opens the store afresh, so an open tab
  does not keep showing old figures.
* The server starts page kernels ahead of visitors: each `rehearse`s its page (imports,
  store, the opening day's sections) without showing anything. The page then opened in
  that kernel reuses the store and the views' results only while the data files (name,
  inode, size, time of every table part) and the settings are the same; if anything
  changed, the store is opened afresh and every figure computed again.

>>> checked_day(dt.date(2025, 11, 30), first=dt.date(2025, 1, 1), last=dt.date(2025, 11, 30))
datetime.date(2025, 11, 30)
>>> checked_choice("email", allowed=("email", "chat"))
'email'
>>> checked_choice("x'; DROP TABLE tickets; --", allowed=("email", "chat"))
Traceback (most recent call last):
...
opslib.errors.BadParameter: channel: expected one of email, chat, found "x'; DROP TABLE tickets; --". Choose a value from the list.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# jsonschema (under Altair) builds an IRI grammar when it is imported and the optional
# rfc3987-syntax package is installed: two seconds of every page's first render, for a
# format check the pages never make. A page kernel runs one page only, so it is skipped.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

import pandas as pd  # noqa: E402

from opslib import display as show  # noqa: E402
from opslib.config import Settings, load_settings  # noqa: E402
from opslib.errors import BadParameter, OpslibError  # noqa: E402
from opslib.exports import action_list, csv_link  # noqa: E402
from opslib.metrics import customers  # noqa: E402
from opslib.schema import TABLES  # noqa: E402
from opslib.serve.server import PAGES_DIR, data_signature  # noqa: E402
from opslib.store import Store, Window  # noqa: E402
from opslib.views.base import section  # noqa: E402
from opslib.views.daily import data  # noqa: E402
from opslib.views.daily.common import table  # noqa: E402

__all__ = [
    "StaffPage", "rehearse", "checked_day", "checked_choice", "open_ticket_list",
    "pick_list_download", "awaiting_payment_list", "detractors_to_call", "DATA_ENV", "HISTORY_DAYS",
]

DATA_ENV = "PLAYBOOK_DATA"
HISTORY_DAYS = 400  # how far back the date picker goes (at most: no earlier than the data)
DUCKDB_MEMORY = "512MB"
_ALL = ""  # the "no filter" choice of a dropdown
_UNPAID_LIST = ["email", "order_number", "placed_at", "payment_status", "payment_method",
                "total_amount", "age_days", "is_held_from_shipping"]
_TICKET_LIST = ["ticket_id", "channel", "category", "subject", "created_at", "age_days",
                "hours_waiting", "is_answered", "is_escalated"]

log = logging.getLogger("opslib.serve.pages")


def checked_day(value: object, *, first: dt.date, last: dt.date) -> dt.date:
    """`value` if it is a date between `first` and `last` (inclusive); BadParameter if not."""
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise BadParameter("day", expected="a date", found=repr(value)[:80],
                           fix="Pick a day with the date picker.")
    if not first <= value <= last:
        raise BadParameter("day", expected=f"a day from {first} to {last}", found=value,
                           fix="Pick a day in that range.")
    return value


def checked_choice(value: object, *, allowed: Sequence[str], name: str = "channel") -> str:
    """`value` if it is one of `allowed` (compared as exact strings); BadParameter if not."""
    if not isinstance(value, str) or value not in allowed:
        raise BadParameter(name, expected=f"one of {', '.join(allowed)}",
                           found=f'"{str(value)[:80]}"', fix="Choose a value from the list.")
    return value


# ---------------------------------------------------------------------------------------
# Filtered stores: the same views over a narrower slice of the data


class _FilteredStore(Store):
    """A store whose tables are narrowed by Ibis filters (values are literals, never SQL)."""

    def __init__(self, base: Store, filters: dict[str, Callable[[Any], Any]]) -> None:
        super().__init__(base.con, base._sources, base.settings)
        self._base = base
        self._filters = filters

    def table(self, name: str):
        table = self._base.table(name)
        narrow = self._filters.get(name)
        return narrow(table) if narrow else table


def _channel_filter(table_name: str, channel: str) -> dict[str, Callable[[Any], Any]]:
    return {table_name: lambda t: t.filter(t.channel == channel)}


def _category_filter(base: Store, category: str) -> dict[str, Callable[[Any], Any]]:
    def skus():
        products = base.table("products")
        return products.filter(products.category == category).sku

    return {name: (lambda t: t.filter(t.sku.isin(skus())))
            for name in ("products", "order_lines", "inventory_snapshots", "purchase_orders")}


# ---------------------------------------------------------------------------------------
# Staff-only sections (the daily views have no full ticket list and no CSV downloads)


@section("Open tickets, past the reply deadline first")
def open_ticket_list(store: Store, day: dt.date) -> list:
    """Every ticket open at the end of D: first-response breaches first (in red), then the
    others, oldest first within each.

    No contact details are shown; the CSV download carries the same columns.
    """
    tickets = data.open_tickets(store, day)
    frame = tickets[_TICKET_LIST + ["is_first_response_breach"]].assign(
        is_answered=tickets.is_answered.map({True: "yes", False: "no"}),
        is_escalated=tickets.is_escalated.map({True: "yes", False: ""}))
    sla = store.settings.service.first_response_hours
    parts = [table(store, frame, highlight="is_first_response_breach",
                   units={"age_days": "count", "hours_waiting": "hours"},
                   empty="No ticket is open at the end of the day.")]
    if not frame.empty:
        parts.append(show.note(f"In red: waiting more than {sla} h for a first reply."))
        parts.append(csv_link(frame, filename=f"open-tickets-{day.isoformat()}.csv",
                              label="Download these tickets as CSV"))
    return parts


@section("Pick list")
def pick_list_download(store: Store, day: dt.date) -> list:
    """The pick list of D as a CSV file (the rows of the pick list section)."""
    frame = data.pick_list(store, day)
    if frame.empty:
        return []
    return [csv_link(frame, filename=f"pick-list-{day.isoformat()}.csv",
                     label="Download the pick list as CSV")]


@section("Awaiting payment")
def awaiting_payment_list(store: Store, day: dt.date) -> list:
    """Orders not paid at the end of D, oldest first; pending ones are held off the pick
    list until paid. E-mail addresses are masked and names left out (here and in the
    download)."""
    frame = data.unpaid_orders(store, day)[_UNPAID_LIST]
    return [action_list("unpaid_orders", frame, contacts=False, mask=["email"],
                        currency=store.settings.store.currency,
                        empty="No order is waiting for its payment.")]


DETRACTOR_DAYS = 30  # the support page lists the low scores of the last 30 days to D
_DETRACTOR_LIST = ["email", "phone", "customer_id", "submitted_date", "kind", "score",
                   "comment", "order_id", "ticket_id"]


@section("Detractors to call")
def detractors_to_call(store: Store, day: dt.date) -> list:
    """Low scores (nps 0–6, csat or review 1–2) of the 30 days to D, worst first, with the
    comment; contacts masked and names left out (look the customer up in the helpdesk)."""
    window = Window.of(day - dt.timedelta(days=DETRACTOR_DAYS - 1), day, zone=store.zone)
    frame = customers.detractors(store.table("surveys"), store.table("orders"),
                                 store.table("customers"), window=window)[_DETRACTOR_LIST]
    return [action_list("detractors", frame, contacts=False, mask=["email", "phone"],
                        units={"submitted_date": "date", "score": "count"},
                        empty=f"No low score in the last {DETRACTOR_DAYS} days.")]


# ---------------------------------------------------------------------------------------
# The page


def _log_to_server() -> None:
    """Send this kernel's log records and Python warnings to the server's log (stderr)."""
    root = logging.getLogger("opslib")
    if not any(getattr(h, "_opslib_page", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.__stderr__)
        handler.setFormatter(logging.Formatter("[page %(process)d] %(levelname)s %(message)s"))
        handler._opslib_page = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        warnings_log = logging.getLogger("py.warnings")
        warnings_log.addHandler(handler)
        warnings_log.propagate = False
    logging.captureWarnings(True)


@dataclass
class _Opened:
    """The store a kernel has open, for the data files as they were (`signature`).

    Pages opened later in the same kernel (a pre-started kernel rehearses its page, then
    runs it for a visitor) reuse it, and with it the views' cached results, only while the
    files and settings are unchanged; otherwise the store is opened afresh.
    """

    data_dir: Path
    settings: Settings
    signature: tuple
    store: Store
    facts: dict[str, Any] = field(default_factory=dict)  # per-store answers (order days...)


_OPENED: _Opened | None = None


class _Rehearsal:
    """While active, pages compute their sections but show nothing and make no widgets."""

    active = False


def _display(*objects: Any) -> None:
    from IPython.display import display

    if not _Rehearsal.active:
        display(*objects)


def rehearse(name: str) -> None:
    """Run staff page `name` once without showing it (in a kernel started ahead of visitors).

    Every section of the page's opening day is computed, so the page opened next in this
    kernel reuses the open store and the views' results while the data files are unchanged
    (and recomputes them if they changed). Imports come along.
    """
    notebook = json.loads((PAGES_DIR / f"{name}.ipynb").read_text(encoding="utf-8"))
    code = "\n".join("".join(cell["source"]) for cell in notebook["cells"]
                     if cell["cell_type"] == "code")
    _Rehearsal.active = True
    try:
        exec(compile(code, f"{name}.ipynb", "exec"), {"__name__": f"rehearsal_{name}"})
    finally:
        _Rehearsal.active = False


class StaffPage:
    """One open staff page: its store, the checked control values, its sections."""

    def __init__(self, name: str, *, data_dir: Path | None, settings: Settings | None,
                 problem: str | None = None) -> None:
        self.name = name
        self.data_dir = data_dir
        self.settings = settings
        self.problem = problem
        self.day: dt.date | None = None
        self.first_day: dt.date | None = None
        self.last_day: dt.date | None = None
        self.filters: dict[str, str] = {}
        self._choices: dict[str, tuple[str, ...]] = {}
        self._channel_table: str | None = None
        self._base: Store | None = None
        self._signature: tuple = ()
        self._newest: dt.date | None = None
        self._stores: dict[tuple, Store] = {}
        self._sections: list[tuple[Callable[..., Any], Any]] = []
        self._widgets: dict[str, Any] = {}
        self._status: Any = None
        self._restoring = False

    # -- opening --------------------------------------------------------------------

    @classmethod
    def open(cls, name: str) -> "StaffPage":
        """Open the page's store from the server's environment; show a note if data is old.

        Never raises: a problem (no data folder, unreadable settings) is shown as a short
        warning, logged with its detail, and the page's sections stay empty.
        """
        _log_to_server()
        try:
            folder = os.environ.get(DATA_ENV)
            if not folder:
                raise BadParameter(f"${DATA_ENV}", expected="the data folder, set by "
                                   "`playbook serve`", found="nothing",
                                   fix="Open the pages through `playbook serve`.")
            page = cls(name, data_dir=Path(folder), settings=load_settings())
            page._open_store()
            page._set_bounds()
        except Exception as err:  # noqa: BLE001 - shown as a short note, detail logged
            reference = _log_failure(f"page {name}: setup", err)
            page = cls(name, data_dir=None, settings=None,
                       problem=f"This page cannot be shown right now (reference {reference}). "
                               f"Tell the store owner; the details are in the server log.")
            _display(show.note(page.problem, kind="warning"))
            return page
        for note in page._freshness_notes():
            _display(note)
        return page

    def _open_store(self) -> None:
        global _OPENED
        assert self.data_dir is not None and self.settings is not None
        signature = data_signature(self.data_dir)
        opened = _OPENED
        if opened is None or (opened.data_dir, opened.settings, opened.signature) != (
                self.data_dir, self.settings, signature):
            if opened is not None:
                self._forget_cached_views()
            store = Store.open(self.data_dir, self.settings, threads=1,
                               memory_limit=DUCKDB_MEMORY)
            opened = _OPENED = _Opened(self.data_dir, self.settings, signature, store)
        self._base, self._signature, self._stores = opened.store, signature, {}

    def _fact(self, name: str, compute: Callable[[], Any]) -> Any:
        """An answer about the open store, computed once per store."""
        assert _OPENED is not None and _OPENED.store is self._base
        if name not in _OPENED.facts:
            _OPENED.facts[name] = compute()
        return _OPENED.facts[name]

    @staticmethod
    def _forget_cached_views() -> None:
        """Drop the views' per-store results of the store being replaced."""
        from opslib.views.daily import data

        for name in data.__all__:
            clear = getattr(getattr(data, name), "cache_clear", None)
            if clear is not None:
                clear()

    def _order_days(self) -> tuple[dt.date | None, dt.date | None]:
        """The local days of the oldest and newest orders (one aggregate query)."""
        assert self._base is not None and self.settings is not None
        if not self._base.has("orders"):
            return None, None
        orders = self._base.table("orders")
        row = self._fact("order_days", lambda: orders.aggregate(
            oldest=orders.created_at.min(), newest=orders.created_at.max()).to_pandas().iloc[0])
        if pd.isna(row["newest"]):
            return None, None
        zone = self.settings.zone
        return row["oldest"].tz_convert(zone).date(), row["newest"].tz_convert(zone).date()

    def _set_bounds(self) -> None:
        """Pickable days: up to yesterday, and HISTORY_DAYS back from the opening day (not
        before the first order).

        The page opens on yesterday, or on the newest order's day when the data is older.
        """
        assert self.settings is not None
        yesterday = self.settings.yesterday()
        oldest, self._newest = self._order_days()
        self.day = min(yesterday, self._newest) if self._newest else yesterday
        self.last_day = yesterday
        self.first_day = max(self.day - dt.timedelta(days=HISTORY_DAYS), oldest or self.day)

    def _freshness_notes(self) -> list[show.Block]:
        assert self.settings is not None
        yesterday = self.settings.yesterday()
        if self._newest is None:
            return [show.note("This store has no orders yet, so the pages show empty lists.")]
        if self._newest < yesterday:
            return [show.note(
                f"The newest order in the data is from {self._newest}, so this page opens "
                f"on that day. Import the latest exports to see yesterday ({yesterday}).",
                kind="warning")]
        return []

    # -- the store the views read ---------------------------------------------------

    @property
    def store(self) -> Store:
        """The store narrowed by the current filters (reopened when the data changed)."""
        assert self._base is not None and self.data_dir is not None
        if data_signature(self.data_dir) != self._signature:
            log.info("page %s: data changed, reopening the store", self.name)
            self._open_store()
        key = tuple(sorted(self.filters.items()))
        if not key:
            return self._base
        if key not in self._stores:
            narrow: dict[str, Callable[[Any], Any]] = {}
            channel = self.filters.get("channel")
            if channel and self._channel_table:
                narrow.update(_channel_filter(self._channel_table, channel))
            category = self.filters.get("category")
            if category:
                narrow.update(_category_filter(self._base, category))
            self._stores[key] = _FilteredStore(self._base, narrow)
        return self._stores[key]

    # -- controls -------------------------------------------------------------------

    def controls(self, *, date: bool = True, channel: str | None = None,
                 category: bool = False) -> None:
        """Show the page's controls: a date picker, a channel filter over the `channel`
        column of table `channel` (its allowed values), a product category filter."""
        import ipywidgets as widgets

        if self.problem:
            return
        if _Rehearsal.active:  # the answers the controls need, no widgets
            self._channel_table = channel
            if category:
                self._categories()
            return
        row = []
        if date:
            picker = _day_picker_class()(value=self.day, description="Day",
                                         min=self.first_day, max=self.last_day)
            picker.observe(self._on_day, names="value")
            picker.observe(self._keep_bounds, names=["min", "max"])
            self._widgets["day"] = picker
            row.append(picker)
        if channel:
            allowed = TABLES[channel].column("channel").allowed
            self._channel_table = channel
            row.append(self._dropdown("channel", allowed, everything="All channels"))
        if category:
            row.append(self._dropdown("category", self._categories(),
                                      everything="All categories"))
        refresh = widgets.Button(description="Refresh", tooltip="Read the data again",
                                 icon="refresh")
        refresh.on_click(lambda _button: self._refresh(reason="refresh"))
        row.append(refresh)
        self._status = widgets.HTML(value=self._status_text())
        _display(widgets.VBox([widgets.HBox(row, layout=widgets.Layout(flex_flow="row wrap")),
                               self._status]))

    def _day_range_text(self) -> str:
        """Which days the picker offers and why; the page's script sets the browser's date
        input to the same bounds (data-min, data-max)."""
        import html

        assert self.first_day is not None and self.last_day is not None
        oldest, _ = self._order_days()
        why_first = ("the first day with orders" if self.first_day == oldest else
                     f"the pages go back {HISTORY_DAYS} days")
        text = (f"Days from {self.first_day:%-d %B %Y} ({why_first}) to "
                f"{self.last_day:%-d %B %Y} (yesterday: today is not over yet) can be shown.")
        return (f'<div class="opslib-day-range" data-min="{self.first_day.isoformat()}" '
                f'data-max="{self.last_day.isoformat()}">{html.escape(text)}</div>')

    def _categories(self) -> tuple[str, ...]:
        assert self._base is not None
        if not self._base.has("products"):
            return ()
        products = self._base.table("products")
        return self._fact("categories", lambda: tuple(sorted(
            str(v) for v in products.select("category").distinct().to_pandas()["category"]
            .dropna() if str(v))))

    def _dropdown(self, name: str, allowed: Sequence[str], *, everything: str):
        import ipywidgets as widgets

        self._choices[name] = (_ALL, *allowed)
        options = [(everything, _ALL)] + [(value.replace("_", " "), value) for value in allowed]
        box = widgets.Dropdown(options=options, value=_ALL, description=name.capitalize())
        box.observe(lambda change, name=name: self._on_choice(name, change), names="value")
        self._widgets[name] = box
        return box

    def _status_text(self, message: str | None = None) -> str:
        import html

        parts = [f"Showing the end of {self.day:%A} {self.day.day} {self.day:%B %Y}"
                 if self.day else ""]
        for name, value in sorted(self.filters.items()):
            parts.append(f"{name}: {value.replace('_', ' ')}")
        text = html.escape(" · ".join(p for p in parts if p))
        if "day" in self._widgets:
            text += self._day_range_text()
        if message:
            text += (f'<div style="color:#c62828;font-weight:600" class="opslib-refused">'
                     f'{html.escape(message)}</div>')
        return f'<div style="font-size:13px;color:#57606a">{text}</div>'

    def _restore(self, name: str, value: object) -> None:
        self._restoring = True
        try:
            self._widgets[name].value = value
        finally:
            self._restoring = False

    def _refuse(self, name: str, err: BadParameter, previous: object) -> None:
        log.warning("page %s: refused a value for %s (%s)", self.name, name, err)
        self._restore(name, previous)
        if self._status is not None:
            self._status.value = self._status_text(f"That value was refused: {err}")

    def _keep_bounds(self, change: dict) -> None:
        """The picker's bounds are the server's: a browser that moves them is put back."""
        if self._restoring:
            return
        wanted = self.first_day if change["name"] == "min" else self.last_day
        if change["new"] != wanted:
            log.warning("page %s: refused a new %s for the date picker", self.name,
                        change["name"])
            self._restoring = True
            try:
                setattr(self._widgets["day"], change["name"], wanted)
            finally:
                self._restoring = False

    def _on_day(self, change: dict) -> None:
        if self._restoring:
            return
        try:
            day = checked_day(change["new"], first=self.first_day, last=self.last_day)
        except BadParameter as err:
            self._refuse("day", err, self.day)
            return
        self.day = day
        self._refresh(reason=f"day {day}")

    def _on_choice(self, name: str, change: dict) -> None:
        if self._restoring:
            return
        try:
            value = checked_choice(change["new"], allowed=self._choices[name], name=name)
        except BadParameter as err:
            self._refuse(name, err, self.filters.get(name, _ALL))
            return
        if value == _ALL:
            self.filters.pop(name, None)
        else:
            self.filters[name] = value
        self._refresh(reason=f"{name} {value or 'all'}")

    # -- sections -------------------------------------------------------------------

    def show(self, builder: Callable[..., Any]) -> None:
        """Show a section `builder(store, day)`; it is drawn again when a control changes."""
        import ipywidgets as widgets

        if self.problem:
            return
        if _Rehearsal.active:
            self._draw(builder, _Unshown())
            return
        area = widgets.Output()
        self._sections.append((builder, area))
        self._draw(builder, area)
        _display(area)

    def _refresh(self, *, reason: str) -> None:
        log.info("page %s: redraw (%s)", self.name, reason)
        if self._status is not None:
            self._status.value = self._status_text()
        for builder, area in self._sections:
            self._draw(builder, area)

    def _draw(self, builder: Callable[..., Any], area: Any) -> None:
        try:
            built = builder(self.store, self.day)
            parts = list(getattr(built, "parts", None) or
                         (built if isinstance(built, (list, tuple)) else [built]))
            outputs = tuple(_output(part) for part in parts)
        except Exception as err:  # noqa: BLE001 - a short note on the page, detail logged
            title = getattr(builder, "title", getattr(builder, "__name__", "section"))
            reference = _log_failure(f"page {self.name}: section {title!r}", err)
            outputs = (_output(show.note(
                f"This part of the page could not be shown (reference {reference}). "
                f"Try again later; if it keeps happening, tell the store owner.",
                kind="warning")),)
        area.outputs = outputs


class _Unshown:
    """Where a rehearsed section's outputs go (nowhere)."""

    outputs: tuple = ()


@functools.cache
def _day_picker_class() -> type:
    """ipywidgets' DatePicker without its silent clamping: a day outside min/max reaches
    the page, which refuses it and says which days can be picked."""
    import ipywidgets as widgets
    import traitlets

    class DayPicker(widgets.DatePicker):
        @traitlets.validate("value")
        def _validate_value(self, proposal: dict) -> object:
            return proposal["value"]

    return DayPicker


def _output(part: object) -> dict:
    """A display object as one Output-widget output (its MIME bundle)."""
    from IPython.core.formatters import format_display_data

    data, metadata = format_display_data(part)
    return {"output_type": "display_data", "data": data, "metadata": metadata}


def _log_failure(where: str, err: BaseException) -> str:
    reference = uuid.uuid4().hex[:8]
    log.error("%s failed (reference %s): %s", where, reference,
              err if isinstance(err, OpslibError) else type(err).__name__, exc_info=err)
    return reference
