"""Hogia Smart ERP adapter for brygga (modelled API, see ``wire``)."""
