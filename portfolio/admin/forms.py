"""Forms of the administration pages: accounts, staff, links, assignments."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SearchField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from portfolio.formutil import MultiCheckboxField, select_choices
from portfolio.i18n import _l
from portfolio.models import Role

options = select_choices


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
