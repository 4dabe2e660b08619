"""The setup call of every report notebook: settings, date, title, stale-data warnings."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from opslib.config import Settings
from opslib.display import WARNINGS_MIME
from opslib.errors import BadParameter
from opslib.schema import TABLES
from opslib.store import Store
from opslib.tables import write_table
from opslib.views import base
from opslib.views.daily import customer_service

SETTINGS = Settings.from_dict({"store": {"name": "Tiny <Shop>", "timezone": "Europe/London"},
                               "runs": {"stale_after_days": 2}})


def _orders(created: list[str]) -> pd.DataFrame:
    """Orders with neutral values, placed at the given UTC times."""
    rows = []
    for number, when in enumerate(created):
        row = {c.name: None if c.nullable else (c.allowed[0] if c.allowed else
               {"text": "x", "int": 1, "money": 0.0, "float": 0.0, "bool": False}.get(c.type))
               for c in TABLES["orders"].columns}
        row.update(order_id=f"o{number}", created_at=pd.Timestamp(when, tz="UTC"))
        rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture
def store(tmp_path) -> Store:
    """Orders on 1 and 5 June 2025, nothing after."""
    write_table(tmp_path, "orders", _orders(["2025-06-01 10:00", "2025-06-05 10:00"]))
    return Store.open(tmp_path, SETTINGS)


def _codes(blocks) -> list[str]:
    return [b._repr_mimebundle_()[WARNINGS_MIME]["code"] for b in blocks]


def test_fresh_data_gives_no_warning(store):
    """The newest order (5 June) is 2 days before D = 7 June: within stale_after_days = 2."""
    assert base.freshness_warnings(base.Report(store, dt.date(2025, 6, 7), "daily")) == []


def test_old_data_gives_a_stale_data_warning(store):
    """D = 8 June: the newest order is 3 days old (> 2) → one stale_data warning naming it."""
    warnings = base.freshness_warnings(base.Report(store, dt.date(2025, 6, 8), "daily"))
    assert _codes(warnings) == ["stale_data"]
    assert "2025-06-05" in warnings[0].html


def test_no_orders_at_all_in_the_look_back_is_stale(store):
    """D = 1 Dec: no order in the 60 days before → stale, and it says so."""
    warnings = base.freshness_warnings(base.Report(store, dt.date(2025, 12, 1), "daily"))
    assert _codes(warnings) == ["stale_data"] and "No orders" in warnings[0].html


def test_a_report_for_today_is_incomplete(store):
    """D = today in the store's zone: the day is not over, the figures are partial."""
    today = SETTINGS.today()
    assert "incomplete_day" in _codes(base.freshness_warnings(base.Report(store, today,
                                                                          "daily")))


def test_load_report_defaults_to_yesterday_and_parses_dates(store, tmp_path):
    """No report_date → yesterday in the store's zone; a bad one is a BadParameter."""
    report = base.load_report(data_dir=tmp_path, report_date=None)
    assert report.day == Settings().yesterday()
    assert base.load_report(data_dir=tmp_path, report_date="2025-06-07").day == \
        dt.date(2025, 6, 7)
    with pytest.raises(BadParameter, match="YYYY-MM-DD"):
        base.load_report(data_dir=tmp_path, report_date="7 June")


def test_the_title_line_escapes_the_store_name(store):
    """The store name comes from the user: shown escaped, with the date in words."""
    html = base.title_line(base.Report(store, dt.date(2025, 6, 7), "daily")).html
    assert "Tiny &lt;Shop&gt;" in html and "Saturday 7 June 2025" in html


def test_a_section_without_its_table_is_a_no_data_note(store):
    """No tickets table: the section returns the no-data note (with its warning), no error."""
    shown = customer_service.breaches(store, dt.date(2025, 6, 5))
    assert len(shown.parts) == 1
    payload = shown.parts[0]._repr_mimebundle_()[WARNINGS_MIME]
    assert payload["code"] == "no_data" and payload["table"] == "tickets"


@pytest.mark.parametrize("cadence, start", [("daily", "2025-06-30"), ("weekly", "2025-06-24"),
                                            ("monthly", "2025-06-01")])
def test_report_windows(cadence, start):
    window = base.report_window(dt.date(2025, 6, 30), cadence=cadence, zone="UTC")
    assert window.start == dt.date.fromisoformat(start) and window.end == dt.date(2025, 6, 30)


def test_an_unknown_cadence_is_refused(tmp_path):
    with pytest.raises(BadParameter, match="daily, weekly or monthly"):
        base.load_report(data_dir=tmp_path, cadence="hourly")
