"""brygga: keeps Nordic web shops and ERP systems in sync, exactly once."""

__version__ = "0.1.0"
