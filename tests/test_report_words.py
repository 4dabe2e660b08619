"""Words, not field names, wherever a person reads a report (issue: labels everywhere)."""

from __future__ import annotations

import base64
import re

import altair as alt
import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st

from opslib import charts
from opslib import display as show
from opslib.runs import reports


def html_of(block) -> BeautifulSoup:
    return BeautifulSoup(block.html, "html.parser")


def test_table_headers_are_labels():
    """The headers the old pages showed as field names read as words."""
    frame = pd.DataFrame({"kpi": ["Orders"], "value_prev": [1.0], "rank_label": ["best"],
                          "date_day": [pd.Timestamp("2026-11-29")], "count_items": [3],
                          "balance_amount": [12.5]})
    heads = [th.text for th in html_of(show.table(frame, currency="GBP")).find_all("th")]
    assert heads == ["Figure", "Previous period", "Best or worst", "Day", "Items", "Balance"]


def test_table_units_come_from_the_glossary():
    """A money column is shown in the store's currency without being told its unit."""
    frame = pd.DataFrame({"balance_amount": [12.5], "days_of_cover": [13.0]})
    cells = [td.text for td in html_of(show.table(frame, currency="EUR")).find_all("td")]
    assert cells == ["€12.50", "13 days"]


@pytest.mark.parametrize(("column", "value", "shown"), [
    ("category", "product_question", "Product question"), ("reason", "changed_mind",
                                                           "Changed mind"),
    ("channel", "online_store", "Online store"), ("sku", "bat_0007", "bat_0007"),
    ("email", "jane_doe@example.com", "j***@example.com"), ("title", "gift_card", "gift_card"),
])
def test_category_values_read_as_words(column, value, shown):
    """Categories are put in words; identifiers, contacts and titles are left as they are."""
    frame = pd.DataFrame({column: [value]})
    mask = ["email"] if column == "email" else []
    assert html_of(show.table(frame, mask=mask)).td.text == shown


@pytest.mark.parametrize(("tile", "currency", "expected"), [
    (show.Tile("Orders", 5, "count", 5, "last Sunday"), None, "no change vs last Sunday (5)"),
    (show.Tile("Net cash flow", 2000.0, "money", -7670.12, "last week"), "GBP",
     "▲ from −£7,670.12 last week"),
    (show.Tile("Net sales", 50.0, "money", 0.0, "avg of last 4 Sundays"), "GBP",
     "▲ from £0.00 avg of last 4 Sundays"),
    (show.Tile("Sessions", 1001, "count", 1000, "last week"), None, "▲ 0.1% vs last week"),
    (show.Tile("Sessions", 90, "count", 100, "last week"), None, "▼ 10% vs last week"),
])
def test_tile_changes_say_what_happened(tile, currency, expected):
    """No '▲ 0%' for no change, no percentage across zero, money in the store's currency."""
    delta = html_of(show.tiles([tile], currency=currency)).find_all("div")[-1].text
    assert delta == expected


@settings(max_examples=50, deadline=None)
@given(st.floats(-1e6, 1e6, allow_nan=False), st.floats(-1e6, 1e6, allow_nan=False))
def test_a_change_is_never_a_meaningless_percentage(value, base):
    """Across or from zero the change gives the earlier value; otherwise the percentage has
    the direction of the change and is never 0%."""
    text = show.change(value, base, unit="money", currency="GBP")
    if value == base:
        assert text == "no change"
    elif base == 0 or (value < 0) != (base < 0):
        assert "%" not in text and text.split()[0] == ("up" if value > base else "down")
    else:
        assert text[0] == ("+" if value > base else "−") and text not in ("+0%", "−0%")


def test_a_promotion_reads_as_an_offer():
    """A 10% promotion is '10% off', not 'Value 10.0'."""
    assert show.offer("percent", 10.0) == "10% off"
    assert show.offer("fixed_amount", 5.0, currency="EUR") == "€5.00 off"


def test_days_read_as_days():
    assert show.format_value(13.0, "days") == "13 days"
    assert show.format_value(0.3, "days") == "0.3 days"


def svg_of(chart: charts.Chart) -> str:
    bundle, _ = chart._repr_mimebundle_()
    return bundle["image/svg+xml"]


def test_chart_axes_have_labels_units_currency_and_months():
    """Axis titles are labels with their unit; date axes name the month; categories are
    in words."""
    frame = pd.DataFrame({"date_day": pd.date_range("2026-11-02", periods=28),
                          "net_sales": range(28)})
    svg = svg_of(charts.line(frame, x="date_day", y="net_sales", y_unit="money",
                             currency="GBP"))
    assert "Net sales (£)" in svg and "net sales" not in svg
    assert re.search(r">\d{1,2} Nov<", svg)
    assert not re.search(r">(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d", svg)
    reasons = pd.DataFrame({"reason": ["changed_mind", "online_store"], "count_total": [3, 1]})
    svg = svg_of(charts.bar(reasons, x="reason", y="count_total", horizontal=True,
                            y_unit="count"))
    assert "Changed mind" in svg and "changed_mind" not in svg and "Total" in svg


