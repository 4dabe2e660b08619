"""`playbook run`: reports, run.json, failures kept apart, locks, catch-up, kernels.

Most tests use tiny notebooks written by the test (one records figures, one raises, one
hangs, one kills its own kernel, one reads a corrupt table...); the last test runs the
real daily notebooks on the small demo store.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from opslib.runs import runner
from opslib.cli import main
from opslib.config import Settings
from opslib.errors import BadParameter, MissingFileError
from opslib.runs.runner import RunLocked, cadence_lock, run
from opslib.schema import TABLES
from opslib.tables import write_table
from demo_data import DEMO_UNTIL

D = dt.date(2025, 11, 30)
PARAMETERS = ("data_dir = None  # the data folder\nreport_date = None  # YYYY-MM-DD\n"
              "settings_file = None  # playbook.toml to use")
SECRET_URL = "https://hooks.invalid/services/T000/very-secret-token"


def make_notebook(path: Path, *cells: str) -> Path:
    """A notebook with a title, the standard parameters cell, then `cells`."""
    nb = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell(PARAMETERS)
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}"), parameters,
                *(nbformat.v4.new_code_cell(c) for c in cells)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


FIGURES = ("import opslib.display as show\nimport pandas as pd",
           "show.record(count_orders=12, conversion_rate=0.025, aov=None)",
           "show.no_data('tickets', section='Customer service')",
           "show.warning('Newest order is 9 days older than the report date.', code='stale_data')",
           "show.table(pd.DataFrame({'subject': ['<script>alert(1)</script>']}))")


def empty_data_dir(root: Path) -> Path:
    """A data folder with a valid, empty customers table and a corrupt orders table."""
    data = root / "data"
    write_table(data, "customers", TABLES["customers"].arrow_schema().empty_table())
    corrupt = data / "tables" / "orders.parquet"
    corrupt.write_bytes(b"PAR1 this is not a parquet file")
    return data


def settings(**runs) -> Settings:
    return Settings.from_dict({"store": {"name": "Test <Shop> & Co"},
                               "runs": {"notebook_timeout_seconds": 6, **runs}})


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """One daily run over a good notebook and five that go wrong in different ways."""
    root = tmp_path_factory.mktemp("mixed")
    books = root / "notebooks" / "daily"
    make_notebook(books / "1_figures.ipynb", *FIGURES)
    make_notebook(books / "2_raises.ipynb", "raise ValueError('no <such> column')")
    make_notebook(books / "3_hangs.ipynb", "import time\ntime.sleep(300)")
    make_notebook(books / "4_kills_kernel.ipynb", "import os\nos._exit(3)")
    make_notebook(books / "5_reads_corrupt_orders.ipynb",
                  "from opslib.store import Store\nfrom opslib.config import load_settings",
                  "Store.open(data_dir, load_settings(settings_file)).table('orders')"
                  ".count().execute()")
    make_notebook(books / "6_reads_customers.ipynb",
                  "from opslib.store import Store\nfrom opslib.config import load_settings\n"
                  "import opslib.display as show",
                  "n = Store.open(data_dir, load_settings(settings_file)).table('customers')"
                  ".count().execute()\nshow.record(count_customers=n)")
    make_notebook(books / "7_dies_once.ipynb",
                  "import os, pathlib\nmarker = pathlib.Path(data_dir) / 'died-once'\n"
                  "if not marker.exists():\n    marker.touch()\n    os._exit(1)",
                  "import opslib.display as show\nshow.record(survived_retry=1)")
    data, out = empty_data_dir(root), root / "out"
    report = run("daily", data_dir=data, out_dir=out, settings=settings(), date=D,
                 jobs=2, notebooks_dir=root / "notebooks")
    summary = json.loads((out / "daily" / D.isoformat() / "run.json").read_text())
    return {"report": report, "out": out, "summary": summary, "root": root, "data": data}


def by_name(summary: dict) -> dict[str, dict]:
    return {nb["name"]: nb for nb in summary["notebooks"]}


def test_every_notebook_gets_its_report_files(mixed):
    """Each notebook, failed or not, has its .ipynb and .html in OUT/daily/<date>/."""
    folder = mixed["out"] / "daily" / D.isoformat()
    names = [nb["name"] for nb in mixed["summary"]["notebooks"]]
    assert len(names) == 7
    for name in names:
        assert (folder / f"{name}.ipynb").is_file() and (folder / f"{name}.html").is_file()
        assert by_name(mixed["summary"])[name]["html"] == f"daily/{D}/{name}.html"


def test_failures_stay_in_their_own_notebook(mixed):
    """Raising, hanging, killed and corrupt-table notebooks fail alone; the rest are ok."""
    notebooks = by_name(mixed["summary"])
    assert {n: nb["status"] for n, nb in notebooks.items()} == {
        "1_figures": "ok", "2_raises": "failed", "3_hangs": "timed out",
        "4_kills_kernel": "failed", "5_reads_corrupt_orders": "failed",
        "6_reads_customers": "ok", "7_dies_once": "ok"}
    assert notebooks["2_raises"]["error"].startswith("ValueError: no <such> column")
    assert "orders" in notebooks["5_reads_corrupt_orders"]["error"]
    assert "SchemaViolation" in notebooks["5_reads_corrupt_orders"]["error"]
    assert "6 s" in notebooks["3_hangs"]["error"]
    assert notebooks["4_kills_kernel"]["attempts"] == 2
    assert "died twice" in notebooks["4_kills_kernel"]["error"]
    assert mixed["summary"]["status"] == "failed"


def test_a_kernel_that_dies_once_is_retried(mixed):
    """A notebook whose first kernel dies completes on the second attempt."""
    notebook = by_name(mixed["summary"])["7_dies_once"]
    assert (notebook["status"], notebook["attempts"]) == ("ok", 2)
    assert mixed["summary"]["kpis"]["survived_retry"] == 1


def test_run_json_collects_figures_and_warnings(mixed):
    """Every recorded figure lands in the flat kpis object; warnings carry their notebook."""
    summary = mixed["summary"]
    assert summary["kpis"] == {"count_orders": 12, "conversion_rate": 0.025, "aov": None,
                               "count_customers": 0, "survived_retry": 1}
    codes = {(w["notebook"], w["code"]) for w in summary["warnings"]}
    assert codes == {("1_figures", "no_data"), ("1_figures", "stale_data")}
    assert summary["cadence"] == "daily" and summary["date"] == D.isoformat()
    assert dt.datetime.fromisoformat(summary["finished_at"]) >= \
        dt.datetime.fromisoformat(summary["started_at"])


def test_one_line_per_failure(mixed):
    """The report names each failed notebook and why, one line each."""
    report = mixed["report"]
    assert not report.ok
    lines = report.failure_lines()
    assert len(lines) == 4
    assert any("2_raises" in line and "ValueError" in line for line in lines)
    assert all("\n" not in line for line in lines)


def test_failure_is_visible_in_the_report_and_index(mixed):
    """The failed page opens with a red banner and keeps the traceback; the index is red."""
    folder = mixed["out"] / "daily" / D.isoformat()
    page = (folder / "2_raises.html").read_text()
    assert 'class="opslib-banner failed"' in page
    assert page.index("opslib-banner failed") < page.index("2_raises</h1>")
    assert "Traceback" in page and "no &lt;such&gt; column" in page
    hang = (folder / "3_hangs.html").read_text()
    assert "timed out" in hang and "opslib-banner failed" in hang
    index = (mixed["out"] / "index.html").read_text()
    assert re.search(r'<a class="failed"[^>]*href="daily/2025-11-30/2_raises.html"', index)
    assert "Test &lt;Shop&gt; &amp; Co" in index


def test_stale_warning_is_at_the_top_of_the_report(mixed):
    """A stale-data warning is shown in a box above the report's first heading."""
    page = (mixed["out"] / "daily" / D.isoformat() / "1_figures.html").read_text()
    banner = page.index("Newest order is 9 days older")
    assert banner < page.index("1_figures</h1>")


