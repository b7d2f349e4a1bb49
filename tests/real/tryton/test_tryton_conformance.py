"""The shared ERP conformance kit run against the Tryton adapter and its simulator (no real
server: the simulator stands in for trytond 8.2, in-process)."""

from __future__ import annotations

import pytest

from brygga.models import DocumentType, OrderEvent
from brygga.testing import ErpAdapterConformance


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """The simulator runs in-process: both backends, as brygga's other kits do."""
    return str(request.param)


class TestTrytonConformance(ErpAdapterConformance):
    kind = "tryton"
    #: every call goes to /<db>/rpc/; the simulator matches faults on path + RPC method
    create_path = r"/rpc/model\.sale\.sale\.create$"

    def status_document_type(self, event: OrderEvent) -> DocumentType:
        # Tryton cancels only draft and quoted sales: an order document stays quoted
        if event == OrderEvent.CANCELLED:
            return DocumentType.ORDER
        return super().status_document_type(event)


def test_the_simulator_imports_nothing_of_the_adapter_side() -> None:
    """As tests/plugins/test_simulator_boundary.py asks of every plugin: the simulator keeps
    its own wire models (brygga_tryton is not in that test's list yet)."""
    import ast
    from pathlib import Path

    import brygga_tryton

    folder = Path(brygga_tryton.__file__).parent / "simulator"
    modules = sorted(folder.glob("*.py"))
    assert {"__init__.py", "seed.py", "state.py", "http.py", "wire.py"} <= {m.name for m in modules}
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{module.name}: relative import"
                base = node.module or ""
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            outside = [
                n
                for n in names
                if n.startswith("brygga_tryton")
                and not n.startswith("brygga_tryton.simulator")
                and n != "brygga_tryton"
            ]
            assert not outside, f"{module.name} imports the adapter side: {outside}"
