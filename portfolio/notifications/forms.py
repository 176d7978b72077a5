"""Forms of the e-mail settings."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, SubmitField
from wtforms.validators import InputRequired, Length

from portfolio.formutil import select_choices
from portfolio.i18n import _l
from portfolio.notifications.preferences import FREQUENCIES, FREQUENCY_LABELS


class MailSettingsForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[Length(max=255)],
        render_kw={
            "autocomplete": "email",
            "autocapitalize": "none",
            "spellcheck": "false",
            "dir": "ltr",
        },
    )
    frequency = RadioField(
        _l("E-mail about news"),
        choices=select_choices((key, FREQUENCY_LABELS[key]) for key in FREQUENCIES),
        validators=[InputRequired()],
    )
    submit = SubmitField(_l("Save"))
