"""Which way each register flows for a connection, and whether its adapters can do it."""

from __future__ import annotations

from dataclasses import dataclass

from brygga.adapters import AdapterSpec, DocumentCanceller, StatusOption
from brygga.config import ResolvedConnection, ShopStatusRules
from brygga.durations import format_duration
from brygga.models import OrderEvent, Register
from brygga.registers import CurrencyPrices, Direction, protocols_for

__all__ = [
    "CATALOG",
    "IMPLEMENTED",
    "FlowRow",
    "flow_table",
    "masters",
    "status_option_problems",
    "status_table",
]

#: the catalog registers (sync/catalog_plan.py builds their rows)
CATALOG = frozenset({Register.PRODUCTS, Register.PRICES, Register.PRICE_LISTS, Register.STOCK})
#: registers this version of the daemon actually runs; the rest are planned
IMPLEMENTED = frozenset({Register.ORDERS, Register.STATUS, *CATALOG})
#: registers whose only source is the ERP: their master may be ``erp`` or ``off``
_FROM_ERP_ONLY = {
    Register.STATUS: "order statuses come from the ERP's documents",
    Register.STOCK: "the ERP keeps the stock; the shops get what it can sell",
    Register.PRICE_LISTS: "customer-group price lists are kept in the ERP",
}

_VERBS: dict[Direction, str] = {"reads": "supply", "writes": "receive"}

_PRESETS: dict[str, dict[Register, str]] = {
    "ecom": {
        Register.ORDERS: "shop",
        Register.STATUS: "off",
        Register.PRODUCTS: "shop",
        Register.PRICES: "off",
        Register.PRICE_LISTS: "off",
        Register.STOCK: "off",
    },
    "erp": {
        Register.ORDERS: "shop",
        Register.STATUS: "erp",
        Register.PRODUCTS: "erp",
        Register.PRICES: "erp",
        Register.PRICE_LISTS: "erp",
        Register.STOCK: "erp",
    },
    "combo": {
        Register.ORDERS: "shop",
        Register.STATUS: "erp",
        Register.PRODUCTS: "shop",
        Register.PRICES: "erp",
        Register.PRICE_LISTS: "erp",
        Register.STOCK: "erp",
    },
}


@dataclass(frozen=True)
class FlowRow:
    register: Register
    source: str
    target: str
    note: str
    error: str = ""

    @property
    def active(self) -> bool:
        return self.source != "-" and not self.error


def _master(conn: ResolvedConnection, register: Register) -> str:
    if _overridden(conn, register):
        return str(getattr(conn.config.registers, register.value))
    master = _PRESETS[conn.config.mode][register]
    if register is Register.STATUS and master == "erp" and not conn.config.status.events():
        return "off"
    if _unserved(conn, register, master):
        return "off"
    return master


def _overridden(conn: ResolvedConnection, register: Register) -> bool:
    """Whether ``[connection.registers]`` sets ``register`` (else the mode does)."""
    return getattr(conn.config.registers, register.value) is not None


def _unserved(conn: ResolvedConnection, register: Register, master: str) -> str:
    """Why the mode leaves a catalog register off for ``conn``: no system on one side of its
    flow can take part (e-conomic has no price lists to send; Norce takes no products); empty
    when both sides can, or the register is not the mode's to leave. Only the mode's default
    is left off this way: a register set in ``[connection.registers]`` is checked, and
    refused when it cannot be done (as is a flow that only some of the shops can take)."""
    if register not in CATALOG or master not in ("erp", "shop"):
        return ""
    erp, shops = _sides(conn)
    sources, targets = ([erp], shops) if master == "erp" else (shops, [erp])
    sides: list[tuple[list[_Side], Direction]] = [(sources, "reads"), (targets, "writes")]
    for group, direction in sides:
        reasons = [_lacks(side, register, direction) for side in group]
        if all(reasons):
            return "; ".join(reasons)
    return ""


def _lacks(side: _Side, register: Register, direction: Direction) -> str:
    """Why ``side`` cannot read or write ``register`` (empty when it can), in a few words."""
    if register is Register.PRICE_LISTS and not side.spec.capabilities.price_lists:
        return f"{side.label} has no price lists"
    registers = side.spec.registers
    if register not in (registers.reads if direction == "reads" else registers.writes):
        return f"{side.label} cannot {_VERBS[direction]} {register.value.replace('_', ' ')}"
    return ""


@dataclass(frozen=True)
class _Side:
    """One system of a connection, as the flow table names it."""

    spec: AdapterSpec
    name: str
    label: str


#: a system whose adapter cannot read (``reads``) or write (``writes``) a register
_Gap = tuple[_Side, Direction]


