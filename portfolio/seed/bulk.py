"""`flask seed-bulk`: realistic portfolios for whole districts, fast.

Rows go in with bulk INSERT ... RETURNING (no request, no ORM unit of work per row);
one password hash is shared by all generated accounts. A district of 40 schools with
250 pupils each takes a few minutes on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
import secrets
import time
from dataclasses import dataclass, field

import click
import sqlalchemy as sa
from flask import current_app
from werkzeug.security import generate_password_hash

from portfolio import accounts, transaction
from portfolio.extensions import db
from portfolio.models import (
    GRADE_ORDER,
    Agreement,
    AgreementSignature,
    AssessmentRequest,
    ClassMembership,
    Comment,
    Consent,
    ConsentPurpose,
    CounsellorAssignment,
    Document,
    Entry,
    GuardianLink,
    GuidanceRecord,
    Notification,
    Role,
    School,
    SchoolClass,
    TeacherClass,
    User,
    UserRole,
    utcnow,
)
from portfolio.reference import DEFAULT_QUALITIES, OCCUPATIONAL_FIELDS
from portfolio.seed.demo import FIRST_NAMES, LAST_NAMES
from portfolio.storage import get_storage

BULK_PASSWORD = "Bulk-Berufswahl-26"
COMPANIES = [
    "Autohaus Siebel",
    "Bäckerei Klein",
    "Kreisklinikum Siegen",
    "Elektro Jung GmbH",
    "Stadtverwaltung",
    "Kita Sonnenschein",
    "Tischlerei Weber",
    "Logistik Sauerland",
    "Apotheke am Markt",
    "IT-Systemhaus Krombach",
    "Metallbau Schäfer",
    "Friseur Haarmonie",
]
OCCUPATIONS = [
    "Kfz-Mechatroniker/in",
    "Bäcker/in",
    "Pflegefachfrau/-mann",
    "Elektroniker/in",
    "Verwaltungsfachangestellte/r",
    "Erzieher/in",
    "Tischler/in",
    "Fachkraft für Lagerlogistik",
    "Pharmazeutisch-technische/r Assistent/in",
    "Fachinformatiker/in",
]
COMMENTS = [
    "Schön beschrieben! Was hat dich am meisten überrascht?",
    "Gute Reflexion. Denk daran, die Bescheinigung hochzuladen.",
    "Bitte ergänze noch, was du gelernt hast.",
    "Prima, darüber sprechen wir im nächsten Beratungsgespräch.",
]
#: Grades of a generated school: lower secondary from grade 8 and the upper school (Sek II).
DEFAULT_GRADES = ("8", "9", "10", "EF", "Q1")
SENTENCES = [
    "Ich habe viel Neues gelernt und die Kolleginnen waren sehr nett.",
    "Am Anfang war ich unsicher, aber dann durfte ich selbst mitarbeiten.",
    "Die Arbeit war anstrengender, als ich gedacht hatte.",
    "Mir hat gefallen, dass ich mit Menschen zu tun hatte.",
    "Ich konnte zeigen, dass ich zuverlässig und pünktlich bin.",
    "Ich möchte mehr über handwerkliche Berufe erfahren.",
    "Am liebsten habe ich am Computer gearbeitet.",
    "Das frühe Aufstehen war schwer, aber ich habe es geschafft.",
]


@dataclass
class BulkStats:
    schools: int = 0
    pupils: int = 0
    entries: int = 0
    comments: int = 0
    documents: int = 0
    agreements: int = 0
    guidance: int = 0
    notifications: int = 0
    seconds: float = 0.0
    school_ids: list[int] = field(default_factory=list)


def _text(rng: random.Random, n: int = 2) -> str:
    return " ".join(rng.sample(SENTENCES, n))


def _tiny_png(rng: random.Random) -> bytes:
    from PIL import Image

    img = Image.new("RGB", (64, 48), (rng.randint(100, 255), rng.randint(100, 255), 220))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _class_letter(number: int) -> str:
    """a ... z, then a2 ... z2 (a Gesamtschule of 1,500 pupils has 18 classes a grade)."""
    letter = "abcdefghijklmnopqrstuvwxyz"[number % 26]
    return letter if number < 26 else f"{letter}{number // 26 + 1}"


def _insert(model, rows: list[dict]) -> list[int]:
    if not rows:
        return []
    return list(db.session.scalars(sa.insert(model).returning(model.id), rows))


class _Portfolio:
    """The entry rows of one pupil, added kind by kind (see `_entry_rows`)."""

    def __init__(self, rng: random.Random, school_id: int, pupil_id: int, grade: str, now):
        self.rng, self.school_id, self.pupil_id, self.grade = rng, school_id, pupil_id, grade
        self.now = now
        self.order = GRADE_ORDER.get(grade, 10)
        self.quals = [k for k, _ in DEFAULT_QUALITIES]
        self.fields = [k for k, _ in OCCUPATIONAL_FIELDS]
        self.rows: list[dict] = []

    def iso(self, days_ago: int) -> str:
        return (self.now - dt.timedelta(days=days_ago)).date().isoformat()

    def years(self, grade: str) -> int:
        """Days since the pupil was in `grade` (0 for the current and later grades)."""
        return max(0, self.order - GRADE_ORDER[grade]) * 365

    def add(self, kind, data, status="done", days_ago=100, *, teachers=False, **kw) -> None:
        """One entry row; `teachers`: shared with the class teacher and the StuBO (an entry
        waiting for feedback asked both)."""
        created = self.now - dt.timedelta(days=days_ago + self.rng.randint(0, 30))
        requested = kw.get("review_state") == "requested" and teachers
        self.rows.append(
            dict(
                school_id=self.school_id,
                pupil_id=self.pupil_id,
                kind=kind,
                data=data,
                status=status,
                grade=kw.pop("grade", self.grade),
                created_at=created,
                updated_at=created,
                edited_at=created,
                title="",
                share_class_teacher=teachers,
                share_stubo=teachers,
                asked_class_teacher=requested,
                asked_stubo=requested,
                **kw,
            )
        )


def _orientation_rows(p: _Portfolio) -> None:
    """Grade 8 (and the strengths of every grade so far): strengths, external assessment,
    Potenzialanalyse, Berufsfelderkundung."""
    rng = p.rng
    for g in ("8", "9", "10"):
        if GRADE_ORDER[g] <= p.order:
            p.add(
                "strengths",
                {
                    "ratings": {q: rng.randint(1, 4) for q in p.quals},
                    "interests": rng.sample(p.fields, 3),
                    "hobbies": _text(rng, 1),
                    "reflection": _text(rng),
                },
                grade=g,
                days_ago=p.years(g) + 200,
                teachers=rng.random() < 0.5,
            )
    if rng.random() < 0.5:
        p.add(
            "external_assessment",
            {
                "rater_name": rng.choice(FIRST_NAMES),
                "relation": rng.choice(["guardian", "teacher", "mentor", "friend"]),
                "ratings": {q: rng.randint(1, 4) for q in p.quals},
                "comment": _text(rng, 1),
                "reflection": _text(rng, 1),
            },
            grade="8",
            days_ago=p.years("8") + 170,
            teachers=rng.random() < 0.5,
        )
    if rng.random() < 0.9:
        p.add(
            "potenzialanalyse",
            {
                "date": p.iso(p.years("8") + 150),
                "provider": "Bildungswerk Siegen",
                "tasks": _text(rng, 1),
                "results_talk": _text(rng),
                "reflection": _text(rng),
            },
            grade="8",
            days_ago=p.years("8") + 150,
            share_guardians=rng.random() < 0.5,
        )
    if rng.random() < 0.8:
        days = [
            {
                "date": p.iso(p.years("8") + 60 + i),
                "company": rng.choice(COMPANIES),
                "field": rng.choice(p.fields),
                "activities": _text(rng, 1),
                "liked": _text(rng, 1),
                "disliked": _text(rng, 1),
                "imagine": rng.choice(["yes", "maybe", "no"]),
            }
            for i in range(3)
        ]
        p.add(
            "berufsfelderkundung",
            {"days": days, "want_to_know": rng.choice(OCCUPATIONS)},
            grade="8",
            days_ago=p.years("8") + 60,
            teachers=rng.random() < 0.6,
        )


def _placement_rows(p: _Portfolio) -> None:
    """Grade 9: Praxiskurs, the placement (Praktikum) and a long-term placement."""
    rng, years, iso = p.rng, p.years, p.iso
    if rng.random() < 0.3:
        p.add(
            "praxiskurs",
            {
                "company": rng.choice(COMPANIES),
                "field": rng.choice(p.fields),
                "start": iso(years("9") + 200),
                "end": iso(years("9") + 198),
                "activities": _text(rng, 1),
                "feedback": _text(rng, 1),
            },
            grade="9",
            days_ago=years("9") + 198,
            teachers=True,
        )
    evaluated = rng.random() < 0.7
    data = {
        "company": rng.choice(COMPANIES),
        "occupation": rng.choice(OCCUPATIONS),
        "start": iso(years("9") + 120),
        "end": iso(years("9") + 106),
        "log": [
            {
                "date": iso(years("9") + 120 - i),
                "activities": _text(rng, 1),
                "thoughts": _text(rng, 1),
            }
            for i in range(5)
        ],
    }
    if evaluated:
        data.update(
            expectations=_text(rng),
            reality=_text(rng),
            learned=_text(rng),
            would_work_there=rng.choice(["yes", "maybe", "no"]),
        )
    p.add(
        "praktikum",
        data,
        status="done" if evaluated else "in_progress",
        grade="9",
        days_ago=years("9") + 100,
        teachers=True,
        share_guardians=rng.random() < 0.5,
        share_counsellor=rng.random() < 0.5,
        review_state=rng.choice(["none", "requested", "reviewed", "revision"]),
    )
    if rng.random() < 0.1:
        p.add(
            "langzeitpraktikum",
            {
                "company": rng.choice(COMPANIES),
                "occupation": rng.choice(OCCUPATIONS),
                "start": iso(years("9") + 90),
                "weekdays": "mittwochs",
                "meetings": [{"date": iso(years("9") + 30), "notes": _text(rng, 1)}],
            },
            status="in_progress",
            grade="9",
            days_ago=years("9") + 90,
            teachers=True,
        )


def _planning_rows(p: _Portfolio) -> None:
    """A reflection now and then, a goal for everyone, a CV from grade 9."""
    rng = p.rng
    if rng.random() < 0.3:
        p.add(
            "reflection",
            {"title": "Was ich über mich gelernt habe", "text": _text(rng, 3)},
            days_ago=40,
            share_guardians=True,
        )
    due = (p.now + dt.timedelta(days=rng.randint(-40, 60))).date()
    p.add(
        "goal",
        {
            "goal": "Bewerbung schreiben",
            "why": _text(rng, 1),
            "steps": [
                {"text": "Lebenslauf aktualisieren", "due_on": due.isoformat(), "done": "no"}
            ],
            "state": "in_progress",
        },
        status="in_progress",
        days_ago=20,
        next_due_on=due,
        teachers=True,
        share_counsellor=rng.random() < 0.5,
    )
    if p.order >= 9:
        p.add(
            "cv",
            {
                "address": "Musterweg 1, 57072 Siegen",
                "languages": "Deutsch, Englisch",
                "education": [{"from": "08/2016", "to": "07/2020", "school": "Grundschule"}],
            },
            status="in_progress",
            days_ago=30,
            share_counsellor=rng.random() < 0.5,
        )


def _sek2_rows(p: _Portfolio) -> None:
    """The upper school (Sek II): EF and Q1 kinds."""
    rng, years, iso = p.rng, p.years, p.iso
    if p.order >= GRADE_ORDER["EF"]:
        p.add(
            "sek2_standort",
            {"where": _text(rng, 1), "interests": _text(rng, 1), "questions": _text(rng, 1)},
            grade="EF",
            days_ago=years("EF") + 180,
        )
        p.add(
            "sek2_ek1",
            {"strengths": _text(rng, 1), "wishes": _text(rng, 1), "options": _text(rng, 1)},
            grade="EF",
            days_ago=years("EF") + 120,
        )
        p.add(
            "sek2_praxis",
            {
                "place": rng.choice(COMPANIES),
                "start": iso(years("EF") + 60),
                "end": iso(years("EF") + 50),
                "activities": _text(rng, 1),
            },
            grade="EF",
            days_ago=years("EF") + 50,
            teachers=True,
        )
        p.add(
            "studienorientierung",
            {"tests": "Check-U", "visits": "Universität Siegen"},
            status="in_progress",
            days_ago=60,
        )
    if p.order >= GRADE_ORDER["Q1"]:
        p.add(
            "sek2_ek2",
            {"decision": _text(rng, 1), "next_steps": _text(rng, 1), "plan_b": _text(rng, 1)},
            grade="Q1",
            days_ago=years("Q1") + 30,
        )


def _entry_rows(rng, school_id, pupil_id, grade, now) -> list[dict]:
    """A plausible portfolio for a pupil of the given grade: every kind of `kinds.SPECS`
    appears across a school (Sek II kinds for pupils in EF/Q1/Q2)."""
    p = _Portfolio(rng, school_id, pupil_id, grade, now)
    _orientation_rows(p)
    if p.order >= 9:
        _placement_rows(p)
    _planning_rows(p)
    _sek2_rows(p)
    return p.rows


@dataclass
class _Run:
    """What every school of one `seed_bulk` run shares."""

    rng: random.Random
    now: dt.datetime
    pw_hash: str
    prefix: str
    counsellors: int
    #: Pupils per counsellor (None: spread over `counsellors`).
    caseload: int | None
    png: bytes
    stats: BulkStats


class _SchoolSeed:
    """One generated school, filled step by step (the order keeps the random sequence, so
    the same seed gives the same data)."""

    def __init__(self, run: _Run, school: School, number: str):
        self.run, self.rng, self.now = run, run.rng, run.now
        self.school, self.number = school, number
        self.year = accounts.current_year(school)
        self.class_list: list[tuple[SchoolClass, int]] = []
        self.pupil_ids: list[tuple[int, SchoolClass]] = []
        self.class_of: dict[int, SchoolClass] = {}
        self.teacher_of: dict[int, int] = {}
        self.counsellor_ids: list[int] = []
        self.guardian_ids: list[int] = []
        self.entries_with_rows: list[tuple[int, dict]] = []
        self.notes: list[dict] = []

    def users(self, role: Role, count: int, tag: str) -> list[int]:
        rows = [
            {
                "school_id": self.school.id,
                "username": f"{self.run.prefix}{self.number}.{tag}{i}".lower(),
                "password_hash": self.run.pw_hash,
                "must_change_password": False,
                "first_name": self.rng.choice(FIRST_NAMES),
                "last_name": self.rng.choice(LAST_NAMES),
                "status": "active",
                "is_active_account": True,
                "created_at": self.now,
                "updated_at": self.now,
            }
            for i in range(count)
        ]
        ids = _insert(User, rows)
        _insert(
            UserRole,
            [{"school_id": self.school.id, "user_id": u, "role": role.value} for u in ids],
        )
        return ids

    def classes(self, grades: tuple[str, ...], pupils: int, class_size: int) -> None:
        """Classes of at most `class_size` per grade, pupils spread evenly over the grades."""
        per_grade = {g: 0 for g in grades}
        for i in range(pupils):
            per_grade[grades[i % len(grades)]] += 1
        for grade, n in per_grade.items():
            if n == 0:
                continue
            n_classes = max(1, -(-n // class_size))
            for c in range(n_classes):
                cls = SchoolClass(
                    school_id=self.school.id,
                    school_year_id=self.year.id,
                    name=f"{grade}{_class_letter(c)}",
                    grade=grade,
                )
                db.session.add(cls)
                self.class_list.append((cls, -(-n // n_classes)))
        db.session.flush()

    def people(self, pupils: int) -> None:
        """Class teachers, a StuBO, counsellors, the pupils in their classes, guardians."""
        sid = self.school.id
        teacher_ids = self.users(Role.TEACHER, len(self.class_list), "t")
        (_stubo_id,) = self.users(Role.STUBO, 1, "stubo")
        self.counsellor_ids = self.users(Role.COUNSELLOR, self._counsellors(pupils), "c")
        pairs = list(zip(teacher_ids, self.class_list, strict=False))
        _insert(
            TeacherClass,
            [{"school_id": sid, "teacher_id": t, "class_id": cls.id} for t, (cls, _n) in pairs],
        )
        self.teacher_of = {cls.id: t for t, (cls, _n) in pairs}
        remaining = pupils
        for cls, n in self.class_list:
            take = min(n, remaining)
            if take <= 0:
                break
            ids = self.users(Role.PUPIL, take, f"p{cls.name}-")
            remaining -= take
            self.pupil_ids.extend((pid, cls) for pid in ids)
        _insert(
            ClassMembership,
            [
                {
                    "school_id": sid,
                    "pupil_id": p,
                    "class_id": cls.id,
                    "school_year_id": self.year.id,
                }
                for p, cls in self.pupil_ids
            ],
        )
        self.class_of = {p: cls for p, cls in self.pupil_ids}
        self.guardian_ids = self.users(Role.GUARDIAN, len(self.pupil_ids) // 2, "g")
        _insert(
            GuardianLink,
            [
                {"school_id": sid, "guardian_id": g, "pupil_id": p, "created_at": self.now}
                for g, (p, _c) in zip(self.guardian_ids, self.pupil_ids, strict=False)
            ],
        )

    def _counsellors(self, pupils: int) -> int:
        """How many counsellors the school gets: `counsellors`, or with `caseload` as many
        as the pupils from grade 9 on need (the classes fill up as in `people`)."""
        if not self.run.caseload:
            return self.run.counsellors
        assigned, remaining = 0, pupils
        for cls, n in self.class_list:
            take = max(0, min(n, remaining))
            remaining -= take
            if GRADE_ORDER.get(cls.grade, 0) >= 9:
                assigned += take
        return max(1, -(-assigned // self.run.caseload))

    def _counsellor_of(self, index: int) -> int:
        """The counsellor of the index-th assigned pupil: in turn, or `caseload` each."""
        if self.run.caseload:
            return self.counsellor_ids[
                min(index // self.run.caseload, len(self.counsellor_ids) - 1)
            ]
        return self.counsellor_ids[index % len(self.counsellor_ids)]

    def counselling(self) -> None:
        """Counsellors are assigned the pupils from grade 9 on; most of them consented."""
        sid = self.school.id
        assigned = [p for p, cls in self.pupil_ids if GRADE_ORDER.get(cls.grade, 0) >= 9]
        _insert(
            CounsellorAssignment,
            [
                {
                    "school_id": sid,
                    "counsellor_id": self._counsellor_of(i),
                    "pupil_id": p,
                    "created_at": self.now,
                }
                for i, p in enumerate(assigned)
            ],
        )
        _insert(
            Consent,
            [
                {
                    "school_id": sid,
                    "pupil_id": p,
                    "purpose": ConsentPurpose.COUNSELLOR_ACCESS.value,
                    "given_by_role": "pupil",
                    "given_by_id": p,
                    "given_at": self.now,
                }
                for p in assigned
                if self.rng.random() < 0.8
            ],
        )

    def entries(self) -> None:
        rows = []
        for p, cls in self.pupil_ids:
            rows.extend(_entry_rows(self.rng, self.school.id, p, cls.grade, self.now))
        ids = _insert(Entry, rows)
        self.entries_with_rows = list(zip(ids, rows, strict=False))
        self.run.stats.entries += len(ids)

    def comments(self) -> None:
        """Comments of the class teacher on shared entries; reviews; the pupil's news."""
        comments = []
        for eid, row in self.entries_with_rows:
            if not row.get("share_class_teacher"):
                continue
            teacher = self.teacher_of[self.class_of[row["pupil_id"]].id]
            state = row.get("review_state")
            if state == "revision" or self.rng.random() < (0.5 if state == "reviewed" else 0.25):
                comments.append(
                    {
                        "school_id": self.school.id,
                        "entry_id": eid,
                        "author_id": teacher,
                        "body": self.rng.choice(COMMENTS),
                        "created_at": self.now,
                    }
                )
            elif state == "reviewed":
                self.notes.append(self._note(row["pupil_id"], "reviewed", teacher, entry_id=eid))
        comment_ids = _insert(Comment, comments)
        self.run.stats.comments += len(comment_ids)
        row_of = dict(self.entries_with_rows)
        for cid, c in zip(comment_ids, comments, strict=False):
            row = row_of[c["entry_id"]]
            state = row.get("review_state")
            self.notes.append(
                self._note(
                    row["pupil_id"],
                    state if state in ("reviewed", "revision") else "comment",
                    c["author_id"],
                    entry_id=c["entry_id"],
                    comment_id=cid,
                    read_at=self.now if self.rng.random() < 0.6 else None,
                )
            )

    def _note(self, user_id: int, kind: str, actor_id: int, **kw) -> dict:
        """A notification row for the pupil `user_id` about themself (`kw`: entry_id,
        comment_id, read_at); made as history, so never mailed."""
        return {
            "school_id": self.school.id,
            "user_id": user_id,
            "pupil_id": user_id,
            "kind": kind,
            "actor_id": actor_id,
            "created_at": self.now,
            "mailed_at": self.now,
            **kw,
        }

    def assessments(self) -> None:
        """Accepted external assessments ("How others see me") came from a rating link."""
        _insert(
            AssessmentRequest,
            [
                {
                    "school_id": self.school.id,
                    "pupil_id": row["pupil_id"],
                    "token_hash": secrets.token_hex(32),
                    "rater_name": row["data"]["rater_name"],
                    "relation": row["data"]["relation"],
                    "grade": row["grade"],
                    "created_at": row["created_at"] - dt.timedelta(days=7),
                    "expires_at": row["created_at"] + dt.timedelta(days=7),
                    "answered_at": row["created_at"],
                    "accepted_at": row["created_at"],
                    "answer": {
                        "ratings": row["data"]["ratings"],
                        "comment": row["data"]["comment"],
                    },
                    "entry_id": eid,
                }
                for eid, row in self.entries_with_rows
                if row["kind"] == "external_assessment"
            ],
        )

    def agreements(self) -> None:
        """Agreements from grade 9 on (some) and grade 10 (all), mostly signed in grade 10."""
        agreements = []
        for p, cls in self.pupil_ids:
            order = GRADE_ORDER.get(cls.grade, 0)
            if order >= 10 or (order == 9 and self.rng.random() < 0.4):
                locked = order >= 10 and self.rng.random() < 0.85
                agreements.append(
                    {
                        "school_id": self.school.id,
                        "pupil_id": p,
                        "number": 1,
                        "grade": "9",
                        "decision": self.rng.choice(
                            ["dual", "dual", "berufskolleg", "oberstufe", "other"]
                        ),
                        "data": {
                            "dream_job": self.rng.choice(OCCUPATIONS),
                            "next_step": "Bewerbungen schreiben",
                            "steps": [{"text": "Praktikum", "due_on": "2027-02-01"}],
                        },
                        "locked_at": self.now if locked else None,
                        "share_guardians": True,
                        "created_at": self.now,
                        "updated_at": self.now,
                        "edited_at": self.now,
                        "version": 1,
                    }
                )
        agreement_ids = _insert(Agreement, agreements)
        _insert(AgreementSignature, self._signatures(agreement_ids, agreements))
        self.run.stats.agreements += len(agreement_ids)

    def _signatures(self, agreement_ids: list[int], agreements: list[dict]) -> list[dict]:
        """Pupil, guardian and class teacher sign each locked agreement."""
        guardian_of = {p: g for g, (p, _c) in zip(self.guardian_ids, self.pupil_ids, strict=False)}
        signatures = []
        for aid, row in zip(agreement_ids, agreements, strict=False):
            if not row["locked_at"]:
                continue
            signers = {
                "pupil": row["pupil_id"],
                "guardian": guardian_of.get(row["pupil_id"]),
                "teacher": self.teacher_of[self.class_of[row["pupil_id"]].id],
            }
            for role, uid in signers.items():
                signatures.append(
                    {
                        "school_id": self.school.id,
                        "agreement_id": aid,
                        "role": role,
                        "user_id": uid,
                        "name": role,
                        "signed_at": self.now,
                    }
                )
        return signatures

    def guidance(self) -> None:
        """A guidance record (with its notification) for every pupil from grade 9 on."""
        records = []
        for p, cls in self.pupil_ids:
            if GRADE_ORDER.get(cls.grade, 0) < 9:
                continue
            author = self.rng.choice(
                [self.teacher_of[cls.id], self.counsellor_ids[p % len(self.counsellor_ids)]]
            )
            records.append(
                {
                    "school_id": self.school.id,
                    "pupil_id": p,
                    "author_id": author,
                    "held_on": (self.now - dt.timedelta(days=self.rng.randint(5, 200))).date(),
                    "participants": "Klassenleitung, Berufsberatung",
                    "topics": "Praktikum, Bewerbung",
                    "next_steps": [
                        {
                            "text": "Bewerbungsmappe fertigstellen",
                            "due_on": (self.now + dt.timedelta(days=30)).date().isoformat(),
                        }
                    ],
                    "pupil_notes": _text(self.rng, 1) if self.rng.random() < 0.3 else "",
                    "share_guardians": self.rng.random() < 0.3,
                    "created_at": self.now,
                    "updated_at": self.now,
                    "version": 1,
                }
            )
            self.notes.append(self._note(p, "guidance_recorded", author, read_at=self.now))
        self.run.stats.guidance += len(_insert(GuidanceRecord, records))
        self.run.stats.notifications += len(_insert(Notification, self.notes))

    def documents(self, storage) -> None:
        """Small image uploads: placement certificates of a quarter of the pupils from 9 on."""
        png = self.run.png
        png_sha = hashlib.sha256(png).hexdigest()
        placements = {
            row["pupil_id"]: eid
            for eid, row in self.entries_with_rows
            if row["kind"] == "praktikum"
        }
        docs = []
        for p, cls in self.pupil_ids:
            if GRADE_ORDER.get(cls.grade, 0) >= 9 and self.rng.random() < 0.25:
                docs.append(
                    {
                        "school_id": self.school.id,
                        "pupil_id": p,
                        "entry_id": placements.get(p),
                        "category": "certificate",
                        "title": "Praktikumsbescheinigung",
                        "filename": "bescheinigung.png",
                        "storage_key": storage.save(png),
                        "mime_type": "image/png",
                        "size": len(png),
                        "sha256": png_sha,
                        "share_class_teacher": True,
                        "share_stubo": True,
                        "share_guardians": self.rng.random() < 0.5,
                        "uploaded_by_id": p,
                        "created_at": self.now,
                    }
                )
        self.run.stats.documents += len(_insert(Document, docs))


