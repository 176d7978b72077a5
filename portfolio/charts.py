"""The strengths comparison chart: how the pupil sees herself and how others see her.

One module for the pages and the PDF. `series_from_entries` turns self-assessments and
accepted external assessments into series (oldest first); `strengths_chart` lays them
out: one row per quality, the four-step scale (`reference.SCALE`) as columns, one mark
per assessment in the column of its rating. `templates/macros/chart.html` draws the
result as an HTML table, so every label is text that the browser or WeasyPrint shapes
(Arabic joined and right to left, each label in its own direction); the marks are small
SVG shapes without text.

Every series has its own shape, so colour is never the only cue; colour says whose view
it is (the pupil's own in blue, others' in orange). The chart shows positions, not
scores: no totals and no averages (the portfolio is not a grading tool).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

from portfolio import display
from portfolio.i18n import _
from portfolio.kinds import RELATIONS
from portfolio.models import GRADE_ORDER, Entry, EntryKind
from portfolio.reference import SCALE, quality_name

#: Marker shapes in a 16 × 16 box, in the order series get them. Eight shapes that
#: stay distinct at 12 px; a chart shows at most this many series.
SHAPES: dict[str, Markup] = {
    "circle": Markup('<circle cx="8" cy="8" r="6.5"/>'),
    "square": Markup('<rect x="2" y="2" width="12" height="12"/>'),
    "triangle": Markup('<polygon points="8,1 15,14.5 1,14.5"/>'),
    "diamond": Markup('<polygon points="8,0.5 15.5,8 8,15.5 0.5,8"/>'),
    "triangle-down": Markup('<polygon points="1,1.5 15,1.5 8,15"/>'),
    "plus": Markup(
        '<polygon points="5.5,1 10.5,1 10.5,5.5 15,5.5 15,10.5 10.5,10.5 10.5,15 5.5,15 '
        '5.5,10.5 1,10.5 1,5.5 5.5,5.5"/>'
    ),
    "star": Markup(
        '<polygon points="8,0.5 10.1,5.6 15.6,6 11.4,9.6 12.7,15 8,12.1 3.3,15 4.6,9.6 '
        '0.4,6 5.9,5.6"/>'
    ),
    "ring": Markup(
        '<path fill-rule="evenodd" d="M8 1a7 7 0 1 0 0 14A7 7 0 1 0 8 1zm0 3.6a3.4 3.4 0 1 1 '
        '0 6.8a3.4 3.4 0 1 1 0-6.8z"/>'
    ),
}
MAX_SERIES = len(SHAPES)
#: The pupil's own view and others' view (contrast at least 4.5:1 on white and on the
#: row stripes).
SELF_COLOUR = "#1a5da8"
OTHERS_COLOUR = "#a84300"
_RELATION_LABELS = dict(RELATIONS)


@dataclass
class Series:
    """One assessment: the pupil's own (`is_self`) or someone else's, accepted by her."""

    values: dict[str, int]
    is_self: bool
    grade: str | None
    entry_id: int | None = None
    rater_name: str = ""  # as the pupil or the rater typed it
    relation: str = ""  # the relation, in the reader's language

    @property
    def rater(self) -> display.Text | None:
        """The rater's name as typed, with its own direction (display.own)."""
        return display.own(self.rater_name)

    @property
    def when(self) -> str:
        return _("grade %(grade)s", grade=self.grade) if self.grade else _("no grade")

    @property
    def label(self) -> str:
        """Plain text ("Me, grade 8", "Mama (parent or guardian), grade 9")."""
        if self.is_self:
            return _("Me, %(grade)s", grade=self.when)
        return _(
            "%(name)s (%(relation)s), %(grade)s",
            name=self.rater_name,
            relation=self.relation,
            grade=self.when,
        )


@dataclass(frozen=True)
class Mark:
    """A series' marker: its shape, its colour and whom it stands for."""

    series: Series
    shape: str
    colour: str

    @property
    def svg(self) -> Markup:
        return SHAPES[self.shape]


@dataclass
class Row:
    """One quality: its label and, per scale step, the marks of the series that chose it."""

    key: str
    label: display.Text  # the school's own wording carries its own direction
    cells: list[list[Mark]]


@dataclass
class Chart:
    rows: list[Row]
    legend: list[Mark]
    scale: list[str]  # the scale steps' labels, lowest first
    omitted: int = 0  # older assessments left out to keep the marks apart
    total: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.total = len(self.legend) + self.omitted


def _rated(entry: Entry) -> dict[str, int]:
    ratings = (entry.data or {}).get("ratings")
    if not isinstance(ratings, dict):
        return {}
    steps = {value for value, _label in SCALE}
    out = {}
    for key, value in ratings.items():
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue
        if number in steps:
            out[str(key)] = number
    return out


def _order(entry: Entry) -> tuple:
    return (GRADE_ORDER.get(entry.grade or "", 0), entry.created_at, entry.id or 0)


def series_from_entries(entries: Iterable[Entry]) -> list[Series]:
    """Self-assessments and accepted external assessments with ratings, oldest first."""
    kinds = (EntryKind.STRENGTHS, EntryKind.EXTERNAL_ASSESSMENT)
    rated = [(e, _rated(e)) for e in entries if e.kind in kinds]
    rated = [(e, values) for e, values in rated if values]
    rated.sort(key=lambda pair: _order(pair[0]))
    series = []
    for e, values in rated:
        data = e.data or {}
        is_self = e.kind == EntryKind.STRENGTHS
        series.append(
            Series(
                values=values,
                is_self=is_self,
                grade=e.grade,
                entry_id=e.id,
                rater_name="" if is_self else str(data.get("rater_name") or ""),
                relation="" if is_self else str(_RELATION_LABELS.get(data.get("relation"), "")),
            )
        )
    return series


def _shown(series: Sequence[Series]) -> list[Series]:
    """The newest `MAX_SERIES`, at most half of them the pupil's own if others need room."""
    own = [s for s in series if s.is_self]
    others = [s for s in series if not s.is_self]
    own_room = max(MAX_SERIES // 2, MAX_SERIES - len(others))
    keep_own = own[-own_room:] if own_room else []
    keep_others = others[-(MAX_SERIES - len(keep_own)) :] if MAX_SERIES > len(keep_own) else []
    kept = {id(s) for s in keep_own + keep_others}
    return [s for s in series if id(s) in kept]


def strengths_chart(qualities: Sequence, series: Sequence[Series]) -> Chart | None:
    """The chart of `series` over `qualities` (Quality rows, in their order); None if
    nothing is rated. Qualities no series rated are left out."""
    shown = _shown(series)
    if not shown:
        return None
    legend = [
        Mark(s, shape, SELF_COLOUR if s.is_self else OTHERS_COLOUR)
        for s, shape in zip(shown, SHAPES, strict=False)
    ]
    steps = [value for value, _label in SCALE]
    rows = []
    for q in qualities:
        cells: list[list[Mark]] = [[] for _step in steps]
        for mark in legend:
            value = mark.series.values.get(q.key)
            if value in steps:
                cells[steps.index(value)].append(mark)
        if any(cells):
            label = display.own(q.name) if q.name else display.fixed(quality_name(q))
            rows.append(Row(q.key, label, cells))
    if not rows:
        return None
    return Chart(
        rows=rows,
        legend=legend,
        scale=[str(label) for _value, label in SCALE],
        omitted=len(series) - len(shown),
    )
