"""Demo agreements: Elif's signed version 1 and her draft version 2, Amira's draft, and
signed agreements of other 10a pupils so that the anonymous statistics have data."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from portfolio import accounts
from portfolio.extensions import db
from portfolio.models import Agreement, AgreementSignature, School, User, utcnow


def _at(year: int, month: int, day: int, hour: int = 12) -> dt.datetime:
    """A demo time, never in the future (early in a school year, September is)."""
    return min(dt.datetime(year, month, day, hour, tzinfo=dt.UTC), utcnow())


def _sign(agreement: Agreement, role: str, name: str, user: User | None, when: dt.datetime) -> None:
    agreement.signatures.append(
        AgreementSignature(
            school_id=agreement.school_id,
            role=role,
            user_id=user.id if user else None,
            name=name,
            signed_at=when,
        )
    )


def _signed(
    school: School,
    pupil: User,
    teacher: User,
    *,
    number: int,
    grade: str,
    decision: str,
    data: dict,
    when: dt.datetime,
    guardian: User | None = None,
) -> Agreement:
    agreement = Agreement(
        school_id=school.id,
        pupil_id=pupil.id,
        number=number,
        grade=grade,
        decision=decision,
        data=data,
        created_at=when - dt.timedelta(days=7),
        updated_at=when + dt.timedelta(hours=1),
        edited_at=when,
        locked_at=when + dt.timedelta(hours=1),
    )
    _sign(agreement, "pupil", pupil.full_name, pupil, when)
    guardian_name = guardian.full_name if guardian else f"Erziehungsberechtigte/r {pupil.last_name}"
    _sign(agreement, "guardian", guardian_name, guardian, when + dt.timedelta(minutes=5))
    _sign(agreement, "teacher", teacher.full_name, teacher, when + dt.timedelta(hours=1))
    db.session.add(agreement)
    return agreement


OTHER_PLANS = [
    ("dual", "Kfz-Mechatroniker/in", ["elektro", "metall"]),
    ("dual", "Kaufmann/-frau im Einzelhandel", ["dienstleistung"]),
    ("dual", "Tischler/in", ["bau"]),
    ("dual", "Medizinische/r Fachangestellte/r", ["gesundheit"]),
    ("dual", "Elektroniker/in", ["elektro"]),
    ("berufskolleg", "Erzieher/in", ["gesellschaft"]),
    ("berufskolleg", "Gestaltungstechnische/r Assistent/in", ["kunst"]),
    ("oberstufe", "Lehrer/in", ["gesellschaft"]),
    ("freiwilligendienst", "Pflegefachkraft", ["gesundheit"]),
]


def seed_agreements(
    school: School, pupils_by_class: dict[str, list[User]], staff: dict[str, User]
) -> None:
    """Add the demo agreements of pupils who have none (idempotent; no commit)."""
    have = set(
        db.session.scalars(sa.select(Agreement.pupil_id).where(Agreement.school_id == school.id))
    )
    year = accounts.school_year_start()
    teacher10 = staff["klassenlehrerin10a"]
    class10 = pupils_by_class["10a"]
    elif_ = next(p for p in class10 if p.username == "elif.yilmaz")

    if elif_.id not in have:
        guardian = accounts.get_user("eltern.yilmaz")
        contacts = [
            {
                "name": "Jana Lorenz",
                "role": "Berufsberatung, Agentur für Arbeit Siegen",
                "contact": "Sprechstunde dienstags in der Schule",
            },
            {"name": "Aylin Kara", "role": "Klassenlehrerin", "contact": "über die Schule"},
        ]
        v1 = {
            "dream_job": "Mechatronikerin",
            "strengths": "Ich arbeite gern mit den Händen, bin genau und gut in Mathe und Physik.",
            "fields": ["elektro", "metall"],
            "next_step": "Praktikum in einem Kfz- oder Industriebetrieb in Klasse 10 suchen.",
            "steps": [
                {
                    "text": "Beim BIZ über Ausbildungen in der Mechatronik informieren",
                    "due_on": f"{year}-06-15",
                    "priority": 1,
                },
                {
                    "text": "Drei Betriebe für ein Praktikum anschreiben",
                    "due_on": f"{year}-09-30",
                    "priority": 2,
                },
            ],
            "contacts": contacts,
        }
        _signed(
            school,
            elif_,
            teacher10,
            number=1,
            grade="9",
            decision="dual",
            data=v1,
            when=_at(year, 5, 12, 9),
            guardian=guardian,
        )
        v2 = {
            **v1,
            "dream_job": "Mechatronikerin (Kfz oder Industrie)",
            "next_step": "Bis Oktober bei drei Betrieben um einen Ausbildungsplatz bewerben.",
            "steps": [
                {
                    "text": "Bewerbungsmappe mit Praktikumszeugnis fertigstellen",
                    "due_on": f"{year}-10-01",
                    "priority": 1,
                },
                {
                    "text": "Bewerbungen an Autohaus Sieg-Mobil und zwei Industriebetriebe",
                    "due_on": f"{year}-10-31",
                    "priority": 2,
                },
                {
                    "text": (
                        "Termin bei der Berufsberatung zur Vorbereitung auf Vorstellungsgespräche"
                    ),
                    "due_on": f"{year}-11-15",
                    "priority": 3,
                },
            ],
        }
        db.session.add(
            Agreement(
                school_id=school.id,
                pupil_id=elif_.id,
                number=2,
                grade="10",
                decision="dual",
                data=v2,
                created_at=_at(year, 9, 20),
                updated_at=_at(year, 9, 22),
                edited_at=_at(year, 9, 22),
            )
        )

    amira = next(p for p in pupils_by_class["9a"] if p.username == "amira.haddad")
    if amira.id not in have:
        db.session.add(
            Agreement(
                school_id=school.id,
                pupil_id=amira.id,
                number=1,
                grade="9",
                decision="berufskolleg",
                data={
                    "dream_job": "Pharmazeutisch-technische Assistentin",
                    "strengths": "Chemie und Biologie, sorgfältiges Arbeiten.",
                    "fields": ["gesundheit", "naturwissenschaften"],
                    "next_step": "Am Tag der offenen Tür des Berufskollegs teilnehmen.",
                    "steps": [
                        {
                            "text": "Anmeldefristen des Berufskollegs herausfinden",
                            "due_on": f"{year + 1}-01-31",
                            "priority": 1,
                        }
                    ],
                    "contacts": [],
                },
                created_at=_at(year, 11, 3),
                updated_at=_at(year, 11, 3),
                edited_at=_at(year, 11, 3),
            )
        )

    others = [p for p in class10 if p.id != elif_.id][: len(OTHER_PLANS)]
    for i, (pupil, (decision, job, fields)) in enumerate(zip(others, OTHER_PLANS, strict=False)):
        if pupil.id in have:
            continue
        _signed(
            school,
            pupil,
            teacher10,
            number=1,
            grade="9",
            decision=decision,
            data={
                "dream_job": job,
                "fields": fields,
                "strengths": "",
                "next_step": "Bewerbungen bzw. Anmeldung im Herbst der Klasse 10.",
                "steps": [],
                "contacts": [],
            },
            when=_at(year, 5, 4 + i, 10),
        )
