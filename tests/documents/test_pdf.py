"""efnet.pdf: Japanese fonts embedded, no external fetches, unprintable characters refused by name."""

import io
import subprocess

import pytest
from pypdf import PdfReader

from efnet import pdf


def embedded_fonts(data: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", []):
                descriptor = descendant.get_object()["/FontDescriptor"].get_object()
                if any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    names.add(str(font["/BaseFont"]).split("+", 1)[-1])
    return names


def test_it_embeds_the_japanese_font_and_keeps_the_text():
    data = pdf.render_pdf("<html lang='ja'><body><p>株式会社エッサム EFネット事務局</p></body></html>")
    assert "IPAexGothic" in embedded_fonts(data)
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "株式会社エッサム" in text


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/logo.png",
        "https://example.com/style.css",
        "file:///etc/hostname",
        "/static/../../etc/hostname",
        "/media/secret.png",
    ],
)
def test_it_refuses_anything_but_static_files(url):
    with pytest.raises(pdf.PdfResourceRefused):
        pdf.render_pdf(f"<html><head><link rel='stylesheet' href='{url}'></head><body>x</body></html>")


def test_it_serves_the_apps_own_static_files():
    html = "<html><head><link rel='stylesheet' href='/static/css/app.css'></head><body>静的</body></html>"
    data = pdf.render_pdf(html)
    assert data.startswith(b"%PDF")


def test_check_printable_accepts_japanese_names_and_rare_kanji():
    pdf.check_printable({"登録者名": "株式会社髙橋𠮷野 ①②", "登録者住所": "大阪府大阪市中央区本町1-2-3\n"})


def test_check_printable_names_the_character_and_the_field():
    with pytest.raises(pdf.UnprintableCharacterError) as info:
        pdf.check_printable({"会員番号": "123", "登録者名": "テスト\U0001fae8商店"})
    assert info.value.field == "登録者名"
    assert info.value.char == "\U0001fae8"
    message = info.value.messages[0]
    assert "登録者名" in message and "U+1FAE8" in message


def test_the_lean_user_agent_stylesheet_drops_only_the_universal_pseudo_element_rules():
    from weasyprint.html import UA

    lean = pdf.lean_ua_source(UA)
    universal = [line for line in UA.splitlines() if line.startswith("::")]
    assert any(line.startswith("::footnote-call") for line in universal)  # what it removes exists upstream
    assert not [line for line in lean.splitlines() if line.startswith("::")]
    assert "li::marker, summary::marker {" in lean
    removed = set(UA.splitlines()) - set(lean.splitlines())
    assert all(line.startswith("::") for line in removed), removed
    # A WeasyPrint upgrade that moves the hook would silently make every page slower: fail here instead.
    assert pdf._html_class().__name__ == "LeanHTML"


def test_lists_keep_their_markers_with_the_lean_stylesheet():
    data = pdf.render_pdf("<ol><li>一番目</li><li>二番目</li></ol><ul><li>項目</li></ul>")
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "1." in text and "2." in text and "•" in text


def test_a_value_too_long_for_its_line_wraps_inside_the_page_instead_of_running_off_it(tmp_path):
    from documents.management.commands.bench_pdf import fictitious_card
    from documents.services import render_cards

    card = fictitious_card(1)
    card["email"] = "averylongmailboxnamewithoutanybreakopportunity0123456789abcdef@efnet-demo.example"
    path = tmp_path / "card.pdf"
    path.write_bytes(render_cards([card]))
    # pdftotext keeps only what is on the page: text that ran off the right edge would be missing. -layout reads
    # the lines as placed (its reading-order guess may put the boxed password between a value's lines).
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert card["email"] in "".join(text.split())
