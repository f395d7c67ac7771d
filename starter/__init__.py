"""How backend services reach csflow from Python: a typed async client."""

from starter.client import (
    Created,
    CsflowClient,
    RequestEnded,
    RequestNotFound,
    RequestRefused,
    TemporalUnavailable,
)

__all__ = [
    "Created",
    "CsflowClient",
    "RequestEnded",
    "RequestNotFound",
    "RequestRefused",
    "TemporalUnavailable",
]