def seed_bulk(
    schools: int,
    pupils_per_school: int,
    *,
    class_size: int = 28,
    seed: int = 0,
    files: bool = True,
    prefix: str = "bulk",
    grades: tuple[str, ...] = DEFAULT_GRADES,
    counsellors: int = 2,
    caseload: int | None = None,
) -> BulkStats:
    """Create `schools` schools with `pupils_per_school` pupils each, spread over `grades`.

    Per school: classes with a teacher each, a StuBO, counsellors (assigned the pupils from
    grade 9 on, in turn, or `caseload` pupils each; most with consent), guardians for half
    of the pupils, entries of every kind, comments with their notifications, reviews,
    agreements (signed from grade 10), guidance records, accepted external assessments and
    small image uploads.
    """
    started = time.perf_counter()
    rng = random.Random(seed)
    now = utcnow()
    pw_hash = generate_password_hash(
        BULK_PASSWORD, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    )
    storage = get_storage()
    run = _Run(
        rng=rng,
        now=now,
        pw_hash=pw_hash,
        prefix=prefix,
        counsellors=counsellors,
        caseload=caseload,
        png=_tiny_png(rng) if files else b"",
        stats=BulkStats(),
    )
    existing = db.session.scalar(
        sa.select(sa.func.count(School.id)).where(School.schulnummer.like("8%"))
    )
    for s in range(schools):
        with transaction.atomic():  # one school at a time: batches of many thousand rows
            number = f"8{existing + s:05d}"
            school = accounts.create_school(
                f"Schule {prefix} {existing + s + 1}",
                number,
                "Gesamtschule",
                rng.choice(["Siegen", "Kreuztal", "Netphen", "Bad Berleburg"]),
            )
            run.stats.school_ids.append(school.id)
            school_seed = _SchoolSeed(run, school, number)
            school_seed.classes(grades, pupils_per_school, class_size)
            school_seed.people(pupils_per_school)
            school_seed.counselling()
            school_seed.entries()
            school_seed.comments()
            school_seed.assessments()
            school_seed.agreements()
            school_seed.guidance()
            if files:
                school_seed.documents(storage)
            run.stats.pupils += len(school_seed.pupil_ids)
            run.stats.schools += 1
    run.stats.seconds = time.perf_counter() - started
    return run.stats


