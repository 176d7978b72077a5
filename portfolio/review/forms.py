"""The staff's answer to a shared entry: a comment, a review or a revision request."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length

from portfolio.i18n import _l

COMMENT_MAX = 4000


class RespondForm(FlaskForm):
    body = TextAreaField(
        _l("Your comment"),
        validators=[
            Length(max=COMMENT_MAX, message=_l("Please write at most %(max)d characters."))
        ],
    )
