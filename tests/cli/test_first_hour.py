"""What a new user meets in the first hour (QA pass on a fresh clone, helper-47's findings 3, 4,
5, 6, 9, 13 and 14): the README's smallest config runs, a bad state path or listen address is
one line (never a traceback), the demo's exit codes match its help, plain progress lines in a
file, and the help and error texts say what they mean."""

from __future__ import annotations

import functools
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from brygga.cli import main
from brygga.commands import demo
from brygga.commands.demo import ShopStatuses
from brygga.commands.sync_products import PlainLines, summary_lines
from brygga.sync.initial_sync import Tally

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


def test_the_prices_row_says_prices_travel_with_the_products_in_ecom_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """README's mode table: prices "with products" in `ecom` (first-hour QA: the row said
    "off"); set off by hand, they are off."""
    text = MINIMAL.replace('name = "butiken"\n', 'name = "butiken"\nmode = "ecom"\n', 1)
    text = text.replace('kind = "economic"\n', 'kind = "economic"\nproduct_group = 1\n', 1)
    code, out, err = _run(capsys, "check", "-c", str(_write(tmp_path, text)))
    assert code == 0, err
    assert _row(out, "products")[:2] == ["starweb", "economic"]
    assert _row(out, "prices") == ["-", "-", "with products (shop → ERP)"]
    off = text.replace('mode = "ecom"\n', 'mode = "ecom"\nregisters = { prices = "off" }\n')
    code, out, err = _run(capsys, "check", "-c", str(_write(tmp_path, off)))
    assert code == 0, err
    assert _row(out, "prices") == ["-", "-", "off"]


