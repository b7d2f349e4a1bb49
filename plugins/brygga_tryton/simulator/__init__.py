"""A Tryton (trytond JSON-RPC) simulator with its own wire models (never the adapter's)."""

from __future__ import annotations

from brygga_tryton.simulator.erp import TrytonSimulator

__all__ = ["TrytonSimulator"]
