"""Layout of the card and the address list, read back from the PDF page by page: what stays together, what
every page says, where lines break, what the text layer reads, and nothing small or grey for the FAX."""

import datetime
import io
import re
import subprocess

import pytest
from pypdf import PdfReader

from documents import services
from tests.factories import AddressFactory

pytestmark = pytest.mark.django_db

SEED_DATES = [datetime.date(2025, 11, 6), datetime.date(2026, 6, 24), datetime.date(2026, 6, 26)]


def value_lines(page: str) -> list[str]:
    """The page's lines, stripped, without the ": " that starts a field's value."""
    return [re.sub(r"^:\s*", "", line.strip()) for line in page.splitlines()]


def pages_text(data: bytes, *, layout: bool = False) -> list[str]:
    """pdftotext of each page (form feeds split the pages)."""
    args = ["pdftotext", *(["-layout"] if layout else []), "-", "-"]
    out = subprocess.run(args, input=data, capture_output=True, check=True).stdout.decode()
    return out.split("\f")[:-1]


def words_with_x(data: bytes) -> list[tuple[float, str]]:
    """(x of the word's left edge, word) for every word of the first page, from pdftotext -bbox."""
    out = subprocess.run(["pdftotext", "-bbox", "-l", "1", "-", "-"], input=data, capture_output=True, check=True)
    found = re.findall(r'<word xMin="([\d.]+)"[^>]*>([^<]*)</word>', out.stdout.decode())
    return [(float(x), word) for x, word in found]


def font_sizes(data: bytes) -> list[tuple[float, str]]:
    """(size in pt, text) of every text run: the font size times the scale of the text and current matrices."""
    runs = []

    def visit(text, cm, tm, font_dict, font_size):
        if text.strip():
            scale = abs(tm[3] * cm[3]) or abs(tm[0] * cm[0])
            runs.append((round(font_size * scale, 2), text))

    for page in PdfReader(io.BytesIO(data)).pages:
        page.extract_text(visitor_text=visit)
    return runs


def fill_colours(data: bytes) -> set[tuple[float, ...]]:
    """Every non-stroking colour the pages set (rg, g, sc/scn with numbers)."""
    colours = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        stream = page.get_contents().get_data().decode("latin-1")
        for match in re.finditer(r"((?:[\d.]+\s+){1,4})(rg|g|scn|sc)\b", stream):
            colours.add(tuple(float(v) for v in match.group(1).split()))
    return colours


def _list_with(member, actor, count: int) -> tuple[object, bytes]:
    for slot in range(1, count + 1):
        AddressFactory(member=member, slot=slot, issued_on=SEED_DATES[min(slot, 3) - 1])
    return services.address_list_issue(member=member, actor=actor)


def test_the_seeds_three_address_list_fits_one_page_with_its_footer(world):
    member = world.member_a
    member.additional_addresses.all().delete()
    issue, data = _list_with(member, world.clerk_a, 3)
    pages = pages_text(data)
    assert len(pages) == 1
    page = pages[0].replace(" ", "")
    for expected in ("追加メールアドレス3", "追加メールアドレス単位での実施をお願いいたします。", "EFネット事務局"):
        assert expected.replace(" ", "") in page
    assert issue.serial in page and f"会員番号{member.number}" in page and "1/1" in page


def test_a_longer_list_numbers_its_pages_and_keeps_the_footer_with_the_last_block(world):
    member = world.member_a
    member.additional_addresses.all().delete()
    issue, data = _list_with(member, world.clerk_a, 6)
    pages = [p.replace(" ", "") for p in pages_text(data)]
    assert len(pages) == 2
    for number, page in enumerate(pages, start=1):
        assert f"会員番号{member.number}" in page and f"{number}/2" in page
    last = pages[-1]
    # The serial is not alone on the last page: the last block and the closing lines are with it.
    assert issue.serial in last and "追加メールアドレス6" in last and "追加メールアドレス単位での実施" in last
    assert issue.serial not in pages[0]


