"""Reports on disk: the HTML export of a run notebook, run.json, the index, retention.

A run of one cadence for one date lives in `OUT/<cadence>/<date>/`: `<notebook>.ipynb`,
`<notebook>.html` and `run.json`. `OUT/index.html` lists every run. The HTML is
self-contained: no code, no prompts, and nothing loaded from the internet (no script, style
sheet, font, require.js, MathJax or widget manager from a CDN), so it can be mailed or
archived as it is.

>>> format_figure("conversion_rate", 0.0321), format_figure("net_sales", 1234.5)
('3.2%', '1,234.50')
>>> format_figure("count_orders", 41.0), format_figure("aov", None)
('41', '–')
>>> format_figure("conversion_rate_prev_week", 0.02), format_figure("repeat_rate_90d", 0.19)
('2.0%', '19.0%')
"""

from __future__ import annotations

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
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nbformat

__all__ = [
    "KPIS_MIME", "WARNINGS_MIME", "collect_outputs", "export_html", "write_text_atomic",
    "write_run_json", "read_runs", "last_successful", "write_index", "render_index",
    "prune_runs", "format_figure",
]

# The MIME types opslib.display gives recorded figures and warnings (kept in step by a test).
KPIS_MIME = "application/vnd.opslib.kpis+json"
WARNINGS_MIME = "application/vnd.opslib.warnings+json"
CADENCES = ("daily", "weekly", "monthly")
RUN_FILE = "run.json"

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


def export_html(nb: nbformat.NotebookNode, *, title: str, error: str | None = None,
                warnings: Iterable[dict] = ()) -> str:
    """The notebook as one self-contained HTML page: outputs only, banner on top.

    `error` (a failed, timed-out or killed run) and `warnings` other than 'no data' (stale
    data, for one) are shown in a box above everything else. The figures output of
    `opslib.record` is left out of the page (it is plumbing for run.json).
    """
    shown = nbformat.from_dict(json.loads(json.dumps(nb)))  # a copy: the input is not changed
    for cell in shown.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", [])
                            if KPIS_MIME not in o.get("data", {})]
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


def prune_runs(out_dir: Path, *, retention_days: int) -> list[Path]:
    """Delete run folders more than `retention_days` older than the newest run in OUT.

    Counting from the newest report (not from the clock) means re-running an old date
    never removes newer reports. Returns the folders removed.
    """
    dated = [(day, folder) for cadence in CADENCES
             for day, folder in _date_folders(out_dir, cadence)]
    if not dated:
        return []
    cutoff = max(day for day, _ in dated) - dt.timedelta(days=retention_days)
    removed = []
    for day, folder in dated:
        if day < cutoff:
            shutil.rmtree(folder)
            removed.append(folder)
    return removed


_MONEY_WORDS = ("amount", "sales", "revenue", "value", "cost", "spend", "aov", "balance")


def format_figure(name: str, value: float | None) -> str:
    """A recorded figure for people: rates as %, money with two decimals, counts whole."""
    if value is None:
        return "–"
    if re.search(r"_(rate|share)(_|$)", name):
        return f"{value:.1%}"
    if any(word in name for word in _MONEY_WORDS) or not float(value).is_integer():
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def _href(path: str) -> str:
    return html.escape(urllib.parse.quote(path), quote=True)


_INDEX_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#1f2328;
 max-width:1100px;margin:0 auto;padding:16px 24px}
table{border-collapse:collapse;margin:6px 0 20px;font-size:14px}
th{text-align:left;background:#f6f8fa;border-bottom:2px solid #d0d7de;padding:4px 10px}
td{border-bottom:1px solid #eaeef2;padding:4px 10px;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#2da44e;font-weight:600}.failed,.failed a{color:#c62828;font-weight:600}
.unknown{color:#9a6700;font-weight:600}.warn{color:#9a6700}
a{color:#0969da;margin-right:10px}
.figures{display:flex;flex-wrap:wrap;gap:24px}
"""


def render_index(runs: list[dict[str, Any]], *, store_name: str) -> str:
    """The reports index: latest headline figures per cadence, then every run, newest first.

    >>> page = render_index([{"cadence": "daily", "date": "2025-11-30", "status": "failed",
    ...     "kpis": {"count_orders": 12}, "warnings": [],
    ...     "notebooks": [{"name": "<b>x</b>", "status": "failed", "error": "boom",
    ...                    "html": "daily/2025-11-30/x.html"}]}], store_name="A & B")
    >>> "A &amp; B" in page and "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x" not in page
    True
    """
    esc = html.escape
    latest: dict[str, dict] = {}
    for run in runs:
        latest.setdefault(run.get("cadence", ""), run)
    figure_tables = []
    for cadence in CADENCES:
        run = latest.get(cadence)
        if not run or not run.get("kpis"):
            continue
        rows = "".join(f'<tr><td>{esc(name)}</td><td class="num">'
                       f"{esc(format_figure(name, value))}</td></tr>"
                       for name, value in run["kpis"].items())
        figure_tables.append(f"<div><h3>{esc(cadence.capitalize())}, {esc(run['date'])}</h3>"
                             f"<table><tr><th>figure</th><th>value</th></tr>{rows}</table></div>")
    run_rows = []
    for run in runs:
        status = run.get("status", "unknown")
        notebooks = run.get("notebooks", [])
        failed = [nb for nb in notebooks if nb.get("status") != "ok"]
        label = "ok" if status == "ok" else \
            f"{len(failed)} failed" if status == "failed" else status
        links = []
        for nb in notebooks:
            css = "" if nb.get("status") == "ok" else ' class="failed"'
            title = f' title="{esc(str(nb.get("error") or ""), quote=True)}"' if css else ""
            text = esc(nb.get("name", "?")) + ("" if not css else f" ({esc(nb['status'])})")
            target = nb.get("html")
            links.append(f'<a{css}{title} href="{_href(target)}">{text}</a>' if target
                         else f"<span{css}>{text}</span>")
        warns = [w for w in run.get("warnings", []) if w.get("code") != "no_data"]
        warn_cell = "" if not warns else f'<span class="warn">{len(warns)} warning(s): ' + \
            esc("; ".join(str(w.get("message", "")) for w in warns[:3])) + "</span>"
        run_rows.append(
            f'<tr><td>{esc(run.get("date", "?"))}</td><td>{esc(run.get("cadence", "?"))}</td>'
            f'<td class="{esc(status if status in ("ok", "failed") else "unknown")}">'
            f"{esc(label)}</td><td>{''.join(links)}</td><td>{warn_cell}</td></tr>")
    figures = "".join(figure_tables) or "<p>No figures recorded yet.</p>"
    listing = ("<table><tr><th>date</th><th>cadence</th><th>status</th><th>reports</th>"
               f"<th>warnings</th></tr>{''.join(run_rows)}</table>") if run_rows else \
        "<p>No runs yet: <code>playbook run all</code> makes the first ones.</p>"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(store_name)}: reports</title><style>{_INDEX_CSS}</style></head>"
            f"<body><h1>{esc(store_name)}: reports</h1><h2>Latest headline figures</h2>"
            f'<div class="figures">{figures}</div><h2>Runs</h2>{listing}</body></html>\n')


def write_index(out_dir: Path, *, store_name: str) -> Path:
    """Rewrite OUT/index.html from every run.json under OUT (atomically).

    Runs of different cadences may finish at the same moment in different processes; a
    lock file makes each rewrite read the runs on disk after the previous rewrite.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".index.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        return write_text_atomic(out_dir / "index.html",
                                 render_index(read_runs(out_dir), store_name=store_name))
