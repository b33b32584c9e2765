"""Keeping ``MemberProgress`` (a member's state per campaign) in step with the status rows.

Called inside the transaction that changes status rows (``AccountStatusQuerySet`` and ``AccountStatus.save``
do it for every ORM write), and when a member's office or active flags change. It locks the members' rows
first, in id order, so two transactions changing different accounts of one member cannot each write a
progress computed without the other's change: the second waits, then reads the first's committed rows.
A few queries per 1,000 members, whatever the table size."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet

CHUNK = 1000
LABEL_SEPARATOR = "、"


def refresh_pairs(pairs: Iterable[tuple[int, int]]) -> None:
    """Recompute the progress of these (member id, campaign id) pairs."""
    by_campaign: dict[int, set[int]] = {}
    for member_id, campaign_id in pairs:
        by_campaign.setdefault(campaign_id, set()).add(member_id)
    for campaign_id, member_ids in by_campaign.items():
        refresh(member_ids=member_ids, campaign_ids=[campaign_id])


def refresh(*, member_ids: Iterable[int], campaign_ids: Iterable[int] | None = None) -> None:
    """Recompute these members' progress in the given campaigns (every campaign if None)."""
    ids = sorted(set(member_ids))
    campaigns = None if campaign_ids is None else sorted(set(campaign_ids))
    for start in range(0, len(ids), CHUNK):
        _refresh_chunk(ids[start : start + CHUNK], campaigns)


def rebuild(*, campaign_id: int | None = None, models=None) -> int:
    """Recompute every member's progress (a new campaign, a backfill). Chunks of members: flat in memory.
    ``models`` lets a data migration pass its historical models. Returns the number of members visited."""
    Member = (models or _models())["Member"]
    last, visited = 0, 0
    while True:
        ids = list(Member.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:CHUNK])
        if not ids:
            return visited
        _refresh_chunk(ids, None if campaign_id is None else [campaign_id], models=models)
        visited += len(ids)
        last = ids[-1]


def _models() -> dict:
    from members.models import Member
    from tracking.models import AccountStatus, MemberProgress

    return {"Member": Member, "AccountStatus": AccountStatus, "MemberProgress": MemberProgress}


def label(slot: int | None) -> str:
    return "メイン" if slot is None else f"追加{slot}"


def _state(counts: dict[str, int]) -> str:
    for status in ("未案内", "案内済", "完了"):
        if counts[status]:
            return status
    return "対象外"


def _tally(acc: dict, campaign_id, member_id, office_id, has_email: bool, status, slot, notified_at) -> None:
    """Count one counted status row into its member's progress in ``acc`` (the rules of every refresh)."""
    a = acc.setdefault(
        (campaign_id, member_id),
        {
            "office_id": office_id,
            "has_email": has_email,
            **{"未案内": 0, "案内済": 0, "完了": 0, "対象外": 0, "last": None, "open": []},
        },
    )
    a[status] += 1
    if status in ("未案内", "案内済"):
        a["open"].append(slot)
        if notified_at is not None and (a["last"] is None or notified_at > a["last"]):
            a["last"] = notified_at


def _fields(a: dict) -> dict:
    """A member's ``MemberProgress`` columns from its tally."""
    return {
        "office_id": a["office_id"],
        "state": _state(a),
        "n_not_notified": a["未案内"],
        "n_notified": a["案内済"],
        "n_done": a["完了"],
        "n_excluded": a["対象外"],
        "last_notice": a["last"],
        "pending_labels": LABEL_SEPARATOR.join(
            label(s) for s in sorted(a["open"], key=lambda s: (s is not None, s or 0))
        ),
        "has_email": a["has_email"],
    }


def insert_for_new_members(accounts: Iterable[tuple]) -> None:
    """The progress of members created in the current transaction together with every one of their status
    rows, from what was written instead of reading it back (an import's new members): ``accounts`` holds
    (campaign id, member id, office id, member has a mail address, status, address slot or None) for each
    counted status row. The rules of ``refresh``; its tests hold the two to the same rows."""
    from efnet.bulk import insert_rows
    from tracking.models import MemberProgress

    acc: dict[tuple[int, int], dict] = {}
    for campaign_id, member_id, office_id, has_email, status, slot in accounts:
        _tally(acc, campaign_id, member_id, office_id, has_email, status, slot, None)
    insert_rows(MemberProgress, [{"campaign_id": c, "member_id": m, **_fields(a)} for (c, m), a in acc.items()])


