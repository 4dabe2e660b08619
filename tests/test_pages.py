"""The staff pages' runtime, driven directly (no browser): checks, filters, errors, freshness.

The widgets are driven the way a browser's messages drive them (setting their synced
traits); test_serve_security.py sends the same values through a real kernel websocket.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil

import ipywidgets
import pytest
import traitlets
from demo_data import DEMO_UNTIL

from opslib.serve import pages
from opslib.errors import BadParameter
from opslib.metrics import support
from opslib.serve.pages import StaffPage, checked_choice, checked_day
from opslib.store import Store, Window

FIRST, LAST = dt.date(2025, 1, 1), dt.date(2025, 11, 30)


@pytest.fixture(autouse=True)
def shown(monkeypatch):
    """What the page displays (outside a kernel); the page's log set-up is undone after."""
    import IPython.display

    items: list = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: items.extend(objs))
    root = logging.getLogger("opslib")
    handlers, level = list(root.handlers), root.level
    yield items
    logging.captureWarnings(False)
    for logger in (root, logging.getLogger("py.warnings")):
        for handler in list(logger.handlers):
            if getattr(handler, "_opslib_page", False):
                logger.removeHandler(handler)
    logging.getLogger("py.warnings").propagate = True
    root.setLevel(level)
    assert list(root.handlers) == handlers


def _text(items: list) -> str:
    return "\n".join(getattr(item, "html", repr(item)) for item in items)


@pytest.fixture
def page_env(small_demo_dir, monkeypatch):
    monkeypatch.setenv("PLAYBOOK_DATA", str(small_demo_dir))
    monkeypatch.delenv("PLAYBOOK_SETTINGS", raising=False)
    return small_demo_dir


def _html(page: StaffPage) -> str:
    return "\n".join(o["data"].get("text/html", "") for _, area in page._sections
                     for o in area.outputs)


@pytest.mark.parametrize("value", [dt.date(2024, 12, 31), dt.date(2025, 12, 1),
                                   dt.datetime(2025, 6, 1, 12), "2025-06-01", None, 20250601])
def test_checked_day_refuses_anything_but_a_date_in_range(value):
    with pytest.raises(BadParameter):
        checked_day(value, first=FIRST, last=LAST)


def test_checked_day_accepts_the_bounds():
    assert checked_day(FIRST, first=FIRST, last=LAST) == FIRST
    assert checked_day(LAST, first=FIRST, last=LAST) == LAST


@pytest.mark.parametrize("value", ["EMAIL", "email ", "x' OR 1=1 --", "../tickets", 3, None])
def test_checked_choice_is_exact(value):
    with pytest.raises(BadParameter):
        checked_choice(value, allowed=("", "email", "chat"))


def test_a_page_opens_on_the_newest_data_day_and_says_so(page_env, shown):
    """The demo data ends before yesterday: the page opens on its last day, with a note."""
    page = StaffPage.open("support_queue")
    assert page.day == DEMO_UNTIL
    assert page.first_day <= page.day <= page.last_day
    assert "The newest order in the data is from 2025-11-30" in _text(shown)


def test_sections_show_the_views_for_the_day(page_env, small_demo_store):
    """The open-ticket list has one row per open ticket of the metric, in its order."""
    page = StaffPage.open("support_queue")
    page.controls(date=True, channel="tickets")
    page.show(pages.open_ticket_list)
    expected = support.open_tickets(small_demo_store.table("tickets"),
                                    as_of=Window.of(DEMO_UNTIL, zone=small_demo_store.zone),
                                    sla_hours=small_demo_store.settings.service
                                    .first_response_hours)
    html = _html(page)
    assert html.count("<tr>") == len(expected) + 1  # header row + one per ticket
    assert html.index(expected.ticket_id.iloc[0]) < html.index(expected.ticket_id.iloc[-1])


