"""Altair charts in one house theme, rendered to inline SVG.

Charts are drawn to SVG on the server (vl-convert, through Altair's own `save`), so they
show in JupyterLab, in HTML reports and in Voila with no JavaScript and no internet:
Altair's default HTML output fetches its scripts from a CDN, and JupyterLab/Voila do not
render every Vega-Lite version Altair emits.

>>> frame = pd.DataFrame({"date_day": pd.date_range("2024-01-01", periods=3), "orders": [3, 5, 4]})
>>> svg = line(frame, x="date_day", y="orders", title="Orders")._repr_mimebundle_()["image/svg+xml"]
>>> svg.startswith("<svg") and "Orders" in svg
True
"""

from __future__ import annotations

import base64
import io

import altair as alt
import pandas as pd

__all__ = ["Chart", "line", "bar", "to_display", "PALETTE"]

PALETTE = ["#0969da", "#e16f24", "#2da44e", "#8250df", "#bf3989", "#57606a", "#d4a72c"]
_AXIS_FORMATS = {"rate": ".0%", "money": ",.0f", "count": ",d", "number": ",.2~f",
                 "hours": ",.1f", "days": ",.1f", "ratio": ".2f"}
_FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"


def _house_theme(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return chart.configure(font=_FONT, background="white").configure_view(
        strokeWidth=0).configure_axis(
        labelColor="#57606a", titleColor="#57606a", gridColor="#eaeef2", domainColor="#d0d7de",
        labelFontSize=11, titleFontSize=11).configure_title(
        anchor="start", fontSize=14, color="#1f2328").configure_range(
        category=PALETTE).configure_legend(
        orient="bottom", labelFontSize=11, titleFontSize=11).configure_line(
        color=PALETTE[0], strokeWidth=2).configure_point(color=PALETTE[0]).configure_bar(
        color=PALETTE[0])


class Chart:
    """A chart that displays as inline SVG (MIME image/svg+xml) wherever it is shown."""

    def __init__(self, chart: alt.TopLevelMixin) -> None:
        self.altair = chart

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
        title = self.altair.to_dict().get("title", "chart")
        png = base64.b64encode(self.to_png()).decode("ascii")
        return {"image/svg+xml": self.to_svg(), "image/png": png, "text/plain": f"Chart: {title}"}


def to_display(chart: alt.TopLevelMixin) -> Chart:
    """Wrap any Altair chart so it renders offline as SVG in the house theme."""
    return Chart(chart)


def _axis(unit: str) -> alt.Axis:
    """The value axis: the unit's number format; whole-number ticks for counts (a count
    axis from 0 to 3 would otherwise label 0, 0.5, 1... as 0, 1, 1, 2...)."""
    if unit == "count":
        return alt.Axis(format=_AXIS_FORMATS["count"], tickMinStep=1)
    return alt.Axis(format=_AXIS_FORMATS.get(unit, ","))


def _encode_x(frame: pd.DataFrame, x: str) -> alt.X:
    kind = "T" if pd.api.types.is_datetime64_any_dtype(frame[x]) else "N"
    return alt.X(f"{x}:{kind}", title=None)


def line(frame: pd.DataFrame, *, x: str, y: str, color: str | None = None, title: str = "",
         y_unit: str = "number", width: int = 640, height: int = 220) -> Chart:
    """A line chart over time (one line per `color` value)."""
    encoding = {"x": _encode_x(frame, x),
                "y": alt.Y(f"{y}:Q", title=y.replace("_", " "),
                           axis=_axis(y_unit))}
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=None)
    chart = alt.Chart(frame).mark_line(point=len(frame) <= 60).encode(**encoding)
    return Chart(chart.properties(title=title, width=width, height=height))


def bar(frame: pd.DataFrame, *, x: str, y: str, color: str | None = None, title: str = "",
        horizontal: bool = False, y_unit: str = "number", width: int = 640,
        height: int = 220) -> Chart:
    """A bar chart; horizontal bars are sorted by value (for rankings)."""
    value = alt.X if horizontal else alt.Y
    category = alt.Y if horizontal else alt.X
    axis = _axis(y_unit)
    encoding = {
        ("x" if horizontal else "y"): value(f"{y}:Q", title=y.replace("_", " "), axis=axis),
        ("y" if horizontal else "x"): category(
            f"{x}:{'T' if pd.api.types.is_datetime64_any_dtype(frame[x]) else 'N'}",
            title=None, sort="-x" if horizontal else None),
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=None)
    chart = alt.Chart(frame).mark_bar().encode(**encoding)
    return Chart(chart.properties(title=title, width=width, height=height))
