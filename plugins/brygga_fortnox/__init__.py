"""Fortnox API v3: the ERP adapter (customers, invoices, orders, order status) and its simulator."""
