"""Carrying signed actor assertions through Temporal: a client interceptor that signs, a
worker interceptor that verifies.

The assertion travels in the Update's Temporal header ``csflow-actor`` (not in the
command), so contract models stay as they are and recorded histories replay unchanged.
Callers outside Python set the same header (``temporal workflow update execute --headers
'csflow-actor="…"'``) with an assertion the API issued them (docs/contract.md).

Verification runs in the Update's validation stage, before the workflow's own validator
and its role check, so a refused command never reaches history. Validators do not run
again on replay, which is why comparing the expiry with the real clock here cannot make a
replay diverge (and why a time-skipped test server's clock does not matter).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import temporalio.api.common.v1
import temporalio.client
import temporalio.converter
import temporalio.worker
from temporalio import workflow
from temporalio.exceptions import ApplicationError

from csflow.crypto import assertions

HEADER = "csflow-actor"
REFUSAL = "Forbidden"  # answered 403 like every other authority refusal


def _actor_of(args: Any) -> Any:
    first = args[0] if args else None
    actor = getattr(first, "actor", None)
    return actor if actor is not None and hasattr(actor, "role") else None


def _role(actor: Any) -> str:
    return str(getattr(actor.role, "value", actor.role))


class ActorSigning(temporalio.client.Interceptor):
    """Signs the actor named in each outgoing Update, for that request and Update only.

    Only processes that authenticated the actor hold the key: the API (token checked), the
    CLI (an operator on the host), the worker (the system actor) and the starter of a
    trusted backend.
    """

    def __init__(
        self, key: bytes, lifetime: timedelta = timedelta(seconds=assertions.LIFETIME_S)
    ) -> None:
        self._key = key
        self._lifetime = lifetime

    def intercept_client(
        self, next: temporalio.client.OutboundInterceptor
    ) -> temporalio.client.OutboundInterceptor:
        return _SigningOutbound(next, self)

    def header_for(
        self, actor: Any, workflow_id: str, update: str
    ) -> temporalio.api.common.v1.Payload:
        token = assertions.sign(
            self._key,
            assertions.Claims(
                actor=str(actor.id),
                role=_role(actor),
                workflow_id=workflow_id,
                update=update,
                expires=int(time.time() + self._lifetime.total_seconds()),
            ),
        )
        return temporalio.converter.default().payload_converter.to_payloads([token])[0]


class _SigningOutbound(temporalio.client.OutboundInterceptor):
    def __init__(self, next: temporalio.client.OutboundInterceptor, root: ActorSigning) -> None:
        super().__init__(next)
        self._root = root

    def _signed(self, headers: Any, args: Any, workflow_id: str, update: str) -> Any:
        actor = _actor_of(args)
        if actor is None or HEADER in headers:
            return headers
        return {**headers, HEADER: self._root.header_for(actor, workflow_id, update)}

    async def start_workflow_update(
        self, input: temporalio.client.StartWorkflowUpdateInput
    ) -> temporalio.client.WorkflowUpdateHandle[Any]:
        input.headers = self._signed(input.headers, input.args, input.id, input.update)
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: temporalio.client.StartWorkflowUpdateWithStartInput
    ) -> temporalio.client.WorkflowUpdateHandle[Any]:
        update = input.update_workflow_input
        update.headers = self._signed(
            update.headers, update.args, input.start_workflow_input.id, update.update
        )
        return await super().start_update_with_start_workflow(input)


class ActorVerifying(temporalio.worker.Interceptor):
    """Refuses, in the validation stage, any Update whose actor is not vouched for."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[temporalio.worker.WorkflowInboundInterceptor]:
        key = self._key

        class _Verifying(temporalio.worker.WorkflowInboundInterceptor):
            def handle_update_validator(self, input: temporalio.worker.HandleUpdateInput) -> None:
                actor = _actor_of(input.args)
                if actor is not None:
                    header = input.headers.get(HEADER)
                    token = (
                        workflow.payload_converter().from_payload(header, str)
                        if header is not None
                        else None
                    )
                    with workflow.unsafe.sandbox_unrestricted():
                        now = time.time()
                    try:
                        assertions.verify(
                            key,
                            token,
                            actor=str(actor.id),
                            role=_role(actor),
                            workflow_id=workflow.info().workflow_id,
                            update=input.update,
                            now=now,
                        )
                    except (assertions.AssertionRefused, ValueError) as err:
                        raise ApplicationError(str(err), type=REFUSAL, non_retryable=True) from None
                super().handle_update_validator(input)

        return _Verifying