@click.command("seed-bulk")
@click.option("--schools", default=1, show_default=True, type=click.IntRange(1, 1000))
@click.option("--pupils-per-school", default=250, show_default=True, type=click.IntRange(1, 5000))
@click.option("--class-size", default=28, show_default=True, type=click.IntRange(5, 40))
@click.option("--seed", default=0, show_default=True, help="Random seed (same seed, same data).")
@click.option("--no-files", is_flag=True, help="Skip the small image uploads.")
@click.option(
    "--grades",
    default=",".join(DEFAULT_GRADES),
    show_default=True,
    help="Grades of the classes, comma-separated.",
)
@click.option(
    "--caseload",
    type=click.IntRange(1, 5000),
    default=None,
    help="Pupils per counsellor (from grade 9 on); as many counsellors as that needs. "
    "Default: two counsellors share them.",
)
def seed_bulk_command(schools, pupils_per_school, class_size, seed, no_files, grades, caseload):
    """Generate schools with realistic portfolios (for benchmarks and load tests)."""
    grade_list = tuple(g.strip() for g in grades.split(",") if g.strip())
    unknown = [g for g in grade_list if g not in GRADE_ORDER]
    if not grade_list or unknown:
        raise click.BadParameter(
            f"unknown grades: {', '.join(unknown) or '(none)'}", param_hint="--grades"
        )
    stats = seed_bulk(
        schools,
        pupils_per_school,
        class_size=class_size,
        seed=seed,
        files=not no_files,
        grades=grade_list,
        caseload=caseload,
    )
    click.echo(
        f"Created {stats.schools} schools, {stats.pupils} pupils, {stats.entries} entries, "
        f"{stats.comments} comments, {stats.documents} documents, {stats.agreements} "
        f"agreements, {stats.guidance} guidance records, {stats.notifications} "
        f"notifications in {stats.seconds:.1f} s. Password of all accounts: {BULK_PASSWORD}"
    )
