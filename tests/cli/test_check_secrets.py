"""`brygga check` lists every secret it cannot read in one run (first-hour QA: the example
config needed four runs to show its four missing secrets), each with its key and source."""

from __future__ import annotations

from pathlib import Path

import pytest

from brygga.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "contrib" / "examples"


@pytest.fixture
def no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ECO_APP_SECRET_TOKEN", "SW_CLIENT_ID", "CREDENTIALS_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)


def _errors(err: str) -> list[str]:
    lines = [line for line in err.splitlines() if line.strip()]
    assert all(line.startswith("error: ") for line in lines), err
    return lines


@pytest.mark.usefixtures("no_secrets")
@pytest.mark.parametrize("command", ["check", "run"])
def test_every_missing_secret_of_the_example_in_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    config = tmp_path / "butiken.toml"
    text = (EXAMPLES / "butiken.toml").read_text(encoding="utf-8")
    config.write_text(text.replace("/var/lib/brygga/state.db", "state.db"), encoding="utf-8")
    code = main([command, "-c", str(config)])
    _out, err = capsys.readouterr()
    assert code == 2
    lines = _errors(err)
    assert lines == [
        f"error: {config}: connection[0].erp.app_secret_token: environment variable "
        "ECO_APP_SECRET_TOKEN is not set",
        f"error: {config}: connection[0].erp.agreement_grant_token: cannot read secret file "
        f"{tmp_path / 'eco-grant'}: No such file or directory",
        f"error: {config}: connection[0].shops[0].client_id: environment variable "
        "SW_CLIENT_ID is not set",
        f"error: {config}: connection[0].shops[0].client_secret: cannot read secret file "
        f"{tmp_path / 'sw-secret'}: No such file or directory",
    ]
    assert not (tmp_path / "state.db").exists()


@pytest.mark.usefixtures("no_secrets")
def test_the_secrets_that_are_there_are_not_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "butiken.toml"
    text = (EXAMPLES / "butiken.toml").read_text(encoding="utf-8")
    config.write_text(text.replace("/var/lib/brygga/state.db", "state.db"), encoding="utf-8")
    (tmp_path / "eco-grant").write_text("grant-token-value\n", encoding="utf-8")
    monkeypatch.setenv("SW_CLIENT_ID", "client-id-value")
    code = main(["check", "-c", str(config)])
    _out, err = capsys.readouterr()
    assert code == 2
    lines = _errors(err)
    assert [line.split(": ")[2] for line in lines] == [
        "connection[0].erp.app_secret_token",
        "connection[0].shops[0].client_secret",
    ]
    assert "grant-token-value" not in err and "client-id-value" not in err


@pytest.mark.usefixtures("no_secrets")
def test_another_config_error_is_reported_after_the_missing_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "butiken.toml"
    text = (EXAMPLES / "butiken.toml").read_text(encoding="utf-8")
    config.write_text(
        text.replace("/var/lib/brygga/state.db", "state.db").replace("layout = 19", "layot = 19"),
        encoding="utf-8",
    )
    code = main(["check", "-c", str(config)])
    _out, err = capsys.readouterr()
    assert code == 2
    lines = _errors(err)
    assert len(lines) == 3, err  # the ERP's two secrets, then the misspelt key stops the check
    assert "app_secret_token" in lines[0] and "agreement_grant_token" in lines[1]
    assert "connection[0].erp.layot: unknown key `layot` (did you mean `layout`?)" in lines[2]
