from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, RadioField, StringField
from wtforms.validators import DataRequired, Length, Optional

from portfolio.documents.services import CATEGORY_CHOICES
from portfolio.documents.uploads import ACCEPT
from portfolio.formutil import select_choices
from portfolio.i18n import _l
from portfolio.models import Audience, DocumentCategory

choice_list = select_choices


class _ShareFields:
    share_teachers = BooleanField(_l("My teachers (class teacher, StuBO)"))
    share_counsellor = BooleanField(_l("The Berufsberatung (if you agreed to counselling)"))
    share_guardians = BooleanField(_l("My parents"))

    def audiences(self) -> set[Audience]:
        return {a for a in Audience if getattr(self, f"share_{a.value}").data}


class DocumentForm(_ShareFields, FlaskForm):
    """Title, category and sharing of a document that exists."""

    title = StringField(
        _l("Title"), validators=[DataRequired(message=_l("Please enter a title.")), Length(max=200)]
    )
    category = RadioField(
        _l("What kind of document is it?"),
        choices=choice_list(CATEGORY_CHOICES),
        default=DocumentCategory.CERTIFICATE.value,
        validators=[DataRequired(message=_l("Please choose a kind."))],
    )


class UploadForm(_ShareFields, FlaskForm):
    file = FileField(_l("File"), render_kw={"accept": ACCEPT})
    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)])
    category = RadioField(
        _l("What kind of document is it?"),
        choices=choice_list(CATEGORY_CHOICES),
        default=DocumentCategory.CERTIFICATE.value,
        validators=[DataRequired(message=_l("Please choose a kind."))],
    )
