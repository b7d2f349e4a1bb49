"""A status rule may only turn on what the shop's status writes can do
(``Capabilities.status_options``): `brygga check` (exit 2) and the daemon's start refuse the
rest, naming the rule's key, the shop and the fix.

QA found `brygga check` printing ``e-mail yes`` for a Vendure shop, whose API has no e-mail
switch (README: "Vendure's API has no e-mail switch: mail follows the server's EmailPlugin";
the adapter drops ``email``), and accepting ``capture = true`` for Norce, whose
SendOrderStatus has no capture (every status write then failed at run time). Vendure declares
tracking and capture, Norce none (SendOrderStatus carries neither an e-mail switch, a capture
nor a tracking number), Starweb all three (``onOrderStatusChangeSendEmail``,
``onOrderStatusChangeProcessPayment``, ``shippingTrackingNo``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from brygga.adapters import Capabilities, StatusOption
from brygga.cli import main
from brygga.errors import ConfigError
from brygga.plugins import PluginHost
from brygga.sync.wiring import load_checked
from brygga.testing import toml_config
from brygga_economic.simulator import EconomicSimulator
from brygga_norce.simulator import NorceSimulator
from brygga_prestashop.simulator import PrestashopSimulator
from brygga_starweb.simulator import StarwebSimulator
from brygga_vendure.simulator import VendureSimulator

CATALOG_OFF = {
    "products": "off",
    "prices": "off",
    "price_lists": "off",
    "stock": "off",
}


def _shop(kind: str, name: str) -> dict[str, Any]:
    if kind == "vendure":
        return VendureSimulator().adapter_config("https://vendure.example", name=name)
    if kind == "norce":
        return NorceSimulator().adapter_config("https://norce.example", name=name)
    if kind == "prestashop":
        return PrestashopSimulator().adapter_config("https://prestashop.example", name=name)
    return StarwebSimulator(seed_catalog=False).adapter_config(
        "https://butiken.starwebserver.se/api/v2", name=name
    )


def write(
    tmp_path: Path,
    status: dict[str, Any],
    shops: tuple[tuple[str, str], ...] = (("vendure", "se"),),
    registers: dict[str, str] | None = None,
) -> Path:
    path = tmp_path / "brygga.toml"
    path.write_text(
        toml_config(
            state="state.db",
            name="butiken",
            erp=EconomicSimulator(seed_catalog=False).adapter_config(
                "https://restapi.e-conomic.com"
            ),
            shops=[_shop(kind, name) for kind, name in shops],
            connection={"mode": "erp", "registers": {**CATALOG_OFF, **(registers or {})}},
            sections={"status": status},
        ),
        encoding="utf-8",
    )
    return path


def check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["check", "-c", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def test_vendure_with_email_is_refused_naming_the_rule_the_shop_and_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = {"shop_status": "PaymentSettled", "email": True, "capture": True}
    code, out, err = check(write(tmp_path, {"invoiced": rule}), capsys)
    assert code == 2, (out, err)
    assert "e-mail" not in out and "config OK" not in out
    assert "connection 'butiken'" in err
    assert "[connection.status.invoiced] email = true: shop 'se' (vendure)" in err
    assert "has no e-mail switch" in err
    assert "set email = false in [connection.status.invoiced]" in err
    assert "capture" not in err  # Vendure can capture (settlePayment)
    with pytest.raises(ConfigError, match=r"\[connection.status.invoiced\] email = true"):
        load_checked(write(tmp_path, {"invoiced": rule}), PluginHost())


def test_vendure_with_tracking_and_capture_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = {"shop_status": "Shipped", "tracking": True, "capture": True}
    code, out, err = check(write(tmp_path, {"invoiced": rule}), capsys)
    assert code == 0, (out, err)
    rows = [line.split() for line in out.splitlines() if line.split()[:1] == ["invoiced"]]
    assert rows == [["invoiced", "Shipped", "no", "yes", "yes"]], out


@pytest.mark.parametrize("option", ["email", "capture", "tracking"])
def test_norce_refuses_each_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    rule = {"shop_status": "Invoiced", option: True}
    code, out, err = check(write(tmp_path, {"invoiced": rule}, (("norce", "no"),)), capsys)
    assert code == 2, (out, err)
    assert f"[connection.status.invoiced] {option} = true: shop 'no' (norce)" in err
    assert f"set {option} = false in [connection.status.invoiced]" in err


def test_prestashop_refuses_capture_and_takes_email_and_tracking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README says the Webservice cannot capture payments; `check` printed `capture yes`
    for a PrestaShop rule (first-hour QA)."""
    rule = {"shop_status": "shipped", "capture": True}
    code, out, err = check(write(tmp_path, {"invoiced": rule}, (("prestashop", "ps"),)), capsys)
    assert code == 2, (out, err)
    assert "[connection.status.invoiced] capture = true: shop 'ps' (prestashop)" in err
    rule = {"shop_status": "shipped", "email": True, "tracking": True}
    code, out, err = check(write(tmp_path, {"invoiced": rule}, (("prestashop", "ps"),)), capsys)
    assert code == 0, (out, err)


def test_norce_without_options_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rule = {"shop_status": "Invoiced"}
    code, out, err = check(write(tmp_path, {"invoiced": rule}, (("norce", "no"),)), capsys)
    assert code == 0, (out, err)


def test_a_shared_rule_names_the_shop_that_cannot_and_its_own_rule_fixes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shops = (("starweb", "se"), ("vendure", "ve"))
    shared = {"shop_status": "completed", "email": True, "capture": True}
    code, out, err = check(write(tmp_path, {"invoiced": shared}, shops), capsys)
    assert code == 2, (out, err)
    assert "shop 've' (vendure)" in err and "shop 'se'" not in err
    assert "a rule of its own in [connection.status.shops.ve.invoiced]" in err

    own = {"invoiced": {"shop_status": "PaymentSettled", "email": True, "capture": True}}
    status = {"invoiced": shared, "shops": {"ve": own}}
    code, out, err = check(write(tmp_path, status, shops), capsys)
    assert code == 2, (out, err)
    assert "[connection.status.shops.ve.invoiced] email = true: shop 've' (vendure)" in err
    assert "set email = false in [connection.status.shops.ve.invoiced]" in err
    assert "a rule of its own" not in err

    own["invoiced"]["email"] = False
    code, out, err = check(write(tmp_path, status, shops), capsys)
    assert code == 0, (out, err)


def test_rules_do_not_matter_while_statuses_do_not_go_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = {"shop_status": "PaymentSettled", "email": True}
    path = write(tmp_path, {"invoiced": rule}, registers={"status": "off"})
    code, out, err = check(path, capsys)
    assert code == 0, (out, err)


def test_the_declarations() -> None:
    """All three by default (an adapter that says nothing keeps its behaviour); Vendure no
    e-mail; Norce nothing; Starweb all three; `brygga plugins` prints them."""
    host = PluginHost()
    options = {kind: host.adapters[kind].capabilities.status_options for kind in host.adapters}
    assert options["vendure"] == {StatusOption.TRACKING, StatusOption.CAPTURE}
    assert options["norce"] == frozenset()
    assert options["starweb"] == set(StatusOption)
    assert Capabilities().describe()["status_options"] == ["capture", "email", "tracking"]
    assert host.adapters["vendure"].describe()["status_options"] == ["capture", "tracking"]
