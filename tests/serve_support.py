"""What the staff-page tests share: a served copy of the demo store, logins, a kernel socket.

`Served.start` runs `playbook serve` (the real command, in its own process) on a free
loopback port against a copy of the small demo store in which two open tickets carry
hostile subjects: HTML that would run a script if it were not escaped, and a spreadsheet
formula. The server's output goes to a log file the tests read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import requests

from opslib.tables import write_table

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "staff-password-for-tests"
TOKEN = "token-for-tests-0123456789abcdef"
XSS_SUBJECT = ('<script>window.__xss = "script ran"</script>'
               '<img src="x" onerror="window.__xss = \'onerror ran\'">Parcel never arrived')
FORMULA_SUBJECT = '=HYPERLINK("http://example.invalid/refund","Claim refund")'
XSS_TICKET, FORMULA_TICKET = "T999901", "T999902"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def hostile_store(source: Path, target: Path, *, day: dt.date) -> Path:
    """Copy a demo store and add two open, unanswered tickets with hostile subjects.

    Both came in on the morning before `day` (UTC), so at the end of `day` they have
    waited over 24 hours: they are first-response breaches and appear in every ticket list.
    """
    shutil.copytree(source, target)
    tickets = pd.read_parquet(target / "tables" / "tickets.parquet")
    template = tickets.iloc[[0]]
    morning = pd.Timestamp(day - dt.timedelta(days=1), tz="UTC") + pd.Timedelta(hours=7)
    rows = []
    for ticket_id, subject, channel in ((XSS_TICKET, XSS_SUBJECT, "email"),
                                        (FORMULA_TICKET, FORMULA_SUBJECT, "chat")):
        row = template.copy()
        row["ticket_id"], row["subject"], row["channel"] = ticket_id, subject, channel
        row["category"], row["status"], row["is_escalated"] = "complaint", "open", False
        row["created_at"] = morning
        row["first_response_at"] = pd.NaT
        row["resolved_at"] = pd.NaT
        rows.append(row)
    write_table(target, "tickets", pd.concat([tickets, *rows], ignore_index=True))
    return target


@dataclass
class Served:
    """A running `playbook serve` process."""

    process: subprocess.Popen
    base: str
    log_path: Path
    data_dir: Path

    @classmethod
    def start(cls, data_dir: Path, *, log_path: Path, token: str | None = TOKEN,
              idle_timeout: int = 600, host: str = "127.0.0.1",
              warm: int | None = None) -> "Served":
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("PLAYBOOK_TOKEN",)}
        if token:
            env["PLAYBOOK_TOKEN"] = token
        command = [sys.executable, "-m", "opslib", "serve", "--data", str(data_dir),
                   "--host", host, "--port", str(port), "--idle-timeout", str(idle_timeout)]
        if warm is not None:
            command += ["--warm", str(warm)]
        log = open(log_path, "wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   cwd=data_dir, start_new_session=True)
        served = cls(process, f"http://127.0.0.1:{port}", log_path, data_dir)
        served.wait_ready()
        return served

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"playbook serve exited early:\n{self.log()}")
            try:
                if requests.get(self.base + "/login", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"playbook serve did not answer within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def login(self, password: str = PASSWORD) -> requests.Session:
        """A session logged in through the login form (with its XSRF field)."""
        session = requests.Session()
        form = session.get(self.base + "/login", timeout=10)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form.text).group(1)
        reply = session.post(self.base + "/login?next=%2F", data={"_xsrf": xsrf,
                             "password": password}, allow_redirects=False, timeout=30)
        if reply.status_code != 302:
            raise AssertionError(f"login failed: {reply.status_code} {reply.text[:300]}")
        return session

    def kernel_pids(self, kernel_id: str = "") -> list[int]:
        """The server's kernel processes (only kernel `kernel_id`'s, when given)."""
        import psutil

        return [child.pid for child in psutil.Process(self.process.pid).children(recursive=True)
                if "ipykernel" in " ".join(child.cmdline()) and kernel_id in
                " ".join(child.cmdline())]

    def wait_for_log(self, text: str, timeout: float = 180) -> None:
        """Wait until the server's log holds `text`."""
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"'{text}' not in the server log:\n{self.log()[-3000:]}")
            time.sleep(0.2)


