"""The digest (`[runs] send_digest`): golden digests built from hand-written run.json files,
its rules as properties, the settings, and real runs posting it to a local HTTP listener
and SMTP server (the fixtures of test_notify)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tomllib
import unicodedata
from email.header import decode_header, make_header
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from demo_data import DEMO_UNTIL
from opslib.config import Settings
from opslib.errors import SettingsError
from opslib.metrics import flags, periods
from opslib.runs import digest, notify, runner
from opslib.runs.runner import run
from test_notify import smtp, webhook  # noqa: F401 (fixtures)
from test_runner import empty_data_dir, make_notebook

ROOT = Path(__file__).resolve().parents[1]
URL = "https://reports.shop.test/ops"


BANDS = {"alert_band": 0.3, "bands": {"conversion_rate": {"low": 0.01}}}


def shop(targets: dict = BANDS, **runs) -> Settings:
    return Settings.from_dict({
        "store": {"name": "Test Shop", "timezone": "Europe/London", "currency": "GBP"},
        "targets": targets, "runs": runs})


def notebook(name: str, status: str = "ok", **extra) -> dict:
    return {"name": name, "status": status, "seconds": 1.0, "attempts": 1,
            "ipynb": f"daily/2025-11-30/{name}.ipynb", "html": f"daily/2025-11-30/{name}.html",
            "error": None, "warnings": [], **extra}


DAILY = {
    "cadence": "daily", "date": "2025-11-30",
    "period": {"start": "2025-11-30", "end": "2025-11-30"}, "status": "failed",
    "notebooks": [notebook("journal"), notebook("kpis"),
                  notebook("stock_watch", "failed", error="RuntimeError: feed down")],
    "kpis": {"count_orders": 22.0, "count_todo_tasks": 6.0, "count_refunds_due": 2.0,
             "net_sales": 1909.21},
    "warnings": [{"notebook": "journal", "code": "stale_data",
                  "message": "The newest order is 3 days before the report date."},
                 {"notebook": "kpis", "code": "no_data", "message": "No ad spend data."}],
}
TODO = [
    {"area": "Shipping", "task": "Ship 3 order(s) past the 24 h ship-by promise (oldest #1001, "
                                 "placed 2 day(s) ago)", "count": 3},
    {"area": "Stock", "task": "Restock MUG-1 <!channel>\nBig\u202e mug: a bestseller out of "
                              "stock", "count": 1},
    {"area": "Marketing", "task": "Post: Black Friday reel (planned Sat 29 Nov, overdue)",
     "count": 1},
    {"area": "Returns", "task": "Refund 2 return(s) waiting for their money (£80.00)",
     "count": 2},
    {"area": "Shipping", "task": "Send tracking numbers for 1 parcel(s) that left without one",
     "count": 1},
    {"area": "Stock", "task": "Reorder CUP-2 Cup: 4 days of cover left", "count": 1},
]
USUAL = pd.DataFrame({
    "kpi": ["count_sessions", "conversion_rate", "count_orders", "net_sales"],
    "value": [1500.0, 0.005, 22.0, 1909.21],
    "avg_last_4_same_weekdays": [1000.0, 0.02, 20.0, float("nan")],
    "change_vs_avg": [0.5, -0.75, 0.1, float("nan")],
    "is_flagged": [True, True, False, False]})

DAILY_TEXT = """\
Test Shop · daily digest · Sunday 30 November 2025

