"""The one place that answers: may this user see or do this with this pupil's things?

Every view that shows or changes another person's content asks here first, and
templates ask the same functions before showing a link. Rules (see ../shared/domain.md):

* A pupil owns their portfolio: they see and change everything of their own.
* Nobody sees anything across the school boundary.
* Class teachers see the pupils of the classes they teach this school year and read what
  the pupil shared with her class teacher. The StuBO sees the whole school's progress and
  reads what a pupil shared with the StuBO. What is shared with the StuBO alone is never
  the class teacher's, and the other way round (a StuBO who also teaches a class reads,
  for its pupils, both).
* A counsellor sees assigned pupils only while consent for counsellor access holds,
  and reads only what the pupil shared with the counsellor. The Potenzialanalyse (the
  entry and its files) needs one more consent, "Potenzialanalyse an die Berufsberatung".
  Of the guidance records, a counsellor reads those they wrote and those the pupil
  shared with them (counsellors may be external: the Agentur für Arbeit).
* Class teachers and the StuBO read every guidance record of their pupils (with the
  pupil's notes): the records are the school's guidance work.
* Guardians see their own children, and only what the child shared with guardians.
* Staff (class teacher, StuBO, counsellor) see the state of the standard elements the
  school organises (portfolio/progress.py); of the pupil's own entries (goals,
  strengths, reflections) they see nothing, not even a state, until she shares them:
  every list of entries, counts and open items included, asks `shared_clause`.
* The school admin manages accounts and consents, but reads no portfolio content.

A refused request gets one of two answers, by one rule (tests/test_access_matrix.py):

* **404** when the visitor may not see what the URL names: a pupil they have no relation
  to (another school, not their class, not their child, a counsellor unassigned or
  without consent), a pupil's entry, file, agreement or guidance record not shared with
  them, someone else's job, a class of another school. It answers as if nothing were
  there, so that ids reveal nothing.
* **403** when they may see it (or the URL names nothing: a page of a role they do not
  have) but the action is not theirs.

So a view first loads what the URL names (`load_pupil`, `load_shared`, `load_own`,
`load_school_user`, `load_class`: 404) and then asks for the action (`require`: 403).
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort, g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session, joinedload

from portfolio.extensions import db
from portfolio.models import (
    Agreement,
    Audience,
    ClassMembership,
    Consent,
    ConsentPurpose,
    CounsellorAssignment,
    Document,
    Entry,
    EntryKind,
    GuardianLink,
    GuidanceRecord,
    PupilStatus,
    ReviewState,
    Role,
    SchoolYear,
    TeacherClass,
    User,
    UserRole,
)


class Relation(enum.StrEnum):
    SELF = "self"
    CLASS_TEACHER = "class_teacher"
    STUBO = "stubo"
    COUNSELLOR = "counsellor"  # assigned, with consent
    COUNSELLOR_NO_CONSENT = "counsellor_no_consent"  # assigned, consent missing
    GUARDIAN = "guardian"
    ADMIN = "admin"


#: Relations that let a user read content the pupil shared with an audience.
_AUDIENCE_OF: dict[Relation, Audience] = {
    Relation.CLASS_TEACHER: Audience.CLASS_TEACHER,
    Relation.STUBO: Audience.STUBO,
    Relation.COUNSELLOR: Audience.COUNSELLOR,
    Relation.GUARDIAN: Audience.GUARDIANS,
}
#: Staff relations that work with a pupil's progress and guidance.
STAFF_RELATIONS = frozenset({Relation.CLASS_TEACHER, Relation.STUBO, Relation.COUNSELLOR})


@dataclass(frozen=True)
class PupilAccess:
    """What one user may do with one pupil: computed once per request and pair."""

    pupil: User
    relations: frozenset[Relation]
    #: The user looking (None for exports made on the pupil's behalf).
    viewer_id: int | None = None
    #: Consents that hold for the pupil and widen this viewer's access (counsellors only).
    consents: frozenset[ConsentPurpose] = frozenset()

    @property
    def is_self(self) -> bool:
        return Relation.SELF in self.relations

    @property
    def audiences(self) -> frozenset[Audience]:
        return frozenset(_AUDIENCE_OF[r] for r in self.relations if r in _AUDIENCE_OF)

    @property
    def any(self) -> bool:
        """Any relation at all that makes the pupil visible to the user."""
        return bool(self.relations - {Relation.COUNSELLOR_NO_CONSENT})

    @property
    def is_staff(self) -> bool:
        return bool(self.relations & STAFF_RELATIONS)

    @property
    def is_guardian(self) -> bool:
        return Relation.GUARDIAN in self.relations

    @property
    def reads_all_guidance(self) -> bool:
        """Class teacher and StuBO: every guidance record of the pupil, with the notes."""
        return bool(self.relations & {Relation.CLASS_TEACHER, Relation.STUBO})

    @property
    def is_counsellor(self) -> bool:
        return Relation.COUNSELLOR in self.relations

    # -- portfolio content ------------------------------------------------------------
    def can_view_shared(self, obj: Entry | Document | Agreement | GuidanceRecord) -> bool:
        if self.is_self:
            return True
        if isinstance(obj, GuidanceRecord):
            return self._can_view_guidance(obj)
        if isinstance(obj, Agreement) and self.can_edit_agreement():
            # The class teacher draws up the agreement with the pupil.
            return True
        return any(getattr(obj, f"share_{a.value}", False) for a in self._audiences_for(obj))

    def _audiences_for(self, obj: Entry | Document | Agreement) -> frozenset[Audience]:
        """The viewer's audiences that may read `obj`: the Potenzialanalyse goes to the
        counsellor only with the consent "Potenzialanalyse an die Berufsberatung"."""
        audiences = self.audiences
        if Audience.COUNSELLOR in audiences and is_potenzialanalyse(obj):
            if ConsentPurpose.PA_TO_BERUFSBERATUNG not in self.consents:
                return audiences - {Audience.COUNSELLOR}
        return audiences

    def _can_view_guidance(self, record: GuidanceRecord) -> bool:
        if self.reads_all_guidance:
            return True
        if self.is_counsellor and (
            record.share_counsellor
            or (self.viewer_id is not None and record.author_id == self.viewer_id)
        ):
            return True
        return self.is_guardian and record.share_guardians

    def visible_clause(self, model):
        """SQL filter: the rows of `model` (of this pupil) the user may read.

        The query form of `can_view_shared`, for lists and exports.
        """
        if self.is_self:
            return sa.true()
        if model is GuidanceRecord:
            return self._guidance_clause()
        if model is Agreement and self.can_edit_agreement():
            return sa.true()
        return shared_clause(model, self.audiences)

    def _guidance_clause(self):
        if self.reads_all_guidance:
            return sa.true()
        parts = []
        if self.is_counsellor:
            parts.append(GuidanceRecord.share_counsellor.is_(True))
            if self.viewer_id is not None:
                parts.append(GuidanceRecord.author_id == self.viewer_id)
        if self.is_guardian:
            parts.append(GuidanceRecord.share_guardians.is_(True))
        return sa.or_(*parts) if parts else sa.false()

    def can_edit_own(self) -> bool:
        """The pupil writes their own portfolio (also after leaving: it stays theirs)."""
        return self.is_self

    def can_comment(self, entry: Entry) -> bool:
        return self.is_staff and self.can_view_shared(entry)

    def can_review(self, entry: Entry) -> bool:
        return self.can_comment(entry)

    def can_read_comments(self, entry: Entry) -> bool:
        """Staff comments and the review state of an entry, on the pages and in the PDF:
        the pupil, and staff who may read the entry; not the family."""
        return self.is_self or (self.is_staff and self.can_view_shared(entry))

    # -- staff work ---------------------------------------------------------------------
    def can_view_progress(self) -> bool:
        """Which standard elements are done (no content): the overview of staff."""
        return self.is_self or self.is_staff or self.is_guardian

    def can_record_guidance(self) -> bool:
        return self.is_staff

    def can_edit_guidance(self, record: GuidanceRecord, user: User) -> bool:
        """Staff change a record's staff part: its author, the class teacher, the StuBO."""
        if not self.can_record_guidance() or record.pupil_id != self.pupil.id:
            return False
        return record.author_id == user.id or bool(
            self.relations & {Relation.CLASS_TEACHER, Relation.STUBO}
        )

    def can_annotate_guidance(self, record: GuidanceRecord) -> bool:
        """Only the pupil adds notes to a record and decides whether guardians see it."""
        return self.is_self and record.pupil_id == self.pupil.id

    def can_sign_agreement_as(self) -> str | None:
        """The role in which the user signs the pupil's Anschlussvereinbarung, if any."""
        if self.is_self:
            return "pupil"
        if self.is_guardian:
            return "guardian"
        if Relation.CLASS_TEACHER in self.relations or Relation.STUBO in self.relations:
            return "teacher"
        if Relation.COUNSELLOR in self.relations:
            return "counsellor"
        return None

    def can_edit_agreement(self) -> bool:
        """Pupil and class teacher fill in the agreement together."""
        return self.is_self or bool(self.relations & {Relation.CLASS_TEACHER, Relation.STUBO})

    def can_manage_account(self) -> bool:
        """Reset the password, link guardians, record consents on paper."""
        return bool(self.relations & {Relation.ADMIN, Relation.STUBO, Relation.CLASS_TEACHER})

    def can_give_consent(self, consent_age_reached: bool) -> bool:
        if self.is_self:
            return consent_age_reached
        return self.is_guardian

    def can_export(self) -> bool:
        """The whole-portfolio PDF: pupil and guardians; staff get only what is shared."""
        return self.is_self or self.is_guardian or self.is_staff

    def can_view_access_log(self) -> bool:
        """ "Who looked at my portfolio": the pupil and their guardians."""
        return self.is_self or self.is_guardian

    def can_take_away(self) -> bool:
        """The take-away package (whole portfolio, JSON, files): pupil and guardians."""
        return self.is_self or self.is_guardian


