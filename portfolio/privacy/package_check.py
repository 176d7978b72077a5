"""A take-away package from outside, opened and checked before anything is imported
(docs/portfolio-json.md, SECURITY.md "Imports").

`open_package` checks the archive before anything is unpacked (names, number of files,
unpacked size), reads members in bounded chunks, refuses JSON that is too large or too
deeply nested, then checks the JSON's shape (`validate`). `Package.check_files` puts
every file through the same content check as an upload
(`documents.uploads.check_upload`); a file it refuses is left out and named with the
reason. `preview` says what an import would bring; `refuse_duplicate` refuses a package
that was imported into the school before.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import IO, Any

import sqlalchemy as sa
from flask import current_app, has_app_context

from portfolio.documents import uploads
from portfolio.documents.uploads import CheckedFile, UploadError, check_upload, too_large_message
from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.models import EntryKind, HistoryKind, ImportedPackage, Role, School, User, UserRole
from portfolio.privacy.portability import (
    FORMAT,
    JSON_NAME,
    MAKER_ROLES,
    PDF_NAME,
    READABLE_VERSIONS,
    README_NAME,
    Maker,
    PortabilityError,
    Scope,
    scope_statement,
)

#: Limits against archives and files built to exhaust memory, disk or time. Each can be
#: set in the app's configuration under the same name.
IMPORT_MAX_FILES = 500
IMPORT_MAX_EXPANDED_BYTES = 400 * 1024 * 1024
IMPORT_MAX_JSON_BYTES = 20 * 1024 * 1024
IMPORT_MAX_JSON_DEPTH = 32
#: Rows one package may bring (a busy portfolio of five years has a few hundred).
MAX_ITEMS = {"entries": 2000, "documents": 500, "agreements": 50, "guidance": 500}
MAX_COMMENTS = 200
MAX_HISTORY = 200
CHUNK = 64 * 1024
#: The fields of a guidance record's next step in the JSON.
_FILE_MEMBER = re.compile(r"files/(\d{1,5})-([^/\\]{1,200})")
_PACKAGE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
#: Errors the zipfile module raises for damaged or hostile archives.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    RuntimeError,
    NotImplementedError,
    ValueError,
    zlib.error,
)


def _limit(name: str) -> int:
    default = globals()[name]
    if has_app_context():
        return int(current_app.config.get(name) or default)
    return default


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


def _megabytes(size: int) -> int:
    return round(size / (1024 * 1024))


#: Fields of the package itself, not of the portfolio: left out of its fingerprint.
_PACKAGE_FIELDS = frozenset({"package_id", "exported_at", "made_by"})


def content_fingerprint(data: dict[str, Any]) -> str:
    """SHA-256 of the portfolio a package holds, whoever made it and whenever: the same
    portfolio exported twice, or with its package id changed, has the same fingerprint."""
    content = {k: v for k, v in data.items() if k not in _PACKAGE_FIELDS}
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _holds_nul(data: Any) -> bool:
    """Whether a text or a key anywhere in the JSON contains U+0000 (walked without recursion)."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
    return False


def json_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text, found without recursion."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


@dataclass
class FileCheck:
    """One document of the package after the content check."""

    index: int
    path: str
    filename: str
    title: str
    checked: CheckedFile | None = None
    reason: str | None = None  # why the file was refused


