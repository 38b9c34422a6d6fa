"""Database URLs as users write them, made ready for SQLAlchemy."""

from __future__ import annotations


def normalise_url(url: str) -> str:
    """Point plain ``postgresql://`` URLs (as Heroku and friends hand out) at psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
