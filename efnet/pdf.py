"""PDF rendering (WeasyPrint) shared by member cards, address lists and the notices' FAX/print bundle.

Three rules hold for every PDF the portal makes:

- Nothing is fetched from outside: the URL fetcher serves the app's own static files (and inline ``data:``
  URIs, which are part of the document, not a fetch) and raises on anything else.
- Japanese text is drawn with the fonts of the Debian packages (IPAexGothic from fonts-ipaexfont, Noto Sans
  CJK JP from fonts-noto-cjk as fallback), embedded as subsets.
- A character no installed font can draw is refused before rendering (``check_printable``), so a card never
  carries a blank box where a name should be.

Speed: a fresh ``FontConfiguration`` per document makes WeasyPrint reload fontconfig's font set and copy each
CJK font file (several MB) again, which is most of the ~250 ms a plain render of a one-page card takes. One
``FontConfiguration`` is shared per process instead (pango's font map is not thread-safe, hence the lock), the
base stylesheet is parsed once, and a batch is rendered as one document per chunk so the font subset is built
once per chunk rather than once per card.

Past that, WeasyPrint's time goes into boxes: styling, laying out and drawing each one. Two things keep a card
page cheap. The card template prints each field as one text run (``label<TAB>: value``, as the notice does)
instead of a table row of three cells. And the HTML user-agent stylesheet is used without its rules that give
*every* element a ``::marker`` and five footnote/note pseudo-elements: WeasyPrint computes a style for each of
them on each element (about a tenth of a card's time with the old table layout, less now). The PDFs use
neither footnotes nor lists, and ``::marker`` is kept for ``li`` and ``summary``. Batches are spread over
several processes by efnet.pdf_pool.
"""

from __future__ import annotations

import mimetypes
import re
import subprocess
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError

# Relative URLs in PDF templates resolve against this origin; ".invalid" can never resolve on a network.
BASE_URL = "https://efnet-pdf.invalid/"
# The families the PDFs name, in order of preference; check_printable accepts what any of them can draw.
FONT_FAMILIES = ("IPAexGothic", "Noto Sans CJK JP", "DejaVu Sans Mono", "DejaVu Sans")

VARIANT_NAME = re.compile(r"Bold|Oblique|Italic|Light|Condensed|Thin|Black|Medium", re.IGNORECASE)

BASE_CSS = """
@page { size: A4; margin: 16mm 18mm; }
html { color: #000; background: #fff; }
body { font-family: "IPAexGothic", "Noto Sans CJK JP", sans-serif; font-size: 11pt; line-height: 1.5;
       font-weight: normal; }
h1, h2, h3, strong, b, th { font-weight: normal; }
.mono, .password { font-family: "DejaVu Sans Mono", monospace; }
"""


class PdfResourceRefused(Exception):
    """A PDF template asked for something other than the app's own static files."""


class UnprintableCharacterError(ValidationError):
    """A value holds a character that no installed font can draw."""

    def __init__(self, field: str, char: str):
        self.field = field
        self.char = char
        name = unicodedata.name(char, "")
        label = f"「{char}」(U+{ord(char):04X}{' ' + name if name else ''})"
        super().__init__(
            f"{field}に印字できない文字 {label} が含まれています。別の文字に置き換えるか、事務局に連絡してください。",
            code="unprintable",
            params={"field": field, "char": char},
        )


# --- URL fetcher ------------------------------------------------------------------------------------------


def _static_prefix() -> str:
    prefix = urlsplit(settings.STATIC_URL).path
    return "/" + prefix.strip("/") + "/"


def _static_file(url: str) -> Path:
    parts = urlsplit(url)
    base = urlsplit(BASE_URL)
    prefix = _static_prefix()
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or not parts.path.startswith(prefix):
        raise PdfResourceRefused(f"PDF rendering refused to fetch {url!r}: only the app's static files")
    relative = unquote(parts.path[len(prefix) :])
    if not relative or ".." in Path(relative).parts:
        raise PdfResourceRefused(f"PDF rendering refused to fetch {url!r}")
    found = finders.find(relative)
    if not found and settings.STATIC_ROOT:
        candidate = Path(settings.STATIC_ROOT) / relative
        found = str(candidate) if candidate.is_file() else None
    if not found:
        raise PdfResourceRefused(f"static file not found: {relative!r}")
    return Path(found)


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Serves the app's static files; anything else stops the rendering (fail_on_errors)."""

        def __init__(self):
            super().__init__(fail_on_errors=True, allow_redirects=False, allowed_protocols=("https", "data"))

        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            path = _static_file(url)
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})

    return StaticOnlyFetcher


# --- lean user-agent stylesheet --------------------------------------------------------------------------

# Rules of the form "::footnote-call { ... }": a pseudo-element selector with no element, so it matches all.
UNIVERSAL_NOTE_RULE = re.compile(r"(?m)^::(?:footnote|note)-[\w-]+\s*\{[^}]*\}[ \t]*\n?")


def lean_ua_source(source: str) -> str:
    """WeasyPrint's HTML user-agent stylesheet without its universal pseudo-element rules (see the module
    docstring): footnote and note rules dropped, ``::marker`` kept only where HTML draws markers."""
    source = UNIVERSAL_NOTE_RULE.sub("", source)
    return re.sub(r"(?m)^::marker\s*\{", "li::marker, summary::marker {", source)


