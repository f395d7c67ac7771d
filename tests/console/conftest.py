"""The API tests' app fixture (real app, worker, Temporal and PostgreSQL), reused."""

from tests.api.conftest import api

__all__ = ["api"]
