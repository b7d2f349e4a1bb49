"""What a new user meets in the first hour (QA pass on a fresh clone, helper-47's findings 3, 4,
5, 6, 9, 13 and 14): the README's smallest config runs, a bad state path or listen address is
one line (never a traceback), the demo's exit codes match its help, plain progress lines in a
file, and the help and error texts say what they mean."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from brygga.cli import main

#: the README's "smallest working config is a name, an ERP and a shop" (Configuration), as a user
#: writes it for e-conomic and Starweb: nothing else
MINIMAL = """\
[[connection]]
name = "butiken"

[connection.erp]
kind = "economic"
app_secret_token = "app-token"
agreement_grant_token = "grant-token"

[[connection.shops]]
kind = "starweb"
base_url = "https://butiken.starwebserver.se/api/v2"
client_id = "client"
client_secret = "secret"
"""


def _write(folder: Path, text: str, name: str = "brygga.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _row(out: str, register: str) -> list[str]:
    for line in out.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells[0] == register:
            return cells[1:]
    raise AssertionError(f"no {register} row in:\n{out}")


# -- finding 4: the smallest config ---------------------------------------------------------


def test_the_readmes_smallest_config_passes_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "check", "-c", str(_write(tmp_path, MINIMAL)))
    assert code == 0, err
    assert err == ""
    assert out.rstrip().endswith("config OK")
    # mode erp by default: e-conomic has no price lists, so the mode leaves them off, saying why
    assert _row(out, "price_lists") == ["-", "-", "off: economic has no price lists"]
    # the registers it can serve run as the mode says
    assert _row(out, "products")[:2] == ["economic", "starweb"]
    assert _row(out, "stock")[:2] == ["economic", "starweb"]
    assert _row(out, "orders")[:2] == ["starweb", "economic"]


def test_price_lists_asked_for_from_an_erp_without_them_are_still_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = MINIMAL.replace(
        'name = "butiken"\n', 'name = "butiken"\nregisters = { price_lists = "erp" }\n'
    )
    code, out, err = _run(capsys, "check", "-c", str(_write(tmp_path, text)))
    assert code == 1
    assert "register price_lists: adapter 'economic' has no price lists" in err
    assert _row(out, "price_lists")[:2] == ["economic", "starweb"]
    assert "config OK" not in out


def test_price_lists_turned_off_by_hand_say_only_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = MINIMAL.replace(
        'name = "butiken"\n', 'name = "butiken"\nregisters = { price_lists = "off" }\n'
    )
    code, out, err = _run(capsys, "check", "-c", str(_write(tmp_path, text)))
    assert code == 0, err
    assert _row(out, "price_lists") == ["-", "-", "off"]
