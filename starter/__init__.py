"""How backend services reach csflow from Python: a typed async client (Temporal alone)."""

from starter.client import (
    Created,
    CsflowClient,
    NoDatabase,
    NumberingUnavailable,
    RequestEnded,
    RequestNotFound,
    RequestRefused,
    TemporalUnavailable,
)

__all__ = [
    "Created",
    "CsflowClient",
    "NoDatabase",
    "NumberingUnavailable",
    "RequestEnded",
    "RequestNotFound",
    "RequestRefused",
    "TemporalUnavailable",
]
