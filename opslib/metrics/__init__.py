"""Metrics: pure functions over the store's Ibis tables, grouped by domain.

sales, fulfilment, returns, support, stock, marketing and web each take the canonical
tables first (positional) and keyword-only options, aggregate in the engine and return
report-sized pandas frames; kpis combines their daily frames. A weekly or monthly figure is
the same function over a longer `Window`. Definitions: docs/metrics.md.
"""
