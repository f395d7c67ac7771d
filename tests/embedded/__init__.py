"""Tests of the embedded PostgreSQL and Temporal dev server (csflow.embedded)."""
