"""Creating schools, school years, classes and accounts (CLI, seed, import and admin)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import sqlalchemy as sa

from portfolio import clock
from portfolio.auth.passwords import readable_password
from portfolio.extensions import db
from portfolio.models import (
    GRADES,
    ClassMembership,
    CounsellorAssignment,
    GuardianLink,
    Quality,
    Role,
    School,
    SchoolClass,
    SchoolYear,
    StandardElement,
    TeacherClass,
    User,
)
from portfolio.reference import DEFAULT_ELEMENTS, DEFAULT_QUALITIES


class AccountError(ValueError):
    """A clear, user-facing reason why an account operation cannot be done."""


def school_year_start(today: dt.date | None = None) -> int:
    """Calendar year in which the current school year began (NRW: 1 August)."""
    today = today or clock.today()
    return today.year if today.month >= 8 else today.year - 1


def create_school(name: str, schulnummer: str, school_form: str, municipality: str) -> School:
    schulnummer = schulnummer.strip()
    if not re.fullmatch(r"\d{6}", schulnummer):
        raise AccountError(f"Schulnummer must have six digits, got {schulnummer!r}.")
    if db.session.scalar(sa.select(School).where(School.schulnummer == schulnummer)):
        raise AccountError(f"A school with Schulnummer {schulnummer} exists already.")
    school = School(
        name=name.strip(),
        schulnummer=schulnummer,
        school_form=school_form.strip(),
        municipality=municipality.strip(),
    )
    db.session.add(school)
    db.session.flush()
    current_year(school)
    seed_reference_data(school)
    return school


def seed_reference_data(school: School) -> None:
    """Copy the default standard elements and qualities to the school (idempotent)."""
    have_el = set(
        db.session.scalars(
            sa.select(StandardElement.key).where(StandardElement.school_id == school.id)
        )
    )
    for position, el in enumerate(DEFAULT_ELEMENTS):
        if el.key not in have_el:
            db.session.add(
                StandardElement(
                    school_id=school.id,
                    key=el.key,
                    grades=el.grades,
                    entry_kind=el.entry_kind,
                    mandatory=el.mandatory,
                    position=position,
                    half_year=el.half_year,
                    every_half_year=el.every_half_year,
                    school_organised=el.school_organised,
                )
            )
    have_q = set(db.session.scalars(sa.select(Quality.key).where(Quality.school_id == school.id)))
    for position, (key, _name) in enumerate(DEFAULT_QUALITIES):
        if key not in have_q:
            db.session.add(Quality(school_id=school.id, key=key, position=position))


def get_school(schulnummer: str) -> School:
    school = db.session.scalar(
        sa.select(School).where(School.schulnummer == str(schulnummer).strip())
    )
    if school is None:
        raise AccountError(f"No school with Schulnummer {schulnummer}.")
    return school


def current_year(school: School, today: dt.date | None = None) -> SchoolYear:
    """The school's current school year, created if the school has none yet."""
    year = db.session.scalar(
        sa.select(SchoolYear).where(
            SchoolYear.school_id == school.id, SchoolYear.is_current.is_(True)
        )
    )
    if year is None:
        start = school_year_start(today)
        year = SchoolYear(
            school_id=school.id,
            name=SchoolYear.name_for(start),
            starts_on=dt.date(start, 8, 1),
            ends_on=dt.date(start + 1, 7, 31),
            is_current=True,
        )
        db.session.add(year)
        db.session.flush()
    return year


def grade_of_class_name(name: str) -> str:
    """'9a' -> '9', 'EF' -> 'EF', 'Q1-2' -> 'Q1', '10' -> '10'."""
    upper = name.strip().upper()
    for g in ("EF", "Q1", "Q2"):
        if upper.startswith(g):
            return g
    match = re.match(r"(\d{1,2})", upper)
    if match and match.group(1) in GRADES:
        return match.group(1)
    raise AccountError(f"Cannot tell the grade of class {name!r} (expected e.g. 8a, 10b, EF, Q1).")


def get_or_create_class(
    school: School, name: str, year: SchoolYear | None = None, grade: str | None = None
) -> SchoolClass:
    year = year or current_year(school)
    cls = db.session.scalar(
        sa.select(SchoolClass).where(
            SchoolClass.school_year_id == year.id, SchoolClass.name == name.strip()
        )
    )
    if cls is None:
        cls = SchoolClass(
            school_id=school.id,
            school_year_id=year.id,
            name=name.strip(),
            grade=grade or grade_of_class_name(name),
        )
        db.session.add(cls)
        db.session.flush()
    return cls


def get_class(school: School, name: str) -> SchoolClass:
    year = current_year(school)
    cls = db.session.scalar(
        sa.select(SchoolClass).where(
            SchoolClass.school_year_id == year.id, SchoolClass.name == name.strip()
        )
    )
    if cls is None:
        raise AccountError(f"No class {name!r} in {school.name} in school year {year.name}.")
    return cls