@transaction.atomic
def _refresh_chunk(ids: list[int], campaigns: list[int] | None, models=None) -> None:
    m = models or _models()
    Member, AccountStatus, MemberProgress = m["Member"], m["AccountStatus"], m["MemberProgress"]
    list(Member.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    rows = AccountStatus.objects.filter(member_id__in=ids)
    existing = MemberProgress.objects.filter(member_id__in=ids)
    if campaigns is not None:
        rows = rows.filter(campaign_id__in=campaigns)
        existing = existing.filter(campaign_id__in=campaigns)
    acc: dict[tuple[int, int], dict] = {}
    wrong_office: dict[int, list[int]] = {}
    wrong_counted: dict[bool, list[int]] = {True: [], False: []}
    for row in rows.order_by().values_list(
        "pk",
        "campaign_id",
        "member_id",
        "status",
        "last_notified_at",
        "address__slot",
        "office_id",
        "counted",
        "member__office_id",
        "member__is_active",
        "address__is_active",
        "member__email",
    ):
        pk, campaign_id, member_id, status, notified_at, slot, copy_office, copy_counted = row[:8]
        office_id, member_active, address_active, email = row[8:]
        counted = bool(member_active) and (slot is None or bool(address_active))
        # The row's copies of office and "counts" follow the member and address (they rarely differ).
        if copy_office != office_id:
            wrong_office.setdefault(office_id, []).append(pk)
        if copy_counted != counted:
            wrong_counted[counted].append(pk)
        if not counted:
            continue
        _tally(acc, campaign_id, member_id, office_id, bool(email), status, slot, notified_at)
    plain = QuerySet(model=AccountStatus)  # office and counted do not feed back into progress
    for office_id, pks in wrong_office.items():
        plain.filter(pk__in=pks).update(office_id=office_id)
    for counted, pks in wrong_counted.items():
        if pks:
            plain.filter(pk__in=pks).update(counted=counted)
    stale = [pk for pk, c, mid in existing.values_list("pk", "campaign_id", "member_id") if (c, mid) not in acc]
    if stale:
        MemberProgress.objects.filter(pk__in=stale).delete()
    if not acc:
        return
    # A data migration's historical model may predate a column (tracking/0005 runs this before 0006).
    has_email = any(f.name == "has_email" for f in MemberProgress._meta.get_fields())
    MemberProgress.objects.bulk_create(
        [
            MemberProgress(
                campaign_id=campaign_id,
                member_id=member_id,
                **{k: v for k, v in _fields(a).items() if has_email or k != "has_email"},
            )
            for (campaign_id, member_id), a in acc.items()
        ],
        update_conflicts=True,
        unique_fields=["campaign", "member"],
        update_fields=[
            "office",
            "state",
            "n_not_notified",
            "n_notified",
            "n_done",
            "n_excluded",
            "last_notice",
            "pending_labels",
            *(["has_email"] if has_email else []),
        ],
    )


# --- Counts ---------------------------------------------------------------------------------------------------

COMPACT_ABOVE = 500  # difference rows in a campaign before a reader folds them


def count_groups(queryset) -> tuple[list[dict], int]:
    """Sums of ``ProgressCount`` rows (already narrowed) per office, state and mail address yes/no, and how
    many rows were summed. Groups that sum to nothing are left out."""
    from django.db.models import Count, Sum

    grouped = (
        queryset.order_by()
        .values("office_id", "state", "has_email")
        .annotate(
            rows=Count("id"),
            n_members=Sum("members"),
            **{f"sum_{c}": Sum(c) for c in ("n_not_notified", "n_notified", "n_done", "n_excluded")},
        )
    )
    out, rows = [], 0
    for g in grouped:
        rows += g["rows"]
        if g["n_members"] or any(g[f"sum_{c}"] for c in ("n_not_notified", "n_notified", "n_done", "n_excluded")):
            out.append(g)
    return out, rows


def compact_counts(campaign_id: int, counted=None) -> None:
    """Fold a campaign's difference rows (``ProgressCount``, or the table of ``counted``, a
    ``count_triggers.Counted``) into one row per group, with the same sums.

    PostgreSQL: one statement deletes the rows its snapshot sees and inserts their sums, so rows that
    concurrent transactions add meanwhile stay as they are, and a concurrent fold only sums what it
    deleted itself. SQLite has one writer at a time: read, delete, insert in one transaction."""
    from django.apps import apps
    from django.db import connection
    from django.db.models import Sum

    from tracking import count_triggers

    counted = counted or count_triggers.PROGRESS
    model = next(m for m in apps.get_app_config("tracking").get_models() if m._meta.db_table == counted.target)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(counted.compact, [campaign_id])
            return
        rows = model.objects.filter(campaign_id=campaign_id)
        keys = list(counted.keys)
        values = (counted.tally, *counted.sums)
        groups = list(rows.order_by().values(*keys).annotate(**{f"sum_{c}": Sum(c) for c in values}))
        rows.delete()
        model.objects.bulk_create(
            model(**{k: g[k] for k in keys}, **{c: g[f"sum_{c}"] for c in values})
            for g in groups
            if any(g[f"sum_{c}"] for c in values)
        )


def counts(*, campaign_id: int, queryset=None) -> list[dict]:
    """The campaign's progress counted per office, state and mail address yes/no (``queryset``: its
    ``ProgressCount`` rows narrowed further, e.g. to the offices a user may see). Folds the campaign's rows
    first when a reader finds many more rows than groups, so reading stays a few dozen rows whatever the
    size of the data."""
    from tracking.models import ProgressCount

    if queryset is None:
        queryset = ProgressCount.objects.filter(campaign_id=campaign_id)
    groups, rows = count_groups(queryset)
    if rows > len(groups) + COMPACT_ABOVE:
        compact_counts(campaign_id)
    return groups


def completions_per_day(*, campaign_id: int, queryset) -> dict:
    """{day: accounts completed that day} from ``CompletionCount`` rows (``queryset``: the campaign's,
    narrowed to what the reader may see); folds the campaign's rows when there are many more than groups."""
    from django.db.models import Count, Sum

    from tracking import count_triggers

    per_day: dict = {}
    rows = groups = 0
    for g in queryset.order_by().values("office_id", "status_on").annotate(rows=Count("id"), total=Sum("n")):
        rows, groups = rows + g["rows"], groups + 1
        per_day[g["status_on"]] = per_day.get(g["status_on"], 0) + g["total"]
    if rows > groups + COMPACT_ABOVE:
        compact_counts(campaign_id, count_triggers.COMPLETIONS)
    return {day: n for day, n in per_day.items() if n}


def refresh_set_based(*, member_ids: Iterable[int], copies_of: Iterable[int] = ()) -> None:
    """``refresh`` for every campaign, done by the database: per 5,000 members one DELETE of progress rows left
    without a counted account and one ``INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE`` (instead of
    reading every status row into Python); for the members in ``copies_of`` (whose office or active flags may
    have changed) first one UPDATE of their status rows' office and "counts" copies. The caller vouches that
    the other members' copies are right (status rows it wrote with them). Each statement starts from the list
    of members and reaches their rows through the indexes (LATERAL), whatever the statistics say: an import
    that fills an empty table outruns them, and a plan made for the empty table takes minutes.
    PostgreSQL only (``string_agg … ORDER BY`` builds the labels); elsewhere it is ``refresh``. The same rules
    as ``_refresh_chunk``, which tests compare it with."""
    from django.db import connection

    if connection.vendor != "postgresql":
        refresh(member_ids=member_ids)
        return
    ids = sorted(set(member_ids))
    copies = sorted(set(copies_of))
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(ids), 5000):
            part = ids[start : start + 5000]
            cursor.execute("SELECT id FROM members_member WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE", [part])
        for start in range(0, len(copies), 5000):
            cursor.execute(_SQL_COPIES, [copies[start : start + 5000]])
        upsert = _upsert_sql()
        for start in range(0, len(ids), 5000):
            part = ids[start : start + 5000]
            cursor.execute(_SQL_STALE, [part])
            cursor.execute(upsert, [part])