def _current_year_ids():
    return sa.select(SchoolYear.id).where(SchoolYear.is_current.is_(True))


def consent_active_clause(pupil_id_col, purpose: ConsentPurpose = ConsentPurpose.COUNSELLOR_ACCESS):
    """SQL: an unwithdrawn consent for `purpose` exists for the pupil."""
    return (
        sa.select(Consent.id)
        .where(
            Consent.pupil_id == pupil_id_col,
            Consent.purpose == purpose.value,
            Consent.withdrawn_at.is_(None),
        )
        .exists()
    )


def compute_relations(user: User, pupil: User) -> frozenset[Relation]:
    """All relations between user and pupil, in one query."""
    return _compute(user, pupil)[0]


def _compute(user: User, pupil: User) -> tuple[frozenset[Relation], frozenset[ConsentPurpose]]:
    """The relations, and the consents that widen a counsellor's access, in one query."""
    if user.id == pupil.id:
        return frozenset({Relation.SELF}), frozenset()
    if user.school_id != pupil.school_id or not pupil.is_pupil:
        return frozenset(), frozenset()
    roles = user.roles
    rels: set[Relation] = set()
    if Role.STUBO in roles:
        rels.add(Relation.STUBO)
    if Role.ADMIN in roles:
        rels.add(Relation.ADMIN)
    checks = _relation_checks(user, pupil)
    consents: set[ConsentPurpose] = set()
    if checks:
        row = db.session.execute(sa.select(*(c.label(k) for k, c in checks.items()))).one()
        found = row._asdict()
        if found.get("teacher"):
            rels.add(Relation.CLASS_TEACHER)
        if found.get("assigned"):
            rels.add(
                Relation.COUNSELLOR if found.get("consent") else Relation.COUNSELLOR_NO_CONSENT
            )
            if found.get("consent") and found.get("pa_consent"):
                consents.add(ConsentPurpose.PA_TO_BERUFSBERATUNG)
        if found.get("guardian"):
            rels.add(Relation.GUARDIAN)
    return frozenset(rels), frozenset(consents)


