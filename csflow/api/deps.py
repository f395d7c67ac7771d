"""The one place the API's injected dependencies are named."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from starter.client import CsflowClient


def get_csflow(request: Request) -> CsflowClient:
    client: CsflowClient = request.app.state.csflow
    return client


def get_pool(request: Request) -> Any:
    return request.app.state.pool


Csflow = Annotated[CsflowClient, Depends(get_csflow)]
Pool = Annotated[Any, Depends(get_pool)]
