"""The end of a portfolio's life at school: leaving, the take-away package, deletion.

* A pupil who leaves keeps their account until the retention period ends, so that they
  and their guardians can download the take-away package (PDF + JSON + files).
* `purge_expired` then deletes the pupil completely: every row that belongs to them
  (found through the foreign keys, so tables added later are covered too) and every
  stored file. The audit log gets one "purge" event with counts, no names, no content;
  earlier audit events stay (they hold who looked and when, never content).
* Guardians left without a child at the school are deactivated.
See docs/data-lifecycle.md.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from typing import IO

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_date

from portfolio import clock, transaction
from portfolio.collation import name_order
from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.models import (
    Document,
    GuardianLink,
    LoginSession,
    PupilStatus,
    Role,
    School,
    User,
    UserRole,
    utcnow,
)
from portfolio.pagination import Page, page_numbers
from portfolio.privacy import audit
from portfolio.storage import get_storage

#: School records are deleted at the latest five years after they close (NRW).
MAX_RETENTION_DAYS = 1826
#: Time to download the take-away package before the deletion can happen.
MIN_RETENTION_DAYS = 30


class LifecycleError(ValueError):
    """A clear, user-facing reason why a lifecycle step cannot be done."""


# -- retention -----------------------------------------------------------------------------
def check_retention_days(days: int) -> int:
    """The value if it is allowed; LifecycleError with the reason otherwise."""
    if not isinstance(days, int) or not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise LifecycleError(
            _(
                "The retention period must be between %(min)d and %(max)d days "
                "(at most five years).",
                min=MIN_RETENTION_DAYS,
                max=MAX_RETENTION_DAYS,
            )
        )
    return days


def set_retention_days(school: School, days: int, actor: User) -> None:
    school.retention_days = check_retention_days(days)
    audit.record(actor, "retention", school_id=school.id, details={"days": days})
    db.session.flush()


def effective_retention(school: School) -> int:
    """Days the school keeps a left pupil: its setting, never more than five years."""
    days = school.retention_days if school.retention_days is not None else 365
    return max(0, min(days, MAX_RETENTION_DAYS))


def deletion_date(pupil: User, school: School) -> dt.date | None:
    if pupil.status != PupilStatus.LEFT or pupil.left_on is None:
        return None
    return pupil.left_on + dt.timedelta(days=effective_retention(school))


# -- leaving -------------------------------------------------------------------------------
def mark_left(pupil: User, left_on: dt.date, actor: User, today: dt.date | None = None) -> None:
    """Set the pupil's status to "left" as of `left_on` (not in the future)."""
    today = today or clock.today()
    if not pupil.is_pupil:
        raise LifecycleError(_("Only pupils can leave school."))
    if left_on > today:
        raise LifecycleError(_("The leaving date cannot be in the future."))
    if left_on < today - dt.timedelta(days=MAX_RETENTION_DAYS):
        raise LifecycleError(_("The leaving date is more than five years ago."))
    pupil.status = PupilStatus.LEFT.value
    pupil.left_on = left_on
    audit.account_event(actor, pupil, "mark_left", details={"left_on": left_on.isoformat()})
    db.session.flush()


def undo_left(pupil: User, actor: User) -> None:
    """Make a pupil marked as left by mistake active again."""
    if pupil.status != PupilStatus.LEFT:
        raise LifecycleError(_("This pupil has not left."))
    pupil.status = PupilStatus.ACTIVE.value
    pupil.left_on = None
    audit.account_event(actor, pupil, "undo_left")
    db.session.flush()


def left_pupils(school: School, page: int = 1) -> Page:
    """One page of the school's pupils who have left, the earliest deletion first (two
    queries: how many, and the page)."""
    query = (
        sa.select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            User.school_id == school.id,
            UserRole.role == Role.PUPIL.value,
            User.status == PupilStatus.LEFT.value,
        )
    )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    number, pages = page_numbers(total, page)
    chosen = Page([], number, pages, total)
    chosen.items = list(
        db.session.scalars(
            query.order_by(User.left_on.is_(None), User.left_on, *name_order(User))
            .offset(chosen.offset)
            .limit(chosen.per_page)
        )
    )
    return chosen


def find_active_pupils(school: School, query: str, limit: int = 30) -> list[User]:
    """Active pupils whose name or username contains `query` (for "mark as left")."""
    words = [w for w in query.strip().lower().split() if w][:4]
    if not words:
        return []
    stmt = (
        sa.select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            User.school_id == school.id,
            UserRole.role == Role.PUPIL.value,
            User.status == PupilStatus.ACTIVE.value,
        )
    )
    for word in words:
        like = f"%{word.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(User.first_name).like(like),
                sa.func.lower(User.last_name).like(like),
                User.username.like(like),
            )
        )
    return list(db.session.scalars(stmt.order_by(*name_order(User)).limit(limit)))