def test_an_out_of_range_day_is_refused_and_the_picker_put_back(page_env, caplog):
    """A tampered browser that also moves the picker's max is refused; nothing is redrawn."""
    page = StaffPage.open("pick_list")
    page.controls(date=True)
    page.show(pages.pick_list_download)
    before = _html(page)
    picker = page._widgets["day"]
    with caplog.at_level(logging.WARNING, logger="opslib.serve.pages"):
        # One message, as a browser sends it (ipywidgets would clamp a lone value to max).
        far = {"year": 2031, "month": 0, "date": 1}
        picker.set_state({"max": far, "value": far})
    assert page.day == DEMO_UNTIL
    assert picker.value == DEMO_UNTIL and picker.max == page.last_day
    assert "refused" in page._status.value
    assert _html(page) == before
    assert "refused a value for day" in caplog.text


def test_a_valid_day_redraws_the_sections(page_env):
    page = StaffPage.open("pick_list")
    page.controls(date=True)
    page.show(pages.pick_list_download)
    page._widgets["day"].value = dt.date(2025, 11, 20)
    assert page.day == dt.date(2025, 11, 20)
    assert "pick-list-2025-11-20.csv" in _html(page)
    assert "Thursday 20 November 2025" in page._status.value


def test_a_dropdown_index_out_of_range_never_reaches_the_page(page_env):
    """ipywidgets rejects the index itself; the page's filter stays as it was."""
    page = StaffPage.open("support_queue")
    page.controls(date=True, channel="tickets")
    box = page._widgets["channel"]
    with pytest.raises(traitlets.TraitError):
        box.index = 99
    assert page.filters == {}


def test_a_channel_filters_the_tickets_through_the_views(page_env, small_demo_store):
    """Choosing 'chat' narrows every section to chat tickets (an Ibis filter)."""
    page = StaffPage.open("support_queue")
    page.controls(date=True, channel="tickets")
    page.show(pages.open_ticket_list)
    page._widgets["channel"].value = "chat"
    assert page.filters == {"channel": "chat"}
    tickets = support.open_tickets(small_demo_store.table("tickets"),
                                   as_of=Window.of(DEMO_UNTIL, zone=small_demo_store.zone),
                                   sla_hours=24)
    chat = tickets[tickets.channel == "chat"]
    html = _html(page)
    assert html.count("<tr>") == len(chat) + 1
    assert all(t in html for t in chat.ticket_id)
    assert not any(t in html for t in tickets[tickets.channel != "chat"].ticket_id)


def test_a_category_narrows_the_stock_views(page_env, small_demo_store):
    from opslib.views.daily import stock_watch

    page = StaffPage.open("stock_watch")
    page.controls(date=True, category=True)
    page.show(stock_watch.stock_outs)
    categories = page._choices["category"][1:]
    assert categories, "the demo has product categories"
    page._widgets["category"].value = categories[0]
    products = small_demo_store.table("products").to_pandas()
    others = set(products[products.category != categories[0]].sku)
    assert not any(f">{sku}<" in _html(page) for sku in others)


def test_a_failing_section_shows_a_short_note_and_logs_the_traceback(page_env, caplog):
    def broken(store, day):
        raise RuntimeError("secret internal detail /srv/data")

    page = StaffPage.open("today")
    with caplog.at_level(logging.ERROR, logger="opslib.serve.pages"):
        page.show(broken)
    html = _html(page)
    assert "could not be shown (reference" in html
    assert "secret internal detail" not in html and "Traceback" not in html
    assert "Traceback" in caplog.text and "secret internal detail" in caplog.text


def test_without_a_data_folder_the_page_says_so_briefly(monkeypatch, shown):
    monkeypatch.delenv("PLAYBOOK_DATA", raising=False)
    page = StaffPage.open("today")
    page.controls()
    page.show(pages.open_ticket_list)
    out = _text(shown)
    assert "cannot be shown right now" in out and "Traceback" not in out
    assert page._sections == []


def test_new_data_files_reopen_the_store(small_demo_dir, tmp_path, monkeypatch):
    """An open page does not keep old figures: a rewritten table is read again."""
    from opslib.tables import write_table

    data = tmp_path / "data"
    shutil.copytree(small_demo_dir, data)
    monkeypatch.setenv("PLAYBOOK_DATA", str(data))
    page = StaffPage.open("support_queue")
    first = page.store
    tickets = first.table("tickets").to_pandas()
    write_table(data, "tickets", tickets.iloc[:10])
    assert page.store is not first
    assert page.store.table("tickets").count().execute() == 10


