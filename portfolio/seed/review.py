"""Demo review work: entries that need action in 9a and 10a, comments, reviews, news.

Only pupils other than the three featured ones get entries from here (the pupil
feature writes the featured portfolios); on the featured pupils' shared entries the
class teacher leaves a comment. Idempotent: nothing is added twice.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from portfolio import access, clock
from portfolio.extensions import db
from portfolio.models import (
    Audience,
    Comment,
    Entry,
    EntryStatus,
    ReviewState,
    School,
    User,
    utcnow,
)
from portfolio.notifications.services import notify

FEATURED = {"lukas.becker", "amira.haddad", "elif.yilmaz"}
COMPANIES = [
    "Autohaus Siegerland",
    "Bäckerei Schäfer",
    "Kita Regenbogen",
    "Elektro Krämer GmbH",
    "Stadtverwaltung Siegen",
    "Tischlerei Vogel",
    "Apotheke am Markt",
    "Sparkasse Siegen",
]
COMMENTS = [
    "Schöner Bericht! Schreib noch dazu, was du am letzten Tag gelernt hast.",
    "Gut beobachtet. Welche deiner Stärken konntest du im Betrieb zeigen?",
    "Danke fürs Teilen. Lass uns im nächsten Beratungsgespräch über den Beruf sprechen.",
]


def _has_kind(pupil: User, kind: str) -> bool:
    return (
        db.session.scalar(
            sa.select(Entry.id).where(Entry.pupil_id == pupil.id, Entry.kind == kind).limit(1)
        )
        is not None
    )


def _placement(school: School, pupil: User, n: int, *, evaluated: bool, handed_in: bool) -> Entry:
    year = utcnow().year
    data = {
        "company": COMPANIES[n % len(COMPANIES)],
        "start": f"{year - 1}-11-03",
        "end": f"{year - 1}-11-21",
        "occupation": "",
        "log": [
            {
                "date": f"{year - 1}-11-03",
                "activities": "Einführung, Rundgang, erste Aufgaben.",
                "thoughts": "Aufregend, alle waren freundlich.",
            }
        ],
    }
    if evaluated:
        data.update(
            reality="Mehr Verantwortung als gedacht.",
            learned="Pünktlichkeit und Teamarbeit.",
            would_work_there="maybe",
        )
    entry = Entry(
        school_id=school.id,
        pupil_id=pupil.id,
        kind="praktikum",
        grade="9",
        data=data,
        status=EntryStatus.DONE.value if evaluated else EntryStatus.IN_PROGRESS.value,
        share_class_teacher=handed_in or evaluated,
        share_stubo=evaluated,
        share_counsellor=evaluated,
        asked_class_teacher=handed_in,
        review_state=ReviewState.REQUESTED.value if handed_in else ReviewState.NONE.value,
        submitted_at=utcnow() if handed_in else None,
    )
    db.session.add(entry)
    return entry


def _goal(school: School, pupil: User, due: dt.date) -> Entry:
    entry = Entry(
        school_id=school.id,
        pupil_id=pupil.id,
        kind="goal",
        grade="9",
        data={
            "goal": "Bewerbungsmappe fertigstellen",
            "state": "in_progress",
            "steps": [{"text": "Lebenslauf schreiben", "due_on": due.isoformat(), "done": "no"}],
        },
        next_due_on=due,
        share_class_teacher=True,
    )
    db.session.add(entry)
    return entry


def seed_review_demo(
    school: School, pupils_by_class: dict[str, list[User]], staff: dict[str, User]
) -> None:
    """Add the demo review content (no commit)."""
    teachers = {"9a": staff["klassenlehrer9a"], "10a": staff["klassenlehrerin10a"]}
    today = clock.today()
    for cls_name in ("9a", "10a"):
        teacher = teachers[cls_name]
        others = [p for p in pupils_by_class[cls_name] if p.username not in FEATURED]
        for n, pupil in enumerate(others[:14]):
            if _has_kind(pupil, "praktikum"):
                continue
            # A mix: evaluated, handed in for feedback, and placements still missing the evaluation.
            entry = _placement(school, pupil, n, evaluated=n % 3 == 0, handed_in=n % 3 == 1)
            if n % 3 == 0:
                db.session.flush()
                comment = Comment(
                    school_id=school.id,
                    entry_id=entry.id,
                    author_id=teacher.id,
                    body=COMMENTS[n % len(COMMENTS)],
                )
                db.session.add(comment)
                entry.review_state = ReviewState.REVIEWED.value
                entry.reviewed_at = utcnow()
                db.session.flush()
                notify(pupil, "reviewed", actor=teacher, entry=entry, comment=comment)
        for n, pupil in enumerate(others[14:18]):
            if not _has_kind(pupil, "goal"):
                _goal(school, pupil, today - dt.timedelta(days=7 + 5 * n))

    # The class teacher answers the featured pupils' entries that wait for feedback.
    for cls_name, teacher in teachers.items():
        for pupil in pupils_by_class[cls_name]:
            if pupil.username not in FEATURED:
                continue
            waiting = db.session.scalars(
                sa.select(Entry).where(
                    Entry.pupil_id == pupil.id,
                    access.asked_clause(frozenset({Audience.CLASS_TEACHER})),
                )
            ).all()
            for n, entry in enumerate(waiting[:1]):
                if entry.comments:
                    continue
                comment = Comment(
                    school_id=school.id, entry_id=entry.id, author_id=teacher.id, body=COMMENTS[n]
                )
                db.session.add(comment)
                db.session.flush()
                notify(pupil, "comment", actor=teacher, entry=entry, comment=comment)
    db.session.flush()
