"""The stored per-member progress (MemberProgress) equals what the status rows say, after every kind of
change, in the same transaction; the dashboard reads it, so a change shows at once."""

import datetime

import pytest
from django.utils import timezone

from members.models import SalesOffice
from tests.conftest import login
from tests.factories import AddressFactory, MemberFactory
from tracking import progress, services
from tracking.models import AccountStatus, MemberProgress, Source, Status

pytestmark = pytest.mark.django_db


def expected_progress(campaign):
    """Straight from the rows, in Python: {member id: (office id, state, counts, labels)}."""
    rows = [
        r
        for r in AccountStatus.objects.select_related("member", "address").filter(campaign=campaign)
        if r.member.is_active and (r.address is None or r.address.is_active)
    ]
    by_member = {}
    for r in rows:
        by_member.setdefault(r.member_id, []).append(r)
    out = {}
    for member_id, member_rows in by_member.items():
        statuses = [r.status for r in member_rows]
        state = next((s for s in ("未案内", "案内済", "完了") if s in statuses), "対象外")
        open_rows = sorted(
            (r for r in member_rows if r.status in ("未案内", "案内済")),
            key=lambda r: (r.address is not None, r.address.slot if r.address else 0),
        )
        labels = "、".join("メイン" if r.address is None else f"追加{r.address.slot}" for r in open_rows)
        counts = tuple(statuses.count(s) for s in ("未案内", "案内済", "完了", "対象外"))
        out[member_id] = (member_rows[0].member.office_id, state, counts, labels)
    return out


def copies_are_right():
    """Every status row's copies of its member's office and of whether it counts."""
    for r in AccountStatus.objects.select_related("member", "address"):
        counts = r.member.is_active and (r.address is None or r.address.is_active)
        assert (r.office_id, r.counted) == (r.member.office_id, counts), r
    return True


def stored_progress(campaign):
    return {
        p.member_id: (
            p.office_id,
            p.state,
            (p.n_not_notified, p.n_notified, p.n_done, p.n_excluded),
            p.pending_labels,
        )
        for p in MemberProgress.objects.filter(campaign=campaign)
    }


@pytest.fixture
def members(world, campaign):
    out = []
    for office in (world.office_a, world.office_b):
        for n_addresses in (0, 1, 3):
            m = MemberFactory(office=office)
            for slot in range(1, n_addresses + 1):
                AddressFactory(member=m, slot=slot)
            services.accounts_enroll(member=m)
            out.append(m)
    return out


def test_every_kind_of_change_keeps_the_stored_progress_exact(world, campaign, members):
    assert stored_progress(campaign) == expected_progress(campaign)
    assert copies_are_right()
    three = members[2]
    rows = list(AccountStatus.objects.filter(member=three, campaign=campaign).order_by("pk"))

    services.status_record(account_status=rows[0], status=Status.DONE, actor=world.clerk_a, source=Source.PHONE)
    assert stored_progress(campaign) == expected_progress(campaign)

    services.statuses_bulk_record(
        items=[(r, r.version) for r in AccountStatus.objects.filter(pk__in=[rows[1].pk, rows[2].pk])],
        status=Status.NOTIFIED,
        actor=world.clerk_a,
        source=Source.FAX,
    )
    assert stored_progress(campaign) == expected_progress(campaign)
    assert MemberProgress.objects.get(member=three).pending_labels == "追加1、追加2、追加3"

    services.accounts_mark_notified_many(members=members, campaign=campaign, at=timezone.now())
    assert stored_progress(campaign) == expected_progress(campaign)

    open_ids = list(
        AccountStatus.objects.filter(member=three, campaign=campaign, status__in=["未案内", "案内済"]).values_list(
            "pk", flat=True
        )
    )
    services.self_report_submit(member=three, campaign=campaign, nonce="n" * 32, account_ids=open_ids)
    assert MemberProgress.objects.get(member=three).state == Status.DONE
    assert stored_progress(campaign) == expected_progress(campaign)

    # An address switched off, a member who left, a member moved to another office, a new address.
    address = members[1].additional_addresses.get()
    address.is_active = False
    address.save()
    members[3].is_active = False
    members[3].save()
    members[4].office = SalesOffice.objects.exclude(pk__in=[world.office_a.pk, world.office_b.pk]).first()
    members[4].save()
    AddressFactory(member=members[0], slot=1)
    services.accounts_enroll(member=members[0])
    assert stored_progress(campaign) == expected_progress(campaign)
    assert not MemberProgress.objects.filter(member=members[3]).exists()
    assert copies_are_right()

    # A status written by hand through the ORM (an import, the admin) is followed too.
    AccountStatus.objects.filter(member=members[5], campaign=campaign).update(status=Status.EXCLUDED)
    assert stored_progress(campaign) == expected_progress(campaign)


