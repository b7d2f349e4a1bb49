"""Reading a remote's answers (brygga.http.answers): the one rule set every adapter shares."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from brygga.errors import BryggaError, PermanentError, TransientError
from brygga.http.answers import Answers, body_kind, shorten

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
