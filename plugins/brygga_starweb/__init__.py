"""brygga's Starweb shop plugin: adapter (Shop API v2), simulator and seed catalog."""
