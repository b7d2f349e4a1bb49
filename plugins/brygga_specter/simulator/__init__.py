"""The Specter simulator (tests, the conformance kit): never imported by the adapter."""

from brygga_specter.simulator.erp import SpecterSimulator

__all__ = ["SpecterSimulator"]
