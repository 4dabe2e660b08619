"""Staff pages: time to a complete Today page, cold and warm, and memory per open page.

`playbook serve` (the real command) runs on a free loopback port against the store,
logged in with a random token (nothing is written to the store). Two sides alternate
(their order rotating every repetition): `--warm 1` (a kernel per page started ahead of
visitors, the default) and `--warm 0` (a kernel started per visit). Per repetition and
side a fresh server is started (**start**: seconds until it answers), then:

1. **cold**: the first open of the Today page as soon as the server answers;
2. **again at once**: the Today page opened again right after (its first kernel shut down);
3. **warm**: the Today page opened again once the server is settled (its processes idle:
   the kernels it starts ahead of visitors are ready);
4. **each page**: every staff page opened once, the server settled before each; the
   resident (RSS) and proportional (PSS) size of its kernel once the page is complete;
5. **ten at once** (last repetition only): every page twice, requested together.

A page counts as complete when the whole response is in: every cell run, every section's
figures in the page; "first byte" is Voila's page shell, which shows at once. The kernels
waiting for visitors (`playbook serve --warm`) are measured when the server is settled.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

from benchmarks.common import MB, spread
from opslib.serve.server import PAGES

TODAY = "today"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A running `playbook serve` and how to talk to it."""

    process: subprocess.Popen
    base: str
    token: str
    started: float  # seconds from the command to the server's first answer

    def kernels(self, kernel_id: str = "") -> list[psutil.Process]:
        """The server's kernel processes (only kernel `kernel_id`'s, when given)."""
        found = []
        for child in psutil.Process(self.process.pid).children(recursive=True):
            try:
                command = " ".join(child.cmdline())
            except psutil.Error:
                continue
            if "ipykernel" in command and kernel_id in command:
                found.append(child)
        return found

    def settle(self, *, quiet_seconds: float = 1.0, timeout: float = 180) -> float:
        """Wait until the server and its kernels use no CPU for `quiet_seconds`; seconds
        waited."""
        started = time.perf_counter()

        def cpu() -> float:
            total = 0.0
            for process in [psutil.Process(self.process.pid), *self.kernels()]:
                try:
                    times = process.cpu_times()
                    total += times.user + times.system
                except psutil.Error:
                    pass
            return total

        before = cpu()
        while time.perf_counter() - started < timeout:
            time.sleep(quiet_seconds)
            now = cpu()
            if now - before < 0.05 * quiet_seconds:
                break
            before = now
        return time.perf_counter() - started

    def render(self, name: str) -> tuple[float, float, str]:
        """(seconds to first byte, seconds to the complete page, kernel id)."""
        started = time.perf_counter()
        with requests.get(f"{self.base}/voila/render/{name}.ipynb", stream=True, timeout=600,
                          headers={"Authorization": f"token {self.token}"}) as reply:
            reply.raise_for_status()
            chunks = reply.iter_content(chunk_size=None)
            body = next(chunks)
            first = time.perf_counter() - started
            body += b"".join(chunks)
        complete = time.perf_counter() - started
        text = body.decode("utf-8", "replace")
        if "could not be shown" in text or "There was an error" in text:
            raise RuntimeError(f"page {name} failed to render")
        marker = '"kernelId": "'
        return first, complete, text[text.index(marker) + len(marker):][:36]

    def shutdown(self, kernel: str) -> None:
        requests.post(f"{self.base}/voila/api/shutdown/{kernel}", timeout=60,
                      headers={"Authorization": f"token {self.token}"})
        for _ in range(100):  # wait until the kernel process is gone
            if not self.kernels(kernel):
                return
            time.sleep(0.1)


def start_server(data: Path, *, warm: int) -> Server:
    token = secrets.token_hex(24)
    port = _free_port()
    launched = time.perf_counter()
    log = tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log", delete=False)
    process = subprocess.Popen([sys.executable, "-m", "opslib", "serve", "--data", str(data),
                                "--host", "127.0.0.1", "--port", str(port),
                                "--warm", str(warm)],
                               stdout=log, stderr=subprocess.STDOUT,
                               env=dict(os.environ, PLAYBOOK_TOKEN=token),
                               start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            if requests.get(base + "/login", timeout=2).ok:
                return Server(process, base, token, time.perf_counter() - launched)
        except requests.ConnectionError:
            time.sleep(0.25)
    process.kill()
    raise SystemExit(f"playbook serve did not start; see {log.name}")


@dataclass
class PageTimes:
    start: list[float] = field(default_factory=list)
    cold: list[tuple[float, float]] = field(default_factory=list)
    again: list[tuple[float, float]] = field(default_factory=list)
    warm: list[tuple[float, float]] = field(default_factory=list)
    pages: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)
    waiting: list[tuple[int, float, float]] = field(default_factory=list)  # n, RSS, PSS
    together: tuple[float, list[float], list[float], float] | None = None


def _memory(kernels: list[psutil.Process]) -> tuple[float, float]:
    """(RSS, PSS) in MB summed over kernel processes."""
    infos = [kernel.memory_full_info() for kernel in kernels]
    return sum(i.rss for i in infos) / MB, sum(i.pss for i in infos) / MB


