"""The Norce Commerce simulator (tests, the conformance kit): never imported by the adapter."""

from brygga_norce.simulator.shop import NorceSimulator, PushAttempt

__all__ = ["NorceSimulator", "PushAttempt"]
