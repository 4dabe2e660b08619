"""`playbook run` honours the data contract: notebooks reading a broken table fail, the
others run; each page declares what it reads, and the declaration is checked here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from demo_data import DEMO_UNTIL
from notebook_runs import write_settings
from opslib.config import GOAL_KEYS
from opslib.runs import runner
from opslib.schema import TABLES, read_for_validation, table_path
from opslib.store import Store
from opslib.tables import write_table
from opslib.views import base

NULL_ROWS = (3, 100, 1000, 2000, 4000)


def copy_store(src: Path, dst: Path) -> Path:
    shutil.copytree(src / "tables", dst / "tables")
    return dst


def null_out(data: Path, table: str, column: str, rows: tuple[int, ...]) -> None:
    """Empty `column` in the given rows (positions) of a table."""
    frame = read_for_validation(table_path(data, table))
    frame.loc[frame.index[[r % len(frame) for r in rows]], column] = None
    write_table(data, table, frame)


@pytest.fixture(scope="module")
def null_order_ids(small_demo_dir, demo_settings, tmp_path_factory):
    """The small demo store with five empty orders.order_id, run daily (and weekly cash)."""
    root = tmp_path_factory.mktemp("null_order_ids")
    data = copy_store(small_demo_dir, root / "data")
    null_out(data, "orders", "order_id", NULL_ROWS)
    out = root / "out"
    daily = runner.run("daily", data_dir=data, out_dir=out, settings=demo_settings,
                       date=DEMO_UNTIL)
    cash = runner.run("weekly", data_dir=data, out_dir=out, settings=demo_settings,
                      date=DEMO_UNTIL, only="cash")
    return daily, cash, out


def test_five_empty_order_ids_fail_every_notebook_reading_orders(null_order_ids):
    """Every daily page reads orders: none is run, each says which table, column and rule."""
    daily, _, out = null_order_ids
    assert not daily.ok
    folder = out / "daily" / DEMO_UNTIL.isoformat()
    summary = json.loads((folder / "run.json").read_text())
    assert summary["status"] == "failed"
    assert [nb["name"] for nb in summary["notebooks"]] == \
        [p.stem for p in runner.find_notebooks("daily")]
    for nb in summary["notebooks"]:
        assert nb["status"] == "failed" and nb["attempts"] == 0
        assert "orders.order_id: must not be empty (5 row(s))" in nb["error"]
        page = (out / nb["html"]).read_text()
        assert "orders.order_id: must not be empty" in page
    assert [w for w in summary["warnings"] if w["code"] == "contract_break"] == [
        {"notebook": "customer_service", "code": "contract_break", "table": "orders",
         "column": "order_id", "rule": "must not be empty", "rows": 5,
         "message": "orders.order_id: must not be empty (5 row(s)): breaks the data contract"}]
    index = (out / "index.html").read_text()
    assert "did not complete: not run: it reads data that breaks the data contract: " \
        "orders.order_id: must not be empty" in index
    assert len(daily.failure_lines()) == len(summary["notebooks"])


def test_a_page_reading_only_the_order_dates_still_runs(null_order_ids):
    """The weekly cash page reads orders only for the stale-data check (created_at): it runs."""
    _, cash, out = null_order_ids
    assert cash.ok, cash.text()
    summary = json.loads((out / "weekly" / DEMO_UNTIL.isoformat() / "run.json").read_text())
    assert summary["notebooks"][0]["status"] == "ok" and summary["kpis"]


NOTEBOOKS = [nb for cadence in runner.CADENCES for nb in runner.find_notebooks(cadence)]
# Required columns outside keys and references: emptying one breaks that rule alone (an
# empty key also duplicates it, and orphans the rows that refer to it).
REFERENCED = {(fk.table, fk.ref) for t in TABLES.values() for fk in t.foreign_keys}
REQUIRED = [(t.name, c.name) for t in TABLES.values() for c in t.columns
            if not c.nullable and c.name not in t.key and (t.name, c.name) not in REFERENCED]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("scratch")


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(broken=st.sampled_from(REQUIRED),
       rows=st.lists(st.integers(0, 10**6), min_size=1, max_size=5, unique=True))
def test_exactly_the_notebooks_reading_a_broken_column_are_stopped(broken, rows, scratch,
                                                                    small_demo_dir):
    """Emptying a required column stops the notebooks that read its table (or that column),
    and only those, naming table, column and rule."""
    table, column = broken
    data = scratch / "data"
    shutil.rmtree(data, ignore_errors=True)
    copy_store(small_demo_dir, data)
    null_out(data, table, column, tuple(rows))
    blocked = runner._contract_gate(NOTEBOOKS, data_dir=data, echo=lambda line: None)
    reads = {nb: runner.notebook_reads(nb) for nb in NOTEBOOKS}
    expected = {nb for nb in NOTEBOOKS if table in reads[nb] or f"{table}.{column}" in reads[nb]}
    assert set(blocked) == expected
    for found in blocked.values():
        assert [(v.table, v.column, v.rule) for v in found] == \
            [(table, column, "must not be empty")]
        error, warnings = runner._not_run(found)
        assert f"{table}.{column}: must not be empty" in error
        assert warnings[0]["table"] == table and warnings[0]["column"] == column


def test_a_notebook_without_a_page_module_is_not_checked(tmp_path):
    """Only the pages' declarations are used: a notebook of one's own is not guessed at."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from opslib.views import open_report\n"
                                          "from opslib.store import Store")]
    plain = tmp_path / "mine.ipynb"
    nbformat.write(nb, plain)
    assert runner.notebook_reads(plain) is None
    nb.cells.append(nbformat.v4.new_code_cell("from opslib.views.daily import kpis as page"))
    nbformat.write(nb, plain)
    assert runner.notebook_reads(plain) == {"orders", "order_lines", "returns",
                                            "web_traffic_daily", "ad_spend_daily",
                                            "products", "purchase_orders",
                                            "orders.created_at"}


