"""Journey 6 in a real browser: the office's Shift_JIS member list comes in. Upload, map the one column the
import does not know, see the errors, download and fix them, apply, see the members, undo the fixed batch."""

import csv
import io

import pytest

from imports.models import ImportBatch
from members.models import Member
from tests.browser import browser_login
from tests.imports.helpers import MEMBER_HEADERS, csv_bytes, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def office_list() -> bytes:
    rows = [[*MEMBER_HEADERS, "紹介者"]]
    rows += [member(f"{70001 + i:07d}", name=f"株式会社初日商事{i}") + ["山田"] for i in range(5)]
    rows.append(member("0070001", name="株式会社重複", ユーザーID="dup70001", パスワード="Dup70001pw") + [""])
    rows.append(member("0070101", name="株式会社大坂違い", 営業所="大坂") + [""])
    rows.append(member("0070102", name="株式会社日付違い", 会員登録日="令和8年13月1日") + [""])
    return csv_bytes(rows)  # CP932, as Excel in Japan saves it


def test_day_one_import_with_errors_fixed_and_an_undo(world, browser_page, tmp_path, settings):
    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())
    browser_login(page, world.admin, next_url="/imports/")

    page.get_by_label("ファイル（CSV または .xlsx）").set_input_files(
        files=[{"name": "会員一覧.csv", "mimeType": "text/csv", "buffer": office_list()}]
    )
    page.get_by_test_id("upload").click()
    page.get_by_text("Shift_JIS (CP932)（自動判別）").wait_for()
    page.get_by_label("紹介者").select_option(label="メモ")
    page.get_by_test_id("start-preview").click()

    page.get_by_test_id("import-status").filter(has_text="確認待ち").wait_for()
    assert page.get_by_test_id("error-count").inner_text() == "3"
    errors = page.get_by_test_id("rows-error").inner_text()
    assert "会員番号 0070001 は 2 行目と重複しています。" in errors
    assert "営業所「大坂」はありません。" in errors
    assert "会員登録日「令和8年13月1日」は日付として読めません。" in errors

    with page.expect_download() as download_info:
        page.get_by_test_id("error-download").click()
    with open(download_info.value.path(), "rb") as stream:
        error_rows = list(csv.reader(io.StringIO(stream.read().decode("cp932"))))
    assert len(error_rows) == 4 and error_rows[0][0] == "エラー内容"

    # Apply the valid rows now, explicitly.
    page.get_by_label("エラーの行を除いて、正しい行だけを取り込む").check()
    page.get_by_test_id("apply").click()
    page.get_by_test_id("import-status").filter(has_text="取込済").wait_for()
    assert Member.objects.filter(number__startswith="00700").count() == 5
    assert Member.objects.get(number="0070001").note == "山田"

    # Fix the three rows "in Excel": a new number, the office, the date, and the passwords the error file leaves out.
    header, fixed = error_rows[0][1:], []
    for cells in error_rows[1:]:
        row = dict(zip(header, cells[1:], strict=True))
        if row["会員番号"] == "0070001":
            row["会員番号"] = "0070103"
        row["営業所"] = row["営業所"].replace("大坂", "大阪")
        row["会員登録日"] = row["会員登録日"].replace("13月", "12月")
        row["パスワード"] = f"Fix{row['会員番号']}pw"
        fixed.append([row[h] for h in header])
    page.goto("/imports/")
    page.get_by_label("ファイル（CSV または .xlsx）").set_input_files(
        files=[{"name": "修正.csv", "mimeType": "text/csv", "buffer": csv_bytes([header, *fixed])}]
    )
    page.get_by_test_id("upload").click()
    assert page.get_by_label("紹介者").input_value() == "note"  # remembered from the first file
    page.get_by_test_id("start-preview").click()
    page.get_by_test_id("import-status").filter(has_text="確認待ち").wait_for()
    assert page.get_by_test_id("error-count").inner_text() == "0"
    page.get_by_test_id("apply").click()
    page.get_by_test_id("import-status").filter(has_text="取込済").wait_for()

    page.goto("/members/?q=0070103")
    assert "株式会社重複" in page.locator("body").inner_text()

    # The next morning: that file was an old version. Undo it; the first batch stays.
    fixed_batch = ImportBatch.objects.latest("id")
    page.goto(f"/imports/{fixed_batch.pk}/")
    page.get_by_test_id("undo").click()
    page.get_by_test_id("import-status").filter(has_text="取消済").wait_for()
    assert not Member.objects.filter(number__in=["0070101", "0070102", "0070103"]).exists()
    assert Member.objects.filter(number__startswith="00700").count() == 5
