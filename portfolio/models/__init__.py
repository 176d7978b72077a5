"""All models, importable from one place."""

from portfolio.models.admin import AuditEvent, Consent, ConsentPurpose
from portfolio.models.base import Base, utcnow
from portfolio.models.portfolio import (
    Agreement,
    AgreementSignature,
    AssessmentRequest,
    Audience,
    Comment,
    Document,
    DocumentCategory,
    Entry,
    EntryKind,
    EntryStatus,
    GuidanceRecord,
    KIND_SECTION,
    Notification,
    ReviewState,
    Section,
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
from portfolio.models.user import (
    STAFF_ROLES,
    ClassMembership,
    CounsellorAssignment,
    GuardianCode,
    GuardianLink,
    LoginSession,
    PupilStatus,
    Role,
    TeacherClass,
    User,
    UserRole,
)

__all__ = [
    "Agreement", "AgreementSignature", "AssessmentRequest", "Audience", "AuditEvent", "Base",
    "ClassMembership", "Comment", "Consent", "ConsentPurpose", "CounsellorAssignment",
    "Document", "DocumentCategory", "Entry", "EntryKind", "EntryStatus", "GRADES",
    "GRADE_ORDER", "GuardianCode", "GuardianLink", "GuidanceRecord", "KIND_SECTION",
    "LoginSession", "NEXT_GRADE", "Notification", "PupilStatus", "Quality", "ReviewState",
    "Role", "SCHOOL_FORMS", "STAFF_ROLES", "School", "SchoolClass", "SchoolYear", "Section",
    "StandardElement", "TeacherClass", "TransitionDecision", "User", "UserRole", "utcnow",
]
