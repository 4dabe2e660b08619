"""Reports on disk: the HTML export of a run notebook, run.json, the index, retention.

A run of one cadence for one date lives in `OUT/<cadence>/<date>/`: `<notebook>.ipynb`,
`<notebook>.html` and `run.json`. `OUT/index.html` lists every run. The HTML is
self-contained: no code, no prompts, and nothing loaded from the internet (no script, style
sheet, font, require.js, MathJax or widget manager from a CDN), so it can be mailed or
archived as it is.
"""

from __future__ import annotations

import calendar
import datetime as dt
import fcntl
import html
import json
import os
import re
import shutil
import threading
import urllib.parse
import uuid
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import nbformat

from opslib import display, exports, glossary
from opslib.display import KPIS_MIME, WARNINGS_MIME
from opslib.exports import LIST_MIME

__all__ = [
    "KPIS_MIME", "WARNINGS_MIME", "LIST_MIME", "LISTS_DIR", "collect_outputs", "collect_lists",
    "write_lists", "export_html", "write_text_atomic",
    "write_run_json", "read_runs", "last_successful", "write_index", "render_index",
    "prune_runs", "red_flags", "heading", "period_words",
]

CADENCES = ("daily", "weekly", "monthly")
RUN_FILE = "run.json"
LISTS_DIR = "lists"  # a run's action lists: <cadence>/<date>/lists/<name>.csv

# The page around the notebook: JupyterLab's cell markup with a small house style sheet
# instead of the 250 kB JupyterLab theme, and every block that would load something from a
# CDN (require.js, widgets, MathJax, Mermaid) left empty.
_TEMPLATE = r"""{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block notebook_css -%}<style type="text/css">{{ resources.opslib_css }}</style>
{%- endblock notebook_css -%}
{%- block body_header -%}<body class="jp-Notebook"><main>{{ resources.opslib_banner }}
{%- endblock body_header -%}
{%- block data_svg scoped -%}
<div class="jp-RenderedSVG jp-OutputArea-output {{ extra_class }}" data-mime-type="image/svg+xml">
<img src="data:image/svg+xml;base64,{{ output.data['image/svg+xml'] | text_base64 | escape_html }}"
 alt="{{ (output | get_metadata('alt', 'image/svg+xml') or 'Chart') | escape_html }}">
</div>
{%- endblock data_svg -%}
{%- block data_png scoped -%}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
 alt="{{ (output | get_metadata('alt', 'image/png') or 'Chart') | escape_html }}">
</div>
{%- endblock data_png -%}
"""

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#1f2328;
 max-width:1100px;margin:0 auto;padding:16px 24px;line-height:1.45;background:#fff}
h1,h2,h3{line-height:1.2} h1{font-size:26px} h2{font-size:20px;margin-top:28px} h3{font-size:16px}
a.anchor-link{display:none}
.jp-Cell{margin:0 0 6px}
.jp-InputPrompt,.jp-OutputPrompt,.jp-Collapser{display:none}
.jp-OutputArea-output{overflow-x:auto}
.jp-RenderedText pre,pre{white-space:pre-wrap;font-family:ui-monospace,Menlo,Consolas,monospace;
 font-size:12px;margin:4px 0}
.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]{background:#fff5f5;
 padding:4px 8px}
