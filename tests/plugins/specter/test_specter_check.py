"""`brygga check` with Specter: the flows merchants are told Specter can do pass, in plain words.

What merchants are told (reference/erp-apis.md §3; DESIGN.md §1 adapter table): Specter creates
an invoice *or* an order, has price lists and a variant structure, and reports deliveries.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from brygga.cli import main
from brygga.testing import toml_config
from brygga_specter.simulator import SpecterSimulator
from brygga_starweb.simulator import StarwebSimulator

REGISTERS = ("orders", "status", "products", "prices", "price_lists", "stock")


def _config(tmp_path: Path, *, status: dict[str, Any], **connection: Any) -> Path:
    path = tmp_path / "brygga.toml"
    path.write_text(
        toml_config(
            state="state/brygga.db",
            erp=SpecterSimulator(seed_catalog=False).adapter_config("https://api.specter.se"),
            shops=[
                StarwebSimulator(seed_catalog=False).adapter_config(
                    "https://butiken.example/api/v2", name="se"
                )
            ],
            name="butiken",
            connection=connection,
            sections={
                "status": status,
                "orders": {"document": "order", "shop_changes": "cancel"},
            },
        ),
        encoding="utf-8",
    )
    return path


def _rows(out: str) -> dict[str, list[str]]:
    rows = {}
    for line in out.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells and cells[0] in REGISTERS:
            rows[cells[0]] = cells[1:]
    return rows


def test_orders_price_lists_variants_and_deliveries_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """§3: invoice or order, price lists, variants; §3.2 partial delivery per row [S7]."""
    path = _config(
        tmp_path,
        mode="erp",
        status={
            "delivered": {"shop_status": "completed"},
            "partially_delivered": {"shop_status": "completed"},
        },
    )
    code = main(["check", "-c", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "erp specter" in out
    rows = _rows(out)
    assert rows["orders"][:2] == ["starweb:se", "specter"]
    assert rows["orders"][2] == "as order; changes in the shop after transfer: cancel"
    assert rows["price_lists"][:2] == ["specter", "starweb:se"]
    assert rows["stock"][:2] == ["specter", "starweb:se"]
    assert "variants sent as separate articles" not in " ".join(rows["products"])
    assert "no campaign price" not in " ".join(rows["prices"])
    assert out.rstrip().endswith("config OK")


def test_plugins_lists_specter_with_its_notes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^\s+specter\s+loaded", out, re.M), out
    assert "Modelled API" in out or "modelled API" in out
