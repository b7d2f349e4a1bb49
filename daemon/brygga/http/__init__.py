"""HTTP: the outbound client factory and the daemon's own ASGI endpoint."""
