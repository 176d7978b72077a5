"""The demo school: a Realschule in Siegen with classes 8a, 9a and 10a.

`seed_demo()` is idempotent: running it again adds only what is missing.
"""

from __future__ import annotations

import datetime as dt
import random

import sqlalchemy as sa

from portfolio import accounts
from portfolio.extensions import db
from portfolio.models import Consent, ConsentPurpose, Role, School, User

DEMO_SCHULNUMMER = "199001"
DEMO_PASSWORD = "Demo-Berufswahl-26"

FIRST_NAMES = [
    "Lukas",
    "Mia",
    "Finn",
    "Emma",
    "Leon",
    "Hannah",
    "Elias",
    "Sophie",
    "Noah",
    "Lea",
    "Ben",
    "Marie",
    "Paul",
    "Lina",
    "Jonas",
    "Emilia",
    "Luis",
    "Clara",
    "Felix",
    "Ida",
    "Elif",
    "Yusuf",
    "Zeynep",
    "Emir",
    "Amira",
    "Omar",
    "Layla",
    "Karim",
    "Nour",
    "Ahmad",
    "Anastasia",
    "Maksym",
    "Sofiia",
    "Daniil",
    "Oleksandra",
    "Artem",
    "Zofia",
    "Jakub",
    "Natalia",
    "Kacper",
    "Aylin",
    "Mehmet",
    "Dilara",
    "Can",
    "Milena",
    "Matteo",
    "Giulia",
    "Luca",
    "Sara",
    "Adrian",
]
LAST_NAMES = [
    "Becker",
    "Schneider",
    "Müller",
    "Schmidt",
    "Klein",
    "Wagner",
    "Hoffmann",
    "Weber",
    "Krämer",
    "Jung",
    "Schäfer",
    "Fuchs",
    "Braun",
    "Vogel",
    "Hahn",
    "Yılmaz",
    "Kaya",
    "Demir",
    "Öztürk",
    "Şahin",
    "Al-Hassan",
    "Haddad",
    "Nasser",
    "Khalil",
    "Ibrahim",
    "Kovalenko",
    "Shevchenko",
    "Bondarenko",
    "Ivanova",
    "Petrov",
    "Nowak",
    "Kowalski",
    "Wiśniewska",
    "Lewandowski",
    "Rossi",
    "Esposito",
    "Dimitriou",
    "Papadopoulos",
    "Berisha",
    "Krasniqi",
]

#: Fixed demo accounts: (role label, username, first, last, roles, extra)
STAFF = [
    ("School admin", "schulleitung", "Petra", "Hoffmann", [Role.ADMIN]),
    ("StuBO", "stubo", "Markus", "Reinhardt", [Role.STUBO, Role.TEACHER]),
    ("Class teacher 8a", "klassenlehrerin8a", "Sabine", "Wetzlar", [Role.TEACHER]),
    ("Class teacher 9a", "klassenlehrer9a", "Thomas", "Heinz", [Role.TEACHER]),
    ("Class teacher 10a", "klassenlehrerin10a", "Aylin", "Kara", [Role.TEACHER]),
    ("Counsellor (Berufsberatung)", "berufsberatung", "Jana", "Lorenz", [Role.COUNSELLOR]),
]
FEATURED_PUPILS = {
    # class: (username, first, last, date of birth)
    "8a": ("lukas.becker", "Lukas", "Becker", dt.date(2012, 5, 14)),
    "9a": ("amira.haddad", "Amira", "Haddad", dt.date(2011, 3, 2)),
    "10a": ("elif.yilmaz", "Elif", "Yılmaz", dt.date(2010, 9, 23)),
}
GUARDIANS = [
    # username, first, last, locale, child usernames
    ("eltern.yilmaz", "Ayşe", "Yılmaz", "tr", ["elif.yilmaz"]),
    ("eltern.haddad", "Samir", "Haddad", "ar", ["amira.haddad"]),
    ("eltern.becker", "Stefanie", "Becker", "de", ["lukas.becker"]),
]
PUPILS_PER_CLASS = 25


_HASHES: dict[str, str] = {}


def _get_or_create_user(school: School, username: str, **kw) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        user, _pw = accounts.create_user(
            school,
            username=username,
            password=DEMO_PASSWORD,
            must_change_password=False,
            password_hash=_HASHES.get("demo"),
            **kw,
        )
        _HASHES["demo"] = user.password_hash  # hashing is slow on purpose: do it once
    return user


