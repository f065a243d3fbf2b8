"""What the flows need from the outside world, one module per thing served: conditions (a refused
conditional write), messaging, abuse (limits, holds, locks, the proof of work), accounts,
verifications and payments. Adapters implement these; tests use fakes."""
