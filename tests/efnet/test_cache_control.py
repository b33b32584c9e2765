"""Pages with members' personal data are never stored by a browser or proxy cache; static files still are.

Runs over the URL access matrix (tests/url_specs/), so a page added later is covered without a new test."""

import pytest
from django.templatetags.static import static
from django.urls import reverse

from tests.conftest import login
from tests.test_url_matrix import ALLOWED, PERSONAS, SPECS, _request

pytestmark = pytest.mark.django_db

# Every page a persona may open (refusals are the access matrix's business).
PAGES = [
    (name, persona)
    for name, spec in sorted(SPECS.items())
    if spec.method == "GET"
    for persona in PERSONAS
    if persona in ALLOWED[spec.access]
]


@pytest.mark.parametrize(("name", "persona"), PAGES)
def test_every_html_page_for_a_logged_in_persona_is_no_store(client, world, name, persona):
    spec = SPECS[name]
    login(client, world.persona(persona))
    response = _request(client, spec, world, own=True)
    if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
        assert "no-store" in response["Cache-Control"], f"{name} for {persona}: {response.get('Cache-Control')}"
        assert response["Pragma"] == "no-cache"


def test_the_member_page_is_no_store(client, world):
    login(client, world.clerk_a)
    response = client.get(reverse("members:detail", kwargs={"pk": world.member_a.pk}))
    assert response.status_code == 200 and world.member_a.name in response.content.decode()
    assert "no-store" in response["Cache-Control"] and response["Pragma"] == "no-cache"


def test_the_member_self_report_page_is_no_store(client, world):
    spec = SPECS["tracking:self_report"]
    response = _request(client, spec, world, own=True)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    problem = client.get(reverse("tracking:self_report", kwargs={"token": "bogus"}))
    assert problem.status_code == 400 and "no-store" in problem["Cache-Control"]


def test_static_files_stay_cacheable(client, world):
    login(client, world.clerk_a)
    response = client.get(static("css/app.css"))
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert "Pragma" not in response
