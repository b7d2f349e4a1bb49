"""Every config a user may copy passes `brygga check`: each ```toml block of README.md and each
file in contrib/examples/, with the secrets they name provided (as systemd would)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from brygga.cli import main

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
EXAMPLES = ROOT / "contrib" / "examples"

#: a fenced TOML block; every one in the README is a complete config (no fragments)
_BLOCK = re.compile(r"^```toml\n(?P<body>.*?)^```", re.M | re.S)
#: secret references: found in the text, so a block that is not valid TOML still gets them
_ENV = re.compile(r'\{\s*env\s*=\s*"(?P<name>[^"]+)"\s*\}')
_FILE = re.compile(r'\{\s*file\s*=\s*"(?P<name>[^"]+)"\s*\}')


def _readme_blocks() -> list[str]:
    return [match.group("body") for match in _BLOCK.finditer(README.read_text(encoding="utf-8"))]


def _configs() -> list[tuple[str, str]]:
    blocks = [(f"README.md block {i + 1}", body) for i, body in enumerate(_readme_blocks())]
    examples = sorted(EXAMPLES.glob("*"))
    return blocks + [(f"contrib/examples/{p.name}", p.read_text("utf-8")) for p in examples]


def test_the_readme_and_the_examples_hold_configs() -> None:
    assert _readme_blocks(), "the README shows a config"
    assert {p.name for p in EXAMPLES.glob("*.toml")} >= {"butiken.toml", "multishop.toml"}


@pytest.mark.parametrize(("where", "text"), _configs(), ids=[w for w, _ in _configs()])
def test_config_passes_check(
    where: str,
    text: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    for match in _ENV.finditer(text):
        monkeypatch.setenv(match.group("name"), f"test-{match.group('name').lower()}")
    for match in _FILE.finditer(text):
        (credentials / match.group("name")).write_text("test-secret\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    config = tmp_path / "brygga.toml"
    config.write_text(text, encoding="utf-8")

    code = main(["check", "-c", str(config)])
    out, err = capsys.readouterr()
    assert code == 0, f"{where}: {err}"
    assert out.rstrip().endswith("config OK"), where
    assert "warning" not in err, where
