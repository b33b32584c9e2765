"""The audit log page in Japanese: a description for every event code the code emits, the details as
「項目: 値」 pairs (never a Python dict, never a secret), filters by kind, user, office and member, and a CSV
export for head office that is itself audited."""

from __future__ import annotations

import ast
import codecs
import csv
import io
from pathlib import Path

import pytest
from django.urls import reverse

from efnet import audit, audit_labels
from efnet.models import AuditEvent
from tests.conftest import login

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
APPS = ["efnet", "members", "mailaddresses", "tracking", "documents", "notices", "faxreplies", "imports"]


def _emitted_codes() -> dict[str, str]:
    """Every string literal given as the action of ``audit.record``/``audit.event`` (both branches of a
    conditional too), and ``access.denied`` for ``record_denied``: code -> where."""
    codes: dict[str, str] = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                # documents.exports.export_job_create records the streamed export's own event, which its
                # callers name: audit_action="…".
                for keyword in node.keywords:
                    if keyword.arg == "audit_action" and isinstance(keyword.value, ast.Constant):
                        codes.setdefault(keyword.value.value, f"{path.relative_to(ROOT)}:{node.lineno}")
                if isinstance(func, ast.Name) and func.id == "record_denied":
                    codes.setdefault("access.denied", f"{path}:{node.lineno}")
                    continue
                if not (
                    isinstance(func, ast.Attribute)
                    and func.attr in ("record", "event")
                    and isinstance(func.value, ast.Name)
                    and func.value.id == "audit"
                ):
                    continue
                assert node.args, f"{path}:{node.lineno}: audit call without an action"
                if isinstance(node.args[0], ast.Name) and node.args[0].id == "audit_action":
                    continue  # forwarded: its callers' audit_action="…" literals are collected above
                literals = [n.value for n in ast.walk(node.args[0]) if isinstance(n, ast.Constant)]
                strings = [v for v in literals if isinstance(v, str)]
                assert strings, f"{path}:{node.lineno}: the action is not a literal, so it cannot be checked"
                for code in strings:
                    codes.setdefault(code, f"{path.relative_to(ROOT)}:{node.lineno}")
    return codes


def test_every_emitted_event_code_has_a_japanese_description():
    codes = _emitted_codes()
    assert len(codes) > 50  # the scan finds the calls
    missing = {code: where for code, where in codes.items() if code not in audit_labels.EVENTS}
    assert not missing, f"event codes without a description in efnet/audit_labels.py: {missing}"


def test_every_code_belongs_to_a_kind_of_the_filter():
    for code in audit_labels.EVENTS:
        assert code.split(".")[0] in audit_labels.CATEGORIES, code


def test_details_are_label_value_pairs_never_a_dict_repr():
    pairs = dict(
        audit_labels.detail_pairs(
            {
                "format": "csv",
                "rows": 12,
                "filters": {"office": "大阪営業所", "status": "未完了", "q": ""},
                "reveal": True,
            },
            "tracking.calllist.exported",
        )
    )
    assert pairs == {
        "形式": "CSV（Shift_JIS）",
        "行数": "12",
        "絞り込み": "営業所: 大阪営業所、状況: 未完了、検索語: —",
        "パスワードを含む": "はい",
    }
    changed = audit_labels.details_text({"changed": {"phone": ["06-1", "06-2"]}}, "member.updated")
    assert changed == "変更: 電話番号: 06-1 → 06-2"
    why = audit_labels.details_text({"path": "/audit/", "why": "head_office_required"}, "access.denied")
    assert why == "アドレス: /audit/ / 理由: 本社の権限がない"


def test_the_page_shows_descriptions_and_details_in_japanese(client, world):
    audit.record(
        "tracking.calllist.exported",
        actor=world.clerk_a,
        office=world.office_a,
        details={"format": "xlsx", "rows": 3, "filters": {"office": "大阪営業所", "status": "", "q": ""}},
    )
    login(client, world.head)
    html = client.get(reverse("audit_log")).content.decode()
    assert "コールリストを書き出し" in html and "Excel" in html and "行数:" in html
    assert "{&#x27;" not in html and "{'" not in html  # no Python dict repr
    assert ">tracking.calllist.exported<" not in html


