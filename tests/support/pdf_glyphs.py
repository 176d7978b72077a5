"""Read the glyphs a PDF shows, per embedded font: was anything printed as .notdef (the
empty box of a missing character), is Arabic joined, are fonts subset?

WeasyPrint writes text with Type 0 (CID) fonts, Identity-H encoded: every shown string
is a sequence of two-byte glyph ids, in visual order, and the glyph ids are those of the
original font (it subsets with "retain glyph ids"). A character no font has is drawn
either as glyph 0 or as an id beyond the embedded font's last glyph (WeasyPrint's
placeholder for a missing codepoint, drawn with the .notdef outline); `missing_glyphs`
finds both. The content streams are read with pypdf, the embedded fonts with fontTools.
"""

from __future__ import annotations

import io
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from fontTools.ttLib import TTFont
from pypdf import PdfReader
from pypdf.generic import ContentStream, IndirectObject


@dataclass(eq=False)
class FontUse:
    """One font of the document: its name, program, ToUnicode map and the glyphs shown."""

    name: str
    subtype: str
    program: bytes | None
    to_unicode: dict[int, str] = field(default_factory=dict)
    shown: set[int] = field(default_factory=set)

    @cached_property
    def font(self) -> TTFont | None:
        if not self.program or self.program[:4] not in (b"\x00\x01\x00\x00", b"OTTO", b"true"):
            return None
        return TTFont(io.BytesIO(self.program))

    @property
    def glyph_count(self) -> int | None:
        return self.font["maxp"].numGlyphs if self.font is not None else None

    @property
    def missing(self) -> set[int]:
        """Glyph 0 and ids the embedded font does not have."""
        if self.subtype != "/Type0":
            return set()
        bad = {0} & self.shown
        if self.glyph_count is not None:
            bad |= {g for g in self.shown if g >= self.glyph_count}
        return bad

    def outlines(self) -> int:
        """How many glyphs of the embedded program have an outline (subsetting keeps the
        ids of unused glyphs, but empties them)."""
        font = self.font
        if font is None:
            return 0
        if "glyf" in font:
            glyf = font["glyf"]
            return sum(1 for name in font.getGlyphOrder() if glyf[name].numberOfContours != 0)
        charstrings = font["CFF "].cff.topDictIndex[0].CharStrings
        count = 0
        for name in font.getGlyphOrder():
            charstring = charstrings[name]
            charstring.decompile()
            if any(
                op not in ("endchar", "hsbw") and isinstance(op, str) for op in charstring.program
            ):
                count += 1
        return count

    @cached_property
    def forms(self) -> dict[int, str]:
        """glyph id -> "isolated" | "initial" | "medial" | "final" for Arabic glyphs, read
        from the embedded cmap: the presentation-form code point (U+FE70...) a glyph has
        there names its form; a glyph mapped only from the base letter is its isolated
        (nominal) form."""
        font = self.font
        if font is None or "cmap" not in font:
            return {}
        forms: dict[int, str] = {}
        order = {name: gid for gid, name in enumerate(font.getGlyphOrder())}
        for code, name in font.getBestCmap().items():
            gid = order[name]
            if 0xFB50 <= code <= 0xFDFF or 0xFE70 <= code <= 0xFEFF:
                uname = unicodedata.name(chr(code), "")
                for form in ("isolated", "initial", "medial", "final"):
                    if f"{form.upper()} FORM" in uname:
                        forms[gid] = form
            elif _is_letter(chr(code)):
                forms.setdefault(gid, "isolated")
        return forms


@dataclass
class Run:
    """One text-showing operation: its font and glyph ids in visual (drawing) order."""

    font: FontUse
    gids: list[int]

    @property
    def text(self) -> str:
        """The text in drawing order (left to right on the page)."""
        return "".join(self.font.to_unicode.get(g, "\ufffd") for g in self.gids)

    @property
    def logical_text(self) -> str:
        """The text of a right-to-left run in reading order (glyphs reversed, the text of
        each glyph, such as the lam-alef ligature, kept as it is)."""
        return "".join(self.font.to_unicode.get(g, "\ufffd") for g in reversed(self.gids))


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


def _to_unicode(font) -> dict[int, str]:
    """glyph id -> text, from the font's ToUnicode CMap (bfchar and bfrange entries)."""
    stream = _resolve(font.get("/ToUnicode"))
    if stream is None:
        return {}
    out: dict[int, str] = {}
    data = stream.get_data().decode("latin-1")

    def text(hexa: str) -> str:
        return bytes.fromhex(hexa.strip("<>")).decode("utf-16-be", "replace")

    for block in data.split("beginbfchar")[1:]:
        for line in block.split("endbfchar")[0].strip().splitlines():
            parts = line.replace("><", "> <").split()
            if len(parts) >= 2:
                out[int(parts[0].strip("<>"), 16)] = text(parts[1])
    for block in data.split("beginbfrange")[1:]:
        for line in block.split("endbfrange")[0].strip().splitlines():
            parts = line.replace("><", "> <").split()
            if len(parts) >= 3 and not parts[2].startswith("["):
                lo, hi = int(parts[0].strip("<>"), 16), int(parts[1].strip("<>"), 16)
                start = text(parts[2])
                for i, gid in enumerate(range(lo, hi + 1)):
                    out[gid] = start[:-1] + chr(ord(start[-1]) + i)
    return out


