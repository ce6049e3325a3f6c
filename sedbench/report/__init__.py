"""Comparison tables and plots over the results store (SPEC 8)."""
