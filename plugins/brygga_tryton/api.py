"""Tryton JSON-RPC over the shared HTTP client: session login, calls, typed failures.

- Login (``common.db.login [login, {"password": …}, language]`` → ``[user, session, …]``) on the
  first call; later calls send ``Authorization: Session base64(login:user:session)`` (reference
  erp-apis.md §5.1, real-peers.md §A). The session lives in memory only; a 401 on a call (a
  session expired or dropped by a server restart) logs in again once and repeats the call,
  which is safe: the server refused it before it ran.
- Model calls are ``model.<model>.<method>`` with the user's context (``res.user.
  get_preferences``) as the last parameter (§5.2).
- Failures: no answer, 5xx and 429 are transient (the shared client); an answer's ``error`` is
  permanent (UserError, UserWarning: a person must act), except ConcurrencyException and a
  database busy/locked error, which are transient. Each RPC is one transaction and an error
  answer rolls it back, so only a write without an answer (timeout, dropped connection, a 5xx)
  is in doubt: those raise ``TransientError(in_doubt=True)``.
- Login failures: 401 is refused credentials ("Wrong credentials → HTTP 401", §5.1 [doc T1]
  [doc T2]): a :class:`~brygga.errors.CredentialsRejected`, on which the sync engine holds the
  connection's work instead of failing the record, also when it answers the new login after
  a call's 401; 404 an unknown database and 403 a login that needs more than a password
  (``LoginException``, e.g. a second factor) are permanent; 429 too many attempts is
  transient (5 per 300 s by default). A 403 to a model call (the user lacks access to the
  model) stays the refusal of that call.
"""

from __future__ import annotations

import base64
import itertools
import logging
from collections.abc import Sequence
from typing import Any, TypeVar

import anyio
import msgspec

from brygga.errors import CredentialsRejected, PermanentError, TransientError
from brygga.http.client import RemoteClient
from brygga.secrets import scrub
from brygga_tryton import wire

