"""The harness the ERP hostile-answer corpora share (e-conomic, Fortnox, Hogia, Specter).

Each corpus lists its :class:`Case` s (one garbled answer each) and describes itself in an
:class:`ErpCorpus`: which request patterns belong to the victim record, which are shared by
every record, which run only after a killed send. :meth:`ErpCorpus.run` puts three orders
through the real orders flow (Starweb simulator to the ERP simulator, a :class:`Rewriter` in
front of the ERP) and checks that only the victim is touched, and how:

- ``permanent``: the item is ``failed`` at once with an error containing ``expect``;
- ``transient``: the first attempt is ``retry`` (its message contains ``expect``); the rewrite
  stops and the retry finishes with exactly one document, a write whose answer was garbled
  being looked up by reference before it is sent again;
- ``done``: not an error.

The other two records always end ``done`` with exactly one document each; no message may
show an internal error, a traceback or one of the corpus' ``secrets``, and no request may
reach ``evil.test`` (where links in answers point).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from hostile_support import FlowEnv, Rewrite

from brygga.store import ItemState
from brygga.sync.orders import document_reference

__all__ = [
    "NOT_JSON",
    "SERVER",
    "SHAPE",
    "Body",
    "Case",
    "ErpCorpus",
    "Outcome",
    "Victim",
    "common_cases",
    "j",
    "nested",
]

Outcome = Literal["permanent", "transient", "done"]
Body = bytes | Callable[[bytes], bytes] | None

NOT_JSON = "a 2xx that is not JSON: a proxy or maintenance page; a retry can help"
SHAPE = "well-formed JSON of the wrong shape: the API would answer the same again"
SERVER = "a server error or rate limit: the client maps it to a TransientError"


def j(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@dataclass(frozen=True)
class Victim:
    index: int
    order_id: str
    email: str


@dataclass(frozen=True)
class Case:
    """``target`` names whose request is rewritten; ``expect`` is a fragment of the error
    (or, for ``done``, of nothing); ``why`` is the reason for the outcome."""

    name: str
    target: str
    outcome: Outcome
    expect: str
    why: str
    body: Body = None
    status: int | None = None
    content_type: str = "application/json"
    #: how many matching requests are rewritten (None: all); default (0): once for transient
    #: cases and shared targets, always otherwise
    times: int | None = 0


def common_cases(target: str, *, auth: str, refused: str) -> list[Case]:
    """The answers any JSON API (or a proxy in front of it) can give to ``target``'s read,
    the same for every ERP: ``auth`` and ``refused`` say, in the ERP's words, why a 403 and a
    refusal are permanent."""
    t = target
    return [
        Case(f"{t}: garbage", t, "transient", "not JSON", NOT_JSON, b"garbage"),
        Case(f"{t}: empty body", t, "transient", "an empty answer", NOT_JSON, b""),
        Case(f"{t}: XML", t, "transient", "HTML or XML page", NOT_JSON, b"<?xml ?><a/>"),
        Case(f"{t}: null", t, "permanent", "got `null`", SHAPE, b"null"),
        Case(f"{t}: a list", t, "permanent", "got `array`", SHAPE, b"[]"),
        Case(f"{t}: 403 HTML", t, "permanent", "HTTP 403", auth, b"<html/>", status=403),
        Case(f"{t}: 400 a list", t, "permanent", "HTTP 400", refused, b"[1, 2]", status=400),
        Case(
            f"{t}: 400 HTML",
            t,
            "permanent",
            "HTML or XML page",
            refused,
            b"<html>Bad Request</html>",
            status=400,
        ),
        Case(f"{t}: 404", t, "permanent", "HTTP 404", refused, b"{}", status=404),
        Case(
            f"{t}: 302 to another host",
            t,
            "permanent",
            "HTTP 302",
            "redirects are never followed (another host could be anyone)",
            b"",
            status=302,
        ),
        Case(f"{t}: 500", t, "transient", "server error 500", SERVER, b"{}", status=500),
        # one 429 is sent again in place by the HTTP layer (RFC 6585 §4: not processed), so
        # only a 429 that outlasts those repeats reaches the record as a retry
        Case(
            f"{t}: 429 again and again",
            t,
            "transient",
            "rate limited",
            SERVER,
            b"",
            status=429,
            times=4,
        ),
        Case(f"{t}: one 429", t, "done", "", SERVER, b"", status=429, times=1),
    ]


@dataclass(frozen=True)
class ErpCorpus:
    """What one ERP's corpus targets, and the little in which the corpora differ."""

    #: request patterns (``METHOD path?query`` newline body) that belong to one record
    targets: Mapping[str, Callable[[Victim], str]]
    #: targets every record shares (a token, a cached catalog): the first record meets them
    shared: Collection[str] = ()
    #: lookups by reference, made only when an earlier attempt recorded its intent (DESIGN
    #: §2.1 step 5): for these the victim's first send was cut off by a killed process
    recovery: Collection[str] = ()
    #: the targets whose victim also orders BOK-01 (an article no other order has); None: all
    book_for: Collection[str] | None = None
    #: the key of a customer's e-mail in the ERP simulator's customers
    email_key: str = "email"
    #: texts no event message may contain
    secrets: tuple[str, ...] = ()

    def check(self, cases: list[Case]) -> None:
        """Enough cases, each named once and explained, each on a known target."""
        assert len(cases) >= 40
        assert len({case.name for case in cases}) == len(cases)
        assert all(case.why and case.target in self.targets for case in cases)

    def rewrites(self, case: Case) -> int | None:
        if case.times != 0:
            return case.times
        return 1 if case.outcome == "transient" or case.target in self.shared else None

    async def run(self, env: FlowEnv, case: Case) -> None:
        """The case through the orders flow, and its outcome checked (see the module)."""
        index = 0 if case.target in self.shared else 1
        book = self.book_for is None or case.target in self.book_for
        ids = _place(env, index if book else None)
        victim = Victim(index, ids[index], f"kund{index}@example.se")
        rule = env.erp_proxy.add(
            Rewrite(
                self.targets[case.target](victim),
                status=case.status,
                body=case.body,
                content_type=case.content_type,
                times=self.rewrites(case),
            )
        )
        flow = env.flow()
        assert await flow.poll_once("se") == 3
        if case.target in self.recovery:
            await _killed_mid_send(env, flow, victim.order_id)
        await env.drain(flow)
        assert rule.hits >= 1, "the rewrite never fired: the case tests nothing"
        assert env.evil.seen == [], "a link to another host was followed"
        for i, order_id in enumerate(ids):
            if i != index:
                assert (await env.item(order_id)).state is ItemState.DONE
                assert env.documents_for(order_id) == 1
        item = await env.item(victim.order_id)
        events = await env.store.events.for_record("demo", "orders", "se", victim.order_id)
        messages = [event.message for event in events]
        assert not any("internal error" in m or "Traceback" in m for m in messages), messages
        for secret in self.secrets:
            assert not any(secret in m for m in messages), messages
        if case.outcome == "permanent":
            assert item.state is ItemState.FAILED, f"{item.state}: {item.last_error}"
            assert case.expect in item.last_error, item.last_error
            # + the killed attempt
            assert item.attempts == (2 if case.target in self.recovery else 1)
            assert env.documents_for(victim.order_id) == 0
            assert len(item.last_error) < 2500
            return
        assert item.state is ItemState.DONE, f"{item.state}: {item.last_error}"
        assert env.documents_for(victim.order_id) == 1
        customers = [c for c in env.erp.customers() if c.get(self.email_key) == victim.email]
        assert len(customers) == 1, customers
        if case.outcome == "transient":
            retries = [e.message for e in events if e.kind == "retry"]
            assert len(retries) == 1 and case.expect in retries[0], messages


def _place(env: FlowEnv, book_for: int | None) -> list[str]:
    """Three orders; ``book_for`` (a record index) also orders BOK-01 (6 %)."""
    return [
        env.shop.place_order(
            lines=[("KAFFE-500", 1), ("TE-100", 2)] + ([("BOK-01", 1)] if i == book_for else []),
            email=f"kund{i}@example.se",
            freight=Decimal("49.00"),
        )
        for i in range(3)
    ]


async def _killed_mid_send(env: FlowEnv, flow: Any, order_id: str) -> None:
    """The victim as a killed process left it: claimed with its intent, nothing known of the
    send; recovered with no settle time left, so the next attempt looks it up first."""
    item = await env.item(order_id)
    reference = document_reference("demo", "se", order_id)
    now = flow.clock.now()
    claimed = await env.store.items.claim_one(
        item.id, now=now, run_id="killed", intent=lambda _: reference
    )
    assert claimed is not None
    assert await env.store.items.recover(connection="demo", run_id=flow.run_id, now=now) == 1
