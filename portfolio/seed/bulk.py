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

from portfolio import accounts
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


def _insert(model, rows: list[dict]) -> list[int]:
    if not rows:
        return []
    return list(db.session.scalars(sa.insert(model).returning(model.id), rows))


def _entry_rows(rng, school_id, pupil_id, grade, now) -> list[dict]:
    """A plausible portfolio for a pupil of the given grade: every kind of `kinds.SPECS`
    appears across a school (Sek II kinds for pupils in EF/Q1/Q2)."""
    order = GRADE_ORDER.get(grade, 10)
    quals = [k for k, _ in DEFAULT_QUALITIES]
    fields = [k for k, _ in OCCUPATIONAL_FIELDS]
    rows = []

    def iso(days_ago: int) -> str:
        return (now - dt.timedelta(days=days_ago)).date().isoformat()

    def add(kind, data, status="done", days_ago=100, **kw):
        created = now - dt.timedelta(days=days_ago + rng.randint(0, 30))
        rows.append(
            dict(
                school_id=school_id,
                pupil_id=pupil_id,
                kind=kind,
                data=data,
                status=status,
                grade=kw.pop("grade", grade),
                created_at=created,
                updated_at=created,
                title="",
                **kw,
            )
        )

    def years(g):
        return max(0, order - GRADE_ORDER[g]) * 365

    for g in ("8", "9", "10"):
        if GRADE_ORDER[g] <= order:
            add(
                "strengths",
                {
                    "ratings": {q: rng.randint(1, 4) for q in quals},
                    "interests": rng.sample(fields, 3),
                    "hobbies": _text(rng, 1),
                    "reflection": _text(rng),
                },
                grade=g,
                days_ago=years(g) + 200,
                share_teachers=rng.random() < 0.5,
            )
    if rng.random() < 0.5:
        add(
            "external_assessment",
            {
                "rater_name": rng.choice(FIRST_NAMES),
                "relation": rng.choice(["guardian", "teacher", "mentor", "friend"]),
                "ratings": {q: rng.randint(1, 4) for q in quals},
                "comment": _text(rng, 1),
                "reflection": _text(rng, 1),
            },
            grade="8",
            days_ago=years("8") + 170,
            share_teachers=rng.random() < 0.5,
        )
    if rng.random() < 0.9:
        add(
            "potenzialanalyse",
            {
                "date": iso(years("8") + 150),
                "provider": "Bildungswerk Siegen",
                "tasks": _text(rng, 1),
                "results_talk": _text(rng),
                "reflection": _text(rng),
            },
            grade="8",
            days_ago=years("8") + 150,
            share_guardians=rng.random() < 0.5,
        )
    if rng.random() < 0.8:
        days = [
            {
                "date": iso(years("8") + 60 + i),
                "company": rng.choice(COMPANIES),
                "field": rng.choice(fields),
                "activities": _text(rng, 1),
                "liked": _text(rng, 1),
                "disliked": _text(rng, 1),
                "imagine": rng.choice(["yes", "maybe", "no"]),
            }
            for i in range(3)
        ]
        add(
            "berufsfelderkundung",
            {"days": days, "want_to_know": rng.choice(OCCUPATIONS)},
            grade="8",
            days_ago=years("8") + 60,
            share_teachers=rng.random() < 0.6,
        )
    if order >= 9:
        if rng.random() < 0.3:
            add(
                "praxiskurs",
                {
                    "company": rng.choice(COMPANIES),
                    "field": rng.choice(fields),
                    "start": iso(years("9") + 200),
                    "end": iso(years("9") + 198),
                    "activities": _text(rng, 1),
                    "feedback": _text(rng, 1),
                },
                grade="9",
                days_ago=years("9") + 198,
                share_teachers=True,
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
        add(
            "praktikum",
            data,
            status="done" if evaluated else "in_progress",
            grade="9",
            days_ago=years("9") + 100,
            share_teachers=True,
            share_guardians=rng.random() < 0.5,
            share_counsellor=rng.random() < 0.5,
            review_state=rng.choice(["none", "requested", "reviewed", "revision"]),
        )
        if rng.random() < 0.1:
            add(
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
                share_teachers=True,
            )
    if rng.random() < 0.3:
        add(
            "reflection",
            {"title": "Was ich über mich gelernt habe", "text": _text(rng, 3)},
            days_ago=40,
            share_guardians=True,
        )
    due = (now + dt.timedelta(days=rng.randint(-40, 60))).date()
    add(
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
        share_teachers=True,
        share_counsellor=rng.random() < 0.5,
    )
    if order >= 9:
        add(
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
    if order >= GRADE_ORDER["EF"]:
        add(
            "sek2_standort",
            {"where": _text(rng, 1), "interests": _text(rng, 1), "questions": _text(rng, 1)},
            grade="EF",
            days_ago=years("EF") + 180,
        )
        add(
            "sek2_ek1",
            {"strengths": _text(rng, 1), "wishes": _text(rng, 1), "options": _text(rng, 1)},
            grade="EF",
            days_ago=years("EF") + 120,
        )
        add(
            "sek2_praxis",
            {
                "place": rng.choice(COMPANIES),
                "start": iso(years("EF") + 60),
                "end": iso(years("EF") + 50),
                "activities": _text(rng, 1),
            },
            grade="EF",
            days_ago=years("EF") + 50,
            share_teachers=True,
        )
        add(
            "studienorientierung",
            {"tests": "Check-U", "visits": "Universität Siegen"},
            status="in_progress",
            days_ago=60,
        )
    if order >= GRADE_ORDER["Q1"]:
        add(
            "sek2_ek2",
            {"decision": _text(rng, 1), "next_steps": _text(rng, 1), "plan_b": _text(rng, 1)},
            grade="Q1",
            days_ago=years("Q1") + 30,
        )
    return rows


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
) -> BulkStats:
    """Create `schools` schools with `pupils_per_school` pupils each, spread over `grades`.

    Per school: classes with a teacher each, a StuBO, counsellors (assigned the pupils from
    grade 9 on, most with consent), guardians for half of the pupils, entries of every
    kind, comments with their notifications, reviews, agreements (signed from grade 10),
    guidance records, accepted external assessments and small image uploads.
    """
    started = time.perf_counter()
    rng = random.Random(seed)
    stats = BulkStats()
    now = utcnow()
    pw_hash = generate_password_hash(
        BULK_PASSWORD, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    )
    storage = get_storage()
    png = _tiny_png(rng) if files else b""
    png_sha = hashlib.sha256(png).hexdigest()
    existing = db.session.scalar(
        sa.select(sa.func.count(School.id)).where(School.schulnummer.like("8%"))
    )
    for s in range(schools):
        number = f"8{existing + s:05d}"
        school = accounts.create_school(
            f"Schule {prefix} {existing + s + 1}",
            number,
            "Gesamtschule",
            rng.choice(["Siegen", "Kreuztal", "Netphen", "Bad Berleburg"]),
        )
        year = accounts.current_year(school)
        stats.school_ids.append(school.id)
        per_grade = {g: 0 for g in grades}
        for i in range(pupils_per_school):
            per_grade[grades[i % len(grades)]] += 1
        classes: list[tuple[SchoolClass, int]] = []
        for grade, n in per_grade.items():
            if n == 0:
                continue
            n_classes = max(1, -(-n // class_size))
            for c in range(n_classes):
                cls = SchoolClass(
                    school_id=school.id,
                    school_year_id=year.id,
                    name=f"{grade}{'abcdefghijklmnop'[c]}",
                    grade=grade,
                )
                db.session.add(cls)
                classes.append((cls, -(-n // n_classes)))
        db.session.flush()

        def users(role, count, tag, school=school, number=number):
            rows = [
                {
                    "school_id": school.id,
                    "username": f"{prefix}{number}.{tag}{i}".lower(),
                    "password_hash": pw_hash,
                    "must_change_password": False,
                    "first_name": rng.choice(FIRST_NAMES),
                    "last_name": rng.choice(LAST_NAMES),
                    "status": "active",
                    "is_active_account": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(count)
            ]
            ids = _insert(User, rows)
            _insert(
                UserRole, [{"school_id": school.id, "user_id": u, "role": role.value} for u in ids]
            )
            return ids

        teacher_ids = users(Role.TEACHER, len(classes), "t")
        (_stubo_id,) = users(Role.STUBO, 1, "stubo")
        counsellor_ids = users(Role.COUNSELLOR, counsellors, "c")
        _insert(
            TeacherClass,
            [
                {"school_id": school.id, "teacher_id": t, "class_id": cls.id}
                for t, (cls, _n) in zip(teacher_ids, classes, strict=False)
            ],
        )
        teacher_of = {cls.id: t for t, (cls, _n) in zip(teacher_ids, classes, strict=False)}
        pupil_ids: list[tuple[int, SchoolClass]] = []
        remaining = pupils_per_school
        for cls, n in classes:
            take = min(n, remaining)
            if take <= 0:
                break
            ids = users(Role.PUPIL, take, f"p{cls.name}-")
            remaining -= take
            pupil_ids.extend((pid, cls) for pid in ids)
        _insert(
            ClassMembership,
            [
                {
                    "school_id": school.id,
                    "pupil_id": p,
                    "class_id": cls.id,
                    "school_year_id": year.id,
                }
                for p, cls in pupil_ids
            ],
        )
        guardian_ids = users(Role.GUARDIAN, len(pupil_ids) // 2, "g")
        _insert(
            GuardianLink,
            [
                {"school_id": school.id, "guardian_id": g, "pupil_id": p, "created_at": now}
                for g, (p, _c) in zip(guardian_ids, pupil_ids, strict=False)
            ],
        )
        assigned = [p for p, cls in pupil_ids if GRADE_ORDER.get(cls.grade, 0) >= 9]
        _insert(
            CounsellorAssignment,
            [
                {
                    "school_id": school.id,
                    "counsellor_id": counsellor_ids[i % counsellors],
                    "pupil_id": p,
                    "created_at": now,
                }
                for i, p in enumerate(assigned)
            ],
        )
        _insert(
            Consent,
            [
                {
                    "school_id": school.id,
                    "pupil_id": p,
                    "purpose": ConsentPurpose.COUNSELLOR_ACCESS.value,
                    "given_by_role": "pupil",
                    "given_by_id": p,
                    "given_at": now,
                }
                for p in assigned
                if rng.random() < 0.8
            ],
        )

        entry_rows = []
        for p, cls in pupil_ids:
            entry_rows.extend(_entry_rows(rng, school.id, p, cls.grade, now))
        entry_ids = _insert(Entry, entry_rows)
        stats.entries += len(entry_ids)
        class_of = {p: cls for p, cls in pupil_ids}

        # Comments of the class teacher on shared entries; reviews; the pupil's notifications.
        comments, notes = [], []
        for eid, row in zip(entry_ids, entry_rows, strict=False):
            if not row.get("share_teachers"):
                continue
            teacher = teacher_of[class_of[row["pupil_id"]].id]
            state = row.get("review_state")
            if state == "revision" or rng.random() < (0.5 if state == "reviewed" else 0.25):
                comments.append(
                    {
                        "school_id": school.id,
                        "entry_id": eid,
                        "author_id": teacher,
                        "body": rng.choice(COMMENTS),
                        "created_at": now,
                    }
                )
            elif state == "reviewed":
                notes.append(
                    {
                        "school_id": school.id,
                        "user_id": row["pupil_id"],
                        "kind": "reviewed",
                        "actor_id": teacher,
                        "entry_id": eid,
                        "created_at": now,
                    }
                )
        comment_ids = _insert(Comment, comments)
        stats.comments += len(comment_ids)
        entry_kind = {eid: row for eid, row in zip(entry_ids, entry_rows, strict=False)}
        for cid, c in zip(comment_ids, comments, strict=False):
            state = entry_kind[c["entry_id"]].get("review_state")
            notes.append(
                {
                    "school_id": school.id,
                    "user_id": entry_kind[c["entry_id"]]["pupil_id"],
                    "kind": state if state in ("reviewed", "revision") else "comment",
                    "actor_id": c["author_id"],
                    "entry_id": c["entry_id"],
                    "comment_id": cid,
                    "created_at": now,
                    "read_at": now if rng.random() < 0.6 else None,
                }
            )

        # Accepted external assessments ("How others see me") came from a rating link.
        _insert(
            AssessmentRequest,
            [
                {
                    "school_id": school.id,
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
                for eid, row in zip(entry_ids, entry_rows, strict=False)
                if row["kind"] == "external_assessment"
            ],
        )

        agreements, signatures = [], []
        for p, cls in pupil_ids:
            order = GRADE_ORDER.get(cls.grade, 0)
            if order >= 10 or (order == 9 and rng.random() < 0.4):
                locked = order >= 10 and rng.random() < 0.85
                agreements.append(
                    {
                        "school_id": school.id,
                        "pupil_id": p,
                        "number": 1,
                        "grade": "9",
                        "decision": rng.choice(
                            ["dual", "dual", "berufskolleg", "oberstufe", "other"]
                        ),
                        "data": {
                            "dream_job": rng.choice(OCCUPATIONS),
                            "next_step": "Bewerbungen schreiben",
                            "steps": [{"text": "Praktikum", "due_on": "2027-02-01"}],
                        },
                        "locked_at": now if locked else None,
                        "share_guardians": True,
                        "created_at": now,
                        "updated_at": now,
                        "version": 1,
                    }
                )
        agreement_ids = _insert(Agreement, agreements)
        guardian_of = {p: g for g, (p, _c) in zip(guardian_ids, pupil_ids, strict=False)}
        for aid, row in zip(agreement_ids, agreements, strict=False):
            if row["locked_at"]:
                signers = {
                    "pupil": row["pupil_id"],
                    "guardian": guardian_of.get(row["pupil_id"]),
                    "teacher": teacher_of[class_of[row["pupil_id"]].id],
                }
                for role, uid in signers.items():
                    signatures.append(
                        {
                            "school_id": school.id,
                            "agreement_id": aid,
                            "role": role,
                            "user_id": uid,
                            "name": role,
                            "signed_at": now,
                        }
                    )
        _insert(AgreementSignature, signatures)
        stats.agreements += len(agreement_ids)

        guidance = []
        for p, cls in pupil_ids:
            if GRADE_ORDER.get(cls.grade, 0) < 9:
                continue
            author = rng.choice([teacher_of[cls.id], counsellor_ids[p % counsellors]])
            guidance.append(
                {
                    "school_id": school.id,
                    "pupil_id": p,
                    "author_id": author,
                    "held_on": (now - dt.timedelta(days=rng.randint(5, 200))).date(),
                    "participants": "Klassenleitung, Berufsberatung",
                    "topics": "Praktikum, Bewerbung",
                    "next_steps": [
                        {
                            "text": "Bewerbungsmappe fertigstellen",
                            "due_on": (now + dt.timedelta(days=30)).date().isoformat(),
                        }
                    ],
                    "pupil_notes": _text(rng, 1) if rng.random() < 0.3 else "",
                    "share_guardians": rng.random() < 0.3,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
            )
            notes.append(
                {
                    "school_id": school.id,
                    "user_id": p,
                    "kind": "guidance_recorded",
                    "actor_id": author,
                    "created_at": now,
                    "read_at": now,
                }
            )
        stats.guidance += len(_insert(GuidanceRecord, guidance))
        stats.notifications += len(_insert(Notification, notes))

        if files:
            docs = []
            placements = {
                row["pupil_id"]: eid
                for eid, row in zip(entry_ids, entry_rows, strict=False)
                if row["kind"] == "praktikum"
            }
            for p, cls in pupil_ids:
                if GRADE_ORDER.get(cls.grade, 0) >= 9 and rng.random() < 0.25:
                    docs.append(
                        {
                            "school_id": school.id,
                            "pupil_id": p,
                            "entry_id": placements.get(p),
                            "category": "certificate",
                            "title": "Praktikumsbescheinigung",
                            "filename": "bescheinigung.png",
                            "storage_key": storage.save(png),
                            "mime_type": "image/png",
                            "size": len(png),
                            "sha256": png_sha,
                            "share_teachers": True,
                            "share_guardians": rng.random() < 0.5,
                            "uploaded_by_id": p,
                            "created_at": now,
                        }
                    )
            stats.documents += len(_insert(Document, docs))
        stats.pupils += len(pupil_ids)
        stats.schools += 1
        db.session.commit()
    stats.seconds = time.perf_counter() - started
    return stats


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
def seed_bulk_command(schools, pupils_per_school, class_size, seed, no_files, grades):
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
    )
    click.echo(
        f"Created {stats.schools} schools, {stats.pupils} pupils, {stats.entries} entries, "
        f"{stats.comments} comments, {stats.documents} documents, {stats.agreements} "
        f"agreements, {stats.guidance} guidance records, {stats.notifications} "
        f"notifications in {stats.seconds:.1f} s. Password of all accounts: {BULK_PASSWORD}"
    )
