"""Running searches: schedule fires, claims, the runner, run records, the worker."""
