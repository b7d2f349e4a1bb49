"""The PrestaShop simulator (tests, demo, conformance kit); never imported by the adapter."""

from brygga_prestashop.simulator.shop import PrestashopSimulator

__all__ = ["PrestashopSimulator"]
