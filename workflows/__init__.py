"""Deterministic workflow code: the durable shell around the pure domain."""
