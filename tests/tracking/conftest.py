import datetime

import pytest

from tracking.models import Campaign
from tracking.services import accounts_enroll


@pytest.fixture
def campaign(world):
    """The world's members enrolled in one active campaign."""
    c = Campaign.objects.create(
        name="2026年6月 BIGLOBEパスワード変更",
        started_on=datetime.date(2026, 6, 1),
        deadline=datetime.date(2026, 7, 31),
    )
    accounts_enroll(member=world.member_a)
    accounts_enroll(member=world.member_b)
    return c
