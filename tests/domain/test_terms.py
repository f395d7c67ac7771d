"""The follow-up deadline a request's terms give, on the real 2026 Chinese calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from csflow.config.terms import TermsProvider
from csflow.domain.codes import Category, Channel, Tier
from csflow.domain.policy import DEFAULT_POLICY
from tests.helpers import intake

SHANGHAI = timezone(timedelta(hours=8))


def test_routine_follow_up_from_friday_1730_before_spring_festival() -> None:
    """Fri 13 Feb 2026 17:30: Sat 14 Feb is a make-up working day (1), the Spring Festival
    holiday runs 15–23 Feb, then Tue 24 (2) and Wed 25 (3): due at close of business."""
    provider = TermsProvider(DEFAULT_POLICY)
    resolved = datetime(2026, 2, 13, 17, 30, tzinfo=SHANGHAI)
    routine = intake(category=Category.CONSULTATION, channel=Channel.WEB)
    terms = provider.for_intake(routine, resolved)
    assert terms.service_class == "routine"
    assert date(2026, 2, 14) in terms.calendar.makeup_workdays
    assert date(2026, 2, 16) in terms.calendar.holidays
    assert terms.follow_up_due(resolved) == datetime(2026, 2, 25, 18, 0, tzinfo=SHANGHAI)


def test_vip_and_major_follow_up_windows() -> None:
    provider = TermsProvider(DEFAULT_POLICY)
    friday = datetime(2026, 2, 13, 17, 30, tzinfo=SHANGHAI)
    vip = intake(category=Category.CONSULTATION)
    vip.customer.tier = Tier.VIP
    assert provider.for_intake(vip, friday).follow_up_due(friday) == friday + timedelta(hours=24)
    major = intake(category=Category.AFTER_SALES, sub_type="repair")
    terms = provider.for_intake(major, friday)
    assert terms.service_class == "major"
    # 1 working day: Saturday 14 Feb is the make-up working day.
    assert terms.follow_up_due(friday) == datetime(2026, 2, 14, 18, 0, tzinfo=SHANGHAI)
    big = intake(category=Category.COMPLAINT, amount_in_dispute=Decimal("8000"))
    assert provider.for_intake(big, friday).major_complaint
