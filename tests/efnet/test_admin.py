"""The Django admin: admins only, behind the same 2FA login, and never showing a password."""

import pytest
from django.urls import reverse

from tests.conftest import login

pytestmark = pytest.mark.django_db


def test_anonymous_goes_to_the_portal_login(client):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("persona", ["clerk_a", "reader_a", "head"])
def test_it_refuses_non_admins(client, world, persona):
    login(client, world.persona(persona))
    assert client.get(reverse("admin:index")).status_code == 403
    assert client.get(reverse("admin:members_member_changelist")).status_code == 403


def test_an_admin_without_the_second_factor_is_not_let_in(client, world):
    client.force_login(world.admin)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302


def test_admin_pages_never_show_a_password(client, world):
    login(client, world.admin)
    member, address = world.member_a, world.address_a
    pages = [
        reverse("admin:members_member_changelist"),
        reverse("admin:members_member_change", args=[member.pk]),
        reverse("admin:mailaddresses_additionalmailaddress_changelist"),
        reverse("admin:mailaddresses_additionalmailaddress_change", args=[address.pk]),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert member.biglobe_password not in body and address.password not in body
        assert "v1:t1:" not in body  # nor the ciphertext
