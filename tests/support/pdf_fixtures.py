"""A full portfolio for PDF tests and the PDF benchmark: every entry kind, ratings over
three grades, guidance records, two agreement versions with signatures, images and PDFs.

`fill_portfolio(pupil, ...)` writes straight to the models (as the feature blueprints
would), so the PDF can be tested before or without their forms.
"""

from __future__ import annotations

import datetime as dt

from portfolio.extensions import db
from portfolio.kinds import SPECS, Group
from portfolio.models import (
    Agreement,
    AgreementSignature,
    Entry,
    EntryStatus,
    GuidanceRecord,
    User,
    utcnow,
)
from portfolio.reference import DEFAULT_QUALITIES
from tests.support.documents import add_document
from tests.support.files import jpeg_bytes, pdf_bytes, png_bytes

LOREM = (
    "Ich habe im Betrieb viel über Abläufe gelernt. Am ersten Tag war ich unsicher, "
    "dann habe ich selbstständig Aufgaben übernommen und Kundengespräche begleitet. "
)


#: What pupils type besides German: every script of the families at our schools, and emoji
#: with skin tones, as families (ZWJ sequences) and flags. Printed without a .notdef glyph
#: (tests/test_pdf_fonts.py); `bench_pdf --scripts` times a portfolio holding them.
SCRIPTS = {
    "emoji": "Danke 🙏 💪 👍🏽 👨\u200d👩\u200d👧 🇹🇷 🇩🇪 ❤️ 😀",
    "chinese": "你好，我想当工程师。",
    "japanese": "こんにちは、カタカナ",
    "korean": "안녕하세요",
    "arabic": "أريد أن أصبح مهندسة، لا أعرف بعد",
    "cyrillic": "Привіт! Я хочу стати інженеркою. Ёлка, щука",
    "polish": "Zażółć gęślą jaźń – Łódź",
    "turkish": "İstanbul'da ığdır, şöyle çağrı: Öğretmen",
    "german": "Schöne Grüße, 1 234,50 € – „Praktikum“ © ™ → ✓",
}


def add_scripts(pupil: User, texts: dict[str, str] | None = None) -> list[Entry]:
    """One reflection per text, in its title (a bold heading) and its body."""
    return [
        add_entry(pupil, "reflection", {"title": f"{name}: {text}", "text": text})
        for name, text in (texts or SCRIPTS).items()
    ]


def _value(field, n: int, long_text: str):
    if field.type == "date":
        return (dt.date(2025, 9, 1) + dt.timedelta(days=n)).isoformat()
    if field.type in ("choice", "yesno"):
        return field.choices[0][0] if field.choices else "it"
    if field.type == "occupational_fields":
        return ["it", "elektro", "gesundheit"]
    if field.type == "ratings":
        return {key: 1 + (i + n) % 4 for i, (key, _name) in enumerate(DEFAULT_QUALITIES)}
    if field.type == "text":
        return f"{field.name.replace('_', ' ').title()} {n}"
    return long_text


def entry_data(spec, n: int = 0, long_text: str = LOREM * 3) -> dict:
    data = {}
    for f in spec.fields:
        if isinstance(f, Group):
            count = f.min_items if f.fixed else min(f.max_items, 3 if f.name != "log" else 10)
            data[f.name] = [
                {g.name: _value(g, n + i, LOREM) for g in f.fields} for i in range(count)
            ]
        else:
            data[f.name] = _value(f, n, long_text)
    return data


def add_entry(pupil: User, kind, data: dict, *, grade="9", share=(), title="") -> Entry:
    entry = Entry(
        school_id=pupil.school_id,
        pupil_id=pupil.id,
        kind=kind,
        data=data,
        grade=grade,
        status=EntryStatus.DONE,
        title=title,
        **{f"share_{a}": True for a in share},
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def fill_portfolio(
    pupil: User,
    *,
    teacher: User | None = None,
    guardian: User | None = None,
    share=("class_teacher", "stubo", "guardians"),
    documents: bool = True,
) -> dict:
    """Every kind of content; returns the created objects by name."""
    made: dict = {"entries": []}
    for n, (kind, spec) in enumerate(SPECS.items()):
        if kind.value == "strengths":
            for i, grade in enumerate(("8", "9", "10")):
                made["entries"].append(
                    add_entry(pupil, kind.value, entry_data(spec, i), grade=grade, share=share)
                )
            continue
        if kind.value == "external_assessment":
            for i, grade in enumerate(("9", "10")):
                made["entries"].append(
                    add_entry(pupil, kind.value, entry_data(spec, i + 2), grade=grade, share=share)
                )
            continue
        made["entries"].append(add_entry(pupil, kind.value, entry_data(spec, n), share=share))
    praktikum = next(e for e in made["entries"] if e.kind == "praktikum")
    made["praktikum"] = praktikum
    made["guidance"] = []
    for i in range(3):
        record = GuidanceRecord(
            school_id=pupil.school_id,
            pupil_id=pupil.id,
            author_id=teacher.id if teacher else None,
            held_on=dt.date(2025, 10, 1) + dt.timedelta(days=120 * i),
            participants="Schülerin, Klassenlehrer",
            topics=LOREM,
            next_steps=[{"text": f"Bewerbung Nr. {i} schreiben", "due_on": f"2026-0{i + 2}-15"}],
            pupil_notes="Meine Notizen zum Gespräch.",
            share_guardians=i > 0,
        )
        db.session.add(record)
        made["guidance"].append(record)
    made["agreements"] = []
    for number in (1, 2):
        agreement = Agreement(
            school_id=pupil.school_id,
            pupil_id=pupil.id,
            number=number,
            grade=str(8 + number),
            decision="dual" if number == 2 else "berufskolleg",
            data={
                "dream_job": "Mechatronikerin",
                "strengths": LOREM,
                "fields": ["elektro", "metall"],
                "next_step": "Bewerbung bei drei Betrieben bis Februar",
                "steps": [
                    {"text": "Praktikumsplatz suchen", "due_on": "2026-02-01"},
                    {"text": "Bewerbungsmappe fertigstellen", "due_on": "2026-03-01"},
                ],
                "contacts": [
                    {
                        "name": "Frau Lorenz",
                        "role": "Berufsberatung",
                        "contact": "Agentur für Arbeit Siegen",
                    }
                ],
            },
            locked_at=utcnow() if number == 1 else None,
        )
        db.session.add(agreement)
        db.session.flush()
        signers = [
            ("pupil", pupil.full_name),
            ("guardian", guardian.full_name if guardian else "Eltern"),
            ("teacher", teacher.full_name if teacher else "Lehrkraft"),
        ]
        for role, name in signers if number == 1 else signers[:1]:
            db.session.add(
                AgreementSignature(
                    school_id=pupil.school_id,
                    agreement_id=agreement.id,
                    role=role,
                    name=name,
                    user_id=None,
                )
            )
        made["agreements"].append(agreement)
    if documents:
        made["image"] = add_document(
            pupil,
            png_bytes(),
            filename="zertifikat.png",
            mime="image/png",
            category="certificate",
            title="Zertifikat Potenzialanalyse",
            share=share,
        )
        made["photo"] = add_document(
            pupil,
            jpeg_bytes(),
            filename="zeugnis.jpg",
            mime="image/jpeg",
            category="report_card",
            title="Zeugnis Klasse 9",
            share=share,
        )
        made["pdf"] = add_document(
            pupil,
            pdf_bytes(),
            filename="praktikumsbescheinigung.pdf",
            mime="application/pdf",
            category="certificate",
            title="Praktikumsbescheinigung",
            entry=praktikum,
            share=share,
        )
    db.session.commit()
    return made
