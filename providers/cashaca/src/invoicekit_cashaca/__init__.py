"""Cashaca adapter for invoicekit."""
