"""The labels glossary (opslib/glossary.toml): one entry per name defined in docs/metrics.md,
one for every figure a notebook records, and the words a person reads."""

from __future__ import annotations

import re
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_daily_notebooks import DAILY_FIGURES
from test_metrics_glossary import GLOSSARY
from test_monthly_notebooks import MONTHLY_FIGURES
from test_weekly_notebooks import WEEKLY_FIGURES

from opslib import glossary

RECORDED = DAILY_FIGURES | WEEKLY_FIGURES | MONTHLY_FIGURES


def defined_names(text: str) -> set[str]:
    """Names docs/metrics.md defines: a table row's first cell, in backticks (a † after the
    name marks a monthly figure recorded with its twins).

    >>> sorted(defined_names("| `net_sales` | ... |\\n| `return_rate` † | ... |"))
    ['net_sales', 'return_rate']
    """
    return set(re.findall(r"^\| `([a-z0-9_]+)`(?: †)? \|", text, flags=re.MULTILINE))


def test_every_recorded_figure_has_an_entry():
    """Each name a notebook records in run.json (the notebook tests pin these sets to what
    the notebooks record) has a label, a unit and a meaning."""
    missing = sorted(name for name in RECORDED if glossary.entry(name) is None)
    assert missing == [], f"add these to opslib/glossary.toml: {missing}"


def test_glossary_and_metrics_doc_define_the_same_names():
    """The glossary holds the words, docs/metrics.md the definitions: the same names."""
    doc = defined_names(GLOSSARY.read_text(encoding="utf-8"))
    names = set(glossary.entries())
    assert sorted(names - doc) == [], "define these in docs/metrics.md"
    assert sorted(doc - names) == [], "add these to opslib/glossary.toml"


def test_units_agree_with_the_metrics_doc():
    """A money, rate, hours or days figure in docs/metrics.md has that unit in the glossary."""
    text = GLOSSARY.read_text(encoding="utf-8")
    for name, unit in re.findall(r"^\| `([a-z0-9_]+)` \|(?:[^|\n]*\|)*? (money|rate|hours|days) \|",
                                 text, flags=re.MULTILINE):
        assert glossary.unit(name) == unit, name


def test_labels_are_words_not_names():
    """No label is a machine name, and no two names share a label within the figures."""
    for entry in glossary.entries().values():
        assert "_" not in entry.label and entry.label[:1] == entry.label[:1].upper(), entry
    labels = [glossary.label(name) for name in RECORDED]
    assert len(labels) == len(set(labels))


def test_a_bad_entry_names_the_table(tmp_path, monkeypatch):
    """An entry without a known unit is an error naming the file and the table."""
    bad = tmp_path / "glossary.toml"
    bad.write_text('[net_sales]\nlabel = "Net sales"\nunit = "euros"\nmeaning = "m"\n')
    monkeypatch.setattr(glossary, "GLOSSARY_FILE", bad)
    glossary.entries.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"glossary.toml, table \[net_sales\]"):
            glossary.entries()
    finally:
        glossary.entries.cache_clear()
    assert tomllib.loads(bad.read_text())


@pytest.mark.parametrize(("name", "label"), [
    ("count_tickets_open", "Tickets open"), ("median_first_response_hours",
                                             "Median first reply time"),
    ("net_cash_flow_prev_week", "Net cash flow, week before"), ("date_day", "Day"),
    ("rank_label", "Best or worst"), ("count_items", "Items"), ("balance_amount", "Balance"),
    ("kpi", "Figure"), ("value_prev", "Previous period"),
])
def test_labels_read_as_words(name, label):
    assert glossary.label(name) == label


@pytest.mark.parametrize(("value", "text"), [
    ("product_question", "Product question"), ("changed_mind", "Changed mind"),
    ("online_store", "Online store"), ("pos", "POS"), ("BAT-0007", "BAT-0007"),
    ("awaiting item", "Awaiting item"), (">7 days", ">7 days"), ("whatsapp", "WhatsApp"),
    ("avg_price_before", "Average price before"),
    ("jane@example.com", "jane@example.com"), ("Mugs & Tableware", "Mugs & Tableware"),
])
def test_category_values_in_words(value, text):
    assert glossary.words(value) == text


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(RECORDED)),
       st.floats(-1e7, 1e7, allow_nan=False) | st.none(),
       st.sampled_from(["GBP", "EUR", "USD", "SEK"]))
def test_describe_uses_label_unit_and_currency(name, value, currency):
    """'Label: value' never shows the machine name; money carries the store's currency."""
    text = glossary.describe(name, value, currency=currency)
    assert name not in text and text.startswith(glossary.label(name) + ": ")
    if glossary.unit(name) == "money" and value is not None:
        assert glossary.currency_symbol(currency) in text


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 400), st.sampled_from(["days", "hours"]))
def test_whole_days_and_hours_have_no_decimal(number, unit):
    """'13 days', not '13.0 d'; one day or hour is singular."""
    text = glossary.format_value(float(number), unit)
    assert ".0" not in text and text.split()[-1] == (unit[:-1] if number == 1 else unit)
