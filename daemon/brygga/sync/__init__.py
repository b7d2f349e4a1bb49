"""The flows between shop and ERP."""
