"""CSV exports: formula-like cells neutralised, contacts masked, a safe download link."""

from __future__ import annotations

import base64
import csv
import io
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opslib.exports import csv_link, neutralise, safe_csv


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2", "@SUM(A1:A9)", "\t=1", "\r=1",
                                  '=HYPERLINK("http://example.invalid","x")'])
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(text):
    """Every starting character spreadsheets treat as a formula is neutralised; only
    apostrophes are added."""
    out = neutralise(text)
    assert out.startswith("'") and out.replace("'", "") == text.replace("'", "")


_SPLITS = ",;\t|"


def _fragments(cell: str) -> list[str]:
    """The cell and every piece a spreadsheet could make of it by splitting on a separator."""
    return [cell] + re.split(f"[{_SPLITS}]", cell)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab1 =+-@;,|\t\r\n'\xa0")), max_size=12))
def test_no_piece_of_a_neutralised_cell_starts_a_formula(text):
    """Whatever a spreadsheet splits a cell on, and whatever spaces come first, no piece
    starts with a formula character; neutralising only adds apostrophes."""
    out = neutralise(text)
    assert out.replace("'", "") == text.replace("'", "")
    for piece in _fragments(out):
        assert not piece.lstrip(" \xa0\n\r\t").startswith(("=", "+", "-", "@")), (text, out)


@pytest.mark.parametrize("text,expected", [
    ("x;=1+1;y", "x;'=1+1;y"), (" =1+1", "' =1+1"), ("a, @b", "a, '@b"),
    ("size S|+1", "size S|'+1"), ("a=b; c", "a=b; c")])
def test_formula_starts_inside_a_cell_or_after_spaces_are_neutralised(text, expected):
    """The cases a `;`-locale spreadsheet or leading whitespace would otherwise run."""
    assert neutralise(text) == expected


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_text_cells_are_quoted_so_no_locale_splits_them(delimiter):
    """Read with either separator, a text cell holding the other one stays one cell."""
    frame = pd.DataFrame({"note": ["x;=1+1;y", "a,b"], "n": [1, 2]})
    text = safe_csv(frame)
    if delimiter == ";":
        text = text.replace(",", ";").replace('"a;b"', '"a,b"')
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    assert [len(r) for r in rows] == [2, 2, 2]
    assert rows[1][0] == "x;'=1+1;y"


@pytest.mark.parametrize("value", ["Where is my order?", "", "a=b", -3, 2.5, None])
def test_other_values_are_left_alone(value):
    """Plain text, numbers (negative ones too) and empty cells are unchanged."""
    assert neutralise(value) == value


def test_safe_csv_neutralises_cells_and_headers_but_keeps_numbers():
    """Read back, every text cell and header is inert and numbers are still numbers."""
    frame = pd.DataFrame({"subject": ["=cmd|' /C calc'!A0", "fine"], "-x": [-5, 7]})
    back = pd.read_csv(io.StringIO(safe_csv(frame)))
    assert back.columns.tolist() == ["subject", "'-x"]
    assert back.subject.tolist() == ["'=cmd|' /C calc'!A0", "fine"]
    assert back["'-x"].tolist() == [-5, 7]


def test_safe_csv_masks_contact_columns():
    """Masked columns keep only a hint of the address or number."""
    frame = pd.DataFrame({"email": ["jane.doe@example.com"], "phone": ["+44 7700 900123"]})
    text = safe_csv(frame, mask=["email", "phone"])
    assert "jane.doe" not in text and "900123" not in text
    assert "j***@example.com" in text and "0123" in text


def test_the_input_frame_is_not_modified():
    """safe_csv works on a copy."""
    frame = pd.DataFrame({"subject": ["=1"]})
    safe_csv(frame)
    assert frame.subject.tolist() == ["=1"]


def test_csv_link_carries_the_safe_csv_and_escapes_its_label():
    """The link's data: address decodes to safe_csv; the label is HTML-escaped."""
    frame = pd.DataFrame({"subject": ["@evil"]})
    block = csv_link(frame, filename="tickets-2025-11-30.csv", label="<b>Get</b>")
    payload = re.search(r"base64,([A-Za-z0-9+/=]+)", block.html).group(1)
    assert base64.b64decode(payload).decode() == safe_csv(frame)
    assert "&lt;b&gt;Get&lt;/b&gt;" in block.html and "<b>" not in block.html
    assert 'download="tickets-2025-11-30.csv"' in block.html


@pytest.mark.parametrize("name", ["../x.csv", 'a".csv', "report.html", "a b.csv"])
def test_csv_link_refuses_odd_file_names(name):
    """File names are plain: no quotes, spaces, folders or other extensions."""
    with pytest.raises(ValueError):
        csv_link(pd.DataFrame({"a": [1]}), filename=name)
