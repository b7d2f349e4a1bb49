"""The daemon runtime: supervisor, connection actors, pollers, workers, signals."""
