"""Deterministic fictitious demo data: offices' members, their additional addresses, campaign statuses,
and one staff user per role. Bulk inserts, so 100,000 members stay practical."""

from __future__ import annotations

import random
import time
import uuid
from datetime import date, datetime, timedelta

from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from efnet.bulk import bulk_insert
from efnet.models import Role, User
from efnet.passwords import CLASSES, validate_biglobe_password
from mailaddresses.models import AdditionalMailAddress
from members.demo.data import BUSINESS_WORDS, FORMS, NAME_WORDS, OFFICE_AREAS, OFFICE_WEIGHTS
from members.models import Member, SalesOffice, Secretariat, member_search_key
from notices.models import Channel, Delivery, Notice
from tracking import progress
from tracking.models import AccountStatus, Campaign, Source, Status, StatusChange

DEMO_PASSWORD = "demo-efnet-2026"  # noqa: S105 - the documented, fictitious demo login
DEMO_CAMPAIGN = "2026年6月 BIGLOBEパスワード変更"
BATCH = 2000

# (username, display name, office code or None, roles)
DEMO_USERS = [
    ("admin", "管理者 一郎", None, [Role.ADMIN]),
    ("admin2", "管理者 二郎", None, [Role.ADMIN]),
    ("honsha", "本社 花子", None, [Role.HEAD_OFFICE]),
    ("osaka", "大阪 太郎", "osaka", [Role.SALES_OFFICE, Role.REVEALER]),
    ("osaka_viewer", "大阪 閲覧", "osaka", [Role.SALES_OFFICE]),
    ("tokyo", "東京 次郎", "tokyo", [Role.SALES_OFFICE, Role.REVEALER]),
    ("sendai", "仙台 三郎", "sendai", [Role.SALES_OFFICE, Role.REVEALER]),
    ("kumamoto", "熊本 四郎", "kumamoto", [Role.SALES_OFFICE, Role.REVEALER]),
]


def demo_password(rng: random.Random) -> str:
    """A fictitious initial password that satisfies the BIGLOBE rule."""
    length = rng.randint(8, 12)
    kinds = rng.sample(range(4), rng.randint(2, 3))
    chars = [rng.choice(CLASSES[k]) for k in kinds]
    pool = "".join(CLASSES[k] for k in kinds)
    chars += [rng.choice(pool) for _ in range(length - len(chars))]
    rng.shuffle(chars)
    password = "".join(chars)
    validate_biglobe_password(password)
    return password


def company(rng: random.Random) -> tuple[str, str]:
    word, word_kana = rng.choice(NAME_WORDS)
    business, business_kana = rng.choice(BUSINESS_WORDS)
    form, form_kana, where = rng.choice(FORMS)
    if where == "prefix":
        return f"{form}{word}{business}", f"{word_kana}{business_kana}"
    if where == "suffix":
        return f"{word}{business}{form}", f"{word_kana}{business_kana}"
    return f"{word}{business}", f"{word_kana}{business_kana}"


def ensure_demo_users(rng: random.Random) -> list[tuple[str, str]]:
    offices = {o.code: o for o in SalesOffice.objects.all()}
    groups = {g.name: g for g in Group.objects.filter(name__in=Role.ALL)}
    created = []
    for username, display, office_code, roles in DEMO_USERS:
        key = f"{rng.getrandbits(160):040x}"
        user, made = User.objects.get_or_create(
            username=username,
            defaults={
                "display_name": display,
                "office": offices.get(office_code),
                "is_staff": Role.ADMIN in roles,
                # Admins have an address so the approval request (and 自分にテスト送信) show in the demo's mail
                # output (the console); the domain is the demo's own, which reaches nobody.
                "email": f"{username}@efnet-demo.example" if Role.ADMIN in roles else "",
            },
        )
        if made:
            user.set_password(DEMO_PASSWORD)
            user.save()
            user.groups.set([groups[r] for r in roles])
            TOTPDevice.objects.create(user=user, name="デモ用", key=key, confirmed=True)
            created.append((username, display))
    return created


