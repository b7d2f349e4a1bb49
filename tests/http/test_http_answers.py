"""Reading a remote's answers (brygga.http.answers): the one rule set every adapter shares."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from brygga.errors import BryggaError, PermanentError, TransientError
from brygga.http.answers import MAX_DETAILS, Answers, body_kind, refusal, shorten

SECRET = "s3cr3t-token-value"


class Item(msgspec.Struct):
    number: int


def _fail(response: httpx.Response, what: str) -> BryggaError:
    return PermanentError(f"Acme rejected {what} (HTTP {response.status_code})")


def _answers(said: bool = False) -> Answers:
    return Answers(
        "Acme",
        lambda text: text.replace(SECRET, "***"),
        _fail,
        (lambda content: content.decode("utf-8", "replace")) if said else None,
    )


def _answer(status: int, content: bytes) -> httpx.Response:
    return httpx.Response(status, content=content)


def test_a_good_answer_is_decoded_and_a_refusal_is_the_systems_error() -> None:
    assert _answers().decode(_answer(200, b'{"number": 7}'), Item, "item 7") == Item(7)
    with pytest.raises(PermanentError, match=r"^Acme rejected item 7 \(HTTP 422\)$"):
        _answers().decode(_answer(422, b"{}"), Item, "item 7")


@pytest.mark.parametrize(
    ("content", "kind"),
    [(b"", "an empty answer"), (b"  <html>", "an HTML or XML page"), (b"ok", "not JSON")],
)
def test_a_read_that_is_no_json_is_retried(content: bytes, kind: str) -> None:
    with pytest.raises(TransientError, match=kind):
        _answers().decode(_answer(200, content), Item, "the items")
    assert kind in body_kind(content)


def test_an_unreadable_answer_to_a_write_is_in_doubt_never_permanent() -> None:
    for content in (b"<html>", b'{"number": "x"}', b"[" * 100_000):
        with pytest.raises(TransientError, match="looks the result up before sending again"):
            _answers().decode(_answer(201, content), Item, "the invoice", write=True)


def test_json_of_the_wrong_shape_or_too_deep_is_permanent_and_says_what_it_said() -> None:
    with pytest.raises(PermanentError, match=r"unexpected answer for item 7: Expected `int`"):
        _answers().decode(_answer(200, b'{"number": "x"}'), Item, "item 7")
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(PermanentError, match="JSON nested too deeply"):
        _answers().decode(_answer(200, deep), list[Any], "the items")
    body = b'{"number": "' + SECRET.encode() + b'"}'
    with pytest.raises(PermanentError) as caught:
        _answers(said=True).decode(_answer(200, body), Item, "item 7")
    assert SECRET not in str(caught.value) and "(it said: " in str(caught.value)


def test_shorten() -> None:
    assert shorten("abcdef", 6) == "abcdef"
    assert shorten("abcdefg", 6) == "abc..."


def _refusal(status: int, details: list[str], **options: Any) -> PermanentError:
    """A refusal in the wording of an imagined system "Acme"."""

    class Missing(PermanentError):
        pass

    return refusal(
        _answer(status, b""),
        "the invoice for order 12",
        details,
        system="Acme",
        scrub=lambda text: text.replace(SECRET, "***"),
        credentials="the API key",
        unauthorized="check api_key in [connection.erp]",
        forbidden="give the key the right to write invoices",
        not_found=options.pop("not_found", Missing),
        **options,
    )


def test_a_401_or_403_says_what_a_person_must_fix_and_names_the_record() -> None:
    unauthorized = _refusal(401, ["ignored"])
    assert str(unauthorized) == (
        "Acme refused the API key (HTTP 401) while working on the invoice for order 12: "
        "check api_key in [connection.erp]"
    )
    forbidden = _refusal(403, ["ignored"])
    assert str(forbidden) == (
        "Acme denied access (HTTP 403) while working on the invoice for order 12: "
        "give the key the right to write invoices"
    )
    assert type(unauthorized) is PermanentError and type(forbidden) is PermanentError


@pytest.mark.parametrize("status", [302, 400, 404, 409, 422])
def test_any_other_refusal_names_the_record_and_what_the_system_said(status: int) -> None:
    error = _refusal(status, ["quantity: Too many", "  ", "vatCode: unknown"])
    assert str(error) == (
        f"Acme rejected the invoice for order 12 (HTTP {status}): "
        "quantity: Too many; vatCode: unknown"
    )
    assert (type(error).__name__ == "Missing") is (status == 404)
    assert isinstance(error, PermanentError)


def test_a_refusal_without_details_says_so_and_many_end_in_and_more() -> None:
    assert str(_refusal(400, [" ", ""])).endswith("(HTTP 400): no details given")
    many = str(_refusal(422, [f"bad {n}" for n in range(100_000)]))
    assert many.endswith("; bad 9; and more") and "bad 10" not in many
    assert MAX_DETAILS == 10


def test_a_refusal_is_scrubbed_before_it_is_cut() -> None:
    # the secret straddles the cut of its detail and of the whole message: no part is left
    detail = "x" * 290 + SECRET
    error = str(_refusal(400, [detail, SECRET]))
    assert SECRET[:4] not in error and error.endswith("x" * 290 + "***; ***")
    cut = str(_refusal(400, [detail], detail_length=None, length=100))
    assert len(cut) == 100 and cut.endswith("...") and SECRET[:4] not in cut
    assert str(_refusal(400, ["y" * 1000])).endswith("y" * 297 + "...")
    assert str(_refusal(400, ["y" * 1000], detail_length=None)).endswith("y" * 1000)
    for status in (401, 403):
        assert SECRET not in str(
            refusal(
                _answer(status, b""),
                f"the customer {SECRET}",
                [],
                system="Acme",
                scrub=lambda text: text.replace(SECRET, "***"),
                credentials="the key",
                unauthorized="fix it",
                forbidden=f"it said {SECRET}",
            )
        )