To do: 6 tasks, the first 5:
• Shipping: Ship 3 order(s) past the 24 h ship-by promise (oldest #1001, placed 2 day(s) ago)
• Stock: Restock MUG-1 ‹!channel› Big mug: a bestseller out of stock
• Marketing: Post: Black Friday reel (planned Sat 29 Nov, overdue)
• Returns: Refund 2 return(s) waiting for their money (£80.00)
• Shipping: Send tracking numbers for 1 parcel(s) that left without one

Figures to look at (2):
• Sessions 1,500: up 50% on the average of the last 4 Sundays
• Conversion rate 0.5%: below the band (low 0.01)

Against a usual Sunday (the average of the last 4 Sundays):
• Sessions: 1,500 (+50%; usual 1,000)
• Conversion rate: 0.5% (−1.5 pts; usual 2.0%)
• Orders: 22 (+10%; usual 20)
• Net sales: £1,909.21 (–; usual –)

Check first:
• The daily report Stock watch did not complete: RuntimeError: feed down.
• The newest order is 3 days before the report date.
• Refunds due: 2

Reports: https://reports.shop.test/ops/index.html"""


def test_golden_daily_digest(tmp_path):
    """A hand-written daily run.json, to-do list and KPI comparison give exactly this."""
    links = digest.report_links(DAILY, out_dir=tmp_path, reports_url=URL + "/")
    subject, payload = digest.build(DAILY, settings=shop(), links=links, todo=TODO,
                                    usual=USUAL)
    assert subject == "Test Shop: daily digest for Sunday 30 November 2025 (6 to do, " \
                      "2 figures off)"
    assert payload["text"] == DAILY_TEXT
    assert payload["todo"][1] == {"area": "Stock", "count": 1, "task": "Restock MUG-1 "
                                  "‹!channel› Big mug: a bestseller out of stock"}
    assert [t["count"] for t in payload["todo"]] == [3, 1, 1, 2, 1]
    assert payload["todo_total"] == 6
    assert payload["flags"] == [
        {"name": "count_sessions", "label": "Sessions", "value": 1500.0, "before": 1000.0,
         "reason": "up 50% on the average of the last 4 Sundays",
         "shown": "Sessions 1,500: up 50% on the average of the last 4 Sundays"},
        {"name": "conversion_rate", "label": "Conversion rate", "value": 0.005,
         "before": 0.02, "reason": "below the band (low 0.01)",
         "shown": "Conversion rate 0.5%: below the band (low 0.01)"}]
    assert payload["figures"][2] == {
        "name": "count_orders", "label": "Orders", "value": 22.0, "before": 20.0,
        "change": pytest.approx(0.1), "compared_with": "average of the last 4 Sundays",
        "shown": "Orders: 22 (+10%; usual 20)"}
    assert payload["figures"][3]["before"] is None and payload["figures"][3]["change"] is None
    assert payload["reports"] == {
        "index": f"{URL}/index.html", "folder": f"{URL}/daily/2025-11-30/",
        "pages": [{"title": "Journal", "status": "ok",
                   "link": f"{URL}/daily/2025-11-30/journal.html"},
                  {"title": "Kpis", "status": "ok", "link": f"{URL}/daily/2025-11-30/kpis.html"},
                  {"title": "Stock watch", "status": "failed",
                   "link": f"{URL}/daily/2025-11-30/stock_watch.html"}]}
    json.dumps(payload, allow_nan=False)  # plain JSON: no NaN, no pandas values


WEEKLY = {
    "cadence": "weekly", "date": "2025-11-30",
    "period": {"start": "2025-11-24", "end": "2025-11-30"}, "status": "ok",
    "notebooks": [{"name": "kpi_report", "status": "ok",
                   "html": "weekly/2025-11-30/kpi_report.html"}],
    "kpis": {"cash_in": 900.0, "cash_in_prev_week": None,
             "count_orders": 120.0, "count_orders_prev_week": 100.0,
             "net_sales": 4800.0, "net_sales_prev_week": 8000.0,
             "conversion_rate": 0.009, "conversion_rate_prev_week": 0.012,
             "count_skus_to_reorder": 4.0},
    "warnings": [],
}
WEEKLY_TEXT = """\
Test Shop · weekly digest · week 24–30 November 2025

Figures to look at (2):
• Conversion rate 0.9%: below the band (low 0.01)
• Net sales £4,800.00: down 40% vs the period before

Against the week before:
• Conversion rate: 0.9% (−0.3 pts; week before 1.2%)
• Orders: 120 (+20%; week before 100)
• Net sales: £4,800.00 (−40%; week before £8,000.00)
• Cash in: £900.00 (–; week before –)

Reports: /srv/out/index.html"""


def test_golden_weekly_digest():
    """Weekly: each figure against its `_prev_week` twin, KPIs first; no to-do section;
    flags by the weekly rule; a path to the reports when no reports_url is set."""
    links = digest.report_links(WEEKLY, out_dir=Path("/srv/out"))
    subject, payload = digest.build(WEEKLY, settings=shop(), links=links)
    assert subject == "Test Shop: weekly digest for week 24–30 November 2025 (2 figures off)"
    assert payload["text"] == WEEKLY_TEXT
    assert payload["todo"] == [] and payload["todo_total"] is None
    assert [f["name"] for f in payload["figures"]] == ["conversion_rate", "count_orders",
                                                       "net_sales", "cash_in"]
    assert payload["figures"][1]["compared_with"] == "week before"
    assert payload["reports"]["folder"] == "/srv/out/weekly/2025-11-30"


def test_monthly_digest_flags_against_last_year_too():
    """Monthly: against the month before, flagged also by the same month last year."""
    run = {"cadence": "monthly", "date": "2025-11-30", "status": "ok",
           "period": {"start": "2025-11-01", "end": "2025-11-30"}, "notebooks": [],
           "warnings": [], "kpis": {"count_orders": 100.0, "count_orders_prev_month": 95.0,
                                    "count_orders_prev_year": 50.0}}
    subject, payload = digest.build(run, settings=shop(), links={"index": "x"})
    assert subject == "Test Shop: monthly digest for November 2025 (1 figure off)"
    assert payload["flags"][0]["reason"] == "up 100% vs last year"
    assert "• Orders: 100 (+5%; month before 95)" in payload["text"]


def body(message) -> str:
    """A received mail's text as sent (SMTP carries CRLF line ends)."""
    return message.get_payload(decode=True).decode("utf-8").replace("\r\n", "\n").strip()


def test_quiet_day_says_so():
    """An empty to-do list says every check is clear; no KPI report, no figures."""
    subject, payload = digest.build({**DAILY, "notebooks": [notebook("journal")],
                                     "kpis": {}, "warnings": []},
                                    settings=shop(), links={"index": "x"}, todo=[])
    assert subject.endswith("(0 to do, 0 figures off)")
    assert payload["text"].splitlines()[2] == "To do: 0 tasks — every check is clear."
    assert payload["figures"] == payload["flags"] == payload["notes"] == []


NAMES = ("count_orders", "net_sales", "conversion_rate", "avg_order_value", "refund_amount")
values = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False))