SIDES = (1, 0)  # --warm


def measure_pages(data: Path, *, reps: int) -> dict[int, PageTimes]:
    """Times per side (--warm value), the sides alternating, their order rotating."""
    sides = {warm: PageTimes() for warm in SIDES}
    for rep in range(reps):
        order = SIDES[rep % 2:] + SIDES[:rep % 2]
        for warm in order:
            _measure_once(data, sides[warm], warm=warm, last=rep == reps - 1)
        print(f"  pages rep {rep + 1}/{reps}: " + "; ".join(
            f"--warm {warm}: Today cold {sides[warm].cold[-1][1]:.1f} s, again at once "
            f"{sides[warm].again[-1][1]:.1f} s, warm {sides[warm].warm[-1][1]:.1f} s"
            for warm in SIDES) + f"; load average {os.getloadavg()[0]:.1f}", flush=True)
    return sides


def _measure_once(data: Path, times: PageTimes, *, warm: int, last: bool) -> None:
    server = start_server(data, warm=warm)
    times.start.append(server.started)
    try:
        for bucket in (times.cold, times.again):
            first, complete, kernel = server.render(TODAY)
            bucket.append((first, complete))
            server.shutdown(kernel)
        server.settle()
        waiting = server.kernels()
        times.waiting.append((len(waiting), *_memory(waiting)))
        first, complete, kernel = server.render(TODAY)
        times.warm.append((first, complete))
        server.shutdown(kernel)
        for page in PAGES:
            server.settle()
            _, complete, kernel = server.render(page.name)
            rss, pss = _memory(server.kernels(kernel))
            times.pages.setdefault(page.name, []).append((complete, rss, pss))
            server.shutdown(kernel)
        if last:
            server.settle()
            names = [page.name for page in PAGES] * 2
            started = time.perf_counter()
            with ThreadPoolExecutor(len(names)) as pool:
                results = list(pool.map(server.render, names))
            wall = time.perf_counter() - started
            memory = [k.memory_full_info() for _, _, kernel in results
                      for k in server.kernels(kernel)]
            server_rss = psutil.Process(server.process.pid).memory_info().rss / MB
            times.together = (wall, [m.rss / MB for m in memory],
                              [m.pss / MB for m in memory], server_rss)
            for _, _, kernel in results:
                server.shutdown(kernel)
    finally:
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=60)


def _ratio(before: list[float], after: list[float]) -> str:
    return f"{statistics.median(before) / statistics.median(after):.1f}×"


def report(sides: dict[int, PageTimes], *, orders: int, reps: int) -> str:
    """Markdown: both sides with the ratio of their medians (--warm 0 ÷ --warm 1)."""
    new, old = sides[1], sides[0]
    lines = [f"Store of {orders:,} orders; {reps} fresh servers per side; seconds, median "
             f"(min–max); load average at the end {os.getloadavg()[0]:.1f}.", "",
             "| Today page, complete | --warm 1 | --warm 0 | ratio |", "|---|---|---|---|",
             f"| server start (until it answers) | {spread(new.start)} | "
             f"{spread(old.start)} | {_ratio(old.start, new.start)} |"]
    for label, name in (("cold (first open after the server answers)", "cold"),
                        ("again at once (right after the first)", "again"),
                        ("warm (opened again, server settled)", "warm")):
        after = [c for _, c in getattr(new, name)]
        before = [c for _, c in getattr(old, name)]
        lines.append(f"| {label} | {spread(after)} | {spread(before)} | "
                     f"{_ratio(before, after)} |")
    first = [f for f, _ in new.cold + new.again + new.warm]
    lines += ["", f"First byte (the page shell with its spinner): {spread(first)} s with "
                  f"--warm 1.", "",
              "| page (server settled) | --warm 1, s | --warm 0, s | ratio | kernel RSS, MB "
              "| kernel PSS, MB |", "|---|---|---|---|---|---|"]
    for page in PAGES:
        after, before = new.pages[page.name], old.pages[page.name]
        lines.append(f"| {page.title} | {spread([c for c, _, _ in after])} | "
                     f"{spread([c for c, _, _ in before])} | "
                     f"{_ratio([c for c, _, _ in before], [c for c, _, _ in after])} | "
                     f"{statistics.median(r for _, r, _ in after):.0f} | "
                     f"{statistics.median(p for _, _, p in after):.0f} |")
    count, rss, pss = max(new.waiting)
    lines += ["", f"Kernels waiting for visitors while the --warm 1 server is settled: "
                  f"{count}, {rss:,.0f} MB RSS, {pss:,.0f} MB PSS in all."]
    for warm, times in sides.items():
        if times.together:
            wall, rss_each, pss_each, server_rss = times.together
            lines += ["", f"Ten pages at once (each page twice), --warm {warm}: all complete "
                          f"in {wall:.1f} s; their {len(rss_each)} kernels of "
                          f"{min(rss_each):.0f}–{max(rss_each):.0f} MB RSS, "
                          f"{sum(pss_each):,.0f} MB PSS in all; the server "
                          f"{server_rss:.0f} MB."]
    return "\n".join(lines)
