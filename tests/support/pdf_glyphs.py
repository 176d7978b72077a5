"""Read which glyphs a PDF shows, per embedded font, to prove that nothing printed as
.notdef (glyph 0, the empty box of a missing character).

WeasyPrint writes text with Type 0 (CID) fonts, Identity-H encoded: every shown string
is a sequence of two-byte glyph ids. A character no font has is drawn either as glyph 0
or as an id beyond the embedded font's last glyph (WeasyPrint's placeholder for a
missing codepoint, drawn with the .notdef outline). `missing_glyphs(pdf)` finds both,
reading the content streams with pypdf and the embedded font programs with fontTools.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field

from fontTools.ttLib import TTFont
from pypdf import PdfReader
from pypdf.generic import ContentStream, IndirectObject


@dataclass
class FontUse:
    """One font of the document: its name, glyph count and the glyph ids shown with it."""

    name: str
    subtype: str
    glyph_count: int | None
    to_unicode: dict[int, str] = field(default_factory=dict)
    shown: set[int] = field(default_factory=set)

    @property
    def missing(self) -> set[int]:
        """Glyph 0 and ids the embedded font does not have."""
        if self.subtype != "/Type0":
            return set()
        bad = {0} & self.shown
        if self.glyph_count is not None:
            bad |= {g for g in self.shown if g >= self.glyph_count}
        return bad


def _resolve(obj):
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _font_program(descendant) -> bytes | None:
    descriptor = _resolve(descendant.get("/FontDescriptor"))
    if descriptor is None:
        return None
    for key in ("/FontFile2", "/FontFile3", "/FontFile"):
        if key in descriptor:
            return _resolve(descriptor[key]).get_data()
    return None


def _glyph_count(program: bytes | None) -> int | None:
    if not program:
        return None
    try:
        if program[:4] in (b"\x00\x01\x00\x00", b"OTTO", b"true"):
            return TTFont(io.BytesIO(program), lazy=True)["maxp"].numGlyphs
    except Exception:  # a bare CFF program (FontFile3/CIDFontType0C) has no maxp
        pass
    from fontTools.cffLib import CFFFontSet

    cff = CFFFontSet()
    cff.decompile(io.BytesIO(program), None)
    return len(cff[cff.fontNames[0]].charset)


def _to_unicode(font) -> dict[int, str]:
    """glyph id -> text, from the font's ToUnicode CMap (bfchar and bfrange entries)."""
    stream = _resolve(font.get("/ToUnicode"))
    if stream is None:
        return {}
    out: dict[int, str] = {}
    data = stream.get_data().decode("latin-1")
    for block in data.split("beginbfchar")[1:]:
        body = block.split("endbfchar")[0]
        for line in body.strip().splitlines():
            parts = line.replace("><", "> <").split()
            if len(parts) >= 2:
                out[int(parts[0].strip("<>"), 16)] = bytes.fromhex(parts[1].strip("<>")).decode(
                    "utf-16-be", "replace"
                )
    for block in data.split("beginbfrange")[1:]:
        body = block.split("endbfrange")[0]
        for line in body.strip().splitlines():
            parts = line.replace("><", "> <").split()
            if len(parts) >= 3 and not parts[2].startswith("["):
                lo, hi = int(parts[0].strip("<>"), 16), int(parts[1].strip("<>"), 16)
                start = bytes.fromhex(parts[2].strip("<>")).decode("utf-16-be", "replace")
                for i, gid in enumerate(range(lo, hi + 1)):
                    out[gid] = start[:-1] + chr(ord(start[-1]) + i)
    return out


def _describe(font) -> FontUse:
    subtype = str(font.get("/Subtype"))
    name = str(font.get("/BaseFont", font.get("/Name", "?")))
    count = None
    if subtype == "/Type0":
        descendant = _resolve(font["/DescendantFonts"][0])
        count = _glyph_count(_font_program(descendant))
    return FontUse(name, subtype, count, _to_unicode(font))


def _glyph_ids(operand) -> list[int]:
    data = bytes(operand.original_bytes if hasattr(operand, "original_bytes") else operand)
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data) - 1, 2)]


def _shown_strings(operator: bytes, operands) -> list:
    """The strings a text-showing operator draws (TJ mixes them with kerning numbers)."""
    if operator in (b"Tj", b"'", b'"'):
        return [operands[-1]]
    if operator == b"TJ":
        return [item for item in operands[0] if hasattr(item, "original_bytes")]
    return []


def _walk(content_owner, resources, fonts: dict[int, FontUse], reader) -> None:
    resources = _resolve(resources) or {}
    font_dict = _resolve(resources.get("/Font")) or {}
    xobjects = _resolve(resources.get("/XObject")) or {}
    data = content_owner.get_contents() if hasattr(content_owner, "get_contents") else None
    current: FontUse | None = None
    if data is None:
        data = content_owner
    for operands, operator in ContentStream(data, reader).operations:
        if operator == b"Tf":
            ref = font_dict[operands[0]]
            key = ref.idnum if isinstance(ref, IndirectObject) else id(ref)
            if key not in fonts:
                fonts[key] = _describe(_resolve(ref))
            current = fonts[key]
        elif operator == b"Do":
            xobject = _resolve(xobjects.get(operands[0]))
            if xobject is not None and xobject.get("/Subtype") == "/Form":
                _walk(xobject, xobject.get("/Resources", resources), fonts, reader)
        elif current is not None and current.subtype == "/Type0":
            for string in _shown_strings(operator, operands):
                current.shown.update(_glyph_ids(string))


def font_uses(pdf: bytes) -> list[FontUse]:
    """Every font the document shows text with, and which glyphs it shows."""
    reader = PdfReader(io.BytesIO(pdf))
    fonts: dict[int, FontUse] = {}
    for page in reader.pages:
        _walk(page, page.get("/Resources"), fonts, reader)
    return list(fonts.values())


def missing_glyphs(pdf: bytes) -> dict[str, list[str]]:
    """Font name -> the text behind every .notdef glyph shown with it (empty: none)."""
    found: dict[str, list[str]] = defaultdict(list)
    for use in font_uses(pdf):
        for gid in sorted(use.missing):
            found[use.name].append(use.to_unicode.get(gid, f"glyph {gid}"))
    return dict(found)
