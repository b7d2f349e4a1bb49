"""The e-conomic simulator (tests, the demo, the conformance kit): never imported by the adapter."""

from brygga_economic.simulator.erp import EconomicSimulator

__all__ = ["EconomicSimulator"]