def _html_class():
    """weasyprint.HTML using the lean user-agent stylesheet (falls back to plain HTML if a WeasyPrint
    upgrade moves what this relies on; tests/documents/test_pdf.py notices that)."""
    from weasyprint import CSS, HTML

    try:
        from weasyprint.css.counters import CounterStyle
        from weasyprint.html import UA, UA_FORM_STYLESHEET
    except ImportError:
        return HTML
    if not callable(getattr(HTML, "_ua_stylesheets", None)):
        return HTML
    # Its @counter-style rules are already in WeasyPrint's own counter styles (used at rendering); parsing them
    # again into those would only warn about redefinitions.
    lean = CSS(string=lean_ua_source(UA), counter_style=CounterStyle())

    class LeanHTML(HTML):
        def _ua_stylesheets(self, forms=False):
            return [lean, UA_FORM_STYLESHEET] if forms else [lean]

    return LeanHTML


# --- shared WeasyPrint state -------------------------------------------------------------------------------

_lock = threading.Lock()
_state: dict = {}


def _shared():
    """The per-process FontConfiguration and parsed base stylesheet (built on first use)."""
    if not _state:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        font_config = FontConfiguration()
        _state["font_config"] = font_config
        _state["base_css"] = CSS(string=BASE_CSS, font_config=font_config)
        _state["fetcher"] = _fetcher_class()()
        _state["html"] = _html_class()
    return _state


def _stylesheet(template_name: str):
    """A stylesheet kept as a template (e.g. ``pdf/cards.css``), parsed once per process."""
    state = _shared()
    cache = state.setdefault("stylesheets", {})
    if template_name not in cache:
        from django.template.loader import get_template
        from weasyprint import CSS

        source = get_template(template_name).template.source
        cache[template_name] = CSS(
            string=source, base_url=BASE_URL, url_fetcher=state["fetcher"], font_config=state["font_config"]
        )
    return cache[template_name]


def render_pdf(html: str, *, base_css: bool = True, stylesheets: tuple[str, ...] = ()) -> bytes:
    """Render ``html`` (a complete document) to PDF bytes.

    Relative URLs resolve to the app's static files (``{% static %}`` works); any other URL raises
    PdfResourceRefused. ``base_css`` adds A4 pages, black on white and the Japanese font stack.
    ``stylesheets`` names stylesheet templates, parsed once per process instead of once per document.
    """
    from weasyprint.urls import FatalURLFetchingError

    with _lock:
        state = _shared()
        sheets = ([state["base_css"]] if base_css else []) + [_stylesheet(name) for name in stylesheets]
        document = state["html"](string=html, base_url=BASE_URL, url_fetcher=state["fetcher"])
        try:
            return document.write_pdf(stylesheets=sheets or None, font_config=state["font_config"])
        except FatalURLFetchingError as exc:
            cause = exc.__cause__
            if isinstance(cause, PdfResourceRefused):
                raise PdfResourceRefused(str(cause)) from None
            raise PdfResourceRefused(str(exc)) from None


def render_pdf_plain(html: str, *, stylesheets: tuple[str, ...] = ()) -> bytes:
    """Plain WeasyPrint on the same HTML and stylesheets, everything fresh per document (font
    configuration, parsed CSS): the benchmark's baseline. Same fetcher, so it is as safe; not used for real
    documents."""
    from django.template.loader import get_template
    from weasyprint import CSS, HTML

    sources = [BASE_CSS] + [get_template(name).template.source for name in stylesheets]
    return HTML(string=html, base_url=BASE_URL, url_fetcher=_fetcher_class()()).write_pdf(
        stylesheets=[CSS(string=source) for source in sources]
    )


# --- printable characters ----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def font_files() -> tuple[tuple[str, int], ...]:
    """(file, face index) of each installed face of FONT_FAMILIES, as fontconfig finds them."""
    found: list[tuple[str, int]] = []
    for family in FONT_FAMILIES:
        try:
            listing = subprocess.run(
                ["fc-list", "--format", "%{file}|%{index}\n", f":family={family}"],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        faces = []
        for line in sorted(set(listing.splitlines())):
            path, _, index = line.rpartition("|")
            if path:
                faces.append((str(Path(path).resolve()), int(index or 0)))
        # Bold and oblique faces cover the same characters as the regular one: reading them would only cost
        # time. Keep the upright regular faces when there are any.
        regular = [f for f in faces if not VARIANT_NAME.search(Path(f[0]).name)]
        for face in regular or faces:
            if face not in found:
                found.append(face)
    return tuple(found)


@lru_cache(maxsize=1)
def printable_codepoints() -> frozenset[int]:
    """Every code point some installed PDF font maps to a glyph (fontTools cmaps, read once per process)."""
    from fontTools.ttLib import TTFont

    points: set[int] = set()
    seen_files: set[str] = set()
    for path, index in font_files():
        # Faces of one collection share their cmap closely enough; read the first face of each file.
        if path in seen_files:
            continue
        seen_files.add(path)
        try:
            font = TTFont(path, fontNumber=index, lazy=True)
            points.update(font.getBestCmap() or {})
            font.close()
        except Exception:  # noqa: S112 - an unreadable font file simply draws nothing
            continue
    return frozenset(points)


def _ignorable(char: str) -> bool:
    # Layout characters (line breaks, tabs, spaces) and format controls draw nothing by design.
    return char in "\n\r\t" or unicodedata.category(char) in ("Zs", "Cf", "Cc")


def check_printable(fields: dict[str, str]) -> None:
    """Raise UnprintableCharacterError for the first character of a value that no installed font can draw.

    ``fields`` maps a Japanese field label (as the error names it) to the text that will be printed.
    """
    points = printable_codepoints()
    if not points:
        raise ValidationError("PDF用の日本語フォントが見つかりません（fonts-ipaexfont / fonts-noto-cjk）。")
    for field, value in fields.items():
        for char in str(value or ""):
            if ord(char) not in points and not _ignorable(char):
                raise UnprintableCharacterError(field, char)
