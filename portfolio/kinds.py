"""The portfolio's vocabulary: sections, entry kinds, their fields, states and labels.

This is the single description of the portfolio's content and of the words for it.
The Berufswahlpass sections (binder order) with their labels, the entry kinds with
their fields, guiding prompts, repeating groups and the grades they are meant for, the
labels of entry and review states, and the audiences a pupil shares with live here;
models, forms, pages, the PDF and the JSON export derive from it, so a field or a label
changed here changes everywhere. (How an entry is shown to a reader
is `portfolio.display`; the guiding prompts here are for the pupil's forms only.)

An entry's `data` JSON maps field names to values; a group maps to a list of dicts.
Dates are ISO strings (YYYY-MM-DD); ratings map quality keys to 1..4.

This module imports no models (the models import the enums from here).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from dataclasses import dataclass, field

from portfolio.i18n import _l
from portfolio.reference import OCCUPATIONAL_FIELDS


class Section(enum.StrEnum):
    """The Berufswahlpass sections, in binder order (the navigation)."""

    OFFERS = "angebote"
    MY_WAY = "mein-weg"
    DOCUMENTATION = "dokumentation"
    LIFE_PLANNING = "lebensplanung"
    AGREEMENT = "anschlussvereinbarung"


class EntryKind(enum.StrEnum):
    STRENGTHS = "strengths"  # self-assessment (Selbsteinschätzung): qualities + interests
    EXTERNAL_ASSESSMENT = "external_assessment"  # accepted Fremdeinschätzung
    POTENZIALANALYSE = "potenzialanalyse"
    BERUFSFELDERKUNDUNG = "berufsfelderkundung"
    PRAKTIKUM = "praktikum"  # Betriebspraktikum
    PRAXISKURS = "praxiskurs"
    LANGZEITPRAKTIKUM = "langzeitpraktikum"
    GOAL = "goal"
    CV = "cv"
    SEK2_STANDORT = "sek2_standort"
    SEK2_EK1 = "sek2_ek1"
    SEK2_PRAXIS = "sek2_praxis"
    SEK2_EK2 = "sek2_ek2"
    STUDIENORIENTIERUNG = "studienorientierung"
    REFLECTION = "reflection"  # free reflection / other


class EntryStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class Audience(enum.StrEnum):
    """Whom a pupil can share an entry or a document with; private is the absence of all.

    The people as the pupil knows them: the class teacher(s) of her class, the school's
    StuBO (careers coordinator), her counsellor (Berufsberatung) and her parents.
    `Entry` and `Document` have a `share_<value>` column for each.
    """

    CLASS_TEACHER = "class_teacher"
    STUBO = "stubo"
    COUNSELLOR = "counsellor"
    GUARDIANS = "guardians"


class ReviewState(enum.StrEnum):
    NONE = "none"  # not handed in
    REQUESTED = "requested"  # shared for feedback
    REVIEWED = "reviewed"
    REVISION = "revision"  # staff asked for a revision


@dataclass(frozen=True)
class SectionSpec:
    section: Section
    label: object  # the binder's name of the section
    intro: object  # one line for the pupil: what is in it


#: The sections in binder order, with their labels.
SECTIONS: dict[Section, SectionSpec] = {
    s.section: s
    for s in (
        SectionSpec(
            Section.OFFERS,
            _l("Career orientation offers"),
            _l("The steps of career orientation at your school and what they are about."),
        ),
        SectionSpec(
            Section.MY_WAY,
            _l("My way to a career choice"),
            _l("Strengths, placements, goals and your own reflections."),
        ),
        SectionSpec(
            Section.DOCUMENTATION,
            _l("Documentation"),
            _l("Certificates and proofs, e.g. from the potential analysis or a placement."),
        ),
        SectionSpec(
            Section.LIFE_PLANNING,
            _l("Life planning"),
            _l("Your CV and what you need for applications."),
        ),
        SectionSpec(
            Section.AGREEMENT,
            _l("Transition agreement"),
            _l("Your plan for after school, agreed with your parents and your teacher."),
        ),
    )
}
SECTION_ORDER: dict[str, int] = {s.value: i for i, s in enumerate(Section)}


def section_label(section: Section | str) -> str:
    return str(SECTIONS[Section(section)].label)


#: Entry states as the pupil reads them.
STATUS_LABELS: dict[str, object] = {
    EntryStatus.OPEN: _l("Not started"),
    EntryStatus.IN_PROGRESS: _l("In progress"),
    EntryStatus.DONE: _l("Finished"),
}


@dataclass(frozen=True)
class ReviewStateSpec:
    state: ReviewState
    label: object  # for staff lists and badges
    pupil_label: object  # on the pupil's own pages
    badge: str  # KERN badge variant: info | success | warning
    icon: str  # KERN icon name


#: Review states that are shown (NONE is the absence of a review).
REVIEW_STATES: dict[str, ReviewStateSpec] = {
    s.state.value: s
    for s in (
        ReviewStateSpec(
            ReviewState.REQUESTED,
            _l("waiting for feedback"),
            _l("Handed in – waiting for feedback"),
            "info",
            "mail",
        ),
        ReviewStateSpec(
            ReviewState.REVIEWED, _l("reviewed"), _l("Feedback given"), "success", "check"
        ),
        ReviewStateSpec(
            ReviewState.REVISION,
            _l("revision requested"),
            _l("Please revise: your teacher asked for changes"),
            "warning",
            "edit",
        ),
    )
}


@dataclass(frozen=True)
class AudienceSpec:
    audience: Audience
    label: object  # the pupil's checkbox: whom she shares with
    pupil_label: object  # in the pupil's sentences ("Visible to: your class teacher")
    staff_label: object  # neutral, e.g. in a document's "shared with"
    #: Staff who can be asked for feedback (and who read and answer it).
    gives_feedback: bool


#: The audiences in the order the pupil's "Who sees this" control lists them.
AUDIENCES: dict[Audience, AudienceSpec] = {
    s.audience: s
    for s in (
        AudienceSpec(
            Audience.CLASS_TEACHER,
            _l("My class teacher"),
            _l("your class teacher"),
            _l("class teacher"),
            True,
        ),
        AudienceSpec(
            Audience.STUBO,
            _l("The StuBO (careers coordinator at my school)"),
            _l("the StuBO"),
            _l("StuBO"),
            True,
        ),
        AudienceSpec(
            Audience.COUNSELLOR,
            _l("My counsellor (Berufsberatung)"),
            _l("your counsellor"),
            _l("Berufsberatung"),
            True,
        ),
        AudienceSpec(
            Audience.GUARDIANS, _l("My parents"), _l("your parents"), _l("parents"), False
        ),
    )
}
#: Whom a pupil can ask for feedback, in the order offered.
FEEDBACK_AUDIENCES: tuple[Audience, ...] = tuple(
    a for a, s in AUDIENCES.items() if s.gives_feedback
)

TEXT_MAX = 200
LONG_MAX = 10_000


@dataclass(frozen=True)
class Field:
    name: str
    label: object
    #: text | textarea | date | choice | multichoice | yesno | ratings | number
    #: | occupational_fields
    type: str = "textarea"
    prompt: object | None = None  # guiding question, shown as the field's hint
    required: bool = False
    choices: tuple[tuple[str, object], ...] = ()
    max_length: int | None = None

    @property
    def limit(self) -> int:
        if self.max_length:
            return self.max_length
        return LONG_MAX if self.type == "textarea" else TEXT_MAX


@dataclass(frozen=True)
class Group:
    """A repeating group of fields, e.g. the three days of a Berufsfelderkundung."""

    name: str
    label: object
    item_label: object  # with %(n)d, e.g. _l("Day %(n)d")
    fields: tuple[Field, ...]
    min_items: int = 0
    max_items: int = 30
    fixed: bool = False  # exactly min_items items (BFE: 3 days)
    type: str = "group"


@dataclass(frozen=True)
class KindSpec:
    kind: EntryKind
    label: object
    section: Section
    intro: object  # one or two sentences for the pupil
    guiding_questions: tuple[object, ...]
    fields: tuple[Field | Group, ...]
    repeatable: bool = True  # several entries of this kind (e.g. per grade)
    accepts_documents: bool = False
    title_field: str | None = None  # field whose value titles the entry
    pupil_editable: bool = True
    #: The school stage the kind is meant for: SEK1 (grades 8-10), SEK2 (the upper
    #: school, from EF on) or None (every grade). See `offered_in`.
    stage: str | None = None
    extra: dict = field(default_factory=dict)


YES_NO_MAYBE = (("yes", _l("yes")), ("maybe", _l("maybe")), ("no", _l("no")))

GOAL_STATES = (
    ("open", _l("not started")),
    ("in_progress", _l("in progress")),
    ("reached", _l("reached")),
    ("dropped", _l("dropped")),
)

RELATIONS = (
    ("guardian", _l("parent or guardian")),
    ("teacher", _l("teacher")),
    ("mentor", _l("placement mentor")),
    ("friend", _l("friend")),
    ("other", _l("someone else")),
)

REFLECTION = Field(
    "reflection",
    _l("My reflection"),
    prompt=_l("What did I learn about myself? What do I want to try next?"),
)

#: School stages of `KindSpec.stage`.
SEK1 = "sek1"  # grades 8 to 10: Potenzialanalyse, Berufsfelderkundung, placements
SEK2 = "sek2"  # the upper school (gymnasiale Oberstufe), from EF on
#: Grades of the upper school: EF, Q1, Q2 (G8/G9 Gymnasium), 11-13 (Gesamtschule).
UPPER_SECONDARY_GRADES = frozenset({"EF", "Q1", "Q2", "11", "12", "13"})
STAGE_LABELS = {
    SEK1: _l("grades 8 to 10"),
    SEK2: _l("the upper school (from EF on)"),
}

SPECS: dict[EntryKind, KindSpec] = {}


def _spec(spec: KindSpec) -> None:
    SPECS[spec.kind] = spec


_spec(
    KindSpec(
        EntryKind.STRENGTHS,
        _l("Strengths and interests (self-assessment)"),
        Section.MY_WAY,
        _l(
            "How do you see yourself? There are no right or wrong answers. Do this again in every "
            "grade and see how you change."
        ),
        (
            _l("What am I good at?"),
            _l("What do I enjoy?"),
            _l("What would I like to get better at?"),
        ),
        (
            Field(
                "ratings",
                _l("How well does this describe me?"),
                "ratings",
                prompt=_l(
                    "Rate each quality for yourself: not yet, a little, quite well, very well."
                ),
            ),
            Field(
                "interests",
                _l("Occupational fields that interest me"),
                "occupational_fields",
                prompt=_l("Choose as many as you like."),
            ),
            Field(
                "hobbies",
                _l("What I do in my free time"),
                prompt=_l("Hobbies, clubs, jobs, helping at home – everything counts."),
            ),
            Field("school_subjects", _l("School subjects I like"), "text"),
            REFLECTION,
        ),
    )
)

_spec(
    KindSpec(
        EntryKind.EXTERNAL_ASSESSMENT,
        _l("How others see me (external assessment)"),
        Section.MY_WAY,
        _l(
            "Someone you asked rated the same qualities. Compare it with your own view: "
            "where do you "
            "agree, where not, and why might that be?"
        ),
        (
            _l("Where do others see me differently than I see myself?"),
            _l("Which strength had I not noticed?"),
        ),
        (
            Field("rater_name", _l("Who rated"), "text"),
            Field("relation", _l("Relation to me"), "choice", choices=RELATIONS),
            Field("ratings", _l("Their rating"), "ratings"),
            Field("comment", _l("Their comment")),
            Field(
                "reflection",
                _l("What I think about it"),
                prompt=_l("Do you recognise yourself? What surprised you?"),
            ),
        ),
        pupil_editable=True,
        extra={"readonly_fields": ("rater_name", "relation", "ratings", "comment")},
    )
)

_spec(
    KindSpec(
        EntryKind.POTENZIALANALYSE,
        _l("Potential analysis"),
        Section.MY_WAY,
        _l(
            "In grade 8 you spend a day with an external provider finding out what you can do. "
            "Afterwards there is a results talk, to which your parents are invited."
        ),
        (
            _l("Which tasks did I enjoy?"),
            _l("What did the results talk tell me?"),
            _l("Do I agree with the results?"),
        ),
        (
            Field("date", _l("Date"), "date", required=True),
            Field("provider", _l("Provider"), "text", prompt=_l("Who ran the potential analysis?")),
            Field("tasks", _l("What we did"), prompt=_l("Which tasks and exercises were there?")),
            Field(
                "results_talk",
                _l("Notes from the results talk"),
                prompt=_l("What was said about your strengths? Who took part?"),
            ),
            Field("strengths_found", _l("Strengths that were found")),
            REFLECTION,
        ),
        repeatable=False,
        accepts_documents=True,
        stage=SEK1,
    )
)

_BFE_DAY = (
    Field("date", _l("Date"), "date"),
    Field("company", _l("Company or provider"), "text"),
    Field("field", _l("Occupational field"), "choice", choices=()),  # OCCUPATIONAL_FIELDS
    Field("activities", _l("What I did"), prompt=_l("Describe your tasks during the day.")),
    Field("liked", _l("What I liked")),
    Field("disliked", _l("What I did not like")),
    Field("imagine", _l("Could I imagine working there?"), "yesno", choices=YES_NO_MAYBE),
)

_spec(
    KindSpec(
        EntryKind.BERUFSFELDERKUNDUNG,
        _l("Occupational field exploration"),
        Section.MY_WAY,
        _l(
            "Three days in companies, one occupational field a day. Write down what you did and "
            "what you thought of it after each day."
        ),
        (
            _l("What did I do?"),
            _l("What did I like and what not?"),
            _l("Could I imagine working in this field?"),
        ),
        (
            Group(
                "days",
                _l("The three days"),
                _l("Day %(n)d"),
                _BFE_DAY,
                min_items=3,
                max_items=3,
                fixed=True,
            ),
            Field(
                "want_to_know",
                _l("Occupations I want to get to know better"),
                prompt=_l("Which occupations would you like to try in a placement?"),
            ),
        ),
        repeatable=False,
        accepts_documents=True,
        stage=SEK1,
    )
)

_spec(
    KindSpec(
        EntryKind.PRAKTIKUM,
        _l("Work placement"),
        Section.MY_WAY,
        _l(
            "Two to three weeks in a company. Keep a short log every day, then evaluate the "
            "placement."
        ),
        (
            _l("What did I expect, and what was it really like?"),
            _l("What did I learn?"),
            _l("Which strengths did I show?"),
            _l("Would I work there?"),
        ),
        (
            Field("company", _l("Company"), "text", required=True),
            Field("address", _l("Address"), "text"),
            Field("mentor", _l("Mentor in the company"), "text"),
            Field("occupation", _l("Occupation"), "text"),
            Field("start", _l("First day"), "date"),
            Field("end", _l("Last day"), "date"),
            Group(
                "log",
                _l("Daily log"),
                _l("Day %(n)d"),
                (
                    Field("date", _l("Date"), "date"),
                    Field("activities", _l("What I did today")),
                    Field("thoughts", _l("How it went for me")),
                ),
                max_items=25,
            ),
            Field(
                "expectations",
                _l("What I expected"),
                prompt=_l("What did you expect before you started?"),
            ),
            Field("reality", _l("What it was really like")),
            Field("learned", _l("What I learned")),
            Field("strengths_shown", _l("Strengths I showed")),
            Field("would_work_there", _l("Would I work there?"), "yesno", choices=YES_NO_MAYBE),
            Field("why", _l("Why?")),
        ),
        accepts_documents=True,
        title_field="company",
        stage=SEK1,
    )
)

_spec(
    KindSpec(
        EntryKind.PRAXISKURS,
        _l("Practical course"),
        Section.MY_WAY,
        _l("Three or five days of practice in a company or with a provider."),
        (_l("What did I try?"), _l("What feedback did I get?")),
        (
            Field("company", _l("Company or provider"), "text", required=True),
            Field("field", _l("Occupational field"), "choice", choices=()),
            Field("start", _l("From"), "date"),
            Field("end", _l("To"), "date"),
            Field("activities", _l("What I did")),
            Field("feedback", _l("Feedback I got")),
            REFLECTION,
        ),
        accepts_documents=True,
        title_field="company",
        stage=SEK1,
    )
)

_spec(
    KindSpec(
        EntryKind.LANGZEITPRAKTIKUM,
        _l("Long-term placement"),
        Section.MY_WAY,
        _l(
            "One or two days a week in a company for about a year, with feedback meetings of "
            "school, parents and company."
        ),
        (_l("What can I do now that I could not do before?"), _l("What feedback did I get?")),
        (
            Field("company", _l("Company"), "text", required=True),
            Field("occupation", _l("Occupation"), "text"),
            Field("start", _l("From"), "date"),
            Field("end", _l("To"), "date"),
            Field(
                "weekdays",
                _l("Days in the company"),
                "text",
                prompt=_l("e.g. Wednesdays and Thursdays"),
            ),
            Group(
                "meetings",
                _l("Feedback meetings"),
                _l("Meeting %(n)d"),
                (
                    Field("date", _l("Date"), "date"),
                    Field("notes", _l("What was said")),
                ),
                max_items=12,
            ),
            Field("feedback", _l("Feedback I got")),
            REFLECTION,
        ),
        accepts_documents=True,
        title_field="company",
        stage=SEK1,
    )
)

_spec(
    KindSpec(
        EntryKind.GOAL,
        _l("Goal"),
        Section.MY_WAY,
        _l("A goal is something you want to reach. Break it into small steps with a date."),
        (
            _l("What do I want to reach?"),
            _l("Why is it important to me?"),
            _l("What is my next step, and by when?"),
        ),
        (
            Field("goal", _l("My goal"), "text", required=True),
            Field("why", _l("Why this goal is important to me")),
            Group(
                "steps",
                _l("Steps"),
                _l("Step %(n)d"),
                (
                    Field("text", _l("Step"), "text"),
                    Field("due_on", _l("By when"), "date"),
                    Field(
                        "done", _l("Done"), "yesno", choices=(("yes", _l("yes")), ("no", _l("no")))
                    ),
                ),
                min_items=1,
                max_items=20,
            ),
            Field("state", _l("State"), "choice", choices=GOAL_STATES),
        ),
        title_field="goal",
    )
)

_spec(
    KindSpec(
        EntryKind.CV,
        _l("CV"),
        Section.LIFE_PLANNING,
        _l(
            "Your CV, used in applications and in the PDF. Fill in what you have; it grows "
            "with you."
        ),
        (_l("What have I done so far?"), _l("What can I do?")),
        (
            Field("address", _l("Address"), "text"),
            Field("phone", _l("Phone"), "text"),
            Field("email", _l("E-mail"), "text"),
            Group(
                "education",
                _l("School education"),
                _l("School %(n)d"),
                (
                    Field("from", _l("From"), "text", prompt=_l("e.g. 08/2022")),
                    Field("to", _l("To"), "text"),
                    Field("school", _l("School"), "text"),
                    Field("qualification", _l("Qualification"), "text"),
                ),
                max_items=8,
            ),
            Group(
                "experience",
                _l("Practical experience"),
                _l("Experience %(n)d"),
                (
                    Field("from", _l("From"), "text"),
                    Field("to", _l("To"), "text"),
                    Field("company", _l("Company"), "text"),
                    Field("activity", _l("Activity"), "text"),
                ),
                max_items=12,
            ),
            Field(
                "languages",
                _l("Languages"),
                "text",
                prompt=_l("e.g. German, Turkish (native), English (school)"),
            ),
            Field("computer", _l("Computer skills"), "text"),
            Field("interests", _l("Hobbies and interests"), "text"),
            Field(
                "other", _l("Other"), prompt=_l("Voluntary work, certificates, driving licence …")
            ),
        ),
        repeatable=False,
    )
)

_spec(
    KindSpec(
        EntryKind.SEK2_STANDORT,
        _l("Where do I stand?"),
        Section.MY_WAY,
        _l("Sek II workshop: take stock at the start of the upper school."),
        (_l("Where do I stand?"), _l("What interests me?")),
        (
            Field("where", _l("Where I stand")),
            Field("interests", _l("What interests me")),
            Field("questions", _l("Questions I want answered")),
        ),
        repeatable=False,
        stage=SEK2,
    )
)

_spec(
    KindSpec(
        EntryKind.SEK2_EK1,
        _l("Decision competence I"),
        Section.MY_WAY,
        _l("Sek II workshop: your strengths and wishes."),
        (_l("What are my strengths and wishes?"),),
        (
            Field("strengths", _l("My strengths")),
            Field("wishes", _l("My wishes")),
            Field("options", _l("Paths I am considering")),
            REFLECTION,
        ),
        repeatable=False,
        stage=SEK2,
    )
)

_spec(
    KindSpec(
        EntryKind.SEK2_PRAXIS,
        _l("Practical elements"),
        Section.MY_WAY,
        _l("At least five days of practice in a company or at a university."),
        (_l("What did I find out in practice?"),),
        (
            Field("place", _l("Company or university"), "text", required=True),
            Field("start", _l("From"), "date"),
            Field("end", _l("To"), "date"),
            Field("activities", _l("What I did")),
            REFLECTION,
        ),
        accepts_documents=True,
        title_field="place",
        stage=SEK2,
    )
)

_spec(
    KindSpec(
        EntryKind.SEK2_EK2,
        _l("Decision competence II"),
        Section.MY_WAY,
        _l("Sek II workshop: plan your next steps and decisions."),
        (_l("What are my next planning and decision steps?"),),
        (
            Field("decision", _l("What I have decided so far")),
            Field("next_steps", _l("My next steps")),
            Field("plan_b", _l("My plan B")),
        ),
        repeatable=False,
        stage=SEK2,
    )
)

_spec(
    KindSpec(
        EntryKind.STUDIENORIENTIERUNG,
        _l("Study orientation"),
        Section.MY_WAY,
        _l("Self-assessments such as the Agentur für Arbeit's Check-U, university open days."),
        (_l("Which subjects or courses interest me?"),),
        (
            Field(
                "tests",
                _l("Self-assessments and results"),
                prompt=_l("e.g. Check-U: which results?"),
            ),
            Field("visits", _l("Universities and open days I visited")),
            REFLECTION,
        ),
        accepts_documents=True,
        stage=SEK2,
    )
)

_spec(
    KindSpec(
        EntryKind.REFLECTION,
        _l("Reflection"),
        Section.MY_WAY,
        _l("Anything else you want to keep: an event, a talk, a thought."),
        (_l("What happened, and what does it mean for me?"),),
        (
            Field("title", _l("Title"), "text", required=True),
            Field("text", _l("Text")),
        ),
        title_field="title",
    )
)

#: The Anschlussvereinbarung's fields (model Agreement: `decision` column + `data`).
AGREEMENT_DECISIONS = (
    ("dual", _l("Dual apprenticeship")),
    ("berufskolleg", _l("Full-time vocational school (Berufskolleg)")),
    ("oberstufe", _l("Upper secondary school")),
    ("studium", _l("University")),
    ("freiwilligendienst", _l("Voluntary year")),
    ("other", _l("Other")),
)
AGREEMENT_FIELDS: tuple[Field | Group, ...] = (
    Field("dream_job", _l("My dream job"), "text", prompt=_l("What do I want?")),
    Field("strengths", _l("What I can do"), prompt=_l("What can I do?")),
    Field(
        "fields",
        _l("Possible occupational fields"),
        "occupational_fields",
        prompt=_l("Which occupation fits?"),
    ),
    Field(
        "next_step", _l("My concrete next step"), prompt=_l("How do I get there?"), required=True
    ),
    Group(
        "steps",
        _l("Next steps, most important first"),
        _l("Step %(n)d"),
        (
            Field("text", _l("Step"), "text"),
            Field("due_on", _l("By when"), "date"),
        ),
        min_items=1,
        max_items=10,
    ),
    Group(
        "contacts",
        _l("Contact persons"),
        _l("Contact %(n)d"),
        (
            Field("name", _l("Name"), "text"),
            Field("role", _l("Role"), "text", prompt=_l("e.g. Berufsberatung, class teacher")),
            Field("contact", _l("How to reach them"), "text"),
        ),
        max_items=6,
    ),
)
AGREEMENT_GUIDING_QUESTIONS = (
    _l("What do I want?"),
    _l("What can I do?"),
    _l("Which occupation fits?"),
    _l("How do I get there?"),
)
AGREEMENT_SIGNER_ROLES = (
    ("pupil", _l("Pupil")),
    ("guardian", _l("Parent or guardian")),
    ("teacher", _l("Class teacher")),
    ("counsellor", _l("Berufsberatung (optional)")),
)
REQUIRED_SIGNERS = ("pupil", "guardian", "teacher")


#: Kinds in the order of SPECS (the order within a section).
KIND_ORDER: dict[str, int] = {kind.value: i for i, kind in enumerate(SPECS)}

#: Kinds a pupil has at most one entry of; the database enforces it (a partial unique
#: index, `models.portfolio.Entry`), a second one is a numbered copy (`copy_no`).
SINGLE_ENTRY_KINDS: tuple[EntryKind, ...] = tuple(
    kind for kind, spec in SPECS.items() if not spec.repeatable
)


#: Kinds whose entries can be an open item of the staff lists (review/actions.py: a
#: placement without evaluation, an overdue goal); `models.portfolio.Entry.may_be_open_item`.
OPEN_ITEM_KINDS: tuple[EntryKind, ...] = (EntryKind.PRAKTIKUM, EntryKind.GOAL)


def spec_for(kind: str | EntryKind) -> KindSpec:
    return SPECS[EntryKind(kind)]


def field_choices(f: Field) -> list[tuple[str, object]]:
    """The choices of a field: its own, or the occupational fields where it names none."""
    if f.type == "occupational_fields" or (
        f.type == "choice" and f.name == "field" and not f.choices
    ):
        return list(OCCUPATIONAL_FIELDS)
    return list(f.choices)


def stage_of(grade: str | None) -> str | None:
    """The school stage of a grade: SEK2 in the upper school, SEK1 below; None unknown."""
    if grade is None:
        return None
    return SEK2 if grade in UPPER_SECONDARY_GRADES else SEK1


def offered_in(spec: KindSpec, grade: str | None) -> bool:
    """Whether a pupil of this grade is offered new entries of the kind.

    Upper-secondary kinds from EF on only, the kinds of grades 8-10 below the upper
    school; kinds without a stage in every grade. A pupil whose grade is unknown (no
    class this school year) is offered every kind: nothing she may need is refused.
    """
    stage = stage_of(grade)
    return spec.stage is None or stage is None or spec.stage == stage


def section_of(kind: str | EntryKind) -> Section:
    """The Berufswahlpass section an entry of this kind belongs to."""
    try:
        return SPECS[EntryKind(kind)].section
    except ValueError:
        return Section.MY_WAY


def binder_order(kind: str) -> tuple[int, int]:
    """Sort key of an entry kind: its section in binder order, then the kind."""
    return (SECTION_ORDER[section_of(kind).value], KIND_ORDER.get(kind, 99))


def entry_title(entry) -> str:
    """A short title: the entry's own title, its title field, or the kind's name."""
    if entry.title:
        return entry.title
    spec = SPECS.get(EntryKind(entry.kind))
    if spec and spec.title_field:
        value = (entry.data or {}).get(spec.title_field)
        if value:
            return f"{spec.label}: {value}"
    return str(spec.label) if spec else entry.kind


#: Values of names a kind does not describe are kept up to this size (as JSON).
_UNKNOWN_MAX = LONG_MAX
_RATINGS = frozenset({"1", "2", "3", "4"})


def coerce_data(fields: tuple[Field | Group, ...], data: object) -> tuple[dict, int]:
    """`data` from outside (an imported package) in the shape these fields describe, and
    how many values were left out because they had the wrong type.

    Every described field gets a value of its type or is left out (texts cut to their
    limit, dates only as ISO dates, ratings 1..4, lists of choices as lists of texts,
    repeating groups as lists of at most `max_items` objects); values of names the
    fields do not describe are kept as they are up to a size (no page shows them). So
    every page and the PDF can show the entry, whatever the file said.
    """
    if not isinstance(data, dict):
        return {}, 1 if data not in (None, "") else 0
    known = {f.name: f for f in fields}
    out: dict = {}
    dropped = 0
    for key, value in data.items():
        if not isinstance(key, str) or len(key) > 100:
            dropped += 1
            continue
        spec = known.get(key)
        if spec is None:  # never shown; kept for the fields of later versions
            clean, ok = value, len(json.dumps(value)) <= _UNKNOWN_MAX
        elif isinstance(spec, Group):
            clean, ok, inner = _coerce_group(spec, value)
            dropped += inner
        else:
            clean, ok = _coerce_value(spec, value)
        if ok:
            out[key] = clean
        else:
            dropped += 1
    return out, dropped


def coerce_entry_data(kind: EntryKind, data: object) -> tuple[dict, int]:
    """`coerce_data` for an entry of `kind`."""
    return coerce_data(SPECS[kind].fields, data)


def coerce_agreement_data(data: object) -> tuple[dict, int]:
    """`coerce_data` for a transition agreement."""
    return coerce_data(AGREEMENT_FIELDS, data)


def _coerce_group(group: Group, value: object) -> tuple[list, bool, int]:
    if not isinstance(value, list):
        return [], value is None, 0
    items, dropped = [], 0
    for item in value[: group.max_items]:
        clean, inner = coerce_data(group.fields, item)
        if isinstance(item, dict):
            items.append(clean)
        dropped += inner if isinstance(item, dict) else 1
    return items, True, dropped + max(0, len(value) - group.max_items)


def _coerce_value(f: Field, value: object) -> tuple[object, bool]:
    """(value, True) in the field's type, or (None, False) when it cannot be one."""
    if value is None:
        return None, True
    if f.type == "ratings":
        if not isinstance(value, dict):
            return None, False
        ratings = {
            str(k)[:60]: int(v)
            for k, v in value.items()
            if isinstance(v, int | str) and not isinstance(v, bool) and str(v) in _RATINGS
        }
        return ratings, True
    if f.type in ("multichoice", "occupational_fields"):
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in items):
            return None, False
        return [v[:TEXT_MAX] for v in items[:100]], True
    if f.type == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value, True
        return None, False
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None, False
    text = str(value)
    if f.type == "date":
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            return None, False
    return text[: f.limit], True
