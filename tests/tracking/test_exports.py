import csv
import io
import shutil
import subprocess

import pytest
from openpyxl import load_workbook

from efnet.models import AuditEvent
from tests.conftest import login
from tests.factories import MemberFactory
from tracking.exports import csv_cell
from tracking.services import accounts_enroll

pytestmark = pytest.mark.django_db


@pytest.fixture
def tricky(world, campaign):
    m = MemberFactory(office=world.office_a, name='=HYPERLINK("http://evil.example/","押してください")')
    accounts_enroll(member=m)
    plus = MemberFactory(
        office=world.office_a, name="+81 商会", name_kana="@カブシキガイシャ", phone="+81-6-6942-4028", fax="-"
    )
    accounts_enroll(member=plus)
    # 𠮷 (U+20BB7) and an emoji are not in CP932.
    odd = MemberFactory(office=world.office_a, name="𠮷野家商店🍣")
    accounts_enroll(member=odd)
    return m


class Download:
    """A streamed export, read whole."""

    def __init__(self, response):
        self.response = response
        self.status_code = response.status_code
        self.content = b"".join(response.streaming_content)

    def __getitem__(self, header):
        return self.response[header]


def _get(client, fmt, **params):
    response = client.get(f"/tracking/members/export/{fmt}/", params)
    assert response.streaming, "exports are streamed, never built whole in memory"
    return Download(response)


def test_cp932_csv_decodes_neutralises_and_replaces_visibly(client, world, tricky):
    login(client, world.clerk_a)
    response = _get(client, "csv", status="未完了")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode("cp932")  # must decode: what Excel in Japan opens by default
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["会員番号", "会社名", "フリガナ"]
    names = [r[1] for r in rows[1:] if len(r) > 1]
    assert '\'=HYPERLINK("http://evil.example/","押してください")' in names
    assert "'+81 商会" in names
    assert "〓野家商店〓" in names
    assert "置き換えました" in rows[-1][0] and "2字" in rows[-1][0]
    # Office scoping: only office A's members; no password anywhere.
    assert world.member_b.number not in text and world.member_a.number in text
    assert world.member_a.biglobe_password not in text
    event = AuditEvent.objects.get(action="tracking.calllist.exported")
    # Audited before the first byte is sent; the replaced characters are counted in the file's last line.
    assert event.details["rows"] == len(rows) - 2 and event.details["format"] == "csv"


def test_utf8_bom_csv_keeps_every_character(client, world, tricky):
    login(client, world.head)
    body = _get(client, "csv-utf8").content
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert "𠮷野家商店🍣" in text and "'=HYPERLINK" in text
    assert world.member_b.number in text  # head office sees both offices


def test_xlsx_opens_and_formula_is_text(client, world, tricky):
    login(client, world.clerk_a)
    response = _get(client, "xlsx")
    wb = load_workbook(io.BytesIO(response.content))
    ws = wb.active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0][0] == "会員番号"
    cells = {row[1]: ws.cell(row=i + 1, column=2) for i, row in enumerate(values)}
    # A text cell is never evaluated, so it needs no apostrophe: the value is exactly what is stored.
    hyper = cells['=HYPERLINK("http://evil.example/","押してください")']
    assert hyper.data_type == "s"
    assert all(ws.cell(row=r, column=c).data_type != "f" for r in range(1, ws.max_row + 1) for c in range(1, 9))
    numbers = {row[0] for row in values[1:]}
    assert world.member_a.number in numbers and world.member_b.number not in numbers
    assert AuditEvent.objects.get(action="tracking.calllist.exported").details["rows"] == len(values) - 1


def test_export_of_other_office_is_refused_and_audited(client, world, tricky):
    login(client, world.clerk_a)
    response = client.get("/tracking/members/export/csv-utf8/", {"office": world.office_b.pk})
    assert response.status_code == 400  # not silently widened to the clerk's own office
    assert world.member_b.number not in response.content.decode()
    assert not AuditEvent.objects.filter(action="tracking.calllist.exported").exists()
    event = AuditEvent.objects.get(action="access.denied", actor=world.clerk_a)
    assert event.office == world.office_b and event.details["why"] == "office_not_visible"


@pytest.mark.parametrize("url", ["/tracking/", "/tracking/members/", "/tracking/accounts/"])
def test_the_lists_refuse_another_office_filter_and_audit_it(client, world, campaign, url):
    login(client, world.clerk_a)
    assert client.get(url, {"office": world.office_b.pk}).status_code == 400
    assert AuditEvent.objects.filter(action="access.denied", actor=world.clerk_a, office=world.office_b).count() == 1
    assert client.get(url, {"office": world.office_a.pk}).status_code == 200


def test_export_audit_records_the_office_applied(client, world, tricky):
    login(client, world.clerk_a)
    assert _get(client, "xlsx").status_code == 200  # no office in the URL: the clerk's office applies
    event = AuditEvent.objects.get(action="tracking.calllist.exported")
    assert event.office == world.office_a
    assert event.details["filters"]["office"] == world.office_a.name
    assert event.details["filters"]["office_id"] == world.office_a.pk
    login(client, world.head)
    assert _get(client, "xlsx", office=world.office_b.pk).status_code == 200
    event = AuditEvent.objects.filter(action="tracking.calllist.exported").latest("id")
    assert event.office == world.office_b and event.details["filters"]["office_id"] == world.office_b.pk