def test_reports_hide_code_and_escape_data(mixed):
    """No code, no prompts, no figures plumbing; customer text is escaped."""
    page = (mixed["out"] / "daily" / D.isoformat() / "1_figures.html").read_text()
    assert "show.record" not in page and "import opslib" not in page
    assert "In&nbsp;[" not in page and "Out[" not in page
    assert "Headline figures recorded" not in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page


def test_reports_load_nothing_from_the_internet(mixed):
    """No src= or href= in any report points to http(s) or a protocol-relative URL."""
    pages = list(mixed["out"].rglob("*.html"))
    assert len(pages) == 8
    for page in pages:
        text = page.read_text()
        assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", text, re.I), page
        assert not re.search(r"@import|url\(\s*['\"]?\s*(?:https?:)?//", text, re.I), page
        assert "<script" not in text.lower(), page


def test_no_temporary_files_are_left(mixed):
    """After a run with failures, OUT holds no temporary folders or files."""
    leftovers = [p for p in mixed["out"].rglob("*") if ".tmp" in p.name or ".old-" in p.name]
    assert leftovers == []


def test_failed_notebook_keeps_its_error_in_the_ipynb(mixed):
    """A killed or timed-out run notebook says so in its metadata (it can look complete)."""
    nb = nbformat.read(mixed["out"] / "daily" / D.isoformat() / "3_hangs.ipynb", as_version=4)
    assert nb.metadata["opslib_run"]["status"] == "timed out"


