"""Forms of the administration pages and the guardian registration."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from portfolio.config import LANGUAGES
from portfolio.formutil import select_choices
from portfolio.i18n import _l
from portfolio.models import Role


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes (rendered by macros/forms.html as a fieldset)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


options = select_choices


def language_choices() -> list[SelectChoice]:
    return options(LANGUAGES.items())


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


class UserSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = SearchField(_l("Search by name or username"), validators=[Optional(), Length(max=100)])
    kind = SelectField(
        _l("Show"),
        choices=options(
            [
                ("pupils", _l("Pupils")),
                ("staff", _l("Staff")),
                ("guardians", _l("Parents")),
            ]
        ),
        default="pupils",
    )
    class_id = SelectField(_l("Class"), coerce=str, validators=[Optional()], default="")
    inactive = BooleanField(_l("Include deactivated accounts and pupils who left"))


STAFF_ROLE_LABELS = {
    Role.TEACHER: _l("Teacher"),
    Role.STUBO: _l("StuBO (careers coordinator)"),
    Role.COUNSELLOR: _l("Counsellor (Berufsberatung or school social work)"),
    Role.ADMIN: _l("School administration"),
}


class StaffForm(FlaskForm):
    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=100)])
    last_name = StringField(_l("Surname"), validators=[DataRequired(), Length(max=100)])
    username = StringField(
        _l("Username"),
        validators=[Optional(), Length(max=80)],
        description=_l("Leave empty for firstname.surname."),
        render_kw={"autocapitalize": "none", "spellcheck": "false"},
    )
    email = EmailField(_l("E-mail"), validators=[Optional(), Email(), Length(max=255)])
    roles = MultiCheckboxField(
        _l("Roles"), validators=[DataRequired(message=_l("Please choose at least one role."))]
    )
    classes = MultiCheckboxField(_l("Classes taught (class teacher)"), coerce=int)
    submit = SubmitField(_l("Create account"))


class UsernameForm(FlaskForm):
    username = StringField(
        _l("Username of the parent account"),
        validators=[DataRequired(), Length(max=80)],
        render_kw={"autocapitalize": "none", "spellcheck": "false"},
    )
    submit = SubmitField(_l("Link parent"))


class CounsellorForm(FlaskForm):
    counsellor_id = SelectField(_l("Counsellor"), coerce=int)
    submit = SubmitField(_l("Assign"))


class IdForm(FlaskForm):
    """A button that acts on one row (unlink, remove): CSRF token plus an id."""

    # Digits only, and small enough for an integer column (a huge id was a 500).
    id = HiddenField(validators=[DataRequired(), Regexp(r"^\d{1,9}$")])
    submit = SubmitField(_l("Remove"))


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
    submit = SubmitField(_l("Register"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = language_choices()


class GuardianLinkCodeForm(FlaskForm):
    code = GuardianRegisterForm.code
    submit = SubmitField(_l("Add child"))
