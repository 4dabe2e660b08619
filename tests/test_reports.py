"""Report files: self-contained HTML, figures and warnings, run history, index, retention."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import nbformat
import pytest

from opslib import display
from opslib.runs import reports


def notebook(*outputs: dict, markdown: str = "# Daily journal") -> nbformat.NotebookNode:
    """A run notebook: a markdown title and one code cell holding `outputs`."""
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("secret_code_line = 1", execution_count=3)
    code.outputs = [nbformat.v4.new_output("display_data", data) for data in outputs]
    nb.cells = [nbformat.v4.new_markdown_cell(markdown), code]
    return nb


def external_references(page: str) -> list[str]:
    """Every src/href/url()/@import in the page that would fetch from the network.

    A link a reader may click (`<a href=...>`) loads nothing and is allowed.
    """
    tags = re.findall(r"""<(\w+)[^>]*?\b(src|href)\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]*)""",
                      page, re.I)
    attributes = [url for tag, attribute, url in tags
                  if not (tag.lower() == "a" and attribute.lower() == "href")]
    css = re.findall(r"""@import[^;]*|url\(\s*['"]?\s*(?:https?:)?//[^)'"]*""", page, re.I)
    return attributes + css


def test_mime_types_match_the_display_module():
    """The runner reads the MIME types opslib.display writes."""
    assert (reports.KPIS_MIME, reports.WARNINGS_MIME) == (display.KPIS_MIME,
                                                          display.WARNINGS_MIME)


def test_export_loads_nothing_from_the_internet():
    """No script, style sheet, font, MathJax or widget manager from a CDN in the page."""
    nb = notebook({"text/html": "<b>hi</b>", "text/plain": "hi"},
                  {"text/latex": "$x^2$", "text/plain": "x"},
                  markdown="# Title with maths $x^2$ and a [link](https://example.com/a)")
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    page = reports.export_html(nb, title="t")
    assert external_references(page) == []
    assert "<script" not in page.lower()
    assert "example.com" in page  # a plain link in text is fine: it loads nothing


def test_the_check_catches_an_external_reference():
    """The helper above does find CDN references (so the test above can fail)."""
    found = external_references('<script src="https://cdn.example/x.js"></script>'
                                '<link rel="stylesheet" href="//fonts.example/css">'
                                '<img alt="" src="http://x/p.png"><a href="https://ok">'
                                "<style>@import url(https://x/y.css);</style>")
    assert found[:3] == ["https://cdn.example/x.js", "//fonts.example/css", "http://x/p.png"]
    assert "https://ok" not in found and len(found) == 4


def test_export_shows_no_code_and_no_prompts():
    """Only outputs and markdown appear: no source, no In/Out prompts."""
    page = reports.export_html(notebook({"text/plain": "42"}), title="t")
    assert "secret_code_line" not in page
    assert "In&nbsp;[" not in page and "Out[" not in page
    assert "42" in page and "Daily journal" in page


def test_markdown_is_not_hidden_by_the_page_style():
    """Headings and text of markdown cells sit in no element the style sheet hides."""
    page = reports.export_html(notebook({"text/plain": "42"}, markdown="# Daily journal\n\n"
                                        "Orders to ship today."), title="t")
    hidden = set()
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", page):
        if re.search(r"display\s*:\s*none", body):
            hidden |= set(re.findall(r"\.([\w-]+)", selectors))
    wrappers = ancestor_classes(page, "h1")
    assert "jp-MarkdownCell" in wrappers
    assert wrappers & hidden == set()


def ancestor_classes(page: str, tag: str) -> set[str]:
    """The classes of every element enclosing the first `tag` of the page."""
    from html.parser import HTMLParser

    class Walk(HTMLParser):
        def __init__(self):
            super().__init__()
            self.open: list[list[str]] = []
            self.found: set[str] | None = None

        def handle_starttag(self, name, attrs):
            if self.found is None and name == tag:
                self.found = {c for classes in self.open for c in classes}
            if name not in ("br", "img", "meta", "link", "hr", "input"):
                self.open.append((dict(attrs).get("class") or "").split())

        def handle_endtag(self, name):
            if self.open:
                self.open.pop()

    walk = Walk()
    walk.feed(page)
    return walk.found or set()


def test_export_leaves_out_the_figures_output_and_escapes_the_title():
    """The opslib.record output is plumbing; the page title is escaped."""
    nb = notebook({reports.KPIS_MIME: {"count_orders": 3},
                   "text/plain": "Headline figures recorded for the run summary"})
    page = reports.export_html(nb, title="<Shop> & co")
    assert "Headline figures recorded" not in page
    assert "<title>&lt;Shop&gt; &amp; co</title>" in page
    assert nb.cells[1].outputs, "the input notebook must not be changed"


def test_banner_shows_failure_and_warnings_on_top_escaped():
    """The error and non-'no data' warnings sit above the first heading, escaped."""
    page = reports.export_html(notebook(), title="t", error="failed: KeyError: '<x>'",
                               warnings=[{"code": "stale_data", "message": "Old <data>"},
                                         {"code": "no_data", "message": "No tickets"}])
    top = page.index("Daily journal")
    assert page.index("did not complete") < top and page.index("Old &lt;data&gt;") < top
    assert "KeyError: &#x27;&lt;x&gt;&#x27;" in page or "KeyError: '&lt;x&gt;'" in page
    assert "No tickets" not in page[:top]


def test_collect_outputs_merges_figures_and_deduplicates_warnings():
    """Figures from several outputs merge; a repeated warning is listed once."""
    warn = {reports.WARNINGS_MIME: {"code": "stale_data", "message": "old"}}
    nb = notebook({reports.KPIS_MIME: {"a": 1}}, warn, {reports.KPIS_MIME: {"b": None}}, warn)
    assert reports.collect_outputs(nb) == ({"a": 1, "b": None},
                                           [{"code": "stale_data", "message": "old"}])


def write_run(out: Path, cadence: str, day: str, status: str = "ok", **extra) -> Path:
    folder = out / cadence / day
    folder.mkdir(parents=True, exist_ok=True)
    reports.write_run_json(folder, {"cadence": cadence, "date": day, "status": status,
                                    "notebooks": [], "kpis": {}, "warnings": [], **extra})
    return folder


def test_last_successful_skips_failed_and_unreadable_runs(tmp_path):
    """The newest ok run counts; failed runs and broken run.json files do not."""
    write_run(tmp_path, "daily", "2025-11-27")
    write_run(tmp_path, "daily", "2025-11-28", status="failed")
    (write_run(tmp_path, "daily", "2025-11-29") / "run.json").write_text("{not json")
    (tmp_path / "daily" / ".2025-11-30.tmp-abcd").mkdir()
    assert reports.last_successful(tmp_path, "daily") == dt.date(2025, 11, 27)
    assert reports.last_successful(tmp_path, "weekly") is None


def test_prune_keeps_the_retention_window_from_the_newest_run(tmp_path):
    """Runs more than retention_days before the newest run go; the rest stay."""
    write_run(tmp_path, "daily", "2025-11-30")
    write_run(tmp_path, "daily", "2025-11-20")
    write_run(tmp_path, "monthly", "2025-10-31")
    write_run(tmp_path, "weekly", "2025-11-10")
    removed = reports.prune_runs(tmp_path, retention_days=20)
    assert sorted(p.name for p in removed) == ["2025-10-31"]
    assert (tmp_path / "weekly" / "2025-11-10").is_dir()  # exactly 20 days: kept
    assert reports.prune_runs(tmp_path, retention_days=400) == []
    kept = tmp_path / "daily" / "2025-11-20"
    assert reports.prune_runs(tmp_path, retention_days=5, keep=[kept]) == \
        [tmp_path / "weekly" / "2025-11-10"]
    assert kept.is_dir()
    assert reports.retention_cutoff(tmp_path, retention_days=5) == dt.date(2025, 11, 25)


def test_write_run_json_leaves_no_temporary_file(tmp_path):
    """run.json is written under a temporary name and renamed."""
    reports.write_run_json(tmp_path, {"kpis": {"a": None}})
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]
    assert json.loads((tmp_path / "run.json").read_text()) == {"kpis": {"a": None}}


