"""The application bundle (Bewerbungsmappe): what a pupil sends to an employer.

A cover sheet, the CV laid out as a German Lebenslauf (name, contact, optional photo,
dated rows in two columns), then the certificates and placement evaluations the pupil
chose, in that order. It leaves the school: it is made with the display model's
"outside" mode (portfolio/display.py), so nothing of the pupil's forms, no school-internal
notes and no empty rows are in it. Only the pupil makes it (`PupilAccess.is_self`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import format_date

from portfolio import display
from portfolio.access import PupilAccess
from portfolio.extensions import db
from portfolio.models import Document, DocumentCategory, EntryKind, utcnow

from .services import (
    IMAGE_TYPES,
    DocumentView,
    EntryView,
    PortfolioContent,
    Selection,
    collect,
    collect_titles,
    image_src,
)

#: Documents offered for the bundle, and which of them are ticked at first.
OFFERED_DOCUMENTS = {
    DocumentCategory.CERTIFICATE.value,
    DocumentCategory.REPORT_CARD.value,
    DocumentCategory.APPLICATION.value,
    DocumentCategory.CV.value,
    DocumentCategory.OTHER.value,
}
PRESET_DOCUMENTS = {DocumentCategory.CERTIFICATE.value, DocumentCategory.REPORT_CARD.value}


@dataclass(frozen=True)
class Choice:
    """What goes into the bundle: one CV, an optional photo, placements and documents."""

    cv: int | None = None
    photo: int | None = None
    placements: tuple[int, ...] = ()
    documents: tuple[int, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.cv or self.placements or self.documents)


@dataclass
class Options:
    """What the pupil can choose from (titles only, no files read)."""

    cvs: list[EntryView] = field(default_factory=list)
    placements: list[EntryView] = field(default_factory=list)
    documents: list[DocumentView] = field(default_factory=list)
    photos: list[DocumentView] = field(default_factory=list)

    def preset(self) -> Choice:
        """At first: the newest CV, every placement, the certificates and report cards."""
        return Choice(
            cv=self.cvs[-1].entry.id if self.cvs else None,
            placements=tuple(v.entry.id for v in self.placements),
            documents=tuple(
                d.document.id for d in self.documents if d.document.category in PRESET_DOCUMENTS
            ),
        )

    def choice_from(self, args) -> Choice:
        """The pupil's choice from the form (ids they may not choose are dropped)."""
        cvs = {v.entry.id for v in self.cvs}
        photos = {d.document.id for d in self.photos}
        placements = {v.entry.id for v in self.placements}
        documents = {d.document.id for d in self.documents}
        cv = args.get("cv", type=int)
        photo = args.get("photo", type=int)
        chosen_p = set(args.getlist("placement", type=int)) & placements
        chosen_d = set(args.getlist("document", type=int)) & documents
        return Choice(
            cv=cv if cv in cvs else None,
            photo=photo if photo in photos else None,
            placements=tuple(v.entry.id for v in self.placements if v.entry.id in chosen_p),
            documents=tuple(d.document.id for d in self.documents if d.document.id in chosen_d),
        )

    def preview(self, choice: Choice) -> list[str]:
        """The bundle's parts in order, as the pupil sees them before downloading."""
        from portfolio.i18n import _

        by_entry = {v.entry.id: v for v in self.cvs + self.placements}
        by_doc = {d.document.id: d for d in self.documents}
        parts = [_("Cover sheet")]
        if choice.cv:
            parts.append(_("CV (Lebenslauf)"))
        parts += [f"{by_doc[i].category}: {by_doc[i].title}" for i in choice.documents]
        for i in choice.placements:
            title = by_entry[i].title
            parts.append(
                f"{by_entry[i].spec.label}: {title}" if title else str(by_entry[i].spec.label)
            )
        return parts


def options(access: PupilAccess) -> Options:
    content = collect_titles(access)
    found = Options()
    for section in content.sections:
        for v in section.entries:
            if v.entry.kind == EntryKind.CV.value:
                found.cvs.append(v)
            elif v.entry.kind == EntryKind.PRAKTIKUM.value:
                found.placements.append(v)
        for d in section.documents:
            if d.document.mime_type in IMAGE_TYPES and d.document.category in (
                DocumentCategory.CV.value,
                DocumentCategory.APPLICATION.value,
                DocumentCategory.OTHER.value,
            ):
                found.photos.append(d)
            if d.document.category in OFFERED_DOCUMENTS:
                found.documents.append(d)
    return found


@dataclass
class Bundle:
    content: PortfolioContent
    cv: display.Display | None
    person: display.Person | None
    photo_src: str | None
    documents: list[DocumentView]
    placements: list[EntryView]
    made_on: str


def bundle(access: PupilAccess, choice: Choice) -> Bundle:
    """The chosen parts, read in full (certificate pages rendered), in the bundle's order."""
    ids = {i for i in (choice.cv, *choice.placements) if i}
    content = collect(
        access, Selection(entries=frozenset(ids), documents=frozenset(choice.documents))
    )
    entries = {v.entry.id: v for s in content.sections for v in s.entries}
    docs = {d.document.id: d for s in content.sections for d in s.documents}
    cv = None
    if choice.cv in entries:
        cv = display.entry_view(entries[choice.cv].entry, outside=True)
    person = (cv.find("person") or [None])[0] if cv else None
    photo_src = None
    if choice.photo:
        photo = db.session.get(Document, choice.photo)
        if (
            photo is not None
            and photo.pupil_id == access.pupil.id
            and access.can_view_shared(photo)
        ):
            photo_src = image_src(photo)
    placements = []
    for i in choice.placements:
        if i in entries:
            v = entries[i]
            v.view = display.entry_view(v.entry, outside=True)
            placements.append(v)
    return Bundle(
        content=content,
        cv=cv,
        person=person,
        photo_src=photo_src,
        documents=[docs[i] for i in choice.documents if i in docs],
        placements=placements,
        made_on=format_date(utcnow(), "long"),
    )
