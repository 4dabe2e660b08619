"""CSV exports that are safe to open in a spreadsheet.

A cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return) is a formula to
Excel, LibreOffice and Google Sheets: a customer who writes `=HYPERLINK(...)` in a ticket
subject would otherwise get a live formula on the support team's screen. Following OWASP's
CSV-injection guidance, every text cell is quoted (so a `;` or `,` inside it never splits it,
whatever separator the spreadsheet's locale uses) and a formula start is neutralised with an
apostrophe, which spreadsheets show as plain text: at the start of the cell, after leading
spaces, and after any separator inside the cell (for a spreadsheet that splits it anyway).
Numbers stay numbers.

>>> neutralise("=HYPERLINK(\\"http://x\\")"), neutralise("-5 stars"), neutralise(-5)
('\\'=HYPERLINK("http://x")', "'-5 stars", -5)
>>> neutralise("x;=1+1;y"), neutralise("  =1+1")
("x;'=1+1;y", "'  =1+1")
>>> print(safe_csv(pd.DataFrame({"subject": ["@SUM(A1)", "ok"], "n": [-1, 2]})), end="")
"subject","n"
"'@SUM(A1)",-1
"ok",2
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import re
from collections.abc import Sequence

import pandas as pd

from opslib.display import Block, mask_email, mask_phone, table

__all__ = ["FORMULA_STARTS", "LIST_MIME", "CONTACT_COLUMNS", "neutralise", "safe_csv",
           "csv_link", "action_list", "list_payload", "list_frame"]

# The MIME type of an action list's rows in a run notebook: the runner writes each one to
# outputs/<cadence>/<date>/lists/<name>.csv (opslib.runs.reports.write_lists).
LIST_MIME = "application/vnd.opslib.list+json"
# What e-mail tools (Klaviyo, Mailchimp) import first: every list about customers starts so.
CONTACT_COLUMNS = ("email", "first_name", "last_name")
_LIST_NAME = re.compile(r"[a-z][a-z0-9_]*")

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A formula start after a separator a spreadsheet may split on (comma, semicolon, tab, pipe)
# and any spaces: `x;=1+1` becomes two cells, the second a formula, in a `;` locale.
_INNER_FORMULA = re.compile(r"([,;\t|][ \t\r\n\xa0]*)([=+\-@])")
_LINK_STYLE = ("font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;"
               "display:inline-block;margin:2px 0 12px;padding:4px 10px;border:1px solid "
               "#d0d7de;border-radius:6px;color:#0969da;text-decoration:none;")


def neutralise(value: object) -> object:
    """Text that a spreadsheet would run as a formula, made inert with apostrophes."""
    if not isinstance(value, str):
        return value
    value = _INNER_FORMULA.sub(r"\1'\2", value)
    if value.startswith(FORMULA_STARTS) or value.lstrip(" \xa0\n").startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_csv(frame: pd.DataFrame, *, mask: Sequence[str] = ()) -> str:
    """The frame as CSV text with formula-like cells neutralised and contact columns masked.

    Column names are neutralised too; `mask` columns keep only a hint of each e-mail
    address or phone number (as on the pages).
    """
    out = frame.copy()
    for column in mask:
        masker = mask_phone if "phone" in column else mask_email
        out[column] = out[column].map(lambda v: masker(v) if isinstance(v, str) else v)
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out.to_csv(index=False, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)


def csv_link(frame: pd.DataFrame, *, filename: str, label: str = "Download CSV",
             mask: Sequence[str] = ()) -> Block:
    """A download link carrying `safe_csv(frame)` (a data: address, nothing stored)."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+\.csv", filename):
        raise ValueError(f"filename must be letters, digits, '_', '-', '.' ending in .csv; "
                         f"found {filename!r}")
    payload = base64.b64encode(safe_csv(frame, mask=mask).encode("utf-8")).decode("ascii")
    return Block(f'<a class="opslib-csv" style="{_LINK_STYLE}" download="{filename}" '
                 f'href="data:text/csv;charset=utf-8;base64,{payload}">'
                 f'{html.escape(label)} ({len(frame):,} rows)</a>')


def list_payload(name: str, frame: pd.DataFrame) -> dict:
    """An action list as JSON: its name, columns and rows (dates as ISO text, gaps null).

    >>> list_payload("x", pd.DataFrame({"email": ["a@b.c"], "n": [float("nan")]}))
    {'name': 'x', 'columns': ['email', 'n'], 'rows': [['a@b.c', None]]}
    """
    rows = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    clean = [[_json_value(value) for value in row] for row in rows]
    return {"name": name, "columns": [str(c) for c in frame.columns], "rows": clean}


def _json_value(value: object) -> object:
    """A cell as JSON: a time to the second with its offset, a date (or a time at midnight
    without a zone: a day held as a time) as YYYY-MM-DD.

    >>> at = pd.Timestamp("2026-12-04 10:33:29.62", tz="UTC")
    >>> _json_value(at), _json_value(dt.date(2026, 1, 2)), _json_value(pd.Timestamp("2026-01-02"))
    ('2026-12-04 10:33:29+00:00', '2026-01-02', '2026-01-02')
    """
    if isinstance(value, dt.datetime) and value.tzinfo is None and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value


def list_frame(payload: dict) -> pd.DataFrame:
    """The rows of `list_payload` as a frame again (the runner writes it with safe_csv)."""
    return pd.DataFrame(payload["rows"], columns=payload["columns"])


def action_list(name: str, frame: pd.DataFrame, *, title: str | None = None,
                units: dict[str, str] | None = None, currency: str | None = None,
                mask: Sequence[str] = (), contacts: bool = True, limit: int = 50,
                empty: str = "Nobody on this list today.") -> Block:
    """A list to act on: its first `limit` rows as a table, a CSV download of all of it,
    and, in the owner's reports, the whole list for the runner to write as
    `lists/<name>.csv`.

    A customer list (`contacts`) starts with CONTACT_COLUMNS, what e-mail tools import.
    With `mask` (staff pages) contacts are masked in the table and the download, and the
    list is not handed to the runner, so no unmasked address reaches a staff browser.

    >>> block = action_list("win_back", pd.DataFrame({"email": ["a@b.c"], "first_name": ["A"],
    ...                                               "last_name": ["B"], "spent": [20.0]}))
    >>> block.extra[LIST_MIME]["rows"], "win_back.csv" in block.html
    ([['a@b.c', 'A', 'B', 20.0]], True)
    >>> "a@b.c" in action_list("x", list_frame(block.extra[LIST_MIME]), mask=["email"]).html
    False
    """
    if not _LIST_NAME.fullmatch(name):
        raise ValueError(f"a list name is lower-case letters, digits and '_'; found {name!r}")
    if contacts and tuple(frame.columns[:3]) != CONTACT_COLUMNS:
        raise ValueError(f"list {name!r} must start with the columns {CONTACT_COLUMNS}, "
                         f"found {tuple(frame.columns[:3])}")
    shown = table(frame, title=title, units=units, currency=currency, mask=mask,
                  empty=empty, limit=limit)
    link = "" if frame.empty else csv_link(frame, filename=f"{name}.csv", mask=mask,
                                           label=f"Download the whole list ({name}.csv)").html
    return Block(shown.html + link,
                 extra=None if mask else {LIST_MIME: list_payload(name, frame)})
