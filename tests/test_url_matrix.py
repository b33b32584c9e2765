"""Every URL of the project, for every persona: anonymous → login, the right role → allowed on its own
office's objects and 404 (audited) on another office's, the wrong role → 403.

URLs are enumerated from the resolver, so a view added later without a spec fails here."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from efnet.models import AuditEvent
from tests.conftest import login
from tests.url_specs import all_specs

PERSONAS = ["clerk_a", "reader_a", "head", "admin"]
ALLOWED = {
    "public": {"anonymous", "clerk_a", "reader_a", "head", "admin"},
    "staff": {"clerk_a", "reader_a", "head", "admin"},
    "editor": {"clerk_a", "head", "admin"},
    "reveal": {"clerk_a", "admin"},
    "head": {"head", "admin"},
    "admin": {"admin"},
}
# Office-wide personas see both offices; clerk_a and reader_a only office A.
SEES_OFFICE_B = {"head", "admin"}


def _url_names(patterns=None, namespace=""):
    for p in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace or ""
            if ns == "admin":
                continue  # the Django admin has its own test (tests/efnet/test_admin.py)
            yield from _url_names(p.url_patterns, f"{namespace}{ns}:" if ns else namespace)
        elif isinstance(p, URLPattern) and p.name:
            yield f"{namespace}{p.name}"


SPECS = all_specs()


def test_every_url_has_a_spec():
    missing = sorted(set(_url_names()) - set(SPECS))
    assert not missing, f"URLs without an access spec in tests/url_specs/: {missing}"


def test_specs_name_only_existing_urls():
    stale = sorted(set(SPECS) - set(_url_names()))
    assert not stale, f"specs for URLs that no longer exist: {stale}"


def _request(client, spec, world, own):
    kwargs = spec.kwargs(world, own) if spec.kwargs else {}
    url = reverse(spec.name, kwargs=kwargs)
    data = spec.data(world, own) if spec.data else {}
    return client.post(url, data) if spec.method == "POST" else client.get(url)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_anonymous(client, world, name):
    spec = SPECS[name]
    response = _request(client, spec, world, own=True)
    if spec.access == "public":
        assert not spec.server_error(response.status_code)
        assert not response.get("Location", "").startswith("/login/?next")
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def _denied_count(user) -> int:
    return AuditEvent.objects.filter(action="access.denied", actor=user).count()


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", sorted(SPECS))
def test_persona(client, world, name, persona):
    spec = SPECS[name]
    user = world.persona(persona)
    login(client, user)
    allowed = persona in ALLOWED[spec.access]

    denied_before = _denied_count(user)
    response = _request(client, spec, world, own=True)
    if allowed:
        assert response.status_code not in (403, 404), f"{persona} refused on own office: {response.status_code}"
        assert not spec.server_error(response.status_code)
    else:
        assert response.status_code == 403, f"{persona} should be refused: got {response.status_code}"
        # Every refusal is audited: who (the actor), what (the path) and why (the missing right).
        event = AuditEvent.objects.filter(action="access.denied", actor=user).latest("id")
        assert _denied_count(user) == denied_before + 1
        assert event.details["path"] == response.wsgi_request.path and event.details["why"].endswith("_required")

    if spec.kwargs is None or not spec.scoped or spec.access == "public":
        return
    login(client, user)  # a logout spec may have ended the session
    denied_before = _denied_count(user)
    response = _request(client, spec, world, own=False)
    if not allowed:
        assert response.status_code == 403
        assert _denied_count(user) == denied_before + 1
    elif persona in SEES_OFFICE_B:
        assert response.status_code not in (403, 404) and not spec.server_error(response.status_code)
    else:
        assert response.status_code == 404, f"{persona} reached another office's object: {response.status_code}"
        assert _denied_count(user) == denied_before + 1
