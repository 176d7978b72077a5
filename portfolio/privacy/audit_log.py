"""Reading the audit log: in plain language for the pupil, filtered and as CSV for the admin.

The log itself is written by portfolio.privacy.audit.record and is append-only; nothing here
changes it. Every page of it is read with a fixed number of queries.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from portfolio import clock
from portfolio.extensions import db
from portfolio.i18n import _, _l
from portfolio.kinds import entry_title
from portfolio.models import AuditEvent, Document, Entry, User
from portfolio.pagination import Page
from portfolio.pagination import page_numbers as _page_numbers
from portfolio.privacy import audit

PAGE_SIZE = 50

ROLE_LABELS = {
    "pupil": _l("pupil"),
    "guardian": _l("parent or guardian"),
    "teacher": _l("teacher"),
    "stubo": _l("careers coordinator (StuBO)"),
    "counsellor": _l("career counsellor"),
    "admin": _l("school administration"),
}

#: (action, object type) -> what happened, said to the pupil. "" matches any type.
_TEXTS = {
    ("view", "user"): _l("looked at your portfolio overview"),
    ("view", "entry"): _l("read one of your entries"),
    ("view", "document"): _l("looked at one of your files"),
    ("download", "document"): _l("downloaded one of your files"),
    ("view", "agreement"): _l("read your transition agreement"),
    ("view", "guidancerecord"): _l("read a record of a guidance session"),
    ("view", ""): _l("looked at something in your portfolio"),
    ("download", ""): _l("downloaded something from your portfolio"),
    ("pdf", ""): _l("downloaded your portfolio as PDF"),
    ("export", ""): _l("exported your portfolio"),
    ("takeaway", ""): _l("downloaded your take-away package"),
    ("import", ""): _l("imported your portfolio from another school"),
    ("purge", ""): _l("deleted the portfolio after the retention period"),
}

#: Account events (audit.ACCOUNT_ACTIONS): what was changed, said to pupil and guardians.
#: %(name)s is the parent or counsellor the change is about.
_ACCOUNT_TEXTS = {
    "password_reset": _l("reset the password"),
    "login_slip": _l("printed a login slip with a new password"),
    "password_chosen": _l("The password from the school was used to choose a new password."),
    "guardian_linked": _l("linked the parent account of %(name)s"),
    "guardian_unlinked": _l("removed the link to the parent account of %(name)s"),
    "guardian_registered": _l("registered as a parent with the code from the school's letter"),
    "counsellor_assigned": _l("assigned the career counsellor %(name)s"),
    "counsellor_unassigned": _l("removed the career counsellor %(name)s"),
    "deactivated": _l("deactivated the account"),
    "reactivated": _l("activated the account again"),
    "mark_left": _l("recorded that you have left school"),
    "undo_left": _l("took back that you have left school"),
}
#: Account events told without a person: who typed the new password is not known.
_NOBODY_NAMED = frozenset({"password_chosen"})

#: Actions the admin can filter by, with a short name.
ACTION_LABELS = {
    "view": _l("viewed"),
    "download": _l("downloaded"),
    "pdf": _l("PDF"),
    "export": _l("exported"),
    "takeaway": _l("take-away package"),
    "import": _l("imported"),
    "mark_left": _l("marked as left"),
    "undo_left": _l("leaving taken back"),
    "purge": _l("deleted (retention)"),
    "retention": _l("retention period changed"),
    "password_reset": _l("password reset"),
    "login_slip": _l("login slip (new password)"),
    "password_chosen": _l("own password chosen"),
    "guardian_linked": _l("parent linked"),
    "guardian_unlinked": _l("parent unlinked"),
    "guardian_registered": _l("parent registered"),
    "counsellor_assigned": _l("counsellor assigned"),
    "counsellor_unassigned": _l("counsellor removed"),
    "deactivated": _l("account deactivated"),
    "reactivated": _l("account activated again"),
}


def role_label(roles: str) -> str:
    if not roles:
        return str(_l("the system"))
    return ", ".join(str(ROLE_LABELS.get(r, r)) for r in roles.split(","))


def describe(event: AuditEvent) -> str:
    if event.action in _ACCOUNT_TEXTS:
        name = (event.details or {}).get("name") or str(_l("someone"))
        return str(_ACCOUNT_TEXTS[event.action]) % {"name": name}
    text = _TEXTS.get((event.action, event.object_type)) or _TEXTS.get((event.action, ""))
    return (
        str(text)
        if text
        else _("did something with your portfolio (%(action)s)", action=event.action)
    )


# -- the pupil's view ----------------------------------------------------------------------
@dataclass
class LookedEvent:
    event: AuditEvent
    what: str
    #: None: the sentence in `what` names nobody (see _NOBODY_NAMED).
    who: str | None
    role: str
    title: str | None


ACCOUNT_EVENTS_SHOWN = 100


def account_events(pupil_id: int) -> list[LookedEvent]:
    """Changes to the pupil's account, newest first (one query; the last 100)."""
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.pupil_id == pupil_id, AuditEvent.action.in_(audit.ACCOUNT_ACTIONS))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(ACCOUNT_EVENTS_SHOWN)
    )
    return [
        LookedEvent(
            event=e,
            what=describe(e),
            who=None if e.action in _NOBODY_NAMED else (e.actor_name or str(_l("the system"))),
            role=role_label(e.actor_role),
            title=None,
        )
        for e in events
    ]


