"""The monthly notebooks: they run on the demo store, record each monthly figure once,
record what the metric functions give, and stay thin checklists.

Each notebook is executed once per session with papermill (kernel `python3`) against the
small demo store for DEMO_UNTIL (the last day of November 2025), as the runner does it.
"""

from __future__ import annotations

import ast
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from demo_data import DEMO_UNTIL
from notebook_runs import displayed, error_outputs, run_notebook, write_settings

from opslib.display import KPIS_MIME
from opslib.metrics import customers, policy, profit, sales, social, web
from opslib.metrics.months import month_of, previous_month

ROOT = Path(__file__).resolve().parents[1]
MONTHLY = ROOT / "notebooks" / "monthly"
NOTEBOOKS = ("performance_review", "customers_loyalty", "inventory_planning",
             "marketing_plan", "shipping_returns_policy")
COMPARED = ("count_orders", "net_sales", "avg_order_value", "conversion_rate",
            "cart_abandonment_rate", "count_new_customers", "returning_customer_rate",
            "repeat_purchase_rate_90d", "return_rate", "late_delivery_rate",
            "email_open_rate", "email_click_rate", "count_net_new_subscribers", "cogs",
            "gross_profit", "gross_margin_rate", "unknown_cost_rate", "shipping_charged",
            "shipping_cost", "shipping_margin", "payment_fees", "contribution_margin")
MONTHLY_FIGURES = {name + suffix for name in COMPARED
                   for suffix in ("", "_prev_month", "_prev_year")} | {
    "stock_value", "count_skus_to_reorder", "forecast_wape", "baseline_wape",
    "seasonal_naive_wape", "hindsight_wape", "forecast_bias", "share_of_room_captured",
    "customer_acquisition_cost", "ltv_to_cac_ratio", "payback_months"}
PARAMETERS = ("data_dir", "report_date", "settings_file")
MAX_CODE_LINES = 8


@pytest.fixture(scope="session")
def monthly_settings_file(tmp_path_factory, demo_settings) -> Path:
    return write_settings(tmp_path_factory.mktemp("monthly_settings"), demo_settings,
                          "\n[targets.social.instagram]\nreach = 20000\nengagement_rate = 0.04\n")


@pytest.fixture(scope="session")
def executed(small_demo_dir, monthly_settings_file, tmp_path_factory) -> dict:
    """Every monthly notebook run for November 2025 on the small demo store."""
    out_dir = tmp_path_factory.mktemp("monthly_runs")
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {name: pool.submit(run_notebook, "monthly", name, small_demo_dir, out_dir,
                                  monthly_settings_file) for name in NOTEBOOKS}
        return {name: run.result() for name, run in runs.items()}


def _recorded(executed) -> dict[str, float | None]:
    figures: dict[str, float | None] = {}
    for nb in executed.values():
        figures.update(displayed(nb, KPIS_MIME)[0])
    return figures


@pytest.mark.slow
def test_every_monthly_notebook_runs_without_an_error_cell(executed):
    """Five notebooks, each executed to the end with no error output, recording once."""
    assert set(executed) == set(NOTEBOOKS)
    for name, nb in executed.items():
        assert error_outputs(nb) == [], name
        assert len(displayed(nb, KPIS_MIME)) == 1, f"{name} must record its figures once"


@pytest.mark.slow
def test_each_monthly_figure_is_recorded_by_exactly_one_notebook(executed):
    """The issues' names (22 × this month, month before, last year, + 7), each once."""
    seen: dict[str, list[str]] = {}
    for name, nb in executed.items():
        for figure in displayed(nb, KPIS_MIME)[0]:
            seen.setdefault(figure, []).append(name)
    assert set(seen) == MONTHLY_FIGURES
    assert {f: n for f, n in seen.items() if len(n) > 1} == {}


