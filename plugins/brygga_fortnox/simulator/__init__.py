"""The Fortnox simulator (tests, the demo, the conformance kit): never imports the adapter."""

from brygga_fortnox.simulator.erp import FortnoxSimulator

__all__ = ["FortnoxSimulator"]
