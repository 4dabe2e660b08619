"""The daily notebooks: they run, record the right figures, survive absent tables, stay thin.

Each notebook is executed once per session with papermill (kernel `python3`) against the
small demo store for DEMO_UNTIL, exactly as the runner does it.
"""

from __future__ import annotations

import ast
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pandas as pd
import papermill
import pytest
from demo_data import DEMO_UNTIL
from notebook_runs import copy_without, displayed, error_outputs, run_notebook, write_settings

from opslib.display import KPIS_MIME, WARNINGS_MIME
from opslib.metrics import (fulfilment, kpis, marketing, outreach, profit, returns, sales,
                            stock, support, web)
from opslib.store import Store, Window
from opslib.views.daily import journal

ROOT = Path(__file__).resolve().parents[1]
DAILY = ROOT / "notebooks" / "daily"
NOTEBOOKS = ("journal", "orders_shipping", "returns_refunds", "customer_service",
             "stock_watch", "kpis", "marketing_today")
DAILY_FIGURES = {
    "count_orders", "gross_sales", "discounts", "net_sales", "avg_order_value", "quantity_sold",
    "count_sessions", "conversion_rate", "ad_spend", "blended_roas", "count_tickets_opened",
    "count_tickets_open", "median_first_response_hours", "count_orders_awaiting_shipment",
    "count_orders_past_ship_by", "count_shipments_late", "count_returns_open",
    "count_refunds_due", "count_skus_out_of_stock", "count_skus_low_cover",
    "count_calendar_items_due", "count_todo_tasks", "cogs", "gross_profit", "gross_margin_rate",
    "unknown_cost_rate", "count_unpaid_orders", "count_abandoned_checkouts",
    "count_review_requests",
}
PARAMETERS = ("data_dir", "report_date", "settings_file")
MAX_CODE_LINES = 8


@pytest.fixture(scope="session")
def settings_file(tmp_path_factory, demo_settings) -> Path:
    return write_settings(tmp_path_factory.mktemp("settings"), demo_settings)


@pytest.fixture(scope="session")
def executed(small_demo_dir, settings_file, tmp_path_factory) -> dict:
    """Every daily notebook run for DEMO_UNTIL on the small demo store (two at a time)."""
    out_dir = tmp_path_factory.mktemp("daily_runs")
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {name: pool.submit(run_notebook, "daily", name, small_demo_dir, out_dir, settings_file)
                for name in NOTEBOOKS}
        return {name: run.result() for name, run in runs.items()}


@pytest.mark.slow
def test_every_daily_notebook_runs_without_an_error_cell(executed):
    """Seven notebooks, each executed to the end with no error output."""
    assert set(executed) == set(NOTEBOOKS)
    for name, nb in executed.items():
        assert error_outputs(nb) == [], name
        assert len(displayed(nb, KPIS_MIME)) == 1, f"{name} must record its figures once"


@pytest.mark.slow
def test_each_daily_figure_is_recorded_by_exactly_one_notebook(executed):
    """The 21 daily names, no more, each in one notebook."""
    seen: dict[str, list[str]] = {}
    for name, nb in executed.items():
        for figure in displayed(nb, KPIS_MIME)[0]:
            seen.setdefault(figure, []).append(name)
    assert set(seen) == DAILY_FIGURES
    assert {f: n for f, n in seen.items() if len(n) > 1} == {}


def _recorded(executed) -> dict[str, float | None]:
    figures: dict[str, float | None] = {}
    for nb in executed.values():
        figures.update(displayed(nb, KPIS_MIME)[0])
    return figures