def test_notebooks_run_on_the_project_kernel_without_secrets(tmp_path, monkeypatch):
    """The kernel is this interpreter; no webhook URL or SMTP password reaches it or the page."""
    monkeypatch.setenv("PLAYBOOK_SMTP_PASSWORD", "hunter2-secret")
    make_notebook(tmp_path / "nb" / "daily" / "who.ipynb",
                  "import sys, os\nprint(sys.executable)\n"
                  "print('password' if 'PLAYBOOK_SMTP_PASSWORD' in os.environ else 'clean')\n"
                  "print(open(settings_file).read())")
    data, out = empty_data_dir(tmp_path), tmp_path / "out"
    report = run("daily", data_dir=data, out_dir=out, date=D, notebooks_dir=tmp_path / "nb",
                 settings=settings(webhook_url=SECRET_URL, smtp_host="mail.invalid"))
    assert report.ok, report.text()
    nb = nbformat.read(out / "daily" / D.isoformat() / "who.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert printed.splitlines()[0] == sys.executable
    assert "clean" in printed and "timezone" in printed
    assert nb.metadata["kernelspec"]["name"] == runner.KERNEL_NAME
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert "very-secret-token" not in text and "hunter2" not in text
            assert "mail.invalid" not in text


def test_no_state_leaks_between_notebooks(tmp_path):
    """A notebook never sees variables or module changes another notebook made."""
    books = tmp_path / "nb" / "daily"
    make_notebook(books / "1_sets.ipynb", "import json\nLEAKED = 1\njson.leaked = 1")
    make_notebook(books / "2_looks.ipynb", "import json\nimport opslib.display as show\n"
                  "show.record(saw_variable=float('LEAKED' in globals()),\n"
                  "            saw_module_change=float(hasattr(json, 'leaked')))")
    report = run("daily", data_dir=empty_data_dir(tmp_path), out_dir=tmp_path / "out",
                 date=D, jobs=1, notebooks_dir=tmp_path / "nb", settings=settings())
    assert report.ok, report.text()
    assert report.runs[0].kpis == {"saw_variable": 0.0, "saw_module_change": 0.0}


def test_rerun_replaces_that_date_only(tmp_path):
    """Re-running a date replaces its whole folder and leaves other dates untouched."""
    books = tmp_path / "nb" / "daily"
    make_notebook(books / "a.ipynb", "import opslib.display as show\n"
                  "show.record(day_of_month=int(report_date[-2:]))")
    make_notebook(books / "b.ipynb", "print('b')")
    data, out = empty_data_dir(tmp_path), tmp_path / "out"
    common = {"data_dir": data, "out_dir": out, "notebooks_dir": tmp_path / "nb",
              "settings": settings()}
    run("daily", date=D - dt.timedelta(days=1), **common)
    run("daily", date=D, **common)
    other = out / "daily" / "2025-11-29"
    before = {p.name: p.stat().st_mtime_ns for p in other.iterdir()}
    (books / "b.ipynb").unlink()
    report = run("daily", date=D, **common)
    assert report.ok
    assert sorted(p.name for p in (out / "daily" / "2025-11-30").iterdir()) == \
        ["a.html", "a.ipynb", "run.json"]
    assert {p.name: p.stat().st_mtime_ns for p in other.iterdir()} == before
    assert json.loads((out / "daily" / "2025-11-30" / "run.json").read_text())["kpis"] == \
        {"day_of_month": 30}


def test_a_backfill_older_than_the_retention_keeps_its_report_until_the_next_run(tmp_path):
    """A run for a date more than retention_days before the newest report says so and
    keeps its folder (it used to say ok and delete what it had just written); the next run
    prunes it; runs within the window are never touched."""
    make_notebook(tmp_path / "nb" / "daily" / "a.ipynb", "print('a')")
    out, lines = tmp_path / "out", []
    common = {"data_dir": empty_data_dir(tmp_path), "out_dir": out,
              "notebooks_dir": tmp_path / "nb", "settings": settings(retention_days=30)}
    run("daily", date=D, **common)
    old = D - dt.timedelta(days=31)
    report = run("daily", date=old, echo=lines.append, **common)
    assert report.ok and (out / "daily" / old.isoformat() / "a.html").is_file()
    assert any(f"daily {old} is more than 30 days older" in line for line in lines)
    run("daily", date=D - dt.timedelta(days=30), **common)
    assert not (out / "daily" / old.isoformat()).exists()
    assert sorted(p.name for p in (out / "daily").iterdir() if p.is_dir()) == \
        [(D - dt.timedelta(days=30)).isoformat(), D.isoformat()]


def test_only_reruns_one_report_and_keeps_the_others(tmp_path):
    """`--only a` replaces a's report and figures; b's files, figures and index link stay."""
    books = tmp_path / "nb" / "daily"
    make_notebook(books / "a.ipynb", "import opslib.display as show\n"
                  "show.record(from_a=len(list(__import__('pathlib').Path(data_dir).iterdir())))")
    make_notebook(books / "b.ipynb", "import opslib.display as show\nshow.record(from_b=2)\n"
                  "show.warning('b says so', code='b_note')")
    data, out = empty_data_dir(tmp_path), tmp_path / "out"
    common = {"data_dir": data, "out_dir": out, "notebooks_dir": tmp_path / "nb",
              "settings": settings(), "date": D}
    run("daily", **common)
    folder = out / "daily" / D.isoformat()
    before = json.loads((folder / "run.json").read_text())
    b_page = (folder / "b.html").read_bytes()
    (data / "extra").mkdir()
    report = run("daily", only="a", **common)
    assert report.ok, report.text()
    after = json.loads((folder / "run.json").read_text())
    assert sorted(p.name for p in folder.iterdir()) == \
        ["a.html", "a.ipynb", "b.html", "b.ipynb", "run.json"]
    assert (folder / "b.html").read_bytes() == b_page
    assert after["kpis"] == {"from_a": before["kpis"]["from_a"] + 1, "from_b": 2}
    assert by_name(after)["b"] == by_name(before)["b"]
    assert [w["code"] for w in after["warnings"]] == ["b_note"]
    assert report.runs[0].kpis == after["kpis"]
    index = (out / "index.html").read_text()
    assert f"daily/{D}/a.html" in index and f"daily/{D}/b.html" in index


def test_a_second_run_of_the_same_cadence_is_refused(tmp_path, monkeypatch):
    """While a daily run holds the lock, another daily run stops at once with a message."""
    make_notebook(tmp_path / "nb" / "daily" / "a.ipynb", "print(1)")
    monkeypatch.setattr(runner, "NOTEBOOKS_DIR", tmp_path / "nb")
    data, out = empty_data_dir(tmp_path), tmp_path / "out"
    with cadence_lock(out, "daily"):
        with pytest.raises(RunLocked, match="already in progress"):
            run("daily", data_dir=data, out_dir=out, date=D, notebooks_dir=tmp_path / "nb",
                settings=settings())
        result = CliRunner().invoke(main, ["run", "daily", "--notebooks", str(tmp_path / "nb"),
                                           "--data", str(data), "--out", str(out), "--date",
                                           "2025-11-30"])
    assert result.exit_code == 2
    assert "already in progress" in result.output


def test_command_exits_non_zero_and_names_the_failure(tmp_path):
    """`playbook run` exits 1 and prints one line naming the failed notebook and why."""
    make_notebook(tmp_path / "nb" / "daily" / "broken.ipynb", "1 / 0")
    make_notebook(tmp_path / "nb" / "daily" / "fine.ipynb", "print('fine')")
    data = empty_data_dir(tmp_path)
    result = CliRunner().invoke(main, ["run", "daily", "--notebooks", str(tmp_path / "nb"),
                                       "--data", str(data), "--out", str(tmp_path / "out"),
                                       "--date", "2025-11-30"])
    assert result.exit_code == 1, result.output
    failed = [line for line in result.output.splitlines() if line.startswith("FAILED")]
    assert failed == ["FAILED daily 2025-11-30 broken: failed: ZeroDivisionError: division by "
                      "zero (at In [3])"]
    assert (tmp_path / "out" / "daily" / "2025-11-30" / "fine.html").is_file()


def test_absent_table_is_no_data_and_exit_zero(tmp_path):
    """A notebook whose table is absent says 'no data', warns in run.json, and exits 0."""
    make_notebook(tmp_path / "nb" / "daily" / "service.ipynb",
                  "from opslib.store import Store\nimport opslib.display as show",
                  "store = Store.open(data_dir)\n"
                  "show.no_data('tickets', section='Service') if not store.has('tickets') "
                  "else None")
    data = empty_data_dir(tmp_path)
    result = CliRunner().invoke(main, ["run", "daily", "--notebooks", str(tmp_path / "nb"),
                                       "--data", str(data), "--out", str(tmp_path / "out"),
                                       "--date", "2025-11-30"])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "daily" / "2025-11-30" / "run.json").read_text())
    assert [w["code"] for w in summary["warnings"]] == ["no_data"]
    assert summary["status"] == "ok"


