"""Rules and records: no I/O, no HTTP."""
