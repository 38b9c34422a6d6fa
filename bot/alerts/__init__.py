"""Alerts after they exist: state transitions, permissions, snoozes, closing."""