def _relation_checks(user: User, pupil: User) -> dict:
    """EXISTS clauses for the relations the user's roles make possible."""
    roles = user.roles
    checks = {}
    if Role.TEACHER in roles:
        checks["teacher"] = (
            sa.select(TeacherClass.id)
            .join(ClassMembership, ClassMembership.class_id == TeacherClass.class_id)
            .where(
                TeacherClass.teacher_id == user.id,
                ClassMembership.pupil_id == pupil.id,
                ClassMembership.school_year_id.in_(_current_year_ids()),
            )
            .exists()
        )
    if Role.COUNSELLOR in roles:
        checks["assigned"] = (
            sa.select(CounsellorAssignment.id)
            .where(
                CounsellorAssignment.counsellor_id == user.id,
                CounsellorAssignment.pupil_id == pupil.id,
            )
            .exists()
        )
        checks["consent"] = consent_active_clause(sa.literal(pupil.id))
        checks["pa_consent"] = consent_active_clause(
            sa.literal(pupil.id), ConsentPurpose.PA_TO_BERUFSBERATUNG
        )
    if Role.GUARDIAN in roles:
        checks["guardian"] = (
            sa.select(GuardianLink.id)
            .where(GuardianLink.guardian_id == user.id, GuardianLink.pupil_id == pupil.id)
            .exists()
        )
    return checks


