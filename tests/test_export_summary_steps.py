"""The family summary's "What comes next": the upcoming open steps, soonest first; overdue
open steps say so in words; steps of reached goals and past history are not listed."""

from __future__ import annotations

import datetime as dt

from portfolio import clock, progress
from portfolio.extensions import db
from portfolio.models import Agreement, GuidanceRecord
from tests.support.files import pdf_text
from tests.support.jobs import fetch
from tests.support.pdf_fixtures import add_entry

TODAY = dt.date(2030, 3, 10)


def day(offset: int) -> str:
    return (clock.today() + dt.timedelta(days=offset)).isoformat()


def test_upcoming_steps_rules():
    steps = progress.upcoming_steps(
        agreement=(
            {
                "steps": [
                    {"text": "A past", "due_on": "2030-01-01"},
                    {"text": "A soon", "due_on": "2030-03-20"},
                    {"text": "A undated"},
                ]
            },
            "agreement",
        ),
        goals=[
            ({"state": "reached", "steps": [{"text": "G reached", "due_on": "2030-04-01"}]}, "g1"),
            (
                {
                    "state": "in_progress",
                    "steps": [
                        {"text": "G overdue", "due_on": "2030-02-01", "done": "no"},
                        {"text": "G done", "due_on": "2030-03-12", "done": "yes"},
                        {"text": "G later", "due_on": "2030-05-01"},
                    ],
                },
                "g2",
            ),
        ],
        records=[
            (
                [
                    {"text": "R new undated"},
                    {"text": "R new soon", "due_on": "2030-03-10"},
                    {"text": "A  soon", "due_on": "2030-03-20"},  # agreed twice: once
                ],
                "r",
            ),
            ([{"text": "R old undated"}, {"text": "R old past", "due_on": "2029-11-01"}], "r"),
        ],
        today=TODAY,
    )
    assert [(s.text, s.overdue) for s in steps] == [
        ("G overdue", True),
        ("R new soon", False),
        ("A soon", False),
        ("G later", False),
        ("A undated", False),
        ("R new undated", False),
    ]


def test_summary_lists_the_next_steps_and_marks_overdue_in_words(world, client_for):
    p = world.pupil
    agreement = Agreement(
        school_id=p.school_id,
        pupil_id=p.id,
        number=1,
        grade="9",
        decision="dual",
        data={
            "steps": [
                {"text": "VERGANGEN Messe", "due_on": day(-40)},
                {"text": "BALD Bewerbung", "due_on": day(20)},
            ]
        },
        share_guardians=True,
    )
    db.session.add(agreement)
    add_entry(
        p,
        "goal",
        {
            "goal": "Erreicht",
            "state": "reached",
            "steps": [{"text": "ERREICHT Schritt", "due_on": day(5)}],
        },
        share=("guardians",),
    )
    add_entry(
        p,
        "goal",
        {
            "goal": "Praktikum",
            "state": "in_progress",
            "steps": [
                {"text": "UEBERFAELLIG anrufen", "due_on": day(-3), "done": "no"},
                {"text": "ERLEDIGT Mappe", "due_on": day(2), "done": "yes"},
            ],
        },
        share=("guardians",),
    )
    db.session.add(
        GuidanceRecord(
            school_id=p.school_id,
            pupil_id=p.id,
            author_id=world.teacher.id,
            held_on=clock.today() - dt.timedelta(days=100),
            next_steps=[{"text": "ALT Termin", "due_on": day(-90)}],
            share_guardians=True,
        )
    )
    db.session.commit()
    response = fetch(
        client_for(world.guardian),
        f"/export/pupil/{p.id}/summary.pdf",
        headers={"Accept-Language": "de"},
    )
    text = " ".join(pdf_text(response.data).split())
    assert "UEBERFAELLIG anrufen (überfällig)" in text
    assert text.index("UEBERFAELLIG") < text.index("BALD Bewerbung")
    for gone in ("VERGANGEN", "ERREICHT", "ERLEDIGT", "ALT Termin", "weitere Schritte"):
        assert gone not in text
