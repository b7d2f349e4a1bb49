"""brygga adapter for economic (work in progress)."""
