"""Demo guidance records for Elif (10a) and Amira (9a); idempotent."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from portfolio import accounts, clock
from portfolio.extensions import db
from portfolio.guidance.services import create_record
from portfolio.models import Entry, EntryStatus, GuidanceRecord, School, User


def _has_records(pupil: User) -> bool:
    return (
        db.session.scalar(
            sa.select(GuidanceRecord.id).where(GuidanceRecord.pupil_id == pupil.id).limit(1)
        )
        is not None
    )


def _mark_reached(record: GuidanceRecord) -> None:
    """Last year's steps are done: Elif reached those goals."""
    for step in record.next_steps:
        goal = db.session.get(Entry, step["goal_entry_id"])
        goal.data = {
            **goal.data,
            "state": "reached",
            "steps": [{**s, "done": "yes"} for s in goal.data["steps"]],
        }
        goal.status = EntryStatus.DONE.value
        goal.next_due_on = None
        goal.grade = "9"


def _past(day: dt.date, today: dt.date) -> dt.date:
    return min(day, today - dt.timedelta(days=2))


def seed_guidance(
    school: School,
    pupils_by_class: dict[str, list[User]],
    staff: dict[str, User],
    today: dt.date | None = None,
) -> None:
    """Elif's sessions, one every half-year since grade 8 (the latest shared with her
    family), and one of Amira."""
    today = today or clock.today()
    start = accounts.school_year_start(today)
    elif_ = pupils_by_class["10a"][0]
    amira = pupils_by_class["9a"][0]

    if not _has_records(elif_):
        # Grade 8 and the first half of grade 9: short sessions with the class teacher.
        for held_on, topics in (
            (
                dt.date(start - 2, 10, 21),
                "Einstieg in die Berufsorientierung: Was ist der Berufswahlpass? Vorbereitung "
                "auf die Potenzialanalyse im November.",
            ),
            (
                dt.date(start - 1, 4, 8),
                "Rückblick auf die Berufsfelderkundung: Gesundheit hat Elif am besten gefallen, "
                "das Labor auch. Ideen für das Praktikum in Klasse 9.",
            ),
            (
                dt.date(start - 1, 11, 18),
                "Praktikumsplatz für Januar: Elif bewirbt sich in zwei Arztpraxen und einem "
                "Autohaus. Bewerbungsschreiben im Deutschunterricht geübt.",
            ),
        ):
            create_record(
                staff["klassenlehrerin10a"],
                elif_,
                held_on=held_on,
                participants="Elif Yılmaz, Frau Kara (Klassenlehrerin)",
                topics=topics,
                steps=[],
                notify_pupil=False,
            )
        last_year = create_record(
            staff["klassenlehrerin10a"],
            elif_,
            held_on=dt.date(start, 3, 12),
            participants="Elif Yılmaz, Ayşe Yılmaz (Mutter), Frau Kara (Klassenlehrerin)",
            topics=(
                "Rückblick auf das Betriebspraktikum im Autohaus: Elif hat die Arbeit in "
                "der Werkstatt gefallen, das Büro weniger. Interesse an Kfz-Mechatronik "
                "und an Elektronik. Noten in Mathe und Physik sind gut, in Deutsch ausbaufähig."
            ),
            steps=[
                {
                    "text": "Zwei Ausbildungsberufe im Bereich Kfz und Elektronik recherchieren",
                    "due_on": dt.date(start, 4, 30),
                },
                {
                    "text": "Termin bei der Berufsberatung vereinbaren",
                    "due_on": dt.date(start, 5, 15),
                },
            ],
            notify_pupil=False,
        )
        _mark_reached(last_year)
        last_year.share_counsellor = True  # Elif lets the Berufsberatung read it
        record = create_record(
            staff["berufsberatung"],
            elif_,
            held_on=_past(dt.date(start, 10, 8), today),
            participants="Elif Yılmaz, Frau Lorenz (Berufsberatung)",
            topics=(
                "Ausbildung zur Kfz-Mechatronikerin oder Elektronikerin für "
                "Automatisierungstechnik. Bewerbungsfristen der großen Betriebe in Siegen "
                "laufen ab November. Plan B: Berufskolleg, Fachrichtung Technik."
            ),
            steps=[
                {
                    "text": "Bewerbungsmappe fertigstellen (Lebenslauf, Anschreiben)",
                    "due_on": today + dt.timedelta(days=21),
                },
                {
                    "text": "Drei Bewerbungen für einen Ausbildungsplatz abschicken",
                    "due_on": today + dt.timedelta(days=45),
                },
                {
                    "text": "Anmeldung am Berufskolleg als Plan B prüfen",
                    "due_on": today + dt.timedelta(days=60),
                },
            ],
            notify_pupil=False,
        )
        record.pupil_notes = (
            "Ich schreibe die Bewerbungen zuerst an die zwei Autohäuser, "
            "bei denen ich schon ein Praktikum gemacht habe."
        )
        record.share_guardians = True

    if not _has_records(amira):
        create_record(
            staff["klassenlehrer9a"],
            amira,
            held_on=_past(dt.date(start, 11, 3), today),
            participants="Amira Haddad, Herr Heinz (Klassenlehrer)",
            topics=(
                "Vorbereitung auf das Betriebspraktikum. Amira interessiert sich für "
                "Gesundheitsberufe (Medizinische Fachangestellte, Pflege). Sie sucht "
                "noch einen Praktikumsplatz."
            ),
            steps=[
                {
                    "text": "Drei Arztpraxen oder Kliniken wegen eines Praktikumsplatzes anfragen",
                    "due_on": today + dt.timedelta(days=14),
                },
                {
                    "text": "Kurzbewerbung im Deutschunterricht üben",
                    "due_on": today + dt.timedelta(days=28),
                },
            ],
            notify_pupil=False,
        )
    db.session.flush()
