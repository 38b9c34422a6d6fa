"""What an operator sees: Prometheus metrics, health endpoints, ``411 status``."""
