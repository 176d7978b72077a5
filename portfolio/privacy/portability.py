"""A pupil's portfolio as a ZIP with a documented JSON file (docs/portfolio-json.md).

`export_zip` writes `portfolio.json` and every uploaded file under `files/`; the
take-away package (portfolio.privacy.lifecycle) adds the PDF. `import_zip` restores such a ZIP
as a new pupil of another school, refusing anything it cannot trust: a wrong format or
version, file names that try to leave the archive, and files whose checksum differs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import unicodedata
import zipfile
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portfolio import accounts
from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.models import (
    Agreement,
    AgreementSignature,
    Audience,
    Comment,
    Document,
    Entry,
    EntryKind,
    GuidanceRecord,
    Role,
    School,
    User,
    utcnow,
)
from portfolio.storage import get_storage

FORMAT = "berufswahlpass-portfolio"
VERSION = 1
JSON_NAME = "portfolio.json"
PDF_NAME = "portfolio.pdf"
README_NAME = "README.txt"

#: Limits against archives that unpack to far more than they weigh.
MAX_MEMBERS = 2000
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
MAX_JSON_BYTES = 50 * 1024 * 1024
_FILE_MEMBER = re.compile(r"files/(\d{1,5})-([^/\\]{1,200})")


class PortabilityError(ValueError):
    """A clear, user-facing reason why a ZIP cannot be imported."""


# -- export --------------------------------------------------------------------------------
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


def export_data(
    pupil: User, *, guardians_only: bool = False
) -> tuple[dict[str, Any], list[tuple[str, Document]]]:
    """The portfolio as a JSON-ready dict, and the (zip path, document) pairs to add.

    With `guardians_only`, only what the pupil shared with guardians (the guardians'
    take-away package): the pupil decides who sees what, also on leaving.
    """

    def only_shared(query, model):
        return query.where(model.share_guardians.is_(True)) if guardians_only else query

    entries = list(
        db.session.scalars(
            only_shared(sa.select(Entry).where(Entry.pupil_id == pupil.id), Entry)
            .options(selectinload(Entry.comments).selectinload(Comment.author))
            .order_by(Entry.created_at, Entry.id)
        )
    )
    documents = list(
        db.session.scalars(
            only_shared(
                sa.select(Document).where(Document.pupil_id == pupil.id), Document
            ).order_by(Document.created_at, Document.id)
        )
    )
    agreements = list(
        db.session.scalars(
            only_shared(sa.select(Agreement).where(Agreement.pupil_id == pupil.id), Agreement)
            .options(selectinload(Agreement.signatures))
            .order_by(Agreement.number)
        )
    )
    guidance = list(
        db.session.scalars(
            only_shared(
                sa.select(GuidanceRecord).where(GuidanceRecord.pupil_id == pupil.id), GuidanceRecord
            )
            .options(selectinload(GuidanceRecord.author))
            .order_by(GuidanceRecord.held_on, GuidanceRecord.id)
        )
    )
    entry_ref = {e.id: f"e{n}" for n, e in enumerate(entries, start=1)}
    files: list[tuple[str, Document]] = []
    doc_items = []
    for n, doc in enumerate(documents, start=1):
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
    data = {
        "format": FORMAT,
        "version": VERSION,
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
        "entries": [
            {
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
            }
            for e in entries
        ],
        "documents": doc_items,
        "agreements": [
            {
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
                    {"role": s.role, "name": s.name, "signed_at": _iso(s.signed_at)}
                    for s in a.signatures
                ],
            }
            for a in agreements
        ],
        "guidance": [
            {
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
            for r in guidance
        ],
    }
    return data, files


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
    guardians_only: bool = False,
) -> dict[str, Any]:
    """Write the pupil's portfolio ZIP to `out`; returns the JSON data written."""
    data, files = export_data(pupil, guardians_only=guardians_only)
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


