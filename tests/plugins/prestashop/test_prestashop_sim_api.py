"""The PrestaShop simulator speaks the Webservice as reference/shop-apis.md §3 describes it.

Sources: [PS1] WebserviceRequest.php, [PS2] SQLUtils.php, [PS3] WebserviceOutputJSON.php,
[PS6] OrderHistory.php, [PS7] StockAvailable.php, [PS10] devdocs 8 cheat sheet, [PS11]
https://devdocs.prestashop-project.org/8/webservice/tutorials/advanced-use/additional-list-parameters,
[PS12] https://devdocs.prestashop-project.org/8/webservice/tutorials/testing-access,
[PS13] https://devdocs.prestashop-project.org/8/webservice/reference/, [PS17] issues
#10172/#22760 (empty list).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from prestashop_support import raw_client, xml

from brygga.clock import FakeClock
from brygga_prestashop.simulator import PrestashopSimulator

pytestmark = pytest.mark.anyio


def _place(sim: PrestashopSimulator, clock: FakeClock | None = None, n: int = 1) -> list[str]:
    ids = []
    for _ in range(n):
        ids.append(sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com"))
        if clock is not None:
            clock.advance(60)
    return ids


# -- authentication (§3.1 [PS1][PS12]) ---------------------------------------------------


@pytest.mark.parametrize(
    ("key", "code"),
    [("", [17]), ("short", [18]), ("X" * 32, [20, 21])],
)
async def test_a_bad_key_is_401_with_the_source_code_and_a_basic_realm(
    sim: PrestashopSimulator, key: str, code: list[int]
) -> None:
    """An unknown key is "not active" (20) and has "no permission" (21): PrestaShop 1.7/8
    ``WebserviceRequest::authenticate`` answers both, as its Behat tests show [PS1]."""
    async with raw_client(sim, key) as client:
        response = await client.get("orders")
    assert response.status_code == 401
    assert [e["code"] for e in response.json()["errors"]] == code
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert "PSWS-Version" not in response.headers  # only after authentication [PS1]


async def test_no_key_at_all_is_401_code_16(sim: PrestashopSimulator) -> None:
    async with raw_client(sim) as client:
        response = await client.get("orders", auth=None)
    assert (response.status_code, response.json()["errors"][0]["code"]) == (401, 16)


async def test_the_key_as_basic_user_with_empty_password_or_ws_key_is_accepted(
    sim: PrestashopSimulator,
) -> None:
    async with raw_client(sim) as client:
        assert (await client.get("orders")).status_code == 200
        response = await client.get("orders", auth=None, params={"ws_key": sim.key})
        assert response.status_code == 200
        assert response.headers["PSWS-Version"].startswith("8.")


# -- formats (§3.2, §3.5 [PS1][PS3]) ------------------------------------------------------


async def test_output_is_xml_by_default_and_json_on_request(sim: PrestashopSimulator) -> None:
    (order_id,) = _place(sim)
    async with raw_client(sim, json=False) as client:
        as_xml = await client.get(f"orders/{order_id}")
        by_header = await client.get(f"orders/{order_id}", headers={"Output-Format": "JSON"})
        by_io = await client.get(f"orders/{order_id}", params={"io_format": "JSON"})
    assert as_xml.text.startswith("<?xml") and "<prestashop" in as_xml.text
    assert by_header.json()["order"]["id"] == int(order_id)
    assert by_io.json()["order"]["id"] == int(order_id)


async def test_values_are_strings_with_six_decimals_and_rows_are_associations(
    sim: PrestashopSimulator,
) -> None:
    (order_id,) = _place(sim)
    async with raw_client(sim) as client:
        order = (await client.get(f"orders/{order_id}")).json()["order"]
    assert order["total_paid_tax_incl"] == "111.250000"
    assert order["associations"]["order_rows"][0]["product_reference"] == "KAFFE-500"


async def test_a_list_without_display_has_ids_only_and_display_picks_fields(
    sim: PrestashopSimulator,
) -> None:
    _place(sim, n=2)
    async with raw_client(sim) as client:
        ids = (await client.get("orders")).json()
        some = (await client.get("orders", params={"display": "[id,current_state]"})).json()
        bad = await client.get("orders", params={"display": "[id,nope]"})
    assert ids == {"orders": [{"id": 1}, {"id": 2}]}  # [PS11]
    assert some["orders"][0] == {"id": 1, "current_state": "2"}
    assert bad.status_code == 400


async def test_an_empty_list_is_an_empty_array_by_default(sim: PrestashopSimulator) -> None:
    async with raw_client(sim) as client:
        quirk = await client.get("orders", params={"display": "full"})
    sim.knobs.empty_list_quirk = False
    async with raw_client(sim) as client:
        fixed = await client.get("orders", params={"display": "full"})
    assert quirk.json() == []  # [PS17]
    assert fixed.json() == {"orders": []}


async def test_language_fields_are_a_string_for_one_language_a_list_for_more(
    clock: FakeClock,
) -> None:
    one, two = PrestashopSimulator(clock=clock), PrestashopSimulator(clock=clock, languages=2)
    async with raw_client(one) as client:
        single = (await client.get("order_states/2")).json()["order_state"]["name"]
    async with raw_client(two) as client:
        many = (await client.get("order_states/2")).json()["order_state"]["name"]
    assert single == "Payment accepted"  # §3.5 [PS3]
    assert many == [
        {"id": "1", "value": "Payment accepted"},
        {"id": "2", "value": "Payment accepted"},
    ]


async def test_an_unknown_id_is_404_code_87(sim: PrestashopSimulator) -> None:
    async with raw_client(sim) as client:
        response = await client.get("orders/999")
    assert response.status_code == 404
    assert response.json() == {"errors": [{"code": 87, "message": "Id(s) not exists: 999"}]}


# -- filters, date=1, sort, limit (§3.4 [PS1][PS2][PS11][PS16]) ----------------------------


async def test_date_filters_need_date_1(sim: PrestashopSimulator, clock: FakeClock) -> None:
    _place(sim, clock, 3)
    async with raw_client(sim) as client:
        without = await client.get("orders", params={"filter[date_upd]": ">[2000-01-01 00:00:00]"})
        with_date = await client.get(
            "orders", params={"filter[date_upd]": ">[2026-02-02 09:00:30]", "date": "1"}
        )
    assert (without.status_code, without.json()["errors"][0]["code"]) == (400, 32)
    assert with_date.json() == {"orders": [{"id": 2}, {"id": 3}]}


async def test_a_bare_date_between_compares_as_midnight(
    sim: PrestashopSimulator, clock: FakeClock
) -> None:
    """Issue #10822 [PS16]: orders on the end date of [d1,d2] are missed."""
    _place(sim)  # 2026-02-02 09:00 Stockholm
    async with raw_client(sim) as client:
        bare = await client.get(
            "orders", params={"filter[date_upd]": "[2026-02-01,2026-02-02]", "date": "1"}
        )
        full = await client.get(
            "orders",
            params={"filter[date_upd]": "[2026-02-01,2026-02-02 23:59:59]", "date": "1"},
        )
    assert bare.json() == []
    assert full.json() == {"orders": [{"id": 1}]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[2]", [2]),
        ("[1|3]", [1, 3]),
        ("[3,2]", [2, 3]),  # BETWEEN, sorted first
        (">[1]", [2, 3]),
        ("<[3]", [1, 2]),
        ("![1|2]", [3]),
    ],
)
async def test_filter_value_forms(
    sim: PrestashopSimulator, value: str, expected: list[int]
) -> None:
    _place(sim, n=3)
    async with raw_client(sim) as client:
        found = (await client.get("orders", params={"filter[id]": value})).json()
    assert [row["id"] for row in found["orders"]] == expected