def test_catch_up_fills_exactly_the_missing_dates(tmp_path):
    """With ok runs up to the 27th, a failed 28th and no 29th, catch-up runs 28, 29, 30."""
    make_notebook(tmp_path / "nb" / "daily" / "a.ipynb", "print(report_date)")
    out = tmp_path / "out"
    for day, status in (("2025-11-26", "ok"), ("2025-11-27", "ok"), ("2025-11-28", "failed")):
        folder = out / "daily" / day
        folder.mkdir(parents=True)
        (folder / "run.json").write_text(json.dumps({"cadence": "daily", "date": day,
                                                     "status": status, "notebooks": []}))
    report = run("daily", data_dir=empty_data_dir(tmp_path), out_dir=out, date=D,
                 catch_up=True, notebooks_dir=tmp_path / "nb", settings=settings())
    assert [r.date.isoformat() for r in report.runs] == ["2025-11-28", "2025-11-29",
                                                         "2025-11-30"]
    assert json.loads((out / "daily" / "2025-11-28" / "run.json").read_text())["status"] == "ok"
    again = run("daily", data_dir=tmp_path / "data", out_dir=out, date=D, catch_up=True,
                notebooks_dir=tmp_path / "nb", settings=settings())
    assert again.runs == [] and "up to date" in " ".join(again.messages)


