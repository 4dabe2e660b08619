"""Altair charts in one house theme, rendered to inline SVG.

Charts are drawn to SVG on the server (vl-convert, through Altair's own `save`), so they
show in JupyterLab, in HTML reports and in Voila with no JavaScript and no internet:
Altair's default HTML output fetches its scripts from a CDN, and JupyterLab/Voila do not
render every Vega-Lite version Altair emits.

>>> frame = pd.DataFrame({"date_day": pd.date_range("2024-01-01", periods=3), "orders": [3, 5, 4]})
>>> data, meta = line(frame, x="date_day", y="orders", title="Orders")._repr_mimebundle_()
>>> data["image/svg+xml"].startswith("<svg") and "Orders" in data["image/svg+xml"]
True
>>> meta["image/svg+xml"]["alt"]
'Line chart of orders by day, 1 January 2024 to 3 January 2024: highest 5 (2 January 2024), lowest 3 (1 January 2024).'

Axis titles come from the labels glossary with their unit ("Net sales (£)"), category
values are put in words ("changed_mind" → "Changed mind"), date axes name the month, and
every chart carries a one-sentence description: the alt text of the image in HTML reports.
"""

from __future__ import annotations

import base64
import io

import altair as alt
import pandas as pd

from opslib import glossary

__all__ = ["Chart", "line", "bar", "to_display", "describe", "PALETTE"]

PALETTE = ["#0969da", "#e16f24", "#2da44e", "#8250df", "#bf3989", "#57606a", "#d4a72c"]
_AXIS_FORMATS = {"rate": ".0%", "money": ",.0f", "count": ",d", "number": ",.2~f",
                 "hours": ",.1~f", "days": ",.1~f", "ratio": ".2~f"}
_FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"


