"""The simulated client's data and what its APIs do to it: orders, SKUs, import jobs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from brygga.clock import Clock
from brygga_norce.simulator.records import (
    STATUS_IDS,
    ApiError,
    SimItem,
    SimJob,
    SimOnhand,
    SimOrder,
    SimPerson,
    SimPrice,
    SimSku,
    iso,
)
from brygga_norce.simulator.seed import CURRENCY_IDS, seed_skus

__all__ = ["NorceState"]

Mangle = Callable[[dict[str, Any]], None]
#: SkuOnhandFieldsThatAreSet: 3 OnhandValue, 10 IsActive (shop-apis.md §4.4, [NO7])
ONHAND_VALUE, ONHAND_ACTIVE = 3, 10


def _person(person: SimPerson) -> dict[str, Any]:
    """A Connect ``Person`` (docs.norce.io …/orderservice/openapi/schemas/person)."""
    return {
        "FirstName": person.first_name,
        "LastName": person.last_name,
        "Email": person.email,
        "CellPhone": person.phone,
        "CustomerCode": None,
        "Address": {
            "Line1": person.line1,
            "Line2": "",
            "ZipCode": person.zip_code,
            "City": person.city,
            "Country": person.country,
            "CareOf": "",
            "Box": "",
            "Region": "",
        },
    }


def _customer(person: SimPerson) -> dict[str, Any]:
    """A Connect ``ClientCustomer`` {Company, Person}."""
    company = (
        {"Code": person.company_code or None, "Name": person.company, "VatNo": person.vat_no}
        if person.company
        else None
    )
    return {"Person": _person(person), "Company": company}


class NorceState:
    """Orders by basket id (``ClientOrderRef``), SKUs by part number, jobs by id."""

    def __init__(self, clock: Clock, *, seed_catalog: bool, job_polls: int) -> None:
        self.clock = clock
        self.skus: dict[str, SimSku] = seed_skus() if seed_catalog else {}
        self.orders: dict[int, SimOrder] = {}
        self.jobs: dict[int, SimJob] = {}
        self.job_polls = job_polls
        self.manglers: dict[int, Mangle] = {}
        self.push_manglers: dict[int, Mangle] = {}
        #: the next submitted job fails with this message when it runs ("" for none)
        self.fail_next = ""
        #: when set, ``@odata.nextLink`` points at this scheme and host (hostile tests)
        self.next_link_base = ""
        #: when set, ``@odata.nextLink`` leaves out the request's ``$filter`` (hostile tests)
        self.next_link_drops_filter = False
        self._next_order = 5000
        self._next_basket = 100_000
        self._next_job = 700
        #: the client's price lists (code → id) and warehouses (code → id, location code →
        #: id); a code an import names for the first time is given the next id
        self.price_list_ids: dict[str, int] = {}
        self.warehouse_ids: dict[str, int] = {}
        self.location_ids: dict[tuple[str, str], int] = {}

    def now(self) -> datetime:
        """The client's clock, whole seconds."""
        return self.clock.now().replace(microsecond=0)

    def new_order_ids(self) -> tuple[int, int]:
        self._next_order += 1
        self._next_basket += 7
        return self._next_order, self._next_basket

    def price_list_id(self, code: str) -> int:
        return self.price_list_ids.setdefault(code, 100 + len(self.price_list_ids))

    def place_ids(self, warehouse: str, location: str) -> tuple[int, int]:
        wid = self.warehouse_ids.setdefault(warehouse, 1 + len(self.warehouse_ids))
        lid = self.location_ids.setdefault((warehouse, location), 10 + len(self.location_ids))
        return wid, lid

    def order(self, basket_id: int) -> SimOrder:
        order = self.orders.get(basket_id)
        if order is None:
            raise ApiError(400, f"No order found with ClientOrderRef {basket_id}")
        return order

    # -- wire shapes ---------------------------------------------------------------------

    def order_request(self, order: SimOrder) -> dict[str, Any]:
        """The ``OrderRequest`` Norce posts to the order receiver (shop-apis.md §4.3).

        Items, Payment, Person and Company follow [NO5]; the Header's fields are [unknown] in
        the reference, so ``ClientOrderRef``, ``ApplicationId``, ``CurrencyCode``,
        ``OrderDate`` and ``Source`` there are modelled."""
        items = []
        for item in order.items:
            items.append(
                {
                    "LineNo": item.line_no,
                    "PartNo": item.part_no,
                    "ErpPartNo": item.part_no,
                    "Description": item.name,
                    "Quantity": item.quantity,
                    "Quantity2": Decimal(item.quantity),
                    "UnitPrice": item.unit_price,
                    "UnitPriceOriginal": item.unit_price_original,
                    "UnitVat": item.unit_vat,
                    "UnitPriceOriginalVat": (
                        item.unit_price_original * item.vat_rate / 100
                    ).quantize(Decimal("0.0001")),
                    "VatRate": item.vat_rate,
                    "Discount": None,
                    "Type": item.type,
                    "TypeGroup": item.type_group,
                    "Comment": None,
                    "ParentLineNo": None,
                }
            )
        total, _ = order.totals()
        body: dict[str, Any] = {
            "Header": {
                "ClientOrderRef": order.basket_id,
                "ApplicationId": order.application_id,
                "CurrencyCode": order.currency,
                "OrderDate": iso(order.created),
                "Source": "WEB",
                "BuyerReference": None,
                "SuggestedErpOrderNo": None,
            },
            "Buyer": _customer(order.buyer),
            "ShipTo": _customer(order.buyer),
            "Payer": _customer(order.buyer),
            "Items": items,
            "Payments": [
                {
                    "PaymentCode": 1,
                    "PaymentMethodCode": "KLARNA",
                    "PaymentRef": f"psp-{order.basket_id}",
                    "PaymentName": "Klarna",
                    "Amount": total if order.paid else Decimal(0),
                    "CurrencyCode": order.currency,
                    "AdditionalInfo": [],
                }
            ],
            "Fees": [],
            "Discounts": [],
        }
        mangle = self.push_manglers.get(order.basket_id)
        if mangle is not None:
            mangle(body)
        return body

    def query_order(self, order: SimOrder, expand: frozenset[str]) -> dict[str, Any]:
        """A Query 2.0 ``Orders/Orders`` entity as documented (docs.norce.io/api-reference/
        query/queryorders/openapi/orders/orders.md): ``Id`` (string), ``ClientId``,
        ``ApplicationId``, ``QuotationId`` (the basket id), ``OrderNo`` ("commonly same as
        quotation id unless overriden from the ERP confirmation response": the ERP number
        once SendOrderStatus gave one), ``OrderDate``, ``StatusId``, ``CurrencyId``; no basket
        id or ERP number field. ``Created``/``Updated`` as the other Query 2.0 entities show
        them; ``CurrencyCode`` and the expanded shapes are modelled."""
        row: dict[str, Any] = {
            "Id": str(order.order_id),
            "ClientId": 1,
            "ApplicationId": order.application_id,
            "QuotationId": order.basket_id,
            "OrderNo": order.erp_order_no or str(order.basket_id),
            "OrderDate": iso(order.created),
            "StatusId": order.status_id,
            "Source": "WEB",
            "CurrencyId": CURRENCY_IDS.get(order.currency, 0),
            "CurrencyCode": order.currency,
            "Created": iso(order.created),
            "Updated": iso(order.updated) if order.updated != order.created else None,
        }
        if "Items" in expand:
            row["Items"] = [
                {
                    "LineNo": item.line_no,
                    "PartNo": item.part_no,
                    "ProductName": item.name,
                    "Quantity": item.quantity,
                    "PriceSale": item.unit_price,
                    "PriceSaleOriginal": item.unit_price_original,
                    "VatRate": item.vat_rate,
                    "Type": item.type,
                    "TypeGroup": item.type_group,
                }
                for item in order.items
            ]
        if "Buyer" in expand:
            person = order.buyer
            row["Buyer"] = {
                "FirstName": person.first_name,
                "LastName": person.last_name,
                "EmailAddress": person.email,
                "PhoneNumber": person.phone,
                "CompanyName": person.company,
                "AddressLine1": person.line1,
                "AddressLine2": "",
                "ZipCode": person.zip_code,
                "City": person.city,
                "CountryCode": person.country,
            }
        mangle = self.manglers.get(order.basket_id)
        if mangle is not None:
            mangle(row)
        return row

    def filter_row(self, order: SimOrder) -> dict[str, Any]:
        """The order's fields as ``$filter`` sees them (times as datetimes)."""
        return {
            "Id": str(order.order_id),
            "ApplicationId": order.application_id,
            "QuotationId": order.basket_id,
            "OrderNo": order.erp_order_no or str(order.basket_id),
            "OrderDate": order.created,
            "StatusId": order.status_id,
            "Created": order.created,
            "Updated": order.updated if order.updated != order.created else None,
        }

    def product_sku(self, sku: SimSku, expand: frozenset[str]) -> dict[str, Any]:
        """A Query ``Products/ProductSkus('…')`` entity with its on-hand and price rows, which
        carry ids, never codes: on hand ``PartNo``, ``WarehouseId``, ``LocationId``,
        ``OnHandValue``, ``IsActive`` (docs.norce.io/api-reference/query/openapi/schemas/
        clientproductskuonhandinfo); price ``PartNo``, ``PriceListId``, ``QtyBreak``,
        ``CurrencyId``, ``PriceSale``, ``IsActive`` (…/query/openapi/products/
        products_productskus)."""
        row: dict[str, Any] = {"PartNo": sku.part_no, "Name": sku.name}
        if "OnHands" in expand:
            rows = []
            for o in sku.onhands:
                wid, lid = self.place_ids(o.warehouse, o.location)
                rows.append(
                    {
                        "PartNo": sku.part_no,
                        "WarehouseId": wid,
                        "LocationId": lid,
                        "OnHandValue": o.value,
                        "IsActive": o.is_active,
                        "Updated": iso(o.updated) if o.updated else None,
                    }
                )
            row["OnHands"] = rows
        if "PriceLists" in expand:
            row["PriceLists"] = [
                {
                    "PartNo": sku.part_no,
                    "PriceListId": self.price_list_id(p.price_list),
                    "QtyBreak": 1,
                    "CurrencyId": CURRENCY_IDS.get(p.currency, 0),
                    "PriceSale": p.price_sale,
                    "IsActive": p.is_active,
                }
                for p in sku.prices
            ]
        return row

    def client_price_lists(self) -> list[dict[str, Any]]:
        """``Application/ClientPriceLists`` (Query 2.0 ``PriceListClient``: ``PriceListId``,
        ``Agreement`` = the code Connect imports name, ``CurrencyId``); a list's currency is
        that of its first price (SEK when it has none), modelled."""
        currencies: dict[str, str] = {}
        for sku in self.skus.values():
            for price in sku.prices:
                currencies.setdefault(price.price_list, price.currency)
                self.price_list_id(price.price_list)
        return [
            {
                "PriceListId": pid,
                "Agreement": code,
                "Name": code,
                "CurrencyId": CURRENCY_IDS.get(currencies.get(code, "SEK"), 0),
                "IsActive": True,
            }
            for code, pid in self.price_list_ids.items()
        ]

    def client_warehouses(self) -> list[dict[str, Any]]:
        """``Application/ClientWarehouses`` with their locations (modelled: ``WarehouseId``,
        ``Code``, ``Locations`` [``LocationId``, ``Code``], after the documented
        ClientWarehouseLocation's ``warehouseId``, ``locationId``, ``code``)."""
        for sku in self.skus.values():
            for onhand in sku.onhands:
                self.place_ids(onhand.warehouse, onhand.location)
        return [
            {
                "WarehouseId": wid,
                "Code": code,
                "IsActive": True,
                "Locations": [
                    {"LocationId": lid, "Code": loc}
                    for (warehouse, loc), lid in self.location_ids.items()
                    if warehouse == code
                ],
            }
            for code, wid in self.warehouse_ids.items()
        ]

    # -- SendOrderStatus -----------------------------------------------------------------

    def send_order_status(self, body: dict[str, Any]) -> None:
        """Apply a SendOrderStatus request (validated by the route)."""
        order = self.order(body["ClientOrderRef"])
        status = body["OrderStatus"]
        order.status_log.append(dict(body))
        # [NO4] an acknowledgement stores the ERP number; the Query OrderNo shows it
        order.erp_order_no = str(body["ErpOrderNo"])
        if status in STATUS_IDS:
            order.status_id = STATUS_IDS[status]
        order.updated = self.now()

    def cancel_order(self, body: dict[str, Any]) -> None:
        """CancelOrder: matched on ClientOrderRef and ErpOrderNo ([NO6], CancelOrderRequest)."""
        order = self.order(body["ClientOrderRef"])
        if str(body.get("ErpOrderNo") or "") != order.erp_order_no:
            raise ApiError(400, f"ErpOrderNo does not match order {order.basket_id}")
        order.cancels.append(dict(body))
        order.status_id = STATUS_IDS["Cancelled"]
        order.updated = self.now()

    def delivery_note(self, body: dict[str, Any]) -> None:
        """CreateDeliveryNote: every row delivered → Delivered, else PartlyDelivered (modelled)."""
        order = self.order(body["ClientOrderRef"])
        order.delivery_notes.append(dict(body))
        shipped: dict[str, int] = {}
        for note in order.delivery_notes:
            for row in note.get("Items") or []:
                part = str(row.get("PartNo"))
                shipped[part] = shipped.get(part, 0) + int(row.get("Quantity") or 0)
        done = all(
            shipped.get(i.part_no, 0) >= i.quantity for i in order.items if i.type_group != "Fee"
        )
        order.status_id = STATUS_IDS["Delivered" if done else "PartlyDelivered"]
        order.updated = self.now()

    # -- import jobs ---------------------------------------------------------------------

    def submit_job(self, kind: str, header: dict[str, Any], rows: list[dict[str, Any]]) -> SimJob:
        self._next_job += 1
        job = SimJob(
            job_id=self._next_job,
            kind=kind,
            rows=rows,
            header=header,
            created=self.now(),
            polls_left=self.job_polls,
            fail_with=self.fail_next,
        )
        self.fail_next = ""
        self.jobs[job.job_id] = job
        return job

    def poll_job(self, job_id: int) -> SimJob:
        """A Job/Get: the job runs once its polls are used up (a worker picked it up)."""
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"Job {job_id} not found")
        if not job.finished:
            if job.polls_left > 0:
                job.polls_left -= 1
            else:
                self.run_job(job)
        return job

    def run_job(self, job: SimJob) -> None:
        now = self.now()
        job.finished, job.stop = True, now
        if job.fail_with:
            job.status_id, job.fail = 3, len(job.rows)
            job.log.append(_log(3, job.fail_with, now, ""))
            return
        apply = self._onhand if job.kind == "onhands" else self._price
        for row in job.rows:
            apply(job, row, now)
        if job.header.get("FullFile") is True:
            self._deactivate_omitted(job, now)
        job.status_id = 2

    def _onhand(self, job: SimJob, row: dict[str, Any], now: datetime) -> None:
        sku = self.skus.get(str(row.get("PartNo")))
        if sku is None:  # "Stock for products that do not exist yet in Norce is ignored" [NO7]
            job.log.append(_log(2, f"PartNo {row.get('PartNo')} not found, ignored", now, ""))
            return
        fields = job.header.get("SkuOnhandFieldsThatAreSet") or [ONHAND_VALUE]
        key = (row["WarehouseCode"], row["LocationCode"])
        found = next((o for o in sku.onhands if (o.warehouse, o.location) == key), None)
        if found is None:
            found = SimOnhand(key[0], key[1], Decimal(0))
            sku.onhands.append(found)
            job.inserts += 1
        else:
            job.updates += 1
        if ONHAND_VALUE in fields and row.get("OnhandValue") is not None:
            found.value = Decimal(row["OnhandValue"])
        if ONHAND_ACTIVE in fields and row.get("IsActive") is not None:
            found.is_active = bool(row["IsActive"])
        found.updated = now

    def _price(self, job: SimJob, row: dict[str, Any], now: datetime) -> None:
        sku = self.skus.get(str(row.get("PartNo")))
        if sku is None:
            job.fail += 1
            job.log.append(_log(3, f"PartNo {row.get('PartNo')} does not exist", now, ""))
            return
        value = row.get("PriceSale")
        code, currency = row["PriceListCode"], row.get("CurrencyCode") or "SEK"
        found = next((p for p in sku.prices if p.price_list == code), None)
        if value is None or Decimal(value) == 0:  # "Null or 0 values are ignored" [NO8]
            job.log.append(_log(2, f"PriceSale of {sku.part_no} empty or 0, ignored", now, ""))
            return
        if found is None:
            sku.prices.append(SimPrice(code, currency, Decimal(value), updated=now))
            job.inserts += 1
        else:
            found.price_sale, found.currency, found.is_active = Decimal(value), currency, True
            found.updated = now
            job.updates += 1

    def _deactivate_omitted(self, job: SimJob, now: datetime) -> None:
        """``FullFile: true`` deactivates everything not in the payload [NO7]."""
        named = {str(row.get("PartNo")) for row in job.rows}
        for sku in self.skus.values():
            if sku.part_no in named:
                continue
            if job.kind == "onhands":
                for onhand in sku.onhands:
                    onhand.is_active = False
            else:
                lists = {row.get("PriceListCode") for row in job.rows}
                for price in sku.prices:
                    if price.price_list in lists:
                        price.is_active = False

    @staticmethod
    def job_dto(job: SimJob) -> dict[str, Any]:
        """``JobDto`` (docs.norce.io/api-reference/schemas/connectjob)."""
        return {
            "JobId": job.job_id,
            "StatusId": job.status_id,
            "IsFinished": job.finished,
            "Fail": job.fail,
            "Insert": job.inserts,
            "Updates": job.updates,
            "Totals": len(job.rows),
            "Start": iso(job.created),
            "Stop": iso(job.stop) if job.stop else None,
            "RunTime": "00:00:01" if job.finished else None,
            "LastUpdated": iso(job.stop or job.created),
            "StorageName": None,
        }


def _log(severity: int, message: str, when: datetime, row: str) -> dict[str, Any]:
    """A ``JobLogDto`` row: SeverityId 1 information, 2 warning, 3 error [NO9]."""
    return {"SeverityId": severity, "Message": message, "TimeStamp": iso(when), "ImportedRow": row}


def new_item(line_no: int, sku: SimSku, quantity: int, discount_percent: Decimal) -> SimItem:
    """An order row for ``sku`` at its price less ``discount_percent``."""
    price = (sku.price * (100 - discount_percent) / 100).quantize(Decimal("0.01"))
    return SimItem(
        line_no=line_no,
        part_no=sku.part_no,
        name=sku.name,
        quantity=quantity,
        unit_price=price,
        unit_price_original=sku.price,
        vat_rate=sku.vat_rate,
    )
