"""Durable state in one SQLite file; the only package that imports aiosqlite."""
