"""The monthly pages: one module per monthly notebook, section builders `(store, day)`.

The month is the calendar month of D, up to D (`opslib.views.report_window`), set against
the month before and the same month last year (`opslib.views.monthly.common.periods`).
"""
