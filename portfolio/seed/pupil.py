"""Demo portfolios: Lukas (8a) just starting, 9a with exploration days and placements,
Elif (10a) with a full portfolio over three grades. Idempotent: adds only what is missing."""

from __future__ import annotations

import datetime as dt
import random
import secrets

import sqlalchemy as sa

from portfolio import accounts
from portfolio.extensions import db
from portfolio.models import (
    AssessmentRequest,
    Audience,
    Entry,
    EntryStatus,
    Quality,
    ReviewState,
    School,
    User,
    utcnow,
)
from portfolio.pupil.assessments import hash_token
from portfolio.pupil.services import next_due


def _at(year: int, month: int, day: int) -> dt.datetime:
    """A demo time, never in the future."""
    return min(dt.datetime(year, month, day, 14, tzinfo=dt.UTC), utcnow())


def _day(year: int, month: int, day: int) -> str:
    return dt.date(year, month, day).isoformat()


class _Seeder:
    def __init__(self, school: School) -> None:
        self.school = school
        self.have = set(
            db.session.execute(
                sa.select(Entry.pupil_id, Entry.kind).where(Entry.school_id == school.id)
            ).all()
        )
        self.qualities = list(
            db.session.scalars(
                sa.select(Quality.key)
                .where(Quality.school_id == school.id)
                .order_by(Quality.position)
            )
        )
        self.rows: list[Entry] = []

    def add(
        self,
        pupil: User,
        kind: str,
        grade: str,
        when: dt.datetime,
        data: dict,
        *,
        done: bool = True,
        share: tuple[str, ...] = (),
        review: str = ReviewState.NONE,
        force: bool = False,
    ) -> Entry | None:
        if (pupil.id, kind) in self.have and not force:
            return None
        entry = Entry(
            school_id=self.school.id,
            pupil_id=pupil.id,
            kind=kind,
            grade=grade,
            data=data,
            status=(EntryStatus.DONE if done else EntryStatus.IN_PROGRESS).value,
            review_state=str(review),
            created_at=when,
            updated_at=when,
            edited_at=when,
            submitted_at=when if review == ReviewState.REQUESTED else None,
            next_due_on=next_due(data) if kind == "goal" else None,
        )
        entry.set_shared(share)
        if review == ReviewState.REQUESTED:
            # Feedback asked of the class teacher (shared with her for it).
            entry.set_asked([Audience.CLASS_TEACHER])
            entry.share_class_teacher = True
        self.rows.append(entry)
        return entry

    def ratings(self, rng: random.Random, base: int = 2) -> dict[str, int]:
        return {k: max(1, min(4, base + rng.choice((-1, 0, 0, 1)))) for k in self.qualities}


BFE_FIELDS = [
    (
        "Autohaus Jung, Siegen",
        "metall",
        "Reifen gewechselt, beim Ölwechsel geholfen.",
        "Die Arbeit mit den Händen.",
        "Es war laut und ölig.",
        "maybe",
    ),
    (
        "Kita Sonnenschein",
        "soziales",
        "Mit den Kindern gespielt und vorgelesen.",
        "Die Kinder haben sich gefreut.",
        "Aufräumen am Nachmittag.",
        "yes",
    ),
    (
        "Stadtverwaltung Siegen",
        "wirtschaft",
        "Post sortiert, Formulare geprüft.",
        "Nette Kolleginnen.",
        "Viel Sitzen am Schreibtisch.",
        "no",
    ),
    (
        "Elektro Krämer GmbH",
        "elektro",
        "Kabel verlegt, Steckdosen angeschlossen (mit Hilfe).",
        "Dass am Ende das Licht anging.",
        "Früh aufstehen.",
        "yes",
    ),
    (
        "Bäckerei Schäfer",
        "produktion",
        "Brötchen geformt und verkauft.",
        "Der Geruch!",
        "Schon um 6 Uhr anfangen.",
        "maybe",
    ),
    (
        "IT-Service Weber",
        "it",
        "Einen PC zusammengebaut.",
        "Technik ausprobieren.",
        "Wenig Kontakt mit Menschen.",
        "yes",
    ),
]


def _bfe(year: int, rng: random.Random) -> dict:
    days = []
    for n, (company, field, did, liked, disliked, imagine) in enumerate(rng.sample(BFE_FIELDS, 3)):
        days.append(
            {
                "date": _day(year, 3, 9 + n),
                "company": company,
                "field": field,
                "activities": did,
                "liked": liked,
                "disliked": disliked,
                "imagine": imagine,
            }
        )
    return {
        "days": days,
        "want_to_know": rng.choice(
            [
                "Elektroniker/in, vielleicht Mechatroniker/in",
                "Erzieher/in",
                "Fachinformatiker/in",
                "Bäcker/in oder Konditor/in",
            ]
        ),
    }