def _describe(font) -> FontUse:
    subtype = str(font.get("/Subtype"))
    name = str(font.get("/BaseFont", font.get("/Name", "?")))
    program = None
    if subtype == "/Type0":
        program = _font_program(_resolve(font["/DescendantFonts"][0]))
    return FontUse(name, subtype, program, _to_unicode(font))


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


def _walk(owner, resources, fonts: dict[int, FontUse], reader, runs: list[Run]) -> None:
    """Collect fonts and runs: a run is what one text object (BT ... ET) shows with one
    font; WeasyPrint writes one per line of a text box, split where a mark is raised."""
    resources = _resolve(resources) or {}
    font_dict = _resolve(resources.get("/Font")) or {}
    xobjects = _resolve(resources.get("/XObject")) or {}
    data = owner.get_contents() if hasattr(owner, "get_contents") else owner
    current: FontUse | None = None
    run: Run | None = None
    for operands, operator in ContentStream(data, reader).operations:
        if operator == b"Tf":
            ref = font_dict[operands[0]]
            key = ref.idnum if isinstance(ref, IndirectObject) else id(ref)
            if key not in fonts:
                fonts[key] = _describe(_resolve(ref))
            current, run = fonts[key], None
        elif operator in (b"BT", b"ET"):
            run = None
        elif operator == b"Do":
            xobject = _resolve(xobjects.get(operands[0]))
            if xobject is not None and xobject.get("/Subtype") == "/Form":
                _walk(xobject, xobject.get("/Resources", resources), fonts, reader, runs)
        elif current is not None and current.subtype == "/Type0":
            gids = [g for s in _shown_strings(operator, operands) for g in _glyph_ids(s)]
            if not gids:
                continue
            current.shown.update(gids)
            if run is None:
                run = Run(current, [])
                runs.append(run)
            run.gids.extend(gids)


def read(pdf: bytes, pages: range | None = None) -> tuple[list[FontUse], list[Run]]:
    """Every font the document (or the given pages) shows text with, and every text run."""
    reader = PdfReader(io.BytesIO(pdf))
    fonts: dict[int, FontUse] = {}
    runs: list[Run] = []
    for index in pages if pages is not None else range(len(reader.pages)):
        page = reader.pages[index]
        _walk(page, page.get("/Resources"), fonts, reader, runs)
    return list(fonts.values()), runs


def font_uses(pdf: bytes) -> list[FontUse]:
    return read(pdf)[0]


def missing_glyphs(pdf: bytes) -> dict[str, list[str]]:
    """Font name -> the text behind every .notdef glyph shown with it (empty: none)."""
    found: dict[str, list[str]] = defaultdict(list)
    for use in font_uses(pdf):
        for gid in sorted(use.missing):
            found[use.name].append(use.to_unicode.get(gid, f"glyph {gid}"))
    return dict(found)


# -- Arabic joining ----------------------------------------------------------------------
#: Letters that join only to the letter before them (Unicode joining type R) and the
#: hamza, which joins to none (U). All other Arabic letters join on both sides (D).
RIGHT_JOINING = set("آأؤإاةدذرزو")
NON_JOINING = set("ء")


def _is_letter(char: str) -> bool:
    return "\u0620" <= char <= "\u064a" and unicodedata.category(char) == "Lo"


_FORMS = {
    (False, False): "isolated",
    (False, True): "initial",
    (True, True): "medial",
    (True, False): "final",
}


def joins(text: str) -> list[tuple[str, bool, bool]]:
    """(letter, joins the letter before, joins the letter after) per Arabic letter of
    `text` in reading order, by the Arabic joining rules (vowel marks are transparent)."""
    chars = [c for c in text if unicodedata.category(c) != "Mn"]
    out = []
    for i, char in enumerate(chars):
        if not _is_letter(char):
            continue
        before = chars[i - 1] if i else " "
        after = chars[i + 1] if i + 1 < len(chars) else " "
        out.append(
            (
                char,
                _is_letter(before)
                and before not in RIGHT_JOINING | NON_JOINING
                and char not in NON_JOINING,
                char not in RIGHT_JOINING | NON_JOINING
                and _is_letter(after)
                and after not in NON_JOINING,
            )
        )
    return out


def joining_errors(run: Run, text: str) -> list[str]:
    """Where the glyphs of a right-to-left run are not in the form `text` wants: each
    glyph (a ligature covers several letters) must join on the side its first letter
    joins before and its last letter joins after. Empty: shaped correctly."""
    wanted = joins(text)
    errors = []
    position = 0
    for gid in reversed(run.gids):
        letters = "".join(c for c in run.font.to_unicode.get(gid, "") if _is_letter(c))
        if gid not in run.font.forms or not letters:
            continue  # spaces, vowel marks
        covered = wanted[position : position + len(letters)]
        position += len(letters)
        if "".join(c for c, _b, _a in covered) != letters:
            return errors + [f"glyph {gid} is {letters!r}, the text has {covered!r} there"]
        form = _FORMS[(covered[0][1], covered[-1][2])]
        if run.font.forms[gid] != form:
            errors.append(f"{letters!r}: {run.font.forms[gid]}, should be {form}")
    if position != len(wanted):
        errors.append(f"{len(wanted) - position} letters not drawn")
    return errors
