"""Small helpers shared by the feature forms."""

from __future__ import annotations

from collections.abc import Iterable

from wtforms import BooleanField, SelectMultipleField, widgets
from wtforms.fields.choices import SelectChoice

from portfolio.config import LANGUAGES
from portfolio.kinds import AUDIENCES, Audience


def select_choices(pairs: Iterable[tuple[object, object]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices (tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(str(value), label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes (rendered by macros/forms.html as a fieldset)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def language_choices() -> list[SelectChoice]:
    return select_choices(LANGUAGES.items())


class SharingFields:
    """The "who sees this" checkboxes of entries and documents, one per audience
    (kinds.AUDIENCES), rendered by templates/macros/sharing.html."""

    share_class_teacher = BooleanField(AUDIENCES[Audience.CLASS_TEACHER].label)
    share_stubo = BooleanField(AUDIENCES[Audience.STUBO].label)
    share_counsellor = BooleanField(AUDIENCES[Audience.COUNSELLOR].label)
    share_guardians = BooleanField(AUDIENCES[Audience.GUARDIANS].label)

    def audiences(self) -> set[Audience]:
        """The audiences ticked."""
        return {a for a in Audience if getattr(self, f"share_{a.value}").data}

    def sharing_fields(self) -> list[tuple[Audience, BooleanField]]:
        """(audience, checkbox) in the order of kinds.AUDIENCES."""
        return [(a, getattr(self, f"share_{a.value}")) for a in AUDIENCES]

    @classmethod
    def initial(cls, obj) -> dict[str, bool]:
        """Form data of an entry's or document's present sharing."""
        return {f"share_{a.value}": obj.is_shared_with(a) for a in Audience}
