"""Exports as they reach owners: re-saved by spreadsheets, renamed between editions.

A re-save changes how a file is written (separator, decimal mark, date form, encoding,
header names), never what it says: importing it must store exactly what importing the
original stores, and the report says what was detected. What the values cannot decide is
named in an error, never guessed.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from opslib.config import Settings
from opslib.ingest import import_files
from opslib.ingest.mapping import MappingError, load_mapping
from opslib.ingest.readers import ImportFileError
from opslib.schema import TABLES, read_for_validation, table_path
from tests.ingest.ingest_support import need_realdata

MAPPINGS = Path(__file__).resolve().parents[2] / "examples" / "mappings"
SUPERSTORE_TABLES = ("orders", "order_lines", "customers", "products", "shipments")
UCI_TABLES = ("orders", "order_lines", "returns", "customers", "products")


def _rows(path: Path, delimiter: str = ",") -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        records = list(csv.reader(handle, delimiter=delimiter))
    return records[0], records[1:]


def _write(path: Path, header: list[str], rows: list[list[str]], *, delimiter: str = ",",
           encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows([header, *rows])
    return path


def _stored(data_dir: Path, tables: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    out = {}
    for name in tables:
        if not table_path(data_dir, name).exists():
            continue
        frame = read_for_validation(table_path(data_dir, name))
        key = list(TABLES[name].key)
        out[name] = frame.sort_values(key).reset_index(drop=True)
    return out


def _import(path: Path, data_dir: Path, mapping: Path, settings_):
    report = import_files("csv", [path], data_dir=data_dir, settings=settings_,
                          mapping=mapping)
    assert report.ok, report.text()
    return report.files[0]


def _resave(header, rows, *, numbers=(), dates=(), rename=None):
    """The rows as a spreadsheet in another locale writes them back."""
    index = {name: i for i, name in enumerate(header)}
    out = []
    for row in rows:
        row = list(row)
        for name in numbers:
            row[index[name]] = row[index[name]].replace(".", ",")
        for name in dates:  # M/D/YYYY -> DD/MM/YY
            month, day, year = row[index[name]].split("/")
            row[index[name]] = f"{int(day):02d}/{int(month):02d}/{year[-2:]}"
        out.append(row)
    return [(rename or {}).get(h, h) for h in header], out


SUPERSTORE_RESAVES = {
    "semicolons and decimal commas": dict(delimiter=";", numbers=("Sales", "Discount",
                                                                   "Profit")),
    "newer edition's headers": dict(rename={"Country": "Country/Region",
                                            "State": "State/Province"}),
    # Windows' "ANSI" latin-1 (cp1252): the file's curly quotes are not in ISO latin-1
    "latin-1 (Windows-1252)": dict(encoding="cp1252"),
    "day-first dates with two-digit years": dict(dates=("Order Date", "Ship Date")),
    "all at once": dict(delimiter=";", numbers=("Sales", "Discount", "Profit"),
                        rename={"Country": "Country/Region", "State": "State/Province"},
                        encoding="cp1252", dates=("Order Date", "Ship Date")),
}
SUPERSTORE_NOTES = {
    "semicolons and decimal commas": ['";"-separated', "decimal comma"],
    "newer edition's headers": ["column 'Country' from 'Country/Region'"],
    "latin-1 (Windows-1252)": ["cp1252 text"],
    "day-first dates with two-digit years": ["'Order Date' dates day-first",
                                             "'Ship Date' dates day-first"],
    "all at once": ['";"-separated', "cp1252 text", "decimal comma",
                    "column 'Country' from 'Country/Region'", "'Order Date' dates day-first"],
}


@pytest.fixture(scope="module")
def superstore_original(tmp_path_factory):
    """The real Superstore file imported as published: header, rows, stored tables, result."""
    path = need_realdata("superstore") / "Sample - Superstore.csv"
    data = tmp_path_factory.mktemp("original")
    settings_ = Settings.from_dict({"store": {"name": "S", "timezone": "America/New_York",
                                              "currency": "USD"}})
    result = _import(path, data, MAPPINGS / "superstore.toml", settings_)
    assert "'Order Date' dates month-first" in " ".join(result.notes)
    header, rows = _rows(path)
    return header, rows, _stored(data, SUPERSTORE_TABLES), result


@pytest.mark.realdata
@pytest.mark.parametrize("variant", list(SUPERSTORE_RESAVES))
def test_superstore_resaved_by_a_spreadsheet_stores_the_same(variant, superstore_original,
                                                             tmp_path, usd_settings):
    """Each re-save of the real file stores exactly the original's tables; the report
    names what it detected."""
    header, rows, expected, original = superstore_original
    how = dict(SUPERSTORE_RESAVES[variant])
    delimiter, encoding = how.pop("delimiter", ","), how.pop("encoding", "utf-8")
    header, rows = _resave(header, rows, **how)
    path = _write(tmp_path / "superstore.csv", header, rows, delimiter=delimiter,
                  encoding=encoding)
    result = _import(path, tmp_path / "d", MAPPINGS / "superstore.toml", usd_settings)
    assert (result.rows_read, result.rows_loaded, result.rejected_by_rule) == \
        (original.rows_read, original.rows_loaded, original.rejected_by_rule)
    stored = _stored(tmp_path / "d", SUPERSTORE_TABLES)
    for name in SUPERSTORE_TABLES:
        pd.testing.assert_frame_equal(stored[name], expected[name], obj=name)
    notes = " ".join(result.notes)
    for expected_note in SUPERSTORE_NOTES[variant]:
        assert expected_note in notes, result.notes


@pytest.mark.realdata
def test_a_header_read_with_the_wrong_separator_names_the_right_one(superstore_original,
                                                                    tmp_path, usd_settings):
    """A mapping that fixes ',' on a ';' file: the error says the file seems ';'-separated."""
    header, rows, _, _ = superstore_original
    path = _write(tmp_path / "superstore.csv", header, rows[:20], delimiter=";")
    mapping = tmp_path / "comma.toml"
    mapping.write_text((MAPPINGS / "superstore.toml").read_text(encoding="utf-8").replace(
        'delimiter = "auto"', 'delimiter = ","'), encoding="utf-8")
    with pytest.raises(ImportFileError) as caught:
        import_files("csv", [path], data_dir=tmp_path / "d", settings=usd_settings,
                     mapping=mapping)
    message = str(caught.value)
    assert "required column 'Row ID' is missing (columns found: Row ID;Order ID;" in message
    assert 'the file seems to be ";"-separated): set delimiter = ";" or "auto"' in message
    assert not (tmp_path / "d" / "tables").exists()


@pytest.mark.realdata
def test_uci_file_reports_its_semicolons_and_reads_online_retail_ii_headers(
        tmp_path, gbp_settings):
    """The real UCI sample (';') says so in the report; the same lines re-saved with ','
    and the header of its sequel "Online Retail II" store the same tables."""
    path = need_realdata("online_retail_uci") / "online_retail_sample.csv"
    result = _import(path, tmp_path / "a", MAPPINGS / "uci-online-retail.toml", gbp_settings)
    assert '";"-separated' in " ".join(result.notes)
    header, rows = _rows(path, delimiter=";")
    renamed = {"InvoiceNo": "Invoice", "UnitPrice": "Price", "CustomerID": "Customer ID"}
    resaved = _write(tmp_path / "online_retail_II.csv", [renamed.get(h, h) for h in header],
                     rows)
    again = _import(resaved, tmp_path / "b", MAPPINGS / "uci-online-retail.toml",
                    gbp_settings)
    assert (again.rows_read, again.rows_loaded) == (result.rows_read, result.rows_loaded)
    assert "column 'InvoiceNo' from 'Invoice'" in " ".join(again.notes)
    first, second = _stored(tmp_path / "a", UCI_TABLES), _stored(tmp_path / "b", UCI_TABLES)
    assert set(second) == set(first) >= {"orders", "order_lines", "customers"}
    for name in first:
        pd.testing.assert_frame_equal(second[name], first[name], obj=name)


SPEND = """
    name = "spend"
    [read]
    decimal = "auto"
    dates = "DATES"
    [columns]
    "Day" = "date"
    "Campaign" = "text"
    "Cost" = "number"
    "Clicks" = "int"
    "Conversions" = { type = "number", required = false }
    [tables.ad_spend_daily.columns]
    date_day = '"Day"'
    platform = "'google'"
    campaign = '"Campaign"'
    spend = '"Cost"'
    impressions = '"Clicks"'
    clicks = '"Clicks"'
    conversions = 'coalesce("Conversions", 0)'
    conversion_value = "0"
