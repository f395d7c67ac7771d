"""The HTTP API: FastAPI routes over the starter client."""
