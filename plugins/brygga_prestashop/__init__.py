"""brygga's PrestaShop shop plugin: Webservice (1.7 / 8.x) adapter and simulator."""
