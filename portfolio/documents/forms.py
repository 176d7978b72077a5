from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, Length, Optional

from portfolio.documents.services import CATEGORY_CHOICES
from portfolio.documents.uploads import ACCEPT
from portfolio.formutil import SharingFields, select_choices
from portfolio.i18n import _l
from portfolio.models import DocumentCategory

choice_list = select_choices


class DocumentForm(SharingFields, FlaskForm):
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


class UploadForm(SharingFields, FlaskForm):
    file = FileField(_l("File"), render_kw={"accept": ACCEPT})
    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)])
    category = RadioField(
        _l("What kind of document is it?"),
        choices=choice_list(CATEGORY_CHOICES),
        default=DocumentCategory.CERTIFICATE.value,
        validators=[DataRequired(message=_l("Please choose a kind."))],
    )
