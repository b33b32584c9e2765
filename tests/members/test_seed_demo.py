import os
import random
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from efnet.models import User
from efnet.passwords import validate_biglobe_password
from mailaddresses.models import AdditionalMailAddress
from members.demo import generate
from members.models import Member, SalesOffice
from notices.models import Delivery
from tracking.models import AccountStatus, MemberProgress, StatusChange

pytestmark = pytest.mark.django_db


@pytest.fixture
def development(settings):
    settings.DEBUG = True  # as `make run` runs it


def test_it_creates_members_addresses_statuses_and_one_user_per_role(development, capsys):
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
    # About 2.5 accounts a member, as at the office, with the search key and progress filled in.
    assert 2.2 <= accounts / 120 <= 2.8
    assert not Member.objects.filter(search_key="").exists()
    assert MemberProgress.objects.count() == 120
    # Notice history: 第1報 sent to every member with an account past 未案内.
    notified = AccountStatus.objects.exclude(status="未案内").values("member").distinct().count()
    assert Delivery.objects.filter(notice__edition=1, status="sent").count() == notified > 0


def test_the_same_seed_gives_the_same_members():
    offices = list(SalesOffice.objects.all())
    weights = [1] * len(offices)
    first = generate._make_batch(random.Random(3), offices, weights, 100001, 20)
    second = generate._make_batch(random.Random(3), offices, weights, 100001, 20)
    assert [(m.name, m.office_id, m.biglobe_password) for m in first[0]] == [
        (m.name, m.office_id, m.biglobe_password) for m in second[0]
    ]


def test_if_empty_leaves_existing_data_alone(development, capsys):
    call_command("seed_demo", "--members", "5", "--seed", "1")
    call_command("seed_demo", "--members", "5", "--seed", "2", "--if-empty")
    assert Member.objects.count() == 5


def test_it_refuses_to_run_with_debug_off_and_writes_nothing(settings):
    settings.DEBUG = False
    users_before = User.objects.count()
    with pytest.raises(CommandError) as refused:
        call_command("seed_demo", "--members", "5")
    assert "DEBUG=1" in str(refused.value) and "--i-know-this-is-not-production" in str(refused.value)
    assert "Refusing to load demo data" in str(refused.value)
    assert not Member.objects.exists()
    assert User.objects.count() == users_before
    assert not TOTPDevice.objects.exists()


def _a_key() -> str:
    from efnet.crypto import generate_key

    return generate_key("k1")


def _manage(tmp_path, *args, **environ):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "EFNET_VAR_DIR": str(tmp_path),
        **environ,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_it_refuses_from_the_command_line_with_a_nonzero_exit(tmp_path):
    result = _manage(tmp_path, "seed_demo", "--members", "5", DJANGO_SETTINGS_MODULE="efnet.test_settings", DEBUG="0")
    assert result.returncode != 0
    assert "デモデータは開発環境（DEBUG=1）とデモ（EFNET_DEMO=1）でのみ作成できます" in result.stderr
    assert not (tmp_path / "demo.sqlite3").exists() or (tmp_path / "demo.sqlite3").stat().st_size == 0


def test_make_run_seeds_the_demo_and_gives_its_codes_with_debug_off(tmp_path):
    """`make run` runs the demo mode (EFNET_DEMO=1, DEBUG off): there the demo data is what it is for, and the
    command its login page shows prints the second-factor code."""
    demo = {"DJANGO_SETTINGS_MODULE": "efnet.settings", "EFNET_DEMO": "1", "DEBUG": "0"}
    assert _manage(tmp_path, "migrate", "--noinput", **demo).returncode == 0
    result = _manage(tmp_path, "seed_demo", "--if-empty", "--members", "5", **demo)
    assert result.returncode == 0, result.stderr
    assert "会員 5 件" in result.stdout
    code = _manage(tmp_path, "totp_code", "osaka", **demo)
    assert code.returncode == 0, code.stderr
    assert code.stdout.strip().isdigit() and len(code.stdout.strip()) == 6
    production = {
        **demo,
        "EFNET_DEMO": "0",
        "SECRET_KEY": "x" * 50,
        "FIELD_ENCRYPTION_KEYS": _a_key(),
        "ALLOWED_HOSTS": "efnet.example.jp",
        "EFNET_BASE_URL": "https://efnet.example.jp",
    }
    refused = _manage(tmp_path, "totp_code", "osaka", **production)
    assert refused.returncode != 0 and "本番環境では使えません" in refused.stderr


def test_the_explicit_flag_allows_it_with_debug_off(settings):
    settings.DEBUG = False
    call_command("seed_demo", "--members", "5", "--seed", "3", "--i-know-this-is-not-production")
    assert Member.objects.count() == 5
    assert User.objects.filter(username="osaka").exists()
