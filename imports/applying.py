"""Applying a previewed batch, chunk by chunk, and undoing it as a whole.

Applying reads only the batch's ImportRow records (what the preview showed), never the file. Each chunk is one
transaction that locks the batch row, re-checks every target against what the preview saw (``before``: its
``updated_at``, or a status's version), writes the rows that still match, and marks every row of the chunk
applied or refused. A worker killed mid-chunk leaves the chunk's transaction rolled back; the next run takes
the rows still pending: a row is applied once or not at all.

Undo is one transaction: it refuses with the rows that block it when any target changed since (its
``updated_at`` or version is not the one applying left), or when a member the batch created has gained
anything the batch did not create (a card, a list, a delivery …); otherwise it restores every ``before`` (the
very ciphertext of an old password, and ``updated_at``) and deletes what the batch created.
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from datetime import date, datetime
from itertools import islice
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Max
from django.utils import timezone

from efnet import crypto
from efnet.bulk import any_of, bulk_insert, bulk_set, insert_rows
from efnet.fields import Sealed, seal
from imports.models import ImportBatch, ImportRow
from imports.preview import chunk_size, jsonable, stored_password
from mailaddresses.models import AdditionalMailAddress
from members.models import Member, refresh_search_keys, search_key_of
from tracking import progress
from tracking.models import AccountStatus, Campaign, MemberProgress, Source, Status, StatusChange

PHASES = (ImportRow.Kind.MEMBER, ImportRow.Kind.ADDRESS, ImportRow.Kind.STATUS)
MEMBER_FIELDS = ("name", "name_kana", "postal_code", "address", "phone", "fax", "registered_on")
MEMBER_FIELDS += ("biglobe_user_id", "email", "note")
DATE_FIELDS = {"registered_on", "issued_on", "status_on"}


def _value(key: str, value):
    if key in DATE_FIELDS:
        return date.fromisoformat(value) if value else None
    return value


def _restore(key: str, value):
    """A ``before`` value back into what the model holds."""
    if value is None:
        return None
    if key in DATE_FIELDS:
        return date.fromisoformat(value)
    if key in ("updated_at", "created_at"):
        return datetime.fromisoformat(value)
    if key in ("biglobe_password", "password"):
        return Sealed(value) if value else ""
    return value


def _write_sealed(instance, field_name: str, *, plaintext: str | None = None, sealed: str | None = None) -> None:
    """Write one encrypted field by UPDATE. bulk_update cannot: it reads the attribute, which decrypts, and the
    field refuses plaintext outside save(). ``sealed`` puts back a stored ciphertext of this very row."""
    model = type(instance)
    field = model._meta.get_field(field_name)
    if plaintext is not None:
        sealed = crypto.encrypt(plaintext, aad=f"{model._meta.db_table}.{field.column}.{instance.uuid}")
    model._base_manager.filter(pk=instance.pk).update(**{field_name: Sealed(sealed) if sealed else ""})


def _active_campaigns() -> list[int]:
    return list(Campaign.objects.filter(is_active=True).values_list("id", flat=True))


# --- apply ----------------------------------------------------------------------------------------------


class ApplyCancelled(Exception):
    pass


class Touched(NamedTuple):
    """The members whose derived data a chunk may have changed: search keys (name, kana, user ID, mail
    address, additional addresses) and stored tracking progress (statuses, office, new accounts)."""

    search: set[int]
    progress: set[int]
    copies: set[int] = frozenset()  # office or active flags changed: their status rows' copies are refreshed too
    # Each counted status row written for a member created by this chunk: (campaign, member, office, member has
    # a mail address, status, address slot or None), from which its progress is computed without a query.
    accounts: tuple = ()


def _refresh_derived(touched: Touched) -> None:
    """The bulk writes here go around the models' save() and querysets, which keep each member's search key
    and stored tracking progress (with the office and active flag on its status rows) in step; recompute them
    for the members this chunk touched, in the same transaction: the keys in Python (only changed ones are
    written), the progress by the database (``progress.refresh_set_based``)."""
    if touched.search:
        refresh_search_keys(touched.search)
    if touched.progress:
        progress.refresh_set_based(member_ids=touched.progress, copies_of=touched.copies)


def apply_all(*, batch_id: int, actor_id: int | None) -> None:
    """Apply chunk after chunk until nothing is pending (``ApplyCancelled`` when asked to stop).

    On PostgreSQL the member groups go ``IMPORTS_THREADS`` chunks at a time, each in its own thread and
    database connection: while one chunk's statements run in the database, the next is prepared in Python
    (alone, the apply kept one of two cores idle most of the time). Each chunk claims its member rows with
    ``SKIP LOCKED``, so two never take the same rows, and the members of two chunks are distinct. The
    address and status rows of members the file does not change follow one chunk at a time."""
    threads = getattr(settings, "IMPORTS_THREADS", 1) if connection.vendor == "postgresql" else 1
    if threads > 1:
        _member_groups_side_by_side(batch_id, actor_id, threads)
    while apply_next_chunk(batch_id=batch_id, actor_id=actor_id):
        pass


def _member_groups_side_by_side(batch_id: int, actor_id: int | None, count: int) -> None:
    failures: list[BaseException] = []
    stop = threading.Event()

    def work() -> None:
        try:
            # Smaller chunks, so those in flight together hold no more rows in memory than one chunk alone.
            size = max(1, chunk_size() // count)
            while not stop.is_set() and apply_next_chunk(batch_id=batch_id, actor_id=actor_id, members_only=size):
                pass
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below, whatever it is
            failures.append(exc)
            stop.set()
        finally:
            connection.close()  # this thread's own connection

    workers = [threading.Thread(target=work, name=f"import-apply-{i}") for i in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        raise failures[0]


def apply_next_chunk(*, batch_id: int, actor_id: int | None, members_only: int = 0) -> bool:
    """Apply one chunk of pending rows; False when nothing is left (or the batch is no longer applying).
    ``members_only``: only a chunk of that many member groups (False when none is left)."""
    with transaction.atomic():
        _commit_without_waiting()
        batch = _share_batch(batch_id)
        if batch.status != ImportBatch.Status.APPLYING:
            return False
        if batch.cancel_requested:
            raise ApplyCancelled
        rows = _next_rows(batch, members_only=members_only)
        if not rows:
            return False
        by_kind = defaultdict(list)
        for row in rows:
            by_kind[row.kind].append(row)
        search, recount, copies, accounts = set(), set(), set(), []
        keyed: set[int] = set()
        for kind in PHASES:
            if not by_kind[kind]:
                continue
            if kind == ImportRow.Kind.MEMBER:
                _group_rows(by_kind[kind], by_kind[ImportRow.Kind.ADDRESS], by_kind[ImportRow.Kind.STATUS])
                done = _apply_members(batch, by_kind[kind], actor_id)
                keyed = {r.target_id for r in by_kind[kind] if r.action == ImportRow.Action.NEW and r.target_id}
            elif kind == ImportRow.Kind.ADDRESS:
                done = _apply_addresses(batch, by_kind[kind], actor_id, keyed=keyed)
            else:  # but those written with the accounts this chunk created
                pending = [r for r in by_kind[kind] if r.state == ImportRow.State.PENDING]
                done = _apply_statuses(batch, pending, actor_id) if pending else Touched(set(), set())
                keyed -= done.progress  # a status row changed one of them after all: counted by the database
            search |= done.search
            recount |= done.progress
            copies |= done.copies
            accounts += done.accounts
        # Once per chunk: a new member's search key and progress are written once, not once per kind of row;
        # the progress of the members this chunk created is computed from what it wrote.
        progress.insert_for_new_members(a for a in accounts if a[1] in keyed)
        _refresh_derived(Touched(search=search, progress=recount - keyed, copies=copies))
        _record_results(rows)
        # Last, and relative: chunks beside each other wait for one another only here, for a commit.
        ImportBatch.objects.filter(pk=batch.pk).update(
            progress_done=F("progress_done") + len(rows), heartbeat_at=timezone.now()
        )
        return True


def _share_batch(batch_id: int) -> ImportBatch:
    """The batch, locked so that finishing it (``FOR UPDATE``) waits for every chunk in flight, but with a
    lock chunks share with each other (``FOR KEY SHARE`` on PostgreSQL; SQLite has one writer anyway)."""
    if connection.vendor != "postgresql":
        return ImportBatch.objects.select_for_update().get(pk=batch_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM imports_importbatch WHERE id = %s FOR KEY SHARE", [batch_id])
    return ImportBatch.objects.get(pk=batch_id)


class PendingRow:
    """A pending ImportRow as applying needs it: its columns as plain attributes, read with one query per
    chunk without a model instance per row (those were a good part of the apply's time), and written back by
    ``bulk_set`` (which reads ``pk`` and the attributes). ``password`` decrypts the file's password on use."""

    COLUMNS = ("id", "uuid", "kind", "action", "state", "member_number", "address", "target_id", "values")
    COLUMNS += ("before", "after", "refusal", "sealed_password")

    def __init__(self, values: tuple):
        self.__dict__.update(zip(self.COLUMNS, values, strict=True))

    @property
    def pk(self) -> int:
        return self.id

    @property
    def password(self) -> str:
        return stored_password(ImportRow, "password", self.uuid, self.sealed_password)


def _pending(queryset) -> list[PendingRow]:
    fields = [*PendingRow.COLUMNS[:-1], "password"]
    return [PendingRow(values) for values in queryset.values_list(*fields)]


def _commit_without_waiting() -> None:
    """PostgreSQL: this chunk's COMMIT does not wait for its WAL to reach the disk (each waited for tens of
    megabytes). A database crash in the next fraction of a second can lose the chunk, but only whole: its
    writes and its rows' "applied" marks go together, and the resumed apply takes the rows still pending, so
    a row is still applied once or not at all. (A killed worker loses nothing committed.)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _record_results(rows: list[PendingRow]) -> None:
    """Each row of the chunk written once: applied or refused, and without the file's password from now on.
    A new member or address applied changed only its state, target and ``after``: the narrower UPDATE."""
    plain, detailed = [], []
    for row in rows:
        new_applied = row.action == ImportRow.Action.NEW and row.state == ImportRow.State.APPLIED
        (plain if new_applied and row.kind != ImportRow.Kind.STATUS else detailed).append(row)
    bulk_set(ImportRow, plain, ["state", "target_id", "after"], same={"password": ""})
    bulk_set(ImportRow, detailed, ["state", "target_id", "after", "before", "refusal"], same={"password": ""})


def _next_rows(batch: ImportBatch, *, members_only: int = 0) -> list[PendingRow]:
    """The next chunk: up to ``chunk_size()`` member rows with every pending address and status row of the same
    members, so a new member, its additional addresses and their statuses go in one transaction (its search
    key and progress computed once); then, for members the file does not change, address rows with the
    status rows of the same members; then what status rows are left."""
    pending = ImportRow.objects.filter(batch=batch, state=ImportRow.State.PENDING)
    for kind in PHASES[:1] if members_only else PHASES:
        # Claimed: a chunk beside this one skips these rows (and the rows of their members, below).
        claimed = pending.filter(kind=kind).order_by("id").select_for_update(skip_locked=True)
        rows = _pending(claimed[: members_only or chunk_size()])
        if rows and kind != ImportRow.Kind.STATUS:
            numbers = [r.member_number for r in rows]
            later = PHASES[PHASES.index(kind) + 1 :]
            others = any_of(pending.filter(kind__in=later), "member_number", numbers).select_for_update()
            return rows + _pending(others.order_by("id"))
        if rows:
            return rows
    return []


def _group_rows(member_rows: list[ImportRow], address_rows: list[ImportRow], status_rows: list[ImportRow]) -> None:
    """Tell each new member row the additional addresses the same chunk adds to that member (in the order their
    slots will be given), so its search key is complete when it is inserted; and give each new member or
    address row the status row of this chunk for that account, so the account's status is written with it."""
    adding = defaultdict(list)
    for row in address_rows:
        if row.action == ImportRow.Action.NEW:
            adding[row.member_number].append(row.address)
    for row in member_rows:
        row.chunk_addresses = adding.get(row.member_number, [])
    statuses = {(r.member_number, r.address): r for r in status_rows if r.before is None}
    for row in (*member_rows, *address_rows):
        if row.action == ImportRow.Action.NEW:
            row.chunk_status = statuses.get((row.member_number, row.address if row.kind == "address" else ""))


def _refuse(row: ImportRow, message: str) -> None:
    row.state = ImportRow.State.REFUSED
    row.refusal = message


def _recorded(values: dict, from_status: str, actor_id) -> dict:
    """What a status row of the file writes onto an account's status."""
    out = {"status": values["status"], "source": values.get("source") or Source.IMPORT, "recorded_by_id": actor_id}
    if "status_on" in values:
        out["status_on"] = _value("status_on", values["status_on"])
    elif values["status"] != from_status:
        out["status_on"] = timezone.localdate()
    if "note" in values:
        out["note"] = values["note"]
    return out


def _insert_statuses(batch, statuses: list[dict], owners: list[ImportRow], actor_id, now) -> dict[int, list[int]]:
    """Insert the status rows of accounts this chunk creates (``owners``: the member or address row of each),
    the batch campaign's one already carrying what this chunk's status row for the account records: applied
    here, as a change from 未案内 with its history row, instead of a second write of the same row. Returns each
    owner row's status ids."""
    folded = []
    for status, owner in zip(statuses, owners, strict=True):
        row = getattr(owner, "chunk_status", None)
        if row is not None and status["campaign_id"] == batch.campaign_id:
            status |= _recorded(row.values, Status.NOT_NOTIFIED, actor_id) | {"version": 2}
            folded.append((status, row))
    by_owner = defaultdict(list)
    for status, owner, status_id in zip(statuses, owners, insert_rows(AccountStatus, statuses), strict=True):
        status["id"] = status_id
        by_owner[owner.pk].append(status_id)
    history = [
        {
            "account_status_id": status["id"],
            "from_status": Status.NOT_NOTIFIED,
            "to_status": status["status"],
            "status_on": status.get("status_on"),
            "source": status["source"],
            "recorded_by_id": actor_id,
            "note": status.get("note", ""),
        }
        for status, _ in folded
    ]
    stamp = jsonable(now)
    for (status, row), change_id in zip(folded, insert_rows(StatusChange, history), strict=True):
        # As if the account had been created as enrolment leaves it (version 1), then changed by this row.
        row.before = {"id": status["id"], "status": Status.NOT_NOTIFIED, "status_on": None, "source": ""}
        row.before |= {"note": "", "recorded_by_id": None, "version": 1, "updated_at": stamp}
        row.state, row.target_id = ImportRow.State.APPLIED, status["id"]
        row.after = {"version": 2, "change_id": change_id}
    return by_owner


def _apply_members(batch, rows: list[ImportRow], actor_id) -> Touched:
    now = timezone.now()
    stamp = jsonable(now)  # what undo compares updated_at with
    new = [r for r in rows if r.action == ImportRow.Action.NEW]
    updates = [r for r in rows if r.action == ImportRow.Action.UPDATE]
    taken_numbers = set(
        any_of(Member.objects, "number", [r.member_number for r in new]).values_list("number", flat=True)
    )
    taken_ids = set(
        any_of(Member.objects, "biglobe_user_id", [r.values.get("biglobe_user_id") for r in new]).values_list(
            "biglobe_user_id", flat=True
        )
    )
    creating = []
    for row in new:
        if row.member_number in taken_numbers:
            _refuse(row, "確認の後に同じ会員番号の会員が登録されました。")
            continue
        if row.values.get("biglobe_user_id") in taken_ids:
            _refuse(row, "確認の後に同じユーザーIDの会員が登録されました。")
            continue
        # Plain rows, not Member instances (see efnet.bulk.insert_rows); the time is set here so the
        # ``after`` undo compares with is known without reading the members back.
        member = {k: _value(k, v) for k, v in row.values.items() if k != "office"}
        member_uuid = uuid.uuid4()
        member |= {"uuid": member_uuid, "number": row.member_number, "office_id": row.values["office"]}
        member |= {"created_at": now, "updated_at": now, "is_active": True}
        member["biglobe_password"] = seal(Member, "biglobe_password", member_uuid, row.password)
        # A new member has no additional address yet but those this chunk adds (``_group_addresses``).
        member["search_key"] = search_key_of(member, getattr(row, "chunk_addresses", []))
        creating.append((row, member))
    member_ids = insert_rows(Member, [m for _, m in creating])
    campaigns = _active_campaigns()
    # With the status rows' copies of the office and "counts" already right (nothing for the refresh to fix).
    statuses = [
        {"campaign_id": c, "member_id": member_id, "office_id": m["office_id"], "counted": True, "updated_at": now}
        for (_, m), member_id in zip(creating, member_ids, strict=True)
        for c in campaigns
    ]
    by_member = _insert_statuses(batch, statuses, [row for row, _ in creating for _c in campaigns], actor_id, now)
    for (row, _), member_id in zip(creating, member_ids, strict=True):
        row.state, row.target_id = ImportRow.State.APPLIED, member_id
        row.after = {"updated_at": stamp, "status_ids": by_member[row.pk]}

    current = {m.pk: m for m in any_of(Member.objects.select_for_update(), "pk", [r.target_id for r in updates])}
    changed = []
    for row in updates:
        member = current.get(row.target_id)
        if member is None or jsonable(member.updated_at) != row.before["updated_at"]:
            _refuse(row, "確認の後にこの会員が変更されました。")
            continue
        row.before = {k: jsonable(v) for k, v in _member_state(member).items()}  # what undo restores
        for key, value in row.values.items():
            setattr(member, "office_id" if key == "office" else key, _value(key, value))
        if row.password:
            _write_sealed(member, "biglobe_password", plaintext=row.password)
        member.updated_at = now
        changed.append(member)
        row.state = ImportRow.State.APPLIED
        row.after = {"updated_at": stamp, "password": bool(row.password)}
    bulk_set(Member, changed, [*MEMBER_FIELDS, "office", "updated_at"])
    # New members' status rows were written with their copies; an update may have moved a member's office.
    moved = {r.target_id for r in updates if r.state == ImportRow.State.APPLIED and "office" in r.values}
    accounts = tuple(
        (
            s["campaign_id"],
            s["member_id"],
            s["office_id"],
            bool(m.get("email")),
            s.get("status", Status.NOT_NOTIFIED),
            None,
        )
        for s, m in zip(statuses, [m for _, m in creating for _c in campaigns], strict=True)
    )
    return Touched(
        search={m.pk for m in changed},
        progress={*member_ids} | {m.pk for m in changed},
        copies=moved,
        accounts=accounts,
    )


def _member_state(member: Member) -> dict:
    state = {k: getattr(member, k) for k in MEMBER_FIELDS}
    state["office_id"] = member.office_id
    state["biglobe_password"] = Member._meta.get_field("biglobe_password").raw_value(member)
    state["updated_at"] = member.updated_at
    return state


def _apply_addresses(batch, rows: list[ImportRow], actor_id, *, keyed: set[int] = frozenset()) -> Touched:
    """``keyed``: members inserted by this chunk with their search key already counting this chunk's new
    addresses (refreshed only if one of those addresses is refused)."""
    now = timezone.now()
    stamp = jsonable(now)  # what undo compares updated_at with
    new = [r for r in rows if r.action == ImportRow.Action.NEW]
    updates = [r for r in rows if r.action == ImportRow.Action.UPDATE]
    owners = list(
        any_of(Member.objects, "number", {r.member_number for r in new}).values_list(
            "number", "id", "office_id", "is_active", "email"
        )
    )
    members = {number: pk for number, pk, *_ in owners}
    copies = {pk: (office_id, active) for _, pk, office_id, active, _ in owners}
    has_email = {pk: bool(email) for _, pk, _, _, email in owners}
    taken = set(
        any_of(AdditionalMailAddress.objects, "address", [r.address for r in new]).values_list("address", flat=True)
    )
    slots = dict(  # the members this chunk created have none yet
        any_of(AdditionalMailAddress.objects, "member_id", [m for m in members.values() if m not in keyed])
        .values("member_id")
        .annotate(top=Max("slot"))
        .values_list("member_id", "top")
    )
    creating = []
    for row in new:
        member_id = members.get(row.member_number)
        if member_id is None:
            _refuse(row, f"会員番号 {row.member_number} の会員が取り込まれていません。")
            continue
        if row.address in taken:
            _refuse(row, "確認の後に同じ追加メールアドレスが登録されました。")
            continue
        slots[member_id] = slots.get(member_id, 0) + 1
        address_uuid = uuid.uuid4()
        address = {
            "uuid": address_uuid,
            "member_id": member_id,
            "slot": slots[member_id],
            "address": row.address,
            "login_id": row.values["login_id"],
            "issued_on": _value("issued_on", row.values["issued_on"]),
            "password": seal(AdditionalMailAddress, "password", address_uuid, row.password),
            "is_active": True,
            "created_at": now,
            "updated_at": now,
        }
        creating.append((row, address))
    address_ids = insert_rows(AdditionalMailAddress, [a for _, a in creating])
    campaigns = _active_campaigns()
    statuses = [
        {
            "campaign_id": c,
            "member_id": a["member_id"],
            "address_id": address_id,
            "office_id": copies[a["member_id"]][0],
            "counted": copies[a["member_id"]][1],
            "updated_at": now,
        }
        for (_, a), address_id in zip(creating, address_ids, strict=True)
        for c in campaigns
    ]
    by_address = _insert_statuses(batch, statuses, [row for row, _ in creating for _c in campaigns], actor_id, now)
    for (row, _), address_id in zip(creating, address_ids, strict=True):
        row.state, row.target_id = ImportRow.State.APPLIED, address_id
        row.after = {"updated_at": stamp, "status_ids": by_address[row.pk]}

    current = {
        a.pk: a for a in any_of(AdditionalMailAddress.objects.select_for_update(), "pk", [r.target_id for r in updates])
    }
    changed = []
    for row in updates:
        address = current.get(row.target_id)
        if address is None or jsonable(address.updated_at) != row.before["updated_at"]:
            _refuse(row, "確認の後にこの追加メールアドレスが変更されました。")
            continue
        row.before = {
            "login_id": address.login_id,
            "issued_on": jsonable(address.issued_on),
            "password": AdditionalMailAddress._meta.get_field("password").raw_value(address),
            "updated_at": jsonable(address.updated_at),
        }
        for key, value in row.values.items():
            setattr(address, key, _value(key, value))
        if row.password:
            _write_sealed(address, "password", plaintext=row.password)
        address.updated_at = now
        changed.append(address)
        row.state = ImportRow.State.APPLIED
        row.after = {"updated_at": stamp, "password": bool(row.password)}
    bulk_set(AdditionalMailAddress, changed, ["login_id", "issued_on", "updated_at"])
    # A changed login ID or date changes neither the search key nor the progress; a new address both.
    new_members = {a["member_id"] for _, a in creating}
    refused_owners = {members.get(r.member_number) for r in new if r.state == ImportRow.State.REFUSED}
    slots_of = {address_id: a["slot"] for (_, a), address_id in zip(creating, address_ids, strict=True)}
    accounts = tuple(
        (
            s["campaign_id"],
            s["member_id"],
            s["office_id"],
            has_email[s["member_id"]],
            s.get("status", Status.NOT_NOTIFIED),
        )
        + (slots_of[s["address_id"]],)
        for s in statuses
        if s["counted"]
    )
    return Touched(search=(new_members - keyed) | (refused_owners & keyed), progress=new_members, accounts=accounts)


def _apply_statuses(batch, rows: list[ImportRow], actor_id) -> Touched:
    now = timezone.now()
    members = dict(any_of(Member.objects, "number", {r.member_number for r in rows}).values_list("number", "id"))
    addresses = dict(
        any_of(AdditionalMailAddress.objects, "address", {r.address for r in rows if r.address}).values_list(
            "address", "id"
        )
    )
    found = {}
    for status in any_of(
        AccountStatus.objects.select_for_update().filter(campaign_id=batch.campaign_id), "member_id", members.values()
    ):
        found[(status.member_id, status.address_id)] = status
    changed, history = [], []
    for row in rows:
        member_id = members.get(row.member_number)
        address_id = addresses.get(row.address) if row.address else None
        status = found.get((member_id, address_id))
        if member_id is None or (row.address and address_id is None):
            _refuse(row, "このアカウントが取り込まれていません。")
            continue
        if row.before is None:
            # The account was new in the preview: it must still be as enrolment left it.
            if status is not None and (status.version != 1 or status.status != Status.NOT_NOTIFIED):
                _refuse(row, "確認の後にこのアカウントの状態が変更されました。")
                continue
            if status is None:
                status = AccountStatus.objects.create(
                    campaign_id=batch.campaign_id, member_id=member_id, address_id=address_id
                )
                found[(member_id, address_id)] = status
                row.after = {"created": True}
        elif status is None or status.version != row.before["version"]:
            _refuse(row, "確認の後にこのアカウントの状態が変更されました。")
            continue
        row.before = {
            "id": status.pk,
            "status": status.status,
            "status_on": jsonable(status.status_on),
            "source": status.source,
            "note": status.note,
            "recorded_by_id": status.recorded_by_id,
            "version": status.version,
            "updated_at": jsonable(status.updated_at),
        }
        from_status = status.status
        for key, value in _recorded(row.values, from_status, actor_id).items():
            setattr(status, key, value)
        status.version += 1
        status.updated_at = now
        changed.append(status)
        history.append(
            StatusChange(
                account_status=status,
                from_status=from_status,
                to_status=status.status,
                status_on=status.status_on,
                source=status.source,
                recorded_by_id=actor_id,
                note=status.note,
            )
        )
        row.state, row.target_id = ImportRow.State.APPLIED, status.pk
        row.after = {**(row.after or {}), "version": status.version}
    bulk_set(AccountStatus, changed, ["status", "status_on", "source", "note", "recorded_by", "version", "updated_at"])
    bulk_insert(StatusChange, history)
    by_status = {c.account_status_id: c.pk for c in history}
    for row in rows:
        if row.state == ImportRow.State.APPLIED:
            row.after["change_id"] = by_status[row.target_id]
    return Touched(search=set(), progress={s.member_id for s in changed})


# --- undo -----------------------------------------------------------------------------------------------


def _applied_rows(batch: ImportBatch, kind: str, fields: tuple[str, ...], size: int = 5000):
    """The batch's applied rows of one kind as tuples (``id`` first), a part of ``size`` at a time, from one
    streaming query (a server-side cursor on PostgreSQL): a batch may hold 400,000 rows and the check must
    fit in a worker's memory. (Paging by id instead re-read the batch's rows for every part.)"""
    applied = ImportRow.objects.filter(batch=batch, state=ImportRow.State.APPLIED, kind=kind)
    rows = applied.values_list("id", *fields).iterator(size)
    while part := list(islice(rows, size)):
        yield part


def undo_blockers(batch: ImportBatch, limit: int = 20) -> list[str]:
    """Why the batch cannot be undone: one line per blocking row (at most ``limit``), empty when it can.

    Read a part at a time; what is kept across parts is small: the ids of what the batch created (with the
    version it left each status at) and, per status row, its version and history row."""
    blockers: list[str] = []
    created_statuses: dict[int, int] = {}  # status id -> version the batch left it at
    new_members: set[int] = set()
    new_addresses: set[int] = set()
    for kind, model, what, created in (
        ("member", Member, "会員", new_members),
        ("address", AdditionalMailAddress, "追加メールアドレス", new_addresses),
    ):
        for part in _applied_rows(batch, kind, ("target_id", "row_number", "action", "after")):
            stamps = dict(any_of(model.objects, "pk", [r[1] for r in part]).values_list("id", "updated_at"))
            for _, target_id, row_number, action, after in part:
                if target_id not in stamps:
                    blockers.append(f"{row_number}行目: この{what}は取込の後に削除されました。")
                elif jsonable(stamps[target_id]) != after.get("updated_at"):
                    blockers.append(f"{row_number}行目: この{what}は取込の後に変更されました。")
                if action == ImportRow.Action.NEW:
                    created.add(target_id)
                    for status_id in after.get("status_ids", ()):
                        created_statuses[status_id] = 1
            if len(blockers) >= limit:
                return blockers[:limit]
    expected = dict(created_statuses)
    status_rows: dict[int, int] = {}  # status id -> row number
    batch_changes: set[int] = set()
    for part in _applied_rows(batch, "status", ("target_id", "row_number", "after")):
        for _, target_id, row_number, after in part:
            expected[target_id] = after.get("version")  # a status row of the file changed it after creation
            status_rows[target_id] = row_number
            batch_changes.add(after.get("change_id"))
    pinned: list[tuple[int, str]] = []
    status_ids = list(expected)
    for start in range(0, len(status_ids), 5000):
        part = status_ids[start : start + 5000]
        versions = dict(any_of(AccountStatus.objects, "pk", part).values_list("id", "version"))
        pinned += [
            (pk, "このアカウントの状態は取込の後に変更されました。") for pk in part if versions.get(pk) != expected[pk]
        ]
        if len(pinned) >= limit:
            break
    if len(pinned) < limit:
        # A refused (stale) attempt leaves a history row without bumping the version: it pins the account too.
        for start in range(0, len(status_ids), 5000):
            changes = any_of(StatusChange.objects, "account_status_id", status_ids[start : start + 5000])
            for change_id, status_id in changes.values_list("id", "account_status_id"):
                if change_id not in batch_changes and len(pinned) < limit:
                    pinned.append((status_id, "このアカウントの状態は取込の後に記録がありました。"))
    owners = _status_owner_rows(batch, {pk for pk, _ in pinned if pk not in status_rows})
    blockers += [f"{status_rows.get(pk) or owners.get(pk, 0)}行目: {message}" for pk, message in pinned]
    if len(blockers) < limit:
        known = set(expected)
        blockers += _created_since(batch, new_members, new_addresses, known, limit - len(blockers))
    return blockers[:limit]


def _status_owner_rows(batch: ImportBatch, status_ids: set[int]) -> dict[int, int]:
    """The row number of the new member or address row that created each of these status rows."""
    found: dict[int, int] = {}
    if status_ids:
        for kind in ("member", "address"):
            for part in _applied_rows(batch, kind, ("row_number", "after")):
                for _, row_number, after in part:
                    for status_id in set(after.get("status_ids", ())) & status_ids:
                        found[status_id] = row_number
    return found


def _created_since(batch, new_members: set, new_addresses: set, known_statuses: set, limit: int) -> list[str]:
    """Anything that points at a member or address the batch created and that the batch did not create."""
    if limit <= 0:
        return []
    offending: list[tuple[str, int, str]] = []  # kind of the owner, owner id, what was added
    for model, kind, ids in ((Member, "member", new_members), (AdditionalMailAddress, "address", new_addresses)):
        ids = sorted(ids)
        for relation in model._meta.related_objects:
            related, field = relation.related_model, relation.field
            if related is MemberProgress:
                continue  # derived from the status rows; undo recomputes it
            mine = new_addresses if related is AdditionalMailAddress else known_statuses
            mine = mine if related in (AdditionalMailAddress, AccountStatus) else set()
            for start in range(0, len(ids), 5000):
                qs = any_of(related._base_manager, field.attname, ids[start : start + 5000])
                for pk, owner in qs.values_list("pk", field.attname):
                    if pk not in mine:
                        offending.append((kind, owner, related._meta.verbose_name))
                        if len(offending) >= limit:
                            break
                if len(offending) >= limit:
                    break
    numbers: dict[tuple[str, int], int] = {}
    for kind in {kind for kind, _, _ in offending}:
        owners = {owner for k, owner, _ in offending if k == kind}
        rows = ImportRow.objects.filter(batch=batch, kind=kind, state=ImportRow.State.APPLIED)
        for target_id, row_number in any_of(rows, "target_id", owners).values_list("target_id", "row_number"):
            numbers[(kind, target_id)] = row_number
    return [
        f"{numbers.get((kind, owner), 0)}行目: 取込の後に{what}が追加されました。" for kind, owner, what in offending
    ]


def undo(batch: ImportBatch) -> dict:
    """Restore every applied row's ``before`` and delete what the batch created. Call inside a transaction
    that holds the batch row locked, after ``undo_blockers`` found nothing."""
    counts = {"members": 0, "addresses": 0, "statuses": 0}
    # Not batch.rows: a related manager would fetch each row's deferred batch_id one query at a time.
    applied = ImportRow.objects.filter(batch=batch, state=ImportRow.State.APPLIED)
    touched_numbers = set(applied.order_by().values_list("member_number", flat=True).distinct())
    # The status rows of the accounts the batch created go with those accounts: nothing to restore on them.
    created_statuses: set[int] = set()
    for kind in ("member", "address"):
        for part in _applied_rows(batch, kind, ("action", "after")):
            for _, action, after in part:
                if action == ImportRow.Action.NEW:
                    created_statuses.update(after.get("status_ids", ()))
    # Statuses first: restore or forget what applying changed, and drop the history rows it wrote.
    change_ids, restore = [], []
    for part in _applied_rows(batch, "status", ("target_id", "before", "after")):
        for _, target_id, before, after in part:
            change_ids.append(after["change_id"])
            counts["statuses"] += 1
            if after.get("created"):
                created_statuses.add(target_id)
            elif target_id not in created_statuses:
                restore.append(
                    AccountStatus(pk=target_id, **{k: _restore(k, v) for k, v in before.items() if k != "id"})
                )
        bulk_set(AccountStatus, restore, STATUS_RESTORED)  # written as it goes: memory stays flat
        restore = []
    _delete(StatusChange, change_ids)
    _delete(AccountStatus, sorted(created_statuses))
    secret = {"member": "biglobe_password", "address": "password"}
    for kind, model in (("address", AdditionalMailAddress), ("member", Member)):
        new_ids = []
        for part in _applied_rows(batch, kind, ("target_id", "action", "before", "after")):
            restore = []
            for _, target_id, action, before, after in part:
                counts["addresses" if kind == "address" else "members"] += 1
                if action == ImportRow.Action.NEW:
                    new_ids.append(target_id)
                    continue
                obj = model(pk=target_id)
                for key, value in before.items():
                    if key != secret[kind]:
                        setattr(obj, key, _restore(key, value))
                restore.append(obj)
                if after.get("password"):
                    _write_sealed(obj, secret[kind], sealed=before[secret[kind]])
            _restore_rows(model, restore, secret[kind])
        if model is Member:  # their stored progress goes with them (derived, so not a blocker)
            for start in range(0, len(new_ids), 5000):
                any_of(MemberProgress.objects, "member_id", new_ids[start : start + 5000]).delete()
        _delete(model, new_ids)
    applied.update(state=ImportRow.State.UNDONE)
    # The members that remain: keys and progress as before.
    remaining = set(any_of(Member.objects, "number", touched_numbers).values_list("pk", flat=True))
    _refresh_derived(Touched(search=remaining, progress=remaining, copies=remaining))
    return counts


STATUS_RESTORED = ["status", "status_on", "source", "note", "recorded_by", "version", "updated_at"]


def _restore_rows(model, restore: list, secret: str) -> None:
    if restore:
        names = {f.attname: f.name for f in model._meta.concrete_fields}
        attnames = [k for k in restore[0].__dict__ if k in names and k not in ("id", "uuid", secret)]
        bulk_set(model, restore, [names[k] for k in attnames if k in _RESTORED[model.__name__]])


_RESTORED = {
    "Member": {*MEMBER_FIELDS, "office_id", "updated_at"},
    "AdditionalMailAddress": {"login_id", "issued_on", "updated_at"},
}


def _delete(model, ids: list[int]) -> None:
    # Plain DELETEs by id in dependency order (the blockers check made sure nothing else points at these
    # rows), instead of the ORM's cascade collector, which would load every related row into memory.
    for start in range(0, len(ids), 5000):
        qs = any_of(model._base_manager, "pk", ids[start : start + 5000])
        qs._raw_delete(qs.db)
