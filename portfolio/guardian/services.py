"""What the families' pages show: the children, their progress, what they shared.

Every list here is loaded with a fixed number of queries, whatever the number of
children, entries or documents.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portfolio import progress
from portfolio.collation import collated
from portfolio.extensions import db
from portfolio.models import (
    Agreement,
    Audience,
    ConsentPurpose,
    GuardianLink,
    SchoolClass,
    User,
)
from portfolio.privacy import audit, consent

GUARDIANS = frozenset({Audience.GUARDIANS})


@dataclass
class Child:
    """One child on the guardian's start page."""

    pupil: User
    school_class: SchoolClass | None
    progress: progress.PupilProgress
    agreement_to_sign: Agreement | None = None
    consents_to_decide: list[ConsentPurpose] = field(default_factory=list)

    @property
    def needs_attention(self) -> bool:
        return self.agreement_to_sign is not None or bool(self.consents_to_decide)


def children_of(guardian: User) -> list[User]:
    """The guardian's linked children, by first name (one query)."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(GuardianLink, GuardianLink.pupil_id == User.id)
            .where(GuardianLink.guardian_id == guardian.id, User.school_id == guardian.school_id)
            .order_by(collated(User.first_name), User.id)
        )
    )


def overview(guardian: User) -> list[Child]:
    """The children with class, progress and what waits for the guardian."""
    pupils = children_of(guardian)
    if not pupils:
        return []
    ids = [p.id for p in pupils]
    classes = progress.current_classes(ids)
    states = progress.of_pupils(guardian.school_id, ids, current_only=True)
    to_sign = agreements_to_sign(ids)
    consents = consents_to_decide(pupils)
    children = []
    for pupil in pupils:
        children.append(
            Child(
                pupil=pupil,
                school_class=classes.get(pupil.id),
                progress=states[pupil.id],
                agreement_to_sign=to_sign.get(pupil.id),
                consents_to_decide=consents.get(pupil.id, []),
            )
        )
    return children


def agreements_to_sign(pupil_ids: list[int]) -> dict[int, Agreement]:
    """Per pupil: the latest Anschlussvereinbarung, if it waits for a guardian's signature.

    It waits when the child shows it to guardians, it is complete and not locked,
    and no guardian has signed it yet (one query).
    """
    from portfolio.agreement.services import signature_due

    rows = db.session.scalars(
        sa.select(Agreement)
        .where(Agreement.pupil_id.in_(pupil_ids))
        .options(joinedload(Agreement.signatures))
        .order_by(Agreement.pupil_id, Agreement.number.desc())
    ).unique()
    latest: dict[int, Agreement] = {}
    for agreement in rows:
        latest.setdefault(agreement.pupil_id, agreement)
    return {
        pid: a for pid, a in latest.items() if a.share_guardians and signature_due(a, "guardian")
    }


def consents_to_decide(pupils: list[User], today: dt.date | None = None) -> dict[int, list]:
    """Per child too young to consent: the purposes nobody has consented to yet."""
    young = [p for p in pupils if "guardian" in consent.who_may_consent(p, p.school, today)]
    if not young:
        return {}
    active = consent.active_for_pupils([p.id for p in young])
    return {
        p.id: [purpose for purpose in consent.PURPOSES if purpose.value not in active[p.id]]
        for p in young
    }


# -- one child --------------------------------------------------------------------------
@dataclass
class ChildPage:
    pupil: User
    school_class: SchoolClass | None
    progress: progress.PupilProgress
    entries: list
    documents: list
    records: list
    agreement_to_sign: Agreement | None
    consents_to_decide: list


def child_page(pupil: User) -> ChildPage:
    """Everything the guardian sees of one child (fixed number of queries)."""
    from portfolio.documents.services import documents_of
    from portfolio.guidance.services import records_for
    from portfolio.pupil.services import entries_for

    return ChildPage(
        pupil=pupil,
        school_class=progress.current_class(pupil),
        progress=progress.of_pupil(pupil),
        entries=entries_for(pupil, GUARDIANS),
        documents=documents_of(pupil.id, GUARDIANS),
        records=records_for(pupil.id, guardians_only=True),
        agreement_to_sign=agreements_to_sign([pupil.id]).get(pupil.id),
        consents_to_decide=consents_to_decide([pupil]).get(pupil.id, []),
    )


def record_view(guardian: User, pupil: User, page: ChildPage) -> None:
    """Audit: the guardian looked at what the child shared with them."""
    audit.record(
        guardian,
        "view",
        pupil_id=pupil.id,
        school_id=pupil.school_id,
        details={
            "page": "family",
            "entries": [e.id for e in page.entries],
            "documents": [d.id for d in page.documents],
            "guidance_records": [r.id for r in page.records],
        },
    )
