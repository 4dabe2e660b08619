"""`playbook serve`: the staff pages, served by Voila, behind a login.

Staff (warehouse, support, marketing) open a browser page that shows their list for the day
and nothing else. The server is standalone Voila on the folder `opslib/serve/staff_pages/` only
(never the data folder, never the repository), with these rules:

* A login is always required: the staff password (stored as an argon2 hash in
  DATA/staff_password.hash, set with `playbook serve --set-password`) or, for automation,
  the token in $PLAYBOOK_TOKEN, sent as `Authorization: token <value>` or once as
  `?token=<value>` (the page then redirects to its bare address and the session cookie
  takes over). Neither is ever logged. Without a login the server does not start, and the
  message says which address would have been exposed.
* A visitor without a login gets the login form and nothing else: every route, static
  files included, needs the session; failed logins are throttled per address.
* Only the staff pages are rendered (`/voila/render/<page>.ipynb`), only image files are
  served from the pages folder, paths with `..` or encoded dots are refused, and no URL
  value reaches a page kernel: any query string is dropped by a redirect first.
* Tracebacks never reach a visitor (Voila's `show_tracebacks` is off; the pages catch
  callback errors, show a short message and log the detail).
* The data folder and the resolved settings reach the page kernels through the
  environment (PLAYBOOK_DATA, PLAYBOOK_SETTINGS), and secrets do not.
* Idle kernels are shut down, open tabs included (`cull_connected`).
* Page kernels are started ahead of visitors (`warm` per page, one after another, the Today
  page first): each runs its page once without showing it (`opslib.serve.pages.rehearse`),
  and a visitor gets one ready to go. When the data files or the day change, the kernels
  waiting for a visitor are replaced. A page never trusts its rehearsal: it reuses it only
  while the data files and settings are those it was computed from.

>>> is_loopback("localhost"), is_loopback("127.0.0.1"), is_loopback("0.0.0.0")
(True, True, False)
>>> refused_path("/voila/files/%2e%2e/playbook.toml"), refused_path("/voila/render/today.ipynb")
(True, False)
>>> [page.address for page in PAGES][:2]
['/voila/render/today.ipynb', '/voila/render/pick_list.ipynb']
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import hmac
import html
import ipaddress
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opslib.config import Settings
from opslib.errors import BadParameter, MissingFileError, SettingsError

__all__ = [
    "PAGES", "PAGES_DIR", "StaffPage", "TOKEN_ENV", "DATA_ENV", "PASSWORD_FILE",
    "IMAGE_FILES", "set_password", "read_password_hash", "password_path", "is_loopback",
    "check_login_setup", "refused_path", "data_signature", "serve",
]

PAGES_DIR = Path(__file__).resolve().parent / "staff_pages"
TEMPLATE_DIR = Path(__file__).resolve().parent / "page_template"
TOKEN_ENV = "PLAYBOOK_TOKEN"
DATA_ENV = "PLAYBOOK_DATA"
SETTINGS_ENV = "PLAYBOOK_SETTINGS"
PASSWORD_FILE = "staff_password.hash"
MIN_PASSWORD_LENGTH = 10
MIN_TOKEN_LENGTH = 16
# The only files served from the pages folder: images, by name, no sub-folders. SVG is left
# out on purpose: an SVG opened on its own runs its scripts with this site's rights.
IMAGE_FILES = r"[A-Za-z0-9_-]+\.(?:png|jpe?g|gif|webp|ico)"
# Failed logins allowed per client address within the window before it must wait.
# Pre-started kernels: how often the data files are checked for changes, and how long a
# kernel may take to start and rehearse its page before it is given up.
WATCH_SECONDS = 2
WARM_TIMEOUT_SECONDS = 300
LOGIN_ATTEMPTS = 10
LOGIN_WINDOW_SECONDS = 300
SESSION_HOURS = 12
# Any `..`, encoded dot or slash, backslash or NUL in a path is refused before routing.
_REFUSED = re.compile(r"(?i)(?:\.\.|%2e|%2f|%5c|\\|%00)")
_KERNEL_ID = r"(?P<kernel_id>\w+-\w+-\w+-\w+-\w+)"
_SECURITY_HEADERS = {
    # Voila's pages need inline scripts; everything else comes from this server only.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"),
    # Same-origin only: a token never leaks to another site, and form posts keep an Origin.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}

log = logging.getLogger("opslib.serve.server")
# The staff page a request is for, so the kernel manager can hand out its pre-started kernel.
_REQUESTED_PAGE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "requested_page", default=None)


@dataclass(frozen=True)
class StaffPage:
    """One staff page: its notebook `<name>.ipynb` in PAGES_DIR and how the start page lists it."""

    name: str
    title: str
    audience: str
    summary: str

    @property
    def address(self) -> str:
        return f"/voila/render/{self.name}.ipynb"


PAGES: tuple[StaffPage, ...] = (
    StaffPage("today", "Today", "everyone",
              "The journal: orders in, parcels out, tickets and returns waiting, "
              "and today's to-do list."),
    StaffPage("pick_list", "Pick list", "warehouse",
              "What to pick and pack, by SKU, oldest orders first; orders awaiting "
              "payment (held until paid); orders past their ship-by promise. Choose "
              "another day with the date picker."),
    StaffPage("support_queue", "Support queue", "customer service",
              "Open tickets, first-response breaches first and in red, then oldest first; "
              "filter by channel. Detractors to call: low scores of the last 30 days."),
    StaffPage("stock_watch", "Stock watch", "purchasing",
              "Bestsellers with little cover left, stock-outs with the sales they cost, "
              "purchase orders on the way; filter by category."),
    StaffPage("marketing_today", "Marketing today", "marketing",
              "Calendar items due (posts, emails, promotions, site updates), "
              "yesterday's results and the promotions running."),
)


# ---------------------------------------------------------------------------------------
# Login setup


def password_path(data_dir: str | os.PathLike) -> Path:
    """Where the staff password hash of a data folder is kept."""
    return Path(data_dir) / PASSWORD_FILE


def set_password(data_dir: str | os.PathLike, password: str) -> Path:
    """Store the argon2 hash of the staff password (never the password); return the file.

    The file is written atomically and readable by its owner only.
    """
    from jupyter_server.auth.security import passwd

    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadParameter("the staff password", expected=f"at least {MIN_PASSWORD_LENGTH} "
                           f"characters", found=f"{len(password)} characters",
                           fix="Choose a longer password (a few words work well).")
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise MissingFileError(f"data folder '{data_dir}' does not exist", file=str(data_dir),
                               fix="Pass --data with the folder that holds tables/.")
    target = password_path(data_dir)
    fd, tmp = tempfile.mkstemp(prefix=".staff_password.", dir=data_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(passwd(password, algorithm="argon2") + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_password_hash(data_dir: str | os.PathLike) -> str | None:
    """The stored staff password hash, or None when no password was set."""
    path = password_path(data_dir)
    if not path.exists():
        return None
    value = path.read_text(encoding="utf-8").strip()
    if not value.startswith("argon2:$argon2"):
        raise SettingsError(f"staff password file '{path}'", expected="an argon2 hash written "
                            "by `playbook serve --set-password`", found="something else",
                            fix="Run `playbook serve --set-password` again.")
    return value


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_login_setup(host: str, *, hashed_password: str | None, token: str | None) -> None:
    """Refuse to start without a login; say what would have been exposed and how to fix it."""
    fix = ("Run `playbook serve --set-password` to choose the staff password (stored as a "
           f"hash in DATA/{PASSWORD_FILE}), or set {TOKEN_ENV} for automation.")
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise BadParameter(f"{TOKEN_ENV}", expected=f"at least {MIN_TOKEN_LENGTH} characters",
                           found=f"{len(token)} characters",
                           fix="Use a long random value, e.g. 48 hexadecimal characters.")
    if hashed_password or token:
        return
    if is_loopback(host):
        raise BadParameter("no staff login is set up, and the pages never run without one",
                           fix=fix)
    raise BadParameter(f"refusing to serve on '{host}' without a login: anyone who can reach "
                       f"this machine on the network could read the staff pages", fix=fix)


def refused_path(path: str) -> bool:
    """Whether a raw request path tries to climb folders (`..`, `%2e%2e`, `\\`, NUL...)."""
    return bool(_REFUSED.search(path))


def data_signature(data_dir: str | os.PathLike) -> tuple:
    """Changes whenever a table is written: every table and part file (tables and parts are
    replaced by renames) by name, inode, size and modification time; () without tables."""

    def stamp(entry: os.DirEntry) -> tuple:
        info = entry.stat()
        return entry.name, info.st_ino, info.st_size, info.st_mtime_ns

    try:
        signature = []
        for entry in sorted(os.scandir(Path(data_dir) / "tables"), key=lambda e: e.name):
            signature.append(stamp(entry))
            if entry.is_dir():
                signature.extend(sorted(stamp(part) for part in os.scandir(entry.path)))
        return tuple(signature)
    except OSError:
        return ()


# ---------------------------------------------------------------------------------------
# HTML of the login form and the start page (self-contained: inline styles, no scripts)

_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;background:#f6f8fa;"
    "color:#1f2328;margin:0}main{max-width:720px;margin:48px auto;padding:0 16px}"
    "h1{font-size:22px;margin:0 0 4px}p.sub{color:#57606a;margin:0 0 20px}"
    ".card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:16px 20px;"
    "margin:0 0 12px}.card a{font-size:17px;font-weight:600;color:#0969da;"
    "text-decoration:none}.card a:hover{text-decoration:underline}"
    ".who{font-size:12px;color:#57606a;text-transform:uppercase;letter-spacing:.04em}"
    ".card p{margin:6px 0 0;font-size:14px}label{display:block;font-size:14px;"
    "margin:0 0 6px}input[type=password]{width:100%;box-sizing:border-box;padding:8px;"
    "font-size:15px;border:1px solid #d0d7de;border-radius:6px}button{margin-top:12px;"
    "padding:8px 16px;font-size:15px;background:#0969da;color:#fff;border:0;"
    "border-radius:6px;cursor:pointer}.msg{padding:8px 12px;border-radius:6px;"
    "margin:0 0 12px;font-size:14px}.error{background:#fff5f5;border-left:4px solid #c62828}"
    ".info{background:#f6f8fa;border-left:4px solid #0969da}footer{font-size:13px;"
    "color:#57606a;margin-top:20px}footer a{color:#57606a}")


def _document(title: str, body: str, *, icon: str = "data:,") -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{html.escape(title)}</title><link rel="icon" href="{icon}">'
            f'<style>{_STYLE}</style></head><body><main>{body}</main></body></html>')


def login_page(*, store_name: str, xsrf_field: str, next_url: str,
               message: str | None = None, kind: str = "error") -> str:
    """The login form: one password field (the staff password or the access token)."""
    note = f'<div class="msg {kind}">{html.escape(message)}</div>' if message else ""
    body = (f'<h1>{html.escape(store_name)}</h1><p class="sub">Staff pages — please log in.</p>'
            f'<div class="card">{note}<form method="post" action="login?next='
            f'{html.escape(next_url, quote=True)}">{xsrf_field}'
            f'<label for="password">Password</label>'
            f'<input type="password" id="password" name="password" autocomplete='
            f'"current-password" autofocus required><button type="submit" id="login_submit">'
            f'Log in</button></form></div>')
    return _document(f"{store_name}: log in", body)


def start_page(*, store_name: str, base_url: str) -> str:
    """The start page: every staff page with its address, who it is for and what it shows."""
    cards = "".join(
        f'<div class="card"><div class="who">{html.escape(page.audience)}</div>'
        f'<a href="{html.escape(base_url.rstrip("/") + page.address, quote=True)}">'
        f'{html.escape(page.title)}</a><p>{html.escape(page.summary)}</p></div>'
        for page in PAGES)
    body = (f'<h1>{html.escape(store_name)}</h1><p class="sub">Staff pages: your list for '
            f'today. Figures are read from the store\'s data when a page opens.</p>{cards}'
            f'<footer><a href="{html.escape(base_url.rstrip("/") + "/logout", quote=True)}">'
            f'Log out</a></footer>')
    return _document(f"{store_name}: staff pages", body,
                     icon=html.escape(base_url.rstrip("/") + "/voila/files/icon.png", quote=True))


# ---------------------------------------------------------------------------------------
# Tornado handlers and the Voila application (imported only when serving)


def _build_app_class() -> type:
    """Define the handlers and the Voila subclass (deferred: Voila is heavy to import)."""
    import jinja2
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.session import Session
    from jupyter_core.utils import ensure_async
    from jupyter_server.auth.decorator import allow_unauthenticated
    from jupyter_server.auth.identity import PasswordIdentityProvider
    from jupyter_server.auth.login import LoginFormHandler
    from jupyter_server.base.handlers import FileFindHandler, JupyterHandler
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
    from jupyter_server._tz import utcnow
    from jupyter_server.services.kernels.handlers import KernelHandler
    from jupyter_server.utils import url_path_join
    from jupyterlab_server.themes_handler import ThemesHandler
    from tornado import web
    from tornado.ioloop import IOLoop, PeriodicCallback
    from traitlets import Integer, Unicode, default
    from voila.app import Voila
    from voila.shutdown_kernel_handler import VoilaShutdownKernelHandler
    from voila.static_file_handler import (AllowListFileHandler, MultiStaticFileHandler,
                                           TemplateStaticFileHandler)
    from voila.tornado.handler import TornadoVoilaHandler
    from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler
    from voila.utils import get_voila_labextensions_path

    from opslib.runs.runner import KERNEL_NAME

    class Refuse(web.RequestHandler):
        """404 for every method: paths that climb folders, routes that do not exist."""

        def prepare(self) -> None:
            raise web.HTTPError(404)

        def set_default_headers(self) -> None:
            for name, value in _SECURITY_HEADERS.items():
                self.set_header(name, value)

        def write_error(self, status_code: int, **kwargs: Any) -> None:
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(f"{status_code}: not found.\n")

    class LoginHandler(LoginFormHandler):
        """The login form (self-contained page), with failed attempts throttled per address."""

        failures: dict[str, collections.deque] = collections.defaultdict(collections.deque)

        def _render(self, message: str | None = None, kind: str = "error") -> None:
            self.write(login_page(store_name=self.settings["playbook_store_name"],
                                  xsrf_field=self.xsrf_form_html(),
                                  next_url=self.get_argument("next", default=self.base_url),
                                  message=message, kind=kind))

        def _recent_failures(self) -> collections.deque:
            now = time.monotonic()
            for address in [a for a, d in self.failures.items()
                            if not d or d[-1] < now - LOGIN_WINDOW_SECONDS]:
                del self.failures[address]  # forget addresses with no recent failure
            attempts = self.failures[self.request.remote_ip or "?"]
            while attempts and attempts[0] < now - LOGIN_WINDOW_SECONDS:
                attempts.popleft()
            return attempts

        @allow_unauthenticated
        def get(self) -> None:
            if self.current_user:
                self._redirect_safe(self.get_argument("next", default=self.base_url))
            else:
                self._render()

        @allow_unauthenticated
        def post(self) -> None:
            attempts = self._recent_failures()
            if len(attempts) >= LOGIN_ATTEMPTS:
                wait = int(attempts[0] + LOGIN_WINDOW_SECONDS - time.monotonic()) + 1
                self.log.warning("Login refused for %s: too many failed attempts",
                                 self.request.remote_ip)
                self.set_status(429)
                self._render(f"Too many failed attempts. Try again in {wait} seconds.")
                return
            user = self.identity_provider.process_login_form(self)
            if user is None:
                attempts.append(time.monotonic())
                self.log.warning("Failed staff login from %s", self.request.remote_ip)
                self.set_status(401)
                self._render("Wrong password.")
                return
            self.current_user = user
            attempts.clear()
            self.log.info("Staff login from %s", self.request.remote_ip)
            self.identity_provider.set_login_cookie(self, user)
            self._redirect_safe(self.get_argument("next", default=self.base_url))

    class LogoutHandler(JupyterHandler):
        @allow_unauthenticated
        def get(self) -> None:
            self.identity_provider.clear_login_cookie(self)
            self.write(login_page(store_name=self.settings["playbook_store_name"],
                                  xsrf_field=self.xsrf_form_html(), next_url=self.base_url,
                                  message="You are logged out.", kind="info"))

    class StaffIdentity(PasswordIdentityProvider):
        """Password (argon2 hash) or token; constant-time comparisons; no password change."""

        def __init__(self, **kwargs: Any) -> None:
            kwargs["login_handler_class"] = LoginHandler
            kwargs["logout_handler_class"] = LogoutHandler
            super().__init__(**kwargs)

        def _token_matches(self, given: str | None) -> bool:
            return bool(self.token) and bool(given) and hmac.compare_digest(
                given.encode("utf-8", "surrogateescape"),
                self.token.encode("utf-8", "surrogateescape"))

        async def get_user_token(self, handler: web.RequestHandler):
            if not self._token_matches(self.get_token(handler)):
                return None
            user = await ensure_async(self.get_user_cookie(handler))
            return user or self.generate_anonymous_user(handler)

        def process_login_form(self, handler: web.RequestHandler):
            typed = handler.get_argument("password", default="")
            if (self.hashed_password and self.passwd_check(typed)) or self._token_matches(typed):
                return self.generate_anonymous_user(handler)
            return None

    class QueryFree:
        """A page never sees its URL's query: a token in it has been taken (cookie set);
        anything else is dropped. So no URL value reaches a page kernel."""

        def drop_query(self) -> bool:
            if self.request.query:
                self.redirect(self.request.path)
                return True
            return False

    class StartPage(QueryFree, JupyterHandler):
        @web.authenticated
        def get(self) -> None:
            if self.drop_query():
                return
            self.set_header("Cache-Control", "no-store")
            self.write(start_page(store_name=self.settings["playbook_store_name"],
                                  base_url=self.base_url))

    class PageHandler(QueryFree, TornadoVoilaHandler):
        @web.authenticated
        async def get(self, path: str | None = None) -> None:
            if self.drop_query():
                return
            _REQUESTED_PAGE.set(Path(path or "").stem)
            await super().get(path)

    class WarmKernels(AsyncMappingKernelManager):
        """Page kernels started ahead of visitors, `warm` per page, each rehearsing its page.

        One kernel is prepared at a time, in page order (Today first). A visitor takes a
        ready kernel, or the one being prepared for the page (its cells run once the
        rehearsal is done), or else gets a kernel started for the visit (as without
        pre-started kernels); the replacement of a kernel taken goes first in the queue.
        Kernels waiting for a visitor are replaced when the data files or the day change,
        and are not culled while alive.
        """

        warm = Integer(1, config=True, help="Pre-started kernels per page (0: none).")
        data_dir = Unicode("", config=True, help="The data folder the pages read.")
        last_complete_day: Callable[[], Any] = staticmethod(lambda: None)  # set by serve

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._ready: dict[str, list[str]] = {page.name: [] for page in PAGES}
            self._queue: list[str] = []
            self._current: str | None = None  # the page whose kernel is being prepared
            self._launched: asyncio.Future | None = None  # ...that kernel's id, once started
            self._claimed = False  # ...already given to a visitor
            self._worker: asyncio.Task | None = None
            self._watch: tuple = ()

        # -- the queue of kernels to prepare ------------------------------------------

        def start_warming(self) -> None:
            """Prepare every page's kernels and watch the data (call on the event loop)."""
            if self.warm < 1:
                return
            self._watch = self._watched()
            for page in PAGES:
                self._want(page.name)
            PeriodicCallback(self._check_data, WATCH_SECONDS * 1000).start()

        def _watched(self) -> tuple:
            return data_signature(self.data_dir), self.last_complete_day()

        def _supply(self, page: str) -> int:
            return (len(self._ready[page]) + self._queue.count(page)
                    + (self._current == page and not self._claimed))

        def _want(self, page: str, *, first: bool = False) -> None:
            for _ in range(self.warm - self._supply(page)):
                self._queue.insert(0 if first else len(self._queue), page)
            if self._queue and (self._worker is None or self._worker.done()):
                self._worker = asyncio.ensure_future(self._prepare_queued())

        async def _prepare_queued(self) -> None:
            while self._queue:
                self._current = page = self._queue.pop(0)
                self._launched = asyncio.get_running_loop().create_future()
                self._claimed = False
                watched = self._watch
                try:
                    kernel_id = await self._prepare(page)
                finally:
                    claimed, self._current, self._claimed = self._claimed, None, False
                if kernel_id is None or claimed:
                    continue
                if self._watch != watched:  # the data changed meanwhile: prepare anew
                    await self.shutdown_kernel(kernel_id, now=True)
                    self._want(page)
                else:
                    self._ready[page].append(kernel_id)

        async def _prepare(self, page: str) -> str | None:
            """Start a kernel and rehearse `page` in it; None (logged) if that fails."""
            started = time.monotonic()
            kernel_id = None
            try:
                env = dict(os.environ, VOILA_PREHEAT="False", VOILA_BASE_URL="/",
                           VOILA_SERVER_URL="/")
                try:
                    kernel_id = await super().start_kernel(kernel_name=KERNEL_NAME, path="",
                                                           env=env)
                finally:
                    self._launched.set_result(kernel_id)
                # A session of its own: replies go to the client with the session's id,
                # and the visitor's page may connect while the rehearsal runs.
                kernel = self.get_kernel(kernel_id)
                client = kernel.client(session=Session(
                    key=kernel.session.key, signature_scheme=kernel.session.signature_scheme))
                client.start_channels()
                try:
                    await client.wait_for_ready(timeout=WARM_TIMEOUT_SECONDS)
                    reply = await client.execute(
                        f"from opslib.serve.pages import rehearse\nrehearse({page!r})",
                        silent=True, store_history=False, allow_stdin=False, reply=True,
                        timeout=WARM_TIMEOUT_SECONDS)
                finally:
                    client.stop_channels()
                if reply["content"]["status"] != "ok":
                    raise RuntimeError(f"{reply['content'].get('ename')}: "
                                       f"{reply['content'].get('evalue')}")
            except Exception as err:  # noqa: BLE001 - the page starts a kernel of its own
                log.warning("Could not prepare a kernel for page %s: %s", page, err)
                if kernel_id is not None and kernel_id in self and not self._claimed:
                    await self.shutdown_kernel(kernel_id, now=True)
                return None
            log.info("Kernel ready for page %s in %.1f s", page, time.monotonic() - started)
            return kernel_id

        # -- handing kernels out --------------------------------------------------------

        async def start_kernel(self, **kwargs: Any) -> str:
            page = _REQUESTED_PAGE.get()
            if self.warm < 1 or page not in self._ready:
                return await super().start_kernel(**kwargs)
            kernel_id = await self._take(page)
            self._want(page, first=True)
            if kernel_id is None:
                return await super().start_kernel(**kwargs)
            self.get_kernel(kernel_id).last_activity = utcnow()
            log.info("page %s: pre-started kernel handed out", page)
            return kernel_id

        async def _take(self, page: str) -> str | None:
            while self._ready[page]:
                kernel_id = self._ready[page].pop(0)
                if kernel_id not in self:
                    continue
                if await self.get_kernel(kernel_id).is_alive():
                    return kernel_id
                await self.shutdown_kernel(kernel_id, now=True)
            if self._current != page or self._claimed or self._launched is None:
                return None
            self._claimed = True  # the page's cells queue behind its rehearsal
            kernel_id = await asyncio.shield(self._launched)
            if kernel_id is None:
                self._claimed = False
            return kernel_id

        # -- data changes, culling ----------------------------------------------------

        async def _check_data(self) -> None:
            watched = self._watched()
            if watched == self._watch:
                return
            self._watch = watched
            log.info("The data or the day changed: replacing the kernels waiting for visitors")
            for page in PAGES:
                waiting, self._ready[page.name] = self._ready[page.name], []
                for kernel_id in waiting:
                    if kernel_id in self:
                        await self.shutdown_kernel(kernel_id, now=True)
                self._want(page.name)

        async def cull_kernel_if_idle(self, kernel_id: str) -> None:
            waiting = any(kernel_id in ready for ready in self._ready.values())
            if waiting and await self.get_kernel(kernel_id).is_alive():
                return  # waiting for a visitor, not idle
            await super().cull_kernel_if_idle(kernel_id)

    def private(base: type) -> type:
        """A static-file handler that serves only to logged-in visitors."""
        if issubclass(base, JupyterHandler):
            class Private(base):
                # FileFindHandler allows anonymous GET (for Jupyter's login page assets);
                # these overrides carry no such mark, so the login is checked.
                def get(self, path: str, include_body: bool = True):
                    return web.StaticFileHandler.get(self, path, include_body)

                def head(self, path: str):
                    return web.StaticFileHandler.head(self, path)
        else:
            class Private(JupyterHandler, base):
                pass
        Private.__name__ = f"Private{base.__name__}"
        return Private

    class ProjectKernels(KernelSpecManager):
        """Only the project's own kernel (this interpreter), never another one on the path."""

        @default("kernel_dirs")
        def _only_this_environment(self) -> list[str]:
            return [str(Path(sys.prefix) / "share" / "jupyter" / "kernels")]

        @default("allowed_kernelspecs")
        def _only_the_project_kernel(self) -> set[str]:
            return {KERNEL_NAME}

        @default("ensure_native_kernel")
        def _no_native_kernel(self) -> bool:
            return False

    class StaffPagesApp(Voila):
        """Voila on the staff pages folder with the routes above and nothing else."""

        name = "playbook-serve"

        @default("config_file_paths")
        def _no_config_files(self) -> list[str]:
            return []  # never pick up a voila.py/voila.json from the working folder

        def setup_template_dirs(self) -> None:
            super().setup_template_dirs()
            self.template_paths.insert(0, str(TEMPLATE_DIR))

        @property
        def display_url(self) -> str:
            return self._url(self.ip or "localhost")

        def init_settings(self) -> dict:
            settings = super().init_settings()
            IOLoop.current().add_callback(self.kernel_manager.start_warming)
            # Error pages: status only, no detail, no assets (Jupyter's own need static_path).
            errors = jinja2.Environment(autoescape=True, loader=jinja2.DictLoader(
                {"error.html": _document("{{ status_code }}", "<h1>{{ status_code }} "
                                         "{{ status_message }}</h1><p class=\"sub\">"
                                         "<a href=\"/\">All staff pages</a></p>")}))
            settings.update(
                jinja2_env=errors,
                headers=dict(_SECURITY_HEADERS),
                log_function=_log_request,
                default_handler_class=Refuse,
                playbook_store_name=self.playbook_store_name,
            )
            return settings

        def init_handlers(self) -> list:
            conf = self.voila_configuration
            at = lambda path: url_path_join(self.server_url, path)  # noqa: E731
            names = "|".join(re.escape(page.name) for page in PAGES)
            return [
                (r".*(?:\.\.|%2[eEfF]|%5[cC]|\\|%00).*", Refuse),
                (self.server_url, StartPage),
                (at(rf"/voila/render/((?:{names})\.ipynb)"), PageHandler,
                 {"template_paths": self.template_paths, "config": self.config,
                  "voila_configuration": conf}),
                (at(rf"/api/kernels/{_KERNEL_ID}"), KernelHandler),
                (at(rf"/api/kernels/{_KERNEL_ID}/channels"), VoilaKernelWebsocketHandler),
                (at(rf"/voila/api/shutdown/{_KERNEL_ID}"), VoilaShutdownKernelHandler),
                (at(r"/voila/templates/(.*)"), private(TemplateStaticFileHandler)),
                (at(r"/voila/static/(.*)"), private(MultiStaticFileHandler),
                 {"paths": self.static_paths}),
                (at(r"/voila/api/themes/(.*)"), private(ThemesHandler),
                 {"themes_url": "/voila/api/themes", "path": self.themes_dir,
                  "labextensions_path": get_voila_labextensions_path(
                      conf.extra_labextensions_path), "no_cache_paths": ["/"]}),
                (at(r"/voila/labextensions/(.*)"), private(FileFindHandler),
                 {"path": self.labextensions_path, "no_cache_paths": ["/"]}),
                (at(r"/voila/files/(.*)"), private(AllowListFileHandler),
                 {"allowlist": [IMAGE_FILES], "denylist": [], "path": self.root_dir}),
                *self.identity_provider.get_handlers(),
            ]

    StaffPagesApp.playbook_store_name = "Store"
    StaffPagesApp.kernel_specs_class = ProjectKernels
    StaffPagesApp.staff_identity_class = StaffIdentity
    StaffPagesApp.kernel_manager_class = WarmKernels
    return StaffPagesApp


