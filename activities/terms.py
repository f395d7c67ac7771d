"""Resolving a request's SLA terms from the worker's policy (docs/contract.md).

No caller reads the policy file — not csflow's own starter, not a Go or Java service, not
the `temporal` CLI — so every request starts without terms and the workflow asks this
activity once, at intake: the result is recorded in history, so replays never read the
policy and a later policy change still affects new requests only.
"""

from __future__ import annotations

from temporalio import activity

from csflow.activity_io import ResolveTermsInput
from csflow.config.terms import TermsProvider
from csflow.domain.terms import RequestTerms
from csflow.refusals import Refusal

TERMS_UNAVAILABLE = Refusal.TERMS_UNAVAILABLE


class TermsActivities:
    def __init__(self, terms: TermsProvider) -> None:
        self._terms = terms

    @activity.defn(name="resolve_terms")
    async def resolve_terms(self, inp: ResolveTermsInput) -> RequestTerms:
        """The worker's policy applied to this intake, as of its receipt.

        The policy is loaded and validated when the worker starts, so what can still fail
        here is the input itself (e.g. a receipt date the business calendar does not
        cover). Retrying cannot fix that: it is reported once, as non-retryable, and the
        workflow fails with the reason instead of retrying forever.
        """
        try:
            return self._terms.for_intake(inp.intake, inp.received_at)
        except (ValueError, LookupError, ArithmeticError) as err:
            raise TERMS_UNAVAILABLE.error(f"no SLA terms for this request: {err}") from err