def seed_portfolios(
    school: School, pupils_by_class: dict[str, list[User]], staff: dict[str, User]
) -> None:
    """Add the demo entries (flushes; `flask seed-demo` commits)."""
    y = accounts.school_year_start()
    today = utcnow().date()
    rng = random.Random(8910)
    s = _Seeder(school)
    q = s.qualities

    # -- 8a: just starting ------------------------------------------------------------------
    lukas, *class8 = pupils_by_class["8a"]
    s.add(
        lukas,
        "strengths",
        "8",
        _at(y, 9, 18),
        {
            "ratings": {k: v for k, v in s.ratings(rng).items() if k in q[:10]},
            "interests": ["technik", "metall"],
            "hobbies": "Fußball im Verein, mit dem Rad unterwegs",
            "school_subjects": "Sport, Technik",
            "reflection": "",
        },
        done=False,
    )
    s.add(
        lukas,
        "potenzialanalyse",
        "8",
        _at(y, 9, 20),
        {
            "date": (today + dt.timedelta(days=14)).isoformat(),
            "provider": "Bildungswerk Siegen",
            "tasks": "",
            "results_talk": "",
            "strengths_found": "",
            "reflection": "Ich bin gespannt, was dabei herauskommt.",
        },
        done=False,
    )
    for pupil in class8[::3]:
        s.add(
            pupil,
            "strengths",
            "8",
            _at(y, 9, rng.randint(10, 28)),
            {
                "ratings": s.ratings(rng),
                "interests": rng.sample(["it", "soziales", "kunst", "gesundheit", "bau"], 2),
                "hobbies": rng.choice(["Zeichnen", "Gaming", "Tanzen", "Handball", "Kochen"]),
                "school_subjects": rng.choice(["Kunst", "Mathe", "Biologie", "Deutsch"]),
                "reflection": "",
            },
            done=False,
        )

    # -- 9a: exploration days last year, placements now ----------------------------------------
    for i, pupil in enumerate(pupils_by_class["9a"]):
        s.add(
            pupil,
            "strengths",
            "8",
            _at(y - 1, 9, 20 + i % 8),
            {
                "ratings": s.ratings(rng),
                "interests": rng.sample(
                    ["it", "soziales", "metall", "wirtschaft", "gesundheit"], 2
                ),
                "hobbies": "",
                "school_subjects": "",
                "reflection": "",
            },
        )
        s.add(
            pupil,
            "berufsfelderkundung",
            "8",
            _at(y, 3, 13),
            _bfe(y, rng),
            share=("class_teacher",) if i % 2 == 0 else (),
        )
        if i % 3 == 0:
            s.add(
                pupil,
                "praktikum",
                "9",
                _at(y, 9, 15 + i % 10),
                {
                    "company": rng.choice(
                        [
                            "Autohaus Jung",
                            "Apotheke am Markt",
                            "Zahnarztpraxis Dr. Vogel",
                            "Siegerland Logistik GmbH",
                        ]
                    ),
                    "occupation": "",
                    "start": (today - dt.timedelta(days=4)).isoformat(),
                    "end": (today + dt.timedelta(days=10)).isoformat(),
                    "log": [
                        {
                            "date": (today - dt.timedelta(days=4)).isoformat(),
                            "activities": "Betrieb kennengelernt, Sicherheitseinweisung.",
                            "thoughts": "Alle waren nett, der Tag war lang.",
                        }
                    ],
                    "expectations": "Ich möchte sehen, wie ein normaler Arbeitstag aussieht.",
                    "reality": "",
                    "learned": "",
                    "strengths_shown": "",
                    "would_work_there": "",
                    "why": "",
                    "address": "",
                    "mentor": "",
                },
                done=False,
                share=("class_teacher",),
                review=ReviewState.REQUESTED if i % 6 == 0 else ReviewState.NONE,
            )

    # -- 10a: Elif's full portfolio -------------------------------------------------------------
    elif_ = pupils_by_class["10a"][0]
    self8 = {k: v for k, v in zip(q, [3, 2, 3, 2, 2, 4, 3, 2, 2, 3, 2, 2, 4, 2, 3], strict=False)}
    self9 = {k: v for k, v in zip(q, [3, 3, 3, 3, 3, 4, 3, 3, 3, 3, 3, 2, 4, 2, 3], strict=False)}
    self10 = {k: v for k, v in zip(q, [4, 3, 3, 4, 3, 4, 4, 3, 3, 4, 3, 3, 4, 2, 3], strict=False)}
    mother = {k: v for k, v in zip(q, [4, 4, 3, 4, 3, 4, 4, 4, 3, 3, 4, 3, 3, 2, 3], strict=False)}
    seeded_elif = (elif_.id, "strengths") in s.have
    if not seeded_elif:
        for grade, when, ratings, text in (
            (
                "8",
                _at(y - 2, 10, 6),
                self8,
                "Ich bin kreativ, aber vor der Klasse zu sprechen fällt mir schwer.",
            ),
            (
                "9",
                _at(y - 1, 9, 24),
                self9,
                "Im Praktikum habe ich gemerkt, dass ich gut im Team arbeite.",
            ),
            ("10", _at(y, 9, 16), self10, "Ich traue mir mehr zu als in Klasse 8."),
        ):
            s.add(
                elif_,
                "strengths",
                grade,
                when,
                {
                    "ratings": ratings,
                    "interests": ["gesundheit", "soziales", "naturwissenschaften"],
                    "hobbies": "Volleyball, Nachhilfe für meinen kleinen Bruder, Erste-Hilfe-AG",
                    "school_subjects": "Biologie, Chemie, Englisch",
                    "reflection": text,
                },
                share=("class_teacher", "stubo", "guardians") if grade == "10" else (),
                force=True,
            )
    s.add(
        elif_,
        "potenzialanalyse",
        "8",
        _at(y - 2, 11, 22),
        {
            "date": _day(y - 2, 11, 14),
            "provider": "Bildungswerk Siegen",
            "tasks": (
                "Ein Regal nach Plan bauen, eine Pflegesituation nachspielen, "
                "am PC eine Tabelle erstellen."
            ),
            "results_talk": (
                "Meine Mutter war dabei. Stärken: Sorgfalt, Umgang mit Menschen, Ausdauer."
            ),
            "strengths_found": "Sorgfalt, Einfühlungsvermögen, Ausdauer",
            "reflection": "Das Rollenspiel in der Pflege hat mir am meisten Spaß gemacht.",
        },
        share=("class_teacher", "stubo", "guardians"),
    )
    s.add(
        elif_,
        "berufsfelderkundung",
        "8",
        _at(y - 1, 3, 14),
        {
            "days": [
                {
                    "date": _day(y - 1, 3, 10),
                    "company": "Kreisklinikum Siegen",
                    "field": "gesundheit",
                    "activities": "Betten gemacht, Blutdruck messen gelernt, Essen verteilt.",
                    "liked": "Die Patientinnen waren dankbar.",
                    "disliked": "Der Krankenhausgeruch.",
                    "imagine": "yes",
                },
                {
                    "date": _day(y - 1, 3, 11),
                    "company": "Labor Dr. Hahn",
                    "field": "naturwissenschaften",
                    "activities": "Proben sortiert, beim Pipettieren zugeschaut.",
                    "liked": "Alles sehr genau und sauber.",
                    "disliked": "Wenig Kontakt mit Menschen.",
                    "imagine": "maybe",
                },
                {
                    "date": _day(y - 1, 3, 12),
                    "company": "Autohaus Jung",
                    "field": "metall",
                    "activities": "Reifen gewechselt.",
                    "liked": "Das Team war lustig.",
                    "disliked": "Schmutzige Hände, schwere Teile.",
                    "imagine": "no",
                },
            ],
            "want_to_know": "Medizinische Fachangestellte, Pflegefachfrau, Chemielaborantin",
        },
        share=("class_teacher", "stubo", "guardians"),
    )
    s.add(
        elif_,
        "praktikum",
        "9",
        _at(y, 2, 6),
        {
            "company": "Praxis Dr. Öztürk (Allgemeinmedizin)",
            "address": "Kölner Str. 12, 57072 Siegen",
            "mentor": "Frau Demir (MFA)",
            "occupation": "Medizinische Fachangestellte",
            "start": _day(y, 1, 19),
            "end": _day(y, 2, 6),
            "log": [
                {
                    "date": _day(y, 1, 19),
                    "activities": "Anmeldung kennengelernt, Karteikarten sortiert.",
                    "thoughts": "Aufgeregt, aber alle waren freundlich.",
                },
                {
                    "date": _day(y, 1, 20),
                    "activities": "Blutdruck gemessen, Wartezimmer aufgeräumt.",
                    "thoughts": "Blutdruck messen klappt schon gut.",
                },
                {
                    "date": _day(y, 1, 21),
                    "activities": "Beim EKG zugeschaut, Material aufgefüllt.",
                    "thoughts": "Spannend, wie viel man über das Herz sieht.",
                },
                {
                    "date": _day(y, 1, 22),
                    "activities": "Telefon mit Frau Demir zusammen betreut.",
                    "thoughts": "Am Telefon war ich unsicher.",
                },
            ],
            "expectations": "Ich dachte, ich würde nur zuschauen dürfen.",
            "reality": "Ich durfte viel selbst machen, sogar Blutdruck messen.",
            "learned": (
                "Wie wichtig Datenschutz in einer Praxis ist, und wie man ruhig bleibt, "
                "wenn es voll ist."
            ),
            "strengths_shown": "Zuverlässigkeit, Freundlichkeit, Sorgfalt",
            "would_work_there": "yes",
            "why": "Ich arbeite gern mit Menschen und finde Medizin spannend.",
        },
        share=("class_teacher", "stubo", "guardians"),
        review=ReviewState.REQUESTED,
    )
    overdue_day = (utcnow().date() - dt.timedelta(days=12)).isoformat()
    s.add(
        elif_,
        "goal",
        "10",
        _at(y, 9, 10),
        {
            "goal": "Ausbildungsplatz als Medizinische Fachangestellte finden",
            "why": "Das Praktikum hat mir gezeigt, dass der Beruf zu mir passt.",
            "steps": [
                {"text": "Lebenslauf fertig machen", "due_on": _day(y, 9, 30), "done": "yes"},
                {
                    "text": "Drei Praxen für eine Bewerbung heraussuchen",
                    "due_on": overdue_day,
                    "done": "no",
                },
                {
                    "text": "Termin bei der Berufsberatung",
                    "due_on": (utcnow().date() + dt.timedelta(days=30)).isoformat(),
                    "done": "no",
                },
            ],
            "state": "in_progress",
        },
        done=False,
        share=("class_teacher",),
    )
    s.add(
        elif_,
        "cv",
        "10",
        _at(y, 9, 28),
        {
            "address": "Sandstraße 5, 57072 Siegen",
            "phone": "0271 000000",
            "email": "elif@example.org",
            "education": [
                {
                    "from": f"08/{y - 6}",
                    "to": "",
                    "school": school.name,
                    "qualification": "Mittlerer Schulabschluss (angestrebt)",
                }
            ],
            "experience": [
                {
                    "from": f"01/{y}",
                    "to": f"02/{y}",
                    "company": "Praxis Dr. Öztürk",
                    "activity": "Schülerbetriebspraktikum",
                }
            ],
            "languages": "Deutsch, Türkisch (Muttersprache), Englisch (Schule)",
            "computer": "Word, PowerPoint",
            "interests": "Volleyball, Erste-Hilfe-AG",
            "other": "Schulsanitäterin seit Klasse 8",
        },
        share=("class_teacher", "stubo", "guardians"),
    )
    s.add(
        elif_,
        "reflection",
        "9",
        _at(y, 6, 20),
        {
            "title": "Nach dem Elternsprechtag",
            "text": "Wir haben über meine Noten in Mathe gesprochen. Ich will bis zum Halbjahr "
            "Nachhilfe nehmen, damit der Abschluss sicher ist.",
        },
    )
    if not db.session.scalar(
        sa.select(AssessmentRequest.id).where(AssessmentRequest.pupil_id == elif_.id)
    ):
        ext = s.add(
            elif_,
            "external_assessment",
            "9",
            _at(y - 1, 10, 8),
            {
                "rater_name": "Mama",
                "relation": "guardian",
                "ratings": mother,
                "comment": (
                    "Elif ist sehr zuverlässig und hilft allen. Sie darf sich mehr zutrauen."
                ),
                "reflection": (
                    "Mama findet mich pünktlicher als ich mich selbst. Stimmt vielleicht!"
                ),
            },
            force=True,
        )
        db.session.add_all(s.rows)
        db.session.flush()
        s.rows = []
        db.session.add(
            AssessmentRequest(
                school_id=school.id,
                pupil_id=elif_.id,
                token_hash=hash_token(secrets.token_urlsafe(32)),
                rater_name="Mama",
                relation="guardian",
                grade="9",
                created_at=_at(y - 1, 10, 1),
                expires_at=_at(y - 1, 10, 15),
                answered_at=_at(y - 1, 10, 4),
                answer={"ratings": mother, "comment": ext.data["comment"]},
                accepted_at=_at(y - 1, 10, 8),
                entry_id=ext.id,
            )
        )
    db.session.add_all(s.rows)
    db.session.flush()
