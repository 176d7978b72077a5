"""`flask seed-bulk`: realistic portfolios for whole districts, fast.

Rows go in with bulk INSERT ... RETURNING (no request, no ORM unit of work per row);
one password hash is shared by all generated accounts. A district of 40 schools with
250 pupils each takes a few minutes on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import time
from dataclasses import dataclass, field

import click
import sqlalchemy as sa
from flask import Flask, current_app
from werkzeug.security import generate_password_hash

from portfolio import accounts
from portfolio.demo import FIRST_NAMES, LAST_NAMES
from portfolio.extensions import db
from portfolio.models import (
    Agreement,
    AgreementSignature,
    ClassMembership,
    Comment,
    Consent,
    ConsentPurpose,
    CounsellorAssignment,
    Document,
    Entry,
    GuardianLink,
    GuidanceRecord,
    Role,
    School,
    SchoolClass,
    TeacherClass,
    User,
    UserRole,
    utcnow,
)
from portfolio.reference import DEFAULT_QUALITIES, OCCUPATIONAL_FIELDS
from portfolio.storage import get_storage

BULK_PASSWORD = "Bulk-Berufswahl-26"
COMPANIES = ["Autohaus Siebel", "Bäckerei Klein", "Kreisklinikum Siegen", "Elektro Jung GmbH",
             "Stadtverwaltung", "Kita Sonnenschein", "Tischlerei Weber", "Logistik Sauerland",
             "Apotheke am Markt", "IT-Systemhaus Krombach", "Metallbau Schäfer", "Friseur Haarmonie"]
OCCUPATIONS = ["Kfz-Mechatroniker/in", "Bäcker/in", "Pflegefachfrau/-mann", "Elektroniker/in",
               "Verwaltungsfachangestellte/r", "Erzieher/in", "Tischler/in", "Fachkraft für Lagerlogistik",
               "Pharmazeutisch-technische/r Assistent/in", "Fachinformatiker/in"]
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
    """A plausible portfolio for a pupil of the given grade."""
    order = {"8": 8, "9": 9, "10": 10}.get(grade, 10)
    quals = [k for k, _ in DEFAULT_QUALITIES]
    fields = [k for k, _ in OCCUPATIONAL_FIELDS]
    rows = []

    def add(kind, data, status="done", days_ago=100, **kw):
        created = now - dt.timedelta(days=days_ago + rng.randint(0, 30))
        rows.append(dict(school_id=school_id, pupil_id=pupil_id, kind=kind, data=data,
                         status=status, grade=kw.pop("grade", grade), created_at=created,
                         updated_at=created, title="", **kw))

    for g in range(8, order + 1):
        add("strengths", {"ratings": {q: rng.randint(1, 4) for q in quals},
                          "interests": rng.sample(fields, 3), "reflection": _text(rng)},
            grade=str(g), days_ago=(order - g) * 365 + 200)
    if order >= 8 and rng.random() < 0.9:
        add("potenzialanalyse", {"date": (now - dt.timedelta(days=500)).date().isoformat(),
                                 "provider": "Bildungswerk Siegen", "results_talk": _text(rng),
                                 "reflection": _text(rng)}, grade="8", days_ago=(order - 8) * 365 + 150)
    if order >= 8 and rng.random() < 0.8:
        days = [{"date": (now - dt.timedelta(days=400 + i)).date().isoformat(),
                 "company": rng.choice(COMPANIES), "field": rng.choice(fields),
                 "activities": _text(rng, 1), "liked": _text(rng, 1), "disliked": _text(rng, 1),
                 "imagine": rng.choice(["yes", "maybe", "no"])} for i in range(3)]
        add("berufsfelderkundung", {"days": days, "want_to_know": rng.choice(OCCUPATIONS)},
            grade="8", days_ago=(order - 8) * 365 + 60, share_teachers=rng.random() < 0.6)
    if order >= 9:
        evaluated = rng.random() < 0.7
        data = {"company": rng.choice(COMPANIES), "occupation": rng.choice(OCCUPATIONS),
                "start": (now - dt.timedelta(days=120)).date().isoformat(),
                "end": (now - dt.timedelta(days=106)).date().isoformat(),
                "log": [{"date": (now - dt.timedelta(days=120 - i)).date().isoformat(),
                         "activities": _text(rng, 1), "thoughts": _text(rng, 1)} for i in range(5)]}
        if evaluated:
            data.update(expectations=_text(rng), reality=_text(rng), learned=_text(rng),
                        would_work_there=rng.choice(["yes", "maybe", "no"]))
        add("praktikum", data, status="done" if evaluated else "in_progress", grade="9",
            days_ago=(order - 9) * 365 + 100, share_teachers=True, share_guardians=rng.random() < 0.5,
            review_state=rng.choice(["none", "requested", "reviewed"]))
    due = (now + dt.timedelta(days=rng.randint(-40, 60))).date()
    add("goal", {"goal": "Bewerbung schreiben", "why": _text(rng, 1),
                 "steps": [{"text": "Lebenslauf aktualisieren", "due_on": due.isoformat(), "done": "no"}],
                 "state": "in_progress"}, status="in_progress", days_ago=20, next_due_on=due,
        share_teachers=True)
    if order >= 9:
        add("cv", {"address": "Musterweg 1, 57072 Siegen", "languages": "Deutsch, Englisch"},
            status="in_progress", days_ago=30)
    return rows


def seed_bulk(schools: int, pupils_per_school: int, *, class_size: int = 28, seed: int = 0,
              files: bool = True, prefix: str = "bulk", grades: tuple[str, ...] = ("8", "9", "10"),
              counsellors: int = 2) -> BulkStats:
    """Create `schools` schools with `pupils_per_school` pupils each, spread over `grades`."""
    started = time.perf_counter()
    rng = random.Random(seed)
    stats = BulkStats()
    now = utcnow()
    pw_hash = generate_password_hash(BULK_PASSWORD, method=current_app.config.get(
        "PASSWORD_HASH_METHOD", "scrypt"))
    storage = get_storage()
    png = _tiny_png(rng) if files else b""
    existing = db.session.scalar(sa.select(sa.func.count(School.id)).where(
        School.schulnummer.like("8%")))
    for s in range(schools):
        number = f"8{existing + s:05d}"
        school = accounts.create_school(f"Schule {prefix} {existing + s + 1}", number, "Gesamtschule",
                                        rng.choice(["Siegen", "Kreuztal", "Netphen", "Bad Berleburg"]))
        year = accounts.current_year(school)
        stats.school_ids.append(school.id)
        per_grade = {g: 0 for g in grades}
        for i in range(pupils_per_school):
            per_grade[grades[i % len(grades)]] += 1
        classes: list[tuple[SchoolClass, int]] = []
        for grade, n in per_grade.items():
            n_classes = max(1, -(-n // class_size))
            for c in range(n_classes):
                cls = SchoolClass(school_id=school.id, school_year_id=year.id,
                                  name=f"{grade}{'abcdefghijklmnop'[c]}", grade=grade)
                db.session.add(cls)
                classes.append((cls, -(-n // n_classes)))
        db.session.flush()

        def users(role, count, tag):
            rows = [dict(school_id=school.id, username=f"{prefix}{number}.{tag}{i}",
                         password_hash=pw_hash, must_change_password=False,
                         first_name=rng.choice(FIRST_NAMES), last_name=rng.choice(LAST_NAMES),
                         status="active", is_active_account=True, created_at=now, updated_at=now)
                    for i in range(count)]
            ids = _insert(User, rows)
            _insert(UserRole, [dict(school_id=school.id, user_id=u, role=role.value) for u in ids])
            return ids

        teacher_ids = users(Role.TEACHER, len(classes), "t")
        (stubo_id,) = users(Role.STUBO, 1, "stubo")
        counsellor_ids = users(Role.COUNSELLOR, counsellors, "c")
        _insert(TeacherClass, [dict(school_id=school.id, teacher_id=t, class_id=cls.id)
                               for t, (cls, _n) in zip(teacher_ids, classes)])
        pupil_ids: list[tuple[int, SchoolClass]] = []
        remaining = pupils_per_school
        for cls, n in classes:
            take = min(n, remaining)
            if take <= 0:
                break
            ids = users(Role.PUPIL, take, f"p{cls.name}-")
            remaining -= take
            pupil_ids.extend((pid, cls) for pid in ids)
        _insert(ClassMembership, [dict(school_id=school.id, pupil_id=p, class_id=cls.id,
                                       school_year_id=year.id) for p, cls in pupil_ids])
        guardian_ids = users(Role.GUARDIAN, len(pupil_ids) // 2, "g")
        _insert(GuardianLink, [dict(school_id=school.id, guardian_id=g, pupil_id=p, created_at=now)
                               for g, (p, _c) in zip(guardian_ids, pupil_ids)])
        assigned = [p for p, cls in pupil_ids if cls.grade in ("9", "10")]
        _insert(CounsellorAssignment, [dict(school_id=school.id, counsellor_id=counsellor_ids[i % counsellors],
                                            pupil_id=p, created_at=now) for i, p in enumerate(assigned)])
        _insert(Consent, [dict(school_id=school.id, pupil_id=p, purpose=ConsentPurpose.COUNSELLOR_ACCESS.value,
                               given_by_role="pupil", given_by_id=p, given_at=now)
                          for p in assigned if rng.random() < 0.8])

        entry_rows = []
        for p, cls in pupil_ids:
            entry_rows.extend(_entry_rows(rng, school.id, p, cls.grade, now))
        entry_ids = _insert(Entry, entry_rows)
        stats.entries += len(entry_ids)
        shared = [eid for eid, row in zip(entry_ids, entry_rows) if row.get("share_teachers")]
        comments = [dict(school_id=school.id, entry_id=eid, author_id=rng.choice(teacher_ids),
                         body="Schön beschrieben! Was hat dich am meisten überrascht?", created_at=now)
                    for eid in shared if rng.random() < 0.3]
        stats.comments += len(_insert(Comment, comments))

        agreements, signatures = [], []
        for p, cls in pupil_ids:
            if cls.grade == "10" or (cls.grade == "9" and rng.random() < 0.4):
                locked = cls.grade == "10" and rng.random() < 0.85
                agreements.append(dict(
                    school_id=school.id, pupil_id=p, number=1, grade="9",
                    decision=rng.choice(["dual", "dual", "berufskolleg", "oberstufe", "other"]),
                    data={"dream_job": rng.choice(OCCUPATIONS), "next_step": "Bewerbungen schreiben",
                          "steps": [{"text": "Praktikum", "due_on": "2027-02-01"}]},
                    locked_at=now if locked else None, share_guardians=True, created_at=now,
                    updated_at=now, version=1))
        agreement_ids = _insert(Agreement, agreements)
        for aid, row in zip(agreement_ids, agreements):
            if row["locked_at"]:
                for role in ("pupil", "guardian", "teacher"):
                    signatures.append(dict(school_id=school.id, agreement_id=aid, role=role,
                                           name=role, signed_at=now))
        _insert(AgreementSignature, signatures)
        stats.agreements += len(agreement_ids)
        _insert(GuidanceRecord, [dict(school_id=school.id, pupil_id=p, author_id=teacher_ids[0],
                                      held_on=now.date(), participants="Klassenleitung",
                                      topics="Praktikum, Bewerbung", next_steps=[], pupil_notes="",
                                      created_at=now, updated_at=now, version=1)
                                 for p, cls in pupil_ids if cls.grade != "8"])
        if files:
            docs = []
            for p, cls in pupil_ids:
                if cls.grade != "8" and rng.random() < 0.25:
                    key = storage.save(png)
                    docs.append(dict(school_id=school.id, pupil_id=p, category="certificate",
                                     title="Praktikumsbescheinigung", filename="bescheinigung.png",
                                     storage_key=key, mime_type="image/png", size=len(png),
                                     sha256="0" * 64, share_teachers=True, created_at=now))
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
def seed_bulk_command(schools, pupils_per_school, class_size, seed, no_files):
    """Generate schools with realistic portfolios (for benchmarks and load tests)."""
    stats = seed_bulk(schools, pupils_per_school, class_size=class_size, seed=seed,
                      files=not no_files)
    click.echo(f"Created {stats.schools} schools, {stats.pupils} pupils, {stats.entries} entries, "
               f"{stats.comments} comments, {stats.documents} documents, {stats.agreements} "
               f"agreements in {stats.seconds:.1f} s. Password of all accounts: {BULK_PASSWORD}")


def register(app: Flask) -> None:
    app.cli.add_command(seed_bulk_command)
