"""The weekly pages: the Monday review of the week D−6…D against the week before.

One module per notebook in notebooks/weekly/ (kpi_report, marketing_social,
site_analytics, cash, service_followup, competitors_trends, product_content); each holds
the page's sections — builders taking `(store, week)`, where `week` is the report's
`Window` — and `figures(store, week)`, the headline figures for `opslib.record`. `data`
loads and caches the metrics, `common` holds the week-against-week comparison.
"""
