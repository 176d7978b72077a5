"""A filled portfolio for the lifecycle, portability and audit tests (no HTTP, no services
of other features: rows are made directly so these tests do not break with their work)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from types import SimpleNamespace

from portfolio.extensions import db
from portfolio.models import (
    Agreement,
    AgreementSignature,
    AssessmentRequest,
    Comment,
    Entry,
    GuardianCode,
    GuidanceRecord,
    LoginSession,
    Notification,
    utcnow,
)
from tests.support.documents import add_document
from tests.support.files import blank_pdf, png_bytes


@functools.cache
def certificate() -> bytes:
    """A one-page PDF certificate as an upload stores it (imports check every file)."""
    from portfolio.documents.uploads import check_upload

    return check_upload(blank_pdf(), "zeugnis.pdf").data


@functools.cache
def photo() -> bytes:
    """A small PNG photo as an upload stores it."""
    from portfolio.documents.uploads import check_upload

    return check_upload(png_bytes(60, 40), "foto.png").data


def fill_portfolio(pupil, *, teacher=None, guardian=None) -> SimpleNamespace:
    """Entries, a comment, documents with files, a signed agreement, a guidance record,
    a notification, an assessment request, a guardian code and a login session."""
    c = SimpleNamespace()
    sid = pupil.school_id
    c.praktikum = Entry(
        school_id=sid,
        pupil_id=pupil.id,
        kind="praktikum",
        title="Praktikum Tischlerei",
        grade="9",
        data={
            "company": "Tischlerei Holz & Co",
            "days": [{"date": "2026-03-02", "tasks": "Bretter schleifen – „gut“"}],
        },
        status="done",
        share_class_teacher=True,
        share_stubo=True,
        share_guardians=True,
        submitted_at=utcnow() - dt.timedelta(days=3),
    )
    c.goal = Entry(
        school_id=sid,
        pupil_id=pupil.id,
        kind="goal",
        title="Ausbildung finden",
        data={"goal": "Ausbildung als Tischlerin"},
        next_due_on=dt.date(2027, 1, 15),
    )
    c.private = Entry(
        school_id=sid,
        pupil_id=pupil.id,
        kind="reflection",
        title="Nur für mich",
        data={"reflection": "Geheim"},
    )
    db.session.add_all([c.praktikum, c.goal, c.private])
    db.session.flush()
    if teacher is not None:
        c.comment = Comment(
            school_id=sid, entry_id=c.praktikum.id, author_id=teacher.id, body="Schöner Bericht!"
        )
        db.session.add(c.comment)
        db.session.flush()
        db.session.add(
            Notification(
                school_id=sid,
                user_id=pupil.id,
                kind="comment",
                actor_id=teacher.id,
                entry_id=c.praktikum.id,
                comment_id=c.comment.id,
            )
        )
        db.session.add(
            Notification(
                school_id=sid,
                user_id=teacher.id,
                kind="shared",
                actor_id=pupil.id,
                entry_id=c.praktikum.id,
            )
        )
    c.certificate = add_document(
        pupil,
        certificate(),
        "Zeugnis Müller.pdf",
        entry=c.praktikum,
        title="Praktikumszeugnis",
        share=("class_teacher", "stubo", "guardians"),
    )
    c.photo = add_document(pupil, photo(), "../../etc/passwd", mime="image/png")
    c.agreement = Agreement(
        school_id=sid,
        pupil_id=pupil.id,
        number=1,
        grade="9",
        decision="dual",
        data={
            "dream_job": "Tischlerin",
            "steps": [{"text": "Bewerben", "due_on": "2027-02-01", "priority": 1}],
        },
        locked_at=utcnow(),
    )
    c.agreement.signatures.append(
        AgreementSignature(school_id=sid, role="pupil", user_id=pupil.id, name=pupil.full_name)
    )
    if guardian is not None:
        c.agreement.signatures.append(
            AgreementSignature(
                school_id=sid, role="guardian", user_id=guardian.id, name=guardian.full_name
            )
        )
    db.session.add(c.agreement)
    c.guidance = GuidanceRecord(
        school_id=sid,
        pupil_id=pupil.id,
        author_id=teacher.id if teacher else None,
        held_on=dt.date(2026, 11, 2),
        participants="Paula, Frau Teacher",
        topics="Praktikum",
        pupil_notes="War gut",
        next_steps=[
            {"text": "Bewerbung schreiben", "due_on": "2026-12-01", "goal_entry_id": c.goal.id}
        ],
    )
    db.session.add(c.guidance)
    db.session.add(
        AssessmentRequest(
            school_id=sid,
            pupil_id=pupil.id,
            token_hash="a" * 64,
            rater_name="Tante Erna",
            relation="other",
            expires_at=utcnow() + dt.timedelta(days=7),
        )
    )
    db.session.add(
        GuardianCode(
            school_id=sid,
            pupil_id=pupil.id,
            code_hash=hashlib.sha256(pupil.username.encode()).hexdigest(),
            expires_at=utcnow() + dt.timedelta(days=30),
        )
    )
    db.session.add(LoginSession(token="t-" + pupil.username, user_id=pupil.id))
    db.session.commit()
    return c
