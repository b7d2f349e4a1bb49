"""`brygga check` refuses, with one line on stderr and exit 2, the configs that `run` would reject
or that would hurt; it never says "config OK" for them and never shows a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from brygga.cli import main
from brygga.testing import toml_config
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.simulator import StarwebSimulator

ERP_URL = "https://restapi.e-conomic.com"
SHOP_URL = "https://butiken.starwebserver.se/api/v2"


def _text(
    *,
    erp_url: str = ERP_URL,
    shop_url: str = SHOP_URL,
    listen: str = "127.0.0.1:9464",
    poll: dict[str, object] | None = None,
    workers: int = 2,
) -> str:
    return toml_config(
        state="state.db",
        listen=listen,
        name="butiken",
        erp=EconomicSimulator(seed_catalog=False).adapter_config(erp_url),
        shops=[StarwebSimulator(seed_catalog=False).adapter_config(shop_url, name="se")],
        connection={"registers": {"price_lists": "off"}, "poll": poll or {"orders": "60s"}},
        sections={"orders": {"workers": workers}},
    )


def _latin1(path: Path) -> None:
    path.write_bytes(_text().replace("butiken", "b\u00e5tiken").encode("latin-1"))


def _spread_inline_table(path: Path) -> None:
    path.write_text(_text().replace(", app_secret_token", ",\n  app_secret_token", 1), "utf-8")


def _writer(text: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(text, encoding="utf-8")


CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "listen-without-port": (_writer(_text(listen="localhost")), "daemon.listen: "),
    "listen-port-too-big": (_writer(_text(listen="127.0.0.1:70000")), "daemon.listen: "),
    "workers-0": (_writer(_text(workers=0)), "connection[0].orders.workers: "),
    "workers-negative": (_writer(_text(workers=-1)), "connection[0].orders.workers: "),
    "workers-100000": (_writer(_text(workers=100000)), "connection[0].orders.workers: "),
    "poll-0s": (_writer(_text(poll={"orders": "0s"})), "connection[0].poll.orders: "),
    "poll-1s-remote": (_writer(_text(poll={"orders": "1s"})), "connection[0].poll.orders: "),
    "http-erp": (
        _writer(_text(erp_url="http://restapi.e-conomic.com")),
        "connection[0].erp.base_url: ",
    ),
    "http-shop": (
        _writer(_text(shop_url="http://butiken.starwebserver.se/api/v2")),
        "connection[0].shops[0].base_url: ",
    ),
    "empty-file": (_writer(""), "no [[connection]] in this file"),
    "daemon-only": (_writer('[daemon]\nstate = "s.db"\n'), "no [[connection]] in this file"),
    "not-utf8": (_latin1, "not UTF-8 (byte 0xe5 at line "),
    "not-toml": (_spread_inline_table, "not valid TOML: "),
}


@pytest.mark.parametrize("case", list(CASES))
def test_check_refuses_with_one_line_and_exit_2(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write, expected = CASES[case]
    path = tmp_path / "brygga.toml"
    write(path)
    code = main(["check", "-c", str(path)])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "config OK" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {path}: {expected}"), lines[0]


def test_the_same_config_with_sane_values_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "brygga.toml"
    path.write_text(_text(poll={"orders": "5s"}, workers=32), encoding="utf-8")
    assert main(["check", "-c", str(path)]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.rstrip().endswith("config OK")


def test_run_refuses_the_same_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for case in ("not-utf8", "workers-0", "http-shop"):
        write, expected = CASES[case]
        path = tmp_path / "brygga.toml"
        write(path)
        assert main(["run", "-c", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.strip().splitlines() == [err.strip()], err
        assert err.startswith(f"error: {path}: {expected}"), err
        assert not (tmp_path / "state.db").exists(), "nothing was started"
