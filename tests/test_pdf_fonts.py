"""Every script and emoji a pupil types prints: no character of the PDFs comes out as the
empty box (.notdef, glyph 0), checked in the fonts embedded in the document.

The fonts are Debian packages (the Makefile's RUN_SYSDEPS) named in templates/pdf/_fonts.css.
"""

from __future__ import annotations

import io
import re

import pytest
from flask_babel import force_locale
from pypdf import PdfReader

from portfolio.access import access_to
from portfolio.export.render import portfolio_pdf
from portfolio.extensions import db
from tests.support.pdf_fixtures import SCRIPTS, add_scripts
from tests.support.pdf_glyphs import font_uses, missing_glyphs

EMOJI = ["🙏", "💪", "👍🏽", "👨\u200d👩\u200d👧", "🇹🇷", "🇩🇪", "❤️", "😀"]


@pytest.fixture(autouse=True)
def _request(app):
    with app.test_request_context():
        yield


def _portfolio_with(world, texts: dict[str, str], locale: str) -> bytes:
    """The pupil's whole portfolio with one reflection per text (title and body, so that
    bold headings and body text both print it)."""
    add_scripts(world.pupil, texts)
    db.session.commit()
    with force_locale(locale):
        return portfolio_pdf(access_to(world.pupil, world.pupil))


@pytest.mark.parametrize("locale", ["de", "ar"])
def test_every_script_and_emoji_prints_without_notdef(world, locale):
    pdf = _portfolio_with(world, SCRIPTS, locale)
    assert missing_glyphs(pdf) == {}
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    for sample in ["你好", "안녕하세요", "Zażółć gęślą jaźń", "ığdır", "інженеркою", "Ёлка"]:
        assert sample in text
    # Which font drew what: emoji (with skin tone, as a family, as flags) from the colour
    # emoji font as one glyph each, never digits or "©"; Chinese and Japanese from Droid
    # Sans Fallback, Korean from NanumGothic (_fonts.css says why).
    drawn = {use.name: set(use.to_unicode[g] for g in use.shown) for use in font_uses(pdf)}
    emoji_fonts = [name for name in drawn if "Emoji" in name]
    assert emoji_fonts
    from_emoji = set().union(*(drawn[name] for name in emoji_fonts))
    assert set(EMOJI) <= from_emoji
    assert not from_emoji & set("0123456789#*©™")
    by_font = {
        family: set().union(*(chars for name, chars in drawn.items() if family in name))
        for family in ("Droid-Sans-Fallback", "NanumGothic")
    }
    assert {"你", "好", "カ"} <= by_font["Droid-Sans-Fallback"]
    assert {"안"} <= by_font["NanumGothic"]
    # Still PDF/A-3u (Unicode for every glyph, fonts embedded).
    xmp = PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Metadata"].get_object().get_data()
    assert re.search(rb"pdfaid:part(>|=\")3", xmp) and re.search(
        rb"pdfaid:conformance(>|=\")U", xmp
    )


def test_fonts_are_subset_to_the_glyphs_used(world):
    pdf = _portfolio_with(world, {"cjk": SCRIPTS["chinese"] + SCRIPTS["korean"]}, "de")
    cjk = [use for use in font_uses(pdf) if "Droid" in use.name or "Nanum" in use.name]
    assert len(cjk) >= 2
    for use in cjk:
        # Glyph ids are kept (the font program runs up to the last one used), but only
        # the glyphs shown, and the few the subsetter adds (.notdef, components), have
        # outlines: not the thousands of the font.
        assert use.outlines() <= 2 * len(use.shown) + 2


def test_a_character_no_font_has_is_reported(world):
    """The check itself: a private-use character (no font has one) is found as .notdef."""
    pdf = _portfolio_with(world, {"odd": "Zeichen \U000f0001 hier"}, "de")
    assert "\U000f0001" in {c for chars in missing_glyphs(pdf).values() for c in chars}
