"""Turning raw text into typed values, vectorised, and saying which values failed and why.

Each parser takes a column of raw strings and returns `Parsed(values, bad)`: the typed values
(missing where the text was empty) and a boolean mask of values that are not empty yet could
not be read. The caller turns `bad` into rejected rows; nothing is guessed silently.

>>> import pandas as pd
>>> parse_number(pd.Series(["1.234,50", "-3", "", "abc"]), decimal=",").values.tolist()
[1234.5, -3.0, nan, nan]
>>> parse_number(pd.Series(["1.234,50", "-3", "", "abc"]), decimal=",").bad.tolist()
[False, False, False, True]

Numbers must be finite and within a range (`AMOUNT_LIMIT` for numbers, `COUNT_LIMIT` for
whole numbers); `out_of_range` marks the bad values that are numbers beyond it:

>>> big = parse_int(pd.Series(["3", "99999999999999999999", "inf"]))
>>> big.values.tolist(), big.bad.tolist(), big.out_of_range.tolist(), big.not_finite.tolist()
([3, <NA>, <NA>], [False, True, True], [False, True, False], [False, False, True])
>>> zone = "America/New_York"
>>> ts = parse_timestamp(pd.Series(["2021-11-07 01:30:00 -0400", "2021-11-07 01:30:00 -0500"]),
...                      order="year-first", zone=zone)
>>> [str(v) for v in ts.values]
['2021-11-07 05:30:00+00:00', '2021-11-07 06:30:00+00:00']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Parsed", "DateOrderProblem", "clean_text", "parse_number", "parse_int",
           "parse_bool", "parse_timestamp", "parse_date", "DATE_ORDERS", "date_order_evidence",
           "AMOUNT_LIMIT", "COUNT_LIMIT", "range_text"]

# The accepted range of numbers, either sign (docs/data-contract.md): amounts and other
# numbers up to a million million, whole numbers (quantities, counts) up to a thousand million.
AMOUNT_LIMIT = 1e12
COUNT_LIMIT = 1e9

DATE_ORDERS = ("day-first", "month-first", "year-first", "auto")

_TRUE = {"yes", "true", "y", "t", "1", "subscribed", "x", "opted_in", "confirmed"}
_FALSE = {"no", "false", "n", "f", "0", "unsubscribed", "not_subscribed", "opted_out",
          "pending", "never_subscribed", "invalid"}

_NUMERIC_DATE = re.compile(
    r"^\s*(?P<a>\d{1,4})[-/.](?P<b>\d{1,2})[-/.](?P<c>\d{1,4})"
    r"(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,6}))?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
    r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}:?\d{2})?\s*$")


@dataclass
class Parsed:
    """Typed values and the mask of non-empty values that could not be read.

    Numbers only: `out_of_range` marks the part of `bad` that reads as a number beyond
    `limit` either way ('1e400'), `not_finite` the part that is 'inf', 'Infinity' or 'NaN'.
    """

    values: pd.Series
    bad: pd.Series
    out_of_range: pd.Series | None = None
    not_finite: pd.Series | None = None
    limit: float | None = None


def range_text(limit: float) -> str:
    """'-1,000,000,000 to 1,000,000,000' for messages."""
    return f"-{limit:,.0f} to {limit:,.0f}"


def _within(number: pd.Series, text: pd.Series, empty: pd.Series, limit: float) -> Parsed:
    """Keep finite numbers within ±limit; the rest become missing and bad, and those that
    are numbers ('1e400', '99999999999999999999', not 'inf') are marked out of range."""
    finite = pd.Series(np.isfinite(number.to_numpy(dtype="float64", na_value=np.nan)),
                       index=number.index)
    over = finite & (number.abs() > limit)
    words = text.astype("str").str.strip().str.lower().str.lstrip("+-")
    not_finite = ~empty & words.isin(["inf", "infinity", "nan"])
    out_of_range = (over | (number.notna() & ~finite)) & ~not_finite
    number = number.where(finite & ~over)
    return Parsed(number, ~empty & number.isna(), out_of_range.fillna(False), not_finite,
                  limit)


@dataclass
class DateOrderProblem:
    """Values whose day/month order contradicts the setting (or cannot be decided)."""

    position: int  # index label of the first offending value
    value: str
    reason: str


def clean_text(values: pd.Series, *, strip_apostrophe: bool = False) -> pd.Series:
    """Trim spaces (including non-breaking ones) and make empty text missing.

    With `strip_apostrophe`, a leading apostrophe that a spreadsheet export put before a
    number (to keep a zip code's or phone number's leading zero) is removed; other text that
    starts with an apostrophe is left alone.

    >>> clean_text(pd.Series(["'02134", "'+33 6 12", "'90s", " a\\xa0b ", ""]),
    ...            strip_apostrophe=True).tolist()
    ['02134', '+33 6 12', "'90s", 'a b', nan]

    The result keeps the input's index, value for value, whatever that index is:

    >>> clean_text(pd.Series(["a", "b", "c"], index=[1, 2, 3])).to_dict()
    {1: 'a', 2: 'b', 3: 'c'}
    """
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        array = pa.array(values)  # the text as Arrow holds it: no Python string per value
    else:
        array = pa.array(values.to_numpy(dtype=object, na_value=None), type=pa.string())
    array = pc.utf8_trim_whitespace(pc.replace_substring(array, "\xa0", " "))
    if strip_apostrophe:
        array = pc.replace_substring_regex(array, r"^'([\d+(][\d\s()+\-./]*)$", r"\1")
    array = pc.if_else(pc.equal(array, ""), pa.scalar(None, array.type), array)
    # Positional, never by label: `values` may carry any index (rows already dropped).
    result = array.to_pandas()
    result.index = values.index
    return result


def _empty(values: pd.Series) -> pd.Series:
    return values.isna() | (values.astype("str").str.strip() == "")


def _comma_like(values: pd.Series) -> bool:
    """Some value reads as a number with a decimal comma ('12,50')."""
    return bool(values.astype("str").str.contains(r"\d,\d{1,2}$", regex=True).any())


def _decimal_for(text: pd.Series) -> str:
    comma = text.str.contains(r"\d,\d{1,2}$", regex=True).sum()
    dot = text.str.contains(r"\d\.\d{1,2}$", regex=True).sum()
    return "," if comma > dot else "."


def parse_number(values: pd.Series, *, decimal: str = ".",
                 limit: float = AMOUNT_LIMIT) -> Parsed:
    """Numbers with '.' or ',' decimals ('auto' decides per column), thousands separators,
    currency symbols, a leading apostrophe and accounting parentheses for negatives.
    'inf', 'nan' and numbers beyond ±`limit` are bad (see `Parsed.out_of_range`)."""
    empty = _empty(values)
    if decimal in (".", "auto"):
        direct = pd.to_numeric(values.where(~empty, None), errors="coerce").astype("float64")
        if not (~empty & direct.isna()).any() and (decimal == "." or not _comma_like(values)):
            return _within(direct, values, empty, limit)
    text = values.astype("str").str.replace(r"[\s\xa0$€£¥']", "", regex=True)
    negative = text.str.match(r"^\(.*\)$")
    text = text.str.replace(r"^\((.*)\)$", r"\1", regex=True)
    chosen = _decimal_for(text[~empty]) if decimal == "auto" else decimal
    if chosen == ",":
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        text = text.str.replace(r",(?=\d{3}(?:\D|$))", "", regex=True)
    number = pd.to_numeric(text.where(~empty, None), errors="coerce").astype("float64")
    number = number.where(~negative.fillna(False), -number)
    return _within(number, values, empty, limit)


def parse_int(values: pd.Series, *, decimal: str = ".", limit: float = COUNT_LIMIT) -> Parsed:
    """Whole numbers ("3", "3.0", "1,200") within ±`limit`; "2.5" is bad."""
    parsed = parse_number(values, decimal=decimal, limit=limit)
    whole = parsed.values.isna() | (parsed.values == np.floor(parsed.values))
    result = parsed.values.where(whole).round().astype("Int64")
    return Parsed(result, parsed.bad | ~whole, parsed.out_of_range, parsed.not_finite, limit)


def parse_bool(values: pd.Series) -> Parsed:
    """yes/no, true/false, 1/0, subscribed/unsubscribed..., case-insensitive.

    >>> parse_bool(pd.Series(["Yes", "no", "", "maybe"])).values.tolist()
    [True, False, <NA>, <NA>]
    """
    empty = _empty(values)
    text = values.astype("str").str.strip().str.lower()
    result = pd.Series(pd.NA, index=values.index, dtype="boolean")
    result[text.isin(_TRUE)] = True
    result[text.isin(_FALSE)] = False
    return Parsed(result, ~empty & result.isna())


def date_order_evidence(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Masks of values that can only be day-first (13/02/2024) or only month-first
    (02/13/2024); year-first and ambiguous values are in neither."""
    parts = values.astype("str").str.extract(_NUMERIC_DATE)
    year_first = parts["a"].str.len() == 4
    a = pd.to_numeric(parts["a"], errors="coerce")
    b = pd.to_numeric(parts["b"], errors="coerce")
    day_first = ~year_first & (a > 12) & (b <= 12)
    month_first = ~year_first & (b > 12) & (a <= 12)
    return day_first.fillna(False), month_first.fillna(False)


