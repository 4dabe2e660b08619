"""The front page (outputs/index.html): words for people, the latest reports first."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st
from test_glossary import RECORDED

from opslib import glossary
from opslib.runs import reports

SNAKE_NAMES = sorted(n for n in glossary.entries() if "_" in n) + sorted(RECORDED)


def visible_text(page: str) -> str:
    """What a reader sees: the text outside <style>, <script> and attributes."""
    soup = BeautifulSoup(page, "html.parser")
    for hidden in soup(["style", "script", "title"]):
        hidden.decompose()
    return soup.get_text(" ")


def heading_notebook(out: Path, cadence: str, day: str, name: str, title: str,
                     question: str) -> dict:
    """A finished report on disk, as the runner leaves it; its run.json entry."""
    folder = out / cadence / day
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\n**{question}**\n\nFor the owner.")]
    nbformat.write(nb, folder / f"{name}.ipynb")
    (folder / f"{name}.html").write_text("<html></html>")
    return {"name": name, "status": "ok", "ipynb": f"{cadence}/{day}/{name}.ipynb",
            "html": f"{cadence}/{day}/{name}.html", "error": None}


def write_run(out: Path, cadence: str, day: str, notebooks: list[dict], kpis: dict,
              status: str = "ok", warnings: list | None = None) -> None:
    start = {"weekly": "2026-11-23", "monthly": "2026-11-01"}.get(cadence, day)
    (out / cadence / day).mkdir(parents=True, exist_ok=True)
    reports.write_run_json(out / cadence / day, {
        "cadence": cadence, "date": day, "period": {"start": start, "end": day},
        "status": status, "notebooks": notebooks, "kpis": kpis, "warnings": warnings or []})


def demo_outputs(out: Path, kpis: dict[str, dict]) -> list[str]:
    """Daily (two days, the older one failed), weekly and monthly runs; the latest links."""
    old = heading_notebook(out, "daily", "2026-11-28", "stock_watch", "Stock watch",
                           "What will run out?")
    old.update(status="failed", error="KeyError: 'sku'")
    write_run(out, "daily", "2026-11-28", [old], {"net_sales": 100.0}, status="failed")
    latest = {
        "daily": [heading_notebook(out, "daily", "2026-11-29", n, t, q) for n, t, q in (
            ("journal", "Journal", "What needs doing this morning?"),
            ("orders_shipping", "Orders and shipping", "Which orders must leave today?"))],
        "weekly": [heading_notebook(out, "weekly", "2026-11-29", "cash", "Cash",
                                    "Where did the money go?")],
        "monthly": [heading_notebook(out, "monthly", "2026-11-30", "performance_review",
                                     "Performance review", "How did the month go?")],
    }
    for cadence, day in (("daily", "2026-11-29"), ("weekly", "2026-11-29"),
                         ("monthly", "2026-11-30")):
        write_run(out, cadence, day, latest[cadence], kpis.get(cadence, {}))
    return [nb["html"] for nbs in latest.values() for nb in nbs]


def test_the_page_reads_in_words_with_units_and_currency(tmp_path):
    """Labels, the store's currency and the period before; no field name anywhere a
    reader looks."""
    demo_outputs(tmp_path, {
        "daily": {"net_sales": 1234.5, "count_tickets_open": 7.0, "count_todo_tasks": 4.0,
                  "median_first_response_hours": 13.0, "count_orders_past_ship_by": 2.0},
        "weekly": {"net_cash_flow": 2000.0, "net_cash_flow_prev_week": -7670.12},
        "monthly": {"stock_value": 49393.73}})
    page = reports.write_index(tmp_path, store_name="Shop", currency="EUR").read_text()
    text = " ".join(visible_text(page).split())
    for name in SNAKE_NAMES:
        assert not re.search(rf"\b{name}\b", text), name
    assert "Net sales €1,234.50 €100.00 +1,134%" in text  # against the day before
    assert "Net cash flow €2,000.00 −€7,670.12 up from −€7,670.12" in text  # across zero
    assert "Stock value €49,393.73" in text
    assert "Median first reply time 13 hours" in text
    assert "4 things to do today" in text
    assert "Orders past the ship-by promise: 2" in text  # a red flag


def test_every_latest_report_is_linked_before_the_figures(tmp_path):
    """The to-do count and red flags, then each latest report with its question, then the
    figures; failures of older days only in the history."""
    links = demo_outputs(tmp_path, {"daily": {"count_orders": 3.0, "count_todo_tasks": 1.0}})
    page = reports.write_index(tmp_path, store_name="Shop").read_text()
    soup = BeautifulSoup(page, "html.parser")
    order = [str(tag) for tag in soup.find_all(["h2", "a"])]
    figures = next(i for i, tag in enumerate(order) if "Headline figures" in tag)
    for href in links:
        first = next(i for i, tag in enumerate(order) if f'href="{href}"' in tag)
        assert first < figures, href
    text = visible_text(page)
    assert text.index("1 thing to do today") < text.index("Latest reports") < \
        text.index("Headline figures") < text.index("Run history")
    for title, question in (("Orders and shipping", "Which orders must leave today?"),
                            ("Performance review", "How did the month go?")):
        assert title in text and question in text
    assert "did not complete" not in text.split("Run history")[0]


def test_history_is_a_calendar_with_failures_red_and_linked(tmp_path):
    """Each day of a month with runs is a cell; a failed day links to the failed report."""
    demo_outputs(tmp_path, {})
    soup = BeautifulSoup(reports.write_index(tmp_path, store_name="Shop").read_text(),
                         "html.parser")
    month = next(div for div in soup.select("div.month") if "November 2026" in div.h3.text)
    cells = {td.get_text(" ", strip=True).split()[0]: td for td in month.find_all("td")
             if td.get_text(strip=True)}
    assert len(cells) == 30
    assert cells["28"]["class"] == ["failed"]
    assert cells["28"].a["href"] == "daily/2026-11-28/stock_watch.html"
    assert cells["29"]["class"] == ["ok"] and cells["30"]["class"] == ["ok"]
    assert cells["27"]["class"] == ["none"]


@settings(max_examples=25, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(RECORDED)),
                       st.floats(-1e6, 1e6, allow_nan=False) | st.none(), max_size=25))
def test_no_recorded_name_is_ever_visible(kpis):
    """Whatever figures a run records, the page shows their labels, never their names."""
    runs = [{"cadence": "daily", "date": "2026-11-29", "status": "ok", "kpis": kpis,
             "warnings": [], "notebooks": []},
            {"cadence": "weekly", "date": "2026-11-29", "status": "ok", "kpis": kpis,
             "warnings": [], "notebooks": []}]
    text = visible_text(reports.render_index(runs, store_name="Shop", currency="GBP"))
    for name in kpis:
        assert not re.search(rf"\b{name}\b", text), name
    for name, value in kpis.items():
        if not name.endswith(tuple(glossary.TWINS)):
            assert glossary.label(name) in text


def test_the_page_from_a_real_run_json_has_no_field_names(tmp_path):
    """run.json as the runner writes it (every recorded daily, weekly and monthly name)."""
    kpis = {name: 1.5 for name in sorted(RECORDED)}
    demo_outputs(tmp_path, {"daily": kpis, "weekly": kpis, "monthly": kpis})
    run = json.loads((tmp_path / "weekly" / "2026-11-29" / "run.json").read_text())
    assert run["kpis"] == kpis  # run.json keeps the machine names
    text = visible_text(reports.write_index(tmp_path, store_name="Shop").read_text())
    assert [n for n in SNAKE_NAMES if re.search(rf"\b{n}\b", text)] == []


def test_each_cadence_links_its_lists_to_act_on_in_words(tmp_path):
    """The latest runs' action lists are linked under their reports, named in words, with
    their row counts; an older run's lists are not."""
    demo_outputs(tmp_path, {})
    daily = json.loads((tmp_path / "daily" / "2026-11-29" / "run.json").read_text())
    daily["lists"] = {"unpaid_orders": {"notebook": "orders_shipping", "rows": 2,
                                        "file": "daily/2026-11-29/lists/unpaid_orders.csv"}}
    reports.write_run_json(tmp_path / "daily" / "2026-11-29", daily)
    monthly = json.loads((tmp_path / "monthly" / "2026-11-30" / "run.json").read_text())
    monthly["lists"] = {"vip": {"notebook": "customers_loyalty", "rows": 1234,
                                "file": "monthly/2026-11-30/lists/vip.csv"}}
    reports.write_run_json(tmp_path / "monthly" / "2026-11-30", monthly)
    page = reports.write_index(tmp_path, store_name="Shop").read_text()
    soup = BeautifulSoup(page, "html.parser")
    links = {a["href"]: a.get_text() for a in soup.select("p.lists a")}
    assert links == {"daily/2026-11-29/lists/unpaid_orders.csv": "Unpaid orders",
                     "monthly/2026-11-30/lists/vip.csv": "VIP"}
    text = " ".join(visible_text(page).split())
    assert "Unpaid orders (2)" in text and "VIP (1,234)" in text
    assert text.index("VIP (1,234)") < text.index("Headline figures")
    assert "unpaid_orders" not in text