# -- reading and checking ------------------------------------------------------------------
def _check_member_name(name: str) -> None:
    if (
        name.startswith(("/", "\\"))
        or "\\" in name
        or ".." in name.split("/")
        or re.match(r"^[A-Za-z]:", name)
        or "\x00" in name
    ):
        raise PortabilityError(_("The ZIP contains an unsafe file name: %(name)s", name=name[:100]))
    if name in (JSON_NAME, PDF_NAME, README_NAME) or name in ("files/",):
        return
    if not _FILE_MEMBER.fullmatch(name):
        raise PortabilityError(_("The ZIP contains an unexpected file: %(name)s", name=name[:100]))


def read_zip(source: str | IO[bytes]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The checked JSON data and the files by path. Raises PortabilityError."""
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError):
        raise PortabilityError(_("This is not a ZIP file.")) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise PortabilityError(_("The ZIP contains too many files."))
        if sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
            raise PortabilityError(_("The ZIP is too large to import."))
        for info in infos:
            _check_member_name(info.filename)
        if JSON_NAME not in zf.namelist():
            raise PortabilityError(_("The ZIP contains no portfolio.json."))
        try:
            raw = _read_member(zf, JSON_NAME, MAX_JSON_BYTES)
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise PortabilityError(_("portfolio.json is not valid JSON.")) from None
        validate(data)
        files: dict[str, bytes] = {}
        for doc in data["documents"]:
            path = doc["path"]
            if path in files:
                raise PortabilityError(_("Two documents name the same file: %(path)s", path=path))
            if path not in zf.namelist():
                raise PortabilityError(_("The file %(path)s is missing from the ZIP.", path=path))
            content = _read_member(zf, path, MAX_TOTAL_BYTES)
            if hashlib.sha256(content).hexdigest() != doc["sha256"]:
                raise PortabilityError(
                    _(
                        "The file %(path)s does not match its checksum: it was changed or damaged.",
                        path=path,
                    )
                )
            files[path] = content
    return data, files


def _read_member(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    with zf.open(name) as fh:
        content = fh.read(limit + 1)
    if len(content) > limit:
        raise PortabilityError(_("The file %(path)s is too large.", path=name))
    return content


def _fail(where: str) -> PortabilityError:
    return PortabilityError(_("portfolio.json is incomplete or damaged at: %(where)s", where=where))


def _req(obj: Any, key: str, types: type | tuple[type, ...], where: str, *, null: bool = False):
    if not isinstance(obj, dict) or key not in obj:
        raise _fail(f"{where}.{key}")
    value = obj[key]
    if value is None and null:
        return None
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _tuple(types)):
        raise _fail(f"{where}.{key}")
    return value


def _tuple(types):
    return types if isinstance(types, tuple) else (types,)


def _date(obj, key, where, *, null=True) -> dt.date | None:
    value = _req(obj, key, str, where, null=null)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{where}.{key}") from None


def _time(obj, key, where, *, null=True) -> dt.datetime | None:
    value = _req(obj, key, str, where, null=null) if key in (obj or {}) or not null else None
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise _fail(f"{where}.{key}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def validate(data: Any) -> None:
    """Check format, version and the shape of every part (types, dates, references)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PortabilityError(_("This ZIP is not a Berufswahlpass portfolio export."))
    if data.get("version") != VERSION:
        raise PortabilityError(
            _(
                "This export has format version %(found)s; this installation "
                "reads version %(version)s.",
                found=str(data.get("version"))[:10],
                version=VERSION,
            )
        )
    _validate_pupil(_req(data, "pupil", dict, ""))
    refs = _validate_entries(_req(data, "entries", list, ""))
    _validate_documents(_req(data, "documents", list, ""), refs)
    _validate_agreements(_req(data, "agreements", list, ""))
    for i, r in enumerate(_req(data, "guidance", list, "")):
        where = f"guidance[{i}]"
        _date(r, "held_on", where, null=False)
        _req(r, "next_steps", list, where)


def _validate_pupil(pupil: dict) -> None:
    for key in ("first_name", "last_name"):
        if not _req(pupil, key, str, "pupil").strip():
            raise _fail(f"pupil.{key}")
    _date(pupil, "date_of_birth", "pupil")


def _validate_entries(entries: list) -> set[str]:
    """Check the entries; returns their references (unique, for the documents)."""
    refs: set[str] = set()
    kinds = {k.value for k in EntryKind}
    for i, e in enumerate(entries):
        where = f"entries[{i}]"
        ref = _req(e, "ref", str, where)
        if ref in refs:
            raise _fail(f"{where}.ref")
        refs.add(ref)
        if _req(e, "kind", str, where) not in kinds:
            raise _fail(f"{where}.kind")
        _req(e, "data", dict, where)
        _req(e, "share", dict, where)
        for key in ("created_at", "updated_at", "edited_at", "submitted_at", "reviewed_at"):
            _time(e, key, where)
        _date(e, "next_due_on", where)
        for j, c in enumerate(_req(e, "comments", list, where)):
            _req(c, "body", str, f"{where}.comments[{j}]")
    return refs


def _validate_documents(documents: list, refs: set[str]) -> None:
    for i, d in enumerate(documents):
        where = f"documents[{i}]"
        for key in ("filename", "mime_type", "path"):
            _req(d, key, str, where)
        sha = _req(d, "sha256", str, where)
        if not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise _fail(f"{where}.sha256")
        _check_member_name(d["path"])
        if not d["path"].startswith("files/"):
            raise _fail(f"{where}.path")
        if d.get("entry") is not None and d["entry"] not in refs:
            raise _fail(f"{where}.entry")


def _validate_agreements(agreements: list) -> None:
    for i, a in enumerate(agreements):
        where = f"agreements[{i}]"
        _req(a, "number", int, where)
        _req(a, "data", dict, where)
        for j, s in enumerate(_req(a, "signatures", list, where)):
            _req(s, "role", str, f"{where}.signatures[{j}]")
            _req(s, "name", str, f"{where}.signatures[{j}]")
            _time(s, "signed_at", f"{where}.signatures[{j}]", null=False)


# -- import --------------------------------------------------------------------------------
def import_zip(
    source: str | IO[bytes],
    school: School,
    *,
    class_name: str | None = None,
    actor: User | None = None,
) -> tuple[User, str]:
    """Create a new pupil in `school` from a portfolio ZIP. Returns (pupil, password).

    All or nothing: on any error the database is rolled back and stored files removed.
    """
    from portfolio.privacy import audit

    data, files = read_zip(source)
    storage = get_storage()
    saved: list[str] = []
    try:
        cls = accounts.get_class(school, class_name) if class_name else None
        p = data["pupil"]
        pupil, password = accounts.create_user(
            school,
            roles=[Role.PUPIL],
            first_name=p["first_name"][:100],
            last_name=p["last_name"][:100],
            date_of_birth=_date(p, "date_of_birth", "pupil"),
            gender=_opt(p, "gender", 10),
            email=_opt(p, "email", 255),
            locale=_opt(p, "locale", 10),
        )
        if cls is not None:
            accounts.put_in_class(pupil, cls)
        entry_ids: dict[str, int] = {}
        for e in data["entries"]:
            entry = _new_entry(school, pupil, e)
            db.session.add(entry)
            db.session.flush()
            entry_ids[e["ref"]] = entry.id
        for d in data["documents"]:
            content = files[d["path"]]
            key = storage.save(content)
            saved.append(key)
            share = d.get("share") or {}
            db.session.add(
                Document(
                    school_id=school.id,
                    pupil_id=pupil.id,
                    entry_id=entry_ids.get(d.get("entry")),
                    category=str(d.get("category") or "other")[:20],
                    title=str(d.get("title") or "")[:200],
                    filename=d["filename"][:200],
                    storage_key=key,
                    mime_type=d["mime_type"][:50],
                    size=len(content),
                    sha256=d["sha256"],
                    uploaded_by_id=pupil.id,
                    **shared_from(share),
                    created_at=_time(d, "created_at", "documents") or utcnow(),
                )
            )
        for a in data["agreements"]:
            _add_agreement(school, pupil, a)
        for r in data["guidance"]:
            _add_guidance(school, pupil, r, entry_ids)
        audit.record(
            actor,
            "import",
            pupil_id=pupil.id,
            school_id=school.id,
            details={"entries": len(entry_ids), "documents": len(saved)},
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        for key in saved:
            storage.delete(key)
        raise
    return pupil, password


def _opt(obj: dict[str, Any], key: str, limit: int) -> str | None:
    value = obj.get(key)
    return value[:limit] if isinstance(value, str) and value else None


def _new_entry(school: School, pupil: User, e: dict[str, Any]) -> Entry:
    share = e["share"]
    created = _time(e, "created_at", "entry") or utcnow()
    entry = Entry(
        school_id=school.id,
        pupil_id=pupil.id,
        kind=e["kind"],
        title=str(e.get("title") or "")[:200],
        grade=_opt(e, "grade", 2),
        data=e["data"],
        status=str(e.get("status") or "in_progress")[:12],
        review_state=str(e.get("review_state") or "none")[:12],
        **shared_from(share),
        next_due_on=_date(e, "next_due_on", "entry"),
        submitted_at=_time(e, "submitted_at", "entry"),
        reviewed_at=_time(e, "reviewed_at", "entry"),
        created_at=created,
        updated_at=_time(e, "updated_at", "entry") or created,
        edited_at=_time(e, "edited_at", "entry") or _time(e, "updated_at", "entry") or created,
    )
    for c in e["comments"]:
        entry.comments.append(
            Comment(
                school_id=school.id,
                author_id=None,
                body=c["body"],
                created_at=_time(c, "created_at", "comment") or utcnow(),
            )
        )
    return entry


def _add_agreement(school: School, pupil: User, a: dict[str, Any]) -> None:
    share = a.get("share") or {}
    created = _time(a, "created_at", "agreement") or utcnow()
    agreement = Agreement(
        school_id=school.id,
        pupil_id=pupil.id,
        number=a["number"],
        grade=_opt(a, "grade", 2),
        decision=_opt(a, "decision", 20),
        data=a["data"],
        share_guardians=bool(share.get("guardians", True)),
        share_counsellor=bool(share.get("counsellor")),
        locked_at=_time(a, "locked_at", "agreement"),
        created_at=created,
        updated_at=_time(a, "updated_at", "agreement") or created,
        edited_at=_time(a, "edited_at", "agreement")
        or _time(a, "updated_at", "agreement")
        or created,
    )
    for s in a["signatures"]:
        # Names and times as signed; the signers have no account in the new school.
        agreement.signatures.append(
            AgreementSignature(
                school_id=school.id,
                role=s["role"][:20],
                user_id=None,
                name=s["name"][:200],
                signed_at=_time(s, "signed_at", "signature"),
            )
        )
    db.session.add(agreement)


def _add_guidance(
    school: School, pupil: User, r: dict[str, Any], entry_ids: dict[str, int]
) -> None:
    steps = []
    for step in r["next_steps"]:
        if not isinstance(step, dict):
            raise _fail("guidance.next_steps")
        step = dict(step)
        goal = step.pop("goal_entry", None)
        if goal is not None:
            step["goal_entry_id"] = entry_ids.get(goal)
        steps.append(step)
    created = _time(r, "created_at", "guidance") or utcnow()
    db.session.add(
        GuidanceRecord(
            school_id=school.id,
            pupil_id=pupil.id,
            author_id=None,
            held_on=_date(r, "held_on", "guidance", null=False),
            participants=str(r.get("participants") or ""),
            topics=str(r.get("topics") or ""),
            next_steps=steps,
            pupil_notes=str(r.get("pupil_notes") or ""),
            share_guardians=bool(r.get("share_guardians")),
            share_counsellor=bool(r.get("share_counsellor")),
            created_at=created,
            updated_at=_time(r, "updated_at", "guidance") or created,
        )
    )
