"""The built-in 第2報 against the seed notice, line by line.

The template is rendered for the seed's own reader (the 第1報 reached them by FAX the same day, this copy is
printed, they have additional addresses, nothing left open) and compared with the seed from 「平素は」 on,
ignoring only whitespace. The seed's screen captures and its sample card and list (text extracted from
images, one line <図> in the test's copy of the seed) must each stand where the template has a figure of its
own (lines starting 「［図」 or 「｜」). The few deliberate differences are listed in CORRECTIONS; nothing else
may differ."""

import datetime
import difflib
import re
from pathlib import Path

import pytest
from django.utils import timezone

from members.models import SalesOffice
from notices.emails import render_for
from notices.models import Delivery, Notice, NoticeTemplate
from notices.selectors import office_phone_table
from notices.services import notice_copy_template
from tests.factories import AddressFactory, MemberFactory
from tests.notices.conftest import complete, enroll, make_notice

pytestmark = pytest.mark.django_db

# The seed, verbatim, with each run of text taken from a picture (sample card and list, BIGLOBE's screens)
# reduced to one line <図> (see the file's header).
SEED = Path(__file__).resolve().parent / "data" / "seed_second_notice.txt"
FIGURE = "<図>"

# The seed was extracted from a paper layout that wrapped these sentences mid-line: one line each.
SEED_WRAPPED = ["変更作業は以上で終了になりますが、追加メールアドレスを取得されている", "P2【1：ログイン画面"]
# Deliberate differences: (in the seed, in the template). A typo of the brand, a missing 「。」, and page
# numbers of the seed's paper, which a FAX or an email of the portal does not share.
CORRECTIONS = [
    ("以上で、BIGLOBREパスワード変更は終了です。", "以上で、BIGLOBEパスワード変更は終了です。"),
    ("行っていただきますようお願い申し上げます", "行っていただきますようお願い申し上げます。"),
    ("お客様は、P6以降の変更作業の実施", "お客様は、下記の変更作業の実施"),
    ("P2【1：ログイン画面の表示とログイン方法】～P5【3：", "【1：ログイン画面の表示とログイン方法】～【3："),
]  # fmt: skip


def squeeze(line: str) -> str:
    return re.sub(r"\s+", "", line)


def seed_lines() -> list[str]:
    text = SEED.read_text(encoding="utf-8")
    lines = [squeeze(line) for line in text.splitlines() if not line.startswith("#")]
    lines = [re.sub(r"^<(https?://[^>]+)>$", r"\1", line) for line in lines if line]  # markdown link brackets
    lines = lines[lines.index("平素は格別のご高配を賜り、厚く御礼申し上げます。") :]
    for prefix in SEED_WRAPPED:
        i = next(i for i, line in enumerate(lines) if line.startswith(squeeze(prefix)))
        lines[i : i + 2] = [lines[i] + lines[i + 1]]
    out = lines
    for seed_text, ours in CORRECTIONS:
        out = [line.replace(squeeze(seed_text), squeeze(ours)) for line in out]
    return out


def template_lines(body: str) -> list[str]:
    out = []
    for line in (squeeze(raw) for raw in body.splitlines()):
        if not line:
            continue
        if line.startswith(("［図", "｜")):
            if not out or out[-1] != FIGURE:
                out.append(FIGURE)
            continue
        out.append(line)
    return out


@pytest.fixture
def seed_reader(world, campaign):
    """The seed's reader: 第1報 by FAX today, this copy on paper, additional addresses, nothing open."""
    member = MemberFactory(office=world.office_a, email="")
    AddressFactory(member=member, slot=1)
    enroll(member)
    complete(member, campaign)
    today = timezone.localdate()
    first = make_notice(campaign=campaign, author=world.admin, edition=1, date=today)
    Notice.objects.filter(pk=first.pk).update(state=Notice.State.SENT)
    Delivery.objects.create(
        notice=first, member=member, channel="print", status=Delivery.Status.SENT, sent_at=timezone.now()
    )
    template = NoticeTemplate.objects.get(name__startswith="第2報")
    notice = notice_copy_template(template=template, campaign=campaign, actor=world.admin)
    Notice.objects.filter(pk=notice.pk).update(date=today, edition=2)
    notice.refresh_from_db()
    return member, notice