def test_the_filtered_store_keeps_the_base_tables_elsewhere(small_demo_store):
    narrowed = pages._FilteredStore(small_demo_store,
                                    pages._channel_filter("tickets", "email"))
    assert set(narrowed.table("tickets").channel.to_pandas()) == {"email"}
    assert narrowed.table("orders").count().execute() == \
        small_demo_store.table("orders").count().execute()
    assert isinstance(narrowed, Store)


def test_controls_are_ipywidgets(page_env):
    page = StaffPage.open("stock_watch")
    page.controls(date=True, category=True)
    assert isinstance(page._widgets["day"], ipywidgets.DatePicker)
    assert isinstance(page._widgets["category"], ipywidgets.Dropdown)


# --- pre-started kernels: a rehearsed page never shows old data ------------------------------


def _tickets_tile(page: StaffPage) -> str:
    """The 'Tickets opened' figure as the Today page shows it."""
    import re

    found = re.search(r"Tickets opened</div>\s*<div[^>]*>([^<]+)<", _html(page))
    assert found, "no 'Tickets opened' tile on the Today page"
    return found.group(1)


def _today_page() -> StaffPage:
    from opslib.views.daily import journal

    page = StaffPage.open("today")
    page.controls(date=True)
    page.show(journal.summary)
    page.show(journal.todo)
    return page


def _fresh_today_page() -> StaffPage:
    """The Today page computed from scratch: no store or result kept from before."""
    StaffPage._forget_cached_views()
    pages._OPENED = None
    return _today_page()


@pytest.mark.parametrize("change", ["drop the day's tickets", "rewritten, old times kept"])
def test_a_rehearsed_page_shows_the_data_as_it_is_when_opened(small_demo_dir, tmp_path,
                                                              monkeypatch, change,
                                                              small_demo_store):
    """A kernel that rehearsed its page before the tables changed shows the new figures,
    exactly those of a page computed from scratch (even when the rewritten parts carry
    their old modification times)."""
    import os

    import pandas as pd

    from opslib.tables import write_table

    data = tmp_path / "data"
    shutil.copytree(small_demo_dir, data)
    monkeypatch.setenv("PLAYBOOK_DATA", str(data))
    pages.rehearse("today")
    old = _tickets_tile(_today_page())
    tickets = pd.read_parquet(data / "tables" / "tickets.parquet")
    opened_on_day = tickets.created_at.dt.tz_convert(small_demo_store.zone).dt.date == DEMO_UNTIL
    assert opened_on_day.sum() > 0
    if change == "drop the day's tickets":
        write_table(data, "tickets", tickets[~opened_on_day])
    else:  # the day's tickets moved 3 days back; every part keeps its old time
        parts = sorted((data / "tables" / "tickets.parquet").rglob("*.parquet"))
        stamps = [(p.stat().st_size, p.stat().st_mtime_ns) for p in parts]
        moved = tickets.assign(created_at=tickets.created_at.where(
            ~opened_on_day, tickets.created_at - pd.Timedelta(days=3)))
        write_table(data, "tickets", moved)
        for part, (_, mtime) in zip(sorted((data / "tables" / "tickets.parquet")
                                           .rglob("*.parquet")), stamps):
            os.utime(part, ns=(mtime, mtime))
    now = _tickets_tile(_today_page())
    assert now != old
    assert _html(_today_page()) == _html(_fresh_today_page())


def test_a_rehearsal_shows_nothing_and_leaves_no_widgets(page_env, shown):
    from ipywidgets.widgets.widget import _instances

    before = set(_instances)
    pages.rehearse("stock_watch")
    assert shown == []
    assert set(_instances) == before


def test_the_next_page_reuses_the_rehearsed_results(page_env, monkeypatch):
    """After a rehearsal, opening the page asks the engine nothing new."""
    from opslib.views.daily import data as view_data

    pages.rehearse("today")
    before = view_data.open_tickets.cache_info()
    _today_page()
    after = view_data.open_tickets.cache_info()
    assert after.misses == before.misses and after.hits > before.hits


