"""Forms of the guidance records: the staff part and the pupil's own part."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from portfolio import clock
from portfolio.i18n import _, _l
from portfolio.kinds import LONG_MAX, TEXT_MAX

MAX_STEPS = 20
#: Rows shown for a new record; more are added with the "Add a step" button.
START_STEPS = 2


class StepForm(Form):
    """One agreed next step. `key` ties the row to the stored step (and its goal)."""

    key = HiddenField()
    text = StringField(
        _l("Step"), validators=[Length(max=TEXT_MAX)], render_kw={"maxlength": TEXT_MAX}
    )
    due_on = DateField(_l("By when"), validators=[Optional()], render_kw={"min": "2000-01-01"})

    def validate_text(self, field):
        if self.due_on.data and not (field.data or "").strip():
            raise ValidationError(_("Please describe the step, or clear its date."))


class GuidanceForm(FlaskForm):
    held_on = DateField(
        _l("Date of the session"),
        validators=[InputRequired(message=_l("Please enter the date of the session."))],
        default=clock.today,
    )
    participants = TextAreaField(
        _l("Who took part"), validators=[Length(max=2000)], render_kw={"rows": 2}
    )
    topics = TextAreaField(
        _l("What we talked about"),
        validators=[
            InputRequired(message=_l("Please write down what you talked about.")),
            Length(max=LONG_MAX),
        ],
        render_kw={"rows": 6},
    )
    next_steps = FieldList(FormField(StepForm), min_entries=1, max_entries=MAX_STEPS)
    version = HiddenField()

    def validate_held_on(self, field):
        if field.data and field.data > clock.today():
            raise ValidationError(_("The session cannot be in the future."))
        if field.data and field.data.year < 2000:
            raise ValidationError(_("Please check the year."))

    def steps_data(self) -> list[dict]:
        """The filled-in rows (empty rows are dropped: that is how a step is removed)."""
        steps = []
        for row in self.next_steps.entries:
            text = (row.form.text.data or "").strip()
            if not text:
                continue
            steps.append(
                {"key": row.form.key.data or None, "text": text, "due_on": row.form.due_on.data}
            )
        return steps


class PupilNotesForm(FlaskForm):
    pupil_notes = TextAreaField(
        _l("My notes"), validators=[Length(max=LONG_MAX)], render_kw={"rows": 5}
    )
    share_guardians = BooleanField(_l("My parents may see this record"))
    share_counsellor = BooleanField(_l("My career counsellor may see this record"))
    version = HiddenField()


def error_list(form) -> list[tuple[str, str, str]]:
    """(field id, label, first message) for every error, also inside the step rows."""
    found: list[tuple[str, str, str]] = []

    def walk(fields, prefix=None):
        for f in fields:
            if f.type == "CSRFTokenField" or not f.errors:
                continue
            if f.type == "FieldList":
                for n, row in enumerate(f.entries, start=1):
                    walk(row.form, prefix=_("Step %(n)d", n=n))
            elif isinstance(f.errors, list):
                label = f"{prefix}: {f.label.text}" if prefix else str(f.label.text)
                found.append((f.id, label, str(f.errors[0])))

    walk(form)
    return found