@hsettings(max_examples=40, deadline=None)
@given(st.dictionaries(st.sampled_from(NAMES), st.tuples(values, values), min_size=1),
       st.sampled_from([0.1, 0.3, 0.5]))
def test_weekly_flags_are_the_weekly_reports_flags(figures, band):
    """The digest flags exactly the figures the weekly report's comparison flags
    (periods.compare_periods + flags.flag_periods), whatever the values."""
    kpis = {}
    for name, (now, before) in figures.items():
        kpis.update({name: now, f"{name}_prev_week": before})
    run = {**WEEKLY, "kpis": kpis}
    settings = Settings.from_dict({"targets": {"alert_band": band,
                                               "bands": {"refund_amount": {"high": 500}}}})
    _, payload = digest.build(run, settings=settings, links={"index": "x"})
    rows = [(n, n, "number") for n in figures]
    frame = flags.flag_periods(
        periods.compare_periods(rows, {n: v[0] for n, v in figures.items()},
                                {n: v[1] for n, v in figures.items()}),
        alert_band=band, bands=settings.targets.bands)
    assert {f["name"] for f in payload["flags"]} == set(frame.kpi[frame.is_flagged])
    assert {f["name"] for f in payload["figures"]} == set(figures)


@hsettings(max_examples=50, deadline=None)
@given(st.text(), st.integers(2, 200))
def test_plain_is_one_short_inert_line(text, limit):
    """No control, format or line-break character, no angle bracket, within the limit."""
    line = digest.plain(text, limit=limit)
    assert len(line) <= limit and "<" not in line and ">" not in line
    assert all(ch == " " or unicodedata.category(ch)[0] not in "CZ" for ch in line)
    assert line == line.strip() or line.endswith("…")