def access_to(user: User, pupil: User) -> PupilAccess:
    """The user's access to the pupil, cached for the request."""
    cache: dict[tuple[int, int], PupilAccess] = g.setdefault("_pupil_access", {})
    key = (user.id, pupil.id)
    if key not in cache:
        relations, consents = _compute(user, pupil)
        cache[key] = PupilAccess(
            pupil=pupil, relations=relations, viewer_id=user.id, consents=consents
        )
    return cache[key]


def load_pupil(user: User, pupil_id: int) -> PupilAccess:
    """The pupil by id if the user has any relation to them; 404 otherwise.

    404 rather than 403, so that ids of other schools' pupils reveal nothing. The pupil's
    own pages (`load_pupil(user, user.id)`) answer 403 to a user who is no pupil.
    """
    if pupil_id == getattr(user, "id", None) and not user.is_pupil:
        abort(403)
    # The pupil with their roles in one statement (roles are otherwise a second SELECT).
    pupil = db.session.get(User, pupil_id, options=[joinedload(User.role_rows)])
    if pupil is None or not pupil.is_pupil:
        abort(404)
    access = access_to(user, pupil)
    if not access.any:
        abort(404)
    return access


def own_portfolio(user: User) -> PupilAccess:
    """The user's access to their own portfolio; 403 unless the user is a pupil."""
    if not user.is_authenticated or not user.is_pupil:
        abort(403)
    return access_to(user, user)


def load_own(user: User, model, obj_id: int):
    """A pupil's own object (any model with `pupil_id`), e.g. an assessment request.

    404 when it does not exist or belongs to someone else: only the owner acts on it.
    """
    obj = db.session.get(model, obj_id)
    if obj is None or not user.is_authenticated or obj.pupil_id != user.id or not user.is_pupil:
        abort(404)
    return obj


def require(condition: bool) -> None:
    """403 unless the condition holds (used after load_pupil for the action)."""
    if not condition:
        abort(403)


def load_shared(user: User, model, obj_id: int):
    """An entry/document/agreement/guidance record the user may see, with its access.

    Returns (obj, access); 404 when it does not exist or is not visible to the user.
    """
    obj = db.session.get(model, obj_id)
    if obj is None:
        abort(404)
    pupil = obj.pupil
    access = access_to(user, pupil)
    if not access.any or not access.can_view_shared(obj):
        abort(404)
    return obj, access


