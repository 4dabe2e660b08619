"""The weekly notebooks: they run, record the right figures, survive absent tables, stay thin.

Each notebook is executed once per session with papermill (kernel `python3`) against the
small demo store for the week to DEMO_UNTIL, exactly as the runner does it.
"""

from __future__ import annotations

import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from notebook_runs import copy_without, displayed, error_outputs, run_notebook, write_settings

from opslib.display import KPIS_MIME, WARNINGS_MIME
from opslib.metrics import (
    cash, fulfilment, kpis, marketing, periods, profit, returns, sales, service, social, support,
    web,
)
from opslib.store import Store, Window

ROOT = Path(__file__).resolve().parents[1]
WEEKLY = ROOT / "notebooks" / "weekly"
NOTEBOOKS = ("kpi_report", "marketing_social", "site_analytics", "cash", "service_followup",
             "competitors_trends", "product_content")
NAMES = ("count_orders", "net_sales", "avg_order_value", "conversion_rate", "count_sessions",
         "count_shipments", "count_returns", "refund_amount", "count_tickets_opened",
         "csat_rate", "social_engagement_rate", "count_followers_gained", "email_open_rate",
         "email_click_rate", "ad_spend", "blended_roas", "cash_in", "cash_out",
         "net_cash_flow", "cogs", "gross_profit", "gross_margin_rate")
WEEKLY_FIGURES = set(NAMES) | {f"{name}_prev_week" for name in NAMES}


@pytest.fixture(scope="session")
def weekly_settings_file(tmp_path_factory, demo_settings) -> Path:
    return write_settings(tmp_path_factory.mktemp("weekly_settings"), demo_settings,
                          "\n[targets.social]\ninstagram = { reach = 40000, engagement_rate = 0.04 }\n")


@pytest.fixture(scope="session")
def executed(small_demo_dir, weekly_settings_file, tmp_path_factory, demo_until) -> dict:
    """Every weekly notebook run for the week to DEMO_UNTIL (two at a time)."""
    out_dir = tmp_path_factory.mktemp("weekly_runs")
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {name: pool.submit(run_notebook, "weekly", name, small_demo_dir, out_dir,
                                  weekly_settings_file, demo_until) for name in NOTEBOOKS}
        return {name: run.result() for name, run in runs.items()}


@pytest.mark.slow
def test_every_weekly_notebook_runs_without_an_error_cell(executed):
    """Seven notebooks, each executed to the end with no error output and no 'no data'
    note (the demo store has every table)."""
    assert set(executed) == set(NOTEBOOKS)
    for name, nb in executed.items():
        assert error_outputs(nb) == [], name
        codes = {w["code"] for w in displayed(nb, WARNINGS_MIME)}
        assert "no_data" not in codes, name


@pytest.mark.slow
def test_each_weekly_figure_is_recorded_by_exactly_one_notebook(executed):
    """The 22 names of the issues and their _prev_week twins, no more, each in one notebook;
    a notebook records at most once."""
    seen: dict[str, list[str]] = {}
    for name, nb in executed.items():
        recorded = displayed(nb, KPIS_MIME)
        assert len(recorded) <= 1, name
        for figure in (recorded[0] if recorded else {}):
            seen.setdefault(figure, []).append(name)
    assert set(seen) == WEEKLY_FIGURES
    assert {f: n for f, n in seen.items() if len(n) > 1} == {}


def _week_from_metrics(store: Store, week: Window) -> dict[str, float | None]:
    """The 19 figures for one week straight from the metric functions (no views)."""
    t = store.table
    daily = sales.daily_sales(t("orders"), t("order_lines"), t("returns"), window=week)
    traffic = web.daily_traffic(t("web_traffic_daily"), window=week)
    spend = marketing.daily_ad_spend(t("ad_spend_daily"), window=week)
    week_sales = sales.totals(daily)
    week_kpis = periods.kpi_totals(kpis.daily_kpis(daily, traffic, spend))
    money = cash.cash_totals(cash.daily_cash(t("bank_transactions"), window=week,
                                             currency="GBP"))
    posts = social.social_totals(
        social.daily_social(t("social_posts"), window=week),
        social.daily_followers(t("social_accounts_daily"), window=week))
    email = social.email_totals(social.daily_email(t("email_campaigns"), window=week))
    back = returns.daily_returns(t("returns"), window=week)
    margin = profit.profit_totals(profit.daily_profit(
        t("orders"), t("order_lines"), t("returns"), t("products"), t("purchase_orders"),
        window=week))
    return {
        "cogs": margin["cogs"], "gross_profit": margin["gross_profit"],
        "gross_margin_rate": margin["gross_margin_rate"],
        "count_orders": week_sales["count_orders"], "net_sales": week_sales["net_sales"],
        "avg_order_value": week_sales["avg_order_value"],
        "conversion_rate": web.conversion_rate(week_sales["count_orders"],
                                               traffic.count_sessions.sum()),
        "count_sessions": float(traffic.count_sessions.sum()),
        "count_shipments": float(fulfilment.daily_shipments(
            t("shipments"), window=week).count_shipments.sum()),
        "count_returns": float(back.count_returns_requested.sum()),
        "refund_amount": float(back.returns_amount.sum()),
        "count_tickets_opened": float(support.daily_tickets(
            t("tickets"), window=week, sla_hours=24).count_tickets_opened.sum()),
        "csat_rate": service.csat_totals(service.daily_csat(t("surveys"),
                                                            window=week))["csat_rate"],
        "social_engagement_rate": posts["social_engagement_rate"],
        "count_followers_gained": posts["count_followers_gained"],
        "email_open_rate": email["email_open_rate"],
        "email_click_rate": email["email_click_rate"],
        "ad_spend": float(spend.ad_spend.sum()), "blended_roas": week_kpis["blended_roas"],
        "cash_in": money["cash_in"], "cash_out": money["cash_out"],
        "net_cash_flow": money["net_cash_flow"],
    }


