"""PostgreSQL: an apply runs chunks of new members side by side (threads with their own connections). Their
data must be committed for the threads to see it, so these tests commit (transaction=True)."""

from datetime import date

import pytest
from django.db import connection

from imports import services
from imports.models import ImportBatch, ImportRow
from mailaddresses.models import AdditionalMailAddress
from members.models import Member
from tests.imports.helpers import MEMBER_HEADERS, csv_bytes, member, preview
from tracking import progress
from tracking.models import AccountStatus, Campaign, MemberProgress, StatusChange

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="side by side on PostgreSQL only"),
]
MEMBERS = 40


def office_file() -> bytes:
    headers = MEMBER_HEADERS + ["追加メールアドレス", "ID", "発行日", "状態", "確認日"]
    rows = [headers]
    for i in range(MEMBERS):
        number = f"{60000 + i:07d}"
        rows.append(member(number) + ["", "", "", "完了" if i % 2 else "", "2026/6/20" if i % 2 else ""])
        for slot in (1, 2):
            address = f"s{number}a{slot}@efnet-demo.example"
            status = "完了" if (i + slot) % 3 == 0 else ""
            cells = [number] + [""] * 9 + [f"Sp{number}{slot}x", "", address, address.split("@")[0], "R8.6.1"]
            rows.append(cells + [status, "2026/6/21" if status else ""])
    return csv_bytes(rows)


def test_chunks_side_by_side_apply_every_row_once_and_undo_restores_every_table(world, settings):
    settings.IMPORTS_THREADS = 2
    settings.IMPORTS_CHUNK_SIZE = 3  # 14 chunks of member groups for two threads
    campaign = Campaign.objects.create(name="2026年6月 BIGLOBEパスワード変更", started_on=date(2026, 6, 1))
    before = {m.__name__: m.objects.count() for m in (Member, AdditionalMailAddress, AccountStatus, StatusChange)}
    batch = preview(world.admin, office_file())
    assert batch.counts["error"] == 0

    services.batch_confirm(batch=batch, actor=world.admin)  # tasks run inline; the threads do the chunks
    batch.refresh_from_db()

    assert batch.status == ImportBatch.Status.APPLIED, batch.error
    assert batch.progress_done == batch.rows.filter(state=ImportRow.State.APPLIED).count() == batch.progress_total
    assert not batch.rows.exclude(state=ImportRow.State.APPLIED).exists()
    imported = Member.objects.filter(number__startswith="006")
    assert imported.count() == MEMBERS
    assert AdditionalMailAddress.objects.filter(member__in=imported).count() == 2 * MEMBERS
    assert sorted(AdditionalMailAddress.objects.filter(member__in=imported).values_list("slot", flat=True)) == sorted(
        [1, 2] * MEMBERS
    )
    done = AccountStatus.objects.filter(campaign=campaign, member__in=imported, status="完了")
    assert done.count() == batch.counts["status"]["update"]
    assert StatusChange.objects.filter(account_status__in=done).count() == done.count()
    assert AdditionalMailAddress.objects.get(address="s0060007a2@efnet-demo.example").password == "Sp00600072x"
    columns = ("campaign_id", "member_id", "state", "n_not_notified", "n_done", "pending_labels", "has_email")
    computed = sorted(MemberProgress.objects.values_list(*columns))
    MemberProgress.objects.all().delete()
    progress.rebuild()
    assert sorted(MemberProgress.objects.values_list(*columns)) == computed

    services.batch_undo(batch=batch, actor=world.admin)
    after = {m.__name__: m.objects.count() for m in (Member, AdditionalMailAddress, AccountStatus, StatusChange)}
    assert after == before
