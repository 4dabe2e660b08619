"""`playbook serve` over HTTP and the kernel websocket: login, refusals, tampering, errors.

One server per module (the real command, in its own process) on a copy of the small demo
store with two hostile ticket subjects; see serve_support.py. The throttling test locks
the test client out, so it runs last in this file.
"""

from __future__ import annotations

import base64
import http.client
import re
import time
import urllib.parse

import pytest
import requests
from demo_data import DEMO_UNTIL
from serve_support import (FORMULA_SUBJECT, FORMULA_TICKET, PASSWORD, TOKEN, XSS_TICKET,
                           KernelSocket, Served, hostile_store, model, output_html, render)

from opslib.serve.server import PAGES, set_password

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory, small_demo_dir):
    root = tmp_path_factory.mktemp("served")
    data = hostile_store(small_demo_dir, root / "data", day=DEMO_UNTIL)
    set_password(data, PASSWORD)
    # Found by the server (its working folder is DATA) and handed to the page kernels.
    (data / "playbook.toml").write_text('[store]\nname = "Test Shop"\n\n'
                                        '[service]\nfirst_response_hours = 36\n')
    served = Served.start(data, log_path=root / "serve.log")
    yield served
    served.stop()


@pytest.fixture(scope="module")
def staff(site):
    return site.login()


def _raw_get(site: Served, path: str, session: requests.Session | None = None):
    """GET a path exactly as written (no client-side clean-up of `..` or escapes)."""
    host, port = urllib.parse.urlsplit(site.base).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = {}
    if session is not None:
        headers["Cookie"] = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    conn.request("GET", path, headers=headers)
    reply = conn.getresponse()
    body = reply.read()
    conn.close()
    return reply.status, body


# --- without a login --------------------------------------------------------------------

ASSETS = ["/", "/voila/static/voila.js", "/voila/files/icon.png",
          "/voila/templates/lab/static/voila.js", "/voila/api/themes/@jupyterlab/"
          "theme-light-extension/index.css", "/voila/labextensions/@jupyter-widgets/"
          "jupyterlab-manager/package.json"]


@pytest.mark.parametrize("path", ASSETS + [p.address for p in PAGES])
def test_without_a_login_every_page_and_file_leads_to_the_login_form(site, path):
    """Pages, static files and images all redirect a visitor without a session to /login."""
    reply = requests.get(site.base + path, allow_redirects=False, timeout=30)
    assert reply.status_code == 302
    assert urllib.parse.urlsplit(reply.headers["Location"]).path == "/login"


def test_the_login_form_shows_nothing_else(site):
    """The form names the store and asks for the password; no page content, no page names."""
    text = requests.get(site.base + PAGES[2].address, timeout=30).text
    assert '<input type="password"' in text and "Test Shop" in text
    for page in PAGES:
        assert page.title not in text
    assert "ticket" not in text.lower() and "<script" not in text


def test_kernel_api_and_socket_refuse_a_visitor_without_a_login(site, staff):
    _, kernel_id = render(staff, site.base, "today")
    assert requests.get(f"{site.base}/api/kernels/{kernel_id}", timeout=10).status_code == 403
    import websocket

    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(site.base.replace("http", "ws") +
                                    f"/api/kernels/{kernel_id}/channels", timeout=10)
    assert refused.value.status_code == 403


def test_a_wrong_password_is_refused(site):
    """401, the form again with a message, and no session cookie."""
    session = requests.Session()
    form = session.get(site.base + "/login", timeout=10).text
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form).group(1)
    reply = session.post(site.base + "/login", data={"_xsrf": xsrf, "password": "nope-nope-1"},
                         allow_redirects=False, timeout=30)
    assert reply.status_code == 401 and "Wrong password." in reply.text
    assert session.get(site.base + "/", allow_redirects=False, timeout=10).status_code == 302


