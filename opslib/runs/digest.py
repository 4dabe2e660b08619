"""The digest: after a run, what to do, which figures are off, how they compare, where to read.

With `[runs] send_digest = true`, `playbook run` sends one digest per cadence it ran, for
the newest date it filed (a catch-up sends one, not one per day), by the webhook and mail
that failure notices use (opslib.runs.notify). A run none of whose reports completed sends
no digest: its failure notice says it all. A partly failed run sends its failure notice,
then its digest, which names the reports that did not complete. A run of one report
(`--only`) sends none.

* Daily: the top TOP_TODO tasks of the journal's to-do list; the KPIs of the daily KPI
  report against a usual day (the average of the last four same weekdays, the report's own
  comparison), flagged by the report's rule (its band in `[targets.bands]`, else more than
  `alert_band` away from that average).
* Weekly and monthly: each figure recorded with its `_prev_week` / `_prev_month` twin,
  against it, flagged by the weekly and monthly rule (opslib.metrics.flags: the band, else
  more than `alert_band` away from the period before or the same period last year).
* Every cadence: the red flags of the front page for that run (reports that did not
  complete, warnings to read first, urgent figures above zero) and where the reports are.

A digest holds counts, figures, labels, report titles and the to-do lines the product
writes (order numbers, SKUs, product and calendar titles); never a customer's name,
address or words. Text from the data is put on one line, cut short, and its angle
brackets replaced, so a chat app reads no mention or link into it.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from opslib import display, glossary
from opslib.config import Settings
from opslib.metrics import flags, periods
from opslib.metrics.kpis import KPIS
from opslib.runs import notify, reports

__all__ = ["TOP_TODO", "plain", "build", "report_links", "send_digests"]

TOP_TODO = 5  # to-do tasks in a digest
_TOP_LINES = 9  # flags and figures in the text (the JSON has them all)
_LIMIT = 160  # characters of one line of text from the data


def plain(text: object, limit: int = _LIMIT) -> str:
    """Text from the data as one short line that no chat app or mail reader interprets.

    >>> plain("Restock <!channel>\\n  Mug\\u202e & saucer")
    'Restock ‹!channel› Mug & saucer'
    >>> plain("x" * 200, limit=5)
    'xxxx…'
    """
    kept = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in str(text))
    line = " ".join(kept.split()).replace("<", "‹").replace(">", "›")
    return line if len(line) <= limit else line[:limit - 1] + "…"


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _figure(name: str, value: float | None, before: float | None, compared_with: str,
            currency: str | None, short: str) -> dict[str, Any]:
    unit = glossary.unit(name)
    moved = display.change(value, before, unit=unit, currency=currency)
    shown = (f"{glossary.label(name)}: {glossary.format_value(value, unit, currency=currency)}"
             f" ({moved}; {short} "
             f"{glossary.format_value(before, unit, currency=currency)})")
    return {"name": name, "label": glossary.label(name), "value": value, "before": before,
            "change": periods.change(value, before), "compared_with": compared_with,
            "shown": shown}


def _flag(figure: dict[str, Any], reason: str, currency: str | None) -> dict[str, Any]:
    unit = glossary.unit(figure["name"])
    value = glossary.format_value(figure["value"], unit, currency=currency)
    return {**{k: figure[k] for k in ("name", "label", "value", "before")}, "reason": reason,
            "shown": f"{figure['label']} {value}: {reason}"}


def _daily_figures(usual: pd.DataFrame, day: dt.date, settings: Settings
                   ) -> tuple[list[dict], list[dict]]:
    """The daily KPI report's rows: figures against a usual day, and the flagged ones."""
    currency, targets = settings.store.currency, settings.targets
    against = f"average of the last 4 {day:%A}s"
    figures, flagged = [], []
    for row in usual.itertuples():
        figure = _figure(row.kpi, _number(row.value), _number(row.avg_last_4_same_weekdays),
                         against, currency, "usual")
        figures.append(figure)
        if row.is_flagged:
            reason = flags.flag_reason(row.kpi, figure["value"], None, None,
                                       alert_band=targets.alert_band, bands=targets.bands)
            if not reason:
                change = _number(row.change_vs_avg) or 0.0
                reason = f"{'up' if change > 0 else 'down'} {abs(change):.0%} on the {against}"
            flagged.append(_flag(figure, reason, currency))
    return figures, flagged


def _period_figures(run: Mapping[str, Any], settings: Settings) -> tuple[list[dict], list[dict]]:
    """Each figure with a twin of the period before, against it, and the flagged ones."""
    currency, targets = settings.store.currency, settings.targets
    twin = reports.TWIN_OF[run["cadence"]]
    kpis = run.get("kpis") or {}
    names = [n for n in kpis if n + twin in kpis]
    first = [k.name for k in KPIS if k.name in names]
    figures, flagged = [], []
    for name in first + [n for n in names if n not in first]:
        figure = _figure(name, _number(kpis[name]), _number(kpis[name + twin]),
                         glossary.TWINS[twin], currency, glossary.TWINS[twin])
        figures.append(figure)
        year = _number(kpis.get(name + "_prev_year"))
        reason = flags.flag_reason(name, figure["value"], figure["change"],
                                   periods.change(figure["value"], year),
                                   alert_band=targets.alert_band, bands=targets.bands)
        if reason:
            flagged.append(_flag(figure, reason, currency))
    return figures, flagged


