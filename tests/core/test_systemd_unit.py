"""systemd/: the unit runs `brygga run -c` as Type=notify with a watchdog, hardened."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from brygga.cli import build_parser
from brygga.config import DaemonConfig
from brygga.durations import parse_duration

ROOT = Path(__file__).resolve().parents[2]
SYSTEMD = ROOT / "systemd"
UNIT = SYSTEMD / "brygga.service"


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def _seconds(value: str) -> float:
    """A systemd time span: a bare number is seconds, otherwise units like ``30s`` or ``1min``."""
    value = value.strip().replace("min", "m")
    return float(value) if value.replace(".", "", 1).isdigit() else float(parse_duration(value))


def _env_secrets(value: object) -> set[str]:
    """The variables named by ``{ env = "NAME" }`` anywhere in a parsed config."""
    if isinstance(value, dict):
        if set(value) == {"env"}:
            return {value["env"]}
        return {name for v in value.values() for name in _env_secrets(v)}
    if isinstance(value, list):
        return {name for v in value for name in _env_secrets(v)}
    return set()


def test_unit_is_type_notify_with_a_watchdog() -> None:
    service = _unit()["Service"]
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "main"
    assert _seconds(service["WatchdogSec"]) > 0


def test_exec_start_matches_the_cli() -> None:
    argv = shlex.split(_unit()["Service"]["ExecStart"])
    assert argv[0] == "/usr/bin/brygga"
    args = build_parser().parse_args(argv[1:])
    assert args.command == "run"
    assert argv[1:3] == ["run", "-c"]
    assert args.config == "/etc/brygga/brygga.toml"


def test_reload_stop_and_restart() -> None:
    service = _unit()["Service"]
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["Restart"] == "on-failure"
    deadline = DaemonConfig().shutdown_deadline
    assert _seconds(service["TimeoutStopSec"]) > deadline, "stop timeout above the drain deadline"
    assert "2" in service["RestartPreventExitStatus"].split(), "exit 2 is a config error"


def test_unit_runs_as_the_sysusers_user_with_its_state_directory() -> None:
    service = _unit()["Service"]
    assert service.get("DynamicUser") == "yes" or service.get("User") == "brygga"
    assert service["StateDirectory"] == "brygga"
    sysusers = (SYSTEMD / "brygga.sysusers.conf").read_text(encoding="utf-8")
    assert re.search(r"^u\s+brygga\s", sysusers, re.M)
    tmpfiles = (SYSTEMD / "brygga.tmpfiles.conf").read_text(encoding="utf-8")
    assert re.search(r"^d\s+/var/lib/brygga\s+0750\s+brygga\s+brygga\b", tmpfiles, re.M)
    assert re.search(r"^d\s+/etc/brygga/credentials\s+0700\s+root\s+root\b", tmpfiles, re.M)


def test_unit_is_hardened() -> None:
    service = _unit()["Service"]
    for key in (
        "NoNewPrivileges",
        "ProtectHome",
        "PrivateTmp",
        "PrivateDevices",
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectKernelLogs",
        "ProtectControlGroups",
        "RestrictNamespaces",
        "RestrictSUIDSGID",
        "LockPersonality",
    ):
        assert service.get(key) == "yes", key
    assert service["ProtectSystem"] == "strict"
    assert set(service["RestrictAddressFamilies"].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    text = UNIT.read_text(encoding="utf-8")
    assert re.search(r"^SystemCallFilter=@system-service$", text, re.M)
    assert re.search(r"^#?LoadCredential=\S+:/etc/brygga/credentials/\S+$", text, re.M)


def test_env_example_covers_the_example_config() -> None:
    example = (ROOT / "contrib" / "examples" / "butiken.toml").read_text(encoding="utf-8")
    wanted = _env_secrets(tomllib.loads(example))
    env = (SYSTEMD / "brygga.env.example").read_text(encoding="utf-8")
    defined = set(re.findall(r"^#?([A-Z_][A-Z0-9_]*)=", env, re.M))
    assert wanted and wanted <= defined
    assert _unit()["Service"]["EnvironmentFile"] == "-/etc/brygga/brygga.env"


#: where systemd-analyze is missing (containers, macOS), the two checks below skip with this
_NO_SYSTEMD_ANALYZE = "systemd-analyze not installed (Debian/Ubuntu: apt-get install systemd)"
#: the unit's `systemd-analyze security --offline` exposure (0 = locked down, 10 = exposed);
#: the README states it. Hardening may lower it, nothing may raise it.
MAX_EXPOSURE = 1.1


def _unit_for_this_venv(directory: Path) -> Path:
    """The unit with ExecStart pointed at this interpreter's ``brygga`` script, so systemd can
    check that the command exists."""
    script = Path(sys.executable).parent / "brygga"
    if not script.exists():
        pytest.skip("no brygga console script beside the interpreter")
    unit = directory / "brygga.service"
    unit.write_text(UNIT.read_text(encoding="utf-8").replace("/usr/bin/brygga", str(script)))
    return unit


def _systemd_analyze(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", *args], capture_output=True, text=True, check=False, timeout=60
    )


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason=_NO_SYSTEMD_ANALYZE)
def test_systemd_analyze_verify(tmp_path: Path) -> None:  # pragma: no cover - needs systemd
    result = _systemd_analyze("verify", str(_unit_for_this_venv(tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "brygga.service" not in result.stderr, result.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason=_NO_SYSTEMD_ANALYZE)
def test_systemd_analyze_security_exposure(tmp_path: Path) -> None:  # pragma: no cover
    unit = _unit_for_this_venv(tmp_path)
    # --threshold is on systemd's internal 0-100 scale: 11 is an exposure of 1.1
    result = _systemd_analyze(
        "security", "--offline=yes", f"--threshold={round(MAX_EXPOSURE * 10)}", str(unit)
    )
    if "--offline" in result.stderr:
        pytest.skip(f"systemd-analyze has no --offline (systemd 250 or later): {result.stderr}")
    found = re.search(r"Overall exposure level for brygga\.service: (\d+(?:\.\d+)?)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found[1]) <= MAX_EXPOSURE, f"exposure {found[1]}: see the ✗ lines\n{result.stdout}"
    assert result.returncode == 0, result.stdout + result.stderr
