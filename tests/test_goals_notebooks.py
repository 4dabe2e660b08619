"""Goals in the daily journal and the weekly KPI report: with `[goals]` the pages show the
month to date against each goal and the journal records `<figure>_mtd`, `_goal` and
`_projected`; without `[goals]` (every other notebook test) nothing of it shows or breaks."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from demo_data import DEMO_UNTIL
from notebook_runs import displayed, error_outputs, run_notebook, write_settings

from opslib.config import load_settings
from opslib.display import KPIS_MIME
from opslib.store import Store
from opslib.views import money

GOALS = '\n[goals]\nnet_sales = 40000\norders = { "2025-11" = 500 }\nnew_customers = 300\n' \
        'gross_profit = 25000\n'
NAMES = ("net_sales", "count_orders", "count_new_customers", "gross_profit")


@pytest.fixture(scope="module")
def with_goals(small_demo_dir, demo_settings, tmp_path_factory):
    folder = tmp_path_factory.mktemp("goals")
    settings_file = write_settings(folder, demo_settings, GOALS)
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {(cadence, name): pool.submit(run_notebook, cadence, name, small_demo_dir,
                                             folder, settings_file, DEMO_UNTIL)
                for cadence, name in (("daily", "journal"), ("weekly", "kpi_report"))}
        return settings_file, {key: run.result() for key, run in runs.items()}


@pytest.mark.slow
def test_the_journal_records_each_goal_and_its_projection(with_goals, small_demo_dir):
    """Each goal's three figures, equal to the pacing computed straight from the store."""
    settings_file, runs = with_goals
    nb = runs[("daily", "journal")]
    assert error_outputs(nb) == []
    figures = displayed(nb, KPIS_MIME)[0]
    store = Store.open(small_demo_dir, load_settings(settings_file))
    expected = money.goal_figures(store, DEMO_UNTIL)
    assert {f"{n}{s}" for n in NAMES for s in ("_mtd", "_goal", "_projected")} == \
        set(expected) <= set(figures)
    for name, value in expected.items():
        assert figures[name] == pytest.approx(value), name
    assert figures["count_orders_goal"] == 500 and figures["net_sales_goal"] == 40000
    assert figures["net_sales_projected"] == figures["net_sales_mtd"]  # the month's last day


@pytest.mark.slow
def test_pages_show_the_goals_and_mark_a_miss_in_red(with_goals):
    """The pacing tiles appear on both pages; the 40,000 net sales goal is missed (red)."""
    _, runs = with_goals
    for key, nb in runs.items():
        assert error_outputs(nb) == [], key
        html = "".join(displayed(nb, "text/html"))
        assert "projected for November" in html, key
        assert "Projected to miss the November goal: net sales" in html, key


@pytest.mark.slow
def test_without_goals_nothing_is_shown_or_recorded(small_demo_store):
    """No [goals]: the section is empty and no goal figure is recorded."""
    assert money.pacing_section(small_demo_store, DEMO_UNTIL).parts == []
    assert money.goal_figures(small_demo_store, DEMO_UNTIL) == {}
