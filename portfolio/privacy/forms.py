"""Forms of the privacy pages (pupil, guardian) and the admin's consent, audit, leaving and
package import pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional

from portfolio.i18n import _l
from portfolio.privacy.consent import PURPOSE_LABELS, PURPOSES
from portfolio.privacy.lifecycle import MAX_RETENTION_DAYS, MIN_RETENTION_DAYS

_PURPOSE_VALUES = [p.value for p in PURPOSES]


class ConsentActionForm(FlaskForm):
    """One button: give or withdraw the consent for one purpose."""

    purpose = HiddenField(validators=[AnyOf(_PURPOSE_VALUES)])
    action = HiddenField(validators=[AnyOf(["give", "withdraw"])])


class PaperConsentForm(FlaskForm):
    """Staff record a consent or a withdrawal that reached the school on paper."""

    purpose = SelectField(
        _l("Purpose"),
        choices=[SelectChoice(p.value, PURPOSE_LABELS[p]) for p in PURPOSES],
        validators=[InputRequired()],
    )
    action = RadioField(
        _l("What does the paper say?"),
        choices=[
            SelectChoice("give", _l("Consent given")),
            SelectChoice("withdraw", _l("Consent withdrawn")),
        ],
        validators=[InputRequired(message=_l("Please choose one."))],
    )
    confirm = BooleanField(
        _l("I have the signed form and it will be filed in the pupil's records."),
        validators=[DataRequired(message=_l("Please confirm that you have the signed form."))],
    )


class MarkLeftForm(FlaskForm):
    left_on = DateField(
        _l("Leaving date"),
        validators=[InputRequired(message=_l("Please enter the date (DD.MM.YYYY)."))],
    )


class ConfirmForm(FlaskForm):
    """A bare POST with CSRF protection (undo, download)."""


class RetentionForm(FlaskForm):
    retention_days = IntegerField(
        _l("Days after leaving until the data is deleted"),
        validators=[
            InputRequired(message=_l("Please enter a number of days.")),
            NumberRange(
                MIN_RETENTION_DAYS,
                MAX_RETENTION_DAYS,
                message=_l("Enter a number from %(min)s to %(max)s (at most five years)."),
            ),
        ],
    )


class PupilSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name or username"), validators=[Optional(), Length(max=100)])


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    pupil = StringField(_l("Pupil (name or username)"), validators=[Optional(), Length(max=100)])
    actor = StringField(_l("Who (name)"), validators=[Optional(), Length(max=100)])
    action = SelectField(_l("Action"), validators=[Optional()], choices=[])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])


class PackageUploadForm(FlaskForm):
    """The school admin uploads a take-away package from another school."""

    package = FileField(
        _l("Take-away package (ZIP)"),
        validators=[FileRequired(message=_l("Please choose the ZIP file."))],
    )


class PackageImportForm(FlaskForm):
    """Import a checked package: into which class, and the confirmation for a partial one."""

    class_id = SelectField(_l("Class in this school year"), choices=[], validators=[Optional()])
    accept_partial = BooleanField(
        _l("I know that this package holds only part of the portfolio and import it anyway.")
    )
