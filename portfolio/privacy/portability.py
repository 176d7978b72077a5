"""A pupil's portfolio as a ZIP with a documented JSON file (docs/portfolio-json.md):
the take-away package. This module writes it and defines what both sides share (format,
scope, who made it, the errors of an import).

Export: `export_zip` writes `portfolio.json` and every uploaded file under `files/`; the
take-away package (portfolio.privacy.lifecycle) adds the PDF and a README. Every
package says what it holds (`scope`: the whole portfolio, or only what the pupil shared
with the family), who made it and when, and carries its own id.

Import: a package is a file from outside that anybody can edit, so nothing in it is
trusted. `package_check` opens and checks it (limits, shape, every file through the
upload check) and says what an import would bring (`preview`); `package_import` creates
the pupil, keeping outside signatures, comments and review states as imported history.
"""

from __future__ import annotations

import datetime as dt
import enum
import io
import json
import re
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.models import (
    Agreement,
    Audience,
    Comment,
    Document,
    Entry,
    GuidanceRecord,
    User,
    utcnow,
)
from portfolio.storage import get_storage

FORMAT = "berufswahlpass-portfolio"
VERSION = 2
#: Versions this installation reads (1: before packages said what they hold).
READABLE_VERSIONS = (1, 2)
JSON_NAME = "portfolio.json"
PDF_NAME = "portfolio.pdf"
README_NAME = "README.txt"


class Scope(enum.StrEnum):
    """What a package holds."""

    WHOLE = "whole-portfolio"
    FAMILY = "shared-with-family"  # only what the pupil shared with guardians


#: Who made a package.
MAKER_ROLES = ("pupil", "guardian", "school")


class PortabilityError(ValueError):
    """A clear, user-facing reason why a ZIP cannot be imported."""


class PartialPackage(PortabilityError):
    """The package holds only part of the portfolio and the importer did not accept that;
    `missing` says what it lacks."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(" ".join(missing))
        self.missing = missing


# -- export --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Maker:
    """Who made a package: the pupil, a guardian or the school (on leaving)."""

    role: str
    name: str


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def safe_member_name(filename: str) -> str:
    """A file name that is harmless inside a ZIP on every system."""
    name = unicodedata.normalize("NFC", filename or "").strip()
    name = re.sub(r"[^\w.\- ]+", "_", name).strip(" .") or "file"
    return name[:150]


def _share(obj, *audiences: str) -> dict[str, bool]:
    return {a: bool(getattr(obj, f"share_{a}")) for a in audiences}


#: The audiences of an entry's or document's "share" object (kinds.Audience values).
SHARE_KEYS = tuple(a.value for a in Audience)


def shared_from(share: dict[str, Any]) -> dict[str, bool]:
    """`share_<audience>` column values from a package's "share" object. Packages made
    before the class teacher and the StuBO were two audiences say "teachers" for both."""
    columns = {f"share_{key}": bool(share.get(key)) for key in SHARE_KEYS}
    if share.get("teachers"):
        columns["share_class_teacher"] = columns["share_stubo"] = True
    return columns


def _history_out(records) -> list[dict[str, Any]]:
    return [
        {
            "kind": r.kind,
            "role": r.role,
            "name": r.name,
            "body": r.body,
            "at": _iso(r.happened_at),
            "school": r.source_school,
        }
        for r in records
    ]


def _load(pupil: User, scope: Scope) -> dict[str, list]:
    """The pupil's rows for a package of this scope, in export order (fixed queries)."""

    def only(query, model):
        return query.where(model.share_guardians.is_(True)) if scope == Scope.FAMILY else query

    return {
        "entries": list(
            db.session.scalars(
                only(sa.select(Entry).where(Entry.pupil_id == pupil.id), Entry)
                .options(
                    selectinload(Entry.comments).selectinload(Comment.author),
                    selectinload(Entry.imported_history),
                )
                .order_by(Entry.created_at, Entry.id)
            )
        ),
        "documents": list(
            db.session.scalars(
                only(sa.select(Document).where(Document.pupil_id == pupil.id), Document).order_by(
                    Document.created_at, Document.id
                )
            )
        ),
        "agreements": list(
            db.session.scalars(
                only(sa.select(Agreement).where(Agreement.pupil_id == pupil.id), Agreement)
                .options(
                    selectinload(Agreement.signatures), selectinload(Agreement.imported_history)
                )
                .order_by(Agreement.number)
            )
        ),
        "guidance": list(
            db.session.scalars(
                only(
                    sa.select(GuidanceRecord).where(GuidanceRecord.pupil_id == pupil.id),
                    GuidanceRecord,
                )
                .options(selectinload(GuidanceRecord.author))
                .order_by(GuidanceRecord.held_on, GuidanceRecord.id)
            )
        ),
    }


