"""Malformed ids in query strings and form bodies are refused (400, or a form error), never a server error.

Every URL of the project (the specs of tests/url_specs/) is sent a generic set of id-like parameters with
each malformed value, and each parameter its spec names in ``id_params`` alone, so a view added later is
covered without writing a test for it. ``str.isdigit()`` accepts ``²`` and ``int()`` accepts ``１２``:
neither may reach ``int()`` or the database unchecked."""

import pytest
from django.urls import reverse

from tests.conftest import login
from tests.url_specs import all_specs

SPECS = all_specs()

BAD_VALUES = ["²", "١٢", "１２", "-1", "9" * 40, "1e3", "0x1f", " 1", ""]
# Names views commonly read as ids or numbers; sent to every URL.
GENERIC_PARAMS = ("page", "pk", "id", "member", "office", "campaign", "version", "account", "item", "template")


def _values_for(name: str, value: str, data: dict) -> list[str] | str:
    if name == "item":
        # "pk:version" pairs: a bad value on either side.
        pk = str(data.get("item", ["1:1"])[0]).partition(":")[0] if data.get("item") else "1"
        return [value, f"{value}:1", f"{pk}:{value}"]
    return value


def _persona(world, spec):
    if spec.access in ("public", "staff", "editor", "reveal"):
        return world.clerk_a
    return world.admin


def _send(client, spec, world, method, params):
    url = reverse(spec.name, kwargs=spec.kwargs(world, True) if spec.kwargs else {})
    data = {**(spec.data(world, True) if spec.data else {})}
    data.update({name: _values_for(name, value, data) for name, value in params.items()})
    return client.post(url, data) if method == "POST" else client.get(url, data)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_malformed_ids_never_give_a_server_error(client, world, name):
    from tests.url_specs.tracking import _campaign
    from tracking.services import accounts_enroll

    _campaign()  # the tracking lists answer "no campaign" before reading anything without one
    accounts_enroll(member=world.member_a)
    client.raise_request_exception = False
    spec = SPECS[name]
    user = _persona(world, spec)
    methods = [spec.method] if spec.method == "POST" else ["GET", "POST"]
    failures = []
    for value in BAD_VALUES:
        cases = [dict.fromkeys(GENERIC_PARAMS, value)] + [{param: value} for param in spec.id_params]
        for method in methods:
            for params in cases:
                login(client, user)  # the logout spec ends the session
                response = _send(client, spec, world, method, params)
                if spec.server_error(response.status_code):
                    failures.append((method, params, response.status_code))
    assert not failures, failures


def test_the_specs_name_the_id_parameters_of_the_views_that_read_them():
    # A guard on the guard: these views read ids from the request (found by reading them); their specs say so.
    expected = {
        "tracking:account_list": {"member", "page", "office", "campaign"},
        "tracking:bulk_update": {"item"},
        "tracking:account_record": {"version"},
        "tracking:self_report": {"account"},
    }
    for name, params in expected.items():
        assert params <= set(SPECS[name].id_params), name
