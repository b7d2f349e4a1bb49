"""Per-shop order settings on a two-shop connection (Starweb "se" and "no" into one e-conomic):
each shop's order-number prefix on the document, its customer group for new customers, its
currency check, and orders with one number from both shops as two documents."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from catalog_fakes import FakeErp, FakeShop

from brygga.adapters import AdapterConfig, AdapterSpec, Capabilities, CustomerGroups, Role
from brygga.clock import FakeClock
from brygga.config import load_config
from brygga.errors import ConfigError
from brygga.hookspecs import hookimpl
from brygga.models import DocumentType
from brygga.plugins import PluginHost
from brygga.store import ItemState
from brygga.sync.references import document_reference
from brygga.sync.writeback import WRITEBACK
from brygga.testing import SimulatedConnection, toml_config

pytestmark = pytest.mark.anyio

SHOPS = {
    "se": {"number_prefix": "SE-", "customer_group": 1, "currency": "SEK"},
    "no": {"number_prefix": "NO-", "customer_group": 3},
}


@asynccontextmanager
async def _two_shops(
    tmp_path: Path, shops: dict[str, Any] | None = None
) -> AsyncIterator[SimulatedConnection]:
    async with SimulatedConnection.open(
        tmp_path,
        shop_options={"seed": 3},
        shops=("se", "no"),
        orders={"shops": SHOPS if shops is None else shops},
    ) as env:
        yield env


def _stored(env: SimulatedConnection, reference: str) -> dict[str, Any]:
    """The body e-conomic stored for the one document with ``reference``."""
    [found] = [d.body for d in env.erp.docs.all() if d.body["references"]["other"] == reference]
    return found


async def _transfer(env: SimulatedConnection) -> list[ItemState]:
    flow = env.flow()
    for shop in ("se", "no"):
        await flow.poll_once(shop)
    states = await env.drain(flow)
    await env.drain(flow, WRITEBACK)
    return states


async def test_same_order_number_in_two_shops_gives_two_documents_each_with_its_prefix(
    tmp_path: Path,
) -> None:
    async with _two_shops(tmp_path) as env:
        se, no = env.shops["se"], env.shops["no"]
        se_id = se.place_order(lines=[("KAFFE-500", 1)], email="anna@example.se")
        no_id = no.place_order(lines=[("KAFFE-500", 2)], email="ola@example.no")
        assert se_id == no_id  # both simulators number their first order alike
        assert set(await _transfer(env)) == {ItemState.DONE}
        se_doc = _stored(env, document_reference("demo", "se", se_id))
        no_doc = _stored(env, document_reference("demo", "no", no_id))
        assert len(env.erp.documents()) == 2
        # the exactly-once reference is unchanged (connection, shop, order id); the prefix is
        # in notes.heading, the document's heading (reference/erp-apis.md, e-conomic
        # invoices: notes{heading(250),...}; filterable like references.other)
        assert se_doc["notes"]["heading"] == f"Order SE-{_number(env, 'se', se_id)}"
        assert no_doc["notes"]["heading"] == f"Order NO-{_number(env, 'no', no_id)}"
        # each shop's new customer in its own customer group
        groups = {
            c["email"]: c["customerGroup"]["customerGroupNumber"] for c in env.erp.customers()
        }
        assert groups == {"anna@example.se": 1, "ola@example.no": 3}
        # each shop's order written back with its own document
        assert {se.exported_document(se_id), no.exported_document(no_id)} == {
            d.number for d in env.erp.documents()
        }


def _number(env: SimulatedConnection, shop: str, order_id: str) -> str:
    """The shop's order number (Starweb's orderId is the number the shop shows)."""
    return str(env.shops[shop].order(order_id).order_id)


async def test_without_shop_settings_the_heading_and_group_are_as_before(tmp_path: Path) -> None:
    async with _two_shops(tmp_path, shops={}) as env:
        oid = env.shops["no"].place_order(lines=[("KAFFE-500", 1)], email="ola@example.no")
        assert set(await _transfer(env)) == {ItemState.DONE}
        body = _stored(env, document_reference("demo", "no", oid))
        assert body["notes"]["heading"] == f"Order {_number(env, 'no', oid)}"
        [customer] = env.erp.customers()
        assert customer["customerGroup"]["customerGroupNumber"] == 1  # the adapter's default


async def test_an_order_in_another_currency_than_the_shop_setting_is_an_error_record(
    tmp_path: Path,
) -> None:
    shops = {"no": {"currency": "NOK"}}  # the simulated shop sells in SEK
    async with _two_shops(tmp_path, shops=shops) as env:
        se_id = env.shops["se"].place_order(lines=[("KAFFE-500", 1)], email="anna@example.se")
        no_id = env.shops["no"].place_order(lines=[("KAFFE-500", 1)], email="ola@example.no")
        states = await _transfer(env)
        assert sorted(states) == sorted([ItemState.DONE, ItemState.FAILED])
        [failed] = await env.store.items.query(states=[ItemState.FAILED])
        assert (failed.instance, failed.external_id) == ("no", no_id)
        assert "is in SEK, but [connection.orders.shops.no] currency says NOK" in (
            failed.last_error or ""
        )
        assert "brygga errors retry" in (failed.last_error or "")
        # no document and no customer for the refused order; the other shop's order went on
        assert env.erp.documents_with_reference(document_reference("demo", "no", no_id)) == []
        assert [c["email"] for c in env.erp.customers()] == ["anna@example.se"]
        assert env.erp.documents_with_reference(document_reference("demo", "se", se_id))


async def test_a_customer_group_e_conomic_lacks_is_an_error_record_naming_it(
    tmp_path: Path,
) -> None:
    async with _two_shops(tmp_path, shops={"se": {"customer_group": "grossist"}}) as env:
        env.shops["se"].place_order(lines=[("KAFFE-500", 1)], email="anna@example.se")
        assert await _transfer(env) == [ItemState.FAILED]
        [failed] = await env.store.items.query(states=[ItemState.FAILED])
        assert "Customer group 'grossist'" in (failed.last_error or "")
        assert env.erp.documents() == [] and env.erp.customers() == []


@pytest.mark.parametrize(
    ("shops", "expected"),
    [
        (
            {"dk": {"number_prefix": "DK-"}},
            "connection[0].orders.shops.dk: no shop of this connection is named 'dk'; "
            "name one of: no, se",
        ),
        ({"se": {"currency": "kronor"}}, "connection[0].orders.shops.se.currency: 'kronor'"),
        (
            {"no": {"number_prefix": " NO-"}},
            "connection[0].orders.shops.no.number_prefix: ' NO-' must be at most 20",
        ),
        ({"no": {"customer_group": " "}}, "connection[0].orders.shops.no.customer_group: is empty"),
    ],
)
async def test_order_settings_that_cannot_work_are_config_errors(
    tmp_path: Path, shops: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        async with _two_shops(tmp_path, shops=shops):
            pass
    assert f"{tmp_path / 'brygga.toml'}: {expected}" in str(info.value)


class _FakeConfig(AdapterConfig, kw_only=True, forbid_unknown_fields=True):
    kind: str = "fake"


class _FakePlugin:
    """An ERP without CustomerGroups, registered as a third-party plugin would."""

    @hookimpl
    def brygga_register_adapters(self, register: Callable[[AdapterSpec], None]) -> None:
        sides: tuple[tuple[str, Role, type[Any]], ...] = (
            ("fakeerp", Role.ERP, FakeErp),
            ("fakeshop", Role.SHOP, FakeShop),
        )
        for kind, role, adapter in sides:
            register(
                AdapterSpec(
                    kind=kind,
                    role=role,
                    config_type=_FakeConfig,
                    capabilities=Capabilities(document_types=frozenset({DocumentType.INVOICE})),
                    factory=lambda cfg, ctx, adapter=adapter: adapter(FakeClock()),
                    adapter=adapter,
                )
            )


def _load_with_fakes(tmp_path: Path, shops: dict[str, Any]) -> None:
    path = tmp_path / "brygga.toml"
    path.write_text(
        toml_config(
            state="state.db",
            erp={"kind": "fakeerp", "base_url": "https://erp.test"},
            shops=[{"kind": "fakeshop", "name": "se", "base_url": "https://shop.test"}],
            connection={},
            sections={"orders": {"shops": shops}},
        ),
        encoding="utf-8",
    )
    load_config(path, PluginHost(entry_points=False, extra=[("fakes", _FakePlugin())]))


def test_a_customer_group_for_an_erp_that_cannot_take_one_is_a_config_error(
    tmp_path: Path,
) -> None:
    assert not issubclass(FakeErp, CustomerGroups)
    _load_with_fakes(tmp_path, {"se": {"number_prefix": "SE-", "currency": "SEK"}})
    with pytest.raises(ConfigError) as info:
        _load_with_fakes(tmp_path, {"se": {"customer_group": 2}})
    assert (
        "connection[0].orders.shops.se.customer_group: the ERP adapter 'fakeerp' cannot "
        "create customers in a chosen group"
    ) in str(info.value)
