"""Pure domain rules: no Temporal, no database, no HTTP — time is always a parameter."""
