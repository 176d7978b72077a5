"""How an entry, an agreement or a guidance record is shown: the one display model.

Every page that shows portfolio content (the pupil's own pages, the staff pupil view,
the guardian's child page, the agreement pages) and every PDF turns the stored data into
what is shown here, and renders it with the one macro file `templates/macros/display.html`.

A display model is a list of blocks, each a way people read that kind of content: facts
(short label and answer), prose (a long answer under its heading), lists, tables with
header cells, a checklist of steps with due dates, cards (the three exploration days), a
CV's dated rows, signatures. It is in the viewer's language; the pupil's own words keep
their own text direction and, on pages in another language, are marked as German.
Empty fields never become content, and nothing of the pupil's forms is in it: no guiding
questions, no prompts, no "e.g.". (The forms keep their hints; they come from kinds.py.)

Documents that leave the school (the application bundle) use the "outside" mode:
`entry_view(entry, outside=True)` leaves out what is the pupil's own working material
(a placement's daily log, `OUTSIDE_SKIP`), and the macro's `render(view, outside=true)`
prints nothing for an empty entry instead of "Nothing written here yet".
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from babel.dates import format_interval
from flask_babel import format_date, get_locale

from portfolio import clock, kinds, reference
from portfolio.i18n import _, current_language
from portfolio.kinds import EntryKind, Field, Group, KindSpec


# -- texts -------------------------------------------------------------------------------------
def text_direction(value) -> str:
    """ "rtl" or "ltr" by the first strong character, as HTML's dir="auto" decides.

    WeasyPrint does not resolve dir="auto" itself, so every text someone typed carries
    the result, on pages and in the PDF alike.
    """
    for char in str(value or ""):
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


@dataclass(frozen=True)
class Text:
    """A text to show. `dir` is set for someone's own words (None: the viewer's language);
    `lang` is "de" for own words in a left-to-right script on a page in another language
    (the portfolio's working language; text in another script is not claimed)."""

    value: str
    dir: str | None = None
    lang: str | None = None

    @property
    def multiline(self) -> bool:
        return "\n" in self.value

    def __str__(self) -> str:
        return self.value


def own(value) -> Text | None:
    """Someone's own words as shown, or None when there is nothing to show."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    direction = text_direction(text)
    lang = "de" if direction == "ltr" and current_language() != "de" else None
    return Text(text, direction, lang)


def fixed(value) -> Text:
    """A text in the viewer's language (a label of a choice, a date)."""
    return Text(str(value))


def parse_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def date_text(value, format: str = "medium") -> Text | None:
    """A stored date in the viewer's language; a date that cannot be read as written."""
    parsed = parse_date(value)
    if parsed is None:
        return own(value)
    return fixed(format_date(parsed, format))


def period_text(start, end) -> Text | None:
    """From-to of two stored dates ("2.–13. März 2026"), or what there is of them."""
    first, last = parse_date(start), parse_date(end)
    if first and last and first <= last:
        return fixed(format_interval(first, last, "yMMMd", locale=get_locale() or "de"))
    if first and last:
        return fixed(f"{format_date(first)} – {format_date(last)}")
    if first:
        return fixed(_("from %(date)s", date=format_date(first)))
    if last:
        return fixed(_("until %(date)s", date=format_date(last)))
    return own(start) or own(end)


def period_of_texts(start, end) -> Text | None:
    """From-to as the pupil wrote it (a CV's "08/2022"): "08/2022 – 07/2026"."""
    first, last = own(start), own(end)
    if first and last:
        return Text(f"{first.value} – {last.value}", first.dir, first.lang)
    if first:
        return fixed(_("since %(date)s", date=first.value))
    if last:
        return fixed(_("until %(date)s", date=last.value))
    return None


# -- blocks ------------------------------------------------------------------------------------
@dataclass
class Fact:
    label: str
    value: Text


@dataclass
class Facts:
    """Short answers as label: value."""

    type: ClassVar[str] = "facts"
    items: list[Fact]
    label: str = ""  # a heading over them (a CV's skills), none for most


@dataclass
class Prose:
    """A longer answer under its heading; `answer` is a short fixed answer before it."""

    type: ClassVar[str] = "prose"
    label: str
    text: Text | None
    answer: Text | None = None


@dataclass
class Items:
    """A list of short texts (occupational fields)."""

    type: ClassVar[str] = "list"
    label: str
    items: list[Text]


@dataclass
class Table:
    """A table with header cells; the first cell of each row is the row's header."""

    type: ClassVar[str] = "table"
    label: str
    columns: list[str]
    rows: list[list[Text | None]]
    name: str = ""  # e.g. "ratings", "log": a class for print and page styles


@dataclass
class Step:
    index: int  # position in the stored list (the tick form addresses it)
    text: Text
    done: bool | None  # None: steps without a done state (agreement, guidance)
    due_on: dt.date | None
    overdue: bool
    when: str  # "by 3 March 2026", "overdue: was due on 3 March 2026", ""


@dataclass
class Checklist:
    """Steps in the pupil's order, with their dates; a goal's with its state."""

    type: ClassVar[str] = "checklist"
    label: str
    steps: list[Step]
    state: Fact | None = None
    tickable: bool = False  # the steps have a done state the pupil can change


@dataclass
class Card:
    title: str
    subtitle: Text | None
    blocks: list


@dataclass
class Cards:
    """Items that each stand on their own, e.g. the three days of an exploration."""

    type: ClassVar[str] = "cards"
    label: str
    cards: list[Card]


@dataclass
class DatedRow:
    period: Text | None
    title: Text | None
    detail: Text | None


@dataclass
class Dated:
    """A CV's rows: when, what, where."""

    type: ClassVar[str] = "dated"
    label: str
    rows: list[DatedRow]


@dataclass
class Person:
    """Who the CV is of, and how to reach them."""

    type: ClassVar[str] = "person"
    name: Text | None
    lines: list[Fact]


@dataclass
class Signature:
    role: str
    name: Text | None
    signed_at: dt.datetime | None


@dataclass
class Signatures:
    type: ClassVar[str] = "signatures"
    label: str
    rows: list[Signature]


@dataclass
class Display:
    """What is shown of one entry, agreement or guidance record."""

    kind: str  # the entry kind, "agreement" or "guidance"
    label: str  # the kind's name in the viewer's language
    title: Text | None  # the pupil's own title, if any
    blocks: list = field(default_factory=list)
    id: int | None = None
    version: int | None = None

    @property
    def empty(self) -> bool:
        return not self.blocks

    def find(self, block_type: str) -> list:
        return [b for b in self.blocks if b.type == block_type]


# -- values of fields --------------------------------------------------------------------------
def choice_text(f: Field, value) -> Text | None:
    """A stored choice as its label in the viewer's language (unknown values as written)."""
    if value in (None, ""):
        return None
    labels = dict(kinds.field_choices(f))
    return fixed(labels[value]) if value in labels else own(value)


def ratings_table(f: Field, value, qualities: list[tuple[str, str]]) -> Table | None:
    """Ratings as quality + rating rows, in the school's order of qualities."""
    if not isinstance(value, dict):
        return None
    scale = dict(reference.SCALE)
    rows = []
    for key, name in qualities:
        n = value.get(key)
        if n in scale:
            rows.append([fixed(name), fixed(_("%(label)s (%(n)d of 4)", label=scale[n], n=n))])
    if not rows:
        return None
    return Table(str(f.label), [_("Quality"), _("Rating")], rows, name="ratings")


def value_text(f: Field, value) -> Text | None:
    """A single-valued field as one text."""
    if f.type == "date":
        return date_text(value)
    if f.type in ("choice", "yesno"):
        return choice_text(f, value)
    if isinstance(value, list | dict):
        return None
    return own(value)


def field_block(f: Field, value, qualities) -> Any:
    """The block of one field as read: a table, a list, a text under its heading, a fact."""
    if f.type == "ratings":
        return ratings_table(f, value, qualities)
    if f.type in ("occupational_fields", "multichoice"):
        values = value if isinstance(value, list) else [value] if value else []
        items = [t for t in (choice_text(f, v) for v in values) if t]
        return Items(str(f.label), items) if items else None
    text = value_text(f, value)
    if text is None:
        return None
    if f.type == "textarea":
        return Prose(str(f.label), text)
    return Fact(str(f.label), text)


def field_fact(label: str, value: Text | None) -> Fact | None:
    return Fact(label, value) if value is not None else None


def _collect(blocks: list, block) -> None:
    """Append a block; facts next to each other join one Facts block."""
    if block is None:
        return
    if isinstance(block, Fact):
        if blocks and isinstance(blocks[-1], Facts):
            blocks[-1].items.append(block)
        else:
            blocks.append(Facts([block]))
    else:
        blocks.append(block)


def _items(data: dict, name: str) -> list[tuple[int, dict]]:
    """A group's stored items with their positions, without items that are all empty."""
    found = []
    for n, item in enumerate(data.get(name) or []):
        if isinstance(item, dict) and any(v not in (None, "", [], {}) for v in item.values()):
            found.append((n, item))
    return found


def _fields(spec: KindSpec) -> dict[str, Field | Group]:
    return {f.name: f for f in spec.fields}


def _period_fields(spec: KindSpec) -> tuple[str, str] | None:
    """The kind's first and last day ("start", "end"), shown as one period."""
    names = _fields(spec)
    first, last = names.get("start"), names.get("end")
    if isinstance(first, Field) and isinstance(last, Field) and first.type == last.type == "date":
        return "start", "end"
    return None


def _table_of_group(g: Group, data: dict) -> Table | None:
    """A repeating group of a date and texts as a table, one row per item (logs, meetings)."""
    rows = []
    for _n, item in _items(data, g.name):
        rows.append([value_text(f, item.get(f.name)) for f in g.fields])
    if not rows:
        return None
    return Table(str(g.label), [str(f.label) for f in g.fields], rows, name=g.name)


def generic_blocks(spec: KindSpec, data: dict, qualities, skip: Iterable[str] = ()) -> list:
    """The kind's fields in their order, each as people read it; a start and end date
    become one period; groups of a date and texts become tables."""
    blocks: list = []
    skip = set(skip)
    period = _period_fields(spec)
    for item in spec.fields:
        if item.name in skip:
            continue
        if period and item.name == period[0]:
            when = period_text(data.get(period[0]), data.get(period[1]))
            _collect(blocks, Fact(_("When"), when) if when else None)
            continue
        if period and item.name == period[1]:
            continue
        if isinstance(item, Group):
            _collect(blocks, _table_of_group(item, data))
        else:
            _collect(blocks, field_block(item, data.get(item.name), qualities))
    return blocks


# -- the kinds that read differently from a list of fields ----------------------------------
def goal_steps(data: dict, today: dt.date | None = None, *, tickable: bool = True) -> list[Step]:
    """A goal's (or plan's) steps in the pupil's order; overdue: open and past its date."""
    today = today or clock.today()
    steps = []
    for n, item in _items(data, "steps"):
        text = own(item.get("text"))
        due_on = parse_date(item.get("due_on"))
        if text is None:
            if due_on is None:
                continue
            text = fixed(_("Step %(n)d", n=n + 1))
        done = item.get("done") == "yes" if tickable else None
        overdue = bool(tickable and not done and due_on and due_on < today)
        if due_on is None:
            when = ""
        elif overdue:
            when = _("overdue: was due on %(date)s", date=format_date(due_on, "long"))
        else:
            when = _("by %(date)s", date=format_date(due_on, "long"))
        steps.append(Step(n, text, done, due_on, overdue, when))
    return steps


def _goal(spec: KindSpec, data: dict, qualities, today) -> list:
    fields = _fields(spec)
    blocks: list = []
    for name in ("goal", "why"):
        _collect(blocks, field_block(fields[name], data.get(name), qualities))
    state_field = fields["state"]
    state = choice_text(state_field, data.get("state"))
    steps = goal_steps(data, today)
    if steps or state:
        blocks.append(
            Checklist(
                str(fields["steps"].label),
                steps,
                Fact(str(state_field.label), state) if state else None,
                tickable=True,
            )
        )
    return blocks


def _day_card(g: Group, n: int, item: dict, qualities) -> Card:
    """One day: its number and date as the title, then what happened, in the form's order."""
    blocks: list = []
    for f in g.fields:
        if f.name != "date":
            _collect(blocks, field_block(f, item.get(f.name), qualities))
    title = str(g.item_label) % {"n": n + 1}
    return Card(title, date_text(item.get("date"), "full"), blocks)


def _exploration(spec: KindSpec, data: dict, qualities, today) -> list:
    days = _fields(spec)["days"]
    cards = [_day_card(days, n, item, qualities) for n, item in _items(data, "days")]
    blocks: list = [Cards(str(days.label), cards)] if cards else []
    blocks += generic_blocks(spec, data, qualities, skip={"days"})
    return blocks


def _placement(spec: KindSpec, data: dict, qualities, today) -> list:
    """Facts of the placement, the daily log as a table, then the evaluation; "Would I
    work there?" is answered together with its reason."""
    blocks = generic_blocks(spec, data, qualities, skip={"would_work_there", "why"})
    fields = _fields(spec)
    answer = choice_text(fields["would_work_there"], data.get("would_work_there"))
    reason = own(data.get("why"))
    if answer or reason:
        blocks.append(Prose(str(fields["would_work_there"].label), reason, answer))
    return blocks


def _cv(spec: KindSpec, data: dict, qualities, pupil=None) -> list:
    """Whose CV and how to reach them, school and practical experience as dated rows
    (from-to as written), then skills; rows and fields left empty are not there."""
    fields = _fields(spec)
    contact = [
        Fact(str(fields[name].label), text)
        for name in ("address", "phone", "email")
        if (text := own(data.get(name)))
    ]
    blocks: list = []
    name = own(pupil.full_name) if pupil is not None else None
    if name or contact:
        blocks.append(Person(name, contact))
    for group, title, detail in (
        ("education", "school", "qualification"),
        ("experience", "company", "activity"),
    ):
        rows = [
            DatedRow(
                period_of_texts(item.get("from"), item.get("to")),
                own(item.get(title)),
                own(item.get(detail)),
            )
            for _n, item in _items(data, group)
        ]
        if rows:
            blocks.append(Dated(str(fields[group].label), rows))
    skills = [
        Fact(str(fields[n].label), text)
        for n in ("languages", "computer", "interests")
        if (text := own(data.get(n)))
    ]
    if skills:
        blocks.append(Facts(skills, _("Skills and interests")))
    _collect(blocks, field_block(fields["other"], data.get("other"), qualities))
    return blocks


def _external(spec: KindSpec, data: dict, qualities, today) -> list:
    """Who rated (name and relation in one line), their rating, their words, mine."""
    fields = _fields(spec)
    blocks: list = []
    rater = own(data.get("rater_name"))
    relation = choice_text(fields["relation"], data.get("relation"))
    if rater and relation:
        rater = Text(f"{rater.value} ({relation.value})", rater.dir, rater.lang)
    if rater or relation:
        _collect(blocks, Fact(str(fields["rater_name"].label), rater or relation))
    blocks += generic_blocks(spec, data, qualities, skip={"rater_name", "relation"})
    return blocks


LAYOUTS = {
    EntryKind.GOAL: _goal,
    EntryKind.BERUFSFELDERKUNDUNG: _exploration,
    EntryKind.PRAKTIKUM: _placement,
    EntryKind.EXTERNAL_ASSESSMENT: _external,
}


def quality_pairs(qualities) -> list[tuple[str, str]]:
    """(key, name) of the school's qualities, from Quality rows or pairs."""
    pairs = []
    for q in qualities or ():
        if isinstance(q, tuple):
            pairs.append((q[0], str(q[1])))
        else:
            pairs.append((q.key, reference.quality_name(q)))
    return pairs


def own_title(entry, spec: KindSpec | None) -> Text | None:
    """The pupil's own title of an entry (its title or its title field), if any."""
    if entry.title:
        return own(entry.title)
    if spec is not None and spec.title_field:
        return own((entry.data or {}).get(spec.title_field))
    return None


#: Fields and groups that are the pupil's working material, left out of documents that
#: leave the school (an employer reads the placement's evaluation, not the daily log).
OUTSIDE_SKIP = {EntryKind.PRAKTIKUM: {"log"}}


def entry_view(
    entry,
    qualities=(),
    *,
    only: Iterable[str] | None = None,
    today: dt.date | None = None,
    outside: bool = False,
) -> Display:
    """An entry as its readers see it, in the viewer's language.

    `only`: names of the fields to show (e.g. what a rater gave, beside the pupil's form).
    `outside`: for a document that leaves the school (see the module's docstring).
    """
    try:
        spec = kinds.spec_for(entry.kind)
    except (KeyError, ValueError):
        return Display(entry.kind, entry.kind, own(entry.title), [], entry.id, entry.version)
    data = entry.data if isinstance(entry.data, dict) else {}
    if only is not None:
        data = {k: v for k, v in data.items() if k in set(only)}
    if outside:
        data = {k: v for k, v in data.items() if k not in OUTSIDE_SKIP.get(spec.kind, ())}
    pairs = quality_pairs(qualities)
    title = own_title(entry, spec)
    if spec.kind == EntryKind.CV:
        blocks = _cv(spec, data, pairs, getattr(entry, "pupil", None))
    elif spec.kind in LAYOUTS:
        blocks = LAYOUTS[spec.kind](spec, data, pairs, today)
    else:
        blocks = generic_blocks(spec, data, pairs)
    if spec.title_field and title is not None and not entry.title:
        # The title field is the entry's heading already: not repeated as a fact.
        blocks = _without_fact(blocks, str(_fields(spec)[spec.title_field].label))
    return Display(spec.kind.value, str(spec.label), title, blocks, entry.id, entry.version)


def _without_fact(blocks: list, label: str) -> list:
    kept = []
    for block in blocks:
        if isinstance(block, Facts):
            block = Facts([f for f in block.items if f.label != label])
            if not block.items:
                continue
        kept.append(block)
    return kept


# -- the Anschlussvereinbarung and guidance records ------------------------------------------
def signature_rows(agreement) -> list[Signature]:
    """The required signers (signed or not) and every other role that signed."""
    signed = {s.role: s for s in agreement.signatures}
    rows = []
    for role, label in kinds.AGREEMENT_SIGNER_ROLES:
        sig = signed.pop(role, None)
        if sig is not None or role in kinds.REQUIRED_SIGNERS:
            rows.append(
                Signature(
                    str(label), own(sig.name) if sig else None, sig.signed_at if sig else None
                )
            )
    for role, sig in signed.items():  # a role the kinds module does not know (any more)
        rows.append(Signature(role, own(sig.name), sig.signed_at))
    return rows


#: A brief agreement (the family summary, one page) cuts long texts to this many characters.
BRIEF_LIMIT = 180


def shorten(text: Text | None, limit: int) -> Text | None:
    """The text on one line, cut at a word with "…" when it is longer than the limit."""
    if text is None:
        return None
    value = " ".join(text.value.split())
    if len(value) > limit:
        value = value[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:.") + "…"
    return Text(value, text.dir, text.lang)


def agreement_view(agreement, *, brief: bool = False) -> Display:
    """The agreement's content as read: the decision, the plan, its steps, contacts and
    signatures. Brief: the decision, the dream job, the next step and the signatures."""
    data = agreement.data if isinstance(agreement.data, dict) else {}
    fields = {f.name: f for f in kinds.AGREEMENT_FIELDS}
    label = kinds.section_label(kinds.Section.AGREEMENT)
    blocks: list = []
    decision = dict(kinds.AGREEMENT_DECISIONS).get(agreement.decision)
    if decision or agreement.decision:
        after_school = fixed(decision or agreement.decision)
        _collect(blocks, Fact(_("What comes after school?"), after_school))
    if brief:
        for name in ("dream_job", "next_step"):
            text = shorten(own(data.get(name)), BRIEF_LIMIT)
            _collect(blocks, Fact(str(fields[name].label), text) if text else None)
    else:
        for name in ("dream_job", "strengths", "fields", "next_step"):
            _collect(blocks, field_block(fields[name], data.get(name), []))
        steps = goal_steps(data, tickable=False)
        if steps:
            blocks.append(Checklist(str(fields["steps"].label), steps))
        _collect(blocks, _table_of_group(fields["contacts"], data))
    blocks.append(Signatures(_("Signatures"), signature_rows(agreement)))
    return Display("agreement", label, None, blocks, agreement.id, agreement.version)


def guidance_view(record, *, notes: bool = True) -> Display:
    """A guidance session: who, what was talked about, the agreed next steps, the pupil's
    notes. (Its date is the heading wherever it is shown.)"""
    blocks: list = []
    if record.author is not None:
        _collect(blocks, Fact(_("Recorded by"), own(record.author.full_name)))
    _collect(blocks, field_fact(_("Who took part"), own(record.participants)))
    if topics := own(record.topics):
        blocks.append(Prose(_("What we talked about"), topics))
    steps = goal_steps({"steps": record.next_steps or []}, tickable=False)
    if steps:
        blocks.append(Checklist(_("Agreed next steps"), steps))
    if notes and (pupil_notes := own(record.pupil_notes)):
        blocks.append(Prose(_("Notes by %(name)s", name=record.pupil.first_name), pupil_notes))
    return Display("guidance", _("Guidance session"), None, blocks, record.id, record.version)