__all__ = ["READS", "TrytonApi"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: model methods that only read (their failures are never in doubt)
READS = frozenset(
    {"search", "search_read", "read", "search_count", "get_preferences", "fields_get"}
)
#: unexpected server errors that are worth a retry (SQLite busy, locks)
_TRANSIENT_TEXT = ("database is locked", "could not serialize", "deadlock", "busy")


class TrytonApi:
    """One Tryton database over JSON-RPC, as one user."""

    def __init__(
        self,
        client: RemoteClient,
        *,
        database: str,
        login: str,
        password: str,
        password_source: str = "inline",
        language: str = "en",
    ) -> None:
        self.client = client
        self.database = database
        self._login = login
        self._password = password
        #: where the password comes from (``env:NAME``, ``file:PATH``, ``inline``): shown
        self._password_source = password_source
        self._language = language
        self._path = f"{database}/rpc/"
        self._auth: str | None = None
        self._context: dict[str, Any] | None = None
        self._ids = itertools.count(1)
        self._lock = anyio.Lock()

    async def aclose(self) -> None:
        await self.client.aclose()

    def _scrub(self, text: str) -> str:
        return scrub(text, self._password)

    # --- session ---------------------------------------------------------------------------

    async def _sign_in(self) -> None:
        async with self._lock:
            if self._auth is not None:
                return
            body = wire.encode_body(
                next(self._ids),
                "common.db.login",
                [self._login, {"password": self._password}, self._language],
            )
            what = f"tryton login to database {self.database!r} as {self._login!r}"
            response = await self.client.request(
                "POST", self._path, content=body, headers={"Content-Type": "application/json"}
            )
            if response.status_code == 401:
                raise CredentialsRejected(
                    f"Tryton database {self.database!r} rejected the credentials (HTTP 401 to "
                    f"the login as {self._login!r}): fix login and password "
                    f"({self._password_source}) in [connection.erp] (an active Tryton user), "
                    "then reload brygga"
                )
            if response.status_code == 404:
                raise PermanentError(f"{what}: no such database; correct [connection.erp] database")
            if response.status_code == 403:
                raise PermanentError(
                    f"{what}: refused (403: the login needs more than a password, e.g. a second "
                    "factor); give brygga a user that logs in with a password alone"
                )
            envelope = self._envelope(response.content, response.status_code, what)
            if envelope.error is not None:
                fault = wire.Fault.parse(envelope.error)
                raise PermanentError(f"{what}: {self._scrub(fault.text())}")
            result = envelope.result
            if not (isinstance(result, list) and len(result) >= 2 and isinstance(result[0], int)):
                raise PermanentError(f"{what}: the answer was not [user, session]")
            token = f"{self._login}:{result[0]}:{result[1]}".encode()
            self._auth = "Session " + base64.b64encode(token).decode("ascii")
            log.info("tryton: signed in to %s", self.database)
            self._context = None

    def _envelope(self, content: bytes, status: int, what: str) -> wire.Envelope:
        if status >= 400:
            raise PermanentError(f"{what}: HTTP {status}")
        try:
            return wire.decode_body(content)
        except ValueError as exc:
            raise PermanentError(f"{what}: {exc}") from None

    async def context(self) -> dict[str, Any]:
        """The user's preferences (company, language, …): the context of every model call."""
        if self._context is None:
            prefs = await self._rpc("model.res.user.get_preferences", [True, {}], write=False)
            if not isinstance(prefs, dict):
                raise PermanentError("tryton: res.user.get_preferences did not answer a dict")
            self._context = prefs
        return self._context

    # --- calls -----------------------------------------------------------------------------

    async def call(
        self,
        model: str,
        method: str,
        *args: Any,
        context: dict[str, Any] | None = None,
    ) -> Any:
        """``model.<model>.<method>(*args, context)``; the context is the user's, updated
        with ``context``."""
        ctx = dict(await self.context())
        if context:
            ctx.update(context)
        return await self._rpc(f"model.{model}.{method}", [*args, ctx], write=method not in READS)

    async def _rpc(self, method: str, params: list[Any], *, write: bool) -> Any:
        what = f"tryton {method}"
        for attempt in (1, 2):
            if self._auth is None:
                await self._sign_in()
            assert self._auth is not None
            body = wire.encode_body(next(self._ids), method, params)
            try:
                response = await self.client.request(
                    "POST",
                    self._path,
                    content=body,
                    headers={"Content-Type": "application/json", "Authorization": self._auth},
                )
            except TransientError as exc:
                raise _doubt(exc, write) from None
            if response.status_code == 401 and attempt == 1:
                # the session expired or the server forgot it: refused before it ran
                self._auth = None
                continue
            if response.status_code == 403:
                raise PermanentError(
                    f"{what}: not allowed for user {self._login!r} (HTTP 403); give the user "
                    "access to this model in Tryton"
                )
            if response.status_code == 423:
                raise TransientError(f"{what}: the record is locked (423)")
            if response.status_code == 409:
                raise PermanentError(f"{what}: Tryton asks to confirm a warning (409)")
            envelope = self._envelope(response.content, response.status_code, what)
            if envelope.error is not None:
                raise self._fault(what, envelope.error)
            return envelope.result
        raise PermanentError(f"{what}: the session was refused twice (401)")

    def _fault(self, what: str, error: Any) -> Exception:
        fault = wire.Fault.parse(error)
        text = self._scrub(fault.text())
        if fault.kind == "ConcurrencyException":
            return TransientError(f"{what}: changed by someone else meanwhile ({text})")
        if fault.kind == "ServerError" and any(t in text.lower() for t in _TRANSIENT_TEXT):
            return TransientError(f"{what}: {text}")
        if fault.kind == "UserWarning":
            return PermanentError(
                f"{what}: Tryton warns {text!r} (warning {fault.name!r}); confirm it in Tryton "
                "or correct the data"
            )
        if fault.kind == "ServerError":
            return PermanentError(f"{what}: the server failed ({text})")
        return PermanentError(f"{what}: {text}")

    # --- helpers ---------------------------------------------------------------------------

    async def search_read(
        self,
        model: str,
        domain: Sequence[Any],
        fields: Sequence[str],
        type_: type[T],
        *,
        limit: int | None = None,
        offset: int = 0,
        order: Sequence[tuple[str, str]] = (("id", "ASC"),),
        context: dict[str, Any] | None = None,
    ) -> list[T]:
        rows = await self.call(
            model,
            "search_read",
            list(domain),
            offset,
            limit,
            [list(o) for o in order],
            list(fields),
            context=context,
        )
        return self.rows(rows, type_, f"{model} rows")

    async def read(
        self,
        model: str,
        ids: Sequence[int],
        fields: Sequence[str],
        type_: type[T],
        *,
        context: dict[str, Any] | None = None,
    ) -> list[T]:
        if not ids:
            return []
        rows = await self.call(model, "read", list(ids), list(fields), context=context)
        return self.rows(rows, type_, f"{model} rows")

    @staticmethod
    def rows(rows: Any, type_: type[T], what: str) -> list[T]:
        # lax: trytond on SQLite answers booleans as 0/1 (seen with 8.2)
        try:
            return msgspec.convert(rows, list[type_], strict=False)  # type: ignore[valid-type]
        except msgspec.ValidationError as exc:
            raise PermanentError(f"tryton: {what} could not be read ({exc})") from None

    async def customer_taxes(
        self, templates: Sequence[wire.TemplateRow]
    ) -> dict[int, list[wire.TaxRow]]:
        """Each template's customer taxes: its accounting category's (``customer_taxes_used``
        is a Function field of ``product.category``; on the template it is a plain property
        RPC cannot read, trytond 8.2 ``account_product``)."""
        categories = sorted({t.account_category for t in templates if t.account_category})
        rows = await self.read(
            "product.category", categories, ["id", "customer_taxes_used"], wire.CategoryRow
        )
        tax_ids = sorted({x for c in rows for x in c.customer_taxes_used})
        taxes = {
            t.id: t
            for t in await self.read(
                "account.tax", tax_ids, ["id", "name", "type", "rate"], wire.TaxRow
            )
        }
        by_category = {c.id: [taxes[x] for x in c.customer_taxes_used if x in taxes] for c in rows}
        return {t.id: by_category.get(t.account_category or 0, []) for t in templates}

    async def create(self, model: str, values: dict[str, Any]) -> int:
        ids = await self.call(model, "create", [values])
        if not (isinstance(ids, list) and len(ids) == 1 and isinstance(ids[0], int)):
            raise TransientError(f"tryton {model}.create: the answer was not one id", in_doubt=True)
        return ids[0]


def _doubt(exc: TransientError, write: bool) -> TransientError:
    """A write answered 5xx may have run (a proxy in front may answer for a server that went
    on): in doubt. The shared client already marks a write without an answer in doubt, and
    one that never left (refused connection) or was answered 429 not."""
    if not write or exc.in_doubt or ": server error " not in str(exc):
        return exc
    return TransientError(str(exc), retry_after=exc.retry_after, in_doubt=True)
