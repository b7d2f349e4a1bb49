"""`brygga run` as a real process: SIGTERM, SIGHUP and SIGKILL keep every order exactly once."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from random import Random

import anyio
import pytest
from harness import Daemon, loopback, wait_until

from brygga.sync.orders import document_reference
from brygga.testing import Fault, free_port

pytestmark = pytest.mark.anyio


async def test_sigterm_stops_gracefully_with_exit_code_0(tmp_path: Path) -> None:
    async with loopback(tmp_path) as sims:
        port = free_port()
        daemon = Daemon(sims.config(tmp_path / "b.toml", port=port), port, tmp_path / "log")
        try:
            await daemon.start()
            rng = Random(1)
            ids = [sims.place(rng) for _ in range(5)]
            await wait_until(
                lambda: all(sims.copies("butiken", o) == 1 for o in ids), 30, "orders in the ERP"
            )
            daemon.signal(signal.SIGTERM)
            assert await daemon.wait() == 0
        finally:
            await daemon.close()
    log = (tmp_path / "log").read_text()
    assert "brygga stopped" in log, log
    assert "Traceback" not in log, log


async def test_sighup_restarts_only_changed_connections(tmp_path: Path) -> None:
    async with loopback(tmp_path) as sims:
        port = free_port()
        config = sims.config(tmp_path / "b.toml", port=port)
        daemon = Daemon(config, port, tmp_path / "log")
        try:
            await daemon.start()
            original = config.read_text()
            second = original.replace('name = "butiken"', 'name = "andra"', 1)
            second = second[second.index("[[connection]]") :]
            # its own export-mark name: with one name, the order's mark from the first
            # connection would read as "exported by a process this state file does not know"
            second = second.replace(
                'kind = "starweb",', 'kind = "starweb", service_name = "brygga-andra",', 1
            )
            assert "brygga-andra" in second
            config.write_text(original + "\n" + second)
            daemon.signal(signal.SIGHUP)
            await wait_until(
                lambda: "reload: started ['andra']" in (tmp_path / "log").read_text(),
                20,
                "the reload",
            )
            oid = sims.place(Random(2))
            # both connections read the same shop: each transfers the order once, to its own ref
            await wait_until(
                lambda: sims.copies("butiken", oid) == 1 and sims.copies("andra", oid) == 1,
                30,
                "both connections to transfer",
            )
            # change only the second connection: the first keeps running untouched
            config.write_text(
                config.read_text().replace(
                    'name = "andra"\n', 'name = "andra"\nenabled = true\nmode = "erp"\n'
                )
            )
            daemon.signal(signal.SIGHUP)
            await wait_until(
                lambda: (
                    "restarted ['andra'], unchanged ['butiken']" in (tmp_path / "log").read_text()
                ),
                20,
                "the second reload",
            )
            daemon.signal(signal.SIGTERM)
            assert await daemon.wait() == 0
        finally:
            await daemon.close()


async def test_sigkill_at_random_moments_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    rng = Random(20261122)
    async with loopback(tmp_path, seed=7) as sims:
        # every third ERP create commits, then stalls and fails: kills land in that window too
        sims.erp.faults.loopback_stall = 0.5
        sims.erp.faults.add(
            Fault(
                "commit_then_fail",
                methods=frozenset({"POST"}),
                path="drafts",
                probability=0.3,
                then_timeout=True,
            )
        )
        port = free_port()
        config = sims.config(tmp_path / "b.toml", port=port)
        for _ in range(4):
            daemon = Daemon(config, port, tmp_path / "log")
            try:
                await daemon.start()
                for _ in range(rng.randint(3, 8)):
                    sims.place(rng)
                    await anyio_sleep(rng.uniform(0.05, 0.4))
            finally:
                await daemon.kill()
        daemon = Daemon(config, port, tmp_path / "log")
        try:
            await daemon.start()
            await wait_until(
                lambda: all(sims.copies("butiken", o) >= 1 for o in sims.placed),
                # a kill between recording the intent and the ERP call leaves a write in doubt:
                # it is sent again only after the settle period (60 s) and an empty lookup
                150,
                "every order in the ERP",
            )
            daemon.signal(signal.SIGTERM)
            assert await daemon.wait() == 0
        finally:
            await daemon.close()
        copies = {oid: sims.copies("butiken", oid) for oid in sims.placed}
        assert set(copies.values()) == {1}, copies
        assert len(sims.erp.documents()) == len(sims.placed)


async def test_sigkill_during_a_slow_write_makes_one_invoice(tmp_path: Path) -> None:
    # The review's case: the ERP takes 12 s to store a draft and the daemon is killed meanwhile.
    # The write lands after the kill; the restarted daemon must find it, not send it again
    # (before, it looked at once, found nothing and sent a second draft).
    async with loopback(tmp_path, seed=3) as sims:
        sims.erp.faults.add(
            Fault("late_commit", methods=frozenset({"POST"}), path="drafts", times=1, seconds=12)
        )
        port = free_port()
        config = sims.config(tmp_path / "b.toml", port=port)
        daemon = Daemon(config, port, tmp_path / "log")
        try:
            await daemon.start()
            oid = sims.place(Random(5))
            await wait_until(lambda: sims.erp.faults.landing == 1, 30, "the slow draft")
        finally:
            await daemon.kill()
        assert sims.copies("butiken", oid) == 0
        daemon = Daemon(config, port, tmp_path / "log")
        try:
            await daemon.start()
            await wait_until(lambda: sims.erp.faults.landing == 0, 30, "the slow draft to land")
            await wait_until(
                lambda: sims.shop.exported_document(oid) is not None, 40, "the write-back"
            )
            daemon.signal(signal.SIGTERM)
            assert await daemon.wait() == 0
        finally:
            await daemon.close()
        [document] = sims.erp.documents_with_reference(document_reference("butiken", "se", oid))
        assert sims.shop.exported_document(oid) == document.number
    log = (tmp_path / "log").read_text()
    assert "mid-send" in log and "Traceback" not in log, log


async def anyio_sleep(seconds: float) -> None:
    import anyio

    await anyio.sleep(seconds)


async def test_a_second_daemon_on_the_same_state_file_exits_2_naming_the_first(
    tmp_path: Path,
) -> None:
    """Operator QA: a second unit (or a manual `brygga run`) on a running daemon's state file
    exited 1, so systemd's Restart=on-failure started it again every few seconds; exit 2 is
    the unit's RestartPreventExitStatus, as for a config error."""
    async with loopback(tmp_path) as sims:
        port = free_port()
        daemon = Daemon(sims.config(tmp_path / "b.toml", port=port), port, tmp_path / "log")
        try:
            await daemon.start()
            second = sims.config(tmp_path / "second.toml", port=free_port())
            result = await anyio.run_process(
                [sys.executable, "-m", "brygga", "run", "-c", str(second)], check=False
            )
            assert result.returncode == 2, result.stderr.decode()
            said = result.stderr.decode()
            assert "another brygga daemon" in said and "already running" in said, said
            assert daemon.process is not None and f"(pid {daemon.process.pid})" in said, said
            assert "Traceback" not in said, said
        finally:
            await daemon.close()