@pytest.mark.slow
def test_recorded_figures_equal_the_metric_functions(executed, small_demo_store):
    """November and October figures as recorded = straight from the metric functions."""
    figures = _recorded(executed)
    store, t = small_demo_store, small_demo_store.table
    november = month_of(DEMO_UNTIL, zone=store.zone)
    october = previous_month(november)
    for suffix, window in (("", november), ("_prev_month", october)):
        month = sales.totals(sales.daily_sales(t("orders"), t("order_lines"), t("returns"),
                                               window=window))
        sessions = web.daily_traffic(t("web_traffic_daily"), window=window).count_sessions.sum()
        assert figures["count_orders" + suffix] == month["count_orders"]
        assert figures["net_sales" + suffix] == pytest.approx(month["net_sales"])
        assert figures["conversion_rate" + suffix] == pytest.approx(
            web.conversion_rate(month["count_orders"], sessions))
        assert figures["count_new_customers" + suffix] == social.count_new_customers(
            t("orders"), window=window)
        assert figures["return_rate" + suffix] == pytest.approx(policy.return_figures(
            t("orders"), t("order_lines"), t("returns"), window=window)["return_rate"])
        margin = profit.profit_totals(profit.daily_profit(
            t("orders"), t("order_lines"), t("returns"), t("products"), t("purchase_orders"),
            window=window))
        shipped = profit.shipping_totals(profit.shipping_pnl(t("orders"), t("shipments"),
                                                             window=window))
        assert figures["gross_profit" + suffix] == pytest.approx(margin["gross_profit"])
        assert figures["contribution_margin" + suffix] == pytest.approx(
            profit.contribution_margin({
                **margin, **shipped,
                "payment_fees": profit.payment_fees(t("bank_transactions"), window=window),
                "ad_spend": profit.ad_spend(t("ad_spend_daily"), window=window)}))
        assert 0 < figures["payment_fees" + suffix] and figures["shipping_cost" + suffix] > 0
    assert figures["returning_customer_rate"] == pytest.approx(
        customers.customer_figures(t("orders"), window=november)["returning_customer_rate"])
    assert figures["forecast_wape"] < figures["baseline_wape"]


@pytest.mark.slow
def test_last_year_is_empty_on_a_one_year_store(executed):
    """The small store starts in December 2024: November 2024 has no figures (null, not 0)."""
    figures = _recorded(executed)
    assert figures["count_orders_prev_year"] is None
    assert figures["net_sales_prev_year"] is None


@pytest.mark.slow
def test_call_list_shows_contacts_other_lists_stay_masked(executed):
    """The owner's call list shows full email addresses (to call or write to them); the
    one-time buyers not on the newsletter stay masked."""
    outputs = [o["data"].get("text/html", "") for c in executed["customers_loyalty"].cells
               if c.cell_type == "code" for o in c.get("outputs", []) if "data" in o]
    html = "".join(outputs)
    assert re.search(r">[^<>*\s]+@[^<>\s]+<", html)
    assert "***@" in html


def _code_cells(name: str) -> list[str]:
    nb = nbformat.read(MONTHLY / f"{name}.ipynb", as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_monthly_notebook_is_a_thin_checklist(name):
    """Stored without outputs; a parameters cell with exactly the three parameters and a
    help comment each; no def, class or loop; no cell over MAX_CODE_LINES lines."""
    nb = nbformat.read(MONTHLY / f"{name}.ipynb", as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    assigned = [line for line in params[0].source.splitlines()
                if "=" in line and not line.startswith(("from", "import"))]
    assert [line.split(":")[0].split("=")[0].strip() for line in assigned] == list(PARAMETERS)
    assert all("#" in line for line in assigned)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert not cell.get("outputs") and cell.get("execution_count") is None
        assert len(cell.source.splitlines()) <= MAX_CODE_LINES
        tree = ast.parse(cell.source)
        banned = (ast.FunctionDef, ast.ClassDef, ast.For, ast.While, ast.AsyncFunctionDef)
        assert not any(isinstance(node, banned) for node in ast.walk(tree)), cell.source


def test_every_monthly_figure_is_in_the_glossary():
    """docs/metrics.md's Monthly section defines each recorded name (in backticks)."""
    text = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    monthly = text[text.index("\n## Monthly"):]
    bases = {name.removesuffix("_prev_month").removesuffix("_prev_year")
             for name in MONTHLY_FIGURES}
    assert {name for name in bases if f"`{name}`" not in monthly} == set()
