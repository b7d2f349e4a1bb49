"""The Hogia Smart simulator (tests, the conformance kit): never imported by the adapter."""

from brygga_hogia.simulator.erp import HogiaSimulator

__all__ = ["HogiaSimulator"]
