"""invoicekit."""
