"""The strengths comparison chart (portfolio/charts.py, templates/macros/chart.html) on the
pupil's page and in the portfolio PDF: labels are text (shaped, Arabic joined and right to
left), every assessment has its own shape and is named in the key, and there is no total.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import unicodedata

import pytest
from flask_babel import force_locale
from pypdf import PdfReader

from portfolio import charts
from portfolio.access import access_to
from portfolio.export.render import portfolio_html, portfolio_pdf
from portfolio.extensions import db
from portfolio.models import Entry, utcnow
from tests.support.entry_forms import qualities
from tests.support.pdf_glyphs import joining_errors, missing_glyphs, read

SCALE_AR = ["ليس بعد", "قليلاً", "إلى حدٍّ كبير", "تماماً"]


def _entry(world, kind, grade, ratings, days_ago=0, **data):
    entry = Entry(
        school_id=world.school.id,
        pupil_id=world.pupil.id,
        kind=kind,
        grade=grade,
        data={"ratings": ratings, **data},
        created_at=utcnow() - dt.timedelta(days=days_ago),
    )
    db.session.add(entry)
    return entry


def _rated_portfolio(world):
    """Two self-assessments and two others' ratings (a German and an Arabic name)."""
    q = [x.key for x in qualities(world.school.id)]
    _entry(world, "strengths", "9", {q[0]: 2, q[1]: 4}, days_ago=10)
    _entry(world, "strengths", "8", {q[0]: 1, q[1]: 3, q[2]: 2}, days_ago=400)
    _entry(
        world,
        "external_assessment",
        "9",
        {q[0]: 4, q[1]: 4},
        days_ago=5,
        rater_name="<b>Oma Käthe</b>",
        relation="guardian",
    )
    _entry(
        world,
        "external_assessment",
        "9",
        {q[0]: 2},
        days_ago=3,
        rater_name="سارة",
        relation="friend",
    )
    db.session.commit()
    return q


# -- the model ----------------------------------------------------------------------------
def test_series_are_oldest_first_with_only_valid_ratings(world, app):
    q = [x.key for x in qualities(world.school.id)]
    entries = [
        _entry(world, "strengths", "9", {q[0]: "3", q[1]: 7, q[2]: "x"}, days_ago=1),
        _entry(world, "strengths", "8", {q[0]: 1}, days_ago=300),
        _entry(world, "strengths", "9", {}, days_ago=0),  # nothing rated: no series
        _entry(world, "reflection", "9", {q[0]: 4}),  # not an assessment
        _entry(world, "external_assessment", None, {q[1]: 2}, rater_name="Tom", relation="friend"),
    ]
    db.session.commit()
    with app.test_request_context():
        series = charts.series_from_entries(entries)
        assert [(s.grade, s.is_self, s.values) for s in series] == [
            (None, False, {q[1]: 2}),  # no grade sorts first
            ("8", True, {q[0]: 1}),
            ("9", True, {q[0]: 3}),  # "7" and "x" are not on the scale
        ]
        assert series[0].label == "Tom (friend), no grade"
        assert series[2].label == "Me, grade 9"


def test_every_series_has_its_own_shape_and_at_most_eight_are_drawn(world, app):
    quals = qualities(world.school.id)
    k0, k1 = quals[0].key, quals[1].key
    entries = [
        _entry(world, "strengths", g, {k0: 1 + i % 4}, days_ago=900 - i * 10)
        for i, g in enumerate(["8", "8", "9", "9", "10"])
    ]
    entries += [
        _entry(
            world,
            "external_assessment",
            "10",
            {k0: 4},
            days_ago=50 - i,
            rater_name=f"R{i}",
            relation="teacher",
        )
        for i in range(6)
    ]
    db.session.commit()
    with app.test_request_context():
        series = charts.series_from_entries(entries)
        chart = charts.strengths_chart(quals, series)
    # The newest four self-assessments and four others: the oldest self-assessment and
    # the two oldest outside views are left out, and the key says so.
    assert len(chart.legend) == charts.MAX_SERIES and chart.omitted == 3 and chart.total == 11
    kept = [m.series for m in chart.legend]
    assert kept == [s for s in series if s in kept]  # still oldest first
    assert series[0] not in kept and series[-1] in kept
    assert len({m.shape for m in chart.legend}) == charts.MAX_SERIES  # shape, not only colour
    assert {m.colour for m in chart.legend if m.series.is_self} == {charts.SELF_COLOUR}
    assert {m.colour for m in chart.legend if not m.series.is_self} == {charts.OTHERS_COLOUR}
    # Only rated qualities get a row; each mark sits in the column of its rating.
    assert [r.key for r in chart.rows] == [k0]
    cells = chart.rows[0].cells
    assert sum(len(c) for c in cells) == 8
    assert all(m.series.values[k0] == step for step, c in enumerate(cells, 1) for m in c)
    assert k1 not in {r.key for r in chart.rows}


