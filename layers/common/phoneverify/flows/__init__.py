"""Use cases: one module per flow. Flows receive their adapters; they never build HTTP."""
