"""The demo that `411 dev` runs: a security event generator and searches over its log."""
