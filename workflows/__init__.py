"""Orchestration only: deterministic workflow code that reads like docs/requirements.md §3."""