# -- lists -----------------------------------------------------------------------------
def pupils_visible_to(user: User) -> sa.Select:
    """SELECT of the ids of pupils the user may see at all (for list pages)."""
    roles = user.roles
    school_pupils = (
        sa.select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.school_id == user.school_id, UserRole.role == Role.PUPIL.value)
    )
    parts: list[sa.Select] = []
    if Role.PUPIL in roles:
        parts.append(sa.select(sa.literal(user.id).label("id")))
    if Role.STUBO in roles or Role.ADMIN in roles:
        parts.append(school_pupils)
    if Role.TEACHER in roles:
        parts.append(taught_pupils(user))
    if Role.COUNSELLOR in roles:
        parts.append(counselled_pupils(user, with_consent=True))
    if Role.GUARDIAN in roles:
        parts.append(sa.select(GuardianLink.pupil_id).where(GuardianLink.guardian_id == user.id))
    if not parts:
        return sa.select(User.id).where(sa.false())
    return sa.union(*parts) if len(parts) > 1 else parts[0]


def taught_pupils(teacher: User) -> sa.Select:
    """Ids of the pupils in the classes the teacher teaches this school year."""
    return (
        sa.select(ClassMembership.pupil_id)
        .join(TeacherClass, TeacherClass.class_id == ClassMembership.class_id)
        .where(
            TeacherClass.teacher_id == teacher.id,
            ClassMembership.school_year_id.in_(_current_year_ids()),
        )
    )


def counselled_pupils(counsellor: User, *, with_consent: bool | None) -> sa.Select:
    """Ids of the counsellor's assigned pupils: those with consent (True), those without
    (False: never given or withdrawn), or all of them (None)."""
    query = sa.select(CounsellorAssignment.pupil_id).where(
        CounsellorAssignment.counsellor_id == counsellor.id,
        CounsellorAssignment.school_id == counsellor.school_id,
    )
    if with_consent is not None:
        consent = consent_active_clause(CounsellorAssignment.pupil_id)
        query = query.where(consent if with_consent else sa.not_(consent))
    return query


# -- the other way round: who stands in a relation to a pupil (whom to tell, whom to name) ---
def class_teachers_of(pupil_id: int) -> sa.Select:
    """Ids of the teachers of the pupil's classes this school year (the class teachers)."""
    return (
        sa.select(TeacherClass.teacher_id)
        .join(ClassMembership, ClassMembership.class_id == TeacherClass.class_id)
        .where(
            ClassMembership.pupil_id == pupil_id,
            ClassMembership.school_year_id.in_(_current_year_ids()),
        )
    )


def stubos_of(school_id: int) -> sa.Select:
    """Ids of the school's StuBOs."""
    return (
        sa.select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.school_id == school_id, UserRole.role == Role.STUBO.value)
    )


def guardians_of(pupil_id: int) -> sa.Select:
    """Ids of the pupil's linked guardians."""
    return sa.select(GuardianLink.guardian_id).where(GuardianLink.pupil_id == pupil_id)


def counsellors_of(pupil_id: int, *, with_consent: bool = True) -> sa.Select:
    """Ids of the counsellors assigned to the pupil (only while consent holds, if asked)."""
    query = sa.select(CounsellorAssignment.counsellor_id).where(
        CounsellorAssignment.pupil_id == pupil_id
    )
    if with_consent:
        query = query.where(consent_active_clause(CounsellorAssignment.pupil_id))
    return query


