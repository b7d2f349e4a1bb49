"""Idle connections: one `brygga run` process with 10 / 100 / 1,000 connections and nothing to do.

For each count, starts one daemon (``python -m brygga run -c CONFIG`` as a subprocess, with this
process's environment, so ``PYTHONPATH`` selects the code measured) whose connections all poll
empty shops every 60 s, and measures:

- start time: from spawning the process until ``/readyz`` answers 200 (every connection runs);
- RSS: ``VmRSS`` from ``/proc/<pid>/status`` when ready, and again after the window (and the
  peak, ``VmHWM``);
- CPU: ``utime + stime`` from ``/proc/<pid>/stat`` over a window (default 30 s) that starts
  ``--settle`` seconds after ready, as a percentage of one core.

::

    .venv/bin/python benchmarks/idle_connections.py                       # 10, 100, 1000
    .venv/bin/python benchmarks/idle_connections.py --counts 10 100 --window 10 --json

One Starweb and one e-conomic simulator, served on loopback by this process, serve every
connection; each connection has its own name (``idle0001`` …) and the same shop and ERP account,
with ``rate_limit = { requests = 1000000, per_seconds = 0.001 }`` so that the connections do not
queue behind one shared account's limiter. A daemon that is not ready within ``--start-timeout``
seconds is reported as "did not start within T s" (with its RSS and CPU so far) and killed.

Brygga API used: ``brygga.plugins.PluginHost().adapters[kind].simulator`` (an object with ``app``,
``requests`` and ``adapter_config``), ``brygga.testing.serve_asgi``, the config file format
(``[daemon]``, ``[[connection]]``), ``python -m brygga run -c`` and ``/readyz``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_env beside this script
import httpx
from anyio.abc import Process
from bench_env import code_under_test, machine, print_document

from brygga.plugins import PluginHost
from brygga.testing import serve_asgi

#: generous enough that no rate limiter ever waits (the first wait is one window: 1 ms)
UNLIMITED = {"requests": 1_000_000, "per_seconds": 0.001}
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- /proc ----------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the process (all its threads) so far."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15)


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return 0


def threads(pid: int) -> int:
    return status_kb(pid, "Threads")  # not kB, but the same "Key: value" line


# -- the config -----------------------------------------------------------------------------


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, Sequence):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def config_text(
    *, state: Path, listen: str, count: int, erp: Mapping[str, Any], shop: Mapping[str, Any]
) -> str:
    """A config with ``count`` connections, all polling the same (empty) shop every 60 s."""
    lines = [
        "[daemon]",
        f"state = {_toml(str(state))}",
        f"listen = {_toml(listen)}",
        'log_level = "warning"',
        'shutdown_deadline = "5s"',
    ]
    for index in range(1, count + 1):
        lines += [
            "",
            "[[connection]]",
            f'name = "idle{index:04d}"',
            f"erp = {_toml({**erp, 'rate_limit': UNLIMITED})}",
            f"shops = [{_toml({**shop, 'rate_limit': UNLIMITED})}]",
            'registers = { price_lists = "off" }',
            'poll = { orders = "60s" }',
        ]
    return "\n".join(lines) + "\n"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- one daemon -----------------------------------------------------------------------------


@dataclass
class Figures:
    connections: int
    started: bool
    #: seconds from spawn to /readyz 200 (or to giving up)
    start_s: float
    note: str
    rss_mb_at_ready: float
    rss_mb: float
    peak_rss_mb: float
    threads: int
    #: percent of one core over the window (None: no window measured)
    cpu_percent: float | None
    window_s: float
    cpu_s_to_ready: float
    #: requests the simulators served from spawn to the window (the first polls)
    requests_at_start: int
    #: requests the simulators served during the window (polls and wake-ups that reach out)
    requests_in_window: int
    exit_code: int | None


async def wait_ready(port: int, process: Process, seconds: float) -> str:
    """'' when /readyz answers 200; else why not (exited, timed out)."""
    with anyio.move_on_after(seconds):
        async with httpx.AsyncClient(timeout=5.0) as client:
            while True:
                if process.returncode is not None:
                    return f"exited with status {process.returncode} before it was ready"
                try:
                    answer = await client.get(f"http://127.0.0.1:{port}/readyz")
                    if answer.status_code == 200:
                        return ""
                except httpx.TransportError:
                    pass
                await anyio.sleep(0.05)
    return f"did not start within {seconds:g} s"


async def measure_one(
    count: int, *, sims: tuple[Any, Any], urls: tuple[str, str], args: argparse.Namespace
) -> Figures:
    shop, erp = sims
    shop_url, erp_url = urls
    with tempfile.TemporaryDirectory(prefix="brygga-idle-") as tmp:
        folder = Path(tmp)
        port = free_port()
        config = folder / "brygga.toml"
        config.write_text(
            config_text(
                state=folder / "state.db",
                listen=f"127.0.0.1:{port}",
                count=count,
                erp=erp.adapter_config(erp_url),
                shop=shop.adapter_config(shop_url, name="se"),
            ),
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        log = folder / "daemon.log"
        served_before = len(shop.requests) + len(erp.requests)
        with log.open("wb") as out:
            spawned = time.monotonic()
            process = await anyio.open_process(
                [sys.executable, "-m", "brygga", "run", "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=env,
            )
        pid = process.pid
        try:
            why = await wait_ready(port, process, args.start_timeout)
            start_s = time.monotonic() - spawned
            if process.returncode is not None:
                tail = log.read_text(errors="replace").strip().splitlines()[-3:]
                raise SystemExit(f"{count} connections: {why}; the daemon said: {tail}")
            rss_ready = status_kb(pid, "VmRSS") / 1024
            cpu_ready = cpu_seconds(pid)
            cpu_percent: float | None = None
            window = 0.0
            served = 0
            if not why:
                await anyio.sleep(args.settle)
            before = len(shop.requests) + len(erp.requests)
            if not why:
                cpu0, t0 = cpu_seconds(pid), time.monotonic()
                await anyio.sleep(args.window)
                cpu1, t1 = cpu_seconds(pid), time.monotonic()
                window = t1 - t0
                cpu_percent = round(100 * (cpu1 - cpu0) / window, 2)
                served = len(shop.requests) + len(erp.requests) - before
            figures = Figures(
                connections=count,
                started=not why,
                start_s=round(start_s, 2),
                note=why,
                rss_mb_at_ready=round(rss_ready, 1),
                rss_mb=round(status_kb(pid, "VmRSS") / 1024, 1),
                peak_rss_mb=round(status_kb(pid, "VmHWM") / 1024, 1),
                threads=threads(pid),
                cpu_percent=cpu_percent,
                window_s=round(window, 2),
                cpu_s_to_ready=round(cpu_ready, 2),
                requests_at_start=before - served_before,
                requests_in_window=served,
                exit_code=None,
            )
        finally:
            exit_code = await stop(process)
        figures.exit_code = exit_code
        return figures


async def stop(process: Process) -> int:
    """SIGTERM, then SIGKILL after 20 s; the exit status."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        with anyio.move_on_after(20):
            return await process.wait()
        process.kill()
    return await process.wait()