def test_a_login_without_the_form_token_is_refused(site):
    """The login form carries an XSRF token; a post from elsewhere without it fails."""
    reply = requests.post(site.base + "/login", data={"password": PASSWORD},
                          allow_redirects=False, timeout=30)
    assert reply.status_code in (403, 404)
    assert "Set-Cookie" not in reply.headers or "username" not in reply.headers["Set-Cookie"]


def test_the_password_opens_the_start_page_with_every_page(staff, site):
    text = staff.get(site.base + "/", timeout=10).text
    for page in PAGES:
        assert f'href="{page.address}"' in text


def test_the_token_works_as_a_header(site):
    reply = requests.get(site.base + "/", headers={"Authorization": f"token {TOKEN}"},
                         allow_redirects=False, timeout=10)
    assert reply.status_code == 200 and "Pick list" in reply.text


def test_the_token_in_the_address_is_taken_once_then_the_cookie_takes_over(site):
    """?token= sets the session and redirects to the bare address; the token is gone."""
    session = requests.Session()
    reply = session.get(f"{site.base}/?token={TOKEN}", allow_redirects=False, timeout=10)
    assert reply.status_code == 302 and reply.headers["Location"] == "/"
    assert session.get(site.base + "/", allow_redirects=False, timeout=10).status_code == 200


def test_a_wrong_token_is_refused(site):
    reply = requests.get(site.base + "/", headers={"Authorization": "token " + "x" * 32},
                         allow_redirects=False, timeout=10)
    assert reply.status_code == 302
    reply = requests.get(f"{site.base}/?token={'y' * 32}", allow_redirects=False, timeout=10)
    assert reply.status_code == 302 and "/login" in reply.headers["Location"]


def test_a_page_address_never_passes_its_query_to_the_kernel(staff, site):
    reply = staff.get(site.base + "/voila/render/today.ipynb?x=1&template=../../etc",
                      allow_redirects=False, timeout=10)
    assert reply.status_code == 302 and reply.headers["Location"] == "/voila/render/today.ipynb"


# --- what is served -----------------------------------------------------------------------

REFUSED = [
    "/data/tables/orders.parquet", "/tables/orders.parquet", "/playbook.toml",
    "/voila/files/playbook.toml", "/voila/render/playbook.toml",
    "/voila/files/today.ipynb", "/voila/files/support_queue.ipynb",
    "/voila/files/staff_password.hash", "/voila/render/icon.png",
    "/voila/render/other.ipynb", "/voila/tree", "/voila/tree/", "/voila/api/contents/",
    "/voila/files/../../pyproject.toml", "/voila/files/..%2f..%2fpyproject.toml",
    "/voila/files/%2e%2e/%2e%2e/pyproject.toml", "/voila/files/%2E%2E/serve.py",
    "/voila/render/../serve.py", "/voila/render/%2e%2e/serve.py",
    "/voila/render/today.ipynb/../../playbook.toml", "/voila/static/../../../../etc/passwd",
    "/voila/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/..%5c..%5cplaybook.toml",
    "/voila/files/icon.png%00.ipynb",
]


@pytest.mark.parametrize("path", REFUSED)
def test_files_that_are_not_pages_or_images_are_refused(site, staff, path):
    """Even logged in: no data, settings, notebooks, hash, listing, or climbing paths."""
    status, body = _raw_get(site, path, staff)
    assert status in (403, 404), (path, status)
    assert b"PAR1" not in body and b"[store]" not in body and b"argon2" not in body
    assert b'"cells"' not in body and b"root:" not in body


def test_images_in_the_pages_folder_are_served(site, staff):
    status, body = _raw_get(site, "/voila/files/icon.png", staff)
    assert status == 200 and body.startswith(b"\x89PNG")


def test_pages_send_the_security_headers(staff, site):
    reply = staff.get(site.base + "/", timeout=10)
    assert "frame-ancestors 'none'" in reply.headers["Content-Security-Policy"]
    assert "connect-src 'self'" in reply.headers["Content-Security-Policy"]
    assert reply.headers["X-Frame-Options"] == "DENY"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


