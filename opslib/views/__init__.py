"""Report pages: the setup call, sections, and the pages of each cadence.

`open_report` is the one setup call of every report notebook; `opslib.views.daily.<page>`
holds each daily notebook's sections (reused by the staff pages).
"""

from opslib.views.base import Report, Section, load_report, open_report, report_window, section

__all__ = ["Report", "Section", "load_report", "open_report", "report_window", "section"]
