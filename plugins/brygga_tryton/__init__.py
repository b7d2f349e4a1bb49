"""Tryton ERP adapter for brygga (JSON-RPC, session auth)."""
