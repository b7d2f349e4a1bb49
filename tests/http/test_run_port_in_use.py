"""`brygga run` on a listen port another program holds: one line naming the key, exit 2 (so
systemd's RestartPreventExitStatus=2 stops the restart loop), no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from brygga.testing import write_config
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.simulator import StarwebSimulator


def test_a_listen_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(
            tmp_path / "brygga.toml",
            state=str(tmp_path / "state.db"),
            listen=f"127.0.0.1:{port}",
            # nothing answers there: the daemon must stop before any connection starts
            erp=EconomicSimulator(seed_catalog=False).adapter_config("http://127.0.0.1:9"),
            shops=[StarwebSimulator(seed_catalog=False).adapter_config("http://127.0.0.1:9")],
            connection={"registers": {"price_lists": "off"}},
        )
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        done = subprocess.run(
            [sys.executable, "-m", "brygga", "run", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "ExceptionGroup" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert errors == [
        f'error: {config}: [daemon] listen = "127.0.0.1:{port}": address already in use; '
        "another program (or another brygga) listens there: stop it, or choose another port "
        f"(`ss -ltnp 'sport = :{port}'` shows which program)"
    ], done.stderr