def _resolve_order(values: pd.Series, order: str) -> tuple[str, DateOrderProblem | None]:
    day_first, month_first = date_order_evidence(values)
    if order == "month-first" and day_first.any():
        at = day_first.idxmax()
        return order, DateOrderProblem(at, str(values[at]), "it can only be read day-first "
                                       "(the first number is above 12)")
    if order == "day-first" and month_first.any():
        at = month_first.idxmax()
        return order, DateOrderProblem(at, str(values[at]), "it can only be read month-first "
                                       "(the second number is above 12)")
    if order == "auto":
        if day_first.any() and month_first.any():
            at = month_first.idxmax()
            return order, DateOrderProblem(at, str(values[at]), "the column mixes day-first "
                                           "and month-first dates")
        if day_first.any():
            return "day-first", None
        if month_first.any():
            return "month-first", None
        parts = values.astype("str").str.extract(_NUMERIC_DATE)
        ambiguous = parts["a"].notna() & (parts["a"].str.len() < 4) & (parts["a"] != parts["b"])
        if ambiguous.any():
            at = ambiguous.idxmax()
            return order, DateOrderProblem(at, str(values[at]), "every date in the column "
                                           "could be read both ways")
        return "year-first", None
    return order, None


def _components(values: pd.Series, order: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(naive local datetimes, UTC offsets in minutes or NaN, matched mask)."""
    parts = values.astype("str").str.extract(_NUMERIC_DATE)
    matched = parts["a"].notna()
    a, b, c = (pd.to_numeric(parts[k], errors="coerce") for k in "abc")
    year_first = parts["a"].str.len() == 4
    if order == "day-first":
        day, month, year = a, b, c
    else:  # month-first (year-first values are handled below whatever the order)
        day, month, year = b, a, c
    day = day.where(~year_first, c)
    month = month.where(~year_first, b)
    year = year.where(~year_first, a)
    year = year.where(year >= 100, year + np.where(year < 70, 2000, 1900))
    hour = pd.to_numeric(parts["H"], errors="coerce").fillna(0)
    ampm = parts["ampm"].str.lower().str[0]
    bad_hour = ampm.notna() & ((hour < 1) | (hour > 12))
    hour = hour.where(~(ampm == "p") | (hour == 12), hour + 12)
    hour = hour.where(~((ampm == "a") & (hour == 12)), 0)
    frame = pd.DataFrame({
        "year": year, "month": month, "day": day, "hour": hour,
        "minute": pd.to_numeric(parts["M"], errors="coerce").fillna(0),
        "second": pd.to_numeric(parts["S"], errors="coerce").fillna(0),
    })
    frame = frame.where(matched & ~bad_hour)
    stamps = pd.to_datetime(frame, errors="coerce")
    fraction = pd.to_numeric(parts["f"].str.ljust(6, "0"), errors="coerce").fillna(0)
    stamps = stamps + pd.to_timedelta(fraction, unit="us")
    tz = parts["tz"]
    sign = np.where(tz.str[0] == "-", -1, 1)
    digits = tz.str.replace(":", "", regex=False)
    hours = pd.to_numeric(digits.str[1:3], errors="coerce")
    minutes = pd.to_numeric(digits.str[3:5], errors="coerce")
    offset = (hours * 60 + minutes) * sign
    offset = offset.where(~tz.isin(["Z", "UTC", "GMT"]), 0.0)
    return stamps, offset, matched


def _localize(naive: pd.Series, zone: str) -> pd.Series:
    """Wall-clock times in `zone` to UTC. An hour repeated when clocks go back is read as
    its first occurrence; a time skipped when clocks go forward moves forward."""
    ambiguous = np.ones(len(naive), dtype=bool)
    local = naive.dt.tz_localize(zone, ambiguous=ambiguous, nonexistent="shift_forward")
    return local.dt.tz_convert("UTC")


def parse_timestamp(values: pd.Series, *, order: str, zone: str,
                    formats: tuple[str, ...] = ()) -> Parsed:
    """Timestamps to UTC. An offset in the value wins (mixed offsets across daylight-saving
    changes are fine); values without one are wall-clock times in `zone`.

    `order` says how to read 03/04/2024 (day-first or month-first); year-first values
    (2024-04-03) are read the same way whatever it says. Check `date_order_problem` first:
    this function assumes the order fits the values.
    """
    empty = _empty(values)
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    todo = ~empty
    fast = pd.to_datetime(values.where(todo, None), format="%Y-%m-%d %H:%M:%S %z", utc=True,
                          errors="coerce")
    result = result.where(fast.isna(), fast.astype("datetime64[us, UTC]"))
    todo &= result.isna()
    for fmt in formats:
        if not todo.any():
            break
        naive_format = "%z" not in fmt and "%Z" not in fmt
        parsed = pd.to_datetime(values.where(todo, None), format=fmt, errors="coerce",
                                utc=not naive_format)
        if naive_format:
            parsed = _localize(parsed, zone)
        result = result.where(parsed.isna() | ~todo, parsed.astype("datetime64[us, UTC]"))
        todo &= result.isna()
    if todo.any():
        subset = values[todo]
        stamps, offset, matched = _components(subset, "day-first" if order == "day-first"
                                              else "month-first")
        utc = pd.Series(pd.NaT, index=subset.index, dtype="datetime64[us, UTC]")
        with_offset = offset.notna() & stamps.notna()
        if with_offset.any():
            shifted = stamps[with_offset] - pd.to_timedelta(offset[with_offset], unit="m")
            utc[with_offset] = shifted.dt.tz_localize("UTC")
        naive = ~with_offset & stamps.notna()
        if naive.any():
            utc[naive] = _localize(stamps[naive].astype("datetime64[us]"), zone)
        result.loc[utc.index] = result.loc[utc.index].where(utc.isna(), utc)
        rest = todo & result.isna() & ~matched.reindex(values.index, fill_value=False)
        if rest.any():
            result = _fallback(values, rest, result, order, zone)
    return Parsed(result, ~empty & result.isna())


def _fallback(values: pd.Series, rest: pd.Series, result: pd.Series, order: str,
              zone: str) -> pd.Series:
    """Month names and other spelled-out forms ('Jan 5, 2024 3:04 PM'), value by value."""
    unique = pd.Series(values[rest].unique())
    parsed = pd.to_datetime(unique, format="mixed", dayfirst=order == "day-first",
                            errors="coerce")
    lookup: dict[str, pd.Timestamp] = {}
    for raw, stamp in zip(unique, parsed):
        if pd.isna(stamp) or not re.search(r"[A-Za-z]{3}", raw):
            continue  # only spelled-out months here; numeric forms were handled above
        stamp = pd.Timestamp(stamp)
        if stamp.tzinfo is None:
            stamp = _localize(pd.Series([stamp]).astype("datetime64[us]"), zone).iloc[0]
        lookup[raw] = stamp.tz_convert("UTC")
    mapped = values[rest].map(lookup)
    out = result.copy()
    out.loc[mapped.index] = pd.to_datetime(mapped, utc=True).astype("datetime64[us, UTC]")
    return out


def parse_date(values: pd.Series, *, order: str, formats: tuple[str, ...] = ()) -> Parsed:
    """Calendar dates as written (a time part, if any, is ignored; no zone conversion).

    >>> parse_date(pd.Series(["03/04/2024", "2024-04-05", ""]), order="day-first").values.tolist()
    [datetime.date(2024, 4, 3), datetime.date(2024, 4, 5), None]
    """
    empty = _empty(values)
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    todo = ~empty
    for fmt in formats:
        parsed = pd.to_datetime(values.where(todo, None), format=fmt, errors="coerce")
        result = result.where(parsed.isna() | ~todo, parsed.astype("datetime64[us]"))
        todo &= result.isna()
    if todo.any():
        stamps, _, _ = _components(values[todo], "day-first" if order == "day-first"
                                   else "month-first")
        result.loc[stamps.index] = stamps.astype("datetime64[us]")
        todo &= result.isna()
    if todo.any():
        unique = pd.Series(values[todo].unique())
        parsed = pd.to_datetime(unique, format="mixed", dayfirst=order == "day-first",
                                errors="coerce")
        lookup = {raw: stamp for raw, stamp in zip(unique, parsed)
                  if pd.notna(stamp) and re.search(r"[A-Za-z]{3}", raw)}
        mapped = pd.to_datetime(values[todo].map(lookup), errors="coerce")
        result.loc[mapped.index] = mapped.astype("datetime64[us]")
    dates = pd.Series([None] * len(values), index=values.index, dtype=object)
    ok = result.notna()
    dates[ok] = result[ok].dt.normalize().dt.date
    return Parsed(dates, ~empty & ~ok)


def date_order_problem(values: pd.Series, order: str) -> tuple[str, DateOrderProblem | None]:
    """The order to use for this column and, if the values contradict it, the first problem."""
    text = values[~_empty(values)]
    return _resolve_order(text, order)