def _house_theme(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """The house style, with room around the plot so that long category labels on the
    left are never cut off."""
    chart = chart.properties(padding={"left": 24, "right": 12, "top": 6, "bottom": 6})
    return chart.configure(font=_FONT, background="white").configure_view(
        strokeWidth=0).configure_axis(
        labelColor="#57606a", titleColor="#57606a", gridColor="#eaeef2", domainColor="#d0d7de",
        labelFontSize=11, titleFontSize=11, labelLimit=260).configure_title(
        anchor="start", fontSize=14, color="#1f2328").configure_range(
        category=PALETTE).configure_legend(
        orient="bottom", labelFontSize=11, titleFontSize=11).configure_line(
        color=PALETTE[0], strokeWidth=2).configure_point(color=PALETTE[0]).configure_bar(
        color=PALETTE[0])


class Chart:
    """A chart that displays as inline SVG (MIME image/svg+xml) wherever it is shown;
    `description` is its alt text (one sentence saying what it shows)."""

    def __init__(self, chart: alt.TopLevelMixin, description: str = "") -> None:
        self.altair = chart
        self.description = description or _title_sentence(chart)

    def to_svg(self) -> str:
        buffer = io.StringIO()
        _house_theme(self.altair).save(buffer, format="svg")
        return buffer.getvalue()

    def to_png(self) -> bytes:
        buffer = io.BytesIO()
        _house_theme(self.altair).save(buffer, format="png")
        return buffer.getvalue()

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """SVG first; PNG too, because JupyterLab shows only 'safe' types (PNG, not SVG)
        in a notebook it does not trust, such as a report opened from outputs/."""
        png = base64.b64encode(self.to_png()).decode("ascii")
        alt_text = {"alt": self.description}
        return ({"image/svg+xml": self.to_svg(), "image/png": png,
                 "text/plain": self.description},
                {"image/svg+xml": alt_text, "image/png": alt_text})


def _title_sentence(chart: alt.TopLevelMixin) -> str:
    title = chart.to_dict().get("title") or "a chart"
    text = title.get("text", "a chart") if isinstance(title, dict) else str(title)
    return f"Chart: {text}."


def to_display(chart: alt.TopLevelMixin, description: str = "") -> Chart:
    """Wrap any Altair chart so it renders offline as SVG in the house theme."""
    return Chart(chart, description)


def _in_words(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """Category columns with their values in words ('online_store' → 'Online store')."""
    changed = {c: frame[c].map(lambda v: glossary.words(v) if isinstance(v, str) else v)
               for c in columns if c and c in frame and not _is_time(frame, c)}
    return frame.assign(**changed) if changed else frame


def _is_time(frame: pd.DataFrame, column: str) -> bool:
    return pd.api.types.is_datetime64_any_dtype(frame[column])


def _value_text(value, unit: str, currency: str | None) -> str:
    return glossary.format_value(value, unit, currency=currency)


def _x_text(value, monthly: bool = False) -> str:
    if not isinstance(value, pd.Timestamp):
        return str(value)
    return f"{value:%B %Y}" if monthly else f"{value:%-d %B %Y}"


def _lower_first(text: str) -> str:
    """'Net sales' → 'net sales' inside a sentence; 'RFM segment' and 'CSAT rate' stay."""
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


def describe(frame: pd.DataFrame, *, kind: str, x: str, y: str, unit: str,
             currency: str | None = None, title: str = "") -> str:
    """One sentence for the alt text: what is drawn, over what, and its extremes.

    >>> f = pd.DataFrame({"date_day": pd.date_range("2026-11-01", periods=3),
    ...                   "net_sales": [10.0, 30.0, 20.0]})
    >>> describe(f, kind="Line chart", x="date_day", y="net_sales", unit="money",
    ...          currency="GBP")
    'Line chart of net sales (£) by day, 1 November 2026 to 3 November 2026: highest £30.00 (2 November 2026), lowest £10.00 (1 November 2026).'
    """
    what = _lower_first(glossary.axis_title(y, unit_name=unit, currency=currency))
    head = f"{kind} of {what}"
    if title and title.lower() != glossary.label(y).lower():
        head = f"{kind} \u201c{title}\u201d of {what}"
    values = frame.dropna(subset=[y])
    if values.empty:
        return f"{head}: nothing to show."
    by = _lower_first(glossary.label(x))
    span, monthly = "", False
    if _is_time(frame, x):
        monthly = bool((values[x].dt.day == 1).all()) and len(values) > 1
        by = "month" if monthly else by
        span = f", {_x_text(values[x].min(), monthly)} to {_x_text(values[x].max(), monthly)}"
    high = values.loc[values[y].idxmax()]
    low = values.loc[values[y].idxmin()]
    return (f"{head} by {by}{span}: highest {_value_text(high[y], unit, currency)} "
            f"({_x_text(high[x], monthly)}), lowest {_value_text(low[y], unit, currency)} "
            f"({_x_text(low[x], monthly)}).")


def _axis(unit: str) -> alt.Axis:
    """The value axis: the unit's number format; whole-number ticks for counts (a count
    axis from 0 to 3 would otherwise label 0, 0.5, 1... as 0, 1, 1, 2...)."""
    if unit == "count":
        return alt.Axis(format=_AXIS_FORMATS["count"], tickMinStep=1)
    return alt.Axis(format=_AXIS_FORMATS.get(unit, ","))


def _time_axis(frame: pd.DataFrame, x: str) -> alt.Axis:
    """Dates that name their month: '29 Nov' over weeks, 'Nov 2026' over longer spans."""
    days = (frame[x].max() - frame[x].min()).days if len(frame) else 0
    if days > 120:
        return alt.Axis(format="%b %Y", labelAngle=0, labelOverlap=True)
    every = {"interval": "day", "step": 1} if days <= 14 else {"interval": "week", "step": 1}
    return alt.Axis(format="%-d %b", labelAngle=0, labelOverlap=True, tickCount=every)


def _encode_x(frame: pd.DataFrame, x: str) -> alt.X:
    if _is_time(frame, x):
        return alt.X(f"{x}:T", title=None, axis=_time_axis(frame, x))
    return alt.X(f"{x}:N", title=None)


def line(frame: pd.DataFrame, *, x: str, y: str, color: str | None = None, title: str = "",
         y_unit: str = "number", currency: str | None = None, width: int = 640,
         height: int = 220) -> Chart:
    """A line chart over time (one line per `color` value); money axes name `currency`."""
    frame = _in_words(frame, [color])
    encoding = {"x": _encode_x(frame, x),
                "y": alt.Y(f"{y}:Q", title=glossary.axis_title(y, unit_name=y_unit,
                                                              currency=currency),
                           axis=_axis(y_unit))}
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=None)
    chart = alt.Chart(frame).mark_line(point=len(frame) <= 60).encode(**encoding)
    return Chart(chart.properties(title=title, width=width, height=height),
                 describe(frame, kind="Line chart", x=x, y=y, unit=y_unit, currency=currency,
                          title=title))


def bar(frame: pd.DataFrame, *, x: str, y: str, color: str | None = None, title: str = "",
        horizontal: bool = False, y_unit: str = "number", currency: str | None = None,
        width: int = 640, height: int = 220) -> Chart:
    """A bar chart; horizontal bars are sorted by value (for rankings)."""
    frame = _in_words(frame, [x, color])
    value = alt.X if horizontal else alt.Y
    category = alt.Y if horizontal else alt.X
    axis = _axis(y_unit)
    time = _is_time(frame, x)
    encoding = {
        ("x" if horizontal else "y"): value(
            f"{y}:Q", title=glossary.axis_title(y, unit_name=y_unit, currency=currency),
            axis=axis),
        ("y" if horizontal else "x"): category(
            f"{x}:{'T' if time else 'N'}", title=None, sort="-x" if horizontal else None,
            axis=_time_axis(frame, x) if time else alt.Axis(labelAngle=0)),
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=None)
    chart = alt.Chart(frame).mark_bar().encode(**encoding)
    return Chart(chart.properties(title=title, width=width, height=height),
                 describe(frame, kind="Bar chart", x=x, y=y, unit=y_unit, currency=currency,
                          title=title))