def _sides(conn: ResolvedConnection) -> tuple[_Side, list[_Side]]:
    def label(kind: str, name: str) -> str:
        return f"{kind}:{name}" if name != kind else kind

    erp = _Side(conn.erp_spec, conn.erp.name, label(conn.erp.kind, conn.erp.name))
    shops = [
        _Side(spec, cfg.name, label(cfg.kind, cfg.name))
        for spec, cfg in zip(conn.shop_specs, conn.shops, strict=True)
    ]
    return erp, shops


def _cannot(side: _Side, register: Register, direction: Direction) -> str:
    """Why ``side`` cannot read or write ``register``: the protocol its adapter lacks."""
    protocols = " or ".join(p.__name__ for p in protocols_for(register, direction))
    reason = f"it implements no {protocols}" if protocols else "no adapter protocol for it yet"
    return (
        f"register {register.value}: adapter {side.spec.kind!r} ({side.name}) cannot "
        f"{_VERBS[direction]} {register.value.replace('_', ' ')}: {reason}"
    )


def _gaps(sources: list[_Side], targets: list[_Side], register: Register) -> list[_Gap]:
    """The systems whose adapters cannot take their part in ``register``'s flow."""
    gaps: list[_Gap] = [(s, "reads") for s in sources if register not in s.spec.registers.reads]
    gaps += [(s, "writes") for s in targets if register not in s.spec.registers.writes]
    return gaps


def _planned_gaps(gaps: list[_Gap], register: Register) -> list[str]:
    """Notes on what a planned register still lacks: the systems whose adapters lack a protocol
    that exists, and the directions no protocol covers yet."""
    notes, uncovered = [], []
    for direction, verb in _VERBS.items():
        protocols = " or ".join(p.__name__ for p in protocols_for(register, direction))
        sides = [side.label for side, lacking in gaps if lacking == direction]
        if sides and protocols:
            notes += [f"{label} cannot {verb} it (no {protocols})" for label in sides]
        elif sides:
            uncovered.append(verb)
    if uncovered:
        notes.append(f"no adapter can {' or '.join(uncovered)} it yet")
    return notes


def _check(
    conn: ResolvedConnection, register: Register, master: str
) -> tuple[str, str, list[str], str]:
    erp, shops = _sides(conn)
    sources, targets = (shops, [erp]) if master == "shop" else ([erp], shops)
    errors: list[str] = []
    notes: list[str] = []
    gaps = _gaps(sources, targets, register)
    wrong_way = register in _FROM_ERP_ONLY and master == "shop"
    if register is Register.PRICE_LISTS:
        # a side whose capabilities say it has no price lists is refused for that below
        gaps = [(side, d) for side, d in gaps if side.spec.capabilities.price_lists]
    if register is Register.STATUS and not conn.config.status.watched():
        # the transferred rule alone asks the ERP nothing
        gaps = [(side, d) for side, d in gaps if d == "writes"]
    if register in IMPLEMENTED and not wrong_way:
        errors += [_cannot(side, register, direction) for side, direction in gaps]
    erp_caps = conn.erp_spec.capabilities
    if register is Register.ORDERS:
        wanted = conn.config.orders.document
        if wanted not in erp_caps.document_types:
            have = ", ".join(sorted(d.value for d in erp_caps.document_types)) or "none"
            errors.append(
                f"register orders: adapter {conn.erp_spec.kind!r} cannot create "
                f"{'an' if wanted.value[0] in 'aeiou' else 'a'} {wanted.value} document (it "
                f"creates: {have}); set "
                f"[connection.orders] document = one of those"
            )
        notes.append(f"as {wanted.value}")
        changes = conn.config.orders.shop_changes
        if changes != "flag":
            notes.append(f"changes in the shop after transfer: {changes}")
        if changes == "cancel" and not issubclass(conn.erp_spec.adapter, DocumentCanceller):
            errors.append(
                f"register orders: adapter {conn.erp_spec.kind!r} cannot cancel documents, so "
                '[connection.orders] shop_changes = "cancel" cannot be done; use "flag"'
            )
        if not erp_caps.lookup_by_reference:
            notes.append(
                "at-least-once: the ERP cannot look documents up by reference, so a crash "
                "mid-send may duplicate one document"
            )
    if wrong_way:
        errors.append(
            f"register {register.value}: flows from the ERP to the shops only "
            f'({_FROM_ERP_ONLY[register]}); set {register.value} = "erp" or "off" in '
            "[connection.registers]"
        )
    if register is Register.PRICE_LISTS and master == "erp":
        if not erp_caps.price_lists:
            errors.append(
                f"register price_lists: adapter {conn.erp_spec.kind!r} has no price lists"
            )
        for spec, cfg in zip(conn.shop_specs, conn.shops, strict=True):
            if not spec.capabilities.price_lists:
                errors.append(f"register price_lists: shop {cfg.name!r} has no price lists")
        notes.append(_price_list_mapping(conn))
    if register is Register.STATUS and master == "erp":
        errors += _status_errors(conn)
        notes += _status_notes(conn)
    if register is Register.PRODUCTS:
        sides = [erp_caps.variants, *(s.capabilities.variants for s in conn.shop_specs)]
        if not all(sides):
            notes.append("variants sent as separate articles (one side has no variant structure)")
    plain = sorted({s.spec.kind for s in sources if not s.spec.capabilities.campaign_price})
    # a campaign price goes nowhere when no target keeps one (e-conomic has none)
    keep_none = sorted({t.spec.kind for t in targets if not t.spec.capabilities.campaign_price})
    if register in CATALOG:
        notes += _catalog_notes(conn, register, master, campaign=not plain and not keep_none)
    carries_prices = register is Register.PRICES or (
        register is Register.PRODUCTS and "with prices" in notes
    )
    if carries_prices:
        if plain:
            notes.append(f"no campaign price from {', '.join(plain)} (it has none)")
        elif keep_none:
            notes.append(f"no campaign price into {', '.join(keep_none)} (it keeps none)")
        if master == "erp":
            notes += _price_currencies(conn)
    if register not in IMPLEMENTED:
        notes += ["planned: not run by this version yet", *_planned_gaps(gaps, register)]
    source = ", ".join(side.label for side in sources)
    target = ", ".join(side.label for side in targets)
    return source, target, errors, "; ".join(notes)


