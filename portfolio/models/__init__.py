"""All models, importable from one place.

The portfolio's enums (Section, EntryKind, EntryStatus, ReviewState, Audience) are defined in
portfolio.kinds with their labels and are re-exported here for the models' users.
"""

from portfolio.kinds import (
    SINGLE_ENTRY_KINDS,
    Audience,
    EntryKind,
    EntryStatus,
    ReviewState,
    Section,
)
from portfolio.models.admin import AuditEvent, Consent, ConsentPurpose
from portfolio.models.base import Base, utcnow
from portfolio.models.cache import PageGeneration
from portfolio.models.imported import HistoryKind, ImportedPackage, ImportedRecord
from portfolio.models.job import Job, JobState
from portfolio.models.portfolio import (
    Agreement,
    AgreementSignature,
    AssessmentRequest,
    Comment,
    Document,
    DocumentCategory,
    Entry,
    GuidanceRecord,
    Notification,
    TransitionDecision,
)
from portfolio.models.school import (
    GRADE_ORDER,
    GRADES,
    NEXT_GRADE,
    SCHOOL_FORMS,
    Quality,
    School,
    SchoolClass,
    SchoolYear,
    StandardElement,
)
from portfolio.models.summary import ProgressSummary
from portfolio.models.user import (
    STAFF_ROLES,
    ClassMembership,
    CounsellorAssignment,
    GuardianCode,
    GuardianLink,
    LoginSession,
    PupilStatus,
    Role,
    Submission,
    TeacherClass,
    User,
    UserRole,
)

__all__ = [
    "GRADES",
    "GRADE_ORDER",
    "NEXT_GRADE",
    "SCHOOL_FORMS",
    "SINGLE_ENTRY_KINDS",
    "STAFF_ROLES",
    "Agreement",
    "AgreementSignature",
    "AssessmentRequest",
    "Audience",
    "AuditEvent",
    "Base",
    "ClassMembership",
    "Comment",
    "Consent",
    "ConsentPurpose",
    "CounsellorAssignment",
    "Document",
    "DocumentCategory",
    "Entry",
    "EntryKind",
    "EntryStatus",
    "GuardianCode",
    "GuardianLink",
    "GuidanceRecord",
    "HistoryKind",
    "ImportedPackage",
    "ImportedRecord",
    "Job",
    "JobState",
    "LoginSession",
    "Notification",
    "PageGeneration",
    "ProgressSummary",
    "PupilStatus",
    "Quality",
    "ReviewState",
    "Role",
    "School",
    "SchoolClass",
    "SchoolYear",
    "Section",
    "StandardElement",
    "Submission",
    "TeacherClass",
    "TransitionDecision",
    "User",
    "UserRole",
    "utcnow",
]