def test_the_template_says_what_the_seed_says_line_by_line(seed_reader):
    member, notice = seed_reader
    ours = template_lines(render_for(notice=notice, member=member, channel="print")["body"])
    seed = seed_lines()
    diff = "\n".join(difflib.unified_diff(seed, ours, "seed", "template", lineterm="", n=1))
    assert len(seed) > 50 and FIGURE in seed
    assert ours == seed, diff


def test_the_comparison_catches_the_old_wording(seed_reader):
    """The template before it was restored (notices/0002) fails the same comparison."""
    from importlib import import_module

    member, notice = seed_reader
    notice.body = import_module("notices.migrations.0002_second_notice_template").BODY
    assert template_lines(render_for(notice=notice, member=member, channel="print")["body"]) != seed_lines()


def test_the_office_table_has_the_seeds_square_and_lines_up_nagoya():
    lines = office_phone_table().splitlines()
    assert lines[0] == "札幌　営業所 ■TEL:011-222-4321"
    assert "名古屋営業所 ■TEL:052-459-5758" in lines
    assert "新庄　出張所 ■TEL:0233-22-8655" in lines
    assert len({line.index("■") for line in lines}) == 1  # the ■ in one column
    assert len(lines) == SalesOffice.objects.count() == 13


def test_date_and_channel_dependent_sentences_follow_the_member(seed_reader, world, campaign):
    member, notice = seed_reader
    printed = render_for(notice=notice, member=member, channel="print")["body"]
    assert "本日「BIGLOBE パスワード変更のお願い」について FAX にて" in printed and "本紙の手順に沿って" in printed
    emailed = render_for(notice=notice, member=member, channel="email")["body"]
    assert "本メールの手順に沿って" in emailed and "本紙" not in emailed
    # A member the 第1報 reached by email on an earlier day: 先日 … メールにて.
    other = MemberFactory(office=world.office_a)
    enroll(other)
    Delivery.objects.create(
        notice=Notice.objects.get(campaign=campaign, edition=1),
        member=other,
        channel="email",
        status=Delivery.Status.SENT,
        sent_at=timezone.now() - datetime.timedelta(days=3),
    )
    body = render_for(notice=notice, member=other)["body"]
    assert "先日「BIGLOBE パスワード変更のお願い」について メールにて" in body


def test_a_pending_member_gets_the_seed_plus_one_block_with_their_accounts(seed_reader, world, campaign):
    member, notice = seed_reader
    pending = MemberFactory(office=world.office_a, email="")
    AddressFactory(member=pending, slot=1)
    enroll(pending)
    Delivery.objects.create(
        notice=Notice.objects.get(campaign=campaign, edition=1),
        member=pending,
        channel="print",
        status=Delivery.Status.SENT,
        sent_at=timezone.now(),
    )
    seed = template_lines(render_for(notice=notice, member=member, channel="print")["body"])
    ours = template_lines(render_for(notice=notice, member=pending, channel="print")["body"])
    changes = [op for op in difflib.SequenceMatcher(a=seed, b=ours).get_opcodes() if op[0] != "equal"]
    assert [op[0] for op in changes] == ["insert"]  # one block added, nothing of the seed changed
    added = ours[changes[0][3] : changes[0][4]]
    assert any(pending.biglobe_user_id in line for line in added)
    assert any("FAX返信用紙" in line for line in added)


def test_members_without_additional_addresses_skip_that_part():
    from notices.migrations import __path__  # noqa: F401  (the template module is importable)

    body = __import__("importlib").import_module("notices.migrations.0005_second_notice_as_seed").BODY
    head, rest = body.split("{% if 追加メールアドレスあり %}", 1)
    inside, tail = rest.split("{% endif %}", 1)
    assert "追加メールアドレスリストを、担当営業所へ再発行依頼をお願いいたします。" in inside
    assert tail.strip().startswith("変更作業は以上で終了になります。")


def test_a_company_is_addressed_onchu_and_a_person_sama(world, campaign):
    from notices.selectors import addressee

    assert addressee("株式会社見本商事") == "株式会社見本商事 御中"
    assert addressee("見本商店 山田太郎") == "見本商店 山田太郎 様"
    member = MemberFactory(office=world.office_a, name="有限会社見本")
    enroll(member)
    notice = make_notice(campaign=campaign, author=world.admin)
    assert render_for(notice=notice, member=member)["addressee"] == "有限会社見本 御中"