def report_links(run: Mapping[str, Any], *, out_dir: Path, reports_url: str = "") -> dict:
    """Where the reports are: the front page, the run's folder and each report's page,
    as web addresses under `reports_url` when it is set, else as paths on this machine."""
    def where(path: str) -> str:
        if reports_url:
            return f"{reports_url.rstrip('/')}/{urllib.parse.quote(path)}"
        return str(out_dir / path)

    pages = [{"title": plain(reports.heading(out_dir, nb)[0]), "status": nb.get("status"),
              "link": where(nb["html"])}
             for nb in run.get("notebooks", []) if nb.get("html")]
    return {"index": where("index.html"), "folder": where(f"{run['cadence']}/{run['date']}/"),
            "pages": pages}


def build(run: Mapping[str, Any], *, settings: Settings, links: Mapping[str, Any],
          todo: Sequence[Mapping[str, Any]] | None = None,
          usual: pd.DataFrame | None = None) -> tuple[str, dict[str, Any]]:
    """One run's digest: (mail subject, webhook payload whose `text` is the mail body).

    `run` is its run.json; for a daily run, `todo` is the journal's to-do list (area, task,
    count) and `usual` the daily KPI report's comparison (opslib.metrics.kpis.compare_kpis);
    either is None when its report did not complete.
    """
    cadence, store = run["cadence"], plain(settings.store.name)
    when = reports.period_words(run)
    if cadence == "daily":
        day = dt.date.fromisoformat(run["date"])
        figures, flagged = _daily_figures(usual, day, settings) if usual is not None \
            else ([], [])
        against = f"a usual {day:%A} (the average of the last 4 {day:%A}s)"
    else:
        figures, flagged = _period_figures(run, settings)
        against = f"the {glossary.TWINS[reports.TWIN_OF[cadence]]}"
    tasks = [{"area": plain(t["area"]), "task": plain(t["task"]), "count": int(t["count"])}
             for t in (todo or [])]
    notes = [plain(text, limit=2 * _LIMIT) for text, _, _ in
             reports.red_flags({cadence: dict(run)}, settings.store.currency)]

    lines = [f"{store} · {cadence} digest · {when}"]
    if todo is not None:
        lines += ["", f"To do: {len(tasks)} task{'s' * (len(tasks) != 1)}"
                  + (f", the first {TOP_TODO}:" if len(tasks) > TOP_TODO else
                     (":" if tasks else " — every check is clear."))]
        lines += [f"• {t['area']}: {t['task']}" for t in tasks[:TOP_TODO]]
    lines += _block(f"Figures to look at ({len(flagged)}):", [f["shown"] for f in flagged])
    lines += _block(f"Against {against}:", [f["shown"] for f in figures])
    lines += _block("Check first:", notes)
    lines += ["", f"Reports: {links['index']}"]

    counts = [f"{len(tasks)} to do"] if todo is not None else []
    counts.append(f"{len(flagged)} figure{'s' * (len(flagged) != 1)} off")
    subject = f"{store}: {cadence} digest for {when} ({', '.join(counts)})"
    payload = {"text": "\n".join(lines), "store": store, "cadence": cadence,
               "date": run["date"], "period": when, "status": run.get("status"),
               "todo": tasks[:TOP_TODO], "todo_total": len(tasks) if todo is not None else None,
               "flags": flagged, "figures": figures, "notes": notes, "reports": dict(links)}
    return subject, payload


def _block(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    more = len(items) - _TOP_LINES
    return ["", title, *[f"• {item}" for item in items[:_TOP_LINES]],
            *([f"  and {more} more in the reports"] if more > 0 else [])]


def _daily_parts(run: Mapping[str, Any], *, data_dir: Path, settings: Settings
                 ) -> tuple[list[dict] | None, pd.DataFrame | None]:
    """The journal's to-do list and the KPI report's comparison, each computed as its
    report does when that report completed in this run (None otherwise)."""
    done = {nb.get("name") for nb in run.get("notebooks", []) if nb.get("status") == "ok"}
    if not done & {"journal", "kpis"}:
        return None, None
    from opslib.store import Store
    from opslib.views.daily import data, journal

    store = Store.open(data_dir, settings)
    day = dt.date.fromisoformat(run["date"])
    todo = usual = None
    if "journal" in done:
        frame, _ = journal.todo_frame(store, day)
        todo = [{"area": r.area, "task": r.task, "count": r.count_items}
                for r in frame.itertuples()]
    if "kpis" in done:
        usual = data.kpi_comparison(store, day)
    return todo, usual


def send_digests(runs: Sequence[Mapping[str, Any]], *, data_dir: Path, out_dir: Path,
                 settings: Settings) -> list[str]:
    """Send the digest of the newest run of each cadence in `runs` (run.json summaries);
    return one line per channel tried or digest skipped. Never raises."""
    newest: dict[str, Mapping[str, Any]] = {}
    for run in runs:
        if run["date"] >= newest.get(run["cadence"], {}).get("date", ""):
            newest[run["cadence"]] = run
    outcome = []
    for cadence in reports.CADENCES:
        run = newest.get(cadence)
        if run is None:
            continue
        if not any(nb.get("status") == "ok" for nb in run.get("notebooks", [])):
            outcome.append(f"No {cadence} digest for {run['date']}: none of its reports "
                           f"completed.")
            continue
        try:
            todo, usual = _daily_parts(run, data_dir=data_dir, settings=settings) \
                if cadence == "daily" else (None, None)
            links = report_links(run, out_dir=out_dir, reports_url=settings.runs.reports_url)
            subject, payload = build(run, settings=settings, links=links, todo=todo,
                                     usual=usual)
        except Exception as err:  # a digest that cannot be built must not fail the run
            outcome.append(f"Could not build the {cadence} digest for {run['date']}: "
                           f"{type(err).__name__}: {plain(err)}")
            continue
        outcome += notify.send_notice(f"{cadence.capitalize()} digest", subject=subject,
                                      body=payload["text"], payload=payload,
                                      runs=settings.runs)
    return outcome
