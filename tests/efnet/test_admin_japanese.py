"""The Django admin in Japanese, and an admin resetting a staff member's second factor (a lost phone)."""

import re

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from efnet.models import AuditEvent
from tests.conftest import login

pytestmark = pytest.mark.django_db

ENGLISH_NAMES = ["Axes", "Otp_Totp", "TOTP device", "Access attempt", "Access failure", "Access log", "Status change"]


def test_every_app_and_model_in_the_admin_has_a_japanese_name(client, world):
    login(client, world.admin)
    html = client.get(reverse("admin:index")).content.decode()
    text = re.sub(r"<[^>]+>", " ", html)
    for name in ENGLISH_NAMES:
        assert name.lower() not in text.lower(), name
    assert "ログインの制限" in html and "ログイン失敗の集計" in html and "状況の変更履歴" in html


def test_every_model_has_a_japanese_verbose_name():
    from django.apps import apps
    from django.utils import translation

    with translation.override("ja"):
        english = [
            f"{m._meta.label}: {m._meta.verbose_name}"
            for m in apps.get_models()
            if re.fullmatch(r"[A-Za-z _]+", str(m._meta.verbose_name)) and m._meta.app_label != "otp_totp"
        ]
        apps_in_english = [
            a.label
            for a in apps.get_app_configs()
            if a.models_module and re.fullmatch(r"[A-Za-z _]+", str(a.verbose_name))
        ]
    assert not english and not apps_in_english, (english, apps_in_english)


def test_an_admin_resets_a_clerks_second_factor_and_it_is_audited(client, world):
    login(client, world.admin)
    changelist = reverse("admin:efnet_user_changelist")
    assert "設定済み" in client.get(changelist).content.decode()
    response = client.post(
        changelist, {"action": "reset_second_factor", "_selected_action": [world.clerk_a.pk], "index": 0}, follow=True
    )
    assert "二要素認証をリセットしました：clerk_a。" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=world.clerk_a).exists()
    assert TOTPDevice.objects.filter(user=world.clerk_b).exists()
    event = AuditEvent.objects.get(action="auth.otp_reset")
    assert event.actor == world.admin and event.details == {"username": "clerk_a", "devices_removed": 1}
    assert event.office == world.office_a


def test_the_device_admin_with_its_key_material_is_not_offered(client, world):
    login(client, world.admin)
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404


def test_permissions_and_yes_no_icons_read_in_japanese(client, world):
    """Permission names are stored in English ("Can add group") and Django's yes/no icons say True/False."""
    from django.contrib.auth.models import Group

    login(client, world.admin)
    group = Group.objects.order_by("pk").first()
    html = client.get(reverse("admin:auth_group_change", args=[group.pk])).content.decode()
    assert "認証と認可 | グループ | 追加" in html and "Can add" not in html
    assert "保存されたパスワードを表示・印字できる" in html  # a permission of our own keeps its Japanese name
    users = client.get(reverse("admin:efnet_user_changelist")).content.decode()
    assert 'alt="はい"' in users and 'alt="True"' not in users