# -- the page -----------------------------------------------------------------------------
def test_strengths_page_draws_labels_as_text_with_a_key(world, client_for):
    _rated_portfolio(world)
    html = client_for(world.pupil).get("/portfolio/strengths").get_data(as_text=True)
    chart = re.search(r'<figure class="bwp-chart".*?</figure>', html, re.DOTALL).group(0)
    assert "<text" not in chart and " style=" not in chart
    assert 'aria-describedby="strengths-chart-desc"' in chart
    assert 'id="strengths-chart-title">How I see myself and how others see me<' in chart
    # One row group per rated quality, its name a header cell; the scale as column heads.
    assert re.findall(r'<th scope="col" class="bwp-chart__step">([^<]+)</th>', chart) == [
        "not yet",
        "a little",
        "quite well",
        "very well",
    ]
    assert chart.count('scope="rowgroup"') == 3 and ">Reliability</th>" in chart
    # The key: four assessments, four shapes; the raters' names escaped and isolated in
    # their own direction inside the translated label.
    key = re.findall(r'<li class="bwp-chart__key">(.*?)</li>', chart, re.DOTALL)
    assert len(key) == 4
    shapes = {re.search(r"<svg[^>]*>(.*?)</svg>", k).group(1) for k in key}
    assert len(shapes) == 4
    assert "Me, grade 8" in key[0] and "Me, grade 9" in key[1]
    assert (
        '<bdi dir="ltr" lang="de">&lt;b&gt;Oma Käthe&lt;/b&gt;</bdi> (parent or guardian)' in key[2]
    )
    assert '<bdi dir="rtl">سارة</bdi> (friend), grade 9' in key[3]
    assert "<b>Oma" not in html
    # Eight ratings: eight marks, each named for screen readers.
    cells = re.findall(r'<td class="bwp-chart__cell">(.*?)</td>', chart, re.DOTALL)
    assert len(cells) == 3 * 4
    assert sum(c.count('<span class="bwp-chart__mark"><svg') for c in cells) == 8
    assert sum(c.count('class="kern-sr-only"') for c in cells) == 8


def test_arabic_page_runs_right_to_left_with_each_label_in_its_direction(world, client_for):
    quals = qualities(world.school.id)
    quals[1].name = "Pünktlich sein"  # the school's own wording, in German
    world.pupil.locale = "ar"
    _rated_portfolio(world)
    html = client_for(world.pupil).get("/portfolio/strengths").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl"' in html
    chart = re.search(r'<figure class="bwp-chart".*?</figure>', html, re.DOTALL).group(0)
    # The lowest step first in the document: the start of the line, right in Arabic.
    assert re.findall(r'class="bwp-chart__step">([^<]+)<', chart) == SCALE_AR
    labels = re.findall(r'class="bwp-chart__label"([^>]*)>([^<]+)</th>', chart)
    assert labels[0] == ("", "الاعتمادية")  # translated: the page's direction
    assert labels[1] == (' dir="ltr" lang="de"', "Pünktlich sein")  # its own


# -- the PDF ------------------------------------------------------------------------------
@pytest.fixture
def _request(app):
    with app.test_request_context():
        yield


