import random

import pytest
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from efnet.models import User
from efnet.passwords import validate_biglobe_password
from mailaddresses.models import AdditionalMailAddress
from members.demo import generate
from members.models import Member, SalesOffice
from tracking.models import AccountStatus, StatusChange

pytestmark = pytest.mark.django_db


def test_it_creates_members_addresses_statuses_and_one_user_per_role(capsys):
    call_command("seed_demo", "--members", "120", "--seed", "7")
    assert Member.objects.count() == 120
    assert Member.objects.values("office").distinct().count() >= 10  # spread over the offices
    accounts = Member.objects.count() + AdditionalMailAddress.objects.count()
    assert AccountStatus.objects.count() == accounts  # every account in the demo campaign
    assert StatusChange.objects.count() == AccountStatus.objects.exclude(status="未案内").count()
    for member in Member.objects.all()[:40]:
        validate_biglobe_password(member.biglobe_password)
        assert 0 <= member.additional_addresses.count() <= 3
    assert set(User.objects.values_list("username", flat=True)) >= {"admin", "admin2", "honsha", "osaka"}
    assert TOTPDevice.objects.filter(confirmed=True).count() == len(generate.DEMO_USERS)
    assert "osaka" in capsys.readouterr().out


def test_the_same_seed_gives_the_same_members():
    offices = list(SalesOffice.objects.all())
    weights = [1] * len(offices)
    first = generate._make_batch(random.Random(3), offices, weights, 100001, 20)
    second = generate._make_batch(random.Random(3), offices, weights, 100001, 20)
    assert [(m.name, m.office_id, m.biglobe_password) for m in first[0]] == [
        (m.name, m.office_id, m.biglobe_password) for m in second[0]
    ]


def test_if_empty_leaves_existing_data_alone(capsys):
    call_command("seed_demo", "--members", "5", "--seed", "1")
    call_command("seed_demo", "--members", "5", "--seed", "2", "--if-empty")
    assert Member.objects.count() == 5
