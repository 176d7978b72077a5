"""Every catalogue translates every message, keeps its placeholders, has nothing fuzzy."""

import os
import re

import pytest
from babel.messages.pofile import read_po

from portfolio.config import LANGUAGES

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "translations")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]|%[sdif]")


def _catalog(lang):
    with open(os.path.join(ROOT, lang, "LC_MESSAGES", "messages.po"), "rb") as fh:
        return read_po(fh, locale=lang)


def _template_ids():
    with open(os.path.join(ROOT, "messages.pot"), "rb") as fh:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_catalogue_is_complete(lang):
    catalog = _catalog(lang)
    missing, fuzzy, broken = [], [], []
    ids = set()
    for message in catalog:
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        ids.add(msgid)
        if message.fuzzy:
            fuzzy.append(msgid)
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if not all(s and s.strip() for s in strings):
            missing.append(msgid)
            continue
        wanted = set(PLACEHOLDER.findall(msgid if isinstance(message.id, str) else message.id[-1]))
        for s in strings:
            got = set(PLACEHOLDER.findall(s))
            # A plural form for "one" may drop the number, nothing else.
            if got != wanted and not (isinstance(message.id, tuple) and got <= wanted):
                broken.append((msgid, s))
    assert not missing, f"{lang}: {len(missing)} untranslated, e.g. {missing[:5]}"
    assert not fuzzy, f"{lang}: {len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}"
    assert not broken, f"{lang}: placeholders differ, e.g. {broken[:5]}"
    not_in_catalogue = _template_ids() - ids
    assert not not_in_catalogue, (
        f"{lang}: run `make translations`; missing {list(not_in_catalogue)[:5]}"
    )


def test_template_is_up_to_date(tmp_path):
    """Every translatable string of the code is in messages.pot (run `make translations`)."""
    import subprocess
    import sys

    root = os.path.dirname(ROOT)
    out = tmp_path / "fresh.pot"
    pybabel = os.path.join(os.path.dirname(sys.executable), "pybabel")
    subprocess.run(
        [
            pybabel,
            "extract",
            "-F",
            "pyproject.toml",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(out),
            ".",
        ],
        cwd=root,
        check=True,
        capture_output=True,
    )
    with open(out, "rb") as fh:
        fresh = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    missing = fresh - _template_ids()
    assert not missing, f"run `make translations`: {sorted(missing)[:5]}"