def _log_request(handler: Any) -> None:
    """Access log: status, method, path, time. Never the query string, cookies or headers."""
    status = handler.get_status()
    path = handler.request.path
    asset = any(part in path for part in ("/static/", "/labextensions/", "/themes/"))
    if status >= 400:
        level = logging.WARNING
    elif asset:
        level = logging.DEBUG
    else:
        level = logging.INFO
    log.log(level, "%d %s %s %.0fms", status, handler.request.method, path,
            1000 * handler.request.request_time())


def _config(*, host: str, port: int, token: str | None, hashed_password: str | None,
            idle_timeout: int, warm: int, data_dir: Path, app_class: type) -> Any:
    from traitlets.config import Config

    c = Config()
    c.Voila.ip = host
    c.Voila.port = port
    c.Voila.port_retries = 0
    c.Voila.open_browser = False
    c.Voila.root_dir = str(PAGES_DIR)
    c.Voila.token = token or None
    c.Voila.identity_provider_class = app_class.staff_identity_class
    c.PasswordIdentityProvider.hashed_password = hashed_password or ""
    c.PasswordIdentityProvider.allow_password_change = False
    c.IdentityProvider.cookie_options = {"samesite": "Lax", "expires_days": SESSION_HOURS / 24}
    c.IdentityProvider.get_secure_cookie_kwargs = {"max_age_days": SESSION_HOURS / 24}
    c.VoilaConfiguration.show_tracebacks = False
    c.VoilaConfiguration.allow_template_override = "NO"
    c.VoilaConfiguration.allow_theme_override = "NO"
    c.VoilaConfiguration.file_allowlist = [IMAGE_FILES]
    c.VoilaConfiguration.extension_allowlist = ["@jupyter-widgets/jupyterlab-manager",
                                                "@voila-dashboards/widgets-manager8"]
    # Idle kernels are shut down, even while a tab is open: activity is kernel messages.
    c.MappingKernelManager.cull_idle_timeout = idle_timeout
    c.MappingKernelManager.cull_interval = max(1, min(60, idle_timeout // 4))
    c.MappingKernelManager.cull_connected = True
    c.MappingKernelManager.cull_busy = False
    c.VoilaConfiguration.kernel_spec_manager_class = app_class.kernel_specs_class
    c.VoilaConfiguration.multi_kernel_manager_class = app_class.kernel_manager_class
    c.WarmKernels.warm = warm
    c.WarmKernels.data_dir = str(data_dir)
    return c


def serve(data_dir: str | os.PathLike, *, settings: Settings, host: str = "localhost",
          port: int = 8866, idle_timeout: int = 900, warm: int = 1,
          echo: Callable[[str], None] = print) -> None:
    """Serve the staff pages until stopped (Ctrl-C or SIGTERM).

    The login is the password set with `set_password` for this data folder and/or the token
    in $PLAYBOOK_TOKEN (taken out of this process's environment, so page kernels never
    see it). `idle_timeout` is the seconds after which a page's idle kernel is shut down;
    `warm` is the number of kernels per page started ahead of visitors (0: none).
    """
    # jsonschema (under nbformat) builds an IRI grammar on import when the optional
    # rfc3987-syntax package is installed: seconds of start-up for a format check the
    # server never makes (the page kernels skip it the same way).
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    from opslib.runs.runner import SECRET_ENV, ensure_kernel, settings_toml

    data_dir = Path(data_dir).resolve()
    if not (data_dir / "tables").is_dir():
        raise MissingFileError(f"no tables folder in data folder '{data_dir}'",
                               file=str(data_dir),
                               fix="Run `playbook demo` (or import your data) first, or pass "
                                   "--data with the right folder.")
    if warm < 0:
        raise BadParameter("the pre-started kernels per page", expected="0 or more",
                           found=warm, fix="Pass 0 to start a kernel per visit, or more.")
    if idle_timeout < 1:
        raise BadParameter("the idle timeout", expected="a number of seconds, 1 or more",
                           found=idle_timeout, fix="Pass a positive number.")
    token = os.environ.pop(TOKEN_ENV, None) or None
    hashed = read_password_hash(data_dir)
    check_login_setup(host, hashed_password=hashed, token=token)
    for name in SECRET_ENV:
        os.environ.pop(name, None)

    ensure_kernel()
    private_dir = Path(tempfile.mkdtemp(prefix="playbook-serve-"))
    try:
        settings_file = private_dir / "playbook.toml"
        settings_file.write_text(settings_toml(settings), encoding="utf-8")
        os.environ[DATA_ENV] = str(data_dir)
        os.environ[SETTINGS_ENV] = str(settings_file)
        os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

        app_class = _build_app_class()
        app_class.playbook_store_name = settings.store.name
        app_class.kernel_manager_class.last_complete_day = staticmethod(settings.yesterday)
        config = _config(host=host, port=port, token=token, hashed_password=hashed,
                         idle_timeout=idle_timeout, warm=warm, data_dir=data_dir,
                         app_class=app_class)
        app = app_class(config=config)
        app.initialize(argv=[])
        logging.getLogger("opslib").setLevel(logging.INFO)
        if not log.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("[serve %(asctime)s] %(levelname)s "
                                                   "%(message)s", "%H:%M:%S"))
            log.addHandler(handler)
            log.propagate = False
        login = " and ".join(filter(None, ["password" if hashed else "",
                                           f"token (${TOKEN_ENV})" if token else ""]))
        echo(f"Staff pages of '{settings.store.name}' at http://{_url_host(host)}:{port}/ "
             f"(login: {login}; data: {data_dir}; idle pages stop after {idle_timeout} s). "
             f"Stop with Ctrl-C.")
        app.start()
    finally:
        shutil.rmtree(private_dir, ignore_errors=True)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