def last_new_password(pupil_id: int) -> AuditEvent | None:
    """The staff reset or login slip that set the pupil's current initial password, if the
    pupil has not chosen an own password since (one query)."""
    latest = db.session.scalar(
        sa.select(AuditEvent)
        .where(
            AuditEvent.pupil_id == pupil_id,
            AuditEvent.action.in_(("password_reset", "login_slip", "password_chosen")),
        )
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(1)
    )
    return latest if latest is not None and latest.action != "password_chosen" else None


def who_looked(pupil_id: int, page: int = 1, *, with_titles: bool) -> Page:
    """Events of others on the pupil's things, newest first (4 queries at most).

    Titles are shown only to the pupil: a guardian must not learn the titles of
    entries the pupil did not share with them. Account events are listed apart
    (`account_events`).
    """
    where = (
        AuditEvent.pupil_id == pupil_id,
        AuditEvent.actor_id.is_distinct_from(pupil_id),
        AuditEvent.action.not_in(audit.ACCOUNT_ACTIONS),
    )
    total = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(*where)) or 0
    page, pages = _page_numbers(total, page, PAGE_SIZE)
    events = list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(*where)
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    )
    titles: dict[tuple[str, int], str] = {}
    if with_titles:
        entry_ids = {e.object_id for e in events if e.object_type == "entry" and e.object_id}
        doc_ids = {e.object_id for e in events if e.object_type == "document" and e.object_id}
        if entry_ids:
            for entry in db.session.scalars(
                sa.select(Entry).where(Entry.id.in_(entry_ids), Entry.pupil_id == pupil_id)
            ):
                titles[("entry", entry.id)] = entry_title(entry)
        if doc_ids:
            for doc_id, title, filename in db.session.execute(
                sa.select(Document.id, Document.title, Document.filename).where(
                    Document.id.in_(doc_ids), Document.pupil_id == pupil_id
                )
            ):
                titles[("document", doc_id)] = title or filename
    items = [
        LookedEvent(
            event=e,
            what=describe(e),
            who=e.actor_name or str(_l("the system")),
            role=role_label(e.actor_role),
            title=titles.get((e.object_type, e.object_id)),
        )
        for e in events
    ]
    return Page(items=items, page=page, pages=pages, total=total, per_page=PAGE_SIZE)


# -- the admin's view ----------------------------------------------------------------------
@dataclass
class Filters:
    pupil: str = ""
    pupil_id: int | None = None
    actor: str = ""
    action: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def _like(text: str) -> str:
    return "%" + text.lower().replace("%", "").replace("_", "") + "%"


def _school_query(school_id: int, f: Filters):
    pupil = aliased(User)
    conditions = [AuditEvent.school_id == school_id]
    if f.pupil_id is not None:
        conditions.append(AuditEvent.pupil_id == f.pupil_id)
    for word in f.pupil.split()[:4]:
        conditions.append(
            sa.or_(
                sa.func.lower(pupil.first_name).like(_like(word)),
                sa.func.lower(pupil.last_name).like(_like(word)),
                pupil.username.like(_like(word)),
            )
        )
    for word in f.actor.split()[:4]:
        conditions.append(sa.func.lower(AuditEvent.actor_name).like(_like(word)))
    if f.action:
        conditions.append(AuditEvent.action == f.action)
    if f.date_from:
        conditions.append(AuditEvent.created_at >= clock.midnight(f.date_from))
    if f.date_to:
        conditions.append(AuditEvent.created_at < clock.midnight(f.date_to + dt.timedelta(days=1)))
    join = (pupil, pupil.id == AuditEvent.pupil_id)
    return pupil, join, conditions


def school_events(school_id: int, f: Filters, page: int = 1, size: int = PAGE_SIZE) -> Page:
    """One page of the school's log with the pupils' names (2 queries)."""
    pupil, join, conditions = _school_query(school_id, f)
    total = (
        db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).outerjoin(*join).where(*conditions)
        )
        or 0
    )
    page, pages = _page_numbers(total, page, size)
    rows = db.session.execute(
        sa.select(AuditEvent, pupil.first_name, pupil.last_name)
        .outerjoin(*join)
        .where(*conditions)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    items = [
        (event, f"{first} {last}" if first is not None else None) for event, first, last in rows
    ]
    return Page(items=items, page=page, pages=pages, total=total, per_page=size)


def known_actions(school_id: int) -> list[str]:
    found = set(
        db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.school_id == school_id).distinct()
        )
    )
    return sorted(found | set(ACTION_LABELS))


def _cell(value) -> str:
    """A CSV cell that spreadsheet programs will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines(school_id: int, f: Filters) -> Iterator[str]:
    """The filtered log as CSV (semicolons, UTF-8 with BOM, as German spreadsheets expect)."""
    pupil, join, conditions = _school_query(school_id, f)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            "time (Europe/Berlin)",
            "actor",
            "actor id",
            "actor role",
            "action",
            "pupil id",
            "pupil",
            "object",
            "object id",
        ]
    )
    yield "\ufeff" + out.getvalue()
    stmt = (
        sa.select(AuditEvent, pupil.first_name, pupil.last_name)
        .outerjoin(*join)
        .where(*conditions)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .execution_options(yield_per=500)
    )
    for event, first, last in db.session.execute(stmt):
        out.seek(0)
        out.truncate()
        writer.writerow(
            [
                _cell(v)
                for v in (
                    event.created_at.astimezone(clock.SCHOOL_TZ).strftime("%Y-%m-%d %H:%M:%S"),
                    event.actor_name,
                    event.actor_id,
                    event.actor_role,
                    event.action,
                    event.pupil_id,
                    f"{first} {last}" if first is not None else "",
                    event.object_type,
                    event.object_id,
                )
            ]
        )
        yield out.getvalue()
