"""The intake rate the measured limits steer (csflow/api/intake_rate.py): the rule as a
pure function under generated inputs, then the controller on the real clock with a
reading the test sets."""

from __future__ import annotations

import asyncio
from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from csflow.api.intake_rate import CUT, MIN_STEP, AdaptiveRate, next_rate

rates = st.floats(min_value=0.01, max_value=10_000, allow_nan=False)
maybe_rate = st.none() | rates
reasons = st.none() | st.just("over")


@given(
    rate=maybe_rate,
    fed=st.floats(0, 10_000),
    refused=st.integers(0, 1000),
    why=reasons,
    ceiling=st.none() | rates,
    floor=st.floats(0.01, 100),
)
def test_a_cut_never_raises_and_a_rise_never_passes_the_ceiling(
    rate: float | None,
    fed: float,
    refused: int,
    why: str | None,
    ceiling: float | None,
    floor: float,
) -> None:
    new = next_rate(rate, fed, refused, why, ceiling=ceiling, floor=floor)
    if new is None:
        assert rate is None  # only an unlimited intake stays unlimited
    elif rate is None:
        assert why is not None and new >= floor  # the first cut, from the rate fed
    elif why is not None:
        assert min(floor, rate) <= new <= rate
    else:
        assert rate <= new <= max(rate, ceiling if ceiling is not None else new)


@given(
    rate=maybe_rate,
    fed=st.floats(0, 10_000),
    refused=st.integers(0, 1000),
    floor=st.floats(0.01, 100),
)
def test_a_reading_over_a_limit_never_raises_the_rate(
    rate: float | None, fed: float, refused: int, floor: float
) -> None:
    new = next_rate(rate, fed, refused, "over", ceiling=None, floor=floor)
    if fed < floor:
        assert new == rate  # intake that small did not make the clocks late
    else:
        assert new is not None
        cut = max(floor, CUT * (fed if rate is None else min(rate, fed)))
        assert new == (cut if rate is None else min(rate, cut))
        assert new <= max(floor, fed)


@given(rate=rates, fed=st.floats(0, 10_000), ceiling=st.none() | rates)
def test_quiet_raises_the_rate_only_when_callers_were_refused(
    rate: float, fed: float, ceiling: float | None
) -> None:
    assert next_rate(rate, fed, 0, None, ceiling=ceiling, floor=1.0) == rate
    raised = next_rate(rate, fed, 3, None, ceiling=ceiling, floor=1.0)
    assert raised is not None
    expected = rate + max(MIN_STEP, 0.05 * rate)
    assert raised == (expected if ceiling is None else max(rate, min(ceiling, expected)))
    assert next_rate(None, fed, 3, None, ceiling=None, floor=1.0) is None


class Signal:
    """A reading the test sets, and the `since` each decision asked about."""

    def __init__(self) -> None:
        self.p99: float | None = None
        self.asked: list[datetime] = []
        self.broken = False

    async def __call__(self, since: datetime) -> float | None:
        self.asked.append(since)
        if self.broken:
            raise OSError("database gone")
        return self.p99


async def demand(rate: AdaptiveRate, seconds: float, every: float = 0.005) -> tuple[int, int]:
    """Callers arriving every `every` s for `seconds`: (admitted, refused)."""
    admitted = refused = 0
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        if await rate.take() == 0:
            admitted += 1
        else:
            refused += 1
        await asyncio.sleep(every)
    return admitted, refused


async def test_late_clocks_cut_an_unlimited_intake_then_quiet_raises_it() -> None:
    signal = Signal()
    rate = AdaptiveRate(signal, 1.0, interval=0.3, ceiling=None, floor=1.0)
    admitted, refused = await demand(rate, 0.2)  # within the first interval
    assert rate.rate is None and refused == 0 and admitted > 5  # no limit before a cut

    signal.p99 = 2.5
    await asyncio.sleep(0.15)
    assert await rate.take() > 0  # past the interval: this caller's decision cuts
    cut = rate.rate
    assert cut is not None and rate.cuts == 1
    assert "p99 2.50 s late" in (rate.last_reason or "")
    assert 1.0 <= cut < admitted / 0.3  # below the rate intake ran at (admitted over >0.35 s)
    since_cut = signal.asked[-1]

    signal.p99 = 0.3
    admitted, refused = await demand(rate, 0.7)
    assert refused > 0 and rate.rate is not None and rate.rate > cut
    assert signal.asked[-1] > since_cut  # lateness is read only since the last cut


async def test_a_ceiling_is_where_the_rate_starts_and_where_it_stops() -> None:
    signal = Signal()
    rate = AdaptiveRate(signal, 1.0, interval=0.2, ceiling=50.0, floor=1.0)
    assert rate.rate == 50.0
    await demand(rate, 1.0)
    assert rate.rate == 50.0 and rate.cuts == 0


async def test_no_reading_cuts_nothing() -> None:
    signal = Signal()
    rate = AdaptiveRate(signal, 1.0, interval=0.2, ceiling=40.0, floor=2.0)
    signal.p99 = 3.0
    await demand(rate, 0.25)
    cut = rate.rate
    assert cut is not None and cut < 40.0
    assert "p99 3.00 s late" in (rate.last_reason or "")

    signal.broken = True  # the database stops answering: the rate is not cut again
    await demand(rate, 0.5)
    assert rate.cuts == 1 and rate.rate is not None and rate.rate >= cut
