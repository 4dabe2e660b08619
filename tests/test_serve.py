"""`playbook serve` without a browser: login setup, refusals, pages folder, HTML pieces.

The server itself is exercised in test_serve_security.py (HTTP) and test_serve_browser.py.
"""

from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from opslib.cli import main
from opslib.errors import BadParameter, SettingsError
from opslib.serve.server import (IMAGE_FILES, PAGES, PAGES_DIR, check_login_setup,
                                 is_loopback, login_page, read_password_hash, refused_path,
                                 set_password, start_page)

ROOT = Path(__file__).resolve().parents[1]


def test_every_page_has_a_notebook_and_every_notebook_is_a_page():
    """The start page lists exactly the notebooks of the pages folder."""
    notebooks = {p.stem for p in PAGES_DIR.glob("*.ipynb")}
    assert notebooks == {page.name for page in PAGES}
    assert {"today", "pick_list", "support_queue", "stock_watch", "marketing_today"} <= notebooks


def test_the_pages_folder_holds_only_pages_and_images():
    """Nothing else sits in the served folder (no data, no settings, no code)."""
    import re

    for path in PAGES_DIR.iterdir():
        if path.name.startswith("."):
            continue  # editor leftovers such as .ipynb_checkpoints are never served
        assert path.suffix == ".ipynb" or re.fullmatch(IMAGE_FILES, path.name), path.name


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_notebooks_are_thin_and_stored_without_outputs(page):
    """One setup cell, then one or two calls per section; no def, loop or path; no outputs."""
    nb = json.loads((PAGES_DIR / f"{page.name}.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)
    assert nb["metadata"]["kernelspec"]["name"] == "store-ops-playbook"
    assert f'StaffPage.open("{page.name}")' in "".join(code[0]["source"])
    for cell in code:
        tree = ast.parse("".join(cell["source"]))
        assert not any(isinstance(n, (ast.FunctionDef, ast.For, ast.While, ast.Lambda))
                       for n in ast.walk(tree))
        assert "/" not in "".join(cell["source"])  # no file paths
    for cell in code[1:]:
        assert all(line.startswith("page.show(") for line in "".join(cell["source"]).splitlines())


def test_the_page_notebooks_and_template_ship_with_the_package():
    """pyproject declares the notebooks, the icon and the page template as package data."""
    text = (ROOT / "pyproject.toml").read_text()
    for pattern in ("staff_pages/*.ipynb", "staff_pages/*.png", "page_template/*.j2"):
        assert pattern in text


@pytest.mark.parametrize("host,expected", [("localhost", True), ("127.0.0.1", True),
                                           ("::1", True), ("[::1]", True), ("0.0.0.0", False),
                                           ("192.168.1.20", False), ("shop.example", False)])
def test_loopback_addresses(host, expected):
    assert is_loopback(host) is expected


def test_a_public_address_without_a_login_is_refused_with_a_clear_message():
    """The message names the address, the risk and the two ways to set up a login."""
    with pytest.raises(BadParameter) as caught:
        check_login_setup("0.0.0.0", hashed_password=None, token=None)
    message = str(caught.value)
    assert "refusing to serve on '0.0.0.0' without a login" in message
    assert "--set-password" in message and "PLAYBOOK_TOKEN" in message


def test_localhost_without_a_login_is_refused_too():
    with pytest.raises(BadParameter, match="no staff login is set up"):
        check_login_setup("localhost", hashed_password=None, token=None)


def test_a_short_token_is_refused():
    with pytest.raises(BadParameter, match="at least 16 characters"):
        check_login_setup("0.0.0.0", hashed_password=None, token="short")


def test_a_login_lets_any_address_through():
    check_login_setup("0.0.0.0", hashed_password="argon2:$argon2id$x", token=None)
    check_login_setup("0.0.0.0", hashed_password=None, token="t" * 32)


@pytest.mark.parametrize("path", ["/voila/files/../x", "/voila/files/%2e%2e/x",
                                  "/voila/files/%2E%2E%2Fx", "/voila/files/.%2e/x",
                                  "/voila/render/a%2fb", "/x\\..\\y", "/a%5c..", "/a%00.png"])
def test_climbing_paths_are_refused(path):
    assert refused_path(path)


@pytest.mark.parametrize("path", ["/", "/voila/render/today.ipynb", "/voila/files/icon.png",
                                  "/voila/static/voila.js"])
def test_ordinary_paths_pass(path):
    assert not refused_path(path)


def test_set_password_stores_an_argon2_hash_readable_by_the_owner_only(tmp_path):
    """The file holds a hash (never the password), mode 0600, and checks the password."""
    from jupyter_server.auth.security import passwd_check

    path = set_password(tmp_path, "a long staff password")
    text = path.read_text()
    assert "a long staff password" not in text
    assert text.startswith("argon2:$argon2id$")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    stored = read_password_hash(tmp_path)
    assert passwd_check(stored, "a long staff password")
    assert not passwd_check(stored, "a long staff passwore")


def test_a_short_password_is_refused(tmp_path):
    with pytest.raises(BadParameter, match="at least 10 characters"):
        set_password(tmp_path, "short")
    assert read_password_hash(tmp_path) is None


def test_a_tampered_password_file_is_an_error(tmp_path):
    (tmp_path / "staff_password.hash").write_text("plain-text-password\n")
    with pytest.raises(SettingsError, match="argon2 hash"):
        read_password_hash(tmp_path)


def test_cli_set_password_prompts_twice_and_saves_the_hash(tmp_path):
    result = CliRunner().invoke(main, ["serve", "--data", str(tmp_path), "--set-password"],
                                input="warehouse and support\nwarehouse and support\n")
    assert result.exit_code == 0, result.output
    assert "argon2 hash" in result.output
    assert read_password_hash(tmp_path).startswith("argon2:")


def test_cli_serve_refuses_a_public_address_without_a_login(small_demo_dir, tmp_path):
    """The real command exits at once with the message, before listening anywhere."""
    env = {k: v for k, v in os.environ.items() if k != "PLAYBOOK_TOKEN"}
    data = tmp_path / "data"
    (data / "tables").mkdir(parents=True)
    done = subprocess.run([sys.executable, "-m", "opslib", "serve", "--data", str(data),
                           "--host", "0.0.0.0", "--port", "8866"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 2
    assert "refusing to serve on '0.0.0.0' without a login" in done.stderr


def test_serve_help_documents_every_option():
    result = CliRunner().invoke(main, ["serve", "--help"])
    for option in ("--data", "--host", "--port", "--settings", "--idle-timeout",
                   "--set-password"):
        assert option in result.output


def test_login_and_start_pages_escape_the_store_name():
    """A store name is data too: escaped in both pages."""
    evil = '<script>alert(1)</script>'
    for text in (login_page(store_name=evil, xsrf_field="", next_url="/"),
                 start_page(store_name=evil, base_url="/")):
        assert "<script>" not in text and "&lt;script&gt;" in text


def test_the_login_page_escapes_the_next_address():
    text = login_page(store_name="Shop", xsrf_field="", next_url='/"><script>x</script>')
    assert "<script>" not in text


def test_the_start_page_links_every_page():
    text = start_page(store_name="Shop", base_url="/")
    for page in PAGES:
        assert f'href="/voila/render/{page.name}.ipynb"' in text
        assert page.title in text


def test_server_and_pages_agree_on_the_data_variable():
    """The server sets the variable the page kernels read."""
    from opslib.serve import pages, server as serve

    assert serve.DATA_ENV == pages.DATA_ENV == "PLAYBOOK_DATA"