def _from_metrics(store: Store, day: dt.date) -> dict[str, float | None]:
    """The daily figures straight from the metric functions (no views involved)."""
    d = Window.of(day, zone=store.zone)
    t = store.table
    service, rules = store.settings.service, store.settings.stock
    day_sales = sales.totals(sales.daily_sales(t("orders"), t("order_lines"), t("returns"),
                                               window=d))
    traffic = web.daily_traffic(t("web_traffic_daily"), window=d)
    spend = marketing.daily_ad_spend(t("ad_spend_daily"), window=d)
    row = kpis.daily_kpis(sales.daily_sales(t("orders"), t("order_lines"), t("returns"),
                                            window=d), traffic, spend).iloc[0]
    waiting = fulfilment.open_orders(t("orders"), t("order_lines"), t("shipments"), as_of=d,
                                     ship_within_hours=service.ship_within_hours)
    tickets = support.open_tickets(t("tickets"), as_of=d, sla_hours=service.first_response_hours)
    stock_tables = (t("orders"), t("order_lines"), t("inventory_snapshots"), t("products"))
    return {
        "count_orders": day_sales["count_orders"], "gross_sales": day_sales["gross_sales"],
        "discounts": day_sales["discounts"], "net_sales": day_sales["net_sales"],
        "avg_order_value": day_sales["avg_order_value"],
        "quantity_sold": day_sales["quantity_sold"],
        "count_sessions": float(traffic.count_sessions.iloc[0]),
        "conversion_rate": web.conversion_rate(day_sales["count_orders"],
                                               traffic.count_sessions.iloc[0]),
        "ad_spend": float(spend.ad_spend.iloc[0]), "blended_roas": float(row.blended_roas),
        "count_tickets_opened": float(support.daily_tickets(
            t("tickets"), window=d, sla_hours=service.first_response_hours)
            .count_tickets_opened.iloc[0]),
        "count_tickets_open": len(tickets),
        "median_first_response_hours": support.first_response_summary(
            t("tickets"), window=d, sla_hours=service.first_response_hours)[
            "median_first_response_hours"],
        "count_orders_awaiting_shipment": len(waiting),
        "count_orders_past_ship_by": int(waiting.is_past_ship_by.sum()),
        "count_shipments_late": len(fulfilment.late_shipments(t("shipments"), t("orders"),
                                                              as_of=d)),
        "count_returns_open": len(returns.open_returns(t("returns"), t("orders"), as_of=d)),
        "count_refunds_due": len(returns.refunds_due(t("returns"), t("orders"), as_of=d)),
        "count_skus_out_of_stock": len(stock.out_of_stock(
            *stock_tables, as_of=d, bestseller_count=rules.bestseller_count)),
        "count_skus_low_cover": int(stock.stock_cover(
            *stock_tables, as_of=d, bestseller_count=rules.bestseller_count,
            low_cover_days=rules.low_cover_days).is_low_cover.sum()),
        "count_calendar_items_due": int(marketing.calendar_items(
            t("content_calendar"), as_of=d).is_due.sum()),
        "count_todo_tasks": len(journal.todo_frame(store, day)[0]),
        "count_unpaid_orders": len(outreach.unpaid_orders(t("orders"), as_of=d)),
        "count_abandoned_checkouts": int(outreach.abandoned_checkouts(
            t("checkouts"), t("orders"), t("customers"), as_of=d).has_marketing_consent.sum()),
        "count_review_requests": int(outreach.review_requests(
            t("orders"), t("shipments"), t("returns"), t("tickets"), t("surveys"),
            t("customers"), as_of=d).email.notna().sum()),
        **{name: value for name, value in profit.profit_totals(profit.daily_profit(
            t("orders"), t("order_lines"), t("returns"), t("products"), t("purchase_orders"),
            window=d)).items()
           if name in ("cogs", "gross_profit", "gross_margin_rate", "unknown_cost_rate")},
    }


@pytest.mark.slow
def test_recorded_figures_equal_the_metric_functions(executed, small_demo_store):
    """What the notebooks put in run.json is what the metric functions return for D."""
    recorded = _recorded(executed)
    expected = _from_metrics(small_demo_store, DEMO_UNTIL)
    assert set(recorded) == set(expected)
    for name, value in expected.items():
        assert recorded[name] == pytest.approx(value, nan_ok=True), name
    assert recorded["count_orders"] > 0 and recorded["count_orders_awaiting_shipment"] > 0


