"""SchILD-NRW roster import: parser, preview, import, re-import, CLI."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from portfolio import accounts
from portfolio.extensions import db
from portfolio.models import (
    AuditEvent,
    ClassMembership,
    Entry,
    GuardianCode,
    PupilStatus,
    Role,
    SchoolClass,
    SchoolYear,
    User,
)
from portfolio.roster.parse import parse_roster
from portfolio.roster.services import (
    CHANGED,
    NEW,
    UNCHANGED,
    ImportRefused,
    apply_import,
    build_preview,
)
from tests.support.files import pdf_text
from tests.support.queries import count_queries
from tests.support.world import PASSWORD

FIXTURES = Path(__file__).parent / "fixtures" / "schild"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def csv(text: str, encoding: str = "utf-8") -> bytes:
    return text.replace("\n", "\r\n").encode(encoding)


def pupils_of(school) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.school_id == school.id, User.date_of_birth.is_not(None))
            .order_by(User.last_name)
        )
    )


def do_import(school, data: bytes, name: str = "x.csv", only_valid: bool = False):
    preview = build_preview(school, parse_roster(data, name))
    result = apply_import(school, None, preview, only_valid=only_valid, filename=name)
    db.session.commit()
    return result


@pytest.fixture(autouse=True)
def _request(app):
    """Services run inside a request (web) or under force_locale (CLI): give them one."""
    with app.test_request_context():
        yield


@pytest.fixture
def school(app):
    s = accounts.create_school("Gesamtschule Musterstadt", "123456", "Realschule", "Siegen")
    db.session.commit()
    return s


# -- parser -----------------------------------------------------------------------------
def test_utf8_bom_with_quotes_semicolons_line_breaks_and_empty_line():
    parsed = parse_roster(fixture("schueler_utf8_bom.csv"), "schueler_utf8_bom.csv")
    assert parsed.ok and parsed.has_id_column and parsed.encoding == "utf-8"
    assert [
        (r.line, r.last_name, r.first_name, r.class_name, r.grade, r.external_id)
        for r in parsed.rows
    ] == [
        (2, "Yılmaz", "Elif", "10a", "10", "1001"),
        (3, "Al-Hassan", "Omar", "9a", "9", "1002"),  # its quoted field spans lines 3-4
        (6, "Nowak", "Zofia", "8a", "8", "1003"),  # line 5 is empty: skipped silently
        (7, "Schmidt-Ötzkan", "Lea", "9b", "9", "1004"),  # " Lea " trimmed
    ]
    assert parsed.rows[0].date_of_birth == dt.date(2010, 9, 23)


def test_windows_1252_umlauts_reordered_columns_without_id():
    parsed = parse_roster(fixture("schueler_cp1252.csv"))
    assert parsed.ok and parsed.encoding == "windows-1252" and not parsed.has_id_column
    names = [(r.first_name, r.last_name, r.class_name, r.grade) for r in parsed.rows]
    assert names == [
        ("Jürgen", "Müller", "8b", "8"),
        ("Anna", "Weiß", "8b", "8"),
        ("Jörg", "Groß", "9a", "9"),
    ]
    assert parsed.rows[2].date_of_birth == dt.date(2011, 2, 1)  # 1.2.2011 without zeros


def test_dat_interface_file():
    parsed = parse_roster(fixture("SchuelerBasisdaten.dat"), "SchuelerBasisdaten.dat")
    assert parsed.ok
    assert [(r.external_id, r.last_name, r.class_name, r.gender) for r in parsed.rows] == [
        ("2001", "Kaya", "9c", "m"),
        ("2002", "Demir", "8c", "w"),
    ]


def test_errors_have_line_numbers_and_plain_reasons():
    parsed = parse_roster(fixture("schueler_errors.csv"))
    messages = {e.line: e.message for e in parsed.errors}
    assert messages[3] == "Line 3: The date of birth “31.02.2010” does not exist."
    assert "appears twice" in messages[4] and "line 2" in messages[4]
    assert messages[5] == "Line 5: The first name is missing."
    assert "2011-13-01" in messages[6]
    assert "Rot" in messages[7] and "Jahrgang" in messages[7]
    assert [r.line for r in parsed.rows] == [2, 8]


def test_missing_column_is_a_file_error():
    parsed = parse_roster(fixture("schueler_missing_column.csv"))
    assert parsed.file_error and "Geburtsdatum" in parsed.file_error
    assert not parsed.rows


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b"\xef\xbb\xbf"])
def test_empty_file(data):
    assert parse_roster(data).file_error == "The file is empty."


def test_header_variants_and_extra_columns():
    data = csv(
        " NACHNAME ;vorname;Geb.-Datum;Klasse;Quell-ID;Foo\nBraun;Ben;01.01.2012;8a;X9;bar\n"
    )
    parsed = parse_roster(data)
    assert parsed.file_error is None or "Geburtsdatum" in parsed.file_error
    data = csv(
        " NACHNAME ;vorname; Geburtsdatum ;KLASSE;Quell-ID;Foo\nBraun;Ben;01.01.2012;8a;X9;bar\n"
    )
    parsed = parse_roster(data)
    assert parsed.ok and parsed.rows[0].external_id == "X9"


def test_german_messages(app):
    """German is the default: the messages come through the catalogue."""
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("de"):
        parsed = parse_roster(fixture("schueler_errors.csv"))
    assert parsed.errors[0].message.startswith(("Zeile 3", "Line 3"))


# -- preview and import -------------------------------------------------------------------
def test_first_import_creates_pupils_classes_and_memberships(school):
    result = do_import(school, fixture("schueler_utf8_bom.csv"))
    assert len(result.created) == 4
    elif_ = db.session.scalar(sa.select(User).where(User.external_id == "1001"))
    assert elif_.username.startswith("elif.y") and elif_.is_pupil and elif_.must_change_password
    password = next(pw for p, pw, _r in result.created if p.id == elif_.id)
    assert elif_.check_password(password)
    assert accounts.current_class(elif_).name == "10a"
    assert accounts.current_class(elif_).grade == "10"
    names = set(
        db.session.scalars(sa.select(SchoolClass.name).where(SchoolClass.school_id == school.id))
    )
    assert names == {"10a", "9a", "8a", "9b"}
    assert (
        db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.school_id == school.id))
        == "import"
    )


def test_reimport_changes_nothing(school):
    do_import(school, fixture("schueler_utf8_bom.csv"))
    before = {u.id: (u.password_hash, u.username) for u in pupils_of(school)}
    preview = build_preview(school, parse_roster(fixture("schueler_utf8_bom.csv")))
    assert [i.status for i in preview.items] == [UNCHANGED] * 4
    assert not preview.has_changes and not preview.missing
    result = do_import(school, fixture("schueler_utf8_bom.csv"))
    assert not result.created and not result.changed and result.unchanged == 4
    assert {u.id: (u.password_hash, u.username) for u in pupils_of(school)} == before


def test_match_by_id_updates_names_and_class_with_history(school):
    do_import(school, fixture("schueler_utf8_bom.csv"))
    omar = db.session.scalar(sa.select(User).where(User.external_id == "1002"))
    entry = Entry(school_id=school.id, pupil_id=omar.id, kind="goal", title="Mein Ziel")
    db.session.add(entry)
    db.session.commit()
    # Next school year: 9a -> 10a; Omar's surname is corrected.
    old_year = accounts.current_year(school)
    old_year.is_current = False
    db.session.add(
        SchoolYear(
            school_id=school.id,
            name="2099/00",
            starts_on=dt.date(2099, 8, 1),
            ends_on=dt.date(2100, 7, 31),
            is_current=True,
        )
    )
    db.session.commit()
    data = csv("ID;Nachname;Vorname;Geburtsdatum;Klasse\n1002;Al Hassan;Omar;02.03.2011;10a\n")
    preview = build_preview(school, parse_roster(data))
    (item,) = preview.items
    assert item.status == CHANGED and item.pupil.id == omar.id
    assert {k for k, _o, _n in item.changes} == {"last_name", "class_name"}
    # The other three are listed as missing, not removed.
    assert {u.external_id for u, _c in preview.missing} == {"1001", "1003", "1004"}
    apply_import(school, None, preview)
    db.session.commit()
    db.session.refresh(omar)
    assert omar.last_name == "Al Hassan"
    assert accounts.current_class(omar).name == "10a"
    history = db.session.execute(
        sa.select(SchoolYear.name, SchoolClass.name)
        .join(ClassMembership, ClassMembership.school_year_id == SchoolYear.id)
        .join(SchoolClass, SchoolClass.id == ClassMembership.class_id)
        .where(ClassMembership.pupil_id == omar.id)
        .order_by(SchoolYear.starts_on)
    ).all()
    assert [tuple(h) for h in history] == [(old_year.name, "9a"), ("2099/00", "10a")]
    assert db.session.get(Entry, entry.id) is not None  # the portfolio is untouched
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(User)
            .where(User.external_id.in_(["1001", "1003", "1004"]))
        )
        == 3
    )


def test_match_by_name_and_birthdate_case_insensitive(school):
    do_import(school, fixture("schueler_cp1252.csv"))
    data = csv("Nachname;Vorname;Geburtsdatum;Klasse\n  MÜLLER ; jürgen ;03.05.2012;9b\n")
    preview = build_preview(school, parse_roster(data))
    (item,) = preview.items
    assert item.status == CHANGED and item.pupil.first_name == "Jürgen"
    assert [k for k, _o, _n in item.changes] == ["class_name"]  # names are not overwritten


def test_id_added_later_is_stored_on_name_match(school):
    do_import(school, fixture("schueler_cp1252.csv"))
    data = csv("ID;Nachname;Vorname;Geburtsdatum;Klasse\n77;Weiß;Anna;17.11.2011;8b\n")
    preview = build_preview(school, parse_roster(data))
    assert preview.items[0].changes == [("external_id", "", "77")]


def test_bad_file_changes_nothing(school):
    preview = build_preview(school, parse_roster(fixture("schueler_errors.csv")))
    assert preview.count(NEW) == 2 and len(preview.errors) == 5
    with pytest.raises(ImportRefused):
        apply_import(school, None, preview)
    db.session.rollback()
    assert pupils_of(school) == []


def test_only_valid_rows(school):
    result = do_import(school, fixture("schueler_errors.csv"), only_valid=True)
    assert sorted(p.last_name for p, _pw, _r in result.created) == ["Becker", "Hahn"]
    assert result.skipped == 5
    assert [p.last_name for p in pupils_of(school)] == ["Becker", "Hahn"]


def test_duplicate_across_id_and_name_is_an_error(school):
    do_import(school, fixture("schueler_cp1252.csv"))
    pupil = db.session.scalar(sa.select(User).where(User.last_name == "Weiß"))
    pupil.external_id = "55"
    db.session.commit()
    data = csv("ID;Nachname;Vorname;Geburtsdatum;Klasse\n66;Weiß;Anna;17.11.2011;8b\n")
    preview = build_preview(school, parse_roster(data))
    assert not preview.items and "another ID" in preview.errors[0].message


def test_preview_uses_a_fixed_number_of_queries(school):
    do_import(school, fixture("schueler_utf8_bom.csv"))
    small = _count(lambda: build_preview(school, parse_roster(fixture("schueler_utf8_bom.csv"))))
    many = "\n".join(f"{i};Name{i};Vor{i};01.01.2011;9a" for i in range(60))
    do_import(school, csv("ID;Nachname;Vorname;Geburtsdatum;Klasse\n" + many + "\n"))
    data = fixture("schueler_utf8_bom.csv")
    large = _count(lambda: build_preview(school, parse_roster(data)))
    assert small == large <= 4


def _count(fn) -> int:
    db.session.expire_all()
    with count_queries() as statements:
        fn()
    return len(statements)


def test_left_pupil_returning_becomes_active(school):
    do_import(school, fixture("schueler_cp1252.csv"))
    pupil = db.session.scalar(sa.select(User).where(User.last_name == "Groß"))
    pupil.status, pupil.left_on = PupilStatus.LEFT.value, dt.date(2020, 7, 31)
    db.session.commit()
    do_import(school, fixture("schueler_cp1252.csv"))
    db.session.refresh(pupil)
    assert pupil.status == PupilStatus.ACTIVE and pupil.left_on is None


# -- web flow -----------------------------------------------------------------------------
def _upload(client, name="schueler_utf8_bom.csv", data=None):
    import io

    return client.post(
        "/admin/roster",
        data={"file": (io.BytesIO(data if data is not None else fixture(name)), name)},
        content_type="multipart/form-data",
    )


def test_web_flow_preview_commit_and_one_time_slips(world, client_for):
    client = client_for(world.stubo)
    response = _upload(client)
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "Yılmaz" in page and "Al-Hassan" in page and "new" in page
    # Paula & co. are not in the file: listed, not removed.
    assert "Pupil, Paula" in page
    response = client.post(preview_url, data={"letters": "y", "letter_locale": "tr"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "4 new pupils" in body
    import re

    download = re.search(r'href="(/admin/download/[^"]+)"', body).group(1)
    # Nobody else can take the slips.
    assert client_for(world.admin).get(download).status_code == 410
    pdf = client.get(download)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    assert "omar.alhassan" in text and "zofia.nowak" in text
    assert client.get(download).status_code == 410  # only once
    # The upload is gone after the commit; guardian codes were issued.
    assert client.get(preview_url).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GuardianCode)) == 4
    assert {c.locale for c in db.session.scalars(sa.select(GuardianCode))} == {"tr"}


def test_web_bad_file_is_refused_then_only_valid(world, client_for):
    client = client_for(world.admin)
    preview_url = _upload(client, "schueler_errors.csv").headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "Line 3: The date of birth “31.02.2010” does not exist." in page
    response = client.post(preview_url, data={"letter_locale": "de"})
    assert response.status_code == 200
    assert "The file has errors" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(User).where(User.last_name == "Hahn")) is None
    response = client.post(preview_url, data={"only_valid": "y", "letter_locale": "de"})
    assert response.status_code == 200
    assert db.session.scalar(sa.select(User).where(User.last_name == "Hahn")) is not None


def test_web_upload_is_bound_to_the_uploader(world, client_for):
    preview_url = _upload(client_for(world.stubo)).headers["Location"]
    other = client_for(world.admin)
    assert other.get(preview_url).status_code == 302  # "upload again", no data shown
    assert other.post(preview_url, data={}).status_code == 302
    assert db.session.scalar(sa.select(User).where(User.external_id == "1001")) is None


def test_web_missing_column_and_empty_file(world, client_for):
    client = client_for(world.stubo)
    page = client.get(_upload(client, "schueler_missing_column.csv").headers["Location"])
    assert "Geburtsdatum" in page.get_data(as_text=True)
    response = _upload(client, "leer.csv", data=b"")
    assert response.status_code == 200
    assert "empty" in response.get_data(as_text=True)


# -- CLI -------------------------------------------------------------------------------------
def test_cli_dry_run_changes_nothing(runner, school):
    result = runner.invoke(
        args=[
            "import-roster",
            str(FIXTURES / "schueler_utf8_bom.csv"),
            "--school",
            "123456",
            "--dry-run",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "4 new" in result.output and "Dry run" in result.output
    assert pupils_of(school) == []


def test_cli_dry_run_with_errors_fails_and_speaks_one_language(app, runner, school):
    """Issue 16: a dry run answers whether the import would go through (exit status 1 when
    rows have errors, as the import itself) and prints English only, whatever the
    school's default language, never German service messages between English lines."""
    args = ["import-roster", str(FIXTURES / "schueler_errors.csv"), "--school", "123456"]
    app.config["BABEL_DEFAULT_LOCALE"] = "de"
    try:
        dry = runner.invoke(args=[*args, "--dry-run"])
        skipping = runner.invoke(args=[*args, "--dry-run", "--only-valid"])
    finally:
        app.config["BABEL_DEFAULT_LOCALE"] = "en"
    assert dry.exit_code == 1, dry.output
    assert "Dry run: nothing was changed." in dry.output
    assert "the import would be refused" in dry.output and "--only-valid" in dry.output
    assert "Line 3: The date of birth “31.02.2010” does not exist." in dry.output
    assert "Geburtsdatum" not in dry.output and "gibt es nicht" not in dry.output
    # Skipping the faulty rows would work: the dry run says so with exit status 0.
    assert skipping.exit_code == 0, skipping.output
    assert "2 new" in skipping.output and "Dry run: nothing was changed." in skipping.output
    assert pupils_of(school) == []


