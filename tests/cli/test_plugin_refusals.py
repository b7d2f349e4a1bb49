"""A plugin the config gives settings must be there (first-hour QA): one that failed to load is
a config error for `check`, `run` and the commands that send (exit 2, one line), never a warning
while orders go to the ERP without its mappings; its settings are checked by `check` as `run`
checks them (a PluginError is one line, exit 2, with and without --remote)."""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from brygga.cli import main
from brygga.commands.common import failed_plugin_lines
from brygga.plugins import PluginHost
from brygga.store.lock import DaemonLock

CONFIG = """\
[daemon]
state = "state.db"

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

#: a working plugin that checks its one option, as the plugin template does
_GOOD = """\
from typing import Any

import pluggy

from brygga.errors import PluginError

hookimpl = pluggy.HookimplMarker("brygga")


@hookimpl
def brygga_startup(settings: dict[str, Any]) -> None:
    table = settings.get("acme", {})
    if "prefix" in table and not isinstance(table["prefix"], str):
        raise PluginError("[plugins.acme].prefix: expected a string")
"""

_BROKEN = "raise ImportError('cannot import name Mapping from brygga_missing')\n"


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Installs plugin ``acme`` (an entry point in group brygga) beside the real ones; call
    the fixture's value with True to make it one whose module raises ImportError."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "acme_good.py").write_text(_GOOD, encoding="utf-8")
    (folder / "acme_broken.py").write_text(_BROKEN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    real = importlib.metadata.entry_points
    chosen = {"module": "acme_good"}

    def entry_points(**params: Any) -> Any:
        found = list(real(**params))
        if params.get("group") == "brygga":
            found.append(importlib.metadata.EntryPoint("acme", chosen["module"], "brygga"))
        return found

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)

    def install(broken: bool) -> None:
        chosen["module"] = "acme_broken" if broken else "acme_good"

    yield install


def _config(tmp_path: Path, extra: str = "") -> str:
    path = tmp_path / "brygga.toml"
    path.write_text(CONFIG + extra, encoding="utf-8")
    return str(path)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


NAMED = '\n[plugins.acme]\nprefix = "SE-"\n'


def _one_refusal(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [
        ("check",),
        ("check", "--remote"),
        ("run",),
        ("sync", "products", "--connection", "butiken", "--from", "erp", "--dry-run"),
        (
            "replay",
            "order",
            "41",
            "--connection",
            "butiken",
            "--shop",
            "starweb",
            "--here",
            "--yes",
        ),
    ],
)
def test_a_named_plugin_that_failed_to_load_is_a_config_error(
    tmp_path: Path, acme: Any, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    acme(True)
    config = _config(tmp_path, NAMED)
    code, out, err = _run(capsys, *command, "-c", config)
    assert code == 2, (out, err)
    line = _one_refusal(err)
    assert line.startswith("error: ") and "acme" in line
    assert "ImportError" in line and "brygga_missing" in line  # the error itself
    assert "disabled_plugins" in line and "[plugins.acme]" in line  # the fixes
    assert "config OK" not in out and "Traceback" not in err
    assert not (tmp_path / "state.db").exists()  # nothing started


def test_a_disabled_plugin_with_settings_is_not_refused(
    tmp_path: Path, acme: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    acme(True)
    config = _config(tmp_path, NAMED)
    disabled = CONFIG.replace("[daemon]\n", '[daemon]\ndisabled_plugins = ["acme"]\n')
    Path(config).write_text(disabled + NAMED, encoding="utf-8")
    code, out, err = _run(capsys, "check", "-c", config)
    assert code == 0, err
    assert "config OK" in out


def test_an_unnamed_plugin_that_failed_to_load_stays_a_warning(
    tmp_path: Path, acme: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    acme(True)
    code, out, err = _run(capsys, "check", "-c", _config(tmp_path))
    assert code == 0, err
    assert "config OK" in out
    warnings = [line for line in err.splitlines() if line.strip()]
    assert len(warnings) == 1, err  # once, from check (the host itself printed nothing)
    assert warnings[0].startswith("warning: plugin acme failed to load: ImportError")


def test_the_host_logs_nothing_while_loading(
    acme: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run` builds the host before logging is set up: an error logged then reached stderr
    through logging's last resort, without time or level; `run` logs the warning itself."""
    acme(True)
    with caplog.at_level(logging.INFO, logger="brygga.plugins"):
        host = PluginHost()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert capsys.readouterr().err == ""
    assert failed_plugin_lines(host) == [
        "plugin acme failed to load: ImportError: cannot import name Mapping from brygga_missing"
    ]


@pytest.mark.parametrize("remote", [False, True])
def test_check_refuses_a_setting_the_plugin_refuses(
    tmp_path: Path, acme: Any, capsys: pytest.CaptureFixture[str], remote: bool
) -> None:
    acme(False)
    config = _config(tmp_path, "\n[plugins.acme]\nprefix = 5\n")
    code, out, err = _run(capsys, "check", *(["--remote"] if remote else []), "-c", config)
    assert code == 2, (out, err)
    line = _one_refusal(err)
    assert line == f"error: {config}: [plugins.acme].prefix: expected a string"
    assert "config OK" not in out


def test_check_passes_a_setting_the_plugin_takes(
    tmp_path: Path, acme: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    acme(False)
    code, out, err = _run(capsys, "check", "-c", _config(tmp_path, NAMED))
    assert code == 0, err
    assert "config OK" in out


def test_run_refuses_a_setting_the_plugin_refuses_in_one_line(
    tmp_path: Path, acme: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    acme(False)
    config = _config(tmp_path, "\n[plugins.acme]\nprefix = 5\n")
    code, _out, err = _run(capsys, "run", "-c", config)
    assert code == 2
    assert _one_refusal(err) == f"error: {config}: [plugins.acme].prefix: expected a string"


def test_run_logs_an_unnamed_failed_plugin_as_a_warning(
    tmp_path: Path,
    acme: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Through logging, with its level (a daemon on the state file stops this one at once)."""
    acme(True)
    config = _config(tmp_path)
    with DaemonLock(tmp_path / "state.db"), caplog.at_level(logging.INFO):
        code = main(["run", "-c", config])
    capsys.readouterr()
    assert code == 2  # the other daemon
    warnings = [r for r in caplog.records if "plugin acme failed to load" in r.getMessage()]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    assert warnings[0].name == "brygga.commands.run"