@pytest.mark.slow
def test_orders_gross_sales_and_units_agree_with_pandas_on_the_parquet(executed,
                                                                       small_demo_dir,
                                                                       demo_settings):
    """An independent recomputation from the Parquet files with plain pandas: orders placed
    on DEMO_UNTIL (store time), less those cancelled that same local day; gross = Σ unit
    price × quantity of their lines; units = Σ quantity."""
    zone = demo_settings.store.timezone
    orders = pd.read_parquet(small_demo_dir / "tables" / "orders.parquet")
    lines = pd.read_parquet(small_demo_dir / "tables" / "order_lines.parquet")
    placed_day = orders.created_at.dt.tz_convert(zone).dt.date
    cancelled_day = orders.cancelled_at.dt.tz_convert(zone).dt.date
    same_day_cancel = orders.cancelled_at.notna() & (cancelled_day <= placed_day)
    counted = orders[(placed_day == DEMO_UNTIL) & ~same_day_cancel]
    their_lines = lines[lines.order_id.isin(counted.order_id)]
    recorded = _recorded(executed)
    assert recorded["count_orders"] == len(counted)
    assert recorded["gross_sales"] == pytest.approx(
        float((their_lines.unit_price * their_lines.quantity).sum()))
    assert recorded["quantity_sold"] == float(their_lines.quantity.sum())


@pytest.mark.slow
def test_an_absent_table_gives_a_no_data_note_and_the_rest_runs(small_demo_dir, settings_file,
                                                                 tmp_path):
    """Without helpdesk or web-analytics data: the sections that need them say so (and the
    runner gets a no_data warning), their figures are null, everything else is computed."""
    data_dir = copy_without(small_demo_dir, tmp_path / "shop",
                             ("tickets", "web_traffic_daily"))
    runs = {name: run_notebook("daily", name, data_dir, tmp_path, settings_file)
            for name in ("journal", "customer_service", "kpis")}
    for name, nb in runs.items():
        assert error_outputs(nb) == [], name
    warned = {name: {(w["code"], w.get("table")) for w in displayed(nb, WARNINGS_MIME)}
              for name, nb in runs.items()}
    assert ("no_data", "tickets") in warned["journal"]
    assert ("no_data", "tickets") in warned["customer_service"]
    assert ("no_data", "web_traffic_daily") in warned["kpis"]
    journal = displayed(runs["journal"], KPIS_MIME)[0]
    assert journal["count_tickets_opened"] is None and journal["count_orders"] > 0
    service = displayed(runs["customer_service"], KPIS_MIME)[0]
    assert service == {"count_tickets_open": None, "median_first_response_hours": None}
    figures = displayed(runs["kpis"], KPIS_MIME)[0]
    assert figures["count_sessions"] is None and figures["conversion_rate"] is None
    assert figures["net_sales"] is not None and figures["ad_spend"] is not None
    pages = "".join(displayed(runs["journal"], "text/html"))
    assert "Not checked, for lack of data" in pages and "no tickets data" in pages
    assert "Ship " in pages, "the to-do list still lists the checks that could run"


@pytest.mark.slow
def test_a_report_date_that_is_not_a_date_fails_clearly(small_demo_dir, settings_file,
                                                        tmp_path):
    """A typo in report_date stops the notebook in its setup cell with the fix in words."""
    with pytest.raises(papermill.PapermillExecutionError, match="YYYY-MM-DD"):
        papermill.execute_notebook(
            str(DAILY / "journal.ipynb"), str(tmp_path / "out.ipynb"), kernel_name="python3",
            progress_bar=False, parameters={"data_dir": str(small_demo_dir),
                                            "report_date": "30/11/2025",
                                            "settings_file": str(settings_file)})


