"""Helpers for the pupil portfolio tests: form data for every entry kind, a school's qualities,
lazy strings as pages show them."""

from __future__ import annotations

import sqlalchemy as sa

from portfolio.extensions import db
from portfolio.kinds import Field, Group, KindSpec, field_choices
from portfolio.models import Quality


def _value(f: Field, qualities, marker: str) -> dict[str, str | list[str]]:
    if f.type == "ratings":
        return {f"{f.name}-{q.key}": str(1 + i % 4) for i, q in enumerate(qualities)}
    if f.type == "date":
        return {f.name: "2026-03-02"}
    if f.type in ("choice", "yesno"):
        return {f.name: str(field_choices(f)[0][0])}
    if f.type in ("multichoice", "occupational_fields"):
        return {f.name: [str(c) for c, _l in field_choices(f)[:2]]}
    if f.type == "number":
        return {f.name: "3"}
    return {f.name: f"{marker} {f.name}"}


def form_for(spec: KindSpec, qualities, marker: str = "Text", version: int | str = "") -> dict:
    """POST data filling every field (and one item of each group) of the kind."""
    readonly = set(spec.extra.get("readonly_fields", ()))
    data: dict = {"version": str(version)}
    for item in spec.fields:
        if item.name in readonly:
            continue
        if isinstance(item, Group):
            for n in range(max(item.min_items, 1)):
                for f in item.fields:
                    for key, value in _value(f, qualities, marker).items():
                        data[f"{item.name}-{n}-{key}"] = value
        else:
            data.update(_value(item, qualities, marker))
    return data


def text(lazy) -> str:
    """A lazy translated string as the pages show it (default language)."""
    from flask import current_app

    with current_app.test_request_context():
        return str(lazy)


def qualities(school_id: int):
    return list(
        db.session.scalars(
            sa.select(Quality).where(Quality.school_id == school_id).order_by(Quality.position)
        )
    )
