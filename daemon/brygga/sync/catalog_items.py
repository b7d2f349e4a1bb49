"""What a catalog work item carries and how written content is fingerprinted (changed-only writes).

A catalog item is one (register, target instance, key) — the key is the SKU (for price lists:
list, SKU and volume) — so one change at the source fans out to one item per target. Its
payload names the source instance (several shops can be the source of one ERP) and, for price
lists, the price itself (the feed is the only way to read it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import msgspec

from brygga.catalog import Article, ListPrice
from brygga.config import FeeArticles, OrdersConfig
from brygga.errors import NothingToDo, PermanentError
from brygga.registers import ProductSource
from brygga.store import Discovered, WorkItem

__all__ = [
    "DEFAULT_ORDER_ONLY",
    "NO_SKU",
    "CatalogPayload",
    "OrderOnly",
    "SkuChange",
    "article_hash",
    "catalog_record",
    "content_hash",
    "lacks_article",
    "payload_of",
    "plain",
    "refuse_blank",
    "sku_record",
    "vat_form",
]

#: the key of a record its source reported without an SKU (an error record, never a write)
NO_SKU = "(no SKU)"


class CatalogPayload(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    #: the instance whose feed reported the change
    source: str
    #: price lists: the price as the feed reported it
    list_price: ListPrice | None = None


_ENCODER = msgspec.json.Encoder(decimal_format="string")
_DECODER = msgspec.json.Decoder(CatalogPayload)


def catalog_record(
    key: str,
    *,
    source: str,
    changed_at: datetime,
    list_price: ListPrice | None = None,
) -> Discovered:
    """A reopening record for the store: one change of ``key`` seen at ``source``."""
    if not key.strip():
        key = f"{NO_SKU} {changed_at.isoformat(timespec='seconds')}"
    payload = _ENCODER.encode(CatalogPayload(source=source, list_price=list_price))
    return Discovered(key, True, changed_at, payload, reopen=True)


class SkuChange(Protocol):
    """A change feed's report of one SKU (an article change, a stock level)."""

    @property
    def sku(self) -> str: ...

    @property
    def modified_at(self) -> datetime: ...


def sku_record(source: str, change: SkuChange, now: datetime) -> Discovered:
    """The record of a feed's change of one SKU at ``source`` (a ``CatalogFeed`` record)."""
    return catalog_record(change.sku, source=source, changed_at=change.modified_at)


def payload_of(item: WorkItem) -> CatalogPayload:
    if not item.payload:
        raise PermanentError(
            f"{item.register} {item.external_id}: the record carries no source (queued by an "
            "older version?); resolve it, the next change queues it again"
        )
    return _DECODER.decode(item.payload)


def refuse_blank(item: WorkItem, source: str) -> None:
    """A record reported without an SKU is an error record with a sentence."""
    if item.external_id.startswith(NO_SKU):
        raise PermanentError(
            f"{item.register}: {source} reported an article without an SKU (article number), "
            f"changed at {item.external_id.removeprefix(NO_SKU).strip()}; give it an article "
            f"number in {source}, then resolve this record"
        )


def plain(value: Decimal | None) -> str:
    """A Decimal as content: 5, 5.0 and 5.00 are the same quantity or price."""
    if value is None:
        return "-"
    return format(value.normalize(), "f") if value else "0"


