"""Read the tag tree (structure elements) of a tagged PDF with pikepdf."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pikepdf


@dataclass
class Element:
    tag: str  # "P", "Figure", "TH", ...
    alt: str | None
    lang: str | None  # the element's own /Lang
    inherited_lang: str | None  # its own or the nearest ancestor's


def _text(value) -> str | None:
    return None if value is None else str(value)


def elements(pdf: bytes) -> list[Element]:
    """Every structure element in document order."""
    found: list[Element] = []
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        root = doc.Root.get("/StructTreeRoot")
        if root is None:
            return found
        doc_lang = _text(doc.Root.get("/Lang"))
        stack = [(root.get("/K"), doc_lang)]
        while stack:
            node, lang = stack.pop()
            if node is None:
                continue
            if isinstance(node, pikepdf.Array):
                stack.extend((child, lang) for child in reversed(list(node)))
                continue
            if not isinstance(node, pikepdf.Dictionary) or node.get("/Type") not in (
                None,
                pikepdf.Name.StructElem,
            ):
                continue
            if "/S" not in node:
                continue
            own = _text(node.get("/Lang"))
            inherited = own or lang
            found.append(Element(str(node.S)[1:], _text(node.get("/Alt")), own, inherited))
            stack.append((node.get("/K"), inherited))
    return found