def test_a_rendered_page_loads_nothing_from_the_internet(staff, site):
    html, _ = render(staff, site.base, "stock_watch")
    assert not re.search(r'(src|href)="(https?:)?//', html)


# --- the page kernels -----------------------------------------------------------------------


def test_a_page_kernel_runs_no_code_sent_by_the_browser(staff, site, tmp_path):
    """execute_request is not among the messages the server lets through."""
    marker = tmp_path / "ran.txt"
    _, kernel_id = render(staff, site.base, "today")
    sock = KernelSocket(staff, site.base, kernel_id)
    try:
        sock.send("execute_request", {"code": f"open({str(marker)!r}, 'w').write('x')",
                                      "silent": False, "store_history": False,
                                      "user_expressions": {}, "allow_stdin": False})
        replies = sock.collect(5)
    finally:
        sock.close()
    assert not marker.exists()
    assert not any(m["msg_type"] == "execute_reply" for m in replies)
    assert 'Received message of type "execute_request", which is not allowed' in site.log()


def test_a_tampered_date_is_refused_and_the_picker_put_back(staff, site):
    """A raw comm message moving the picker's max and value to 2031 is refused."""
    _, kernel_id = render(staff, site.base, "pick_list")
    sock = KernelSocket(staff, site.base, kernel_id)
    try:
        states = sock.widget_states()
        picker_id, picker = model(states, "DatePickerModel")
        status_id, _ = model(states, "HTMLModel")
        before = output_html(states)
        far = {"year": 2031, "month": 0, "date": 1}
        sock.update(picker_id, {"max": far, "value": far})
        sock.collect(8, until=lambda m: m["content"].get("comm_id") == status_id)
        after = sock.widget_states()
    finally:
        sock.close()
    assert after[picker_id]["value"] == picker["value"] == {"year": 2025, "month": 10,
                                                             "date": 30}
    assert after[picker_id]["max"] == picker["max"]
    assert "That value was refused" in after[status_id]["value"]
    assert output_html(after) == before
    assert "refused a value for day" in site.log()


def test_a_tampered_channel_index_is_refused_and_a_real_one_filters(staff, site):
    """Index 99 never becomes a filter; index of 'chat' does (so the check is not vacuous)."""
    _, kernel_id = render(staff, site.base, "support_queue")
    sock = KernelSocket(staff, site.base, kernel_id)
    try:
        states = sock.widget_states()
        box_id, box = model(states, "DropdownModel")
        sock.update(box_id, {"index": 99})
        sock.collect(4)
        unchanged = sock.widget_states()
        chat = box["_options_labels"].index("chat")
        sock.update(box_id, {"index": chat})
        sock.collect(30, until=lambda m: FORMULA_TICKET in str(m))
        filtered = sock.widget_states()
    finally:
        sock.close()
    assert unchanged[box_id]["index"] == 0
    assert "channel:" not in model(unchanged, "HTMLModel")[1]["value"]
    assert "channel: chat" in model(filtered, "HTMLModel")[1]["value"]
    assert FORMULA_TICKET in output_html(filtered) and XSS_TICKET not in output_html(filtered)


def test_page_kernels_use_the_servers_settings(staff, site):
    """The kernel runs in the pages folder: only PLAYBOOK_SETTINGS can give it the 36 h."""
    _, kernel_id = render(staff, site.base, "support_queue")
    sock = KernelSocket(staff, site.base, kernel_id)
    try:
        html = output_html(sock.widget_states())
    finally:
        sock.close()
    assert "Waiting over 36 h" in html and "Waiting over 24 h" not in html