def test_all_runs_each_cadence_for_its_last_complete_period(tmp_path):
    """`all` for Friday 2025-11-28 runs daily that day, the week to Sunday 23rd, October."""
    for cadence in ("daily", "weekly", "monthly"):
        make_notebook(tmp_path / "nb" / cadence / f"{cadence}_one.ipynb", "print(report_date)")
    report = run("all", data_dir=empty_data_dir(tmp_path), out_dir=tmp_path / "out",
                 date=dt.date(2025, 11, 28), notebooks_dir=tmp_path / "nb", settings=settings())
    assert report.ok
    assert [(r.cadence, r.date.isoformat()) for r in report.runs] == [
        ("monthly", "2025-10-31"), ("weekly", "2025-11-23"), ("daily", "2025-11-28")]
    weekly = json.loads((tmp_path / "out" / "weekly" / "2025-11-23" / "run.json").read_text())
    assert weekly["period"] == {"start": "2025-11-17", "end": "2025-11-23"}


def test_a_cadence_without_notebooks_says_so(tmp_path):
    """An empty cadence folder is reported plainly and is not a failure."""
    (tmp_path / "nb" / "weekly").mkdir(parents=True)
    report = run("weekly", data_dir=empty_data_dir(tmp_path), out_dir=tmp_path / "out",
                 date=D, notebooks_dir=tmp_path / "nb", settings=settings())
    assert report.ok and report.runs == []
    assert report.messages == ["No weekly notebooks yet (notebooks/weekly/ is empty): nothing "
                               "to run for weekly."]


