"""Forms built from the entry kinds in portfolio/kinds.py, and the small fixed forms."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from portfolio.formutil import SharingFields, select_choices
from portfolio.i18n import _, _l
from portfolio.kinds import LONG_MAX, RELATIONS, Audience, Field, Group, KindSpec, field_choices
from portfolio.reference import SCALE, quality_name

REQUIRED = _l("Please fill in this field.")
CHOOSE = _l("– please choose –")


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes (rendered as a fieldset by macros/forms.html)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DateWidget(TextInput):
    """A date picker; when the text is not a date (typed without a picker), a text box,
    so that what was typed comes back unchanged with the error message."""

    def __call__(self, field, **kwargs):
        value = field._value()
        kwargs["type"] = "date" if not value or _parse_date(value) else "text"
        kwargs.setdefault("autocomplete", "off")
        return super().__call__(field, **kwargs)


def _parse_date(text: str) -> dt.date | None:
    text = (text or "").strip()
    match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)
    try:
        if match:
            day, month, year = (int(g) for g in match.groups())
            value = dt.date(year, month, day)
        else:
            value = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return value if 1950 <= value.year <= 2100 else None


class DateInputField(StringField):
    """A date as ISO text (browser picker) or typed as TT.MM.JJJJ; stored as ISO."""

    widget = DateWidget()

    def pre_validate(self, form):
        if self.data and self.data.strip() and _parse_date(self.data) is None:
            raise ValidationError(_("Please enter a real date, for example 24.03.2026."))

    @property
    def iso(self) -> str:
        parsed = _parse_date(self.data or "")
        return parsed.isoformat() if parsed else ""


class TextLimit:
    """At most `limit` characters, saying how many there are now."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, form, field) -> None:
        length = len(field.data or "")
        if length > self.limit:
            raise ValidationError(
                _(
                    "This text is too long: %(length)d characters, at most %(limit)d are "
                    "possible. Please shorten it (your text is kept here).",
                    length=length,
                    limit=self.limit,
                )
            )


class ChoiceOrEmpty:
    def __init__(self, choices) -> None:
        self.values = {str(value) for value, _label in choices}

    def __call__(self, form, field) -> None:
        if field.data not in (None, "") and str(field.data) not in self.values:
            raise ValidationError(_("Please choose one of the options."))


choices = select_choices


def scale_choices() -> list[SelectChoice]:
    return choices(SCALE)


def ratings_form(qualities) -> type[Form]:
    """One radio group per quality on the four-step scale."""
    attrs = {
        q.key: RadioField(
            quality_name(q),
            choices=scale_choices(),
            validate_choice=False,
            validators=[ChoiceOrEmpty(SCALE)],
        )
        for q in qualities
    }
    return type("RatingsForm", (Form,), attrs)


def _unbound(f: Field, qualities):
    """The WTForms field for one field of a kind."""
    required = [InputRequired(message=REQUIRED)] if f.required else []
    text_required = [DataRequired(message=REQUIRED)] if f.required else []
    hint = f.prompt
    if f.type == "textarea":
        return TextAreaField(
            f.label,
            validators=[*text_required, TextLimit(f.limit)],
            description=hint,
            render_kw={"rows": 5, "data-maxlength": f.limit},
        )
    if f.type == "text":
        return StringField(
            f.label,
            validators=[*text_required, TextLimit(f.limit)],
            description=hint,
            render_kw={"data-maxlength": f.limit},
        )
    if f.type == "date":
        return DateInputField(f.label, validators=[*text_required], description=hint)
    if f.type == "choice":
        options = field_choices(f)
        return SelectField(
            f.label,
            choices=choices([("", CHOOSE), *options]),
            validate_choice=False,
            validators=[*required, ChoiceOrEmpty(options)],
            description=hint,
        )
    if f.type in ("multichoice", "occupational_fields"):
        return MultiCheckboxField(
            f.label, choices=choices(field_choices(f)), validators=[*required], description=hint
        )
    if f.type == "yesno":
        return RadioField(
            f.label,
            choices=choices(f.choices),
            validate_choice=False,
            validators=[*required, ChoiceOrEmpty(f.choices)],
            description=hint,
        )
    if f.type == "ratings":
        return FormField(ratings_form(qualities), label=f.label, description=hint)
    if f.type == "number":
        return IntegerField(
            f.label,
            description=hint,
            validators=[
                InputRequired(message=REQUIRED) if f.required else Optional(),
                NumberRange(min=0, max=1_000_000, message=_l("Please enter a number.")),
            ],
            render_kw={"inputmode": "numeric"},
        )
    raise ValueError(f"unknown field type {f.type!r}")


class EntryFormBase(FlaskForm):
    #: The entry's version when the form was opened (optimistic locking).
    version = HiddenField()


def group_item_form(group: Group, qualities) -> type[Form]:
    return type(
        f"{group.name}Item", (Form,), {f.name: _unbound(f, qualities) for f in group.fields}
    )


def groups_of(spec: KindSpec) -> list[Group]:
    """The kind's repeating groups (each a list of item fieldsets in the form)."""
    return [g for g in spec.fields if isinstance(g, Group)]


def item_count(group: Group, existing: list | None, extra: int = 0) -> int:
    """Item fieldsets to show: fixed groups exactly; others the existing ones plus empty ones."""
    if group.fixed:
        return group.min_items
    count = len(existing or []) + 1 + extra
    return max(group.min_items, 1, min(count, group.max_items))


