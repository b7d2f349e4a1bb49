"""`brygga status` shows work written ahead of the clock (the clock went back) as a problem."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from brygga.commands.common import load_state_config
from brygga.commands.status import status_report
from brygga.store import Store
from brygga.testing import toml_config
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.simulator import StarwebSimulator


def _config(folder: Path) -> Path:
    path = folder / "brygga.toml"
    path.write_text(
        toml_config(
            state="state/brygga.db",
            listen="127.0.0.1:0",
            erp=EconomicSimulator(seed_catalog=False).adapter_config("https://eco.example"),
            shops=[
                StarwebSimulator(seed_catalog=False).adapter_config(
                    "https://butiken.example/api/v2", name="se"
                )
            ],
            name="butiken",
            connection={"registers": {"price_lists": "off"}},
        ),
        encoding="utf-8",
    )
    return path


async def _written_an_hour_ahead(state: Path, now: datetime) -> None:
    async with await Store.open(state) as store:
        await store.status.success("butiken", "orders", "se", now)
        for oid in ("1", "2"):
            await store.items.enqueue(
                connection="butiken",
                register="orders",
                instance="se",
                external_id=oid,
                now=now + timedelta(hours=1),
                ready=True,
            )


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the store needs asyncio
async def test_status_says_work_is_due_in_the_future_not_ok(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # async (not anyio.run): in the whole suite a sync test may meet a running event loop
    config = _config(tmp_path)
    now = datetime.now(UTC)
    await _written_an_hour_ahead(tmp_path / "state" / "brygga.db", now)
    view = load_state_config(config)
    capsys.readouterr()
    code = await status_report(view, now, width=None)
    out = capsys.readouterr().out
    assert code == 1
    assert "butiken: ATTENTION: 2 orders record(s) written ahead of the clock" in out
    assert "due up to 60m in the future (the clock went back?" in out
    orders = next(line for line in out.splitlines() if line.strip().startswith("orders"))
    assert " clock " in orders and " ok " not in orders