def _status_errors(conn: ResolvedConnection) -> list[str]:
    """Rules for events the ERP adapter never reports (they would never fire)."""
    reportable = conn.erp_spec.capabilities.status_events
    kind = conn.erp_spec.kind
    missing = [e for e in conn.config.status.events() if e is not OrderEvent.TRANSFERRED]
    missing = [e for e in missing if e not in reportable]
    if not missing:
        return []
    has = ", ".join(e.value for e in OrderEvent if e in reportable) or "none"
    return [
        f"register status: [connection.status.{event.value}]: adapter {kind!r} reports no "
        f"{event.value.replace('_', ' ')} events (it reports: {has}), so this rule would "
        "never fire; remove it or give its shop status to one of those"
        for event in missing
    ]


#: what a shop that lacks a status option cannot do, as a status rule's refusal says it
_CANNOT: dict[StatusOption, str] = {
    StatusOption.EMAIL: (
        "has no e-mail switch on a status change (its own settings decide what it mails)"
    ),
    StatusOption.TRACKING: "takes no tracking number with a status change",
    StatusOption.CAPTURE: "cannot capture the payment on a status change",
}


def status_option_problems(conn: ResolvedConnection) -> list[str]:
    """Status rules that turn on what the shop they apply to cannot do (an e-mail switch,
    a tracking number, a capture: :attr:`Capabilities.status_options`), one sentence each
    naming the rule's key, the shop and the fix; none when statuses do not go back."""
    if masters(conn)[Register.STATUS] != "erp":
        return []
    settings = conn.config.status
    several = len(conn.shops) > 1
    problems = []
    for spec, cfg in zip(conn.shop_specs, conn.shops, strict=True):
        can = spec.capabilities.status_options
        own = settings.shops.get(cfg.name)
        for event, rule in settings.rules(cfg.name).items():
            for option in StatusOption:
                if not getattr(rule, option.value) or option in can:
                    continue
                shops_key = f"[connection.status.shops.{cfg.name}.{event.value}]"
                owned = own is not None and getattr(own, event.value) is rule
                key = shops_key if owned else f"[connection.status.{event.value}]"
                alone = (
                    ""
                    if owned or not several
                    else (f", or give shop {cfg.name!r} a rule of its own in {shops_key}")
                )
                problems.append(
                    f"{key} {option.value} = true: shop {cfg.name!r} ({spec.kind}) "
                    f"{_CANNOT[option]}, so this cannot be done; set {option.value} = false "
                    f"in {key}{alone}"
                )
    return problems


def _status_notes(conn: ResolvedConnection) -> list[str]:
    settings = conn.config.status
    count = len(settings.rules()) + sum(len(own.rules()) for own in settings.shops.values())
    notes = [f"{count} rule(s), see the status table"]
    if settings.watched():
        notes.append(f"documents watched {format_duration(settings.watch)} after transfer")
    return notes


