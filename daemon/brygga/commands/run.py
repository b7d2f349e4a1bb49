"""`brygga run`: load the config, set up logging and run the daemon (runtime.app) until SIGTERM."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import anyio

from brygga.commands.common import brygga_error, failed_plugin_lines, load, setup_logging
from brygga.errors import BryggaError, ConfigError, SchemaTooNewError
from brygga.http.server import ListenError
from brygga.runtime.app import MetricsObserver, seed_last_success, serve
from brygga.store.db import SchemaTooOld
from brygga.store.lock import StateInUse

# serve, MetricsObserver and seed_last_success live in brygga.runtime.app; importable from here
__all__ = ["MetricsObserver", "run", "seed_last_success", "serve"]

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    path = Path(args.config)
    try:
        loaded, host = load(path)
    except BryggaError as exc:
        for line in str(exc).splitlines():  # one line per problem (every missing secret)
            print(f"error: {line}", file=sys.stderr)
        return 2
    setup_logging(args.log_level or loaded.config.daemon.log_level)
    for line in failed_plugin_lines(host):  # the config gives none of them settings
        log.warning("%s", line)
    log.info(
        "brygga starting: %d connection(s), state %s, listening on %s",
        len(loaded.connections),
        loaded.state_path,
        loaded.config.daemon.listen,
    )
    try:
        anyio.run(serve, loaded, host, backend="asyncio")
    except (BryggaError, BaseExceptionGroup) as raised:
        error = brygga_error(raised)
        if error is None:
            raise
        if isinstance(error, ListenError):
            # systemd: exit 2 matches RestartPreventExitStatus=2, so no restart loop
            listen = loaded.config.daemon.listen
            print(f'error: {path}: [daemon] listen = "{listen}": {error.reason}', file=sys.stderr)
            return 2
        if isinstance(error, SchemaTooNewError | SchemaTooOld):
            print(f"error: {error}", file=sys.stderr)
            return 2
        log.error("%s", error)
        # another daemon on this state file: exit 2 too, so systemd does not restart in a loop
        return 2 if isinstance(error, ConfigError | StateInUse) else 1
    log.info("brygga stopped")
    return 0