def test_settings_send_digest_and_reports_url():
    """send_digest needs a channel and is true/false; reports_url is a web address; the
    shipped playbook.toml and the workspace template both say send_digest = false."""
    assert shop(send_digest=True, webhook_url="https://hooks.test/x").runs.send_digest
    with pytest.raises(SettingsError, match="send_digest"):
        shop(send_digest=True)
    with pytest.raises(SettingsError, match="runs.send_digest"):
        shop(send_digest="yes", smtp_host="mail.test")
    with pytest.raises(SettingsError, match="runs.reports_url"):
        shop(reports_url="reports.shop.test")
    for path in (ROOT / "playbook.toml", ROOT / "opslib/workspace_template/playbook.toml"):
        text = path.read_text(encoding="utf-8")
        assert Settings.from_dict(tomllib.loads(text)).runs.send_digest is False
        assert "send_digest = false          # " in text
    # the kernels never see where the digest goes (nor fail on send_digest without a channel)
    kernel = runner.settings_toml(shop(send_digest=True, webhook_url="https://h.test/s",
                                       reports_url=URL))
    assert "send_digest" not in kernel and URL not in kernel
    Settings.from_dict({"runs": tomllib.loads(kernel)["runs"]})


def test_one_digest_per_cadence_and_none_without_a_completed_report(tmp_path, webhook):
    """A catch-up sends the newest date's digest only; a run whose reports all failed
    sends none; a digest that cannot be built is a line, never an exception."""
    url, received = webhook
    older = {**WEEKLY, "date": "2025-11-23"}
    failed = {**DAILY, "notebooks": [notebook("journal", "failed", error="boom")]}
    lines = digest.send_digests([WEEKLY, older, failed], data_dir=tmp_path, out_dir=tmp_path,
                                settings=shop(send_digest=True, webhook_url=url))
    assert lines == ["No daily digest for 2025-11-30: none of its reports completed.",
                     "Weekly digest posted to the webhook."]
    assert [(p["cadence"], p["date"]) for p in received] == [("weekly", "2025-11-30")]
    lines = digest.send_digests([DAILY], data_dir=tmp_path / "absent", out_dir=tmp_path,
                                settings=shop(send_digest=True, webhook_url=url))
    assert len(lines) == 1 and lines[0].startswith("Could not build the daily digest for "
                                                   "2025-11-30: MissingFileError")
    assert len(received) == 1


def test_digest_mail_and_unreachable_channels(tmp_path, smtp):
    """The mail's subject and body are the digest's; a dead webhook is a line of text."""
    port, received = smtp
    settings = shop(send_digest=True, smtp_host="127.0.0.1", smtp_port=port,
                    mail_from="ops@shop.test", mail_to="owner@shop.test",
                    webhook_url="http://127.0.0.1:9/hook")
    lines = digest.send_digests([WEEKLY], data_dir=tmp_path, out_dir=Path("/srv/out"),
                                settings=settings)
    assert lines[0].startswith("Could not post the weekly digest to the webhook")
    assert lines[1] == "Weekly digest mailed to owner@shop.test."
    message = received[0]
    assert str(make_header(decode_header(message["Subject"]))) == \
        "Test Shop: weekly digest for week 24–30 November 2025 (2 figures off)"
    assert body(message) == WEEKLY_TEXT


