"""Compare a parsed roster with the school's pupils (preview) and apply it (import).

The preview reads the school's pupils in a fixed number of queries. The import changes
nothing itself until the caller commits: it adds and updates rows in the session and
flushes, so that the caller can render the login slips first and then commit all of it
in one transaction, or roll all of it back.

Uploaded files wait for the confirmation on the server (`UploadStore`), under the
instance folder, named by a random token and bound to the user who uploaded them; the
browser only ever sends the token back. They expire after an hour.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa

from portfolio import accounts
from portfolio.collation import name_order
from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.models import (
    ClassMembership,
    PupilStatus,
    Role,
    School,
    SchoolClass,
    User,
    UserRole,
)
from portfolio.privacy import audit
from portfolio.roster.parse import ParsedRoster, RosterRow, RowError, name_key
from portfolio.tempfiles import TokenFiles

NEW, CHANGED, UNCHANGED, ERROR = "new", "changed", "unchanged", "error"


@dataclass
class RowPreview:
    row: RosterRow
    status: str
    pupil: User | None = None
    #: (what, old value, new value) for changed pupils.
    changes: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def line(self) -> int:
        return self.row.line


@dataclass
class Preview:
    items: list[RowPreview] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    #: Active pupils of the school that the file does not list: (pupil, class name).
    missing: list[tuple[User, str | None]] = field(default_factory=list)
    file_error: str | None = None

    def count(self, status: str) -> int:
        if status == ERROR:
            return len(self.errors)
        return sum(1 for i in self.items if i.status == status)

    @property
    def lines(self) -> list[tuple[int, str, object]]:
        """Everything in file order: (line, status, RowPreview or RowError)."""
        out = [(i.line, i.status, i) for i in self.items]
        out += [(e.line, ERROR, e) for e in self.errors]
        return sorted(out, key=lambda t: t[0])

    @property
    def has_changes(self) -> bool:
        return any(i.status in (NEW, CHANGED) for i in self.items)


@dataclass
class ImportResult:
    #: New pupils with their initial passwords (shown once, on the login slips) and rows.
    created: list[tuple[User, str, RosterRow]] = field(default_factory=list)
    changed: list[User] = field(default_factory=list)
    unchanged: int = 0
    skipped: int = 0


class ImportRefused(ValueError):
    """The file has errors and the user did not choose to import only the valid rows."""


def _school_pupils(school: School) -> list[tuple[User, str | None]]:
    """All pupils of the school with their class this school year (two queries)."""
    year = accounts.current_year(school)
    rows = db.session.execute(
        sa.select(User, SchoolClass.name)
        .join(UserRole, sa.and_(UserRole.user_id == User.id, UserRole.role == Role.PUPIL.value))
        .outerjoin(
            ClassMembership,
            sa.and_(ClassMembership.pupil_id == User.id, ClassMembership.school_year_id == year.id),
        )
        .outerjoin(SchoolClass, SchoolClass.id == ClassMembership.class_id)
        .where(User.school_id == school.id)
        .order_by(*name_order(User))
    ).all()
    return [(user, class_name) for user, class_name in rows]


def _fmt_date(value: dt.date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else ""


def build_preview(school: School, parsed: ParsedRoster) -> Preview:
    """Each row as new / changed (which fields) / unchanged / error; pupils not in the file."""
    preview = Preview(errors=list(parsed.errors), file_error=parsed.file_error)
    if parsed.file_error:
        return preview
    pupils = _school_pupils(school)
    class_of = {u.id: c for u, c in pupils}
    by_id = {u.external_id: u for u, _c in pupils if u.external_id}
    by_name: dict[tuple, list[User]] = {}
    for user, _c in pupils:
        by_name.setdefault(
            name_key(user.last_name, user.first_name, user.date_of_birth), []
        ).append(user)
    matched: dict[int, int] = {}  # pupil id -> line
    for row in parsed.rows:
        pupil, by_external = None, False
        if row.external_id and row.external_id in by_id:
            pupil, by_external = by_id[row.external_id], True
        else:
            candidates = by_name.get(row.name_key, [])
            if len(candidates) > 1:
                preview.errors.append(
                    RowError(
                        row.line,
                        _(
                            "Line %(line)d: There are several pupils called %(name)s "
                            "born on %(date)s. "
                            "Please add the ID column to the file.",
                            line=row.line,
                            name=f"{row.first_name} {row.last_name}",
                            date=_fmt_date(row.date_of_birth),
                        ),
                    )
                )
                continue
            pupil = candidates[0] if candidates else None
            if (
                pupil
                and row.external_id
                and pupil.external_id
                and pupil.external_id != row.external_id
            ):
                preview.errors.append(
                    RowError(
                        row.line,
                        _(
                            "Line %(line)d: %(name)s is already here with another ID "
                            "(%(old)s instead of "
                            "%(new)s). Please check the pupil in SchILD-NRW.",
                            line=row.line,
                            name=f"{row.first_name} {row.last_name}",
                            old=pupil.external_id,
                            new=row.external_id,
                        ),
                    )
                )
                continue
        if pupil is not None and pupil.id in matched:
            preview.errors.append(
                RowError(
                    row.line,
                    _(
                        "Line %(line)d: This is the same pupil as in line %(first)d.",
                        line=row.line,
                        first=matched[pupil.id],
                    ),
                )
            )
            continue
        if pupil is None:
            preview.items.append(RowPreview(row, NEW))
            continue
        matched[pupil.id] = row.line
        changes = _changes(pupil, class_of.get(pupil.id), row, by_external)
        preview.items.append(RowPreview(row, CHANGED if changes else UNCHANGED, pupil, changes))
    preview.missing = [
        (u, c)
        for u, c in pupils
        if u.id not in matched and u.status == PupilStatus.ACTIVE and u.is_active_account
    ]
    return preview


def _changes(
    pupil: User, class_name: str | None, row: RosterRow, by_external: bool
) -> list[tuple[str, str, str]]:
    changes = []
    if by_external:
        if pupil.last_name != row.last_name:
            changes.append(("last_name", pupil.last_name, row.last_name))
        if pupil.first_name != row.first_name:
            changes.append(("first_name", pupil.first_name, row.first_name))
        if pupil.date_of_birth != row.date_of_birth:
            changes.append(
                ("date_of_birth", _fmt_date(pupil.date_of_birth), _fmt_date(row.date_of_birth))
            )
    if row.external_id and pupil.external_id != row.external_id:
        changes.append(("external_id", pupil.external_id or "", row.external_id))
    if (class_name or "").casefold() != row.class_name.casefold():
        changes.append(("class_name", class_name or "", row.class_name))
    if row.gender and pupil.gender != row.gender:
        changes.append(("gender", pupil.gender or "", row.gender))
    if pupil.status != PupilStatus.ACTIVE:
        changes.append(("status", _("left"), _("at school")))
    return changes


def change_label(key: str) -> str:
    return {
        "last_name": _("surname"),
        "first_name": _("first name"),
        "date_of_birth": _("date of birth"),
        "external_id": _("ID"),
        "class_name": _("class"),
        "gender": _("gender"),
        "status": _("status"),
    }.get(key, key)


def apply_import(
    school: School,
    actor: User | None,
    preview: Preview,
    *,
    only_valid: bool = False,
    filename: str = "",
) -> ImportResult:
    """Add the new pupils and update the changed ones (flushed, not committed)."""
    if preview.file_error:
        raise ImportRefused(preview.file_error)
    if preview.errors and not only_valid:
        raise ImportRefused(
            _("The file has errors. Correct them, or choose to import only the valid rows.")
        )
    result = ImportResult(skipped=len(preview.errors))
    year = accounts.current_year(school)
    classes = {
        c.name.casefold(): c
        for c in db.session.scalars(
            sa.select(SchoolClass).where(SchoolClass.school_year_id == year.id)
        )
    }

    def class_for(row: RosterRow) -> SchoolClass:
        cls = classes.get(row.class_name.casefold())
        if cls is None:
            cls = accounts.get_or_create_class(school, row.class_name, year, grade=row.grade)
            classes[row.class_name.casefold()] = cls
        return cls

    for item in preview.items:
        row = item.row
        if item.status == UNCHANGED:
            result.unchanged += 1
        elif item.status == NEW:
            pupil, password = accounts.create_user(
                school,
                roles=[Role.PUPIL],
                first_name=row.first_name,
                last_name=row.last_name,
                date_of_birth=row.date_of_birth,
                external_id=row.external_id,
                gender=row.gender,
                must_change_password=True,
            )
            accounts.put_in_class(pupil, class_for(row))
            result.created.append((pupil, password, row))
        elif item.status == CHANGED:
            pupil = item.pupil
            for key, _old, _new in item.changes:
                if key == "class_name":
                    accounts.put_in_class(pupil, class_for(row))
                elif key == "status":
                    pupil.status, pupil.left_on = PupilStatus.ACTIVE.value, None
                else:
                    setattr(pupil, key, getattr(row, key))
            result.changed.append(pupil)
    audit.record(
        actor,
        "import",
        school_id=school.id,
        details={
            "file": filename[:100],
            "new": len(result.created),
            "changed": len(result.changed),
            "unchanged": result.unchanged,
            "skipped": result.skipped,
        },
    )
    db.session.flush()
    return result


# -- uploaded files between preview and confirmation -------------------------------------
class UploadStore(TokenFiles):
    """Files waiting for confirmation: instance/roster-uploads/<token>.{bin,json}."""

    subfolder = "roster-uploads"
    max_age = 3600

    def put(self, data: bytes, *, user_id: int, school_id: int, filename: str) -> str:
        return super().put(data, user_id=user_id, school_id=school_id, filename=filename[:200])

    def get(self, token: str, *, user_id: int) -> tuple[bytes, dict] | None:
        """The file and its metadata if it exists, is fresh and belongs to the user."""
        return self.read(token, user_id=user_id)
