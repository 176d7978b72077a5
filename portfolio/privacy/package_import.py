"""The import of a checked take-away package: a new pupil of this school with the
portfolio, in one transaction (docs/portfolio-json.md).

Entries and agreements are brought into the shape portfolio/kinds.py describes.
Signatures, locks, comments and review states in the package are kept as imported
history (`ImportedRecord`), never as this school's: agreements arrive unsigned and
unlocked, entries neither handed in nor reviewed. A partial package is imported only
when the importer accepts that; the same package is never imported twice into a school.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass
from typing import IO, Any

import sqlalchemy as sa

from portfolio import accounts, kinds, transaction
from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.models import (
    SINGLE_ENTRY_KINDS,
    Agreement,
    Document,
    Entry,
    EntryKind,
    EntryStatus,
    GuidanceRecord,
    HistoryKind,
    ImportedPackage,
    ImportedRecord,
    Role,
    School,
    TransitionDecision,
    User,
    utcnow,
)
from portfolio.privacy.package_check import (
    Package,
    _date,
    _fail,
    _time,
    open_package,
    refuse_duplicate,
)
from portfolio.privacy.portability import PartialPackage, PortabilityError, shared_from
from portfolio.storage import get_storage

#: The fields of a guidance record's next step in the JSON.
_STEP_FIELDS = (
    kinds.Field("text", "", "text", max_length=1000),
    kinds.Field("due_on", "", "date"),
    kinds.Field("goal_entry", "", "text"),
)


# -- import --------------------------------------------------------------------------------
@dataclass
class ImportResult:
    pupil: User
    password: str
    package: ImportedPackage
    refused: list[tuple[str, str]]  # (file name, reason) of files left out
    missing: list[str]  # what a partial package lacks
    stored_keys: list[str]  # files stored (to remove if the caller's commit fails)
    dropped_values: int = 0  # values of entries left out for their wrong type


def import_zip(
    source: str | IO[bytes],
    school: School,
    *,
    class_name: str | None = None,
    actor: User | None = None,
    accept_partial: bool = False,
) -> ImportResult:
    """Create a new pupil in `school` from a package (flushes; the caller commits; if the
    transaction rolls back instead, the stored files are removed).

    All or nothing: on any error the session is rolled back and stored files removed.
    A partial package (only what was shared with the family) raises PartialPackage
    unless `accept_partial`; the same package a second time raises PortabilityError.
    """
    from portfolio.privacy import audit

    storage = get_storage()
    saved: list[str] = []
    transaction.on_rollback(lambda: delete_files(saved))
    try:
        with open_package(source) as package:
            if package.partial and not accept_partial:
                raise PartialPackage(package.missing())
            refuse_duplicate(package, school)
            cls = accounts.get_class(school, class_name) if class_name else None
            writer = _Writer(package, school, actor)
            result = writer.run(cls, storage, saved)
        audit.record(
            actor,
            "import",
            pupil_id=result.pupil.id,
            school_id=school.id,
            details={
                "entries": len(writer.entry_ids),
                "documents": len(saved),
                "refused": len(result.refused),
                "scope": package.scope.value,
            },
        )
        db.session.flush()
    except sa.exc.IntegrityError:
        _undo(saved)
        # Two imports of the same package at the same moment: the unique key decides.
        raise PortabilityError(
            _("This package was already imported. It is not imported a second time.")
        ) from None
    except Exception:
        _undo(saved)
        raise
    return result


def _undo(saved: list[str]) -> None:
    db.session.rollback()
    delete_files(saved)


def delete_files(keys: list[str]) -> None:
    """Remove stored files of an import that did not happen."""
    storage = get_storage()
    for key in keys:
        with contextlib.suppress(OSError):
            storage.delete(key)


def _opt(obj: dict[str, Any], key: str, limit: int) -> str | None:
    value = obj.get(key)
    return value[:limit] if isinstance(value, str) and value else None


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


class _Writer:
    """The rows of one import, written in one transaction."""

    def __init__(self, package: Package, school: School, actor: User | None) -> None:
        self.package = package
        self.data = package.data
        self.school = school
        self.actor = actor
        self.source = _text((self.data.get("source") or {}).get("school"), 200)
        self.entry_ids: dict[str, int] = {}
        self.copies: Counter[str] = Counter()  # entries of each single-entry kind so far
        self.dropped = 0
        self.row: ImportedPackage | None = None
        self.pupil: User | None = None

    def run(self, cls, storage, saved: list[str]) -> ImportResult:
        p = self.data["pupil"]
        pupil, password = accounts.create_user(
            self.school,
            roles=[Role.PUPIL],
            first_name=p["first_name"].strip()[:100],
            last_name=p["last_name"].strip()[:100],
            date_of_birth=_date(p, "date_of_birth", "pupil"),
            gender=_opt(p, "gender", 10),
            email=_opt(p, "email", 255),
            locale=_opt(p, "locale", 10),
        )
        self.pupil = pupil
        if cls is not None:
            accounts.put_in_class(pupil, cls)
        self.row = self._package_row()
        for e in self.data["entries"]:
            self._entry(e)
        refused = self._documents(storage, saved)
        for a in self.data["agreements"]:
            self._agreement(a)
        for r in self.data["guidance"]:
            self._guidance(r)
        self.row.report = {
            "refused_files": [list(r) for r in refused],
            "dropped_values": self.dropped,
        }
        return ImportResult(
            pupil=pupil,
            password=password,
            package=self.row,
            refused=refused,
            missing=self.package.missing(),
            stored_keys=saved,
            dropped_values=self.dropped,
        )

    def _package_row(self) -> ImportedPackage:
        made = self.package.made_by
        exported = self.data.get("exported_at")
        try:
            exported_at = _time(self.data, "exported_at", "") if isinstance(exported, str) else None
        except PortabilityError:
            exported_at = None
        row = ImportedPackage(
            school_id=self.school.id,
            pupil_id=self.pupil.id,
            package_id=self.package.package_id,
            content_sha256=self.package.content_sha256,
            format_version=self.package.version,
            scope=self.package.scope.value,
            source_school=self.source,
            source_schulnummer=_opt(self.data.get("source") or {}, "schulnummer", 20),
            made_by_role=made.role if made else None,
            made_by_name=made.name[:200] if made else None,
            exported_at=exported_at,
            imported_by_id=self.actor.id if self.actor else None,
            report={},
        )
        db.session.add(row)
        db.session.flush()  # the unique keys decide here if the same package is imported twice
        return row

    def _record(self, kind: HistoryKind, **values) -> ImportedRecord:
        record = ImportedRecord(
            school_id=self.school.id,
            package_row_id=self.row.id,
            pupil_id=self.pupil.id,
            kind=kind.value,
            source_school=values.pop("source_school", self.source) or "",
            **values,
        )
        db.session.add(record)
        return record

    def _history(self, items: list[dict], **target) -> None:
        """History the package already carried (from an earlier import) stays history."""
        for h in items:
            self._record(
                HistoryKind(h["kind"]),
                role=_opt(h, "role", 20),
                name=_text(h.get("name"), 200),
                body=_text(h.get("body"), kinds.LONG_MAX),
                happened_at=_time(h, "at", "history"),
                source_school=_text(h.get("school"), 200) or self.source,
                **target,
            )

    def _entry(self, e: dict[str, Any]) -> None:
        data, dropped = kinds.coerce_entry_data(EntryKind(e["kind"]), e["data"])
        self.dropped += dropped
        share = e["share"]
        created = _time(e, "created_at", "entry") or utcnow()
        status = e.get("status") if e.get("status") in {s.value for s in EntryStatus} else None
        entry = Entry(
            school_id=self.school.id,
            pupil_id=self.pupil.id,
            kind=e["kind"],
            title=_text(e.get("title"), 200),
            grade=_opt(e, "grade", 2),
            data=data,
            status=status or EntryStatus.IN_PROGRESS.value,
            # Not handed in, not reviewed here: what happened elsewhere is history.
            **shared_from(share),
            next_due_on=_date(e, "next_due_on", "entry"),
            created_at=created,
            updated_at=_time(e, "updated_at", "entry") or created,
            edited_at=_time(e, "edited_at", "entry") or _time(e, "updated_at", "entry") or created,
        )
        if entry.kind in SINGLE_ENTRY_KINDS:
            # A package from before the one-entry rule may hold two: keep both.
            entry.copy_no = self.copies[entry.kind]
            self.copies[entry.kind] += 1
        db.session.add(entry)
        db.session.flush()
        self.entry_ids[e["ref"]] = entry.id
        state = e.get("review_state")
        if isinstance(state, str) and state not in ("", "none"):
            self._record(
                HistoryKind.REVIEW,
                entry_id=entry.id,
                role=state[:20],
                happened_at=_time(e, "reviewed_at", "entry") or _time(e, "submitted_at", "entry"),
            )
        for c in e["comments"]:
            self._record(
                HistoryKind.COMMENT,
                entry_id=entry.id,
                name=_text(c.get("author"), 200),
                body=c["body"][: kinds.LONG_MAX],
                happened_at=_time(c, "created_at", "comment"),
            )
        self._history(e.get("history") or [], entry_id=entry.id)

    def _documents(self, storage, saved: list[str]) -> list[tuple[str, str]]:
        refused: list[tuple[str, str]] = []
        documents = self.data["documents"]
        for check in self.package.check_files():
            if check.checked is None:
                refused.append((check.filename, check.reason or ""))
                continue
            d, checked = documents[check.index], check.checked
            key = storage.save(checked.data)
            saved.append(key)
            share = d.get("share") if isinstance(d.get("share"), dict) else {}
            db.session.add(
                Document(
                    school_id=self.school.id,
                    pupil_id=self.pupil.id,
                    entry_id=self.entry_ids.get(d.get("entry")),
                    category=_text(d.get("category"), 20) or "other",
                    title=_text(d.get("title"), 200),
                    filename=checked.filename,
                    storage_key=key,
                    mime_type=checked.mime_type,
                    size=checked.size,
                    sha256=checked.sha256,
                    uploaded_by_id=self.pupil.id,
                    **shared_from(share),
                    created_at=_time(d, "created_at", "documents") or utcnow(),
                )
            )
        return refused

    def _agreement(self, a: dict[str, Any]) -> None:
        share = a.get("share") if isinstance(a.get("share"), dict) else {}
        created = _time(a, "created_at", "agreement") or utcnow()
        data, dropped = kinds.coerce_agreement_data(a["data"])
        self.dropped += dropped
        decision = a.get("decision")
        agreement = Agreement(
            school_id=self.school.id,
            pupil_id=self.pupil.id,
            number=a["number"],
            grade=_opt(a, "grade", 2),
            decision=decision if decision in {d.value for d in TransitionDecision} else None,
            data=data,
            share_guardians=bool(share.get("guardians", True)),
            share_counsellor=bool(share.get("counsellor")),
            # Never locked here: signed elsewhere is not signed at this school.
            locked_at=None,
            created_at=created,
            updated_at=_time(a, "updated_at", "agreement") or created,
            edited_at=_time(a, "edited_at", "agreement")
            or _time(a, "updated_at", "agreement")
            or created,
        )
        db.session.add(agreement)
        db.session.flush()
        for s in a["signatures"]:
            self._record(
                HistoryKind.SIGNATURE,
                agreement_id=agreement.id,
                role=s["role"][:20],
                name=s["name"][:200],
                happened_at=_time(s, "signed_at", "signature"),
            )
        if a.get("locked_at"):
            self._record(
                HistoryKind.LOCKED,
                agreement_id=agreement.id,
                happened_at=_time(a, "locked_at", "agreement"),
            )
        self._history(a.get("history") or [], agreement_id=agreement.id)

    def _step(self, step: Any) -> dict[str, Any]:
        """A guidance record's next step: text, date, goal; other short plain values kept."""
        if not isinstance(step, dict):
            raise _fail("guidance.next_steps")
        clean, dropped = kinds.coerce_data(_STEP_FIELDS, step)
        self.dropped += dropped
        goal = clean.pop("goal_entry", None)
        clean["goal_entry_id"] = self.entry_ids.get(goal) if isinstance(goal, str) else None
        return clean

    def _guidance(self, r: dict[str, Any]) -> None:
        steps = [self._step(step) for step in r["next_steps"]]
        created = _time(r, "created_at", "guidance") or utcnow()
        db.session.add(
            GuidanceRecord(
                school_id=self.school.id,
                pupil_id=self.pupil.id,
                author_id=None,
                held_on=_date(r, "held_on", "guidance", null=False),
                participants=_text(r.get("participants"), kinds.LONG_MAX),
                topics=_text(r.get("topics"), kinds.LONG_MAX),
                next_steps=steps,
                pupil_notes=_text(r.get("pupil_notes"), kinds.LONG_MAX),
                share_guardians=bool(r.get("share_guardians")),
                share_counsellor=bool(r.get("share_counsellor")),
                created_at=created,
                updated_at=_time(r, "updated_at", "guidance") or created,
            )
        )