# -- take-away package ---------------------------------------------------------------------
def portfolio_pdf(pupil: User, viewer=None, *, note: str | None = None) -> bytes:
    """The portfolio as PDF: all of it for the pupil, what is shared for a guardian;
    `note` replaces the cover's line on what the PDF holds."""
    from portfolio.access import PupilAccess, Relation

    owner = viewer or PupilAccess(pupil=pupil, relations=frozenset({Relation.SELF}))
    from portfolio.export.render import portfolio_pdf as render

    return render(owner, note=note)


def _maker_text(maker) -> str:
    if maker.role == "guardian":
        return _("%(name)s (parent or guardian)", name=maker.name)
    if maker.role == "school":
        return _("%(name)s (school)", name=maker.name)
    return _("%(name)s (pupil)", name=maker.name)


def takeaway_readme(pupil: User, scope, maker, day: dt.date) -> str:
    """README.txt of a package: what it holds, who made it and when, what each file is."""
    from portfolio.privacy import portability

    lines = [
        _(
            "Berufswahlpass of %(name)s: take-away package, made on %(date)s by %(maker)s.",
            name=pupil.full_name,
            date=day.isoformat(),
            maker=_maker_text(maker),
        ),
        "",
        portability.scope_statement(scope, pupil.full_name),
        "",
        _("portfolio.pdf  - the portfolio to read and print"),
        _(
            "portfolio.json - the same content, machine-readable (format "
            '"berufswahlpass-portfolio", version %(version)d, scope "%(scope)s")',
            version=portability.VERSION,
            scope=scope,
        ),
        _("files/         - the uploaded files, such as certificates"),
        "",
        _("Another school using the Berufswahlpass digital can import this ZIP."),
    ]
    return "\n".join(lines) + "\n"


def takeaway_note(pupil: User, scope, maker, day: dt.date) -> str:
    """The PDF cover's line: what the package holds, who made it and when."""
    from portfolio.privacy import portability

    return " ".join(
        [
            portability.scope_statement(scope, pupil.full_name),
            _(
                "Take-away package made on %(date)s by %(maker)s.",
                date=format_date(day),
                maker=_maker_text(maker),
            ),
        ]
    )


def write_takeaway(pupil: User, out: IO[bytes], *, scope=None, maker=None) -> dict:
    """The take-away ZIP: portfolio.pdf, portfolio.json, files/…, README.txt.

    `scope` "shared-with-family" (a guardian's package) holds only what the pupil
    shared with the family, and its PDF likewise; every package says on its PDF's
    cover, in its README and in its JSON what it holds and who made it.
    """
    from portfolio.access import PupilAccess, Relation
    from portfolio.privacy import portability

    scope = portability.Scope(scope or portability.Scope.WHOLE)
    maker = maker or portability.Maker("pupil", pupil.full_name)
    day = utcnow().date()
    reader = Relation.GUARDIAN if scope == portability.Scope.FAMILY else Relation.SELF
    viewer = PupilAccess(pupil=pupil, relations=frozenset({reader}))
    return portability.export_zip(
        pupil,
        out,
        pdf=portfolio_pdf(pupil, viewer, note=takeaway_note(pupil, scope, maker, day)),
        readme=takeaway_readme(pupil, scope, maker, day),
        scope=scope,
        made_by=maker,
    )


def takeaway_file(pupil: User, **kwargs) -> IO[bytes]:
    """The take-away ZIP in a temporary file (kept in memory up to 20 MB), at position 0."""
    out = tempfile.SpooledTemporaryFile(max_size=20 * 1024 * 1024)  # noqa: SIM115 (returned)
    write_takeaway(pupil, out, **kwargs)
    out.seek(0)
    return out


def takeaway_filename(pupil: User) -> str:
    from portfolio.privacy.portability import safe_member_name

    name = safe_member_name(f"Berufswahlpass {pupil.first_name} {pupil.last_name}")
    return f"{name.replace(' ', '-')}.zip"


# -- purge ---------------------------------------------------------------------------------
@dataclass
class PurgeResult:
    pupil_id: int
    school_id: int
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    guardians_deactivated: int = 0
    file_errors: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def expired_pupils(today: dt.date | None = None) -> list[User]:
    """Left pupils whose retention period ended on or before `today`, all schools."""
    today = today or clock.today()
    found: list[User] = []
    for school in db.session.scalars(sa.select(School).order_by(School.id)):
        cutoff = today - dt.timedelta(days=effective_retention(school))
        found.extend(
            db.session.scalars(
                sa.select(User)
                .join(UserRole, UserRole.user_id == User.id)
                .where(
                    User.school_id == school.id,
                    UserRole.role == Role.PUPIL.value,
                    User.status == PupilStatus.LEFT.value,
                    User.left_on.is_not(None),
                    User.left_on <= cutoff,
                )
                .order_by(User.left_on, User.id)
            )
        )
    return found