def shared_clause(model, audiences: frozenset[Audience]):
    """SQL filter: rows of `model` shared with any of the audiences (and readable by them:
    the Potenzialanalyse reaches the counsellor only with its own consent)."""
    conditions = []
    for a in audiences:
        if not hasattr(model, f"share_{a.value}"):
            continue
        condition = getattr(model, f"share_{a.value}").is_(True)
        if a == Audience.COUNSELLOR and model in (Entry, Document):
            condition = sa.and_(
                condition,
                sa.or_(
                    sa.not_(potenzialanalyse_clause(model)),
                    consent_active_clause(model.pupil_id, ConsentPurpose.PA_TO_BERUFSBERATUNG),
                ),
            )
        conditions.append(condition)
    return sa.or_(*conditions) if conditions else sa.false()


def is_potenzialanalyse(obj) -> bool:
    """The Potenzialanalyse entry, or a file attached to it."""
    if isinstance(obj, Entry):
        return obj.kind == EntryKind.POTENZIALANALYSE.value
    if isinstance(obj, Document):
        return obj.entry is not None and obj.entry.kind == EntryKind.POTENZIALANALYSE.value
    return False


def potenzialanalyse_clause(model):
    """SQL: the row is the Potenzialanalyse entry or a file attached to it (query form of
    `is_potenzialanalyse`)."""
    if model is Entry:
        return Entry.kind == EntryKind.POTENZIALANALYSE.value
    return (
        sa.select(Entry.id)
        .where(Entry.id == Document.entry_id, Entry.kind == EntryKind.POTENZIALANALYSE.value)
        .exists()
    )


def asked_clause(audiences: frozenset[Audience]):
    """SQL filter: entries waiting for feedback that the pupil asked of one of the
    audiences (and that the audience may read: `shared_clause`)."""
    conditions = [
        sa.and_(getattr(Entry, f"asked_{a.value}").is_(True), shared_clause(Entry, frozenset({a})))
        for a in audiences
        if hasattr(Entry, f"asked_{a.value}")
    ]
    if not conditions:
        return sa.false()
    return sa.and_(Entry.review_state == ReviewState.REQUESTED.value, sa.or_(*conditions))


def class_audiences(user: User, class_id: int) -> frozenset[Audience]:
    """What the user reads of the pupils of a class on its overview: what they shared with
    their class teacher if the user teaches the class, with the StuBO if the user is one."""
    audiences = set()
    if user.has_role(Role.STUBO):
        audiences.add(Audience.STUBO)
    if user.has_role(Role.TEACHER) and _teaches_this_year(user, class_id):
        audiences.add(Audience.CLASS_TEACHER)
    return frozenset(audiences)


@functools.cache
def _readers_statement() -> sa.Select:
    """The statement of `readers_of`, built once per process (building it took 1.5 ms of
    CPU on every entry page); parameters "pupil_id" and "school_id"."""
    pupil_id = sa.bindparam("pupil_id", type_=sa.Integer)
    school_id = sa.bindparam("school_id", type_=sa.Integer)
    parts = {
        Audience.CLASS_TEACHER: class_teachers_of(pupil_id),
        Audience.STUBO: stubos_of(school_id),
        Audience.COUNSELLOR: counsellors_of(pupil_id, with_consent=True),
        Audience.GUARDIANS: guardians_of(pupil_id),
    }
    ids = sa.union(
        *(
            sa.select(sa.literal(a.value).label("audience"), q.subquery().c[0].label("id"))
            for a, q in parts.items()
        )
    ).subquery()
    return (
        sa.select(ids.c.audience, User)
        .join(User, User.id == ids.c.id)
        .where(User.school_id == school_id, User.is_active_account.is_(True))
        .order_by(User.last_name, User.first_name, User.id)
    )


def readers_of(pupil: User) -> dict[Audience, list[User]]:
    """The people who read what the pupil shares with each audience, by name (one query).

    Class teachers, StuBOs, counsellors with consent, guardians; active accounts only.
    """
    rows = db.session.execute(
        _readers_statement(), {"pupil_id": pupil.id, "school_id": pupil.school_id}
    )
    found: dict[Audience, list[User]] = {a: [] for a in Audience}
    for audience, user in rows:
        found[Audience(audience)].append(user)
    return found