def ensure_demo_fax_numbers() -> None:
    """Fictitious FAX numbers for offices and the 事務局 that have none: the office's area code, then a
    zero exchange, which no real Japanese number has (06-6942-4028 → 06-0000-4029)."""
    for office in SalesOffice.objects.filter(fax=""):
        area, exchange, line = office.phone.split("-")
        office.fax = f"{area}-{'0' * len(exchange)}-{(int(line) + 1) % 10000:04d}"
        office.save(update_fields=["fax"])
    Secretariat.objects.filter(pk=Secretariat.get().pk, fax="").update(fax="03-0000-1000")


def seed(*, members: int, seed: int, stdout=None) -> dict:
    rng = random.Random(seed)
    started = time.monotonic()
    users = ensure_demo_users(random.Random(seed + 1))
    offices = list(SalesOffice.objects.all())
    weights = [OFFICE_WEIGHTS.get(o.code, 5) for o in offices]
    start_number = int(Member.objects.order_by("-number").values_list("number", flat=True).first() or 100000) + 1
    campaign, _ = Campaign.objects.get_or_create(
        name=DEMO_CAMPAIGN, defaults={"started_on": date(2026, 6, 1), "deadline": date(2026, 12, 25)}
    )
    counts = {"members": 0, "addresses": 0, "statuses": 0}
    first_notice = _first_notice(campaign)
    for batch_start in range(0, members, BATCH):
        size = min(BATCH, members - batch_start)
        with transaction.atomic():
            batch_members, batch_addresses = _make_batch(rng, offices, weights, start_number + batch_start, size)
            _insert(Member, batch_members)
            for address in batch_addresses:
                # Re-assigning the cached member copies its new primary key into member_id.
                address.member = address.member
            _insert(AdditionalMailAddress, batch_addresses)
            statuses = _make_statuses(rng, campaign, batch_members, batch_addresses)
            if _insert(AccountStatus, statuses):
                # COPY skips AccountStatus' queryset, which keeps the members' progress on bulk_create.
                progress.refresh(member_ids=[m.pk for m in batch_members], campaign_ids=[campaign.pk])
            # The history behind each demo status, so member timelines are not empty.
            _insert(
                StatusChange,
                [
                    StatusChange(
                        account_status=row,
                        from_status=Status.NOT_NOTIFIED,
                        to_status=row.status,
                        status_on=row.status_on,
                        source=row.source,
                        note=row.note,
                    )
                    for row in statuses
                    if row.status != Status.NOT_NOTIFIED
                ],
            )
            if first_notice is not None:
                # 第1報 reached every member with an account past 未案内.
                notified = {row.member_id for row in statuses if row.status != Status.NOT_NOTIFIED}
                _insert(
                    Delivery,
                    [
                        Delivery(
                            notice=first_notice,
                            member=m,
                            channel=Channel.EMAIL if m.email else Channel.PRINT,
                            status=Delivery.Status.SENT,
                            attempts=1,
                            sent_at=first_notice.approved_at,
                            tracking_done=True,
                        )
                        for m in batch_members
                        if m.pk in notified
                    ],
                )
        counts["members"] += size
        # With DEBUG on, Django keeps the last 9,000 statements, each a 2,000-row INSERT here: let them go.
        connection.queries_log.clear()
        counts["addresses"] += len(batch_addresses)
        counts["statuses"] += len(statuses)
        if stdout is not None and members > BATCH:
            stdout.write(f"  {counts['members']:,} / {members:,} 件")
    counts["seconds"] = round(time.monotonic() - started, 1)
    counts["users_created"] = users
    return counts


def _insert(model, objs: list) -> bool:
    """``bulk_create``, or on PostgreSQL ``COPY`` with keys from the table's sequence and every value through
    its field's ``pre_save`` (the encrypted fields encrypt there): ``efnet.bulk.bulk_insert``, which imports
    use too. Returns True if it copied (COPY goes around AccountStatus' queryset, which keeps progress)."""
    bulk_insert(model, objs)
    return bool(objs) and connection.vendor == "postgresql"


def _first_notice(campaign) -> Notice | None:
    """The 第1報 the demo office already sent (FAX and mail, 2026-06-02), so delivery history is not empty."""
    author, approver = User.objects.filter(username="admin").first(), User.objects.filter(username="admin2").first()
    if author is None or approver is None:
        return None
    sent_at = timezone.make_aware(datetime(2026, 6, 2, 10))
    notice, _ = Notice.objects.get_or_create(
        campaign=campaign,
        edition=1,
        defaults={
            "title": "【重要】BIGLOBE パスワード変更のお願い",
            "date": date(2026, 6, 1),
            "body": "{{ 会社名 }} 様\n\nBIGLOBEより、パスワード変更のお願いが届いております。\n"
            "{{ 未完了アカウント }}\n",
            "state": Notice.State.SENT,
            "author": author,
            "approved_by": approver,
            "approved_at": sent_at,
            "send_started_at": sent_at,
        },
    )
    return notice