def test_rebuild_restores_the_progress_from_the_rows(world, campaign, members):
    expected = expected_progress(campaign)
    MemberProgress.objects.all().delete()
    progress.rebuild(campaign_id=campaign.pk)
    assert stored_progress(campaign) == expected


def test_the_dashboard_shows_a_status_change_at_once(client, world, campaign, members):
    """No cache between the rows and the figures: record, then read the dashboard in the same second."""
    login(client, world.clerk_a)
    before = client.get("/tracking/").context["total"]
    member = members[0]  # one account only: 完了 makes the member 完了
    row = AccountStatus.objects.get(member=member, campaign=campaign)
    response = client.post(
        f"/tracking/accounts/{row.pk}/record/",
        {"status": "完了", "source": "電話", "status_on": datetime.date.today().isoformat(), "version": row.version},
    )
    assert response.status_code == 302
    page = client.get("/tracking/")
    after = page.context["total"]
    assert after.members[Status.DONE] == before.members[Status.DONE] + 1
    assert after.accounts[Status.DONE] == before.accounts[Status.DONE] + 1
    assert after.members["total"] == before.members["total"]


def test_the_set_based_refresh_gives_what_the_python_one_gives(world, campaign, members):
    """``progress.refresh_set_based`` (one SQL statement per step on PostgreSQL, used by imports) against the
    rules: status rows changed behind the hooks' back, notice times, an address and a member switched off, a
    member moved (its copies wrong until refreshed), a stale progress row, and a member never refreshed."""
    from django.db.models import QuerySet

    from members.models import Member

    plain_status, plain_member = QuerySet(model=AccountStatus), QuerySet(model=Member)
    a, b, c = members[1], members[2], members[5]
    rows = list(AccountStatus.objects.filter(member=b, campaign=campaign).order_by("pk"))
    plain_status.filter(pk=rows[0].pk).update(status=Status.DONE)
    plain_status.filter(pk=rows[2].pk).update(
        status=Status.NOTIFIED, last_notified_at=timezone.now() - datetime.timedelta(days=2)
    )
    plain_status.filter(pk=rows[3].pk).update(status=Status.NOTIFIED, last_notified_at=timezone.now())
    plain_status.filter(member=c).update(status=Status.EXCLUDED)
    address = b.additional_addresses.get(slot=2)
    QuerySet(model=type(address)).filter(pk=address.pk).update(is_active=False)
    plain_member.filter(pk=a.pk).update(is_active=False)
    other = SalesOffice.objects.exclude(pk__in=[world.office_a.pk, world.office_b.pk]).first()
    plain_member.filter(pk=members[4].pk).update(office=other)
    MemberProgress.objects.filter(member=members[0]).delete()  # never refreshed

    progress.refresh_set_based(member_ids=[m.pk for m in members], copies_of=[m.pk for m in members])

    assert stored_progress(campaign) == expected_progress(campaign)
    assert copies_are_right()
    assert not MemberProgress.objects.filter(member=a).exists()
    assert MemberProgress.objects.get(member=b).pending_labels == "追加1、追加3"
    assert MemberProgress.objects.get(member=b).last_notice is not None
    # Nothing left to change: a second run writes nothing and leaves the same rows.
    before = stored_progress(campaign)
    progress.refresh_set_based(member_ids=[m.pk for m in members])
    assert stored_progress(campaign) == before