def _upsert_sql() -> str:
    """The upsert, with ``has_email`` (the member has a mail address) where MemberProgress keeps it."""
    from tracking.models import MemberProgress

    if not any(f.name == "has_email" for f in MemberProgress._meta.get_fields()):
        return _SQL_UPSERT.replace("/*E*/", "").replace("/*EV*/", "").replace("/*EX*/", "")
    return (
        _SQL_UPSERT.replace("/*E*/", ", has_email")
        .replace("/*EV*/", ", COALESCE(m.email, '') <> ''")
        .replace("/*EX*/", ", has_email = EXCLUDED.has_email")
        .replace("p.pending_labels) IS", "p.pending_labels, p.has_email) IS")
        .replace("EXCLUDED.pending_labels)\n", "EXCLUDED.pending_labels, EXCLUDED.has_email)\n")
    )


# The status rows' copies of the member's office and of "counts" (member active, and its address active).
_SQL_COPIES = """
UPDATE tracking_accountstatus AS s SET office_id = x.office_id, counted = x.counted
FROM (
    SELECT r.id, m.office_id, (m.is_active AND (r.address_id IS NULL OR COALESCE(a.is_active, FALSE))) AS counted
    FROM unnest(%s::bigint[]) AS ids(member_id)
    JOIN members_member AS m ON m.id = ids.member_id
    CROSS JOIN LATERAL (
        SELECT s2.id, s2.address_id FROM tracking_accountstatus AS s2 WHERE s2.member_id = ids.member_id
    ) AS r
    LEFT JOIN LATERAL (
        SELECT a2.is_active FROM mailaddresses_additionalmailaddress AS a2 WHERE a2.id = r.address_id
    ) AS a ON TRUE
) AS x
WHERE s.id = x.id AND (s.office_id IS DISTINCT FROM x.office_id OR s.counted IS DISTINCT FROM x.counted)
"""

