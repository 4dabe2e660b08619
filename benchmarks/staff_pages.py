"""Staff pages: time to first render and memory per open page, one page and ten at once.

Starts `playbook serve` (the real command) on a free loopback port against DATA, logged in
with a random token (nothing is written to DATA), then:

1. cold renders: each page opened REPS times, one after the other; every open starts a
   new kernel (the server pre-starts none), which is shut down before the next open. The
   time to the first byte (Voila's page shell) and to the complete page (every cell run,
   every section's figures in the page) are recorded;
2. memory: the resident size (RSS) of each page's kernel once the page is complete;
3. ten pages at once: every page twice, requested at the same moment; wall time until the
   last page is complete, each kernel's RSS, the server's RSS.

    python benchmarks/staff_pages.py --data /path/to/data --reps 3

Prints a Markdown section for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests

from opslib.serve import PAGES


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _kernels(server: psutil.Process) -> dict[int, psutil.Process]:
    return {p.pid: p for p in server.children(recursive=True)
            if "ipykernel" in " ".join(p.cmdline())}


def _render(base: str, token: str, name: str) -> tuple[float, float, str]:
    """(seconds to first byte, seconds to complete page, kernel id)."""
    started = time.perf_counter()
    with requests.get(f"{base}/voila/render/{name}.ipynb", stream=True, timeout=600,
                      headers={"Authorization": f"token {token}"}) as reply:
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
    kernel = text[text.index(marker) + len(marker):][:36]
    return first, complete, kernel


def _shutdown(base: str, token: str, kernel: str) -> None:
    requests.post(f"{base}/voila/api/shutdown/{kernel}", timeout=60,
                  headers={"Authorization": f"token {token}"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()

    token = secrets.token_hex(24)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, PLAYBOOK_TOKEN=token)
    log = tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log", delete=False)
    process = subprocess.Popen([sys.executable, "-m", "opslib", "serve", "--data",
                                str(args.data), "--host", "127.0.0.1", "--port", str(port)],
                               stdout=log, stderr=subprocess.STDOUT, env=env,
                               start_new_session=True)
    try:
        for _ in range(400):
            try:
                if requests.get(base + "/login", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.25)
        server = psutil.Process(process.pid)

        cold: dict[str, list[tuple[float, float]]] = {}
        rss: dict[str, list[float]] = {}
        for _ in range(args.reps):
            for page in PAGES:
                first, complete, kernel = _render(base, token, page.name)
                cold.setdefault(page.name, []).append((first, complete))
                rss.setdefault(page.name, []).extend(
                    p.memory_info().rss / 2**20 for p in _kernels(server).values())
                _shutdown(base, token, kernel)
                time.sleep(0.5)

        names = [page.name for page in PAGES] * 2
        started = time.perf_counter()
        with ThreadPoolExecutor(len(names)) as pool:
            results = list(pool.map(lambda n: _render(base, token, n), names))
        wall = time.perf_counter() - started
        ten_rss = [p.memory_info().rss / 2**20 for p in _kernels(server).values()]
        server_rss = server.memory_info().rss / 2**20
        for _, _, kernel in results:
            _shutdown(base, token, kernel)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)

    orders = "?"
    try:
        import pyarrow.dataset as ds

        orders = f"{ds.dataset(args.data / 'tables' / 'orders.parquet').count_rows():,}"
    except Exception:  # noqa: BLE001 - informational only
        pass
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{psutil.virtual_memory().total / 2**30:.0f} GB; Python {platform.python_version()}; "
          f"store with {orders} orders; {args.reps} cold opens per page.\n")
    print("| page | first byte, median s | complete page, median s (min–max) "
          "| kernel RSS, median MB |")
    print("|---|---|---|---|")
    for page in PAGES:
        firsts = [f for f, _ in cold[page.name]]
        completes = [c for _, c in cold[page.name]]
        print(f"| {page.title} | {statistics.median(firsts):.2f} | "
              f"{statistics.median(completes):.1f} ({min(completes):.1f}–{max(completes):.1f})"
              f" | {statistics.median(rss[page.name]):.0f} |")
    completes = sorted(c for _, c, _ in results)
    print(f"\nTen pages at once (each page twice): all complete in {wall:.1f} s (fastest "
          f"{completes[0]:.1f} s, median {statistics.median(completes):.1f} s); "
          f"{len(ten_rss)} kernels, RSS {min(ten_rss):.0f}–{max(ten_rss):.0f} MB each, "
          f"{sum(ten_rss):,.0f} MB in all; server process {server_rss:.0f} MB.")


if __name__ == "__main__":
    main()
