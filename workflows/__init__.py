"""Orchestration only: deterministic workflow code that reads like SPEC §3."""
