"""What a newcomer's `make run` shows: the portal's own error pages with DEBUG off, an icon, and on the login
pages (demo and development only) how to get the second factor's code."""

import pytest
from django.test import override_settings
from django.urls import reverse


@pytest.mark.django_db
@override_settings(DEMO=True)
def test_the_demo_login_page_says_how_to_get_the_code(client):
    page = client.get(reverse("login")).content.decode()
    assert "デモ環境です" in page
    assert "EFNET_DEMO=1 .venv/bin/python manage.py totp_code osaka" in page


@pytest.mark.django_db
def test_a_production_login_page_says_nothing_about_the_demo(client, settings):
    assert settings.DEBUG is False and settings.DEMO is False
    page = client.get(reverse("login")).content.decode()
    assert "デモ環境" not in page
    assert "totp_code" not in page


@pytest.mark.django_db
def test_favicon_ico_leads_to_the_svg_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("/favicon.svg")
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.django_db
def test_an_unknown_url_gets_the_portals_japanese_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "お探しのページは見つかりませんでした" in response.content.decode()