def test_unknown_only_name_and_missing_data_are_errors(tmp_path):
    """--only with an unknown name and a data folder without tables raise clear errors."""
    make_notebook(tmp_path / "nb" / "daily" / "1_journal.ipynb", "print(1)")
    data = empty_data_dir(tmp_path)
    with pytest.raises(BadParameter, match="1_journal"):
        run("daily", data_dir=data, out_dir=tmp_path / "out", only="nope", date=D,
            notebooks_dir=tmp_path / "nb", settings=settings())
    with pytest.raises(MissingFileError, match="playbook demo"):
        run("daily", data_dir=tmp_path / "nowhere", out_dir=tmp_path / "out", date=D,
            notebooks_dir=tmp_path / "nb", settings=settings())
    assert runner.find_notebooks("daily", notebooks_dir=tmp_path / "nb", only="journal") == \
        [tmp_path / "nb" / "daily" / "1_journal.ipynb"]


@pytest.mark.parametrize(("cadence", "until", "last_ok", "expected"), [
    ("daily", "2025-11-30", None, ["2025-11-30"]),
    ("daily", "2025-11-30", "2025-11-30", []),
    ("weekly", "2025-11-30", "2025-11-16", ["2025-11-23", "2025-11-30"]),
    ("weekly", "2025-11-29", None, ["2025-11-23"]),
    ("monthly", "2025-11-30", "2025-08-31", ["2025-09-30", "2025-10-31", "2025-11-30"]),
    ("monthly", "2025-03-15", "2024-12-31", ["2025-01-31", "2025-02-28"]),
])
def test_due_dates(cadence, until, last_ok, expected):
    """Catch-up periods: after the last success, up to the last complete period, in order."""
    last = dt.date.fromisoformat(last_ok) if last_ok else None
    dates = runner.due_dates(cadence, until=dt.date.fromisoformat(until), last_ok=last)
    assert [d.isoformat() for d in dates] == expected


def test_import_step_says_when_importers_are_missing(tmp_path, monkeypatch):
    """Without opslib.ingest.import_raw_folder the pre-run import is a no-op that says so."""
    import opslib.ingest

    monkeypatch.delattr(opslib.ingest, "import_raw_folder", raising=False)
    assert "not available yet" in runner.import_dropped_files(tmp_path, settings=Settings())


@pytest.fixture(scope="module")
def demo_daily(small_demo_dir, demo_settings, tmp_path_factory):
    """`playbook run daily` on the small demo store for its last day."""
    out = tmp_path_factory.mktemp("demo_daily") / "out"
    report = run("daily", data_dir=small_demo_dir, out_dir=out, settings=demo_settings,
                 date=DEMO_UNTIL)
    return report, out


def test_demo_daily_run_produces_every_report(demo_daily):
    """Every daily notebook has its report, run.json lists them all ok, the index links them."""
    report, out = demo_daily
    notebooks = runner.find_notebooks("daily")
    assert len(notebooks) >= 7 and report.ok, report.text()
    folder = out / "daily" / DEMO_UNTIL.isoformat()
    summary = json.loads((folder / "run.json").read_text())
    assert [nb["name"] for nb in summary["notebooks"]] == [p.stem for p in notebooks]
    index = (out / "index.html").read_text()
    for notebook in notebooks:
        assert (folder / f"{notebook.stem}.html").is_file()
        assert f'href="daily/{DEMO_UNTIL}/{notebook.stem}.html"' in index
    assert not [w for w in summary["warnings"] if w["code"] != "no_data"]


def test_demo_daily_run_json_has_every_figure(demo_daily, small_demo_store):
    """run.json's kpis are exactly the figures each daily page computes for the day."""
    _, out = demo_daily
    kpis = json.loads((out / "daily" / DEMO_UNTIL.isoformat() / "run.json").read_text())["kpis"]
    expected: dict = {}
    for notebook in runner.find_notebooks("daily"):
        page = importlib.import_module(f"opslib.views.daily.{notebook.stem}")
        if hasattr(page, "figures"):
            expected.update(page.figures(small_demo_store, DEMO_UNTIL))
    assert len(expected) >= 10
    assert kpis.keys() == expected.keys()
    for name, value in expected.items():
        assert kpis[name] == pytest.approx(value, nan_ok=True), name
    assert all(v is None or 0 <= v <= 1 for k, v in kpis.items() if k.endswith("_rate"))