def test_long_category_labels_are_not_cut_off():
    """Room on the left of every chart and a generous label limit."""
    frame = pd.DataFrame({"category": ["Mugs & Tableware and other long names"],
                          "net_sales_change": [3.0]})
    chart = charts.bar(frame, x="category", y="net_sales_change", horizontal=True)
    assert charts._house_theme(chart.altair).to_dict()["padding"]["left"] >= 20
    stacked = charts.to_display(alt.vconcat(chart.altair, chart.altair))
    assert svg_of(stacked).lstrip().startswith("<svg")  # padding also works on stacked charts
    assert "Mugs &amp; Tableware and other long names" in svg_of(
        charts.bar(frame, x="category", y="net_sales_change", horizontal=True))


def report_page(chart: charts.Chart) -> BeautifulSoup:
    """The chart displayed in a notebook, exported as the runner exports reports."""
    data, metadata = chart._repr_mimebundle_()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("display_data", data, metadata=metadata)]
    nb.cells = [cell]
    return BeautifulSoup(reports.export_html(nb, title="t"), "html.parser")


def test_every_chart_has_a_sentence_for_alt_text():
    """The exported image's alt text describes the chart, in the store's currency."""
    frame = pd.DataFrame({"date_day": pd.date_range("2026-11-01", periods=3),
                          "net_sales": [10.0, 30.0, 20.0]})
    page = report_page(charts.line(frame, x="date_day", y="net_sales", y_unit="money",
                                   currency="GBP", title="Net sales per day"))
    images = page.find_all("img")
    assert len(images) == 1 and "No description" not in str(page)
    assert images[0]["alt"] == ("Line chart “Net sales per day” of net sales (£) by day, "
                                "1 November 2026 to 3 November 2026: highest £30.00 "
                                "(2 November 2026), lowest £10.00 (1 November 2026).")
    src = images[0]["src"].split(",", 1)[1]
    assert base64.b64decode(src).decode().lstrip().startswith("<svg")


def test_alt_text_of_monthly_and_category_charts():
    """Months read as months; acronyms keep their capitals inside the sentence."""
    months = pd.DataFrame({"month_start": pd.date_range("2025-12-01", periods=3, freq="MS"),
                           "csat_rate": [0.5, 0.9, 0.7]})
    text = charts.line(months, x="month_start", y="csat_rate", y_unit="rate").description
    assert text == ("Line chart of CSAT rate (%) by month, December 2025 to February 2026: "
                    "highest 90.0% (January 2026), lowest 50.0% (December 2025).")
    segments = pd.DataFrame({"rfm_segment": ["Champions"], "count_customers": [3]})
    assert "by RFM segment" in charts.bar(segments, x="rfm_segment", y="count_customers",
                                          y_unit="count").description


def test_alt_text_is_escaped():
    chart = charts.to_display(charts.bar(pd.DataFrame({"x": ["a"], "y": [1]}), x="x",
                                         y="y").altair, 'A "quoted" <b>chart</b>')
    assert report_page(chart).img["alt"] == 'A "quoted" <b>chart</b>'


def test_the_figures_only_section_is_hidden_but_recorded():
    """'Headline figures' (a heading over a cell that only records) is not shown; the
    figures are still collected for run.json, and other sections stay."""
    nb = nbformat.v4.new_notebook()
    shown_cell = nbformat.v4.new_code_cell("")
    shown_cell.outputs = [nbformat.v4.new_output("display_data", {"text/html": "<p>tiles</p>"})]
    record = nbformat.v4.new_code_cell("")
    record.outputs = [nbformat.v4.new_output(
        "display_data", {reports.KPIS_MIME: {"count_orders": 3}, "text/plain": "figures"})]
    nb.cells = [nbformat.v4.new_markdown_cell("# Journal"),
                nbformat.v4.new_markdown_cell("## The day in numbers"), shown_cell,
                nbformat.v4.new_markdown_cell("## Headline figures\n\nRecorded for run.json."),
                record]
    text = BeautifulSoup(reports.export_html(nb, title="t"), "html.parser").get_text(" ")
    assert "Headline figures" not in text and "Recorded for run.json" not in text
    assert "The day in numbers" in text and "tiles" in text and "Journal" in text
    assert reports.collect_outputs(nb)[0] == {"count_orders": 3}


def test_month_names_are_capitalised(small_demo_store, demo_until):
    """'This month (November 2026)', not 'november 2026'."""
    from opslib.views.monthly import common

    values = [{"count_orders": 3.0}, {"count_orders": 2.0}, {"count_orders": None}]
    block = common.comparison_table(small_demo_store, demo_until, values,
                                    [("count_orders", "Orders", "count")])
    heads = [th.text for th in html_of(block).find_all("th")]
    month = f"{demo_until:%B %Y}"
    assert f"This month ({month})" in heads and not any(
        re.search(r"\((january|february|march|april|may|june|july|august|september|october|"
                  r"november|december) \d{4}\)", h) for h in heads)
