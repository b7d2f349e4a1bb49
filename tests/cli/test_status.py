"""`brygga status`: whether a daemon holds the state file, register words, aligned lines."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from brygga.cli import main
from brygga.commands import status as status_command
from brygga.commands.common import display_width, load_state_config
from brygga.commands.status import status_report
from brygga.store import ItemState, Store
from brygga.store.lock import DaemonLock
from brygga.testing import toml_config
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.simulator import StarwebSimulator


def _config(folder: Path, listen: str = "127.0.0.1:0", **connection: Any) -> Path:
    path = folder / "brygga.toml"
    path.write_text(
        toml_config(
            state="state/brygga.db",
            listen=listen,
            erp=EconomicSimulator(seed_catalog=False).adapter_config("https://eco.example"),
            shops=[
                StarwebSimulator(seed_catalog=False).adapter_config(
                    "https://butiken.example/api/v2", name="se"
                )
            ],
            name="butiken",
            connection={"registers": {"price_lists": "off"}, **connection},
        ),
        encoding="utf-8",
    )
    return path


def _state(config: Path) -> Path:
    return config.parent / "state" / "brygga.db"


async def _polled_just_now(state: Path) -> None:
    async with await Store.open(state) as store:
        await store.status.success("butiken", "orders", "se", datetime.now(UTC))


def _status(capsys: pytest.CaptureFixture[str], config: Path) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(["status", "-c", str(config)])
    return code, capsys.readouterr().out.splitlines()


def test_without_a_daemon_status_says_no_daemon_holds_the_state_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    anyio.run(_polled_just_now, _state(config), backend="asyncio")
    code, lines = _status(capsys, config)
    assert code == 1, "an enabled connection without a daemon needs attention"
    assert lines[0].startswith(f"daemon: NOT RUNNING: no brygga daemon holds {_state(config)}")
    assert f"run -c {config}" in lines[0]
    assert lines[1] == "butiken: last known: healthy"  # as the daemon left it


def test_with_a_daemon_holding_the_lock_status_says_it_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    anyio.run(_polled_just_now, _state(config), backend="asyncio")
    with DaemonLock(_state(config)):
        code, lines = _status(capsys, config)
    assert code == 0
    assert lines[:2] == [f"daemon: running on {_state(config)}", "butiken: healthy"]


def test_without_a_daemon_a_config_of_disabled_connections_is_fine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, enabled=False)
    anyio.run(_polled_just_now, _state(config), backend="asyncio")
    code, lines = _status(capsys, config)
    assert code == 0
    assert lines[0].startswith("daemon: NOT RUNNING") and lines[1] == "butiken: disabled"


async def _failed_records_and_a_failing_poller(state: Path, now: datetime) -> None:
    async with await Store.open(state) as store:
        for oid in ("1001", "1002"):
            await store.items.enqueue(
                connection="butiken",
                register="orders",
                instance="se",
                external_id=oid,
                now=now,
                ready=True,
            )
            item = await store.items.claim(
                connection="butiken", register="orders", now=now, run_id="t"
            )
            assert item is not None
            await store.items.finish(item.id, ItemState.FAILED, now, error="unknown SKU")
        await store.items.enqueue(
            connection="butiken",
            register="orders.writeback",
            instance="se",
            external_id="1000",
            now=now,
            ready=True,
        )
        await store.status.success("butiken", "orders", "se", now)
        await store.status.poll_failed(
            "butiken",
            "orders.writeback",
            "se",
            'HTTP 401 from butiken.example:\n  {"error": "invalid_client",\n'
            '   "detail": "' + "the client id is unknown " * 8 + '"}\x1b[2J',
            now,
        )


def test_register_words_and_lines_that_line_up_whatever_the_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    now = datetime.now(UTC)
    anyio.run(_failed_records_and_a_failing_poller, _state(config), now, backend="asyncio")
    view = load_state_config(config)

    def status(width: int | None) -> tuple[int, list[str]]:
        capsys.readouterr()
        later = now + timedelta(seconds=5)
        code = anyio.run(lambda: status_report(view, later, width=width), backend="asyncio")
        return code, capsys.readouterr().out.splitlines()

    with DaemonLock(_state(config)):
        code, lines = status(width=100)  # a terminal 100 columns wide
        _, piped = status(width=None)  # a pipe: nothing is cut
    assert code == 1
    assert lines[1] == "butiken: ATTENTION: 2 failed orders record(s), orders.writeback failing"
    assert len(lines) == len(piped) == 4, "a multi-line error stays on its register's line"
    orders, writeback = lines[2:]
    # a register with failed records does not read "ok"; the poller's error is on its line
    assert re.split(r"\s{2,}", orders.strip()) == [
        "orders", "errors", "last success 5s ago", "backlog 0", "done 0", "failed 2"
    ]  # fmt: skip
    cells = re.split(r"\s{2,}", writeback.strip())
    assert cells[:6] == [
        "orders.writeback", "failing", "last success never", "backlog 1", "done 0", "failed 0"
    ]  # fmt: skip
    assert cells[6].startswith("— polling se") and cells[6].endswith("…")
    # every column starts at the same place on both lines; nothing wraps at 100 columns
    for word in ("last success", "backlog", "done", "failed"):
        assert orders.index(word) == writeback.index(word)
    assert all(display_width(line) <= 100 for line in lines)
    # piped: the whole error on one line, without the terminal escape it carried
    assert piped[2:3] == [orders]
    full = re.split(r"\s{2,}", piped[3].strip())[6]
    assert full.startswith('— polling se failed: HTTP 401 from butiken.example: {"error": "inv')
    assert full.count("the client id is unknown") == 8 and "\x1b" not in full


def test_on_a_terminal_long_errors_are_cut_unless_full(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path)
    anyio.run(
        _failed_records_and_a_failing_poller, _state(config), datetime.now(UTC), backend="asyncio"
    )
    monkeypatch.setattr(status_command, "terminal_width", lambda: 90)  # a terminal 90 wide
    _, cut = _status(capsys, config)
    writeback = next(line for line in cut if line.strip().startswith("orders.writeback"))
    assert writeback.endswith("…") and display_width(writeback) <= 90
    capsys.readouterr()
    main(["status", "-l", "-c", str(config)])
    full = capsys.readouterr().out
    assert full.count("the client id is unknown") == 8


async def _watched_orders(state: Path, now: datetime) -> None:
    async with await Store.open(state) as store:
        for oid in ("1001", "1002", "1003"):
            await store.items.enqueue(
                connection="butiken",
                register="status.watch",
                instance="se",
                external_id=oid,
                now=now,
                ready=False,  # waiting for the ERP's next answer, as the watch leaves them
            )
        await store.status.success("butiken", "orders", "se", now)


def test_watched_orders_are_shown_as_watching_not_as_backlog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    now = datetime.now(UTC)
    anyio.run(_watched_orders, _state(config), now, backend="asyncio")
    with DaemonLock(_state(config)):
        code, lines = _status(capsys, config)
    assert code == 0, lines
    assert lines[1] == "butiken: healthy"
    (watch,) = [line for line in lines if line.strip().startswith("status.watch")]
    assert re.split(r"\s{2,}", watch.strip())[:4] == [
        "status.watch", "ok", "last success never", "watching 3"
    ]  # fmt: skip


async def _a_stock_poller_failing_from_the_start(state: Path, now: datetime) -> None:
    async with await Store.open(state) as store:
        await store.status.success("butiken", "orders", "se", now)
        await store.status.poll_failed(
            "butiken", "stock", "fortnox", "Fortnox refused the refresh token", now
        )


def test_a_register_without_records_shows_its_failing_poller(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """First-hour QA: stock and prices polls failed every 2 s (a spent Fortnox token) while
    `status -l` listed only orders: a register shows once it has records, or a status row."""
    config = _config(tmp_path)
    now = datetime.now(UTC)
    anyio.run(_a_stock_poller_failing_from_the_start, _state(config), now, backend="asyncio")
    with DaemonLock(_state(config)):
        code, lines = _status(capsys, config)
    assert code == 1
    assert lines[1] == "butiken: ATTENTION: stock failing"
    [stock] = [line for line in lines if line.strip().startswith("stock")]
    assert "failing" in stock and "polling fortnox failed: Fortnox refused" in stock


async def _not_ready_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A daemon's /readyz while a connection is down (e.g. its state file's disk is full)."""
    assert scope["type"] == "http" and scope["path"] == "/readyz"
    body = b'{"ready": false, "not_ready": ["connection:butiken"], "checks": {}}'
    await send({"type": "http.response.start", "status": 503, "headers": []})
    await send({"type": "http.response.body", "body": body})


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_a_running_daemon_that_is_not_ready_makes_status_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Operator QA: with the state file's disk full the daemon's connection was down (/readyz
    503, metrics right) while `status`, reading the state file the daemon could no longer
    write, said healthy with exit 0."""
    from brygga.testing import serve_asgi

    stop = anyio.Event()
    async with anyio.create_task_group() as tg:
        port = await tg.start(serve_asgi, _not_ready_app, stop)
        config = _config(tmp_path, listen=f"127.0.0.1:{port}")
        await _polled_just_now(_state(config))
        view = load_state_config(config)
        with DaemonLock(_state(config)):
            capsys.readouterr()
            code = await status_report(view, datetime.now(UTC))
        stop.set()
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[1].startswith(f"daemon: NOT READY: its /readyz at 127.0.0.1:{port} answers 503")
    assert "connection:butiken" in lines[1]


def test_a_state_file_deleted_under_a_running_daemon_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Operator QA: after `rm state.db*` under a running daemon, status said "no state yet:
    the daemon has not run with this config" and exited 0."""
    config = _config(tmp_path)
    anyio.run(_polled_just_now, _state(config), backend="asyncio")
    with DaemonLock(_state(config)):
        for leftover in _state(config).parent.glob("brygga.db*"):
            if not leftover.name.endswith(".lock"):
                leftover.unlink()
        code, lines = _status(capsys, config)
    assert code == 1
    assert lines[0].startswith("daemon: running, but its state file") and "is gone" in lines[0]