def left_without_date() -> int:
    """Pupils marked as left without a leaving date (never purged until it is set)."""
    return (
        db.session.scalar(
            sa.select(sa.func.count(User.id)).where(
                User.status == PupilStatus.LEFT.value, User.left_on.is_(None)
            )
        )
        or 0
    )


def _cascade(table: sa.Table, condition, rows: dict[str, int], *, depth: int = 0) -> None:
    """Delete rows of `table` matching `condition` and, first, everything that depends on
    them, following each foreign key's ON DELETE rule (CASCADE: delete, SET NULL: clear).

    SQLite does not enforce foreign keys here, so the rule is carried out explicitly;
    on PostgreSQL the same statements simply run before the database would cascade.
    Each table counts what its DELETE removed, so a row reached on two paths counts once.
    """
    if depth > 8:
        raise RuntimeError(f"foreign keys nest too deeply at {table.name}")
    for child in db.metadata.sorted_tables:
        for fk in child.foreign_keys:
            if fk.column.table is not table or child.name == "audit_event":
                continue
            parent_ids = sa.select(fk.column).where(condition)
            child_condition = fk.parent.in_(parent_ids)
            rule = (fk.ondelete or "").upper()
            if rule == "CASCADE":
                if child is table:
                    raise RuntimeError(f"self-referencing cascade in {table.name}")
                _cascade(child, child_condition, rows, depth=depth + 1)
            elif rule == "SET NULL":
                db.session.execute(
                    sa.update(child).where(child_condition).values({fk.parent.name: None})
                )
            else:
                raise RuntimeError(
                    f"{child.name}.{fk.parent.name} has no ON DELETE rule; cannot purge safely"
                )
    count = db.session.execute(sa.delete(table).where(condition)).rowcount or 0
    if count:
        rows[table.name] = rows.get(table.name, 0) + count


def purge_pupil(pupil: User, *, dry_run: bool = False) -> PurgeResult:
    """Delete the pupil and everything of theirs, then their stored files (flushes).

    The files go once the deletion is committed: if the database refuses, nothing is lost.

    With `dry_run` the very same statements run, so the counts are the real run's, but
    nothing is committed, no file is touched and nothing is audited. The transaction is
    left open, so that a dry run over several pupils counts what the real run would delete
    in that order (a guardian of two purged siblings is deactivated with the second): the
    caller rolls it back, as `flask purge-expired --dry-run` does.
    """
    if not pupil.is_pupil or pupil.status != PupilStatus.LEFT:
        raise LifecycleError(_("Only pupils who have left school can be deleted."))
    result = PurgeResult(pupil_id=pupil.id, school_id=pupil.school_id)
    pupil_id = pupil.id
    keys = list(
        db.session.scalars(sa.select(Document.storage_key).where(Document.pupil_id == pupil_id))
    )
    guardian_ids = list(
        db.session.scalars(
            sa.select(GuardianLink.guardian_id).where(GuardianLink.pupil_id == pupil_id)
        )
    )
    users = User.__table__
    _cascade(users, users.c.id == pupil_id, result.rows)
    result.files = len(keys)
    result.guardians_deactivated = _deactivate_childless(guardian_ids)
    if dry_run:
        return result
    audit.record(
        None,
        "purge",
        pupil_id=pupil_id,
        school_id=result.school_id,
        details={
            "rows": result.total_rows,
            "files": result.files,
            "guardians_deactivated": result.guardians_deactivated,
        },
    )
    db.session.flush()
    if pupil in db.session:
        db.session.expunge(pupil)
    transaction.after_commit(lambda: _delete_files(keys, result))
    return result


def _delete_files(keys: list[str], result: PurgeResult) -> None:
    storage = get_storage()
    for key in keys:
        try:
            storage.delete(key)
        except OSError:
            result.file_errors += 1
            current_app.logger.exception("purge: could not delete a stored file")


def _deactivate_childless(guardian_ids: list[int]) -> int:
    """Deactivate guardians (only-guardian accounts) who have no linked child left."""
    count = 0
    for gid in guardian_ids:
        guardian = db.session.get(User, gid)
        if guardian is None or guardian.roles != frozenset({Role.GUARDIAN}):
            continue
        has_child = db.session.scalar(
            sa.select(GuardianLink.id).where(GuardianLink.guardian_id == gid).limit(1)
        )
        if has_child is None and guardian.is_active_account:
            guardian.is_active_account = False
            db.session.execute(
                sa.update(LoginSession)
                .where(LoginSession.user_id == gid, LoginSession.ended_at.is_(None))
                .values(ended_at=utcnow())
            )
            count += 1
    return count