def render(session: requests.Session, base: str, page: str) -> tuple[str, str]:
    """GET a page (Voila runs its notebook); return the HTML and the page's kernel id."""
    reply = session.get(f"{base}/voila/render/{page}.ipynb", timeout=180)
    reply.raise_for_status()
    kernel = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', reply.text) or \
        re.search(r"kernel_id[\"']?\s*[:=]\s*[\"']([0-9a-f-]{36})", reply.text)
    assert kernel, "no kernel id in the rendered page"
    return reply.text, kernel.group(1)


class KernelSocket:
    """The browser's side of a page kernel: Jupyter messages over the kernel websocket."""

    def __init__(self, session: requests.Session, base: str, kernel_id: str) -> None:
        import websocket

        self.session_id = uuid.uuid4().hex
        cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
        url = base.replace("http", "ws", 1) + f"/api/kernels/{kernel_id}/channels" \
            f"?session_id={self.session_id}"
        self.ws = websocket.create_connection(url, cookie=cookies, timeout=60,
                                              origin=base)
        self.received: list[dict] = []

    def send(self, msg_type: str, content: dict, channel: str = "shell") -> str:
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": msg_type, "session": self.session_id,
                       "username": "test", "date": dt.datetime.now(dt.timezone.utc).isoformat(),
                       "version": "5.3"},
            "parent_header": {}, "metadata": {}, "content": content, "channel": channel,
            "buffers": []}))
        return msg_id

    def collect(self, seconds: float, *, until=None) -> list[dict]:
        """Messages received for `seconds` (or until `until(message)` is true)."""
        import websocket

        got = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                raw = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                break
            if isinstance(raw, bytes):
                continue
            message = json.loads(raw)
            got.append(message)
            if until and until(message):
                break
        self.received += got
        return got

    def widget_states(self) -> dict[str, dict]:
        """Every widget model of the page: comm id -> state (asks the kernel for each)."""
        reply_id = self.send("comm_info_request", {"target_name": "jupyter.widget"})
        replies = self.collect(30, until=lambda m: m["parent_header"].get("msg_id") == reply_id
                               and m["msg_type"] == "comm_info_reply")
        comms = replies[-1]["content"]["comms"]
        for comm_id in comms:
            self.send("comm_msg", {"comm_id": comm_id, "data": {"method": "request_state"}})
        states: dict[str, dict] = {}
        deadline = time.monotonic() + 30
        while len(states) < len(comms) and time.monotonic() < deadline:
            for message in self.collect(1):
                data = message["content"].get("data", {})
                if message["msg_type"] == "comm_msg" and data.get("method") == "update":
                    states.setdefault(message["content"]["comm_id"], {}).update(data["state"])
        return states

    def update(self, comm_id: str, state: dict) -> None:
        """What a (tampered) browser sends when a control changes."""
        self.send("comm_msg", {"comm_id": comm_id, "data": {"method": "update", "state": state,
                                                           "buffer_paths": []}})

    def close(self) -> None:
        self.ws.close()


def model(states: dict[str, dict], name: str) -> tuple[str, dict]:
    """The one widget of a kind (e.g. 'DatePickerModel'): (comm id, state)."""
    found = [(cid, s) for cid, s in states.items() if s.get("_model_name") == name]
    assert len(found) == 1, f"expected one {name}, found {len(found)}"
    return found[0]


def output_html(states: dict[str, dict]) -> str:
    """All HTML shown in the page's Output widgets (the sections)."""
    parts = []
    for state in states.values():
        if state.get("_model_name") == "OutputModel":
            for output in state.get("outputs", []):
                parts.append(output.get("data", {}).get("text/html", ""))
    return "\n".join(parts)
