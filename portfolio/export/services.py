"""What goes into a pupil's PDF: content the viewer may read, in Berufswahlpass order.

`collect(access, selection)` loads everything with a fixed number of queries and
returns a `PortfolioContent` for templates/pdf/portfolio.html. Who may read what is
decided by `access.PupilAccess.visible_clause` (the query form of `can_view_shared`).
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import logging
import unicodedata
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import format_date
from sqlalchemy.orm import selectinload

from portfolio import charts, display, progress, reference
from portfolio.access import PupilAccess
from portfolio.extensions import db
from portfolio.i18n import _, _l, is_rtl
from portfolio.kinds import KIND_ORDER, REVIEW_STATES, SPECS, section_label
from portfolio.models import (
    GRADE_ORDER,
    Agreement,
    Comment,
    Document,
    DocumentCategory,
    Entry,
    EntryKind,
    GuidanceRecord,
    Quality,
    SchoolClass,
    Section,
    User,
    utcnow,
)
from portfolio.storage import get_storage

from . import certificates

log = logging.getLogger(__name__)

#: Where uploaded documents appear: CV and application papers in Life planning.
DOCUMENT_SECTION = {
    DocumentCategory.CV: Section.LIFE_PLANNING,
    DocumentCategory.APPLICATION: Section.LIFE_PLANNING,
}
DOCUMENT_CATEGORY_LABELS = {
    DocumentCategory.CERTIFICATE: _l("Certificate"),
    DocumentCategory.REPORT_CARD: _l("Report card"),
    DocumentCategory.CV: _l("CV"),
    DocumentCategory.APPLICATION: _l("Application"),
    DocumentCategory.OTHER: _l("Document"),
}
IMAGE_TYPES = {"image/png", "image/jpeg"}
#: Larger images are scaled down before embedding (a phone photo needs no 4000 px in A4).
MAX_IMAGE_PX = 1600
_CATEGORIES = {c.value: c for c in DocumentCategory}


def _spec(kind: str):
    return next((s for k, s in SPECS.items() if k.value == kind), None)


def _doc_section(doc: Document) -> Section:
    return DOCUMENT_SECTION.get(_CATEGORIES.get(doc.category), Section.DOCUMENTATION)


@dataclass(frozen=True)
class Selection:
    """What the pupil ticked: whole sections and single items (ids)."""

    sections: frozenset[Section] = frozenset()
    entries: frozenset[int] = frozenset()
    documents: frozenset[int] = frozenset()
    agreements: frozenset[int] = frozenset()
    guidance: frozenset[int] = frozenset()

    @property
    def is_empty(self) -> bool:
        return not (
            self.sections or self.entries or self.documents or self.agreements or self.guidance
        )

    def wants(self, section: Section, kind: str, obj_id: int) -> bool:
        return section in self.sections or obj_id in getattr(self, kind)


@dataclass
class CommentView:
    author: str  # name, or "Former user"
    role: str  # the author's role(s) in words
    written: dt.datetime
    body: display.Text


@dataclass
class EntryView:
    entry: Entry
    title: display.Text | None  # the pupil's own title (None when the kind's name is enough)
    spec: object
    view: display.Display | None = None  # what is printed (None on the choose page)
    documents: list[DocumentView] = field(default_factory=list)
    #: Review state in words and staff comments, for readers who see them on the pages
    #: (PupilAccess.can_read_comments); None/empty for everyone else.
    review: str | None = None
    comments: list[CommentView] = field(default_factory=list)


@dataclass
class DocumentView:
    document: Document
    title: str
    category: str
    image_src: str | None = None
    attached: bool = False
    missing: bool = False
    #: The pages of an uploaded PDF as images (certificates.page_images).
    pages: list[certificates.PageImage] = field(default_factory=list)


@dataclass
class AgreementView:
    agreement: Agreement
    view: display.Display | None = None  # what is printed (None on the choose page)


@dataclass
class ElementView:
    name: str
    own_name: bool  # the school's own wording (printed as written)
    grades: list[str]
    mandatory: bool
    description: str
    own_description: bool


@dataclass
class SectionView:
    key: Section
    label: str
    entries: list[EntryView] = field(default_factory=list)
    documents: list[DocumentView] = field(default_factory=list)
    guidance: list[GuidanceRecord] = field(default_factory=list)
    agreements: list[AgreementView] = field(default_factory=list)
    elements: list[ElementView] = field(default_factory=list)
    chart: charts.Chart | None = None  # the strengths comparison

    @property
    def anchor(self) -> str:
        return f"section-{self.key.value}"


@dataclass
class PortfolioContent:
    pupil: User
    school_class: SchoolClass | None
    exported_on: str
    sections: list[SectionView]
    audience_note: str
    attachments: list[tuple[bytes, str, str]] = field(default_factory=list)
    rtl: bool = False
    #: The pupil's steps per grade (own work only in the pupil's own export).
    progress: progress.PupilProgress | None = None

    @property
    def has_shared(self) -> bool:
        """Any content of the pupil in it (the school's offers and progress do not count)."""
        return any(s.entries or s.documents or s.guidance or s.agreements for s in self.sections)


def _entry_sort_key(entry: Entry):
    return (
        KIND_ORDER.get(entry.kind, 99),
        GRADE_ORDER.get(entry.grade or "", 0),
        entry.created_at,
        entry.id,
    )


def audience_note(access: PupilAccess) -> str:
    if access.is_self:
        return _("The whole portfolio, as exported by the pupil.")
    if access.is_guardian:
        return _("Contains what the pupil shared with their family.")
    if access.is_staff:
        return _("Contains what the pupil shared with school staff.")
    return ""


def image_src(doc: Document) -> str | None:
    """A URL for an uploaded image: file: inside the upload folder, or a scaled data: URL."""
    storage = get_storage()
    try:
        path = storage.path(doc.storage_key)
        if path is not None and doc.size <= 1_500_000:
            return path.as_uri() if path.is_file() else None
        data = storage.read(doc.storage_key)
    except (ValueError, OSError):
        log.warning("document %s: file not available", doc.id)
        return None
    return _scaled_data_url(data)


def _scaled_data_url(data: bytes) -> str | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.thumbnail((MAX_IMAGE_PX, MAX_IMAGE_PX))
            out = io.BytesIO()
            if img.mode in ("RGBA", "LA", "P"):
                img.save(out, "PNG", optimize=False)
                mime = "image/png"
            else:
                img.convert("RGB").save(out, "JPEG", quality=85)
                mime = "image/jpeg"
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return None
    return f"data:{mime};base64,{base64.b64encode(out.getvalue()).decode()}"


def _document_view(doc: Document, attachments: list) -> DocumentView:
    category = _CATEGORIES.get(doc.category, DocumentCategory.OTHER)
    view = DocumentView(doc, doc.title or doc.filename, str(DOCUMENT_CATEGORY_LABELS[category]))
    if doc.mime_type in IMAGE_TYPES:
        view.image_src = image_src(doc)
        view.missing = view.image_src is None
    elif doc.mime_type == "application/pdf":
        try:
            data = get_storage().read(doc.storage_key)
        except (ValueError, OSError):
            view.missing = True
        else:
            taken = {name for _data, name, _title in attachments}
            attachments.append(
                (data, attachment_name(doc.filename or view.title, taken), view.title)
            )
            view.attached = True
            view.pages = certificates.page_images(data)
    return view


def attachment_name(filename: str, taken: set[str] = frozenset()) -> str:
    """The name of an attached file as the pupil knows it: no folder, no database id,
    ends in .pdf; a second file of the same name becomes "name (2).pdf"."""
    name = unicodedata.normalize("NFC", str(filename or ""))
    name = "".join(c for c in name if c not in '/\\:*?"<>|' and c.isprintable()).strip(" .")
    stem = name[:-4] if name.lower().endswith(".pdf") else name
    stem = stem[:120] or "document"
    candidate, n = f"{stem}.pdf", 1
    while candidate in taken:
        n += 1
        candidate = f"{stem} ({n}).pdf"
    return candidate


def _feedback(entry: Entry, for_pupil: bool) -> tuple[str | None, list[CommentView]]:
    """The review state in words (worded for the pupil in their own export) and the
    comments, oldest first, with their authors' roles."""
    from portfolio.privacy.audit_log import role_label

    state = REVIEW_STATES.get(entry.review_state or "")
    review = None if state is None else str(state.pupil_label if for_pupil else state.label)
    comments = [
        CommentView(
            c.author.full_name if c.author else _("Former user"),
            role_label(",".join(sorted(r.value for r in c.author.roles))) if c.author else "",
            c.created_at,
            display.own(c.body) or display.fixed(""),
        )
        for c in sorted(entry.comments, key=lambda c: (c.created_at, c.id))
    ]
    return review, comments


def collect(access: PupilAccess, selection: Selection | None = None) -> PortfolioContent:
    """Everything of the pupil the viewer may read (and the pupil chose), in binder order."""
    pupil = access.pupil
    entries = sorted(
        db.session.scalars(
            sa.select(Entry)
            .where(Entry.pupil_id == pupil.id, access.visible_clause(Entry))
            .options(
                selectinload(Entry.comments).joinedload(Comment.author),
                selectinload(Entry.imported_history),
            )
        ),
        key=_entry_sort_key,
    )
    documents = list(
        db.session.scalars(
            sa.select(Document)
            .where(Document.pupil_id == pupil.id, access.visible_clause(Document))
            .order_by(Document.created_at, Document.id)
        )
    )
    agreements = list(
        db.session.scalars(
            sa.select(Agreement)
            .where(Agreement.pupil_id == pupil.id, access.visible_clause(Agreement))
            .options(selectinload(Agreement.signatures), selectinload(Agreement.imported_history))
            .order_by(Agreement.number.desc())
        )
    )
    guidance = list(
        db.session.scalars(
            sa.select(GuidanceRecord)
            .where(GuidanceRecord.pupil_id == pupil.id, access.visible_clause(GuidanceRecord))
            .options(selectinload(GuidanceRecord.author))
            .order_by(GuidanceRecord.held_on)
        )
    )
    quality_rows = list(
        db.session.scalars(
            sa.select(Quality)
            .where(Quality.school_id == pupil.school_id, Quality.active.is_(True))
            .order_by(Quality.position, Quality.id)
        )
    )
    qualities = [(q.key, reference.quality_name(q)) for q in quality_rows]
    school_class = progress.current_class(pupil)

    sel = selection if selection is not None and not selection.is_empty else None
    want = (
        (lambda section, kind, obj_id: sel.wants(section, kind, obj_id))
        if sel
        else (lambda *a: True)
    )
    attachments: list = []
    sections = {s: SectionView(s, section_label(s)) for s in Section}

    doc_views: dict[int, DocumentView] = {}
    for doc in documents:
        section = _doc_section(doc)
        if want(section, "documents", doc.id):
            view = _document_view(doc, attachments)
            doc_views[doc.id] = view
            sections[section].documents.append(view)
    chart_entries = []
    for entry in entries:
        spec = _spec(entry.kind)
        if spec is None or not want(entry.section, "entries", entry.id):
            continue
        view = EntryView(
            entry,
            display.own_title(entry, spec),
            spec,
            display.entry_view(entry, qualities),
            [doc_views[d.id] for d in documents if d.entry_id == entry.id and d.id in doc_views],
        )
        if sel is None and access.can_read_comments(entry):
            view.review, view.comments = _feedback(entry, access.is_self)
        sections[entry.section].entries.append(view)
        if entry.kind in (EntryKind.STRENGTHS, EntryKind.EXTERNAL_ASSESSMENT):
            chart_entries.append(entry)
    sections[Section.MY_WAY].chart = charts.strengths_chart(
        quality_rows, charts.series_from_entries(chart_entries)
    )
    sections[Section.MY_WAY].guidance = [
        g for g in guidance if want(Section.MY_WAY, "guidance", g.id)
    ]
    sections[Section.AGREEMENT].agreements = [
        AgreementView(a, display.agreement_view(a))
        for a in agreements
        if want(Section.AGREEMENT, "agreements", a.id)
    ]
    steps = None
    if sel is None or Section.OFFERS in sel.sections:
        steps = progress.of_pupil(pupil, own_work=access.is_self)
        sections[Section.OFFERS].elements = [
            ElementView(
                reference.element_name(el),
                bool(el.name),
                el.grade_list,
                el.mandatory,
                reference.element_description(el),
                bool(el.description),
            )
            for el in progress.elements_for_school(pupil.school_id)
        ]

    shown = [
        s
        for s in sections.values()
        if s.entries or s.documents or s.guidance or s.agreements or s.elements or s.chart
    ]
    if sel is None:  # the whole portfolio shows every section, empty ones too
        shown = list(sections.values())
    return PortfolioContent(
        pupil=pupil,
        school_class=school_class,
        exported_on=format_date(utcnow(), "long"),
        sections=shown,
        audience_note=audience_note(access),
        attachments=attachments,
        rtl=is_rtl(),
        progress=steps,
    )


def collect_titles(access: PupilAccess) -> PortfolioContent:
    """The items the pupil can tick on the choose page (titles only, no files read)."""
    pupil = access.pupil
    entries = sorted(
        db.session.scalars(
            sa.select(Entry)
            .where(Entry.pupil_id == pupil.id, access.visible_clause(Entry))
            .options(selectinload(Entry.imported_history))
        ),
        key=_entry_sort_key,
    )
    documents = db.session.scalars(
        sa.select(Document)
        .where(Document.pupil_id == pupil.id, access.visible_clause(Document))
        .order_by(Document.created_at, Document.id)
    )
    agreements = db.session.scalars(
        sa.select(Agreement)
        .where(Agreement.pupil_id == pupil.id, access.visible_clause(Agreement))
        .order_by(Agreement.number.desc())
    )
    guidance = db.session.scalars(
        sa.select(GuidanceRecord)
        .where(GuidanceRecord.pupil_id == pupil.id, access.visible_clause(GuidanceRecord))
        .order_by(GuidanceRecord.held_on)
    )
    sections = {s: SectionView(s, section_label(s)) for s in Section}
    for e in entries:
        spec = _spec(e.kind)
        if spec is not None:
            sections[e.section].entries.append(EntryView(e, display.own_title(e, spec), spec))
    for d in documents:
        category = _CATEGORIES.get(d.category, DocumentCategory.OTHER)
        sections[_doc_section(d)].documents.append(
            DocumentView(d, d.title or d.filename, str(DOCUMENT_CATEGORY_LABELS[category]))
        )
    sections[Section.AGREEMENT].agreements = [AgreementView(a) for a in agreements]
    sections[Section.MY_WAY].guidance = list(guidance)
    return PortfolioContent(pupil, None, "", list(sections.values()), "")


APPLICATION_KINDS = {EntryKind.CV, EntryKind.PRAKTIKUM}
APPLICATION_DOCUMENTS = {
    DocumentCategory.CV,
    DocumentCategory.APPLICATION,
    DocumentCategory.CERTIFICATE,
    DocumentCategory.REPORT_CARD,
}


def application_preset(content: PortfolioContent) -> Selection:
    """The application bundle: CV, placement reports, certificates and report cards."""
    entries, documents = set(), set()
    for section in content.sections:
        entries |= {v.entry.id for v in section.entries if v.entry.kind in APPLICATION_KINDS}
        documents |= {
            v.document.id for v in section.documents if v.document.category in APPLICATION_DOCUMENTS
        }
    return Selection(entries=frozenset(entries), documents=frozenset(documents))