def export_data(
    pupil: User, *, scope: Scope = Scope.WHOLE, made_by: Maker | None = None
) -> tuple[dict[str, Any], list[tuple[str, Document]]]:
    """The portfolio as a JSON-ready dict, and the (zip path, document) pairs to add.

    `Scope.FAMILY` holds only what the pupil shared with guardians (a guardian's
    package): the pupil decides who sees what, also on leaving.
    """
    rows = _load(pupil, scope)
    entry_ref = {e.id: f"e{n}" for n, e in enumerate(rows["entries"], start=1)}
    files: list[tuple[str, Document]] = []
    doc_items = []
    for n, doc in enumerate(rows["documents"], start=1):
        path = f"files/{n}-{safe_member_name(doc.filename)}"
        files.append((path, doc))
        doc_items.append(
            {
                "entry": entry_ref.get(doc.entry_id),
                "category": doc.category,
                "title": doc.title,
                "filename": doc.filename,
                "mime_type": doc.mime_type,
                "size": doc.size,
                "sha256": doc.sha256,
                "path": path,
                "share": _share(doc, *SHARE_KEYS),
                "created_at": _iso(doc.created_at),
            }
        )
    made_by = made_by or Maker("pupil", pupil.full_name)
    data = {
        "format": FORMAT,
        "version": VERSION,
        "package_id": str(uuid.uuid4()),
        "scope": scope.value,
        "made_by": {"role": made_by.role, "name": made_by.name},
        "exported_at": _iso(utcnow()),
        "source": {"school": pupil.school.name, "schulnummer": pupil.school.schulnummer},
        "pupil": {
            "first_name": pupil.first_name,
            "last_name": pupil.last_name,
            "date_of_birth": _iso(pupil.date_of_birth),
            "gender": pupil.gender,
            "email": pupil.email,
            "locale": pupil.locale,
            "status": pupil.status,
            "left_on": _iso(pupil.left_on),
        },
        "entries": [_entry_out(e, entry_ref) for e in rows["entries"]],
        "documents": doc_items,
        "agreements": [_agreement_out(a) for a in rows["agreements"]],
        "guidance": [_guidance_out(r, entry_ref) for r in rows["guidance"]],
    }
    return data, files


def _entry_out(e: Entry, entry_ref: dict[int, str]) -> dict[str, Any]:
    return {
        "ref": entry_ref[e.id],
        "kind": e.kind,
        "title": e.title,
        "grade": e.grade,
        "data": e.data or {},
        "status": e.status,
        "review_state": e.review_state,
        "share": _share(e, *SHARE_KEYS),
        "next_due_on": _iso(e.next_due_on),
        "submitted_at": _iso(e.submitted_at),
        "reviewed_at": _iso(e.reviewed_at),
        "created_at": _iso(e.created_at),
        "updated_at": _iso(e.updated_at),
        "edited_at": _iso(e.edited_at),
        "comments": [
            {
                "author": c.author.full_name if c.author else None,
                "body": c.body,
                "created_at": _iso(c.created_at),
            }
            for c in e.comments
        ],
        "history": _history_out(e.imported_history),
    }


def _agreement_out(a: Agreement) -> dict[str, Any]:
    return {
        "number": a.number,
        "grade": a.grade,
        "decision": a.decision,
        "data": a.data or {},
        "share": _share(a, "guardians", "counsellor"),
        "locked_at": _iso(a.locked_at),
        "created_at": _iso(a.created_at),
        "updated_at": _iso(a.updated_at),
        "edited_at": _iso(a.edited_at),
        "signatures": [
            {"role": s.role, "name": s.name, "signed_at": _iso(s.signed_at)} for s in a.signatures
        ],
        "history": _history_out(a.imported_history),
    }


def _guidance_out(r: GuidanceRecord, entry_ref: dict[int, str]) -> dict[str, Any]:
    return {
        "held_on": _iso(r.held_on),
        "author": r.author.full_name if r.author else None,
        "participants": r.participants,
        "topics": r.topics,
        "next_steps": [_step_out(s, entry_ref) for s in (r.next_steps or [])],
        "pupil_notes": r.pupil_notes,
        "share_guardians": r.share_guardians,
        "share_counsellor": r.share_counsellor,
        "created_at": _iso(r.created_at),
        "updated_at": _iso(r.updated_at),
    }


def _step_out(step: dict[str, Any], entry_ref: dict[int, str]) -> dict[str, Any]:
    step = dict(step)
    goal = step.pop("goal_entry_id", None)
    step["goal_entry"] = entry_ref.get(goal) if goal is not None else None
    return step


def export_zip(
    pupil: User,
    out: IO[bytes],
    *,
    pdf: bytes | None = None,
    readme: str | None = None,
    scope: Scope = Scope.WHOLE,
    made_by: Maker | None = None,
) -> dict[str, Any]:
    """Write the pupil's portfolio ZIP to `out`; returns the JSON data written."""
    data, files = export_data(pupil, scope=scope, made_by=made_by)
    storage = get_storage()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(JSON_NAME, json.dumps(data, ensure_ascii=False, indent=2))
        if pdf is not None:
            zf.writestr(PDF_NAME, pdf)
        if readme:
            zf.writestr(README_NAME, readme)
        for path, doc in files:
            try:
                zf.writestr(path, storage.read(doc.storage_key))
            except FileNotFoundError:
                # Keep going: the pupil gets everything that exists; the JSON still
                # lists the file with its checksum.
                continue
    return data


def export_bytes(pupil: User, **kwargs) -> bytes:
    buffer = io.BytesIO()
    export_zip(pupil, buffer, **kwargs)
    return buffer.getvalue()


def scope_statement(scope: Scope | str, pupil_name: str) -> str:
    """One sentence on what a package holds (README, PDF cover, import preview)."""
    if scope == Scope.FAMILY:
        return _(
            "This package holds only what %(name)s shared with the family, not the whole "
            "portfolio: entries, files, agreements and guidance records that were not "
            "shared with parents are not in it.",
            name=pupil_name,
        )
    return _("This package holds the whole portfolio of %(name)s.", name=pupil_name)
