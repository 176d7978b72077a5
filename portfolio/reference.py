"""Default reference data: standard elements, qualities, occupational fields.

Schools get copies of the defaults as rows (StandardElement, Quality) that they can
adjust. Display names of the defaults go through gettext by key, so a school that
keeps a default name sees it in every language.
"""

from __future__ import annotations

from typing import NamedTuple

from portfolio.i18n import _l


class DefaultElement(NamedTuple):
    """A default standard element as schools get it (then adjustable per school)."""

    key: str
    name: object  # English msgid
    grades: str  # "8", "9,10", "EF,Q1"
    entry_kind: str | None  # an EntryKind, or "guidance" / "agreement"
    mandatory: bool
    description: object
    #: Half-year (1, 2) of its first grade in which it takes place; None: the whole grade.
    half_year: int | None = None
    #: One step per half-year of each grade (Beratung).
    every_half_year: bool = False
    #: Organised by the school (staff may know that the pupil took part); False: own work.
    school_organised: bool = True


#: The KAoA standard elements (the programme's defaults) and the pupil's own work.
DEFAULT_ELEMENTS: list[DefaultElement] = [
    DefaultElement(
        "strengths",
        _l("Strengths and interests"),
        "8,9,10",
        "strengths",
        True,
        _l("Rate your own strengths and interests, and ask others how they see you."),
        school_organised=False,
    ),
    DefaultElement(
        "potenzialanalyse",
        _l("Potential analysis"),
        "8",
        "potenzialanalyse",
        True,
        _l(
            "A day with an external provider to find out what you are good at, with a results talk."
        ),
        half_year=1,
    ),
    DefaultElement(
        "berufsfelderkundung",
        _l("Occupational field exploration"),
        "8",
        "berufsfelderkundung",
        True,
        _l("Three days in companies, one occupational field a day."),
        half_year=2,
    ),
    DefaultElement(
        "praktikum",
        _l("Work placement"),
        "9",
        "praktikum",
        True,
        _l("Two to three weeks in a company: daily log, report and evaluation."),
    ),
    DefaultElement(
        "praxiskurs",
        _l("Practical course"),
        "9,10",
        "praxiskurs",
        False,
        _l("Three or five days of practice in a company or with a provider, for selected pupils."),
    ),
    DefaultElement(
        "langzeitpraktikum",
        _l("Long-term placement"),
        "8,9,10",
        "langzeitpraktikum",
        False,
        _l("One or two days a week in a company for about a year."),
    ),
    DefaultElement(
        "beratung",
        _l("Guidance sessions"),
        "8,9,10",
        "guidance",
        True,
        _l("Talks with your class teacher, the StuBO or the Berufsberatung, every half-year."),
        every_half_year=True,
    ),
    DefaultElement(
        "ziele",
        _l("Goals"),
        "8,9,10",
        "goal",
        True,
        _l("What you want to reach next, and the steps to get there."),
        school_organised=False,
    ),
    DefaultElement(
        "anschlussvereinbarung",
        _l("Transition agreement"),
        "9,10,Q1",
        "agreement",
        True,
        _l("Your plan for after school, agreed and signed with your parents and your teacher."),
        half_year=2,
    ),
    DefaultElement(
        "lebenslauf",
        _l("CV"),
        "9,10",
        "cv",
        False,
        _l("Your CV for applications."),
        school_organised=False,
    ),
    DefaultElement(
        "sek2_standort",
        _l("Sek II: Where do I stand?"),
        "EF",
        "sek2_standort",
        True,
        _l("Where do I stand? What interests me?"),
    ),
    DefaultElement(
        "sek2_ek1",
        _l("Sek II: Decision competence I"),
        "EF",
        "sek2_ek1",
        True,
        _l("What are my strengths and wishes?"),
    ),
    DefaultElement(
        "sek2_praxis",
        _l("Sek II: Practical elements"),
        "EF,Q1",
        "sek2_praxis",
        True,
        _l("At least five days of practice in a company or university."),
    ),
    DefaultElement(
        "sek2_ek2",
        _l("Sek II: Decision competence II"),
        "Q1",
        "sek2_ek2",
        True,
        _l("What are my next planning and decision steps?"),
    ),
    DefaultElement(
        "studienorientierung",
        _l("Study orientation"),
        "EF,Q1,Q2",
        "studienorientierung",
        False,
        _l("Self-assessments such as the Agentur für Arbeit's Check-U, university visits."),
        school_organised=False,
    ),
]
ELEMENT_NAMES = {el.key: el.name for el in DEFAULT_ELEMENTS}
ELEMENT_DESCRIPTIONS = {el.key: el.description for el in DEFAULT_ELEMENTS}

DEFAULT_QUALITIES: list[tuple[str, object]] = [
    ("reliability", _l("Reliability")),
    ("punctuality", _l("Punctuality")),
    ("care", _l("Working carefully")),
    ("teamwork", _l("Teamwork")),
    ("communication", _l("Communication")),
    ("helpfulness", _l("Helpfulness")),
    ("politeness", _l("Politeness")),
    ("responsibility", _l("Sense of responsibility")),
    ("independence", _l("Working independently")),
    ("motivation", _l("Motivation")),
    ("perseverance", _l("Perseverance")),
    ("conflict", _l("Dealing with conflicts")),
    ("creativity", _l("Creativity")),
    ("manual_skill", _l("Manual skill")),
    ("logical_thinking", _l("Logical thinking")),
]
QUALITY_NAMES = dict(DEFAULT_QUALITIES)

#: Four-step scale of the self- and external assessment (no grades, no scores).
SCALE: list[tuple[int, object]] = [
    (1, _l("not yet")),
    (2, _l("a little")),
    (3, _l("quite well")),
    (4, _l("very well")),
]

#: Occupational fields (Berufsfelder) of the Bundesagentur für Arbeit.
OCCUPATIONAL_FIELDS: list[tuple[str, object]] = [
    ("bau", _l("Construction, architecture, surveying")),
    ("dienstleistung", _l("Services")),
    ("elektro", _l("Electrical engineering")),
    ("gesellschaft", _l("Social sciences and humanities")),
    ("gesundheit", _l("Health")),
    ("it", _l("IT and computers")),
    ("kunst", _l("Art, culture and design")),
    ("landwirtschaft", _l("Agriculture, nature and environment")),
    ("medien", _l("Media")),
    ("metall", _l("Metal and mechanical engineering")),
    ("naturwissenschaften", _l("Natural sciences")),
    ("produktion", _l("Production and manufacturing")),
    ("soziales", _l("Social work and education")),
    ("technik", _l("Technology")),
    ("verkehr", _l("Transport and logistics")),
    ("wirtschaft", _l("Business and administration")),
]
FIELD_NAMES = dict(OCCUPATIONAL_FIELDS)


def element_name(element) -> str:
    """Display name of a StandardElement: the school's own, else the translated default."""
    if element.name:
        return element.name
    return str(ELEMENT_NAMES.get(element.key, element.key))


def element_description(element) -> str:
    if element.description:
        return element.description
    desc = ELEMENT_DESCRIPTIONS.get(element.key)
    return str(desc) if desc else ""


def quality_name(quality) -> str:
    if quality.name:
        return quality.name
    return str(QUALITY_NAMES.get(quality.key, quality.key))