def teaches_class(user: User, class_id: int) -> bool:
    """Whether the user may see the class overview of this class."""
    if user.has_role(Role.STUBO):
        from portfolio.models import SchoolClass

        cls = db.session.get(SchoolClass, class_id)
        return cls is not None and cls.school_id == user.school_id
    if not user.has_role(Role.TEACHER):
        return False
    return _teaches_this_year(user, class_id)


def _teaches_this_year(user: User, class_id: int) -> bool:
    # Only this school year's classes: last year's pupils have moved on.
    return _teaches_current(user, class_id)


def class_access(user: User, school_class, pupils: list[User]) -> dict[int, PupilAccess]:
    """The user's access to pupils of a class whose overview they may open, for bulk work.

    One check of the class instead of a query per pupil: the relation is the class
    teacher's (this school year's class) or the StuBO's. `pupils` must be members of the
    class; others of the user's school get nothing. Empty when the user may not open it.
    """
    if school_class is None or not teaches_class(user, school_class.id):
        return {}
    relations = set()
    if user.has_role(Role.STUBO):
        relations.add(Relation.STUBO)
    if user.has_role(Role.TEACHER) and _teaches_current(user, school_class.id):
        relations.add(Relation.CLASS_TEACHER)
    return {
        p.id: PupilAccess(pupil=p, relations=frozenset(relations))
        for p in pupils
        if p.school_id == user.school_id and p.is_pupil
    }


def _teaches_current(user: User, class_id: int) -> bool:
    """Whether the user teaches this class of this school year (asked several times by a
    page: the answer is kept until the request writes something)."""
    from portfolio.models import SchoolClass

    cache = g.setdefault("_teaches", {})
    key = (user.id, class_id)
    if key not in cache:
        cache[key] = bool(
            db.session.scalar(
                sa.select(TeacherClass.id)
                .join(SchoolClass, SchoolClass.id == TeacherClass.class_id)
                .where(
                    TeacherClass.teacher_id == user.id,
                    TeacherClass.class_id == class_id,
                    SchoolClass.school_year_id.in_(_current_year_ids()),
                )
            )
        )
    return cache[key]


@event.listens_for(Session, "after_flush")
def _forget_teaching(_session, _context) -> None:
    if has_app_context():
        g.pop("_teaches", None)


# -- staff overviews (no pupil content: progress, open items, aggregates) --------------
def overview_classes(user: User) -> sa.Select:
    """SELECT of this school year's classes whose overview the user may open.

    The StuBO sees every class of the school; a teacher the classes they teach.
    """
    from portfolio.models import SchoolClass

    query = sa.select(SchoolClass).where(
        SchoolClass.school_id == user.school_id,
        SchoolClass.school_year_id.in_(_current_year_ids()),
    )
    if user.has_role(Role.STUBO):
        return query
    if user.has_role(Role.TEACHER):
        return query.where(
            SchoolClass.id.in_(
                sa.select(TeacherClass.class_id).where(TeacherClass.teacher_id == user.id)
            )
        )
    return query.where(sa.false())


def can_view_class_list(user: User) -> bool:
    """ "My classes": class teachers and the StuBO."""
    return user.has_role(Role.TEACHER, Role.STUBO)


def can_view_school_overview(user: User) -> bool:
    """The whole school's progress per grade and class: the StuBO."""
    return user.has_role(Role.STUBO)


def can_view_caseload(user: User) -> bool:
    """The list of assigned pupils: counsellors."""
    return user.has_role(Role.COUNSELLOR)


def can_read_staff_help(user: User) -> bool:
    """The help pages for class teachers, StuBO, counsellors and school admins: staff."""
    return user.is_staff


def can_view_coordination_report(user: User) -> bool:
    """Anonymous counts for the municipal coordination office: StuBO and school admin."""
    return user.has_role(Role.STUBO, Role.ADMIN)