async def test_like_filters_on_a_reference(sim: PrestashopSimulator) -> None:
    async with raw_client(sim) as client:
        prefix = (await client.get("combinations", params={"filter[reference]": "[TROJA]%"})).json()
        suffix = (await client.get("products", params={"filter[reference]": "%[-500]"})).json()
    assert len(prefix["combinations"]) == 3
    assert suffix == {"products": [{"id": 1}]}


async def test_sort_and_limit(sim: PrestashopSimulator) -> None:
    _place(sim, n=5)
    async with raw_client(sim) as client:
        page = await client.get("orders", params={"sort": "[id_DESC]", "limit": "1,2"})
        first = await client.get("orders", params={"sort": "[id_ASC]", "limit": "2"})
        unsortable = await client.get("orders", params={"sort": "[date_upd_ASC]"})
    assert page.json() == {"orders": [{"id": 4}, {"id": 3}]}
    assert first.json() == {"orders": [{"id": 1}, {"id": 2}]}
    assert (unsortable.status_code, unsortable.json()["errors"][0]["code"]) == (400, 38)


async def test_an_unknown_shop_is_404(sim: PrestashopSimulator) -> None:
    async with raw_client(sim) as client:
        response = await client.get("orders", params={"id_shop": "7"})
    assert response.status_code == 404  # §3.1 [PS1][PS10]


