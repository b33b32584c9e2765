"""The batch form's office: another office is refused with a form error and audited, not ignored."""

import pytest
from django.urls import reverse

from documents.models import BatchJob
from efnet.models import AuditEvent
from tests.conftest import login

pytestmark = pytest.mark.django_db


def test_it_refuses_another_office_with_a_form_error_and_audits_it(client, world):
    login(client, world.clerk_a)
    response = client.post(reverse("documents:batch_list"), {"office": world.office_b.pk, "reason": "紛失再発行"})
    assert response.status_code == 200
    assert "この営業所は選べません。" in response.content.decode()
    assert not BatchJob.objects.exists()
    event = AuditEvent.objects.get(action="access.denied", actor=world.clerk_a)
    assert event.office == world.office_b
    assert event.details == {"model": "members.salesoffice", "why": "office_not_visible", "field": "営業所"}


def test_a_missing_office_is_the_same_form_error_without_an_event(client, world):
    # Nothing to hide about an office that does not exist; the answer is the same as for a hidden one.
    login(client, world.clerk_a)
    response = client.post(reverse("documents:batch_list"), {"office": 999999, "reason": "紛失再発行"})
    assert "この営業所は選べません。" in response.content.decode()
    assert not AuditEvent.objects.filter(action="access.denied").exists()