def test_stale_demo_data_warns_at_the_top_and_in_run_json(small_demo_dir, demo_settings,
                                                         tmp_path):
    """Reporting five days after the newest order: a stale-data warning on top of the page."""
    day = DEMO_UNTIL + dt.timedelta(days=5)
    report = run("daily", data_dir=small_demo_dir, out_dir=tmp_path, settings=demo_settings,
                 date=day, only="journal")
    assert report.ok, report.text()
    summary = json.loads((tmp_path / "daily" / day.isoformat() / "run.json").read_text())
    stale = [w for w in summary["warnings"] if w["code"] == "stale_data"]
    assert stale, summary["warnings"]
    page = (tmp_path / "daily" / day.isoformat() / "journal.html").read_text()
    assert 'class="opslib-banner warn"' in page
    assert page.index("opslib-banner warn") < page.index("<h1")
    assert any(w.startswith("WARNING daily") for w in report.text().splitlines())


@pytest.mark.slow
def test_run_all_on_the_demo_store_files_three_cadences(small_demo_dir, demo_settings, tmp_path):
    """`playbook run all` for Sunday 30 November files daily, weekly and monthly reports."""
    settings_file = tmp_path / "playbook.toml"
    settings_file.write_text(runner.settings_toml(demo_settings))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", "all", "--data", str(small_demo_dir), "--out",
                                       str(out), "--date", "2025-11-30", "--settings",
                                       str(settings_file)])
    assert result.exit_code == 0, result.output
    index = (out / "index.html").read_text()
    for cadence in ("daily", "weekly", "monthly"):
        summary = json.loads((out / cadence / "2025-11-30" / "run.json").read_text())
        assert summary["status"] == "ok"
        assert len(summary["notebooks"]) == len(runner.find_notebooks(cadence))
        assert summary["kpis"]
        for nb in summary["notebooks"]:
            assert f'href="{cadence}/2025-11-30/{nb["name"]}.html"' in index, nb["name"]
    assert 'title="daily, weekly, monthly: all reports complete">30<' in index


LIST_CELL = ("import pandas as pd\nfrom IPython.display import display\n"
             "from opslib.exports import action_list\n"
             "display(action_list({name!r}, pd.DataFrame({{'email': ['a@x.org', 'b@x.org'], "
             "'first_name': ['=cmd()', 'Bo'], 'last_name': ['Li', 'Ng'], "
             "'spent': [{spent}, 5.5]}})))")


def test_action_lists_become_csv_files_kept_on_an_only_rerun(tmp_path):
    """Each list shown is written to lists/<name>.csv (spreadsheet-safe, contacts first,
    unmasked); `--only a` rewrites a's list and keeps b's; a name made twice is warned."""
    books = tmp_path / "nb" / "daily"
    make_notebook(books / "a.ipynb", LIST_CELL.format(name="win_back", spent=20.0))
    make_notebook(books / "b.ipynb", LIST_CELL.format(name="vip", spent=99.0),
                  LIST_CELL.format(name="win_back", spent=1.0))
    data, out = empty_data_dir(tmp_path), tmp_path / "out"
    common = {"data_dir": data, "out_dir": out, "notebooks_dir": tmp_path / "nb",
              "settings": settings(), "date": D}
    assert run("daily", **common).ok
    folder = out / "daily" / D.isoformat()
    lists = folder / "lists"
    assert sorted(p.name for p in lists.iterdir()) == ["vip.csv", "win_back.csv"]
    assert (lists / "win_back.csv").read_text().splitlines() == [
        '"email","first_name","last_name","spent"',
        '"a@x.org","\'=cmd()","Li",20.0', '"b@x.org","Bo","Ng",5.5']
    summary = json.loads((folder / "run.json").read_text())
    assert summary["lists"] == {
        "vip": {"notebook": "b", "rows": 2, "file": f"daily/{D}/lists/vip.csv"},
        "win_back": {"notebook": "a", "rows": 2, "file": f"daily/{D}/lists/win_back.csv"}}
    assert [w["code"] for w in summary["warnings"]] == ["duplicate_list"]
    vip = (lists / "vip.csv").read_bytes()
    make_notebook(books / "a.ipynb", LIST_CELL.format(name="win_back", spent=7.0))
    assert run("daily", only="a", **common).ok
    assert (lists / "vip.csv").read_bytes() == vip
    assert '"a@x.org","\'=cmd()","Li",7.0' in (lists / "win_back.csv").read_text()
    assert "a@x.org" in (folder / "a.html").read_text()
