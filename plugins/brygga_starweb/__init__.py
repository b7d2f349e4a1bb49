"""brygga adapter for starweb (work in progress)."""
