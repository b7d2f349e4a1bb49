"""Field mappings from plugins: ordered, synchronous transforms of canonical objects.

Every register's flow runs its mappings at exactly one place: where the object read from the
source becomes what is written to the destination. What each register's transform receives
(and returns, of the same type):

========================  ==========================================================  ==========
register                  object                                                      flows
========================  ==========================================================  ==========
``orders``                :class:`brygga.models.Order`, before the ERP document is    shop → ERP
                          built from it
``products``              :class:`brygga.catalog.Article`, priced in the target's     either way
                          currency (without prices when they are mastered on the
                          other side); every field it returns is written
``prices``                :class:`brygga.catalog.Article`; only its ``price``,        either way
                          ``campaign_price`` and ``currency`` are written. Runs in
                          the prices flow, and after the products mappings wherever
                          prices go with the products (daemon and ``brygga sync
                          products`` alike; there a Skip skips the prices only: the
                          article goes without them, the target keeps its own)
``price_lists``           :class:`brygga.catalog.ListPrice` (the ERP list's price;    ERP → shop
                          the shop list it goes to is configuration)
``stock``                 :class:`brygga.catalog.StockLevel` whose ``quantity`` is    ERP → shop
                          the available quantity brygga computed (ERP level less
                          orders in flight less the shop's buffer); the quantity it
                          returns is written (never below 0) to the item's SKU
``status``                :class:`brygga.models.DocumentState` (the ERP's events of   ERP → shop
                          the order) before the shop status is chosen from the rules
========================  ==========================================================  ==========

A mapping sees the object as the flow is about to write it, and what it returns is what the
flow fingerprints and compares with what it last wrote, so the same source record mapped the
same way costs no second write (no echo loop in ``combo``: the written value is what comes
back). A ``Skip`` records the item as *skipped* ("skipped by mapping 'name': reason"); any other
exception, a result of another type or one that fails the type's checks (e.g. a negative
price) fails that one record with a sentence naming the mapping and the record. Transforms
must be pure (no I/O, the same answer for the same input): a flow may run them again on a
retry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import msgspec

from brygga.catalog import StockLevel
from brygga.errors import NothingToDo, PermanentError
from brygga.models import Register

__all__ = ["Mapping", "MappingContext", "Skip", "apply_mappings", "mapped_stock", "of_register"]

T = TypeVar("T")


class Skip(Exception):
    """Raised by a transform to skip the record; ``reason`` is shown to the merchant."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MappingContext:
    """Where a record comes from and goes to: a transform may act differently per connection,
    shop or direction.

    ``shop`` and ``erp`` name the connection's shop instance the record belongs to and its ERP;
    ``source`` and ``target`` say which of the two it is read from and written to (``target``
    is the destination instance: the shop for ERP → shop registers, the ERP for orders and
    for products from a shop). Left empty, they are the orders' direction (shop → ERP).
    ``register`` is the register whose mappings run (``prices`` while the prices mappings run
    on an article that carries its prices with the products).
    """

    connection: str
    shop: str
    erp: str
    register: Register
    #: the instance the record was read from ("" → ``shop``, unless ``target`` is the shop)
    source: str = ""
    #: the instance the record is written to ("" → the other one of ``shop`` / ``erp``)
    target: str = ""

    def __post_init__(self) -> None:
        source, target = self.source, self.target
        if not source and not target:
            source, target = self.shop, self.erp
        elif not source:
            source = self.erp if target == self.shop else self.shop
        elif not target:
            target = self.erp if source == self.shop else self.shop
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "target", target)

    @classmethod
    def between(
        cls, connection: str, register: Register, *, source: str, target: str, erp: str
    ) -> MappingContext:
        """The context of a record going from ``source`` to ``target`` (one of them ``erp``)."""
        shop = target if source == erp else source
        return cls(connection, shop, erp, register, source=source, target=target)

    @property
    def to_erp(self) -> bool:
        """Whether the record is written to the ERP (orders; products from a shop)."""
        return self.target == self.erp and self.source != self.erp


@dataclass(frozen=True)
class Mapping:
    """A named transform of one register's canonical objects: ``transform(obj, context)``
    returns the (changed) object of the same type, or raises :class:`Skip`.

    The object per register: ``orders`` an Order, ``products`` and ``prices`` an Article,
    ``price_lists`` a ListPrice, ``stock`` a StockLevel (the available quantity about to be
    written), ``status`` a DocumentState (see the module's table). Mappings of a register run
    in ascending ``order``, then by ``name``."""

    name: str
    register: Register
    transform: Callable[[Any, MappingContext], Any]
    order: int = 100
    description: str = ""
    plugin: str = ""


def of_register(mappings: Iterable[Mapping], *registers: Register) -> tuple[Mapping, ...]:
    """The mappings of ``registers`` (what a flow keeps of the plugins' mappings)."""
    return tuple(m for m in mappings if m.register in registers)


def apply_mappings(
    obj: T, mappings: Iterable[Mapping], context: MappingContext, *, record: str = ""
) -> T:
    """Run the register's mappings in order. A Skip becomes NothingToDo; any other exception,
    or a result that is not a valid object of the same type, becomes a PermanentError naming
    the mapping (and ``record``, e.g. "product A1 for shop se"), so a broken plugin fails one
    record, not the daemon."""
    where = f"{record}: " if record else ""
    for mapping in sorted(
        (m for m in mappings if m.register == context.register), key=lambda m: (m.order, m.name)
    ):
        plugin = mapping.plugin or "unknown plugin"
        try:
            result = mapping.transform(obj, context)
        except Skip as skip:
            raise NothingToDo(f"skipped by mapping {mapping.name!r}: {skip.reason}") from None
        except Exception as exc:
            raise PermanentError(
                f"{where}mapping {mapping.name!r} ({plugin}) failed: {type(exc).__name__}: {exc}"
            ) from exc
        if type(result) is not type(obj):
            raise PermanentError(
                f"{where}mapping {mapping.name!r} returned {type(result).__name__}, "
                f"expected {type(obj).__name__}"
            )
        if result is not obj and isinstance(result, msgspec.Struct):
            _check(result, mapping, where)
        obj = result
    return obj


def _check(result: msgspec.Struct, mapping: Mapping, where: str) -> None:
    """A changed canonical object must still pass its type's checks (``structs.replace``
    checks nothing): a negative price or an empty SKU fails the record, naming the mapping."""
    try:
        msgspec.json.decode(msgspec.json.encode(result), type=type(result))
    except (msgspec.ValidationError, msgspec.EncodeError, ValueError) as exc:
        raise PermanentError(
            f"{where}mapping {mapping.name!r} ({mapping.plugin or 'unknown plugin'}) returned "
            f"a {type(result).__name__} brygga cannot take: {exc}"
        ) from None


def mapped_stock(
    mappings: Iterable[Mapping],
    level: StockLevel,
    quantity: Decimal,
    *,
    connection: str,
    erp: str,
    shop: str,
) -> Decimal:
    """The quantity the stock flow writes: ``quantity`` (the available quantity brygga worked
    out from ``level``) through the ``stock`` mappings, as a StockLevel of the level's SKU
    and change time; never below 0. The stock flow's one mapping place."""
    mappings = tuple(mappings)
    if not any(m.register is Register.STOCK for m in mappings):
        return quantity
    context = MappingContext.between(connection, Register.STOCK, source=erp, target=shop, erp=erp)
    offered = StockLevel(sku=level.sku, quantity=quantity, modified_at=level.modified_at)
    mapped = apply_mappings(offered, mappings, context, record=f"stock {level.sku} for {shop}")
    return max(Decimal(0), mapped.quantity)