# -- main -----------------------------------------------------------------------------------


def simulators() -> tuple[Any, Any]:
    host = PluginHost()
    shop_spec, erp_spec = host.adapters["starweb"], host.adapters["economic"]
    if shop_spec.simulator is None or erp_spec.simulator is None:
        raise SystemExit("the starweb or economic plugin ships no simulator")
    try:
        # idle means nothing to copy either: since the catalog registers run (mode "erp"), an
        # ERP with articles would make the first polls copy them to the shop (work, not idle)
        erp = erp_spec.simulator(seed_catalog=False)
    except TypeError:  # pragma: no cover - a simulator factory that takes no options
        erp = erp_spec.simulator()
    return shop_spec.simulator(), erp


def _line(f: Figures) -> str:
    if not f.started:
        return (
            f"{f.connections:5d} connections: {f.note} (RSS then {f.rss_mb_at_ready:.0f} MB, "
            f"{f.cpu_s_to_ready:.1f} CPU s)"
        )
    return (
        f"{f.connections:5d} connections: started in {f.start_s:6.2f} s  "
        f"RSS {f.rss_mb_at_ready:7.1f} MB at ready, {f.rss_mb:7.1f} MB after the window  "
        f"CPU {f.cpu_percent:5.1f} % of a core over {f.window_s:.0f} s  "
        f"[{f.threads} threads; requests {f.requests_at_start} at start, "
        f"{f.requests_in_window} in the window]"
    )


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    shop, erp = simulators()
    stop_serving = anyio.Event()
    runs: list[dict[str, Any]] = []
    async with anyio.create_task_group() as tg:
        shop_port = await tg.start(serve_asgi, shop.app, stop_serving)
        erp_port = await tg.start(serve_asgi, erp.app, stop_serving)
        urls = (f"http://127.0.0.1:{shop_port}/api/v2", f"http://127.0.0.1:{erp_port}")
        try:
            for count in args.counts:
                figures = await measure_one(count, sims=(shop, erp), urls=urls, args=args)
                runs.append(asdict(figures))
                if not args.json:
                    print(_line(figures), flush=True)
        finally:
            stop_serving.set()
    return {
        "benchmark": "idle_connections",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "code": code_under_test(),
        "machine": machine(),
        "parameters": {
            "counts": args.counts,
            "window_s": args.window,
            "settle_s": args.settle,
            "start_timeout_s": args.start_timeout,
            "poll": "60s",
            "rate_limit": UNLIMITED,
        },
        "runs": runs,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--counts", type=int, nargs="+", default=[10, 100, 1000], help="connections per daemon"
    )
    parser.add_argument(
        "--window", type=float, default=30.0, help="seconds of idle CPU measured (default 30)"
    )
    parser.add_argument(
        "--settle", type=float, default=5.0, help="seconds after ready before the window (5)"
    )
    parser.add_argument(
        "--start-timeout",
        type=float,
        default=180.0,
        help="seconds a daemon may take to become ready (default 180)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    document = anyio.run(measure, args, backend="asyncio")
    print_document(document, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
