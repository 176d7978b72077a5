"""Forms of the parents' registration with the code from the school's letter."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from portfolio.formutil import language_choices
from portfolio.i18n import _l


class GuardianRegisterForm(FlaskForm):
    code = StringField(
        _l("Code from the letter"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("For example KX7P-M2Q9-TR4A. Dashes and small letters are fine."),
        render_kw={"autocapitalize": "characters", "autocomplete": "off", "spellcheck": "false"},
    )
    first_name = StringField(
        _l("Your first name"),
        validators=[DataRequired(), Length(max=100)],
        render_kw={"autocomplete": "given-name"},
    )
    last_name = StringField(
        _l("Your surname"),
        validators=[DataRequired(), Length(max=100)],
        render_kw={"autocomplete": "family-name"},
    )
    username = StringField(
        _l("Choose a username"),
        validators=[DataRequired(), Length(max=80)],
        description=_l("Letters a–z, digits, dot or dash, e.g. maria.schmidt"),
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Choose a password"),
        validators=[DataRequired(), Length(max=200)],
        description=_l("At least 8 characters."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    language = SelectField(_l("Your language"))
    email = EmailField(
        _l("Your e-mail address"),
        validators=[Length(max=255)],
        description=_l(
            "If you give one, we tell you by e-mail when a signature is waiting for you or your "
            "child shares something with you: at most once a day, only what happened, with a "
            "link. First we send a link to confirm the address. You can change this at any "
            "time in the e-mail settings."
        ),
        render_kw={
            "autocomplete": "email",
            "autocapitalize": "none",
            "spellcheck": "false",
            "dir": "ltr",
        },
    )
    submit = SubmitField(_l("Register"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = language_choices()


class GuardianLinkCodeForm(FlaskForm):
    code = GuardianRegisterForm.code
    submit = SubmitField(_l("Add child"))
