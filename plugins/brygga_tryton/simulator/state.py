"""The simulator's database: records per model, Tryton domains, the sale workflow.

Modelled on trytond 8.2 (``modules/sale``, ``account_invoice``, ``stock``, ``party``,
``product``; checked against the real server in tests/real/tryton), reduced to what a shop
sync touches:

- Records are dicts per model; Many2One values are ids, One2Many/Many2Many lists of ids.
  ``create`` takes One2Many ``[["create", [values]]]`` and Many2Many ``[["add", ids]]``.
  ``write_date`` is set by writes only, ``create_date`` on create (naive UTC, as Tryton).
- Domains: ``[field, operator, value]`` clauses, nested lists, a leading ``"OR"``/``"AND"``;
  operators ``= != in not in like ilike < <= > >=``; dotted paths through Many2One fields;
  records with ``active`` false are left out unless the domain names ``active``.
- Sales: ``quote`` numbers the sale; ``confirm`` also processes it (trytond 8.2 queues
  ``process`` after ``confirm`` and, with no worker, runs it after the commit): a draft
  invoice (invoice method "order") and a waiting customer shipment whose moves lower the
  forecast quantity. ``cancel`` only from draft or quotation, else a UserError.
- Taxes are rounded per document and tax (Tryton's default ``tax_rounding``).
- Booleans are answered as 0/1, as trytond on SQLite does.
"""

from __future__ import annotations

import fnmatch
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from brygga.clock import Clock, SystemClock
from brygga_tryton.simulator.wire import SimUserError

__all__ = ["Database"]

CENT = Decimal("0.01")

#: One2Many fields: model -> field -> (target model, inverse field)
ONE2MANY: dict[str, dict[str, tuple[str, str]]] = {
    "party.party": {
        "addresses": ("party.address", "party"),
        "contact_mechanisms": ("party.contact_mechanism", "party"),
        "identifiers": ("party.identifier", "party"),
    },
    "product.template": {"products": ("product.product", "template")},
    "sale.sale": {"lines": ("sale.line", "sale")},
}
#: Many2One fields dotted paths may follow
MANY2ONE: dict[str, dict[str, str]] = {
    "product.product": {"template": "product.template"},
    "sale.sale": {"party": "party.party"},
    "sale.line": {"product": "product.product", "sale": "sale.sale"},
    "account.tax": {"parent": "account.tax"},
}
READONLY_CODE = {"product.product"}


