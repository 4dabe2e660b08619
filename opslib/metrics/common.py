"""Helpers the metric modules share: input checks, calendars, durations, age buckets.

Nothing here knows a backend: expressions are Ibis, frames are report-sized pandas.

>>> ratio(3, 4), ratio(1, 0), ratio(None, 2)
(0.75, None, None)
>>> [age_bucket_label(d) for d in (0, 1, 2, 4, 8)]
['0–1 days', '0–1 days', '2–3 days', '4–7 days', '>7 days']
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence

import ibis
import pandas as pd

from opslib.errors import SchemaViolation
from opslib.store import Window, seconds_between

__all__ = [
    "AGE_BUCKETS", "age_bucket_label", "age_bucket", "count_by_age", "ratio", "series_ratio",
    "require", "full_calendar", "hours_between", "lookback", "to_local", "next_days",
    "SATISFIED_MIN_SCORE",
]

# A CSAT score (1–5) counts as satisfied from 4 up: every CSAT rate uses this one rule.
SATISFIED_MIN_SCORE = 4

# (first day, last day or None, label, report column) — ages in whole days since the event.
AGE_BUCKETS: tuple[tuple[int, int | None, str, str], ...] = (
    (0, 1, "0–1 days", "age_0_to_1_days"),
    (2, 3, "2–3 days", "age_2_to_3_days"),
    (4, 7, "4–7 days", "age_4_to_7_days"),
    (8, None, ">7 days", "age_over_7_days"),
)


def age_bucket_label(days: int) -> str:
    """The age bucket of a whole number of days (0–1, 2–3, 4–7, >7)."""
    for first, last, label, _ in AGE_BUCKETS:
        if days >= first and (last is None or days <= last):
            return label
    raise ValueError(f"an age in days must be 0 or more, found {days}")


def age_bucket(age_days: ibis.IntegerValue) -> ibis.StringValue:
    """The age bucket label as an engine expression."""
    cases = [(age_days <= last, label) for _, last, label, _ in AGE_BUCKETS if last is not None]
    return ibis.cases(*cases, else_=AGE_BUCKETS[-1][2])


def count_by_age(frame: pd.DataFrame, *, by: str | None = None,
                 bucket_column: str = "age_bucket") -> pd.DataFrame:
    """Count rows per age bucket (columns age_0_to_1_days … age_over_7_days, plus count_total).

    With `by`, one row per value of that column (sorted by total, largest first); without
    it, one row. Every bucket column is present, 0 when empty.

    >>> f = pd.DataFrame({"channel": ["chat", "chat", "email"],
    ...                   "age_bucket": ["0–1 days", ">7 days", "0–1 days"]})
    >>> count_by_age(f, by="channel").to_dict("records")[0]
    {'channel': 'chat', 'age_0_to_1_days': 1, 'age_2_to_3_days': 0, 'age_4_to_7_days': 0, 'age_over_7_days': 1, 'count_total': 2}
    """
    keys = [by] if by else []
    groups = [((key,), group) for key, group in frame.groupby(by, sort=True, dropna=False)] \
        if by else [((), frame)]
    rows = []
    for key, group in groups:
        row: dict[str, object] = dict(zip(keys, key))
        for _, _, label, column in AGE_BUCKETS:
            row[column] = int((group[bucket_column] == label).sum())
        row["count_total"] = int(len(group))
        rows.append(row)
    columns = keys + [column for *_, column in AGE_BUCKETS] + ["count_total"]
    out = pd.DataFrame(rows, columns=columns)
    if by:
        out = out.sort_values(["count_total", by], ascending=[False, True])
    return out.reset_index(drop=True)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator ÷ denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None:
        return None
    if _missing(numerator) or _missing(denominator) or denominator == 0:
        return None
    return float(numerator) / float(denominator)


def _missing(value: object) -> bool:
    return value is pd.NA or (isinstance(value, float) and math.isnan(value))


def series_ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """Element-wise ratio as floats; NaN where the denominator is 0 or missing."""
    num = pd.to_numeric(numerator, errors="coerce").astype("float64")
    den = pd.to_numeric(denominator, errors="coerce").astype("float64")
    return (num / den.where(den != 0)).astype("float64")


def require(table: ibis.Table, name: str, columns: Iterable[str]) -> None:
    """Raise SchemaViolation unless `table` has every column (the metric's input contract)."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise SchemaViolation(
            name, column=missing[0],
            what=f"the '{name}' table given to a metric lacks column(s) {', '.join(missing)}",
            fix=f"Pass the canonical '{name}' table, e.g. store.table('{name}').")


def full_calendar(frame: pd.DataFrame, window: Window, *, zero: Sequence[str] = (),
                  day_column: str = "date_day") -> pd.DataFrame:
    """One row per day of the window; `zero` columns are 0 on days without rows.

    Other columns (rates, medians) stay empty (NaN) on such days.

    >>> w = Window.of("2024-01-01", "2024-01-03", zone="UTC")
    >>> f = pd.DataFrame({"date_day": [pd.Timestamp("2024-01-02")], "n": [5]})
    >>> full_calendar(f, w, zero=["n"])["n"].tolist()
    [0, 5, 0]
    """
    days = pd.DataFrame({day_column: window.dates().astype("datetime64[ns]")})
    if len(frame.columns):
        frame = frame.assign(**{day_column: pd.to_datetime(frame[day_column])
                                .astype("datetime64[ns]")})
        out = days.merge(frame, on=day_column, how="left")
    else:
        out = days
    for column in zero:
        whole = column not in frame.columns or pd.api.types.is_integer_dtype(frame[column])
        values = pd.to_numeric(out.get(column, 0), errors="coerce")
        values = pd.Series(values, index=out.index).fillna(0)
        out[column] = values.astype("int64") if whole else values.astype("float64")
    return out.reset_index(drop=True)


def hours_between(later: ibis.TimestampValue | pd.Timestamp,
                  earlier: ibis.TimestampValue | pd.Timestamp) -> ibis.FloatingValue:
    """(later − earlier) in hours, fractions of a second kept, on every engine."""
    return seconds_between(later, earlier) / 3600.0


def lookback(as_of: Window, days: int) -> Window:
    """The `days` local days ending on the as-of window's last day.

    >>> lookback(Window.of("2024-03-31", zone="UTC"), 7).start
    datetime.date(2024, 3, 25)
    """
    if days < 1:
        raise ValueError(f"a look-back needs at least 1 day, found {days}")
    return Window.of(as_of.end - dt.timedelta(days=days - 1), as_of.end, zone=as_of.zone)


def next_days(as_of: Window, days: int) -> Window:
    """The `days` local days right after the as-of window (today and onwards)."""
    return Window.of(as_of.end + dt.timedelta(days=1), as_of.end + dt.timedelta(days=days),
                     zone=as_of.zone)


def to_local(frame: pd.DataFrame, zone: str, columns: Sequence[str]) -> pd.DataFrame:
    """A copy with the timestamp `columns` converted from UTC to the store's time zone."""
    out = frame.copy()
    for column in columns:
        values = pd.to_datetime(out[column], utc=True)
        out[column] = values.dt.tz_convert(zone)
    return out
