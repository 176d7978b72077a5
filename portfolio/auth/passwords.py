"""Password rules and readable random initial passwords.

The rules follow NIST SP 800-63B (5.1.1.2): a minimum length, no composition rules, and a
check of every new password against passwords that attackers try first: a list of 100,000
common and breached passwords (data/common-passwords.txt.gz, source and licence in
data/README.md) and words from the context (the user's names and username, the app's name,
the school's name). Before a lookup the password is reduced the way attackers vary their
lists: digits and symbols at the ends dropped ("Passwort1234"), common letter substitutions
undone ("P@ssw0rd"), separators and repetitions removed ("pass-word", "passwordpassword").
"""

from __future__ import annotations

import functools
import gzip
import re
import secrets
import unicodedata
from pathlib import Path

from portfolio.i18n import _
from portfolio.models import User

STAFF_MIN_LENGTH = 12
PUPIL_MIN_LENGTH = 8
COMMON_PASSWORDS = Path(__file__).with_name("data") / "common-passwords.txt.gz"

# Words of this app and programme that anyone would try against its accounts.
APP_WORDS = frozenset(
    {"berufswahlpass", "berufswahl", "berufswahlpass-digital", "portfolio", "kaoa", "schule"}
)

# Syllables without letters that are easily confused (no l/I, 0/O).
_CONSONANTS = "bdfghkmnprstvwz"
_VOWELS = "aeiu"

_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "€": "e"}
)
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_SEPARATORS = re.compile(r"[\s._\-+*/\\|,;:!?#~&]+")
# Runs of keys or characters that people type as "random": digits and the alphabet run on
# in a circle (…7890123), keyboard rows (German and English layouts) do not.
_RUNS = (
    "01234567890123456789",
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "qwertzuiopü",
    "qwertyuiop",
    "asdfghjklöä",
    "asdfghjkl",
    "yxcvbnm",
    "zxcvbnm",
    "1qay2wsx3edc4rfv5tgb6zhn7ujm8ik9ol0p",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
)


def readable_password(words: int = 2) -> str:
    """E.g. 'Tamiko-Rudesa-4827': easy to read aloud and to type on a phone."""
    parts = []
    for _i in range(words):
        syllables = "".join(
            secrets.choice(_CONSONANTS) + secrets.choice(_VOWELS) for _j in range(3)
        )
        parts.append(syllables.capitalize())
    parts.append(f"{secrets.randbelow(9000) + 1000}")
    return "-".join(parts)


def min_length_for(user: User) -> int:
    return STAFF_MIN_LENGTH if user.is_staff else PUPIL_MIN_LENGTH


@functools.cache
def common_passwords() -> frozenset[str]:
    """The bundled list, lower case (read once per process, about 100,000 entries)."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip() for line in fh if line.strip())


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _repeated_unit(text: str) -> str:
    """'abcabc' -> 'abc'; a text that is no repetition comes back unchanged."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return text


def variants(password: str) -> set[str]:
    """The forms in which a password is looked up in the list of common passwords."""
    folded = _fold(password).strip()
    found = {folded}
    for text in (folded, _SEPARATORS.sub("", folded)):
        core = _EDGES.sub("", text)
        for form in (core, core.translate(_LEET), text.translate(_LEET)):
            form = _EDGES.sub("", form) or form
            found |= {form, _repeated_unit(form)}
    return {v for v in found if v}


def _context_words(user: User) -> set[str]:
    words = set(APP_WORDS)
    names = [user.username or "", user.first_name or "", user.last_name or ""]
    school = getattr(user, "school", None)
    if school is not None:
        names.append(school.name or "")
    for name in names:
        folded = _fold(name)
        words.add(_SEPARATORS.sub("", folded))
        words.update(re.split(r"[\W\d_]+", folded))
    return {w for w in words if len(w) >= 3}


def _is_run(password: str) -> bool:
    letters = re.sub(r"[\W_]+", "", _fold(password))
    unit = _repeated_unit(letters)
    return len(unit) >= 3 and any(unit in run or unit in run[::-1] for run in _RUNS)


def _without(text: str, words: set[str]) -> str:
    for word in sorted(words, key=len, reverse=True):
        text = text.replace(word, " ")
    return _EDGES.sub("", text)


def password_problem(user: User, password: str) -> str | None:
    """A message why the password is not acceptable, or None."""
    minimum = min_length_for(user)
    if len(password) < minimum:
        return _("The password must have at least %(n)d characters.", n=minimum)
    if len(set(password)) < 4 or _is_run(password):
        return _(
            "The password is too easy to guess: rows of keys, runs like 1234 and repeated "
            "characters are tried first."
        )
    common = common_passwords()
    forms = variants(password)
    context = _context_words(user)
    # What is left when the names are taken out: "Paula2009" leaves nothing, "Paula-Password"
    # a common password; "Paula mag Pferde" enough.
    leftovers = {_without(f, context) for f in forms if any(w in f for w in context)}
    if any(len(rest) < 4 for rest in leftovers):
        return _(
            "The password must not be made of your name, your username, your school's name "
            "or the name of this app. Add words that others would not guess."
        )
    if any(form in common for form in forms | leftovers):
        return _(
            "This password is on the lists of common and leaked passwords that attackers try "
            "first, also with digits or symbols added. Choose another one: a few words that "
            "belong together only for you are easy to remember and hard to guess."
        )
    return None
