"""A brygga plugin that prefixes SKUs on their way to the ERP and skips orders with a tag."""

__version__ = "0.1.0"
