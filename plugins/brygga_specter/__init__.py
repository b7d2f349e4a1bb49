"""Specter Business Management (SBM) ERP adapter for brygga (modelled API, see ``wire``)."""