def _ascii(text: str) -> str:
    text = text.replace("ß", "ss").replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    text = text.replace("Ä", "Ae").replace("Ö", "Oe").replace("Ü", "Ue")
    # Letters that NFKD does not decompose to ASCII (Turkish, Polish, Nordic ...).
    text = text.translate(
        str.maketrans(
            {
                "ı": "i",
                "İ": "I",
                "ł": "l",
                "Ł": "L",
                "ø": "o",
                "Ø": "O",
                "đ": "d",
                "Đ": "D",
                "æ": "ae",
                "Æ": "Ae",
                "œ": "oe",
                "Œ": "Oe",
                "þ": "th",
            }
        )
    )
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def unique_username(first_name: str, last_name: str) -> str:
    """firstname.lastname in ASCII, with a number when taken."""
    base = f"{_ascii(first_name) or 'user'}.{_ascii(last_name) or 'x'}"[:70]
    taken = set(db.session.scalars(sa.select(User.username).where(User.username.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}{n}" in taken:
        n += 1
    return f"{base}{n}"


def get_user(username: str, school: School | None = None) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == username.strip().lower()))
    if user is None or (school is not None and user.school_id != school.id):
        where = f" in {school.name}" if school else ""
        raise AccountError(f"No user {username!r}{where}.")
    return user


def create_user(
    school: School,
    *,
    roles: list[Role],
    first_name: str,
    last_name: str,
    username: str | None = None,
    password: str | None = None,
    must_change_password: bool = True,
    password_hash: str | None = None,
    **fields,
) -> tuple[User, str]:
    """Create an account; returns it with its (initial) password, shown once."""
    if not roles:
        raise AccountError("A user needs at least one role.")
    username = (username or unique_username(first_name, last_name)).strip().lower()
    if not re.fullmatch(r"[a-z0-9._-]{3,80}", username):
        raise AccountError(f"Username {username!r}: use 3-80 letters a-z, digits, '.', '_' or '-'.")
    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        raise AccountError(f"The username {username!r} is taken.")
    password = password or readable_password()
    user = User(
        school_id=school.id,
        username=username,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        must_change_password=must_change_password,
        **fields,
    )
    if password_hash:  # a hash of this same password, computed once for many accounts
        user.password_hash = password_hash
    else:
        user.set_password(password)
    for role in roles:
        user.add_role(Role(role))
    db.session.add(user)
    db.session.flush()
    return user, password


def put_in_class(pupil: User, cls: SchoolClass) -> ClassMembership:
    """Make `cls` the pupil's class for its school year (keeps other years' history)."""
    membership = db.session.scalar(
        sa.select(ClassMembership).where(
            ClassMembership.pupil_id == pupil.id,
            ClassMembership.school_year_id == cls.school_year_id,
        )
    )
    if membership is None:
        membership = ClassMembership(
            school_id=pupil.school_id,
            pupil_id=pupil.id,
            class_id=cls.id,
            school_year_id=cls.school_year_id,
        )
        db.session.add(membership)
    else:
        membership.class_id = cls.id
    db.session.flush()
    return membership


def assign_teacher(teacher: User, cls: SchoolClass) -> None:
    if not db.session.scalar(
        sa.select(TeacherClass.id).where(
            TeacherClass.teacher_id == teacher.id, TeacherClass.class_id == cls.id
        )
    ):
        db.session.add(
            TeacherClass(school_id=teacher.school_id, teacher_id=teacher.id, class_id=cls.id)
        )


def link_guardian(guardian: User, pupil: User) -> None:
    if guardian.school_id != pupil.school_id:
        raise AccountError("Guardian and pupil belong to different schools.")
    if not db.session.scalar(
        sa.select(GuardianLink.id).where(
            GuardianLink.guardian_id == guardian.id, GuardianLink.pupil_id == pupil.id
        )
    ):
        db.session.add(
            GuardianLink(school_id=pupil.school_id, guardian_id=guardian.id, pupil_id=pupil.id)
        )


def assign_counsellor(counsellor: User, pupil: User) -> None:
    if counsellor.school_id != pupil.school_id:
        raise AccountError("Counsellor and pupil belong to different schools.")
    if not db.session.scalar(
        sa.select(CounsellorAssignment.id).where(
            CounsellorAssignment.counsellor_id == counsellor.id,
            CounsellorAssignment.pupil_id == pupil.id,
        )
    ):
        db.session.add(
            CounsellorAssignment(
                school_id=pupil.school_id, counsellor_id=counsellor.id, pupil_id=pupil.id
            )
        )


def year_classes(school: School) -> list[SchoolClass]:
    """This school year's classes of the school, by grade and name."""
    year = current_year(school)
    return sorted(
        db.session.scalars(sa.select(SchoolClass).where(SchoolClass.school_year_id == year.id)),
        key=lambda c: (c.grade_order, c.name),
    )


def current_class(pupil: User) -> SchoolClass | None:
    return db.session.scalar(
        sa.select(SchoolClass)
        .join(ClassMembership, ClassMembership.class_id == SchoolClass.id)
        .join(SchoolYear, SchoolYear.id == ClassMembership.school_year_id)
        .where(ClassMembership.pupil_id == pupil.id, SchoolYear.is_current.is_(True))
    )