class Package:
    """An opened package whose archive and JSON have been checked; its files are checked
    one at a time (`check_files`), so that memory holds one file, not all of them."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.infos: dict[str, zipfile.ZipInfo] = {}
        self.data: dict[str, Any] = {}
        self.content_sha256 = ""
        self.read_bytes = 0
        self._check_archive()
        self._read_json()
        self.version: int = self.data["version"]
        self.scope, self.scope_inferred = _scope_of(self.data)

    # -- the archive ------------------------------------------------------------------
    def _check_archive(self) -> None:
        infos = self.zf.infolist()
        max_files = _limit("IMPORT_MAX_FILES")
        if len(infos) > max_files:
            raise PortabilityError(
                _(
                    "The ZIP contains too many files (%(count)d); at most %(max)d can be imported.",
                    count=len(infos),
                    max=max_files,
                )
            )
        for info in infos:
            _check_member_name(info.filename)
            if info.filename in self.infos:
                raise PortabilityError(
                    _("The ZIP contains the file %(name)s twice.", name=info.filename[:100])
                )
            if info.flag_bits & 0x1:
                raise PortabilityError(_("The ZIP is protected with a password."))
            self.infos[info.filename] = info
        # Decided from the archive's index, before a single byte is unpacked.
        expanded = sum(i.file_size for i in infos if i.filename not in (PDF_NAME, README_NAME))
        max_expanded = _limit("IMPORT_MAX_EXPANDED_BYTES")
        if expanded > max_expanded:
            raise PortabilityError(
                _(
                    "The ZIP would unpack to %(size)d MB; at most %(max)d MB can be imported.",
                    size=_megabytes(expanded),
                    max=_megabytes(max_expanded),
                )
            )
        if JSON_NAME not in self.infos:
            raise PortabilityError(_("The ZIP contains no portfolio.json."))

    def read_member(self, name: str, limit: int) -> bytes:
        """A member's bytes, read in chunks; PortabilityError past `limit` or when the
        member is damaged (its size or checksum differs from the archive's index)."""
        info = self.infos[name]
        if info.file_size > limit:
            raise PortabilityError(_("The file %(path)s is too large.", path=name))
        out = bytearray()
        try:
            with self.zf.open(info) as fh:
                while chunk := fh.read(CHUNK):
                    out += chunk
                    self.read_bytes += len(chunk)
                    if len(out) > limit or self.read_bytes > _limit("IMPORT_MAX_EXPANDED_BYTES"):
                        raise PortabilityError(_("The file %(path)s is too large.", path=name))
        except _ZIP_ERRORS:
            raise PortabilityError(
                _("The file %(path)s in the ZIP is damaged.", path=name)
            ) from None
        return bytes(out)

    # -- the JSON ---------------------------------------------------------------------
    def _read_json(self) -> None:
        max_bytes = _limit("IMPORT_MAX_JSON_BYTES")
        if self.infos[JSON_NAME].file_size > max_bytes:
            raise PortabilityError(
                _(
                    "portfolio.json is too large (at most %(max)d MB).",
                    max=_megabytes(max_bytes),
                )
            )
        raw = self.read_member(JSON_NAME, max_bytes)
        if json_depth(raw) > _limit("IMPORT_MAX_JSON_DEPTH"):
            raise PortabilityError(_("portfolio.json is nested too deeply to be a portfolio."))
        try:
            data = json.loads(raw.decode("utf-8-sig"))
        except RecursionError:  # the depth check above should have caught it
            raise PortabilityError(
                _("portfolio.json is nested too deeply to be a portfolio.")
            ) from None
        except (UnicodeDecodeError, ValueError):
            raise PortabilityError(_("portfolio.json is not valid JSON.")) from None
        if _holds_nul(data):
            # No form accepts it, and the database cannot store it (JSONB, text columns).
            raise PortabilityError(_("portfolio.json contains a character that is not allowed."))
        validate(data)
        self.content_sha256 = content_fingerprint(data)
        for d in data["documents"]:
            if d["path"] not in self.infos:
                raise PortabilityError(
                    _("The file %(path)s is missing from the ZIP.", path=d["path"])
                )
        self.data = data

    # -- what it holds ----------------------------------------------------------------
    @property
    def package_id(self) -> str | None:
        return self.data.get("package_id")

    @property
    def partial(self) -> bool:
        return self.scope != Scope.WHOLE

    @property
    def made_by(self) -> Maker | None:
        made = self.data.get("made_by")
        return Maker(made["role"], made["name"]) if isinstance(made, dict) else None

    @property
    def pupil_name(self) -> str:
        p = self.data["pupil"]
        return f"{p['first_name']} {p['last_name']}".strip()

    def missing(self) -> list[str]:
        """What a partial package lacks, in words for the importer."""
        if not self.partial:
            return []
        lines = [scope_statement(self.scope, self.pupil_name)]
        if self.scope_inferred:
            lines.append(
                _(
                    "This package has format version 1, which does not say what it holds. "
                    "Everything in it is shared with the family, so it is most likely a "
                    "parent's package."
                )
            )
        return lines

    def check_files(self) -> Iterator[FileCheck]:
        """Each document's file: checksum, then the content check of uploads."""
        max_bytes = _limit_upload()
        for i, d in enumerate(self.data["documents"]):
            check = FileCheck(i, d["path"], d["filename"], str(d.get("title") or ""))
            if self.infos[d["path"]].file_size > max_bytes:
                check.reason = str(too_large_message(max_bytes))
                yield check
                continue
            content = self.read_member(d["path"], max_bytes)
            if hashlib.sha256(content).hexdigest() != d["sha256"]:
                raise PortabilityError(
                    _(
                        "The file %(path)s does not match its checksum: it was changed or damaged.",
                        path=d["path"],
                    )
                )
            try:
                check.checked = check_upload(content, d["filename"])
            except UploadError as error:
                check.reason = str(error.message)
            yield check


def _limit_upload() -> int:
    return uploads._setting("MAX_UPLOAD_BYTES")


def _scope_of(data: dict[str, Any]) -> tuple[Scope, bool]:
    """The package's scope, and whether it had to be inferred (version 1 says nothing:
    a package in which everything is shared with the family is taken for a parent's)."""
    if data["version"] >= 2:
        return Scope(data["scope"]), False
    items = [*data["entries"], *data["documents"], *data["agreements"]]
    shared = all((item.get("share") or {}).get("guardians") for item in items) and all(
        r.get("share_guardians") for r in data["guidance"]
    )
    if (items or data["guidance"]) and shared:
        return Scope.FAMILY, True
    return Scope.WHOLE, True


@contextlib.contextmanager
def open_package(source: str | IO[bytes]) -> Iterator[Package]:
    """The checked package; PortabilityError with the reason when it cannot be read."""
    try:
        zf = zipfile.ZipFile(source)
    except _ZIP_ERRORS:
        raise PortabilityError(_("This is not a ZIP file.")) from None
    with zf:
        yield Package(zf)


def read_zip(source: str | IO[bytes]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The checked JSON data and the accepted files (bytes as they would be stored) by
    path. Raises PortabilityError. (For tools and tests; imports use `open_package`.)"""
    with open_package(source) as package:
        files = {c.path: c.checked.data for c in package.check_files() if c.checked}
        return package.data, files


# -- the JSON's shape ----------------------------------------------------------------------
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


def _list(obj, key: str, where: str, limit: int) -> list:
    items = _req(obj, key, list, where)
    if len(items) > limit:
        raise PortabilityError(
            _(
                "portfolio.json holds too many items at %(where)s (at most %(max)d).",
                where=f"{where}.{key}".lstrip("."),
                max=limit,
            )
        )
    return items


def validate(data: Any) -> None:
    """Check format, version and the shape of every part (types, dates, references)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PortabilityError(_("This ZIP is not a Berufswahlpass portfolio export."))
    version = data.get("version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise PortabilityError(
            _(
                "This export has format version %(found)s; this installation "
                "reads versions %(versions)s.",
                found=str(version)[:10],
                versions=", ".join(str(v) for v in READABLE_VERSIONS),
            )
        )
    if version >= 2:
        _validate_package(data)
    _validate_pupil(_req(data, "pupil", dict, ""))
    refs = _validate_entries(_list(data, "entries", "", MAX_ITEMS["entries"]))
    _validate_documents(_list(data, "documents", "", MAX_ITEMS["documents"]), refs)
    _validate_agreements(_list(data, "agreements", "", MAX_ITEMS["agreements"]))
    for i, r in enumerate(_list(data, "guidance", "", MAX_ITEMS["guidance"])):
        where = f"guidance[{i}]"
        _date(r, "held_on", where, null=False)
        _list(r, "next_steps", where, 100)


def _validate_package(data: dict) -> None:
    if _req(data, "scope", str, "") not in {s.value for s in Scope}:
        raise _fail("scope")
    if not _PACKAGE_ID.fullmatch(_req(data, "package_id", str, "")):
        raise _fail("package_id")
    made = _req(data, "made_by", dict, "")
    if _req(made, "role", str, "made_by") not in MAKER_ROLES:
        raise _fail("made_by.role")
    _req(made, "name", str, "made_by")


def _validate_pupil(pupil: dict) -> None:
    for key in ("first_name", "last_name"):
        if not _req(pupil, key, str, "pupil").strip():
            raise _fail(f"pupil.{key}")
    _date(pupil, "date_of_birth", "pupil")


def _validate_entries(entries: list) -> set[str]:
    """Check the entries; returns their references (unique, for the documents)."""
    refs: set[str] = set()
    known = {k.value for k in EntryKind}
    for i, e in enumerate(entries):
        where = f"entries[{i}]"
        ref = _req(e, "ref", str, where)
        if ref in refs:
            raise _fail(f"{where}.ref")
        refs.add(ref)
        if _req(e, "kind", str, where) not in known:
            raise _fail(f"{where}.kind")
        _req(e, "data", dict, where)
        _req(e, "share", dict, where)
        for key in ("created_at", "updated_at", "edited_at", "submitted_at", "reviewed_at"):
            _time(e, key, where)
        _date(e, "next_due_on", where)
        for j, c in enumerate(_list(e, "comments", where, MAX_COMMENTS)):
            _req(c, "body", str, f"{where}.comments[{j}]")
            _time(c, "created_at", f"{where}.comments[{j}]")
        _validate_history(e, where)
    return refs


def _validate_history(obj: dict, where: str) -> None:
    if "history" not in obj:
        return
    for j, h in enumerate(_list(obj, "history", where, MAX_HISTORY)):
        here = f"{where}.history[{j}]"
        if _req(h, "kind", str, here) not in {k.value for k in HistoryKind}:
            raise _fail(f"{here}.kind")
        for key in ("role", "name", "body", "school"):
            if h.get(key) is not None:
                _req(h, key, str, here)
        _time(h, "at", here)


def _validate_documents(documents: list, refs: set[str]) -> None:
    paths: set[str] = set()
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
        if d["path"] in paths:
            raise PortabilityError(_("Two documents name the same file: %(path)s", path=d["path"]))
        paths.add(d["path"])
        if d.get("entry") is not None and d["entry"] not in refs:
            raise _fail(f"{where}.entry")


def _validate_agreements(agreements: list) -> None:
    numbers: set[int] = set()
    for i, a in enumerate(agreements):
        where = f"agreements[{i}]"
        number = _req(a, "number", int, where)
        if number in numbers or not 1 <= number <= 999:
            raise _fail(f"{where}.number")
        numbers.add(number)
        _req(a, "data", dict, where)
        for j, s in enumerate(_list(a, "signatures", where, 10)):
            _req(s, "role", str, f"{where}.signatures[{j}]")
            _req(s, "name", str, f"{where}.signatures[{j}]")
            _time(s, "signed_at", f"{where}.signatures[{j}]", null=False)
        _time(a, "locked_at", where)
        _validate_history(a, where)


# -- preview -------------------------------------------------------------------------------
@dataclass
class Preview:
    """What an import of a package would bring (plain values: kept between requests)."""

    pupil_name: str
    date_of_birth: str | None
    source_school: str
    made_by_role: str | None
    made_by_name: str | None
    exported_at: str | None
    version: int
    scope: str
    missing: list[str]
    entries: list[list[Any]]  # [kind, count], in the order of the kinds
    documents: int
    refused: list[list[str]]  # [file name, reason]
    agreements: int
    guidance: int
    history: dict[str, int]  # signatures, locks, comments, reviews kept as history
    same_name: list[str] = field(default_factory=list)  # usernames of look-alike pupils

    @property
    def partial(self) -> bool:
        return self.scope != Scope.WHOLE

    @property
    def born_on(self) -> dt.date | None:
        return dt.date.fromisoformat(self.date_of_birth) if self.date_of_birth else None

    @property
    def exported_on(self) -> dt.date | None:
        try:
            return dt.datetime.fromisoformat(self.exported_at).date() if self.exported_at else None
        except ValueError:
            return None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Preview:
        return cls(**data)


def _history_counts(data: dict[str, Any]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for e in data["entries"]:
        counts["comments"] += len(e["comments"])
        if (e.get("review_state") or "none") != "none":
            counts["reviews"] += 1
        counts.update(h["kind"] + "s" for h in e.get("history") or [])
    for a in data["agreements"]:
        counts["signatures"] += len(a["signatures"])
        counts["lockeds"] += 1 if a.get("locked_at") else 0
        counts.update(h["kind"] + "s" for h in a.get("history") or [])
    counts["locks"] = counts.pop("lockeds", 0)
    return {k: counts.get(k, 0) for k in ("signatures", "locks", "comments", "reviews")}


def preview(source: str | IO[bytes], school: School) -> Preview:
    """What importing the package into `school` would bring; PortabilityError when it
    cannot be imported at all (also when it was imported before)."""
    with open_package(source) as package:
        refuse_duplicate(package, school)
        data = package.data
        refused, accepted = [], 0
        for check in package.check_files():
            if check.checked is None:
                refused.append([check.filename, check.reason or ""])
            else:
                accepted += 1
        per_kind = Counter(e["kind"] for e in data["entries"])
        made = package.made_by
        return Preview(
            pupil_name=package.pupil_name,
            date_of_birth=data["pupil"].get("date_of_birth"),
            source_school=str((data.get("source") or {}).get("school") or "")[:200],
            made_by_role=made.role if made else None,
            made_by_name=made.name[:200] if made else None,
            exported_at=data.get("exported_at")
            if isinstance(data.get("exported_at"), str)
            else None,
            version=package.version,
            scope=package.scope.value,
            missing=package.missing(),
            entries=[[k.value, per_kind[k.value]] for k in EntryKind if per_kind[k.value]],
            documents=accepted,
            refused=refused,
            agreements=len(data["agreements"]),
            guidance=len(data["guidance"]),
            history=_history_counts(data),
            same_name=look_alikes(school, data["pupil"]),
        )


def look_alikes(school: School, pupil: dict[str, Any]) -> list[str]:
    """Usernames of pupils of the school with the same name and date of birth."""
    born = _date(pupil, "date_of_birth", "pupil")
    query = (
        sa.select(User.username)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            User.school_id == school.id,
            UserRole.role == Role.PUPIL.value,
            sa.func.lower(User.first_name) == pupil["first_name"].strip().lower()[:100],
            sa.func.lower(User.last_name) == pupil["last_name"].strip().lower()[:100],
        )
        .order_by(User.username)
        .limit(10)
    )
    if born is not None:
        query = query.where(sa.or_(User.date_of_birth == born, User.date_of_birth.is_(None)))
    return list(db.session.scalars(query))


def refuse_duplicate(package: Package, school: School) -> None:
    """PortabilityError if this package (its id, or the very same JSON) was imported
    into the school before."""
    conditions = [ImportedPackage.content_sha256 == package.content_sha256]
    if package.package_id:
        conditions.append(ImportedPackage.package_id == package.package_id)
    earlier = db.session.scalar(
        sa.select(ImportedPackage)
        .where(ImportedPackage.school_id == school.id, sa.or_(*conditions))
        .limit(1)
    )
    if earlier is None:
        return
    pupil = db.session.get(User, earlier.pupil_id)
    raise PortabilityError(
        _(
            "This package was already imported on %(date)s (account %(username)s). "
            "It is not imported a second time.",
            date=earlier.imported_at.date().isoformat(),
            username=pupil.username if pupil else "?",
        )
    )
