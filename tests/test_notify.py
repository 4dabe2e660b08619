"""Failure notices: a webhook post to a local listener and a mail to a local SMTP server."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from opslib.runs import notify
from opslib.config import RunSettings, Settings
from opslib.runs.runner import run


@pytest.fixture
def webhook():
    """An HTTP listener on 127.0.0.1 that keeps every JSON body posted to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp():
    """An SMTP server on 127.0.0.1 that keeps every message it receives."""
    received = []

    class Keep(Message):
        def handle_message(self, message):
            received.append(message)

    with socket.socket() as probe:  # a free port (the controller cannot start on port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, received
    controller.stop()


def test_webhook_gets_the_failure_as_json(webhook):
    """The notice is posted as JSON with a text field and the details."""
    url, received = webhook
    lines = notify.send_failure_notice(subject="Shop: run failed", lines=["FAILED a: b"],
                                       details={"status": "failed"},
                                       runs=RunSettings(webhook_url=url))
    assert lines == ["Failure notice posted to the webhook."]
    assert received == [{"text": "Shop: run failed\n\nFAILED a: b", "status": "failed"}]


def test_mail_goes_through_the_smtp_server(smtp):
    """The notice is mailed from mail_from to every address in mail_to."""
    port, received = smtp
    runs = RunSettings(smtp_host="127.0.0.1", smtp_port=port, mail_from="ops@shop.test",
                       mail_to="owner@shop.test, staff@shop.test")
    lines = notify.send_failure_notice(subject="Shop: run failed", lines=["FAILED x: y"],
                                       details={}, runs=runs)
    assert lines == ["Failure notice mailed to owner@shop.test, staff@shop.test."]
    assert len(received) == 1
    message = received[0]
    assert message["Subject"] == "Shop: run failed"
    assert message["To"] == "owner@shop.test, staff@shop.test"
    assert "FAILED x: y" in message.get_payload()


def test_unreachable_channels_are_reported_not_raised():
    """A dead webhook or mail server gives a line of text; the run goes on."""
    runs = RunSettings(webhook_url="http://127.0.0.1:9/hook", smtp_host="127.0.0.1",
                       smtp_port=9, mail_from="a@b.test", mail_to="c@d.test")
    lines = notify.send_failure_notice(subject="s", lines=[], details={}, runs=runs)
    assert len(lines) == 2
    assert lines[0].startswith("Could not post") and lines[1].startswith("Could not mail")


def test_webhook_must_be_http():
    """A webhook URL that is not http(s) is refused before anything is sent."""
    lines = notify.send_failure_notice(subject="s", lines=[], details={},
                                       runs=RunSettings(webhook_url="file:///etc/passwd"))
    assert "must start with https://" in lines[0]


def test_a_failed_run_notifies_and_a_good_one_does_not(tmp_path, webhook):
    """`run` posts one notice naming the failed notebook; a clean run posts nothing."""
    from test_runner import empty_data_dir, make_notebook

    url, received = webhook
    books = tmp_path / "nb" / "daily"
    make_notebook(books / "good.ipynb", "print(1)")
    settings = Settings.from_dict({"store": {"name": "Shop"}, "runs": {"webhook_url": url}})
    data = empty_data_dir(tmp_path)
    common = {"data_dir": data, "out_dir": tmp_path / "out", "notebooks_dir": tmp_path / "nb",
              "settings": settings, "date": dt.date(2025, 11, 30)}
    assert run("daily", **common).notices == []
    make_notebook(books / "bad.ipynb", "raise RuntimeError('stock feed down')")
    report = run("daily", **common)
    assert report.notices == ["Failure notice posted to the webhook."]
    assert len(received) == 1
    assert received[0]["failures"] == ["FAILED daily 2025-11-30 bad: failed: RuntimeError: "
                                       "stock feed down (at In [3])"]
    assert received[0]["text"].startswith("Shop: playbook run failed (daily 2025-11-30)")
