"""The stored counts (ProgressCount) always sum to the per-member progress they count, whatever changed it
(ORM, cascades, a bulk delete as an import's undo does), in the same transaction; folding them keeps the
sums; a notice's audience count read from them equals the live count."""

import datetime
import itertools

import pytest
from django.db.models import Count, Sum

from members.models import SalesOffice
from notices import selectors as notice_selectors
from notices.models import Notice
from tests.conftest import login
from tests.factories import AddressFactory, MemberFactory
from tracking import progress, services
from tracking.models import AccountStatus, Campaign, CompletionCount, MemberProgress, ProgressCount, Source, Status

pytestmark = pytest.mark.django_db

COUNTS = ("n_not_notified", "n_notified", "n_done", "n_excluded")


def counted(campaign):
    """{(office, state, has mail): (members, accounts by status)} from the stored counts."""
    groups, _ = progress.count_groups(ProgressCount.objects.filter(campaign=campaign))
    return {
        (g["office_id"], g["state"], g["has_email"]): (g["n_members"], *(g[f"sum_{c}"] for c in COUNTS)) for g in groups
    }


def from_progress(campaign):
    """The same, grouped straight from the per-member progress rows."""
    grouped = (
        MemberProgress.objects.filter(campaign=campaign)
        .order_by()
        .values("office_id", "state", "has_email")
        .annotate(n=Count("id"), **{f"s_{c}": Sum(c) for c in COUNTS})
    )
    return {(g["office_id"], g["state"], g["has_email"]): (g["n"], *(g[f"s_{c}"] for c in COUNTS)) for g in grouped}


def completions_by_office_and_day(campaign):
    stored = {}
    for office_id, day, n in CompletionCount.objects.filter(campaign=campaign).values_list(
        "office_id", "status_on", "n"
    ):
        stored[(office_id, day)] = stored.get((office_id, day), 0) + n
    return {k: n for k, n in stored.items() if n}


def completions_from_rows(campaign):
    rows = AccountStatus.objects.filter(campaign=campaign, counted=True, status=Status.DONE, status_on__isnull=False)
    return {
        (r["office_id"], r["status_on"]): r["n"] for r in rows.values("office_id", "status_on").annotate(n=Count("id"))
    }


def exact(campaign):
    assert completions_by_office_and_day(campaign) == completions_from_rows(campaign)
    assert counted(campaign) == from_progress(campaign)
    for p in MemberProgress.objects.filter(campaign=campaign).select_related("member"):
        assert p.has_email == bool(p.member.email), p
    return True


@pytest.fixture
def members(world, campaign):
    out = []
    for office, email in itertools.product((world.office_a, world.office_b), ("a@example.jp", "")):
        for n_addresses in (0, 2):
            m = MemberFactory(office=office, email=email)
            for slot in range(1, n_addresses + 1):
                AddressFactory(member=m, slot=slot)
            services.accounts_enroll(member=m)
            out.append(m)
    return out


def test_the_counts_follow_every_kind_of_change(world, campaign, members):
    assert from_progress(campaign)  # something to count
    assert exact(campaign)
    rows = list(AccountStatus.objects.filter(member=members[1], campaign=campaign).order_by("pk"))
    services.status_record(account_status=rows[0], status=Status.DONE, actor=world.clerk_a, source=Source.PHONE)
    assert exact(campaign)
    services.statuses_bulk_record(
        items=[(r, r.version) for r in AccountStatus.objects.filter(pk__in=[r.pk for r in rows[1:]])],
        status=Status.DONE,
        actor=world.clerk_a,
        source=Source.FAX,
    )
    assert exact(campaign)
    assert completions_from_rows(campaign)  # something completed to count
    assert MemberProgress.objects.get(member=members[1], campaign=campaign).state == Status.DONE
    # A completion's date corrected, and a completion undone.
    AccountStatus.objects.filter(pk=rows[1].pk).update(status_on=datetime.date(2026, 6, 2))
    AccountStatus.objects.filter(pk=rows[2].pk).update(status=Status.NOTIFIED)
    assert exact(campaign)
    # The mail address (the audience's email / FAX split), the office, leaving, an address switched off.
    members[0].email = ""
    members[0].save()
    members[2].email = "new@example.jp"
    members[2].save(update_fields=["email"])
    assert exact(campaign)
    members[3].office = SalesOffice.objects.exclude(pk__in=[world.office_a.pk, world.office_b.pk]).first()
    members[3].save()
    members[4].is_active = False
    members[4].save()
    address = members[5].additional_addresses.first()
    address.is_active = False
    address.save()
    AccountStatus.objects.filter(member=members[6], campaign=campaign).update(status=Status.EXCLUDED)
    assert exact(campaign)
    # Around the ORM's bookkeeping: a bulk delete (an import's undo), a member deleted with its rows.
    MemberProgress.objects.filter(member=members[7]).delete()
    assert exact(campaign)
    members[7].delete()
    assert exact(campaign)
    progress.rebuild(campaign_id=campaign.pk)
    assert exact(campaign)