def seed_demo() -> list[tuple[str, str]]:
    """Create the demo school (flushes; the caller commits); return the logins to print."""
    school = db.session.scalar(sa.select(School).where(School.schulnummer == DEMO_SCHULNUMMER))
    if school is None:
        school = accounts.create_school(
            "Städtische Realschule Am Giersberg (Demo)", DEMO_SCHULNUMMER, "Realschule", "Siegen"
        )
    school.agreement_deadline = dt.date(accounts.school_year_start() + 1, 5, 31)
    year = accounts.current_year(school)
    classes = {
        name: accounts.get_or_create_class(school, name, year) for name in ("8a", "9a", "10a")
    }

    staff = {}
    for _label, username, first, last, roles in STAFF:
        staff[username] = _get_or_create_user(
            school, username, roles=roles, first_name=first, last_name=last
        )
    accounts.assign_teacher(staff["klassenlehrerin8a"], classes["8a"])
    accounts.assign_teacher(staff["klassenlehrer9a"], classes["9a"])
    accounts.assign_teacher(staff["klassenlehrerin10a"], classes["10a"])
    accounts.assign_teacher(staff["stubo"], classes["10a"])

    rng = random.Random(2026)
    pupils_by_class: dict[str, list[User]] = {}
    for cls_name, cls in classes.items():
        grade = int(cls.grade)
        birth_year = accounts.school_year_start() - grade - 6
        members = []
        username, first, last, dob = FEATURED_PUPILS[cls_name]
        featured = _get_or_create_user(
            school,
            username,
            roles=[Role.PUPIL],
            first_name=first,
            last_name=last,
            date_of_birth=dob,
        )
        accounts.put_in_class(featured, cls)
        members.append(featured)
        for i in range(PUPILS_PER_CLASS - 1):
            first = rng.choice(FIRST_NAMES)
            last = rng.choice(LAST_NAMES)
            username = f"{accounts._ascii(first)}.{accounts._ascii(last)}.{cls_name}{i + 1:02d}"
            pupil = _get_or_create_user(
                school,
                username,
                roles=[Role.PUPIL],
                first_name=first,
                last_name=last,
                date_of_birth=dt.date(birth_year, rng.randint(1, 12), rng.randint(1, 28)),
            )
            accounts.put_in_class(pupil, cls)
            members.append(pupil)
        pupils_by_class[cls_name] = members

    for username, first, last, locale, children in GUARDIANS:
        guardian = _get_or_create_user(
            school, username, roles=[Role.GUARDIAN], first_name=first, last_name=last, locale=locale
        )
        for child in children:
            accounts.link_guardian(guardian, accounts.get_user(child))

    counsellor = staff["berufsberatung"]
    for pupil in pupils_by_class["9a"][:8] + pupils_by_class["10a"][:12]:
        accounts.assign_counsellor(counsellor, pupil)
    db.session.flush()
    # Consent for counsellor access: given by the older pupils themselves.
    for pupil in pupils_by_class["10a"][:10] + pupils_by_class["9a"][:4]:
        has = db.session.scalar(
            sa.select(Consent.id).where(
                Consent.pupil_id == pupil.id,
                Consent.purpose == ConsentPurpose.COUNSELLOR_ACCESS.value,
            )
        )
        if not has:
            db.session.add(
                Consent(
                    school_id=school.id,
                    pupil_id=pupil.id,
                    purpose=ConsentPurpose.COUNSELLOR_ACCESS.value,
                    given_by_id=pupil.id,
                    given_by_role="pupil",
                )
            )
    db.session.flush()

    _seed_content(school, pupils_by_class, staff)
    db.session.flush()

    logins = [(label, username) for label, username, *_rest in STAFF]
    logins += [("Guardian (Elif's family, Turkish)", "eltern.yilmaz")]
    logins += [
        ("Pupil, grade 8 (8a)", "lukas.becker"),
        ("Pupil, grade 9 (9a)", "amira.haddad"),
        ("Pupil, grade 10 (10a)", "elif.yilmaz"),
    ]
    return logins


def _seed_content(
    school: School, pupils_by_class: dict[str, list[User]], staff: dict[str, User]
) -> None:
    """Portfolio content of the demo pupils; each feature adds its part here."""
    from portfolio.seed.pupil import seed_portfolios

    seed_portfolios(school, pupils_by_class, staff)  # first: others attach to these entries

    from portfolio.seed.agreement import seed_agreements
    from portfolio.seed.documents import seed_documents

    seed_documents(school, pupils_by_class, staff)
    seed_agreements(school, pupils_by_class, staff)

    from portfolio.seed.guidance import seed_guidance

    seed_guidance(school, pupils_by_class, staff)

    from portfolio.seed.review import seed_review_demo

    seed_review_demo(school, pupils_by_class, staff)