def _chart_page(pdf: bytes, heading: str) -> range:
    """The page on which the chart starts: the last with its heading (the first is the
    table of contents)."""
    reader = PdfReader(io.BytesIO(pdf))
    pages = [i for i, p in enumerate(reader.pages) if heading in p.extract_text()]
    assert len(pages) == 2, f"{heading!r} on pages {pages}"
    return range(pages[-1], pages[-1] + 1)


def test_arabic_pdf_chart_labels_are_joined_and_read_in_logical_order(world, _request):
    _rated_portfolio(world)
    acc = access_to(world.pupil, world.pupil)
    with force_locale("ar"):
        html, content = portfolio_html(acc)
        pdf = portfolio_pdf(acc)
    assert content.rtl and "data:image/svg" not in html and "<text" not in html
    assert missing_glyphs(pdf) == {}
    page = _chart_page(pdf, "نقاط قوتي: التقييم الذاتي وكيف يراني الآخرون")
    text = PdfReader(io.BytesIO(pdf)).pages[page.start].extract_text()
    # Every Arabic word of the document is shaped: each letter in the form the joining
    # rules want (unshaped SVG text drew them all isolated, in reverse order).
    _fonts, runs = read(pdf)
    arabic = [run for run in runs if run.font.forms]
    assert arabic and all(joining_errors(run, run.logical_text) == [] for run in arabic), [
        (run.logical_text, joining_errors(run, run.logical_text))
        for run in arabic
        if joining_errors(run, run.logical_text)
    ][:5]
    # The chart's quality names and scale steps are text runs of their own that read in
    # logical order.
    _fonts, chart_runs = read(pdf, page)
    drawn = {run.logical_text for run in chart_runs}
    for label in ["الاعتمادية", "الالتزام بالمواعيد", "العمل بعناية ودقّة", *SCALE_AR]:
        assert label in drawn, f"{label!r} not drawn as one run: {sorted(drawn)}"
        assert label.replace("ّ", "") in text.replace("ّ", "")
    assert "ةيدامتعالا" not in text  # the reversed text of the SVG chart
    # Right to left: "not yet" at the right edge, "very well" at the left.
    xs = _word_x(pdf, page.start + 1, ["ليس", "تماماً"])
    assert xs["ليس"] > xs["تماماً"]
    # The German name in the key keeps its own direction and letters.
    assert "Oma Käthe" in text


def _word_x(pdf: bytes, page_number: int, words: list[str]) -> dict[str, float]:
    """Where each word starts on the page (pdftotext -bbox; vowel marks left out, as
    pdftotext may box them on their own)."""
    out = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(page_number), "-l", str(page_number), "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout.decode()

    def letters(text: str) -> str:
        return "".join(c for c in text if unicodedata.category(c) not in ("Mn", "Cf"))

    wanted = {letters(w): w for w in words}
    found = {}
    for m in re.finditer(r'<word xMin="([\d.]+)"[^>]*>([^<]+)</word>', out):
        word = letters(m.group(2))
        word = word if word in wanted else word[::-1]  # -bbox gives Arabic in visual order
        if word in wanted and wanted[word] not in found:
            found[wanted[word]] = float(m.group(1))
    assert set(found) == set(words), found
    return found


def test_pdf_chart_has_the_key_and_shapes_of_the_page(world, _request):
    _rated_portfolio(world)
    acc = access_to(world.pupil, world.pupil)
    html, content = portfolio_html(acc)
    chart = re.search(r'<figure class="bwp-chart".*?</figure>', html, re.DOTALL).group(0)
    # Same macro as the page, without the screen-reader words a PDF would print.
    assert chart.count('<li class="bwp-chart__key">') == 4 and "kern-sr-only" not in chart
    assert 'href="css/chart.css"' in html
    text = PdfReader(io.BytesIO(portfolio_pdf(acc))).pages
    page = next(p.extract_text() for p in text if "Me, grade 8" in p.extract_text())
    for words in ["Me, grade 9", "Oma Käthe", "not yet", "very well", "Reliability"]:
        assert words in page
    assert "Circles" not in page and "average" not in page.lower()