# --- the date picker: bounds from the data, said on the page ---------------------------------


def test_the_picker_offers_the_data_days_and_says_why(page_env, small_demo_store):
    page = StaffPage.open("pick_list")
    page.controls(date=True)
    picker = page._widgets["day"]
    orders = small_demo_store.table("orders").created_at.to_pandas()
    first_order = orders.min().tz_convert(small_demo_store.zone).date()
    expected_first = max(DEMO_UNTIL - dt.timedelta(days=pages.HISTORY_DAYS), first_order)
    assert (picker.min, picker.max) == (expected_first, page.settings.yesterday())
    status = page._status.value
    assert f'data-min="{picker.min.isoformat()}"' in status
    assert f'data-max="{picker.max.isoformat()}"' in status
    why = "the first day with orders" if expected_first == first_order else "go back 400 days"
    assert f"Days from {picker.min:%-d %B %Y} ({why}" in status
    assert "(yesterday: today is not over yet)" in status


@pytest.mark.parametrize("value", [dt.date(2019, 1, 1), dt.date(2030, 1, 1)])
def test_a_day_outside_the_picker_is_refused_with_the_reason_not_clamped(page_env, value):
    """ipywidgets alone would clamp 2019-01-01 to the first day and 2030-01-01 to the last
    one and redraw without a word; the page refuses the day and says which days it has."""
    page = StaffPage.open("pick_list")
    page.controls(date=True)
    page.show(pages.pick_list_download)
    before = _html(page)
    picker = page._widgets["day"]
    picker.set_state({"value": {"year": value.year, "month": value.month - 1,
                                "date": value.day}})
    assert page.day == DEMO_UNTIL and picker.value == DEMO_UNTIL
    assert _html(page) == before
    status = page._status.value
    assert "That value was refused" in status and str(value) in status
    assert f"a day from {page.first_day} to {page.last_day}" in status


def test_the_support_page_lists_detractors_to_call_masked(page_env, small_demo_store):
    """Detractors to call: the low scores of the 30 days to D, worst first, with e-mail
    and phone masked (table and download) and nothing handed to a runner."""
    from opslib.exports import LIST_MIME
    from opslib.metrics import customers

    window = Window.of(DEMO_UNTIL - dt.timedelta(days=29), DEMO_UNTIL,
                       zone=small_demo_store.zone)
    expected = customers.detractors(small_demo_store.table("surveys"),
                                    small_demo_store.table("orders"),
                                    small_demo_store.table("customers"), window=window)
    assert len(expected) > 0 and expected.email.notna().any()
    page = StaffPage.open("support_queue")
    page.controls(date=True, channel="tickets")
    page.show(pages.detractors_to_call)
    html = _html(page)
    assert min(len(expected), 50) + 1 == html.count("<tr>")
    assert not any(email in html for email in expected.email.dropna())
    assert not any(phone in html for phone in expected.phone.dropna())
    assert "***@" in html
    block = pages.detractors_to_call(small_demo_store, DEMO_UNTIL).parts[0]
    assert block.extra is None or LIST_MIME not in block.extra


def test_the_warehouse_page_lists_orders_awaiting_payment_masked(page_env, small_demo_store):
    """Awaiting payment on the pick-list page: every unpaid order of D, e-mail masked and
    names left out (table and download), nothing handed to a runner."""
    from opslib.exports import LIST_MIME
    from opslib.views.daily import data

    expected = data.unpaid_orders(small_demo_store, DEMO_UNTIL)
    assert len(expected) > 0 and expected.email.notna().any()
    page = StaffPage.open("pick_list")
    page.controls(date=True)
    page.show(pages.awaiting_payment_list)
    html = _html(page)
    assert all(number in html for number in expected.order_number)
    assert not any(email in html for email in expected.email.dropna())
    assert not any(name in html for name in expected.last_name.dropna())
    assert "***@" in html
    block = pages.awaiting_payment_list(small_demo_store, DEMO_UNTIL).parts[0]
    assert LIST_MIME not in block.extra