def test_ticket_subjects_reach_the_page_escaped(staff, site):
    _, kernel_id = render(staff, site.base, "support_queue")
    sock = KernelSocket(staff, site.base, kernel_id)
    try:
        html = output_html(sock.widget_states())
    finally:
        sock.close()
    assert "&lt;script&gt;window.__xss" in html and "&lt;img src=&quot;x&quot;" in html
    assert "<script" not in html and "<img" not in html


def test_the_ticket_csv_neutralises_formulas(staff, site):
    _, kernel_id = render(staff, site.base, "support_queue")
    sock = KernelSocket(staff, site.base, kernel_id)
    try:
        html = output_html(sock.widget_states())
    finally:
        sock.close()
    payload = re.search(r'download="open-tickets-2025-11-30.csv" href="data:text/csv;'
                        r'charset=utf-8;base64,([^"]+)"', html).group(1)
    text = base64.b64decode(payload).decode()
    assert "'" + FORMULA_SUBJECT.replace('"', '""') in text
    assert "\n" + FORMULA_SUBJECT not in text and "," + FORMULA_SUBJECT not in text


def test_a_failing_callback_shows_a_short_message_and_logs_the_detail(staff, site):
    """Unreadable ticket data after the page opened: the redraw says so, without traceback."""
    tickets = site.data_dir / "tables" / "tickets.parquet"
    backup = tickets.with_name("tickets.backup")
    _, kernel_id = render(staff, site.base, "support_queue")
    sock = KernelSocket(staff, site.base, kernel_id)
    tickets.rename(backup)
    try:
        tickets.mkdir()
        (tickets / "2025-11.parquet").write_bytes(b"not parquet at all")
        states = sock.widget_states()
        button_id, _ = model(states, "ButtonModel")
        sock.send("comm_msg", {"comm_id": button_id, "data": {
            "method": "custom", "content": {"event": "click"}}})
        messages = sock.collect(20, until=lambda m: "could not be shown" in str(m))
        after = sock.widget_states()
    finally:
        sock.close()
        for part in tickets.iterdir():
            part.unlink()
        tickets.rmdir()
        backup.rename(tickets)
    shown = output_html(after)
    assert "could not be shown (reference" in shown
    assert not any("Traceback" in str(m) or "SchemaViolation" in str(m) for m in messages)
    assert "Traceback" not in shown and str(site.data_dir) not in shown
    reference = re.search(r"reference ([0-9a-f]{8})", shown).group(1)
    log = site.log()
    assert f"(reference {reference})" in log and "Traceback" in log


# --- capacity ---------------------------------------------------------------------------------


def test_ten_pages_open_at_once(staff, site):
    """Ten pages rendered at the same time all show their figures; one kernel each."""
    from concurrent.futures import ThreadPoolExecutor

    import psutil

    names = [page.name for page in PAGES] * 2
    started = time.monotonic()
    with ThreadPoolExecutor(len(names)) as pool:
        rendered = list(pool.map(lambda name: render(staff, site.base, name), names))
    seconds = time.monotonic() - started
    kernels = {pid for _, kernel in rendered for pid in site.kernel_pids(kernel)}
    assert len({kernel for _, kernel in rendered}) == 10
    assert len(kernels) == 10
    for html, _ in rendered:
        assert "could not be shown" not in html and "There was an error" not in html
    rss = [psutil.Process(pid).memory_info().rss / 2**20 for pid in kernels]
    print(f"ten pages in {seconds:.1f} s; kernel RSS MB: {sorted(round(r) for r in rss)}")
    assert max(rss) < 600, rss
    for _, kernel in rendered:
        staff.post(f"{site.base}/voila/api/shutdown/{kernel}",
                   headers={"X-XSRFToken": staff.cookies.get("_xsrf", "")}, timeout=30)


def _tickets_opened(session, base: str) -> str:
    """The 'Tickets opened' tile of the Today page, rendered in a kernel of the server's."""
    _, kernel_id = render(session, base, "today")
    sock = KernelSocket(session, base, kernel_id)
    try:
        html = output_html(sock.widget_states())
    finally:
        sock.close()
    found = re.search(r"Tickets opened</div>\s*<div[^>]*>([^<]+)<", html)
    assert found, "no 'Tickets opened' tile on the Today page"
    return found.group(1)


