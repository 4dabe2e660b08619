"""Report pages: the setup call, sections, and the pages of each cadence.

`open_report` is the one setup call of every report notebook; `opslib.views.daily.<page>`
holds each daily notebook's sections (reused by the staff pages).
"""

from opslib.views.base import Report, Section, load_report, open_report, report_window, section

__all__ = ["Report", "Section", "load_report", "open_report", "report_window", "section"]

# What `open_report` reads for every page (the stale-data check, base.newest_order_day),
# on top of each page module's own READS: `playbook run` checks both before a notebook runs.
READS = ("orders.created_at",)
