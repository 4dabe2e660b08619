"""Display primitives: escaping, masking, formatting, recorded figures, warnings."""

from __future__ import annotations

import base64
import re
import math

import pandas as pd
import pytest

from opslib import charts, display


def test_table_escapes_customer_text():
    """Script and image tags in customer text are shown as text, never as markup."""
    frame = pd.DataFrame({"subject": ["<script>alert(1)</script>", '<img src=x onerror="x()">'],
                          "name": ["O'Brien & Co", "Zoë"]})
    html = display.table(frame).html
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "O&#x27;Brien &amp; Co" in html and "Zoë" in html


def test_table_masks_contact_columns_and_highlights_rows():
    """Masked columns keep a hint only; highlighted rows are red and the flag column hidden."""
    frame = pd.DataFrame({"email": ["jane@example.com"], "phone": ["07700 900123"],
                          "is_late": [True]})
    html = display.table(frame, mask=["email", "phone"], highlight="is_late").html
    assert "jane@example.com" not in html and "j***@example.com" in html
    assert "900123" not in html and "••• 0123" in html
    assert "Is late" not in html and "#c62828" in html


def test_table_limits_rows_and_says_how_many_more():
    """A long table shows `limit` rows and a line with the rest's count."""
    html = display.table(pd.DataFrame({"n": range(250)}), limit=200).html
    assert html.count("<tr>") == 201  # header + 200 rows
    assert "… and 50 more rows." in html


def test_empty_table_says_so():
    """An empty frame shows the `empty` message instead of a bare header."""
    assert "Nothing to pick" in display.table(pd.DataFrame({"sku": []}), empty="Nothing to pick").html


@pytest.mark.parametrize("value, unit, expected", [
    (1234, "count", "1,234"), (0.0456, "rate", "4.6%"), (-12.5, "money", "−£12.50"),
    (3.25, "hours", "3.2 hours"), (2.5, "ratio", "2.50×"), (None, "money", "–"),
    (float("nan"), "rate", "–"),
])
def test_format_value(value, unit, expected):
    """Each unit formats the way an owner reads it; missing values show as a dash."""
    assert display.format_value(value, unit, currency="GBP") == expected


def test_record_emits_one_kpis_output(monkeypatch):
    """record() displays one bundle with the kpis MIME type; non-finite numbers become null."""
    shown = []
    monkeypatch.setattr(display, "display", lambda obj, raw: shown.append(obj))
    display.record(count_orders=12, conversion_rate=None, avg_order_value=math.inf)
    assert len(shown) == 1
    assert shown[0][display.KPIS_MIME] == {"count_orders": 12.0, "conversion_rate": None,
                                           "avg_order_value": None}


def test_record_refuses_text():
    """A figure must be a number: text is a mistake in the notebook, not a null."""
    with pytest.raises(TypeError, match="must be a number"):
        display.record(count_orders="twelve")


def test_no_data_note_carries_a_machine_readable_warning():
    """A missing table's note is visible and also tells the runner which table is missing."""
    bundle = display.no_data("tickets", section="Open tickets")._repr_mimebundle_()
    assert "No tickets data" in bundle["text/html"]
    assert bundle[display.WARNINGS_MIME]["table"] == "tickets"


def test_tile_shows_change_and_flag():
    """A tile shows the value, the change against its comparison, and the alert flag."""
    html = display.tiles([display.Tile("Orders", 30, "count", compare=40, compare_label="last Tue",
                                       flagged=True)]).html
    assert "30" in html and "▼ 25% vs last Tue" in html and "outside alert band" in html


@pytest.mark.parametrize("value, base, expected", [
    (0.42, 0.40, "▲ 2.0 pts vs last month"), (0.30, 0.45, "▼ 15.0 pts vs last month"),
    (0.4001, 0.4, "▲ <0.1 pts vs last month")])
def test_a_rate_moves_in_points_not_in_percent_of_itself(value, base, expected):
    """A margin from 40% to 42% moved 2 points (a relative +5% would read as a big jump)."""
    html = display.tiles([display.Tile("Gross margin", value, "rate", compare=base,
                                       compare_label="last month")]).html
    assert expected in html.replace("&lt;", "<")


def test_chart_renders_offline_as_svg_and_png():
    """Charts carry SVG (reports, Voila, trusted Lab) and PNG (untrusted Lab), no script."""
    frame = pd.DataFrame({"channel": ["email", "chat"], "count_tickets": [4, 7]})
    bundle, _ = charts.bar(frame, x="channel", y="count_tickets",
                           title="Tickets")._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<svg")
    assert "<script" not in bundle["image/svg+xml"] and "http" not in bundle["image/svg+xml"].replace(
        "http://www.w3.org", "")
    assert base64.b64decode(bundle["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_small_count_axis_has_whole_number_ticks_each_once():
    """Counts of 1 and 3: the axis reads 0, 1, 2, 3 (not 0, 0.5, 1... shown as 0, 1, 1...)."""
    frame = pd.DataFrame({"channel": ["email", "chat"], "count_tickets": [1, 3]})
    svg = charts.bar(frame, x="channel", y="count_tickets", y_unit="count").to_svg()
    ticks = re.findall(r">([0-9][0-9.,]*)</text>", svg)
    assert ticks == ["0", "1", "2", "3"]


def test_booleans_read_yes_and_no():
    assert display.format_value(True) == "yes"
    assert display.format_value(False, "count") == "no"
