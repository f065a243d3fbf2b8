"""Adapters implement `phoneverify.ports` and map provider errors to domain errors."""
