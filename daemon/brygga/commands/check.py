"""`brygga check`: validate a config and print each connection's flow table; `--remote` also
asks every configured system, read-only, whether the config will work against it."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import anyio

from brygga.accountstate import AdapterStateStore
from brygga.adapters import (
    AdapterConfig,
    AdapterContext,
    AdapterSpec,
    HelperArticle,
    RemoteFinding,
    RemoteNeeds,
    RemoteVerifier,
    Role,
)
from brygga.commands.common import (
    failed_plugin_lines,
    open_state,
    plugin_host_for,
    print_table,
    refuse_failed_plugins,
    start_plugins,
)
from brygga.commands.state_on_write import StateOnWrite
from brygga.config import LoadedConfig, ResolvedConnection, load_config
from brygga.errors import BryggaError, ConfigError
from brygga.http.client import HttpContext
from brygga.models import LineKind, Register
from brygga.secrets import Secret, scrub
from brygga.store.db import SchemaTooOld
from brygga.store.schema import LATEST, file_version
from brygga.sync.flows import flow_table, masters, status_table
from brygga.sync.wiring import config_problems

__all__ = ["SystemReport", "remote_needs", "remote_reports", "run"]


@dataclass(frozen=True)
class SystemReport:
    """The remote findings for one system of one connection; ``findings`` None means the
    adapter offers no remote checks."""

    connection: str
    role: Role
    name: str
    kind: str
    findings: tuple[RemoteFinding, ...] | None

    @property
    def problems(self) -> list[RemoteFinding]:
        return [f for f in self.findings or () if not f.ok]


def remote_needs(conn: ResolvedConnection, shop: str | None = None) -> RemoteNeeds:
    """What the ERP (``shop`` None) or ``shop`` is asked for: the registers the connection
    reads from it and writes to it; the helper articles the connection's orders use: freight,
    handling and discount rows at every rate in ``[connection.orders] vat_rates``; rounding
    rows at 0 %; the shops' own customer groups; and the shop statuses the status rules name
    (for ``shop``: with its own rules in their place)."""
    table = flow_table(conn)
    statuses: tuple[str, ...] = ()
    if any(r.register is Register.STATUS and r.active for r in table):
        rules = conn.config.status.rules(shop).values()
        statuses = tuple(dict.fromkeys(rule.shop_status for rule in rules))
    # a register mastered by this side is read from it; one mastered by the other, written
    here = "erp" if shop is None else "shop"
    ruled = masters(conn)
    reads = tuple(r for r, master in ruled.items() if master == here)
    writes = tuple(r for r, master in ruled.items() if master not in ("off", here))
    active = any(r.register is Register.ORDERS and r.active for r in table)
    if not active:
        return RemoteNeeds(shop_statuses=statuses, reads=reads, writes=writes)
    orders = conn.config.orders
    rates = tuple(dict.fromkeys(Decimal(str(rate)).normalize() for rate in orders.vat_rates))
    fees = orders.fee_articles
    return RemoteNeeds(
        helper_articles=(
            HelperArticle(LineKind.FREIGHT, fees.freight, rates),
            HelperArticle(LineKind.FEE, fees.handling, rates),
            HelperArticle(LineKind.DISCOUNT, fees.discount, rates),
            HelperArticle(LineKind.ROUNDING, fees.rounding, (Decimal(0),)),
        ),
        shop_statuses=statuses,
        customer_groups=tuple(
            (name, str(settings.customer_group))
            for name, settings in orders.shops.items()
            if settings.customer_group is not None
        ),
        reads=reads,
        writes=writes,
    )


def _secrets(cfg: AdapterConfig) -> list[str]:
    values = (getattr(cfg, name) for name in cfg.__struct_fields__)
    return [v.reveal() for v in values if isinstance(v, Secret) and v.reveal()]


def _scrub(finding: RemoteFinding, secrets: Iterable[str]) -> RemoteFinding:
    return RemoteFinding(finding.check, finding.ok, scrub(finding.detail, *secrets))


async def _verify(
    conn: ResolvedConnection,
    role: Role,
    spec: AdapterSpec,
    cfg: AdapterConfig,
    needs: RemoteNeeds,
    http: HttpContext,
    state: AdapterStateStore,
) -> SystemReport:
    findings: list[RemoteFinding] | None
    try:
        adapter = spec.factory(cfg, AdapterContext(conn.name, cfg.name, http, state))
    except Exception as exc:  # a broken plugin must not hide the other systems' results
        findings = [RemoteFinding("adapter", False, f"could not be built: {_error(exc)}")]
    else:
        try:
            if isinstance(adapter, RemoteVerifier):
                findings = await adapter.verify_remote(needs)
            else:
                findings = None
        except Exception as exc:  # an unreachable system is a finding, never a traceback
            findings = [RemoteFinding("reachable", False, _error(exc))]
        finally:
            with contextlib.suppress(Exception):  # closing is best effort; findings stand
                await adapter.aclose()
    secrets = _secrets(cfg)
    return SystemReport(
        connection=conn.name,
        role=role,
        name=cfg.name,
        kind=cfg.kind,
        findings=None if findings is None else tuple(_scrub(f, secrets) for f in findings),
    )


def _error(exc: Exception) -> str:
    if isinstance(exc, BryggaError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


async def remote_reports(loaded: LoadedConfig, http: HttpContext) -> list[SystemReport]:
    """Every system of every connection, checked read-only, ERP first, one at a time.

    An existing state file lends the adapters their durable state (credentials an adapter
    rotates live there); without one, the file is created only if an adapter writes to its
    state (a rotated single-use refresh token must outlive the check: :mod:`state_on_write`)."""
    async with contextlib.AsyncExitStack() as stack:
        state: AdapterStateStore
        if await anyio.Path(loaded.state_path).exists():
            store = await open_state(loaded.state_path)  # never migrates
            stack.push_async_callback(store.close)
            state = store.adapter_state
        else:
            on_write = StateOnWrite(loaded.state_path)
            stack.push_async_callback(on_write.aclose)
            state = on_write
        reports = []
        for conn in loaded.connections:
            needs = remote_needs(conn)
            shops = zip(conn.shop_specs, conn.shops, strict=True)
            systems = [(Role.ERP, conn.erp_spec, conn.erp)]
            systems += [(Role.SHOP, spec, cfg) for spec, cfg in shops]
            for role, spec, cfg in systems:
                wants = needs if role is Role.ERP else remote_needs(conn, cfg.name)
                reports.append(await _verify(conn, role, spec, cfg, wants, http, state))
        return reports


def _print_remote(reports: list[SystemReport]) -> int:
    """Print the reports; return the number of problems."""
    print("\nremote checks (read-only):")
    current = ""
    for report in reports:
        if report.connection != current:
            current = report.connection
            print(f"\nconnection {current}")
        print(f"  {report.role.value} {report.name} ({report.kind})")
        if report.findings is None:
            print(f"    -        remote checks are not available for adapter {report.kind!r}")
            continue
        for finding in report.findings:
            status = "ok     " if finding.ok else "PROBLEM"
            detail = f": {finding.detail}" if finding.detail else ""
            print(f"    {status}  {finding.check}{detail}")
    return sum(len(report.problems) for report in reports)


def run(args: argparse.Namespace) -> int:
    path = Path(args.config)
    host = plugin_host_for(path)
    try:
        refuse_failed_plugins(host, path)
        loaded = load_config(path, host)
        start_plugins(host, loaded)  # the plugins' own settings, as `brygga run` checks them
    except ConfigError as exc:
        for line in str(exc).splitlines():  # one line per problem (every missing secret)
            print(f"error: {line}", file=sys.stderr)
        return 2
    # keys a flow of the connection needs (e.g. e-conomic's product group when products flow
    # into it): a config error, as the daemon's start refuses it
    missing = [
        f"{path}: connection {conn.name!r}: {problem}"
        for conn in loaded.connections
        for problem in config_problems(conn)
    ]
    if missing:
        for problem in missing:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    failed = False
    print(f"{path}: {len(loaded.connections)} connection(s); state file {loaded.state_path}")
    version = file_version(loaded.state_path)
    if version and version < LATEST:
        print(
            f"note: the state file has schema version {version} (an older brygga's); "
            f"`brygga run` of this version migrates it to {LATEST} when it starts"
        )
    for conn in loaded.connections:
        shops = ", ".join(f"{c.name} ({c.kind})" for c in conn.shops)
        state = "" if conn.config.enabled else " [disabled]"
        print(
            f"\nconnection {conn.name}{state}: mode {conn.config.mode}, "
            f"erp {conn.erp.kind}, shops {shops}"
        )
        rows = [("register", "from", "to", "note")]
        errors = []
        status_runs = False
        for row in flow_table(conn):
            rows.append((row.register.value, row.source, row.target, row.note))
            status_runs |= row.register is Register.STATUS and row.source != "-"
            if row.error:
                errors.append(row.error)
        print_table(rows)
        statuses = status_table(conn)
        if statuses and status_runs:
            print("\n  status back to the shop:")
            print_table([("erp event", "shop status", "e-mail", "tracking", "capture"), *statuses])
        for error in errors:
            failed = True
            print(f"  error: {error}", file=sys.stderr)
    for line in failed_plugin_lines(host):  # the config gives none of them settings
        print(f"\nwarning: {line}", file=sys.stderr)
    if failed:
        print(
            "\nconfig refused: fix the errors above (or turn the register off in "
            "[connection.registers])",
            file=sys.stderr,
        )
    if getattr(args, "remote", False):
        try:
            reports = anyio.run(remote_reports, loaded, HttpContext())
        except SchemaTooOld as exc:  # an older state file this check cannot read as it is
            print(f"error: {exc}", file=sys.stderr)
            return 2
        problems = _print_remote(reports)
        if problems:
            print(
                f"\nremote check: {problems} problem(s); fix them above before the first "
                "order needs them",
                file=sys.stderr,
            )
            return 1
        if not failed:
            print("\nremote OK")
    if failed:
        return 1
    print("\nconfig OK")
    return 0
