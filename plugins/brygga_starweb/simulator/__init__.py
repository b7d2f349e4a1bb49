"""The Starweb simulator (tests, the demo, the conformance kit): never imported by the adapter."""

from brygga_starweb.simulator.shop import StarwebSimulator

__all__ = ["StarwebSimulator"]