def test_digest_goes_after_the_failure_notice_and_not_for_only(tmp_path, webhook):
    """Through `run`: a partly failed run posts its failure notice, then its digest; a run
    of one report (`--only`) posts nothing; without send_digest a good run posts nothing."""
    url, received = webhook
    books = tmp_path / "nb" / "daily"
    make_notebook(books / "good.ipynb", "print(1)")
    make_notebook(books / "bad.ipynb", "raise RuntimeError('stock feed down')")
    common = {"data_dir": empty_data_dir(tmp_path), "out_dir": tmp_path / "out",
              "notebooks_dir": tmp_path / "nb", "date": dt.date(2025, 11, 30)}
    report = run("daily", **common, only="good",
                 settings=shop(webhook_url=url, send_digest=True))
    assert report.notices == [] and received == []
    report = run("daily", **common, settings=shop(webhook_url=url, send_digest=True))
    assert report.notices == ["Failure notice posted to the webhook.",
                              "Daily digest posted to the webhook."]
    assert received[0]["status"] == "failed" and "failures" in received[0]
    assert received[1]["cadence"] == "daily" and received[1]["todo_total"] is None
    assert received[1]["notes"][0].startswith("The daily report Bad did not complete")


def test_demo_daily_run_sends_its_digest(small_demo_dir, small_demo_store, tmp_path, webhook,
                                         smtp, monkeypatch):
    """A real daily run (journal and KPI report) on the demo store: the digest carries the
    journal's to-do list, the KPI report's figures and flags, and links that exist."""
    from opslib.views.daily import data, journal

    url, posted = webhook
    port, mailed = smtp
    books = tmp_path / "nb" / "daily"
    books.mkdir(parents=True)
    for name in ("journal", "kpis"):
        shutil.copy(runner.NOTEBOOKS_DIR / "daily" / f"{name}.ipynb", books)
    secret = "hunter2-not-in-digest"
    monkeypatch.setenv(notify.PASSWORD_ENV, secret)
    settings = shop({}, webhook_url=url, smtp_host="127.0.0.1", smtp_port=port,
                    mail_from="ops@shop.test", mail_to="owner@shop.test",
                    send_digest=True)  # the demo store's targets: the defaults
    out = tmp_path / "out"
    report = run("daily", data_dir=small_demo_dir, out_dir=out, settings=settings,
                 date=DEMO_UNTIL, notebooks_dir=tmp_path / "nb")
    assert report.ok, report.text()
    assert report.notices[0] == "Daily digest posted to the webhook."
    assert report.notices[1].startswith("Daily digest mailed to owner@shop.test")
    assert len(posted) == 1 and len(mailed) == 1
    payload = posted[0]
    summary = json.loads((out / "daily" / DEMO_UNTIL.isoformat() / "run.json").read_text())
    tasks, _ = journal.todo_frame(small_demo_store, DEMO_UNTIL)
    assert payload["todo_total"] == summary["kpis"]["count_todo_tasks"] == len(tasks)
    assert [(t["area"], t["count"]) for t in payload["todo"]] == \
        [(r.area, r.count_items) for r in tasks.head(digest.TOP_TODO).itertuples()]
    recorded = {f["name"]: f["value"] for f in payload["figures"]
                if f["name"] in summary["kpis"]}
    assert len(recorded) >= 5
    assert recorded == pytest.approx({n: summary["kpis"][n] for n in recorded})
    usual = data.kpi_comparison(small_demo_store, DEMO_UNTIL)
    assert {f["name"] for f in payload["flags"]} == set(usual.kpi[usual.is_flagged])
    assert Path(payload["reports"]["index"]).is_file()
    assert all(Path(page["link"]).is_file() for page in payload["reports"]["pages"])
    text = json.dumps(payload)
    assert secret not in text and url not in text and "owner@shop.test" not in text
    assert body(mailed[0]) == payload["text"]
