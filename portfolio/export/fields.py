"""An entry's answers as rows to print: label, guiding prompt, value, from kinds.SPECS.

Values stay plain strings (escaped by the template); choices, dates, occupational
fields and ratings are turned into the viewer's language here.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from portfolio import reference
from portfolio.kinds import AGREEMENT_FIELDS, Field, Group, KindSpec
from portfolio.main.template_helpers import _date


def text_direction(value) -> str:
    """ "rtl" or "ltr" by the first strong character, as HTML's dir="auto" decides.

    WeasyPrint does not resolve dir="auto" itself, so the PDF templates set the result.
    """
    for char in str(value or ""):
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


@dataclass
class Row:
    label: str
    prompt: str | None
    type: str  # text | long | list | ratings | group
    value: object = None  # str | list[str] | list[tuple[str, str]] | list[Item]
    empty: bool = False
    user: bool = False  # the pupil's own words (printed as written, lang="de" dir="auto")


@dataclass
class Item:
    label: str
    rows: list[Row] = field(default_factory=list)


def _choice_label(f: Field, value) -> str:
    choices = dict(f.choices) if f.choices else dict(reference.OCCUPATIONAL_FIELDS)
    return str(choices.get(value, value))


def field_row(f: Field, value, quality_names: dict[str, str]) -> Row:
    """One field of an entry as a printable row."""
    label, prompt = str(f.label), str(f.prompt) if f.prompt else None
    empty = value in (None, "", [], {})
    if empty:
        return Row(label, prompt, "text", "", empty=True)
    if f.type == "ratings" and isinstance(value, dict):
        scale = dict(reference.SCALE)
        pairs = [
            (quality_names.get(k, k), str(scale.get(v, v)))
            for k, v in value.items()
            if k in quality_names or not quality_names
        ]
        return Row(label, prompt, "ratings", pairs)
    if f.type in ("occupational_fields", "multichoice"):
        items = value if isinstance(value, list) else [value]
        if f.type == "occupational_fields":
            return Row(label, prompt, "list", [str(reference.FIELD_NAMES.get(v, v)) for v in items])
        return Row(label, prompt, "list", [_choice_label(f, v) for v in items])
    if f.type in ("choice", "yesno"):
        return Row(label, prompt, "text", _choice_label(f, value))
    if f.type == "date":
        return Row(label, prompt, "text", _date(str(value)))
    if f.type == "textarea":
        return Row(label, prompt, "long", str(value), user=True)
    return Row(label, prompt, "text", str(value), user=f.type == "text")


def group_row(g: Group, items, quality_names: dict[str, str]) -> Row:
    items = [i for i in (items or []) if isinstance(i, dict) and any(i.values())]
    if not items:
        return Row(str(g.label), None, "group", [], empty=True)
    return Row(
        str(g.label),
        None,
        "group",
        [
            Item(
                str(g.item_label) % {"n": n},
                [field_row(f, item.get(f.name), quality_names) for f in g.fields],
            )
            for n, item in enumerate(items, start=1)
        ],
    )


def rows_for(
    fields: tuple[Field | Group, ...], data: dict, quality_names: dict[str, str]
) -> list[Row]:
    data = data if isinstance(data, dict) else {}
    rows = []
    for f in fields:
        if isinstance(f, Group):
            rows.append(group_row(f, data.get(f.name), quality_names))
        else:
            rows.append(field_row(f, data.get(f.name), quality_names))
    return rows


def entry_rows(spec: KindSpec, data: dict, quality_names: dict[str, str]) -> list[Row]:
    """The entry's fields in the order of its kind."""
    return rows_for(spec.fields, data, quality_names)


def agreement_rows(data: dict, quality_names: dict[str, str]) -> list[Row]:
    return rows_for(AGREEMENT_FIELDS, data, quality_names)