def test_cli_import_prints_passwords_once_and_reimport_is_unchanged(runner, school):
    path = str(FIXTURES / "SchuelerBasisdaten.dat")
    result = runner.invoke(args=["import-roster", path, "--school", "123456"])
    assert result.exit_code == 0, result.output
    assert "emir.kaya" in result.output and "Initial passwords" in result.output
    again = runner.invoke(args=["import-roster", path, "--school", "123456"])
    assert "0 new, 0 changed, 2 unchanged" in again.output
    assert "Initial passwords" not in again.output


def test_cli_errors(runner, school):
    unknown = runner.invoke(
        args=["import-roster", str(FIXTURES / "schueler_cp1252.csv"), "--school", "999999"]
    )
    assert unknown.exit_code != 0 and "No school with Schulnummer 999999" in unknown.output
    bad = runner.invoke(
        args=["import-roster", str(FIXTURES / "schueler_errors.csv"), "--school", "123456"]
    )
    assert bad.exit_code != 0 and "Nothing was changed" in bad.output
    assert "Line 3: The date of birth “31.02.2010” does not exist." in bad.output
    assert pupils_of(school) == []
    ok = runner.invoke(
        args=[
            "import-roster",
            str(FIXTURES / "schueler_errors.csv"),
            "--school",
            "123456",
            "--only-valid",
        ]
    )
    assert ok.exit_code == 0 and len(pupils_of(school)) == 2


def test_cli_writes_slips_pdf(runner, school, tmp_path):
    out = tmp_path / "slips.pdf"
    result = runner.invoke(
        args=[
            "import-roster",
            str(FIXTURES / "schueler_cp1252.csv"),
            "--school",
            "123456",
            "--slips",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    text = pdf_text(out.read_bytes())
    assert "juergen.mueller" in text and "anna.weiss" in text
    assert "Initial passwords" not in result.output


def test_existing_pupils_not_in_file_keep_login(world, client_for):
    data = csv("Nachname;Vorname;Geburtsdatum;Klasse\nNeu;Nina;01.01.2012;8a\n")
    do_import(world.school, data)
    assert client_for(world.pupil).get("/").status_code in (200, 302)
    assert world.pupil.check_password(PASSWORD)
    assert db.session.scalar(sa.select(User).where(User.first_name == "Nina")).has_role(Role.PUPIL)