def test_call_list_carries_the_screen_columns_and_empty_call_result_columns(client, world, campaign):
    import datetime

    from django.utils import timezone

    from tracking.services import accounts_mark_notified

    accounts_mark_notified(member=world.member_a, campaign=campaign, at=timezone.now() - datetime.timedelta(days=9))
    login(client, world.clerk_a)
    screen = client.get("/tracking/members/", {"status": "未完了"}).content.decode()
    rows = list(csv.reader(io.StringIO(_get(client, "csv-utf8", status="未完了").content.decode("utf-8-sig"))))
    header = rows[0]
    assert header[:10] == [
        *("会員番号", "会社名", "フリガナ", "電話番号", "FAX番号"),
        *("担当営業所", "状態", "未完了アカウント", "最終案内日", "経過日数"),
    ]
    assert header[10:] == ["架電日", "架電結果（電話済・不在・折返し待ち）", "メモ"]
    row = next(r for r in rows[1:] if r[0] == world.member_a.number)
    assert row[6] == "案内済" and row[9] == "9" and row[10:] == ["", "", ""]
    assert "9日" in screen  # the same waiting time the screen shows
    workbook = load_workbook(io.BytesIO(_get(client, "xlsx", status="未完了").content))
    assert [c.value for c in next(workbook.active.iter_rows(max_row=1))] == header


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tX", "'\tX"),
        ("\rX", "'\rX"),
        ("+81 商会", "'+81 商会"),  # letters after a sign: not a number, maybe a name a formula would look up
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),  # DDE
        ('+HYPERLINK("http://evil.example/")', '\'+HYPERLINK("http://evil.example/")'),
        ("+1+2", "'+1+2"),
        ("+81-6-6942-4028", "+81-6-6942-4028"),  # a phone number is data
        ("+81 (6) 6942 4028", "+81 (6) 6942 4028"),
        ("-", "-"),
        ("-12.5", "-12.5"),
        ("06-6942-4028", "06-6942-4028"),
        ("", ""),
        (None, ""),
    ],
)
def test_csv_guards_formulas_and_leaves_phone_numbers_alone(value, cell):
    assert csv_cell(value) == cell


def test_xlsx_cells_hold_the_stored_values_as_text(client, world, tricky):
    login(client, world.clerk_a)
    ws = load_workbook(io.BytesIO(_get(client, "xlsx").content)).active
    row = next(r for r in ws.iter_rows(min_row=2) if r[1].value == "+81 商会")
    assert [c.value for c in row[2:5]] == ["@カブシキガイシャ", "+81-6-6942-4028", "-"]
    assert all(c.data_type == "s" for c in row if c.value is not None)  # the call-result columns are empty


def _as_a_spreadsheet_shows(*paths, tmp_path, infilter=None) -> dict[str, list[list[str]]]:
    """What LibreOffice Calc shows for each file, by file name: opened (a CSV with formulas evaluated, as Excel
    does) and saved as CSV of the displayed values."""
    out = tmp_path / "out"
    command = ["soffice", f"-env:UserInstallation=file://{tmp_path}/profile", "--headless"]
    if infilter:
        command.append(f"--infilter={infilter}")
    command += ["--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1", "--outdir", str(out)]
    subprocess.run([*command, *map(str, paths)], check=True, capture_output=True, timeout=180)
    return {p.name: list(csv.reader(io.StringIO((out / (p.stem + ".csv")).read_text("utf-8")))) for p in paths}


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (libreoffice-calc-nogui) is not installed")
def test_libreoffice_shows_data_as_data_and_runs_no_formula(client, world, tricky, tmp_path):
    login(client, world.head)
    xlsx = tmp_path / "calllist.xlsx"
    xlsx.write_bytes(_get(client, "xlsx").content)
    utf8 = tmp_path / "calllist-utf8.csv"
    utf8.write_bytes(_get(client, "csv-utf8").content)
    control = tmp_path / "control.csv"  # proves the import below does evaluate an unguarded formula
    control.write_text("=1+2,+81-6-6942-4028\r\n", "utf-8")

    shown = {row[1]: row for row in _as_a_spreadsheet_shows(xlsx, tmp_path=tmp_path)["calllist.xlsx"]}
    hyper = '=HYPERLINK("http://evil.example/","押してください")'
    assert hyper in shown  # as text, exactly as stored: the link was not made
    assert shown["+81 商会"][2:5] == ["@カブシキガイシャ", "+81-6-6942-4028", "-"]
    assert world.member_a.number in {row[0] for row in shown.values()}  # leading zeros kept

    # "Evaluate formulas" on, as Excel opens a CSV: the guarded cells are shown as text, the phone as typed.
    csv_filter = "CSV:44,34,76,1,,0,false,true,false,false,false,-1,true"
    files = _as_a_spreadsheet_shows(utf8, control, tmp_path=tmp_path, infilter=csv_filter)
    assert files["control.csv"] == [["3", "+81-6-6942-4028"]]
    shown = {row[1]: row for row in files["calllist-utf8.csv"]}
    assert "'" + hyper in shown and "押してください" not in shown
    assert shown["'+81 商会"][2:5] == ["'@カブシキガイシャ", "+81-6-6942-4028", "-"]
