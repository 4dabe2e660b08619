"""The labels glossary: machine name → label, unit and one-line meaning (glossary.toml).

run.json and the code keep machine names (`net_sales`); everything a person reads — the
front page, tiles, table headers, chart axes — takes its words from here. The full
definition of each name is its row in docs/metrics.md (a test keeps the two in step).

>>> label("count_tickets_open"), unit("net_sales")
('Tickets open', 'money')
>>> label("net_sales_prev_week"), describe("net_sales", -7670.12, currency="GBP")
('Net sales, week before', 'Net sales: −£7,670.12')
>>> words("product_question"), words("online_store"), words("SKU-123")
('Product question', 'Online store', 'SKU-123')
>>> format_value(13.0, "days"), format_value(1, "days"), format_value(2.5, "hours")
('13 days', '1 day', '2.5 hours')
>>> axis_title("net_sales", currency="EUR"), axis_title("conversion_rate")
('Net sales (€)', 'Conversion rate (%)')
"""

from __future__ import annotations

import functools
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["Entry", "UNITS", "TWINS", "entries", "entry", "label", "unit", "rows", "words",
           "format_value", "describe", "axis_title", "currency_symbol"]

GLOSSARY_FILE = Path(__file__).with_name("glossary.toml")
UNITS = ("count", "money", "rate", "hours", "days", "ratio", "number", "text", "date",
         "month", "datetime", "yesno", "varies")
# Recorded twins of a figure: `<name><suffix>` is the figure for an earlier period.
TWINS = {"_prev_week": "week before", "_prev_month": "month before",
         "_prev_year": "same month last year"}
_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€", "JPY": "¥", "AUD": "A$", "CAD": "C$"}
_ACRONYMS = {"sku": "SKU", "skus": "SKUs", "aov": "AOV", "roas": "ROAS", "csat": "CSAT",
             "nps": "NPS", "po": "PO", "url": "URL", "id": "ID", "rfm": "RFM", "sla": "SLA",
             "wape": "WAPE", "utm": "UTM", "kpi": "KPI", "pos": "POS", "vat": "VAT",
             "sms": "SMS", "faq": "FAQ", "seo": "SEO", "avg": "average", "tiktok": "TikTok",
             "whatsapp": "WhatsApp", "youtube": "YouTube", "linkedin": "LinkedIn",
             "vip": "VIP", "vips": "VIPs"}


@dataclass(frozen=True)
class Entry:
    """One name's words: `urgent` means a value above zero is a red flag."""

    name: str
    label: str
    unit: str
    meaning: str
    urgent: bool = False


@functools.cache
def entries() -> dict[str, Entry]:
    """Every entry of glossary.toml, checked: label and meaning set, a known unit."""
    raw = tomllib.loads(GLOSSARY_FILE.read_text(encoding="utf-8"))
    out = {}
    for name, item in raw.items():
        known = {"label", "unit", "meaning", "urgent"}
        if set(item) - known or not item.get("label") or not item.get("meaning") \
                or item.get("unit") not in UNITS:
            raise ValueError(f"{GLOSSARY_FILE.name}, table [{name}]: expected label, meaning "
                             f"and a unit among {UNITS}, found {item}; fix that table.")
        out[name] = Entry(name, item["label"], item["unit"], item["meaning"],
                          bool(item.get("urgent", False)))
    return out


def entry(name: str) -> Entry | None:
    """The entry of a name, or of its base figure for a `_prev_week`-style twin."""
    found = entries().get(name)
    if found is not None:
        return found
    for suffix, period in TWINS.items():
        base = entries().get(name.removesuffix(suffix)) if name.endswith(suffix) else None
        if base is not None:
            return Entry(name, f"{base.label}, {period}", base.unit,
                         f"{base.meaning} ({period})", base.urgent)
    return None


def words(text: str) -> str:
    """A machine name or category value in words: 'changed_mind' → 'Changed mind'.

    Lower-case words joined by '_' or spaces are capitalised; anything else (SKUs,
    emails, titles) is unchanged.
    """
    if not re.fullmatch(r"[a-z][a-z0-9]*([_ ][a-z0-9]+)*", text):
        return text
    parts = [_ACRONYMS.get(p, p) for p in re.split(r"[_ ]", text)]
    joined = " ".join(parts)
    return joined[:1].upper() + joined[1:]


def label(name: str) -> str:
    """The label of a name; a name outside the glossary is put in words."""
    found = entry(name)
    return found.label if found else words(name)


def unit(name: str, default: str = "number") -> str:
    """The unit of a name (`default` outside the glossary)."""
    found = entry(name)
    return found.unit if found else default


def rows(*names: str) -> tuple[tuple[str, str, str], ...]:
    """(name, label, unit) of each name, for a page's comparison rows.

    >>> rows("net_sales", "conversion_rate")
    (('net_sales', 'Net sales', 'money'), ('conversion_rate', 'Conversion rate', 'rate'))
    """
    return tuple((name, label(name), unit(name)) for name in names)


def currency_symbol(currency: str | None) -> str:
    """'£' for GBP; the code itself for a currency without a common symbol."""
    return _SYMBOLS.get(currency or "", currency or "")


def _plain(number: float, decimals: int = 1) -> str:
    """A number without a trailing '.0': 13.0 → '13', 0.25 → '0.2' (one decimal)."""
    text = f"{number:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_value(value, unit: str = "number", *, currency: str | None = None) -> str:
    """One value for people: counts with separators, rates as %, money with its symbol,
    hours and days in words.

    >>> format_value(1234.5, "money", currency="EUR"), format_value(0.125, "rate")
    ('€1,234.50', '12.5%')
    >>> format_value(True), format_value(np.False_, "count"), format_value(None)
    ('yes', 'no', '–')
    >>> format_value(pd.Timestamp("2026-11-01"), "month")
    'Nov 2026'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA \
            or value is pd.NaT:
        return "–"
    if unit == "text" or isinstance(value, str):
        return str(value)
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if unit == "date":
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if unit == "month":
        return pd.Timestamp(value).strftime("%b %Y")
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "money":
        symbol = _SYMBOLS.get(currency or "", f"{currency} " if currency else "")
        sign = "−" if value < 0 else ""
        return f"{sign}{symbol}{abs(value):,.2f}"
    if unit == "rate":
        return f"{value:.1%}"
    if unit in ("hours", "days"):
        text = _plain(value)
        return f"{text} {unit[:-1] if text in ('1', '-1') else unit}"
    if unit == "ratio":
        return f"{value:,.2f}×"
    return f"{value:,.2f}" if isinstance(value, float) and not float(value).is_integer() \
        else f"{value:,.0f}" if isinstance(value, float) else f"{value:,}"


def describe(name: str, value, *, currency: str | None = None) -> str:
    """'Label: value' with the name's unit and the store's currency."""
    return f"{label(name)}: {format_value(value, unit(name), currency=currency)}"


def axis_title(name: str, *, unit_name: str | None = None, currency: str | None = None) -> str:
    """A chart axis title: the label and its unit, e.g. 'Net sales (£)', 'Waiting (hours)'."""
    kind = unit_name or unit(name)
    suffix = {"money": currency_symbol(currency), "rate": "%", "hours": "hours",
              "days": "days"}.get(kind, "")
    return f"{label(name)} ({suffix})" if suffix else label(name)