.jp-RenderedImage img,.jp-RenderedSVG svg{max-width:100%;height:auto}
table{border-collapse:collapse} th,td{padding:3px 8px}
.celltag_papermill-error-cell-tag,.celltag_papermill-error-cell-tag *{font-size:14px!important;
 color:#c62828!important;font-family:inherit!important}
.opslib-banner{padding:10px 14px;margin:8px 0 16px;border-radius:6px;font-weight:600}
.opslib-banner.failed{background:#fff5f5;border:2px solid #c62828;color:#c62828}
.opslib-banner.warn{background:#fff8e1;border:2px solid #b26a00;color:#7a4a00}
.opslib-banner ul{margin:4px 0 0;font-weight:400}
.ansi-red-fg,.ansi-red-intense-fg{color:#c62828}.ansi-green-fg,.ansi-green-intense-fg{color:#2da44e}
.ansi-yellow-fg,.ansi-yellow-intense-fg{color:#9a6700}
.ansi-blue-fg,.ansi-blue-intense-fg{color:#0969da}
.ansi-cyan-fg,.ansi-cyan-intense-fg{color:#1b7c83}.ansi-magenta-fg{color:#8250df}
.ansi-bold{font-weight:700}
"""

_local = threading.local()


def _exporter():
    """One HTML exporter per thread (building one loads its templates once)."""
    exporter = getattr(_local, "exporter", None)
    if exporter is None:
        import jinja2
        from nbconvert import HTMLExporter

        exporter = HTMLExporter(
            template_name="lab", template_file="opslib_report.html.j2",
            extra_loaders=[jinja2.DictLoader({"opslib_report.html.j2": _TEMPLATE})],
            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
            sanitize_html=False, exclude_anchor_links=True,
        )
        _local.exporter = exporter
    return exporter


def collect_outputs(nb: nbformat.NotebookNode) -> tuple[dict[str, float | None], list[dict]]:
    """The figures (`opslib.record`) and warnings a run notebook displayed, in cell order.

    >>> nb = nbformat.v4.new_notebook()
    >>> cell = nbformat.v4.new_code_cell("")
    >>> cell.outputs = [nbformat.v4.new_output("display_data", {KPIS_MIME: {"count_orders": 3}}),
    ...                 nbformat.v4.new_output("display_data",
    ...                     {WARNINGS_MIME: {"code": "no_data", "message": "No tickets."}})]
    >>> nb.cells = [cell]
    >>> collect_outputs(nb)
    ({'count_orders': 3}, [{'code': 'no_data', 'message': 'No tickets.'}])
    """
    figures: dict[str, float | None] = {}
    warnings: list[dict] = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if KPIS_MIME in data:
                figures.update(_json_payload(data[KPIS_MIME]))
            if WARNINGS_MIME in data:
                payload = _json_payload(data[WARNINGS_MIME])
                for item in payload if isinstance(payload, list) else [payload]:
                    if item not in warnings:
                        warnings.append(dict(item))
    return figures, warnings


def collect_lists(nb: nbformat.NotebookNode) -> dict[str, dict]:
    """The action lists (opslib.exports.action_list) a run notebook displayed, by name;
    a list shown twice keeps its last rows.

    >>> nb = nbformat.v4.new_notebook()
    >>> cell = nbformat.v4.new_code_cell("")
    >>> cell.outputs = [nbformat.v4.new_output("display_data", {LIST_MIME: {
    ...     "name": "win_back", "columns": ["email"], "rows": [["a@b.c"]]}})]
    >>> nb.cells = [cell]
    >>> collect_lists(nb)["win_back"]["rows"]
    [['a@b.c']]
    """
    lists: dict[str, dict] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if LIST_MIME in data:
                payload = _json_payload(data[LIST_MIME])
                lists[str(payload["name"])] = dict(payload)
    return lists


def write_lists(folder: Path, lists: dict[str, dict]) -> dict[str, int]:
    """Write each list as `folder/lists/<name>.csv` (spreadsheet-safe, atomically);
    return its row count by name."""
    counts = {}
    for name, payload in sorted(lists.items()):
        frame = exports.list_frame(payload)
        write_text_atomic(folder / LISTS_DIR / f"{name}.csv", exports.safe_csv(frame))
        counts[name] = len(frame)
    return counts


def _json_payload(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _banner(*, error: str | None, warnings: Iterable[dict]) -> str:
    """The box at the top of a report: the failure, then warnings other than 'no data'."""
    parts = []
    if error:
        parts.append('<div class="opslib-banner failed">This report did not complete: '
                     f'{html.escape(error)}<br>What follows stops where the run stopped.</div>')
    lifted = [w for w in warnings if w.get("code") != "no_data"]
    if lifted:
        items = "".join(f"<li>{html.escape(str(w.get('message', w.get('code', ''))))}</li>"
                        for w in lifted)
        parts.append(f'<div class="opslib-banner warn">Check before reading:<ul>{items}'
                     f"</ul></div>")
    return "".join(parts)


def _without_figures(cells: list) -> list:
    """The cells with the figures output left out, and with the section that only
    recorded figures (its heading and its code cells) left out altogether."""
    kept: list = []
    section: list = []  # the cells since the last heading
    for cell in cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("#"):
            kept.extend(_unless_only_figures(section))
            section = []
        if cell.cell_type == "code":
            outputs = cell.get("outputs", [])
            cell.outputs = [o for o in outputs if KPIS_MIME not in o.get("data", {})]
            cell.metadata["opslib_figures_only"] = bool(outputs) and not cell.outputs
        section.append(cell)
    return kept + _unless_only_figures(section)


def _unless_only_figures(section: list) -> list:
    code = [c for c in section if c.cell_type == "code"]
    if code and all(c.metadata.pop("opslib_figures_only", False) for c in code):
        return []
    for cell in code:
        cell.metadata.pop("opslib_figures_only", None)
    return section


def export_html(nb: nbformat.NotebookNode, *, title: str, error: str | None = None,
                warnings: Iterable[dict] = ()) -> str:
    """The notebook as one self-contained HTML page: outputs only, banner on top.

    `error` (a failed, timed-out or killed run) and `warnings` other than 'no data' (stale
    data, for one) are shown in a box above everything else. The figures output of
    `opslib.record` is left out of the page (it is plumbing for run.json).
    """
    shown = nbformat.from_dict(json.loads(json.dumps(nb)))  # a copy: the input is not changed
    shown.cells = _without_figures(shown.cells)
    shown.metadata.pop("widgets", None)  # widget state needs a widget manager from a CDN
    shown.metadata["title"] = title
    resources = {"opslib_css": _CSS, "opslib_banner": _banner(error=error, warnings=warnings)}
    body, _ = _exporter().from_notebook_node(shown, resources=resources)
    return body


def write_text_atomic(path: Path, text: str) -> Path:
    """Write `text` to a temporary name beside `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


def write_run_json(folder: Path, summary: dict[str, Any]) -> Path:
    """Write a run's summary as `folder/run.json` (atomically)."""
    return write_text_atomic(folder / RUN_FILE, json.dumps(summary, indent=2, allow_nan=False)
                             + "\n")


def _date_folders(out_dir: Path, cadence: str) -> list[tuple[dt.date, Path]]:
    root = out_dir / cadence
    found = []
    if root.is_dir():
        for folder in root.iterdir():
            try:
                found.append((dt.date.fromisoformat(folder.name), folder))
            except ValueError:
                continue  # temporary and other folders
    return sorted(found)


def read_runs(out_dir: Path) -> list[dict[str, Any]]:
    """Every run.json under OUT, newest date first (daily before weekly before monthly).

    A date folder whose run.json is missing or unreadable is listed with status 'unknown'.
    """
    runs = []
    for cadence in CADENCES:
        for day, folder in _date_folders(out_dir, cadence):
            try:
                run = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                run = {"cadence": cadence, "date": day.isoformat(), "status": "unknown",
                       "notebooks": [], "kpis": {}, "warnings": []}
            runs.append(run)
    order = {c: i for i, c in enumerate(CADENCES)}
    runs.sort(key=lambda r: (r.get("date", ""), -order.get(r.get("cadence"), 9)), reverse=True)
    return runs


def last_successful(out_dir: Path, cadence: str) -> dt.date | None:
    """The newest date whose run of `cadence` completed with every notebook ok."""
    for day, folder in reversed(_date_folders(out_dir, cadence)):
        try:
            run = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if run.get("status") == "ok":
            return day
    return None


def retention_cutoff(out_dir: Path, *, retention_days: int) -> dt.date | None:
    """The first date whose runs are kept: `retention_days` before the newest run in OUT
    (None when there is no run)."""
    days = [day for cadence in CADENCES for day, _ in _date_folders(out_dir, cadence)]
    return max(days) - dt.timedelta(days=retention_days) if days else None


def prune_runs(out_dir: Path, *, retention_days: int, keep: Collection[Path] = ()
               ) -> list[Path]:
    """Delete run folders more than `retention_days` older than the newest run in OUT, but
    those in `keep` (the runs just made: a backfill's reports stay until the next run).

    Counting from the newest report (not from the clock) means re-running an old date
    never removes newer reports. Returns the folders removed.
    """
    cutoff = retention_cutoff(out_dir, retention_days=retention_days)
    kept = {Path(folder) for folder in keep}
    removed = []
    for cadence in CADENCES:
        for day, folder in _date_folders(out_dir, cadence):
            if cutoff is not None and day < cutoff and folder not in kept:
                shutil.rmtree(folder)
                removed.append(folder)
    return removed


def _href(path: str) -> str:
    return html.escape(urllib.parse.quote(path), quote=True)


_INDEX_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#1f2328;
 max-width:1100px;margin:0 auto;padding:16px 24px;line-height:1.4}
h1{font-size:26px;margin:8px 0 4px} h2{font-size:19px;margin:26px 0 8px}
h3{font-size:15px;margin:14px 0 4px}
.sub{color:#57606a;margin:0 0 12px}
.today{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.todo{border:1px solid #d0d7de;border-radius:8px;padding:10px 16px;min-width:200px}
.todo .big{font-size:30px;font-weight:700}
.flags{border:2px solid #c62828;background:#fff5f5;border-radius:8px;padding:8px 16px;flex:1}
.flags.clear{border:1px solid #2da44e;background:#f3fbf5}
.flags ul{margin:4px 0 0;padding-left:20px}
.reports{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:8px 28px}
.reports ul{list-style:none;padding:0;margin:0}
.reports li{margin:0 0 8px}
.reports .q{display:block;color:#57606a;font-size:13px}
a{color:#0969da} .failed,.failed a,a.failed{color:#c62828;font-weight:600}
table{border-collapse:collapse;margin:4px 0 16px;font-size:14px}
th{text-align:left;background:#f6f8fa;border-bottom:2px solid #d0d7de;padding:4px 10px}
td{border-bottom:1px solid #eaeef2;padding:4px 10px;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:0 24px}
.figures table{width:100%;font-size:13px} .figures th,.figures td{padding:3px 6px}
.months{display:flex;flex-wrap:wrap;gap:18px}
.month table{font-size:12px;margin:0} .month th{background:none;border:0;padding:2px 4px;
 text-align:center;color:#57606a} .month td{border:1px solid #eaeef2;width:30px;height:30px;
 padding:2px;text-align:center;vertical-align:top}
.month td.ok{background:#e6f4ea} .month td.failed{background:#ffd8d8}
.month td.failed a{color:#c62828} .month td.none{color:#8c959f}
.month .d{display:block;font-size:11px;color:#57606a}
.legend{font-size:13px;color:#57606a}
"""


def heading(out_dir: Path, entry: dict) -> tuple[str, str]:
    """A report's title and one-line question, from its notebook's first markdown cell."""
    name = str(entry.get("name", "report"))
    fallback = (glossary.words(name), "")
    path = entry.get("ipynb")
    try:
        nb = json.loads((out_dir / path).read_text(encoding="utf-8")) if path else None
    except (OSError, ValueError):
        nb = None
    cells = [c for c in (nb or {}).get("cells", []) if c.get("cell_type") == "markdown"]
    if not cells:
        return fallback
    source = cells[0].get("source", "")
    text = "".join(source) if isinstance(source, list) else str(source)
    title = re.search(r"^#\s+(.+)$", text, flags=re.MULTILINE)
    question = re.search(r"^\*\*(.+?)\*\*\s*$", text, flags=re.MULTILINE)
    return (title.group(1).strip() if title else fallback[0],
            question.group(1).strip() if question else "")


def period_words(run: dict) -> str:
    """'Saturday 5 December 2026', 'week 23–29 November 2026', 'November 2026'."""
    try:
        end = dt.date.fromisoformat(run.get("date", ""))
        start = dt.date.fromisoformat(run.get("period", {}).get("start", run.get("date", "")))
    except ValueError:
        return str(run.get("date", "?"))
    if run.get("cadence") == "monthly":
        whole = end.month != (end + dt.timedelta(days=1)).month
        return f"{end:%B %Y}" if whole and start.day == 1 else \
            f"{start.day}–{end.day} {end:%B %Y}"
    if run.get("cadence") == "weekly":
        left = f"{start.day} {start:%B}" if start.month != end.month else f"{start.day}"
        return f"week {left}–{end.day} {end:%B %Y}"
    return f"{end:%A} {end.day} {end:%B %Y}"


def _previous(runs: list[dict], run: dict) -> dict | None:
    """The run of the same cadence just before `run` (for daily comparisons)."""
    older = [r for r in runs if r.get("cadence") == run.get("cadence")
             and r.get("date", "") < run.get("date", "")]
    return max(older, key=lambda r: r.get("date", "")) if older else None


# The twin each cadence records of a figure for the period before (front page, digest).
TWIN_OF = {"daily": None, "weekly": "_prev_week", "monthly": "_prev_month"}
_BEFORE = {"daily": "day before", "weekly": "week before", "monthly": "month before"}


def _figure_rows(runs: list[dict], run: dict, currency: str | None) -> str:
    """Each headline figure: label, latest value, the period before and the change."""
    esc = html.escape
    cadence = run.get("cadence", "")
    kpis = run.get("kpis") or {}
    twin = TWIN_OF.get(cadence)
    before_run = None if twin else _previous(runs, run)
    twins = tuple(glossary.TWINS)
    rows = []
    for name, value in kpis.items():
        if name.endswith(twins):
            continue
        found = glossary.entry(name)
        unit = found.unit if found else "number"
        before = kpis.get(name + twin) if twin else \
            (before_run or {}).get("kpis", {}).get(name)
        meaning = esc(found.meaning, quote=True) if found else ""
        rows.append(
            f'<tr><td title="{meaning}">{esc(glossary.label(name))}</td>'
            f'<td class="num">{esc(glossary.format_value(value, unit, currency=currency))}</td>'
            f'<td class="num">{esc(glossary.format_value(before, unit, currency=currency))}</td>'
            f'<td class="num">{esc(display.change(value, before, unit=unit, currency=currency))}'
            f"</td></tr>")
    before_head = _BEFORE.get(cadence, "before").capitalize()
    if before_run and dt.date.fromisoformat(run["date"]) - \
            dt.date.fromisoformat(before_run["date"]) != dt.timedelta(days=1):
        before_head = period_words(before_run)
    return (f"<table><tr><th>Figure</th><th>Latest</th><th>{esc(before_head)}</th>"
            f"<th>Change</th></tr>{''.join(rows)}</table>")


def red_flags(latest: dict[str, dict], currency: str | None) -> list[tuple[str, str, str]]:
    """Failed reports, warnings to read first and urgent figures above zero, in words.

    Each flag is (text, report, link): `report` is the title of a failed report within
    `text` (else '') and `link` its HTML page (else ''). The front page and the digest
    both show these.

    >>> red_flags({"daily": {"notebooks": [{"name": "journal", "status": "timed_out",
    ...     "html": "daily/2025-11-30/journal.html"}], "kpis": {"count_refunds_due": 2}}}, "GBP")
    ... # doctest: +NORMALIZE_WHITESPACE
    [('The daily report Journal did not complete: timed out.', 'Journal',
      'daily/2025-11-30/journal.html'), ('Refunds due: 2', '', '')]
    """
    items = []
    for cadence, run in latest.items():
        for nb in run.get("notebooks", []):
            if nb.get("status") != "ok":
                name = glossary.words(str(nb.get("name", "?")))
                items.append((f"The {cadence} report {name} did not complete: "
                              f"{_failure_reason(nb)}.", name, nb.get("html") or ""))
        for warning in run.get("warnings", []):
            if warning.get("code") != "no_data":
                items.append((str(warning.get("message", warning.get("code", ""))), "", ""))
        for name, value in (run.get("kpis") or {}).items():
            found = glossary.entry(name)
            if found and found.urgent and name == found.name and value and value > 0:
                items.append((f"{found.label}: "
                              f"{glossary.format_value(value, found.unit, currency=currency)}",
                              "", ""))
    return list(dict.fromkeys(items))


def _red_flags(latest: dict[str, dict], currency: str | None) -> list[str]:
    """The red flags as HTML items, a failed report's title linked to its page."""
    items = []
    for text, report, link in red_flags(latest, currency):
        if report and link:
            start = text.index(f" {report} did not complete") + 1
            before, after = text[:start], text[start + len(report):]
            items.append(f'{html.escape(before)}<a class="failed" href="{_href(link)}">'
                         f"{html.escape(report)}</a>{html.escape(after)}")
        else:
            items.append(html.escape(text))
    return items


def _failure_reason(nb: dict, limit: int = 240) -> str:
    """Why a report did not complete, in one short line (its status when no error is kept).

    >>> _failure_reason({"status": "failed", "error": "not run: orders.order_id is empty\\nmore"})
    'not run: orders.order_id is empty'
    >>> _failure_reason({"status": "timed_out"})
    'timed out'
    """
    error = str(nb.get("error") or "").strip().splitlines()
    reason = error[0] if error else str(nb.get("status", "failed")).replace("_", " ")
    return reason if len(reason) <= limit else reason[:limit - 1] + "…"


def _todo(out_dir: Path, daily: dict | None) -> str:
    """The latest daily to-do count, linked to the journal's list."""
    if not daily:
        return '<div class="todo">No daily run yet.</div>'
    count = (daily.get("kpis") or {}).get("count_todo_tasks")
    journal = next((nb for nb in daily.get("notebooks", []) if nb.get("name") == "journal"),
                   None)
    link = f'<a href="{_href(journal["html"])}">the to-do list</a>' \
        if journal and journal.get("html") else "the to-do list"
    shown = "–" if count is None else f"{count:,.0f}"
    things = "thing" if count == 1 else "things"
    return (f'<div class="todo"><div class="big">{shown}</div>{things} to do today — see '
            f"{link} ({html.escape(period_words(daily))})</div>")


def _list_links(run: dict) -> str:
    """The run's action lists (CSV files for e-mail tools and calls), linked, with counts.

    >>> _list_links({"lists": {"win_back": {"rows": 3, "file": "monthly/x/lists/win_back.csv"}}})
    '<p class="lists">Lists to act on: <a href="monthly/x/lists/win_back.csv">Win back</a> (3)</p>'
    """
    lists = run.get("lists") or {}
    links = [f'<a href="{_href(item["file"])}">{html.escape(glossary.words(name))}</a> '
             f'({item["rows"]:,})' for name, item in sorted(lists.items())]
    return f'<p class="lists">Lists to act on: {" · ".join(links)}</p>' if links else ""


def _report_list(out_dir: Path, latest: dict[str, dict]) -> str:
    esc = html.escape
    blocks = []
    for cadence, run in latest.items():
        items = []
        for nb in run.get("notebooks", []):
            title, question = heading(out_dir, nb)
            failed = nb.get("status") != "ok"
            css = ' class="failed"' if failed else ""
            text = esc(title) + (f" (did not complete: {esc(str(nb.get('status')))})"
                                 if failed else "")
            link = f'<a{css} href="{_href(nb["html"])}">{text}</a>' if nb.get("html") \
                else f"<span{css}>{text}</span>"
            items.append(f'<li>{link}<span class="q">{esc(question)}</span></li>')
        blocks.append(f"<div><h3>{esc(cadence.capitalize())}: {esc(period_words(run))}</h3>"
                      f"<ul>{''.join(items)}</ul>{_list_links(run)}</div>")
    return f'<div class="reports">{"".join(blocks)}</div>'


def _calendar(runs: list[dict], *, months: int = 13) -> str:
    """The run history: one small month calendar per month with runs, newest first.

    A day is green when every run of that date completed, red (linked to the first
    failed report) when one did not.
    """
    esc = html.escape
    by_day: dict[dt.date, list[dict]] = {}
    for run in runs:
        try:
            by_day.setdefault(dt.date.fromisoformat(run.get("date", "")), []).append(run)
        except ValueError:
            continue
    if not by_day:
        return ""
    firsts = sorted({day.replace(day=1) for day in by_day}, reverse=True)[:months]
    tables = []
    for first in firsts:
        weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
        rows = []
        for week in weeks:
            cells = []
            for day in week:
                if day.month != first.month:
                    cells.append("<td></td>")
                    continue
                day_runs = by_day.get(day, [])
                failed = [(r, nb) for r in day_runs for nb in r.get("notebooks", [])
                          if nb.get("status") != "ok"] + \
                    [(r, None) for r in day_runs if r.get("status") not in ("ok", "failed")]
                what = ", ".join(r.get("cadence", "?") for r in day_runs)
                if not day_runs:
                    cells.append(f'<td class="none" title="no run">{day.day}</td>')
                elif failed:
                    run, nb = failed[0]
                    tip = esc(f"{what}: {glossary.words(str(nb.get('name')))} did not "
                              f"complete: {_failure_reason(nb)}" if nb else
                              f"{what}: {run.get('status')}", quote=True)
                    inner = f'<a href="{_href(nb["html"])}" title="{tip}">{day.day}</a>' \
                        if nb and nb.get("html") else f'<span title="{tip}">{day.day}</span>'
                    cells.append(f'<td class="failed">{inner}<span class="d">failed</span></td>')
                else:
                    cells.append(f'<td class="ok" title="{esc(what, quote=True)}: all reports '
                                 f'complete">{day.day}<span class="d">ok</span></td>')
            rows.append(f"<tr>{''.join(cells)}</tr>")
        head = "".join(f"<th>{d}</th>" for d in ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"))
        tables.append(f'<div class="month"><h3>{first:%B %Y}</h3><table><tr>{head}</tr>'
                      f"{''.join(rows)}</table></div>")
    return f'<div class="months">{"".join(tables)}</div>'


def render_index(runs: list[dict[str, Any]], *, store_name: str, currency: str | None = None,
                 out_dir: Path | None = None) -> str:
    """The front page: today's to-do count and red flags; every latest report with its
    question; headline figures against the period before; the run history as a calendar.

    Figures show their glossary labels, units and `currency`, never their machine names.

    >>> page = render_index([{"cadence": "daily", "date": "2025-11-30", "status": "failed",
    ...     "kpis": {"count_orders": 12}, "warnings": [],
    ...     "notebooks": [{"name": "<b>x</b>", "status": "failed", "error": "boom",
    ...                    "html": "daily/2025-11-30/x.html"}]}], store_name="A & B")
    >>> "A &amp; B" in page and "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x" not in page
    True
    """
    esc = html.escape
    out_dir = Path(out_dir or ".")
    newest: dict[str, dict] = {}
    for run in runs:
        newest.setdefault(run.get("cadence", ""), run)
    # the latest run of each cadence that has one, daily first
    latest = {cadence: newest[cadence] for cadence in CADENCES if cadence in newest}
    head = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(store_name)}: reports</title><style>{_INDEX_CSS}</style></head>"
            f"<body><h1>{esc(store_name)}: reports</h1>")
    if not runs:
        return (head + "<p>No runs yet: <code>playbook run all</code> makes the first ones."
                "</p></body></html>\n")
    flags = _red_flags(latest, currency)
    flag_box = (f'<div class="flags"><strong>Red flags</strong><ul>'
                f"{''.join(f'<li>{item}</li>' for item in flags)}</ul></div>") if flags else \
        '<div class="flags clear"><strong>No red flags</strong>: every latest report ' \
        'completed and nothing urgent is waiting.</div>'
    figures = "".join(
        f"<div><h3>{esc(cadence.capitalize())}: {esc(period_words(latest[cadence]))}</h3>"
        f"{_figure_rows(runs, latest[cadence], currency)}</div>"
        for cadence in CADENCES if latest.get(cadence, {}).get("kpis"))
    return (head + '<p class="sub">Start here each morning: what needs doing, the latest '
            "reports, the figures behind them and how the runs went.</p>"
            f'<h2>Today</h2><div class="today">{_todo(out_dir, latest.get("daily"))}'
            f"{flag_box}</div>"
            f"<h2>Latest reports</h2>{_report_list(out_dir, latest)}"
            f"<h2>Headline figures</h2>"
            f'<div class="figures">{figures or "<p>No figures recorded yet.</p>"}</div>'
            f'<h2>Run history</h2><p class="legend">Green: every report of the day '
            f"completed. Red: one did not — click the day to open it.</p>{_calendar(runs)}"
            f"</body></html>\n")


def write_index(out_dir: Path, *, store_name: str, currency: str | None = None) -> Path:
    """Rewrite OUT/index.html from every run.json under OUT (atomically).

    Runs of different cadences may finish at the same moment in different processes; a
    lock file makes each rewrite read the runs on disk after the previous rewrite.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".index.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        return write_text_atomic(out_dir / "index.html",
                                 render_index(read_runs(out_dir), store_name=store_name,
                                              currency=currency, out_dir=out_dir))
