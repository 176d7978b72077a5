"""An entry's content as labelled rows for read-only display (page, staff, guardians, PDF)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from portfolio.kinds import Field, Group, KindSpec
from portfolio.pupil.forms import field_choices
from portfolio.reference import SCALE, quality_name

SCALE_LABELS = dict(SCALE)


@dataclass
class Row:
    name: str
    label: str
    prompt: str | None
    #: text | long | date | list | ratings
    kind: str
    value: Any
    is_group: bool = False

    @property
    def empty(self) -> bool:
        return self.value in (None, "", [], {})


@dataclass
class GroupRows:
    name: str
    label: str
    items: list[tuple[str, list[Row]]] = field(default_factory=list)
    is_group: bool = True

    @property
    def empty(self) -> bool:
        return not self.items


def _row(f: Field, value, qualities) -> Row:
    label, prompt = str(f.label), str(f.prompt) if f.prompt else None
    if f.type == "ratings":
        value = value or {}
        rated = []
        for q in qualities:
            n = value.get(q.key)
            if n in SCALE_LABELS:
                rated.append((quality_name(q), str(SCALE_LABELS[n]), n))
        return Row(f.name, label, prompt, "ratings", rated)
    if f.type in ("choice", "yesno", "multichoice", "occupational_fields"):
        names = {k: str(v) for k, v in field_choices(f)}
        if isinstance(value, list):
            return Row(f.name, label, prompt, "list", [names.get(v, v) for v in value])
        return Row(f.name, label, prompt, "text", names.get(value, value) if value else "")
    if f.type == "date":
        try:
            parsed = dt.date.fromisoformat(value) if value else None
        except (TypeError, ValueError):
            parsed = None
        return Row(f.name, label, prompt, "date", parsed)
    if f.type == "textarea":
        return Row(f.name, label, prompt, "long", value or "")
    return Row(f.name, label, prompt, "text", "" if value is None else value)


def entry_rows(data: dict | Any, spec: KindSpec, qualities, only=None) -> list[Row | GroupRows]:
    """Labelled rows of an entry (or its `data`), in the order of the kind's fields."""
    if hasattr(data, "data"):
        data = data.data
    data = data or {}
    rows: list[Row | GroupRows] = []
    for item in spec.fields:
        if only is not None and item.name not in only:
            continue
        if isinstance(item, Group):
            group = GroupRows(item.name, str(item.label))
            for n, values in enumerate(data.get(item.name) or [], start=1):
                group.items.append(
                    (
                        str(item.item_label) % {"n": n},
                        [_row(f, values.get(f.name), qualities) for f in item.fields],
                    )
                )
            rows.append(group)
        else:
            rows.append(_row(item, data.get(item.name), qualities))
    return rows
