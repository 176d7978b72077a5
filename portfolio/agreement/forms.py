"""The agreement form, built from kinds.AGREEMENT_FIELDS' names and limits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FormField,
    HiddenField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portfolio.documents.forms import choice_list
from portfolio.i18n import _l
from portfolio.kinds import AGREEMENT_DECISIONS, LONG_MAX, TEXT_MAX
from portfolio.reference import OCCUPATIONAL_FIELDS

MAX_STEPS = 10
MAX_CONTACTS = 6


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class _SubForm(FlaskForm):
    class Meta:
        csrf = False


class StepForm(_SubForm):
    text = StringField(_l("Step"), validators=[Optional(), Length(max=TEXT_MAX)])
    due_on = DateField(_l("By when"), validators=[Optional()], render_kw={"autocomplete": "off"})


class ContactForm(_SubForm):
    name = StringField(_l("Name"), validators=[Optional(), Length(max=TEXT_MAX)])
    role = StringField(_l("Role"), validators=[Optional(), Length(max=TEXT_MAX)])
    contact = StringField(_l("How to reach them"), validators=[Optional(), Length(max=TEXT_MAX)])


class AgreementForm(FlaskForm):
    agreement_id = HiddenField()
    version = HiddenField()
    decision = RadioField(
        _l("What comes after school?"),
        choices=choice_list(AGREEMENT_DECISIONS),
        validators=[Optional()],
    )
    dream_job = StringField(_l("My dream job"), validators=[Optional(), Length(max=TEXT_MAX)])
    strengths = TextAreaField(
        _l("What I can do"), validators=[Optional(), Length(max=LONG_MAX)], render_kw={"rows": 4}
    )
    fields = MultiCheckboxField(
        _l("Possible occupational fields"),
        choices=choice_list(OCCUPATIONAL_FIELDS),
        validators=[Optional()],
    )
    next_step = TextAreaField(
        _l("My concrete next step"),
        validators=[Optional(), Length(max=LONG_MAX)],
        render_kw={"rows": 3},
    )
    steps = FieldList(FormField(StepForm), max_entries=MAX_STEPS)
    contacts = FieldList(FormField(ContactForm), max_entries=MAX_CONTACTS)

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for row in self.steps:
            if row.form.due_on.data and not (row.form.text.data or "").strip():
                row.form.text.errors.append(_l("Please describe the step, or remove the date."))
                ok = False
        for row in self.contacts:
            filled = any((row.form[f].data or "").strip() for f in ("role", "contact"))
            if filled and not (row.form.name.data or "").strip():
                row.form.name.errors.append(_l("Please enter the contact person's name."))
                ok = False
        return ok

    def content(self) -> dict[str, Any]:
        """The form's values in the shape of services.content_of()."""
        steps = []
        for row in self.steps:
            text = (row.form.text.data or "").strip()
            if text:
                due = row.form.due_on.data
                steps.append(
                    {
                        "text": text,
                        "due_on": due.isoformat() if due else None,
                        "priority": len(steps) + 1,
                    }
                )
        contacts = []
        for row in self.contacts:
            item = {f: (row.form[f].data or "").strip() for f in ("name", "role", "contact")}
            if item["name"]:
                contacts.append(item)
        return {
            "decision": self.decision.data or None,
            "dream_job": (self.dream_job.data or "").strip(),
            "strengths": (self.strengths.data or "").strip(),
            "fields": list(self.fields.data or []),
            "next_step": (self.next_step.data or "").strip(),
            "steps": steps,
            "contacts": contacts,
        }


def form_data(content: dict[str, Any]) -> dict[str, Any]:
    """Initial form data from a version's content, with a few empty rows to fill in."""
    steps = [
        {
            "text": s.get("text", ""),
            "due_on": dt.date.fromisoformat(s["due_on"]) if s.get("due_on") else None,
        }
        for s in content.get("steps") or []
    ]
    contacts = list(content.get("contacts") or [])
    steps += [{}] * min(MAX_STEPS - len(steps), max(3 - len(steps), 2))
    contacts += [{}] * min(MAX_CONTACTS - len(contacts), max(2 - len(contacts), 1))
    data = {k: v for k, v in content.items() if k not in ("steps", "contacts")}
    return {**data, "steps": steps, "contacts": contacts}


class SignForm(FlaskForm):
    agreement_id = HiddenField()
    version = HiddenField()
    confirm = BooleanField(_l("I have read this version and agree to it."))

    def validate_confirm(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Please tick the box to confirm that you have read it."))


class SharingForm(FlaskForm):
    share_guardians = BooleanField(_l("My parents may read and sign it"))
    share_counsellor = BooleanField(_l("The Berufsberatung may read and sign it"))