# -- administration (accounts, roster import, school year) ----------------------------
def can_manage_accounts(user: User) -> bool:
    """Account lists, staff accounts, roster import, login slips: school admin and StuBO."""
    return user.has_role(Role.ADMIN, Role.STUBO)


def can_run_rollover(user: User) -> bool:
    """The change to the next school year: the school admin only."""
    return user.has_role(Role.ADMIN)


def can_grant_role(user: User, role: Role) -> bool:
    """Only the school admin makes other admins; the StuBO creates the other staff roles."""
    if role == Role.ADMIN:
        return user.has_role(Role.ADMIN)
    return can_manage_accounts(user) and role in STAFF_ROLES_GRANTABLE


STAFF_ROLES_GRANTABLE = frozenset({Role.TEACHER, Role.STUBO, Role.COUNSELLOR, Role.ADMIN})


def load_school_user(user: User, user_id: int) -> User:
    """Another account of the user's own school for the managers' account pages.

    404 when the user may not see the account (another school; a pupil they have no
    relation to), 403 when they may but do not manage accounts.
    """
    target = db.session.get(User, user_id)
    if target is None or target.school_id != user.school_id:
        abort(404)
    if target.is_pupil and not access_to(user, target).any:
        abort(404)
    require(can_manage_accounts(user))
    return target


def load_class(user: User, class_id: int):
    """A class of the user's own school (its name is no secret there); 404 otherwise.

    What the user may do with it is asked next (`teaches_class`, `can_print_slips`).
    """
    from portfolio.models import SchoolClass

    # (Its school year with it: every page of a class names it.)
    cls = db.session.get(SchoolClass, class_id, options=[joinedload(SchoolClass.school_year)])
    if cls is None or cls.school_id != user.school_id:
        abort(404)
    return cls


def can_change_account(user: User, target: User) -> bool:
    """Deactivate/reactivate, assign counsellors: not oneself; a StuBO not an admin."""
    if target.id == user.id or target.school_id != user.school_id:
        return False
    if not can_manage_accounts(user):
        return False
    return user.has_role(Role.ADMIN) or not target.has_role(Role.ADMIN)


def can_print_slips(user: User, school_class) -> bool:
    """New passwords and login slips for pupils of a class: admin, StuBO, its teachers."""
    if school_class is None or school_class.school_id != user.school_id:
        return False
    return can_manage_accounts(user) or (
        user.has_role(Role.TEACHER) and teaches_class(user, school_class.id)
    )


def can_print_guardian_letters(user: User, school_class) -> bool:
    """Letters with registration codes for the parents of a class's pupils (a code lets
    its holder register as a parent): whoever may print the class's login slips."""
    return can_print_slips(user, school_class)


def can_administer_privacy(user: User) -> bool:
    """The school's consent overview, audit log, leavers and retention: the school admin.

    (Class teachers and the StuBO record a paper consent per pupil through
    `PupilAccess.can_manage_account`; the overview of every pupil is not theirs.)"""
    return user.has_role(Role.ADMIN)


def can_make_leaver_package(user: User, pupil: User) -> bool:
    """A leaver's take-away package (the whole portfolio, for the school to hand over):
    the school admin, for a pupil of the school marked as left. While a pupil is at
    school the package is theirs and their guardians' to make (`can_take_away`)."""
    return (
        can_administer_privacy(user)
        and pupil.is_pupil
        and pupil.school_id == user.school_id
        and pupil.status == PupilStatus.LEFT
    )


def can_import_packages(user: User) -> bool:
    """Import a take-away package from another school as a new pupil: the school admin."""
    return user.has_role(Role.ADMIN)


# -- background jobs (portfolio.jobs) ----------------------------------------------------
def can_see_job(user: User, job) -> bool:
    """A job's progress and its result: only the user who asked, in their own school.

    The job's kind adds the rule of what it produces (e.g. `teaches_class` for a class
    ZIP): losing that right also hides the job and its result.
    """
    return job.user_id == user.id and job.school_id == user.school_id