"""


def _spend_mapping(tmp_path: Path, dates: str = "year-first") -> Path:
    path = tmp_path / f"spend-{dates}.toml"
    path.write_text(textwrap.dedent(SPEND.replace("DATES", dates)), encoding="utf-8")
    return path


def _write_spend(path: Path, days: list[str], costs: list[str], clicks: list[str],
                 delimiter: str = ";", conversions: list[str] | None = None) -> Path:
    rows = [[day, f"c{i}", cost, click] for i, (day, cost, click)
            in enumerate(zip(days, costs, clicks))]
    header = ["Day", "Campaign", "Cost", "Clicks"]
    if conversions is not None:
        header.append("Conversions")
        rows = [row + [value] for row, value in zip(rows, conversions)]
    return _write(path, header, rows, delimiter=delimiter)


def _spend(data_dir: Path) -> pd.DataFrame:
    frame = read_for_validation(table_path(data_dir, "ad_spend_daily"))
    return frame.assign(n=frame.campaign.str[1:].astype(int)).sort_values("n")


def test_three_decimals_after_a_comma_are_decimals_when_the_file_says_so(tmp_path,
                                                                          gbp_settings):
    """'0,125' and '1.234,5' in one ';' file: a decimal comma, so 0.125, not 125."""
    path = _write_spend(tmp_path / "s.csv", ["2024-03-05"] * 3, ["1.234,5", "2,25", "7"],
                        ["1.000", "3", "2"], conversions=["0,125", "2,250", "1"])
    result = _import(path, tmp_path / "d", _spend_mapping(tmp_path), gbp_settings)
    stored = _spend(tmp_path / "d")
    assert stored.spend.tolist() == [1234.5, 2.25, 7.0]
    assert stored.conversions.tolist() == [0.125, 2.25, 1.0]
    assert stored.clicks.tolist() == [1000, 3, 2]
    assert "decimal comma" in " ".join(result.notes)


def test_numbers_no_value_decides_are_named_not_guessed(tmp_path, gbp_settings):
    """'1.500' alone could be 1500 or 1.5: the error names it, its line and column."""
    path = _write_spend(tmp_path / "s.csv", ["2024-03-05", "2024-03-06"], ["1.500", "7"],
                        ["2", "3"])
    with pytest.raises(ImportFileError) as caught:
        import_files("csv", [path], data_dir=tmp_path / "d", settings=gbp_settings,
                     mapping=_spend_mapping(tmp_path))
    err = caught.value
    assert (err.line, err.column) == (2, "Cost")
    assert "'1.500' could be a thousand-something or a number with three decimals" in str(err)
    assert 'Set decimal = "." or ","' in str(err)
    assert not (tmp_path / "d" / "tables").exists()


def test_numbers_written_both_ways_stop_the_import(tmp_path, gbp_settings):
    """'12,50' and '3.25' in one file: the error shows both."""
    path = _write_spend(tmp_path / "s.csv", ["2024-03-05", "2024-03-06"], ["12,50", "3.25"],
                        ["2", "3"])
    with pytest.raises(ImportFileError, match="'12,50' .*decimal comma, '3.25' .*decimal "
                                              "point"):
        import_files("csv", [path], data_dir=tmp_path / "d", settings=gbp_settings,
                     mapping=_spend_mapping(tmp_path))


def _written(whole: int, decimals: str, mark: str, thousands: bool) -> str:
    text = f"{whole:,}" if thousands else str(whole)
    if mark == ",":
        text = text.replace(",", ".")
    return f"{text}{mark}{decimals}" if decimals else text


def _read_as(text: str, mark: str) -> float | None:
    """The value of `text` if it is a number written with decimal `mark` (thousands grouped
    by the other mark, the first group not starting with 0), else None."""
    group = "." if mark == "," else ","
    pattern = rf"(\d+|[1-9]\d{{0,2}}(\{group}\d{{3}})+)(\{mark}\d+)?"
    if not re.fullmatch(pattern, text):
        return None
    return float(text.replace(group, "").replace(mark, "."))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 2_000_000), st.text("0123456789", max_size=4),
                          st.booleans()), min_size=1, max_size=6),
       st.sampled_from([",", "."]), st.sampled_from([";", ",", "\t"]))
def test_amounts_are_stored_as_written_or_named(tmp_path_factory, gbp_settings, numbers, mark,
                                                delimiter):
    """Whatever the decimal mark, thousands separators and field separator, every stored
    number is the one written; only a file that reads fully both ways with different
    values stops, naming a value that could be either."""
    tmp_path = tmp_path_factory.mktemp("amounts")
    written = [_written(w, d, mark, t) for w, d, t in numbers]
    other = "." if mark == "," else ","
    both_ways = [_read_as(text, other) for text in written]
    expected = [_read_as(text, mark) for text in written]
    undecidable = None not in both_ways and both_ways != expected
    path = _write_spend(tmp_path / "s.csv", ["2024-03-05"] * len(written), ["1"] * len(written),
                        ["1"] * len(written), delimiter=delimiter, conversions=written)
    try:
        import_files("csv", [path], data_dir=tmp_path / "d", settings=gbp_settings,
                     mapping=_spend_mapping(tmp_path))
    except ImportFileError as err:
        assert undecidable, str(err)
        assert err.column == "Conversions" and written[err.line - 2] in str(err)
        return
    assert not undecidable
    assert _spend(tmp_path / "d").conversions.tolist() == pytest.approx(expected, rel=1e-12)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.dates(dt.date(2000, 1, 1), dt.date(2068, 12, 31)), min_size=1,
                max_size=8),
       st.sampled_from(["auto", "day-first", "month-first"]))
def test_day_first_two_digit_year_dates_are_read_or_named_never_swapped(
        tmp_path_factory, gbp_settings, days, setting):
    """31/12/22: day-first with a two-digit year. Each date is stored as written, or the
    import stops naming a value of the file; a day and a month are never swapped."""
    tmp_path = tmp_path_factory.mktemp("dates")
    written = [d.strftime("%d/%m/%y") for d in days]
    path = _write_spend(tmp_path / "s.csv", written, ["1.50"] * len(days),
                        ["1"] * len(days))
    try:
        import_files("csv", [path], data_dir=tmp_path / "d", settings=gbp_settings,
                     mapping=_spend_mapping(tmp_path, setting))
    except ImportFileError as err:
        assert err.column == "Day" and written[err.line - 2] in str(err)
        decided = any(d.day > 12 for d in days)
        assert setting == "month-first" and decided or setting == "auto" and not decided
        return
    stored = list(_spend(tmp_path / "d").date_day)
    if setting == "month-first":  # no value contradicts it: the setting says how to read
        days = [dt.date(d.year, d.day, d.month) for d in days]
    assert stored == days


def test_a_column_with_several_header_names_reads_the_first_present(tmp_path, gbp_settings):
    """`column = [...]`: whichever name the file has is read; none of them names them all;
    a column list that is not names is refused when the mapping is loaded."""
    mapping = tmp_path / "names.toml"
    mapping.write_text(textwrap.dedent(SPEND.replace("DATES", "year-first").replace(
        '"Cost" = "number"', '"Cost" = { type = "number", column = ["Cost", "Amount spent"] }'
    )), encoding="utf-8")
    path = _write_spend(tmp_path / "s.csv", ["2024-03-05"], ["12,50"], ["3"])
    path.write_text(path.read_text(encoding="utf-8").replace("Cost", "Amount spent"),
                    encoding="utf-8")
    result = _import(path, tmp_path / "d", mapping, gbp_settings)
    assert _spend(tmp_path / "d").spend.tolist() == [12.5]
    assert "column 'Cost' from 'Amount spent'" in " ".join(result.notes)
    path.write_text(path.read_text(encoding="utf-8").replace("Amount spent", "Spend"),
                    encoding="utf-8")
    with pytest.raises(ImportFileError, match="required column 'Cost' \\(or 'Amount spent'\\) "
                                              "is missing"):
        import_files("csv", [path], data_dir=tmp_path / "e", settings=gbp_settings,
                     mapping=mapping)
    mapping.write_text(mapping.read_text(encoding="utf-8").replace(
        'column = ["Cost", "Amount spent"]', "column = []"), encoding="utf-8")
    with pytest.raises(MappingError, match='columns."Cost".column must be a header name'):
        load_mapping(mapping)