# -- writes (§3.2, §3.3 [PS1]) ------------------------------------------------------------


async def test_json_bodies_dtds_and_entities_are_refused(sim: PrestashopSimulator) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
        b"<prestashop><message><message>&b;</message></message></prestashop>"
    )
    external = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b"<prestashop><message><message>&e;</message></message></prestashop>"
    )
    async with raw_client(sim) as client:
        as_json = await client.post("messages", content=b'{"message": {"message": "x"}}')
        bombed = await client.post("messages", content=bomb)
        leaked = await client.post("messages", content=external)
    for response in (as_json, bombed, leaked):
        assert response.status_code == 400
    assert "DTD" in bombed.text and "DTD" in leaked.text
    assert sim.state.table("messages") == {}


async def test_put_resets_omitted_fields_and_needs_required_ones(
    sim: PrestashopSimulator,
) -> None:
    """§3.3 [PS1]: PUT is a full replace; a missing required field is 400 code 41."""
    row_id = next(
        i for i, r in sim.state.table("stock_availables").items() if r["id_product"] == "1"
    )
    sim.state.table("stock_availables")[row_id]["location"] = "Hylla 3"
    async with raw_client(sim) as client:
        partial = await client.put(
            f"stock_availables/{row_id}",
            content=xml("stock_available", id=str(row_id), quantity="5"),
        )
        whole = await client.put(
            f"stock_availables/{row_id}",
            content=xml(
                "stock_available",
                id=str(row_id),
                id_product="1",
                id_product_attribute="0",
                quantity="5",
                depends_on_stock="0",
                out_of_stock="2",
            ),
        )
    assert (partial.status_code, partial.json()["errors"][0]["code"]) == (400, 41)
    assert whole.status_code == 200
    row = sim.state.table("stock_availables")[row_id]
    assert row["quantity"] == "5"
    assert row["location"] == ""  # omitted: reset


async def test_put_needs_the_id_and_post_refuses_one(sim: PrestashopSimulator) -> None:
    async with raw_client(sim) as client:
        no_id = await client.put("stock_availables/1", content=xml("stock_available", quantity="1"))
        with_id = await client.post("messages", content=xml("message", id="5", message="x"))
    assert no_id.json()["errors"][0]["code"] == 90
    assert with_id.json()["errors"][0]["code"] == 91


async def test_patch_exists_from_8x_only(clock: FakeClock) -> None:
    """§3.2 [PS10][PS13]: PATCH from 8.x."""
    body = xml("stock_available", id="1", quantity="7")
    eight, old = PrestashopSimulator(clock=clock), PrestashopSimulator(clock=clock, version="1.7")
    async with raw_client(eight) as client:
        patched = await client.patch("stock_availables/1", content=body)
    async with raw_client(old) as client:
        refused = await client.patch("stock_availables/1", content=body)
    assert patched.status_code == 200 and eight.state.get("stock_availables", 1)["quantity"] == "7"
    assert (refused.status_code, refused.json()["errors"][0]["code"]) == (405, 101)


async def test_stock_availables_take_no_post(sim: PrestashopSimulator) -> None:
    async with raw_client(sim) as client:
        response = await client.post("stock_availables", content=xml("stock_available"))
    assert (response.status_code, response.json()["errors"][0]["code"]) == (405, 101)


async def test_read_only_fields_are_400_code_93(sim: PrestashopSimulator) -> None:
    async with raw_client(sim) as client:
        response = await client.patch("products/1", content=xml("product", id="1", quantity="3"))
    assert response.json()["errors"][0]["code"] == 93


