"""What an operator sees of the service: the alarms for what breaks (one shape per function
and per table, written into template.yaml), the dashboard's widgets read back from the
template, and its picture in docs/operations.md drawn from a local run's metrics."""
