"""The Spanish catalogs under locale/: in step with the code, fully translated, and compiled.

When one of these fails, run `make messages`, translate what is new in the .po files, run it
again to compile them, and commit the .po and .mo files.
"""

import os
import re
import shutil
import subprocess
import sys

import polib
import pytest
from django.conf import settings

from testkit.missing import missing

LOCALE_DIR = settings.BASE_DIR / "locale"
DOMAINS = ("django", "djangojs")
# Kept in step with MESSAGES_IGNORE in the Makefile: vendored or generated files, no texts of ours.
IGNORE = ["static/vendor", "testkit/vendor", "var", "media", "bench", "node_modules"]
NOT_COPIED = {".git", ".venv", "staticfiles", "__pycache__", ".pytest_cache", ".ruff_cache"}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def catalog(domain, base=LOCALE_DIR, suffix="po"):
    return base / "es" / "LC_MESSAGES" / f"{domain}.{suffix}"


def keys(entries):
    return {(entry.msgctxt, entry.msgid, entry.msgid_plural) for entry in entries}


def active(po):
    return [entry for entry in po if not entry.obsolete]


def translations(entries):
    return {
        (entry.msgctxt, entry.msgid, entry.msgid_plural): (
            tuple(entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural))
            if entry.msgid_plural
            else entry.msgstr
        )
        for entry in entries
    }


def _gettext_tools():
    if shutil.which("xgettext") and shutil.which("msgmerge"):
        return
    missing("GNU gettext is not installed (apt-get install gettext)")


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """The catalogs as `make messages` would leave them, made in a copy of the project."""
    _gettext_tools()
    copy = tmp_path_factory.mktemp("project") / "main"
    shutil.copytree(
        settings.BASE_DIR,
        copy,
        ignore=lambda directory, names: [
            name
            for name in names
            if name in NOT_COPIED
            or os.path.relpath(os.path.join(directory, name), settings.BASE_DIR) in IGNORE
        ],
    )
    options = ["--locale=es", "--add-location=file", "--no-obsolete"]
    options += [f"--ignore={pattern}" for pattern in IGNORE]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "microblog.settings"}
    for domain in DOMAINS:
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", f"--domain={domain}", *options],
            cwd=copy,
            env=env,
            check=True,
            capture_output=True,
        )
    return copy / "locale"


@pytest.mark.parametrize("domain", DOMAINS)
def test_catalogs_have_exactly_the_texts_of_the_code(domain, regenerated):
    expected = keys(active(polib.pofile(catalog(domain, regenerated))))
    committed = keys(active(polib.pofile(catalog(domain))))

    assert committed == expected, (
        f"locale/es/LC_MESSAGES/{domain}.po is stale; new in the code: "
        f"{sorted(expected - committed, key=str)}; gone from it: "
        f"{sorted(committed - expected, key=str)}. Run `make messages` and translate."
    )


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_spanish_text_is_translated_and_reviewed(domain):
    po = polib.pofile(catalog(domain))

    assert po.metadata["Language"] == "es"
    assert not po.metadata_is_fuzzy
    assert [entry.msgid for entry in po.untranslated_entries()] == []
    assert [entry.msgid for entry in po.fuzzy_entries()] == []
    assert [entry.msgid for entry in po.obsolete_entries()] == []


@pytest.mark.parametrize("domain", DOMAINS)
def test_translations_keep_the_placeholders_of_the_english_text(domain):
    for entry in polib.pofile(catalog(domain)):
        if entry.msgid_plural:
            english = set(PLACEHOLDER.findall(entry.msgid_plural))
            spanish = [set(PLACEHOLDER.findall(text)) for text in entry.msgstr_plural.values()]
        else:
            english = set(PLACEHOLDER.findall(entry.msgid))
            spanish = [set(PLACEHOLDER.findall(entry.msgstr))]
        assert all(found == english for found in spanish), entry.msgid


@pytest.mark.parametrize("domain", DOMAINS)
def test_compiled_catalogs_match_their_po_files(domain):
    po = polib.pofile(catalog(domain))
    mo = polib.mofile(str(catalog(domain, suffix="mo")))

    assert translations(mo) == translations(po.translated_entries()), (
        f"locale/es/LC_MESSAGES/{domain}.mo is out of date: run `make messages`."
    )
