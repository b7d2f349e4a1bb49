"""The order receiver's inbox: pushed OrderRequests verified and kept in the account state.

Norce posts each new order to the receiver and retries a push that was not answered 2xx
([NO3]); in production the receiver must take HTTPS and Basic auth. Each push is kept
under ``push/<channel>/<ClientOrderRef>`` (value: the receipt time, a newline, the body) in
the daemon's per-account state before the daemon answers 200, with an index key
``pushed/<channel>/<receipt epoch>/<ClientOrderRef>`` for the change feed. Keeping is
idempotent: a second push of the same ClientOrderRef keeps the first (the sender retries
the same order). The state is per Norce account, so every shop (channel) of that account
sees the pushes of its channel, whichever shop's receiver URL Norce calls.

A push without ``Header.ApplicationId`` is kept under the channel ``_``. When the shop lists
``channels`` it cannot tell whose order that is, so the change feed leaves it to the Query
API (whose order rows carry ``ApplicationId``) and a warning names the order and the fix.
It is kept, not refused: Norce retries a refused push with the same body, so a refusal
could only end in Norce giving up. ``fetch_order`` still finds the kept body.

The ERP number brygga sent with SendOrderStatus is kept too (``erp/<ClientOrderRef>``): the
status writes that follow need it (SendOrderStatus requires ``ErpOrderNo``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec

from brygga.accountstate import AdapterStateStore
from brygga.clock import Clock
from brygga.errors import PermanentError, TransientError
from brygga.secrets import Secret
from brygga_norce.wire import PushIdsWire

__all__ = ["ERP_KEY", "MAX_PUSH", "KeptPush", "PushInbox"]

log = logging.getLogger(__name__)

#: the largest push kept (an order of thousands of rows is far below it)
MAX_PUSH = 5_000_000
#: kept pushes older than this are dropped when a new one arrives
KEEP_FOR = timedelta(days=30)
_NO_CHANNEL = "_"
#: the key prefix of the ERP numbers sent with SendOrderStatus
ERP_KEY = "erp/"
#: ClientOrderRef is an int32 ([NO6] SendOrderStatusRequest)
INT32 = 2**31 - 1


@dataclass(frozen=True)
class KeptPush:
    """A kept push: its basket id, channel, when it came and its body."""

    ref: str
    channel: str
    received_at: datetime
    body: bytes


class PushInbox:
    """Pushes of one Norce account, kept durably; see the module notes."""

    def __init__(
        self,
        state: AdapterStateStore,
        account: str,
        clock: Clock,
        *,
        shop: str,
        username: str = "",
        password: Secret | None = None,
        channels: tuple[int, ...] = (),
    ) -> None:
        self._state = state
        self._account = account
        self._clock = clock
        self._shop = shop
        self._username = username
        self._password = password
        self._channels = tuple(str(c) for c in channels)

    def _verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Basic auth when configured; the URL's secret token was checked by the daemon."""
        if self._password is None:
            return
        given = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        scheme, _, encoded = given.partition(" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, password = "", ""
        ok = scheme.lower() == "basic" and hmac.compare_digest(
            f"{user}:{password}".encode(), f"{self._username}:{self._password.reveal()}".encode()
        )
        if not ok:
            raise PermanentError(
                f"Norce shop {self._shop}: a push without the Basic credentials of "
                "receiver_username/receiver_password was refused; set the same ERP endpoint "
                "username and password in Norce Admin (ERP integration)"
            )

    def identify(self, body: bytes, headers: Mapping[str, str]) -> tuple[str, str]:
        """(ClientOrderRef, channel) of a push, or PermanentError saying what is wrong."""
        self._verify(body, headers)
        what = f"Norce shop {self._shop}: a push"
        if len(body) > MAX_PUSH:
            raise PermanentError(f"{what} of {len(body):,} bytes is larger than brygga takes")
        kind = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
        if "xml" in kind or body.lstrip()[:1] == b"<":
            raise PermanentError(
                f"{what} is XML; brygga takes the JSON OrderRequest: set the ERP endpoint type "
                "to REST in Norce Admin (ERP integration)"
            )
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PermanentError(
                f"{what} is not valid UTF-8 (byte {exc.start}); check the order receiver "
                "format in Norce Admin"
            ) from None
        try:
            ids = msgspec.json.decode(body, type=PushIdsWire)
        except (msgspec.DecodeError, RecursionError) as exc:
            raise PermanentError(
                f"{what} has no readable Header.ClientOrderRef ({str(exc)[:120]}), so brygga "
                "cannot tell which order it is; check the order receiver format in Norce Admin"
            ) from None
        ref = ids.header.client_order_ref
        if not 0 < ref <= INT32:
            raise PermanentError(
                f"{what}: ClientOrderRef {str(ref)[:20]} is not a basket id (an int32 above 0)"
            )
        channel = ids.header.application_id
        return str(ref), _NO_CHANNEL if channel is None else str(channel)

    async def accept(self, body: bytes, headers: Mapping[str, str]) -> KeptPush:
        """Keep the push (idempotently); the first push of a ClientOrderRef wins."""
        ref, channel = self.identify(body, headers)
        now = self._clock.now().astimezone(UTC).replace(microsecond=0)
        key = f"push/{channel}/{ref}"
        value = now.isoformat().encode() + b"\n" + body
        if not await self._state.replace(self._account, key, None, value, now):
            kept = await self._state.get(self._account, key)
            if kept is None:
                raise TransientError(f"Norce shop {self._shop}: push {ref} vanished; try again")
            push = _parse(ref, channel, kept)
            if push.body != body:
                log.info(
                    "norce shop %s: order %s pushed again with changes; kept the first",
                    self._shop,
                    ref,
                )
        else:
            push = KeptPush(ref, channel, now, body)
            if channel == _NO_CHANNEL and self._channels:
                log.warning(
                    "norce shop %s: order %s was pushed without Header.ApplicationId, so brygga "
                    "cannot tell which of channels %s it belongs to; it is kept, and imported "
                    "when the Query API shows it in one of them. Fix: have the order receiver "
                    "send ApplicationId (Norce Admin → ERP integration), or remove channels "
                    "from this shop if it takes all of the account's orders",
                    self._shop,
                    ref,
                    ", ".join(self._channels),
                )
        index = f"pushed/{channel}/{int(push.received_at.timestamp()):012d}/{ref}"
        await self._state.put(self._account, index, b"", now)
        await self._prune(now)
        return push

    async def _prune(self, now: datetime) -> None:
        """Drop kept pushes older than KEEP_FOR (their orders were transferred long ago)."""
        cutoff = int((now - KEEP_FOR).timestamp())
        for key in await self._state.keys(self._account, "pushed/"):
            _, channel, epoch, ref = key.split("/", 3)
            if int(epoch) >= cutoff:
                continue
            await self._state.delete(self._account, key)
            await self._state.delete(self._account, f"push/{channel}/{ref}")

    def _mine(self, channel: str) -> bool:
        return not self._channels or channel in self._channels

    async def received(self, since: datetime, until: datetime) -> list[tuple[str, datetime]]:
        """(ClientOrderRef, receipt time) of this shop's channels' pushes in ``[since, until)``."""
        found = []
        for key in await self._state.keys(self._account, "pushed/"):
            _, channel, epoch, ref = key.split("/", 3)
            when = datetime.fromtimestamp(int(epoch), UTC)
            if self._mine(channel) and since <= when < until:
                found.append((ref, when))
        return found

    async def get(self, ref: str) -> KeptPush | None:
        """The kept push of ``ref`` in one of this shop's channels (or pushed without one),
        or None."""
        channels = (
            (*self._channels, _NO_CHANNEL)
            if self._channels
            else tuple({k.split("/")[1] for k in await self._state.keys(self._account, "push/")})
        )
        for channel in channels:
            kept = await self._state.get(self._account, f"push/{channel}/{ref}")
            if kept is not None:
                return _parse(ref, channel, kept)
        return None

    async def erp_number(self, ref: str) -> str:
        """The ERP number brygga sent for ``ref`` with SendOrderStatus ("" for none)."""
        kept = await self._state.get(self._account, f"{ERP_KEY}{ref}")
        return kept.decode() if kept else ""

    async def keep_erp_number(self, ref: str, number: str) -> None:
        await self._state.put(self._account, f"{ERP_KEY}{ref}", number.encode(), self._clock.now())


def _parse(ref: str, channel: str, value: bytes) -> KeptPush:
    stamp, _, body = value.partition(b"\n")
    return KeptPush(ref, channel, datetime.fromisoformat(stamp.decode()), body)
