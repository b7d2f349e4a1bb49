"""contrib/prometheus and contrib/grafana refer only to metrics and labels the daemon exports."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import pytest

from brygga.http.client import HttpOutcome
from brygga.metrics import Metrics

CONTRIB = Path(__file__).resolve().parents[2] / "contrib"
ALERTS = CONTRIB / "prometheus" / "alerts.yml"
ALERT_TESTS = CONTRIB / "prometheus" / "alerts_test.yml"
DASHBOARD = CONTRIB / "grafana" / "brygga.json"
#: on the PATH, or where .ci/run unpacks it (next to the venv's python)
PROMTOOL = shutil.which(
    "promtool",
    path=os.pathsep.join([os.environ.get("PATH", os.defpath), str(Path(sys.executable).parent)]),
)
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool is not installed (.ci/run unpacks it from Debian's prometheus package "
    "when apt-get is available)",
)
#: a brygga metric name inside a PromQL expression
_METRIC = re.compile(r"\bbrygga_[a-z_]+\b")


def _exported() -> tuple[set[str], set[str]]:
    """Series names and label names the daemon exposes, from a Metrics with every family used."""
    metrics = Metrics()
    now = datetime.now(UTC)
    metrics.connection_started("c")
    metrics.connection_restarted("c")
    metrics.item("c", "orders", "done")
    metrics.transferred("c", "orders", created=now, done=now)
    metrics.set_backlog("c", "orders", 1)
    metrics.set_failed_records("c", "orders", 1)
    metrics.set_credentials_rejected("c", True)
    metrics.http_request("starweb", "GET", 200, 0.1, "ok")
    names, labels = set(), set()
    for family in metrics.registry.collect():
        for sample in family.samples:
            if not sample.name.endswith("_created"):
                names.add(sample.name)
            labels |= set(sample.labels)
    return names, labels


def _check_expr(expr: str, names: set[str], labels: set[str]) -> list[str]:
    problems = []
    for name in _METRIC.findall(expr):
        if name not in names:
            problems.append(f"unknown metric {name!r} in {expr!r}")
    for group in re.findall(r"\b(?:by|on|without|ignoring)\s*\(([^)]*)\)", expr):
        for label in filter(None, (part.strip() for part in group.split(","))):
            if label not in labels:
                problems.append(f"unknown label {label!r} in {expr!r}")
    for selector in re.findall(r"\{([^}]*)\}", expr):
        for label in re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", selector):
            if label not in labels:
                problems.append(f"unknown label {label!r} in {expr!r}")
    if expr.count("(") != expr.count(")") or expr.count("{") != expr.count("}"):
        problems.append(f"unbalanced brackets in {expr!r}")
    return problems


def _alert_rules() -> list[dict[str, str]]:
    """The alert rules, read without a YAML library: name, expr (block or inline), severity."""
    rules: list[dict[str, str]] = []
    lines = ALERTS.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if match := re.match(r"^\s*- alert: (\w+)$", line):
            rules.append({"alert": match.group(1)})
        elif rules and (match := re.match(r"^(\s*)expr: ?(.*)$", line)):
            indent, inline = match.groups()
            if inline in ("|", ">-", ">"):
                block = []
                for following in lines[index + 1 :]:
                    if following.strip() and len(following) - len(following.lstrip()) <= len(
                        indent
                    ):
                        break
                    block.append(following.strip())
                inline = " ".join(block)
            rules[-1]["expr"] = inline
        elif rules and (match := re.match(r"^\s*(severity|summary|for): ?(.*)$", line)):
            rules[-1][match.group(1)] = match.group(2)
    return rules


def test_alert_rules_use_exported_metrics_and_labels() -> None:
    names, labels = _exported()
    rules = _alert_rules()
    assert len(rules) >= 5
    assert len({r["alert"] for r in rules}) == len(rules), "alert names are unique"
    problems = []
    for rule in rules:
        assert rule.get("expr"), f"{rule['alert']} has no expr"
        assert rule.get("severity") in ("critical", "warning", "info"), rule
        assert rule.get("summary"), f"{rule['alert']} has no summary"
        problems += _check_expr(rule["expr"], names, labels)
    assert not problems, "\n".join(problems)


def test_alert_rules_cover_the_essentials() -> None:
    exprs = " ".join(rule["expr"] for rule in _alert_rules())
    for metric in (
        "brygga_connection_up",
        "brygga_failed_records",
        "brygga_backlog",
        "brygga_http_requests_total",
        "brygga_transfer_latency_seconds_bucket",
        "brygga_last_success_timestamp_seconds",
    ):
        assert metric in exprs


def _outcome_values(expr: str) -> set[str]:
    """Values an ``outcome`` matcher names (``=`` or a ``=~`` alternation)."""
    values: set[str] = set()
    for match in re.findall(r'outcome\s*=~?\s*"([^"]*)"', expr):
        values |= set(match.split("|"))
    return values


def test_outcome_matchers_name_outcomes_the_daemon_exports() -> None:
    known = set(get_args(HttpOutcome)) | {"done", "failed", "skipped", "retried"}
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [rule["expr"] for rule in _alert_rules()] + [e for _, e in _targets(dashboard)]
    unknown = {value for expr in exprs for value in _outcome_values(expr)} - known
    assert not unknown


def test_http_errors_do_not_count_not_found() -> None:
    # a reference lookup that finds nothing answers 404 by design: it is no error
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    [errors] = [e for t, e in _targets(dashboard) if t.lower() == "http errors by system"]
    assert _outcome_values(errors) == {"client_error", "server_error", "timeout", "network_error"}
    assert "status" not in errors
    [remote] = [rule["expr"] for rule in _alert_rules() if rule["alert"] == "BryggaRemoteErrors"]
    assert _outcome_values(remote) == {"server_error", "timeout", "network_error"}


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, check=False, timeout=120
    )


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    result = _promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_unit_tests_of_the_rules_pass() -> None:
    result = _promtool("test", "rules", str(ALERT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_unit_test_that_sees_it_fire() -> None:
    text = ALERT_TESTS.read_text(encoding="utf-8")
    # an alert_rule_test entry names the alert and lists at least one expected alert
    firing = set(re.findall(r"alertname: (\w+)\n\s+exp_alerts:\n\s+- exp_labels:", text))
    missing = {rule["alert"] for rule in _alert_rules()} - firing
    assert not missing, f"alerts without a firing case in {ALERT_TESTS.name}: {sorted(missing)}"


def _targets(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def test_dashboard_panels_use_exported_metrics_and_labels() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    names, labels = _exported()
    labels |= {"connection"}  # the template variable's label
    problems = []
    for _, expr in _targets(dashboard):
        problems += _check_expr(expr.replace("$__rate_interval", "5m"), names, labels)
    assert not problems, "\n".join(problems)
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    assert dashboard["uid"] and dashboard["title"] == "brygga"


def test_dashboard_has_the_promised_panels() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    titles = {title.lower(): expr for title, expr in _targets(dashboard)}
    wanted = {
        "connection up": "brygga_connection_up",
        "transferred per minute": 'outcome="done"',
        "failed records": "brygga_failed_records",
        "backlog": "brygga_backlog",
        "transfer latency p50 / p95": "histogram_quantile(0.95",
        "http errors by system": "by (system",
    }
    for title, fragment in wanted.items():
        assert title in titles, f"no panel {title!r}"
        exprs = [e for t, e in _targets(dashboard) if t.lower() == title]
        assert any(fragment in e for e in exprs), f"{title!r} does not use {fragment!r}"
    latency = [e for t, e in _targets(dashboard) if "latency" in t.lower()]
    assert any("histogram_quantile(0.5," in e for e in latency)
