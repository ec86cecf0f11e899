"""EenvoudigFactureren adapter for invoicekit."""
