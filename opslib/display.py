"""Display primitives for reports and staff pages: figures, tiles, tables, notes.

Everything here renders as plain HTML with inline styles (no JavaScript, nothing fetched
from the internet), and every piece of text that came from data is HTML-escaped.

>>> table(pd.DataFrame({"subject": ["<script>alert(1)</script>"]})).html.count("<script>")
0
>>> format_value(0.1234, "rate"), format_value(1234.5, "money", currency="GBP")
('12.3%', '£1,234.50')
>>> mask_email("jane.doe@example.com"), mask_phone("+44 7700 900123")
('j***@example.com', '••• 0123')
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from IPython.display import display

from opslib import glossary

__all__ = [
    "KPIS_MIME", "WARNINGS_MIME", "Block", "Tile", "record", "tiles", "table", "note",
    "no_data", "warning", "format_value", "offer", "change", "mask_email", "mask_phone",
]

KPIS_MIME = "application/vnd.opslib.kpis+json"
WARNINGS_MIME = "application/vnd.opslib.warnings+json"
UNITS = glossary.UNITS
# Columns whose text is data, not a category: never put in words.
_VERBATIM = re.compile(r"(^|_)(id|sku|email|phone|number|code|url|title|subject|name|note|"
                       r"campaign|task|reasons|comment)$")
# Inline styles, not a <style> sheet: JupyterLab strips style sheets (and classes) from
# outputs of notebooks it does not trust, such as a report opened from outputs/.
_FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif;"
_CSS = {
    "tiles": "display:flex;flex-wrap:wrap;gap:10px;margin:6px 0 12px;",
    "tile": _FONT + "border:1px solid #d0d7de;border-radius:8px;padding:8px 12px;"
                    "min-width:140px;background:#fff;",
    "tile_flagged": _FONT + "border:2px solid #c62828;border-radius:8px;padding:8px 12px;"
                            "min-width:140px;background:#fff5f5;",
    "label": "font-size:12px;color:#57606a;",
    "value": "font-size:22px;font-weight:600;color:#1f2328;",
    "delta": "font-size:12px;color:#57606a;",
    "flag": "font-size:12px;color:#c62828;font-weight:600;",
    "table": _FONT + "border-collapse:collapse;font-size:13px;margin:4px 0 12px;",
    "th": "background:#f6f8fa;text-align:left;padding:4px 8px;border-bottom:2px solid #d0d7de;",
    "td": "text-align:left;padding:3px 8px;border-bottom:1px solid #eaeef2;",
    "td_num": "text-align:right;padding:3px 8px;border-bottom:1px solid #eaeef2;"
              "font-variant-numeric:tabular-nums;",
    "hl": "color:#c62828;font-weight:600;",
    "caption": _FONT + "font-weight:600;margin:8px 0 2px;",
    "note": _FONT + "padding:6px 10px;border-left:4px solid #0969da;background:#f6f8fa;"
                    "margin:6px 0;font-size:13px;",
    "warning": _FONT + "padding:6px 10px;border-left:4px solid #c62828;background:#fff5f5;"
                       "margin:6px 0;font-size:13px;",
}


class Block:
    """An HTML fragment that renders in JupyterLab, Voila and HTML exports alike.

    `extra` adds machine-readable MIME types to the same output (e.g. run warnings).
    """

    def __init__(self, html_text: str, extra: dict | None = None) -> None:
        self.html = html_text
        self.extra = extra or {}

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/html": self.html, **self.extra}

    def __repr__(self) -> str:
        return f"<Block {len(self.html)} chars of HTML>"


def _clean_number(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"a recorded figure must be a number or None, found {value!r}") from None
    return number if math.isfinite(number) else None


def record(**figures) -> None:
    """Record headline figures for the run summary (one output, MIME KPIS_MIME).

    Numbers only; rates as 0–1 fractions; None (JSON null) where a figure is undefined.
    """
    clean = {name: _clean_number(value) for name, value in figures.items()}
    summary = f"Headline figures recorded for the run summary: {', '.join(clean)}"
    display({KPIS_MIME: clean, "text/plain": summary}, raw=True)


def format_value(value, unit: str = "number", *, currency: str | None = None) -> str:
    """Format one value for people (see opslib.glossary.format_value).

    >>> format_value(1234.5, "money", currency="EUR"), format_value(0.125, "rate")
    ('€1,234.50', '12.5%')
    >>> format_value(True), format_value(13.0, "days")
    ('yes', '13 days')
    """
    return glossary.format_value(value, unit, currency=currency)


def offer(kind: str | None, value, *, currency: str | None = None) -> str:
    """A promotion's offer in words: a percent reads '10% off', an amount '£5.00 off'.

    >>> offer("percent", 10.0), offer("fixed_amount", 5, currency="GBP")
    ('10% off', '£5.00 off')
    >>> offer("free_shipping", None), offer("bundle", 3.0)
    ('Free shipping', 'Bundle (3)')
    """
    if kind == "percent" and value is not None and not pd.isna(value):
        return f"{glossary.format_value(float(value), 'number')}% off"
    if kind == "fixed_amount" and value is not None and not pd.isna(value):
        return f"{format_value(float(value), 'money', currency=currency)} off"
    text = glossary.words(str(kind or "offer"))
    shown = value is not None and not pd.isna(value) and kind != "free_shipping"
    return f"{text} ({glossary.format_value(float(value), 'number')})" if shown else text


@dataclass(frozen=True)
class Tile:
    """One headline figure, optionally against a comparison value."""

    label: str
    value: float | None
    unit: str = "count"
    compare: float | None = None
    compare_label: str = ""
    flagged: bool = False


def _share(change: float) -> str:
    """A relative change as a percentage that never reads 0% for a real change."""
    change = abs(change)
    return f"{change:,.0%}" if change >= 0.01 else f"{change:.1%}" if change >= 0.001 \
        else "<0.1%"


def change(value, base, *, unit: str = "number", currency: str | None = None) -> str:
    """How `value` moved from `base`, for a table cell.

    A percentage only where it means something: no change says so, and a change from
    zero or across zero gives the earlier value instead. A rate moves in percentage
    points (a margin from 40% to 42% is "+2.0 pts", not "+5%").

    >>> change(110, 100), change(5, 5), change(-7670.12, 2000, unit="money", currency="GBP")
    ('+10%', 'no change', 'down from £2,000.00')
    >>> change(None, 3), change(3, 0), change(0.42, 0.40, unit="rate")
    ('–', 'up from 0', '+2.0 pts')
    """
    if value is None or base is None or pd.isna(value) or pd.isna(base):
        return "–"
    if value == base:
        return "no change"
    if unit == "rate":
        points = abs(value - base) * 100
        return ("+" if value > base else "−") + (f"{points:,.1f} pts" if points >= 0.05
                                                 else "<0.1 pts")
    if base == 0 or (value < 0) != (base < 0):
        direction = "up" if value > base else "down"
        return f"{direction} from {format_value(base, unit, currency=currency)}"
    return ("+" if value > base else "−") + _share((value - base) / abs(base))


def _delta(tile: Tile, currency: str | None = None) -> str:
    """The tile's change against its comparison (see `change`), HTML-escaped."""
    if tile.compare is None or tile.value is None or pd.isna(tile.compare) \
            or pd.isna(tile.value):
        return ""
    than = html.escape(tile.compare_label)
    moved = change(tile.value, tile.compare, unit=tile.unit, currency=currency)
    if moved == "no change":
        before = format_value(tile.compare, tile.unit, currency=currency)
        return f"no change vs {than} ({html.escape(before)})"
    arrow = "▲" if tile.value > tile.compare else "▼"
    if moved[0] in "+−":
        return f"{arrow} {html.escape(moved[1:])} vs {than}"
    return f"{arrow} {html.escape(moved.split(' ', 1)[1])} {than}"