def test_a_pre_started_kernel_needs_a_login_and_shows_the_data_as_it_is_now(
        tmp_path, small_demo_dir, demo_settings):
    """The Today kernel started ahead rehearsed the old data; the tables change; a visitor
    without a login gets the login form (and no kernel); one logged in gets the pre-started
    kernel, showing the new figures."""
    import shutil

    import pandas as pd

    from opslib.tables import write_table

    data = tmp_path / "data"
    shutil.copytree(small_demo_dir, data)
    set_password(data, PASSWORD)
    served = Served.start(data, log_path=tmp_path / "serve.log", token=None)
    try:
        served.wait_for_log("Kernel ready for page today")
        session = served.login()
        before = _tickets_opened(session, served.base)
        assert "page today: pre-started kernel handed out" in served.log()
        served.wait_for_log("Kernel ready for page marketing_today")  # the queue is done
        time.sleep(0.5)
        assert served.log().count("Kernel ready for page today") == 2  # the replacement

        tickets = pd.read_parquet(data / "tables" / "tickets.parquet")
        day = tickets.created_at.dt.tz_convert(demo_settings.zone).dt.date == DEMO_UNTIL
        write_table(data, "tickets", tickets[~day])
        anonymous = requests.get(served.base + PAGES[0].address, allow_redirects=False,
                                 timeout=30)
        after = _tickets_opened(session, served.base)
    finally:
        served.stop()
    assert anonymous.status_code == 302
    assert urllib.parse.urlsplit(anonymous.headers["Location"]).path == "/login"
    assert served.log().count("page today: pre-started kernel handed out") == 2
    assert before == str(int(day.sum())) and after == "0"


def test_idle_kernels_are_culled_even_with_a_tab_open(tmp_path, small_demo_dir):
    """With a 3 s idle timeout, a page kernel with a connected socket is shut down."""
    data = tmp_path / "data"
    import shutil

    shutil.copytree(small_demo_dir, data)
    set_password(data, PASSWORD)
    served = Served.start(data, log_path=tmp_path / "serve.log", idle_timeout=3)
    try:
        session = served.login()
        _, kernel_id = render(session, served.base, "today")
        sock = KernelSocket(session, served.base, kernel_id)
        try:
            gone = False
            for _ in range(40):
                time.sleep(0.5)
                if session.get(f"{served.base}/api/kernels/{kernel_id}",
                               timeout=10).status_code == 404:
                    gone = True
                    break
        finally:
            sock.close()
    finally:
        served.stop()
    assert gone, "the idle kernel was not culled"
    assert "Culling kernels even with connected clients" in served.log()


# --- last: logs, then throttling (which locks this client out) -----------------------------


def test_the_log_never_holds_the_token_or_the_password(site):
    requests.get(f"{site.base}/voila/render/today.ipynb?token={TOKEN}", timeout=120)
    requests.get(site.base + "/", headers={"Authorization": f"token {TOKEN}"}, timeout=10)
    site.login()
    log = site.log()
    assert TOKEN not in log and PASSWORD not in log
    assert "token=" not in log
    assert "GET /voila/render/today.ipynb" in log  # the requests were logged, without query


def test_failed_logins_are_throttled(site):
    session = requests.Session()
    form = session.get(site.base + "/login", timeout=10).text
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form).group(1)
    codes = [session.post(site.base + "/login", data={"_xsrf": xsrf, "password": f"guess{i}"},
                          allow_redirects=False, timeout=30).status_code for i in range(12)]
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
    right = session.post(site.base + "/login", data={"_xsrf": xsrf, "password": PASSWORD},
                         allow_redirects=False, timeout=30)
    assert right.status_code == 429 and "Try again in" in right.text
