"""The adapter conformance kit: a standard battery any adapter + simulator pair must pass.

A plugin (first-party or third-party) runs it from one small test module::

    from brygga.testing import ShopAdapterConformance   # or ErpAdapterConformance

    class TestMyShopConformance(ShopAdapterConformance):
        kind = "myshop"                         # the kind your plugin registers
        simulator_options = {"page_size": 10}   # optional: options for spec.simulator(...)

Pytest then collects the battery; async checks run on every backend the ``anyio_backend``
fixture yields (brygga's conftest gives asyncio and trio; anyio's default is asyncio only).
The kit looks the spec up with ``PluginHost().adapters[kind]``, builds ``spec.simulator`` for
every test (on a fake clock when its factory takes ``clock``), decodes the simulator's
``adapter_config(...)`` merged with ``adapter_overrides`` into ``spec.config_type`` as the
config loader does, and opens ``spec.factory(config, AdapterContext(...))`` on the simulator
in-process (``httpx.ASGITransport``), closing it after the test. Override ``make_simulator``
for a simulator built differently, and on an ERP class set ``create_path`` to a regex of the
create call's path. The classes are never collected themselves (``__test__ = False``; their
subclasses get ``True``).

Shop battery: credentials work and wrong ones are a PermanentError that shows no secret; the
change feed finds every order of a window and none outside it, each once, in (modified_at,
id) order, across pages; ``fetch_order`` reproduces the shop's totals and SKUs;
``mark_exported`` sticks and repeats harmlessly; 5xx/429/timeout/dropped connection are
TransientErrors (a 429's with ``retry_after``); a garbled order is a PermanentError naming it
(needs the simulator hook ``mangle_order``, else that check is skipped with the reason).

ERP battery: credentials as above; customers are found again by e-mail; a document built by
the orders flow from a canonical order is stored with its totals and VAT per rate and found by
reference (an unknown reference is None), for each document type the capabilities offer; a
create whose answer is lost after the commit raises TransientError and the document is then
found, exactly one; an unknown article is a PermanentError naming order and article; faults as
above.

Order statuses, shop (``shop_status``; skipped with the reason when the adapter is no
``StatusSink``): ``order_statuses()`` is non-empty, lists no code twice and includes a new
order's ``fetch_order(...).status`` (statuses are reported in the codes rules name);
``set_status`` to another listed status returns True, ``fetch_order`` reads it back and another
order keeps its own; the same call again returns False and sends no write (counted on the
simulator's ``requests`` log of ``(method, path)`` when it keeps one, else the return value
alone); an unknown status is a PermanentError naming it and writes nothing; a 500 on the write
is a TransientError and the call then succeeds.

Order statuses, ERP (``erp_status``; skipped when the adapter is no ``StatusSource``, and the
event checks also when the simulator has no ``order_event(reference, event)``): for each of
``capabilities.status_events`` a kit document is created, ``sim.order_event`` makes the event
happen, and ``document_states([ref])`` (the ref ``create_document`` returned) reports that
reference once with the event among its events (an event the simulator refuses fails the
check: the capability could not be held to it; override ``status_document_type(event)`` for
an event that happens to another document type); an untouched document is left out or has no
event a person makes happen (paid, delivered, partially delivered, cancelled; invoiced only
when created booked), the same when asked twice; one call for several moved and untouched
documents reports each moved one once with its event, leaves the untouched ones untouched, and
reports nothing not asked about; a 5xx is a TransientError and the call then succeeds.

Each check is also a plain async function (``shop.check_discovery(sim, adapter, clock)``,
``erp.check_commit_then_fail(sim, adapter, path)``, ``erp_status.check_status_event(sim,
adapter, event)`` ..., all importable from this package)
that raises AssertionError when the adapter does not conform, and :class:`ShopHarness` /
:class:`ErpHarness` open adapters on a simulator for callers that want them one by one.
This package imports pytest: use it from tests only.
"""

from __future__ import annotations

from brygga.testing.conformance.common import FAULT_KINDS, RETRY_AFTER, FaultKind
from brygga.testing.conformance.erp import (
    check_bad_erp_credentials,
    check_commit_then_fail,
    check_create_and_find,
    check_customer_matching,
    check_erp_authentication,
    check_erp_fault,
    check_unknown_article,
)
from brygga.testing.conformance.erp_status import (
    check_many_states,
    check_status_event,
    check_status_fault,
    check_unchanged_document,
)
from brygga.testing.conformance.harness import (
    ErpHarness,
    NotSupported,
    ShopHarness,
    adapter_spec,
    build_simulator,
)
from brygga.testing.conformance.shop import (
    check_authentication,
    check_bad_credentials,
    check_discovery,
    check_fetch_order,
    check_garbage,
    check_mark_exported,
    check_paging,
    check_shop_fault,
)
from brygga.testing.conformance.shop_status import (
    check_order_statuses,
    check_set_status,
    check_set_status_fault,
    check_unknown_status,
)
from brygga.testing.conformance.suites import ErpAdapterConformance, ShopAdapterConformance

__all__ = [
    "FAULT_KINDS",
    "RETRY_AFTER",
    "ErpAdapterConformance",
    "ErpHarness",
    "FaultKind",
    "NotSupported",
    "ShopAdapterConformance",
    "ShopHarness",
    "adapter_spec",
    "build_simulator",
    "check_authentication",
    "check_bad_credentials",
    "check_bad_erp_credentials",
    "check_commit_then_fail",
    "check_create_and_find",
    "check_customer_matching",
    "check_discovery",
    "check_erp_authentication",
    "check_erp_fault",
    "check_fetch_order",
    "check_garbage",
    "check_many_states",
    "check_mark_exported",
    "check_order_statuses",
    "check_paging",
    "check_set_status",
    "check_set_status_fault",
    "check_shop_fault",
    "check_status_event",
    "check_status_fault",
    "check_unchanged_document",
    "check_unknown_article",
    "check_unknown_status",
]