def test_each_list_in_one_pdf_counts_its_own_pages(world):
    """Lists printed together (a batch) restart their page numbers: 「1/1」 for each one-page list."""
    from django.template.loader import render_to_string

    from efnet.pdf import render_pdf

    docs = [{"number": n, "serial": f"L-20260626-00000{i}", "addresses": []} for i, n in enumerate(("1111", "2222"))]
    html = "".join(render_to_string("pdf/address_list.html", {"doc": d}) for d in docs)
    pages = [p.replace(" ", "") for p in pages_text(render_pdf(html, stylesheets=services.PDF_STYLESHEETS))]
    assert len(pages) == 2
    assert "会員番号1111" in pages[0] and "1/1" in pages[0] and "2/" not in pages[0]
    assert "会員番号2222" in pages[1] and "1/1" in pages[1]


def test_the_title_reads_as_one_word_in_the_text_layer(world):
    _, data = services.member_card_issue(member=world.member_a, reason="紛失再発行", actor=world.clerk_a)
    assert "EFネット会員証" in PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "EFネット会員証" in pages_text(data)[0]
    _, data = services.address_list_issue(member=world.member_a, actor=world.clerk_a)
    assert "EFネット追加メールアドレスリスト" in pages_text(data)[0]


def test_a_wrapped_mail_address_breaks_before_its_at_sign_and_aligns_under_the_value(world):
    member = world.member_a
    # Without the break rules this address broke after "efnet-", which reads as a hyphenated word.
    member.email = "taro.yamada-mihon-shoji-sales@efnet-demo-example.biglobe.ne.jp"
    member.save()
    _, data = services.member_card_issue(member=member, reason="紛失再発行", actor=world.clerk_a)
    lines = value_lines(pages_text(data)[0])
    assert "taro.yamada-mihon-shoji-sales" in lines
    assert "@efnet-demo-example.biglobe.ne.jp" in lines
    assert not any(line.endswith("-") for line in lines)
    x = dict((word, x) for x, word in words_with_x(data))
    # The continuation starts where the value starts, not under the colon.
    assert abs(x["@efnet-demo-example.biglobe.ne.jp"] - x["taro.yamada-mihon-shoji-sales"]) < 1.0
    assert x[":"] < x["taro.yamada-mihon-shoji-sales"] - 5


def test_a_house_number_is_never_split_across_lines(world):
    member = world.member_a
    # Measured: at this length the line would otherwise end in 「…十三」 with 「号…」 on the next line.
    member.postal_code = ""
    member.address = "大阪府大阪市北区梅田三丁目見本町東東東東東東十三号見本ビル"
    member.save()
    _, data = services.member_card_issue(member=member, reason="紛失再発行", actor=world.clerk_a)
    lines = value_lines(pages_text(data)[0])
    first = next(line for line in lines if "大阪府" in line)
    assert first.endswith("東") and "十三号見本ビル" in lines


def test_a_spaced_address_breaks_at_its_space(world):
    member = world.member_a
    member.postal_code = "530-0001"
    member.address = "大阪府大阪市北区梅田三丁目十三号 エッサム見本ビルディング第二別館十三階"
    member.save()
    _, data = services.member_card_issue(member=member, reason="紛失再発行", actor=world.clerk_a)
    lines = value_lines(pages_text(data)[0])
    assert any(line.endswith("梅田三丁目十三号") for line in lines)
    assert "エッサム見本ビルディング第二別館十三階" in lines


def test_nothing_is_printed_under_nine_points_or_in_grey(world):
    member = world.member_a
    AddressFactory(member=member, slot=2, issued_on=datetime.date(2026, 6, 26))
    _, card = services.member_card_issue(member=member, reason="紛失再発行", actor=world.clerk_a)
    _, address_list = services.address_list_issue(member=member, actor=world.clerk_a)
    for data in (card, address_list):
        small = [(size, text) for size, text in font_sizes(data) if size < 9]
        assert not small
        assert fill_colours(data) <= {(0.0,), (1.0,), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)}
