"""What a run records and shows: console output, metrics.csv, the run folder's files."""
