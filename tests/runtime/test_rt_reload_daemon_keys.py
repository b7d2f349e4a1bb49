"""A SIGHUP reload applies the connections only: a changed ``[daemon]`` key (listen, log level,
state, …) is named in a warning instead of being dropped without a word (operator QA pass:
`listen` changed and reloaded, the old port kept answering and the log said nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from brygga.config import load_config
from brygga.plugins import PluginHost
from brygga.runtime.app import daemon_keys_changed
from brygga.testing import write_config
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.simulator import StarwebSimulator


def _config(tmp_path: Path, name: str, **daemon: Any) -> Path:
    return write_config(
        tmp_path / name,
        state=str(tmp_path / "state.db"),
        listen=daemon.pop("listen", "127.0.0.1:9464"),
        daemon=daemon,
        erp=EconomicSimulator().adapter_config("http://erp.test"),
        shops=[StarwebSimulator().adapter_config("http://shop.test/api/v2", name="se")],
    )


def test_a_reload_names_the_daemon_keys_it_cannot_apply(tmp_path: Path) -> None:
    host = PluginHost()
    running = load_config(_config(tmp_path, "a.toml"), host)
    same = load_config(_config(tmp_path, "b.toml"), host)
    assert daemon_keys_changed(running, same) == []
    moved = load_config(
        _config(tmp_path, "c.toml", listen="127.0.0.1:9465", log_level="debug"), host
    )
    assert daemon_keys_changed(running, moved) == ["listen", "log_level"]