async def test_a_combination_row_write_recomputes_the_product_row(
    sim: PrestashopSimulator,
) -> None:
    """§3.6 [PS7]: ``postSave`` sums the combinations into the attribute-0 row."""
    rows = [r for r in sim.state.table("stock_availables").values() if r["id_product"] == "7"]
    product_row = next(r for r in rows if r["id_product_attribute"] == "0")
    combo_row = next(r for r in rows if r["id_product_attribute"] != "0")
    assert product_row["quantity"] == "300"
    async with raw_client(sim) as client:
        await client.patch(
            f"stock_availables/{combo_row['id']}",
            content=xml("stock_available", id=combo_row["id"], quantity="40"),
        )
    assert product_row["quantity"] == "240"


async def test_combination_prices_are_impacts_on_the_base_price(sim: PrestashopSimulator) -> None:
    async with raw_client(sim) as client:
        product = (await client.get("products/7")).json()["product"]
        combo = (await client.get("combinations/1")).json()["combination"]
    assert (product["price"], combo["price"]) == ("279.000000", "20.000000")
    order_id = sim.place_order(lines=[("TROJA-S", 1)], email="a@example.com")
    assert sim.details(order_id)[0]["unit_price_tax_excl"] == "299.000000"


async def test_order_histories_change_the_state_and_mail_only_with_sendemail(
    sim: PrestashopSimulator,
) -> None:
    """§3.6/§3.7 [PS6]: ``addWs`` e-mails only when ``?sendemail=1`` is present."""
    (order_id,) = _place(sim)
    body = xml("order_history", id_order=order_id, id_order_state="4")
    async with raw_client(sim) as client:
        quiet = await client.post("order_histories", content=body)
        loud = await client.post("order_histories", params={"sendemail": "1"}, content=body)
    assert (quiet.status_code, loud.status_code) == (201, 201)
    assert [(h.sendemail, h.email_sent) for h in sim.histories(order_id)] == [
        (False, False),
        (True, True),
    ]
    assert sim.order(order_id)["current_state"] == "4"


async def test_totals_are_rounded_per_line(sim: PrestashopSimulator) -> None:
    order_id = sim.place_order(
        lines=[("KAFFE-500", 3), ("TE-100", 1)], email="a@example.com", freight=Decimal("49")
    )
    # 267.00 + 66.75 VAT; 45.00 + 5.40; freight 49 + 12.25
    assert sim.order_total(order_id) == (Decimal("445.40"), Decimal("84.40"))


async def test_schema_blank_and_synopsis(sim: PrestashopSimulator) -> None:
    """§3.2 [PS1][PS13]: ``?schema=blank`` an empty tree, ``synopsis`` with flags."""
    async with raw_client(sim, json=False) as client:
        blank = (await client.get("stock_availables", params={"schema": "blank"})).text
        synopsis = (await client.get("products", params={"schema": "synopsis"})).text
    assert "<stock_available><id></id><id_product></id_product>" in blank
    assert '<price required="true"></price>' in synopsis
    assert '<quantity read_only="true"></quantity>' in synopsis
    assert '<name required="true"><language id="1"></language></name>' in synopsis


async def test_a_form_encoded_xml_field_is_accepted(sim: PrestashopSimulator) -> None:
    """PrestaShop's dispatcher reads the ``xml`` request field as well as a raw body."""
    (order_id,) = _place(sim)
    body = xml("message", id_order=order_id, message="hej", private="1").decode()
    async with raw_client(sim) as client:
        response = await client.post("messages", data={"xml": body})
    assert response.status_code == 201
    assert sim.messages(order_id) == ["hej"]


async def test_patching_current_state_records_a_mailed_history(sim: PrestashopSimulator) -> None:
    """§3.7 [PS4]: the ``current_state`` setter calls ``setCurrentState`` (a history row, the
    customer mailed as the state says): why the adapter posts order_histories instead."""
    (order_id,) = _place(sim)
    async with raw_client(sim) as client:
        response = await client.patch(
            f"orders/{order_id}", content=xml("order", id=order_id, current_state="4")
        )
    assert response.status_code == 200
    assert [(h.state_id, h.email_sent) for h in sim.histories(order_id)] == [(4, True)]
    assert sim.order_status(order_id) == "shipped"