def entry_form_class(spec: KindSpec, qualities, counts: dict[str, int]) -> type[EntryFormBase]:
    """A form class for the kind, without the fields only the rater fills in."""
    readonly = set(spec.extra.get("readonly_fields", ()))
    attrs: dict[str, Any] = {}
    for item in spec.fields:
        if item.name in readonly:
            continue
        if isinstance(item, Group):
            attrs[item.name] = FieldList(
                FormField(group_item_form(item, qualities)),
                label=item.label,
                min_entries=counts.get(item.name, 1),
                validators=[GroupLimit(item)],
            )
        else:
            attrs[item.name] = _unbound(item, qualities)
    return type(f"{spec.kind.value.title()}Form", (EntryFormBase,), attrs)


def remove_row(form, groups: list[Group], which: str | None) -> str | None:
    """Take one row out of a repeating group of a submitted form ("Remove" without
    JavaScript sends `remove_row=<group>-<index>`); returns the group's name, or None
    when nothing was removed. Fixed groups keep their rows."""
    group_name, _sep, index = (which or "").rpartition("-")
    group = next((g for g in groups if g.name == group_name and not g.fixed), None)
    if group is None or group.name not in form or not index.isdigit():
        return None
    entries = form[group.name].entries
    if int(index) >= len(entries):
        return None
    entries.pop(int(index))
    return group.name


class GroupLimit:
    def __init__(self, group: Group) -> None:
        self.group = group

    def __call__(self, form, field) -> None:
        filled = [e for e in field.entries if not _is_empty(item_data(self.group, e.form))]
        if len(filled) > self.group.max_items:
            raise ValidationError(
                _("At most %(n)d items are possible here.", n=self.group.max_items)
            )


# -- data <-> form ---------------------------------------------------------------------
def _value(f: Field, wt) -> Any:
    if f.type == "date":
        return wt.iso
    if f.type == "ratings":
        return {key: int(v) for key, v in wt.data.items() if v not in (None, "")}
    if f.type in ("multichoice", "occupational_fields"):
        return list(wt.data or [])
    if f.type == "number":
        return wt.data
    data = wt.data
    return data.strip() if isinstance(data, str) else (data or "")


def _is_empty(values: dict) -> bool:
    return all(v in (None, "", [], {}) for v in values.values())


def item_data(group: Group, subform) -> dict:
    return {f.name: _value(f, subform[f.name]) for f in group.fields}


def data_from_form(spec: KindSpec, form, existing: dict | None = None) -> dict:
    """The entry's `data` from a validated form; rater-only fields are kept as they were."""
    data = dict(existing or {})
    for item in spec.fields:
        if item.name not in form:
            continue
        if isinstance(item, Group):
            items = [item_data(item, entry.form) for entry in form[item.name].entries]
            if not item.fixed:
                items = [i for i in items if not _is_empty(i)]
            data[item.name] = items
        else:
            data[item.name] = _value(item, form[item.name])
    return data


def form_data(spec: KindSpec, data: dict) -> dict:
    """Stored data in the shape the form fields take (ratings as strings)."""
    result: dict[str, Any] = {}
    for item in spec.fields:
        value = (data or {}).get(item.name)
        if isinstance(item, Group):
            result[item.name] = [
                {f.name: _field_value(f, row.get(f.name)) for f in item.fields}
                for row in (value or [])
            ]
        else:
            result[item.name] = _field_value(item, value)
    return result


def _field_value(f: Field, value):
    if f.type == "ratings":
        return {k: str(v) for k, v in (value or {}).items()}
    if f.type in ("multichoice", "occupational_fields"):
        return list(value or [])
    return value


# -- the small forms ---------------------------------------------------------------------
class SharingForm(SharingFields, FlaskForm):
    """Who sees an entry (the same checkboxes as a document's)."""


class AtLeastOne:
    """At least one box ticked. (Not InputRequired: its `required` attribute on every
    checkbox of the group would make the browser demand all of them.)"""

    def __init__(self, message) -> None:
        self.message = message

    def __call__(self, form, field) -> None:
        if not field.data:
            raise StopValidation(str(self.message))


class FeedbackForm(FlaskForm):
    """Ask for feedback: whom (staff only; `offer` sets the people there are)."""

    ask = MultiCheckboxField(
        _l("Whom do you ask?"),
        choices=[],
        validators=[AtLeastOne(_l("Please tick whom you ask for feedback."))],
    )

    def offer(self, choices: list[tuple[str, object]]) -> FeedbackForm:
        self.ask.choices = select_choices(choices)
        return self

    def audiences(self) -> list[Audience]:
        return [Audience(value) for value in self.ask.data or []]


class StepForm(FlaskForm):
    """Tick a goal's step done or not done, for the version of the goal the page showed."""

    version = IntegerField(validators=[InputRequired()])
    done = RadioField(
        choices=select_choices([("yes", "yes"), ("no", "no")]), validators=[InputRequired()]
    )


class AssessmentRequestForm(FlaskForm):
    rater_name = StringField(
        _l("Name of the person"),
        validators=[DataRequired(message=REQUIRED), TextLimit(120)],
        description=_l("e.g. Mum, Mr Schmidt, my placement mentor"),
    )
    relation = RadioField(
        _l("Who is this person to you?"),
        choices=choices(RELATIONS),
        validators=[InputRequired(message=_l("Please choose one."))],
    )
    rater_user_id = SelectField(
        _l("Their account here (optional)"),
        coerce=str,
        validate_choice=False,
        description=_l("If they have an account, they also find the request after logging in."),
    )


def rater_form_class(qualities) -> type[FlaskForm]:
    attrs = {
        "ratings": FormField(
            ratings_form(qualities), label=_l("How well does this describe them?")
        ),
        "comment": TextAreaField(
            _l("Your comment (optional)"),
            validators=[TextLimit(LONG_MAX)],
            render_kw={"rows": 5, "data-maxlength": LONG_MAX},
            description=_l("What are they good at? What could they try?"),
        ),
    }
    return type("RaterForm", (FlaskForm,), attrs)