@pytest.mark.slow
def test_recorded_figures_equal_the_metric_functions(executed, small_demo_store, demo_until):
    """What the notebooks put in run.json, this week and last, is what the metric functions
    return for those two windows."""
    recorded: dict[str, float | None] = {}
    for nb in executed.values():
        for figures in displayed(nb, KPIS_MIME):
            recorded.update(figures)
    week = Window.of(demo_until - dt.timedelta(days=6), demo_until, zone="Europe/London")
    expected = _week_from_metrics(small_demo_store, week)
    expected_prev = _week_from_metrics(small_demo_store, week.shift(-7))
    for name in NAMES:
        assert recorded[name] == pytest.approx(expected[name], nan_ok=True), name
        assert recorded[f"{name}_prev_week"] == pytest.approx(expected_prev[name],
                                                              nan_ok=True), name
    assert recorded["count_orders"] > 0 and recorded["cash_in"] > 0
    assert recorded["count_orders"] != recorded["count_orders_prev_week"]


@pytest.mark.slow
def test_the_call_back_list_shows_contacts_in_the_owners_report(executed):
    """The owner's report is where the owner calls from: full email addresses, not masked
    (the staff pages mask them)."""
    html = "".join(o["data"].get("text/html", "")
                   for c in executed["service_followup"].cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if "data" in o)
    assert re.search(r">[^<>*\s]+@[^<>\s]+<", html)
    assert "***@" not in html


@pytest.mark.slow
def test_the_kpi_report_shows_a_chart_and_last_year_when_history_allows(executed):
    """The eight-week trend is an inline SVG (no script from the internet); the small demo
    holds one year of history, so the same week last year is said to be out of reach."""
    nb = executed["kpi_report"]
    svgs = displayed(nb, "image/svg+xml")
    assert svgs and svgs[0].startswith("<svg")
    html = "".join(displayed(nb, "text/html"))
    assert "No comparison with the same week last year" in html
    assert "<script" not in html


@pytest.mark.slow
def test_absent_tables_give_no_data_notes_and_null_figures(small_demo_dir, demo_until,
                                                          weekly_settings_file, tmp_path):
    """Without bank, survey, social or competitor data: the sections that need them say so
    (the runner gets a no_data warning), their figures are null, the rest is computed."""
    absent = ("bank_transactions", "surveys", "social_posts", "social_accounts_daily",
              "competitor_prices")
    data_dir = copy_without(small_demo_dir, tmp_path / "shop", absent)
    runs = {name: run_notebook("weekly", name, data_dir, tmp_path, weekly_settings_file, demo_until)
            for name in ("cash", "service_followup", "marketing_social", "competitors_trends")}
    for name, nb in runs.items():
        assert error_outputs(nb) == [], name
    warned = {name: {w.get("table") for w in displayed(nb, WARNINGS_MIME)
                     if w["code"] == "no_data"} for name, nb in runs.items()}
    assert "bank_transactions" in warned["cash"]
    assert "surveys" in warned["service_followup"]
    assert "social_posts" in warned["marketing_social"]
    assert "competitor_prices" in warned["competitors_trends"]
    assert set(displayed(runs["cash"], KPIS_MIME)[0].values()) == {None}
    service_figures = displayed(runs["service_followup"], KPIS_MIME)[0]
    assert service_figures == {"csat_rate": None, "csat_rate_prev_week": None}
    marketing_figures = displayed(runs["marketing_social"], KPIS_MIME)[0]
    assert marketing_figures["social_engagement_rate"] is None
    assert marketing_figures["count_followers_gained"] is None
    assert marketing_figures["ad_spend"] > 0 and marketing_figures["email_open_rate"] > 0


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_weekly_notebooks_are_thin_and_stored_withoutdisplayed(name):
    """The daily hygiene rules: a title, one parameters cell (data_dir, report_date,
    settings_file, each with help), no def/class/loops/magic numbers/paths, short cells,
    no outputs, kernel python3."""
    from test_daily_notebooks import hygiene_problems  # the one hygiene check, shared

    nb = nbformat.read(WEEKLY / f"{name}.ipynb", as_version=4)
    assert hygiene_problems(nb) == []


def test_the_weekly_folder_holds_exactly_the_seven_notebooks():
    assert sorted(p.stem for p in WEEKLY.glob("*.ipynb")) == sorted(NOTEBOOKS)