def content_hash(parts: Iterable[object]) -> str:
    """A short fingerprint of what a write puts in the target."""
    text = "\x1f".join(plain(p) if isinstance(p, Decimal) or p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def article_hash(article: Article) -> str:
    """The fingerprint of an article's content (its change time is not content)."""
    return content_hash(
        (
            "article",
            article.sku,
            article.name,
            article.product_sku,
            article.variant_name,
            article.currency,
            article.price,
            article.campaign_price,
            article.vat_rate,
            article.ean,
            article.weight,
            article.active,
            # only when set, so the hashes of the articles written before it stay the same
            *(("parent",) if article.has_variants else ()),
        )
    )


async def lacks_article(target: object, sku: str) -> bool:
    """Whether a target that refused a write simply lacks the article (the ERP keeps articles
    no shop sells: fees, services): asked of targets that can read their articles, only after
    a refusal, so it costs a request only then. Any doubt keeps the refusal an error."""
    if not isinstance(target, ProductSource):
        return False
    try:
        return await target.fetch_article(sku) is None
    except Exception:  # the refusal stands; this was only a second look
        return False


def vat_form(article: str, rate: Decimal) -> str:
    """The article number of ``article``'s row at another VAT rate, as the ERP adapters derive
    it (e-conomic's ``vat_articles``: ``<article>-<rate>``, e.g. ``fraktavg-12``, ``rabatt-6``,
    ``fraktavg-12.5``)."""
    return f"{article}-{format(rate.normalize(), 'f')}"


#: ``[connection.orders] fee_articles`` key → what the article is for
_ROLES = (
    ("freight", "freight article"),
    ("handling", "handling-fee article"),
    ("discount", "discount article"),
    ("rounding", "rounding article"),
)


@dataclass(frozen=True)
class OrderOnly:
    """The SKUs a connection uses only on ERP order rows, never offered in a shop: its fee
    articles (``[connection.orders] fee_articles``: freight, handling fee, discount, rounding)
    in every VAT form the ERP adapters derive (``<article>-<rate>`` for each rate of
    ``[connection.orders] vat_rates`` and 0 %, the rate of every row outside the domestic VAT
    zone; rounding rows are at 0 % only), and any SKUs named in ``excluded``. The catalog flows
    from the ERP to the shops (products, prices, price lists, stock, the initial sync) skip
    them with :meth:`reason`; the other direction is not asked (the ERP needs them)."""

    #: SKU → what it is, e.g. "freight article for 12 % VAT rows"
    roles: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        fees: FeeArticles,
        vat_rates: Iterable[float | Decimal],
        excluded: Iterable[str] = (),
    ) -> OrderOnly:
        rates = [Decimal(str(rate)) for rate in vat_rates]
        rates = list(dict.fromkeys(r.normalize() for r in [*rates, Decimal(0)]))
        roles: dict[str, str] = {}
        for key, role in _ROLES:
            article = str(getattr(fees, key)).strip()
            if not article:
                continue
            roles.setdefault(article, role)
            # rounding rows are always at 0 %
            for rate in [Decimal(0)] if key == "rounding" else rates:
                roles.setdefault(
                    vat_form(article, rate), f"{role} for {format(rate, 'f')} % VAT rows"
                )
        for sku in excluded:
            if sku.strip():
                roles.setdefault(sku.strip(), "")
        return cls(roles)

    @classmethod
    def of_orders(cls, orders: OrdersConfig, excluded: Iterable[str] = ()) -> OrderOnly:
        """The fee articles of ``[connection.orders]``."""
        return cls.of(orders.fee_articles, orders.vat_rates, excluded)

    def __contains__(self, sku: object) -> bool:
        return isinstance(sku, str) and sku.strip() in self.roles

    def __len__(self) -> int:
        return len(self.roles)

    def reason(self, sku: str, target: str) -> str | None:
        """Why ``sku`` is not put in the shop ``target`` (a sentence), or None: it is offered."""
        role = self.roles.get(sku.strip())
        if role is None:
            return None
        if not role:
            return (
                f"{sku} is excluded from the shops ([connection.catalog] exclude_skus); not "
                f"offered in the shop {target}"
            )
        return (
            f"{sku} is this connection's {role} (order rows only, [connection.orders] "
            f"fee_articles); not offered in the shop {target}"
        )

    def skip(self, register: str, sku: str, target: str) -> None:
        """Raise NothingToDo (the item is skipped, with the sentence) for an order-only SKU."""
        why = self.reason(sku, target)
        if why is not None:
            raise NothingToDo(f"{register} {sku}: {why}")


#: the fee articles of a connection with the default ``[connection.orders]`` settings
DEFAULT_ORDER_ONLY = OrderOnly.of_orders(OrdersConfig())