def test_run_json_refuses_not_a_number(tmp_path):
    """NaN is not JSON; figures must be numbers or null."""
    with pytest.raises(ValueError):
        reports.write_run_json(tmp_path, {"kpis": {"a": float("nan")}})


def test_index_flags_failures_in_red_and_shows_latest_figures(tmp_path):
    """The latest runs' failures and warnings are red flags, linked; figures are labelled."""
    write_run(tmp_path, "daily", "2025-11-29", kpis={"net_sales": 10.0},
              notebooks=[{"name": "journal", "status": "ok", "html": "daily/2025-11-29/"
                                                                    "journal.html"}])
    write_run(tmp_path, "daily", "2025-11-30", status="failed",
              kpis={"net_sales": 1234.5, "conversion_rate": 0.031},
              warnings=[{"code": "stale_data", "message": "Data is <old>"}],
              notebooks=[{"name": "journal", "status": "ok", "html": "daily/2025-11-30/"
                                                                    "journal.html"},
                         {"name": "stock_watch", "status": "timed out", "error": "<slow>",
                          "html": "daily/2025-11-30/stock_watch.html"}])
    write_run(tmp_path, "weekly", "2025-11-30", kpis={"count_orders": 40.0})
    page = reports.write_index(tmp_path, store_name="Shop", currency="GBP").read_text()
    flags = page.split('<div class="flags">')[1].split("</div>")[0]
    assert '<a class="failed" href="daily/2025-11-30/stock_watch.html">Stock watch</a>' in flags
    assert "Data is &lt;old&gt;" in flags and "<old>" not in page
    assert 'href="daily/2025-11-30/journal.html"' in page
    assert "£1,234.50" in page and "3.1%" in page and ">40<" in page
    assert '<td class="failed"><a href="daily/2025-11-30/stock_watch.html"' in page
    assert external_references(page) == []


def test_index_without_runs_says_how_to_start(tmp_path):
    """An empty reports folder gives a page that says which command makes the first runs."""
    page = reports.write_index(tmp_path, store_name="Shop").read_text()
    assert "playbook run all" in page
