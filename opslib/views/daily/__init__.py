"""The daily pages, one module per notebook in notebooks/daily/.

journal, orders_shipping, returns_refunds, customer_service, stock_watch, kpis and
marketing_today each offer section builders `(store, day) -> Section` and `figures(store,
day)`, the page's headline numbers for `opslib.record`. `data` computes each metric once
per store and day.
"""
