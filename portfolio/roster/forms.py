"""Forms of the roster import and the login slips."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, SubmitField
from wtforms.validators import DataRequired

from portfolio.formutil import MultiCheckboxField, language_choices
from portfolio.i18n import _l


class RosterUploadForm(FlaskForm):
    file = FileField(
        _l("Export file from SchILD-NRW"),
        validators=[FileRequired(message=_l("Please choose the file."))],
    )
    submit = SubmitField(_l("Check the file"))


class RosterCommitForm(FlaskForm):
    only_valid = BooleanField(_l("Import only the valid rows and skip the rows with errors"))
    letters = BooleanField(
        _l("Add a letter with a registration code for the parents of each new pupil"), default=True
    )
    letter_locale = SelectField(_l("Language of the parents' letters"), default="de")
    submit = SubmitField(_l("Import now"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.letter_locale.choices = language_choices()


class SlipsForm(FlaskForm):
    pupils = MultiCheckboxField(
        _l("Pupils"),
        coerce=int,
        validators=[DataRequired(message=_l("Please choose at least one pupil."))],
    )
    letters = BooleanField(
        _l("Add a letter with a registration code for the parents"), default=True
    )
    letter_locale = SelectField(
        _l("Language of the parents' letters"),
        default="de",
        description=_l("Used when the parents have not chosen a language in their account."),
    )
    confirm = BooleanField(
        _l(
            "I understand: the chosen pupils get new passwords, and their "
            "old passwords stop working."
        ),
        validators=[DataRequired(message=_l("Please confirm."))],
    )
    submit = SubmitField(_l("Create new passwords and login slips"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.letter_locale.choices = language_choices()


class LettersForm(FlaskForm):
    """Letters with a registration code for the parents: no password changes."""

    pupils = MultiCheckboxField(
        _l("Pupils"),
        coerce=int,
        validators=[DataRequired(message=_l("Please choose at least one pupil."))],
    )
    letter_locale = SelectField(
        _l("Language of the parents' letters"),
        default="de",
        description=_l("Used when the parents have not chosen a language in their account."),
    )
    submit = SubmitField(_l("Make the letters"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.letter_locale.choices = language_choices()