def status_table(conn: ResolvedConnection) -> list[tuple[str, str, str, str, str]]:
    """The connection's status rules as `brygga check` prints them: ERP event, shop status,
    e-mail, tracking, capture; a shop's own rule follows as ``<event> (<shop>)``."""

    def yes(on: bool) -> str:
        return "yes" if on else "no"

    settings = conn.config.status
    ruled = [(event.value, rule) for event, rule in ShopStatusRules.rules(settings).items()]
    for shop, own in sorted(settings.shops.items()):
        ruled += [(f"{event.value} ({shop})", rule) for event, rule in own.rules().items()]
    return [
        (label, rule.shop_status, yes(rule.email), yes(rule.tracking), yes(rule.capture))
        for label, rule in ruled
    ]


def _price_currencies(conn: ResolvedConnection) -> list[str]:
    """The shops' catalog price currencies (``[connection.catalog.shops.<shop>] currency``)."""
    shops = sorted(conn.config.catalog.shops.items())
    named = [f"{shop} {settings.currency}" for shop, settings in shops if settings.currency]
    if not named:
        return []
    if not issubclass(conn.erp_spec.adapter, CurrencyPrices):
        return [
            f"price currency {', '.join(named)}: adapter {conn.erp_spec.kind!r} keeps no "
            "prices per currency, so a price in another currency than its own is an error "
            "record (never converted)"
        ]
    return [f"price currency {', '.join(named)} (the ERP's own price in it, never converted)"]


def _price_list_mapping(conn: ResolvedConnection) -> str:
    mapped = [
        f"{shop} {source} -> {target}"
        for shop, settings in sorted(conn.config.catalog.shops.items())
        for source, target in sorted(settings.price_lists.items())
    ]
    if not mapped:
        return "no list mapped yet: map ERP lists in [connection.catalog.shops.<shop>] price_lists"
    return "mapped: " + ", ".join(mapped)


def _catalog_notes(
    conn: ResolvedConnection, register: Register, master: str, *, campaign: bool = True
) -> list[str]:
    """What the flow table says of a catalog register: how it runs for this connection
    (``campaign``: every source has a campaign price to send)."""
    catalog = conn.config.catalog
    products, prices = _master(conn, Register.PRODUCTS), _master(conn, Register.PRICES)
    notes: list[str] = []
    if register is Register.PRODUCTS:
        switches = [w for w, on in (("create", catalog.create), ("update", catalog.update)) if on]
        notes.append(" and ".join(switches) if switches else "create and update both off")
        if prices != "off" and prices != master:
            notes.append(f"without prices (prices from the {prices})")
        elif prices == "off" and conn.config.registers.prices == "off":
            notes.append("without prices (prices off)")
        else:
            notes.append("with prices")
        notes.append("changed only")
    if register is Register.PRICES:
        if master == products:
            notes.append("with the products")
        else:
            kinds = "ordinary and campaign price" if campaign else "ordinary price"
            notes.append(
                f"{kinds} on their own (products from the {products})"
                if products != "off"
                else kinds
            )
    if register is Register.STOCK:
        buffers = [
            f"{name} {settings.stock_buffer}"
            for name, settings in sorted(catalog.shops.items())
            if settings.stock_buffer
        ]
        notes.append("available = ERP quantity - orders not yet in the ERP")
        if not conn.config.orders.book and _master(conn, Register.ORDERS) == "shop":
            notes.append(
                "an order is held until transferred: with [connection.orders] book = false "
                "its draft may not lower the ERP's quantity yet (book = true closes the gap)"
            )
        if buffers:
            notes.append("buffer " + ", ".join(buffers))
        notes.append("changed only")
    return notes


def masters(conn: ResolvedConnection) -> dict[Register, str]:
    """Where each register this version runs is mastered for ``conn`` (``erp`` or ``shop``);
    ``off`` for registers that are off, refused or not run by this version."""
    rows = {row.register: row for row in flow_table(conn)}
    return {
        register: (
            _master(conn, register) if register in IMPLEMENTED and rows[register].active else "off"
        )
        for register in Register
    }


def flow_table(conn: ResolvedConnection) -> list[FlowRow]:
    """One row per register: from, to, a note, and an error when the adapters cannot do it.

    A register this version runs is refused when an adapter lacks the protocol for its part;
    a planned one is only marked, since it is not run either way."""
    rows = []
    for register in Register:
        master = _master(conn, register)
        if master == "off":
            preset = _PRESETS[conn.config.mode][register]
            unserved = "" if _overridden(conn, register) else _unserved(conn, register, preset)
            note = f"off: {unserved}" if unserved else "off"
            products = _master(conn, Register.PRODUCTS)
            if (
                register is Register.PRICES
                and products != "off"
                and not _overridden(conn, register)
            ):
                # not a register of their own: the products flow carries them
                way = "shop → ERP" if products == "shop" else "ERP → shop"
                note = f"with products ({way})"
            rows.append(FlowRow(register, "-", "-", note))
            continue
        source, target, errors, note = _check(conn, register, master)
        rows.append(FlowRow(register, source, target, note, error="; ".join(errors)))
    return rows