def _make_batch(rng, offices, weights, first_number, size):
    members, addresses = [], []
    for i in range(size):
        number = first_number + i
        office = rng.choices(offices, weights)[0]
        prefecture, streets, area_code, postal_prefix = OFFICE_AREAS.get(
            office.code, ("東京都千代田区", ["神田"], "03", "101")
        )
        name, kana = company(rng)
        registered = date(2008, 4, 1) + timedelta(days=rng.randint(0, 6700))
        user_id = f"{rng.choice('abcdefghjkmnpqrstuvwxyz')}{rng.choice('abcdefghjkmnpqrstuvwxyz')}{number:06d}"
        member = Member(
            uuid=uuid.UUID(int=rng.getrandbits(128), version=4),
            number=f"{number:06d}",
            registered_on=registered,
            name=name,
            name_kana=kana,
            postal_code=f"{postal_prefix}-{rng.randint(0, 9999):04d}",
            address=f"{prefecture}{rng.choice(streets)}{rng.randint(1, 9)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}",
            phone=_phone(rng, area_code),
            fax=_phone(rng, area_code) if rng.random() < 0.8 else "",
            office=office,
            biglobe_user_id=user_id,
            email=f"{user_id}@efnet-demo.example" if rng.random() < 0.82 else "",
        )
        member.biglobe_password = demo_password(rng)
        members.append(member)
        # 1.5 additional addresses a member on average: about 2.5 accounts a member, as at the office.
        n_addresses = rng.choices([0, 1, 2, 3], [15, 30, 45, 10])[0]
        for slot in range(1, n_addresses + 1):
            issued = registered + timedelta(days=rng.randint(0, max(1, (date(2026, 6, 30) - registered).days)))
            address = AdditionalMailAddress(
                uuid=uuid.UUID(int=rng.getrandbits(128), version=4),
                member=member,
                slot=slot,
                address=f"{user_id}-{slot}@efnet-demo.example",
                login_id=f"{user_id}{slot}",
                issued_on=issued,
            )
            address.password = demo_password(rng)
            addresses.append(address)
        # bulk_create skips Member.save, which keeps the search key.
        member.search_key = member_search_key(member, [a.address for a in addresses[len(addresses) - n_addresses :]])
    return members, addresses


def _phone(rng: random.Random, area_code: str) -> str:
    """Ten digits as Japanese landlines have them: 06-6942-4028, 011-222-4321, 0233-22-8655."""
    width = 6 - len(area_code)
    exchange = rng.randint(2 * 10 ** (width - 1), 10**width - 1)
    return f"{area_code}-{exchange}-{rng.randint(0, 9999):04d}"


def _make_statuses(rng, campaign, members, addresses):
    now = timezone.now()
    statuses = []
    accounts = [(m, None) for m in members] + [(a.member, a) for a in addresses]
    for member, address in accounts:
        roll = rng.random()
        # Every demo member and address is active: the status row's copies are the member's office and True.
        row = AccountStatus(campaign=campaign, member=member, address=address, office_id=member.office_id, counted=True)
        if roll < 0.45:
            done_on = date(2026, 6, 3) + timedelta(days=int(rng.triangular(0, 170, 10)))
            row.status, row.status_on = Status.DONE, done_on
            row.source = rng.choice([Source.PHONE, Source.FAX, Source.SELF_REPORT, Source.OFFICE_CHECK])
            row.last_notified_at = timezone.make_aware(datetime(2026, 6, 2, 10))
        elif roll < 0.80:
            row.status, row.status_on, row.source = Status.NOTIFIED, date(2026, 6, 2), Source.NOTICE
            row.last_notified_at = now - timedelta(days=rng.randint(3, 170))
        elif roll < 0.98:
            row.status = Status.NOT_NOTIFIED
        else:
            row.status, row.status_on, row.source = Status.EXCLUDED, date(2026, 6, 10), Source.OFFICE_CHECK
            row.note = "解約予定"
        statuses.append(row)
    return statuses