def test_a_deleted_campaign_leaves_no_count(world, campaign, members):
    other = Campaign.objects.create(name="別キャンペーン", started_on=datetime.date(2026, 8, 1))
    services.accounts_enroll(member=members[0])  # into the new campaign as well
    assert exact(other) and counted(other)
    Campaign.objects.filter(pk=campaign.pk).delete()
    assert counted(campaign) == {}
    assert exact(other)


def test_folding_keeps_the_sums_in_fewer_rows(world, campaign, members, monkeypatch):
    for m in members:
        rows = AccountStatus.objects.filter(member=m, campaign=campaign)
        rows.update(status=Status.NOTIFIED)
        rows.update(status=Status.DONE)
    before = counted(campaign)
    many = ProgressCount.objects.filter(campaign=campaign).count()
    progress.compact_counts(campaign.pk)
    assert counted(campaign) == before == from_progress(campaign)
    after = ProgressCount.objects.filter(campaign=campaign).count()
    assert after == len(before) < many
    # A reader folds once it finds more rows than COMPACT_ABOVE.
    AccountStatus.objects.filter(campaign=campaign).update(status=Status.NOTIFIED)
    monkeypatch.setattr(progress, "COMPACT_ABOVE", after)
    progress.counts(campaign_id=campaign.pk)
    assert ProgressCount.objects.filter(campaign=campaign).count() == len(from_progress(campaign))
    assert exact(campaign)


@pytest.mark.parametrize(
    ("status", "office", "channel"),
    list(itertools.product(("pending", "complete"), (None, "a"), ("all", "email", "fax"))),
)
def test_the_audience_count_from_the_counts_equals_the_live_count(world, campaign, members, status, office, channel):
    services.status_record(
        account_status=AccountStatus.objects.filter(member=members[0], campaign=campaign).first(),
        status=Status.DONE,
        actor=world.clerk_a,
        source=Source.PHONE,
    )
    AccountStatus.objects.filter(member=members[5], campaign=campaign).update(status=Status.DONE)
    notice = Notice(
        campaign=campaign,
        audience_status=status,
        audience_office=world.office_a if office else None,
        audience_channel=channel,
    )
    assert notice_selectors._counted_audience(notice) is not None
    live = notice_selectors.audience(notice)
    summary = notice_selectors.audience_summary(notice)
    assert summary["total"] == live.count()
    assert summary["email"] == live.exclude(email="").count()


def test_filters_the_counts_do_not_hold_are_counted_live(world, campaign, members):
    for fields in ({"audience_status": "any"}, {"audience_addresses": "yes"}):
        notice = Notice(campaign=campaign, **fields)
        assert notice_selectors._counted_audience(notice) is None
        assert notice_selectors.audience_summary(notice)["total"] == notice_selectors.audience(notice).count()
    notice = Notice(campaign=campaign, audience_edition=1, audience_edition_rule="received")
    assert notice_selectors._counted_audience(notice) is None


def test_the_audience_count_shows_a_status_change_at_once(client, world, campaign, members):
    login(client, world.admin)
    url = f"/notices/audience/?campaign={campaign.pk}&audience_status=pending&audience_edition_rule=any"
    before = client.get(url).context["summary"]["total"]
    for row in AccountStatus.objects.filter(member=members[0], campaign=campaign):
        services.status_record(account_status=row, status=Status.DONE, actor=world.clerk_a, source=Source.PHONE)
    assert client.get(url).context["summary"]["total"] == before - 1


def test_completions_per_day_fold_and_keep_their_sums(world, campaign, members, monkeypatch):
    rows = AccountStatus.objects.filter(campaign=campaign)
    for day in (1, 2, 3, 2, 1):
        rows.update(status=Status.DONE, status_on=datetime.date(2026, 6, day))
    before = completions_by_office_and_day(campaign)
    many = CompletionCount.objects.filter(campaign=campaign).count()
    monkeypatch.setattr(progress, "COMPACT_ABOVE", 0)
    per_day = progress.completions_per_day(
        campaign_id=campaign.pk, queryset=CompletionCount.objects.filter(campaign=campaign)
    )
    assert per_day == {datetime.date(2026, 6, 1): rows.count()}
    assert completions_by_office_and_day(campaign) == before == completions_from_rows(campaign)
    assert CompletionCount.objects.filter(campaign=campaign).count() == len(before) < many


def test_the_chart_shows_a_completion_at_once(world, campaign, members):
    from tracking.selectors import completion_series

    before = completion_series(user=world.clerk_a, campaign=campaign)[-1][1]
    row = AccountStatus.objects.filter(member=members[0], campaign=campaign).first()  # office_a: clerk_a's
    services.status_record(
        account_status=row,
        status=Status.DONE,
        actor=world.clerk_a,
        source=Source.PHONE,
        status_on=datetime.date.today(),
    )
    assert completion_series(user=world.clerk_a, campaign=campaign)[-1][1] == before + 1
    assert completion_series(user=world.clerk_b, campaign=campaign)[-1][1] == 0  # another office's chart