def test_secrets_in_details_stay_masked_on_the_page_and_in_the_csv(client, world):
    audit.record("member.updated", actor=world.clerk_a, member=world.member_a, details={"password": "Hunter2-secret"})
    login(client, world.head)
    html = client.get(reverse("audit_log")).content.decode()
    assert "Hunter2-secret" not in html and audit.MASK in html
    body = b"".join(client.get(reverse("audit_log_export", args=["csv-utf8"])).streaming_content)
    assert b"Hunter2-secret" not in body


def _ids(client, **query) -> set[int]:
    html = client.get(reverse("audit_log"), query).content.decode()
    return {e.pk for e in AuditEvent.objects.all() if f'data-event="{e.pk}"' in html}


def test_filters_by_kind_user_office_and_member(client, world):
    mine = audit.record("member.updated", actor=world.clerk_a, member=world.member_a, details={})
    theirs = audit.record("member.updated", actor=world.clerk_b, member=world.member_b, details={})
    login_event = audit.record("auth.login", actor=world.clerk_b, target=world.clerk_b)
    login(client, world.head)
    assert {mine.pk, theirs.pk} <= _ids(client, kind="member")
    assert login_event.pk not in _ids(client, kind="member")
    assert login_event.pk in _ids(client, kind="auth")
    by_user = _ids(client, actor=world.clerk_a.pk)
    assert mine.pk in by_user and theirs.pk not in by_user
    by_office = _ids(client, office=world.office_b.pk)
    assert theirs.pk in by_office and mine.pk not in by_office
    typed = world.member_a.number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert _ids(client, member=typed) == {mine.pk}


def _rows(response, encoding):
    body = b"".join(response.streaming_content)
    if encoding == "utf-8-sig":
        assert body.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(body.decode(encoding))))


@pytest.mark.parametrize(("fmt", "encoding"), [("csv", "cp932"), ("csv-utf8", "utf-8-sig")])
def test_head_office_exports_the_filtered_log_as_csv(client, world, fmt, encoding):
    audit.record(
        "member.updated",
        actor=world.clerk_a,
        member=world.member_a,
        details={"changed": {"name": ['=HYPERLINK("x")', "株式会社テスト"]}},
    )
    audit.record("auth.login", actor=world.clerk_b, target=world.clerk_b)
    login(client, world.head)
    response = client.get(reverse("audit_log_export", args=[fmt]), {"kind": "member"})
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    rows = _rows(response, encoding)
    assert rows[0][:3] == ["日時", "種類", "操作"]
    assert [r[2] for r in rows[1:]] == ["会員情報を変更"]
    when, _, _, actor, actor_office, *_, number, _, details = rows[1]
    assert len(when) == 19 and when[4] == "-" and when[13] == ":"  # 2026-06-01 14:05:00
    assert actor == world.clerk_a.username and actor_office == world.office_a.name
    assert number == world.member_a.number
    assert details == '変更: 登録者名: =HYPERLINK("x") → 株式会社テスト'
    exported = AuditEvent.objects.filter(action="audit.exported").get()
    assert exported.actor == world.head
    assert exported.details["rows"] == 1 and exported.details["filters"] == {"kind": "会員"}


def test_a_formula_in_the_first_position_of_a_cell_is_guarded(client, world):
    audit.record("member.updated", actor=world.clerk_a, target=world.member_a, details={})
    AuditEvent.objects.filter(action="member.updated").update(target_repr="=cmd|' /C calc'!A0")
    login(client, world.head)
    rows = _rows(client.get(reverse("audit_log_export", args=["csv-utf8"])), "utf-8-sig")
    assert "'=cmd|' /C calc'!A0" in [r[5] for r in rows[1:]]


@pytest.mark.parametrize("persona", ["clerk_a", "reader_a"])
def test_offices_cannot_export_the_log(client, world, persona):
    login(client, world.persona(persona))
    assert client.get(reverse("audit_log_export", args=["csv"])).status_code == 403
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


def test_a_mistyped_filter_exports_nothing(client, world):
    login(client, world.head)
    response = client.get(reverse("audit_log_export", args=["csv"]), {"since": "昨日"})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action="audit.exported").exists()
