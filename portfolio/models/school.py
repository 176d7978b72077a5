"""The tenant (school), its school years and classes, and its reference data."""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portfolio.models.base import Base, SchoolOwned, Timestamped, utcnow

#: Grade levels in school order: Sek I numbers and the Sek II names.
GRADES: tuple[str, ...] = ("5", "6", "7", "8", "9", "10", "11", "12", "13", "EF", "Q1", "Q2")
#: The grade that follows each grade at the school-year rollover (None: pupils leave).
NEXT_GRADE: dict[str, str | None] = {
    "5": "6",
    "6": "7",
    "7": "8",
    "8": "9",
    "9": "10",
    "10": None,
    "11": "12",
    "12": "13",
    "13": None,
    "EF": "Q1",
    "Q1": "Q2",
    "Q2": None,
}
#: Sort key of a grade in the career-orientation sequence (EF follows 10).
GRADE_ORDER: dict[str, int] = {
    "5": 5,
    "6": 6,
    "7": 7,
    "8": 8,
    "9": 9,
    "10": 10,
    "EF": 11,
    "Q1": 12,
    "Q2": 13,
    "11": 11,
    "12": 12,
    "13": 13,
}

SCHOOL_FORMS: tuple[str, ...] = (
    "Hauptschule",
    "Realschule",
    "Sekundarschule",
    "Gesamtschule",
    "Gymnasium",
    "Förderschule",
    "Primusschule",
    "Berufskolleg",
    "Weiterbildungskolleg",
)


class School(Timestamped, Base):
    __tablename__ = "school"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    schulnummer: Mapped[str] = mapped_column(sa.String(6), unique=True)
    school_form: Mapped[str] = mapped_column(sa.String(40))
    municipality: Mapped[str] = mapped_column(sa.String(120))
    #: Age from which a pupil gives consent themself; below it a guardian does.
    consent_age: Mapped[int] = mapped_column(default=14)
    #: Days after leaving until `purge-expired` deletes a pupil (max 5 years).
    retention_days: Mapped[int] = mapped_column(default=365)
    #: Month and day by which grade-9 pupils should have a signed Anschlussvereinbarung.
    agreement_deadline: Mapped[dt.date | None] = mapped_column(default=None)
    #: Changes with every change of the school's standard elements (a new random value on
    #: flush, portfolio/progress.py): app processes keep the elements they read under it.
    #: A migration or SQL that changes standard_element rows sets a new value too.
    elements_version: Mapped[str] = mapped_column(
        sa.String(32), default=lambda: new_elements_version()
    )

    years: Mapped[list[SchoolYear]] = relationship(
        back_populates="school", order_by="SchoolYear.starts_on"
    )


def new_elements_version() -> str:
    return secrets.token_hex(8)


def second_half_default(context) -> dt.date:
    """NRW: the second half-year starts on 1 February of the school year's second calendar year."""
    starts_on = context.get_current_parameters()["starts_on"]
    return dt.date(starts_on.year + 1, 2, 1)


class SchoolYear(SchoolOwned, Base):
    __tablename__ = "school_year"
    __table_args__ = (sa.UniqueConstraint("school_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(9))  # "2026/27"
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    #: First day of the second half-year (NRW: 1 February). Progress counts the elements
    #: that repeat every half-year (Beratung) per half, split on this date.
    second_half_on: Mapped[dt.date] = mapped_column(default=second_half_default)
    is_current: Mapped[bool] = mapped_column(default=False)

    school: Mapped[School] = relationship(back_populates="years")
    classes: Mapped[list[SchoolClass]] = relationship(
        back_populates="school_year", order_by="SchoolClass.name"
    )

    @staticmethod
    def name_for(start_year: int) -> str:
        return f"{start_year}/{(start_year + 1) % 100:02d}"


class SchoolClass(SchoolOwned, Base):
    __tablename__ = "school_class"
    __table_args__ = (sa.UniqueConstraint("school_year_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_year_id: Mapped[int] = mapped_column(sa.ForeignKey("school_year.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(20))  # "9a", "EF", "Q1-2"
    grade: Mapped[str] = mapped_column(sa.String(2))  # one of GRADES

    school_year: Mapped[SchoolYear] = relationship(back_populates="classes")

    @property
    def grade_order(self) -> int:
        return GRADE_ORDER.get(self.grade, 0)


class StandardElement(SchoolOwned, Base):
    """A KAoA standard element as a school runs it: reference data, adjustable."""

    __tablename__ = "standard_element"
    __table_args__ = (sa.UniqueConstraint("school_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable key of a default element ("potenzialanalyse"), or a school's own key.
    key: Mapped[str] = mapped_column(sa.String(40))
    #: Name as the school calls it; None means the translated default name.
    name: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    description: Mapped[str | None] = mapped_column(sa.Text, default=None)
    #: Grades in which it takes place, e.g. "8" or "9,10" or "EF".
    grades: Mapped[str] = mapped_column(sa.String(40))
    #: Entry kind (portfolio.models.portfolio.EntryKind) documenting it.
    entry_kind: Mapped[str | None] = mapped_column(sa.String(40), default=None)
    position: Mapped[int] = mapped_column(default=0)
    mandatory: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    #: Half-year (1 or 2) of its first grade in which it takes place, e.g. the
    #: Potenzialanalyse in 8/1; in later grades, and when None, the whole grade.
    half_year: Mapped[int | None] = mapped_column(default=None)
    #: Takes place every half-year (Beratung): one step per half-year of each grade.
    every_half_year: Mapped[bool] = mapped_column(default=False)
    #: The school organises it, so staff may know that the pupil took part. False: the
    #: pupil's own work (strengths, goals, CV), whose state only the pupil sees.
    school_organised: Mapped[bool] = mapped_column(default=True)

    @property
    def grade_list(self) -> list[str]:
        return [g.strip() for g in self.grades.split(",") if g.strip()]


class Quality(SchoolOwned, Base):
    """A quality rated in self- and external assessment (reliability, teamwork, ...)."""

    __tablename__ = "quality"
    __table_args__ = (sa.UniqueConstraint("school_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