@dataclass
class Database:
    clock: Clock = field(default_factory=SystemClock)
    tables: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _numbers: dict[str, itertools.count[int]] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock.now().astimezone(UTC).replace(tzinfo=None)

    def table(self, model: str) -> dict[int, dict[str, Any]]:
        return self.tables.setdefault(model, {})

    def next_number(self, sequence: str) -> int:
        return next(self._numbers.setdefault(sequence, itertools.count(1)))

    # --- records ---------------------------------------------------------------------------

    def insert(self, model: str, values: dict[str, Any]) -> int:
        record_id = next(self._ids)
        record: dict[str, Any] = {"id": record_id, "create_date": self.now(), "write_date": None}
        nested: list[tuple[str, str, list[dict[str, Any]]]] = []
        for name, value in values.items():
            if name in ONE2MANY.get(model, {}):
                for action in value or []:
                    if action[0] != "create":
                        raise SimUserError(f"{model}.{name}: only 'create' is supported here")
                    nested.append((name, action[0], action[1]))
                continue
            if isinstance(value, list) and value and isinstance(value[0], list):
                ids: list[int] = []
                for action in value:
                    if action[0] != "add":
                        raise SimUserError(f"{model}.{name}: only 'add' is supported here")
                    ids.extend(action[1])
                record[name] = ids
                continue
            record[name] = value
        for name in ONE2MANY.get(model, {}):
            record.setdefault(name, [])
        self.table(model)[record_id] = record
        for name, _action, rows in nested:
            target, inverse = ONE2MANY[model][name]
            for row in rows:
                child = self.insert(target, {**row, inverse: record_id})
                record[name].append(child)
        return record_id

    def link(self, model: str, record_id: int, name: str, child: int) -> None:
        self.table(model)[record_id].setdefault(name, []).append(child)

    def get(self, model: str, record_id: int) -> dict[str, Any]:
        try:
            return self.table(model)[record_id]
        except KeyError:
            raise SimUserError(f'The record "{model},{record_id}" does not exist.') from None

    def update(self, model: str, record_id: int, **values: Any) -> None:
        record = self.get(model, record_id)
        record.update(values)
        record["write_date"] = self.now()

    # --- domains ---------------------------------------------------------------------------

    def value(self, model: str, record: dict[str, Any], path: str) -> Any:
        head, _, rest = path.partition(".")
        value = self.computed(model, record, head)
        if not rest:
            return value
        target = MANY2ONE.get(model, {}).get(head)
        if target is None or value is None:
            return None
        return self.value(target, self.get(target, value), rest)

    def computed(self, model: str, record: dict[str, Any], name: str) -> Any:
        if model == "product.product" and name in ("code", "name", "list_price_t"):
            template = self.get("product.template", record["template"])
            return template.get(name)
        if model == "product.product" and name in ("write_date", "create_date"):
            return record.get(name)
        return record.get(name)

    def matches(self, model: str, record: dict[str, Any], domain: list[Any]) -> bool:
        if not domain:
            return True
        if isinstance(domain[0], str) and domain[0] in ("OR", "AND"):
            parts = domain[1:]
            results = (self.matches(model, record, part) for part in parts)
            return any(results) if domain[0] == "OR" else all(results)
        if isinstance(domain[0], str):  # one clause
            name, operator, wanted = domain[0], domain[1], domain[2]
            return _compare(self.value(model, record, name), operator, wanted)
        return all(self.matches(model, record, part) for part in domain)

    def search(
        self,
        model: str,
        domain: list[Any],
        offset: int = 0,
        limit: int | None = None,
        order: list[Any] | None = None,
    ) -> list[int]:
        names_active = "active" in repr(domain)
        rows = [
            r
            for r in self.table(model).values()
            if (names_active or self.computed(model, r, "active") in (None, True))
            and self.matches(model, r, domain)
        ]
        for name, direction in reversed(order or [["id", "ASC"]]):
            rows.sort(key=_sorter(str(name)), reverse=direction == "DESC")
        rows = rows[offset:]
        if limit is not None:
            rows = rows[:limit]
        return [r["id"] for r in rows]

    def read(
        self,
        model: str,
        ids: list[int],
        names: list[str],
        extra: Callable[[str, dict[str, Any], str], Any] | None = None,
    ) -> list[dict[str, Any]]:
        rows = []
        for record_id in ids:
            record = self.get(model, record_id)
            row: dict[str, Any] = {"id": record_id}
            for name in names:
                value = extra(model, record, name) if extra else None
                if value is None:
                    value = self.computed(model, record, name)
                row[name] = int(value) if isinstance(value, bool) else value
            rows.append(row)
        return rows


def _sorter(name: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    def key(record: dict[str, Any]) -> tuple[int, Any]:
        value = record.get(name)
        return (0, "") if value is None else (1, value)

    return key


def _compare(actual: Any, operator: str, wanted: Any) -> bool:
    if operator == "=":
        return bool(actual == wanted)
    if operator == "!=":
        return bool(actual != wanted)
    if operator == "in":
        return actual in wanted
    if operator == "not in":
        return actual not in wanted
    if operator in ("like", "ilike"):
        if actual is None:
            return False
        pattern = str(wanted).replace("%", "*").replace("_", "?")
        text = str(actual)
        if operator == "ilike":
            return fnmatch.fnmatchcase(text.casefold(), pattern.casefold())
        return fnmatch.fnmatchcase(text, pattern)
    if actual is None:
        return False
    if (
        isinstance(actual, datetime)
        and isinstance(wanted, date)
        and not isinstance(wanted, datetime)
    ):
        wanted = datetime(wanted.year, wanted.month, wanted.day)
    if operator == "<":
        return bool(actual < wanted)
    if operator == "<=":
        return bool(actual <= wanted)
    if operator == ">":
        return bool(actual > wanted)
    if operator == ">=":
        return bool(actual >= wanted)
    raise SimUserError(f"Invalid domain operator {operator!r}.")


def round_cent(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)
