"""`status`, `errors` and `replay` (without --here) from a shell without the unit's
credentials: they read or write the state file only, so they resolve no secret."""

from __future__ import annotations

import re
from pathlib import Path

import anyio
import anyio.to_thread
import pytest
from ops_support import CONNECTION, SHOP, Ops

from brygga.cli import main
from brygga.store import ItemState
from brygga.testing import toml_config

pytestmark = pytest.mark.anyio

#: the daemon's secrets: env variables and credential files this shell does not have
UNSET = ("BRYGGA_TEST_NO_ECO_APP", "BRYGGA_TEST_NO_SW_ID")


@pytest.fixture
def operator_config(ops: Ops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The ops world's connection and state file, its secrets as the unit's credentials
    (env variables that are not set here, files only systemd's credentials folder holds)."""
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    folder = tmp_path / "etc"
    folder.mkdir()
    path = folder / "brygga.toml"
    path.write_text(
        toml_config(
            state=str(ops.loaded.state_path),
            name=CONNECTION,
            erp={
                "kind": "economic",
                "base_url": "http://erp.test",
                "app_secret_token": {"env": UNSET[0]},
                "agreement_grant_token": {"file": "eco-grant"},
            },
            shops=[
                {
                    "kind": "starweb",
                    "name": SHOP,
                    "base_url": "http://shop.test/api/v2",
                    "client_id": {"env": UNSET[1]},
                    "client_secret": {"file": "sw-secret"},
                }
            ],
            connection={"mode": "erp", "registers": {"price_lists": "off"}},
        ),
        encoding="utf-8",
    )
    return path


async def _cli(ops: Ops, config: Path, *argv: str) -> tuple[int, str, str]:
    ops.capsys.readouterr()
    code = await anyio.to_thread.run_sync(main, [*argv, "-c", str(config)])
    out, err = ops.capsys.readouterr()
    return code, out, err


async def _two_failed(ops: Ops) -> list[str]:
    ids = ops.place(4)  # orders 0 and 3 have KAFFE-500
    ops.break_coffee()
    flow = ops.flow()
    await flow.poll_once(SHOP)
    await ops.drain(flow)
    failed = await ops.store.items.query(states=[ItemState.FAILED])
    assert sorted(f.external_id for f in failed) == sorted([ids[0], ids[3]])
    return ids


async def test_the_config_needs_secrets_the_shell_does_not_have(
    ops: Ops, operator_config: Path
) -> None:
    code, _, err = await _cli(ops, operator_config, "check")
    assert code == 2 and f"environment variable {UNSET[0]} is not set" in err


async def test_status_and_errors_work_without_the_secrets(ops: Ops, operator_config: Path) -> None:
    ids = await _two_failed(ops)
    code, out, err = await _cli(ops, operator_config, "status")
    assert code == 1, err
    lines = out.splitlines()
    assert lines[0].startswith("daemon: NOT RUNNING")
    assert lines[1].startswith(f"{CONNECTION}: ATTENTION: 2 failed orders record(s)")

    code, out, err = await _cli(ops, operator_config, "errors", "list")
    assert code == 0, err
    listed = re.findall(rf"^(\d+)\s+{CONNECTION}\s+orders\s+{SHOP}\s+(\S+)", out, re.M)
    assert sorted(oid for _, oid in listed) == sorted([ids[0], ids[3]])
    first, second = (int(i) for i, _ in listed)

    code, out, err = await _cli(ops, operator_config, "errors", "show", str(first))
    assert code == 0 and out.startswith(f"record {first}\n"), err

    code, out, err = await _cli(
        ops, operator_config, "errors", "resolve", str(second), "--note", "x"
    )
    assert code == 0 and f"record {second} resolved" in out, err

    ops.fix_coffee()
    code, out, err = await _cli(ops, operator_config, "errors", "retry", "--all")
    assert code == 0 and "requeued 1 failed record(s)" in out, err
    assert await ops.drain(ops.flow("daemon-2")) == [ItemState.DONE]


async def test_replay_queues_without_the_secrets_but_here_needs_them(
    ops: Ops, operator_config: Path
) -> None:
    ids = await _two_failed(ops)
    replay = ("replay", "order", "--connection", CONNECTION, "--shop", SHOP, ids[0])
    code, out, err = await _cli(ops, operator_config, *replay)
    assert code == 0, err
    assert f"order {ids[0]} (failed) queued again" in out and "no daemon is running" in out
    assert (await ops.item(ids[0])).state is ItemState.NEW
    # --here sends from this process: that takes the adapters, and so the secrets
    code, _, err = await _cli(ops, operator_config, *replay, "--here")
    assert code == 2 and f"environment variable {UNSET[0]} is not set" in err
    # a shop the connection does not have is still refused, by name
    code, _, err = await _cli(
        ops, operator_config, "replay", "order", "--connection", CONNECTION, "--shop", "no", "1"
    )
    assert code == 2 and "has no shop named 'no' (shops: se)" in err


def _edit(config: Path, old: str, new: str) -> None:
    config.write_text(config.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def _save_as_latin1(config: Path, old: str, new: str) -> None:
    text = config.read_text(encoding="utf-8").replace(old, new)
    config.write_bytes(text.encode("latin-1"))


async def test_what_they_need_is_still_checked_in_one_line(ops: Ops, operator_config: Path) -> None:
    code, _, err = await _cli(ops, operator_config, "errors", "list", "--connection", "nope")
    assert code == 2
    assert err == (
        f"error: {operator_config}: no connection named 'nope' (connections: {CONNECTION})\n"
    )
    _edit(operator_config, f'state = "{ops.loaded.state_path}"', 'state = "."')
    for argv in (("status",), ("errors", "list")):
        code, out, err = await _cli(ops, operator_config, *argv)
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and "daemon.state:" in err and "is a folder" in err
    _edit(operator_config, f'name = "{CONNECTION}"', 'name = "demo shop"')
    code, _, err = await _cli(ops, operator_config, "status")
    assert code == 2 and err.count("\n") == 1 and "connection[0].name" in err
    _save_as_latin1(operator_config, 'name = "demo shop"', 'name = "café"')
    code, _, err = await _cli(ops, operator_config, "status")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: {operator_config}: not UTF-8 (byte 0xe9 at line ")
