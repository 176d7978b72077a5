"""Read the tag tree (structure elements) of a tagged PDF with pikepdf."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pikepdf


@dataclass
class Element:
    tag: str  # "P", "Figure", "TH", ...
    alt: str | None
    lang: str | None  # the element's own /Lang
    inherited_lang: str | None  # its own or the nearest ancestor's
    descendants: set[str] = field(default_factory=set)  # tags below it


def _text(value) -> str | None:
    return None if value is None else str(value)


def _walk(node, lang, found: list[Element], depth: int = 0) -> set[str]:
    """Append the elements of `node` in document order; return the tags found in it."""
    if node is None or depth > 200:
        return set()
    if isinstance(node, pikepdf.Array):
        tags: set[str] = set()
        for child in node:
            tags |= _walk(child, lang, found, depth + 1)
        return tags
    if not isinstance(node, pikepdf.Dictionary) or "/S" not in node:
        return set()
    if node.get("/Type") not in (None, pikepdf.Name.StructElem):
        return set()
    own = _text(node.get("/Lang"))
    element = Element(str(node.S)[1:], _text(node.get("/Alt")), own, own or lang)
    found.append(element)
    element.descendants = _walk(node.get("/K"), own or lang, found, depth + 1)
    return element.descendants | {element.tag}


def elements(pdf: bytes) -> list[Element]:
    """Every structure element in document order."""
    found: list[Element] = []
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        root = doc.Root.get("/StructTreeRoot")
        if root is not None:
            _walk(root.get("/K"), _text(doc.Root.get("/Lang")), found)
    return found
