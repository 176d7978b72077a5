"""The anonymous report for the coordination office: counting and disclosure control."""

import random

import pytest
import sqlalchemy as sa

from portfolio.extensions import db
from portfolio.models import Agreement, Role, User, utcnow
from portfolio.review import report
from portfolio.review.report import PRIMARY, SECONDARY, suppress
from tests.support.world import make_user


def _lines(cells):
    rows = [list(row) for row in cells]
    cols = [list(col) for col in zip(*cells, strict=False)]
    return rows + cols


def _check_protected(matrix, cells):
    """The rules of the report: small counts hidden, no line with a single hidden cell."""
    full_rows = [row + [sum(row)] for row in matrix]
    full_rows.append([sum(col) for col in zip(*full_rows, strict=False)])
    for i, row in enumerate(full_rows):
        for j, value in enumerate(row):
            assert cells[i][j].value == value
            if 0 < value < 5:
                assert cells[i][j].suppressed == PRIMARY
                assert cells[i][j].display == "< 5"
            elif not cells[i][j].suppressed:
                assert cells[i][j].display == str(value)
    for line in _lines(cells):
        hidden = [c for c in line if c.suppressed]
        assert len(hidden) != 1
        total, inner = line[-1], line[:-1]
        if hidden and not total.suppressed and all(c.suppressed == PRIMARY for c in hidden):
            rest = total.value - sum(c.value for c in inner if not c.suppressed)
            assert rest not in (len(hidden), 4 * len(hidden)), "hidden small counts recoverable"


def test_primary_suppression_shows_less_than_5():
    cells = suppress([[0, 5, 12, 30]])
    assert [c.display for c in cells[0]] == ["0", "5", "12", "30", "47"]
    cells = suppress([[4, 5, 12, 30], [6, 6, 6, 6]])
    assert cells[0][0].display == "< 5"


def test_secondary_suppression_in_rows_and_columns():
    matrix = [[3, 10, 12], [7, 8, 9]]
    cells = suppress(matrix)
    _check_protected(matrix, cells)
    # The 3 cannot be worked out: its row and its column each hide a second number.
    assert cells[0][1].suppressed == SECONDARY  # smallest other number of the row
    assert cells[1][0].suppressed == SECONDARY  # smallest other number of the column
    assert cells[0][1].display == "×"
    assert not cells[0][3].suppressed and cells[0][3].display == "25"


def test_single_small_row_total_is_protected():
    matrix = [[3, 0, 0], [20, 10, 7]]
    cells = suppress(matrix)
    _check_protected(matrix, cells)
    assert cells[0][3].suppressed  # the row total (3) is itself small


def test_two_ones_with_a_known_total_are_not_recoverable():
    matrix = [[1, 1, 10]]
    cells = suppress(matrix)
    _check_protected(matrix, cells)
    assert cells[0][2].suppressed == SECONDARY


def test_every_table_is_protected():
    # Many random tables, mostly small counts (a fixed seed keeps failures reproducible).
    rng = random.Random(4)
    for _ in range(500):
        n_rows, n_cols = rng.randint(1, 5), rng.randint(2, 7)
        matrix = [
            [rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 9, 14]) for _c in range(n_cols)]
            for _r in range(n_rows)
        ]
        _check_protected(matrix, suppress(matrix))


# -- counting and the pages -------------------------------------------------------------------
def _agreement(world, pupil, decision, number=1, locked=True, grade="9"):
    db.session.add(
        Agreement(
            school_id=pupil.school_id,
            pupil_id=pupil.id,
            number=number,
            decision=decision,
            grade=grade,
            locked_at=utcnow() if locked else None,
        )
    )


@pytest.fixture
def decisions(world):
    pupils = [
        make_user(
            world.school,
            [Role.PUPIL],
            f"Vorname{i}",
            f"Nachname{i}",
            cls=world.class_9a,
            username=f"schueler{i}",
        )
        for i in range(8)
    ]
    for pupil in pupils[:6]:
        _agreement(world, pupil, "dual")
    # Pupil 6 changed their plan: only the latest signed version counts.
    _agreement(world, pupils[6], "dual", number=1)
    _agreement(world, pupils[6], "oberstufe", number=2)
    # A newer draft does not count, the signed version before it does.
    _agreement(world, pupils[7], "berufskolleg", number=1)
    _agreement(world, pupils[7], "studium", number=2, locked=False)
    _agreement(world, world.other_pupil, "dual")  # another school
    db.session.commit()
    return pupils


def test_counts_use_the_latest_signed_agreement(world, decisions):
    counts = report.decision_counts([world.school.id])[world.school.id]
    assert counts == {("9", "dual"): 6, ("9", "oberstufe"): 1, ("9", "berufskolleg"): 1}


def test_report_page_has_no_names_and_hides_small_counts(world, decisions, client_for):
    for user in db.session.scalars(sa.select(User)):
        user.locale = "en"
    db.session.commit()
    html = client_for(world.stubo).get("/review/coordination-report").get_data(as_text=True)
    assert (
        "Nachname" not in html and "Vorname" not in html and "Paula" not in html.split("<main")[1]
    )
    assert "&lt; 5" in html and "How small numbers are protected" in html
    assert ">6<" not in html  # the 6 would reveal the others from the total of 8: withheld


def test_report_csv_download(world, decisions, client_for):
    response = client_for(world.admin).get("/review/coordination-report?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "\r\n" in text and ";" in text and "Nachname" not in text
    assert "100001" in text and "100002" not in text


def test_cli_prints_csv(world, decisions, runner, tmp_path):
    result = runner.invoke(args=["coordination-report", "--school", "100001", "--lang", "en"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split(";")[:4] == ["Schulnummer", "School", "Municipality", "Grade"]
    assert all("Nachname" not in line for line in lines)
    assert any(line.startswith("100001;") for line in lines[1:])
    out = tmp_path / "report.csv"
    result = runner.invoke(args=["coordination-report", "--out", str(out)])
    assert result.exit_code == 0, result.output
    content = out.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf") and b"100002" in content
    assert runner.invoke(args=["coordination-report", "--school", "999999"]).exit_code != 0
