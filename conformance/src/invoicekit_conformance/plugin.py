"""Pytest plugin of the conformance suite."""
