"""Secrets in config: read from the environment or a file, never printed, scrubbed from text."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["MASK", "Secret", "resolve_secret", "scrub"]

#: what a scrubbed secret is replaced with
MASK = "***"


class Secret:
    """A secret value. ``str()`` and ``repr()`` never show it; call :meth:`reveal` at the wire."""

    __slots__ = ("_source", "_value")

    def __init__(self, value: str, *, source: str = "inline") -> None:
        self._value = value
        self._source = source

    def reveal(self) -> str:
        return self._value

    @property
    def source(self) -> str:
        """Where it came from (``env:NAME``, ``file:PATH`` or ``inline``): safe to show."""
        return self._source

    def __repr__(self) -> str:
        return f"Secret(<{self._source}>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def resolve_secret(spec: Any, *, base_dir: Path | None = None) -> Secret:
    """Turn a config value (``"inline"``, ``{env = NAME}`` or ``{file = PATH}``) into a Secret.

    Relative file paths resolve against ``$CREDENTIALS_DIRECTORY`` (systemd's LoadCredential=)
    when set, else against ``base_dir`` (the config file's folder). Raises ValueError with a
    message that names the source but never the value.
    """
    if isinstance(spec, Secret):
        return spec
    if isinstance(spec, str):
        return Secret(spec)
    if not isinstance(spec, dict) or len(spec) != 1 or not ({"env", "file"} & spec.keys()):
        raise ValueError('Expected a string, { env = "NAME" } or { file = "path" }')
    if "env" in spec:
        name = spec["env"]
        if not isinstance(name, str) or not name:
            raise ValueError("`env` must name an environment variable")
        value = os.environ.get(name)
        if value is None:
            raise ValueError(f"environment variable {name} is not set")
        if not value.strip():
            raise ValueError(f"environment variable {name} is empty")
        return Secret(value, source=f"env:{name}")
    raw = spec["file"]
    if not isinstance(raw, str) or not raw:
        raise ValueError("`file` must be a path")
    path = Path(raw)
    if not path.is_absolute():
        creds = os.environ.get("CREDENTIALS_DIRECTORY")
        root = Path(creds) if creds else (base_dir or Path.cwd())
        path = root / path
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"cannot read secret file {path}: {exc.strerror}") from None
    if not value:
        raise ValueError(f"secret file {path} is empty")
    return Secret(value, source=f"file:{path}")


def scrub(text: str, *secrets: str | Secret | None) -> str:
    """``text`` (e.g. an error a server sent back, which may echo what it got) with every
    occurrence of each secret replaced by ``***``. Empty and None secrets are skipped; longer
    secrets go first, so a secret that contains another is never left half visible. Scrub
    before shortening a text: a cut could leave part of a secret behind."""
    values = {s.reveal() if isinstance(s, Secret) else s for s in secrets}
    for value in sorted((v for v in values if v), key=len, reverse=True):
        text = text.replace(value, MASK)
    return text
