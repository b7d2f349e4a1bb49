"""Helpers the shop and ERP checks share: faults to inject, error-message hygiene, id order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Literal, TypeVar

from brygga.errors import PermanentError, TransientError
from brygga.testing.simulators import Fault, FaultInjector

__all__ = [
    "FAULT_KINDS",
    "RETRY_AFTER",
    "FaultKind",
    "assert_no_secret",
    "expect_permanent",
    "expect_transient_fault",
    "id_key",
    "message_of",
]

FaultKind = Literal["status", "rate_limit", "timeout", "drop"]
#: the transient faults every adapter must turn into TransientError
FAULT_KINDS: tuple[FaultKind, ...] = ("status", "rate_limit", "timeout", "drop")
#: the Retry-After (seconds) the kit's 429 carries; the TransientError must pass it on
RETRY_AFTER = 7.0

T = TypeVar("T")


def id_key(shop_order_id: str) -> tuple[int, int, str]:
    """Order ids compare as numbers when they are numbers, else as text."""
    if shop_order_id.isdigit():
        return (0, int(shop_order_id), "")
    return (1, 0, shop_order_id)


def message_of(exc: BaseException) -> str:
    """Everything an error shows in a log: its text, repr, arguments and shown causes."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts += [str(current), repr(current), *(str(a) for a in current.args)]
        if current.__cause__ is not None:
            current = current.__cause__
        elif not current.__suppress_context__:
            current = current.__context__
        else:
            current = None
    return "\n".join(parts)


def assert_no_secret(text: str, secrets: Iterable[str], where: str) -> None:
    for secret in secrets:
        assert secret not in text, f"{where} shows a credential: {text!r}"


async def expect_permanent(call: Callable[[], Awaitable[Any]], what: str) -> PermanentError:
    """Run ``call``; it must raise PermanentError (anything else fails the check)."""
    try:
        result = await call()
    except PermanentError as exc:
        return exc
    except Exception as exc:
        raise AssertionError(
            f"{what}: expected PermanentError, got {type(exc).__name__}: {exc}"
        ) from exc
    raise AssertionError(f"{what}: expected PermanentError, but it returned {result!r}")


def _fault(kind: FaultKind) -> Fault:
    if kind == "status":
        return Fault("status", status=503, times=1)
    if kind == "rate_limit":
        return Fault("rate_limit", retry_after=RETRY_AFTER, times=1)
    return Fault(kind, times=1)


async def expect_transient_fault(
    faults: FaultInjector, kind: FaultKind, call: Callable[[], Awaitable[T]], what: str
) -> TransientError:
    """Inject one ``kind`` fault on the next request, run ``call``: it must raise
    TransientError (with ``retry_after`` from a 429), and the fault must really have fired."""
    before = faults.fired.get(kind, 0)
    faults.add(_fault(kind))
    try:
        result = await call()
    except TransientError as exc:
        error = exc
    except Exception as exc:
        raise AssertionError(
            f"{what} with an injected {kind} fault: expected TransientError, got "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    else:
        raise AssertionError(
            f"{what} with an injected {kind} fault: expected TransientError, but it returned "
            f"{result!r}"
        )
    finally:
        faults.clear()
    assert faults.fired.get(kind, 0) == before + 1, (
        f"{what}: the injected {kind} fault never fired, so the adapter made no request"
    )
    if kind == "rate_limit":
        assert error.retry_after is not None, (
            f"{what}: a 429 with Retry-After: {RETRY_AFTER:g} became a TransientError "
            "without retry_after"
        )
        assert abs(error.retry_after - RETRY_AFTER) < 1, (
            f"{what}: Retry-After was {RETRY_AFTER:g} s but retry_after is {error.retry_after}"
        )
    return error
