"""Staff pages: time to a complete Today page, cold and warm, and memory per open page.

`playbook serve` (the real command) runs on a free loopback port against the store,
logged in with a random token (nothing is written to the store). Per repetition a fresh
server is started, then:

1. **cold**: the first open of the Today page after the server started;
2. **warm**: the Today page opened again (the server has served a page; its kernel was
   shut down, so this open starts a new kernel too: the server pre-starts none);
3. **each page**: every staff page opened once; the resident (RSS) and proportional (PSS)
   size of its kernel once the page is complete;
4. **ten at once** (last repetition only): every page twice, requested together.

A page counts as complete when the whole response is in: every cell run, every section's
figures in the page; "first byte" is Voila's page shell, which shows at once.
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

    def kernels(self) -> list[psutil.Process]:
        return [p for p in psutil.Process(self.process.pid).children(recursive=True)
                if "ipykernel" in " ".join(p.cmdline())]

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
            if not self.kernels():
                return
            time.sleep(0.1)


def start_server(data: Path) -> Server:
    token = secrets.token_hex(24)
    port = _free_port()
    log = tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log", delete=False)
    process = subprocess.Popen([sys.executable, "-m", "opslib", "serve", "--data", str(data),
                                "--host", "127.0.0.1", "--port", str(port)],
                               stdout=log, stderr=subprocess.STDOUT,
                               env=dict(os.environ, PLAYBOOK_TOKEN=token),
                               start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            if requests.get(base + "/login", timeout=2).ok:
                return Server(process, base, token)
        except requests.ConnectionError:
            time.sleep(0.25)
    process.kill()
    raise SystemExit(f"playbook serve did not start; see {log.name}")


@dataclass
class PageTimes:
    cold: list[tuple[float, float]] = field(default_factory=list)
    warm: list[tuple[float, float]] = field(default_factory=list)
    pages: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)
    together: tuple[float, list[float], list[float], float] | None = None


def _kernel_memory(server: Server) -> tuple[float, float]:
    """(RSS, PSS) in MB of the one open page kernel."""
    (kernel,) = server.kernels()
    info = kernel.memory_full_info()
    return info.rss / MB, info.pss / MB


def measure_pages(data: Path, *, reps: int) -> PageTimes:
    times = PageTimes()
    for rep in range(reps):
        server = start_server(data)
        try:
            for bucket in (times.cold, times.warm):
                first, complete, kernel = server.render(TODAY)
                bucket.append((first, complete))
                server.shutdown(kernel)
            for page in PAGES:
                _, complete, kernel = server.render(page.name)
                rss, pss = _kernel_memory(server)
                times.pages.setdefault(page.name, []).append((complete, rss, pss))
                server.shutdown(kernel)
            if rep == reps - 1:
                names = [page.name for page in PAGES] * 2
                started = time.perf_counter()
                with ThreadPoolExecutor(len(names)) as pool:
                    results = list(pool.map(server.render, names))
                wall = time.perf_counter() - started
                memory = [k.memory_full_info() for k in server.kernels()]
                server_rss = psutil.Process(server.process.pid).memory_info().rss / MB
                times.together = (wall, [m.rss / MB for m in memory],
                                  [m.pss / MB for m in memory], server_rss)
                for _, _, kernel in results:
                    server.shutdown(kernel)
        finally:
            server.process.send_signal(signal.SIGTERM)
            server.process.wait(timeout=60)
        print(f"  pages rep {rep + 1}/{reps}: Today cold {times.cold[-1][1]:.1f} s, "
              f"warm {times.warm[-1][1]:.1f} s", flush=True)
    return times


def report(times: PageTimes, *, orders: int, reps: int) -> str:
    lines = [f"Store of {orders:,} orders; {reps} fresh servers; seconds, median (min–max).",
             "", "| Today page | first byte, s | complete page, s |", "|---|---|---|"]
    for label, runs in (("cold (first open after the server starts)", times.cold),
                        ("warm (opened again)", times.warm)):
        lines.append(f"| {label} | {spread([f for f, _ in runs])} | "
                     f"{spread([c for _, c in runs])} |")
    lines += ["", "| page | complete page, s | kernel RSS, MB | kernel PSS, MB |",
              "|---|---|---|---|"]
    for page in PAGES:
        runs = times.pages[page.name]
        lines.append(f"| {page.title} | {spread([c for c, _, _ in runs])} | "
                     f"{statistics.median(r for _, r, _ in runs):.0f} | "
                     f"{statistics.median(p for _, _, p in runs):.0f} |")
    if times.together:
        wall, rss, pss, server_rss = times.together
        lines += ["", f"Ten pages at once (each page twice): all complete in {wall:.1f} s; "
                      f"{len(rss)} kernels of {min(rss):.0f}–{max(rss):.0f} MB RSS, "
                      f"{sum(pss):,.0f} MB PSS in all; the server {server_rss:.0f} MB."]
    return "\n".join(lines)
