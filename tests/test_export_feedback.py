"""Comments and review states in the full PDF: for the pupil and staff who see them on
the pages (access.can_read_comments), with the author's role and the date; not for the
family."""

from __future__ import annotations

import pytest

from portfolio.access import access_to
from portfolio.extensions import db
from portfolio.models import ReviewState
from portfolio.review import services as review
from tests.support.files import pdf_text
from tests.support.jobs import fetch
from tests.support.pdf_fixtures import add_entry

EN = {"Accept-Language": "en"}


@pytest.fixture
def reviewed(world):
    entry = add_entry(
        world.pupil,
        "reflection",
        {"title": "Mein Praktikum", "text": "ENTRYMARK"},
        share=("class_teacher", "stubo", "guardians"),
    )
    entry.review_state = ReviewState.REQUESTED.value
    review.set_review(entry, world.teacher, ReviewState.REVISION, "COMMENTMARK bitte ergänzen")
    review.add_comment(entry, world.teacher, "SECONDMARK danke")
    db.session.commit()
    return entry


def flat(pdf: bytes) -> str:
    return " ".join(pdf_text(pdf).split())


def test_pupil_reads_comments_and_review_state_in_the_pdf(world, reviewed, client_for):
    text = flat(fetch(client_for(world.pupil), "/export/mine/portfolio.pdf", headers=EN).data)
    assert "Review: Please revise: your teacher asked for changes" in text
    assert "2 comments" in text
    first, second = text.index("COMMENTMARK"), text.index("SECONDMARK")
    assert first < second  # oldest first
    assert "Tina Teacher (teacher)" in text[text.index("2 comments") : first]


def test_staff_read_them_family_does_not(world, reviewed, client_for):
    url = f"/export/pupil/{world.pupil.id}/portfolio.pdf"
    teacher = flat(fetch(client_for(world.teacher), url, headers=EN).data)
    assert "Review: revision requested" in teacher and "COMMENTMARK" in teacher
    family = flat(fetch(client_for(world.guardian), url, headers=EN).data)
    assert "ENTRYMARK" in family
    assert "COMMENTMARK" not in family and "Review:" not in family


def test_access_rule_for_comments(world, reviewed):
    private = add_entry(world.pupil, "reflection", {"title": "privat", "text": "x"})
    db.session.commit()
    assert access_to(world.pupil, world.pupil).can_read_comments(private)
    assert access_to(world.teacher, world.pupil).can_read_comments(reviewed)
    assert not access_to(world.teacher, world.pupil).can_read_comments(private)
    assert not access_to(world.guardian, world.pupil).can_read_comments(reviewed)
