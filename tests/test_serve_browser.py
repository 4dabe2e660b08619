"""The staff pages in a real browser: headless Chromium (the system's) driven by Selenium.

`playbook serve` runs on a free loopback port against a copy of the small demo store with
two hostile ticket subjects (serve_support.py). The browser logs in, opens every page,
checks the figures against the metric functions, changes the controls, and takes a
screenshot of each page into test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest
from demo_data import DEMO_UNTIL
from serve_support import (ARTIFACTS, PASSWORD, XSS_SUBJECT, XSS_TICKET, Served,
                           hostile_store)

from opslib.metrics import fulfilment, marketing, sales, stock, support
from opslib.serve.server import PAGES, set_password
from opslib.store import Store, Window

pytestmark = pytest.mark.slow

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):  # CI installs both (.ci/run)
    _why = ("the browser tests need Debian's chromium and chromium-driver "
            "(apt-get install chromium chromium-driver)")
    if os.environ.get("CI"):
        raise RuntimeError(f"CI must run the browser tests, but {_why}.")
    pytest.skip(_why, allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory, small_demo_dir):
    root = tmp_path_factory.mktemp("browser")
    data = hostile_store(small_demo_dir, root / "data", day=DEMO_UNTIL)
    set_password(data, PASSWORD)
    served = Served.start(data, log_path=root / "serve.log")
    yield served
    served.stop()


@pytest.fixture(scope="module")
def store(site, demo_settings):
    return Store.open(site.data_dir, demo_settings)


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,1600",
                 "--lang=en-US"):
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(180)
    ARTIFACTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _wait(driver, condition, seconds: float = 120):
    return WebDriverWait(driver, seconds, poll_frequency=0.25).until(condition)


def _log_in(driver, site: Served) -> None:
    driver.get(site.base + "/login")
    if not driver.find_elements(By.ID, "password"):
        return  # already logged in (redirected to the start page)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login_submit").click()
    _wait(driver, lambda d: urllib.parse.urlsplit(d.current_url).path == "/")


def _open(driver, site: Served, name: str) -> None:
    """Open a page and wait until its sections are drawn (the widgets are live)."""
    driver.get(f"{site.base}/voila/render/{name}.ipynb")
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".widget-output .opslib-tiles, "
                                                              ".widget-output .opslib-table"))
    _wait(driver, lambda d: d.execute_script("return document.readyState") == "complete")


def _shot(driver, name: str) -> None:
    driver.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.3)
    driver.save_screenshot(str(ARTIFACTS / f"staff-{name}.png"))


def _tile(driver, label: str) -> str:
    return driver.find_element(By.XPATH, f"//div[text()={json.dumps(label)}]"
                                         f"/following-sibling::div[1]").text


def _rows(driver, header: str) -> list[list[str]]:
    """Body rows of the table that has a column `header` (read in one go: the page may be
    redrawing)."""
    rows = driver.execute_script("""
        for (const table of document.querySelectorAll('table.opslib-table')) {
            const heads = [...table.querySelectorAll('thead th')].map(th => th.innerText);
            if (heads.includes(arguments[0])) {
                return [...table.querySelectorAll('tbody tr')].map(
                    tr => [...tr.querySelectorAll('td')].map(td => td.innerText));
            }
        }
        return null;""", header)
    if rows is None:
        raise AssertionError(f"no table with a '{header}' column")
    return rows


def _status(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, ".widget-html").text


def _as_of(store: Store, day: dt.date = DEMO_UNTIL) -> Window:
    return Window.of(day, zone=store.zone)


# --- login ------------------------------------------------------------------------------------


def test_without_a_login_a_page_shows_only_the_login_form(browser, site):
    browser.delete_all_cookies()
    browser.get(site.base + "/voila/render/support_queue.ipynb")
    _wait(browser, lambda d: d.find_elements(By.ID, "password"))
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Staff pages — please log in." in body
    assert "Support queue" not in body and "ticket" not in body.lower()
    _shot(browser, "login")


def test_a_wrong_password_is_refused(browser, site):
    browser.delete_all_cookies()
    browser.get(site.base + "/login")
    browser.find_element(By.ID, "password").send_keys("not-the-password")
    browser.find_element(By.ID, "login_submit").click()
    _wait(browser, lambda d: "Wrong password." in d.page_source)
    assert urllib.parse.urlsplit(browser.current_url).path == "/login"


def test_the_start_page_links_every_page(browser, site):
    _log_in(browser, site)
    links = {a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, ".card a")}
    assert links == {site.base + page.address for page in PAGES}
    _shot(browser, "start")


# --- each page and its figures ------------------------------------------------------------


def test_today_shows_the_journal(browser, site, store):
    _log_in(browser, site)
    _open(browser, site, "today")
    day = sales.totals(sales.daily_sales(store.table("orders"), store.table("order_lines"),
                                         store.table("returns"), window=_as_of(store)))
    assert _tile(browser, "Orders received") == f"{day['count_orders']:,.0f}"
    assert _rows(browser, "Task"), "the to-do list is empty"
    _shot(browser, "today")


def test_the_pick_list_matches_the_metric_and_shows_no_contacts(browser, site, store):
    _log_in(browser, site)
    _open(browser, site, "pick_list")
    expected = fulfilment.pick_list(store.table("orders"), store.table("order_lines"),
                                    store.table("shipments"), store.table("products"),
                                    as_of=_as_of(store))
    rows = _rows(browser, "Oldest order number")
    assert len(rows) == min(len(expected), 200)
    assert rows[0][0] == expected.sku.iloc[0] and rows[0][2] == str(expected.quantity.iloc[0])
    text = browser.find_element(By.TAG_NAME, "body").text
    customers = store.table("customers").select("email", "phone").to_pandas().dropna()
    assert not any(email in text for email in customers.email)
    assert not any(phone in text for phone in customers.phone if len(phone) > 6)
    _shot(browser, "pick_list")


def test_the_support_queue_matches_the_metric(browser, site, store):
    _log_in(browser, site)
    _open(browser, site, "support_queue")
    expected = support.open_tickets(store.table("tickets"), as_of=_as_of(store),
                                    sla_hours=store.settings.service.first_response_hours)
    assert _tile(browser, "Open at day end") == f"{len(expected):,}"
    rows = _rows(browser, "Waiting")
    assert [r[0] for r in rows] == expected.ticket_id.tolist()  # oldest first
    breach = browser.find_element(By.XPATH, f"//td[text()='{XSS_TICKET}']")
    assert breach.value_of_css_property("color") in ("rgba(198, 40, 40, 1)", "rgb(198, 40, 40)")
    _shot(browser, "support_queue")


def test_stock_watch_matches_the_metric(browser, site, store):
    _log_in(browser, site)
    _open(browser, site, "stock_watch")
    empty = stock.out_of_stock(store.table("orders"), store.table("order_lines"),
                               store.table("inventory_snapshots"), store.table("products"),
                               as_of=_as_of(store),
                               bestseller_count=store.settings.stock.bestseller_count)
    assert _tile(browser, "SKUs out of stock") == f"{len(empty):,}"
    assert [r[0] for r in _rows(browser, "Lost revenue per day")] == empty.sku.tolist()
    _shot(browser, "stock_watch")


def test_marketing_today_matches_the_metric(browser, site, store):
    _log_in(browser, site)
    _open(browser, site, "marketing_today")
    items = marketing.calendar_items(store.table("content_calendar"), as_of=_as_of(store))
    assert [r[0] for r in _rows(browser, "Planned date")] == items.item_id.tolist()
    _shot(browser, "marketing_today")


# --- controls -------------------------------------------------------------------------------


def test_the_date_picker_changes_the_pick_list(browser, site, store):
    _log_in(browser, site)
    _open(browser, site, "pick_list")
    before = _rows(browser, "Oldest order number")
    day = dt.date(2025, 11, 20)
    picker = browser.find_element(By.CSS_SELECTOR, ".widget-datepicker input[type=date]")
    picker.click()
    picker.send_keys(day.strftime("%m%d%Y"))
    _wait(browser, lambda d: "Thursday 20 November 2025" in _status(d), 60)
    expected = fulfilment.pick_list(store.table("orders"), store.table("order_lines"),
                                    store.table("shipments"), store.table("products"),
                                    as_of=_as_of(store, day))
    _wait(browser, lambda d: len(_rows(d, "Oldest order number")) == min(len(expected), 200))
    after = _rows(browser, "Oldest order number")
    assert after != before and after[0][0] == expected.sku.iloc[0]
    _shot(browser, "pick_list_2025-11-20")


def test_the_date_picker_offers_only_the_days_with_data_and_says_why(browser, site, store):
    """The browser's date input gets the page's bounds; a day typed outside them is refused
    with the reason (ipywidgets alone would move it to the nearest bound without a word)."""
    _log_in(browser, site)
    _open(browser, site, "pick_list")
    first_order = store.table("orders").created_at.min().to_pandas().tz_convert(
        store.zone).date()
    first = max(DEMO_UNTIL - dt.timedelta(days=400), first_order)
    last = store.settings.yesterday()
    picker = browser.find_element(By.CSS_SELECTOR, ".widget-datepicker input[type=date]")
    _wait(browser, lambda d: picker.get_attribute("min") == first.isoformat(), 30)
    assert picker.get_attribute("max") == last.isoformat()
    assert f"Days from {first:%-d %B %Y}" in _status(browser)
    assert f"to {last:%-d %B %Y} (yesterday: today is not over yet)" in _status(browser)
    picker.click()
    picker.send_keys("01012019")
    _wait(browser, lambda d: "That value was refused" in _status(d), 60)
    assert f"a day from {first} to {last}" in _status(browser)
    shown = _status(browser).split("Days from")[0]  # the day the page shows: never 2019
    assert shown.startswith("Showing the end of") and "2019" not in shown
    _shot(browser, "pick_list_refused_day")


def test_the_channel_filter_narrows_the_support_queue(browser, site, store):
    _log_in(browser, site)
    _open(browser, site, "support_queue")
    Select(browser.find_element(By.CSS_SELECTOR, ".widget-dropdown select")) \
        .select_by_visible_text("chat")
    _wait(browser, lambda d: "channel: chat" in _status(d), 60)
    expected = support.open_tickets(store.table("tickets"), as_of=_as_of(store),
                                    sla_hours=store.settings.service.first_response_hours)
    chat = expected[expected.channel == "chat"].ticket_id.tolist()
    _wait(browser, lambda d: [r[0] for r in _rows(d, "Waiting")] == chat, 60)
    assert {r[1] for r in _rows(browser, "Waiting")} == {"Chat"}  # category in words
    _shot(browser, "support_queue_chat")


def test_the_category_filter_narrows_stock_watch(browser, site, store):
    _log_in(browser, site)
    _open(browser, site, "stock_watch")
    box = Select(browser.find_element(By.CSS_SELECTOR, ".widget-dropdown select"))
    category = box.options[1].text
    box.select_by_index(1)
    _wait(browser, lambda d: f"category: {category}" in _status(d), 60)
    products = store.table("products").to_pandas()
    inside = set(products[products.category.str.replace("_", " ") == category].sku)
    titles = set(products[products.sku.isin(inside)].title)

    def narrowed(driver) -> bool:
        try:
            empty = {r[0] for r in _rows(driver, "Lost revenue per day")}
        except AssertionError:
            empty = set()  # no SKU of this category is out of stock
        cover = {r[2] for r in _rows(driver, "Days of cover")}
        return empty <= inside and bool(cover) and cover <= titles

    _wait(browser, narrowed, 60)
    _shot(browser, "stock_watch_category")


# --- customer text, errors, nothing from elsewhere --------------------------------------------


def test_a_hostile_ticket_subject_is_shown_as_text_in_the_page(browser, site):
    _log_in(browser, site)
    _open(browser, site, "support_queue")
    cell = browser.find_element(By.XPATH, f"//td[text()='{XSS_TICKET}']/../td[4]")
    assert cell.text == XSS_SUBJECT
    assert browser.execute_script("return window.__xss") is None


def test_a_hostile_ticket_subject_is_shown_as_text_in_the_report(browser, site, demo_settings,
                                                                  tmp_path):
    """The daily customer-service report, exported by the runner, escapes the subject."""
    from opslib.runs.runner import run

    out = tmp_path / "outputs"
    report = run("daily", data_dir=site.data_dir, out_dir=out, settings=demo_settings,
                 date=DEMO_UNTIL, only="customer_service")
    assert report.ok, report.text()
    page = out / "daily" / DEMO_UNTIL.isoformat() / "customer_service.html"
    source = page.read_text(encoding="utf-8")
    assert "&lt;script&gt;window.__xss" in source and "<script>window.__xss" not in source
    browser.get(page.as_uri())
    _wait(browser, lambda d: XSS_TICKET in d.page_source, 30)
    assert XSS_SUBJECT in browser.find_element(By.TAG_NAME, "body").text
    assert browser.execute_script("return window.__xss") is None
    _shot(browser, "report_customer_service")


def test_a_failing_callback_shows_a_short_message_in_the_page(browser, site):
    _log_in(browser, site)
    _open(browser, site, "support_queue")
    tickets = site.data_dir / "tables" / "tickets.parquet"
    backup = tickets.with_name("tickets.backup")
    tickets.rename(backup)
    try:
        tickets.mkdir()
        (tickets / "2025-11.parquet").write_bytes(b"not parquet")
        refresh = "//button[contains(., 'Refresh')]"
        _wait(browser, lambda d: d.find_elements(By.XPATH, refresh))  # drawn after the tables
        browser.find_element(By.XPATH, refresh).click()
        _wait(browser, lambda d: "could not be shown" in d.find_element(By.TAG_NAME,
                                                                          "body").text, 60)
    finally:
        shutil.rmtree(tickets)
        backup.rename(tickets)
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Traceback" not in body and "Error" not in body and str(site.data_dir) not in body
    _shot(browser, "support_queue_error")


def test_nothing_is_loaded_from_anywhere_but_the_server(browser, site):
    """Every request the pages made went to this server (or was inline data)."""
    _log_in(browser, site)
    browser.get_log("performance")  # drop what came before
    _open(browser, site, "today")
    hosts = set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if url.startswith(("http:", "https:", "ws:", "wss:")):
                hosts.add(urllib.parse.urlsplit(url).netloc)
    assert hosts == {urllib.parse.urlsplit(site.base).netloc}