def run_in_process(notebook: Path, parameters: dict) -> None:
    """Execute a notebook's code cells here, with the parameters the runner passes."""
    scope: dict = {}
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "code":
            exec("".join(cell["source"]), scope)
            if "parameters" in cell.get("metadata", {}).get("tags", []):
                scope.update(parameters)


@pytest.mark.parametrize("cadence", runner.CADENCES)
def test_pages_declare_exactly_what_they_read(cadence, small_demo_dir, demo_settings, tmp_path,
                                              monkeypatch, capsys):
    """Run on the full demo store with every goal set (a goal can add a table: the gross
    profit's reads purchase_orders), each notebook reads exactly the tables its page
    declares, and its setup reads no table but those of `opslib.views.READS`."""
    reads: dict[str, set[str]] = {"page": set(), "setup": set()}
    where = ["page"]
    table = Store.table

    def recording(store, name):
        reads[where[-1]].add(name)
        return table(store, name)

    newest = base.newest_order_day

    def in_setup(store, day):
        where.append("setup")
        try:
            return newest(store, day)
        finally:
            where.pop()

    monkeypatch.setattr(Store, "table", recording)
    monkeypatch.setattr(base, "newest_order_day", in_setup)
    goals = "".join(f"[goals.{name}]\nevery_month = 1000\n" for name in GOAL_KEYS)
    settings_file = write_settings(tmp_path, demo_settings, "\n" + goals)
    for notebook in runner.find_notebooks(cadence):
        reads["page"].clear()
        reads["setup"].clear()
        run_in_process(notebook, {"data_dir": str(small_demo_dir),
                                  "report_date": DEMO_UNTIL.isoformat(),
                                  "settings_file": str(settings_file)})
        declared = runner.notebook_reads(notebook)
        assert reads["page"] == {e for e in declared if "." not in e}, notebook.stem
        assert reads["setup"] == {e.split(".")[0] for e in declared if "." in e}, notebook.stem
    capsys.readouterr()


def test_a_reference_to_a_missing_row_stops_the_notebooks_reading_the_referring_table(
        small_demo_dir, tmp_path):
    """order_lines naming an unknown SKU breaks the contract of order_lines (not products)."""
    data = copy_store(small_demo_dir, tmp_path / "data")
    lines = read_for_validation(table_path(data, "order_lines"))
    lines.loc[lines.index[:3], "sku"] = "NO-SUCH-SKU"
    write_table(data, "order_lines", lines)
    blocked = runner._contract_gate(NOTEBOOKS, data_dir=data, echo=lambda line: None)
    assert set(blocked) == {nb for nb in NOTEBOOKS if "order_lines" in runner.notebook_reads(nb)}
    for found in blocked.values():
        assert [(v.table, v.column, v.rule, v.failing_rows) for v in found] == \
            [("order_lines", "sku", "refers to a missing products.sku", 3)]
