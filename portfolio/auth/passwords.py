"""Password rules and readable random initial passwords."""

from __future__ import annotations

import secrets

from portfolio.i18n import _
from portfolio.models import User

STAFF_MIN_LENGTH = 12
PUPIL_MIN_LENGTH = 8

# Syllables without letters that are easily confused (no l/I, 0/O).
_CONSONANTS = "bdfghkmnprstvwz"
_VOWELS = "aeiu"


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


def password_problem(user: User, password: str) -> str | None:
    """A message why the password is not acceptable, or None."""
    minimum = min_length_for(user)
    if len(password) < minimum:
        return _("The password must have at least %(n)d characters.", n=minimum)
    if password.strip().lower() in {user.username.lower(), user.first_name.lower()}:
        return _("The password must not be your name or username.")
    if len(set(password)) < 4:
        return _("The password is too easy to guess.")
    return None