def tiles(items: Sequence[Tile], *, currency: str | None = None) -> Block:
    """A row of KPI tiles: value, change against the comparison, red when flagged."""
    cells = []
    for tile in items:
        value = format_value(tile.value, tile.unit, currency=currency)
        flag = f'<div style="{_CSS["flag"]}">outside alert band</div>' if tile.flagged else ""
        box = _CSS["tile_flagged"] if tile.flagged else _CSS["tile"]
        cells.append(
            f'<div style="{box}"><div style="{_CSS["label"]}">{html.escape(tile.label)}</div>'
            f'<div style="{_CSS["value"]}">{html.escape(value)}</div>'
            f'<div style="{_CSS["delta"]}">{_delta(tile, currency)}</div>{flag}</div>')
    return Block(f'<div class="opslib-tiles" style="{_CSS["tiles"]}">{"".join(cells)}</div>')


def mask_email(value: str | None) -> str | None:
    """Keep the first letter and the domain: 'jane@example.com' → 'j***@example.com'."""
    if not value or "@" not in str(value):
        return value
    local, domain = str(value).split("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_phone(value: str | None) -> str | None:
    """Keep the last four digits: '+44 7700 900123' → '••• 0123'."""
    if not value:
        return value
    digits = "".join(ch for ch in str(value) if ch.isdigit())
    return f"••• {digits[-4:]}" if len(digits) >= 4 else "•••"


def _header(name: str) -> str:
    """A column header: the glossary label, else the name in words."""
    return glossary.label(name)


def _unit(column: str, units: dict[str, str]) -> str:
    """A column's unit: as given, else the glossary's (for a number), else 'number'."""
    if column in units:
        return units[column]
    known = glossary.unit(column, "number")
    return known if known in UNITS and known not in ("varies", "text") else "number"


def table(frame: pd.DataFrame, *, title: str | None = None,
          units: dict[str, str] | None = None, empty: str = "Nothing to show.",
          highlight: str | None = None, mask: Sequence[str] = (),
          currency: str | None = None, limit: int = 200) -> Block:
    """An HTML table with every cell escaped; units format columns, masks hide contacts.

    `highlight` names a boolean column: its true rows are shown in red and the column
    itself is not displayed. At most `limit` rows are shown, with a line saying how many
    more there are.
    """
    units = units or {}
    unknown = set(units.values()) - set(UNITS)
    if unknown:
        raise ValueError(f"unknown unit(s) {sorted(unknown)}; use one of {UNITS}")
    caption = f'<div style="{_CSS["caption"]}">{html.escape(title)}</div>' if title else ""
    if frame.empty:
        return Block(caption + f'<div style="{_CSS["note"]}">{html.escape(empty)}</div>')
    shown = frame.head(limit)
    flags = shown[highlight].fillna(False).astype(bool).tolist() if highlight else \
        [False] * len(shown)
    columns = [c for c in shown.columns if c != highlight]
    maskers = {c: (mask_phone if "phone" in c else mask_email) for c in mask}
    head = "".join(f'<th style="{_CSS["th"]}">{html.escape(_header(str(c)))}</th>'
                   for c in columns)
    column_units = {c: _unit(str(c), units) for c in columns}
    in_words = {c: not _VERBATIM.search(str(c)) for c in columns}
    rows = []
    for flagged, (_, row) in zip(flags, shown.iterrows()):
        cells = []
        for column in columns:
            value = row[column]
            if column in maskers and isinstance(value, str):
                value = maskers[column](value)
            elif isinstance(value, str) and in_words[column]:
                value = glossary.words(value)
            unit = column_units[column]
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            text = html.escape(format_value(value, unit, currency=currency))
            style = (_CSS["td_num"] if numeric else _CSS["td"]) + (_CSS["hl"] if flagged else "")
            cells.append(f'<td style="{style}">{text}</td>')
        rows.append(f'<tr>{"".join(cells)}</tr>')
    more = len(frame) - len(shown)
    tail = f'<div style="{_CSS["note"]}">… and {more:,} more rows.</div>' if more > 0 else ""
    return Block(f'{caption}<table class="opslib-table" style="{_CSS["table"]}"><thead><tr>'
                 f'{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>{tail}')


def note(text: str, *, kind: str = "info") -> Block:
    """A short visible note; kind 'warning' is shown in red."""
    if kind not in ("info", "warning"):
        raise ValueError(f"kind must be 'info' or 'warning', found {kind!r}")
    return Block(f'<div class="opslib-{kind}" style="{_CSS[kind if kind == "warning" else "note"]}">'
                 f'{html.escape(text)}</div>')


def warning(text: str, *, code: str) -> Block:
    """A visible warning that the runner also lists in run.json (MIME WARNINGS_MIME)."""
    block = note(text, kind="warning")
    block.extra = {WARNINGS_MIME: {"code": code, "message": text}}
    return block


def no_data(table_name: str, *, section: str) -> Block:
    """The 'no data' note for a section whose table is absent; the rest of the page runs."""
    text = (f"No {table_name.replace('_', ' ')} data in this store, so '{section}' is empty. "
            f"Import it (data/tables/{table_name}.parquet) to see this section.")
    block = note(text, kind="info")
    block.extra = {WARNINGS_MIME: {"code": "no_data", "table": table_name, "message": text}}
    return block
