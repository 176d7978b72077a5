"""Read a SchILD-NRW pupil export: the `;` text export and `SchuelerBasisdaten.dat`.

`parse_roster(data, filename)` turns the raw bytes into `RosterRow`s and `RowError`s with
line numbers and reasons a school secretary understands. It touches no database; the
comparison with the school's pupils is in `roster_services`.

Format facts (see ../shared/domain.md): `;`-separated and `"`-quoted (semicolons, quotes
and line breaks may sit inside quotes), UTF-8 with or without BOM or Windows-1252,
dates as TT.MM.JJJJ, columns in any order under German header names, extra columns
ignored. Interface files (`.dat`) are `|`-separated with a header row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

from portfolio import clock
from portfolio.i18n import _
from portfolio.models import GRADES

#: Our field -> accepted header names (compared after `_norm_header`).
HEADERS: dict[str, tuple[str, ...]] = {
    "external_id": (
        "id",
        "schülerid",
        "schuelerid",
        "interneid",
        "interneidnummer",
        "quellid",
        "schildid",
        "idnummer",
        "schülernummer",
        "schuelernummer",
    ),
    "last_name": ("nachname", "familienname", "name"),
    "first_name": ("vorname", "rufname", "vornamen"),
    "date_of_birth": ("geburtsdatum", "gebdatum", "geboren", "geburtstag"),
    "gender": ("geschlecht",),
    "class_name": ("klasse", "klassenbezeichnung", "gruppe", "gruppeklasse", "klassegruppe"),
    "grade": ("jahrgang", "jahrgangsstufe", "stufe"),
    "guardian_name": (
        "erziehungsberechtigte",
        "erziehungsberechtigter",
        "erziehungsberechtigter1",
        "erziehungsberechtigte1",
        "sorgeberechtigte",
        "eltern",
    ),
    "guardian_email": (
        "email",
        "emailerziehungsberechtigte",
        "emailerziehungsberechtigter",
        "emaileltern",
        "emailadresse",
    ),
}
REQUIRED = ("last_name", "first_name", "date_of_birth", "class_name")

_GENDERS = {
    "m": "m",
    "männlich": "m",
    "maennlich": "m",
    "3": "m",
    "w": "w",
    "weiblich": "w",
    "4": "w",
    "f": "w",
    "d": "d",
    "divers": "d",
    "5": "d",
    "x": "x",
    "ohne angabe": "x",
    "6": "x",
}
_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
MAX_LEN = {"external_id": 40, "last_name": 100, "first_name": 100, "class_name": 20}


def _field_label(name: str) -> str:
    return {
        "external_id": _("ID"),
        "last_name": _("surname"),
        "first_name": _("first name"),
        "date_of_birth": _("date of birth"),
        "class_name": _("class"),
        "grade": _("grade"),
    }.get(name, name)


def _column_label(name: str) -> str:
    """The German header name we expect, for messages ("Nachname" stays German)."""
    return {
        "last_name": "Nachname",
        "first_name": "Vorname",
        "date_of_birth": "Geburtsdatum",
        "class_name": "Klasse",
    }[name]


@dataclass
class RosterRow:
    """One pupil as read from the file (values trimmed; date parsed)."""

    line: int
    last_name: str
    first_name: str
    date_of_birth: dt.date
    class_name: str
    grade: str
    external_id: str | None = None
    gender: str | None = None
    guardian_name: str | None = None
    guardian_email: str | None = None

    @property
    def name_key(self) -> tuple[str, str, dt.date]:
        return name_key(self.last_name, self.first_name, self.date_of_birth)


@dataclass
class RowError:
    line: int
    message: str
    #: What the row said, to show beside the message (may be empty).
    summary: str = ""


@dataclass
class ParsedRoster:
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    #: A problem with the whole file (no header, unknown columns); nothing was read.
    file_error: str | None = None
    encoding: str = ""
    has_id_column: bool = False

    @property
    def ok(self) -> bool:
        return self.file_error is None and not self.errors


def name_key(last: str, first: str, born: dt.date | None) -> tuple[str, str, dt.date | None]:
    """The matching key without an ID: names trimmed, case-insensitive, inner spaces single."""

    def norm(s: str) -> str:
        return " ".join((s or "").split()).casefold()

    return norm(last), norm(first), born


def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding: UTF-8 (with or without BOM), else Windows-1252."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "windows-1252"


def _norm_header(text: str) -> str:
    text = text.replace("\ufeff", "").strip().casefold()
    return re.sub(r"[\s\-_./()]+", "", text)


def _header_map(header: list[str]) -> dict[str, int]:
    lookup = {alias: key for key, aliases in HEADERS.items() for alias in aliases}
    found: dict[str, int] = {}
    for index, title in enumerate(header):
        key = lookup.get(_norm_header(title))
        if key and key not in found:
            found[key] = index
    return found


def _delimiter(text: str, filename: str) -> str:
    first = text.split("\n", 1)[0]
    if filename.lower().endswith(".dat") or ("|" in first and ";" not in first):
        return "|"
    if ";" not in first and "\t" in first:
        return "\t"
    return ";"


def parse_date(value: str) -> tuple[dt.date | None, str | None]:
    """(date, None) or (None, reason) for a TT.MM.JJJJ (or ISO) date."""
    match = _DATE.fullmatch(value)
    if match:
        day, month, year = (int(g) for g in match.groups())
    else:
        match = _ISO_DATE.fullmatch(value)
        if not match:
            return None, _(
                "The date of birth “%(value)s” is not written as DD.MM.YYYY.", value=value
            )
        year, month, day = (int(g) for g in match.groups())
    try:
        born = dt.date(year, month, day)
    except ValueError:
        return None, _("The date of birth “%(value)s” does not exist.", value=value)
    if born >= clock.today() or born.year < 1900:
        return None, _("The date of birth “%(value)s” cannot be right.", value=value)
    return born, None


def grade_of(class_name: str, jahrgang: str | None) -> str | None:
    """Grade from the Jahrgang column ("08", "EF") or else from the class name ("9a")."""
    if jahrgang:
        value = jahrgang.strip().upper().lstrip("0")
        if value in GRADES:
            return value
    upper = class_name.strip().upper()
    for sek2 in ("EF", "Q1", "Q2"):
        if upper.startswith(sek2):
            return sek2
    match = re.match(r"0?(\d{1,2})(?!\d)", upper)
    if match and match.group(1) in GRADES:
        return match.group(1)
    return None


def _records(text: str, delimiter: str):
    """(first line number, fields) per record; quoted fields may span lines."""
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quotechar='"',
        skipinitialspace=False,
        strict=False,
    )
    start = 1
    for fields in reader:
        yield start, fields
        start = reader.line_num + 1


def parse_roster(data: bytes, filename: str = "") -> ParsedRoster:
    """Read the bytes of an export file into rows and row errors."""
    result = ParsedRoster()
    text, result.encoding = decode(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    records = _records(text, _delimiter(text, filename))
    try:
        _line, header = next(((n, f) for n, f in records if any(c.strip() for c in f)), (0, []))
    except csv.Error:
        header = []
    if not header:
        result.file_error = _("The file is empty.")
        return result
    columns = _header_map(header)
    missing = [_column_label(k) for k in REQUIRED if k not in columns]
    if missing:
        found = ", ".join(f"„{h.strip()}“" for h in header if h.strip()) or "–"
        result.file_error = _(
            "The file has no column %(missing)s. Columns found: %(found)s. Please export the "
            "pupil list from SchILD-NRW with the columns Nachname, Vorname, Geburtsdatum and "
            "Klasse (Jahrgang and an ID are welcome).",
            missing=", ".join(f"„{m}“" for m in missing),
            found=found[:500],
        )
        return result
    result.has_id_column = "external_id" in columns
    seen_ids: dict[str, int] = {}
    seen_names: dict[tuple, int] = {}
    try:
        for line, fields in records:
            if not any(f.strip() for f in fields):
                continue  # empty lines are skipped silently
            row = _read_row(line, fields, columns, result)
            if row is None:
                continue
            first = (seen_ids.get(row.external_id) if row.external_id else None) or seen_names.get(
                row.name_key
            )
            if first:
                result.errors.append(
                    RowError(
                        line,
                        _(
                            "Line %(line)d: %(name)s appears twice in the file "
                            "(also in line %(first)d).",
                            line=line,
                            name=f"{row.last_name}, {row.first_name}",
                            first=first,
                        ),
                        _summary(row),
                    )
                )
                continue
            if row.external_id:
                seen_ids[row.external_id] = line
            seen_names[row.name_key] = line
            result.rows.append(row)
    except csv.Error:
        result.file_error = _(
            "The file could not be read as a SchILD-NRW export. "
            "Please export it again as a text file (CSV)."
        )
    return result


def _summary(row: RosterRow) -> str:
    return f"{row.last_name}, {row.first_name} ({row.class_name})"


def _read_row(
    line: int, fields: list[str], columns: dict[str, int], result: ParsedRoster
) -> RosterRow | None:
    def get(key: str) -> str:
        index = columns.get(key)
        if index is None or index >= len(fields):
            return ""
        return " ".join(fields[index].split())  # trims and folds line breaks and tabs

    values = {key: get(key) for key in HEADERS}
    summary = ", ".join(
        v for v in (values["last_name"], values["first_name"], values["class_name"]) if v
    )

    def fail(message: str) -> None:
        result.errors.append(RowError(line, message, summary))

    for key in REQUIRED:
        if not values[key]:
            fail(_("Line %(line)d: The %(field)s is missing.", line=line, field=_field_label(key)))
            return None
    for key, limit in MAX_LEN.items():
        if len(values[key]) > limit:
            fail(
                _(
                    "Line %(line)d: The %(field)s is longer than %(n)d characters.",
                    line=line,
                    field=_field_label(key),
                    n=limit,
                )
            )
            return None
    born, problem = parse_date(values["date_of_birth"])
    if problem:
        fail(_("Line %(line)d: %(problem)s", line=line, problem=problem))
        return None
    grade = grade_of(values["class_name"], values["grade"])
    if grade is None:
        fail(
            _(
                "Line %(line)d: The grade of class “%(name)s” is unclear. Please add the column "
                "„Jahrgang“ or use class names like 8a, 10b or EF.",
                line=line,
                name=values["class_name"],
            )
        )
        return None
    return RosterRow(
        line=line,
        last_name=values["last_name"],
        first_name=values["first_name"],
        date_of_birth=born,
        class_name=values["class_name"],
        grade=grade,
        external_id=values["external_id"] or None,
        gender=_GENDERS.get(values["gender"].casefold()),
        guardian_name=values["guardian_name"][:200] or None,
        guardian_email=values["guardian_email"][:255] or None,
    )
