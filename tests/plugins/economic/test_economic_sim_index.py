"""The e-conomic simulator answers ``$eq:`` and ``$like:`` (contains) customer searches from an
index, with the same results as testing every customer (case-insensitive text, numbers by
value)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from brygga_economic.simulator import EconomicSimulator
from brygga_economic.simulator.filter import parse_filter, sole_lookup
from brygga_economic.simulator.http import FILTERABLE
from brygga_economic.simulator.index import EqualityIndex

pytestmark = pytest.mark.anyio

Api = Callable[..., httpx.AsyncClient]


async def _numbers(api: Api, search: str) -> list[int]:
    async with api() as client:
        response = await client.get("/customers", params={"filter": search, "pagesize": 1000})
    assert response.status_code == 200
    return [row["customerNumber"] for row in response.json()["collection"]]


def _scan(sim: EconomicSimulator, search: str) -> list[int]:
    predicate = parse_filter(search, FILTERABLE["customers"])
    stored = sim.state.customers
    return [number for number in sorted(stored) if predicate(stored[number])]


async def test_indexed_searches_answer_as_a_scan(api: Api, sim: EconomicSimulator) -> None:
    for i in range(30):
        sim.add_customer(name=f"Kund {i}", email=f"kund{i % 10}@example.se")
    anna = sim.add_customer(name="Anna", email="ANNA@Example.SE")
    org = sim.add_customer(name="Org", corporateIdentificationNumber="556677-8899")
    searches = [
        "email$eq:anna@example.se",
        "email$eq:KUND3@EXAMPLE.SE",
        "email$eq:nobody@example.se",
        f"customerNumber$eq:{anna}",
        f"customerNumber$eq:{anna}.0",
        "customerNumber$eq:not-a-number",
        "corporateIdentificationNumber$eq:556677-8899",
        "email$like:anna@example.se",
        "email$like:KUND3@",
        "email$like:example.se",
        "email$like:nobody",
        "email$like:kund*@example.se",
        f"customerNumber$like:{anna}",
        "corporateIdentificationNumber$like:677-88",
    ]
    for search in searches:
        assert await _numbers(api, search) == _scan(sim, search), search
    assert await _numbers(api, "email$eq:anna@example.se") == [anna]
    assert await _numbers(api, f"customerNumber$eq:{org}.00") == [org]
    assert len(await _numbers(api, "email$eq:kund3@example.se")) == 3


async def test_a_customer_stored_behind_the_index_is_found(
    api: Api, sim: EconomicSimulator
) -> None:
    sim.add_customer(name="Indexed", email="a@example.se")
    assert await _numbers(api, "email$eq:b@example.se") == []
    sim.state.customers[77] = {**sim.state.customers[1], "customerNumber": 77, "email": "B@x.se"}
    assert await _numbers(api, "email$eq:b@x.se") == [77]


def test_only_a_lone_text_equality_or_contains_can_use_an_index() -> None:
    filterable = {"email", "name"}
    assert sole_lookup(parse_filter("email$eq:A@b.se", filterable)) == ("email", "eq", "A@b.se")
    assert sole_lookup(parse_filter("email$like:b.se", filterable)) == ("email", "like", "b.se")
    for other in ("email$eq:$null:", "email$ne:a", "email$eq:a$and:name$eq:b", "name$like:a*"):
        assert sole_lookup(parse_filter(other, filterable)) is None


def test_the_index_narrows_instead_of_scanning() -> None:
    index = EqualityIndex("email")
    collection: dict[int, dict[str, Any]] = {
        n: {"email": f"kund{n}@example.se"} for n in range(1, 2001)
    }
    for number, resource in collection.items():
        index.put(number, resource)
    assert index.candidates(collection, "KUND7@example.se") == [collection[7]]
    collection[7] = {"email": "moved@example.se"}
    index.put(7, collection[7])
    assert index.candidates(collection, "kund7@example.se") == []
    assert index.candidates(collection, "MOVED@example.se") == [collection[7]]


def test_a_contains_search_tests_only_the_folded_texts() -> None:
    index = EqualityIndex("email")
    collection: dict[int, dict[str, Any]] = {
        n: {"email": f"kund{n}@example.se ekonomi{n}@example.se"} for n in range(1, 2001)
    }
    collection[2001] = {"email": None}
    for number, resource in collection.items():
        index.put(number, resource)
    assert index.candidates(collection, "EKONOMI7@example.se", "like") == [collection[7]]
    assert index.candidates(collection, "kund1999@", "like") == [collection[1999]]
    collection[7] = {"email": "moved@example.se"}
    index.put(7, collection[7])
    assert index.candidates(collection, "ekonomi7@example.se", "like") == []
    assert index.candidates(collection, "kund", "ne") is None
