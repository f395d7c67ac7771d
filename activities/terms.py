"""Resolving a request's SLA terms from the worker's policy (docs/contract.md).

No caller reads the policy file — not csflow's own starter, not a Go or Java service, not
the `temporal` CLI — so every request starts without terms and the workflow asks this
activity once, at intake: the result is recorded in history, so replays never read the
policy and a later policy change still affects new requests only.
"""

from __future__ import annotations

from temporalio import activity

from csflow.activity_io import ResolveTermsInput
from csflow.config.terms import TermsProvider, compact_terms
from csflow.domain.codes import Tier
from csflow.domain.terms import RequestTerms
from csflow.refusals import Refusal

TERMS_UNAVAILABLE = Refusal.TERMS_UNAVAILABLE


class TermsActivities:
    def __init__(self, terms: TermsProvider) -> None:
        self._terms = terms

    @activity.defn(name="resolve_terms")
    async def resolve_terms(self, inp: ResolveTermsInput) -> RequestTerms:
        """The worker's policy applied to this intake, as of its receipt: the whole terms
        for a whole intake (histories from before the workflow patch
        `compact-terms-and-messages`), the compact ones for the compact input.

        The policy is loaded and validated when the worker starts, so what can still fail
        here is the input itself (e.g. a receipt date the business calendar does not
        cover). Retrying cannot fix that: it is reported once, as non-retryable, and the
        workflow fails with the reason instead of retrying forever.
        """
        try:
            if inp.intake is not None:  # a history from before `compact-terms-and-messages`
                return self._terms.for_intake(inp.intake, inp.received_at)
            assert inp.channel is not None and inp.category is not None  # the model checks
            terms = self._terms.for_request(
                inp.channel,
                inp.category,
                inp.sub_type,
                inp.tier or Tier.REGULAR,
                inp.amount,
                inp.received_at,
            )
            return compact_terms(terms, inp.received_at, inp.language or "zh-CN")
        except (ValueError, LookupError, ArithmeticError) as err:
            raise TERMS_UNAVAILABLE.error(f"no SLA terms for this request: {err}") from err