# --- hygiene ------------------------------------------------------------------------------


def hygiene_problems(nb: nbformat.NotebookNode) -> list[str]:
    """What makes a report notebook more than a thin checklist (empty = fine)."""
    problems = []
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not nb.cells or nb.cells[0].cell_type != "markdown" or \
            not nb.cells[0].source.startswith("# "):
        problems.append("the first cell must be a markdown title")
    if nb.metadata.get("kernelspec", {}).get("name") != "python3":
        problems.append("kernel must be python3")
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    if len(tagged) != 1:
        problems.append(f"expected one cell tagged 'parameters', found {len(tagged)}")
    else:
        problems += _parameter_problems(tagged[0].source)
    for number, cell in enumerate(code):
        if cell.get("outputs") or cell.get("execution_count") is not None:
            problems.append(f"code cell {number} is stored with outputs")
        lines = [line for line in cell.source.splitlines()
                 if line.strip() and not line.strip().startswith("#")]
        if len(lines) > MAX_CODE_LINES:
            problems.append(f"code cell {number} has {len(lines)} lines (max {MAX_CODE_LINES})")
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                 ast.Lambda)):
                problems.append(f"code cell {number} defines a function or class")
            if isinstance(node, (ast.For, ast.While, ast.comprehension)):
                problems.append(f"code cell {number} loops")
            if cell in tagged:
                continue
            if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                    and not isinstance(node.value, bool):
                problems.append(f"code cell {number} has a magic number {node.value!r}")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                    "/" in node.value or "\\" in node.value or "." in node.value):
                problems.append(f"code cell {number} has a path-like string {node.value!r}")
    return problems


def _parameter_problems(source: str) -> list[str]:
    names, problems = [], []
    for line in source.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "from typing import")):
            continue
        target = stripped.split("=")[0].split(":")[0].strip()
        names.append(target)
        if "#" not in stripped:
            problems.append(f"parameter {target} has no help comment")
    if tuple(names) != PARAMETERS:
        problems.append(f"parameters must be {PARAMETERS}, found {tuple(names)}")
    return problems


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_daily_notebooks_are_thin_and_stored_withoutdisplayed(name):
    """No def/class/loops/magic numbers/paths, short cells, no outputs, a parameters cell."""
    nb = nbformat.read(DAILY / f"{name}.ipynb", as_version=4)
    assert hygiene_problems(nb) == []


def test_the_daily_folder_holds_exactly_the_seven_notebooks():
    assert sorted(p.stem for p in DAILY.glob("*.ipynb")) == sorted(NOTEBOOKS)


def test_the_hygiene_check_catches_each_problem():
    """A deliberately bad notebook trips every rule the check enforces."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3"}
    params = nbformat.v4.new_code_cell('data_dir = "data"  # help\nreport_date = None')
    params.metadata["tags"] = ["parameters"]
    long_cell = nbformat.v4.new_code_cell("\n".join(f"x{i} = {i}" for i in range(9)))
    shown = nbformat.v4.new_code_cell("store")
    shown.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "1"})]
    nb.cells = [nbformat.v4.new_markdown_cell("# Bad"), params,
                nbformat.v4.new_code_cell("def helper():\n    return 1"),
                nbformat.v4.new_code_cell("for row in rows:\n    print(row)"),
                nbformat.v4.new_code_cell('page.read("data/tables/orders.parquet")'),
                long_cell, shown]
    problems = "\n".join(hygiene_problems(nb))
    for expected in ("report_date has no help comment", "parameters must be",
                     "defines a function", "loops", "path-like", "magic number",
                     "has 9 lines", "stored with outputs"):
        assert expected in problems, expected
    nb.cells[1].metadata["tags"] = []
    assert "expected one cell tagged 'parameters'" in "\n".join(hygiene_problems(nb))
