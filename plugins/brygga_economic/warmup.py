"""The agreement's reference data read when a connection starts (``EconomicAdapter.prepare``).

The first document of a process needs the product list and, per product group of its rows,
the VAT chain (:class:`brygga_economic.articles.VatChain`): read lazily, that is 1 + 3 per
group requests inside the first order's transfer. The warm-up reads the same data into the
same agreement cache (single flight: an order that asks for an entry being read waits for
that read), and reads the chain's two shared links as whole lists, as e-conomic documents
them (e-conomic/slate ``source/includes/_accounts.md``: ``GET /accounts``, each with
``vatAccount.vatCode``; ``_vat-accounts.md``: ``GET /vat-accounts``, each with
``ratePercentage``), so the chain of every group costs one request more (its
``/product-groups/{n}/sales-accounts``) instead of three: 3 + G requests for G groups (the
simulator's four groups: 7, where the lazy reads of two groups are 7 and of four are 13).

Only found values are kept from the lists (an account without a VAT code, a code without a
VAT account: the lazy read finds them and says what is wrong). Groups are read most used
first, at most :data:`MAX_GROUPS` of them (the rest are read when a row needs them).

The two lists are read with :meth:`brygga.http.accountcache.AccountCache.fill`: while one
is being read, an order whose row needs an account's VAT code (or a code's rate) waits for
the list instead of reading ``/accounts/{n}`` (``/vat-accounts/{code}``) itself, so the
warm-up's read and the order's are never both spent (with a remote 80 ms away, an order
claimed at a daemon's start read ``/vat-accounts/U25`` while the warm-up's list of them was
on the wire: ``benchmarks/latency.py --from-start --settle 0 --erp-latency 80``). The
product list and each group's sales accounts are single entries already: an order that
needs one joins the warm-up's read of it.

The warm-up yields to the orders: before each of its reads it asks ``room``
(:class:`Budget`: the agreement's rate limiter has a turn free now, and the warm-up has taken
fewer than half of the turns the limiter allows in its window) and stops when there is none.
Right after a busy restart the window is full of the previous process's requests, and on a
new start a warm-up of many product groups would fill the window itself: either way a turn
the warm-up took for a product group no order needs yet would be one the first orders wait a
window for (``benchmarks/latency.py --erp-groups 20``, from a start and after a busy
restart: the README's Performance section). What it did not read is read by the first order
that needs it, as without a warm-up, at one request per product group (the accounts and VAT
accounts are read as lists first).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Hashable

from brygga.clock import Clock
from brygga.http.ratelimit import RateLimiter
from brygga_economic import wire
from brygga_economic.api import EconomicApi
from brygga_economic.articles import ArticleCatalog

__all__ = ["MAX_GROUPS", "WARM_SHARE", "Budget", "free_turn", "warm_reference"]

log = logging.getLogger(__name__)

#: product groups whose chain the warm-up reads (the most used first; one request each)
MAX_GROUPS = 20
#: the share of the turns its limiter allows in a window that the warm-up may take
WARM_SHARE = 0.5


async def _vat_codes(api: EconomicApi, page_size: int) -> dict[Hashable, object]:
    """Every account's VAT code from the accounts list, under the chain's keys
    (``("vat-code", account)``); accounts without one are left to the lazy read."""
    codes: dict[Hashable, object] = {}
    async for account in api.pages("accounts", wire.Account, "the accounts", page_size=page_size):
        if account.vat_account is not None and account.vat_account.vat_code:
            codes[("vat-code", account.account_number)] = account.vat_account.vat_code
    return codes


async def _vat_rates(api: EconomicApi, page_size: int) -> dict[Hashable, object]:
    """Every VAT code's rate from the VAT accounts list (``("vat-rate", code)``)."""
    rates: dict[Hashable, object] = {}
    async for vat in api.pages(
        "vat-accounts", wire.VatAccount, "the VAT accounts", page_size=page_size
    ):
        if vat.vat_code:
            rates[("vat-rate", vat.vat_code)] = vat.rate_percentage
    return rates


def free_turn(limiter: RateLimiter, clock: Clock) -> bool:
    """Whether a request on ``limiter``'s account would start now without waiting: no pause,
    and fewer requests in its window than it allows (read through its public surface)."""
    if limiter.blocked_until > clock.monotonic():
        return False
    return len(limiter.remember().sends) < limiter.allowed


class Budget:
    """``room`` for :func:`warm_reference`: true while a request would start now
    (:func:`free_turn`) and the warm-up's own reads in the limiter's last window are fewer
    than ``share`` of the turns it allows; each true answer counts as one read (a list of
    several pages counts once)."""

    def __init__(self, limiter: RateLimiter, clock: Clock, share: float = WARM_SHARE) -> None:
        self.limiter = limiter
        self.clock = clock
        self.share = share
        self._reads: list[float] = []

    def __call__(self) -> bool:
        now = self.clock.monotonic()
        window = self.limiter.window
        self._reads = [at for at in self._reads if at + window > now]
        if len(self._reads) >= max(1.0, self.share * self.limiter.allowed):
            return False
        if not free_turn(self.limiter, self.clock):
            return False
        self._reads.append(now)
        return True


async def warm_reference(
    articles: ArticleCatalog,
    api: EconomicApi,
    *,
    page_size: int,
    room: Callable[[], bool] = lambda: True,
) -> int:
    """Read the product list and the VAT chains of its product groups into ``articles``'
    cache, each read only while ``room()`` says the limiter has a turn free; return how
    many groups' chains were read (-1: it stopped for want of room)."""
    if not room():
        log.debug("economic: reference data not read at start: the rate limit's window is full")
        return -1
    products = await articles._products()  # the product list, shared with article_for
    groups = Counter(
        p.product_group.product_group_number
        for p in products.values()
        if p.product_group is not None
    )
    if not groups:
        return 0
    chain, cache = articles.chain, articles.cache
    if not room():
        return _stopped(0)
    await cache.fill("vat-code", lambda: _vat_codes(api, page_size))
    if not room():
        return _stopped(0)
    await cache.fill("vat-rate", lambda: _vat_rates(api, page_size))
    read = 0
    for group, _ in groups.most_common(MAX_GROUPS):
        if not room():
            return _stopped(read)
        await chain.of_group(group)
        read += 1
    log.debug("economic: reference data read: %d products, %d groups", len(products), read)
    return read


def _stopped(groups: int) -> int:
    log.debug(
        "economic: reference data read at start stopped after %d product groups: the rate "
        "limit's window is full (the first order that needs the rest reads it)",
        groups,
    )
    return -1
