"""Which way each register flows for a connection, and whether its adapters can do it."""

from __future__ import annotations

from dataclasses import dataclass

from brygga.adapters import AdapterSpec
from brygga.config import ResolvedConnection
from brygga.models import Register

__all__ = ["IMPLEMENTED", "FlowRow", "flow_table"]

#: registers this version of the daemon actually runs; the rest are planned
IMPLEMENTED = frozenset({Register.ORDERS})

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
    override = getattr(conn.config.registers, register.value)
    if override is not None:
        return str(override)
    master = _PRESETS[conn.config.mode][register]
    if register is Register.STATUS and master == "erp":
        status = conn.config.status
        if not any((status.delivered, status.invoiced, status.paid, status.cancelled)):
            return "off"
    return master


def _cannot(spec: AdapterSpec, name: str, register: Register, verb: str) -> str:
    return (
        f"register {register.value}: adapter {spec.kind!r} ({name}) cannot {verb} "
        f"{register.value.replace('_', ' ')}"
    )


def _check(
    conn: ResolvedConnection, register: Register, master: str
) -> tuple[str, str, list[str], str]:
    erp_label = (
        f"{conn.erp.kind}:{conn.erp.name}" if conn.erp.name != conn.erp.kind else (conn.erp.kind)
    )
    shop_labels = [f"{s.kind}:{s.name}" if s.name != s.kind else s.kind for s in conn.shops]
    shops = ", ".join(shop_labels)
    errors: list[str] = []
    notes: list[str] = []
    erp_caps = conn.erp_spec.capabilities
    if master == "shop":
        source, target = shops, erp_label
        for spec, cfg in zip(conn.shop_specs, conn.shops, strict=True):
            if register not in spec.capabilities.reads:
                errors.append(_cannot(spec, cfg.name, register, "supply"))
        if register not in erp_caps.writes:
            errors.append(_cannot(conn.erp_spec, conn.erp.name, register, "receive"))
    else:
        source, target = erp_label, shops
        if register not in erp_caps.reads:
            errors.append(_cannot(conn.erp_spec, conn.erp.name, register, "supply"))
        for spec, cfg in zip(conn.shop_specs, conn.shops, strict=True):
            if register not in spec.capabilities.writes:
                errors.append(_cannot(spec, cfg.name, register, "receive"))
    if register is Register.ORDERS:
        wanted = conn.config.orders.document
        if wanted not in erp_caps.document_types:
            have = ", ".join(sorted(d.value for d in erp_caps.document_types)) or "none"
            errors.append(
                f"register orders: adapter {conn.erp_spec.kind!r} cannot create a "
                f"{wanted.value} document (it creates: {have}); set "
                f"[connection.orders] document = one of those"
            )
        notes.append(f"as {wanted.value}")
        if not erp_caps.lookup_by_reference:
            notes.append(
                "at-least-once: the ERP cannot look documents up by reference, so a crash "
                "mid-send may duplicate one document"
            )
    if register is Register.PRICE_LISTS and master == "erp":
        if not erp_caps.price_lists:
            errors.append(
                f"register price_lists: adapter {conn.erp_spec.kind!r} has no price lists"
            )
        for spec, cfg in zip(conn.shop_specs, conn.shops, strict=True):
            if not spec.capabilities.price_lists:
                errors.append(f"register price_lists: shop {cfg.name!r} has no price lists")
    if register is Register.PRODUCTS:
        sides = [erp_caps.variants, *(s.capabilities.variants for s in conn.shop_specs)]
        if not all(sides):
            notes.append("variants sent as separate articles (one side has no variant structure)")
    return source, target, errors, "; ".join(notes)


def flow_table(conn: ResolvedConnection) -> list[FlowRow]:
    """One row per register: from, to, a note, and an error when the adapters cannot do it."""
    rows = []
    for register in Register:
        master = _master(conn, register)
        if master == "off":
            rows.append(FlowRow(register, "-", "-", "off"))
            continue
        source, target, errors, note = _check(conn, register, master)
        if register not in IMPLEMENTED:
            note = "; ".join(filter(None, [note, "planned: not run by this version yet"]))
        rows.append(FlowRow(register, source, target, note, error=" ".join(errors)))
    return rows