_SQL_STALE = """
DELETE FROM tracking_memberprogress AS p
WHERE p.id IN (
    SELECT p2.id
    FROM unnest(%s::bigint[]) AS ids(member_id)
    CROSS JOIN LATERAL (
        SELECT p3.id, p3.campaign_id FROM tracking_memberprogress AS p3 WHERE p3.member_id = ids.member_id
    ) AS p2
    WHERE NOT EXISTS (
        SELECT 1 FROM tracking_accountstatus AS s
        WHERE s.member_id = ids.member_id AND s.campaign_id = p2.campaign_id AND s.counted
    )
)
"""

_SQL_UPSERT = """
INSERT INTO tracking_memberprogress AS p
    (campaign_id, member_id, office_id, state, n_not_notified, n_notified, n_done, n_excluded, last_notice,
     pending_labels/*E*/)
SELECT g.campaign_id, ids.member_id, m.office_id,
       CASE WHEN g.n1 > 0 THEN '未案内' WHEN g.n2 > 0 THEN '案内済' WHEN g.n3 > 0 THEN '完了' ELSE '対象外' END,
       g.n1, g.n2, g.n3, g.n4, g.last_notice, g.labels/*EV*/
FROM unnest(%s::bigint[]) AS ids(member_id)
JOIN members_member AS m ON m.id = ids.member_id
CROSS JOIN LATERAL (
    SELECT s.campaign_id,
           count(*) FILTER (WHERE s.status = '未案内') AS n1,
           count(*) FILTER (WHERE s.status = '案内済') AS n2,
           count(*) FILTER (WHERE s.status = '完了') AS n3,
           count(*) FILTER (WHERE s.status = '対象外') AS n4,
           max(s.last_notified_at) FILTER (WHERE s.status IN ('未案内', '案内済')) AS last_notice,
           COALESCE(string_agg(CASE WHEN s.address_id IS NULL THEN 'メイン' ELSE '追加' || a.slot END, '、'
                               ORDER BY a.slot NULLS FIRST) FILTER (WHERE s.status IN ('未案内', '案内済')), '')
               AS labels
    FROM tracking_accountstatus AS s
    LEFT JOIN LATERAL (
        SELECT a2.slot FROM mailaddresses_additionalmailaddress AS a2 WHERE a2.id = s.address_id
    ) AS a ON TRUE
    WHERE s.member_id = ids.member_id AND s.counted
    GROUP BY s.campaign_id
) AS g
ON CONFLICT (campaign_id, member_id) DO UPDATE SET
    office_id = EXCLUDED.office_id, state = EXCLUDED.state, n_not_notified = EXCLUDED.n_not_notified,
    n_notified = EXCLUDED.n_notified, n_done = EXCLUDED.n_done, n_excluded = EXCLUDED.n_excluded,
    last_notice = EXCLUDED.last_notice, pending_labels = EXCLUDED.pending_labels/*EX*/
WHERE (p.office_id, p.state, p.n_not_notified, p.n_notified, p.n_done, p.n_excluded, p.last_notice,
       p.pending_labels) IS DISTINCT FROM
      (EXCLUDED.office_id, EXCLUDED.state, EXCLUDED.n_not_notified, EXCLUDED.n_notified, EXCLUDED.n_done,
       EXCLUDED.n_excluded, EXCLUDED.last_notice, EXCLUDED.pending_labels)
"""