def test_prices_from_the_shop_into_economic_promise_no_campaign_price(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """First-hour QA: `prices = "shop"` toward e-conomic said "ordinary and campaign price";
    e-conomic keeps no campaign price (`salesPrice` only)."""
    text = MINIMAL.replace('name = "butiken"\n', 'name = "butiken"\nmode = "ecom"\n', 1)
    text = text.replace('kind = "economic"\n', 'kind = "economic"\nproduct_group = 1\n', 1)
    text = text.replace(
        'mode = "ecom"\n', 'mode = "ecom"\nregisters = { products = "off", prices = "shop" }\n'
    )
    code, out, err = _run(capsys, "check", "-c", str(_write(tmp_path, text)))
    assert code == 0, err
    note = _row(out, "prices")[2]
    assert "campaign price on their own" not in note and "and campaign" not in note, note
    assert "no campaign price into economic (it keeps none)" in note


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


#: the smallest config for Fortnox (price lists) and Vendure (none)
FORTNOX_VENDURE = """\
[[connection]]
name = "butiken"

[connection.erp]
kind = "fortnox"
client_id = "client"
client_secret = "secret"
refresh_token = "refresh"

[[connection.shops]]
kind = "vendure"
base_url = "https://shop.example/admin-api"
username = "user"
password = "password"
"""


def test_the_mode_leaves_off_what_no_shop_can_take(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The target side too: Fortnox has price lists, but the one shop, Vendure, has none."""
    code, out, err = _run(capsys, "check", "-c", str(_write(tmp_path, FORTNOX_VENDURE)))
    assert code == 0, err
    assert _row(out, "price_lists") == ["-", "-", "off: vendure has no price lists"]
    assert _row(out, "products")[:2] == ["fortnox", "vendure"]
    text = FORTNOX_VENDURE.replace(
        'name = "butiken"\n', 'name = "butiken"\nregisters = { price_lists = "erp" }\n'
    )
    code, out, err = _run(capsys, "check", "-c", str(_write(tmp_path, text)))
    assert code == 1
    assert "register price_lists: shop 'vendure' has no price lists" in err


# -- finding 3: a state path brygga cannot use --------------------------------------------


def _with_state(folder: Path, state: Path | str) -> Path:
    return _write(folder, f'[daemon]\nstate = "{state}"\n\n{MINIMAL}')


def _one_line_error(err: str, *words: str) -> None:
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err


@pytest.mark.parametrize("command", [["check"], ["run"], ["status"], ["errors", "list"]])
def test_a_state_path_that_is_a_folder_is_one_line_for_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    (tmp_path / "state").mkdir()
    config = _with_state(tmp_path, tmp_path / "state")
    code, out, err = _run(capsys, *command, "-c", str(config))
    assert code == 2 and out == ""
    _one_line_error(err, "daemon.state:", f"{tmp_path / 'state'} is a folder", "brygga.db")


def test_a_state_path_under_a_file_is_refused_by_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "secret").write_text("not a folder\n", encoding="utf-8")
    config = _with_state(tmp_path, tmp_path / "secret" / "sub" / "state.db")
    code, _, err = _run(capsys, "check", "-c", str(config))
    assert code == 2
    _one_line_error(err, f"{tmp_path / 'secret'} is a file, not a folder")


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux's /proc")
def test_a_state_path_in_proc_is_refused_by_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "check", "-c", str(_with_state(tmp_path, "/proc/state.db")))
    assert code == 2
    _one_line_error(err, "/proc is on a filesystem that holds no files", "/proc/state.db")


def test_a_state_folder_this_user_cannot_write_in_is_refused_by_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    folder = tmp_path / "locked"
    folder.mkdir()
    real = os.access

    def access(path: object, mode: int, **kwargs: object) -> bool:
        # as a user without write permission there (root may write anywhere)
        return False if Path(str(path)) == folder else real(path, mode)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)
    code, _, err = _run(capsys, "check", "-c", str(_with_state(tmp_path, folder / "state.db")))
    assert code == 2
    _one_line_error(err, "cannot be created", f"cannot write in {folder}")


@pytest.mark.parametrize("command", [["check"], ["run"], ["status"], ["errors", "list"]])
def test_a_state_file_that_is_not_sqlite_is_one_line_for_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    (tmp_path / "junk.db").write_text("this is no database at all\n", encoding="utf-8")
    config = _with_state(tmp_path, "junk.db")
    code, out, err = _run(capsys, *command, "-c", str(config))
    assert code == 2 and out == ""
    _one_line_error(err, "is not a brygga state file (not an SQLite database)", "move junk.db")


def test_an_empty_state_file_is_a_new_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "new.db").touch()
    code, _, err = _run(capsys, "check", "-c", str(_with_state(tmp_path, "new.db")))
    assert code == 0, err


def _failing_serve(error: BaseException) -> object:
    async def serve(*args: object, **kwargs: object) -> None:
        raise error

    return serve


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (
            lambda state: sqlite3.DatabaseError("file is not a database"),
            ["file is not a database", "move this file away"],
        ),
        (
            lambda state: FileNotFoundError(2, "No such file or directory", f"{state}.lock"),
            ["cannot be created or opened: No such file or directory", ".lock"],
        ),
        (
            lambda state: ExceptionGroup(
                "task group", [sqlite3.OperationalError("unable to open database file")]
            ),
            ["unable to open database file", "choose another [daemon] state path"],
        ),
    ],
    ids=["not-sqlite", "lock-not-created", "in-a-task-group"],
)
def test_a_state_file_that_fails_when_opened_is_one_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    error: Any,
    words: list[str],
) -> None:
    """The config check passed, then opening or locking the state file failed (the file was
    changed in between, a folder's permissions): one line naming the file, exit 2."""
    from brygga.commands import run as run_command

    state = tmp_path / "state.db"
    monkeypatch.setattr(run_command, "serve", _failing_serve(error(state)))
    code, _, err = _run(capsys, "run", "-c", str(_with_state(tmp_path, state)))
    assert code == 2
    lines = [line for line in err.splitlines() if " INFO " not in line]
    assert len(lines) == 1 and lines[0].startswith(f"error: state file {state}: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0]


def test_an_error_that_is_not_about_the_state_file_is_not_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from brygga.commands import run as run_command

    elsewhere = FileNotFoundError(2, "No such file or directory", "/elsewhere/file")
    monkeypatch.setattr(run_command, "serve", _failing_serve(elsewhere))
    with pytest.raises(FileNotFoundError):
        main(["run", "-c", str(_with_state(tmp_path, tmp_path / "state.db"))])


def test_demo_refuses_a_state_path_it_cannot_use_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    (tmp_path / "junk.db").write_text("no database", encoding="utf-8")
    cases = {
        tmp_path / "file" / "state.db": "is a file, not a folder",
        tmp_path / "junk.db": "is not a brygga state file",
        tmp_path: "is a folder",
    }
    for state, words in cases.items():
        code, out, err = _run(capsys, "demo", "--state", str(state), "--orders", "1")
        assert code == 2 and out == ""
        _one_line_error(err, "--state: ", words)


# -- finding 5: the demo's --listen ---------------------------------------------------------

DEMO = ["demo", "--orders", "2", "--interval", "0.1", "--exit-when-done", "--timeout", "60"]


@pytest.fixture
def demo_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo's temporary folder goes under the test's."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    return tmp_path


def test_demo_with_a_bad_listen_port_is_one_line(
    demo_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, *DEMO, "--listen", "127.0.0.1:99999")
    assert code == 2 and out == ""
    _one_line_error(err, "--listen: ", "99999", "0-65535")


def test_demo_on_a_port_in_use_is_one_line(
    demo_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = _run(capsys, *DEMO, "--listen", f"127.0.0.1:{port}")
    assert code == 2 and out == ""
    _one_line_error(err, f"--listen 127.0.0.1:{port}: address already in use")
    assert "Exception" not in err
    assert not list(demo_tmp.glob("brygga-demo-*")), "its temporary folder is removed"


# -- finding 6: the demo's exit codes are its help's ------------------------------------------


def _shown(completed: int = 2, captured_twice: int = 0) -> ShopStatuses:
    return ShopStatuses(completed, captured_twice, Counter())


def test_demo_exit_codes_say_why_when_not_0(capsys: pytest.CaptureFixture[str]) -> None:
    # the demo decided itself (done, or it printed why not)
    assert demo._exit_code(0, [1, 1], _shown(), stopped=True) == 0
    assert demo._exit_code(1, [1, 1], _shown(), stopped=True) == 1
    assert capsys.readouterr().err == ""
    # stopped from outside (Ctrl-C, SIGTERM): 130, and it says so
    assert demo._exit_code(None, [1, 1], _shown(), stopped=True) == 130
    assert capsys.readouterr().err.startswith("interrupted (Ctrl-C or SIGTERM): exit 130")
    # something found twice beats the interruption: 1 with the reason
    assert demo._exit_code(None, [1, 2], _shown(), stopped=True) == 1
    assert capsys.readouterr().err == "error: 1 order(s) in the ERP more than once\n"
    assert demo._exit_code(None, [1, 1], _shown(captured_twice=1), stopped=True) == 1
    assert "1 order(s) captured more than once" in capsys.readouterr().err
    # the daemon ended by itself before the demo was done: 1, never without a line
    assert demo._exit_code(None, [1, 1], _shown(), stopped=False) == 1
    assert capsys.readouterr().err.startswith("error: the daemon stopped before the demo")


def test_demo_interrupted_exits_130_as_its_help_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert re.search(r"^  130 interrupted \(Ctrl-C", _help(capsys, "demo"), re.M)
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    demo_process = subprocess.Popen(
        [sys.executable, "-m", "brygga", "demo", "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert demo_process.stdout is not None
        for line in demo_process.stdout:
            if line.startswith("Placing an order"):
                break
        time.sleep(1.0)
        demo_process.send_signal(signal.SIGINT)
        out, err = demo_process.communicate(timeout=60)
    finally:
        if demo_process.poll() is None:
            demo_process.kill()
            demo_process.wait()
    assert demo_process.returncode == 130, (out, err)
    assert "interrupted (Ctrl-C or SIGTERM): exit 130" in err
    assert "stopped: " in out


def test_a_second_ctrl_c_still_removes_the_demos_folder(tmp_path: Path) -> None:
    """First-hour QA: two Ctrl-C 0.3 s apart forced the exit (os._exit) and left
    /tmp/brygga-demo-*/ behind, with the simulators' secrets in its config."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    demo_process = subprocess.Popen(
        [sys.executable, "-m", "brygga", "demo", "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert demo_process.stdout is not None
        for line in demo_process.stdout:
            if line.startswith("Placing an order"):
                break
        assert list(tmp_path.glob("brygga-demo-*")), "the demo made no folder"
        time.sleep(0.5)
        demo_process.send_signal(signal.SIGINT)
        time.sleep(0.3)
        demo_process.send_signal(signal.SIGINT)
        out, err = demo_process.communicate(timeout=60)
    finally:
        if demo_process.poll() is None:
            demo_process.kill()
            demo_process.wait()
    # forced (130), or the first Ctrl-C's stop was already over and the second ended the
    # process (-SIGINT): either way the folder is gone
    assert demo_process.returncode in (130, -signal.SIGINT), (out, err)
    assert list(tmp_path.glob("brygga-demo-*")) == [], (out, err)


# -- finding 9: plugins shows the effective rate limit ----------------------------------------


def test_plugins_shows_the_rate_limit_each_adapter_keeps_to(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(capsys, "plugins")
    assert code == 0
    assert not re.search(r"^\s+rate_limit\s+None", out, re.M)
    # Starweb publishes no limit: brygga's default, said to be one
    section = out.split("\n  starweb (shop", 1)[1]
    limit = re.search(r"^\s+rate_limit\s+(.*)$", section, re.M)
    assert limit is not None
    assert limit.group(1).startswith("10/1s (brygga's default: starweb publishes none)")
    # Fortnox publishes 25 requests per 5 s
    section = out.split("\n  fortnox (erp", 1)[1]
    limit = re.search(r"^\s+rate_limit\s+(.*)$", section, re.M)
    assert limit is not None and limit.group(1).startswith("25/5s (published)")


# -- finding 13: help and error texts -------------------------------------------------------


def _help(capsys: pytest.CaptureFixture[str], *command: str) -> str:
    """A command's --help, its lines as wide as the text (COLUMNS is set by the caller)."""
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    return capsys.readouterr().out


def test_the_main_help_says_where_the_config_comes_from(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    text = " ".join(_help(capsys).split())
    assert "without it" not in text
    assert (
        "Commands that take -c FILE read the file $BRYGGA_CONFIG names when -c is not given, "
        "else /etc/brygga/brygga.toml." in text
    )


def test_the_demo_no_longer_calls_tqdm_an_extra(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    text = _help(capsys, "demo")
    assert "extra" not in text and "tqdm" not in text


def test_a_bad_connection_name_says_what_a_name_may_contain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = MINIMAL.replace('name = "butiken"', 'name = "demo shop"')
    code, _, err = _run(capsys, "check", "-c", str(_write(tmp_path, text)))
    assert code == 2
    _one_line_error(err, "connection[0].name: not a valid name", "letters", "digits")
    assert "regex" not in err and "[A-Za-z0-9]" not in err


def test_the_dry_run_summary_lines_up(capsys: pytest.CaptureFixture[str]) -> None:
    tally = Tally("economic", ("se",), articles=12, created=3, updated=4, unchanged=5)
    for dry_run in (True, False):
        lines = summary_lines(tally, 2.0, dry_run=dry_run)
        counts = [line for line in lines[1:] if re.match(r"^  \S", line)]
        assert len(counts) == 4, lines
        starts = {re.search(r"\d+$", line).start() for line in counts}  # type: ignore[union-attr]
        assert len(starts) == 1, lines  # every count in one column
    assert "  would be created  3" in summary_lines(tally, 2.0, dry_run=True)


# -- finding 14: the demo's progress in a file ----------------------------------------------


def test_the_demos_progress_in_a_file_is_plain_lines(
    demo_tmp: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """stderr is no terminal here (captured): lines every PLAIN_EVERY seconds (shortened for
    the test) and one at the end, never a bar redrawn with carriage returns."""
    assert demo.PlainLines is PlainLines  # the one `brygga sync products` uses
    monkeypatch.setattr(demo, "PlainLines", functools.partial(PlainLines, every=0.5))
    code, out, err = _run(capsys, *DEMO)
    assert code == 0, (out, err)
    assert "\r" not in err and "\x1b" not in err
    progress = [line for line in err.splitlines() if line.startswith("in ERP ")]
    assert len(progress) >= 2, err
    assert progress[-1].startswith(
        "in ERP 2/2 orders, placed 2, failed 0, duplicates 0, 2 completed in the shop ["
    )


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--interval", "-1", "use 0 or more"),
        ("--interval", "x", "not a number of seconds"),
        ("--orders", "-1", "below 0"),
        ("--timeout", "nan", "out of range"),
        # placed thousands a second, and the demo could not stop in time (first-hour QA)
        ("--interval", "0", "too short"),
    ],
)
def test_demo_refuses_a_negative_or_unreadable_number_in_one_line(
    capsys: pytest.CaptureFixture[str], option: str, value: str, words: str
) -> None:
    """First-hour QA: `--interval -1` died with an ExceptionGroup traceback and `--orders -1
    --exit-when-done` ran forever showing "in ERP 0/-1 orders"."""
    with pytest.raises(SystemExit) as exited:
        main(["demo", option, value, "--orders", "1", "--exit-when-done"])
    out, err = capsys.readouterr()
    assert exited.value.code == 2 and out == ""
    assert f"argument {option}: " in err and words in err and "Traceback" not in err


def test_demo_exit_when_done_without_a_number_of_orders_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """First-hour QA: `--orders 0 --exit-when-done` could never succeed and ended with an empty
    `error: ` line after the timeout."""
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--orders", "0", "--exit-when-done"])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "--exit-when-done needs --orders N" in err


def test_demo_with_the_state_file_of_an_earlier_demo_says_so_in_one_line(
    demo_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """First-hour QA: the README's `demo --state PATH` ran once, then failed on the second run
    with "only 0 of 1 orders arrived in time": the new simulators number their orders from
    1001 again, and the kept file already records order 1001 as transferred."""
    state = demo_tmp / "kept" / "state.db"
    first, _, _ = _run(capsys, *DEMO, "--state", str(state))
    assert first == 0
    code, out, err = _run(capsys, *DEMO, "--state", str(state))
    assert code == 2 and out == ""
    _one_line_error(err, f"--state {state}: ", "earlier demo", "name a new file", "status -c")
    assert state.exists(), "a --state file is never removed"
    fresh, _, _ = _run(capsys, *DEMO, "--state", str(demo_tmp / "kept" / "new.db"))
    assert fresh == 0


def test_demo_on_the_state_file_of_a_running_demo_says_it_runs(
    demo_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """First-hour QA: a second demo on a running demo's --state file called it "an earlier
    demo, whose simulated shop and ERP are gone" while it was still running."""
    from brygga.store.lock import DaemonLock

    state = demo_tmp / "busy" / "state.db"
    state.parent.mkdir(parents=True)
    with DaemonLock(state):  # what the running demo's daemon holds
        code, out, err = _run(capsys, *DEMO, "--state", str(state))
    assert code == 2 and out == ""
    _one_line_error(err, f"--state {state}: ", "is running on this state file")
    assert "earlier demo" not in err
