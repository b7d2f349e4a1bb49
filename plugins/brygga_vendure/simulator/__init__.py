"""The Vendure Admin API simulator (its own wire shapes; it imports nothing of the adapter)."""

from brygga_vendure.simulator.shop import VendureSimulator

__all__ = ["VendureSimulator"]
