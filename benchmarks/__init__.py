"""invoicekit's benchmarks: ``uv run python -m benchmarks [--quick] [--json] [--only NAME]``.

Every figure runs against its floor in the same run (alternating rounds, medians) and lands in one table;
see docs/performance.md. Not tests: the numbers depend on the machine. ``--quick`` only proves it still runs.
"""
